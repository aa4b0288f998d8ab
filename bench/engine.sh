#!/usr/bin/env bash
# Tokens per second of the embedded engine (provider `local`, in-process) against llama.cpp's own
# llama-server, same model file, same settings (slots/parallel, context, 1 thread, greedy), same
# run, at 1 and 4 concurrent streaming requests. Also RSS with 1 and 4 slots (memory per slot).
# The model is a random-weight llama made by `hybridgate models placeholder` (no weights can be
# downloaded here); pass a GGUF path as $1 to measure a real one.
# Usage: bench/engine.sh [MODEL.gguf] [MAX_TOKENS]   (needs a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/release/src/main/hybridgate
SERVER=third_party/llama/bin/llama-server
MAX_TOKENS=${2:-128}
[ -x "$BIN" ] || { echo "bench: build the release binary first (cmake --preset release && cmake --build --preset release)" >&2; exit 1; }
[ -x "$SERVER" ] || { echo "bench: run scripts/setup.sh (builds llama-server)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  MODEL="$WORK/bench.gguf"
  # ~60M parameters: big enough that decode is compute-bound, like a real small model.
  "$BIN" models placeholder --out "$MODEL" --embd 512 --layers 8 --heads 8 --ff 1408 >/dev/null
fi
CTX=1024
LS=18911; GW=18912

python_client() {  # URL MODEL CONCURRENCY ROUNDS -> "tokens seconds"
  python3 - "$@" <<'PY'
import json, sys, threading, time, urllib.request
url, model, conc, rounds, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
tokens = [0] * conc
def worker(i):
    for r in range(rounds):
        body = json.dumps({"model": model, "max_tokens": max_tokens, "temperature": 0, "stream": True,
                           "stream_options": {"include_usage": True},
                           "messages": [{"role": "user", "content": f"Write a long story, part {i}.{r}"}]}).encode()
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as resp:
            for line in resp:
                line = line.strip()
                if line.startswith(b"data: {") and b'"usage"' in line:
                    u = json.loads(line[6:]).get("usage")
                    if u: tokens[i] += u["completion_tokens"]
start = time.time()
ts = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
for t in ts: t.start()
for t in ts: t.join()
print(sum(tokens), time.time() - start)
PY
}

rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

wait_http() { for _ in $(seq 600); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "bench: $1 never came up" >&2; exit 1; }

run_pair() {  # SLOTS CONCURRENCY ROUNDS
  local slots=$1 conc=$2 rounds=$3
  "$SERVER" -m "$MODEL" --host 127.0.0.1 --port $LS -np "$slots" -c $((CTX * slots)) -t 1 \
    --no-warmup >"$WORK/ls.log" 2>&1 &
  local ls_pid=$!
  wait_http "127.0.0.1:$LS/health"
  read -r ls_tok ls_s < <(python_client "http://127.0.0.1:$LS/v1/chat/completions" x "$conc" "$rounds" "$MAX_TOKENS")
  LS_RSS=$(rss_mib $ls_pid)
  kill $ls_pid; wait $ls_pid 2>/dev/null || true
  cat >"$WORK/gw.yaml" <<YAML
listen: 127.0.0.1:$GW
server: {workers: 1}
log: {level: warn}
providers:
  - name: embedded
    type: local
    engine: {model: '$MODEL', slots: $slots, context: $CTX, threads: 1}
    models: [{name: local}]
YAML
  "$BIN" serve --config "$WORK/gw.yaml" 2>"$WORK/gw.log" &
  local gw_pid=$!
  wait_http "127.0.0.1:$GW/healthz"
  read -r gw_tok gw_s < <(python_client "http://127.0.0.1:$GW/v1/chat/completions" local "$conc" "$rounds" "$MAX_TOKENS")
  GW_RSS=$(rss_mib $gw_pid)
  kill $gw_pid; wait $gw_pid 2>/dev/null || true
  LS_TPS=$(python3 -c "print(f'{$ls_tok/$ls_s:.1f}')")
  GW_TPS=$(python3 -c "print(f'{$gw_tok/$gw_s:.1f}')")
  RATIO=$(python3 -c "print(f'{($gw_tok/$gw_s)/($ls_tok/$ls_s):.2f}')")
  echo "| $conc | $slots | $ls_tok | $LS_TPS | $gw_tok | $GW_TPS | **${RATIO}×** | $LS_RSS | $GW_RSS |"
}

OUT=bench/results/engine-$(date -u +%Y%m%d-%H%M%S).md
{
  echo "# Embedded engine vs llama-server — $(date -u +%F)"
  echo
  echo "Model: $(basename "$MODEL") ($(du -m "$MODEL" | cut -f1) MiB), context $CTX per slot, 1 thread, greedy,"
  echo "max_tokens $MAX_TOKENS, streaming, machine: $(nproc) cores. Same model file, same run."
  echo
  echo "| concurrent | slots | llama-server tokens | llama-server tok/s | HybridGate local tokens | HybridGate tok/s | ratio | llama-server RSS MiB | HybridGate RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|"
  run_pair 1 1 4
  run_pair 4 4 2
} | tee "$OUT"
echo "bench: wrote $OUT"
