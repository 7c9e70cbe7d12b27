//! Datasets from the file formats researchers have, parsed from bytes (so the
//! same code runs natively and in WebAssembly), with errors that name the file,
//! the line and what was expected.

use std::collections::BTreeMap;

/// File name (relative to the dataset folder, e.g. `ratings.csv` or
/// `user_item_features/item_features.ascii`) -> contents.
pub type DataFiles = BTreeMap<String, Vec<u8>>;

/// One logged or held-out interaction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interaction {
    /// Dense user index (0..n_users).
    pub user: u32,
    /// Dense item index (0..n_items).
    pub item: u32,
    /// The feedback as in the source (rating, watch ratio, click).
    pub value: f32,
    /// Seconds since the epoch, or the position in the file where the format has no time.
    pub timestamp: i64,
}

/// What a prompt and the quit model need to know of an item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemInfo {
    pub title: String,
    /// Indices into `Dataset::category_names`; the first is the primary category
    /// the quit model uses. Never empty (an "unknown" category is made if needed).
    pub categories: Vec<u32>,
    /// The item described in words for an LLM prompt (title, genres, features).
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// e.g. "ml-latest-small", "ml-100k", "ml-1m", "coat", "kuairec-small", "kuairand-pure".
    pub name: String,
    /// Original ids, indexed by dense id.
    pub user_ids: Vec<String>,
    pub item_ids: Vec<String>,
    /// The logged (training) interactions, sorted by (user, timestamp).
    pub interactions: Vec<Interaction>,
    /// Held-out interactions from a separate source (Coat's random-exposure test
    /// set); empty when the format has none.
    pub test: Vec<Interaction>,
    pub items: Vec<ItemInfo>,
    pub category_names: Vec<String>,
    /// Per-user words for prompts (demographics, features); empty strings when unknown.
    pub user_text: Vec<String>,
    /// The feedback scale of `value`, e.g. (0.5, 5.0) for MovieLens latest.
    pub value_range: (f32, f32),
    /// True when every (user, item) pair is observed (KuaiRec's small matrix).
    pub fully_observed: bool,
}

impl Dataset {
    pub fn n_users(&self) -> usize {
        self.user_ids.len()
    }
    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }
}
