#!/usr/bin/env bash
# Soak and upstream-fault test (issue #9), loopback only and bounded in time.
#   1. soak: the release gateway in front of an nginx upstream returning a fixed chat completion,
#      driven by wrk with a fixed connection count and a per-request think time (Debian's wrk has
#      no -R), for MINUTES; the gateway's RSS and open fds are sampled every 10 s. Fails if the
#      mean RSS of the last third exceeds the first third's by more than RSS_GROWTH_PCT, or if the
#      fds of the last third exceed the first third's maximum by more than FD_SLACK.
#   2. fault: under the same load, the upstream nginx is stopped, the gateway must answer every
#      request with 502/503/504 (no hang, no reset, no crash), then nginx is started again and the
#      gateway must return to 200s within RECOVERY_S without being restarted; its fds must come
#      back to the soak's level (no sockets leaked by the failed attempts).
# Writes a markdown report to bench/results/soak-<UTC time>.md and prints it.
# Usage: bench/soak.sh [MINUTES]   (default 5; needs cmake --preset release && cmake --build --preset release)
#   CONNS=16 THINK_MS=5 RSS_GROWTH_PCT=10 FD_SLACK=4 RECOVERY_S=30 FAULT_DOWN_S=10
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-5}
CONNS=${CONNS:-16}
THINK_MS=${THINK_MS:-5}
RSS_GROWTH_PCT=${RSS_GROWTH_PCT:-10}
FD_SLACK=${FD_SLACK:-4}
RECOVERY_S=${RECOVERY_S:-30}
FAULT_DOWN_S=${FAULT_DOWN_S:-10}
INTERVAL=10
BIN=${HYBRIDGATE_BIN:-build/release/src/main/hybridgate}
[ -x "$BIN" ] || { echo "soak: build the release binary first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
for t in wrk nginx curl; do command -v $t >/dev/null || { echo "soak: $t missing: run scripts/setup.sh" >&2; exit 2; }; done

WORK=$(mktemp -d)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && nginx -p "$WORK" -c nginx.conf -s stop 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
UP=18921; GW=18923
BODY='{"id":"chatcmpl-soak","object":"chat.completion","created":1700000000,"model":"soak","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}'
mkdir -p "$WORK/logs"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP;
    location / { default_type application/json; return 200 '$BODY'; }
  }
}
NGINX
nginx_up() { nginx -p "$WORK" -c nginx.conf; }
nginx_down() { nginx -p "$WORK" -c nginx.conf -s stop; for _ in $(seq 50); do [ -f "$WORK/nginx.pid" ] || return 0; sleep 0.1; done; }
nginx_up

# Production-shaped: sensitivity scan (default detectors), routing, sqlite ledger, request log.
cat > "$WORK/gw.yaml" <<YAML
listen: 127.0.0.1:$GW
server: {workers: 1, health_interval_ms: 1000}
log: {level: warn}
ledger: {path: $WORK/ledger.db}
providers:
  - {name: soak, type: openai, base_url: 'http://127.0.0.1:$UP/v1', zone: self_hosted, timeout_ms: 5000, connect_timeout_ms: 1000, models: [{name: soak}]}
YAML
"$BIN" serve --config "$WORK/gw.yaml" 2>"$WORK/gw.log" &
GW_PID=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$GW/healthz" >/dev/null && break; sleep 0.05; done
kill -0 $GW_PID 2>/dev/null || { echo "soak: gateway did not start:"; cat "$WORK/gw.log"; exit 2; }

REQ='{"model":"soak","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello to maria.gonzalez@example.com in one short sentence."}],"max_tokens":64}'
# wrk script: POST with think time; counts statuses so the fault phase can check them.
cat > "$WORK/load.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$REQ'
function delay() return $THINK_MS end
-- response() runs in each thread's Lua state, done() in the main one: collect through setup().
local threads = {}
function setup(thread) table.insert(threads, thread) end
counts = {}
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("status %d %d\n", status, n)) end
end
LUA

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
fds() { ls "/proc/$GW_PID/fd" | wc -l; }
code() { curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'Content-Type: application/json' -d "$REQ" "127.0.0.1:$GW/v1/chat/completions" || true; }

