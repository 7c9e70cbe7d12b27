//! LLM preference requests and the learned reward model r_phi.

use super::*;
use ialp_ac_core::api::{preference_requests_json, train_reward_json};
use ialp_ac_core::{RewardExamples, RewardModel as CoreRewardModel};

#[napi]
impl World {
    /// Preference requests (user states, K candidates, ground truth) as JSON.
    #[napi(catch_unwind)]
    pub fn preference_requests_json(&self, config_json: String) -> Result<String> {
        preference_requests_json(&self.inner, &config_json).map_err(js_error)
    }
}

/// Training data for r_phi: per example a state of `history` items and
/// rewards, an item and a label in [0, 1].
#[napi(object)]
pub struct RewardExamplesInput {
    pub history: u32,
    pub hist_items: Uint32Array,
    pub hist_rewards: Float32Array,
    pub items: Uint32Array,
    pub labels: Float32Array,
}

#[napi(object)]
pub struct RewardTrainOutput {
    pub model: Buffer,
    pub fit_json: String,
}

pub struct TrainRewardTask {
    world: ialp_sim::AnyWorld,
    examples: RewardExamples,
    config: String,
}

impl Task for TrainRewardTask {
    type Output = (Vec<u8>, String);
    type JsValue = RewardTrainOutput;

    fn compute(&mut self) -> Result<Self::Output> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train_reward_json(&self.world, &self.examples, &self.config, &mut |_, _| true)
        }))
        .map_err(|_| {
            Error::from_reason(
                "reward model training failed with an internal error (a bug in ialp)",
            )
        })?
        .map_err(js_error)
    }

    fn resolve(&mut self, _env: NapiEnv, out: Self::Output) -> Result<RewardTrainOutput> {
        Ok(RewardTrainOutput {
            model: out.0.into(),
            fit_json: out.1,
        })
    }
}

/// Fits r_phi to the examples over `world`'s item features, off the JS thread.
#[napi]
pub fn train_reward_model(
    world: &World,
    examples: RewardExamplesInput,
    config_json: String,
) -> napi::bindgen_prelude::AsyncTask<TrainRewardTask> {
    napi::bindgen_prelude::AsyncTask::new(TrainRewardTask {
        world: world.inner.clone(),
        examples: RewardExamples {
            history: examples.history as usize,
            hist_items: examples.hist_items.to_vec(),
            hist_rewards: examples.hist_rewards.to_vec(),
            items: examples.items.to_vec(),
            labels: examples.labels.to_vec(),
        },
        config: config_json,
    })
}

/// A fitted reward model r_phi(s, a).
#[napi]
pub struct RewardModel {
    inner: CoreRewardModel,
}

#[napi]
impl RewardModel {
    #[napi(factory, catch_unwind)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(RewardModel {
            inner: CoreRewardModel::from_bytes(bytes).map_err(js_error)?,
        })
    }

    #[napi(getter)]
    pub fn history(&self) -> u32 {
        self.inner.encoder.history as u32
    }

    /// r_phi in [0, 1] for each (state, item) row; states are `history` items each.
    #[napi(catch_unwind)]
    pub fn score(
        &self,
        hist_items: &[u32],
        hist_rewards: &[f32],
        items: &[u32],
    ) -> Result<Float32Array> {
        Ok(Float32Array::new(
            self.inner
                .score(hist_items, hist_rewards, items)
                .map_err(js_error)?,
        ))
    }
}
