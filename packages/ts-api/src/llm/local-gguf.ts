// A GGUF model run in-process by node-llama-cpp: one context with several sequences, so
// several prompts decode together in one batch; answers constrained by a JSON-Schema grammar.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { GbnfJsonSchema, Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel } from 'node-llama-cpp';
import { IalpError, checkInt } from '../options.js';
import type { ChatPrompt, CompleteOptions, JsonSchema, LlmClient } from './client.js';
import { cacheDir, writeFileAtomic } from '../paths.js';
import { Semaphore, canonicalJson } from './util.js';

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

export class LocalGguf implements LlmClient {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private readonly slots: Semaphore;
  private closed = false;

  private constructor(
    readonly id: string,
    readonly path: string,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly free: LlamaContextSequence[],
    private readonly chatSession: typeof import('node-llama-cpp').LlamaChatSession,
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
    const sha = opts.sha256 ?? (await fileSha256(path, opts.cacheDir ?? cacheDir()));
    const id = `gguf:${sha.slice(0, 16)}:${basename(path)}`;
    const nlc = await import('node-llama-cpp');
    let llama: Llama | undefined;
    let model: LlamaModel | undefined;
    try {
      llama = await nlc.getLlama({ gpu: opts.gpu ?? false, maxThreads: threads });
      model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ sequences, contextSize, threads });
      const free = Array.from({ length: sequences }, () => context.getSequence());
      return new LocalGguf(id, path, llama, model, context, free, nlc.LlamaChatSession);
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
