// Any server that speaks the OpenAI chat-completions protocol (vLLM, llama.cpp's server,
// Ollama, hosted APIs): structured output through response_format, bounded retries with
// jittered exponential backoff, a per-request timeout and a cap on requests in flight;
// yes/no questions scored from the first answer token's top log-probabilities, where the
// server gives them (llama.cpp's server, vLLM: `logprobs`, `top_logprobs`).
import { AbortError, IalpError, checkInt } from '../options.js';
import { YesNoUnsupported, type ChatPrompt, type CompleteOptions, type LlmClient, type YesNoOptions, type YesNoQuery, type YesNoScore } from './client.js';
import { Semaphore, isTimeoutReason, sleep } from './util.js';

export interface OpenAiCompatibleOptions {
  /** The API root, e.g. `http://127.0.0.1:8080/v1`; requests go to `<baseUrl>/chat/completions`. */
  baseUrl: string;
  model: string;
  /** The API key itself. Default: the value of the environment variable `apiKeyEnv`. */
  apiKey?: string;
  /** Environment variable holding the API key. Default `IALP_LLM_API_KEY`. */
  apiKeyEnv?: string;
  /** Per-request timeout in ms. Default 120,000. */
  timeoutMs?: number;
  /** Retries after a 429, a 5xx, a network error or a timeout. Default 4. */
  maxRetries?: number;
  /** First backoff in ms, doubled per retry, with jitter. Default 500. */
  backoffMs?: number;
  /** Cap on one backoff (also on a server's Retry-After), ms. Default 20,000. */
  maxBackoffMs?: number;
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
  /** Alternatives asked for with each yes/no question's first answer token (`top_logprobs`). Default 20. */
  topLogprobs?: number;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
}

type Attempt<T> = { kind: 'ok'; value: T } | { kind: 'fallback' } | { kind: 'retry' | 'fatal'; problem: string; retryAfterMs?: number };

type Mode = 'json_schema' | 'json_object';

