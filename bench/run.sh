#!/usr/bin/env bash
# One command, one run, ratios (issue #9). Everything on 127.0.0.1, every phase bounded in time.
# Systems, all in front of the same nginx upstream (a fixed chat completion at /v1/, a fixed SSE body
# of N_CHUNKS chat.completion.chunk events at /sse/v1/, the same SSE rate-limited at /slow/v1/):
#   upstream direct · nginx as a plain reverse proxy (the floor) · HybridGate with its production
#   features on (virtual keys, sensitivity scan, route with complexity tiers, SQLite ledger,
#   metrics, request log) · the same HybridGate with the optional features off ("core": the
#   throughput phase only, to show what the features cost) · Portkey's open-source gateway (npm @portkey-ai/gateway, pinned in
#   bench/portkey/, run with node) configured as an OpenAI provider with a custom host.
# Phases:
#   1. max throughput, closed loop (wrk; median of TP_ROUNDS interleaved rounds), and CPU per request
#      of the proxy's own process; one worker each, then all cores each (nginx worker_processes
#      auto, HybridGate one worker per core);
#   2. p50/p99 added latency at fixed rates (bench/loadgen, open loop, no coordinated omission),
#      and back to back on one connection (closed loop: the path's own latency, less noise);
#   3. streaming time to first byte at a fixed rate (loadgen --stream, "stream": true);
#   4. RSS while STREAMS client streams are held open against the slow upstream;
#   5. callgrind instructions per request for HybridGate and nginx (deterministic on a noisy box).
# Writes bench/results/<UTC time>.md and prints it. Defaults take about 8 minutes: the fixed rates
# run 5 rounds of 5 s, as the p99 of 3 rounds of 3 s moved from run to run by several times.
# Usage: bench/run.sh [DURATION_S] [CONNS]     (needs cmake --preset release && cmake --build --preset release)
#   env: WARMUP_S=2 TP_ROUNDS=3 RATES="200 2000" RATE_S=5 ROUNDS=5 SERIAL_N=3000 RATE_WARMUP_S=1 STREAM_RATE=100 N_CHUNKS=20 STREAMS=1000 HOLD_S=5
#        CG_REQUESTS=2000 CG_WARMUP=200 SKIP_PORTKEY=0 SKIP_CALLGRIND=0 BUILD_DIR=build/release
#        HG_LOG_LEVEL=info HG_LEDGER=true
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${1:-5}
CONNS=${2:-64}
WARMUP_S=${WARMUP_S:-2}
TP_ROUNDS=${TP_ROUNDS:-3}
RATES=${RATES:-"200 2000"}
RATE_S=${RATE_S:-5}
ROUNDS=${ROUNDS:-5}
SERIAL_N=${SERIAL_N:-3000}
RATE_WARMUP_S=${RATE_WARMUP_S:-1}
STREAM_RATE=${STREAM_RATE:-100}
N_CHUNKS=${N_CHUNKS:-20}
STREAMS=${STREAMS:-1000}
HOLD_S=${HOLD_S:-5}
CG_REQUESTS=${CG_REQUESTS:-2000}
CG_WARMUP=${CG_WARMUP:-200}
SKIP_PORTKEY=${SKIP_PORTKEY:-0}
SKIP_CALLGRIND=${SKIP_CALLGRIND:-0}
BUILD_DIR=${BUILD_DIR:-build/release}
# Production features stay on by default; these two exist to measure what they cost.
HG_LOG_LEVEL=${HG_LOG_LEVEL:-info}  # info writes the per-request log line
HG_LEDGER=${HG_LEDGER:-true}
BIN=$BUILD_DIR/src/main/hybridgate
LOADGEN=$BUILD_DIR/bench/loadgen
PK_DIR=bench/portkey
PK_MAIN=$PK_DIR/node_modules/@portkey-ai/gateway/build/start-server.js

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "build the release binary first (cmake --preset release && cmake --build --preset release)"
for t in wrk nginx curl jq; do command -v $t >/dev/null || die "$t missing: run scripts/setup.sh"; done
if [ ! -x "$LOADGEN" ] || [ bench/loadgen.cc -nt "$LOADGEN" ]; then
  echo "bench: building loadgen" >&2
  cmake --build "$BUILD_DIR" --target loadgen >/dev/null || die "cannot build $LOADGEN"
fi
if [ "$SKIP_CALLGRIND" != 1 ] && ! command -v valgrind >/dev/null; then
  echo "bench: valgrind missing, skipping callgrind (scripts/setup.sh installs it)" >&2; SKIP_CALLGRIND=1
fi
# Portkey: installed on first use from the pinned lock file (not part of setup.sh: ~25 MB of npm).
PK_NOTE=""
if [ "$SKIP_PORTKEY" != 1 ]; then
  if ! command -v node >/dev/null; then
    SKIP_PORTKEY=1; PK_NOTE="node missing"
  elif [ ! -f "$PK_MAIN" ] || [ $PK_DIR/package-lock.json -nt $PK_DIR/node_modules ]; then
    echo "bench: installing Portkey's gateway (npm ci --prefix $PK_DIR)" >&2
    if timeout 300 npm ci --prefix $PK_DIR --no-audit --no-fund --ignore-scripts --loglevel=error >&2; then
      touch $PK_DIR/node_modules
    else
      SKIP_PORTKEY=1; PK_NOTE="npm ci failed"
    fi
  fi
