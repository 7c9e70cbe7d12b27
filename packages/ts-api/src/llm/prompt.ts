// iALP step 1: a user state and K candidate items rendered as a short chat prompt, the
// JSON Schema its answer must follow, and a strict parser of that answer.
import { IalpError, checkInt } from '../options.js';
import type { ChatPrompt, JsonSchema, YesNoQuery, YesNoScore } from './client.js';

/** One past interaction, as the LLM sees it. */
export interface HistoryItem {
  text: string;
  /** The logged feedback (a rating, a reward, a click). */
  feedback: number;
  /** How to say the feedback in words ("loved it", "5/5"); default `feedback <n>`. */
  feedbackText?: string;
}

export interface UserState {
  /** Oldest first; only the last `maxHistory` are shown. */
  history: readonly HistoryItem[];
  /** Free text about the user (demographics, stated interests). */
  userText?: string;
}

export interface Candidate {
  id: number;
  text: string;
}

export interface PromptOptions {
  /** `choice`: pick 1..maxChoices candidates; `scores`: rate each from 1 to 5. Default `choice`. */
  mode?: 'choice' | 'scores';
  /** The most candidates a choice may name. Default ceil(K / 4). */
  maxChoices?: number;
  /** Candidate labels: A, B, C... (default while K <= 26) or 1..K. */
  labels?: 'letters' | 'numbers';
  /** Item texts are cut to this many characters. Default 80. */
  maxItemChars?: number;
  /** The most recent interactions shown. Default 10. */
  maxHistory?: number;
  /** Tokens the answer may take. Default: enough for the longest valid answer. */
  maxTokens?: number;
}

/** A question for the LLM: which of these candidates would this user enjoy next? */
export interface PreferenceRequest {
  state: UserState;
  candidates: readonly Candidate[];
  options?: PromptOptions;
}

/** Scores in `scores` mode run from 1 (would dislike) to 5 (would love). */
export const MIN_SCORE = 1;
export const MAX_SCORE = 5;

export interface RenderedPrompt {
  prompt: ChatPrompt;
  schema: JsonSchema;
  /** The label of each candidate, in request order. */
  labels: string[];
  mode: 'choice' | 'scores';
  maxChoices: number;
  maxTokens: number;
}

/** A valid answer, in candidate positions (not ids): the form the cache stores. */
export type ParsedAnswer =
  | { kind: 'choice'; /** Candidate indices, best first. */ chosen: number[] }
  | { kind: 'scores'; /** One score per candidate, in request order. */ scores: number[] }
  | {
      kind: 'pointwise';
      /** Per candidate, in request order: log p(yes) and log p(no) of the answer to "would the user enjoy it?". */
      logYes: number[];
      logNo: number[];
    };

export type FailureReason =
  | 'empty'
  | 'not-json'
  | 'truncated'
  | 'wrong-shape'
  | 'unknown-label'
  | 'duplicate-label'
  | 'no-choices'
  | 'too-many-choices'
  | 'missing-score'
  | 'bad-score';

export type ParseResult = { ok: true; answer: ParsedAnswer } | { ok: false; reason: FailureReason; detail: string };

/** An LLM preference over one request's candidates (iALP step 2). */
export interface Preference {
  /** Ids of the chosen candidates, best first (in `scores` mode: those with the top score). */
  chosen: number[];
  /** `scores` mode: one score in [1, 5] per candidate, in request order. */
  scores?: number[];
  /** Pointwise mode: log p(yes) - log p(no) per candidate, in request order. */
  logOdds?: number[];
  /**
   * One label per candidate, in request order, in [0, 1]: chosen 1 / not chosen 0, or
   * (score - 1) / 4, or (pointwise) the sigmoid of the log-odds less the request's mean log-odds,
   * or (choice over several orders) the share of orders in which the candidate was chosen.
   */
  rewards: number[];
}

const SYSTEM =
  'You predict which items a user will enjoy next, from the items they recently had and how they rated them. ' +
  'Reply with JSON only.';

