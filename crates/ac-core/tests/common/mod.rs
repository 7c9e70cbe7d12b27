//! What the artefact tests share: one small untrained policy (8 items, history
//! 4, a 6-wide net) and its state encoder. `__test__/fixtures/artefacts/policy-v1.ialp`
//! was written from this policy by the version-1 code.

use ialp_ac_core::encoder::StateEncoder;
use ialp_ac_core::{NetConfig, Policy, PolicyMeta};

pub fn encoder() -> StateEncoder {
    StateEncoder::new(4, 8, (0..16).map(|i| i as f32 / 16.0).collect()).unwrap()
}

pub fn policy() -> Policy {
    let meta = PolicyMeta {
        env: "test".into(),
        source: String::new(),
        fingerprint: String::new(),
        n_items: 8,
        history: 4,
        net: NetConfig {
            hidden: 6,
            depth: 1,
            embed_dim: 3,
        },
        training: serde_json::Value::Null,
        created_with: "test".into(),
    };
    Policy::untrained(meta, encoder(), 1).unwrap()
}
