//! Actor-critic learning for recommender policies: networks, optimisers,
//! buffers, advantage estimation, the algorithms and policy artefacts.
//! Knows nothing of Node or browsers.

pub mod adam;
pub mod api;
pub mod buffer;
pub mod compute;
pub mod encoder;
pub mod gae;
pub mod ialp;
pub mod imagined;
pub mod linalg;
pub mod mlp;
pub mod net;
pub mod params;
#[cfg(feature = "torch")]
pub mod torch;

pub use adam::AdamConfig;
pub use compute::{Compute, Device};
pub use ialp_sim::{Error, Result};
pub use net::{AcBackend, LossConfig, LossStats, NdarrayNet, NetConfig, UpdateBatch};
pub use params::{Params, Tensor};
#[cfg(feature = "torch")]
pub use torch::TchNet;
pub mod a2c;
pub mod a_ialp;
pub mod eval;
pub mod policy;
pub mod reward_model;

pub use a2c::{
    train, train_from, train_from_with, A2c, A2cConfig, ActionSelector, Progress, Sampler,
    StepContext, TrainConfig, TrainOutcome, UserPool,
};
pub use a_ialp::{train_adaptive, AdaptiveConfig, AdaptiveOutcome, AdaptiveTrace};
pub use eval::{evaluate, Actor, Mode};
pub use ialp::{pretrain, pretrain_with, IalpConfig, PretrainStats};
pub use imagined::{Calibrated, ImaginedWorld, Isotonic, UserModel};
pub use policy::{Policy, PolicyMeta};
pub use reward_model::{RewardExamples, RewardModel, RewardModelConfig};
