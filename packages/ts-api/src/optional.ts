// Optional peer dependencies, loaded only when a feature needs them, so that a service
// that only loads policies and recommends installs neither (`npm i ialp` is about 10 MB;
// node-llama-cpp with its CUDA/Vulkan/CPU builds is about 700 MB).
//   node-llama-cpp   a local GGUF model (`--llm FILE.gguf`, `--llm default`)
//   better-sqlite3   the LLM preference cache, where Node has no `node:sqlite` (Node < 22.5)
import { createRequire } from 'node:module';
import { IalpError } from './options.js';

/** The optional packages and the versions ialp is tested with. */
export const OPTIONAL_PACKAGES = {
  'node-llama-cpp': '3.21.1',
  'better-sqlite3': '12.6.2',
} as const;
export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

const req = createRequire(import.meta.url);

/** Whether `e` says that `name` itself (not one of its own imports) is not installed. */
function isMissing(e: unknown, name: string): boolean {
  const err = e as { code?: string; message?: string };
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'MODULE_NOT_FOUND') return false;
  const msg = String(err.message ?? '');
  return msg.includes(`'${name}'`) || msg.includes(`"${name}"`) || msg.includes(`/${name}/`);
}

/** The error for a feature used without its optional package. */
export function missingPackage(name: OptionalPackage, feature: string, alternative = ''): IalpError {
  return new IalpError(
    `${feature} needs the optional package ${name}, which is not installed; install it with ` +
      `\`npm install ${name}@${OPTIONAL_PACKAGES[name]}\`${alternative ? ` ${alternative}` : ''}`,
  );
}

/** `import(name)`, or an IalpError saying what to install when it is missing. */
export async function importOptional<T>(name: OptionalPackage, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (isMissing(e, name)) throw missingPackage(name, feature);
    throw e;
  }
}

/** `require(name)` (for CommonJS packages needed by synchronous code), or undefined when it is not installed. */
export function requireOptional<T>(name: OptionalPackage): T | undefined {
  try {
    return req(name) as T;
  } catch (e) {
    if (isMissing(e, name)) return undefined;
    throw e;
  }
}