/** HTTP statuses worth another try: rate limits and server-side failures. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export class OpenAiCompatible implements LlmClient {
  readonly id: string;
  readonly concurrency: number;
  /** Requests sent, retries included. */
  requests = 0;
  private readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly slots: Semaphore;
  private readonly fetch: typeof fetch;
  private readonly topLogprobs: number;
  /** Switches to json_object once the server refuses json_schema. */
  private mode: Mode = 'json_schema';

  constructor(private readonly opts: OpenAiCompatibleOptions) {
    let base: URL;
    try {
      base = new URL(opts.baseUrl);
    } catch {
      throw new IalpError(`OpenAI-compatible base URL ${JSON.stringify(opts.baseUrl)}: not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new IalpError(`OpenAI-compatible base URL ${opts.baseUrl}: expected http:// or https://`);
    }
    if (!opts.model) throw new IalpError(`OpenAI-compatible server ${opts.baseUrl}: no model name given`);
    const root = opts.baseUrl.replace(/\/+$/, '');
    this.url = `${root}/chat/completions`;
    this.id = `openai:${root}:${opts.model}`;
    this.apiKey = opts.apiKey ?? process.env[opts.apiKeyEnv ?? 'IALP_LLM_API_KEY'] ?? undefined;
    this.timeoutMs = checkInt('timeoutMs', opts.timeoutMs ?? 120_000, 1);
    this.maxRetries = checkInt('maxRetries', opts.maxRetries ?? 4, 0, 100);
    this.backoffMs = checkInt('backoffMs', opts.backoffMs ?? 500, 0);
    this.maxBackoffMs = checkInt('maxBackoffMs', opts.maxBackoffMs ?? 20_000, 0);
    this.concurrency = checkInt('concurrency', opts.concurrency ?? 4, 1, 4096);
    this.slots = new Semaphore(this.concurrency);
    this.fetch = opts.fetch ?? fetch;
    this.topLogprobs = checkInt('topLogprobs', opts.topLogprobs ?? 20, 1, 20);
  }

  async complete(prompt: ChatPrompt, opts: CompleteOptions): Promise<string> {
    const release = await this.slots.acquire(opts.signal);
    try {
      return await this.withRetries(opts.signal, () => this.once(prompt, opts));
    } finally {
      release();
    }
  }

  /**
   * Each question as its own one-token greedy completion with `logprobs`; yes and no are
   * summed over the top alternatives that spell them (trimmed, any case). A word missing
   * from the top list gets the least listed probability (an upper bound). The server's own
   * prompt cache (llama.cpp's server, vLLM's prefix caching) reuses the shared prefix.
   * Throws YesNoUnsupported when the server refuses `logprobs` or answers without them.
   */
  async scoreYesNo(query: YesNoQuery, opts: YesNoOptions = {}): Promise<YesNoScore[]> {
    // the first question that fails stops the others (those not yet sent are not sent)
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    return Promise.all(
      query.continuations.map(async (c) => {
        try {
          const release = await this.slots.acquire(signal);
          try {
            return await this.withRetries(signal, () => this.yesNoOnce({ system: query.system, user: query.userPrefix + c }, signal));
          } finally {
            release();
          }
        } catch (e) {
          stop.abort(e);
          throw e;
        }
      }),
    );
  }

  async close(): Promise<void> {}

  private async withRetries<T>(signal: AbortSignal | undefined, once: () => Promise<Attempt<T>>): Promise<T> {
    let lastProblem = '';
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new AbortError(signal.reason);
      const outcome = await once();
      if (outcome.kind === 'ok') return outcome.value;
      if (outcome.kind === 'fallback') {
        // Not a retry: the same request again without a schema the server understands.
        this.mode = 'json_object';
        attempt--;
        continue;
      }
      lastProblem = outcome.problem;
      if (outcome.kind === 'fatal' || attempt >= this.maxRetries) {
        const tries = outcome.kind === 'fatal' ? '' : ` (after ${attempt + 1} attempts)`;
        throw new IalpError(`${this.url}: ${lastProblem}${tries}`);
      }
      // Exponential backoff with jitter in [1/2, 1] of the step; a server's Retry-After wins when longer.
      const step = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
      const wait = Math.min(this.maxBackoffMs, Math.max(step * (0.5 + Math.random() / 2), outcome.retryAfterMs ?? 0));
      await sleep(wait, signal);
    }
  }

  private async once(prompt: ChatPrompt, opts: CompleteOptions): Promise<Attempt<string>> {
    const mode = this.mode;
    const body = {
      model: this.opts.model,
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: prompt.user },
      ],
      max_tokens: opts.maxTokens,
      temperature: opts.temperature,
      seed: opts.seed,
      response_format:
        mode === 'json_schema'
          ? { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: opts.jsonSchema } }
          : { type: 'json_object' },
    };
    const sent = await this.post(body, opts.signal);
    if (sent.kind !== 'ok') {
      if (sent.kind === 'http') {
        if (mode === 'json_schema' && (sent.status === 400 || sent.status === 422) && /response_format|json_schema|schema/i.test(sent.text)) return { kind: 'fallback' };
        return httpProblem(sent);
      }
      return sent;
    }
    const content = (sent.json as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
    if (typeof content !== 'string') return { kind: 'fatal', problem: 'the response has no choices[0].message.content' };
    return { kind: 'ok', value: content };
  }

  private async yesNoOnce(prompt: ChatPrompt, signal: AbortSignal | undefined): Promise<Attempt<YesNoScore>> {
    const body = {
      model: this.opts.model,
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: prompt.user },
      ],
      max_tokens: 1,
      temperature: 0,
      logprobs: true,
      top_logprobs: this.topLogprobs,
    };
    const sent = await this.post(body, signal);
    if (sent.kind === 'http') {
      if ((sent.status === 400 || sent.status === 422 || sent.status === 501) && /logprob/i.test(sent.text)) {
        throw new YesNoUnsupported(`${this.url}: the server does not give log-probabilities (HTTP ${sent.status})`);
      }
      return httpProblem(sent);
    }
    if (sent.kind !== 'ok') return sent;
    type Top = { token?: unknown; logprob?: unknown };
    const first = (sent.json as { choices?: { logprobs?: { content?: { top_logprobs?: Top[] }[] } | null }[] }).choices?.[0]?.logprobs?.content?.[0];
    const top = first?.top_logprobs?.filter((t): t is { token: string; logprob: number } => typeof t.token === 'string' && typeof t.logprob === 'number' && Number.isFinite(t.logprob));
    if (!top || top.length === 0) throw new YesNoUnsupported(`${this.url}: the response has no choices[0].logprobs.content[0].top_logprobs`);
    const floor = Math.min(...top.map((t) => t.logprob));
    const logOf = (word: string) => {
      const p = top.filter((t) => t.token.trim().toLowerCase() === word).reduce((a, t) => a + Math.exp(t.logprob), 0);
      return p > 0 ? Math.log(p) : floor;
    };
    return { kind: 'ok', value: { logYes: logOf('yes'), logNo: logOf('no') } };
  }

  /** One POST: the parsed JSON of a 2xx answer, the status and text of another, or a network problem to retry. */
  private async post(
    body: object,
    signal: AbortSignal | undefined,
  ): Promise<{ kind: 'ok'; json: unknown } | { kind: 'http'; status: number; text: string; retryAfter: string | null } | { kind: 'retry' | 'fatal'; problem: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    this.requests++;
    let res: Response;
    let text: string;
    try {
      res = await this.fetch(this.url, { method: 'POST', headers, body: JSON.stringify(body), signal: both });
      const read = await readBodyBounded(res, MAX_RESPONSE_BYTES);
      if (read === null) {
        await res.body?.cancel().catch(() => {});
        return { kind: 'fatal', problem: `the response is larger than the limit of ${MAX_RESPONSE_BYTES} bytes (HTTP ${res.status})` };
      }
      text = read;
    } catch (e) {
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (timeout.aborted || isTimeoutReason(e)) return { kind: 'retry', problem: `no answer within ${this.timeoutMs} ms` };
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return { kind: 'retry', problem: `network error: ${cause?.code ?? cause?.message ?? (e as Error).message}` };
    }
    if (!res.ok) return { kind: 'http', status: res.status, text, retryAfter: res.headers.get('retry-after') };
    try {
      return { kind: 'ok', json: JSON.parse(text) as unknown };
    } catch {
      return { kind: 'fatal', problem: `the response is not JSON: ${text.slice(0, 120)}` };
    }
  }
}

/** Largest answer read from a server: 16 MiB (an answer is a few hundred bytes;
 * a server that streams without end must not grow memory until the process dies). */
export const MAX_RESPONSE_BYTES = 16 * 2 ** 20;

/** The body as text, or null once it passes `limit` bytes (then it is not read further). */
async function readBodyBounded(res: Response, limit: number): Promise<string | null> {
  if (!res.body) return '';
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) return null;
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += chunk.length;
    if (n > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A non-2xx answer: retried when the status says so, else fatal. */
function httpProblem(r: { status: number; text: string; retryAfter: string | null }): Attempt<never> {
  const snippet = r.text.slice(0, 300).replace(/\s+/g, ' ');
  if (retryable(r.status)) return { kind: 'retry', problem: `HTTP ${r.status}: ${snippet}`, retryAfterMs: retryAfter(r.retryAfter) };
  const hint = r.status === 401 || r.status === 403 ? ' (check the API key in IALP_LLM_API_KEY)' : '';
  return { kind: 'fatal', problem: `HTTP ${r.status}${hint}: ${snippet}` };
}

/** Retry-After in ms (seconds or an HTTP date), if present. */
function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
