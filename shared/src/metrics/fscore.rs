//! Hand F-scores as FreiHAND defines them (F@5mm, F@15mm), plain and after
//! Procrustes alignment.

use super::{check_pair, similarity_procrustes, vec3, Point, Result};

/// Hand F-score thresholds, metres (F@5mm and F@15mm).
pub const F_SCORE_THRESHOLDS: [f64; 2] = [0.005, 0.015];

/// Squared distance from `p` to the nearest of `points`.
fn nearest_squared(p: &Point, points: &[Point]) -> f64 {
    let p = vec3(p);
    points
        .iter()
        .map(|q| (vec3(q) - p).norm_squared())
        .fold(f64::INFINITY, f64::min)
}

/// F-score at `threshold` (metres) between two point sets, no alignment, as
/// FreiHAND defines it: precision is the share of predicted points whose
/// nearest ground-truth point is closer than the threshold (strictly),
/// recall the share of ground-truth points with a predicted point that
/// close, and F = 2PR / (P + R), 0 when both are 0. Brute-force nearest
/// neighbours (fine for 778 points).
pub fn f_score(pred: &[Point], gt: &[Point], threshold: f64) -> Result<f64> {
    check_pair(pred, gt)?;
    let share = |a: &[Point], b: &[Point]| {
        a.iter()
            .filter(|p| nearest_squared(p, b).sqrt() < threshold)
            .count() as f64
            / a.len() as f64
    };
    let (precision, recall) = (share(pred, gt), share(gt, pred));
    Ok(if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    })
}

/// F-scores at each threshold after [`similarity_procrustes`] (FreiHAND's
/// hand evaluation; use [`F_SCORE_THRESHOLDS`] for F@5mm and F@15mm).
pub fn pa_f_scores(pred: &[Point], gt: &[Point], thresholds: &[f64]) -> Result<Vec<f64>> {
    let aligned = similarity_procrustes(pred, gt)?;
    thresholds
        .iter()
        .map(|&t| f_score(&aligned, gt, t))
        .collect()
}
