//! When a simulated user leaves (EasyRL4Rec / KuaiEnv style): boredom with one
//! category, lasting dissatisfaction, or a hard cap on the episode length.

use crate::error::{check_min, check_range, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct QuitConfig {
    /// W: how many of the latest recommendations the user remembers.
    pub window: usize,
    /// Quit once this many of the last W recommendations (the current one
    /// included) share the current item's category. 0 turns boredom off.
    pub max_same_category: usize,
    /// Quit once the mean reward over a full window falls below this. 0 turns it off.
    pub min_mean_reward: f32,
    /// T: the most steps an episode can last.
    pub max_steps: usize,
}

impl Default for QuitConfig {
    fn default() -> Self {
        QuitConfig {
            window: 5,
            max_same_category: 3,
            min_mean_reward: 0.25,
            max_steps: 50,
        }
    }
}

impl QuitConfig {
    pub fn validate(&self) -> Result<()> {
        crate::limits::check_int("quit.window", self.window, 1, crate::limits::MAX_HISTORY)?;
        check_range("quit.minMeanReward", self.min_mean_reward, 0.0, 1e9)?;
        check_min("quit.maxSteps", self.max_steps, 1)?;
        Ok(())
    }

    /// Decide after a step. `cats`/`rewards` are the last `filled` (<= W) entries of
    /// the window in any order, `cat` the category just recommended (already in `cats`).
    #[inline]
    pub fn should_quit(
        &self,
        cats: &[u32],
        rewards: &[f32],
        filled: usize,
        cat: u32,
        steps: usize,
    ) -> bool {
        let same = if self.max_same_category > 0 {
            cats[..filled].iter().filter(|&&c| c == cat).count()
        } else {
            0
        };
        self.should_quit_counted(same, rewards, filled, steps)
    }

    /// [`QuitConfig::should_quit`] given `same`, how many of the `filled`
    /// categories in the window equal the one just recommended.
    #[inline]
    pub fn should_quit_counted(
        &self,
        same: usize,
        rewards: &[f32],
        filled: usize,
        steps: usize,
    ) -> bool {
        if steps >= self.max_steps {
            return true;
        }
        if self.max_same_category > 0 && same >= self.max_same_category {
            return true;
        }
        if self.min_mean_reward > 0.0 && filled == self.window {
            let mean = rewards[..filled].iter().sum::<f32>() / filled as f32;
            if mean < self.min_mean_reward {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boredom_satisfaction_and_cap() {
        let q = QuitConfig {
            window: 4,
            max_same_category: 3,
            min_mean_reward: 0.5,
            max_steps: 10,
        };
        // two of category 1 in the window: stays
        assert!(!q.should_quit(&[1, 2, 1, 0], &[1.0; 4], 4, 1, 4));
        // three of category 1: bored
        assert!(q.should_quit(&[1, 1, 1, 0], &[1.0; 4], 4, 1, 4));
        // low mean reward over a full window: leaves
        assert!(q.should_quit(&[0, 1, 2, 3], &[0.1, 0.2, 0.3, 0.4], 4, 3, 4));
        // not judged before the window is full
        assert!(!q.should_quit(&[0, 1, 0, 0], &[0.1, 0.2, 0.0, 0.0], 2, 1, 2));
        // hard cap
        assert!(q.should_quit(&[0, 1, 2, 3], &[1.0; 4], 4, 3, 10));
    }

    #[test]
    fn rejects_bad_config() {
        let q = QuitConfig {
            window: 0,
            ..QuitConfig::default()
        };
        assert!(q.validate().unwrap_err().message().contains("quit.window"));
    }
}

/// Quit settings as a user gives them: any field left out takes the
/// environment's default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct QuitSpec {
    pub window: Option<usize>,
    pub max_same_category: Option<usize>,
    pub min_mean_reward: Option<f32>,
    pub max_steps: Option<usize>,
}

impl QuitSpec {
    pub fn resolve(&self, defaults: &QuitConfig) -> QuitConfig {
        QuitConfig {
            window: self.window.unwrap_or(defaults.window),
            max_same_category: self.max_same_category.unwrap_or(defaults.max_same_category),
            min_mean_reward: self.min_mean_reward.unwrap_or(defaults.min_mean_reward),
            max_steps: self.max_steps.unwrap_or(defaults.max_steps),
        }
    }
}
