//! A trained policy: state encoder, item features and actor-critic weights, with
//! the versioned artefact format that stores them.
//!
//! Artefact, format version 2 (written): a safetensors file (`ialp_sim::safetensors`)
//! holding `item_features` and the network's tensors, with ialp's metadata as
//! strings in `__metadata__` (`format`, `version`, `meta`, `checksum`; see
//! docs/artefacts.md), so that PyTorch or NumPy read it without ialp.
//! Version 1 (still read): `ialp_sim::artefact` framing with magic `b"IALPPOL\0"`;
//! the JSON header holds the metadata and a tensor table, the f32 payload the item
//! features and then each tensor at the header's offsets.

use crate::adam::AdamConfig;
use crate::encoder::StateEncoder;
use crate::linalg::{max_of, sample_softmax};
use crate::net::{AcBackend, NdarrayNet, NetConfig};
use crate::params::{Params, Tensor};
use ialp_sim::limits::MAX_HEADER_BYTES;
use ialp_sim::{artefact, safetensors, Error, Result, Rng, PAD_ITEM};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The magic bytes of format version 1.
pub const MAGIC: &[u8; 8] = b"IALPPOL\0";
/// The version this build writes (safetensors); version 1 is still read.
pub const FORMAT_VERSION: u32 = 2;
/// The framing version of `MAGIC` files.
pub const FORMAT_VERSION_V1: u32 = 1;

/// What a policy is and where it came from; stored in the artefact header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PolicyMeta {
    /// The environment name (`synthetic`, `movielens`, ...).
    pub env: String,
    /// The data behind it (e.g. `ml-latest-small`); empty for `synthetic`.
    #[serde(default)]
    pub source: String,
    /// The fingerprint of the data it was trained on (`World.info.fingerprint`).
    #[serde(default)]
    pub fingerprint: String,
    pub n_items: usize,
    pub history: usize,
    pub net: NetConfig,
    /// The training configuration and summary, as the trainer wrote them.
    #[serde(default)]
    pub training: serde_json::Value,
    #[serde(default)]
    pub created_with: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TensorEntry {
    name: String,
    shape: Vec<usize>,
    offset: usize,
    len: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: String,
    meta: PolicyMeta,
    feature_dim: usize,
    item_features: TensorEntry,
    tensors: Vec<TensorEntry>,
}

/// Format version 2's guard against damaged files, `__metadata__.checksum`:
/// `fnv1a64:<16 hex digits>`, the FNV-1a 64 hash of the `meta` string's bytes, then
/// for each tensor in name order (byte-wise) its name, a 0 byte and its data bytes.
/// Name order, not file order, so a file rewritten by another safetensors writer
/// (which may reorder the tensors) keeps a valid checksum.
pub fn checksum_v2(meta: &str, tensors: &[(&str, &[u8])]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(meta.as_bytes());
    let mut sorted: Vec<&(&str, &[u8])> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (name, data) in sorted {
        eat(name.as_bytes());
        eat(&[0]);
        eat(data);
    }
    format!("fnv1a64:{h:016x}")
}

#[derive(Clone)]
pub struct Policy {
    pub meta: PolicyMeta,
    pub encoder: StateEncoder,
    net: NdarrayNet,
}

/// Draws one action per row from softmax(logits), or takes the arg-max.
pub fn choose_actions(logits: &Array2<f32>, rng: &mut Rng, greedy: bool) -> Vec<u32> {
    let n = logits.ncols();
    let flat = logits.as_slice().expect("standard layout");
    let mut scratch = vec![0f32; if greedy { 0 } else { n }];
    flat.chunks_exact(n)
        .map(|row| {
            if greedy {
                let m = max_of(row);
                return row.iter().position(|&z| z == m).unwrap_or(0) as u32;
            }
            sample_softmax(row, rng.uniform(), &mut scratch)
        })
        .collect()
}

impl Policy {
    pub fn new(meta: PolicyMeta, encoder: StateEncoder, params: Params) -> Result<Self> {
        let mut net = NdarrayNet::new(
            meta.net.clone(),
            encoder.out_dim(),
            encoder.item_features.clone(),
            encoder.n_items,
            AdamConfig::default(),
            0,
        )?;
        net.set_params(params)?;
        Ok(Policy { meta, encoder, net })
    }

