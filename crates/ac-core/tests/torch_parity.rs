//! The libtorch backend against the ndarray one, on the CPU: same initial
//! weights and batch give the same losses, gradients and updated weights, and
//! a short training run learns on both. Runs with `--features torch`
//! (scripts/test.sh does; see scripts/setup-torch.sh).
//!
//! Tolerances: f32 sums in a different order (libtorch's BLAS against
//! linalg.rs) differ by a few ulps per element, so forward values, losses and
//! gradients must agree to 1e-5 relative to the largest entry of their tensor;
//! after Adam, which divides each gradient by its own running magnitude, the
//! weights must agree to 1e-3 of the step size per update taken.
#![cfg(feature = "torch")]

use ialp_ac_core::compute::{Compute, Device};
use ialp_ac_core::{
    evaluate, train, AcBackend, Actor, AdamConfig, LossConfig, Mode, NdarrayNet, NetConfig, Params,
    TchNet, TrainConfig, UpdateBatch, UserPool,
};
use ialp_sim::{AnyWorld, EpisodeStat, Rng};
use ndarray::ArrayView2;
use std::sync::Arc;

struct Case {
    nd: NdarrayNet,
    obs: Vec<f32>,
    actions: Vec<u32>,
    adv: Vec<f32>,
    ret: Vec<f32>,
}

impl Case {
    fn batch(&self) -> UpdateBatch<'_> {
        UpdateBatch {
            obs: &self.obs,
            actions: &self.actions,
            advantages: &self.adv,
            returns: &self.ret,
        }
    }
}

/// A network of the default shape on 40 items with every weight non-zero (so
/// that every gradient path matters), and a batch of 64 rows.
fn case() -> Case {
    let (n_items, feat_dim, in_dim, rows) = (40, 6, 12, 64);
    let mut rng = Rng::new(11);
    let feats: Vec<f32> = (0..n_items * feat_dim).map(|_| rng.normal()).collect();
    let mut nd = NdarrayNet::new(
        NetConfig {
            hidden: 16,
            depth: 2,
            embed_dim: 8,
        },
        in_dim,
        Arc::new(feats),
        n_items,
        AdamConfig::default(),
        5,
    )
    .unwrap();
    let mut p = nd.params();
    for t in &mut p.tensors {
        t.data.iter_mut().for_each(|x| *x += 0.2 * rng.normal());
    }
    nd.set_params(p).unwrap();
    Case {
        nd,
        obs: (0..rows * in_dim).map(|_| rng.normal()).collect(),
        actions: (0..rows).map(|_| rng.below(n_items as u32)).collect(),
        adv: (0..rows).map(|_| rng.normal()).collect(),
        ret: (0..rows).map(|_| 2.0 * rng.uniform()).collect(),
    }
}

fn cpu(nd: &NdarrayNet) -> TchNet {
    TchNet::from_ndarray(nd, tch::Device::Cpu).unwrap()
}

/// max |a - b| over max |a|, per tensor; the worst tensor's name and value.
fn worst_rel(a: &Params, b: &Params) -> (String, f32) {
    let mut worst = (String::new(), 0f32);
    for (x, y) in a.tensors.iter().zip(&b.tensors) {
        assert_eq!((&x.name, &x.shape), (&y.name, &y.shape));
        let scale = x.data.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
        let diff = x
            .data
            .iter()
            .zip(&y.data)
            .fold(0f32, |m, (p, q)| m.max((p - q).abs()));
        if diff / scale > worst.1 {
            worst = (x.name.clone(), diff / scale);
        }
    }
    worst
}

fn max_abs_diff(a: &Params, b: &Params) -> f32 {
    a.tensors
        .iter()
        .zip(&b.tensors)
        .flat_map(|(x, y)| x.data.iter().zip(&y.data).map(|(p, q)| (p - q).abs()))
        .fold(0f32, f32::max)
}

fn close(what: &str, a: f32, b: f32, rel: f32) {
    assert!(
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-3),
        "{what}: ndarray {a} vs torch {b}"
    );
}

#[test]
fn same_initial_weights_and_forward() {
    let c = case();
    let t = cpu(&c.nd);
    assert_eq!(t.kind(), "torch");
    // bit for bit: the torch backend copies the ndarray initialisation
    assert_eq!(t.params(), c.nd.params());
    let rows = c.actions.len();
    let view = ArrayView2::from_shape((rows, c.obs.len() / rows), &c.obs).unwrap();
    let (l1, v1) = c.nd.forward(view);
    let (l2, v2) = t.forward(view);
    let scale = l1.iter().fold(0f32, |m, x| m.max(x.abs()));
    let dl = (&l1 - &l2).iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(dl <= 1e-5 * scale, "logits differ by {dl} (scale {scale})");
    let dv = (&v1 - &v2).iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(
        dv <= 1e-5 * v1.iter().fold(1f32, |m, x| m.max(x.abs())),
        "values differ by {dv}"
    );
    assert_eq!(t.values(view), v2);
}

