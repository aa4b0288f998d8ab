#!/usr/bin/env bash
# Sets everything up, builds with ASan+UBSan (the `debug` preset) and runs the whole test suite:
# unit, integration (the real binary against fake upstreams) and end-to-end (real npm SDKs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug
