#!/usr/bin/env bash
# Installs everything HybridGate needs to build, run and test, from Debian 12 packages (and the npm
# registry for the end-to-end tests' SDKs). Idempotent: a second run installs nothing and takes a
# second. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config ca-certificates git openssl clang-format
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libsimdjson-dev libhyperscan-dev libre2-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libcli11-dev libssl-dev libsqlite3-dev libhiredis-dev libpq-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev json-schema-test-suite
  nginx-light redis-server postgresql wrk curl jq clang-14 libclang-rt-14-dev chromium
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root (apt-get needs it)" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm for the SDK end-to-end tests: Debian's, unless a node with npm is already there.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages, each folder pinned by its package-lock.json: the dashboard's front end (embedded
# into the binary at build time), the SDKs the end-to-end tests drive, and playwright-core for
# the browser tests (which drive Debian's chromium, never a downloaded browser).
for dir in src/dashboard/web tests/e2e tests/browser; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "setup: installing the npm packages of $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    touch "$dir/node_modules"
  fi
done
# llama.cpp from the pinned node-llama-cpp source bundle: built once, cached by version.
scripts/llama.sh
echo "setup: ok"