/** Renders a request as a chat prompt plus the schema of its answer. Throws on a malformed request. */
export function renderPrompt(req: PreferenceRequest, where = 'request'): RenderedPrompt {
  const o = req.options ?? {};
  const cands = req.candidates;
  const k = cands.length;
  if (!Array.isArray(cands) || k < 1) throw new IalpError(`${where}: candidates: expected at least one candidate`);
  const ids = new Set<number>();
  cands.forEach((c, i) => {
    checkInt(`${where}: candidates[${i}].id`, c.id, 0);
    if (ids.has(c.id)) throw new IalpError(`${where}: candidates[${i}].id: ${c.id} appears twice`);
    ids.add(c.id);
    if (typeof c.text !== 'string') throw new IalpError(`${where}: candidates[${i}].text: expected a string`);
  });
  if (!Array.isArray(req.state?.history)) throw new IalpError(`${where}: state.history: expected an array`);
  const mode = o.mode ?? 'choice';
  if (mode !== 'choice' && mode !== 'scores') throw new IalpError(`${where}: options.mode: expected "choice" or "scores", got ${String(mode)}`);
  const maxChoices = checkInt(`${where}: options.maxChoices`, o.maxChoices ?? Math.ceil(k / 4), 1, k);
  const maxChars = checkInt(`${where}: options.maxItemChars`, o.maxItemChars ?? 80, 8);
  const maxHistory = checkInt(`${where}: options.maxHistory`, o.maxHistory ?? 10, 0);
  const labelKind = o.labels ?? (k <= 26 ? 'letters' : 'numbers');
  if (labelKind === 'letters' && k > 26) throw new IalpError(`${where}: options.labels: letters allow at most 26 candidates, got ${k}`);
  const labels = cands.map((_, i) => (labelKind === 'letters' ? String.fromCharCode(65 + i) : String(i + 1)));

  const lines: string[] = [];
  const shown = maxHistory > 0 ? req.state.history.slice(-maxHistory) : [];
  if (shown.length === 0) lines.push('The user has no history yet.');
  else {
    lines.push('Items the user recently had, oldest first:');
    shown.forEach((h, i) => {
      if (typeof h.feedback !== 'number' || !Number.isFinite(h.feedback)) {
        throw new IalpError(`${where}: state.history[${i}].feedback: expected a finite number, got ${String(h.feedback)}`);
      }
      lines.push(`- ${clip(h.text, maxChars)} (${h.feedbackText ?? `feedback ${formatNumber(h.feedback)}`})`);
    });
  }
  if (req.state.userText) lines.push(`About the user: ${clip(req.state.userText, 2 * maxChars)}`);
  lines.push('', 'Candidates:');
  cands.forEach((c, i) => lines.push(`${labels[i]}. ${clip(c.text, maxChars)}`));
  lines.push('');
  const list = labels.join(', ');
  if (mode === 'choice') {
    lines.push(
      maxChoices === 1
        ? `Which one candidate would the user most likely enjoy next? Answer {"choices": [...]} with one label from ${list}.`
        : `Which 1 to ${maxChoices} candidates would the user most likely enjoy next? Answer {"choices": [...]} with labels from ${list}, best first.`,
    );
  } else {
    lines.push(`Rate each candidate from ${MIN_SCORE} (would dislike) to ${MAX_SCORE} (would love). Answer {"scores": {...}} with one score for each of ${list}.`);
  }

  const schema: JsonSchema =
    mode === 'choice'
      ? {
          type: 'object',
          properties: {
            choices: { type: 'array', items: { type: 'string', enum: labels }, minItems: 1, maxItems: maxChoices },
          },
          required: ['choices'],
          additionalProperties: false,
        }
      : {
          type: 'object',
          properties: {
            scores: {
              type: 'object',
              properties: Object.fromEntries(labels.map((l) => [l, { type: 'integer', enum: scoreRange() }])),
              required: labels,
              additionalProperties: false,
            },
          },
          required: ['scores'],
          additionalProperties: false,
        };
  // Grammar-constrained JSON comes pretty-printed (node-llama-cpp indents each entry), about
  // 10 tokens an entry; a grammar ends the answer at its closing brace, so headroom is free.
  const maxTokens = checkInt(`${where}: options.maxTokens`, o.maxTokens ?? (mode === 'choice' ? 24 + 12 * maxChoices : 32 + 16 * k), 1);
  return { prompt: { system: SYSTEM, user: lines.join('\n') }, schema, labels, mode, maxChoices, maxTokens };
}

