// Trains A2C on the synthetic environment off the main thread.
// In:  { type: 'train', config } (a TrainConfig, see crates/ac-core/src/algorithms/config.rs).
// Out: { type: 'ready', variant }, { type: 'progress', progress } after every update,
//      { type: 'done', episodes, updates, envSteps, policyBytes, seconds } or { type: 'error', message }.
// `train` runs synchronously here, so the page stops a run by terminating the worker.
import { init, loadedVariant, train, World } from '@ialp/wasm';

const ready = init().then(() => postMessage({ type: 'ready', variant: loadedVariant() }));

self.onmessage = async ({ data }) => {
  if (data.type !== 'train') return;
  try {
    await ready;
    const world = World.build({ name: data.config.env.name }, null);
    const t0 = performance.now();
    const out = train(data.config, world, (progress) => {
      postMessage({ type: 'progress', progress });
    }, null);
    const result = { type: 'done', episodes: out.episodes, updates: out.updates, envSteps: out.envSteps,
      policyBytes: out.policy.length, seconds: (performance.now() - t0) / 1000 };
    world.free();
    postMessage(result, [result.episodes.buffer]);
  } catch (e) {
    postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
