//! What training leaves and deployment loads: policies and reward models, each
//! with a checked binary format.

pub mod policy;
pub mod reward_model;
