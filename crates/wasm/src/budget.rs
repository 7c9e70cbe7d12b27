//! What the wasm build can hold. The shared limits (`ialp_sim::limits`, the
//! configs' `validate`) allow sizes that a 64-bit process can allocate but a
//! wasm32 memory (4 GiB at most) cannot: there a failed allocation traps with
//! "unreachable", and the trap leaves the module's state behind. So before
//! calling into the core, the bytes the request's largest buffers would need
//! are estimated from the spec and checked against the core's budget of
//! this build, `api::MAX_RUN_BYTES` (1 GiB).
//!
//! (Training runs, pre-training and reward-model fits are checked by the core
//! itself, after their configs are validated, against `api::MAX_RUN_BYTES`;
//! the natural home of these checks is the same: `BatchConfig::validate` in
//! crates/sim/src/batch.rs and `SyntheticConfig::validate` in
//! crates/sim/src/synthetic.rs, with a budget per target.)

use super::*;
use ialp_sim::{AnyWorld, EnvSpec};

/// The core's byte budget of this build ([`api::MAX_RUN_BYTES`], 1 GiB in
/// wasm32), as a JS error.
fn fits(what: String, bytes: u64) -> Result<(), JsError> {
    api::check_run_bytes(|| what, bytes).map_err(js)
}

/// The spec, when the core would accept its batch (otherwise the core's own
/// error, naming the field, comes first).
fn parsed(spec: &Value) -> Option<EnvSpec> {
    EnvSpec::from_value(spec.clone())
        .ok()
        .filter(|s| s.batch.validate().is_ok())
}

fn env_what(s: &EnvSpec) -> String {
    format!(
        "batch of {} users x history {}",
        s.batch.batch_size, s.batch.history
    )
}

/// The synthetic world an environment spec builds (item vectors and features,
/// user preferences and states), when it builds one.
pub(crate) fn world_fits(spec: &Value) -> Result<(), JsError> {
    let Some(s) = parsed(spec) else { return Ok(()) };
    let c = &s.synthetic;
    if s.name != "synthetic" || c.validate().is_err() {
        return Ok(());
    }
    let per_item = 2 * c.dim + c.n_categories + 2;
    let bytes = api::mul(&[c.n_items, per_item, 4])
        .saturating_add(api::mul(&[c.n_users, c.dim, 8]))
        .saturating_add(api::mul(&[c.n_categories, c.dim, 4]));
    fits(
        format!(
            "synthetic world of {} items and {} users (dim {}, {} categories)",
            c.n_items, c.n_users, c.dim, c.n_categories
        ),
        bytes,
    )
}

/// An environment of `spec` (over `world`, or over the world the spec builds).
pub(crate) fn env_fits(spec: &Value, world: Option<&AnyWorld>) -> Result<(), JsError> {
    if world.is_none() {
        world_fits(spec)?;
    }
    let Some(s) = parsed(spec) else { return Ok(()) };
    fits(
        env_what(&s),
        api::env_bytes(s.batch.batch_size, s.batch.history),
    )
}
