//! What the benchmark examples share: failing with a message, and parsing lists.

/// Prints `prog: msg` and exits with status 2 (a usage error).
pub fn fail_as(prog: &str, msg: &str) -> ! {
    eprintln!("{prog}: {msg}");
    std::process::exit(2)
}

/// Parses a comma-separated list of positive integers given to `flag`.
pub fn list_as(prog: &str, flag: &str, v: &str) -> Vec<usize> {
    v.split(',')
        .map(|x| match x.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => fail_as(
                prog,
                &format!("{flag}: \"{x}\" is not a positive integer (expected e.g. 256,1024)"),
            ),
        })
        .collect()
}

/// A random update batch of `rows` rows: observations, actions, advantages, returns.
pub struct RandomBatch {
    obs: Vec<f32>,
    actions: Vec<u32>,
    advantages: Vec<f32>,
    returns: Vec<f32>,
}

impl RandomBatch {
    pub fn new(rng: &mut ialp_sim::Rng, rows: usize, in_dim: usize, n_items: usize) -> Self {
        RandomBatch {
            obs: (0..rows * in_dim).map(|_| rng.normal()).collect(),
            actions: (0..rows).map(|_| rng.below(n_items as u32)).collect(),
            advantages: (0..rows).map(|_| rng.normal()).collect(),
            returns: (0..rows).map(|_| rng.uniform() * 5.0).collect(),
        }
    }

    pub fn view(&self) -> ialp_ac_core::UpdateBatch<'_> {
        ialp_ac_core::UpdateBatch {
            obs: &self.obs,
            actions: &self.actions,
            advantages: &self.advantages,
            returns: &self.returns,
        }
    }
}

/// The network both benchmarks time: `NdarrayNet` of width `hidden` over the
/// encoder's inputs and items, default depth, embedding and Adam, seed 1.
pub fn bench_net(
    hidden: usize,
    encoder: &ialp_ac_core::encoder::StateEncoder,
    n_items: usize,
) -> ialp_ac_core::Result<ialp_ac_core::NdarrayNet> {
    ialp_ac_core::NdarrayNet::new(
        ialp_ac_core::NetConfig {
            hidden,
            ..Default::default()
        },
        encoder.out_dim(),
        std::sync::Arc::clone(&encoder.item_features),
        n_items,
        ialp_ac_core::AdamConfig::default(),
        1,
    )
}
