//! The actor-critic networks: the MLP and its parameters, the state encoder,
//! the pure-Rust implementation (`net`), the libtorch one (`torch`, feature
//! `torch`) and `compute`, which picks between them.

pub mod compute;
pub mod encoder;
pub mod mlp;
pub mod net;
pub mod params;
#[cfg(feature = "torch")]
pub mod torch;
