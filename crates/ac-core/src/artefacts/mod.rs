//! What training leaves and deployment loads: policies and reward models, each
//! with a checked binary format.

pub mod policy;
pub mod reward_model;

use ialp_sim::{Error, Result};

/// `Ok` when every score an artefact computed is finite: weights, item
/// features and inputs can each be finite and still overflow f32 arithmetic
/// together (a weight of 3e38 passes every load check), and a NaN score would
/// reach the caller as a recommendation with no probability.
pub fn check_scores(what: &str, scores: &[f32]) -> Result<()> {
    match scores.iter().position(|s| !s.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::new(format!(
            "{what}: score {i} of {} is {} (the weights, item features or history rewards overflow f32 arithmetic: expected values a trained model and feedback in its usual range give)",
            scores.len(),
            scores[i]
        ))),
    }
}