# --- 1. soak -------------------------------------------------------------------------------------
SOAK_S=$((MINUTES * 60))
echo "soak: ${MINUTES} min, $CONNS connections, ${THINK_MS} ms think time, sampling every ${INTERVAL}s"
wrk -t1 -c"$CONNS" -d"${SOAK_S}s" --timeout 10s --latency -s "$WORK/load.lua" \
  "http://127.0.0.1:$GW/v1/chat/completions" > "$WORK/soak.txt" &
WRK_PID=$!
: > "$WORK/samples"
START=$(date +%s)
while kill -0 $WRK_PID 2>/dev/null; do
  sleep $INTERVAL
  kill -0 $WRK_PID 2>/dev/null || break
  kill -0 $GW_PID 2>/dev/null || { echo "soak: gateway died"; cat "$WORK/gw.log"; exit 1; }
  echo "$(( $(date +%s) - START )) $(rss_kb) $(fds)" | tee -a "$WORK/samples"
done
wait $WRK_PID || true

N=$(wc -l < "$WORK/samples")
[ "$N" -ge 3 ] || { echo "soak: too few samples ($N); run longer"; exit 2; }
read -r RSS_FIRST RSS_LAST FD_FIRST_MAX FD_LAST_MAX RSS_MIN RSS_MAX <<<"$(awk -v n="$N" '
  { t = int((NR - 1) * 3 / n) }                      # third 0, 1, 2
  t == 0 { r0 += $2; c0++; if ($3 > f0) f0 = $3 }
  t == 2 { r2 += $2; c2++; if ($3 > f2) f2 = $3 }
  NR == 1 || $2 < mn { mn = $2 } $2 > mx { mx = $2 }
  END { printf "%d %d %d %d %d %d", r0 / c0, r2 / c2, f0, f2, mn, mx }' "$WORK/samples")"
RSS_GROWTH=$(awk -v a="$RSS_FIRST" -v b="$RSS_LAST" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')
SOAK_RPS=$(awk '/Requests\/sec/ {print $2}' "$WORK/soak.txt")
SOAK_REQS=$(awk '/requests in/ {print $1}' "$WORK/soak.txt")
SOAK_P50=$(awk '$1=="50%" {print $2}' "$WORK/soak.txt")
SOAK_P99=$(awk '$1=="99%" {print $2}' "$WORK/soak.txt")
SOAK_NON200=$(awk '$1=="status" && $2!=200 {s += $3} END {print s + 0}' "$WORK/soak.txt")
SOAK_ERRS=$(awk '/Socket errors/ {print}' "$WORK/soak.txt")

# --- 2. fault: upstream down, then back ------------------------------------------------------------
echo "fault: stopping the upstream for ${FAULT_DOWN_S}s under load"
FAULT_S=$((10 + FAULT_DOWN_S + RECOVERY_S + 10))
wrk -t1 -c"$CONNS" -d"${FAULT_S}s" --timeout 10s -s "$WORK/load.lua" \
  "http://127.0.0.1:$GW/v1/chat/completions" > "$WORK/fault.txt" &
WRK_PID=$!
sleep 10
C_BEFORE=$(code)
nginx_down
sleep 1
DOWN_CODES=""
for _ in $(seq $((FAULT_DOWN_S - 1))); do DOWN_CODES+="$(code) "; sleep 1; done
nginx_up
T0=$(date +%s.%N)
RECOVERED=""
for _ in $(seq $((RECOVERY_S * 10))); do
  if [ "$(code)" = 200 ]; then RECOVERED=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'); break; fi
  sleep 0.1
done
wait $WRK_PID || true
FD_AFTER=$(fds)
C_AFTER=$(code)
GW_ALIVE=no; kill -0 $GW_PID 2>/dev/null && GW_ALIVE=yes
FAULT_STATUSES=$(awk '$1=="status" {printf "%s×%s ", $2, $3}' "$WORK/fault.txt")
FAULT_BAD=$(awk '$1=="status" && $2!=200 && $2!=502 && $2!=503 && $2!=504 {s += $3} END {print s + 0}' "$WORK/fault.txt")
FAULT_ERRS=$(awk '/Socket errors/ {print}' "$WORK/fault.txt")
FAULT_TIMEOUTS=$(awk '/Socket errors/ { for (i = 1; i <= NF; i++) if ($i == "timeout") print $(i - 1) + 0 }' "$WORK/fault.txt")
DOWN_OK=yes
for c in $DOWN_CODES; do case $c in 502|503|504) ;; *) DOWN_OK=no ;; esac; done

