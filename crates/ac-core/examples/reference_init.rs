//! What the JAX reference (benches/reference/a2c_jax.py --init DIR) needs to
//! train from ialp's own start, for a paired learning comparison: the world of
//! `ialp train` (synthetic at its defaults) and, per seed, the initial policy
//! `ialp train --seed S` starts from, as safetensors files.
//!
//! cargo run --release -p ialp-ac-core --example reference_init -- --seeds 1,2,3 --out DIR
//!
//! DIR/world.safetensors: `vecs` (items x D, the hidden item vectors), `cats`
//! (items, as floats), `feats` (items x F, what the policy sees), `users`
//! (users x D, every user's state on arrival). DIR/init-S.safetensors: the
//! untrained policy of seed S (an ialp policy file: `actor.{i}.w|b`,
//! `critic.{i}.w|b`, `item.w`, `item.free`, `item.bias`, `item_features`).

#[allow(dead_code)] // uses only the argument helpers
mod common;

use ialp_ac_core::{A2c, TrainConfig};
use ialp_sim::safetensors::{self, TensorOut};
use ialp_sim::AnyWorld;
use std::path::PathBuf;

fn fail(msg: &str) -> ! {
    common::fail_as("reference_init", msg)
}

fn main() {
    let (mut seeds, mut out) = (vec![1usize], None::<PathBuf>);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--seeds" => seeds = common::list_as("reference_init", &flag, &value),
            "--out" => out = Some(PathBuf::from(value)),
            _ => fail(&format!("unknown flag {flag} (expected --seeds, --out)")),
        }
    }
    let out = out.unwrap_or_else(|| fail("--out DIR is required"));
    std::fs::create_dir_all(&out)
        .unwrap_or_else(|e| fail(&format!("--out {}: {e}", out.display())));
    let cfg = TrainConfig::default();
    let world = AnyWorld::build(&cfg.env, None, None).unwrap_or_else(|e| fail(&e.to_string()));
    let AnyWorld::Synthetic(syn) = &world else {
        fail("ialp train's default environment is no longer synthetic")
    };
    let w = world.world();
    let (n_items, n_users, d) = (w.n_items(), w.n_users(), w.user_state_dim());
    let vecs: Vec<f32> = (0..n_items)
        .flat_map(|i| syn.item_vector(i).to_vec())
        .collect();
    let cats: Vec<f32> = (0..n_items).map(|i| w.item_category(i) as f32).collect();
    let mut users = vec![0f32; n_users * d];
    for (u, s) in users.chunks_exact_mut(d).enumerate() {
        w.init_user(u as u32, s);
    }
    let f = w.feature_dim();
    let file = safetensors::write(
        &[("format", "ialp-reference-world"), ("env", "synthetic")],
        &[
            TensorOut {
                name: "vecs",
                shape: &[n_items, d],
                data: &vecs,
            },
            TensorOut {
                name: "cats",
                shape: &[n_items],
                data: &cats,
            },
            TensorOut {
                name: "feats",
                shape: &[n_items, f],
                data: w.item_features(),
            },
            TensorOut {
                name: "users",
                shape: &[n_users, d],
                data: &users,
            },
        ],
    );
    write(&out.join("world.safetensors"), &file);
    for seed in seeds {
        // the learner `ialp train --seed S` builds before its first update
        let mut spec = cfg.env.clone();
        spec.batch.seed = seed as u64;
        let env = world.env(&spec).unwrap_or_else(|e| fail(&e.to_string()));
        let learner = A2c::new(cfg.a2c.clone(), env.as_ref(), seed as u64)
            .unwrap_or_else(|e| fail(&e.to_string()));
        let policy = learner
            .policy(
                env.as_ref(),
                serde_json::json!({ "untrained": true, "seed": seed }),
            )
            .unwrap_or_else(|e| fail(&e.to_string()));
        write(
            &out.join(format!("init-{seed}.safetensors")),
            &policy.to_bytes(),
        );
    }
}

fn write(path: &std::path::Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
}
