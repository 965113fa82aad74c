//! Evaluation metrics on the host, in `f64`: similarity Procrustes, MPJPE /
//! V2V and their aligned forms (PA-MPJPE / PA-V2V), per-part PA-V2V (body,
//! hands, face; each part selected first and aligned on its own, as in
//! ExPose's EHF evaluation), hand F-scores (FreiHAND) and the NoW-style
//! scan-to-mesh distance; and for images without 3D ground truth, agreement
//! with a 2D detector's keypoints ([`image_points`]).
//!
//! Points are `[x, y, z]` in metres; errors are metres unless a name says
//! `_mm`. Every function checks its input (same number of points, at least
//! one, all finite) and returns [`MetricsError`] instead of NaN.
//!
//! # Alignment
//!
//! [`similarity_transform`] is Umeyama's least-squares similarity from the
//! prediction `p` to the ground truth `g`: with centroids `μp`, `μg`, spread
//! `σp² = mean ‖p − μp‖²` and cross-covariance `Σ = mean (g − μg)(p − μp)ᵀ =
//! U S Vᵀ`, the rotation is `R = U D Vᵀ` with `D = diag(1, 1, sign(det U det V))`
//! (the sign on the smallest singular value: a proper rotation, never a
//! mirror), the scale `s = tr(S D) / σp²` and `t = μg − s R μp`.
//!
//! The 3×3 SVD is a one-sided Jacobi SVD written here on nalgebra's
//! `Matrix3`: nalgebra 0.35's own SVD loses accuracy on the covariances of
//! near-collinear or near-planar sets (its 3×3 path squares the condition
//! number; the general path stopped early on some full-rank inputs, errors of
//! 1e-5 to 1e-4 measured), while one-sided Jacobi keeps every singular value
//! to relative precision.
//!
//! # Degenerate inputs
//!
//! * **The prediction is a single point** (one point, all points equal, all
//!   zero — precisely `σp ≤ 1e-12 · max |coordinate|`): no rotation or scale
//!   can be estimated. The alignment is `s = 0, R = I, t = μg`: every aligned
//!   point is the ground-truth centroid, and the PA error is the mean distance
//!   of the ground truth to its centroid (0 for one point).
//! * **The ground truth is a single point**: `Σ = 0`, so `s = 0` and the
//!   prediction collapses onto that point: PA error 0.
//! * **Collinear or coplanar sets**: `Σ` is rank-deficient and `R` is not
//!   unique, but the aligned points are (every optimal `R` moves the line or
//!   plane the same way); a coplanar mirror image is matched exactly by a
//!   rotation. Nothing here produces NaN or infinity.
//! * An **empty part** (no vertex) has no error: `None`, `null` in JSON.

mod distance;
mod fscore;
pub mod image_points;
mod parts;
mod procrustes;
mod report;
mod scan;

pub use distance::*;
pub use fscore::*;
pub use parts::*;
pub use procrustes::*;
pub use report::*;
pub use scan::*;

use nalgebra::Vector3;

use crate::npz::NpzError;

/// A point, metres.
pub type Point = [f64; 3];

/// SMPL-X vertex count: per-part errors apply to arrays of this many points.
pub const SMPLX_NUM_VERTICES: usize = 10475;
/// MANO vertex count and hand joint count: F-scores apply to these.
pub const MANO_NUM_VERTICES: usize = 778;
pub const HAND_NUM_KEYPOINTS: usize = 21;

/// Invalid metric input.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("{pred} predicted points but {gt} ground-truth points")]
    LengthMismatch { pred: usize, gt: usize },
    #[error("no points to compare")]
    Empty,
    #[error("non-finite coordinate at point {index} of the {which}")]
    NonFinite { which: &'static str, index: usize },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    File(#[from] NpzError),
}

type Result<T> = std::result::Result<T, MetricsError>;

fn check_finite(points: &[Point], which: &'static str) -> Result<()> {
    match points.iter().position(|p| p.iter().any(|x| !x.is_finite())) {
        Some(index) => Err(MetricsError::NonFinite { which, index }),
        None => Ok(()),
    }
}

fn check_pair(pred: &[Point], gt: &[Point]) -> Result<()> {
    if pred.len() != gt.len() {
        return Err(MetricsError::LengthMismatch {
            pred: pred.len(),
            gt: gt.len(),
        });
    }
    if pred.is_empty() {
        return Err(MetricsError::Empty);
    }
    check_finite(pred, "prediction")?;
    check_finite(gt, "ground truth")
}

fn vec3(p: &Point) -> Vector3<f64> {
    Vector3::new(p[0], p[1], p[2])
}

fn centroid(points: &[Point]) -> Vector3<f64> {
    points.iter().map(vec3).sum::<Vector3<f64>>() / points.len() as f64
}

fn distance(a: &Point, b: &Point) -> f64 {
    (vec3(a) - vec3(b)).norm()
}

#[cfg(test)]
mod tests;
