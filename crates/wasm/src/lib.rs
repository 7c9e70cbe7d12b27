//! WebAssembly binding of ialp, built with wasm-bindgen.
//!
//! Thin on purpose: every function converts types and errors and calls the
//! core's surface (`ialp_ac_core::api`); no logic lives here. `crates/node`
//! exports the same names with the same argument shapes; requests and records
//! cross as JS objects (`serde_json::Value` here, through serde-wasm-bindgen),
//! artefacts and per-item or per-episode numbers as typed arrays. Errors from
//! the core come back to JS as a thrown `Error` whose message is the core's
//! message (for example `actions length: expected 4, got 3`); nothing here
//! panics on user input.
//!
//! Build with `scripts/build-wasm.sh`; the JS entry is `packages/wasm`.

use ialp_ac_core::api::{self, Value};
use ialp_sim::{VecEnv, ENVIRONMENTS};
use serde::Serialize;
use wasm_bindgen::prelude::*;

mod budget;
mod reward;
mod training;
mod world;
pub use reward::*;
pub use training::*;
pub use world::*;

fn js(e: ialp_sim::Error) -> JsError {
    JsError::new(e.message())
}

/// What a JS exception says: its `message` (read without letting a throwing
/// getter unwind through the wasm frames), or the string thrown.
fn thrown_message(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.is_object()
                .then(|| e.unchecked_ref::<ErrorLike>().message().ok().flatten())
                .flatten()
        })
        .unwrap_or_else(|| "an exception".into())
}

#[wasm_bindgen]
extern "C" {
    type ErrorLike;
    #[wasm_bindgen(method, getter, structural, catch)]
    fn message(this: &ErrorLike) -> Result<Option<String>, JsValue>;
}

/// A request or argument as JSON text. `@ialp/wasm`'s entry (packages/wasm/src/index.js)
/// converts every object to JSON text before the call, naming a field nested too
/// deep or holding NaN or an infinity; nothing of JS runs while this frame is live.
/// Another value (the bare glue, called directly) goes through `JSON.stringify`,
/// whose exceptions (a throwing getter, a Proxy) come back here as errors instead
/// of unwinding through the wasm frames.
fn json_text(what: &str, v: &JsValue) -> Result<Option<String>, JsError> {
    if let Some(s) = v.as_string() {
        return Ok(Some(s));
    }
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    js_sys::JSON::stringify(v)
        .map(|s| s.as_string())
        .map_err(|e| JsError::new(&format!("{what}: {}", thrown_message(&e))))
}

/// A JS number argument that must be an integer in `[0, max]` (as the N-API
/// build checks it: 2^32, -1 or 1.5 are errors, not wrapped to 32 bits).
fn js_int(what: &str, value: f64, max: u32) -> Result<u32, JsError> {
    ialp_sim::limits::js_int(what, value, max).map_err(js)
}

/// A copy of a typed array of kind `T` (checked by `instanceof`), made by
/// `T.from` behind a `catch`: a Proxy or a detached buffer is an error naming
/// the argument, not an exception unwinding through the wasm frames.
fn copied<T: JsCast>(what: &str, expected: &str, v: &JsValue) -> Result<T, JsError> {
    let bad = || JsError::new(&format!("{what}: expected a {expected}"));
    if !v.is_instance_of::<T>() {
        return Err(bad());
    }
    let class =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(expected)).map_err(|_| bad())?;
    let from = js_sys::Reflect::get(&class, &JsValue::from_str("from")).map_err(|_| bad())?;
    from.unchecked_into::<js_sys::Function>()
        .call1(&class, v)
        .map_err(|e| JsError::new(&format!("{what}: {}", thrown_message(&e))))?
        .dyn_into::<T>()
        .map_err(|_| bad())
}

/// A request (an object, or undefined) as a [`Value`] for the core to parse.
fn value(what: &str, v: JsValue) -> Result<Value, JsError> {
    match json_text(what, &v)? {
        None => Ok(Value::Null),
        Some(text) => serde_json::from_slice(text.as_bytes())
            .map_err(|e| JsError::new(&format!("{what}: {e}"))),
    }
}

/// An argument as the type a declaration names (`world_queries!`).
fn argument<T: serde::de::DeserializeOwned>(what: &str, v: JsValue) -> Result<T, JsError> {
    let text = json_text(what, &v)?.unwrap_or_else(|| "null".into());
    serde_json::from_slice(text.as_bytes()).map_err(|e| JsError::new(&format!("{what}: {e}")))
}

/// A core record as a plain JS object (maps as objects, numbers as numbers).
fn record(v: &Value) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// A plain JS object of these fields.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
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
    pub(crate) inner: Box<dyn VecEnv>,
}

#[wasm_bindgen(js_class = Env)]
impl Env {
    /// `spec`: e.g. `{name: "synthetic", batch: {batchSize: 64, seed: 1}}`; the
    /// world is built from the spec (dataset environments: `world.env(spec)`).
    /// Throws an `Error` on unknown fields, bad values or an unknown name.
    #[wasm_bindgen(constructor)]
    pub fn new(spec: JsValue) -> Result<Env, JsError> {
        let spec = value("environment spec", spec)?;
        budget::env_fits(&spec, None)?;
        Ok(Env {
            inner: api::make_env(spec, None).map_err(js)?,
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
    /// (The arrays are copied into and out of wasm memory by the glue, outside
    /// this call; the package's entry checks their kinds first.)
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
    pub fn set_user_pool(&mut self, users: Vec<u32>) -> Result<(), JsError> {
        self.inner.set_user_pool(users).map_err(js)
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
        api::episodes_flat(&self.inner.drain_episodes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_and_reports_errors() {
        let spec = json!({"name": "synthetic", "batch": {"batchSize": 4, "seed": 1}});
        let env = api::make_env(spec, None).unwrap();
        assert_eq!(env.batch_size(), 4);
        let e = api::make_env(json!({"name": "nope"}), None).err().unwrap();
        assert!(e.message().contains("\"nope\""), "{e}");
    }
}
