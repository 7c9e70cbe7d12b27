//! Actor-critic updates on `ndarray` (CPU), `tch` CPU and `tch` CUDA (when
//! libtorch sees a GPU), side by side, for several batch sizes and widths: the
//! GPU benchmark of issue #6. Needs no Node: benches/gpu/run.sh builds it here
//! and runs it on a GPU machine with only PyTorch installed.
//!
//! ```text
//! cargo run --release -p ialp-ac-core --features torch --example bench_backends -- \
//!     [--batches 256,1024,4096,16384] [--hidden 64,256,1024] [--items 500]
//!     [--backends ndarray,tch-cpu,tch-cuda] [--threads N] [--warmup N] [--reps N]
//!     [--quick] [--json FILE]
//! ```
//!
//! Prints a table of updates/s and samples/s (median of `reps` timed updates,
//! the backends interleaved, after `warmup` untimed ones) with each backend's
//! speed relative to `ndarray`, then the same as one JSON object (also written
//! to --json FILE; `seconds` holds every repetition).
//! Without the `torch` feature only `ndarray` runs.

mod common;

use ialp_ac_core::encoder::StateEncoder;
use ialp_ac_core::{AcBackend, LossConfig, NdarrayNet, UpdateBatch};
use ialp_sim::{Rng, Synthetic, SyntheticConfig, World};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

struct Args {
    batches: Vec<usize>,
    hidden: Vec<usize>,
    items: usize,
    backends: Vec<String>,
    threads: Option<usize>,
    warmup: usize,
    reps: usize,
    json: Option<String>,
}

fn fail(msg: &str) -> ! {
    common::fail_as("bench_backends", msg)
}

fn list(flag: &str, v: &str) -> Vec<usize> {
    common::list_as("bench_backends", flag, v)
}

const BACKENDS: [&str; 3] = ["ndarray", "tch-cpu", "tch-cuda"];

fn parse_args() -> Args {
    let mut a = Args {
        batches: vec![256, 1024, 4096, 16384],
        hidden: vec![64, 256, 1024],
        items: 500,
        backends: BACKENDS.iter().map(|s| s.to_string()).collect(),
        threads: None,
        warmup: 3,
        reps: 10,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--quick" {
            a.batches = vec![64, 256];
            a.hidden = vec![32, 64];
            a.items = 100;
            a.warmup = 1;
            a.reps = 3;
            continue;
        }
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag}: expected a value after it")));
        match flag.as_str() {
            "--batches" => a.batches = list(&flag, &value),
            "--hidden" => a.hidden = list(&flag, &value),
            "--items" => a.items = list(&flag, &value)[0],
            "--threads" => a.threads = Some(list(&flag, &value)[0]),
            "--warmup" => a.warmup = value.parse().unwrap_or_else(|_| fail("--warmup: expected an integer")),
            "--reps" => a.reps = list(&flag, &value)[0],
            "--json" => a.json = Some(value),
            "--backends" => {
                a.backends = value.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(b) = a.backends.iter().find(|b| !BACKENDS.contains(&b.as_str())) {
                    fail(&format!("--backends: \"{b}\" is not one of {}", BACKENDS.join(", ")));
                }
            }
            _ => fail(&format!(
                "unknown flag {flag} (expected --batches, --hidden, --items, --backends, --threads, --warmup, --reps, --quick, --json)"
            )),
        }
    }
    a
}

/// A backend by name, initialised from the same ndarray weights; None when
/// this build or machine lacks it (with the reason).
fn make(name: &str, nd: &NdarrayNet) -> Result<Box<dyn AcBackend>, String> {
    match name {
        "ndarray" => Ok(Box::new(nd.clone())),
        #[cfg(feature = "torch")]
        "tch-cpu" => ialp_ac_core::TchNet::from_ndarray(nd, tch::Device::Cpu)
            .map(|t| Box::new(t) as Box<dyn AcBackend>)
            .map_err(|e| e.to_string()),
        #[cfg(feature = "torch")]
        "tch-cuda" if tch::Cuda::is_available() => {
            ialp_ac_core::TchNet::from_ndarray(nd, tch::Device::Cuda(0))
                .map(|t| Box::new(t) as Box<dyn AcBackend>)
                .map_err(|e| e.to_string())
        }
        #[cfg(feature = "torch")]
        "tch-cuda" => Err("libtorch sees no CUDA device".into()),
        _ => Err("built without the `torch` feature".into()),
    }
}

/// Seconds of each timed update of each backend, after `warmup` untimed ones
/// each; the repetitions run interleaved (ndarray, tch-cpu, ..., ndarray, ...),
/// so repetition i of every backend saw the same machine and ratios can be
/// taken repetition by repetition.
fn time_updates(
    nets: &mut [Box<dyn AcBackend>],
    batch: &UpdateBatch,
    args: &Args,
) -> Vec<Vec<f64>> {
    let loss = LossConfig::default();
    for net in nets.iter_mut() {
        for _ in 0..args.warmup {
            black_box(net.update(batch, &loss));
        }
    }
    let mut secs = vec![Vec::with_capacity(args.reps); nets.len()];
    for _ in 0..args.reps {
        for (net, s) in nets.iter_mut().zip(&mut secs) {
            let t = Instant::now();
            // update() copies the loss terms back to the host, so the device
            // has finished when it returns
            black_box(net.update(batch, &loss));
            s.push(t.elapsed().as_secs_f64());
        }
    }
    secs
}

