#!/usr/bin/env bash
# Sets everything up, builds the release binary and runs the gateway on its default config
# (config/default.yaml). Extra arguments go to `hybridgate serve` (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target hybridgate
exec build/release/src/main/hybridgate serve --config config/default.yaml "$@"
