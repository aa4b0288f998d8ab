// Real clients built on the Responses API and on Anthropic Messages, from npm at the versions
// package-lock.json pins, against the real gateway and hybridgate_fake_upstream's canned script
// (an OpenAI chat completions upstream): the Vercel AI SDK's default OpenAI provider, the OpenAI
// Agents SDK, LangChain with useResponsesApi, Codex CLI (`codex exec`) and Claude Code
// (`claude -p`, its default model). Each completes a tool-using turn. Run through run.sh.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, after } from 'node:test';
import { generateText, streamText, generateObject, tool, stepCountIs } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { Agent, run, tool as agentTool, setDefaultOpenAIClient, setTracingDisabled } from '@openai/agents';
import OpenAI from 'openai';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';

const baseURL = process.env.HYBRIDGATE_BASE_URL;
assert.ok(baseURL, 'HYBRIDGATE_BASE_URL is not set: run through tests/e2e/run.sh (ctest -L e2e)');
const here = dirname(fileURLToPath(import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'hg-clients-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const weather = z.object({ query: z.string(), limit: z.number() });

describe('Vercel AI SDK, @ai-sdk/openai default provider (Responses API)', () => {
  const model = createOpenAI({ baseURL, apiKey: 'unused' })('e2e-chat');
  test('generateText and streamText', async () => {
    const r = await generateText({ model, prompt: 'hello ai sdk' });
    assert.equal(r.text, 'echo: hello ai sdk');
    assert.equal(r.usage.inputTokens, 5);
    assert.equal(r.usage.outputTokens, 7);
    const s = streamText({ model, prompt: 'stream ai sdk' });
    let text = '';
    for await (const d of s.textStream) text += d;
    assert.equal(text, 'echo: stream ai sdk');
    assert.ok((await s.usage).outputTokens > 0);
  });
  test('generateObject validates against the schema', async () => {
    const o = await generateObject({
      model, prompt: 'obj', schema: z.object({ name: z.string(), ok: z.boolean() }) });
    assert.deepEqual(o.object, { name: 'obj', ok: true });
  });
  test('tools: call, execute, answer', async () => {
    const r = await generateText({
      model, prompt: 'Paris', stopWhen: stepCountIs(3),
      tools: { lookup_weather: tool({ description: 'weather', inputSchema: weather,
        execute: async ({ query }) => ({ temp: 18, query }) }) } });
    assert.equal(r.steps.length, 2);
    assert.equal(r.text, 'tool said: {"temp":18,"query":"Paris"} (3 messages)');
  });
});

describe('OpenAI Agents SDK, default (Responses) mode', () => {
  setTracingDisabled(true);
  setDefaultOpenAIClient(new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 }));
  const agent = new Agent({
    name: 'weather', instructions: 'help', model: 'e2e-chat',
    tools: [agentTool({ name: 'lookup_weather', description: 'weather', parameters: weather,
      execute: async ({ query }) => `sunny in ${query}` })] });
  test('a one-tool agent run, and streamed', async () => {
    const r = await run(agent, 'Paris');
    assert.equal(r.finalOutput, 'tool said: sunny in Paris (4 messages)');
    const s = await run(agent, 'Oslo', { stream: true });
    let text = '';
    for await (const t of s.toTextStream()) text += t;
    await s.completed;
    assert.equal(text, 'tool said: sunny in Oslo (4 messages)');
  });
});

describe('LangChain JS, ChatOpenAI with useResponsesApi', () => {
  const llm = new ChatOpenAI({ model: 'e2e-chat', apiKey: 'unused', useResponsesApi: true,
    configuration: { baseURL }, maxRetries: 0 });
  test('invoke, stream and a tool call', async () => {
    const r = await llm.invoke('hello langchain');
    assert.equal(r.text, 'echo: hello langchain');
    assert.equal(r.usage_metadata.input_tokens, 5);
    let text = '';
    for await (const c of await llm.stream('stream langchain')) text += c.text;
    assert.equal(text, 'echo: stream langchain');
    const t = await llm.bindTools([{ type: 'function', function: { name: 'lookup_weather',
      description: 'weather', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }])
      .invoke('Paris');
    assert.deepEqual(t.tool_calls.map((c) => [c.name, c.args]),
      [['lookup_weather', { query: 'Paris', limit: 3 }]]);
  });
});

// Runs a CLI from node_modules/.bin with no stdin (Codex reads a prompt from an open one);
// resolves with its exit code and output.
function cli(name, args, env) {
  return new Promise((resolve) => {
    const child = spawn(join(here, 'node_modules', '.bin', name), args,
      { env: { ...process.env, ...env }, cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000 });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code, signal) => resolve({ code: code ?? signal, stdout, stderr }));
  });
}

describe('coding agents', () => {
  test('Codex CLI: codex exec runs a shell command the model asked for and answers', async () => {
    const r = await cli('codex', ['exec', '--skip-git-repo-check', '-m', 'e2e-chat',
      '-c', 'model_provider=hg',
      '-c', `model_providers.hg={name="hg",base_url="${baseURL}",wire_api="responses",env_key="HG_KEY"}`,
      'say hi'], { CODEX_HOME: mkdtempSync(join(scratch, 'codex-')), HG_KEY: 'unused' });
    assert.equal(r.code, 0, r.stderr);
    // The upstream's answer to the command's output, which Codex prints as the final message.
    assert.match(r.stdout, /tool said: [\s\S]*codex-e2e-ok/);
  });
  test('Claude Code: claude -p with its default model runs Bash and answers in JSON', async () => {
    const r = await cli('claude', ['-p', 'say hi', '--output-format', 'json',
      '--allowedTools', 'Bash(echo:*)'], {
      HOME: mkdtempSync(join(scratch, 'claude-')),
      ANTHROPIC_BASE_URL: baseURL.replace(/\/v1$/, ''), ANTHROPIC_API_KEY: 'unused',
      DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.is_error, false, r.stdout);
    assert.equal(out.num_turns, 2);
    assert.match(out.result, /^tool said: [\s\S]*claude-e2e-ok/);
    assert.ok(out.usage.input_tokens > 0, r.stdout);
  });
});