    pub fn params(&self) -> Params {
        self.net.params()
    }

    /// Logits and values for states already encoded by this policy's encoder.
    pub fn forward_encoded(&self, x: &[f32]) -> Result<(Array2<f32>, Array1<f32>)> {
        let od = self.encoder.out_dim();
        let view =
            ArrayView2::from_shape((x.len() / od, od), x).map_err(|e| Error::new(e.to_string()))?;
        Ok(self.net.forward(view))
    }

    /// Fails when a pass over `rows` states (`rows_what` names whose count),
    /// its towers and its logits over every item, would hold more than
    /// [`MAX_ACTIVATIONS`](ialp_sim::limits::MAX_ACTIVATIONS) values.
    pub fn check_rows(&self, rows_what: &str, rows: usize) -> Result<()> {
        self.meta.net.check_rows(rows_what, rows)?;
        ialp_sim::limits::check_item_rows(rows_what, rows, self.encoder.n_items)
    }

    /// Logits (rows x n_items) and values for observations (rows x H each).
    pub fn evaluate(&self, items: &[u32], rewards: &[f32]) -> Result<(Array2<f32>, Array1<f32>)> {
        let rows = items.len() / self.encoder.history.max(1);
        self.check_rows("observations", rows)?;
        let mut x = vec![0f32; rows * self.encoder.out_dim()];
        self.encoder.encode(items, rewards, &mut x)?;
        let view = ArrayView2::from_shape((rows, self.encoder.out_dim()), &x)
            .map_err(|e| Error::new(e.to_string()))?;
        let (logits, values) = self.net.forward(view);
        for part in [logits.as_slice(), values.as_slice()].into_iter().flatten() {
            super::check_scores("policy", part)?;
        }
        Ok((logits, values))
    }

    /// The k items with the highest probability for one user, given the user's
    /// latest interactions (any length; the last H are used, oldest first).
    pub fn recommend(
        &self,
        items: &[u32],
        rewards: &[f32],
        k: usize,
        exclude_seen: bool,
    ) -> Result<Vec<(u32, f32)>> {
        if items.len() != rewards.len() {
            return Err(Error::invalid(
                "history rewards length",
                &format!("{} (one per history item)", items.len()),
                rewards.len(),
            ));
        }
        if k == 0 || k > self.encoder.n_items {
            return Err(Error::invalid(
                "k",
                &format!("1..={}", self.encoder.n_items),
                k,
            ));
        }
        let h = self.encoder.history;
        let (mut hi, mut hr) = (vec![PAD_ITEM; h], vec![0f32; h]);
        let take = items.len().min(h);
        hi[h - take..].copy_from_slice(&items[items.len() - take..]);
        hr[h - take..].copy_from_slice(&rewards[rewards.len() - take..]);
        let (logits, _) = self.evaluate(&hi, &hr)?;
        let row = logits.row(0);
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = row.iter().map(|&v| libm::expf(v - m)).sum();
        let mut order: Vec<u32> = (0..self.encoder.n_items as u32)
            .filter(|i| !(exclude_seen && items.contains(i)))
            .collect();
        // stable sort: ties keep item order, so results are deterministic
        ialp_sim::order::sort_by(&mut order, &|&a, &b| {
            row[b as usize].total_cmp(&row[a as usize])
        });
        Ok(order
            .into_iter()
            .take(k)
            .map(|i| (i, libm::expf(row[i as usize] - m) / z))
            .collect())
    }

