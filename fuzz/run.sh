#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into build/fuzz and runs each for SECONDS
# (default 60), one after another, on one core each. Seeds come from the golden testdata (plus the
# regression inputs in fuzz/corpus/<target>/); the grown corpus is kept in build/fuzz/corpus/.
# Prints executions, exec/s and coverage per target; exits 1 if any target crashed, leaked, hit a
# sanitizer report or timed out, leaving the input in fuzz/crashes/<target>-*.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]       (targets: fuzz_* without the prefix, e.g. config)
#   JOBS=2 build parallelism; FUZZ_ARGS="-jobs=2 -workers=2" extra libFuzzer flags.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-60}
shift || true
JOBS=${JOBS:-2}
B=build/fuzz
ALL="openai_decode anthropic_decode sse_parser anthropic_stream anthropic_from_openai gemini_stream gemini_decode gemini_from_openai sensitivity config http_request redact_raw"
TARGETS=${*:-$ALL}
command -v jq >/dev/null || { echo "fuzz: jq missing (apt-get install jq)" >&2; exit 2; }
CXX_BIN=${CXX:-$(command -v clang++-14 || command -v clang++)}
[ -n "$CXX_BIN" ] || { echo "fuzz: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }

CXX=$CXX_BIN cmake -S fuzz -B "$B" -G Ninja >/dev/null || exit 2
cmake --build "$B" -j"$JOBS" --target $(printf 'fuzz_%s ' $TARGETS) || exit 2

# Seed corpora, rebuilt each run from the golden files so they follow the testdata.
seed() {  # target files...
  local dir=$B/seeds/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/$(echo "$f" | tr / _)"; done
  return 0
}
raw_strings() {  # out_dir prefix files...: the R"(...)" literals of test sources, one file each
  command -v python3 >/dev/null || return 0  # optional: the golden files are the main seeds
  python3 - "$@" <<'PY'
import re, sys, pathlib
out, prefix, files = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
out.mkdir(parents=True, exist_ok=True)
for f in files:
    try: text = open(f, encoding="utf-8").read()
    except OSError: continue
    for i, m in enumerate(re.finditer(r'R"\((.*?)\)"', text, re.S)):
        if m.group(1).lstrip().startswith(prefix) and len(m.group(1)) > 8:
            (out / f"{pathlib.Path(f).stem}_{i}").write_text(m.group(1))
PY
}
rm -rf "$B/seeds"
A=src/api; AT=$A/anthropic/testdata; GT=$A/gemini/testdata
seed openai_decode $AT/request_openai.json $GT/request_openai.json
raw_strings "$B/seeds/openai_decode" '{' $A/openai_chat_test.cc
seed anthropic_decode $AT/decode_request.json $AT/request_anthropic.json
raw_strings "$B/seeds/anthropic_decode" '{' $A/anthropic/anthropic_test.cc
seed sse_parser $AT/*.sse $GT/*.sse
seed anthropic_stream $AT/*.sse
seed gemini_stream $GT/*.sse
seed gemini_decode $GT/decode_request_gemini.json $GT/request_gemini.json $GT/decode_request_roundtrip.json
raw_strings "$B/seeds/gemini_decode" '{' $A/gemini/gemini_ingress_test.cc
mkdir -p "$B/seeds/gemini_from_openai"
jq -r '.[] | if type == "string" then . else tojson end' $GT/stream_from_openai_input.json > "$B/seeds/gemini_from_openai/stream_from_openai" 2>/dev/null
for f in $GT/encode_response_openai.json $GT/response_openai.json; do
  jq -c . "$f" > "$B/seeds/gemini_from_openai/$(basename "$f")" 2>/dev/null
done
mkdir -p "$B/seeds/anthropic_from_openai"
for f in $AT/stream_*_openai.json $GT/stream_openai.json; do  # chunk arrays -> one chunk per line
  { jq -c '.[]' "$f" && echo '[DONE]'; } > "$B/seeds/anthropic_from_openai/$(basename "$f")" 2>/dev/null
done
mkdir -p "$B/seeds/sensitivity"
jq -r '.text' src/classify/sensitivity/testdata/corpus.jsonl | split -l 1 - "$B/seeds/sensitivity/c"
seed config config/*.yaml
raw_strings "$B/seeds/config" '' src/config/config_test.cc src/ledger/config_test.cc \
  src/limits/config_test.cc src/routing/route_config_test.cc src/classify/sensitivity/config_test.cc
# Requests as a client writes them; the last byte of each is the split (and limits) seed.
H=$B/seeds/http_request; mkdir -p "$H"
printf 'POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=g1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":"b"}\r\n\x11' > "$H/gemini"
printf 'POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer hg-1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}GET /healthz HTTP/1.1\r\nx-api-key: hg-2\r\n\r\nGET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n\x3f' > "$H/pipelined"
printf 'POST /v1/messages HTTP/1.1\r\nx-goog-api-key: g\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nTrailer: t\r\n\r\nPOST /v1/models/tuned%%2Fm:generateContent HTTP/1.0\r\nContent-Length: 4000\r\n\r\nxx\xc8' > "$H/chunked"
printf 'GET /v1beta/models/m:generateContent?key HTTP/1.1\r\nX-Long: %04000d\r\n\r\n\x05' 0 > "$H/long_header"
raw_strings "$B/seeds/redact_raw" '{' src/gateway/redaction_test.cc
jq -c '{model: "m", prompt: .text}' src/classify/sensitivity/testdata/corpus.jsonl 2>/dev/null |
  split -l 1 - "$B/seeds/redact_raw/c"

dict_for() {
  case $1 in
    config) echo fuzz/dicts/yaml.dict ;;
    http_request) echo fuzz/dicts/http.dict ;;
    redact_raw) echo fuzz/dicts/redact.dict ;;
    sensitivity) ;;
    *) echo fuzz/dicts/json.dict ;;
  esac
}

mkdir -p fuzz/crashes "$B/logs"
FAILED=()
printf '\n%-24s %12s %8s %8s %8s  %s\n' target executions exec/s cov ft result
for t in $TARGETS; do
  corpus=$B/corpus/$t
  mkdir -p "$corpus" "fuzz/corpus/$t"
  dict=$(dict_for "$t")
  log=$B/logs/$t.log
  # -rss_limit_mb: ASan's shadow plus Hyperscan's database stay well under it; -timeout: one input
  # taking 10 s is a hang. The seeds and regression inputs are read-only second corpora.
  ./$B/fuzz_$t "$corpus" "$B/seeds/$t" "fuzz/corpus/$t" ${dict:+-dict=$dict} \
    -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="fuzz/crashes/$t-" ${FUZZ_ARGS:-} \
    </dev/null >"$log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  result=ok
  if [ $rc -ne 0 ]; then
    result="CRASH (rc=$rc, see $log)"
    FAILED+=("$t")
  fi
  printf '%-24s %12s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
if [ ${#FAILED[@]} -gt 0 ]; then
  echo
  for t in "${FAILED[@]}"; do
    echo "== $t"
    # The target's own words just before the failure, then the stack, then the input itself (hex,
    # the first 4 KiB) so that a CI log alone is enough to reproduce it.
    grep -B3 -E 'invariant broken|ERROR: ' "$B/logs/$t.log" | grep -vE '^#[0-9]+\s' | head -12
    grep -E 'SUMMARY: |runtime error|#[0-9] ' "$B/logs/$t.log" | head -20
    for f in fuzz/crashes/"$t"-*; do
      [ -f "$f" ] || continue
      echo "$f ($(wc -c <"$f") bytes):"; head -c 4096 "$f" | od -An -tx1 -v | tr -d ' \n' | fold -w 128; echo
    done
  done
  exit 1
fi