/**
 * Validates a raw answer strictly against a rendered prompt: JSON of exactly the expected
 * shape, known labels, no duplicates, at least one choice. Never throws.
 */
export function parseAnswer(raw: string, rendered: Pick<RenderedPrompt, 'labels' | 'mode' | 'maxChoices'>): ParseResult {
  const fail = (reason: FailureReason, detail: string): ParseResult => ({ ok: false, reason, detail });
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === '') return fail('empty', 'the answer is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    if (looksTruncated(text)) return fail('truncated', `the JSON ends early: ${preview(text)}`);
    return fail('not-json', `${(e as Error).message}: ${preview(text)}`);
  }
  const key = rendered.mode === 'choice' ? 'choices' : 'scores';
  if (!isPlainObject(value)) return fail('wrong-shape', `expected an object {"${key}": ...}, got ${preview(text)}`);
  const keys = Object.keys(value);
  if (!keys.includes(key)) return fail('wrong-shape', `missing "${key}" in ${preview(text)}`);
  const extra = keys.find((k) => k !== key);
  if (extra !== undefined) return fail('wrong-shape', `unexpected key "${extra}"`);
  const index = new Map(rendered.labels.map((l, i) => [l, i]));

  if (rendered.mode === 'choice') {
    const choices = value.choices;
    if (!Array.isArray(choices)) return fail('wrong-shape', '"choices" is not an array');
    if (choices.length === 0) return fail('no-choices', '"choices" is empty');
    const chosen: number[] = [];
    for (const c of choices) {
      const i = typeof c === 'string' ? index.get(c) : undefined;
      if (i === undefined) return fail('unknown-label', `${JSON.stringify(c)} is not one of ${rendered.labels.join(', ')}`);
      if (chosen.includes(i)) return fail('duplicate-label', `"${c}" is chosen twice`);
      chosen.push(i);
    }
    if (chosen.length > rendered.maxChoices) return fail('too-many-choices', `${chosen.length} choices, at most ${rendered.maxChoices} allowed`);
    return { ok: true, answer: { kind: 'choice', chosen } };
  }

  const scores = value.scores;
  if (!isPlainObject(scores)) return fail('wrong-shape', '"scores" is not an object');
  const out = new Array<number>(rendered.labels.length).fill(NaN);
  for (const [label, s] of Object.entries(scores)) {
    const i = index.get(label);
    if (i === undefined) return fail('unknown-label', `"${label}" is not one of ${rendered.labels.join(', ')}`);
    if (typeof s !== 'number' || !Number.isInteger(s) || s < MIN_SCORE || s > MAX_SCORE) {
      return fail('bad-score', `score of "${label}" is ${JSON.stringify(s)}, expected an integer in [${MIN_SCORE}, ${MAX_SCORE}]`);
    }
    out[i] = s;
  }
  const missing = out.findIndex((s) => Number.isNaN(s));
  if (missing >= 0) return fail('missing-score', `no score for "${rendered.labels[missing]}"`);
  return { ok: true, answer: { kind: 'scores', scores: out } };
}

/** The public form of a parsed answer: candidate ids and per-candidate rewards. */
export function toPreference(answer: ParsedAnswer, candidates: readonly Candidate[]): Preference {
  if (answer.kind === 'pointwise') return pointwisePreference(answer, candidates);
  if (answer.kind === 'choice') {
    const rewards = new Array<number>(candidates.length).fill(0);
    for (const i of answer.chosen) rewards[i] = 1;
    return { chosen: answer.chosen.map((i) => candidates[i]!.id), rewards };
  }
  const top = Math.max(...answer.scores);
  return {
    chosen: candidates.filter((_, i) => answer.scores[i] === top).map((c) => c.id),
    scores: [...answer.scores],
    rewards: answer.scores.map((s) => (s - MIN_SCORE) / (MAX_SCORE - MIN_SCORE)),
  };
}

/**
 * A pointwise answer as a preference: the top ceil(K / 4) candidates by log-odds are the
 * chosen ones (as many as a choice prompt allows by default), ties broken by request order.
 */