    /// The policy file, format version 2: safetensors with ialp's metadata.
    pub fn to_bytes(&self) -> Vec<u8> {
        let params = self.net.params();
        let feats = &self.encoder.item_features;
        let feat_shape = [self.encoder.n_items, self.encoder.feature_dim];
        let mut tensors = vec![safetensors::TensorOut {
            name: "item_features",
            shape: &feat_shape,
            data: feats,
        }];
        tensors.extend(params.tensors.iter().map(|t| safetensors::TensorOut {
            name: &t.name,
            shape: &t.shape,
            data: &t.data,
        }));
        let meta = serde_json::to_string(&self.meta).expect("metadata serialises");
        let le: Vec<Vec<u8>> = tensors
            .iter()
            .map(|t| t.data.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let named: Vec<(&str, &[u8])> = tensors
            .iter()
            .zip(&le)
            .map(|(t, b)| (t.name, b.as_slice()))
            .collect();
        let sum = checksum_v2(&meta, &named);
        let version = FORMAT_VERSION.to_string();
        safetensors::write(
            &[
                ("format", "ialp-policy"),
                ("version", &version),
                ("meta", &meta),
                ("checksum", &sum),
            ],
            &tensors,
        )
    }

    /// Format version 1 (`IALPPOL`), for files older readers take.
    pub fn to_bytes_v1(&self) -> Vec<u8> {
        let params = self.net.params();
        let feats = &self.encoder.item_features;
        let mut offset = feats.len();
        let tensors = params
            .tensors
            .iter()
            .map(|t| {
                let e = TensorEntry {
                    name: t.name.clone(),
                    shape: t.shape.clone(),
                    offset,
                    len: t.data.len(),
                };
                offset += t.data.len();
                e
            })
            .collect();
        let header = Header {
            format: "ialp-policy".into(),
            meta: self.meta.clone(),
            feature_dim: self.encoder.feature_dim,
            item_features: TensorEntry {
                name: "item_features".into(),
                shape: vec![self.encoder.n_items, self.encoder.feature_dim],
                offset: 0,
                len: feats.len(),
            },
            tensors,
        };
        let json = serde_json::to_vec(&header).expect("header serialises");
        let payload: Vec<f32> = feats
            .iter()
            .chain(params.tensors.iter().flat_map(|t| t.data.iter()))
            .copied()
            .collect();
        artefact::write(MAGIC, FORMAT_VERSION_V1, &json, &payload)
    }

    /// Reads a policy file of format version 2 (safetensors) or 1 (`IALPPOL`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        // ialp's own framing, of any kind ("IALPRWD\0" etc.), or bytes that are no
        // safetensors file (whose first 8 bytes are a header length within the
        // limit): the version-1 reader names what they are
        let st_len = bytes
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
        if bytes.starts_with(b"IALP") || st_len.is_some_and(|n| n > MAX_HEADER_BYTES as u64) {
            return Self::from_bytes_v1(bytes);
        }
        Self::from_bytes_v2(bytes)
    }

    fn from_bytes_v2(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "policy file";
        let err = |m: String| Error::new(format!("{WHAT}: {m}"));
        let (metadata, tensors) = safetensors::read(WHAT, bytes)?;
        match metadata.get("format").map(String::as_str) {
            Some("ialp-policy") => {}
            other => {
                return Err(err(format!(
                    "a safetensors file, but not an ialp policy (its __metadata__ has format {}, expected \"ialp-policy\")",
                    other.map_or("missing".to_string(), |f| format!("{f:?}"))
                )))
            }
        }
        let version = metadata
            .get("version")
            .map(String::as_str)
            .unwrap_or("missing");
        if version != FORMAT_VERSION.to_string() {
            let newer = version.parse::<u32>().is_ok_and(|v| v > FORMAT_VERSION);
            return Err(err(format!(
                "format version {version} is not supported (this build reads versions 1 and {FORMAT_VERSION}){}",
                if newer { "; upgrade ialp" } else { "" }
            )));
        }
        let meta_json = metadata
            .get("meta")
            .ok_or_else(|| err("__metadata__ has no \"meta\"".into()))?;
        let named: Vec<(&str, &[u8])> =
            tensors.iter().map(|t| (t.name.as_str(), t.bytes)).collect();
        let sum = checksum_v2(meta_json, &named);
        if metadata.get("checksum") != Some(&sum) {
            return Err(err(
                "checksum mismatch: the file is truncated or corrupted".into()
            ));
        }
        // (a size too large for the build's usize names its field, as in version 1)
        let meta: PolicyMeta =
            ialp_sim::error::from_json_at(WHAT, "__metadata__.meta", meta_json.as_bytes())?;
        let mut by_name: std::collections::BTreeMap<&str, &safetensors::TensorIn> =
            tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        let feats = by_name
            .remove("item_features")
            .ok_or_else(|| err("no tensor \"item_features\"".into()))?;
        if feats.shape.len() != 2 || feats.shape[0] != meta.n_items {
            return Err(err(format!(
                "tensor \"item_features\" has shape {:?}, expected [nItems = {}, featureDim]",
                feats.shape, meta.n_items
            )));
        }
        let encoder = StateEncoder::new(meta.history, meta.n_items, feats.to_f32())
            .map_err(|e| e.context(WHAT))?;
        // as in version 1: the network the metadata describes must hold exactly
        // the values present, checked before it is built
        let net = &meta.net;
        net.validate().map_err(|e| e.context(WHAT))?;
        let expected = net.param_count(encoder.out_dim(), encoder.feature_dim, encoder.n_items);
        let held: usize = by_name.values().map(|t| t.bytes.len() / 4).sum();
        if expected != Some(held) {
            return Err(err(format!(
                "its network (hidden {}, depth {}, embedDim {} over {} items) has {} parameters, but the file holds {held}",
                net.hidden,
                net.depth,
                net.embed_dim,
                encoder.n_items,
                expected.map_or("too many".to_string(), |n| n.to_string()),
            )));
        }
        // the tensors in the network's order, whatever order the file has them in
        let mut policy = Policy::untrained(meta, encoder, 0).map_err(|e| e.context(WHAT))?;
        let mut params = Params::default();
        for want in policy.net.params().tensors {
            let t = by_name.remove(want.name.as_str()).ok_or_else(|| {
                err(format!(
                    "no tensor \"{}\" (shape {:?}), which its network has",
                    want.name, want.shape
                ))
            })?;
            params.push(Tensor {
                name: t.name.clone(),
                shape: t.shape.clone(),
                data: t.to_f32(),
            });
        }
        if let Some(extra) = by_name.keys().next() {
            return Err(err(format!(
                "tensor \"{extra}\" is not part of its network"
            )));
        }
        policy.net.set_params(params).map_err(|e| e.context(WHAT))?;
        Ok(policy)
    }

