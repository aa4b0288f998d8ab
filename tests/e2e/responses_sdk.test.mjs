// The real `openai` npm SDK's Responses API (responses.create, responses.stream, retrieve,
// inputItems.list, delete) against the real gateway, which serves it from an OpenAI chat
// completions upstream (hybridgate_fake_upstream's canned script). Run through run.sh.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI from 'openai';

const baseURL = process.env.HYBRIDGATE_BASE_URL;
assert.ok(baseURL, 'HYBRIDGATE_BASE_URL is not set: run through tests/e2e/run.sh (ctest -L e2e)');

const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });

const weatherTool = {
  type: 'function',
  name: 'lookup_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object',
    properties: { query: { type: 'string' }, limit: { type: 'integer' } },
    required: ['query'],
  },
  strict: false,
};

// The text of a response's message items (the SDK's stream helper leaves output_text unset).
function textOf(response) {
  return response.output.filter((i) => i.type === 'message')
    .flatMap((i) => i.content).filter((c) => c.type === 'output_text')
    .map((c) => c.text).join('');
}

describe('responses', () => {
  test('non-stream: output_text, usage, instructions echoed, stored and retrievable', async () => {
    const { data, response } = await client.responses
      .create({ model: 'e2e-chat', input: 'hello responses', instructions: 'be brief',
                metadata: { team: 'e2e' } })
      .withResponse();
    assert.equal(response.status, 200);
    assert.match(data.id, /^resp_[0-9a-f]{32}$/);
    assert.equal(data.object, 'response');
    assert.equal(data.status, 'completed');
    assert.equal(data.output_text, 'echo: hello responses');
    assert.equal(data.instructions, 'be brief');
    assert.deepEqual(data.metadata, { team: 'e2e' });
    assert.equal(data.usage.input_tokens, 5);
    assert.equal(data.usage.output_tokens, 7);
    assert.equal(data.usage.total_tokens, 12);
    assert.equal(response.headers.get('x-hybridgate-provider'), 'fake');

    const again = await client.responses.retrieve(data.id);
    assert.deepEqual(again, data);
    const items = await client.responses.inputItems.list(data.id);
    assert.equal(items.data.length, 1);
    assert.equal(items.data[0].role, 'user');
    assert.equal(items.data[0].content[0].text, 'hello responses');
  });

  test('stream: the documented event sequence and the final response', async () => {
    const stream = client.responses.stream({ model: 'e2e-chat', input: 'stream me please' });
    const types = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    const final = await stream.finalResponse();
    assert.equal(text, 'echo: stream me please');
    assert.equal(textOf(final), 'echo: stream me please');
    assert.equal(final.status, 'completed');
    assert.ok(final.usage.output_tokens > 0);
    assert.equal(final.usage.total_tokens, final.usage.input_tokens + final.usage.output_tokens);
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added']);
    assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed']);
    // A streamed answer is stored too.
    assert.equal((await client.responses.retrieve(final.id)).output_text, textOf(final));
  });

  test('tool round trip with previous_response_id, non-stream and stream', async () => {
    const first = await client.responses.create({
      model: 'e2e-chat', input: 'Paris', tools: [weatherTool] });
    const call = first.output.find((item) => item.type === 'function_call');
    assert.ok(call, JSON.stringify(first.output));
    assert.equal(call.name, 'lookup_weather');
    assert.deepEqual(JSON.parse(call.arguments), { query: 'Paris', limit: 3 });

    const second = await client.responses.create({
      model: 'e2e-chat', previous_response_id: first.id, tools: [weatherTool],
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21C' }] });
    // The upstream got the replayed conversation: user, assistant call, tool result.
    assert.equal(second.output_text, 'tool said: sunny, 21C (3 messages)');
    assert.equal(second.previous_response_id, first.id);

    const items = await client.responses.inputItems.list(second.id, { order: 'asc' });
    assert.deepEqual(items.data.map((i) => i.type ?? 'message'),
      ['message', 'function_call', 'function_call_output']);

    // Streamed: the call's arguments arrive as deltas, then the continuation streams.
    const s1 = client.responses.stream({ model: 'e2e-chat', input: 'Oslo', tools: [weatherTool] });
    let args = '';
    for await (const e of s1) {
      if (e.type === 'response.function_call_arguments.delta') args += e.delta;
    }
    const r1 = await s1.finalResponse();
    const c1 = r1.output.find((item) => item.type === 'function_call');
    assert.equal(args, c1.arguments);
    assert.deepEqual(JSON.parse(args), { query: 'Oslo', limit: 3 });
    const s2 = client.responses.stream({
      model: 'e2e-chat', previous_response_id: r1.id, tools: [weatherTool],
      input: [{ type: 'function_call_output', call_id: c1.call_id, output: 'snow' }] });
    const r2 = await s2.finalResponse();
    assert.equal(textOf(r2), 'tool said: snow (3 messages)');
  });

  test('errors: unknown previous response, built-in tools, deleted responses', async () => {
    await assert.rejects(
      client.responses.create({ model: 'e2e-chat', input: 'x', previous_response_id: 'resp_nope' }),
      (e) => e instanceof OpenAI.NotFoundError && /resp_nope/.test(e.message));
    // A built-in tool the upstream lacks: offered, it is dropped and named; required, a 400.
    const { data: offered, response } = await client.responses
      .create({ model: 'e2e-chat', input: 'x', tools: [{ type: 'web_search' }] }).withResponse();
    assert.equal(offered.status, 'completed');
    assert.equal(response.headers.get('x-hybridgate-dropped-fields'), 'tools:web_search');
    await assert.rejects(
      client.responses.create({ model: 'e2e-chat', input: 'x', tools: [{ type: 'web_search' }],
                                tool_choice: { type: 'web_search' } }),
      (e) => e instanceof OpenAI.BadRequestError && /web_search/.test(e.message));
    const r = await client.responses.create({ model: 'e2e-chat', input: 'to delete' });
    await client.responses.delete(r.id);
    await assert.rejects(client.responses.retrieve(r.id), (e) => e instanceof OpenAI.NotFoundError);
    // store:false answers are not kept.
    const unstored = await client.responses.create({ model: 'e2e-chat', input: 'x', store: false });
    assert.equal(unstored.store, false);
    await assert.rejects(client.responses.retrieve(unstored.id),
      (e) => e instanceof OpenAI.NotFoundError);
  });
});