fi
# 1,000 held streams cost the gateway two sockets each, and loadgen and nginx one each.
NEED_FDS=$((STREAMS * 4 + 1024))
[ "$(ulimit -n)" -ge "$NEED_FDS" ] || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge "$NEED_FDS" ] || die "ulimit -n is $(ulimit -n); $NEED_FDS needed for $STREAMS streams"

WORK=$(mktemp -d)
chmod 755 "$WORK"  # nginx workers (user nobody) read the SSE files under it
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for c in up proxy proxy-all; do [ -f "$WORK/$c.pid" ] && nginx -p "$WORK" -c "$c.conf" -s stop 2>/dev/null; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
UP=18901; PROXY=18902; GW=18903; PK=18904; GW_CG=18905; PROXY_CG=18906; PROXY_ALL=18907; GW_ALL=18908; GW_CORE=18909
mkdir -p "$WORK/logs" "$WORK/www/sse/v1/chat" "$WORK/www/slow/v1/chat"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the upstream and the nginx proxy ---------------------------------------------------------------
BODY='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}'
sse_body() {  # N events: role, N-3 content tokens, finish, usage; then [DONE]
  local n=$1 i
  local head='data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,'
  printf '%s"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n' "$head"
  for ((i = 1; i <= n - 3; i++)); do printf '%s"delta":{"content":" token%d"},"finish_reason":null}]}\n\n' "$head" "$i"; done
  printf '%s"delta":{},"finish_reason":"stop"}]}\n\n' "$head"
  printf 'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":%d,"total_tokens":%d}}\n\n' "$n" $((n + 12))
  printf 'data: [DONE]\n\n'
}
sse_body "$N_CHUNKS" > "$WORK/www/sse/v1/chat/completions"
sse_body 2000 > "$WORK/www/slow/v1/chat/completions"  # ~360 KB at 2 KB/s: outlasts any hold
MODELS='{"object":"list","data":[{"id":"bench","object":"model","created":1700000000,"owned_by":"bench"}]}'
for d in sse slow; do echo "$MODELS" > "$WORK/www/$d/v1/models"; done
# nginx's static handler refuses POST with 405; error_page turns that into a GET of the same file.
STATIC='default_type text/event-stream; add_header X-Accel-Buffering no; error_page 405 =200 $uri;'
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
    root $WORK/www;
    location / { default_type application/json; return 200 '$BODY'; }
    location /sse/ { $STATIC }
    location /slow/ { $STATIC limit_rate 2k; }
  }
}
NGINX
proxy_conf() {  # pid-file port extra-main-directives [worker_processes]
  cat <<NGINX
worker_processes ${4:-1};
pid $1;
error_log $WORK/logs/proxy.log warn;
$3
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$UP; keepalive 128; }
  server {
    listen 127.0.0.1:$2 backlog=4096;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
}
proxy_conf "$WORK/proxy.pid" $PROXY "" > "$WORK/proxy.conf"
proxy_conf "$WORK/proxy-cg.pid" $PROXY_CG "master_process off; daemon off;" > "$WORK/proxy-cg.conf"
proxy_conf "$WORK/proxy-all.pid" $PROXY_ALL "" auto > "$WORK/proxy-all.conf"
nginx -p "$WORK" -c up.conf
nginx -p "$WORK" -c proxy.conf
nginx -p "$WORK" -c proxy-all.conf
sleep 0.2
UP_WORKER=$(pgrep -P "$(cat "$WORK/up.pid")" | head -1)
PROXY_WORKER=$(pgrep -P "$(cat "$WORK/proxy.pid")" | head -1)

