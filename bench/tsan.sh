#!/usr/bin/env bash
# ThreadSanitizer run (issue #9): configures the `tsan` preset into build/tsan, builds only what it
# runs, then runs the unit tests and the integration tests that exercise concurrency. Every process
# (tests and the gateway binaries they start) writes its reports to build/tsan/tsan-logs/, so races
# inside the child gateway are not lost in a test's captured stderr.
# Usage: bench/tsan.sh [CTEST_REGEX]    (default: the unit tests + proxy|server|local_engine|accounting)
#   JOBS=2 (build parallelism), UNIT_TESTS="api_test limits_test ..." to narrow the unit tests,
#   INTEGRATION="" to skip the integration tests (and the gateway binary they need).
# Exit status: 0 no race and every test passed; 1 races reported (listed); 2 tests failed otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
INTEGRATION=${INTEGRATION-"proxy_test server_test local_engine_test accounting_test"}
B=build/tsan

cmake --preset tsan >/dev/null || exit 2
if [ -z "${UNIT_TESTS:-}" ]; then
  # Every CTest label=unit test of this tree (names are also their target names).
  UNIT_TESTS=$(ctest --test-dir "$B" -L unit -N | awk '/Test +#/ {print $3}' | tr '\n' ' ')
fi
REGEX=${1:-"^($(echo $UNIT_TESTS $INTEGRATION | tr ' ' '|'))\$"}
TARGETS="${INTEGRATION:+hybridgate }$INTEGRATION $UNIT_TESTS"
echo "tsan: building $TARGETS (-j$JOBS)"
cmake --build "$B" -j"$JOBS" --target $TARGETS || exit 2

LOGS=$B/tsan-logs
rm -rf "$LOGS" && mkdir -p "$LOGS"
# halt_on_error=0: collect every race of a run; exitcode=0 so a report does not change a test's
# outcome (the logs are the verdict); history_size=4 keeps the older access in long tests.
export TSAN_OPTIONS="suppressions=$PWD/bench/tsan.supp log_path=$PWD/$LOGS/tsan halt_on_error=0 exitcode=0 second_deadlock_stack=1 history_size=4 report_signal_unsafe=0"
# Allocation-counting tests replace operator new, which TSan's runtime owns: skip them here.
export GTEST_FILTER="-*DoesNotAllocate*"
ctest --test-dir "$B" -R "$REGEX" --output-on-failure --timeout 900 -j1 2>&1 | tee "$B/tsan-ctest.log"
CTEST_RC=${PIPESTATUS[0]}

RACES=$(cat "$LOGS"/tsan.* 2>/dev/null | grep -c 'WARNING: ThreadSanitizer' || true)
echo
echo "tsan: $RACES report(s) in $LOGS (known false positives suppressed: bench/tsan.supp)"
if [ "$RACES" -gt 0 ]; then
  # One line per distinct report (count, kind, first two frames outside the TSan runtime).
  cat "$LOGS"/tsan.* | awk '
    /WARNING: ThreadSanitizer/ { kind = $0; sub(/.*ThreadSanitizer: /, "", kind); sub(/ \(pid=.*/, "", kind); n = 0; frames = ""; next }
    kind != "" && /^ +#[0-9]+ / && !/libtsan/ && n < 2 { line = $0; sub(/^ +#[0-9]+ /, "", line); sub(/ \(.*\+0x[0-9a-f]+\)$/, "", line); frames = frames " | " line; n++ }
    kind != "" && n == 2 { print kind frames; kind = "" }' | sort | uniq -c | sort -rn | head -40
  exit 1
fi
[ "$CTEST_RC" -eq 0 ] || { echo "tsan: tests failed (no race reported)"; exit 2; }
echo "tsan: clean"
