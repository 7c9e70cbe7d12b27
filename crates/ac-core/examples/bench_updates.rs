//! Timings of the learning primitives for `npm run bench` (groups `ac` and
//! `buffers`); the harness runs this program and reads its output.
//!
//! ```text
//! cargo run --release -p ialp-ac-core --example bench_updates -- \
//!     --group ac|buffers|train [--batches 256,1024,4096] [--hidden 64,256] \
//!     [--items 500,10000] [--threads 1,2] [--rep-ms 150] [--warmup N] [--reps N]
//! ```
//!
//! `train` runs whole A2C iterations (the `ialp train` defaults: T = 8, hidden
//! 64, depth 2, embedDim 32) on `synthetic` with B users and N items, and
//! prints, besides the whole, the time each part of the iteration took in the
//! same repetitions (`part:...`), and two parts timed alone at the same shapes
//! (`alone:sampling`, `alone:adam`) to split the fused ones.
//!
//! Prints one JSON object per line and case: `{"group", "name", "params",
//! "unit", "perRep", "seconds": [..]}`, where `seconds` holds the wall time of
//! each repetition (after `warmup` untimed ones) and `perRep` how many `unit`s
//! one repetition processes, so throughput = perRep / seconds.

mod common;

use ialp_ac_core::adam::Adam;
use ialp_ac_core::buffer::{ReplayBuffer, RolloutBuffer};
use ialp_ac_core::encoder::StateEncoder;
use ialp_ac_core::gae::gae;
use ialp_ac_core::linalg::{product_threads, sample_softmax};
use ialp_ac_core::{A2c, A2cConfig, AcBackend, AdamConfig, LossConfig, Part, Sampler};
use ialp_sim::{AnyWorld, EnvSpec, Rng, Synthetic, SyntheticConfig, World};
use std::hint::black_box;
use std::time::Instant;

struct Args {
    group: String,
    batches: Vec<usize>,
    hidden: Vec<usize>,
    items: Vec<usize>,
    /// Threads of the `train` group (stepping and the network's products).
    threads: Vec<usize>,
    rep_ms: usize,
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
        items: vec![500, 10_000],
        threads: vec![1],
        rep_ms: 150,
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
            "--items" => a.items = list(&flag, &value),
            "--threads" => a.threads = list(&flag, &value),
            "--rep-ms" => a.rep_ms = list(&flag, &value)[0],
            "--warmup" => a.warmup = list(&flag, &value)[0],
            "--reps" => a.reps = list(&flag, &value)[0],
            _ => fail(&format!(
                "unknown flag {flag} (expected --group, --batches, --hidden, --items, --threads, --rep-ms, --warmup, --reps)"
            )),
        }
    }
    if !["ac", "buffers", "train"].contains(&a.group.as_str()) {
        fail(&format!(
            "--group: expected ac, buffers or train, got \"{}\"",
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

fn print_case(args: &Args, name: &str, params: &str, unit: &str, per_rep: usize, secs: &[f64]) {
    let seconds: Vec<String> = secs.iter().map(|s| format!("{s:.9}")).collect();
    println!(
        "{{\"group\":\"{}\",\"name\":\"{name}\",\"params\":{params},\"unit\":\"{unit}\",\"perRep\":{per_rep},\"seconds\":[{}]}}",
        args.group,
        seconds.join(",")
    );
}

fn bench_train(args: &Args) {
    for &n_items in &args.items {
        for &b in &args.batches {
            for &threads in &args.threads {
                bench_train_at(args, n_items, b, threads);
            }
        }
    }
}

fn bench_train_at(args: &Args, n_items: usize, b: usize, threads: usize) {
    let _threads = product_threads(threads);
    let mut spec = EnvSpec::synthetic();
    spec.batch.threads = threads;
    spec.synthetic.n_items = n_items;
    spec.batch.batch_size = b;
    spec.batch.auto_reset = true;
    spec.batch.seed = 1;
    let world = AnyWorld::build(&spec, None, None).expect("synthetic world");
    let mut env = world.env(&spec).expect("environment");
    let cfg = A2cConfig::default();
    let t_steps = cfg.n_steps;
    let mut learner = A2c::new(cfg, env.as_ref(), 1).expect("learner");
    let mut iteration = |parts: &mut [f64; 5]| {
        let mut last = Instant::now();
        learner
            .train_rollout_marked(env.as_mut(), &mut Sampler, &mut |p| {
                let now = Instant::now();
                let i = Part::ALL.iter().position(|&q| q == p).expect("a part");
                parts[i] += (now - last).as_secs_f64();
                last = now;
            })
            .expect("training");
        env.drain_episodes();
    };
    // calibrate: iterations per repetition so that one lasts rep_ms
    let t = Instant::now();
    iteration(&mut [0.0; 5]);
    let once = t.elapsed().as_secs_f64().max(1e-6);
    let k = ((args.rep_ms as f64 / 1e3 / once).ceil() as usize).max(1);
    for _ in 0..args.warmup {
        (0..k).for_each(|_| iteration(&mut [0.0; 5]));
    }
    let mut whole = Vec::new();
    let mut parts = vec![[0f64; 5]; args.reps];
    for rep in parts.iter_mut() {
        let t = Instant::now();
        (0..k).for_each(|_| iteration(rep));
        whole.push(t.elapsed().as_secs_f64());
    }
    let steps = k * t_steps * b;
    let params = format!(
        "{{\"batch\":{b},\"nItems\":{n_items},\"threads\":{threads},\"nSteps\":{t_steps},\"hidden\":64,\"depth\":2,\"embedDim\":32,\"updatesPerRep\":{k}}}"
    );
    print_case(args, "a2c train", &params, "user-steps", steps, &whole);
    for (i, p) in Part::ALL.iter().enumerate() {
        let secs: Vec<f64> = parts.iter().map(|r| r[i]).collect();
        print_case(
            args,
            &format!("part:{}", p.name()),
            &params,
            "user-steps",
            steps,
            &secs,
        );
    }
    // the fused parts split by timing a piece alone at the same shape
    let od = learner.encoder.out_dim();
    let mut rng = Rng::new(7);
    let obs: Vec<f32> = (0..b * od).map(|_| rng.normal()).collect();
    let view = ndarray::ArrayView2::from_shape((b, od), &obs).expect("shape");
    let (logits, _) = learner.backend.forward(view);
    let flat = logits.as_slice().expect("contiguous");
    let mut scratch = vec![0f32; n_items];
    case(args, "alone:sampling", &params, "user-steps", steps, || {
        for _ in 0..k * t_steps {
            for row in flat.chunks_exact(n_items) {
                black_box(sample_softmax(row, rng.uniform(), &mut scratch));
            }
        }
    });
    let mut weights = learner.backend.params();
    let mut adam = Adam::new(AdamConfig::default(), &weights);
    let mut grads = weights.clone();
    case(args, "alone:adam", &params, "user-steps", steps, || {
        for _ in 0..k {
            black_box(adam.step(&mut weights, &mut grads));
        }
    });
}

fn main() {
    let args = parse_args();
    match args.group.as_str() {
        "ac" => bench_ac(&args),
        "train" => bench_train(&args),
        _ => bench_buffers(&args),
    }
}
