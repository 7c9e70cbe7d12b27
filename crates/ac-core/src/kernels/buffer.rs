//! Storage for experience: a rollout buffer for on-policy updates (T x B, filled
//! step by step) and a ring replay buffer for off-policy and offline data.

use ialp_sim::{Error, Result, Rng};

/// One on-policy rollout of T steps over B slots; row t holds every slot's step t.
#[derive(Clone, Debug)]
pub struct RolloutBuffer {
    pub steps: usize,
    pub slots: usize,
    pub obs_dim: usize,
    pub obs: Vec<f32>,
    pub actions: Vec<u32>,
    pub rewards: Vec<f32>,
    pub dones: Vec<u8>,
    pub values: Vec<f32>,
    filled: usize,
}

impl RolloutBuffer {
    pub fn new(steps: usize, slots: usize, obs_dim: usize) -> Self {
        RolloutBuffer {
            steps,
            slots,
            obs_dim,
            obs: vec![0.0; steps * slots * obs_dim],
            actions: vec![0; steps * slots],
            rewards: vec![0.0; steps * slots],
            dones: vec![0; steps * slots],
            values: vec![0.0; steps * slots],
            filled: 0,
        }
    }

    pub fn is_full(&self) -> bool {
        self.filled == self.steps
    }

    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// Appends one step of every slot.
    pub fn push(
        &mut self,
        obs: &[f32],
        actions: &[u32],
        rewards: &[f32],
        dones: &[u8],
        values: &[f32],
    ) -> Result<()> {
        if self.is_full() {
            return Err(Error::new("rollout buffer: push on a full buffer"));
        }
        let (b, t) = (self.slots, self.filled);
        for (what, got, want) in [
            ("observations", obs.len(), b * self.obs_dim),
            ("actions", actions.len(), b),
            ("rewards", rewards.len(), b),
            ("dones", dones.len(), b),
            ("values", values.len(), b),
        ] {
            if got != want {
                return Err(Error::invalid(
                    &format!("rollout buffer push: {what} length"),
                    &want.to_string(),
                    got,
                ));
            }
        }
        self.obs[t * b * self.obs_dim..(t + 1) * b * self.obs_dim].copy_from_slice(obs);
        self.actions[t * b..(t + 1) * b].copy_from_slice(actions);
        self.rewards[t * b..(t + 1) * b].copy_from_slice(rewards);
        self.dones[t * b..(t + 1) * b].copy_from_slice(dones);
        self.values[t * b..(t + 1) * b].copy_from_slice(values);
        self.filled += 1;
        Ok(())
    }
}

/// A transition (s, a, r, s', done) store with a fixed capacity; the oldest
/// entries are overwritten once full.
#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    pub capacity: usize,
    pub obs_dim: usize,
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    dones: Vec<u8>,
    len: usize,
    pos: usize,
}

/// A sampled minibatch, row-major.
#[derive(Clone, Debug, Default)]
pub struct Transitions {
    pub obs: Vec<f32>,
    pub next_obs: Vec<f32>,
    pub actions: Vec<u32>,
    pub rewards: Vec<f32>,
    pub dones: Vec<u8>,
}

impl ReplayBuffer {
    pub fn new(capacity: usize, obs_dim: usize) -> Result<Self> {
        if capacity == 0 {
            return Err(Error::invalid("replay capacity", "at least 1", 0));
        }
        Ok(ReplayBuffer {
            capacity,
            obs_dim,
            obs: vec![0.0; capacity * obs_dim],
            next_obs: vec![0.0; capacity * obs_dim],
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            dones: vec![0; capacity],
            len: 0,
            pos: 0,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, obs: &[f32], action: u32, reward: f32, next_obs: &[f32], done: bool) {
        let (d, p) = (self.obs_dim, self.pos);
        self.obs[p * d..(p + 1) * d].copy_from_slice(obs);
        self.next_obs[p * d..(p + 1) * d].copy_from_slice(next_obs);
        self.actions[p] = action;
        self.rewards[p] = reward;
        self.dones[p] = done as u8;
        self.pos = (p + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// `n` transitions drawn uniformly with replacement.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Result<Transitions> {
        if self.len == 0 {
            return Err(Error::new("replay buffer: sample from an empty buffer"));
        }
        let d = self.obs_dim;
        let mut out = Transitions {
            obs: Vec::with_capacity(n * d),
            next_obs: Vec::with_capacity(n * d),
            ..Default::default()
        };
        for _ in 0..n {
            let i = rng.below(self.len as u32) as usize;
            out.obs.extend_from_slice(&self.obs[i * d..(i + 1) * d]);
            out.next_obs
                .extend_from_slice(&self.next_obs[i * d..(i + 1) * d]);
            out.actions.push(self.actions[i]);
            out.rewards.push(self.rewards[i]);
            out.dones.push(self.dones[i]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_fills_rows_in_order() {
        let mut b = RolloutBuffer::new(2, 2, 1);
        b.push(&[1.0, 2.0], &[3, 4], &[0.5, 0.6], &[0, 1], &[0.1, 0.2])
            .unwrap();
        b.push(&[5.0, 6.0], &[7, 8], &[0.7, 0.8], &[1, 0], &[0.3, 0.4])
            .unwrap();
        assert!(b.is_full());
        assert_eq!(b.actions, vec![3, 4, 7, 8]);
        assert_eq!(b.obs, vec![1.0, 2.0, 5.0, 6.0]);
        assert!(b
            .push(&[0.0, 0.0], &[0, 0], &[0.0; 2], &[0; 2], &[0.0; 2])
            .is_err());
    }

    #[test]
    fn replay_overwrites_oldest_and_samples_stored_rows() {
        let mut r = ReplayBuffer::new(3, 1).unwrap();
        for i in 0..5u32 {
            r.push(&[i as f32], i, i as f32, &[i as f32 + 1.0], false);
        }
        assert_eq!(r.len(), 3);
        let s = r.sample(200, &mut Rng::new(0)).unwrap();
        assert!(s.actions.iter().all(|&a| (2..5).contains(&a)));
        for (k, &a) in s.actions.iter().enumerate() {
            assert_eq!(s.obs[k], a as f32);
            assert_eq!(s.next_obs[k], a as f32 + 1.0);
        }
        assert!(ReplayBuffer::new(0, 1).is_err());
        assert!(ReplayBuffer::new(1, 1)
            .unwrap()
            .sample(1, &mut Rng::new(0))
            .is_err());
    }
}