fn median(s: &[f64]) -> f64 {
    let mut s = s.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn main() {
    let args = parse_args();
    #[cfg(feature = "torch")]
    {
        if let Some(n) = args.threads {
            tch::set_num_threads(n as i32);
        }
        tch::manual_seed(0);
    }
    let w = Synthetic::new(SyntheticConfig {
        dim: 32,
        n_items: args.items,
        ..Default::default()
    })
    .unwrap_or_else(|e| fail(&format!("synthetic world: {e}")));
    let encoder = StateEncoder::new(10, w.n_items(), w.item_features().to_vec())
        .unwrap_or_else(|e| fail(&format!("encoder: {e}")));
    let in_dim = encoder.out_dim();
    #[cfg(feature = "torch")]
    let (torch_threads, cuda) = (tch::get_num_threads(), tch::Cuda::is_available());
    #[cfg(not(feature = "torch"))]
    let (torch_threads, cuda) = (0, false);
    let mut rng = Rng::new(3);
    let mut rows_out = Vec::new();
    let mut skipped: Vec<(String, String)> = Vec::new();
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:>8} {:>7} {:>9} {:>10} {:>12} {:>14} {:>11}",
        "backend", "hidden", "batch", "ms/update", "updates/s", "samples/s", "vs ndarray"
    );
    for &hidden in &args.hidden {
        for &rows in &args.batches {
            let nd = common::bench_net(hidden, &encoder, w.n_items())
                .unwrap_or_else(|e| fail(&format!("network: {e}")));
            let data = common::RandomBatch::new(&mut rng, rows, in_dim, w.n_items());
            let batch = data.view();
            let mut names = Vec::new();
            let mut nets = Vec::new();
            for name in &args.backends {
                match make(name, &nd) {
                    Ok(n) => {
                        names.push(name.clone());
                        nets.push(n);
                    }
                    Err(why) => {
                        if !skipped.iter().any(|(b, _)| b == name) {
                            skipped.push((name.clone(), why));
                        }
                    }
                }
            }
            let secs = time_updates(&mut nets, &batch, &args);
            let base = names
                .iter()
                .position(|n| n == "ndarray")
                .map(|i| median(&secs[i]));
            for (name, reps) in names.iter().zip(&secs) {
                let sec = median(reps);
                let vs = base.map(|b| b / sec);
                let _ = writeln!(
                    table,
                    "{:>8} {:>7} {:>9} {:>10.3} {:>12.1} {:>14.0} {:>11}",
                    name,
                    hidden,
                    rows,
                    sec * 1e3,
                    1.0 / sec,
                    rows as f64 / sec,
                    vs.map(|v| format!("{v:.2}x")).unwrap_or_else(|| "-".into())
                );
                let reps_json: Vec<String> = reps.iter().map(|s| format!("{s:.9}")).collect();
                rows_out.push(format!(
                    "{{\"backend\":\"{name}\",\"hidden\":{hidden},\"batch\":{rows},\"secondsPerUpdate\":{sec:.9},\"samplesPerSecond\":{:.1},\"speedVsNdarray\":{},\"seconds\":[{}]}}",
                    rows as f64 / sec,
                    vs.map(|v| format!("{v:.4}")).unwrap_or_else(|| "null".into()),
                    reps_json.join(",")
                ));
            }
        }
    }
    println!(
        "A2C updates (depth 2, embedDim 32, inDim {in_dim}, {} items; median of {} after {} warm-up; torch threads {torch_threads}, CUDA {})",
        w.n_items(),
        args.reps,
        args.warmup,
        if cuda { "available" } else { "not available" }
    );
    print!("{table}");
    for (b, why) in &skipped {
        println!("skipped {b}: {why}");
    }
    let skipped_json: Vec<String> = skipped
        .iter()
        .map(|(b, why)| {
            format!(
                "{{\"backend\":\"{b}\",\"reason\":\"{}\"}}",
                why.replace('"', "'")
            )
        })
        .collect();
    let json = format!(
        "{{\"bench\":\"bench_backends\",\"inDim\":{in_dim},\"nItems\":{},\"depth\":2,\"embedDim\":32,\"reps\":{},\"warmup\":{},\"torchThreads\":{torch_threads},\"cuda\":{cuda},\"cases\":[{}],\"skipped\":[{}]}}",
        w.n_items(),
        args.reps,
        args.warmup,
        rows_out.join(","),
        skipped_json.join(",")
    );
    println!("{json}");
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{json}\n"))
            .unwrap_or_else(|e| fail(&format!("--json {path}: {e}")));
    }
}
