// OpenAiCompatible against a small HTTP server on 127.0.0.1: structured output, retries,
// backoff, timeouts and the in-flight cap.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { AbortError, IalpError } from '../packages/ts-api/src/options.js';
import { OpenAiCompatible, distill, renderPrompt, resolveLlm, type CompleteOptions } from '../packages/ts-api/src/llm/index.js';

interface Seen {
  body: { model: string; messages: { role: string; content: string }[]; response_format: { type: string; json_schema?: { schema: unknown } }; seed: number };
  auth: string | undefined;
}

type Handler = (seen: Seen, res: ServerResponse, n: number) => void;

/** A server that records each request and lets `handler` answer it (or not). */
async function serve(t: { teardown: (fn: () => Promise<void>) => void }, handler: Handler) {
  const requests: Seen[] = [];
  let inFlight = 0;
  const stats = { maxInFlight: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      const seen: Seen = { body: JSON.parse(data) as Seen['body'], auth: req.headers.authorization };
      requests.push(seen);
      if (req.url !== '/v1/chat/completions') {
        res.writeHead(404).end('not found');
        return;
      }
      handler(seen, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}/v1`, requests, stats };
}

const answer = (res: ServerResponse, content: string, delayMs = 0) =>
  setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] })), delayMs);

const rendered = renderPrompt({
  state: { history: [{ text: 'Heat (1995)', feedback: 5 }] },
  candidates: [{ id: 1, text: 'Casino' }, { id: 2, text: 'Babe' }],
});
const opts: CompleteOptions = { jsonSchema: rendered.schema, maxTokens: rendered.maxTokens, temperature: 0, seed: 3 };

test('a request carries the prompt, the schema and the key; the answer is the message content', async (t) => {
  const srv = await serve(t, (_s, res) => answer(res, '{"choices": ["B"]}'));
  const llm = new OpenAiCompatible({ baseUrl: `${srv.baseUrl}/`, model: 'tiny', apiKey: 'sk-test-secret' });
  t.is(llm.id, `openai:${srv.baseUrl}:tiny`);
  t.is(await llm.complete(rendered.prompt, opts), '{"choices": ["B"]}');
  const { body, auth } = srv.requests[0]!;
  t.is(auth, 'Bearer sk-test-secret');
  t.is(body.model, 'tiny');
  t.is(body.seed, 3);
  t.deepEqual(body.messages.map((m) => m.role), ['system', 'user']);
  t.is(body.messages[1]!.content, rendered.prompt.user);
  t.is(body.response_format.type, 'json_schema');
  t.deepEqual(body.response_format.json_schema?.schema, rendered.schema);
});

test('a server that refuses json_schema gets json_object from then on', async (t) => {
  const srv = await serve(t, (s, res) => {
    if (s.body.response_format.type === 'json_schema') res.writeHead(400).end('{"error": "response_format json_schema is not supported"}');
    else answer(res, '{"choices": ["A"]}');
  });
  const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'm', maxRetries: 0 });
  t.is(await llm.complete(rendered.prompt, opts), '{"choices": ["A"]}');
  t.is(await llm.complete(rendered.prompt, opts), '{"choices": ["A"]}');
  t.deepEqual(srv.requests.map((r) => r.body.response_format.type), ['json_schema', 'json_object', 'json_object']);
});

test('a 500 is retried and the retry succeeds', async (t) => {
  const srv = await serve(t, (_s, res, n) => (n === 0 ? res.writeHead(500).end('boom') : answer(res, '{"choices": ["A"]}')));
  const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'm', backoffMs: 10 });
  t.is(await llm.complete(rendered.prompt, opts), '{"choices": ["A"]}');
  t.is(srv.requests.length, 2);
});

test('429s back off exponentially, honour Retry-After, and give up after maxRetries', async (t) => {
  const srv = await serve(t, (_s, res, n) => (n < 2 ? res.writeHead(429, n === 1 ? { 'retry-after': '0.3' } : {}).end('slow down') : answer(res, '{"choices": ["B"]}')));
  const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'm', backoffMs: 100, maxRetries: 3 });
  const started = performance.now();
  t.is(await llm.complete(rendered.prompt, opts), '{"choices": ["B"]}');
  const waited = performance.now() - started;
  // First backoff is 50-100 ms (100 with jitter), the second at least the 300 ms Retry-After.
  t.true(waited >= 340 && waited < 20_000, `waited ${waited} ms`);
  t.is(srv.requests.length, 3);

  const always = await serve(t, (_s, res) => res.writeHead(429).end('no'));
  const bounded = new OpenAiCompatible({ baseUrl: always.baseUrl, model: 'm', backoffMs: 5, maxRetries: 2 });
  await t.throwsAsync(bounded.complete(rendered.prompt, opts), { instanceOf: IalpError, message: /HTTP 429: no \(after 3 attempts\)/ });
  t.is(always.requests.length, 3);
});

test('a hanging server hits the per-request timeout, retried a bounded number of times', async (t) => {
  const srv = await serve(t, () => {});
  const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'm', timeoutMs: 150, maxRetries: 1, backoffMs: 5 });
  const started = performance.now();
  await t.throwsAsync(llm.complete(rendered.prompt, opts), { instanceOf: IalpError, message: /no answer within 150 ms \(after 2 attempts\)/ });
  t.true(performance.now() - started < 30_000, "the timeout ends the call, not a hang");
  t.is(srv.requests.length, 2);
});

test('a server that streams without end, answers garbage or closes mid-answer is a named failure, never unbounded memory', async (t) => {
  // an endless 200 body: refused once it passes the 16 MiB limit, not read until memory runs out
  const chunk = Buffer.alloc(1 << 20, 0x20);
  const endless = await serve(t, (_s, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const more = () => { while (res.write(chunk)); };
    res.on('drain', more);
    more();
  });
  const before = process.memoryUsage().rss;
  const llm = new OpenAiCompatible({ baseUrl: endless.baseUrl, model: 'm', maxRetries: 0 });
  await t.throwsAsync(llm.complete(rendered.prompt, opts), { instanceOf: IalpError, message: /the response is larger than the limit of 16777216 bytes \(HTTP 200\)/ });
  t.true(process.memoryUsage().rss - before < 512 * 2 ** 20, 'memory stays bounded');
  // a declared size over the limit is refused before reading
  const declared = await serve(t, (_s, res) => res.writeHead(200, { 'content-length': String(2 ** 30) }).write('{'));
  await t.throwsAsync(new OpenAiCompatible({ baseUrl: declared.baseUrl, model: 'm', maxRetries: 0 }).complete(rendered.prompt, opts), { message: /larger than the limit/ });
  const garbage = await serve(t, (_s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('\u0000\u00ff<html>not json'));
  await t.throwsAsync(new OpenAiCompatible({ baseUrl: garbage.baseUrl, model: 'm', maxRetries: 0 }).complete(rendered.prompt, opts), { instanceOf: IalpError, message: /the response is not JSON/ });
  const closes = await serve(t, (_s, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    res.write('{"choices": [');
    setTimeout(() => res.destroy(), 10);
  });
  await t.throwsAsync(new OpenAiCompatible({ baseUrl: closes.baseUrl, model: 'm', maxRetries: 1, backoffMs: 5 }).complete(rendered.prompt, opts), { instanceOf: IalpError, message: /network error: .*\(after 2 attempts\)/ });
  t.is(closes.requests.length, 2, 'a connection closed mid-answer is retried');
});

test('the caller can abort a request in flight', async (t) => {
  const ctl = new AbortController();
  const srv = await serve(t, () => ctl.abort());
  const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'm' });
  await t.throwsAsync(llm.complete(rendered.prompt, { ...opts, signal: ctl.signal }), { instanceOf: AbortError });
  t.is(srv.requests.length, 1);
});

test('no more than `concurrency` requests are in flight', async (t) => {
  const srv = await serve(t, (_s, res) => answer(res, '{"choices": ["A"]}', 40));
  const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'm', concurrency: 3 });
  const out = await Promise.all(Array.from({ length: 10 }, () => llm.complete(rendered.prompt, opts)));
  t.is(out.length, 10);
  t.is(srv.stats.maxInFlight, 3);
});

test('client errors are not retried and never show the key', async (t) => {
  const srv = await serve(t, (_s, res) => res.writeHead(401).end('{"error": "bad key"}'));
  const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'm', apiKey: 'sk-very-secret' });
  const e = await t.throwsAsync(llm.complete(rendered.prompt, opts), { instanceOf: IalpError });
  t.regex(e!.message, /HTTP 401 \(check the API key in IALP_LLM_API_KEY\)/);
  t.false(e!.message.includes('sk-very-secret'));
  t.is(srv.requests.length, 1);
});

test('distill over an OpenAI-compatible server, resolved from a URL spec', async (t) => {
  const srv = await serve(t, (s, res) => answer(res, s.body.messages[1]!.content.includes('Casino') ? '{"choices": ["A"]}' : 'garbage'));
  const llm = await resolveLlm(`${srv.baseUrl}#served-model`, { openai: { concurrency: 2 } });
  t.is(llm.id, `openai:${srv.baseUrl}:served-model`);
  const state = { history: [{ text: 'Heat (1995)', feedback: 5 }] };
  const reqs = [
    { state, candidates: [{ id: 1, text: 'Casino' }, { id: 2, text: 'Babe' }] },
    { state, candidates: [{ id: 7, text: 'Toy Story' }, { id: 8, text: 'Babe' }] },
  ];
  const { results } = await distill(reqs, { backend: llm, maxRetries: 1 });
  t.like(results[0], { status: 'ok', preference: { chosen: [1] } });
  t.like(results[1], { status: 'failed', reason: 'not-json', attempts: 2 });
  await t.throwsAsync(resolveLlm(srv.baseUrl), { message: /name the model, as http:\/\/127\.0\.0\.1:\d+\/v1#model-name or with IALP_LLM_MODEL/ });
});

test('the concurrency asked of resolveLlm holds for an OpenAI-compatible server too', async (t) => {
  t.is((await resolveLlm('http://127.0.0.1:9/v1#m', { concurrency: 16 })).concurrency, 16);
  t.is((await resolveLlm('http://127.0.0.1:9/v1#m', { concurrency: 16, openai: { concurrency: 2 } })).concurrency, 2, 'its own setting wins');
  t.is((await resolveLlm('http://127.0.0.1:9/v1#m')).concurrency, 4);
});
