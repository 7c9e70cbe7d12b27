//! Logged offline data: users' real histories turned into transitions
//! (state = the previous H interactions, action = the next item, reward = its
//! feedback on the 0-1 scale), for offline pre-training and baselines. Worlds
//! without logs (`synthetic`) get logs from a uniformly random logging policy.

use crate::batch::PAD_ITEM;
use crate::dataset_world::DatasetWorld;
use crate::rng::Rng;
use crate::world::World;
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedData {
    pub history: usize,
    /// Per transition.
    pub users: Vec<u32>,
    /// N x H: the interactions before the action, oldest first, right-aligned,
    /// PAD_ITEM where the user had fewer than H.
    pub hist_items: Vec<u32>,
    pub hist_rewards: Vec<f32>,
    pub actions: Vec<u32>,
    pub rewards: Vec<f32>,
    /// 1 on each user's last transition.
    pub dones: Vec<u8>,
}

impl LoggedData {
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Appends one user's chronological (item, reward) sequence.
    fn push_user(&mut self, user: u32, seq: &[(u32, f32)]) {
        let h = self.history;
        for (t, &(item, reward)) in seq.iter().enumerate() {
            let start = t.saturating_sub(h);
            let pad = h - (t - start);
            self.hist_items.extend(std::iter::repeat_n(PAD_ITEM, pad));
            self.hist_rewards.extend(std::iter::repeat_n(0.0, pad));
            self.hist_items.extend(seq[start..t].iter().map(|x| x.0));
            self.hist_rewards.extend(seq[start..t].iter().map(|x| x.1));
            self.users.push(user);
            self.actions.push(item);
            self.rewards.push(reward);
            self.dones.push((t + 1 == seq.len()) as u8);
        }
    }
}

/// The logged histories of `users` in a dataset world, in time order.
pub fn from_dataset(world: &DatasetWorld, users: &[u32], history: usize) -> LoggedData {
    let mut wanted = vec![false; world.n_users()];
    for &u in users {
        if let Some(w) = wanted.get_mut(u as usize) {
            *w = true;
        }
    }
    let mut out = LoggedData {
        history,
        ..Default::default()
    };
    // interactions are sorted by (user, timestamp)
    for chunk in world.dataset.interactions.chunk_by(|a, b| a.user == b.user) {
        let user = chunk[0].user;
        if wanted[user as usize] {
            let seq: Vec<(u32, f32)> = chunk
                .iter()
                .map(|x| (x.item, world.scale(x.value)))
                .collect();
            out.push_user(user, &seq);
        }
    }
    out
}

/// Logs of a uniformly random logging policy: `steps` interactions per user.
pub fn from_simulation(
    world: &dyn World,
    users: &[u32],
    history: usize,
    steps: usize,
    seed: u64,
) -> LoggedData {
    let mut out = LoggedData {
        history,
        ..Default::default()
    };
    let mut state = vec![0f32; world.user_state_dim()];
    for &user in users {
        let mut rng = Rng::stream(seed, 0x106_0000_0000 | user as u64);
        world.init_user(user, &mut state);
        let seq: Vec<(u32, f32)> = (0..steps)
            .map(|_| {
                let item = rng.below(world.n_items() as u32);
                (item, world.respond(user, &mut state, item, &mut rng))
            })
            .collect();
        out.push_user(user, &seq);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{Synthetic, SyntheticConfig};

    #[test]
    fn transitions_shift_the_history() {
        let mut d = LoggedData {
            history: 2,
            ..Default::default()
        };
        d.push_user(7, &[(1, 0.1), (2, 0.2), (3, 0.3)]);
        assert_eq!(d.len(), 3);
        assert_eq!(d.hist_items, vec![PAD_ITEM, PAD_ITEM, PAD_ITEM, 1, 1, 2]);
        assert_eq!(d.hist_rewards, vec![0.0, 0.0, 0.0, 0.1, 0.1, 0.2]);
        assert_eq!(d.actions, vec![1, 2, 3]);
        assert_eq!(d.dones, vec![0, 0, 1]);
        assert_eq!(d.users, vec![7, 7, 7]);
    }

    #[test]
    fn simulated_logs_are_seeded() {
        let w = Synthetic::new(SyntheticConfig::default()).unwrap();
        let a = from_simulation(&w, &[1, 2, 3], 4, 10, 5);
        assert_eq!(a.len(), 30);
        assert_eq!(a, from_simulation(&w, &[1, 2, 3], 4, 10, 5));
        assert_ne!(a, from_simulation(&w, &[1, 2, 3], 4, 10, 6));
    }
}
