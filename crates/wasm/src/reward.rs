//! LLM preference requests and the learned reward model r_phi.

use super::{js, World};
use ialp_ac_core::api::{preference_requests_json, train_reward_json};
use ialp_ac_core::{RewardExamples, RewardModel as CoreRewardModel};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl World {
    /// Preference requests (user states, K candidates, ground truth) as JSON.
    #[wasm_bindgen(js_name = preferenceRequestsJson)]
    pub fn preference_requests_json(&self, config_json: &str) -> Result<String, JsError> {
        preference_requests_json(&self.inner, config_json).map_err(js)
    }
}

#[wasm_bindgen]
pub struct RewardTrainOutput {
    model: Vec<u8>,
    fit_json: String,
}

#[wasm_bindgen]
impl RewardTrainOutput {
    #[wasm_bindgen(getter)]
    pub fn model(&self) -> Vec<u8> {
        self.model.clone()
    }

    #[wasm_bindgen(getter, js_name = fitJson)]
    pub fn fit_json(&self) -> String {
        self.fit_json.clone()
    }
}

/// Fits r_phi: per example a state of `history` items and rewards, an item and
/// a label in [0, 1].
#[wasm_bindgen(js_name = trainRewardModel)]
#[allow(clippy::too_many_arguments)]
pub fn train_reward_model(
    world: &World,
    history: u32,
    hist_items: Vec<u32>,
    hist_rewards: Vec<f32>,
    items: Vec<u32>,
    labels: Vec<f32>,
    config_json: &str,
) -> Result<RewardTrainOutput, JsError> {
    let examples = RewardExamples {
        history: history as usize,
        hist_items,
        hist_rewards,
        items,
        labels,
    };
    let (model, fit_json) =
        train_reward_json(&world.inner, &examples, config_json, &mut |_, _| true).map_err(js)?;
    Ok(RewardTrainOutput { model, fit_json })
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
