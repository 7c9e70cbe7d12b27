//! Turns an observation (the last H items and their rewards) into the fixed-width
//! vector the networks read, using the environment's item features F (N x f):
//! [mean F of the history; mean (2r - 1) F; F of the latest item; mean r; fill].

use ialp_sim::{Error, Result, PAD_ITEM};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct StateEncoder {
    pub history: usize,
    pub n_items: usize,
    pub feature_dim: usize,
    pub item_features: Arc<Vec<f32>>,
}

impl StateEncoder {
    pub fn new(history: usize, n_items: usize, item_features: Vec<f32>) -> Result<Self> {
        ialp_sim::error::check_min("history", history, 1)?;
        // the bound environments enforce; a larger H read from a file would make
        // every recommendation allocate H slots (and a failed allocation aborts)
        if history > ialp_sim::batch::MAX_HISTORY {
            return Err(Error::invalid(
                "history",
                &format!("at most {}", ialp_sim::batch::MAX_HISTORY),
                history,
            ));
        }
        if n_items == 0 || item_features.is_empty() || !item_features.len().is_multiple_of(n_items)
        {
            return Err(Error::invalid(
                "item features",
                &format!("a non-empty multiple of {n_items} items"),
                item_features.len(),
            ));
        }
        if let Some(i) = item_features.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid(
                &format!("item features[{i}]"),
                "a finite number",
                item_features[i],
            ));
        }
        Ok(StateEncoder {
            history,
            n_items,
            feature_dim: item_features.len() / n_items,
            item_features: Arc::new(item_features),
        })
    }

    pub fn out_dim(&self) -> usize {
        3 * self.feature_dim + 2
    }

    /// Encodes `rows` observations (`items`/`rewards` rows x H) into `out` (rows x out_dim).
    pub fn encode(&self, items: &[u32], rewards: &[f32], out: &mut [f32]) -> Result<()> {
        let (h, f) = (self.history, self.feature_dim);
        if !items.len().is_multiple_of(h) || rewards.len() != items.len() {
            return Err(Error::invalid(
                "history",
                &format!("items and rewards of equal length, a multiple of H = {h}"),
                format!("{} items, {} rewards", items.len(), rewards.len()),
            ));
        }
        let rows = items.len() / h;
        let od = self.out_dim();
        if out.len() != rows * od {
            return Err(Error::invalid(
                "encoded state buffer length",
                &(rows * od).to_string(),
                out.len(),
            ));
        }
        out.fill(0.0);
        for r in 0..rows {
            let o = &mut out[r * od..(r + 1) * od];
            let (mut n, mut rsum) = (0usize, 0f32);
            let mut latest = None;
            for j in 0..h {
                let item = items[r * h + j];
                if item == PAD_ITEM {
                    continue;
                }
                if item as usize >= self.n_items {
                    return Err(Error::invalid(
                        &format!("history item [{r}][{j}]"),
                        &format!("an item id < {} (or the pad {PAD_ITEM})", self.n_items),
                        item,
                    ));
                }
                let rew = rewards[r * h + j];
                if !rew.is_finite() {
                    return Err(Error::invalid(
                        &format!("history reward [{r}][{j}]"),
                        "a finite number",
                        rew,
                    ));
                }
                let fi = &self.item_features[item as usize * f..(item as usize + 1) * f];
                let w = 2.0 * rew - 1.0;
                for k in 0..f {
                    o[k] += fi[k];
                    o[f + k] += w * fi[k];
                }
                n += 1;
                rsum += rew;
                latest = Some(fi);
            }
            if n > 0 {
                let inv = 1.0 / n as f32;
                o[..2 * f].iter_mut().for_each(|x| *x *= inv);
                if let Some(fi) = latest {
                    o[2 * f..3 * f].copy_from_slice(fi);
                }
                o[3 * f] = rsum * inv;
                o[3 * f + 1] = n as f32 / h as f32;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_by_hand() {
        // 3 items with 1 feature each: [1], [2], [4]; H = 3
        let e = StateEncoder::new(3, 3, vec![1.0, 2.0, 4.0]).unwrap();
        let mut out = vec![0f32; 5];
        e.encode(&[PAD_ITEM, 0, 2], &[0.0, 1.0, 0.5], &mut out)
            .unwrap();
        // mean F = 2.5; mean (2r-1)F = (1*1 + 0*4)/2 = 0.5; latest = 4; mean r = .75; fill = 2/3
        assert_eq!(out[..4], [2.5, 0.5, 4.0, 0.75]);
        assert!((out[4] - 2.0 / 3.0).abs() < 1e-6);
        let err = e.encode(&[0, 0, 9], &[0.0; 3], &mut out).unwrap_err();
        assert!(err.message().contains("history item [0][2]"), "{err}");
        let err = StateEncoder::new(0, 3, vec![1.0, 2.0, 4.0]).unwrap_err();
        assert!(
            err.message()
                .starts_with("history: expected an integer >= 1"),
            "{err}"
        );
    }
}