    fn from_bytes_v1(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "policy file";
        let err = |m: String| Error::new(format!("{WHAT}: {m}"));
        let (header, floats) = artefact::read(WHAT, MAGIC, FORMAT_VERSION_V1, bytes)?;
        let header: Header = ialp_sim::error::from_json_header(WHAT, header)?;
        if header.format != "ialp-policy" {
            return Err(err(format!(
                "format \"{}\" is not \"ialp-policy\"",
                header.format
            )));
        }
        let slice = |e: &TensorEntry| -> Result<Vec<f32>> {
            if artefact::tensor_len(WHAT, &e.name, &e.shape)? != e.len {
                return Err(err(format!(
                    "tensor \"{}\" has shape {:?} but {} values",
                    e.name, e.shape, e.len
                )));
            }
            artefact::slice(WHAT, &e.name, &floats, e.offset, e.len)
        };
        let feats = slice(&header.item_features)?;
        if feats.len()
            != artefact::tensor_len(
                WHAT,
                "item_features",
                &[header.meta.n_items, header.feature_dim],
            )?
        {
            return Err(err("item features do not match nItems x featureDim".into()));
        }
        let encoder = StateEncoder::new(header.meta.history, header.meta.n_items, feats)
            .map_err(|e| e.context(WHAT))?;
        // The network the header describes must be the one the payload holds,
        // checked before it is built: a forged size would otherwise allocate
        // whatever it says (and a failed allocation aborts the process).
        let net = &header.meta.net;
        net.validate().map_err(|e| e.context(WHAT))?;
        let expected = net.param_count(encoder.out_dim(), encoder.feature_dim, encoder.n_items);
        let declared = header
            .tensors
            .iter()
            .try_fold(0usize, |n, e| n.checked_add(e.len))
            .filter(|&n| n <= floats.len());
        if declared.is_none() || expected != declared {
            return Err(err(format!(
                "its network (hidden {}, depth {}, embedDim {} over {} items) has {} parameters, but the file holds {}",
                net.hidden,
                net.depth,
                net.embed_dim,
                encoder.n_items,
                expected.map_or("too many".to_string(), |n| n.to_string()),
                declared.map_or(format!("more than its {} values", floats.len()), |n| n.to_string()),
            )));
        }
        let mut params = Params::default();
        for e in &header.tensors {
            params.push(Tensor {
                name: e.name.clone(),
                shape: e.shape.clone(),
                data: slice(e)?,
            });
        }
        Policy::new(header.meta, encoder, params).map_err(|e| e.context("policy file"))
    }

