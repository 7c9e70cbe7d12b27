//! The learned reward model r_phi.

use super::*;
use ialp_ac_core::{RewardExamples, RewardModel as CoreRewardModel};

/// A typed-array field of an argument object, copied out (every read of JS
/// behind a `catch`: see `copied`).
fn field<T: JsCast>(obj: &JsValue, what: &str, name: &str, kind: &str) -> Result<T, JsError> {
    let v = js_sys::Reflect::get(obj, &JsValue::from_str(name))
        .map_err(|e| JsError::new(&format!("{what}.{name}: {}", thrown_message(&e))))?;
    copied(&format!("{what}.{name}"), kind, &v)
        .map_err(|_| JsError::new(&format!("{what}.{name}: missing or of the wrong type")))
}

/// Fits r_phi to `examples` (`{history, histItems, histRewards, items,
/// labels}`: per example a state of `history` items and rewards, an item and
/// a label in [0, 1]) over `world`'s item features: `{model, fit}`.
#[wasm_bindgen(js_name = trainRewardModel)]
pub fn train_reward_model(
    world: &World,
    examples: JsValue,
    config: JsValue,
) -> Result<JsValue, JsError> {
    let ex = "examples";
    let history = js_sys::Reflect::get(&examples, &JsValue::from_str("history"))
        .ok()
        .and_then(|v| v.as_f64())
        .ok_or_else(|| JsError::new("examples.history: expected a number"))?;
    let history = js_int(
        "examples.history",
        history,
        ialp_sim::limits::MAX_HISTORY as u32,
    )?;
    let examples = RewardExamples {
        history: history as usize,
        hist_items: field::<js_sys::Uint32Array>(&examples, ex, "histItems", "Uint32Array")?
            .to_vec(),
        hist_rewards: field::<js_sys::Float32Array>(&examples, ex, "histRewards", "Float32Array")?
            .to_vec(),
        items: field::<js_sys::Uint32Array>(&examples, ex, "items", "Uint32Array")?.to_vec(),
        labels: field::<js_sys::Float32Array>(&examples, ex, "labels", "Float32Array")?.to_vec(),
    };
    let config = value("reward model config", config)?;
    let out =
        api::train_reward_model(&world.inner, &examples, config, &mut |_, _| true).map_err(js)?;
    Ok(object(&[
        ("model", js_sys::Uint8Array::from(&out.artefact[..]).into()),
        ("fit", record(&out.stats)),
    ]))
}

/// A fitted reward model r_phi(s, a).
#[wasm_bindgen]
pub struct RewardModel {
    inner: CoreRewardModel,
}

#[wasm_bindgen]
impl RewardModel {
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<RewardModel, JsError> {
        Ok(RewardModel {
            inner: CoreRewardModel::from_bytes(bytes).map_err(js)?,
        })
    }

    #[wasm_bindgen(getter)]
    pub fn history(&self) -> usize {
        self.inner.encoder.history
    }

    /// r_phi in [0, 1] for each (state, item) row; states are `history` items each.
    pub fn score(
        &self,
        hist_items: &[u32],
        hist_rewards: &[f32],
        items: &[u32],
    ) -> Result<Vec<f32>, JsError> {
        self.inner
            .score(hist_items, hist_rewards, items)
            .map_err(js)
    }
}
