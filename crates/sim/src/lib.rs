//! Vectorised user simulators for reinforcement-learning recommenders.
//!
//! A [`World`] says how users respond to items; [`BatchEnv`] steps B of them at
//! once with histories, the quit model of [`QuitConfig`] and auto-reset.

pub mod artefact;
pub mod batch;
pub mod data;
pub mod dataset_world;
pub mod error;
mod lanes;
pub mod limits;
pub mod logged;
pub mod mf;
pub mod order;
pub mod pool;
pub mod preference;
pub mod quit;
pub mod registry;
pub mod rng;
pub mod safetensors;
pub mod synthetic;
pub mod world;

pub use batch::{BatchConfig, BatchEnv, EpisodeStat, VecEnv, PAD_ITEM};
pub use dataset_world::{DatasetConfig, DatasetWorld};
pub use error::{Error, Result};
pub use quit::QuitConfig;
pub use quit::QuitSpec;
pub use registry::{default_quit, make_env, AnyWorld, EnvSpec, ENVIRONMENTS};
pub use rng::Rng;
pub use synthetic::{Synthetic, SyntheticConfig};
pub use world::World;
