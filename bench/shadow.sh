#!/usr/bin/env bash
# A slow shadow costs the client nothing (issue #25): the client's p50/p99 latency on a route
# whose every request is shadowed to a slow (~500 ms) deployment, against the same route shadowed
# to the same deployment answering at once — the same work, only the wait differs — and against
# a route without shadows (what shadowing every request costs in CPU, which on a shared core
# shows in latency too). One run on one gateway, at a fixed rate (bench/loadgen, open loop);
# rounds alternate the routes so that drift hits all. Prints and writes
# bench/results/<UTC time>-shadow.md with the ratios.
# Usage: bench/shadow.sh   (needs cmake --preset release && cmake --build --preset release)
#   env: RATE=200 RATE_S=5 ROUNDS=5 WARMUP_S=1 SLOW_MS=500 BUILD_DIR=build/release
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-200}
RATE_S=${RATE_S:-5}
ROUNDS=${ROUNDS:-5}
SLOW_MS=${SLOW_MS:-500}
WARMUP_S=${WARMUP_S:-1}
BUILD_DIR=${BUILD_DIR:-build/release}
BIN=$BUILD_DIR/src/main/hybridgate
LOADGEN=$BUILD_DIR/bench/loadgen
die() { echo "bench/shadow: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "build the release binary first (cmake --preset release && cmake --build --preset release)"
for t in nginx curl jq python3; do command -v $t >/dev/null || die "$t missing: run scripts/setup.sh"; done
[ -x "$LOADGEN" ] || cmake --build "$BUILD_DIR" --target loadgen >/dev/null || die "cannot build loadgen"

WORK=$(mktemp -d /tmp/hg-bench-shadow-XXXXXX)
mkdir -p "$WORK/logs"
GW_PID="" SLOW_PID="" QUICK_PID=""
cleanup() {
  [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  [ -n "$SLOW_PID" ] && kill "$SLOW_PID" 2>/dev/null || true
  [ -n "$QUICK_PID" ] && kill "$QUICK_PID" 2>/dev/null || true
  [ -f "$WORK/up.pid" ] && nginx -p "$WORK" -c up.conf -s stop 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port)
SLOW=$(free_port)
QUICK=$(free_port)
GW=$(free_port)

# The fast answer from nginx; the slow one from a small Python server that waits SLOW_MS and
# then answers at once, as a busy non-streaming model does (nginx cannot delay a response).
BODY='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}'
cat > "$WORK/up.conf" <<NGINX
worker_processes 1;
pid $WORK/up.pid;
error_log $WORK/logs/up.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP backlog=4096;
    location / { default_type application/json; return 200 '$BODY'; }
  }
}
NGINX
nginx -p "$WORK" -c up.conf
cat > "$WORK/slow.py" <<'PY'
# One thread, asyncio: many waiting answers cost nothing (a thread per connection would make
# Python's lock convoy the noise this bench measures).
import asyncio, sys
PORT, DELAY, BODY = int(sys.argv[1]), float(sys.argv[2]) / 1000, sys.argv[3].encode()
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            if head.startswith(b"POST"):
                await asyncio.sleep(DELAY)
                writer.write(HEAD % len(BODY) + BODY)
            else:
                writer.write(HEAD % 0)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", PORT, backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
python3 "$WORK/slow.py" "$SLOW" "$SLOW_MS" "$BODY" &
SLOW_PID=$!
python3 "$WORK/slow.py" "$QUICK" 0 "$BODY" &
QUICK_PID=$!
cat > "$WORK/gw.yaml" <<YAML
listen: 127.0.0.1:$GW
server: {workers: 1}
log: {level: warn}
ledger: {path: $WORK/ledger.db}
quality: {path: $WORK/quality.db}
background: {max_queue: 1024, max_concurrency: 512}
providers:
  - {name: fast, type: openai, base_url: 'http://127.0.0.1:$UP/v1', zone: self_hosted,
     models: [{name: bench, input_per_mtok: 0.1, output_per_mtok: 0.2}]}
  - {name: slow, type: openai, base_url: 'http://127.0.0.1:$SLOW/v1', zone: self_hosted,
     models: [{name: candidate, id: bench, input_per_mtok: 0.1, output_per_mtok: 0.2}]}
  - {name: quick, type: openai, base_url: 'http://127.0.0.1:$QUICK/v1', zone: self_hosted,
     models: [{name: quick-candidate, id: bench, input_per_mtok: 0.1, output_per_mtok: 0.2}]}
