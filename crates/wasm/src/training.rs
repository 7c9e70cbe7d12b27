//! Training, evaluation and policies. These run on the calling thread: in a
//! browser, call them from a Web Worker.

use super::*;
use ialp_ac_core::Policy as CorePolicy;
use std::cell::Cell;

/// Stops a running training after the current update (from its `onProgress`:
/// the call keeps the thread until it returns).
#[wasm_bindgen]
pub struct CancelToken {
    flag: Cell<bool>,
}

#[wasm_bindgen]
impl CancelToken {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> CancelToken {
        CancelToken {
            flag: Cell::new(false),
        }
    }

    pub fn cancel(&self) {
        self.flag.set(true);
    }

    #[wasm_bindgen(getter)]
    pub fn cancelled(&self) -> bool {
        self.flag.get()
    }
}

/// Trains online from a training config: A2C from scratch, from the policy
/// `init` (A-iALP_ft), or A-iALP_ap when the config has `adaptive` (`init` is
/// pi_0, `critic` a reward model artefact). `onProgress` receives a progress
/// record after every update; `cancel` stops training after the current
/// update. `{policy, episodes, updates, envSteps, trace}`.
#[wasm_bindgen]
pub fn train(
    config: JsValue,
    world: &World,
    on_progress: Option<js_sys::Function>,
    cancel: JsValue,
    init: Option<Vec<u8>>,
    critic: Option<Vec<u8>>,
) -> Result<JsValue, JsError> {
    let config = value("training config", config)?;
    let mut thrown: Option<JsValue> = None;
    let mut report = |p: &ialp_ac_core::Progress| {
        if let Some(f) = &on_progress {
            if let Err(e) = f.call1(&JsValue::NULL, &record(&api::record(p))) {
                thrown = Some(e);
                return false;
            }
        }
        // a CancelToken (its `cancelled` getter), read after every update
        !js_sys::Reflect::get(&cancel, &JsValue::from_str("cancelled")).is_ok_and(|v| v.is_truthy())
    };
    let out = api::train(
        config,
        Some(&world.inner),
        init.as_deref(),
        critic.as_deref(),
        &mut report,
    )
    .map_err(js)?;
    if let Some(e) = thrown {
        return Err(JsError::new(&format!(
            "onProgress threw: {}",
            thrown_message(&e)
        )));
    }
    Ok(object(&[
        ("policy", js_sys::Uint8Array::from(&out.policy[..]).into()),
        (
            "episodes",
            js_sys::Float64Array::from(&out.episodes[..]).into(),
        ),
        ("updates", JsValue::from_f64(out.updates as f64)),
        ("envSteps", JsValue::from_f64(out.env_steps as f64)),
        ("trace", out.trace.as_ref().map_or(JsValue::NULL, record)),
    ]))
}

/// Plays whole episodes as the options say (`{actor: "random" | "popularity"
/// | "policy" | "greedy", episodes, seed, mode, users}`; `artefact` is the
/// policy or reward model the actor needs); `[slot, user, totalReward,
/// length]` per episode.
#[wasm_bindgen]
pub fn evaluate(
    spec: JsValue,
    world: &World,
    artefact: Option<Vec<u8>>,
    options: JsValue,
) -> Result<Vec<f64>, JsError> {
    let spec = value("environment spec", spec)?;
    budget::env_fits(&spec, Some(&world.inner))?;
    let options = value("evaluation options", options)?;
    api::evaluate(spec, Some(&world.inner), artefact.as_deref(), options).map_err(js)
}

/// Offline pre-training on `world`'s logs (iALP when `critic`, a reward model
/// artefact, is given; logs only otherwise): `{policy, stats}`.
#[wasm_bindgen]
pub fn pretrain(world: &World, job: JsValue, critic: Option<Vec<u8>>) -> Result<JsValue, JsError> {
    let job = value("pre-training config", job)?;
    let out = api::pretrain(&world.inner, job, critic.as_deref(), &mut |_, _| true).map_err(js)?;
    Ok(object(&[
        ("policy", js_sys::Uint8Array::from(&out.artefact[..]).into()),
        ("stats", record(&out.stats)),
    ]))
}

/// A trained policy loaded from its artefact bytes.
#[wasm_bindgen]
pub struct Policy {
    inner: CorePolicy,
}

#[wasm_bindgen]
impl Policy {
    /// Parses and checks a policy artefact (magic, version, checksum, shapes).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Policy, JsError> {
        Ok(Policy {
            inner: CorePolicy::from_bytes(bytes).map_err(js)?,
        })
    }

    #[wasm_bindgen(getter, js_name = nItems)]
    pub fn n_items(&self) -> usize {
        self.inner.encoder.n_items
    }

    #[wasm_bindgen(getter)]
    pub fn history(&self) -> usize {
        self.inner.encoder.history
    }

    /// How the policy was trained (algorithm, network, settings).
    #[wasm_bindgen(getter)]
    pub fn meta(&self) -> JsValue {
        record(&api::policy_meta(&self.inner))
    }

    /// The `k` most probable items for one user whose latest interactions are
    /// `items` (oldest first) with feedback `rewards`: `{items, scores}` (the
    /// policy's probability of each item).
    pub fn recommend(
        &self,
        items: &[u32],
        rewards: &[f32],
        k: f64,
        exclude_seen: bool,
    ) -> Result<JsValue, JsError> {
        let k = js_int("k", k, u32::MAX)?;
        let recs = self
            .inner
            .recommend(items, rewards, k as usize, exclude_seen)
            .map_err(js)?;
        let ids: Vec<u32> = recs.iter().map(|r| r.0).collect();
        let scores: Vec<f32> = recs.iter().map(|r| r.1).collect();
        Ok(object(&[
            ("items", js_sys::Uint32Array::from(&ids[..]).into()),
            ("scores", js_sys::Float32Array::from(&scores[..]).into()),
        ]))
    }

    /// The artefact bytes.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }
}
