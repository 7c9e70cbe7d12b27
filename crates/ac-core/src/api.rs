//! The one surface that the N-API and the WebAssembly bindings both export.
//!
//! Requests arrive as [`Value`]s (the JavaScript object, converted by the
//! binding without a JSON string in between) and are parsed here, once, into
//! the core's config types: an error names the request and the field
//! (`training config: a2c.nSteps: ...`). Results go back as plain Rust values:
//! byte artefacts and flat number arrays (typed arrays on the JS side) and
//! [`Value`]s for records. A binding converts types and errors and calls
//! these functions; nothing else. The declaration [`world_queries!`](crate::world_queries)
//! lists the world's record-returning queries once for both bindings.

use crate::a2c::{Progress, TrainConfig, UserPool};
use crate::encoder::StateEncoder;
use crate::eval::{evaluate as play, Actor, Mode};
use crate::policy::Policy;
use crate::reward_model::{RewardExamples, RewardModel, RewardModelConfig};
use ialp_sim::data::DataFiles;
use ialp_sim::error::from_value;
pub use ialp_sim::preference::{PreferenceRequest, RequestConfig};
use ialp_sim::{AnyWorld, EnvSpec, EpisodeStat, Error, Result, VecEnv};
use serde::{Deserialize, Serialize};
pub use serde_json::Value;

/// Fields per episode in [`episodes_flat`]: slot, user, total reward, length.
pub const EPISODE_FIELDS: usize = 4;

pub fn episodes_flat(eps: &[EpisodeStat]) -> Vec<f64> {
    eps.iter()
        .flat_map(|e| {
            [
                e.slot as f64,
                e.user as f64,
                e.total_reward as f64,
                e.length as f64,
            ]
        })
        .collect()
}

/// A record as a [`Value`] (the core's records always serialise).
pub fn record<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("core records serialise to JSON")
}

/// The world of an environment spec: parses the dataset `files` (file name
/// relative to the dataset folder -> contents; none for `synthetic`) and fits
/// the user model, unless `user_model` is a cached one that matches the data.
pub fn build_world(spec: Value, files: &DataFiles, user_model: Option<&[u8]>) -> Result<AnyWorld> {
    let spec = EnvSpec::from_value(spec)?;
    let files = (!files.is_empty()).then_some(files);
    AnyWorld::build(&spec, files, user_model)
}

/// A batch of simulated users of `spec`, over `world` (needed for dataset
/// environments; built from the spec alone when absent).
pub fn make_env(spec: Value, world: Option<&AnyWorld>) -> Result<Box<dyn VecEnv>> {
    let spec = EnvSpec::from_value(spec)?;
    match world {
        Some(w) => w.env(&spec),
        None => ialp_sim::make_env(&spec),
    }
}

/// The world of `spec`: `world` when given (datasets), else built from the
/// spec alone (`synthetic`).
fn world_for(spec: &EnvSpec, world: Option<&AnyWorld>) -> Result<AnyWorld> {
    match world {
        Some(w) => Ok(w.clone()),
        None => AnyWorld::build(spec, None, None),
    }
}

/// The most bytes the largest buffers of one training run, pre-training or
/// reward-model fit may need in this build: 1 GiB in wasm32, whose memory
/// holds 4 GiB at most and where a failed allocation traps (leaving the
/// module's state behind), so that the copies at the boundary, the networks
/// and the allocator fit beside them; natively 1 TiB, past which no machine
/// this runs on goes (the shared limits, `ialp_sim::limits::MAX_ACTIVATIONS`
/// among them, bound each size well below).
pub const MAX_RUN_BYTES: u64 = if cfg!(target_arch = "wasm32") {
    1 << 30
} else {
    1 << 40
};
const BUILD: &str = if cfg!(target_arch = "wasm32") {
    "the wasm build"
} else {
    "this build"
};

/// `a x b x ...`, saturating (an estimate only needs to exceed the limit).
pub fn mul(dims: &[usize]) -> u64 {
    dims.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
}

