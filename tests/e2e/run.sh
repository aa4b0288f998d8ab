#!/usr/bin/env bash
# Runs one end-to-end test file: starts hybridgate_fake_upstream and `hybridgate serve` on free
# loopback ports with a generated config, waits for /healthz, runs `node --test` on the file with
# HYBRIDGATE_BASE_URL set (node gets HYBRIDGATE_E2E_NODE_TIMEOUT seconds, 90 by default, inside
# ctest's limit, so the cleanup always runs), then
# stops both (the gateway must exit 0 on SIGTERM, which also surfaces sanitizer reports) and exits
# with node's status.
#
# usage: run.sh HYBRIDGATE_BIN FAKE_UPSTREAM_BIN [TEST_FILE...]   (ctest passes all three)
#   or:  HYBRIDGATE_BIN=... HYBRIDGATE_FAKE_UPSTREAM_BIN=... run.sh [TEST_FILE...]
#
# HYBRIDGATE_E2E_UPSTREAM picks what the fake speaks and so the gateway's provider type:
#   openai    (default) an OpenAI-compatible upstream, provider `fake` of type openai;
#   anthropic a strict Anthropic Messages API (--dialect anthropic), provider `claude` of type
#             anthropic with the fake's key.
# Node also gets HYBRIDGATE_FAKE_UPSTREAM_URL: the fake's GET /_fake/requests lists what it got.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -ge 2 && -x "$1" && -x "$2" ]]; then
  gateway_bin="$1" upstream_bin="$2"
  shift 2
else
  gateway_bin="${HYBRIDGATE_BIN:-}" upstream_bin="${HYBRIDGATE_FAKE_UPSTREAM_BIN:-}"
