// Prompt rendering and strict answer parsing (iALP steps 1-2), no model involved.
import test from 'ava';
import { IalpError } from '../packages/ts-api/src/options.js';
import { parseAnswer, renderPrompt, toPreference, type PreferenceRequest } from '../packages/ts-api/src/llm/index.js';

const request = (k = 4, options: PreferenceRequest['options'] = {}): PreferenceRequest => ({
  state: {
    history: Array.from({ length: 12 }, (_, i) => ({ text: `Seen film ${i}`, feedback: (i % 5) + 1, ...(i === 11 ? { feedbackText: 'loved it' } : {}) })),
    userText: 'Likes slow dramas.',
  },
  candidates: Array.from({ length: k }, (_, i) => ({ id: 100 + i, text: `Candidate ${i}` })),
  options,
});

test('a prompt shows the recent history, the labelled candidates and the answer format', (t) => {
  const r = renderPrompt(request(4, { maxChoices: 2 }));
  t.deepEqual(r.labels, ['A', 'B', 'C', 'D']);
  t.is(r.mode, 'choice');
  t.is(r.maxChoices, 2);
  t.regex(r.prompt.system, /JSON only/);
  const u = r.prompt.user;
  t.false(u.includes('Seen film 1 '), 'only the last 10 interactions');
  t.true(u.includes('- Seen film 2 (feedback 3)'));
  t.true(u.includes('- Seen film 11 (loved it)'));
  t.true(u.includes('About the user: Likes slow dramas.'));
  t.true(u.includes('A. Candidate 0\nB. Candidate 1\nC. Candidate 2\nD. Candidate 3'));
  t.regex(u, /Which 1 to 2 candidates .* \{"choices": \[\.\.\.\]\} with labels from A, B, C, D/);
  t.deepEqual(r.schema, {
    type: 'object',
    properties: { choices: { type: 'array', items: { type: 'string', enum: ['A', 'B', 'C', 'D'] }, minItems: 1, maxItems: 2 } },
    required: ['choices'],
    additionalProperties: false,
  });
});

test('long texts are cut, more than 26 candidates get numbers, bad requests are named', (t) => {
  const long = request(4, { maxItemChars: 20 });
  long.candidates = [{ id: 1, text: 'A very long title that goes on and on' }, ...long.candidates.slice(1)];
  const u = renderPrompt(long).prompt.user;
  t.true(u.includes('A. A very long title t…\n'), u);
  t.is(renderPrompt(request(30)).labels[29], '30');
  t.is(renderPrompt(request(30)).maxChoices, 8, 'default ceil(K / 4)');
  const dup = request(3);
  dup.candidates = [{ id: 1, text: 'x' }, { id: 1, text: 'y' }];
  t.throws(() => renderPrompt(dup, 'request 7'), { instanceOf: IalpError, message: 'request 7: candidates[1].id: 1 appears twice' });
  t.throws(() => renderPrompt(request(4, { maxChoices: 5 })), { message: /options.maxChoices: expected an integer in \[1, 4\], got 5/ });
  t.throws(() => renderPrompt(request(27, { labels: 'letters' })), { message: /letters allow at most 26 candidates/ });
  t.throws(() => renderPrompt({ ...request(2), candidates: [] }), { message: /at least one candidate/ });
});

test('parseAnswer accepts exactly the expected JSON', (t) => {
  const r = renderPrompt(request(4, { maxChoices: 2 }));
  t.deepEqual(parseAnswer('  {"choices": ["C", "A"]}\n', r), { ok: true, answer: { kind: 'choice', chosen: [2, 0] } });
  t.deepEqual(parseAnswer('{"choices":[\n  "B"\n]}', r), { ok: true, answer: { kind: 'choice', chosen: [1] } });
});

test('parseAnswer names each kind of bad answer', (t) => {
  const r = renderPrompt(request(4, { maxChoices: 2 }));
  const reason = (raw: string) => {
    const p = parseAnswer(raw, r);
    return p.ok ? 'ok' : p.reason;
  };
  t.is(reason(''), 'empty');
  t.is(reason('   \n'), 'empty');
  t.is(reason('I think the user would like A.'), 'not-json');
  t.is(reason('```json\n{"choices": ["A"]}\n```'), 'not-json');
  t.is(reason('{"choices": ["A", "'), 'truncated');
  t.is(reason('{"choices": ["A"'), 'truncated');
  t.is(reason('{"choices": ["A"]}}'), 'not-json');
  t.is(reason('["A"]'), 'wrong-shape');
  t.is(reason('"A"'), 'wrong-shape');
  t.is(reason('{"choice": ["A"]}'), 'wrong-shape');
  t.is(reason('{"choices": ["A"], "why": "x"}'), 'wrong-shape');
  t.is(reason('{"choices": "A"}'), 'wrong-shape');
  t.is(reason('{"choices": []}'), 'no-choices');
  t.is(reason('{"choices": ["E"]}'), 'unknown-label');
  t.is(reason('{"choices": ["a"]}'), 'unknown-label');
  t.is(reason('{"choices": [1]}'), 'unknown-label');
  t.is(reason('{"choices": ["B", "B"]}'), 'duplicate-label');
  t.is(reason('{"choices": ["A", "B", "C"]}'), 'too-many-choices');
  const bad = parseAnswer('{"choices": ["Z"]}', r);
  t.false(bad.ok);
  if (!bad.ok) t.is(bad.detail, '"Z" is not one of A, B, C, D');
});

test('scores mode: a graded answer, its schema and its failures', (t) => {
  const r = renderPrompt(request(3, { mode: 'scores' }));
  t.regex(r.prompt.user, /Rate each candidate from 1 \(would dislike\) to 5 \(would love\)/);
  const scores = (r.schema.properties as Record<string, { required: string[] }>).scores;
  t.deepEqual(scores.required, ['A', 'B', 'C']);
  const ok = parseAnswer('{"scores": {"B": 5, "A": 2, "C": 5}}', r);
  t.deepEqual(ok, { ok: true, answer: { kind: 'scores', scores: [2, 5, 5] } });
  const reason = (raw: string) => {
    const p = parseAnswer(raw, r);
    return p.ok ? 'ok' : p.reason;
  };
  t.is(reason('{"scores": {"A": 2, "B": 3}}'), 'missing-score');
  t.is(reason('{"scores": {"A": 2, "B": 3, "C": 6}}'), 'bad-score');
  t.is(reason('{"scores": {"A": 2, "B": 3.5, "C": 1}}'), 'bad-score');
  t.is(reason('{"scores": {"A": 2, "B": 3, "C": 1, "D": 1}}'), 'unknown-label');
  t.is(reason('{"scores": [2, 3, 1]}'), 'wrong-shape');
  if (ok.ok) {
    const cands = request(3).candidates;
    t.deepEqual(toPreference(ok.answer, cands), { chosen: [101, 102], scores: [2, 5, 5], rewards: [0.25, 1, 1] });
  }
});

test('a choice becomes candidate ids and 1/0 rewards', (t) => {
  const cands = request(4).candidates;
  t.deepEqual(toPreference({ kind: 'choice', chosen: [3, 1] }, cands), { chosen: [103, 101], rewards: [0, 1, 0, 1] });
});