    /// A policy with fresh weights (for tests and as a starting point).
    pub fn untrained(meta: PolicyMeta, encoder: StateEncoder, seed: u64) -> Result<Self> {
        let net = NdarrayNet::new(
            meta.net.clone(),
            encoder.out_dim(),
            Arc::clone(&encoder.item_features),
            encoder.n_items,
            AdamConfig::default(),
            seed,
        )?;
        Ok(Policy { meta, encoder, net })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        let enc = StateEncoder::new(4, 8, (0..16).map(|i| i as f32 / 16.0).collect()).unwrap();
        let meta = PolicyMeta {
            env: "test".into(),
            source: String::new(),
            fingerprint: String::new(),
            n_items: 8,
            history: 4,
            net: NetConfig {
                hidden: 6,
                depth: 1,
                embed_dim: 3,
            },
            training: serde_json::Value::Null,
            created_with: "test".into(),
        };
        Policy::untrained(meta, enc, 1).unwrap()
    }

    #[test]
    fn round_trips_and_recommends_the_same() {
        let p = policy();
        let bytes = p.to_bytes();
        let q = Policy::from_bytes(&bytes).unwrap();
        assert_eq!(p.params(), q.params());
        let a = p.recommend(&[1, 2], &[1.0, 0.0], 3, true).unwrap();
        assert_eq!(a, q.recommend(&[1, 2], &[1.0, 0.0], 3, true).unwrap());
        assert!(a.iter().all(|(i, _)| *i != 1 && *i != 2));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn rejects_truncated_corrupted_and_newer_files() {
        let bytes = policy().to_bytes_v1();
        let e = Policy::from_bytes(&bytes[..bytes.len() - 10])
            .err()
            .unwrap();
        assert!(e.message().contains("checksum"), "{e}");
        let mut bad = bytes.clone();
        bad[40] ^= 0xff;
        assert!(Policy::from_bytes(&bad)
            .err()
            .unwrap()
            .message()
            .contains("checksum"));
        let mut newer = bytes.clone();
        newer[8] = 9;
        let e = Policy::from_bytes(&newer).err().unwrap();
        assert!(e.message().contains("version 9"), "{e}");
        assert!(Policy::from_bytes(b"hello").is_err());
        // zeros read as a safetensors header of length 0: not JSON, so not a policy
        let e = Policy::from_bytes(&[0u8; 100]).err().unwrap();
        assert!(e.message().contains("not a policy file"), "{e}");
    }

    #[test]
    fn finite_weights_that_overflow_are_an_error_not_nan_scores() {
        // every weight finite (the load checks pass), but 3e38 x a feature overflows f32
        let p = policy();
        let mut params = p.params();
        for i in 0..params.tensors.len() {
            params.get_mut(i).fill(3e38);
        }
        let q = Policy::new(p.meta.clone(), p.encoder.clone(), params).unwrap();
        let q = Policy::from_bytes(&q.to_bytes()).expect("a file with a valid checksum loads");
        let e = q.recommend(&[1, 2], &[1.0, 0.0], 3, true).unwrap_err();
        assert!(e.message().starts_with("policy: score "), "{e}");
        assert!(e.message().contains("overflow f32"), "{e}");
        assert!(q.evaluate(&[1, 2, 3, 4], &[1.0; 4]).is_err());
        // a history reward out of any feedback's range does the same with sane weights
        let e = p.recommend(&[1, 2], &[3e38, 3e38], 3, true).unwrap_err();
        assert!(e.message().starts_with("policy: score "), "{e}");
        assert!(p.recommend(&[1, 2], &[1.0, 0.0], 3, true).is_ok());
    }

    #[test]
    fn greedy_and_sampled_choices() {
        let logits = Array2::from_shape_vec((2, 3), vec![0.0, 5.0, 1.0, 9.0, 0.0, 0.0]).unwrap();
        let mut rng = Rng::new(0);
        assert_eq!(choose_actions(&logits, &mut rng, true), vec![1, 0]);
        let mut hits = 0;
        for _ in 0..1000 {
            hits += (choose_actions(&logits, &mut rng, false)[0] == 1) as u32;
        }
        assert!(hits > 950, "{hits}");
    }
}