fi
tests=("$@")
[[ ${#tests[@]} -gt 0 ]] || tests=(openai_sdk.test.mjs)

fail() { echo "e2e: $*" >&2; exit 1; }
upstream_dialect="${HYBRIDGATE_E2E_UPSTREAM:-openai}"
[[ "$upstream_dialect" == openai || "$upstream_dialect" == anthropic ]] ||
  fail "HYBRIDGATE_E2E_UPSTREAM must be openai or anthropic, not '$upstream_dialect'"
[[ -x "$gateway_bin" ]] ||
  fail "hybridgate binary '$gateway_bin' not found (pass it as \$1 or HYBRIDGATE_BIN)"
[[ -x "$upstream_bin" ]] ||
  fail "hybridgate_fake_upstream '$upstream_bin' not found (\$2 or HYBRIDGATE_FAKE_UPSTREAM_BIN)"
command -v node >/dev/null || fail "node is not installed: run scripts/setup.sh"
[[ -d "$here/node_modules" ]] ||
  fail "tests/e2e/node_modules is missing: run scripts/setup.sh (it runs npm ci --prefix tests/e2e)"
# The installed SDKs must be the ones the lock pins (a stale node_modules tests something else).
node --input-type=module - "$here" <<'EOF' || fail "tests/e2e/node_modules is stale: run scripts/setup.sh"
import { readFileSync } from 'node:fs';
const dir = process.argv[2];
const lock = JSON.parse(readFileSync(`${dir}/package-lock.json`, 'utf8'));
let ok = true;
for (const [path, meta] of Object.entries(lock.packages)) {
  if (!path.startsWith('node_modules/') || meta.dev || meta.optional) continue;
  let installed = null;
  try { installed = JSON.parse(readFileSync(`${dir}/${path}/package.json`, 'utf8')).version; } catch {}
  if (installed !== meta.version) {
    console.error(`e2e: ${path} is ${installed ?? 'missing'}, package-lock.json pins ${meta.version}`);
    ok = false;
  }
}
process.exit(ok ? 0 : 1);
EOF

work="$(mktemp -d /tmp/hybridgate-e2e-XXXXXX)"
upstream_pid="" gateway_pid=""
cleanup() {
  local status=$?
  for pid in $gateway_pid $upstream_pid; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $status -ne 0 ]]; then
    echo "---- gateway stderr ----" >&2; cat "$work/gateway.log" >&2 2>/dev/null || true
    echo "---- fake upstream stderr ----" >&2; cat "$work/upstream.log" >&2 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The upstream picks its own port and says which on its first stdout line. The file exists before
# the background child opens it (the redirection happens in the child, after the fork), so the
# first read never races it.
: >"$work/upstream.out"
"$upstream_bin" --port 0 --dialect "$upstream_dialect" >"$work/upstream.out" \
  2>"$work/upstream.log" &
upstream_pid=$!
upstream_port=""
for _ in $(seq 200); do
  upstream_port="$(sed -n 's/^port=\([0-9]\+\)$/\1/p' "$work/upstream.out" || true)"
  [[ -n "$upstream_port" ]] && break
  kill -0 "$upstream_pid" 2>/dev/null || fail "hybridgate_fake_upstream exited before listening"
  sleep 0.05
done
[[ -n "$upstream_port" ]] || fail "hybridgate_fake_upstream did not print its port"

# A free port for the gateway: bound and released by the kernel's choice (the window is tiny).
gateway_port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
  () => { console.log(s.address().port); s.close(); });')"
if [[ "$upstream_dialect" == anthropic ]]; then
  # The key the strict fake accepts (tests/support/fake_dialects.h, kFakeAnthropicKey).
  export HG_E2E_ANTHROPIC_KEY=sk-ant-test
  cat >"$work/config.yaml" <<EOF
listen: 127.0.0.1:$gateway_port
providers:
  - name: claude
    type: anthropic
    base_url: http://127.0.0.1:$upstream_port/v1
    api_key_env: HG_E2E_ANTHROPIC_KEY
    models: [{name: claude-opus-5-5}, {name: e2e-chat}, {name: e2e-error}]
EOF
else
  cat >"$work/config.yaml" <<EOF
listen: 127.0.0.1:$gateway_port
providers:
  - name: fake
    type: openai
    base_url: http://127.0.0.1:$upstream_port/v1
    models: [{name: e2e-chat}, {name: e2e-error}, {name: claude-opus-5-5}]
EOF
fi
"$gateway_bin" serve --config "$work/config.yaml" --workers 2 2>"$work/gateway.log" >/dev/null &
gateway_pid=$!
healthy() {  # bash's /dev/tcp: no curl needed
  { exec 3<>"/dev/tcp/127.0.0.1/$gateway_port"; } 2>/dev/null || return 1
  printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  local status_line=""
  read -r -t 2 status_line <&3 || true
  exec 3>&-
  [[ "$status_line" == "HTTP/1.1 200 "* ]]
}
for _ in $(seq 400); do
  healthy && break
  kill -0 "$gateway_pid" 2>/dev/null || fail "hybridgate exited during startup"
  sleep 0.05
done
healthy || fail "hybridgate did not answer /healthz within 20 s"

set +e
(cd "$here" && HYBRIDGATE_BASE_URL="http://127.0.0.1:$gateway_port/v1" \
  HYBRIDGATE_FAKE_UPSTREAM_URL="http://127.0.0.1:$upstream_port" \
  timeout --kill-after=5 "${HYBRIDGATE_E2E_NODE_TIMEOUT:-90}" node --test --test-reporter=spec "${tests[@]}")
node_status=$?
set -e

# A clean shutdown is part of the test: a non-zero exit here is a crash or a sanitizer report.
kill -TERM "$gateway_pid"
gateway_status=0
wait "$gateway_pid" || gateway_status=$?
gateway_pid=""
if [[ $gateway_status -ne 0 ]]; then
  echo "e2e: hybridgate exited with status $gateway_status on SIGTERM" >&2
  exit 1
fi
kill -TERM "$upstream_pid"
wait "$upstream_pid" || fail "hybridgate_fake_upstream exited with status $? on SIGTERM"
upstream_pid=""
exit "$node_status"