# --- HybridGate: production-shaped ---------------------------------------------------------------------
# With a fourth argument "core": the same gateway with the optional features off (no keys, no
# ledger, no request log); its requests name a model, so no complexity routing either. What is left
# is the path every request takes: HTTP in and out, decoding, the sensitivity scan, encoding for
# the upstream, reading its answer, metrics. Measured next to the others to show what the features
# cost.
gw_conf() {  # port ledger-file [workers: 0 = one per core] [core]
  local level=$HG_LOG_LEVEL ledger=$HG_LEDGER auth=true
  [ "${4:-}" = core ] && { level=warn; ledger=false; auth=false; }
  cat <<YAML
listen: 127.0.0.1:$1
server: {workers: ${3:-1}}
log: {level: $level}
ledger: {enabled: $ledger, path: $2}
limits: {auth_required: $auth, keys_db: $WORK/keys.db}
providers:
  - name: bench
    type: openai
    base_url: 'http://127.0.0.1:$UP/v1'
    zone: self_hosted
    models:
      - {name: bench, input_per_mtok: 0.1, output_per_mtok: 0.2}
      - {name: bench-large, id: bench, input_per_mtok: 1, output_per_mtok: 2}
  - name: bench-sse
    type: openai
    base_url: 'http://127.0.0.1:$UP/sse/v1'
    zone: self_hosted
    models: [{name: bench-stream, id: bench, input_per_mtok: 0.1, output_per_mtok: 0.2}]
  - name: bench-slow
    type: openai
    base_url: 'http://127.0.0.1:$UP/slow/v1'
    zone: self_hosted
    models: [{name: bench-slow, id: bench, input_per_mtok: 0.1, output_per_mtok: 0.2}]
routes:
  auto:
    classifier: heuristic
    tiers:
      - {name: small, deployments: [bench], when: {max_complexity: 0.5}}
      - {name: large, deployments: [bench-large]}
  auto-stream:
    tiers: [{name: small, deployments: [bench-stream]}]
  auto-slow:
    tiers: [{name: small, deployments: [bench-slow]}]
YAML
}
gw_conf $GW "$WORK/ledger.db" > "$WORK/gw.yaml"
gw_conf $GW_CG "$WORK/ledger-cg.db" > "$WORK/gw-cg.yaml"
gw_conf $GW_ALL "$WORK/ledger-all.db" 0 > "$WORK/gw-all.yaml"
gw_conf $GW_CORE "$WORK/ledger-core.db" 1 core > "$WORK/gw-core.yaml"
KEY=$("$BIN" keys create --config "$WORK/gw.yaml" --team bench --name bench --budget 1000000usd/month 2>/dev/null | head -1)
[[ $KEY == hg-* ]] || die "could not create a virtual key"
"$BIN" serve --config "$WORK/gw.yaml" 2>"$WORK/gw.log" &
GW_PID=$!; PIDS+=($GW_PID)
"$BIN" serve --config "$WORK/gw-all.yaml" 2>"$WORK/gw-all.log" &
GW_ALL_PID=$!; PIDS+=($GW_ALL_PID)
"$BIN" serve --config "$WORK/gw-core.yaml" 2>"$WORK/gw-core.log" &
GW_CORE_PID=$!; PIDS+=($GW_CORE_PID)

# --- Portkey --------------------------------------------------------------------------------------------
PK_PID=""
if [ "$SKIP_PORTKEY" != 1 ]; then
  NODE_ENV=production node --require "$ROOT/$PK_DIR/loopback.cjs" "$PK_MAIN" --port=$PK --headless \
    > "$WORK/portkey.log" 2>&1 &
  PK_PID=$!; PIDS+=($PK_PID)
fi

wait_up() {  # url seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do curl -s -o /dev/null -m 1 "$1" && return 0; sleep 0.1; done
  return 1
}
wait_up "http://127.0.0.1:$GW/healthz" 15 || { cat "$WORK/gw.log" >&2; die "HybridGate did not start"; }
wait_up "http://127.0.0.1:$GW_ALL/healthz" 15 || { cat "$WORK/gw-all.log" >&2; die "HybridGate (all cores) did not start"; }
wait_up "http://127.0.0.1:$GW_CORE/healthz" 15 || { cat "$WORK/gw-core.log" >&2; die "HybridGate (core) did not start"; }
if [ -n "$PK_PID" ] && ! wait_up "http://127.0.0.1:$PK/" 30; then
  SKIP_PORTKEY=1; PK_NOTE="did not start"; kill "$PK_PID"; PK_PID=""
fi

# Per system: URL prefix and extra headers. The request bodies are the same for all.
REQ='{"model":"auto","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence, please."}],"temperature":0.2,"max_tokens":64}'
SREQ='{"model":"auto-stream","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence, please."}],"temperature":0.2,"max_tokens":64}'
LREQ=${SREQ/auto-stream/auto-slow}
CREQ=${REQ/'"model":"auto"'/'"model":"bench"'}  # the core names its model: no complexity routing
SYSTEMS=(direct nginx hybridgate)
[ -n "$PK_PID" ] && SYSTEMS+=(portkey)
url() {  # system kind(json|sse|slow)
  local p=""; [ "$2" != json ] && p="/$2"
  case $1 in
    direct) echo "http://127.0.0.1:$UP$p/v1/chat/completions" ;;
    nginx) echo "http://127.0.0.1:$PROXY$p/v1/chat/completions" ;;
    hybridgate) echo "http://127.0.0.1:$GW/v1/chat/completions" ;;
    nginx-all) echo "http://127.0.0.1:$PROXY_ALL$p/v1/chat/completions" ;;
    hybridgate-all) echo "http://127.0.0.1:$GW_ALL/v1/chat/completions" ;;
    hybridgate-core) echo "http://127.0.0.1:$GW_CORE/v1/chat/completions" ;;
    portkey) echo "http://127.0.0.1:$PK/v1/chat/completions" ;;
  esac
}
headers() {  # system kind -> one header per line
  case $1 in
    hybridgate | hybridgate-all) echo "Authorization: Bearer $KEY" ;;
    portkey)
      local p=""; [ "$2" != json ] && p="/$2"
      echo "x-portkey-provider: openai"
      echo "x-portkey-custom-host: http://127.0.0.1:$UP$p/v1"
      echo "Authorization: Bearer sk-bench" ;;
  esac
}
body() {  # kind [system]
  if [ "${2:-}" = hybridgate-core ] && [ "$1" = json ]; then echo "$CREQ"; return; fi
  case $1 in json) echo "$REQ" ;; sse) echo "$SREQ" ;; slow) echo "$LREQ" ;; esac
}
pid_of() {  # the processes whose CPU counts as the system's, space-separated
  case $1 in
    direct) echo "$UP_WORKER" ;; nginx) echo "$PROXY_WORKER" ;; hybridgate) echo "$GW_PID" ;;
    portkey) echo "$PK_PID" ;; hybridgate-all) echo "$GW_ALL_PID" ;; hybridgate-core) echo "$GW_CORE_PID" ;;
    nginx-all) pgrep -P "$(cat "$WORK/proxy-all.pid")" | tr '\n' ' ' ;;
  esac
}
loadgen() {  # system kind loadgen-args...
  local s=$1 k=$2; shift 2
  local args=() h
  while IFS= read -r h; do [ -n "$h" ] && args+=(-H "$h"); done < <(headers "$s" "$k")
  "$LOADGEN" --url "$(url "$s" "$k")" --body "$(body "$k" "$s")" "${args[@]}" "$@"
}

