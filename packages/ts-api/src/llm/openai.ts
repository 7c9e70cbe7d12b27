// Any server that speaks the OpenAI chat-completions protocol (vLLM, llama.cpp's server,
// Ollama, hosted APIs): structured output through response_format, bounded retries with
// jittered exponential backoff, a per-request timeout and a cap on requests in flight.
import { AbortError, IalpError, checkInt } from '../options.js';
import type { ChatPrompt, CompleteOptions, LlmClient } from './client.js';
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
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
}

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
  }

  async complete(prompt: ChatPrompt, opts: CompleteOptions): Promise<string> {
    const release = await this.slots.acquire(opts.signal);
    try {
      return await this.withRetries(prompt, opts);
    } finally {
      release();
    }
  }

  async close(): Promise<void> {}

  private async withRetries(prompt: ChatPrompt, opts: CompleteOptions): Promise<string> {
    let lastProblem = '';
    for (let attempt = 0; ; attempt++) {
      if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
      const outcome = await this.once(prompt, opts);
      if (outcome.kind === 'ok') return outcome.text;
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
      await sleep(wait, opts.signal);
    }
  }

  private async once(
    prompt: ChatPrompt,
    opts: CompleteOptions,
  ): Promise<{ kind: 'ok'; text: string } | { kind: 'fallback' } | { kind: 'retry' | 'fatal'; problem: string; retryAfterMs?: number }> {
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
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    this.requests++;
    let res: Response;
    let text: string;
    try {
      res = await this.fetch(this.url, { method: 'POST', headers, body: JSON.stringify(body), signal });
      text = await res.text();
    } catch (e) {
      if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
      if (timeout.aborted || isTimeoutReason(e)) return { kind: 'retry', problem: `no answer within ${this.timeoutMs} ms` };
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return { kind: 'retry', problem: `network error: ${cause?.code ?? cause?.message ?? (e as Error).message}` };
    }
    if (!res.ok) {
      const snippet = text.slice(0, 300).replace(/\s+/g, ' ');
      if (mode === 'json_schema' && (res.status === 400 || res.status === 422) && /response_format|json_schema|schema/i.test(text)) {
        return { kind: 'fallback' };
      }
      if (retryable(res.status)) return { kind: 'retry', problem: `HTTP ${res.status}: ${snippet}`, retryAfterMs: retryAfter(res.headers.get('retry-after')) };
      const hint = res.status === 401 || res.status === 403 ? ' (check the API key in IALP_LLM_API_KEY)' : '';
      return { kind: 'fatal', problem: `HTTP ${res.status}${hint}: ${snippet}` };
    }
    let content: unknown;
    try {
      content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
    } catch {
      return { kind: 'fatal', problem: `the response is not JSON: ${text.slice(0, 120)}` };
    }
    if (typeof content !== 'string') return { kind: 'fatal', problem: 'the response has no choices[0].message.content' };
    return { kind: 'ok', text: content };
  }
}

/** Retry-After in ms (seconds or an HTTP date), if present. */
function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
