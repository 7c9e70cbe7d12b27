//! Worlds built from data files (the browser fetches them; `build` parses
//! them and fits the user model on the calling thread).

use super::*;
use ialp_sim::data::DataFiles;
use ialp_sim::AnyWorld;

/// A built world (dataset parsed, user model fitted), shared by environments,
/// training and evaluation.
#[wasm_bindgen]
pub struct World {
    pub(crate) inner: AnyWorld,
}

/// `{name: bytes}` (an object of `Uint8Array`s; the package's entry turns a
/// Map into one) as data files, every read of JS behind a `catch`.
fn data_files(files: JsValue) -> Result<DataFiles, JsError> {
    let mut out = DataFiles::new();
    if files.is_undefined() || files.is_null() {
        return Ok(out);
    }
    let unreadable = |e: JsValue| JsError::new(&format!("files: {}", thrown_message(&e)));
    for key in js_sys::Reflect::own_keys(&files)
        .map_err(unreadable)?
        .iter()
    {
        let Some(name) = key.as_string() else {
            continue;
        };
        let bytes = js_sys::Reflect::get(&files, &key).map_err(unreadable)?;
        let what = format!("files: \"{name}\"");
        let bytes = copied::<js_sys::Uint8Array>(&what, "Uint8Array", &bytes)?;
        out.insert(name, bytes.to_vec());
    }
    Ok(out)
}

#[wasm_bindgen]
impl World {
    /// Builds the world of an environment spec from its data files (file name
    /// relative to the dataset folder -> contents) and an optional cached user model.
    pub fn build(
        spec: JsValue,
        files: JsValue,
        user_model: Option<Vec<u8>>,
    ) -> Result<World, JsError> {
        let spec = value("environment spec", spec)?;
        budget::world_fits(&spec)?;
        let files = data_files(files)?;
        Ok(World {
            inner: api::build_world(spec, &files, user_model.as_deref()).map_err(js)?,
        })
    }

    /// An environment of `spec` over this world.
    pub fn env(&self, spec: JsValue) -> Result<Env, JsError> {
        let spec = value("environment spec", spec)?;
        budget::env_fits(&spec, Some(&self.inner))?;
        Ok(Env {
            inner: api::make_env(spec, Some(&self.inner)).map_err(js)?,
        })
    }

    /// Name, source, sizes, density, quit defaults.
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> JsValue {
        record(&api::info(&self.inner))
    }

    /// The item in words, for prompts.
    #[wasm_bindgen(js_name = itemText)]
    pub fn item_text(&self, item: f64) -> Result<String, JsError> {
        let item = js_int("item", item, u32::MAX)?;
        api::item_text(&self.inner, item).map_err(js)
    }

    #[wasm_bindgen(js_name = categoryNames)]
    pub fn category_names(&self) -> Vec<String> {
        self.inner.category_names()
    }

    /// Per-item scores of the popularity baseline.
    pub fn popularity(&self) -> Vec<f32> {
        self.inner.popularity()
    }

    /// Users for training and users held out for online deployment:
    /// `{train, heldOut}` (`Uint32Array`s).
    #[wasm_bindgen(js_name = userSplit)]
    pub fn user_split(&self) -> JsValue {
        let (train, held_out) = self.inner.user_split();
        object(&[
            ("train", js_sys::Uint32Array::from(&train[..]).into()),
            ("heldOut", js_sys::Uint32Array::from(&held_out[..]).into()),
        ])
    }

    /// `user`'s latest interactions (at most `history`, oldest first):
    /// `{items, rewards}` (`Uint32Array`, `Float32Array`).
    #[wasm_bindgen(js_name = latestHistory)]
    pub fn latest_history(&self, user: f64, history: f64) -> Result<JsValue, JsError> {
        let user = js_int("user", user, u32::MAX)?;
        let history = js_int("history", history, ialp_sim::limits::MAX_HISTORY as u32)?;
        let (items, rewards) = self
            .inner
            .latest_history(user, history as usize)
            .map_err(js)?;
        Ok(object(&[
            ("items", js_sys::Uint32Array::from(&items[..]).into()),
            ("rewards", js_sys::Float32Array::from(&rewards[..]).into()),
        ]))
    }

    /// The fitted user model artefact (null for worlds without one), to cache.
    #[wasm_bindgen(js_name = userModel)]
    pub fn user_model(&self) -> JsValue {
        match self.inner.user_model_bytes() {
            Some(b) => js_sys::Uint8Array::from(&b[..]).into(),
            None => JsValue::NULL,
        }
    }
}

/// One method on `World` per query of `ialp_ac_core::world_queries!`; each
/// argument arrives as a JS value and is converted to the declared type.
macro_rules! wasm_world_queries {
    ($($(#[doc = $doc:tt])* $name:ident $js:ident ($($arg:ident: $ty:ty $(as $req:ty)?),*)
        -> $ret:ty => $f:path;)*) => {
        #[wasm_bindgen]
        impl World {
            $(
                $(#[doc = $doc])*
                #[wasm_bindgen(js_name = $js)]
                pub fn $name(&self, $($arg: JsValue),*) -> Result<JsValue, JsError> {
                    $(let $arg: $ty = argument(stringify!($arg), $arg)?;)*
                    Ok(record(&api::record(&$f(&self.inner, $($arg),*).map_err(js)?)))
                }
            )*
        }
    };
}
ialp_ac_core::world_queries!(wasm_world_queries);
