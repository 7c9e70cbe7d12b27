//! Environments by name: each name says how its world is built; one line per
//! environment in `ENVIRONMENTS` and `AnyWorld::build`.

use crate::batch::{BatchConfig, BatchEnv, VecEnv};
use crate::data::{self, DataFiles};
use crate::dataset_world::{DatasetConfig, DatasetWorld};
use crate::error::{Error, Result};
use crate::logged::{self, LoggedData};
use crate::quit::{QuitConfig, QuitSpec};
use crate::synthetic::{Synthetic, SyntheticConfig};
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Names accepted in an [`EnvSpec`].
pub const ENVIRONMENTS: &[&str] = &["synthetic", "movielens", "coat", "kuairec", "kuairand"];

/// Everything needed to build an environment; the JSON form the bindings accept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvSpec {
    pub name: String,
    pub batch: BatchConfig,
    /// Quit settings; fields left out take the environment's defaults.
    pub quit: QuitSpec,
    /// Settings of the `synthetic` world.
    pub synthetic: SyntheticConfig,
    /// Settings of the dataset worlds (user model, noise, held-out users).
    pub dataset: DatasetConfig,
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

    /// The spec from a decoded JSON value (see [`crate::error::from_value`]).
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        crate::error::from_value("environment spec", value)
    }

    fn check_name(&self) -> Result<()> {
        if ENVIRONMENTS.contains(&self.name.as_str()) {
            Ok(())
        } else {
            Err(Error::invalid(
                "environment name",
                &format!("one of {}", ENVIRONMENTS.join(", ")),
                format!("\"{}\"", self.name),
            ))
        }
    }
}

/// Quit defaults per environment, chosen so that random and popularity
/// policies end episodes at visibly different lengths (`ialp env inspect`).
pub fn default_quit(name: &str) -> QuitConfig {
    match name {
        "synthetic" => QuitConfig::default(),
        _ => QuitConfig {
            window: 5,
            max_same_category: 3,
            min_mean_reward: 0.5,
            max_steps: 50,
        },
    }
}

/// A built world: expensive to make (data parsed, user model fitted), cheap to
/// share between the environments, trainers and evaluations that use it.
#[derive(Clone)]
pub enum AnyWorld {
    Synthetic(Arc<Synthetic>),
    Dataset(Arc<DatasetWorld>),
}

impl AnyWorld {
    /// Builds the world `spec` names. Dataset environments need their files;
    /// `user_model` is a cached fitted user model (refitted when stale).
    pub fn build(
        spec: &EnvSpec,
        files: Option<&DataFiles>,
        user_model: Option<&[u8]>,
    ) -> Result<Self> {
        spec.check_name()?;
        match spec.name.as_str() {
            "synthetic" => Ok(AnyWorld::Synthetic(Arc::new(Synthetic::new(
                spec.synthetic.clone(),
            )?))),
            format => {
                let files = files.ok_or_else(|| {
                    Error::new(format!(
                        "environment \"{format}\" needs its data files: pass the dataset folder (--data DIR)"
                    ))
                })?;
                let dataset = data::load(format, files)?;
                Ok(AnyWorld::Dataset(Arc::new(DatasetWorld::new(
                    dataset,
                    spec.dataset.clone(),
                    user_model,
                )?)))
            }
        }
    }

    pub fn world(&self) -> &dyn World {
        match self {
            AnyWorld::Synthetic(w) => w.as_ref(),
            AnyWorld::Dataset(w) => w.as_ref(),
        }
    }

