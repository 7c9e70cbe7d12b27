import type { Backend, BackendKind, RawEnv } from './backend.js';
import { checkTypedArray, envSpec } from './options.js';
import { episodesFromFlat, type Episode } from './metrics.js';
import { World, type WorldOptions } from './world.js';

/** B simulated users stepped by one call; buffers are reused between steps. */
export class Environment {
  readonly rewards: Float32Array;
  readonly dones: Uint8Array;
  readonly historyItems: Uint32Array;
  readonly historyRewards: Float32Array;

  private constructor(
    readonly backend: Backend,
    private readonly raw: RawEnv,
    readonly world: World,
  ) {
    this.rewards = new Float32Array(raw.batchSize);
    this.dones = new Uint8Array(raw.batchSize);
    this.historyItems = new Uint32Array(raw.batchSize * raw.history);
    this.historyRewards = new Float32Array(raw.batchSize * raw.history);
  }

  /** An environment over `options.world`, or over a world loaded from the options. */
  static async create(options: WorldOptions & { world?: World } = {}, backend: BackendKind | 'auto' = 'auto'): Promise<Environment> {
    const world = options.world ?? (await World.load(options, backend));
    return new Environment(world.backend, world.backend.createEnv(envSpec(options), world.raw), world);
  }

  get batchSize(): number { return this.raw.batchSize; }
  get history(): number { return this.raw.history; }
  get nItems(): number { return this.raw.nItems; }
  get nUsers(): number { return this.raw.nUsers; }
  get nCategories(): number { return this.raw.nCategories; }
  get name(): string { return this.raw.name; }

  /** One item per user; returns this env's reward and done buffers (overwritten by the next step). */
  step(actions: Uint32Array): { rewards: Float32Array; dones: Uint8Array } {
    this.raw.step(checkTypedArray('actions', actions, Uint32Array), this.rewards, this.dones);
    return { rewards: this.rewards, dones: this.dones };
  }

  /** The B x H latest items (oldest first, 0xffffffff where empty) and their rewards. */
  observe(): { items: Uint32Array; rewards: Float32Array } {
    this.raw.observe(this.historyItems, this.historyRewards);
    return { items: this.historyItems, rewards: this.historyRewards };
  }

  reset(): void { this.raw.reset(); }
  setUserPool(users: Uint32Array): void { this.raw.setUserPool(checkTypedArray('users', users, Uint32Array)); }
  itemCategories(): Uint32Array { return this.raw.itemCategories(); }
  itemFeatures(): Float32Array { return this.raw.itemFeatures(); }
  /** Episodes finished since the last call. */
  drainEpisodes(): Episode[] { return episodesFromFlat(this.raw.drainEpisodes()); }
}
