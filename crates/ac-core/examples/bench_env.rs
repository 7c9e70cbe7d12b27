//! Steps `synthetic` in a loop, for profiling the simulator without Node
//! (`perf record`, `valgrind --tool=callgrind`); `npm run bench` measures the
//! same thing through the bindings.
//! `cargo run --release -p ialp-ac-core --example bench_env -- [batch] [steps] [threads] [dim]`
//! prints one JSON line: `{"batch":..,"threads":..,"steps":..,"seconds":..,"userStepsPerSec":..}`.

use ialp_sim::{make_env, EnvSpec, Rng};

fn arg(args: &[String], i: usize, default: usize) -> usize {
    match args.get(i) {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("bench_env: argument {i} \"{s}\" is not a non-negative integer");
            std::process::exit(2)
        }),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (b, steps, threads, dim) = (
        arg(&args, 1, 4096),
        arg(&args, 2, 1000),
        arg(&args, 3, 1),
        arg(&args, 4, 32),
    );
    let mut spec = EnvSpec::synthetic();
    spec.batch.batch_size = b;
    spec.batch.threads = threads;
    spec.batch.seed = 1;
    spec.synthetic.dim = dim;
    let mut env = make_env(&spec).unwrap_or_else(|e| {
        eprintln!("bench_env: {e}");
        std::process::exit(2)
    });
    let mut rng = Rng::new(7);
    // a few fixed action rows, so drawing actions stays out of the profile
    let rows: Vec<Vec<u32>> = (0..16)
        .map(|_| (0..b).map(|_| rng.below(env.n_items() as u32)).collect())
        .collect();
    let (mut r, mut d) = (vec![0f32; b], vec![0u8; b]);
    let mut checksum = 0f64;
    let t = std::time::Instant::now();
    for k in 0..steps {
        env.step(&rows[k % rows.len()], &mut r, &mut d)
            .expect("step");
        // every reward and done, so a changed number anywhere changes the checksum
        checksum += r
            .iter()
            .zip(&d)
            .map(|(&x, &e)| x as f64 + e as f64)
            .sum::<f64>();
        if k % 64 == 0 {
            env.drain_episodes();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{{\"batch\":{b},\"threads\":{threads},\"steps\":{steps},\"seconds\":{secs:.6},\"userStepsPerSec\":{:.1},\"checksum\":{checksum}}}",
        (b * steps) as f64 / secs
    );
}
