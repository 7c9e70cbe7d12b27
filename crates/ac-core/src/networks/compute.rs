//! Which backend computes the actor-critic networks (`a2c.compute`) and on
//! which device (`a2c.device`), and the one place that builds it.

use crate::adam::AdamConfig;
use crate::net::{AcBackend, NdarrayNet, NetConfig};
use ialp_sim::{Error, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Compute {
    /// Pure Rust (`net.rs`), CPU, bit-identical on native and WebAssembly.
    #[default]
    Ndarray,
    /// libtorch through tch (`torch.rs`); needs the cargo feature `torch`.
    Torch,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Device {
    /// CUDA when libtorch sees a GPU, else CPU (`ndarray` is always CPU).
    #[default]
    Auto,
    Cpu,
    Cuda,
}

/// True when this build has the `torch` backend.
pub const HAS_TORCH: bool = cfg!(feature = "torch");

/// Fails, naming the fields, when this build or machine cannot honour them.
pub fn check(compute: Compute, device: Device) -> Result<()> {
    match (compute, device) {
        (Compute::Ndarray, Device::Cuda) => Err(Error::new(
            "a2c.device: \"cuda\" needs a2c.compute \"torch\" (the ndarray backend runs on the CPU)",
        )),
        (Compute::Ndarray, _) => Ok(()),
        (Compute::Torch, _) if !HAS_TORCH => Err(Error::new(
            "a2c.compute: \"torch\" needs a build with the cargo feature `torch` \
             (`npm run build:torch`, or cargo's `--features torch`); this build has \"ndarray\" only",
        )),
        (Compute::Torch, device) => torch_device(device).map(|_| ()),
    }
}

#[cfg(feature = "torch")]
fn torch_device(device: Device) -> Result<tch::Device> {
    match device {
        Device::Auto => Ok(tch::Device::cuda_if_available()),
        Device::Cpu => Ok(tch::Device::Cpu),
        Device::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
        Device::Cuda => Err(Error::new(
            "a2c.device: \"cuda\" was asked for but libtorch sees no CUDA device \
             (no GPU, no driver, or a CPU-only libtorch); use \"cpu\" or \"auto\"",
        )),
    }
}

#[cfg(not(feature = "torch"))]
fn torch_device(_device: Device) -> Result<()> {
    Ok(())
}

/// What [`build_backend`] reads of a configuration (`&A2cConfig` converts,
/// in `algorithms/config.rs`, so that this layer does not import that one).
pub struct NetworkSettings<'a> {
    pub net: &'a NetConfig,
    pub adam: &'a AdamConfig,
    pub compute: Compute,
    pub device: Device,
}

/// The backend `cfg.compute` names, on `cfg.device`, initialised from `seed`.
/// Both backends start from the same weights for the same seed: the torch one
/// copies the ndarray initialisation.
pub fn build_backend<'a>(
    cfg: impl Into<NetworkSettings<'a>>,
    in_dim: usize,
    item_features: Arc<Vec<f32>>,
    n_items: usize,
    seed: u64,
) -> Result<Box<dyn AcBackend>> {
    let cfg = cfg.into();
    let (compute, device) = (cfg.compute, cfg.device);
    check(compute, device)?;
    let nd = NdarrayNet::new(
        cfg.net.clone(),
        in_dim,
        item_features,
        n_items,
        cfg.adam.clone(),
        seed,
    )?;
    match compute {
        Compute::Ndarray => Ok(Box::new(nd)),
        #[cfg(feature = "torch")]
        Compute::Torch => Ok(Box::new(crate::torch::TchNet::from_ndarray(
            &nd,
            torch_device(device)?,
        )?)),
        #[cfg(not(feature = "torch"))]
        Compute::Torch => unreachable!("check() refuses torch without the feature"),
    }
}
