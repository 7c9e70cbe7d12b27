//! One file per algorithm, read top to bottom; their settings in `config`.

pub mod a2c;
pub mod a_ialp;
pub mod config;
pub mod eval;
pub mod ialp;
pub mod imagined;
