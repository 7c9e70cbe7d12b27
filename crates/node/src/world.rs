//! Worlds built from data files: parsing and user-model fitting run on the
//! libuv thread pool.

use super::*;
use ialp_sim::data::DataFiles;
use ialp_sim::AnyWorld;
use std::collections::HashMap;

/// A built world (dataset parsed, user model fitted), shared by environments,
/// training and evaluation.
#[napi]
pub struct World {
    pub(crate) inner: AnyWorld,
}

pub struct BuildWorld {
    spec: String,
    files: DataFiles,
    user_model: Option<Vec<u8>>,
}

impl Task for BuildWorld {
    type Output = AnyWorld;
    type JsValue = World;

    fn compute(&mut self) -> Result<AnyWorld> {
        let files = (!self.files.is_empty()).then_some(&self.files);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let spec = EnvSpec::from_json(&self.spec)?;
            AnyWorld::build(&spec, files, self.user_model.as_deref())
        }))
        .map_err(|_| {
            Error::from_reason("building the world failed with an internal error (a bug in ialp)")
        })?
        .map_err(js_error)
    }

    fn resolve(&mut self, _env: NapiEnv, world: AnyWorld) -> Result<World> {
        Ok(World { inner: world })
    }
}

#[napi(object)]
pub struct UserHistory {
    pub items: Uint32Array,
    pub rewards: Float32Array,
}

#[napi(object)]
pub struct UserSplit {
    pub train: Uint32Array,
    pub held_out: Uint32Array,
}

#[napi]
impl World {
    /// Builds the world of an environment spec from its data files (file name
    /// relative to the dataset folder -> contents) and an optional cached user model.
    #[napi(ts_return_type = "Promise<World>")]
    pub fn build(
        spec_json: String,
        files: Option<HashMap<String, Uint8Array>>,
        user_model: Option<Uint8Array>,
    ) -> napi::bindgen_prelude::AsyncTask<BuildWorld> {
        napi::bindgen_prelude::AsyncTask::new(BuildWorld {
            spec: spec_json,
            files: files
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.to_vec()))
                .collect(),
            user_model: user_model.map(|m| m.to_vec()),
        })
    }

    /// Name, source, sizes, density, quit defaults (JSON).
    #[napi(getter)]
    pub fn info_json(&self) -> Result<String> {
        serde_json::to_string(&self.inner.info()).map_err(|e| Error::from_reason(e.to_string()))
    }

    /// Info plus the user model's validation on held-out data (JSON).
    #[napi(catch_unwind)]
    pub fn inspect_json(&self, validate: bool) -> Result<String> {
        ialp_ac_core::api::inspect_json(&self.inner, validate).map_err(js_error)
    }

    /// The item in words, for prompts.
    #[napi(catch_unwind)]
    pub fn item_text(&self, item: u32) -> Result<String> {
        if item as usize >= self.inner.world().n_items() {
            return Err(Error::from_reason(format!(
                "item: expected an item id < {}, got {item}",
                self.inner.world().n_items()
            )));
        }
        Ok(self.inner.item_text(item as usize))
    }

    #[napi]
    pub fn category_names(&self) -> Vec<String> {
        self.inner.category_names()
    }

    /// Per-item scores of the popularity baseline.
    #[napi(catch_unwind)]
    pub fn popularity(&self) -> Float32Array {
        Float32Array::new(self.inner.popularity())
    }

    /// Users for training and users held out for online deployment.
    #[napi]
    pub fn user_split(&self) -> UserSplit {
        let (train, held_out) = self.inner.user_split();
        UserSplit {
            train: Uint32Array::new(train),
            held_out: Uint32Array::new(held_out),
        }
    }

    /// `user`'s latest interactions (at most `history`, oldest first).
    #[napi(catch_unwind)]
    pub fn latest_history(&self, user: u32, history: u32) -> Result<UserHistory> {
        let (items, rewards) = self
            .inner
            .latest_history(user, history as usize)
            .map_err(js_error)?;
        Ok(UserHistory {
            items: Uint32Array::new(items),
            rewards: Float32Array::new(rewards),
        })
    }

    /// The fitted user model artefact (null for worlds without one), to cache.
    #[napi]
    pub fn user_model(&self) -> Option<Buffer> {
        self.inner.user_model_bytes().map(Buffer::from)
    }
}
