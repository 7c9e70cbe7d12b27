// A worker thread of examples/serve (--workers N): holds its own copy of the
// policy and answers recommendations, so that the HTTP thread only parses and
// answers. Messages, in order (a worker handles them one at a time, so a
// request posted before a policy message is answered by the old policy):
//   {type: 'policy', generation, bytes}          -> {type: 'loaded', generation} | {type: 'failed', generation, error}
//   {type: 'recommend', id, history, k, excludeSeen} -> {type: 'done', id, generation, items} | {type: 'error', id, error, userError}
import { parentPort, workerData } from 'node:worker_threads';
import { IalpError, Policy } from 'ialp';

const backend = workerData.backend;
let policy = null;
let generation = 0;

parentPort.on('message', async (m) => {
  if (m.type === 'policy') {
    try {
      policy = await Policy.fromBytes(m.bytes, backend);
      generation = m.generation;
      parentPort.postMessage({ type: 'loaded', generation });
    } catch (e) {
      parentPort.postMessage({ type: 'failed', generation: m.generation, error: String(e.message ?? e) });
    }
    return;
  }
  if (m.type === 'recommend') {
    try {
      if (!policy) throw new Error('no policy loaded yet');
      const items = policy.recommend(m.history, { k: m.k, excludeSeen: m.excludeSeen });
      parentPort.postMessage({ type: 'done', id: m.id, generation, items });
    } catch (e) {
      parentPort.postMessage({ type: 'error', id: m.id, error: String(e.message ?? e), userError: e instanceof IalpError });
    }
  }
});
