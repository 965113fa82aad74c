//! Mean per-point distances: MPJPE / V2V and their Procrustes-aligned forms
//! (PA-MPJPE / PA-V2V).

use super::{check_pair, distance, similarity_procrustes, Point, Result};

/// Mean per-point Euclidean distance, no alignment (MPJPE for joints, V2V
/// for vertices).
pub fn mean_distance(pred: &[Point], gt: &[Point]) -> Result<f64> {
    check_pair(pred, gt)?;
    Ok(pred
        .iter()
        .zip(gt)
        .map(|(p, g)| distance(p, g))
        .sum::<f64>()
        / pred.len() as f64)
}

/// MPJPE: [`mean_distance`] on joints.
pub fn mpjpe(pred: &[Point], gt: &[Point]) -> Result<f64> {
    mean_distance(pred, gt)
}

/// V2V: [`mean_distance`] on vertices.
pub fn v2v(pred: &[Point], gt: &[Point]) -> Result<f64> {
    mean_distance(pred, gt)
}

/// Mean per-point distance after [`similarity_procrustes`].
pub fn pa_mean_distance(pred: &[Point], gt: &[Point]) -> Result<f64> {
    mean_distance(&similarity_procrustes(pred, gt)?, gt)
}

/// PA-MPJPE: [`pa_mean_distance`] on joints.
pub fn pa_mpjpe(pred: &[Point], gt: &[Point]) -> Result<f64> {
    pa_mean_distance(pred, gt)
}

/// PA-V2V: [`pa_mean_distance`] on vertices.
pub fn pa_v2v(pred: &[Point], gt: &[Point]) -> Result<f64> {
    pa_mean_distance(pred, gt)
}
