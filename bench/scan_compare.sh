#!/usr/bin/env bash
# The request-level sensitivity scan against a baseline commit's, in one run: the gateway's scan
# of every body string in this tree (classify_bench's EveryString rows) and the scan of the
# decoded request's modelled texts at BASE_REV (its ModelledTexts rows: what the gateway scanned
# before every string was read). Bodies: bench/run.sh's request and 4 KB of number-dense log
# lines.
#
#   bench/scan_compare.sh                      # baseline cfd47b9, the last commit before the trust work
#   BEFORE_REV=e314e92 bench/scan_compare.sh   # also that commit's every-string scan, in the same run
#
# Other trees are git worktrees (BASE_DIR, BEFORE_DIR) of their commit plus this tree's
# bench/classify_bench.cc, which builds in all of them. Prints, per body, instructions per scan
# (callgrind, deterministic: collected only around the scans, after one warm-up scan) and CPU
# time per scan (Google Benchmark: the minimum over ROUNDS rounds that alternate the binaries,
# each REPS repetitions of MIN_TIME seconds; minima, since the machine is shared), each with its
# ratio to the baseline. Set HG_BUILD_LOCK to a file to serialise the builds with flock.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE_REV=${BASE_REV:-cfd47b9}
BASE_DIR=${BASE_DIR:-/tmp/scan-base}
BEFORE_REV=${BEFORE_REV:-}
BEFORE_DIR=${BEFORE_DIR:-/tmp/scan-before}
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-10}
MIN_TIME=${MIN_TIME:-0.05}
SCANS=${SCANS:-1000}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

lock() { if [[ -n ${HG_BUILD_LOCK:-} ]]; then flock "$HG_BUILD_LOCK" "$@"; else "$@"; fi; }

worktree() {  # rev dir: a worktree of rev with this tree's classify_bench
  local rev=$1 dir=$2
  [[ -d $dir ]] || git -C "$ROOT" worktree add --detach "$dir" "$rev" >&2
  if [[ -L $ROOT/third_party/llama && ! -e $dir/third_party/llama ]]; then
    mkdir -p "$dir/third_party"
    ln -s "$(readlink "$ROOT/third_party/llama")" "$dir/third_party/llama"
  fi
  cp "$ROOT/bench/classify_bench.cc" "$dir/bench/classify_bench.cc"
  if ! grep -q classify_bench "$dir/bench/CMakeLists.txt"; then
    cat >>"$dir/bench/CMakeLists.txt" <<'EOF'

if(TARGET hybridgate_classify AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/classify_bench.cc)
  hybridgate_bench(NAME classify_bench SRCS classify_bench.cc DEPS hybridgate_classify)
endif()
EOF
  fi
}

# side: name, tree, the rows it runs
SIDES=("base $BASE_DIR ModelledTexts")
worktree "$BASE_REV" "$BASE_DIR"
if [[ -n $BEFORE_REV ]]; then
  worktree "$BEFORE_REV" "$BEFORE_DIR"
  SIDES+=("before $BEFORE_DIR EveryString")
fi
SIDES+=("current $ROOT EveryString")

for side in "${SIDES[@]}"; do
  read -r name dir rows <<<"$side"
  [[ -f $dir/build/release/build.ninja ]] || (cd "$dir" && lock cmake --preset release >&2)
  lock cmake --build "$dir/build/release" -j2 --target classify_bench >&2
done

for side in "${SIDES[@]}"; do
  read -r name dir rows <<<"$side"
  case=$([[ $rows == ModelledTexts ]] && echo modelled_texts || echo every_string)
  for body in bench dense; do
    n=$SCANS
    [[ $body == dense ]] && n=$((SCANS / 5))
    valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$OUT/cg.$name.$body.out" \
      "$dir/build/release/bench/classify_bench" --scans=$n "${body}_$case" 2>&1 |
      awk -v n=$n -v key="$name.$body" '/Collected :/ { printf "%s %.0f\n", key, $4 / n }' \
        >>"$OUT/instructions.txt"
  done
done

for ((r = 0; r < ROUNDS; ++r)); do
  for side in "${SIDES[@]}"; do
    read -r name dir rows <<<"$side"
    "$dir/build/release/bench/classify_bench" --benchmark_filter="$rows" \
      --benchmark_repetitions="$REPS" --benchmark_min_time="$MIN_TIME" \
      --benchmark_format=json >"$OUT/$name.$r.json" 2>/dev/null
  done
done

names=()
for side in "${SIDES[@]}"; do names+=("${side%% *}"); done
python3 - "$OUT" "$ROUNDS" "$BASE_REV" "${BEFORE_REV:--}" \
  "$(git -C "$ROOT" rev-parse --short HEAD)" "${names[@]}" <<'EOF'
import json, sys
out, rounds, base_rev, before_rev, head = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
names = sys.argv[6:]
ir = {}
for line in open(f"{out}/instructions.txt"):
    key, n = line.split()
    ir[key] = int(n)
ns = {}
for name in names:
    for r in range(rounds):
        for b in json.load(open(f"{out}/{name}.{r}.json"))["benchmarks"]:
            if b.get("run_type") != "iteration":
                continue
            body = "bench" if b["name"].startswith("BM_BenchRequest") else "dense"
            t = b["cpu_time"] * {"ns": 1, "us": 1e3, "ms": 1e6}[b["time_unit"]]
            key = f"{name}.{body}"
            ns[key] = min(ns.get(key, t), t)
label = {"base": f"baseline {base_rev} (modelled texts)",
         "before": f"{before_rev} (every string)",
         "current": f"{head} + working tree (every string)"}
print("| body | scan | instructions/scan | ratio | CPU ns/scan (min) | ratio |")
print("|---|---|---|---|---|---|")
for body, title in (("bench", "bench/run.sh's request"), ("dense", "4 KB number-dense request")):
    for name in names:
        i, t = ir[f"{name}.{body}"], ns[f"{name}.{body}"]
        i0, t0 = ir[f"base.{body}"], ns[f"base.{body}"]
        print(f"| {title} | {label[name]} | {i:,} | {i / i0:.2f}x | {t:,.0f} | {t / t0:.2f}x |")
EOF
