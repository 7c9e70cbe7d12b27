// Groups whose subject does not exist yet. Each is listed so `--only llm` says
// why nothing ran; replace `unavailable` and `run` once the feature lands.

import type { Group } from '../lib/group.js';

function pending(name: string, title: string, why: string): Group {
  return {
    name,
    title,
    unavailable: why,
    async run() {
      throw new Error(`${name}: ${why}`);
    },
  };
}

// TODO(#5): wall time per phase of `ialp run --quick`.
export const mainGroup = pending('main', 'The main job', 'not yet available: needs issue #5 (the main job, `ialp run`)');
