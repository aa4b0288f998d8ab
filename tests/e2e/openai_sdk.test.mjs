// The real `openai` npm SDK against the real gateway, which forwards to hybridgate_fake_upstream's
// canned script (tests/support/fake_upstream_main.cc). What the SDK parses is what a user's code
// sees: content, usage, stream deltas, tool calls and typed errors. Run through run.sh
// (ctest -L e2e), which sets HYBRIDGATE_BASE_URL.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI from 'openai';

const baseURL = process.env.HYBRIDGATE_BASE_URL;
assert.ok(baseURL, 'HYBRIDGATE_BASE_URL is not set: run through tests/e2e/run.sh (ctest -L e2e)');

const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });

const weatherTool = {
  type: 'function',
  function: {
    name: 'lookup_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { query: { type: 'string' }, limit: { type: 'integer' } },
      required: ['query'],
    },
  },
};

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('chat completions', () => {
  test('non-stream: content, usage and gateway headers', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'e2e-chat',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello gateway' },
        ],
      })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, 'echo: hello gateway');
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.equal(data.usage.prompt_tokens, 5);
    assert.equal(data.usage.completion_tokens, 7);
    assert.equal(data.usage.total_tokens, 12);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-hybridgate-provider'), 'fake');
    assert.equal(response.headers.get('x-hybridgate-model'), 'e2e-chat');
    assert.match(response.headers.get('x-hybridgate-request-id') ?? '', /^hg-[0-9a-f]{16}$/);
  });

  test('content as an array of text parts', async () => {
    const data = await client.chat.completions.create({
      model: 'e2e-chat',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'parts work' }] }],
    });
    assert.equal(data.choices[0].message.content, 'echo: parts work');
  });

  test('stream with include_usage: deltas, finish_reason and the usage chunk', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'e2e-chat',
        messages: [{ role: 'user', content: 'stream me three words' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    assert.equal(response.headers.get('x-hybridgate-provider'), 'fake');
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const chunks = await collect(stream);
    const withChoices = chunks.filter((c) => c.choices.length > 0);
    assert.ok(withChoices.length >= 4, `expected several content chunks, got ${withChoices.length}`);
    const text = withChoices.map((c) => c.choices[0].delta.content ?? '').join('');
    assert.equal(text, 'echo: stream me three words');
    for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(withChoices.at(-1).choices[0].finish_reason, 'stop');
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.prompt_tokens, 5);
    assert.equal(last.usage.completion_tokens, 5); // one per word chunk
    assert.equal(last.usage.total_tokens, 10);
  });

  test('stream without include_usage: no usage chunk reaches the client', async () => {
    const stream = await client.chat.completions.create({
      model: 'e2e-chat',
      messages: [{ role: 'user', content: 'quiet please' }],
      stream: true,
    });
    const chunks = await collect(stream);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, 'echo: quiet please');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    for (const c of chunks) {
      assert.ok(c.choices.length > 0, `unexpected usage-only chunk: ${JSON.stringify(c)}`);
      assert.ok(!c.usage, `unexpected usage: ${JSON.stringify(c)}`);
    }
  });
});

describe('tool calls', () => {
  const messages = [{ role: 'user', content: 'weather in Paris' }];

  test('non-stream: the SDK parses tool_calls', async () => {
    const data = await client.chat.completions.create({
      model: 'e2e-chat',
      messages,
      tools: [weatherTool],
      tool_choice: 'auto',
    });
    const choice = data.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.equal(call.id, 'call_e2e_1');
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'lookup_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'weather in Paris', limit: 3 });
  });

  test('stream: argument fragments accumulate to the call', async () => {
    const stream = await client.chat.completions.create({
      model: 'e2e-chat',
      messages,
      tools: [weatherTool],
      stream: true,
    });
    const calls = new Map(); // index -> {id, name, arguments}
    let fragments = 0;
    let finish = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      for (const delta of choice.delta.tool_calls ?? []) {
        const call = calls.get(delta.index) ?? { id: '', name: '', arguments: '' };
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.name += delta.function.name;
        if (delta.function?.arguments) {
          call.arguments += delta.function.arguments;
          fragments++;
        }
        calls.set(delta.index, call);
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(finish, 'tool_calls');
    assert.deepEqual([...calls.keys()], [0]);
    const call = calls.get(0);
    assert.equal(call.id, 'call_e2e_1');
    assert.equal(call.name, 'lookup_weather');
    assert.ok(fragments > 1, `arguments came in ${fragments} fragment(s); expected several`);
    assert.deepEqual(JSON.parse(call.arguments), { query: 'weather in Paris', limit: 3 });
  });

  test('stream helper: the SDK assembles the final message itself', async () => {
    const runner = client.chat.completions.stream({
      model: 'e2e-chat',
      messages,
      tools: [weatherTool],
    });
    const completion = await runner.finalChatCompletion();
    const call = completion.choices[0].message.tool_calls[0];
    assert.equal(completion.choices[0].finish_reason, 'tool_calls');
    assert.equal(call.function.name, 'lookup_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'weather in Paris', limit: 3 });
  });
});

describe('errors', () => {
  test("an upstream 400 is the SDK's BadRequestError with the upstream's message", async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'e2e-error',
        messages: [{ role: 'user', content: 'fail please' }],
      }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 400);
        assert.equal(err.error.message, "e2e-error always fails: this is the upstream's message");
        assert.match(err.message, /e2e-error always fails/);
        assert.equal(err.type, 'invalid_request_error');
        assert.equal(err.code, 'e2e_error');
        return true;
      },
    );
  });

  test('an upstream 400 on a stream request is thrown before any chunk', async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'e2e-error',
        messages: [{ role: 'user', content: 'fail please' }],
        stream: true,
      }),
      (err) => err instanceof OpenAI.BadRequestError && err.status === 400,
    );
  });

  test("an unknown model is the SDK's NotFoundError with code model_not_found", async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'hi' }],
      }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'model_not_found');
        assert.equal(err.param, 'model');
        assert.match(err.message, /no-such-model/);
        return true;
      },
    );
  });

  test("a malformed request is the SDK's BadRequestError naming the field", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'e2e-chat', messages: 'not a list' }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.param, 'messages');
        return true;
      },
    );
  });
});
