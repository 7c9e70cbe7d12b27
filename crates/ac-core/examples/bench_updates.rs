//! Timings of the learning primitives for `npm run bench` (groups `ac` and
//! `buffers`); the harness runs this program and reads its output.
//!
//! ```text
//! cargo run --release -p ialp-ac-core --example bench_updates -- \
//!     --group ac|buffers [--batches 256,1024,4096] [--hidden 64,256] [--warmup N] [--reps N]
//! ```
//!
//! Prints one JSON object per line and case: `{"group", "name", "params",
//! "unit", "perRep", "seconds": [..]}`, where `seconds` holds the wall time of
//! each repetition (after `warmup` untimed ones) and `perRep` how many `unit`s
//! one repetition processes, so throughput = perRep / seconds.

mod common;

use ialp_ac_core::buffer::{ReplayBuffer, RolloutBuffer};
use ialp_ac_core::encoder::StateEncoder;
use ialp_ac_core::gae::gae;
use ialp_ac_core::{AcBackend, LossConfig};
use ialp_sim::{Rng, Synthetic, SyntheticConfig, World};
use std::hint::black_box;
use std::time::Instant;

struct Args {
    group: String,
    batches: Vec<usize>,
    hidden: Vec<usize>,
    warmup: usize,
    reps: usize,
}

fn fail(msg: &str) -> ! {
    common::fail_as("bench_updates", msg)
}

fn list(flag: &str, v: &str) -> Vec<usize> {
    common::list_as("bench_updates", flag, v)
}

fn parse_args() -> Args {
    let mut a = Args {
        group: String::new(),
        batches: vec![256, 1024, 4096],
        hidden: vec![64, 256],
        warmup: 2,
        reps: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag}: expected a value after it")));
        match flag.as_str() {
            "--group" => a.group = value,
            "--batches" => a.batches = list(&flag, &value),
            "--hidden" => a.hidden = list(&flag, &value),
            "--warmup" => a.warmup = list(&flag, &value)[0],
            "--reps" => a.reps = list(&flag, &value)[0],
            _ => fail(&format!(
                "unknown flag {flag} (expected --group, --batches, --hidden, --warmup, --reps)"
            )),
        }
    }
    if a.group != "ac" && a.group != "buffers" {
        fail(&format!(
            "--group: expected ac or buffers, got \"{}\"",
            a.group
        ));
    }
    a
}

/// Runs `f` `warmup` times untimed, then `reps` times timed, and prints the case.
fn case(args: &Args, name: &str, params: &str, unit: &str, per_rep: usize, mut f: impl FnMut()) {
    for _ in 0..args.warmup {
        f();
    }
    let seconds: Vec<String> = (0..args.reps)
        .map(|_| {
            let t = Instant::now();
            f();
            format!("{:.9}", t.elapsed().as_secs_f64())
        })
        .collect();
    println!(
        "{{\"group\":\"{}\",\"name\":\"{name}\",\"params\":{params},\"unit\":\"{unit}\",\"perRep\":{per_rep},\"seconds\":[{}]}}",
        args.group,
        seconds.join(",")
    );
}

/// The `synthetic` world at d = 32, as in the env group.
fn world() -> Synthetic {
    Synthetic::new(SyntheticConfig {
        dim: 32,
        ..Default::default()
    })
    .expect("synthetic world")
}

fn bench_ac(args: &Args) {
    let w = world();
    let encoder = StateEncoder::new(10, w.n_items(), w.item_features().to_vec()).expect("encoder");
    let in_dim = encoder.out_dim();
    let mut rng = Rng::new(3);
    for &hidden in &args.hidden {
        for &rows in &args.batches {
            let mut net = common::bench_net(hidden, &encoder, w.n_items()).expect("network");
            let data = common::RandomBatch::new(&mut rng, rows, in_dim, w.n_items());
            let batch = data.view();
            let loss = LossConfig::default();
            let params = format!(
                "{{\"backend\":\"ndarray\",\"batch\":{rows},\"hidden\":{hidden},\"depth\":2,\"embedDim\":32,\"inDim\":{in_dim},\"nItems\":{}}}",
                w.n_items()
            );
            case(args, "a2c update", &params, "samples", rows, || {
                black_box(net.update(&batch, &loss));
            });
        }
    }
}

fn bench_buffers(args: &Args) {
    let mut rng = Rng::new(5);
    let obs_dim = 128; // the encoder's width for synthetic at d = 32
    let (t_len, b) = (32, 1024);

    let mut rollout = RolloutBuffer::new(t_len, b, obs_dim);
    let obs: Vec<f32> = (0..b * obs_dim).map(|_| rng.normal()).collect();
    let actions: Vec<u32> = (0..b as u32).collect();
    let rewards: Vec<f32> = (0..b).map(|_| rng.uniform()).collect();
    let dones: Vec<u8> = (0..b).map(|_| (rng.uniform() < 0.1) as u8).collect();
    let values: Vec<f32> = (0..b).map(|_| rng.uniform()).collect();
    let params = format!("{{\"steps\":{t_len},\"slots\":{b},\"obsDim\":{obs_dim}}}");
    case(
        args,
        "rollout push",
        &params,
        "transitions",
        t_len * b,
        || {
            rollout.clear();
            for _ in 0..t_len {
                rollout
                    .push(&obs, &actions, &rewards, &dones, &values)
                    .expect("push");
            }
            black_box(&rollout);
        },
    );

    let capacity = 100_000;
    let mut replay = ReplayBuffer::new(capacity, obs_dim).expect("replay buffer");
    let row: Vec<f32> = obs[..obs_dim].to_vec();
    let pushes = 10_000;
    let params = format!("{{\"capacity\":{capacity},\"obsDim\":{obs_dim}}}");
    case(args, "replay push", &params, "transitions", pushes, || {
        for i in 0..pushes {
            replay.push(&row, i as u32, 0.5, &row, i % 10 == 0);
        }
    });
    while replay.len() < capacity {
        replay.push(&row, 0, 0.5, &row, false);
    }
    let (minibatch, draws) = (256, 40);
    let params =
        format!("{{\"capacity\":{capacity},\"obsDim\":{obs_dim},\"minibatch\":{minibatch}}}");
    case(
        args,
        "replay sample",
        &params,
        "transitions",
        minibatch * draws,
        || {
            for _ in 0..draws {
                black_box(replay.sample(minibatch, &mut rng).expect("sample"));
            }
        },
    );

    for &slots in &[1024usize, 16_384] {
        let n = t_len * slots;
        let rewards: Vec<f32> = (0..n).map(|_| rng.uniform()).collect();
        let values: Vec<f32> = (0..n).map(|_| rng.uniform()).collect();
        let dones: Vec<u8> = (0..n).map(|_| (rng.uniform() < 0.1) as u8).collect();
        let last: Vec<f32> = (0..slots).map(|_| rng.uniform()).collect();
        let params = format!("{{\"steps\":{t_len},\"slots\":{slots}}}");
        case(args, "gae", &params, "transitions", n, || {
            black_box(gae(&rewards, &values, &dones, &last, 0.99, 0.95));
        });
    }
}

fn main() {
    let args = parse_args();
    match args.group.as_str() {
        "ac" => bench_ac(&args),
        _ => bench_buffers(&args),
    }
}
