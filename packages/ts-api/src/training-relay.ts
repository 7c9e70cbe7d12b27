// Training across the boundary with an AbortSignal and a progress callback,
// on either build (backend.ts's `train`).

import type * as Core from '@ialp/native';
import type { RawWorld, TrainOutput } from './backend.js';
import type { CoreModule } from './builds.js';
import type * as T from './core-types.js';
import { checkAborted, checkFinite, IalpError } from './options.js';

type Req<X> = T.Request<X>;

/**
 * Training with an AbortSignal and a progress callback on either build. The
 * native build trains on the thread pool, the wasm one on this thread until it
 * ends (in a browser, train in a Web Worker); either checks the token after
 * every update, so an abort or an exception from `onProgress` stops it there.
 */
export async function trainRelayed(m: CoreModule, config: Req<T.TrainConfig>, world: RawWorld, onProgress?: (p: T.Progress) => void,
  signal?: AbortSignal, init?: Uint8Array, critic?: Uint8Array): Promise<TrainOutput> {
  checkAborted(signal);
  const token = new m.CancelToken();
  const onAbort = () => token.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  let received = 0;
  let thrown: unknown;
  const relay = onProgress
    ? (p: unknown) => {
        received++;
        if (thrown !== undefined) return;
        try {
          onProgress(p as T.Progress);
        } catch (e) {
          thrown = e; // it must not escape as uncaught: training stops and the promise rejects
          token.cancel();
        }
      }
    : null;
  try {
    const out = await m.train(checkFinite('training config', config), world as Core.World, relay, token, init ?? null, critic ?? null);
    // Native progress events travel separately from the result: deliver every
    // one (one per update) before resolving.
    const deadline = Date.now() + 5000;
    while (relay && received < out.updates && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    if (thrown !== undefined) throw thrown instanceof Error ? thrown : new IalpError(`onProgress threw: ${String(thrown)}`);
    checkAborted(signal);
    return out;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
