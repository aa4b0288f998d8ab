// The real `@google/genai` SDK against the gateway's POST /v1beta/models/{model}:generateContent
// and :streamGenerateContent?alt=sse, served by an OpenAI-compatible upstream
// (hybridgate_fake_upstream's canned script): what a Gemini-SDK user's code sees — text, usage,
// streamed chunks, a function-calling round trip and typed errors; countTokens, embedContent
// (the SDK sends batchEmbedContents) and the model list.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError, GoogleGenAI, Type } from '@google/genai';

const base = process.env.HYBRIDGATE_BASE_URL;
assert.ok(base, 'HYBRIDGATE_BASE_URL is not set: run through tests/e2e/run.sh (ctest -L e2e)');
// The SDK appends /{apiVersion}/models/{model}:{method} (apiVersion v1beta) to baseUrl.
const ai = new GoogleGenAI({
  apiKey: 'unused',
  httpOptions: { baseUrl: base.replace(/\/v1\/?$/, ''), timeout: 30_000 },
});

const weatherTool = {
  functionDeclarations: [
    {
      name: 'lookup_weather',
      description: 'Current weather for a city',
      parameters: {
        type: Type.OBJECT,
        properties: { query: { type: Type.STRING }, limit: { type: Type.INTEGER } },
        required: ['query'],
      },
    },
  ],
};

describe('gemini generateContent', () => {
  test('non-stream: text, finish reason and usage', async () => {
    const response = await ai.models.generateContent({
      model: 'e2e-chat',
      contents: 'hello gemini clients',
      config: {
        systemInstruction: 'be brief',
        temperature: 0.3,
        maxOutputTokens: 64,
        thinkingConfig: { thinkingBudget: 0 },
      },
    });
    assert.equal(response.text, 'echo: hello gemini clients');
    assert.equal(response.candidates[0].finishReason, 'STOP');
    assert.ok(response.usageMetadata.promptTokenCount > 0, JSON.stringify(response.usageMetadata));
    assert.ok(response.usageMetadata.totalTokenCount > 0);
    assert.ok(response.responseId, 'responseId');
  });

  test('stream: the chunks concatenate to the text, the last one finishes', async () => {
    const stream = await ai.models.generateContentStream({
      model: 'e2e-chat',
      contents: [{ role: 'user', parts: [{ text: 'stream to gemini' }] }],
    });
    let text = '';
    let last;
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.text ?? '';
      last = chunk;
      chunks += 1;
    }
    assert.equal(text, 'echo: stream to gemini');
    assert.ok(chunks >= 2, `${chunks} chunks`);
    assert.equal(last.candidates[0].finishReason, 'STOP');
    assert.ok(last.usageMetadata.promptTokenCount > 0, JSON.stringify(last.usageMetadata));
  });

  test('function calling round trip: call, send the result back, get the answer', async () => {
    const first = await ai.models.generateContent({
      model: 'e2e-chat',
      contents: 'Paris',
      config: {
        tools: [weatherTool],
        toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup_weather'] } },
      },
    });
    const calls = first.functionCalls;
    assert.equal(calls?.length, 1, JSON.stringify(first.candidates));
    assert.equal(calls[0].name, 'lookup_weather');
    assert.deepEqual(calls[0].args, { query: 'Paris', limit: 3 });
    // The SDK user's usual history: their turn, the model's content as returned, the result.
    const second = await ai.models.generateContent({
      model: 'e2e-chat',
      contents: [
        { role: 'user', parts: [{ text: 'Paris' }] },
        first.candidates[0].content,
        {
          role: 'user',
          parts: [
            { functionResponse: { id: calls[0].id, name: calls[0].name, response: { temp_c: 18 } } },
          ],
        },
      ],
    });
    // The fake answers a tool result with its content and the count of messages it got.
    assert.equal(second.text, 'tool said: {"temp_c":18} (3 messages)');
  });

  test('stream with tools: the functionCall part arrives whole', async () => {
    const stream = await ai.models.generateContentStream({
      model: 'e2e-chat',
      contents: 'Lyon in pieces',
      config: { tools: [weatherTool] },
    });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    assert.equal(calls.length, 1, JSON.stringify(calls));
    assert.equal(calls[0].name, 'lookup_weather');
    assert.deepEqual(calls[0].args, { query: 'Lyon in pieces', limit: 3 });
  });

  test('errors are typed: ApiError with the HTTP status and Google status', async () => {
    await assert.rejects(
      ai.models.generateContent({ model: 'no-such-model', contents: 'x' }),
      (err) => err instanceof ApiError && err.status === 404 && /NOT_FOUND/.test(err.message),
    );
    await assert.rejects(
      ai.models.generateContent({ model: 'e2e-chat', contents: 'x', config: { candidateCount: 2 } }),
      (err) => err instanceof ApiError && err.status === 400 && /candidateCount/.test(err.message),
    );
    await assert.rejects(
      ai.models.generateContent({ model: 'e2e-error', contents: 'x' }),
      (err) => err instanceof ApiError && err.status === 400 && /e2e-error always fails/.test(err.message),
    );
  });
});

describe('gemini countTokens, embedContent and models', () => {
  test('countTokens: a number for any configured model', async () => {
    const r = await ai.models.countTokens({ model: 'e2e-chat', contents: 'count these few words' });
    assert.ok(Number.isInteger(r.totalTokens) && r.totalTokens > 0, JSON.stringify(r));
    await assert.rejects(
      ai.models.countTokens({ model: 'no-such-model', contents: 'x' }),
      (err) => err instanceof ApiError && err.status === 404 && /NOT_FOUND/.test(err.message),
    );
  });

  test('embedContent: one vector per content, in order', async () => {
    const one = await ai.models.embedContent({ model: 'e2e-chat', contents: 'embed me' });
    assert.equal(one.embeddings.length, 1, JSON.stringify(one));
    assert.deepEqual(one.embeddings[0].values, [8, 0.5]);
    const many = await ai.models.embedContent({ model: 'e2e-chat', contents: ['a', 'bbb'] });
    assert.deepEqual(
      many.embeddings.map((e) => e.values),
      [
        [1, 0.5],
        [3, 0.5],
      ],
    );
  });

  test('models: list and get', async () => {
    const names = [];
    for await (const m of await ai.models.list()) names.push(m.name);
    assert.ok(names.includes('models/e2e-chat'), JSON.stringify(names));
    const m = await ai.models.get({ model: 'e2e-chat' });
    assert.equal(m.name, 'models/e2e-chat');
    assert.ok(m.supportedActions.includes('embedContent'), JSON.stringify(m));
    await assert.rejects(
      ai.models.get({ model: 'no-such-model' }),
      (err) => err instanceof ApiError && err.status === 404,
    );
  });
});