function pointwisePreference(answer: Extract<ParsedAnswer, { kind: 'pointwise' }>, candidates: readonly Candidate[]): Preference {
  const m = Math.max(1, Math.ceil(candidates.length / 4));
  const logOdds = answer.logYes.map((y, i) => y - answer.logNo[i]!);
  const mean = logOdds.reduce((a, b) => a + b, 0) / logOdds.length;
  return {
    chosen: rankOrder(logOdds).slice(0, m).map((i) => candidates[i]!.id),
    logOdds,
    rewards: logOdds.map((x) => 1 / (1 + Math.exp(-(x - mean)))),
  };
}

/**
 * Choices made under several orders of the same candidates, as one preference: each
 * candidate's reward is the share of orders in which it was chosen (position debiasing by
 * permutation); the chosen ones are the most often chosen, at most as many as one answer
 * held. `chosen[o]` holds candidate indices in request order (not in the order shown).
 */
export function choicesOverOrders(chosen: readonly (readonly number[])[], candidates: readonly Candidate[]): Preference {
  if (chosen.length === 0) throw new IalpError('choicesOverOrders: no answers');
  const shares = new Array<number>(candidates.length).fill(0);
  for (const c of chosen) for (const i of c) shares[i]! += 1 / chosen.length;
  const m = Math.max(...chosen.map((c) => c.length));
  return { chosen: rankOrder(shares).filter((i) => shares[i]! > 0).slice(0, m).map((i) => candidates[i]!.id), rewards: shares };
}

/** Indices by value, highest first, ties in index order. */
function rankOrder(values: readonly number[]): number[] {
  return values.map((_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b);
}

const POINTWISE_SYSTEM =
  'You predict whether a user will enjoy an item, from the items they recently had and how they rated them. ' +
  'Answer yes or no.';

/**
 * A request as K yes/no questions that share one prefix (the system message and the user's
 * history), so that a backend evaluates the history once: question i is the user message
 * `userPrefix + continuations[i]`. The candidate's position plays no part.
 */
export function renderPointwise(req: PreferenceRequest, where = 'request'): YesNoQuery {
  // the same validation (and history lines) as the choice prompt
  renderPrompt({ ...req, options: { ...req.options, mode: 'choice', maxChoices: 1, maxTokens: 1 } }, where);
  const o = req.options ?? {};
  const maxChars = o.maxItemChars ?? 80;
  const maxHistory = o.maxHistory ?? 10;
  const lines: string[] = [];
  const shown = maxHistory > 0 ? req.state.history.slice(-maxHistory) : [];
  if (shown.length === 0) lines.push('The user has no history yet.');
  else {
    lines.push('Items the user recently had, oldest first:');
    for (const h of shown) lines.push(`- ${clip(h.text, maxChars)} (${h.feedbackText ?? `feedback ${formatNumber(h.feedback)}`})`);
  }
  if (req.state.userText) lines.push(`About the user: ${clip(req.state.userText, 2 * maxChars)}`);
  lines.push('', 'New item: ');
  return {
    system: POINTWISE_SYSTEM,
    userPrefix: lines.join('\n'),
    continuations: req.candidates.map((c) => `${clip(c.text, maxChars)}\nWould the user enjoy this new item? Answer yes or no.`),
  };
}

/** A pointwise answer from the backend's yes/no scores, checked: one finite pair per candidate. */
export function pointwiseAnswer(scores: readonly YesNoScore[], k: number): ParsedAnswer {
  if (scores.length !== k) throw new IalpError(`expected ${k} yes/no scores, got ${scores.length}`);
  for (const s of scores) {
    if (!Number.isFinite(s.logYes) || !Number.isFinite(s.logNo)) throw new IalpError(`a yes/no score is not finite: ${JSON.stringify(s)}`);
  }
  return { kind: 'pointwise', logYes: scores.map((s) => s.logYes), logNo: scores.map((s) => s.logNo) };
}

function scoreRange(): number[] {
  return Array.from({ length: MAX_SCORE - MIN_SCORE + 1 }, (_, i) => MIN_SCORE + i);
}

function clip(text: string, max: number): string {
  const t = String(text).replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1).trimEnd()}…`;
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 100) / 100);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

/** JSON that opens an object or array, or a string, and never closes it: the answer was cut off. */
function looksTruncated(text: string): boolean {
  if (text[0] !== '{' && text[0] !== '[') return false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth < 0) return false;
    }
  }
  return inString || depth > 0;
}