/// Fails when `bytes` is over [`MAX_RUN_BYTES`]; `what` says what needs them.
pub fn check_run_bytes(what: impl FnOnce() -> String, bytes: u64) -> Result<()> {
    if bytes > MAX_RUN_BYTES {
        return Err(Error::new(format!(
            "{} needs {bytes} bytes; {BUILD} holds at most {MAX_RUN_BYTES}",
            what()
        )));
    }
    Ok(())
}

/// One pass of both towers of `net` over `rows` rows: each layer's inputs
/// and outputs, 2 x 4 bytes a value, per tower.
fn activation_bytes(net: &crate::NetConfig, rows: usize) -> u64 {
    ialp_sim::limits::activation_values(rows, net.hidden, net.depth, net.embed_dim)
        .map_or(u64::MAX, |v| mul(&[v, 16]))
}

/// An environment of B users with H of history: items and rewards held (8
/// bytes a cell) plus the copies `observe` passes through the boundary (8
/// more), and each slot's state.
pub fn env_bytes(b: usize, h: usize) -> u64 {
    mul(&[b, h, 16]).saturating_add(mul(&[b, 256]))
}

/// A run of T steps of B users over `world` with H of history: the
/// environment's histories and states, the learner's copies and encoded
/// observations, the rollout, each slot's scores over every item and the
/// update's activations.
fn rollout_bytes(world: &AnyWorld, b: usize, h: usize, t: usize, net: &crate::NetConfig) -> u64 {
    let w = world.world();
    let od = 3 * w.feature_dim() + 2;
    env_bytes(b, h)
        .saturating_add(mul(&[b, h, 8]))
        .saturating_add(mul(&[b, od, 4]))
        .saturating_add(mul(&[t, b, od.saturating_add(8), 4]))
        .saturating_add(mul(&[b, w.n_items(), 8]))
        .saturating_add(activation_bytes(net, t.saturating_mul(b)))
}

pub struct TrainResult {
    pub policy: Vec<u8>,
    pub episodes: Vec<f64>,
    pub updates: u64,
    pub env_steps: u64,
    /// A-iALP_ap's adaptation per update, when it ran.
    pub trace: Option<Value>,
}

/// Trains online from a [`TrainConfig`]: A2C from scratch; from `init`
/// (A-iALP_ft); or, when the config has `adaptive`, A-iALP_ap with `init` as
/// the frozen pi_0 and `critic` (a reward model artefact) scoring proposals.
/// `progress` runs after every update; returning false stops training.
pub fn train(
    config: Value,
    world: Option<&AnyWorld>,
    init: Option<&[u8]>,
    critic: Option<&[u8]>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<TrainResult> {
    let cfg: TrainConfig = from_value("training config", config)?;
    cfg.validate()?;
    let world = world_for(&cfg.env, world)?;
    let (b, h, t) = (
        cfg.env.batch.batch_size,
        cfg.env.batch.history,
        cfg.a2c.n_steps,
    );
    check_run_bytes(
        || {
            format!(
                "training config: batch of {b} users x history {h} x nSteps {t} over {} items",
                world.world().n_items()
            )
        },
        rollout_bytes(&world, b, h, t, &cfg.a2c.net),
    )?;
    let init = init.map(Policy::from_bytes).transpose()?;
    let critic = critic.map(RewardModel::from_bytes).transpose()?;
    let (out, trace) = match (&cfg.adaptive, &init) {
        (Some(adaptive), Some(pi0)) => {
            let r = crate::a_ialp::train_adaptive(
                &cfg,
                adaptive,
                &world,
                pi0,
                critic.as_ref(),
                progress,
            )?;
            (r.outcome, Some(record(&r.trace)))
        }
        (Some(_), None) => {
            return Err(Error::new(
                "training config: \"adaptive\" needs an initial (pre-trained) policy",
            ))
        }
        (None, _) => (
            crate::a2c::train_from(&cfg, &world, init.as_ref(), progress)?,
            None,
        ),
    };
    Ok(TrainResult {
        policy: out.policy.to_bytes(),
        episodes: episodes_flat(&out.episodes),
        updates: out.updates,
        env_steps: out.env_steps,
        trace,
    })
}

/// Offline pre-training (iALP, or logs only without a reward model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct PretrainJob {
    pub ialp: crate::ialp::IalpConfig,
    /// H of the logged states.
    pub history: usize,
    /// Whose logs: the training users by default (held-out users are for deployment).
    pub users: UserPool,
}