# --- 0. every system round-trips a chat completion and a stream ------------------------------------------
for s in "${SYSTEMS[@]}"; do
  out=$(loadgen "$s" json --requests 1 --connections 1)
  [ "$(jq .ok <<<"$out")" = 1 ] || die "$s: a chat completion did not round-trip: $out"
  hargs=(); while IFS= read -r h; do [ -n "$h" ] && hargs+=(-H "$h"); done < <(headers "$s" sse)
  curl -s -m 10 -H 'Content-Type: application/json' "${hargs[@]}" -d "$SREQ" "$(url "$s" sse)" > "$WORK/check-$s.sse"
  grep -q 'chat.completion.chunk' "$WORK/check-$s.sse" && grep -q '\[DONE\]' "$WORK/check-$s.sse" ||
    die "$s: the stream did not round-trip: $(head -c 300 "$WORK/check-$s.sse")"
done
for s in nginx-all hybridgate-all hybridgate-core; do
  out=$(loadgen "$s" json --requests 1 --connections 1)
  [ "$(jq .ok <<<"$out")" = 1 ] || die "$s: a chat completion did not round-trip: $out"
done
echo "bench: all systems round-trip (${SYSTEMS[*]} nginx-all hybridgate-all hybridgate-core); measuring" >&2

declare -A R  # results: R[metric,system]
cpu_ticks() { local p t=0; for p in $1; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }

# --- 1. max throughput (wrk, closed loop) ---------------------------------------------------------------
# TP_ROUNDS interleaved rounds of DURATION seconds per system; the table shows the medians, so that a
# burst of someone else's load on this shared machine spoils one round rather than one system.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "–"; else if (NR % 2) printf "%.1f", a[(NR + 1) / 2]; else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
throughput() {  # systems...
  local s round pid before after reqs
  for s in "$@"; do
    {
      echo 'wrk.method = "POST"'
      echo 'wrk.headers["Content-Type"] = "application/json"'
      while IFS= read -r h; do [ -n "$h" ] && echo "wrk.headers[\"${h%%: *}\"] = \"${h#*: }\""; done < <(headers "$s" json)
      echo "wrk.body = '$(body json "$s")'"
    } > "$WORK/$s.lua"
    wrk -t1 -c"$CONNS" -d"${WARMUP_S}s" -s "$WORK/$s.lua" "$(url "$s" json)" >/dev/null
  done
  for ((round = 1; round <= TP_ROUNDS; round++)); do
    for s in "$@"; do
      pid=$(pid_of "$s"); before=$(cpu_ticks "$pid")
      wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$WORK/$s.lua" "$(url "$s" json)" > "$WORK/wrk-$s.txt"
      after=$(cpu_ticks "$pid")
      reqs=$(awk '/requests in/ {print $1}' "$WORK/wrk-$s.txt")
      awk '/Requests\/sec/ {printf "%.0f\n", $2}' "$WORK/wrk-$s.txt" >> "$WORK/tp-rps-$s"
      awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" \
        'BEGIN { if (n > 0) printf "%.1f\n", t / hz * 1e6 / n }' >> "$WORK/tp-cpu-$s"
      R[wrkerr,$s]+=$(awk '/Non-2xx|Socket errors/ {printf "%s; ", $0}' "$WORK/wrk-$s.txt")
      echo "bench: throughput round $round $s $(tail -1 "$WORK/tp-rps-$s") req/s" >&2
    done
  done
  for s in "$@"; do
    R[rps,$s]=$(median < "$WORK/tp-rps-$s" | awk '{printf "%.0f", $1}')
    R[cpu,$s]=$(median < "$WORK/tp-cpu-$s")
    echo "bench: throughput $s ${R[rps,$s]} req/s, ${R[cpu,$s]} µs CPU/request (medians of $TP_ROUNDS)" >&2
  done
}
throughput "${SYSTEMS[@]}" hybridgate-core
# 1b. The same with every core each: nginx worker_processes auto, HybridGate one worker per core
# (its default). Load generator and upstream share the cores, so this measures CPU per request of
# the whole box rather than one worker's speed.
throughput nginx-all hybridgate-all
# Not needed after this: stopped, so that their background work (health checks, timers) stays out
# of the measurements below.
kill "$GW_ALL_PID" "$GW_CORE_PID" 2>/dev/null || true
nginx -p "$WORK" -c proxy-all.conf -s stop 2>/dev/null || true

