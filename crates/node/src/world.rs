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
    spec: Option<Value>,
    files: DataFiles,
    user_model: Option<Vec<u8>>,
}

impl Task for BuildWorld {
    type Output = AnyWorld;
    type JsValue = World;

    fn compute(&mut self) -> Result<AnyWorld> {
        let spec = self.spec.take().unwrap_or(Value::Null);
        guarded("building the world", || {
            api::build_world(spec, &self.files, self.user_model.as_deref())
        })
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
        spec: Value,
        files: Option<HashMap<String, Uint8Array>>,
        user_model: Option<Uint8Array>,
    ) -> AsyncTask<BuildWorld> {
        AsyncTask::new(BuildWorld {
            spec: Some(spec),
            files: files
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.to_vec()))
                .collect(),
            user_model: user_model.map(|m| m.to_vec()),
        })
    }

    /// An environment of `spec` over this world.
    #[napi(catch_unwind)]
    pub fn env(&self, spec: Value) -> Result<Env> {
        let inner = api::make_env(spec, Some(&self.inner)).map_err(js_error)?;
        Ok(Env { inner })
    }

    /// Name, source, sizes, density, quit defaults.
    #[napi(getter)]
    pub fn info(&self) -> Value {
        api::info(&self.inner)
    }

    /// The item in words, for prompts.
    #[napi(catch_unwind)]
    pub fn item_text(&self, item: f64) -> Result<String> {
        let item = js_int("item", item, u32::MAX)?;
        api::item_text(&self.inner, item).map_err(js_error)
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
    pub fn latest_history(&self, user: f64, history: f64) -> Result<UserHistory> {
        let user = js_int("user", user, u32::MAX)?;
        let history = js_int("history", history, ialp_sim::limits::MAX_HISTORY as u32)?;
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

/// One `#[napi]` method on `World` per query of `ialp_ac_core::world_queries!`.
macro_rules! napi_world_queries {
    ($($(#[doc = $doc:tt])* $name:ident $js:ident ($($arg:ident: $ty:ty $(as $req:ty)?),*)
        -> $ret:ty => $f:path;)*) => {
        #[napi]
        impl World {
            $(
                $(#[doc = $doc])*
                #[napi(catch_unwind)]
                pub fn $name(&self, $($arg: $ty),*) -> Result<Value> {
                    $f(&self.inner, $($arg),*).map(|r| api::record(&r)).map_err(js_error)
                }
            )*
        }
    };
}
ialp_ac_core::world_queries!(napi_world_queries);
