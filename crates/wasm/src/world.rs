//! Worlds built from data files. Files are added one by one (the browser
//! fetches them), then `build()` parses them and fits the user model.

use super::js;
use ialp_sim::data::DataFiles;
use ialp_sim::{AnyWorld, EnvSpec};
use wasm_bindgen::prelude::*;

/// A built world (dataset parsed, user model fitted), shared by environments,
/// training and evaluation.
#[wasm_bindgen]
pub struct World {
    pub(crate) inner: AnyWorld,
}

/// Collects a world's spec and data files.
#[wasm_bindgen]
pub struct WorldBuilder {
    spec: String,
    files: DataFiles,
    user_model: Option<Vec<u8>>,
}

#[wasm_bindgen]
impl WorldBuilder {
    #[wasm_bindgen(constructor)]
    pub fn new(spec_json: String) -> WorldBuilder {
        WorldBuilder {
            spec: spec_json,
            files: DataFiles::new(),
            user_model: None,
        }
    }

    /// A file of the dataset folder, by its relative name (e.g. `ratings.csv`).
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&mut self, name: String, bytes: Vec<u8>) {
        self.files.insert(name, bytes);
    }

    /// A cached user model artefact (used when it matches the data).
    #[wasm_bindgen(js_name = setUserModel)]
    pub fn set_user_model(&mut self, bytes: Vec<u8>) {
        self.user_model = Some(bytes);
    }

    pub fn build(&self) -> Result<World, JsError> {
        let spec = EnvSpec::from_json(&self.spec).map_err(js)?;
        let files = (!self.files.is_empty()).then_some(&self.files);
        Ok(World {
            inner: AnyWorld::build(&spec, files, self.user_model.as_deref()).map_err(js)?,
        })
    }
}

#[wasm_bindgen]
impl World {
    /// Name, source, sizes, density, quit defaults (JSON).
    #[wasm_bindgen(getter, js_name = infoJson)]
    pub fn info_json(&self) -> Result<String, JsError> {
        serde_json::to_string(&self.inner.info()).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Info plus the user model's validation on held-out data (JSON).
    #[wasm_bindgen(js_name = inspectJson)]
    pub fn inspect_json(&self, validate: bool) -> Result<String, JsError> {
        ialp_ac_core::api::inspect_json(&self.inner, validate).map_err(js)
    }

    /// The item in words, for prompts.
    #[wasm_bindgen(js_name = itemText)]
    pub fn item_text(&self, item: u32) -> Result<String, JsError> {
        let n = self.inner.world().n_items();
        if item as usize >= n {
            return Err(JsError::new(&format!(
                "item: expected an item id < {n}, got {item}"
            )));
        }
        Ok(self.inner.item_text(item as usize))
    }

    #[wasm_bindgen(js_name = categoryNames)]
    pub fn category_names(&self) -> Vec<String> {
        self.inner.category_names()
    }

    /// Per-item scores of the popularity baseline.
    pub fn popularity(&self) -> Vec<f32> {
        self.inner.popularity()
    }

    /// Users for training (not held out).
    #[wasm_bindgen(js_name = trainUsers)]
    pub fn train_users(&self) -> Vec<u32> {
        self.inner.user_split().0
    }

    /// Users held out for online deployment.
    #[wasm_bindgen(js_name = heldOutUsers)]
    pub fn held_out_users(&self) -> Vec<u32> {
        self.inner.user_split().1
    }

    /// `user`'s latest interacted items (at most `history`, oldest first).
    #[wasm_bindgen(js_name = latestHistoryItems)]
    pub fn latest_history_items(&self, user: u32, history: u32) -> Result<Vec<u32>, JsError> {
        Ok(self
            .inner
            .latest_history(user, history as usize)
            .map_err(js)?
            .0)
    }

    /// Their rewards (0-1), in the same order.
    #[wasm_bindgen(js_name = latestHistoryRewards)]
    pub fn latest_history_rewards(&self, user: u32, history: u32) -> Result<Vec<f32>, JsError> {
        Ok(self
            .inner
            .latest_history(user, history as usize)
            .map_err(js)?
            .1)
    }

    /// The fitted user model artefact (undefined for worlds without one).
    #[wasm_bindgen(js_name = userModel)]
    pub fn user_model(&self) -> Option<Vec<u8>> {
        self.inner.user_model_bytes()
    }
}
