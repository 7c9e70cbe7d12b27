//! N-API binding of ialp: converts JavaScript values and errors at the boundary
//! and calls the core's surface (`ialp_ac_core::api`). Nothing else lives here.
//! `crates/wasm` exports the same names with the same argument shapes; requests
//! and records cross as JS objects (`serde_json::Value` here), artefacts and
//! per-item or per-episode numbers as typed arrays.
//!
//! Every exported call is `catch_unwind`: a panic in the core becomes a JS
//! `Error` instead of aborting the Node process.

use ialp_ac_core::api::{self, Value};
use ialp_sim::{VecEnv, ENVIRONMENTS};
use napi::bindgen_prelude::{
    AsyncTask, Buffer, Float32Array, Float32ArraySlice, Float64Array, Uint32Array,
    Uint32ArraySlice, Uint8Array, Uint8ArraySlice,
};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env as NapiEnv, Error, Result, Status, Task};
use napi_derive::napi;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod reward;
mod training;
mod world;
pub use reward::*;
pub use training::*;
pub use world::*;

fn js_error(e: ialp_sim::Error) -> Error {
    Error::from_reason(e.message())
}

/// A JS number argument that must be an integer in `[0, max]`. Integer
/// arguments arrive as `f64` so that 2^32, -1 or 1.5 are errors naming the
/// argument, not silently taken modulo 2^32 (napi's `u32` conversion wraps).
fn js_int(what: &str, value: f64, max: u32) -> Result<u32> {
    ialp_sim::limits::js_int(what, value, max).map_err(js_error)
}

/// Runs core work off the JS thread, turning a panic into an error that says
/// what failed.
fn guarded<T>(what: &str, f: impl FnOnce() -> ialp_sim::Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| {
            Error::from_reason(format!(
                "{what} failed with an internal error (a bug in ialp)"
            ))
        })?
        .map_err(js_error)
}

/// Byte range of a typed array's view, for the aliasing check.
fn bytes<T>(s: &[T]) -> (usize, usize) {
    let start = s.as_ptr() as usize;
    (start, start + std::mem::size_of_val(s))
}

/// Fails if two of the caller's typed arrays share memory: the core gets them as
/// distinct `&mut` slices, which must not alias.
fn check_disjoint(method: &str, arrays: &[(&str, (usize, usize))]) -> Result<()> {
    for (i, (a, (a0, a1))) in arrays.iter().enumerate() {
        for (b, (b0, b1)) in &arrays[i + 1..] {
            if a0 < b1 && b0 < a1 {
                return Err(Error::from_reason(format!(
                    "{method}: {a} and {b} share memory; pass separate typed arrays"
                )));
            }
        }
    }
    Ok(())
}

/// A batch of simulated users stepped together (see `ialp_sim::VecEnv`).
#[napi]
pub struct Env {
    pub(crate) inner: Box<dyn VecEnv>,
}

#[napi]
impl Env {
    /// Builds an environment from its spec, e.g.
    /// `{name: "synthetic", batch: {batchSize: 64, seed: 1}}`; the world is
    /// built from the spec (dataset environments: `world.env(spec)`).
    #[napi(constructor, catch_unwind)]
    pub fn new(spec: Value) -> Result<Self> {
        let inner = api::make_env(spec, None).map_err(js_error)?;
        Ok(Env { inner })
    }

    // Counts are u32 on the JS side: item and user ids are u32 in the core.
    #[napi(getter)]
    pub fn batch_size(&self) -> u32 {
        self.inner.batch_size() as u32
    }

    #[napi(getter)]
    pub fn history(&self) -> u32 {
        self.inner.history() as u32
    }

    #[napi(getter)]
    pub fn n_items(&self) -> u32 {
        self.inner.n_items() as u32
    }

    #[napi(getter)]
    pub fn n_users(&self) -> u32 {
        self.inner.n_users() as u32
    }

    #[napi(getter)]
    pub fn n_categories(&self) -> u32 {
        self.inner.n_categories() as u32
    }

    #[napi(getter)]
    pub fn feature_dim(&self) -> u32 {
        self.inner.feature_dim() as u32
    }

    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// One action per slot (`batchSize` item ids); writes each slot's reward and
    /// whether its episode ended (1/0) into `rewards` and `dones` in place.
    #[napi(catch_unwind)]
    pub fn step(
        &mut self,
        actions: &[u32],
        mut rewards: Float32ArraySlice<'_>,
        mut dones: Uint8ArraySlice<'_>,
    ) -> Result<()> {
        check_disjoint(
            "step",
            &[
                ("actions", bytes(actions)),
                ("rewards", bytes(&rewards)),
                ("dones", bytes(&dones)),
            ],
        )?;
        // SAFETY: the call is synchronous on the JS thread, so no JS code touches
        // the buffers while these slices live, and they were just checked not to
        // overlap each other or `actions`.
        let (rewards, dones) = unsafe { (rewards.as_mut(), dones.as_mut()) };
        self.inner.step(actions, rewards, dones).map_err(js_error)
    }

    /// Writes the `batchSize x history` item ids (oldest first, 0xFFFFFFFF where
    /// empty) and their rewards into `items` and `rewards` in place.
    #[napi(catch_unwind)]
    pub fn observe(
        &self,
        mut items: Uint32ArraySlice<'_>,
        mut rewards: Float32ArraySlice<'_>,
    ) -> Result<()> {
        check_disjoint(
            "observe",
            &[("items", bytes(&items)), ("rewards", bytes(&rewards))],
        )?;
        // SAFETY: as in `step`.
        let (items, rewards) = unsafe { (items.as_mut(), rewards.as_mut()) };
        self.inner.observe(items, rewards).map_err(js_error)
    }

    /// Starts every slot on a fresh user.
    #[napi(catch_unwind)]
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Restricts arriving users to these ids (e.g. held-out users); empty = everyone.
    #[napi(catch_unwind)]
    pub fn set_user_pool(&mut self, users: &[u32]) -> Result<()> {
        self.inner.set_user_pool(users.to_vec()).map_err(js_error)
    }

    /// The user currently in each slot.
    #[napi(catch_unwind)]
    pub fn users(&self) -> Uint32Array {
        Uint32Array::new(self.inner.users().to_vec())
    }

    /// The category of every item, indexed by item id (a copy).
    #[napi(catch_unwind)]
    pub fn item_categories(&self) -> Uint32Array {
        let cats = (0..self.inner.n_items())
            .map(|i| self.inner.item_category(i))
            .collect::<Vec<_>>();
        Uint32Array::new(cats)
    }

    /// Row-major `nItems x featureDim` item features (a copy).
    #[napi(catch_unwind)]
    pub fn item_features(&self) -> Float32Array {
        Float32Array::new(self.inner.item_features().to_vec())
    }

    /// Episodes finished since the last call, flat: `[slot, user, totalReward,
    /// length]` per episode.
    #[napi(catch_unwind)]
    pub fn drain_episodes(&mut self) -> Float64Array {
        Float64Array::new(api::episodes_flat(&self.inner.drain_episodes()))
    }
}

/// Names accepted as `name` in an environment spec.
#[napi]
pub fn environments() -> Vec<String> {
    ENVIRONMENTS.iter().map(|s| s.to_string()).collect()
}

/// Version of the native binding (the Rust workspace version).
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
