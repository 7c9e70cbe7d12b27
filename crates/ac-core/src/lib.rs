//! Actor-critic learning for recommender policies: networks, optimisers,
//! buffers, advantage estimation, the algorithms and policy artefacts.
//! Knows nothing of Node or browsers.
//!
//! The folders show the layers, bottom up: `kernels` (linear algebra, GAE,
//! Adam, the rollout buffer), `networks` (the actor-critic nets and the
//! `compute` that picks their implementation), `algorithms` (A2C, iALP,
//! A-iALP_ap, evaluation, and their `config`), `artefacts` (what training
//! leaves: policies and reward models). `api` is the surface both bindings
//! export. Every module is re-exported at the crate root, so paths such as
//! `ialp_ac_core::a2c` do not name the folder.

pub mod algorithms;
pub mod api;
pub mod artefacts;
pub mod kernels;
pub mod networks;

pub use algorithms::{a2c, a_ialp, config, eval, ialp, imagined};
pub use artefacts::{policy, reward_model};
pub use kernels::{adam, buffer, gae, linalg};
#[cfg(feature = "torch")]
pub use networks::torch;
pub use networks::{compute, encoder, mlp, net, params};

pub use adam::AdamConfig;
pub use compute::{Compute, Device};
pub use ialp_sim::{Error, Result};
pub use net::{AcBackend, LossConfig, LossStats, NdarrayNet, NetConfig, UpdateBatch};
pub use params::{Params, Tensor};
#[cfg(feature = "torch")]
pub use torch::TchNet;

pub use a2c::{
    train, train_from, train_from_with, A2c, A2cConfig, ActionSelector, Part, Progress, Sampler,
    StepContext, TrainConfig, TrainOutcome, UserPool,
};
pub use a_ialp::{train_adaptive, AdaptiveConfig, AdaptiveOutcome, AdaptiveTrace, OnlineStart};
pub use eval::{evaluate, Actor, Mode};
pub use ialp::{pretrain, pretrain_with, IalpConfig, PretrainStats};
pub use imagined::{Calibrated, ImaginedWorld, Isotonic, UserModel};
pub use policy::{Policy, PolicyMeta};
pub use reward_model::{RewardExamples, RewardModel, RewardModelConfig};