#[test]
fn same_losses_and_gradients() {
    let c = case();
    let t = cpu(&c.nd);
    let loss = LossConfig {
        entropy_coef: 0.1,
        value_coef: 0.5,
    };
    let (s1, g1) = c.nd.gradients(&c.batch(), &loss);
    let (s2, g2) = t.gradients(&c.batch(), &loss);
    close("policy loss", s1.policy_loss, s2.policy_loss, 1e-5);
    close("value loss", s1.value_loss, s2.value_loss, 1e-5);
    close("entropy", s1.entropy, s2.entropy, 1e-5);
    close("total loss", s1.total, s2.total, 1e-5);
    close("gradient norm", s1.grad_norm, s2.grad_norm, 1e-5);
    let (name, rel) = worst_rel(&g1, &g2);
    assert!(
        rel <= 1e-5,
        "gradient of {name} differs by {rel} of its largest entry"
    );
    // gradients() leaves the weights alone
    assert_eq!(t.params(), c.nd.params());
}

#[test]
fn same_updated_weights() {
    let c = case();
    let mut nd = c.nd.clone();
    let mut t = cpu(&nd);
    let loss = LossConfig::default();
    let lr = nd.adam_config().lr;
    let start = nd.params();
    let steps = 20;
    let batch = c.batch();
    for step in 1..=steps {
        let s1 = nd.update(&batch, &loss);
        let s2 = t.update(&batch, &loss);
        close(
            &format!("step {step}: total loss"),
            s1.total,
            s2.total,
            1e-4,
        );
        close(
            &format!("step {step}: gradient norm"),
            s1.grad_norm,
            s2.grad_norm,
            1e-4,
        );
        let d = max_abs_diff(&nd.params(), &t.params());
        assert!(
            d <= 1e-3 * lr * step as f32,
            "step {step}: weights differ by {d} (step size {lr})"
        );
    }
    // and the updates did move the weights (by up to lr per step)
    assert!(max_abs_diff(&start, &nd.params()) > 0.5 * lr * steps as f32);
}

#[test]
fn set_params_round_trips_and_checks_shapes() {
    let c = case();
    let mut t = cpu(&c.nd);
    let mut p = c.nd.params();
    p.tensors[0].data[0] = 0.125;
    t.set_params(p.clone()).unwrap();
    assert_eq!(t.params(), p);
    p.tensors[0].shape = vec![1];
    assert!(t.set_params(p).is_err());
}

fn mean_return(eps: &[EpisodeStat]) -> f32 {
    eps.iter().map(|e| e.total_reward).sum::<f32>() / eps.len() as f32
}

/// Online A2C on `synthetic` through the config (`a2c.compute`), on both
/// backends: each beats random by a quarter after 2,500 episodes (measured:
/// random 4.2, ndarray 7.6, torch 7.6), and the two
/// runs stay close (they start identical; f32 rounding then lets the sampled
/// actions drift apart, so only the outcomes are compared).
#[test]
fn a_short_training_run_learns_on_both() {
    let json = |compute: &str| {
        format!(
            r#"{{"episodes": 2500, "seed": 7, "a2c": {{"compute": "{compute}", "device": "cpu"}}}}"#
        )
    };
    let nd_cfg = TrainConfig::from_json(&json("ndarray")).unwrap();
    let tc_cfg = TrainConfig::from_json(&json("torch")).unwrap();
    assert_eq!(tc_cfg.a2c.compute, Compute::Torch);
    assert_eq!(tc_cfg.a2c.device, Device::Cpu);
    let w = AnyWorld::build(&nd_cfg.env, None, None).unwrap();
    let eval = |actor: &Actor| {
        mean_return(&evaluate(&nd_cfg.env, &w, actor, 256, 99, UserPool::All).unwrap())
    };
    let random = eval(&Actor::Random);
    let nd = train(&nd_cfg, &w, &mut |_| true).unwrap();
    let tc = train(&tc_cfg, &w, &mut |_| true).unwrap();
    let nd_ret = eval(&Actor::Policy(&nd.policy, Mode::Sample));
    let tc_ret = eval(&Actor::Policy(&tc.policy, Mode::Sample));
    eprintln!("random {random}, ndarray {nd_ret}, torch {tc_ret}");
    assert!(
        nd_ret > 1.25 * random,
        "ndarray {nd_ret} vs random {random}"
    );
    assert!(tc_ret > 1.25 * random, "torch {tc_ret} vs random {random}");
    assert!(
        (nd_ret - tc_ret).abs() <= 0.15 * nd_ret,
        "ndarray {nd_ret} vs torch {tc_ret}: more than 15% apart"
    );
    // deterministic given the seed on the CPU
    let again = train(&tc_cfg, &w, &mut |_| true).unwrap();
    assert_eq!(again.policy.params(), tc.policy.params());
}

#[test]
fn cuda_asked_for_without_a_gpu_is_an_error_naming_the_field() {
    if tch::Cuda::is_available() {
        return;
    }
    let e = TrainConfig::from_json(r#"{"a2c": {"compute": "torch", "device": "cuda"}}"#)
        .err()
        .unwrap();
    assert!(e.message().contains("a2c.device"), "{e}");
}