impl Default for PretrainJob {
    fn default() -> Self {
        PretrainJob {
            ialp: Default::default(),
            history: 10,
            users: UserPool::Train,
        }
    }
}

/// An artefact and the record of how it was fitted.
pub struct Fitted {
    pub artefact: Vec<u8>,
    pub stats: Value,
}

/// Pre-trains pi_0 offline on `world`'s logs (augmented by the reward model
/// artefact `critic` when given): the policy artefact and its stats.
pub fn pretrain(
    world: &AnyWorld,
    job: Value,
    critic: Option<&[u8]>,
    progress: &mut dyn FnMut(usize, f32) -> bool,
) -> Result<Fitted> {
    let job: PretrainJob = from_value("pre-training config", job)?;
    ialp_sim::limits::check_int("history", job.history, 1, ialp_sim::limits::MAX_HISTORY)
        .map_err(|e| e.context("pre-training config"))?;
    job.ialp.validate()?;
    // a logs epoch's sampled transitions and a minibatch, then the imagined world's rollout
    let c = &job.ialp;
    let (u, t, h) = (c.users, c.a2c.n_steps, job.history);
    check_run_bytes(
        || {
            format!(
                "pre-training config: {} transitions per epoch, {u} imagined users x nSteps {t} over {} items",
                c.transitions_per_epoch,
                world.world().n_items()
            )
        },
        mul(&[c.transitions_per_epoch, h, 12])
            .saturating_add(activation_bytes(&c.a2c.net, c.batch_size))
            .saturating_add(rollout_bytes(world, u, h, t, &c.a2c.net)),
    )?;
    let critic = critic.map(RewardModel::from_bytes).transpose()?;
    let (train, held_out) = world.user_split();
    let users = match job.users {
        UserPool::Train => train,
        UserPool::HeldOut => held_out,
        UserPool::All => (0..world.world().n_users() as u32).collect(),
    };
    let logged = world.logged(&users, job.history, job.ialp.seed);
    let (policy, stats) =
        crate::ialp::pretrain(&job.ialp, world, &logged, critic.as_ref(), progress)?;
    Ok(Fitted {
        artefact: policy.to_bytes(),
        stats: record(&stats),
    })
}

/// Who plays the episodes of an evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ActorKind {
    #[default]
    Random,
    Popularity,
    /// The policy artefact passed alongside.
    Policy,
    /// Greedy on the reward model artefact passed alongside.
    Greedy,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct EvalOptions {
    pub actor: ActorKind,
    pub episodes: usize,
    pub seed: u64,
    pub mode: Mode,
    pub users: UserPool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            actor: ActorKind::Random,
            episodes: 500,
            seed: 0,
            mode: Mode::Sample,
            users: UserPool::All,
        }
    }
}

/// Plays whole episodes of `spec` as [`EvalOptions`] say; `artefact` is the
/// policy (actor "policy") or reward model (actor "greedy").
/// `[slot, user, totalReward, length]` per episode.
pub fn evaluate(
    spec: Value,
    world: Option<&AnyWorld>,
    artefact: Option<&[u8]>,
    options: Value,
) -> Result<Vec<f64>> {
    let spec = EnvSpec::from_value(spec)?;
    let opts: EvalOptions = from_value("evaluation options", options)?;
    ialp_sim::limits::check_int("episodes", opts.episodes, 1, ialp_sim::limits::MAX_EPISODES)
        .map_err(|e| e.context("evaluation options"))?;
    let world = world_for(&spec, world)?;
    let need = |what: &str| Error::new(format!("evaluation: actor \"{what}\" needs its artefact"));
    let policy = match (opts.actor, artefact) {
        (ActorKind::Policy, Some(bytes)) => Some(Policy::from_bytes(bytes)?),
        (ActorKind::Policy, None) => return Err(need("policy")),
        _ => None,
    };
    let model = match (opts.actor, artefact) {
        (ActorKind::Greedy, Some(bytes)) => Some(RewardModel::from_bytes(bytes)?),
        (ActorKind::Greedy, None) => return Err(need("greedy")),
        _ => None,
    };
    let scores = (opts.actor == ActorKind::Popularity).then(|| world.popularity());
    let actor = match (&policy, &model, &scores) {
        (Some(p), _, _) => Actor::Policy(p, opts.mode),
        (_, Some(m), _) => Actor::Greedy(m),
        (_, _, Some(s)) => Actor::Popularity(s),
        _ => Actor::Random,
    };
    Ok(episodes_flat(&play(
        &spec,
        &world,
        &actor,
        opts.episodes,
        opts.seed,
        opts.users,
    )?))
}

