#!/usr/bin/env bash
# One command, one run, ratios: drives the same load (wrk, keep-alive) at
#   1. the upstream directly (nginx returning a fixed chat completion),
#   2. nginx as a plain reverse proxy in front of it (the floor a proxy can reach),
#   3. HybridGate in front of it,
# and writes a markdown table with HybridGate's numbers as ratios to nginx's into bench/results/.
# Usage: bench/run.sh [DURATION_SECONDS] [CONNECTIONS]   (needs a release build: cmake --preset release)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-64}
BIN=build/release/src/main/hybridgate
[ -x "$BIN" ] || { echo "bench: build the release binary first (cmake --preset release && cmake --build --preset release)" >&2; exit 1; }
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "bench: run scripts/setup.sh" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; nginx -p "$WORK" -c nginx.conf -s stop 2>/dev/null; rm -rf "$WORK"' EXIT
UP=18901; PROXY=18902; GW=18903
BODY='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}'
mkdir -p "$WORK/logs"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$UP; keepalive 128; }
  server {
    listen 127.0.0.1:$UP;
    location / { default_type application/json; return 200 '$BODY'; }
  }
  server {
    listen 127.0.0.1:$PROXY;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -p "$WORK" -c nginx.conf
cat > "$WORK/gw.yaml" <<YAML
listen: 127.0.0.1:$GW
server: {workers: 1}
log: {level: info}
providers:
  - {name: bench, type: openai, base_url: 'http://127.0.0.1:$UP/v1', zone: self_hosted, models: [{name: bench}]}
YAML
"$BIN" serve --config "$WORK/gw.yaml" 2>"$WORK/gw.log" &
GW_PID=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$GW/healthz" >/dev/null && break; sleep 0.05; done

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence, please."}],"temperature":0.2,"max_tokens":64}'
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {  # name url [pid] -> "rps p50_ms p99_ms cpu_us_per_request"
  local before=0 after=0
  [ -n "${3:-}" ] && before=$(cpu_ticks "$3")
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$2" > "$WORK/$1.txt"
  [ -n "${3:-}" ] && after=$(cpu_ticks "$3")
  local rps p50 p99 reqs cpu
  reqs=$(awk '/requests in/ {print $1}' "$WORK/$1.txt")
  cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" 'BEGIN { if (n > 0 && t > 0) printf "%.1f", t / hz * 1e6 / n; else print "n/a" }')
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$1.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/$1.txt")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") $cpu"
}
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else printf "%.3f", v*1000 }'; }

NGINX_WORKER=$(pgrep -P "$(cat "$WORK/nginx.pid")" | head -1)  # serves both servers: upstream + proxy
read -r D_RPS D_P50 D_P99 D_CPU < <(run direct "http://127.0.0.1:$UP/v1/chat/completions" "$NGINX_WORKER")
read -r N_RPS N_P50 N_P99 N_CPU < <(run nginx "http://127.0.0.1:$PROXY/v1/chat/completions" "$NGINX_WORKER")
read -r G_RPS G_P50 G_P99 G_CPU < <(run hybridgate "http://127.0.0.1:$GW/v1/chat/completions" "$GW_PID")
# nginx's worker serves the upstream too: its proxy cost is its CPU minus the direct run's.
N_PROXY_CPU=$(awk -v a="$N_CPU" -v b="$D_CPU" 'BEGIN { printf "%.1f", a - b }')
GW_RSS_KB=$(awk '/VmHWM/ {print $2}' /proc/$GW_PID/status)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a/b }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a-b }'; }
N_ADD50=$(added "$N_P50" "$D_P50"); N_ADD99=$(added "$N_P99" "$D_P99")
G_ADD50=$(added "$G_P50" "$D_P50"); G_ADD99=$(added "$G_P99" "$D_P99")
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# Proxy overhead, $(date -u +%F) — ${DURATION}s per target, $CONNS connections, wrk -t1"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(nginx -v 2>&1); hybridgate $($BIN --version | cut -d' ' -f2) (1 worker; nginx 1 worker)."
  echo "All three share the same 2 cores with the load generator and the upstream: compare ratios, not absolutes."
  echo
  echo "| target | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | proxy CPU µs/request |"
  echo "|---|---|---|---|---|---|---|"
  echo "| upstream direct | $D_RPS | $D_P50 | $D_P99 | – | – | – |"
  echo "| nginx reverse proxy | $N_RPS | $N_P50 | $N_P99 | $N_ADD50 | $N_ADD99 | $N_PROXY_CPU |"
  echo "| HybridGate (sensitivity scan, routing, request log) | $G_RPS | $G_P50 | $G_P99 | $G_ADD50 | $G_ADD99 | $G_CPU |"
  echo
  echo "HybridGate / nginx: throughput $(ratio "$G_RPS" "$N_RPS")×, CPU per request $(ratio "$G_CPU" "$N_PROXY_CPU")×, added p99 $(ratio "$G_ADD99" "$N_ADD99")×."
  echo "HybridGate: $(awk -v c="$G_CPU" 'BEGIN { printf "%.0f", 1e6 / c }') requests per CPU-second; peak RSS $((GW_RSS_KB / 1024)) MiB."
  echo "Added latency here is measured at saturation (wrk closed loop), not at a fixed rate."
} > "$OUT"
cat "$OUT"