    pub fn env_name(&self) -> &'static str {
        match self {
            AnyWorld::Synthetic(_) => "synthetic",
            AnyWorld::Dataset(w) => match w.dataset.name.as_str() {
                n if n.starts_with("ml-") => "movielens",
                n if n.starts_with("kuairec") => "kuairec",
                n if n.starts_with("kuairand") => "kuairand",
                _ => "coat",
            },
        }
    }

    /// A stable fingerprint of the data (or of the synthetic world's seed).
    pub fn fingerprint(&self) -> String {
        match self {
            AnyWorld::Synthetic(s) => format!("synthetic-seed{}", s.config().seed),
            AnyWorld::Dataset(d) => d.fingerprint.clone(),
        }
    }

    /// The data behind the world (e.g. "ml-latest-small"), or "synthetic".
    pub fn source(&self) -> String {
        match self {
            AnyWorld::Synthetic(_) => "synthetic".into(),
            AnyWorld::Dataset(w) => w.dataset.name.clone(),
        }
    }

    /// A batched environment over this world with `spec`'s batch and quit settings.
    pub fn env(&self, spec: &EnvSpec) -> Result<Box<dyn VecEnv>> {
        let quit = spec.quit.resolve(&default_quit(self.env_name()));
        Ok(match self {
            AnyWorld::Synthetic(w) => Box::new(BatchEnv::new(w.clone(), quit, spec.batch.clone())?),
            AnyWorld::Dataset(w) => Box::new(BatchEnv::new(w.clone(), quit, spec.batch.clone())?),
        })
    }

    /// A score per item for the popularity baseline: interaction counts in the
    /// logs, or for `synthetic` (no logs) the mean expected reward over 1,000 users.
    pub fn popularity(&self) -> Vec<f32> {
        match self {
            AnyWorld::Dataset(w) => w.popularity().iter().map(|&c| c as f32).collect(),
            AnyWorld::Synthetic(w) => {
                let mut acc = vec![0f32; w.n_items()];
                let mut state = vec![0f32; w.user_state_dim()];
                let users = w.n_users().min(1000) as u32;
                for u in 0..users {
                    w.init_user(u, &mut state);
                    for (i, a) in acc.iter_mut().enumerate() {
                        *a += w.expected_reward(&state, i);
                    }
                }
                acc.iter().map(|a| a / users as f32).collect()
            }
        }
    }

    /// The item described in words, for prompts.
    pub fn item_text(&self, item: usize) -> String {
        match self {
            AnyWorld::Dataset(w) => w
                .dataset
                .items
                .get(item)
                .map(|i| i.text.clone())
                .unwrap_or_default(),
            AnyWorld::Synthetic(w) => format!("item {item} (category {})", w.item_category(item)),
        }
    }

    pub fn category_names(&self) -> Vec<String> {
        match self {
            AnyWorld::Dataset(w) => w.dataset.category_names.clone(),
            AnyWorld::Synthetic(w) => (0..w.n_categories())
                .map(|c| format!("category {c}"))
                .collect(),
        }
    }

    /// Users for training and users held out for online deployment.
    pub fn user_split(&self) -> (Vec<u32>, Vec<u32>) {
        match self {
            AnyWorld::Dataset(w) => w.user_split(),
            // synthetic users are drawn fresh; hold out the upper fifth of ids
            AnyWorld::Synthetic(w) => {
                let n = w.n_users() as u32;
                let cut = n - n / 5;
                ((0..cut).collect(), (cut..n).collect())
            }
        }
    }

    /// Logged transitions of `users` with observations of `history` items: the
    /// real histories of a dataset, or 20 steps per user of a random logging
    /// policy in `synthetic` (seeded by `seed`).
    pub fn logged(&self, users: &[u32], history: usize, seed: u64) -> LoggedData {
        match self {
            AnyWorld::Dataset(w) => logged::from_dataset(w, users, history),
            AnyWorld::Synthetic(w) => logged::from_simulation(w.as_ref(), users, history, 20, seed),
        }
    }

    /// The simulator's expected reward (no noise) of `item` for `user` at the
    /// start of an episode: the ground truth LLM answers are scored against.
    pub fn expected_reward(&self, user: u32, item: usize) -> f32 {
        match self {
            AnyWorld::Dataset(w) => w.scale(w.raw_value(user as usize, item)),
            AnyWorld::Synthetic(w) => {
                let mut state = vec![0f32; w.user_state_dim()];
                w.init_user(user, &mut state);
                w.expected_reward(&state, item)
            }
        }
    }

    /// `user`'s latest `history` interactions (oldest first, rewards on the 0-1
    /// scale): from the logs, or from the random logging policy of `synthetic`.
    pub fn latest_history(&self, user: u32, history: usize) -> Result<(Vec<u32>, Vec<f32>)> {
        crate::limits::check_int("history", history, 0, crate::limits::MAX_HISTORY)?;
        if user as usize >= self.world().n_users() {
            return Err(Error::invalid(
                "user",
                &format!("a user id < {}", self.world().n_users()),
                user,
            ));
        }
        let logs = self.logged(&[user], history.max(1), 0);
        let Some(last) = logs.len().checked_sub(1) else {
            return Ok((Vec::new(), Vec::new()));
        };
        let h = logs.history;
        let (items, rewards) = (
            &logs.hist_items[last * h..(last + 1) * h],
            &logs.hist_rewards[last * h..(last + 1) * h],
        );
        // the state before the last action, then the action itself
        let mut out: Vec<(u32, f32)> = items
            .iter()
            .zip(rewards)
            .filter(|(&i, _)| i != crate::batch::PAD_ITEM)
            .map(|(&i, &r)| (i, r))
            .collect();
        out.push((logs.actions[last], logs.rewards[last]));
        let skip = out.len().saturating_sub(history);
        Ok(out[skip..].iter().copied().unzip())
    }

    /// The fitted user model artefact, to cache between runs.
    pub fn user_model_bytes(&self) -> Option<Vec<u8>> {
        match self {
            AnyWorld::Dataset(w) => w.user_model().map(|m| m.to_bytes()),
            AnyWorld::Synthetic(_) => None,
        }
    }
}