# --- 2. added latency at fixed rates (open loop) --------------------------------------------------------
# ROUNDS short runs per system, interleaved; each round's added latency is the system's percentile
# minus the direct upstream's in the same round, and the table shows the median over rounds: a burst
# of someone else's load then spoils one round, not one system's whole number.
measure() {  # tag kind systems... ; loadgen args after "--"; appends per-round numbers to $WORK/m-*
  local tag=$1 kind=$2; shift 2
  local systems=() s
  while [ "$1" != -- ]; do systems+=("$1"); shift; done; shift
  local round out d50 d99 f=.latency_us
  [ "$kind" = sse ] && f=.ttfb_us
  for ((round = 1; round <= ROUNDS; round++)); do
    for s in "${systems[@]}"; do
      out=$(loadgen "$s" "$kind" "$@")
      echo "$out" >> "$WORK/$tag-$s.jsonl"
      jq "$f.p50" <<<"$out" >> "$WORK/m-$tag-p50-$s"
      jq "$f.p99" <<<"$out" >> "$WORK/m-$tag-p99-$s"
      jq '.non2xx + .errors + .unfinished' <<<"$out" >> "$WORK/m-$tag-bad-$s"
      if [ "$s" = direct ]; then
        d50=$(jq "$f.p50" <<<"$out"); d99=$(jq "$f.p99" <<<"$out")
      else
        jq "$f.p50 - $d50" <<<"$out" >> "$WORK/m-$tag-a50-$s"
        jq "$f.p99 - $d99" <<<"$out" >> "$WORK/m-$tag-a99-$s"
      fi
    done
  done
  for s in "${systems[@]}"; do
    for m in p50 p99 a50 a99; do
      [ -f "$WORK/m-$tag-$m-$s" ] && R[$m,$tag,$s]=$(median < "$WORK/m-$tag-$m-$s")
    done
    R[bad,$tag,$s]=$(awk '{ n += $1 } END { print n + 0 }' "$WORK/m-$tag-bad-$s")
    echo "bench: $tag $s p50 $(get "p50,$tag,$s") p99 $(get "p99,$tag,$s") added p50 $(get "a50,$tag,$s") p99 $(get "a99,$tag,$s") µs (failed $(get "bad,$tag,$s"))" >&2
  done
}
get() { echo "${R[$1]:-–}"; }
for rate in $RATES; do
  systems=()
  for s in "${SYSTEMS[@]}"; do
    # A peer that cannot sustain the rate is not measured at it (its latency would be its queue).
    [ "$s" = portkey ] && awk -v r="$rate" -v m="${R[rps,portkey]}" 'BEGIN { exit !(r > 0.8 * m) }' && continue
    systems+=("$s")
  done
  measure "$rate" json "${systems[@]}" -- --rate "$rate" --duration "$RATE_S" --warmup "$RATE_WARMUP_S" --connections "$CONNS"
done
# 2b. Back to back on one connection (closed loop): each request waits only for the one before, so
# the percentiles show the path's own latency without an open loop's queueing and wake-up noise.
measure serial json "${SYSTEMS[@]}" -- --requests "$SERIAL_N" --connections 1

# --- 3. streaming time to first byte ---------------------------------------------------------------------
systems=()
for s in "${SYSTEMS[@]}"; do
  [ "$s" = portkey ] && awk -v r="$STREAM_RATE" -v m="${R[rps,portkey]}" 'BEGIN { exit !(r > 0.5 * m) }' && continue
  systems+=("$s")
done
measure stream sse "${systems[@]}" -- --stream --rate "$STREAM_RATE" --duration "$RATE_S" --warmup "$RATE_WARMUP_S" --connections "$CONNS"

# --- 4. RSS with STREAMS concurrent streams ----------------------------------------------------------------
for s in "${SYSTEMS[@]}"; do
  [ "$s" = direct ] && continue
  pid=$(pid_of "$s")
  out=$(loadgen "$s" slow --streams "$STREAMS" --hold "$HOLD_S" --pid "$pid" --open-timeout 30)
  echo "$out" > "$WORK/streams-$s.json"
  R[rss,$s]=$(jq '.rss_max_kb' <<<"$out"); R[rss0,$s]=$(jq '.rss_before_kb' <<<"$out")
  R[held,$s]=$(jq '.open_min_during_hold' <<<"$out")
  echo "bench: $STREAMS streams $s: held ${R[held,$s]}, RSS $((R[rss0,$s] / 1024)) → $((R[rss,$s] / 1024)) MiB" >&2
  sleep 1  # let the closed streams drain before the next system
done
GW_HWM_KB=$(awk '/VmHWM/ {print $2}' "/proc/$GW_PID/status")
[ -n "$PK_PID" ] && PK_HWM_KB=$(awk '/VmHWM/ {print $2}' "/proc/$PK_PID/status")

