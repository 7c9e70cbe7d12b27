//! Training, evaluation and policies. These run on the calling thread: in a
//! browser, call them from a Web Worker.

use super::{js, World};
use ialp_ac_core::api::{evaluate_json, train_json};
use ialp_ac_core::Policy as CorePolicy;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `(progressJson: string) => boolean | void`; returning false stops training.
    #[wasm_bindgen(typescript_type = "(progressJson: string) => boolean | void")]
    pub type ProgressCallback;

    #[wasm_bindgen(method, structural, js_name = call, catch)]
    fn call(this: &ProgressCallback, ctx: &JsValue, json: &str) -> Result<JsValue, JsValue>;
}

#[wasm_bindgen]
pub struct TrainOutput {
    policy: Vec<u8>,
    episodes: Vec<f64>,
    updates: f64,
    env_steps: f64,
    trace: Option<String>,
}

#[wasm_bindgen]
impl TrainOutput {
    /// The policy artefact bytes.
    #[wasm_bindgen(getter)]
    pub fn policy(&self) -> Vec<u8> {
        self.policy.clone()
    }

    /// `[slot, user, totalReward, length]` per training episode, in finishing order.
    #[wasm_bindgen(getter)]
    pub fn episodes(&self) -> Vec<f64> {
        self.episodes.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn updates(&self) -> f64 {
        self.updates
    }

    #[wasm_bindgen(getter, js_name = envSteps)]
    pub fn env_steps(&self) -> f64 {
        self.env_steps
    }

    /// A-iALP_ap's adaptation per update (JSON), when it ran.
    #[wasm_bindgen(getter, js_name = traceJson)]
    pub fn trace_json(&self) -> Option<String> {
        self.trace.clone()
    }
}

#[wasm_bindgen]
pub struct PretrainOutput {
    policy: Vec<u8>,
    stats_json: String,
}

#[wasm_bindgen]
impl PretrainOutput {
    #[wasm_bindgen(getter)]
    pub fn policy(&self) -> Vec<u8> {
        self.policy.clone()
    }

    #[wasm_bindgen(getter, js_name = statsJson)]
    pub fn stats_json(&self) -> String {
        self.stats_json.clone()
    }
}

/// Offline pre-training on `world`'s logs (iALP when `critic`, a reward model
/// artefact, is given; logs only otherwise).
#[wasm_bindgen]
pub fn pretrain(
    world: &World,
    job_json: &str,
    critic: Option<Vec<u8>>,
) -> Result<PretrainOutput, JsError> {
    let (policy, stats_json) =
        ialp_ac_core::api::pretrain_json(&world.inner, job_json, critic.as_deref(), &mut |_, _| {
            true
        })
        .map_err(js)?;
    Ok(PretrainOutput { policy, stats_json })
}

/// Trains online A2C from a JSON training config. `onProgress` gets a JSON
/// progress record after every update; returning false stops training.
#[wasm_bindgen]
pub fn train(
    config_json: &str,
    world: &World,
    on_progress: Option<ProgressCallback>,
    init: Option<Vec<u8>>,
    critic: Option<Vec<u8>>,
) -> Result<TrainOutput, JsError> {
    let mut thrown: Option<JsValue> = None;
    let mut report = |p: &ialp_ac_core::Progress| {
        let Some(f) = &on_progress else { return true };
        let json = serde_json::to_string(p).unwrap_or_default();
        match f.call(&JsValue::NULL, &json) {
            Ok(v) => v.as_bool() != Some(false),
            Err(e) => {
                thrown = Some(e);
                false
            }
        }
    };
    let out = train_json(
        config_json,
        Some(&world.inner),
        init.as_deref(),
        critic.as_deref(),
        &mut report,
    )
    .map_err(js)?;
    if let Some(e) = thrown {
        let msg = e.as_string().or_else(|| js_sys_message(&e));
        return Err(JsError::new(&format!(
            "onProgress threw: {}",
            msg.unwrap_or_else(|| "an exception".into())
        )));
    }
    Ok(TrainOutput {
        policy: out.policy,
        episodes: out.episodes,
        updates: out.updates as f64,
        env_steps: out.env_steps as f64,
        trace: out.trace,
    })
}

#[wasm_bindgen]
extern "C" {
    type ErrorLike;
    #[wasm_bindgen(method, getter, structural)]
    fn message(this: &ErrorLike) -> Option<String>;
}

fn js_sys_message(e: &JsValue) -> Option<String> {
    e.is_object()
        .then(|| e.unchecked_ref::<ErrorLike>().message())
        .flatten()
}

/// Plays whole episodes as the JSON options say (`{actor: "random" |
/// "popularity" | "policy", episodes, seed, mode, users}`);
/// `[slot, user, totalReward, length]` per episode.
#[wasm_bindgen]
pub fn evaluate(
    spec_json: &str,
    world: &World,
    policy: Option<Vec<u8>>,
    options_json: &str,
) -> Result<Vec<f64>, JsError> {
    evaluate_json(
        spec_json,
        Some(&world.inner),
        policy.as_deref(),
        options_json,
    )
    .map_err(js)
}

#[wasm_bindgen]
pub struct Recommendation {
    items: Vec<u32>,
    scores: Vec<f32>,
}

#[wasm_bindgen]
impl Recommendation {
    #[wasm_bindgen(getter)]
    pub fn items(&self) -> Vec<u32> {
        self.items.clone()
    }

    /// The policy's probability of each item.
    #[wasm_bindgen(getter)]
    pub fn scores(&self) -> Vec<f32> {
        self.scores.clone()
    }
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

    #[wasm_bindgen(getter, js_name = metaJson)]
    pub fn meta_json(&self) -> Result<String, JsError> {
        serde_json::to_string(&self.inner.meta).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The `k` most probable items for one user whose latest interactions are
    /// `items` (oldest first) with feedback `rewards`.
    pub fn recommend(
        &self,
        items: &[u32],
        rewards: &[f32],
        k: u32,
        exclude_seen: bool,
    ) -> Result<Recommendation, JsError> {
        let recs = self
            .inner
            .recommend(items, rewards, k as usize, exclude_seen)
            .map_err(js)?;
        Ok(Recommendation {
            items: recs.iter().map(|r| r.0).collect(),
            scores: recs.iter().map(|r| r.1).collect(),
        })
    }

    /// The artefact bytes.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }
}
