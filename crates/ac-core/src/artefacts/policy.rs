//! A trained policy: state encoder, item features and actor-critic weights, with
//! the versioned artefact format that stores them.
//!
//! Artefact: `ialp_sim::artefact` framing with magic `b"IALPPOL\0"`; the JSON
//! header holds the metadata and a tensor table, the f32 payload the item
//! features and then each tensor at the header's offsets.

use crate::adam::AdamConfig;
use crate::encoder::StateEncoder;
use crate::linalg::{max_of, sample_softmax};
use crate::net::{AcBackend, NdarrayNet, NetConfig};
use crate::params::{Params, Tensor};
use ialp_sim::{artefact, Error, Result, Rng, PAD_ITEM};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const MAGIC: &[u8; 8] = b"IALPPOL\0";
pub const FORMAT_VERSION: u32 = 1;

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

    /// Logits (rows x n_items) and values for observations (rows x H each).
    pub fn evaluate(&self, items: &[u32], rewards: &[f32]) -> Result<(Array2<f32>, Array1<f32>)> {
        let rows = items.len() / self.encoder.history.max(1);
        let mut x = vec![0f32; rows * self.encoder.out_dim()];
        self.encoder.encode(items, rewards, &mut x)?;
        let view = ArrayView2::from_shape((rows, self.encoder.out_dim()), &x)
            .map_err(|e| Error::new(e.to_string()))?;
        Ok(self.net.forward(view))
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
        order.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]));
        Ok(order
            .into_iter()
            .take(k)
            .map(|i| (i, libm::expf(row[i as usize] - m) / z))
            .collect())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
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
        artefact::write(MAGIC, FORMAT_VERSION, &json, &payload)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "policy file";
        let err = |m: String| Error::new(format!("{WHAT}: {m}"));
        let (header, floats) = artefact::read(WHAT, MAGIC, FORMAT_VERSION, bytes)?;
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
        let bytes = policy().to_bytes();
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
        assert!(Policy::from_bytes(&[0u8; 100])
            .err()
            .unwrap()
            .message()
            .contains("magic"));
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
