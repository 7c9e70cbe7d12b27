//! Numerical primitives with narrow interfaces: matrix kernels, advantage
//! estimation, the Adam optimiser and the rollout buffer.

pub mod adam;
pub mod buffer;
pub mod gae;
pub mod linalg;