/// Name, source, sizes, density, quit defaults.
pub fn info(world: &AnyWorld) -> Value {
    record(&world.info())
}

/// What [`inspect`] answers.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    pub info: ialp_sim::registry::WorldInfo,
    /// How well the user model predicts held-out feedback (dataset worlds
    /// with a user model, when asked to validate).
    pub validation: Option<ialp_sim::dataset_world::Validation>,
}

/// The world's [`info`] and, for dataset worlds with a user model and
/// `validate`, how well that model predicts held-out feedback (this fits a
/// second model on the training split, so it takes a moment).
pub fn inspect(world: &AnyWorld, validate: bool) -> Result<Inspection> {
    let validation = match (world, validate) {
        (AnyWorld::Dataset(d), true) if d.user_model().is_some() => Some(
            ialp_sim::dataset_world::validate(&d.dataset, &d.config.user_model)?,
        ),
        _ => None,
    };
    Ok(Inspection {
        info: world.info(),
        validation,
    })
}

/// Preference requests for the LLM (states, candidates, ground truth).
pub fn preference_requests(world: &AnyWorld, config: Value) -> Result<Vec<PreferenceRequest>> {
    let cfg: RequestConfig = from_value("request config", config)?;
    ialp_sim::preference::preference_requests(world, &cfg)
}

/// The item in words, for prompts.
pub fn item_text(world: &AnyWorld, item: u32) -> Result<String> {
    let n = world.world().n_items();
    if item as usize >= n {
        return Err(Error::new(format!(
            "item: expected an item id < {n}, got {item}"
        )));
    }
    Ok(world.item_text(item as usize))
}

/// Fits r_phi on `examples` over `world`'s item features: the reward model
/// artefact and its fit summary.
pub fn train_reward_model(
    world: &AnyWorld,
    examples: &RewardExamples,
    config: Value,
    progress: &mut dyn FnMut(usize, f32) -> bool,
) -> Result<Fitted> {
    let cfg: RewardModelConfig = from_value("reward model config", config)?;
    cfg.validate()?;
    // a minibatch and the validation examples through the tower
    let net = crate::NetConfig {
        hidden: cfg.hidden,
        depth: cfg.depth,
        embed_dim: cfg.embed_dim,
    };
    let val = (examples.items.len() as f64 * cfg.validation_fraction as f64) as usize;
    check_run_bytes(
        || {
            format!(
                "reward model config: batchSize {} and {val} validation examples through hidden {} x depth {}",
                cfg.batch_size, cfg.hidden, cfg.depth
            )
        },
        activation_bytes(&net, cfg.batch_size).saturating_add(activation_bytes(&net, val)),
    )?;
    let w = world.world();
    let encoder = StateEncoder::new(examples.history, w.n_items(), w.item_features().to_vec())?;
    let mut model = RewardModel::new(cfg, encoder)?;
    let fit = model.train(examples, progress)?;
    Ok(Fitted {
        artefact: model.to_bytes(),
        stats: record(&fit),
    })
}

/// One category and how many items it has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CategorySize {
    pub category: String,
    pub items: usize,
}

/// Items per category, named: `[{category, items}]`.
pub fn category_sizes(world: &AnyWorld) -> Result<Vec<CategorySize>> {
    let w = world.world();
    let mut counts = vec![0usize; w.n_categories()];
    (0..w.n_items()).for_each(|i| counts[w.item_category(i) as usize] += 1);
    let names = world.category_names();
    let name = |c: usize| {
        names
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("category {c}"))
    };
    Ok(counts
        .iter()
        .enumerate()
        .map(|(c, &items)| CategorySize {
            category: name(c),
            items,
        })
        .collect())
}

