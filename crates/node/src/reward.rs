//! The learned reward model r_phi.

use super::*;
use ialp_ac_core::{RewardExamples, RewardModel as CoreRewardModel};

/// Training data for r_phi: per example a state of `history` items and
/// rewards, an item and a label in [0, 1].
#[napi(object)]
pub struct RewardExamplesInput {
    pub history: f64,
    pub hist_items: Uint32Array,
    pub hist_rewards: Float32Array,
    pub items: Uint32Array,
    pub labels: Float32Array,
}

#[napi(object)]
pub struct RewardTrainOutput {
    /// The reward model artefact.
    pub model: Buffer,
    /// How the fit went (losses, AUC on the validation split).
    pub fit: Value,
}

pub struct TrainRewardTask {
    world: ialp_sim::AnyWorld,
    examples: RewardExamples,
    config: Option<Value>,
}

impl Task for TrainRewardTask {
    type Output = api::Fitted;
    type JsValue = RewardTrainOutput;

    fn compute(&mut self) -> Result<api::Fitted> {
        let config = self.config.take().unwrap_or(Value::Null);
        guarded("reward model training", || {
            api::train_reward_model(&self.world, &self.examples, config, &mut |_, _| true)
        })
    }

    fn resolve(&mut self, _env: NapiEnv, out: api::Fitted) -> Result<RewardTrainOutput> {
        Ok(RewardTrainOutput {
            model: out.artefact.into(),
            fit: out.stats,
        })
    }
}

/// Fits r_phi to the examples over `world`'s item features, off the JS thread.
#[napi(ts_return_type = "Promise<RewardTrainOutput>")]
pub fn train_reward_model(
    world: &World,
    examples: RewardExamplesInput,
    config: Option<Value>,
) -> Result<AsyncTask<TrainRewardTask>> {
    let history = js_int(
        "examples.history",
        examples.history,
        ialp_sim::limits::MAX_HISTORY as u32,
    )?;
    Ok(AsyncTask::new(TrainRewardTask {
        world: world.inner.clone(),
        examples: RewardExamples {
            history: history as usize,
            hist_items: examples.hist_items.to_vec(),
            hist_rewards: examples.hist_rewards.to_vec(),
            items: examples.items.to_vec(),
            labels: examples.labels.to_vec(),
        },
        config,
    }))
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
