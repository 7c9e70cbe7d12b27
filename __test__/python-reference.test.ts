// examples/python/ialp_policy.py, the reference PyTorch reader of policy files
// (format version 2, safetensors), reproduces `ialp recommend --json`: the same
// items, each score within 1e-5. Runs where scripts/setup-torch.sh made .venv-torch
// (CI: IALP_TORCH=1, where IALP_REQUIRE_TORCH=1 makes a missing venv a failure).
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root, runCli } from './helpers.js';

const python = join(root, '.venv-torch', 'bin', 'python');
const requirePython = process.env.IALP_REQUIRE_TORCH === '1';
const pyTest = existsSync(python) || requirePython ? test : test.skip;
const reference = join(root, 'examples', 'python', 'ialp_policy.py');

interface Recs { history: { item: number; reward: number }[]; recommendations: { item: number; score: number }[] }

pyTest('the PyTorch reference reproduces ialp recommend --json within 1e-5 (synthetic and a dataset)', async (t) => {
  t.timeout(10 * 60_000);
  t.true(existsSync(python), `no Python venv at ${python}: run \`bash scripts/setup-torch.sh\``);
  const dir = await mkdtemp(join(tmpdir(), 'ialp-py-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cases = [
    { name: 'synthetic', train: ['--episodes', '300'], users: ['3', '17'] },
    { name: 'coat', train: ['--env', 'coat', '--episodes', '200'], users: ['0', '5'] },
  ];
  for (const c of cases) {
    const policy = join(dir, `${c.name}.ialp`);
    const tr = await runCli(['train', ...c.train, '--eval-episodes', '4', '--save', policy, '--json']);
    t.is(tr.code, 0, tr.stderr);
    for (const user of c.users) {
      const r = await runCli(['recommend', '--policy', policy, '--user', user, '--k', '8', '--json']);
      t.is(r.code, 0, r.stderr);
      const ours = JSON.parse(r.stdout) as Recs;
      t.true(ours.history.length > 0, `${c.name} user ${user} has a history`);
      const { stdout } = await promisify(execFile)(python, [reference, policy, JSON.stringify(ours.history), '8'], { maxBuffer: 64 << 20 });
      const py = JSON.parse(stdout) as { recommendations: { item: number; score: number }[]; scores: number[] };
      for (const rec of ours.recommendations) {
        t.true(Math.abs(py.scores[rec.item]! - rec.score) < 1e-5, `${c.name} user ${user} item ${rec.item}: torch ${py.scores[rec.item]}, ialp ${rec.score}`);
      }
      // the same ranking, except where two scores are closer than the tolerance
      for (const [j, rec] of ours.recommendations.entries()) {
        const theirs = py.recommendations[j]!;
        if (theirs.item !== rec.item) t.true(Math.abs(theirs.score - rec.score) < 1e-5, `${c.name} user ${user} rank ${j}: torch item ${theirs.item}, ialp item ${rec.item}`);
      }
      t.true(Math.abs(py.scores.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'probabilities sum to 1');
    }
  }
});

pyTest('the PyTorch reference refuses a file that is not a version-2 policy', async (t) => {
  const old = join(root, '__test__', 'fixtures', 'artefacts', 'policy-v1.ialp');
  const e = await promisify(execFile)(python, [reference, old, '[]']).then(() => null, (err: { stderr: string }) => err);
  t.truthy(e, 'the version-1 file is refused');
  t.regex(e!.stderr, /policy-v1\.ialp: header length \d+ does not fit the file/);
});