# --- 5. callgrind: instructions per request ----------------------------------------------------------------
# The process starts under callgrind, gets CG_WARMUP requests, its counters are zeroed, gets
# CG_REQUESTS more, and its counters are dumped: startup and warm-up are not counted; every thread is.
# `hybridgate serve` executes itself again with GLIBC_TUNABLES set (src/main/main.cc), which would
# leave callgrind behind: under callgrind it gets the same setting from the start instead.
HG_TUNABLES=glibc.malloc.tcache_count=256
callgrind_run() {  # name port log cmd... -> sets CG_IR[name], writes $WORK/cg-name.out
  local name=$1 port=$2 log=$3; shift 3
  local tunables=""; [ "$name" = hybridgate ] && tunables=$HG_TUNABLES
  GLIBC_TUNABLES=$tunables valgrind --tool=callgrind --callgrind-out-file="$WORK/cg-$name.%p" "$@" > "$log" 2>&1 &
  local vpid=$!; PIDS+=($vpid)
  if ! wait_up "http://127.0.0.1:$port/" 180; then echo "bench: $name did not start under callgrind" >&2; kill $vpid; return 1; fi
  local s=$name hdr=()
  while IFS= read -r h; do [ -n "$h" ] && hdr+=(-H "$h"); done < <(headers "$s" json)
  local u="http://127.0.0.1:$port/v1/chat/completions"
  "$LOADGEN" --url "$u" --body "$REQ" "${hdr[@]}" --requests "$CG_WARMUP" --connections 8 >/dev/null
  sleep 0.5
  callgrind_control -z $vpid >/dev/null 2>&1
  local out; out=$("$LOADGEN" --url "$u" --body "$REQ" "${hdr[@]}" --requests "$CG_REQUESTS" --connections 8)
  sleep 0.5  # the ledger writer flushes every 100 ms: its batch for these requests is counted
  callgrind_control -d $vpid >/dev/null 2>&1
  kill $vpid; wait $vpid 2>/dev/null || true
  local ok; ok=$(jq .ok <<<"$out")
  local dump; dump=$(ls "$WORK"/cg-"$name".*.1 2>/dev/null | head -1)
  [ -n "$dump" ] && [ "$ok" -gt 0 ] || { echo "bench: no callgrind dump for $name" >&2; return 1; }
  mv "$dump" "$WORK/cg-$name.out"
  CG_IR[$name]=$(awk -v n="$ok" '/^summary:/ {printf "%.0f", $2 / n}' "$WORK/cg-$name.out")
  CG_OK[$name]=$ok
  echo "bench: callgrind $name ${CG_IR[$name]} instructions/request over $ok requests" >&2
}
declare -A CG_IR CG_OK
if [ "$SKIP_CALLGRIND" != 1 ]; then
  callgrind_run hybridgate $GW_CG "$WORK/gw-cg.log" "$BIN" serve --config "$WORK/gw-cg.yaml" || true
  callgrind_run nginx $PROXY_CG "$WORK/proxy-cg.log" nginx -p "$WORK" -c proxy-cg.conf || true
