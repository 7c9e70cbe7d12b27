//! WebAssembly binding of ialp, built with wasm-bindgen.
//!
//! Thin on purpose: every method converts types and errors and calls
//! the core crates; no logic lives here. Errors from the core come back to JS as a
//! thrown `Error` whose message is the core's message (for example
//! `actions length: expected 4, got 3`); nothing here panics on user input.
//!
//! Build with `scripts/build-wasm.sh`; the JS entry is `packages/wasm`.

use ialp_ac_core::api::episodes_flat;
use ialp_sim::{make_env, EnvSpec, VecEnv, ENVIRONMENTS};
use wasm_bindgen::prelude::*;

mod reward;
mod training;
mod world;
pub use reward::*;
pub use training::*;
pub use world::*;

fn js(e: ialp_sim::Error) -> JsError {
    JsError::new(e.message())
}

/// Builds an environment from its JSON spec (the core's `EnvSpec`).
pub fn build(spec_json: &str) -> ialp_sim::Result<Box<dyn VecEnv>> {
    make_env(&EnvSpec::from_json(spec_json)?)
}

/// The crate version, e.g. "0.1.0".
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Names accepted as `name` in an environment spec.
#[wasm_bindgen]
pub fn environments() -> Vec<String> {
    ENVIRONMENTS.iter().map(|s| s.to_string()).collect()
}

/// A batch of B simulated users stepped together.
///
/// Arrays are typed arrays, row-major: observations are B x H
/// (`batchSize` x `history`), oldest first, right-aligned, padded with
/// 0xFFFFFFFF. Methods that fill arrays write into the ones passed in.
#[wasm_bindgen(js_name = Env)]
pub struct Env {
    inner: Box<dyn VecEnv>,
}

#[wasm_bindgen(js_class = Env)]
impl Env {
    /// `specJson`: e.g. `{"name":"synthetic","batch":{"batchSize":64,"seed":1}}`.
    /// Throws an `Error` on bad JSON, unknown fields, bad values or an unknown name.
    #[wasm_bindgen(constructor)]
    pub fn new(spec_json: &str) -> Result<Env, JsError> {
        Ok(Env {
            inner: build(spec_json).map_err(js)?,
        })
    }

    /// An environment over a built `world` (needed for dataset environments).
    #[wasm_bindgen(js_name = inWorld)]
    pub fn in_world(spec_json: &str, world: &World) -> Result<Env, JsError> {
        let spec = EnvSpec::from_json(spec_json).map_err(js)?;
        Ok(Env {
            inner: world.inner.env(&spec).map_err(js)?,
        })
    }

    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_string()
    }

    #[wasm_bindgen(getter, js_name = batchSize)]
    pub fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }

    #[wasm_bindgen(getter)]
    pub fn history(&self) -> usize {
        self.inner.history()
    }

    #[wasm_bindgen(getter, js_name = nItems)]
    pub fn n_items(&self) -> usize {
        self.inner.n_items()
    }

    #[wasm_bindgen(getter, js_name = nUsers)]
    pub fn n_users(&self) -> usize {
        self.inner.n_users()
    }

    #[wasm_bindgen(getter, js_name = nCategories)]
    pub fn n_categories(&self) -> usize {
        self.inner.n_categories()
    }

    #[wasm_bindgen(getter, js_name = featureDim)]
    pub fn feature_dim(&self) -> usize {
        self.inner.feature_dim()
    }

    /// One item id per slot (`Uint32Array` of length B); writes each slot's
    /// reward (`Float32Array`, B) and 1 where its episode ended (`Uint8Array`, B).
    pub fn step(
        &mut self,
        actions: &[u32],
        rewards: &mut [f32],
        dones: &mut [u8],
    ) -> Result<(), JsError> {
        self.inner.step(actions, rewards, dones).map_err(js)
    }

    /// Writes the B x H history items (`Uint32Array`) and their rewards (`Float32Array`).
    pub fn observe(&self, items: &mut [u32], rewards: &mut [f32]) -> Result<(), JsError> {
        self.inner.observe(items, rewards).map_err(js)
    }

    /// Starts every slot on a fresh user.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Restricts arriving users to these ids (empty = everyone) and resets.
    #[wasm_bindgen(js_name = setUserPool)]
    pub fn set_user_pool(&mut self, users: &[u32]) -> Result<(), JsError> {
        self.inner.set_user_pool(users.to_vec()).map_err(js)
    }

    /// The user currently in each slot (`Uint32Array`, B).
    pub fn users(&self) -> Vec<u32> {
        self.inner.users().to_vec()
    }

    /// The category of every item (`Uint32Array`, nItems).
    #[wasm_bindgen(js_name = itemCategories)]
    pub fn item_categories(&self) -> Vec<u32> {
        (0..self.inner.n_items())
            .map(|i| self.inner.item_category(i))
            .collect()
    }

    /// Row-major nItems x featureDim item features (`Float32Array`).
    #[wasm_bindgen(js_name = itemFeatures)]
    pub fn item_features(&self) -> Vec<f32> {
        self.inner.item_features().to_vec()
    }

    /// Episodes finished since the last call, as a `Float64Array` of
    /// `[slot, user, totalReward, length]` per episode (length 4n).
    #[wasm_bindgen(js_name = drainEpisodes)]
    pub fn drain_episodes(&mut self) -> Vec<f64> {
        episodes_flat(&self.inner.drain_episodes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reports_errors() {
        let env = build(r#"{"name":"synthetic","batch":{"batchSize":4,"seed":1}}"#).unwrap();
        assert_eq!(env.batch_size(), 4);
        let e = build(r#"{"name":"nope"}"#).err().unwrap();
        assert!(e.message().contains("\"nope\""), "{e}");
        assert!(build("{").is_err());
    }
}
