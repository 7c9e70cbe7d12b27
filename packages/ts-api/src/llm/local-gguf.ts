// A GGUF model run in-process by node-llama-cpp: one context with several sequences, so
// several prompts decode together in one batch; answers constrained by a JSON-Schema grammar,
// or read as yes/no probabilities with a request's shared prefix evaluated once.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { ChatWrapper, ControlledEvaluateInputItem, GbnfJsonSchema, Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel, Token } from 'node-llama-cpp';
import { AbortError, IalpError, checkInt } from '../options.js';
import type { ChatPrompt, CompleteOptions, JsonSchema, LlmClient, YesNoOptions, YesNoQuery, YesNoScore } from './client.js';
import { importOptional } from '../optional.js';
import { cacheDir, writeFileAtomic } from '../paths.js';
import { Semaphore, canonicalJson } from './util.js';
import { checkGgufHeader } from './gguf-check.js';

export interface LocalGgufOptions {
  /** Sequences of the context: prompts decoded at once. Default 4. */
  concurrency?: number;
  /** `false` (default): CPU only. `'auto'`: the best GPU node-llama-cpp finds (CUDA, Vulkan, Metal). */
  gpu?: false | 'auto';
  /** Tokens per sequence. Default 2048. */
  contextSize?: number;
  /**
   * CPU threads. Default: half the cores, 1 to 4. llama.cpp's threads spin while they wait,
   * so on a busy machine one thread per core is far slower than fewer (a 2-core machine
   * under load took 35 s per prompt with 2 threads, 0.7 s with 1); a 135M model does not
   * need more, and sequences decode together in one batch anyway.
   */
  threads?: number;
  /** The file's SHA-256 when already known; otherwise it is computed once and remembered. */
  sha256?: string;
  /** Where the remembered file hashes live. Default `cacheDir()`. */
  cacheDir?: string;
}

/** The fewest tokens `scoreYesNo` evaluates in one chunk (see there). */
const MIN_CHUNK = 64;

export interface LocalYesNoOptions extends YesNoOptions {
  /**
   * Evaluate the questions' shared prefix once and roll the sequence back to it after each
   * question (default true). `false` evaluates every question from an empty sequence: the
   * same tokens, for checking that the reuse changes nothing.
   */
  reusePrefix?: boolean;
}

export class LocalGguf implements LlmClient {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private readonly slots: Semaphore;
  private readonly scoring = new Semaphore(1);
  private closed = false;
  private yesNoTokens?: { yes: Token[]; no: Token[] };
  /** Tokens evaluated by `scoreYesNo` (prefixes once per query), for measuring the reuse. */
  yesNoTokensEvaluated = 0;

  private constructor(
    readonly id: string,
    readonly path: string,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly free: LlamaContextSequence[],
    private readonly chatSession: typeof import('node-llama-cpp').LlamaChatSession,
    private readonly chatWrapper: ChatWrapper,
  ) {
    this.slots = new Semaphore(free.length);
  }

  get concurrency(): number {
    return this.slots.limit;
  }

