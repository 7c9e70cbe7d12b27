//! A reward model fitted to the simulator's expected rewards of logged states
//! and random items: a stand-in for LLM labels that are right, or with
//! `inverted` for a compromised source that prefers what users like least.
//! (Shared by the iALP and A-iALP tests.)

use ialp_ac_core::encoder::StateEncoder;
use ialp_ac_core::reward_model::{RewardExamples, RewardModel, RewardModelConfig};
use ialp_sim::logged::LoggedData;
use ialp_sim::AnyWorld;

pub fn fitted_to_truth(world: &AnyWorld, logged: &LoggedData, inverted: bool) -> RewardModel {
    let h = logged.history;
    let w = world.world();
    let mut ex = RewardExamples {
        history: h,
        ..Default::default()
    };
    let mut rng = ialp_sim::Rng::new(5);
    for t in (0..logged.len()).step_by(3) {
        for _ in 0..3 {
            let item = rng.below(w.n_items() as u32);
            ex.hist_items
                .extend_from_slice(&logged.hist_items[t * h..(t + 1) * h]);
            ex.hist_rewards
                .extend_from_slice(&logged.hist_rewards[t * h..(t + 1) * h]);
            ex.items.push(item);
            let truth = world.expected_reward(logged.users[t], item as usize);
            ex.labels.push(if inverted { 1.0 - truth } else { truth });
        }
    }
    let enc = StateEncoder::new(h, w.n_items(), w.item_features().to_vec()).unwrap();
    let mut rm = RewardModel::new(
        RewardModelConfig {
            epochs: 10,
            ..Default::default()
        },
        enc,
    )
    .unwrap();
    rm.train(&ex, &mut |_, _| true).unwrap();
    rm
}