# --- verdict and report ----------------------------------------------------------------------------
FAILS=()
awk -v g="$RSS_GROWTH" -v x="$RSS_GROWTH_PCT" 'BEGIN { exit !(g > x) }' && FAILS+=("RSS grew ${RSS_GROWTH}% (> ${RSS_GROWTH_PCT}%) from the first to the last third")
[ "$FD_LAST_MAX" -le $((FD_FIRST_MAX + FD_SLACK)) ] || FAILS+=("fds grew: first third max $FD_FIRST_MAX, last third max $FD_LAST_MAX")
SOAK_200=$(awk '$1=="status" && $2==200 {print $3}' "$WORK/soak.txt")
[ "${SOAK_200:-0}" -gt 0 ] || FAILS+=("no 200 answers counted during the soak")
[ "$SOAK_NON200" -eq 0 ] || FAILS+=("$SOAK_NON200 non-200 answers during the soak")
[ "$C_BEFORE" = 200 ] || FAILS+=("fault phase: $C_BEFORE before the upstream stopped")
[ "$DOWN_OK" = yes ] || FAILS+=("fault phase: upstream down answered '$DOWN_CODES' (want 502/503/504)")
[ -n "$RECOVERED" ] || FAILS+=("fault phase: no 200 within ${RECOVERY_S}s of the upstream's restart")
[ "$C_AFTER" = 200 ] || FAILS+=("fault phase: $C_AFTER after recovery")
[ "$GW_ALIVE" = yes ] || FAILS+=("gateway died")
[ "$FAULT_BAD" -eq 0 ] || FAILS+=("fault phase: $FAULT_BAD answers other than 200/502/503/504")
[ "${FAULT_TIMEOUTS:-0}" -eq 0 ] || FAILS+=("fault phase: $FAULT_TIMEOUTS client timeouts (10 s)")
[ "$FD_AFTER" -le $((FD_LAST_MAX + FD_SLACK)) ] || FAILS+=("fds after the fault phase: $FD_AFTER (soak max $FD_LAST_MAX)")

mkdir -p bench/results
OUT=bench/results/soak-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# Soak and upstream fault, $(date -u +%F) — ${MINUTES} min, $CONNS connections, ${THINK_MS} ms think time"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(nginx -v 2>&1); hybridgate $($BIN --version | cut -d' ' -f2) (1 worker, sqlite ledger, default sensitivity detectors). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "## Soak"
  echo
  echo "| requests | req/s | p50 | p99 | non-200 | socket errors |"
  echo "|---|---|---|---|---|---|"
  echo "| $SOAK_REQS | $SOAK_RPS | $SOAK_P50 | $SOAK_P99 | $SOAK_NON200 | ${SOAK_ERRS:-none} |"
  echo
  echo "| | RSS MiB | open fds |"
  echo "|---|---|---|"
  awk '{ printf "| %d s | %.1f | %d |\n", $1, $2 / 1024, $3 }' "$WORK/samples"
  echo
  echo "RSS mean first third $((RSS_FIRST / 1024)) MiB → last third $((RSS_LAST / 1024)) MiB: **${RSS_GROWTH}%** (limit ${RSS_GROWTH_PCT}%); min $((RSS_MIN / 1024)) MiB, max $((RSS_MAX / 1024)) MiB."
  echo "fds max first third $FD_FIRST_MAX → last third $FD_LAST_MAX (slack $FD_SLACK)."
  echo
  echo "## Upstream fault (nginx stopped ${FAULT_DOWN_S}s, then started again)"
  echo
  echo "| check | result |"
  echo "|---|---|"
  echo "| before the stop | $C_BEFORE |"
  echo "| while down (1 probe/s) | $DOWN_CODES |"
  echo "| first 200 after the restart | ${RECOVERED:-never} s |"
  echo "| after recovery | $C_AFTER |"
  echo "| wrk answers during the phase | $FAULT_STATUSES |"
  echo "| wrk socket errors | ${FAULT_ERRS:-none} |"
  echo "| gateway alive, same pid | $GW_ALIVE |"
  echo "| gateway fds after the phase | $FD_AFTER |"
  echo
  if [ ${#FAILS[@]} -eq 0 ]; then echo "**PASS**"; else echo "**FAIL**"; for f in "${FAILS[@]}"; do echo "- $f"; done; fi
} > "$OUT"
cat "$OUT"
[ ${#FAILS[@]} -eq 0 ]