/// The world's queries that return a record, declared once for both bindings
/// and TypeScript: `rust_name jsName (arg: Type [as Request], ...) -> Result
/// => function;`, where the function takes the world first and returns
/// `Result<Result>`. `Type` is what the binding receives (a [`Value`] for a
/// request object, parsed by the function), `as Request` the config type that
/// [`Value`] must hold, and `Result` the record the function returns. Each
/// binding expands this list with a macro of its own (`crates/node/src/world.rs`,
/// `crates/wasm/src/world.rs`), so a query added here (and its function
/// above) is on `World` in both builds; `crates/types` expands it into the
/// TypeScript signatures of those methods (`WorldQueries` in
/// `packages/ts-api/src/core-types.ts`). (Docs are `#[doc = "..."]`: napi
/// copies a `///` comment passed through a macro with its raw-string quotes.)
#[macro_export]
macro_rules! world_queries {
    ($expand:ident) => {
        $expand! {
            #[doc = "`info` plus the user model's validation on held-out data."]
            inspect inspect (validate: bool) -> $crate::api::Inspection
                => $crate::api::inspect;
            #[doc = "Preference requests (user states, K candidates, ground truth)."]
            preference_requests preferenceRequests (config: Value as $crate::api::RequestConfig)
                -> Vec<$crate::api::PreferenceRequest> => $crate::api::preference_requests;
            #[doc = "Items per category, named: `[{category, items}]`."]
            category_sizes categorySizes () -> Vec<$crate::api::CategorySize>
                => $crate::api::category_sizes;
        }
    };
}

