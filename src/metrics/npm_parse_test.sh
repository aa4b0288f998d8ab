#!/usr/bin/env bash
# ctest metrics_npm_parse: renders an exposition with metrics_dump and parses it with the npm
# parse-prometheus-text-format package through tests/e2e/metrics_parse.mjs. Exit 77 (skip) when
# node or tests/e2e/node_modules is missing (scripts/setup.sh installs both).
# usage: npm_parse_test.sh METRICS_DUMP_BIN TESTS_E2E_DIR
set -euo pipefail
dump="$1" e2e="$2"
if ! command -v node >/dev/null; then
  echo "metrics_npm_parse: SKIP: node is not installed (run scripts/setup.sh)"
  exit 77
fi
if [[ ! -d "$e2e/node_modules/parse-prometheus-text-format" ]]; then
  echo "metrics_npm_parse: SKIP: $e2e/node_modules lacks parse-prometheus-text-format" \
       "(run scripts/setup.sh, which runs npm ci --prefix tests/e2e)"
  exit 77
fi
out="$(mktemp --suffix=.prom)"
trap 'rm -f "$out"' EXIT
"$dump" "$out"
node "$e2e/metrics_parse.mjs" "$out"
