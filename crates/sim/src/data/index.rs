//! Dense indices the loaders share: original numeric ids -> 0..n in ascending
//! id order, category names -> 0..k in order of first use, and the final sort.

use super::Interaction;
use std::collections::HashMap;

/// Original numeric ids, sorted and unique; an id's dense index is its rank,
/// so the numbering does not depend on the order of lines in the files.
#[derive(Clone, Debug, Default)]
pub struct IdIndex {
    ids: Vec<u64>,
}

impl IdIndex {
    pub fn new(mut ids: Vec<u64>) -> IdIndex {
        ids.sort_unstable();
        ids.dedup();
        IdIndex { ids }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<u32> {
        self.ids.binary_search(&id).ok().map(|i| i as u32)
    }

    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    pub fn strings(&self) -> Vec<String> {
        self.ids.iter().map(u64::to_string).collect()
    }
}

/// Category names, numbered in order of first use.
#[derive(Clone, Debug, Default)]
pub struct Categories {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Categories {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    pub fn into_names(self) -> Vec<String> {
        self.names
    }
}

/// The category every item without one gets.
pub const UNKNOWN: &str = "unknown";

/// Sorts by (user, timestamp); equal keys keep their order in the files.
pub fn sort_interactions(interactions: &mut [Interaction]) {
    interactions.sort_by_key(|x| (x.user, x.timestamp));
}
