//! Training, evaluation and policies: long work runs on the libuv thread pool
//! (AsyncTask), progress comes back through a thread-safe function.

use super::*;
use ialp_ac_core::Policy as CorePolicy;

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

type ProgressFn = ThreadsafeFunction<Value, (), Value, Status, false>;

pub struct TrainTask {
    config: Option<Value>,
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
    /// A-iALP_ap's adaptation per update, when it ran.
    pub trace: Option<Value>,
}

impl Task for TrainTask {
    type Output = api::TrainResult;
    type JsValue = TrainOutput;

    fn compute(&mut self) -> Result<api::TrainResult> {
        let progress = self.progress.as_ref();
        let cancel = self.cancel.clone();
        let mut report = |p: &ialp_ac_core::Progress| {
            if let Some(f) = progress {
                f.call(api::record(p), ThreadsafeFunctionCallMode::NonBlocking);
            }
            !cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst))
        };
        let config = self.config.take().unwrap_or(Value::Null);
        let (world, init, critic) = (
            self.world.as_ref(),
            self.init.as_deref(),
            self.critic.as_deref(),
        );
        guarded("training", || {
            api::train(config, world, init, critic, &mut report)
        })
    }

    fn resolve(&mut self, _env: NapiEnv, out: api::TrainResult) -> Result<TrainOutput> {
        Ok(TrainOutput {
            policy: out.policy.into(),
            episodes: Float64Array::new(out.episodes),
            updates: out.updates as f64,
            env_steps: out.env_steps as f64,
            trace: out.trace,
        })
    }
}

/// Trains online from a training config, off the JavaScript thread: A2C
/// from scratch, from the policy `init` (A-iALP_ft), or A-iALP_ap when the
/// config has `adaptive` (`init` is pi_0, `critic` a reward model artefact).
/// `onProgress` receives a progress record after every update; `cancel`
/// stops training after the current update (the result holds what was learnt).
#[napi(
    ts_args_type = "config: object, world: World, onProgress?: ((progress: any) => void) | null, cancel?: CancelToken | null, init?: Uint8Array | null, critic?: Uint8Array | null",
    ts_return_type = "Promise<TrainOutput>"
)]
pub fn train(
    config: Value,
    world: &World,
    on_progress: Option<ProgressFn>,
    cancel: Option<&CancelToken>,
    init: Option<Uint8Array>,
    critic: Option<Uint8Array>,
) -> AsyncTask<TrainTask> {
    AsyncTask::new(TrainTask {
        config: Some(config),
        world: Some(world.inner.clone()),
        init: init.map(|b| b.to_vec()),
        critic: critic.map(|b| b.to_vec()),
        progress: on_progress,
        cancel: cancel.map(|c| c.flag.clone()),
    })
}

pub struct EvaluateTask {
    spec: Option<Value>,
    world: Option<ialp_sim::AnyWorld>,
    artefact: Option<Vec<u8>>,
    options: Option<Value>,
}

impl Task for EvaluateTask {
    type Output = Vec<f64>;
    type JsValue = Float64Array;

    fn compute(&mut self) -> Result<Vec<f64>> {
        let spec = self.spec.take().unwrap_or(Value::Null);
        let options = self.options.take().unwrap_or(Value::Null);
        guarded("evaluation", || {
            api::evaluate(spec, self.world.as_ref(), self.artefact.as_deref(), options)
        })
    }

    fn resolve(&mut self, _env: NapiEnv, out: Vec<f64>) -> Result<Float64Array> {
        Ok(Float64Array::new(out))
    }
}

/// Plays whole episodes as the options say (`{actor: "random" | "popularity"
/// | "policy" | "greedy", episodes, seed, mode, users}`; `artefact` is the
/// policy or reward model the actor needs); `[slot, user, totalReward,
/// length]` per episode.
#[napi(ts_return_type = "Promise<Float64Array>")]
pub fn evaluate(
    spec: Value,
    world: &World,
    artefact: Option<Uint8Array>,
    options: Option<Value>,
) -> AsyncTask<EvaluateTask> {
    AsyncTask::new(EvaluateTask {
        spec: Some(spec),
        world: Some(world.inner.clone()),
        artefact: artefact.map(|p| p.to_vec()),
        options,
    })
}

pub struct PretrainTask {
    world: ialp_sim::AnyWorld,
    job: Option<Value>,
    critic: Option<Vec<u8>>,
}

#[napi(object)]
pub struct PretrainOutput {
    /// The policy artefact.
    pub policy: Buffer,
    pub stats: Value,
}

impl Task for PretrainTask {
    type Output = api::Fitted;
    type JsValue = PretrainOutput;

    fn compute(&mut self) -> Result<api::Fitted> {
        let job = self.job.take().unwrap_or(Value::Null);
        guarded("pre-training", || {
            api::pretrain(&self.world, job, self.critic.as_deref(), &mut |_, _| true)
        })
    }

    fn resolve(&mut self, _env: NapiEnv, out: api::Fitted) -> Result<PretrainOutput> {
        Ok(PretrainOutput {
            policy: out.artefact.into(),
            stats: out.stats,
        })
    }
}

/// Offline pre-training on `world`'s logs (iALP when `critic`, a reward model
/// artefact, is given; logs only otherwise), off the JavaScript thread.
#[napi(ts_return_type = "Promise<PretrainOutput>")]
pub fn pretrain(
    world: &World,
    job: Option<Value>,
    critic: Option<Uint8Array>,
) -> AsyncTask<PretrainTask> {
    AsyncTask::new(PretrainTask {
        world: world.inner.clone(),
        job,
        critic: critic.map(|b| b.to_vec()),
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

    /// How the policy was trained (algorithm, network, settings).
    #[napi(getter)]
    pub fn meta(&self) -> Value {
        api::policy_meta(&self.inner)
    }

    /// The `k` most probable items for one user whose latest interactions are
    /// `items` (oldest first) with feedback `rewards`.
    #[napi(catch_unwind)]
    pub fn recommend(
        &self,
        items: &[u32],
        rewards: &[f32],
        k: f64,
        exclude_seen: bool,
    ) -> Result<Recommendation> {
        let k = js_int("k", k, u32::MAX)?;
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
