//! Training, evaluation and policies: long work runs on the libuv thread pool
//! (AsyncTask), progress comes back through a thread-safe function.

use super::*;

/// Lets JavaScript stop a running task between two updates (an AbortSignal
/// cannot interrupt work that has already started).
#[napi]
pub struct CancelToken {
    flag: Arc<AtomicBool>,
}

#[napi]
impl CancelToken {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        CancelToken {
            flag: Arc::new(AtomicBool::new(false)),
        }
    }

    #[napi]
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

type ProgressFn = ThreadsafeFunction<String, (), String, Status, false>;

pub struct TrainTask {
    config: String,
    world: Option<ialp_sim::AnyWorld>,
    init: Option<Vec<u8>>,
    critic: Option<Vec<u8>>,
    progress: Option<ProgressFn>,
    cancel: Option<Arc<AtomicBool>>,
}

#[napi(object)]
pub struct TrainOutput {
    /// The policy artefact.
    pub policy: Buffer,
    /// `[slot, user, totalReward, length]` per training episode, in finishing order.
    pub episodes: Float64Array,
    pub updates: f64,
    pub env_steps: f64,
    /// A-iALP_ap's adaptation per update (JSON), when it ran.
    pub trace_json: Option<String>,
}

impl Task for TrainTask {
    type Output = TrainResult;
    type JsValue = TrainOutput;

    fn compute(&mut self) -> Result<TrainResult> {
        let progress = self.progress.as_ref();
        let cancel = self.cancel.clone();
        let mut report = |p: &Progress| {
            if let (Some(f), Ok(json)) = (progress, serde_json::to_string(p)) {
                f.call(json, ThreadsafeFunctionCallMode::NonBlocking);
            }
            !cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst))
        };
        let (config, world) = (&self.config, self.world.as_ref());
        let (init, critic) = (self.init.as_deref(), self.critic.as_deref());
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train_json(config, world, init, critic, &mut report)
        }))
        .map_err(|_| Error::from_reason("training failed with an internal error (a bug in ialp)"))?
        .map_err(js_error)
    }

    fn resolve(&mut self, _env: NapiEnv, out: TrainResult) -> Result<TrainOutput> {
        Ok(TrainOutput {
            policy: out.policy.into(),
            episodes: Float64Array::new(out.episodes),
            updates: out.updates as f64,
            env_steps: out.env_steps as f64,
            trace_json: out.trace,
        })
    }
}

/// Trains online from a JSON training config, off the JavaScript thread: A2C
/// from scratch, from the policy `init` (A-iALP_ft), or A-iALP_ap when the
/// config has `adaptive` (`init` is pi_0, `critic` a reward model artefact).
/// `onProgress` receives a JSON progress record after every update; `cancel`
/// stops training after the current update (the result holds what was learnt).
#[napi(
    ts_args_type = "configJson: string, world?: World | null, onProgress?: ((progressJson: string) => void) | null, cancel?: CancelToken | null, init?: Uint8Array | null, critic?: Uint8Array | null"
)]
pub fn train(
    config_json: String,
    world: Option<&World>,
    on_progress: Option<ProgressFn>,
    cancel: Option<&CancelToken>,
    init: Option<Uint8Array>,
    critic: Option<Uint8Array>,
) -> napi::bindgen_prelude::AsyncTask<TrainTask> {
    napi::bindgen_prelude::AsyncTask::new(TrainTask {
        config: config_json,
        world: world.map(|w| w.inner.clone()),
        init: init.map(|b| b.to_vec()),
        critic: critic.map(|b| b.to_vec()),
        progress: on_progress,
        cancel: cancel.map(|c| c.flag.clone()),
    })
}

pub struct EvaluateTask {
    spec: String,
    world: Option<ialp_sim::AnyWorld>,
    policy: Option<Vec<u8>>,
    options: String,
}

impl Task for EvaluateTask {
    type Output = Vec<f64>;
    type JsValue = Float64Array;

    fn compute(&mut self) -> Result<Vec<f64>> {
        std::panic::catch_unwind(|| {
            evaluate_json(
                &self.spec,
                self.world.as_ref(),
                self.policy.as_deref(),
                &self.options,
            )
        })
        .map_err(|_| {
            Error::from_reason("evaluation failed with an internal error (a bug in ialp)")
        })?
        .map_err(js_error)
    }

