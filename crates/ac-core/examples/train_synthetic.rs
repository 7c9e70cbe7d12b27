//! Trains online A2C on `synthetic` and compares it with random and popularity.
//! `cargo run --release -p ialp-ac-core --example train_synthetic -- [episodes] [seed] [batch] [items]`

use ialp_ac_core::{evaluate, train, Actor, Mode, TrainConfig, UserPool};
use ialp_sim::{AnyWorld, EpisodeStat};

fn summary(name: &str, eps: &[EpisodeStat]) {
    let n = eps.len() as f32;
    let ret: f32 = eps.iter().map(|e| e.total_reward).sum::<f32>() / n;
    let len: f32 = eps.iter().map(|e| e.length as f32).sum::<f32>() / n;
    println!(
        "{name:>18}: {:>6} episodes  return {ret:7.3}  length {len:6.2}  reward/step {:.3}",
        eps.len(),
        ret / len
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let episodes = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3000);
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut cfg = TrainConfig {
        episodes,
        seed,
        ..Default::default()
    };
    if let Some(b) = args.get(3).and_then(|s| s.parse().ok()) {
        cfg.env.batch.batch_size = b;
    }
    if let Some(n) = args.get(4).and_then(|s| s.parse().ok()) {
        cfg.env.synthetic.n_items = n;
    }
    let world = AnyWorld::build(&cfg.env, None, None).expect("world");
    let t = std::time::Instant::now();
    let out = train(&cfg, &world, &mut |_| true).expect("training");
    println!(
        "trained in {:.2?}: {} updates, {} env steps",
        t.elapsed(),
        out.updates,
        out.env_steps
    );
    let tenth = (out.episodes.len() / 10).max(1);
    summary("train first 10%", &out.episodes[..tenth]);
    summary(
        "train last 10%",
        &out.episodes[out.episodes.len() - tenth..],
    );
    let eval =
        |actor: &Actor| evaluate(&cfg.env, &world, actor, 512, seed + 1000, UserPool::All).unwrap();
    let pop = world.popularity();
    summary("random", &eval(&Actor::Random));
    summary("popularity", &eval(&Actor::Popularity(&pop)));
    summary(
        "a2c sample",
        &eval(&Actor::Policy(&out.policy, Mode::Sample)),
    );
    summary(
        "a2c greedy",
        &eval(&Actor::Policy(&out.policy, Mode::Greedy)),
    );
}
