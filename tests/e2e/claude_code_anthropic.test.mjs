// Claude Code (`claude -p`, its default model, from npm at the version package-lock.json pins)
// against an `anthropic` provider: run.sh with HYBRIDGATE_E2E_UPSTREAM=anthropic starts
// hybridgate_fake_upstream --dialect anthropic, a strict Anthropic Messages API (it refuses what
// the real one refuses: unknown fields, a missing key or anthropic-version, a bad tool_result).
// A tool-using turn completes, Bash runs, and the upstream got Claude Code's request as sent —
// same-dialect passthrough: its system blocks and cache_control markers, its anthropic-beta.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, after } from 'node:test';

const baseURL = process.env.HYBRIDGATE_BASE_URL;
const fakeURL = process.env.HYBRIDGATE_FAKE_UPSTREAM_URL;
assert.ok(baseURL && fakeURL,
  'HYBRIDGATE_BASE_URL / HYBRIDGATE_FAKE_UPSTREAM_URL are not set: run through tests/e2e/run.sh');
const here = dirname(fileURLToPath(import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'hg-claude-anthropic-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// Runs a CLI from node_modules/.bin with no stdin; resolves with its exit code and output.
function cli(name, args, env) {
  return new Promise((resolve) => {
    const child = spawn(join(here, 'node_modules', '.bin', name), args,
      { env: { ...process.env, ...env }, cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000 });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => resolve({ code: `spawn failed: ${e.message}`, stdout, stderr }));
    child.on('close', (code, signal) => resolve({ code: code ?? signal, stdout, stderr }));
  });
}

test('Claude Code: claude -p through an anthropic provider runs Bash and answers in JSON',
  async () => {
    // Missing is a failure, never a skip: scripts/setup.sh installs it.
    assert.ok(existsSync(join(here, 'node_modules', '.bin', 'claude')),
      'Claude Code is not installed in tests/e2e/node_modules: run scripts/setup.sh');
    const r = await cli('claude', ['-p', 'say hi', '--output-format', 'json',
      '--allowedTools', 'Bash(echo:*)'], {
      HOME: mkdtempSync(join(scratch, 'home-')),
      ANTHROPIC_BASE_URL: baseURL.replace(/\/v1$/, ''), ANTHROPIC_API_KEY: 'unused',
      DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.is_error, false, r.stdout);
    assert.equal(out.num_turns, 2, r.stdout);
    // The fake's answer to the tool result, which carries what Bash printed.
    assert.match(out.result, /^tool said: [\s\S]*claude-e2e-ok/);
    assert.ok(out.usage.input_tokens > 0, r.stdout);

    const received = await (await fetch(`${fakeURL}/_fake/requests`)).json();
    const turns = received.filter((q) => q.target === '/v1/messages' &&
      Array.isArray(q.body?.tools) && q.body.tools.some((t) => t.name === 'Bash'));
    assert.ok(turns.length >= 2, JSON.stringify(received.map((q) => q.target)));
    for (const { headers, body } of turns) {
      // Passthrough: Claude Code's own betas, its system blocks (a translation joins them into
      // one string) and its prompt-caching markers; the provider's key, not the client's.
      assert.ok(headers['anthropic-beta'], 'anthropic-beta reaches the upstream');
      assert.ok(headers['anthropic-version'], 'anthropic-version reaches the upstream');
      assert.equal(headers['x-api-key'], 'sk-ant-test');
      assert.equal(body.model, 'claude-opus-5-5');
      assert.ok(Array.isArray(body.system), `system as sent: ${JSON.stringify(body.system)}`);
      assert.match(JSON.stringify(body), /"cache_control":\{[^}]*"ephemeral"/);
    }
    // The second turn carries Bash's output back as a tool_result for the fake's tool_use.
    const last = turns.at(-1).body.messages.at(-1);
    const result = last.content.find((b) => b.type === 'tool_result');
    assert.equal(result?.tool_use_id, 'toolu_e2e_1', JSON.stringify(last));
    assert.match(JSON.stringify(result.content), /claude-e2e-ok/);
  });
