//! Named flat tensors: what networks are made of, what optimisers update and
//! what policy artefacts store. Backends exchange weights through this type.

use ialp_sim::{Error, Result, Rng};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    pub fn zeros(name: &str, shape: &[usize]) -> Self {
        Tensor {
            name: name.into(),
            shape: shape.to_vec(),
            data: vec![0.0; shape.iter().product()],
        }
    }

    /// N(0, std^2) entries from `rng`.
    pub fn normal(name: &str, shape: &[usize], std: f32, rng: &mut Rng) -> Self {
        let mut t = Tensor::zeros(name, shape);
        t.data.iter_mut().for_each(|x| *x = std * rng.normal());
        t
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub tensors: Vec<Tensor>,
}

impl Params {
    pub fn push(&mut self, t: Tensor) -> usize {
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    pub fn get(&self, i: usize) -> &[f32] {
        &self.tensors[i].data
    }

    pub fn get_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.tensors[i].data
    }

    /// Same names and shapes, all zeros.
    pub fn zeros_like(&self) -> Params {
        Params {
            tensors: self
                .tensors
                .iter()
                .map(|t| Tensor::zeros(&t.name, &t.shape))
                .collect(),
        }
    }

    pub fn fill(&mut self, v: f32) {
        self.tensors.iter_mut().for_each(|t| t.data.fill(v));
    }

    pub fn len(&self) -> usize {
        self.tensors.iter().map(|t| t.data.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn l2_norm(&self) -> f32 {
        let s: f64 = self
            .tensors
            .iter()
            .flat_map(|t| t.data.iter())
            .map(|&x| (x as f64) * (x as f64))
            .sum();
        s.sqrt() as f32
    }

    pub fn scale(&mut self, k: f32) {
        self.tensors
            .iter_mut()
            .for_each(|t| t.data.iter_mut().for_each(|x| *x *= k));
    }

    /// Fails unless `other` has the same tensor names and shapes, in order.
    pub fn check_compatible(&self, other: &Params, what: &str) -> Result<()> {
        if self.tensors.len() != other.tensors.len() {
            return Err(Error::invalid(
                &format!("{what}: tensor count"),
                &self.tensors.len().to_string(),
                other.tensors.len(),
            ));
        }
        for (a, b) in self.tensors.iter().zip(&other.tensors) {
            if a.name != b.name || a.shape != b.shape || b.data.len() != a.data.len() {
                return Err(Error::invalid(
                    &format!("{what}: tensor \"{}\"", b.name),
                    &format!("\"{}\" with shape {:?}", a.name, a.shape),
                    format!("shape {:?} with {} values", b.shape, b.data.len()),
                ));
            }
            if let Some(i) = b.data.iter().position(|x| !x.is_finite()) {
                return Err(Error::invalid(
                    &format!("{what}: tensor \"{}\"[{i}]", b.name),
                    "a finite number",
                    b.data[i],
                ));
            }
        }
        Ok(())
    }
}
