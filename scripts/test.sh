#!/usr/bin/env bash
# Sets everything up, builds with ASan+UBSan (the `debug` preset) and runs the whole test suite:
# unit, integration (the real binary against fake upstreams) and end-to-end (real npm SDKs); then
# every libFuzzer target for FUZZ_SECONDS (default 20; 0 skips them) on its seeds and regression
# inputs (fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" != 0 ]; then
  fuzz/run.sh "$FUZZ_SECONDS"
fi
