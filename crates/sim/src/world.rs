//! What a simulated population of users must answer; `BatchEnv` does the rest
//! (histories, quitting, resets) for any world.

use crate::rng::Rng;

pub trait World: Send + Sync {
    /// A short name, e.g. "synthetic".
    fn name(&self) -> &str;
    fn n_users(&self) -> usize;
    fn n_items(&self) -> usize;
    fn n_categories(&self) -> usize;
    fn item_category(&self, item: usize) -> u32;
    /// Width of the per-item feature vectors a policy sees.
    fn feature_dim(&self) -> usize;
    /// Row-major `n_items x feature_dim`.
    fn item_features(&self) -> &[f32];
    /// Floats of mutable per-user state (e.g. drifting interests); may be 0.
    fn user_state_dim(&self) -> usize;
    /// Writes the state of `user` at the start of an episode.
    fn init_user(&self, user: u32, state: &mut [f32]);
    /// The user's reward for `item`, in [0, 1]; may update the state.
    fn respond(&self, user: u32, state: &mut [f32], item: u32, rng: &mut Rng) -> f32;
    /// [`World::respond`] for every `i` with `!skip[i]`: user `users[i]`, state
    /// `states[i * d..(i + 1) * d]` (d = [`World::user_state_dim`]), `items[i]`,
    /// `rngs[i]`, reward into `rewards[i]`; skipped entries are left as they are.
    /// Each user's operations must be those of `respond`, in its order, so the
    /// results are the same; a world may interleave different users' work (a
    /// batch has independent dependency chains that one user's `respond` lacks).
    fn respond_batch(
        &self,
        users: &[u32],
        states: &mut [f32],
        items: &[u32],
        rngs: &mut [Rng],
        skip: &[bool],
        rewards: &mut [f32],
    ) {
        let d = self.user_state_dim();
        for i in 0..users.len() {
            if !skip[i] {
                let st = &mut states[i * d..(i + 1) * d];
                rewards[i] = self.respond(users[i], st, items[i], &mut rngs[i]);
            }
        }
    }
    /// [`World::respond_batch`] for the users in `slots` only: user
    /// `users[slots[j]]` with state `slots[j]` and `rngs[slots[j]]` gets
    /// `items[j]`, its reward goes to `rewards[j]`.
    fn respond_at(
        &self,
        users: &[u32],
        states: &mut [f32],
        rngs: &mut [Rng],
        slots: &[u32],
        items: &[u32],
        rewards: &mut [f32],
    ) {
        let d = self.user_state_dim();
        for (j, &s) in slots.iter().enumerate() {
            let s = s as usize;
            let st = &mut states[s * d..(s + 1) * d];
            rewards[j] = self.respond(users[s], st, items[j], &mut rngs[s]);
        }
    }
}
