#!/usr/bin/env bash
# Schema-based fuzzing of the live API: starts Aurora (its own nats-server, a fresh database on
# the test PostgreSQL), registers a user, and runs schemathesis against /openapi.json with a fixed
# example count in deterministic mode (the same cases every run; schemathesis then ignores a
# seed). Any finding fails: the script exits with schemathesis' status.
#
#   tests/fuzz/openapi.sh [path to the aurora binary]   (default: target/debug/aurora)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
aurora=${1:-$root/target/debug/aurora}
base=${AURORA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
db="aurora_fuzz_$$"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

psql "$base/postgres" -qAtc "CREATE DATABASE $db" >/dev/null
cleanup() {
  # Ctrl-C is what `aurora up` stops on (and stops the nats-server it started).
  [ -n "${pid:-}" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  psql "$base/postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

# Rate limits high enough that the fuzzer reaches the handlers (429 stays declared and tested
# elsewhere: tests/tests/hygiene.rs).
AURORA_RATE_LIMIT_PER_USER=1000000 AURORA_RATE_LIMIT_PER_IP=1000000 AURORA_RATE_LIMIT_LOGIN=1000000 \
DATABASE_URL="$base/$db" AURORA_DATA_DIR="$data" AURORA_LISTEN="127.0.0.1:$port" \
  RUST_LOG=warn "$aurora" up >"$data/aurora.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  curl -fsS "$url/ready" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/aurora.log"; exit 1; }
  sleep 0.5
done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
session=$(curl -fsS "$url/api/auth/register" -H 'content-type: application/json' \
  -d '{"email":"fuzz@example.com","password":"fuzz-password-1","organization":"Fuzz"}' | json token)
# An API token, not the session: the fuzzer calls POST /api/auth/logout, which ends a session.
token=$(curl -fsS "$url/api/tokens" -H 'content-type: application/json' \
  -H "Authorization: Bearer $session" -d '{"name":"fuzz"}' | json token)

# The organisation's event stream never ends by itself (tests/tests/events.rs covers it).
schemathesis --no-color run "$url/openapi.json" \
  --exclude-path /api/events/stream \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --header "Authorization: Bearer $token" \
  --max-examples "${FUZZ_EXAMPLES:-20}" \
  --generation-deterministic --workers 1