routes:
  plain:
    tiers: [{name: main, deployments: [bench]}]
  shadowed:
    tiers: [{name: main, deployments: [bench]}]
    shadow: [{deployment: candidate, sample: 1, max_concurrency: 512, max_usd_per_day: 1000}]
  shadowed_quick:
    tiers: [{name: main, deployments: [bench]}]
    shadow: [{deployment: quick-candidate, sample: 1, max_concurrency: 512, max_usd_per_day: 1000}]
YAML
"$BIN" serve --config "$WORK/gw.yaml" 2>"$WORK/logs/gw.log" &
GW_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$GW/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$GW/healthz" >/dev/null || die "the gateway did not start: $(cat "$WORK/logs/gw.log")"
# The slow answer really is slow, and a shadowed request really is shadowed.
t0=$(date +%s%N)
curl -sf -X POST "http://127.0.0.1:$SLOW/v1/chat/completions" -d '{}' -o /dev/null
slow_ms=$(( ($(date +%s%N) - t0) / 1000000 ))

run() {  # route -> loadgen JSON
  "$LOADGEN" --url "http://127.0.0.1:$GW/v1/chat/completions" \
    --body '{"model":"'"$1"'","messages":[{"role":"user","content":"hello there"}]}' \
    --rate "$RATE" --duration "$RATE_S" --warmup "$WARMUP_S"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$GW_PID/stat"; }
declare -A P50 P99 CPU
for r in $(seq "$ROUNDS"); do
  for route in plain shadowed_quick shadowed; do
    t0=$(cpu_ticks)
    out=$(run "$route")
    sleep 1  # the last round's shadows finish, and are counted with their round
    ticks=$(( $(cpu_ticks) - t0 ))
    CPU[$route]="${CPU[$route]:-} $(jq --argjson t "$ticks" '($t * 10000) / .sent' <<<"$out")"
    [ "$(jq '.ok == .sent' <<<"$out")" = true ] || die "$route: not every request succeeded: $out"
    P50[$route]="${P50[$route]:-} $(jq .latency_us.p50 <<<"$out")"
    P99[$route]="${P99[$route]:-} $(jq .latency_us.p99 <<<"$out")"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
metric() { curl -s "http://127.0.0.1:$GW/metrics" | awk -v m="$1" -v o="$2" 'index($0, m "{") == 1 && index($0, "outcome=\"" o "\"") {s += $NF} END {print s + 0}'; }
answered=$(metric hybridgate_shadow_requests_total answered)
shed=$(( $(metric hybridgate_shadow_requests_total shed) + $(metric hybridgate_shadow_requests_total concurrency) ))
p50p=$(median "${P50[plain]}") p50s=$(median "${P50[shadowed]}") p50q=$(median "${P50[shadowed_quick]}")
p99p=$(median "${P99[plain]}") p99s=$(median "${P99[shadowed]}") p99q=$(median "${P99[shadowed_quick]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
OUT="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-shadow.md"
{
  echo "# Shadow traffic and client latency ($(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty'))"
  echo
  echo "One gateway (1 worker), nginx upstream. Every request of route \`shadowed\` is also sent to"
  echo "a deployment that answers in ${slow_ms} ms (measured), every request of \`shadowed_quick\` to"
  echo "the same kind of server answering at once, and route \`plain\` has no shadow. $RATE req/s"
  echo "open loop, $ROUNDS alternating rounds of ${RATE_S} s each; medians of the rounds, microseconds."
  echo "The claim (a slow shadow adds nothing to the client's latency) is the slow / quick column;"
  echo "shadowed / plain is what doing a shadow's work for every request costs on the same core."
  echo
  echo "| client latency | plain | shadowed_quick | shadowed (slow) | slow / quick | shadowed / plain |"
  echo "|---|---|---|---|---|---|"
  echo "| p50 | $p50p | $p50q | $p50s | $(ratio "$p50s" "$p50q")× | $(ratio "$p50s" "$p50p")× |"
  echo "| p99 | $p99p | $p99q | $p99s | $(ratio "$p99s" "$p99q")× | $(ratio "$p99s" "$p99p")× |"
  cpup=$(median "${CPU[plain]}") cpus=$(median "${CPU[shadowed]}") cpuq=$(median "${CPU[shadowed_quick]}")
  echo "| gateway CPU per client request, µs (its own and its shadow's) | $cpup | $cpuq | $cpus | $(ratio "$cpus" "$cpuq")× | $(ratio "$cpus" "$cpup")× |"
  echo
  echo "Shadow calls answered: $answered; not sent (runner or target full): $shed."
} | tee "$OUT"