fi
LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "–" || b == "–" || b + 0 <= 0 || a + 0 < 0) print "–"; else printf "%.2f×", a / b }'; }
ms() { awk -v v="$1" 'BEGIN { if (v == "" || v == "–") print "–"; else printf "%.3f", v / 1000 }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "–" || b == "") print "–"; else printf "%.1f", a - b }'; }
mib() { awk -v v="$1" 'BEGIN { if (v == "") print "–"; else printf "%.1f", v / 1024 }'; }
row() {  # label direct nginx hybridgate portkey [lower-is-better|higher-is-better]
  echo "| $1 | $2 | $3 | $4 | $5 | $(ratio "$4" "$3") | $(ratio "$4" "$5") |"
}
GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
GIT_DIRTY=$(git status --porcelain -- src 2>/dev/null | grep -q . && echo "+uncommitted src/ changes" || true)
PK_VERSION=$(jq -r .version $PK_DIR/node_modules/@portkey-ai/gateway/package.json 2>/dev/null || echo "?")
mkdir -p bench/results
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# Gateway overhead, $(date -u '+%F %H:%M') UTC"
  echo
  echo "Machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r); load average $LOADAVG_START at the start, $LOADAVG_END at the end."
  echo "Versions: hybridgate $("$BIN" --version | cut -d' ' -f2) ($GIT_REV$GIT_DIRTY, 1 worker); $(nginx -v 2>&1 | sed 's/nginx version: //') (1 worker, upstream and proxy in separate instances); @portkey-ai/gateway $PK_VERSION on node $(node --version 2>/dev/null || echo '?') (NODE_ENV=production, with bench/portkey/loopback.cjs: binds 127.0.0.1 and re-wraps upstream fetch responses, the fix proposed for Portkey-AI/gateway#1550 without which its streams fail)${PK_NOTE:+ (skipped: $PK_NOTE)}; $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(valgrind --version 2>/dev/null || echo 'no valgrind')."
  echo "Everything (load generators, upstream, proxies) shares these cores with other work: compare ratios within this run, not absolutes across runs."
  echo "HybridGate runs with virtual keys (auth required), the sensitivity scan, route \`auto\` (heuristic complexity → two tiers), metrics, the SQLite ledger (enabled: $HG_LEDGER) and the request log (log level $HG_LOG_LEVEL). \"Core only\" is a second HybridGate without keys, ledger and request log, whose requests name the model \`bench\` (no complexity routing); the sensitivity scan and metrics stay on."
  echo
  echo "| metric | upstream direct | nginx proxy | HybridGate | Portkey | HybridGate / nginx | HybridGate / Portkey |"
  echo "|---|---|---|---|---|---|---|"
  row "max throughput, req/s (wrk -c$CONNS, median of $TP_ROUNDS × ${DURATION}s)" "$(get rps,direct)" "$(get rps,nginx)" "$(get rps,hybridgate)" "$(get rps,portkey)"
  row "CPU of the proxy process, µs/request" "$(get cpu,direct)" "$(get cpu,nginx)" "$(get cpu,hybridgate)" "$(get cpu,portkey)"
  row "max throughput, HybridGate core only (no keys, ledger, request log or complexity routing), req/s" "–" "$(get rps,nginx)" "$(get rps,hybridgate-core)" "–"
  row "CPU of the proxy process, HybridGate core only, µs/request" "–" "$(get cpu,nginx)" "$(get cpu,hybridgate-core)" "–"
  row "max throughput, all cores each ($(nproc) nginx workers, $(nproc) HybridGate workers), req/s" "–" "$(get rps,nginx-all)" "$(get rps,hybridgate-all)" "–"
  row "CPU of the proxy, all cores each, µs/request" "–" "$(get cpu,nginx-all)" "$(get cpu,hybridgate-all)" "–"
  for rate in $RATES; do
    row "added p50 at $rate req/s, µs" "– ($(get "p50,$rate,direct") total)" "$(get "a50,$rate,nginx")" "$(get "a50,$rate,hybridgate")" "$(get "a50,$rate,portkey")"
    row "added p99 at $rate req/s, µs" "– ($(get "p99,$rate,direct") total)" "$(get "a99,$rate,nginx")" "$(get "a99,$rate,hybridgate")" "$(get "a99,$rate,portkey")"
  done
  row "added p50 back to back on one connection, µs" "– ($(get p50,serial,direct) total)" "$(get a50,serial,nginx)" "$(get a50,serial,hybridgate)" "$(get a50,serial,portkey)"
  row "added p99 back to back on one connection, µs" "– ($(get p99,serial,direct) total)" "$(get a99,serial,nginx)" "$(get a99,serial,hybridgate)" "$(get a99,serial,portkey)"
  row "stream TTFB added p50 at $STREAM_RATE/s, µs" "– ($(get p50,stream,direct) total)" "$(get a50,stream,nginx)" "$(get a50,stream,hybridgate)" "$(get a50,stream,portkey)"
  row "stream TTFB added p99 at $STREAM_RATE/s, µs" "– ($(get p99,stream,direct) total)" "$(get a99,stream,nginx)" "$(get a99,stream,hybridgate)" "$(get a99,stream,portkey)"
  row "RSS idle (before the streams), MiB" "–" "$(mib "${R[rss0,nginx]:-}")" "$(mib "${R[rss0,hybridgate]:-}")" "$(mib "${R[rss0,portkey]:-}")"
  row "RSS with $STREAMS open streams, MiB" "–" "$(mib "${R[rss,nginx]:-}")" "$(mib "${R[rss,hybridgate]:-}")" "$(mib "${R[rss,portkey]:-}")"
  row "streams held open throughout" "–" "$(get held,nginx)" "$(get held,hybridgate)" "$(get held,portkey)"
  row "callgrind instructions/request" "–" "${CG_IR[nginx]:-–}" "${CG_IR[hybridgate]:-–}" "–"
  echo
  echo "Added latency = the system's percentile minus the direct upstream's at the same rate (loadgen: open loop, each latency from the request's scheduled time, $CONNS keep-alive connections; $ROUNDS interleaved rounds of ${RATE_WARMUP_S}s warm-up + ${RATE_S}s measured; each round's added value is taken against the direct run of the same round, the table shows the median over rounds). Back to back: $SERIAL_N requests on one keep-alive connection, each sent when the answer before it arrived, in the same interleaved rounds. A dash for Portkey means it cannot sustain that rate (above 0.8× its max throughput, 0.5× for streams). Lower is better for CPU, latency, RSS and instructions; higher for throughput. Every row but the two \"all cores\" ones runs one nginx worker against one HybridGate worker; in those two, nginx has \`worker_processes auto\` and HybridGate its default (one worker per core), with the load generator and the upstream on the same cores, so they compare CPU per request over the whole box. nginx's CPU per request is its proxy instance's worker(s) alone; HybridGate's and Portkey's are their whole processes (all threads). Streams: \`\"stream\": true\`, $N_CHUNKS chunk events; TTFB = first body byte. Held streams: the slow upstream sends 2 KB/s, each stream stays open for the whole ${HOLD_S}s hold; RSS is the maximum sampled every 100 ms. Peak RSS over the whole run: HybridGate $(mib "$GW_HWM_KB") MiB${PK_HWM_KB:+, Portkey $(mib "$PK_HWM_KB") MiB}."
  echo "Failed requests (non-2xx, errors, unfinished) in the fixed-rate and stream phases: $(for k in "${!R[@]}"; do case $k in bad,*) [ "${R[$k]}" != 0 ] && printf '%s=%s ' "$k" "${R[$k]}";; esac; done; echo)(none listed = none). wrk: $(for s in "${SYSTEMS[@]}"; do [ -n "${R[wrkerr,$s]:-}" ] && printf '%s: %s' "$s" "${R[wrkerr,$s]}"; done; echo)"
  echo
  echo "## Targets (issue #9)"
  echo
  check() { awk -v v="${2%×}" -v t="$3" -v op="$4" 'BEGIN { if (v == "–" || v == "") print "n/a"; else if ((op == "le" && v + 0 <= t) || (op == "ge" && v + 0 >= t)) print "**met**"; else print "**not met**" }'; }
  LAST_RATE=${RATES##* }
  A99=$(ratio "$(get "a99,$LAST_RATE,hybridgate")" "$(get "a99,$LAST_RATE,nginx")")
  TN=$(ratio "$(get rps,hybridgate)" "$(get rps,nginx)"); TP=$(ratio "$(get rps,hybridgate)" "$(get rps,portkey)")
  RSSM=$(mib "${R[rss,hybridgate]:-}")
  echo "| target | measured | |"
  echo "|---|---|---|"
  for rate in $RATES; do
    a=$(ratio "$(get "a99,$rate,hybridgate")" "$(get "a99,$rate,nginx")")
    echo "| added p99 ≤ 1.5× nginx's (at $rate req/s) | $a | $(check x "$a" 1.5 le) |"
  done
  echo "| throughput ≥ 0.8× nginx, one worker each | $TN | $(check x "$TN" 0.8 ge) |"
  TA=$(ratio "$(get rps,hybridgate-all)" "$(get rps,nginx-all)")
  echo "| throughput ≥ 0.8× nginx, all cores each | $TA | $(check x "$TA" 0.8 ge) |"
  echo "| throughput ≥ 30× Portkey | $TP | $(check x "$TP" 30 ge) |"
  echo "| throughput of the core alone vs nginx (what the optional features cost) | $(ratio "$(get rps,hybridgate-core)" "$(get rps,nginx)") | (no target) |"
  echo "| RSS ≤ 64 MB (61.0 MiB) with $STREAMS concurrent streams | $RSSM MiB ($(get held,hybridgate) held) | $(check x "$RSSM" 61.03 le) |"
  echo "| added p99 back to back on one connection vs nginx | $(ratio "$(get a99,serial,hybridgate)" "$(get a99,serial,nginx)") | (no target) |"
  echo "| callgrind instructions/request vs nginx | $(ratio "${CG_IR[hybridgate]:-}" "${CG_IR[nginx]:-}") | (no target) |"
  if [ -f "$WORK/cg-hybridgate.out" ]; then
    callgrind_annotate --inclusive=no --auto=no --threshold=100 "$WORK/cg-hybridgate.out" > "$WORK/cg-self.txt" 2>/dev/null || true
    callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$WORK/cg-hybridgate.out" > "$WORK/cg-incl.txt" 2>/dev/null || true
    echo
    echo "## HybridGate under callgrind (${CG_OK[hybridgate]} requests after $CG_WARMUP warm-up; instructions ÷ requests)"
    echo
    echo "Top 15 functions by their own instructions (thread entry points, which carry their thread's whole cost in a dump taken after a zero, left out):"
    echo
    echo '```'
    awk -v n="${CG_OK[hybridgate]}" '/^-+$/ { sec++; next } sec >= 5 && /^ *[0-9,]+ +\(/ {
        if ($0 ~ /clone\.S:clone|start_thread|_M_run\(\)|\?\?\?:0x[0-9a-f]+ \[\/usr\/lib\/x86_64-linux-gnu\/libstdc/) next
        ir = $1; gsub(",", "", ir); printf "%7.0f/req %s\n", ir / n, substr($0, 1, 200); if (++k == 15) exit }' "$WORK/cg-self.txt"
    echo '```'
    echo
    echo "HybridGate's own stages, inclusive instructions per request:"
    echo
    echo '```'
    awk -v n="${CG_OK[hybridgate]}" '/^ *[0-9,]+ +\(/ && /hybridgate::(gateway::Gateway::(ServeChat|ClassifyAndPlan|Authorize|Classify)\(|gateway::RoutePlanner::(Plan|Lookup)\(|routing::Choose\(|complexity::Classify\(|api::DecodeOpenAiChat\(|providers::OpenAiProvider::EncodeChat\(|limits::KeyStore::Lookup\(|http::ClientPool::Exchange\(|gateway::Accounting::Record\(|ledger::Ledger::Run\(|metrics::Metrics::RecordRequest\(|gateway::LogRequest\(|http::Exchange::Respond\()/ {
        ir = $1; gsub(",", "", ir); name = $0; sub(/^[^)]*\)[ ]+/, "", name); sub(/^\?\?\?:/, "", name); sub(/\(.*/, "", name)
        if (name ~ /^std::/ || shown[name]++) next
        printf "%7.0f/req  %s\n", ir / n, name }' "$WORK/cg-incl.txt"
    awk -v n="${CG_OK[hybridgate]}" '/^ *[0-9,]+ +\(/ && /boost::beast::http::detail::write_op</ { ir = $1; gsub(",", "", ir); printf "%7.0f/req  boost::beast::http::async_write (responses to clients and requests to upstreams)\n", ir / n; exit }' "$WORK/cg-incl.txt"
    echo '```'
  fi
} > "$OUT"
cat "$OUT"