/// The policy's metadata (algorithm, network, training settings).
pub fn policy_meta(policy: &Policy) -> Value {
    record(&policy.meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trains_and_evaluates_through_values() {
        let cfg = json!({"episodes": 50, "seed": 3, "env": {"name": "synthetic", "batch": {"batchSize": 8}}});
        let out = train(cfg.clone(), None, None, None, &mut |_| true).unwrap();
        assert_eq!(out.episodes.len(), 50 * EPISODE_FIELDS);
        let spec = json!({"name": "synthetic", "batch": {"batchSize": 8}});
        let opts = json!({"actor": "policy", "episodes": 10, "seed": 1});
        let eps = evaluate(spec.clone(), None, Some(&out.policy), opts.clone()).unwrap();
        assert_eq!(eps.len(), 10 * EPISODE_FIELDS);
        assert!(evaluate(spec.clone(), None, Some(b"garbage"), opts.clone()).is_err());
        assert!(evaluate(spec.clone(), None, None, opts).is_err());
        assert!(evaluate(spec.clone(), None, None, json!({"episodes": 0})).is_err());
        let pop = evaluate(
            spec.clone(),
            None,
            None,
            json!({"actor": "popularity", "episodes": 16, "users": "heldOut"}),
        )
        .unwrap();
        assert_eq!(pop.len(), 16 * EPISODE_FIELDS);
        // fine-tuning from the policy, and adaptive deployment of it
        let ft = train(cfg, None, Some(&out.policy), None, &mut |_| true).unwrap();
        assert!(ft.trace.is_none());
        let ap_cfg = json!({"episodes": 50, "seed": 3, "adaptive": {}, "env": {"name": "synthetic", "batch": {"batchSize": 8}}});
        let ap = train(ap_cfg.clone(), None, Some(&out.policy), None, &mut |_| true).unwrap();
        let trace = ap.trace.unwrap();
        assert!(trace.as_array().unwrap().len() as u64 == ap.updates);
        assert!(train(ap_cfg, None, None, None, &mut |_| true).is_err());
        // offline pre-training on logs, and greedy on a reward model
        let world = build_world(spec.clone(), &DataFiles::new(), None).unwrap();
        let pi0 = pretrain(
            &world,
            json!({"ialp": {"epochs": 1, "transitionsPerEpoch": 64}}),
            None,
            &mut |_, _| true,
        )
        .unwrap();
        assert!(Policy::from_bytes(&pi0.artefact).is_ok());
        assert!(pi0.stats.get("loggedTransitions").is_some());
        assert!(evaluate(spec, None, None, json!({"actor": "greedy"})).is_err());
        let info = record(&inspect(&world, true).unwrap());
        assert_eq!(info["info"]["items"], 500);
        assert!(info["validation"].is_null());
    }

    /// Every size argument has a stated limit (`ialp_sim::limits`), checked
    /// before anything is allocated: each of these would otherwise allocate
    /// until the process is killed or aborts.
    #[test]
    fn size_arguments_have_stated_limits() {
        let spec = json!({"name": "synthetic", "batch": {"batchSize": 8}});
        let world = build_world(spec.clone(), &DataFiles::new(), None).unwrap();
        let fails = |r: Result<()>, says: &str| {
            let e = r.expect_err(says);
            assert!(e.message().contains(says), "expected {says:?} in: {e}");
        };
        fails(
            world.latest_history(1, u32::MAX as usize).map(drop),
            "history: expected an integer in [0, 4096], got 4294967295",
        );
        fails(
            preference_requests(&world, json!({"history": u32::MAX})).map(drop),
            "history: expected an integer in [1, 4096]",
        );
        fails(
            preference_requests(&world, json!({"users": 1_000_000, "statesPerUser": 2})).map(drop),
            "users x statesPerUser",
        );
        fails(
            preference_requests(&world, json!({"candidates": u64::MAX, "history": 2})).map(drop),
            "candidates: expected an integer in [2, 1024]",
        );
        fails(
            evaluate(spec.clone(), None, None, json!({"episodes": 1u64 << 40})).map(drop),
            "evaluation options: episodes: expected an integer in [1, 10000000]",
        );
        let train_err = |cfg: Value, says: &str| {
            fails(train(cfg, None, None, None, &mut |_| true).map(drop), says)
        };
        train_err(
            json!({"episodes": 1u64 << 40}),
            "episodes: expected an integer",
        );
        train_err(
            json!({"a2c": {"net": {"hidden": 1u64 << 40}}}),
            "net.hidden",
        );
        train_err(
            json!({"a2c": {"net": {"hidden": 16384, "depth": 64}}, "env": {"name": "synthetic", "batch": {"batchSize": 8}}}),
            "parameters is more than the limit",
        );
        // each size within its limit, their product (one update's activations) past its own
        train_err(
            json!({"a2c": {"net": {"hidden": 16384, "depth": 64}}}),
            "a2c.nSteps x env.batch.batchSize: 512 rows of 1048608 values each (hidden 16384 x depth 64 + 32) is more than the limit of 536870912",
        );
        train_err(
            json!({"a2c": {"nSteps": 65536}, "env": {"batch": {"batchSize": 65536}}}),
            "a2c.nSteps x env.batch.batchSize",
        );
        fails(
            pretrain(&world, json!({"history": 1u64 << 32}), None, &mut |_, _| {
                true
            })
            .map(drop),
            "pre-training config: history",
        );
        fails(
            make_env(
                json!({"name": "synthetic", "synthetic": {"nUsers": 1u64 << 31, "dim": 4096}}),
                None,
            )
            .map(drop),
            "synthetic.nUsers x dim",
        );
        fails(
            make_env(
                json!({"name": "synthetic", "quit": {"window": 1u64 << 40}}),
                None,
            )
            .map(drop),
            "quit.window",
        );
    }

    #[test]
    fn errors_name_the_request_and_field() {
        let e = train(
            json!({"a2c": {"nSteps": "x"}}),
            None,
            None,
            None,
            &mut |_| true,
        )
        .err()
        .unwrap();
        assert!(
            e.message().starts_with("training config: a2c.nSteps: "),
            "{e}"
        );
        // null members mean "the default", as undefined does in JavaScript
        let spec = json!({"name": "synthetic", "batch": {"batchSize": 2, "seed": null}});
        assert_eq!(make_env(spec, None).unwrap().batch_size(), 2);
    }
}
