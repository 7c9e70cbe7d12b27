//! Environments by name: one line per environment.

use crate::batch::{BatchConfig, BatchEnv, VecEnv};
use crate::error::{Error, Result};
use crate::quit::QuitConfig;
use crate::synthetic::{Synthetic, SyntheticConfig};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Names accepted by [`make_env`].
pub const ENVIRONMENTS: &[&str] = &["synthetic"];

/// Everything needed to build an environment; the JSON form the bindings accept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvSpec {
    pub name: String,
    pub batch: BatchConfig,
    pub quit: QuitConfig,
    /// Settings of the `synthetic` world.
    pub synthetic: SyntheticConfig,
}

impl EnvSpec {
    pub fn synthetic() -> Self {
        EnvSpec {
            name: "synthetic".into(),
            ..Default::default()
        }
    }

    pub fn from_json(json: &str) -> Result<Self> {
        crate::error::from_json("environment spec", json)
    }
}

pub fn make_env(spec: &EnvSpec) -> Result<Box<dyn VecEnv>> {
    match spec.name.as_str() {
        "synthetic" => {
            let world = Arc::new(Synthetic::new(spec.synthetic.clone())?);
            Ok(Box::new(BatchEnv::new(
                world,
                spec.quit.clone(),
                spec.batch.clone(),
            )?))
        }
        other => Err(Error::invalid(
            "environment name",
            &format!("one of {}", ENVIRONMENTS.join(", ")),
            format!("\"{other}\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_name_and_bad_json() {
        let e = make_env(&EnvSpec {
            name: "nope".into(),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert_eq!(
            e.message(),
            "environment name: expected one of synthetic, got \"nope\""
        );
        let e = EnvSpec::from_json(r#"{"name":"synthetic","batch":{"batchSize":-1}}"#)
            .err()
            .unwrap();
        assert!(
            e.message()
                .starts_with("environment spec: batch.batchSize: invalid value"),
            "{e}"
        );
        let e = EnvSpec::from_json(r#"{"name":"synthetic","bogus":1}"#)
            .err()
            .unwrap();
        assert!(e.message().contains("bogus"), "{e}");
    }
}
