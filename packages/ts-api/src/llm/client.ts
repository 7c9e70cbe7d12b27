// The one interface every LLM client implements (a local GGUF model, an
// OpenAI-compatible server, ...), and a scripted fake for tests.
import { IalpError } from '../options.js';
import { sleep } from './util.js';

/** A plain JSON Schema object (the subset node-llama-cpp's grammar builder and OpenAI's structured outputs share). */
export type JsonSchema = Record<string, unknown>;

/** One chat turn: a system message and a user message. */
export interface ChatPrompt {
  system: string;
  user: string;
}

export interface CompleteOptions {
  /** The answer must be JSON that matches this schema (backends constrain or request it). */
  jsonSchema: JsonSchema;
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  seed: number;
  signal?: AbortSignal;
}

/**
 * K yes/no questions that share a prefix: question i is the chat prompt with system message
 * `system` and user message `userPrefix + continuations[i]`, and the answer's first token is
 * read as yes or no. A backend evaluates the shared part once where it can.
 */
export interface YesNoQuery {
  system: string;
  userPrefix: string;
  continuations: readonly string[];
}

/**
 * The answer to one yes/no question: natural-log probabilities of the answer's first token
 * being "yes" (any spelling the model has as one token: yes, Yes, YES, with or without a
 * leading space) and being "no". They need not sum to one (other tokens take the rest).
 */
export interface YesNoScore {
  logYes: number;
  logNo: number;
}

export interface YesNoOptions {
  signal?: AbortSignal;
}

/**
 * Thrown by `scoreYesNo` when the backend turns out not to give token probabilities (an
 * OpenAI-compatible server without logprobs): distillation then asks the choice prompt.
 */
export class YesNoUnsupported extends IalpError {
  override name = 'YesNoUnsupported';
}

export interface LlmClient {
  /**
   * The model's identity, part of every cache key: `gguf:<sha256 prefix>:<file name>`,
   * `openai:<base URL>:<model>`, ...
   */
  readonly id: string;
  /** Parallel completions the client serves well (sequences, connections). */
  readonly concurrency: number;
  /** The raw answer text. Rejects (with any error) once `opts.signal` aborts. */
  complete(prompt: ChatPrompt, opts: CompleteOptions): Promise<string>;
  /**
   * Optional: the yes/no log-probabilities of each question of `query`, in order (pointwise
   * distillation). Backends without it are asked the choice prompt instead.
   */
  scoreYesNo?(query: YesNoQuery, opts?: YesNoOptions): Promise<YesNoScore[]>;
  close(): Promise<void>;
}

/** The former name of {@link LlmClient}. @deprecated use LlmClient */
export type LlmBackend = LlmClient;

/** One scripted reaction: an answer, an error to throw, a delay, or a call that never answers. */
export type ScriptStep =
  | string
  | Error
  | {
      answer?: string;
      error?: Error;
      delayMs?: number;
      /** Never answer; reject only when the call's signal aborts (or never, with `ignoreSignal`). */
      hang?: boolean;
      ignoreSignal?: boolean;
    };

export type Script =
  | readonly ScriptStep[]
  | ((prompt: ChatPrompt, opts: CompleteOptions, call: number) => ScriptStep | Promise<ScriptStep>);

/**
 * A fake client for unit tests: plays a script (an array, whose last step repeats, or a
 * function of the prompt and call number) and counts calls.
 */
export class ScriptedBackend implements LlmClient {
  readonly id: string;
  readonly concurrency: number;
  /** Present when the options give `yesNo`: it answers each query (or throws). */
  readonly scoreYesNo?: (query: YesNoQuery, opts?: YesNoOptions) => Promise<YesNoScore[]>;
  /** Yes/no queries asked. */
  readonly yesNoQueries: YesNoQuery[] = [];
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  closed = false;
  readonly prompts: ChatPrompt[] = [];
  readonly seen: Omit<CompleteOptions, 'signal'>[] = [];
  private readonly delayMs: number;

  constructor(
    private readonly script: Script,
    options: {
      id?: string;
      delayMs?: number;
      concurrency?: number;
      yesNo?: (query: YesNoQuery, call: number) => YesNoScore[] | Promise<YesNoScore[]>;
    } = {},
  ) {
    this.id = options.id ?? 'scripted';
    this.delayMs = options.delayMs ?? 0;
    this.concurrency = options.concurrency ?? 4;
    const yesNo = options.yesNo;
    if (yesNo) {
      this.scoreYesNo = async (query) => {
        if (this.closed) throw new IalpError('ScriptedBackend: scoreYesNo() after close()');
        this.yesNoQueries.push(query);
        return yesNo(query, this.yesNoQueries.length - 1);
      };
    }
  }

  async complete(prompt: ChatPrompt, opts: CompleteOptions): Promise<string> {
    if (this.closed) throw new IalpError('ScriptedBackend: complete() after close()');
    const call = this.calls++;
    this.prompts.push(prompt);
    this.seen.push({ jsonSchema: opts.jsonSchema, maxTokens: opts.maxTokens, temperature: opts.temperature, seed: opts.seed });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      let step: ScriptStep;
      if (typeof this.script === 'function') step = await this.script(prompt, opts, call);
      else {
        if (this.script.length === 0) throw new IalpError('ScriptedBackend: empty script');
        step = this.script[Math.min(call, this.script.length - 1)]!;
      }
      if (typeof step === 'string') step = { answer: step };
      else if (step instanceof Error) step = { error: step };
      const delay = step.delayMs ?? this.delayMs;
      if (delay > 0) await sleep(delay, opts.signal);
      if (step.hang) await hang(step.ignoreSignal ? undefined : opts.signal);
      if (step.error) throw step.error;
      return step.answer ?? '';
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function hang(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (!signal) return;
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
