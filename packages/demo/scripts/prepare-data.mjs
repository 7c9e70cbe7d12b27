// Writes the demo's MovieLens data into public/data/ (git-ignored, reproducible):
//   movielens-policy.ialp   the iALP policy pi_0, pre-trained by the native build in
//                           the world r_phi imagines (ialp run, oracle preferences, one seed)
//   titles.json             the title of each item, in item order
//   users.json              a few MovieLens users with their latest ratings as histories
// Needs the native addon and packages/ts-api built (npm run build). Keeps an
// existing policy that still loads; IALP_DEMO_FORCE=1 retrains it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const out = join(here, '..', 'public', 'data');
const mlDir = join(root, 'packages', 'ts-api', 'data', 'ml-latest-small');
mkdirSync(out, { recursive: true });

const { Policy, World } = await import(join(root, 'packages', 'ts-api', 'dist', 'index.js'));
const policyFile = join(out, 'movielens-policy.ialp');
// Retrain when missing, forced, or written by an older artefact format.
const usable = existsSync(policyFile) && await Policy.load(policyFile, 'native').then(() => true, () => false);
if (!usable || process.env.IALP_DEMO_FORCE === '1') {
  // the experiment's own pre-training (500,000 imagined steps), its online phase cut
  // to the minimum: the page shows a policy that has learned what users like
  const run = join(here, '..', '.run'); // outside public/: not shipped with the page
  const config = join(run, 'config.json');
  mkdirSync(run, { recursive: true });
  writeFileSync(config, JSON.stringify({ envs: ['movielens'], llm: 'oracle', seeds: 1, online: { episodes: 10 }, earlyEpisodes: 10 }));
  console.log('pre-training the MovieLens iALP policy natively (ialp run, oracle preferences, 1 seed; a minute or two)...');
  execFileSync(process.execPath, [join(root, 'packages', 'ts-api', 'bin', 'ialp.js'), 'run', '--config', config, '--out', run],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  copyFileSync(join(run, 'policies', 'movielens-ialp-seed1000.ialp'), policyFile);
}

const world = await World.load({ name: 'movielens' }, 'native');
const nItems = world.info.items;
// Item text is "Title (year); genres: A, B; tags: ..."; the page shows the title.
const titles = Array.from({ length: nItems }, (_, i) => world.itemText(i).split('; genres:')[0]);
writeFileSync(join(out, 'titles.json'), JSON.stringify(titles));

// Items are numbered in ascending movieId (crates/sim/src/data/movielens.rs).
const movieIds = readFileSync(join(mlDir, 'movies.csv'), 'utf8').split('\n').slice(1)
  .filter((l) => l.trim()).map((l) => Number(l.slice(0, l.indexOf(','))));
movieIds.sort((a, b) => a - b);
if (movieIds.length !== nItems) throw new Error(`movies.csv: ${movieIds.length} movies, the world has ${nItems} items`);
const itemOf = new Map(movieIds.map((id, i) => [id, i]));

const byUser = new Map();
for (const line of readFileSync(join(mlDir, 'ratings.csv'), 'utf8').split('\n').slice(1)) {
  if (!line.trim()) continue;
  const [u, m, r, t] = line.split(',');
  const list = byUser.get(Number(u)) ?? [];
  list.push({ item: itemOf.get(Number(m)), rating: Number(r), time: Number(t) });
  byUser.set(Number(u), list);
}
const HISTORY = 10;
const users = [1, 7, 15, 42, 68, 111, 182, 249, 288, 414, 474, 599].filter((u) => byUser.has(u)).map((u) => {
  const latest = byUser.get(u).sort((a, b) => a.time - b.time || a.item - b.item).slice(-HISTORY);
  // Feedback in [0, 1]: MovieLens ratings run from 0.5 to 5 stars.
  return { user: u, ratings: byUser.get(u).length,
    history: latest.map((r) => ({ item: r.item, rating: r.rating, reward: r.rating / 5 })) };
});
writeFileSync(join(out, 'users.json'), JSON.stringify(users));
console.log(`wrote ${out}: ${titles.length} titles, ${users.length} users`);
