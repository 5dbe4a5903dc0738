#!/bin/bash
# Instructions the gateway spends per webhook, counted by callgrind: deterministic, so a change to
# the intake path (tracing above all) can be weighed on a busy 2-core machine where req/s is noise.
#
#   tests/tools/callgrind-intake.sh <label> [NAME=VALUE…]
#
# Starts a nats-server, a database, an OTLP/HTTP sink and a projections process once (state in
# $CG_DIR, default /tmp/aurora-callgrind; delete it to start over), then runs `aurora serve --role
# gateway` under callgrind with the given environment (e.g. OTEL_EXPORTER_OTLP_ENDPOINT=
# http://127.0.0.1:14318 to export), sends 200 warm-up webhooks, zeroes the counts, sends $N
# (default 3000) more one at a time, waits one export period and prints the instructions per
# webhook, every thread of the process included (the batch exporter's too). Needs valgrind,
# nats-server, psql and python3 (`make deps`), and a release aurora (`cargo build --profile bench
# -p aurora-gateway --bin aurora`).
set -euo pipefail
BIN=${BIN:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/aurora}
DIR=${CG_DIR:-/tmp/aurora-callgrind}
N=${N:-3000}
label=$1; shift
mkdir -p "$DIR/data" && cd "$DIR"
export NATS_URL=nats://127.0.0.1:14222 DATABASE_URL=postgres://postgres@127.0.0.1:5432/aurora_callgrind \
  AURORA_DATA_DIR=$DIR/data RUST_LOG=warn \
  AURORA_SECRET_KEY=5f0c2b7e9a4d1c3e8b6a7f9d0e2c4b6a8d0f1e3c5b7a9d2e4f6a8c0b2d4e6f80

cat > sink.py <<'PY'
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(('127.0.0.1', 14318), Sink).serve_forever()
PY
cat > send.py <<'PY'
import http.client, json, sys, uuid
secret, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
connection = http.client.HTTPConnection('127.0.0.1', 14301)
refused = 0
for i in range(n):
    key = uuid.uuid4().hex
    body = json.dumps({"receiver": "aurora", "status": "firing", "orgId": 1, "title": "t",
        "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "service": "checkout",
        "instance": "pod-" + key}, "annotations": {"summary": "p99 above 2s"},
        "startsAt": "2026-11-23T10:00:00Z", "fingerprint": key}]})
    connection.request('POST', path, body, {'Authorization': 'Bearer ' + secret,
                                            'Content-Type': 'application/json'})
    answer = connection.getresponse(); answer.read()
    refused += answer.status != 202
if refused:
    sys.exit(f"{refused} of {n} webhooks were not accepted")
PY

psql -q -h 127.0.0.1 -U postgres -c "create database aurora_callgrind" 2>/dev/null || true
pgrep -f "nats-server -js -p 14222" >/dev/null || (nats-server -js -p 14222 -sd "$DIR/nats" > nats.log 2>&1 &)
for _ in $(seq 30); do (echo > /dev/tcp/127.0.0.1/14222) 2>/dev/null && break; sleep 0.5; done
pgrep -f "python3 sink.py" >/dev/null || (python3 sink.py > /dev/null 2>&1 &)
pgrep -f "serve --role projections --listen 127.0.0.1:14302" >/dev/null ||
  ("$BIN" serve --role projections --listen 127.0.0.1:14302 > projections.log 2>&1 &)
if [ ! -f integration ]; then
  "$BIN" serve --role gateway --listen 127.0.0.1:14300 > setup.log 2>&1 & setup=$!
  token=""
  for _ in $(seq 60); do
    token=$(curl -sf -XPOST localhost:14300/api/auth/register -H 'content-type: application/json' \
      -d '{"email":"rig@acme.io","password":"correct horse","organization":"Rig"}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' 2>/dev/null) && break
    sleep 1
  done
  [ -n "$token" ] || { echo "registration failed: $DIR/setup.log" >&2; exit 1; }
  for _ in $(seq 60); do
    curl -sf -XPOST localhost:14300/api/integrations -H "authorization: Bearer $token" \
      -H 'content-type: application/json' -d '{"source":"grafana","name":"Rig"}' > created.json && break
    sleep 1
  done
  kill $setup 2>/dev/null || true; wait $setup || true
  python3 -c 'import json; d = json.load(open("created.json")); print(d["secret"]); print("/webhooks/" + d["webhook_url"].split("/webhooks/")[1])' > integration
fi
secret=$(sed -n 1p integration); path=$(sed -n 2p integration)

env "$@" valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.$label.%p" \
  "$BIN" serve --role gateway --listen 127.0.0.1:14301 > "gateway.$label.log" 2>&1 & gateway=$!
for _ in $(seq 120); do curl -sf localhost:14301/health >/dev/null && break; sleep 1; done
python3 send.py "$secret" "$path" 200
callgrind_control -z $gateway >/dev/null 2>&1
python3 send.py "$secret" "$path" "$N"
sleep 6 # one batch export period (OTEL_BSP_SCHEDULE_DELAY's default, 5 s)
callgrind_control -d $gateway >/dev/null 2>&1
kill $gateway; wait $gateway 2>/dev/null || true
total=$(grep -h '^totals:' "$DIR/callgrind.$label.$gateway.1" | awk '{print $2}')
echo "$label: $total instructions for $N webhooks, $((total / N)) per webhook ($DIR/callgrind.$label.$gateway.1)"
