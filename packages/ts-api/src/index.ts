// ialp: reinforcement-learning recommenders pre-trained with LLM-distilled
// preferences, on a Rust core (N-API addon, or WebAssembly).

export { loadBackend, type Backend, type BackendKind } from './backend.js';
export { Environment } from './env.js';
export { inArrivalOrder, learningCurve, summarize, type Episode, type Summary } from './metrics.js';
export { exportTensorBoard, readMetricsJsonl, updateRecord, writeMetricsJsonl, type UpdateRecord } from './training-log.js';
export { AbortError, IalpError, type A2cOptions, type DatasetOptions, type EnvOptions, type QuitOptions, type SyntheticOptions } from './options.js';
export { Policy, type HistoryEntry, type Recommendation } from './policy.js';
export { runOnline, type RunOptions, type RunReport, type RunRow } from './train-command.js';
export { evaluate, pretrain, train, type AdaptiveOptions, type AdaptiveTrace, type EvaluateOptions, type PretrainOptions, type TrainOptions, type TrainProgress, type TrainResult, type UserPool } from './train.js';
export { DATASET_ENVS, World, type Validation, type WorldInfo, type WorldOptions } from './world.js';
export { cacheDir } from './paths.js';
/** The core's request and record types (generated from the Rust types) and its defaults. */
export * as core from './core-types.js';
export { CORE_DEFAULTS } from './core-types.js';
export { MAX_ARTEFACT_BYTES, readFileBounded } from './read.js';
export { distillPreferences, saveDistillation, type DistillEnvOptions, type DistillEnvReport, type DistillEnvResult, type QualityRow } from './preferences.js';
export * as llm from './llm/index.js';
export { cellConfig, cellLabel, meanCi, METHODS, runExperiment, sweepCells, type Cell, type EnvResult, type ExperimentConfig, type Method, type MethodResult } from './experiment.js';
export { writeReport } from './report.js';

import { loadBackend, type BackendKind } from './backend.js';

/** Names of the available environments. */
export async function environments(backend: BackendKind | 'auto' = 'auto'): Promise<string[]> {
  return (await loadBackend(backend)).environments();
}