    fn resolve(&mut self, _env: NapiEnv, out: Vec<f64>) -> Result<Float64Array> {
        Ok(Float64Array::new(out))
    }
}

/// Plays whole episodes as the JSON options say (`{actor: "random" |
/// "popularity" | "policy", episodes, seed, mode, users}`);
/// `[slot, user, totalReward, length]` per episode.
#[napi]
pub fn evaluate(
    spec_json: String,
    world: Option<&World>,
    policy: Option<Uint8Array>,
    options_json: String,
) -> napi::bindgen_prelude::AsyncTask<EvaluateTask> {
    napi::bindgen_prelude::AsyncTask::new(EvaluateTask {
        spec: spec_json,
        world: world.map(|w| w.inner.clone()),
        policy: policy.map(|p| p.to_vec()),
        options: options_json,
    })
}

#[napi(object)]
pub struct Recommendation {
    pub items: Uint32Array,
    /// The policy's probability of each item.
    pub scores: Float32Array,
}

/// A trained policy loaded from its artefact bytes.
#[napi]
pub struct Policy {
    inner: CorePolicy,
}

#[napi]
impl Policy {
    /// Parses and checks a policy artefact (magic, version, checksum, shapes).
    #[napi(factory, catch_unwind)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Policy {
            inner: CorePolicy::from_bytes(bytes).map_err(js_error)?,
        })
    }

    #[napi(getter)]
    pub fn n_items(&self) -> u32 {
        self.inner.encoder.n_items as u32
    }

    #[napi(getter)]
    pub fn history(&self) -> u32 {
        self.inner.encoder.history as u32
    }

    #[napi(getter)]
    pub fn meta_json(&self) -> Result<String> {
        serde_json::to_string(&self.inner.meta).map_err(|e| Error::from_reason(e.to_string()))
    }

    /// The `k` most probable items for one user whose latest interactions are
    /// `items` (oldest first) with feedback `rewards`.
    #[napi(catch_unwind)]
    pub fn recommend(
        &self,
        items: &[u32],
        rewards: &[f32],
        k: u32,
        exclude_seen: bool,
    ) -> Result<Recommendation> {
        let recs = self
            .inner
            .recommend(items, rewards, k as usize, exclude_seen)
            .map_err(js_error)?;
        Ok(Recommendation {
            items: Uint32Array::new(recs.iter().map(|r| r.0).collect()),
            scores: Float32Array::new(recs.iter().map(|r| r.1).collect()),
        })
    }

    /// The artefact bytes.
    #[napi(catch_unwind)]
    pub fn to_bytes(&self) -> Buffer {
        self.inner.to_bytes().into()
    }
}

pub struct PretrainTask {
    world: ialp_sim::AnyWorld,
    job: String,
    critic: Option<Vec<u8>>,
}

#[napi(object)]
pub struct PretrainOutput {
    pub policy: Buffer,
    pub stats_json: String,
}

impl Task for PretrainTask {
    type Output = (Vec<u8>, String);
    type JsValue = PretrainOutput;

    fn compute(&mut self) -> Result<Self::Output> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ialp_ac_core::api::pretrain_json(
                &self.world,
                &self.job,
                self.critic.as_deref(),
                &mut |_, _| true,
            )
        }))
        .map_err(|_| {
            Error::from_reason("pre-training failed with an internal error (a bug in ialp)")
        })?
        .map_err(js_error)
    }

    fn resolve(&mut self, _env: NapiEnv, out: Self::Output) -> Result<PretrainOutput> {
        Ok(PretrainOutput {
            policy: out.0.into(),
            stats_json: out.1,
        })
    }
}

/// Offline pre-training on `world`'s logs (iALP when `critic`, a reward model
/// artefact, is given; logs only otherwise), off the JavaScript thread.
#[napi]
pub fn pretrain(
    world: &World,
    job_json: String,
    critic: Option<Uint8Array>,
) -> napi::bindgen_prelude::AsyncTask<PretrainTask> {
    napi::bindgen_prelude::AsyncTask::new(PretrainTask {
        world: world.inner.clone(),
        job: job_json,
        critic: critic.map(|b| b.to_vec()),
    })
}
