import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const cli = fileURLToPath(new URL('../packages/ts-api/src/cli.ts', import.meta.url));
export const backends = ['native', 'wasm'] as const;

/** Runs the `ialp` command line (from source, through tsx) and returns its output. */
export async function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import=tsx', cli, ...args], {
      cwd: root,
      maxBuffer: 64 << 20,
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
