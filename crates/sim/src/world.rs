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
}
