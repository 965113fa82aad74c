//! The face expert's expression error measured by what it does to the face
//! mesh (`ExpressionGeometry`), not on the raw coefficients.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::smplx::SmplxData;

/// The face expert's expression error measured on the face, not on the
/// coefficients: for a coefficient error `d`, `dᵀ·G·d` is the mean squared
/// displacement (m²) of the vertices the expression moves, with
/// `G = EᵀE / n` over those `n` vertices' directions `E` (`[3n, 10]`).
/// Coefficients differ a lot in what they do (a jaw drop moves the chin by
/// a centimetre per unit, a sneer a few millimetres of upper lip), so plain
/// MSE rewards guessing the invisible ones as much as the visible ones;
/// DECA, too, is judged by geometry (NoW), never by its codes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressionGeometry {
    /// `[10, 10]`, row-major.
    gram: Vec<f64>,
}

impl ExpressionGeometry {
    pub const SIZE: usize = 10;

    /// From the model's first 10 expression directions; `None` when the
    /// model has none (or they move nothing).
    pub fn new(model: &SmplxData) -> Option<Self> {
        let k = Self::SIZE;
        if model.num_expression_space() < k {
            return None;
        }
        let (s, offset) = (model.num_shapedirs, model.expression_offset());
        let mut gram = vec![0f64; k * k];
        let mut moved = 0usize;
        for row in model.shapedirs.chunks_exact(3 * s) {
            let dirs: Vec<[f64; 3]> = (0..k)
                .map(|e| [0, 1, 2].map(|c| row[c * s + offset + e] as f64))
                .collect();
            if dirs.iter().all(|d| d.iter().all(|&x| x == 0.0)) {
                continue;
            }
            moved += 1;
            for a in 0..k {
                for b in 0..k {
                    gram[a * k + b] += (0..3).map(|c| dirs[a][c] * dirs[b][c]).sum::<f64>();
                }
            }
        }
        if moved == 0 {
            return None;
        }
        gram.iter_mut().for_each(|g| *g /= moved as f64);
        Some(Self { gram })
    }

    /// RMS displacement (millimetres) of the moved vertices for the
    /// coefficient error `d` (`[10]`).
    pub fn rms_mm(&self, d: &[f64]) -> f64 {
        1000.0 * self.mean_square(d).max(0.0).sqrt()
    }

    pub(super) fn mean_square(&self, d: &[f64]) -> f64 {
        let k = Self::SIZE;
        (0..k)
            .map(|a| {
                (0..k)
                    .map(|b| d[a] * self.gram[a * k + b] * d[b])
                    .sum::<f64>()
            })
            .sum()
    }

    /// `G` as a `[10, 10]` tensor.
    pub(super) fn tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2> {
        let g: Vec<f32> = self.gram.iter().map(|&x| x as f32).collect();
        Tensor::from_data(
            TensorData::new(g, [Self::SIZE, Self::SIZE]).convert::<B::FloatElem>(),
            device,
        )
    }
}
