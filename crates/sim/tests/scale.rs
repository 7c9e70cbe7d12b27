//! `synthetic` at benchmark scale: a million users and 100,000 items fit in
//! memory because users are derived from (seed, id) on demand.

use ialp_sim::{make_env, EnvSpec, SyntheticConfig};

#[test]
fn a_million_users_and_100k_items() {
    let spec = EnvSpec {
        name: "synthetic".into(),
        synthetic: SyntheticConfig {
            n_users: 1_000_000,
            n_items: 100_000,
            dim: 32,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut spec = spec;
    spec.batch.batch_size = 4096;
    let mut env = make_env(&spec).unwrap();
    assert_eq!(env.n_users(), 1_000_000);
    assert_eq!(env.item_features().len(), 100_000 * (32 + 10));
    let actions: Vec<u32> = (0..4096u32).map(|i| i * 24 % 100_000).collect();
    let (mut r, mut d) = (vec![0f32; 4096], vec![0u8; 4096]);
    for _ in 0..20 {
        env.step(&actions, &mut r, &mut d).unwrap();
    }
    assert!(r.iter().all(|x| (0.0..=1.0).contains(x)));
    let users = env.users();
    // users are drawn from the whole population
    assert!(users.iter().any(|&u| u > 500_000));
}