  /** Loads a GGUF file. */
  static async load(path: string, opts: LocalGgufOptions = {}): Promise<LocalGguf> {
    const sequences = checkInt('LocalGguf concurrency', opts.concurrency ?? 4, 1, 256);
    const contextSize = checkInt('LocalGguf contextSize', opts.contextSize ?? 2048, 64);
    const threads = checkInt('LocalGguf threads', opts.threads ?? Math.min(4, Math.max(1, Math.floor(availableParallelism() / 2))), 1, 1024);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new IalpError(`${path}: no such model file`);
    const nlc = await importOptional('node-llama-cpp', `running the GGUF model ${path}`, () => import('node-llama-cpp'));
    // a forged header made node-llama-cpp hang; its counts are checked before it reads the file
    await checkGgufHeader(path);
    const sha = opts.sha256 ?? (await fileSha256(path, opts.cacheDir ?? cacheDir()));
    const id = `gguf:${sha.slice(0, 16)}:${basename(path)}`;
    let llama: Llama | undefined;
    let model: LlamaModel | undefined;
    try {
      llama = await nlc.getLlama({ gpu: opts.gpu ?? false, maxThreads: threads });
      model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ sequences, contextSize, threads });
      const free = Array.from({ length: sequences }, () => context.getSequence());
      return new LocalGguf(id, path, llama, model, context, free, nlc.LlamaChatSession, nlc.resolveChatWrapper(model));
    } catch (e) {
      await model?.dispose().catch(() => {});
      await llama?.dispose().catch(() => {});
      if (e instanceof IalpError) throw e;
      throw new IalpError(`${path}: could not load the model with node-llama-cpp: ${(e as Error).message}`);
    }
  }

  async complete(prompt: ChatPrompt, opts: CompleteOptions): Promise<string> {
    if (this.closed) throw new IalpError(`${this.id}: complete() after close()`);
    const release = await this.slots.acquire(opts.signal);
    const sequence = this.free.pop()!;
    try {
      const grammar = await this.grammar(opts.jsonSchema);
      // Every prompt starts from an empty sequence: reusing a cached prefix evaluates the
      // rest in other batch shapes, and the float differences flip close greedy choices of
      // a small model, so the same prompt could get another answer.
      await sequence.clearHistory();
      const session = new this.chatSession({ contextSequence: sequence, systemPrompt: prompt.system, autoDisposeSequence: false });
      try {
        return await session.prompt(prompt.user, {
          grammar,
          maxTokens: opts.maxTokens,
          temperature: opts.temperature,
          seed: opts.seed,
          signal: opts.signal,
        });
      } finally {
        session.dispose({ disposeSequence: false });
      }
    } finally {
      this.free.push(sequence);
      release();
    }
  }

  /**
   * For each question, the probabilities of the answer's first token (the model's own turn,
   * after its chat template) being yes or no. The tokens all questions share (the template,
   * the system message, the user prefix) are evaluated once; after each question the
   * sequence is rolled back to them. Read from the raw softmax: no sampling applies.
   */
  async scoreYesNo(query: YesNoQuery, opts: LocalYesNoOptions = {}): Promise<YesNoScore[]> {
    if (this.closed) throw new IalpError(`${this.id}: scoreYesNo() after close()`);
    const n = query.continuations.length;
    if (n === 0) return [];
    const words = this.answerTokens();
    const prompts = query.continuations.map((c) => this.chatTokens(query.system, query.userPrefix + c));
    // The tokens all questions share, evaluated once; each question then evaluates the rest of
    // its own tokens, at least MIN_CHUNK of them (the end of the shared part again, where its
    // own part is shorter). llama.cpp's CPU kernels round differently for a batch of fewer
    // than 64 tokens (a 135M Q4_1 model's log-probabilities moved by up to 0.2 from splitting
    // a prompt there, as much as its scores differ between candidates); with every chunk at
    // least that long, the scores are those of evaluating each question from scratch.
    const minLength = Math.min(...prompts.map((p) => p.length));
    let shared = 0;
    while (shared < minLength && prompts.every((p) => p[shared] === prompts[0]![shared])) shared++;
    shared = Math.min(shared, minLength - MIN_CHUNK);
    if (shared < MIN_CHUNK || opts.reusePrefix === false) shared = 0;
    const release = await this.slots.acquire(opts.signal);
    // One query at a time: batched with another sequence's tokens, a question's chunk would
    // take other shapes (and other roundings). On the CPU, batching gains little anyway.
    const releaseScoring = await this.scoring.acquire(opts.signal).catch((e: unknown) => {
      release();
      throw e;
    });
    const sequence = this.free.pop()!;
    try {
      await sequence.clearHistory();
      if (shared > 0) {
        await sequence.evaluateWithoutGeneratingNewTokens(prompts[0]!.slice(0, shared));
        this.yesNoTokensEvaluated += shared;
      }
      const out: YesNoScore[] = [];
      for (const tokens of prompts) {
        if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
        const rest: ControlledEvaluateInputItem[] = tokens.slice(shared, -1);
        rest.push([tokens.at(-1)!, { generateNext: { probabilities: true } }]);
        const res = await sequence.controlledEvaluate(rest);
        this.yesNoTokensEvaluated += rest.length;
        const probs = res[rest.length - 1]?.next.probabilities;
        if (!probs) throw new IalpError(`${this.id}: the model gave no next-token probabilities`);
        const logOf = (ts: Token[]) => Math.log(ts.reduce((a, t) => a + (probs.get(t) ?? 0), 0));
        out.push({ logYes: logOf(words.yes), logNo: logOf(words.no) });
        if (shared > 0) await sequence.eraseContextTokenRanges([{ start: shared, end: sequence.nextTokenIndex }]);
        else await sequence.clearHistory();
      }
      return out;
    } finally {
      this.free.push(sequence);
      releaseScoring();
      release();
    }
  }

  /** A one-turn chat (system, user, the start of the model's answer) as tokens, as a chat session would render it. */
  private chatTokens(system: string, user: string): Token[] {
    const { contextText } = this.chatWrapper.generateContextState({
      chatHistory: [
        { type: 'system', text: system },
        { type: 'user', text: user },
        { type: 'model', response: [] },
      ],
    });
    return contextText.tokenize(this.model.tokenizer);
  }

  /** The single tokens that spell yes and no (either case, with or without a leading space). */
  private answerTokens(): { yes: Token[]; no: Token[] } {
    if (this.yesNoTokens) return this.yesNoTokens;
    const single = (word: string) => {
      const found = new Set<Token>();
      for (const w of [word, word[0]!.toUpperCase() + word.slice(1), word.toUpperCase()]) {
        for (const spelling of [w, ` ${w}`]) {
          const t = this.model.tokenize(spelling, false, 'trimLeadingSpace');
          const u = this.model.tokenize(spelling, false);
          for (const ts of [t, u]) if (ts.length === 1 && this.model.detokenize(ts).trim().toLowerCase() === word) found.add(ts[0]!);
        }
      }
      if (found.size === 0) throw new IalpError(`${this.id}: the model has no single token for "${word}", so it cannot answer yes/no questions`);
      return [...found];
    };
    this.yesNoTokens = { yes: single('yes'), no: single('no') };
    return this.yesNoTokens;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }

  private grammar(schema: JsonSchema): Promise<LlamaGrammar> {
    const key = canonicalJson(schema);
    let g = this.grammars.get(key);
    if (!g) {
      g = this.llama.createGrammarForJsonSchema<GbnfJsonSchema>(schema as GbnfJsonSchema).catch((e: Error) => {
        this.grammars.delete(key);
        throw new IalpError(`${this.id}: cannot build a grammar for the answer schema: ${e.message}`);
      });
      this.grammars.set(key, g);
    }
    return g;
  }
}

/**
 * The SHA-256 of a model file, remembered in `<cache>/model-hashes.json` by path, size and
 * modification time so that a multi-gigabyte file is read once.
 */
async function fileSha256(path: string, cache: string): Promise<string> {
  const real = await realpath(path);
  const { size, mtimeMs } = await stat(real);
  const memoPath = join(cache, 'model-hashes.json');
  const key = `${real}:${size}:${mtimeMs}`;
  let memo: Record<string, string> = {};
  try {
    memo = JSON.parse(await readFile(memoPath, 'utf8')) as Record<string, string>;
  } catch {
    // Missing or unreadable: start afresh.
  }
  const known = memo[key];
  if (typeof known === 'string' && /^[0-9a-f]{64}$/.test(known)) return known;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(real)) hash.update(chunk as Buffer);
  const sha = hash.digest('hex');
  try {
    await mkdir(dirname(memoPath), { recursive: true });
    await writeFileAtomic(memoPath, new TextEncoder().encode(JSON.stringify({ ...memo, [key]: sha })));
  } catch {
    // The memo only saves time; a read-only cache directory is fine.
  }
  return sha;
}
