// The real `@anthropic-ai/sdk` against the gateway's POST /v1/messages, served by an
// OpenAI-compatible upstream (hybridgate_fake_upstream's canned script): what an Anthropic-SDK
// user's code sees — text, usage, streamed deltas, tool use and typed errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';

const base = process.env.HYBRIDGATE_BASE_URL;
assert.ok(base, 'HYBRIDGATE_BASE_URL is not set: run through tests/e2e/run.sh (ctest -L e2e)');
// The Anthropic SDK appends /v1/messages itself.
const client = new Anthropic({
  baseURL: base.replace(/\/v1\/?$/, ''),
  apiKey: 'unused',
  maxRetries: 0,
  timeout: 30_000,
});

describe('anthropic messages', () => {
  test('non-stream: text content, stop reason and usage', async () => {
    const msg = await client.messages.create({
      model: 'e2e-chat',
      max_tokens: 64,
      system: 'be brief',
      messages: [{ role: 'user', content: 'hello claude clients' }],
    });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.content[0].type, 'text');
    assert.equal(msg.content[0].text, 'echo: hello claude clients');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.input_tokens > 0, JSON.stringify(msg.usage));
    assert.ok(msg.usage.output_tokens > 0, JSON.stringify(msg.usage));
  });

  test('stream: the SDK assembles the text from the translated events', async () => {
    const stream = client.messages.stream({
      model: 'e2e-chat',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'stream to anthropic' }],
    });
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    const final = await stream.finalMessage();
    assert.equal(text, 'echo: stream to anthropic');
    assert.equal(final.content[0].text, 'echo: stream to anthropic');
    assert.equal(final.stop_reason, 'end_turn');
  });

  test('tool use: an OpenAI tool call arrives as a tool_use block', async () => {
    const msg = await client.messages.create({
      model: 'e2e-chat',
      max_tokens: 64,
      tools: [
        {
          name: 'lookup_weather',
          description: 'Current weather for a city',
          input_schema: { type: 'object', properties: { query: { type: 'string' } } },
        },
      ],
      messages: [{ role: 'user', content: 'Paris' }],
    });
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(use, JSON.stringify(msg.content));
    assert.equal(use.name, 'lookup_weather');
    assert.equal(use.input.query, 'Paris');
    assert.equal(msg.stop_reason, 'tool_use');
  });

  test('errors are typed: unknown model is NotFoundError, missing max_tokens BadRequestError', async () => {
    await assert.rejects(
      client.messages.create({
        model: 'no-such-model',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err) => err instanceof Anthropic.NotFoundError && err.status === 404,
    );
    await assert.rejects(
      client.post('/v1/messages', { body: { model: 'e2e-chat', messages: [{ role: 'user', content: 'x' }] } }),
      (err) => err instanceof Anthropic.BadRequestError && /max_tokens/.test(err.message),
    );
  });
});