/// Builds the environment of a self-contained spec (`synthetic`).
pub fn make_env(spec: &EnvSpec) -> Result<Box<dyn VecEnv>> {
    AnyWorld::build(spec, None, None)?.env(spec)
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
            "environment name: expected one of synthetic, movielens, coat, kuairec, kuairand, got \"nope\""
        );
        let e = EnvSpec::from_json(r#"{"name":"synthetic","batch":{"batchSize":-1}}"#)
            .err()
            .unwrap();
        // a negative size is a range error naming the field, as on every build
        assert_eq!(
            e.message(),
            format!(
                "environment spec: batch.batchSize: expected an integer in [0, {}], got -1",
                usize::MAX
            )
        );
        let e = EnvSpec::from_json(r#"{"name":"synthetic","bogus":1}"#)
            .err()
            .unwrap();
        assert!(e.message().contains("bogus"), "{e}");
        let e = make_env(&EnvSpec {
            name: "coat".into(),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.message().contains("needs its data files"), "{e}");
    }

    #[test]
    fn latest_history_ends_with_the_last_logged_action() {
        let world = AnyWorld::build(&EnvSpec::synthetic(), None, None).unwrap();
        let (items, rewards) = world.latest_history(5, 10).unwrap();
        assert_eq!((items.len(), rewards.len()), (10, 10));
        let logs = world.logged(&[5], 10, 0);
        assert_eq!(*items.last().unwrap(), *logs.actions.last().unwrap());
        assert_eq!(items[..9], logs.hist_items[logs.len() * 10 - 9..]);
        assert!(world.latest_history(99_999_999, 10).is_err());
    }

    #[test]
    fn quit_overrides_merge_with_defaults() {
        let spec = EnvSpec::from_json(r#"{"name":"synthetic","quit":{"maxSteps":7}}"#).unwrap();
        let q = spec.quit.resolve(&default_quit("synthetic"));
        assert_eq!(q.max_steps, 7);
        assert_eq!(q.window, QuitConfig::default().window);
    }
}

/// What `ialp envs` and `ialp env inspect` print about a world.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WorldInfo {
    pub env: String,
    /// The dataset variant (e.g. "ml-latest-small") or "synthetic".
    pub source: String,
    pub users: usize,
    pub items: usize,
    pub categories: usize,
    pub interactions: usize,
    pub test_interactions: usize,
    /// interactions / (users x items); 1 for synthetic (every pair defined).
    pub density: f64,
    pub fully_observed: bool,
    pub user_model: Option<String>,
    pub fingerprint: String,
    pub quit: QuitConfig,
    /// Users for training / held out for online deployment.
    pub train_users: usize,
    pub held_out_users: usize,
    /// Logged transitions of the training users (see `AnyWorld::logged`).
    pub logged_transitions: usize,
    /// Rows of the data files that repeated another row exactly and were
    /// dropped (the first of each kept); 0 for synthetic.
    pub duplicate_rows: usize,
    /// Rows whose (user, item) pair an earlier row has at another time or
    /// value: kept (re-ratings, re-watches), counted to be reported; 0 for synthetic.
    pub repeated_pairs: usize,
}

impl AnyWorld {
    pub fn info(&self) -> WorldInfo {
        let w = self.world();
        let quit = default_quit(self.env_name());
        let (train, held_out) = self.user_split();
        // one transition per logged interaction of a training user (counted,
        // not built: `logged` allocates every state)
        let logged_transitions = match self {
            AnyWorld::Dataset(d) => {
                let mut is_train = vec![false; w.n_users()];
                train.iter().for_each(|&u| is_train[u as usize] = true);
                d.dataset
                    .interactions
                    .iter()
                    .filter(|x| is_train[x.user as usize])
                    .count()
            }
            AnyWorld::Synthetic(_) => train.len() * 20,
        };
        let mut info = match self {
            AnyWorld::Synthetic(_) => WorldInfo {
                env: "synthetic".into(),
                source: "synthetic".into(),
                users: w.n_users(),
                items: w.n_items(),
                categories: w.n_categories(),
                interactions: 0,
                test_interactions: 0,
                density: 1.0,
                fully_observed: true,
                user_model: None,
                fingerprint: self.fingerprint(),
                quit,
                train_users: 0,
                held_out_users: 0,
                logged_transitions: 0,
                duplicate_rows: 0,
                repeated_pairs: 0,
            },
            AnyWorld::Dataset(d) => WorldInfo {
                env: self.env_name().into(),
                source: d.dataset.name.clone(),
                users: w.n_users(),
                items: w.n_items(),
                categories: w.n_categories(),
                interactions: d.dataset.interactions.len(),
                test_interactions: d.dataset.test.len(),
                density: d.dataset.interactions.len() as f64
                    / (w.n_users() as f64 * w.n_items() as f64),
                fully_observed: d.dataset.fully_observed,
                user_model: d.user_model().map(|m| {
                    format!(
                        "matrix factorisation, dim {}, {} epochs, seed {}",
                        m.config.dim, m.config.epochs, m.config.seed
                    )
                }),
                fingerprint: self.fingerprint(),
                quit,
                train_users: 0,
                held_out_users: 0,
                logged_transitions: 0,
                duplicate_rows: d.dataset.duplicate_rows,
                repeated_pairs: d.dataset.repeated_pairs,
            },
        };
        info.train_users = train.len();
        info.held_out_users = held_out.len();
        info.logged_transitions = logged_transitions;
        info
    }
}
