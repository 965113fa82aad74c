//! Evaluation metrics on the host, in `f64`: similarity Procrustes, MPJPE /
//! V2V and their aligned forms (PA-MPJPE / PA-V2V), per-part PA-V2V (body,
//! hands, face; each part selected first and aligned on its own, as in
//! ExPose's EHF evaluation), hand F-scores (FreiHAND) and the NoW-style
//! scan-to-mesh distance.
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

use std::fmt;
use std::path::Path;

use nalgebra::{Matrix3, Vector3};
use serde::Serialize;

use crate::npz::{read_npy_file, NpzError};
use crate::pickle::read_pickle_file;
use crate::smplx::joints::{idx, NUM_HAND_JOINTS, NUM_JOINTS};

/// A point, metres.
pub type Point = [f64; 3];

/// SMPL-X vertex count: per-part errors apply to arrays of this many points.
pub const SMPLX_NUM_VERTICES: usize = 10475;
/// MANO vertex count and hand joint count: F-scores apply to these.
pub const MANO_NUM_VERTICES: usize = 778;
pub const HAND_NUM_KEYPOINTS: usize = 21;
/// FLAME vertex count (face part of the official correspondences).
pub const FLAME_NUM_VERTICES: usize = 5023;
/// Official correspondence file names (inside the directory given to
/// [`PartVertices::from_official_dir`]).
pub const FACE_IDS_FILE: &str = "SMPL-X__FLAME_vertex_ids.npy";
pub const HAND_IDS_FILE: &str = "MANO_SMPLX_vertex_ids.pkl";
/// Hand F-score thresholds, metres (F@5mm and F@15mm).
pub const F_SCORE_THRESHOLDS: [f64; 2] = [0.005, 0.015];
/// Relative spread under which a prediction counts as a single point.
pub const DEGENERATE_SPREAD: f64 = 1e-12;

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

/// `x ↦ scale · rotation · x + translation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub scale: f64,
    /// Row-major rotation matrix (determinant +1).
    pub rotation: [[f64; 3]; 3],
    pub translation: Point,
}

impl Similarity {
    pub fn identity() -> Self {
        Self {
            scale: 1.0,
            rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            translation: [0.0; 3],
        }
    }

    pub fn apply(&self, p: &Point) -> Point {
        let r = &self.rotation;
        let mut out = self.translation;
        for (i, o) in out.iter_mut().enumerate() {
            *o += self.scale * (r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2]);
        }
        out
    }

    pub fn apply_all(&self, points: &[Point]) -> Vec<Point> {
        points.iter().map(|p| self.apply(p)).collect()
    }
}

/// `m = U diag(s) Vᵀ` by one-sided Jacobi rotations: the columns of `m V`
/// are made pairwise orthogonal; their norms are the singular values. `V` is
/// a product of rotations (det +1); `U` is completed to an orthonormal basis
/// where singular values vanish. Singular values are not sorted.
fn svd3(m: &Matrix3<f64>) -> (Matrix3<f64>, Vector3<f64>, Matrix3<f64>) {
    let mut w = *m;
    let mut v = Matrix3::<f64>::identity();
    for _sweep in 0..60 {
        let mut rotated = false;
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            let alpha = w.column(p).norm_squared();
            let beta = w.column(q).norm_squared();
            let gamma = w.column(p).dot(&w.column(q));
            if gamma == 0.0 || gamma.abs() <= f64::EPSILON * (alpha * beta).sqrt() {
                continue;
            }
            rotated = true;
            let zeta = (beta - alpha) / (2.0 * gamma);
            let t = if zeta.abs() > 1e150 {
                0.5 / zeta
            } else {
                zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt())
            };
            let c = 1.0 / (1.0 + t * t).sqrt();
            let s = c * t;
            for mat in [&mut w, &mut v] {
                for r in 0..3 {
                    let (a, b) = (mat[(r, p)], mat[(r, q)]);
                    mat[(r, p)] = c * a - s * b;
                    mat[(r, q)] = s * a + c * b;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let sigma = Vector3::new(w.column(0).norm(), w.column(1).norm(), w.column(2).norm());
    // Columns of U in decreasing singular value, re-orthogonalised; a column
    // whose singular value vanished is completed from the others.
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| sigma[b].total_cmp(&sigma[a]));
    let mut u = Matrix3::<f64>::zeros();
    for (k, &i) in order.iter().enumerate() {
        let mut col = if sigma[i] > 0.0 {
            w.column(i) / sigma[i]
        } else {
            Vector3::zeros()
        };
        for &j in &order[..k] {
            let uj = u.column(j).into_owned();
            col -= uj * uj.dot(&col);
        }
        let norm = col.norm();
        col = if norm > 0.5 {
            col / norm
        } else {
            match k {
                0 => Vector3::x(),
                1 => {
                    let u0 = u.column(order[0]).into_owned();
                    // The axis least aligned with u0, made orthogonal to it.
                    let axis = match u0.iamin() {
                        0 => Vector3::x(),
                        1 => Vector3::y(),
                        _ => Vector3::z(),
                    };
                    (axis - u0 * u0.dot(&axis)).normalize()
                }
                _ => u.column(order[0]).cross(&u.column(order[1])),
            }
        };
        u.set_column(i, &col);
    }
    (u, sigma, v)
}

/// The rotation nearest to `m` in Frobenius norm (`U diag(1, 1, ±1) Vᵀ`,
/// the sign keeping det +1), through [`svd3`].
pub fn nearest_rotation(m: &Matrix3<f64>) -> Matrix3<f64> {
    let (u, sigma, v) = svd3(m);
    let mut d = Vector3::new(1.0, 1.0, 1.0);
    if u.determinant() * v.determinant() < 0.0 {
        d[sigma.imin()] = -1.0;
    }
    u * Matrix3::from_diagonal(&d) * v.transpose()
}

/// The least-squares similarity taking `pred` onto `gt` (see the module
/// documentation for the formula and the degenerate cases).
pub fn similarity_transform(pred: &[Point], gt: &[Point]) -> Result<Similarity> {
    check_pair(pred, gt)?;
    let n = pred.len() as f64;
    let (mu_p, mu_g) = (centroid(pred), centroid(gt));
    let var_p = pred
        .iter()
        .map(|p| (vec3(p) - mu_p).norm_squared())
        .sum::<f64>()
        / n;
    let max_abs = pred.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
    if var_p.sqrt() <= DEGENERATE_SPREAD * max_abs {
        return Ok(Similarity {
            scale: 0.0,
            translation: [mu_g.x, mu_g.y, mu_g.z],
            ..Similarity::identity()
        });
    }
    let mut cov = Matrix3::<f64>::zeros();
    for (p, g) in pred.iter().zip(gt) {
        cov += (vec3(g) - mu_g) * (vec3(p) - mu_p).transpose();
    }
    cov /= n;
    let (u, sigma, v) = svd3(&cov);
    let mut d = Vector3::new(1.0, 1.0, 1.0);
    if u.determinant() * v.determinant() < 0.0 {
        d[sigma.imin()] = -1.0;
    }
    let r = u * Matrix3::from_diagonal(&d) * v.transpose();
    let scale = sigma.dot(&d) / var_p;
    let t = mu_g - scale * r * mu_p;
    Ok(Similarity {
        scale,
        rotation: [
            [r[(0, 0)], r[(0, 1)], r[(0, 2)]],
            [r[(1, 0)], r[(1, 1)], r[(1, 2)]],
            [r[(2, 0)], r[(2, 1)], r[(2, 2)]],
        ],
        translation: [t.x, t.y, t.z],
    })
}

/// `pred` after the similarity that best aligns it with `gt`.
pub fn similarity_procrustes(pred: &[Point], gt: &[Point]) -> Result<Vec<Point>> {
    Ok(similarity_transform(pred, gt)?.apply_all(pred))
}

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

/// The body parts of the per-part errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Body,
    LeftHand,
    RightHand,
    Face,
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Body, Part::LeftHand, Part::RightHand, Part::Face];

    /// JSON key.
    pub fn key(self) -> &'static str {
        match self {
            Part::Body => "body",
            Part::LeftHand => "left_hand",
            Part::RightHand => "right_hand",
            Part::Face => "face",
        }
    }

    /// Words for tables.
    pub fn label(self) -> &'static str {
        match self {
            Part::Body => "body",
            Part::LeftHand => "left hand",
            Part::RightHand => "right hand",
            Part::Face => "face",
        }
    }

    /// The part a skinning joint belongs to: wrist and fingers of a side are
    /// that hand; head, jaw and eyes are the face; the rest is the body.
    pub fn of_joint(joint: usize) -> Part {
        let left_fingers = idx::LEFT_INDEX1..idx::LEFT_INDEX1 + NUM_HAND_JOINTS;
        let right_fingers = idx::RIGHT_INDEX1..idx::RIGHT_INDEX1 + NUM_HAND_JOINTS;
        if joint == idx::LEFT_WRIST || left_fingers.contains(&joint) {
            Part::LeftHand
        } else if joint == idx::RIGHT_WRIST || right_fingers.contains(&joint) {
            Part::RightHand
        } else if [
            idx::HEAD,
            idx::JAW,
            idx::LEFT_EYE_SMPLHF,
            idx::RIGHT_EYE_SMPLHF,
        ]
        .contains(&joint)
        {
            Part::Face
        } else {
            Part::Body
        }
    }
}

/// Where a part split came from; every report says it.
#[derive(Debug, Clone, PartialEq)]
pub enum PartSource {
    /// `SMPL-X__FLAME_vertex_ids.npy` and `MANO_SMPLX_vertex_ids.pkl` in a directory.
    OfficialFiles { dir: String },
    /// Dominant skinning joint of each vertex of a model.
    SkinningWeights { model: String },
}

impl fmt::Display for PartSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartSource::OfficialFiles { dir } => {
                write!(f, "official correspondence files in {dir}")
            }
            PartSource::SkinningWeights { model } => write!(f, "skinning weights of {model}"),
        }
    }
}

/// SMPL-X vertex ids of each part.
#[derive(Debug, Clone, PartialEq)]
pub struct PartVertices {
    pub body: Vec<usize>,
    pub left_hand: Vec<usize>,
    pub right_hand: Vec<usize>,
    pub face: Vec<usize>,
    /// Vertices of the mesh the ids index.
    pub num_vertices: usize,
    pub source: PartSource,
}

impl PartVertices {
    pub fn part(&self, part: Part) -> &[usize] {
        match part {
            Part::Body => &self.body,
            Part::LeftHand => &self.left_hand,
            Part::RightHand => &self.right_hand,
            Part::Face => &self.face,
        }
    }

    /// Each vertex goes to the part of its dominant joint (largest weight;
    /// the first on ties). `weights` is `[num_vertices, 55]`, as in
    /// `SmplxData::weights`; `model` names it in reports.
    pub fn from_skinning_weights(
        weights: &[f32],
        num_vertices: usize,
        model: impl Into<String>,
    ) -> Result<Self> {
        let model = model.into();
        if weights.len() != num_vertices * NUM_JOINTS {
            return Err(MetricsError::Invalid(format!(
                "{model}: {} skinning weights, expected {num_vertices} × {NUM_JOINTS}",
                weights.len()
            )));
        }
        let mut parts = Self {
            body: Vec::new(),
            left_hand: Vec::new(),
            right_hand: Vec::new(),
            face: Vec::new(),
            num_vertices,
            source: PartSource::SkinningWeights { model },
        };
        for (v, row) in weights.chunks_exact(NUM_JOINTS).enumerate() {
            let mut best = 0;
            for (j, &w) in row.iter().enumerate() {
                if w > row[best] {
                    best = j;
                }
            }
            parts.ids_mut(Part::of_joint(best)).push(v);
        }
        Ok(parts)
    }

    fn ids_mut(&mut self, part: Part) -> &mut Vec<usize> {
        match part {
            Part::Body => &mut self.body,
            Part::LeftHand => &mut self.left_hand,
            Part::RightHand => &mut self.right_hand,
            Part::Face => &mut self.face,
        }
    }

    /// Face and hand ids as given; the body is every other vertex. Each id
    /// list is `(name of its origin, ids)` for error messages.
    pub fn from_correspondences(
        face: (&str, &[i64]),
        left_hand: (&str, &[i64]),
        right_hand: (&str, &[i64]),
        num_vertices: usize,
        source: PartSource,
    ) -> Result<Self> {
        let convert = |(origin, ids): (&str, &[i64])| -> Result<Vec<usize>> {
            ids.iter()
                .map(|&id| {
                    usize::try_from(id)
                        .ok()
                        .filter(|&i| i < num_vertices)
                        .ok_or_else(|| {
                            MetricsError::Invalid(format!(
                                "{origin}: vertex id {id} outside 0..{num_vertices}"
                            ))
                        })
                })
                .collect()
        };
        let (face, left_hand, right_hand) =
            (convert(face)?, convert(left_hand)?, convert(right_hand)?);
        let mut taken = vec![false; num_vertices];
        for &i in face.iter().chain(&left_hand).chain(&right_hand) {
            taken[i] = true;
        }
        let body = (0..num_vertices).filter(|&i| !taken[i]).collect();
        Ok(Self {
            body,
            left_hand,
            right_hand,
            face,
            num_vertices,
            source,
        })
    }

    /// Reads the official correspondence files in `dir`:
    /// `SMPL-X__FLAME_vertex_ids.npy` (5023 ids) and
    /// `MANO_SMPLX_vertex_ids.pkl` (a pickled dict with `left_hand` and
    /// `right_hand`, 778 ids each). The body is every other vertex.
    pub fn from_official_dir(dir: &Path, num_vertices: usize) -> Result<Self> {
        let face_path = dir.join(FACE_IDS_FILE);
        let face_name = face_path.display().to_string();
        let face = read_npy_file(&face_path)?;
        let face = ids_of(&face_name, "(array)", face, FLAME_NUM_VERTICES)?;
        let hand_path = dir.join(HAND_IDS_FILE);
        let hand_name = hand_path.display().to_string();
        let mut hands = read_pickle_file(&hand_path)?;
        let mut take =
            |key: &str| -> Result<Vec<i64>> {
                let at = hands.iter().position(|(k, _)| k == key).ok_or_else(|| {
                    NpzError::MissingKey {
                        file: hand_name.clone(),
                        key: key.into(),
                    }
                })?;
                let (_, array) = hands.swap_remove(at);
                ids_of(&hand_name, key, array, MANO_NUM_VERTICES)
            };
        let left = take("left_hand")?;
        let right = take("right_hand")?;
        let (left_origin, right_origin) = (
            format!("{hand_name} 'left_hand'"),
            format!("{hand_name} 'right_hand'"),
        );
        Self::from_correspondences(
            (&face_name, &face),
            (&left_origin, &left),
            (&right_origin, &right),
            num_vertices,
            PartSource::OfficialFiles {
                dir: dir.display().to_string(),
            },
        )
    }
}

/// Integer ids of shape `(len,)` from an array read from `file`.
fn ids_of(file: &str, key: &str, array: crate::npz::NpyArray, len: usize) -> Result<Vec<i64>> {
    if array.shape != [len] {
        return Err(NpzError::Shape {
            file: file.into(),
            key: key.into(),
            found: array.shape,
            expected: format!("({len},)"),
        }
        .into());
    }
    array.to_i64().ok_or_else(|| {
        NpzError::BadArray {
            file: file.into(),
            key: key.into(),
            reason: "expected integer vertex ids".into(),
        }
        .into()
    })
}

/// PA mean distance of each part ([`Part::ALL`] order), each part selected
/// and aligned on its own; `None` for a part without vertices.
pub fn part_pa_errors(
    pred: &[Point],
    gt: &[Point],
    parts: &PartVertices,
) -> Result<[Option<f64>; 4]> {
    check_pair(pred, gt)?;
    if pred.len() != parts.num_vertices {
        return Err(MetricsError::Invalid(format!(
            "{} points, but the parts ({}) index {} vertices",
            pred.len(),
            parts.source,
            parts.num_vertices
        )));
    }
    let mut out = [None; 4];
    for (slot, part) in out.iter_mut().zip(Part::ALL) {
        let ids = parts.part(part);
        if ids.is_empty() {
            continue;
        }
        let select = |points: &[Point]| ids.iter().map(|&i| points[i]).collect::<Vec<_>>();
        *slot = Some(pa_mean_distance(&select(pred), &select(gt))?);
    }
    Ok(out)
}

/// Scan-to-mesh distances (NoW): for every scan point, the distance to the
/// nearest point on the mesh's triangles.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanToMesh {
    pub distances: Vec<f64>,
    pub mean: f64,
    /// Middle value (mean of the two middle ones for an even count).
    pub median: f64,
    /// Population standard deviation.
    pub std: f64,
}

/// Closest point to `p` on triangle `abc` (Ericson, Real-Time Collision
/// Detection §5.1.5); triangles without area fall back to their edges.
fn closest_on_triangle(
    p: Vector3<f64>,
    a: Vector3<f64>,
    b: Vector3<f64>,
    c: Vector3<f64>,
) -> Vector3<f64> {
    let (ab, ac) = (b - a, c - a);
    let scale = ab.norm_squared().max(ac.norm_squared());
    if ab.cross(&ac).norm_squared() <= 1e-24 * scale * scale {
        return [(a, b), (b, c), (c, a)]
            .into_iter()
            .map(|(s, e)| closest_on_segment(p, s, e))
            .min_by(|x, y| (x - p).norm_squared().total_cmp(&(y - p).norm_squared()))
            .unwrap_or(a);
    }
    let ap = p - a;
    let (d1, d2) = (ab.dot(&ap), ac.dot(&ap));
    if d1 <= 0.0 && d2 <= 0.0 {
        return a;
    }
    let bp = p - b;
    let (d3, d4) = (ab.dot(&bp), ac.dot(&bp));
    if d3 >= 0.0 && d4 <= d3 {
        return b;
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        return a + ab * (d1 / (d1 - d3));
    }
    let cp = p - c;
    let (d5, d6) = (ab.dot(&cp), ac.dot(&cp));
    if d6 >= 0.0 && d5 <= d6 {
        return c;
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        return a + ac * (d2 / (d2 - d6));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && d4 - d3 >= 0.0 && d5 - d6 >= 0.0 {
        return b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6)));
    }
    let denom = va + vb + vc;
    a + ab * (vb / denom) + ac * (vc / denom)
}

fn closest_on_segment(p: Vector3<f64>, s: Vector3<f64>, e: Vector3<f64>) -> Vector3<f64> {
    let d = e - s;
    let len2 = d.norm_squared();
    if len2 == 0.0 {
        return s;
    }
    s + d * ((p - s).dot(&d) / len2).clamp(0.0, 1.0)
}

/// NoW-style scan-to-mesh distance. With `landmarks = Some((on_mesh,
/// on_scan))` the mesh is first moved by the similarity taking its landmarks
/// onto the scan's (corresponding points); otherwise it is used as is.
/// Brute force over triangles, skipping those whose bounding box is farther
/// than the best distance so far.
pub fn scan_to_mesh(
    scan: &[Point],
    vertices: &[Point],
    faces: &[[u32; 3]],
    landmarks: Option<(&[Point], &[Point])>,
) -> Result<ScanToMesh> {
    if scan.is_empty() || faces.is_empty() {
        return Err(MetricsError::Empty);
    }
    check_finite(scan, "scan")?;
    check_finite(vertices, "mesh")?;
    if let Some(bad) = faces
        .iter()
        .flatten()
        .find(|&&i| i as usize >= vertices.len())
    {
        return Err(MetricsError::Invalid(format!(
            "face index {bad} outside 0..{}",
            vertices.len()
        )));
    }
    let moved;
    let vertices = match landmarks {
        Some((on_mesh, on_scan)) => {
            moved = similarity_transform(on_mesh, on_scan)?.apply_all(vertices);
            &moved
        }
        None => vertices,
    };
    let triangles: Vec<[Vector3<f64>; 3]> = faces
        .iter()
        .map(|f| f.map(|i| vec3(&vertices[i as usize])))
        .collect();
    let boxes: Vec<(Vector3<f64>, Vector3<f64>)> = triangles
        .iter()
        .map(|[a, b, c]| (a.inf(b).inf(c), a.sup(b).sup(c)))
        .collect();
    let distances: Vec<f64> = scan
        .iter()
        .map(|p| {
            let p = vec3(p);
            let mut best = f64::INFINITY;
            for ([a, b, c], (lo, hi)) in triangles.iter().zip(&boxes) {
                let outside = (lo - p).sup(&(p - hi)).sup(&Vector3::zeros());
                if outside.norm_squared() >= best {
                    continue;
                }
                best = best.min((closest_on_triangle(p, *a, *b, *c) - p).norm_squared());
            }
            best.sqrt()
        })
        .collect();
    let n = distances.len() as f64;
    let mean = distances.iter().sum::<f64>() / n;
    let std = (distances.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut sorted = distances.clone();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        0.5 * (sorted[mid - 1] + sorted[mid])
    };
    Ok(ScanToMesh {
        distances,
        mean,
        median,
        std,
    })
}

/// Per-part PA errors of one sample, millimetres (`null`: empty part).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PartErrorsMm {
    pub body: Option<f64>,
    pub left_hand: Option<f64>,
    pub right_hand: Option<f64>,
    pub face: Option<f64>,
}

impl PartErrorsMm {
    pub fn get(&self, part: Part) -> Option<f64> {
        match part {
            Part::Body => self.body,
            Part::LeftHand => self.left_hand,
            Part::RightHand => self.right_hand,
            Part::Face => self.face,
        }
    }
}

/// Metrics of one sample, millimetres.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleMetrics {
    /// Mean per-point distance, no alignment.
    pub error_mm: f64,
    /// Mean per-point distance after similarity Procrustes.
    pub pa_error_mm: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<PartErrorsMm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_5mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_15mm: Option<f64>,
}

/// One part over all samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartSummary {
    pub num_vertices: usize,
    pub pa_error_mm: Option<f64>,
}

/// Per-part results over all samples, with where the parts came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartsSummary {
    /// "official correspondence files in DIR" or "skinning weights of MODEL".
    pub source: String,
    pub body: PartSummary,
    pub left_hand: PartSummary,
    pub right_hand: PartSummary,
    pub face: PartSummary,
}

impl PartsSummary {
    pub fn get(&self, part: Part) -> &PartSummary {
        match part {
            Part::Body => &self.body,
            Part::LeftHand => &self.left_hand,
            Part::RightHand => &self.right_hand,
            Part::Face => &self.face,
        }
    }
}

/// Metrics of a batch: means over samples (all samples have the same number
/// of points, so these are also means over all points) and per sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchReport {
    pub num_samples: usize,
    pub num_points: usize,
    pub error_mm: f64,
    pub pa_error_mm: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<PartsSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_5mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_15mm: Option<f64>,
    pub per_sample: Vec<SampleMetrics>,
}

/// Evaluates `N` samples of `num_points` points each (`pred` and `gt` are
/// `[N · num_points]`): errors with and without similarity Procrustes,
/// per-part PA errors when `parts` is given, and F@5mm / F@15mm when
/// `num_points` is a hand layout (778 MANO vertices or 21 keypoints).
pub fn evaluate(
    pred: &[Point],
    gt: &[Point],
    num_points: usize,
    parts: Option<&PartVertices>,
) -> Result<BatchReport> {
    check_pair(pred, gt)?;
    if num_points == 0 || !pred.len().is_multiple_of(num_points) {
        return Err(MetricsError::Invalid(format!(
            "{} points do not split into samples of {num_points}",
            pred.len()
        )));
    }
    let hand = num_points == MANO_NUM_VERTICES || num_points == HAND_NUM_KEYPOINTS;
    let mm = |m: f64| m * 1000.0;
    let per_sample = pred
        .chunks_exact(num_points)
        .zip(gt.chunks_exact(num_points))
        .map(|(p, g)| {
            let aligned = similarity_procrustes(p, g)?;
            let parts = parts
                .map(|parts| -> Result<PartErrorsMm> {
                    let [body, left_hand, right_hand, face] =
                        part_pa_errors(p, g, parts)?.map(|e| e.map(mm));
                    Ok(PartErrorsMm {
                        body,
                        left_hand,
                        right_hand,
                        face,
                    })
                })
                .transpose()?;
            let (f5, f15) = if hand {
                (
                    Some(f_score(&aligned, g, F_SCORE_THRESHOLDS[0])?),
                    Some(f_score(&aligned, g, F_SCORE_THRESHOLDS[1])?),
                )
            } else {
                (None, None)
            };
            Ok(SampleMetrics {
                error_mm: mm(mean_distance(p, g)?),
                pa_error_mm: mm(mean_distance(&aligned, g)?),
                parts,
                f_score_5mm: f5,
                f_score_15mm: f15,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let n = per_sample.len() as f64;
    let mean = |f: &dyn Fn(&SampleMetrics) -> Option<f64>| -> Option<f64> {
        per_sample.iter().map(f).sum::<Option<f64>>().map(|s| s / n)
    };
    let parts = parts.map(|parts| {
        let summary = |part: Part| PartSummary {
            num_vertices: parts.part(part).len(),
            pa_error_mm: mean(&|s| s.parts.and_then(|e| e.get(part))),
        };
        PartsSummary {
            source: parts.source.to_string(),
            body: summary(Part::Body),
            left_hand: summary(Part::LeftHand),
            right_hand: summary(Part::RightHand),
            face: summary(Part::Face),
        }
    });
    Ok(BatchReport {
        num_samples: per_sample.len(),
        num_points,
        error_mm: mean(&|s| Some(s.error_mm)).unwrap_or(0.0),
        pa_error_mm: mean(&|s| Some(s.pa_error_mm)).unwrap_or(0.0),
        parts,
        f_score_5mm: mean(&|s| s.f_score_5mm),
        f_score_15mm: mean(&|s| s.f_score_15mm),
        per_sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npz::NpzArchive;
    use nalgebra::Rotation3;

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
    }

    /// Deterministic points in [-0.5, 0.5)³ (a small LCG; tests only).
    fn points(seed: u64, n: usize) -> Vec<Point> {
        let mut state = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        (0..n).map(|_| [next(), next(), next()]).collect()
    }

    fn transform(points: &[Point], scale: f64, axis_angle: [f64; 3], t: Point) -> Vec<Point> {
        let r = Rotation3::new(Vector3::from(axis_angle));
        points
            .iter()
            .map(|p| {
                let q = scale * (r * vec3(p));
                [q.x + t[0], q.y + t[1], q.z + t[2]]
            })
            .collect()
    }

    fn max_point_diff(a: &[Point], b: &[Point]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| distance(x, y))
            .fold(0.0, f64::max)
    }

    #[test]
    fn known_similarity_is_recovered() {
        let pred = points(1, 40);
        let gt = transform(&pred, 1.7, [0.3, -2.1, 0.9], [0.5, -1.0, 2.0]);
        let sim = similarity_transform(&pred, &gt).unwrap();
        assert!((sim.scale - 1.7).abs() < 1e-12, "{}", sim.scale);
        let r = Rotation3::new(Vector3::new(0.3, -2.1, 0.9));
        for i in 0..3 {
            for j in 0..3 {
                assert!((sim.rotation[i][j] - r[(i, j)]).abs() < 1e-12);
            }
        }
        assert!(max_point_diff(&[sim.translation], &[[0.5, -1.0, 2.0]]) < 1e-12);
        assert!(pa_mpjpe(&pred, &gt).unwrap() < 1e-12);
        // Without alignment the error is large.
        assert!(mpjpe(&pred, &gt).unwrap() > 0.5);
    }

    #[test]
    fn mirror_image_is_aligned_by_a_rotation_not_a_reflection() {
        let pred = points(2, 50);
        let mirrored: Vec<Point> = pred.iter().map(|p| [-p[0], p[1], p[2]]).collect();
        let gt = transform(&mirrored, 0.8, [1.0, 0.2, -0.4], [0.1, 0.2, 0.3]);
        let sim = similarity_transform(&pred, &gt).unwrap();
        let r = Matrix3::from_fn(|i, j| sim.rotation[i][j]);
        assert!((r.determinant() - 1.0).abs() < 1e-12, "{}", r.determinant());
        assert!((r * r.transpose() - Matrix3::identity()).abs().max() < 1e-12);
        // A reflection would match exactly; a rotation cannot.
        let pa = pa_v2v(&pred, &gt).unwrap();
        assert!(pa > 0.05, "{pa}");
        // ... but the best rotation still beats no rotation at all.
        let no_rotation = Similarity {
            rotation: Similarity::identity().rotation,
            ..sim
        };
        assert!(mean_distance(&no_rotation.apply_all(&pred), &gt).unwrap() > pa);
    }

    #[test]
    fn near_collinear_sets_keep_full_precision() {
        // Spread 1 : 1e-4 : 5e-5 — nalgebra's own 3×3 SVD misaligns this by 1e-5 m.
        let pred: Vec<Point> = points(3, 40)
            .into_iter()
            .map(|p| [p[0], p[1] * 1e-4, p[2] * 5e-5])
            .collect();
        let gt = transform(&pred, 1.3, [-0.7, 0.4, 2.5], [0.0, 1.0, 0.0]);
        let aligned = similarity_procrustes(&pred, &gt).unwrap();
        assert!(max_point_diff(&aligned, &gt) < 1e-13);
    }

    #[test]
    fn svd3_decomposes_full_and_rank_deficient_matrices() {
        let mut cases: Vec<Matrix3<f64>> = (0..200)
            .map(|s| {
                let p = points(100 + s, 3);
                Matrix3::from_fn(|i, j| p[i][j])
            })
            .collect();
        let a = Vector3::new(0.3, -0.2, 0.5);
        let b = Vector3::new(-0.1, 0.4, 0.2);
        cases.push(a * b.transpose()); // rank 1
        cases.push(a * b.transpose() + b * a.transpose()); // rank 2
        cases.push(Matrix3::zeros());
        cases.push(Matrix3::from_diagonal(&Vector3::new(1.0, 1.0, 1e-30)));
        for m in cases {
            let (u, s, v) = svd3(&m);
            let eye = Matrix3::<f64>::identity();
            assert!((u.transpose() * u - eye).abs().max() < 1e-13, "{m}");
            assert!((v.transpose() * v - eye).abs().max() < 1e-13, "{m}");
            assert!(s.iter().all(|&x| x >= 0.0));
            let back = u * Matrix3::from_diagonal(&s) * v.transpose();
            assert!(
                (back - m).abs().max() <= 1e-14 * m.abs().max().max(1e-300),
                "{m}"
            );
        }
    }

    #[test]
    fn degenerate_sets_give_documented_finite_results() {
        let gt = points(4, 12);
        let mu = centroid(&gt);
        let spread = gt.iter().map(|g| (vec3(g) - mu).norm()).sum::<f64>() / 12.0;
        // All predicted points equal, or all zero: aligned onto the gt centroid.
        for value in [[0.1, -0.2, 0.3], [0.0; 3]] {
            let pred = vec![value; 12];
            let aligned = similarity_procrustes(&pred, &gt).unwrap();
            assert!(aligned.iter().all(|a| (vec3(a) - mu).norm() < 1e-15));
            assert!((pa_mpjpe(&pred, &gt).unwrap() - spread).abs() < 1e-15);
        }
        // Ground truth a single point: prediction collapses onto it.
        let same = vec![[0.5, 0.25, -1.0]; 12];
        assert!(pa_mpjpe(&gt, &same).unwrap() < 1e-15);
        // One point, two points, collinear with collinear, collinear with a cloud.
        assert_eq!(pa_mpjpe(&gt[..1], &same[..1]).unwrap(), 0.0);
        assert!(pa_mpjpe(&gt[..2], &gt[2..4]).unwrap() < 1e-15);
        let line = |d: Point, o: f64| -> Vec<Point> {
            (0..10)
                .map(|i| {
                    let t = i as f64 * 0.1 - 0.3;
                    [o + t * d[0], o + t * d[1], o + t * d[2]]
                })
                .collect()
        };
        let (l1, l2) = (line([1.0, 2.0, -1.0], 0.3), line([0.2, -0.5, 0.7], -1.0));
        assert!(pa_mpjpe(&l1, &l2).unwrap() < 1e-14);
        for (p, g) in [(&l1, &gt[..10]), (&gt[..10].to_vec(), &l1)] {
            let e = pa_mpjpe(p, g).unwrap();
            assert!(e.is_finite() && e > 0.0);
        }
    }

    #[test]
    fn bad_input_is_an_error_not_nan() {
        let a = points(5, 4);
        assert!(matches!(
            mpjpe(&a, &a[..3]),
            Err(MetricsError::LengthMismatch { pred: 4, gt: 3 })
        ));
        assert!(matches!(pa_mpjpe(&[], &[]), Err(MetricsError::Empty)));
        let mut b = a.clone();
        b[2][1] = f64::NAN;
        assert!(matches!(
            pa_mpjpe(&a, &b),
            Err(MetricsError::NonFinite {
                which: "ground truth",
                index: 2
            })
        ));
        b[2][1] = f64::INFINITY;
        assert!(f_score(&b, &a, 0.01).is_err());
    }

    #[test]
    fn f_score_counts_points_within_the_threshold() {
        let gt: Vec<Point> = (0..10).map(|i| [i as f64 * 0.1, 0.0, 0.0]).collect();
        // Half the points 3 mm off, half 10 mm off.
        let pred: Vec<Point> = gt
            .iter()
            .enumerate()
            .map(|(i, g)| [g[0], g[1] + if i < 5 { 0.003 } else { 0.010 }, g[2]])
            .collect();
        assert_eq!(f_score(&pred, &gt, 0.005).unwrap(), 0.5);
        assert_eq!(f_score(&pred, &gt, 0.015).unwrap(), 1.0);
        assert_eq!(f_score(&pred, &gt, 0.001).unwrap(), 0.0);
        // Exactly on the threshold does not count (FreiHAND uses d < t).
        assert_eq!(f_score(&pred, &gt, 0.003).unwrap(), 0.0);
    }

    #[test]
    fn parts_from_skinning_weights_follow_the_dominant_joint() {
        // One vertex per probe joint, plus a tie (first joint wins).
        let probes = [0, 15, 20, 21, 22, 23, 24, 25, 39, 40, 54, 12, 18];
        let mut weights = vec![0.0f32; (probes.len() + 1) * NUM_JOINTS];
        for (v, &j) in probes.iter().enumerate() {
            weights[v * NUM_JOINTS + j] = 0.9;
            weights[v * NUM_JOINTS + (j + 1) % NUM_JOINTS] = 0.1;
        }
        let tie = probes.len();
        weights[tie * NUM_JOINTS + 22] = 0.5;
        weights[tie * NUM_JOINTS + 30] = 0.5;
        let parts =
            PartVertices::from_skinning_weights(&weights, probes.len() + 1, "test").unwrap();
        assert_eq!(parts.body, vec![0, 11, 12]);
        assert_eq!(parts.face, vec![1, 4, 5, 6, tie]);
        assert_eq!(parts.left_hand, vec![2, 7, 8]);
        assert_eq!(parts.right_hand, vec![3, 9, 10]);
        assert_eq!(parts.source.to_string(), "skinning weights of test");
        assert!(PartVertices::from_skinning_weights(&weights, 3, "test").is_err());
    }

    #[test]
    fn official_correspondence_files_are_read() {
        let dir = fixtures().join("metrics_parts");
        let parts = PartVertices::from_official_dir(&dir, SMPLX_NUM_VERTICES).unwrap();
        assert_eq!(
            (
                parts.face.len(),
                parts.left_hand.len(),
                parts.right_hand.len()
            ),
            (5023, 778, 778)
        );
        assert_eq!(parts.body.len(), SMPLX_NUM_VERTICES - 5023 - 2 * 778);
        assert!(parts
            .source
            .to_string()
            .starts_with("official correspondence files in "));
        // Fewer vertices than the ids need.
        let err = PartVertices::from_official_dir(&dir, 6000)
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside 0..6000"), "{err}");
        let err = PartVertices::from_official_dir(&fixtures(), SMPLX_NUM_VERTICES)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(FACE_IDS_FILE) && err.contains("cannot read"),
            "{err}"
        );
    }

    fn read(npz: &mut NpzArchive<std::io::BufReader<std::fs::File>>, key: &str) -> Vec<f64> {
        npz.read(key).unwrap().to_f64().unwrap()
    }

    fn as_points(v: &[f64]) -> Vec<Point> {
        v.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
    }

    /// Relative difference; values under 1 µm (exact alignments, ~1e-16 m)
    /// are compared against 1 µm instead.
    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / a.abs().max(b.abs()).max(1e-6)
    }

    /// Largest relative difference seen on values over 1 µm, and largest
    /// absolute difference on the others.
    #[derive(Default)]
    struct Worst {
        rel: f64,
        abs_small: f64,
    }

    impl Worst {
        fn see(&mut self, a: f64, b: f64) {
            if a.abs().max(b.abs()) >= 1e-6 {
                self.rel = self.rel.max(rel(a, b));
            } else {
                self.abs_small = self.abs_small.max((a - b).abs());
            }
        }
    }

    /// Every case of tests/fixtures/metrics_reference.{npz,json} (numpy /
    /// scipy, gen_metrics_fixtures.py).
    #[test]
    fn reference_fixtures_agree() {
        let text = std::fs::read_to_string(fixtures().join("metrics_reference.json")).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut npz = NpzArchive::open(&fixtures().join("metrics_reference.npz")).unwrap();
        let (mut worst, mut worst_point) = (Worst::default(), 0.0f64);
        let cases = manifest["cases"].as_array().unwrap();
        assert!(cases.len() >= 12);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let k = case["k"].as_u64().unwrap() as usize;
            let pred = as_points(&read(&mut npz, &format!("{name}__pred")));
            let gt = as_points(&read(&mut npz, &format!("{name}__gt")));
            let want_aligned = as_points(&read(&mut npz, &format!("{name}__aligned")));
            for (i, ((p, g), a)) in pred
                .chunks(k)
                .zip(gt.chunks(k))
                .zip(want_aligned.chunks(k))
                .enumerate()
            {
                let aligned = similarity_procrustes(p, g).unwrap();
                worst_point = worst_point.max(max_point_diff(&aligned, a));
                let checks = [
                    ("error", mean_distance(p, g).unwrap()),
                    ("pa_error", pa_mean_distance(p, g).unwrap()),
                ];
                for (key, got) in checks {
                    let want = case[key][i].as_f64().unwrap();
                    worst.see(got, want);
                    assert!(rel(got, want) < 1e-9, "{name}[{i}] {key}: {got} vs {want}");
                }
                if case.get("f5").is_some() {
                    let f = pa_f_scores(p, g, &F_SCORE_THRESHOLDS).unwrap();
                    for (got, key) in f.into_iter().zip(["f5", "f15"]) {
                        let want = case[key][i].as_f64().unwrap();
                        worst.see(got, want);
                        assert!(
                            (got - want).abs() < 1e-12,
                            "{name}[{i}] {key}: {got} vs {want}"
                        );
                    }
                }
            }
        }
        assert!(
            worst_point < 1e-12,
            "aligned points differ by {worst_point}"
        );

        for case in manifest["parts"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let pred = as_points(&read(&mut npz, &format!("{name}__pred")));
            let gt = as_points(&read(&mut npz, &format!("{name}__gt")));
            let mut ids = |part: &str| -> Vec<i64> {
                read(&mut npz, &format!("{name}__{part}"))
                    .into_iter()
                    .map(|x| x as i64)
                    .collect()
            };
            let (face, left, right) = (ids("face"), ids("left_hand"), ids("right_hand"));
            let parts = PartVertices::from_correspondences(
                ("face", &face),
                ("left", &left),
                ("right", &right),
                pred.len(),
                PartSource::OfficialFiles { dir: "mem".into() },
            )
            .unwrap();
            assert_eq!(
                parts.body,
                ids("body").iter().map(|&i| i as usize).collect::<Vec<_>>()
            );
            let got = part_pa_errors(&pred, &gt, &parts).unwrap();
            for (part, got) in Part::ALL.into_iter().zip(got) {
                let want = case["pa_error"][part.key()].as_f64().unwrap();
                let got = got.unwrap();
                worst.see(got, want);
                assert!(
                    rel(got, want) < 1e-9,
                    "{name} {}: {got} vs {want}",
                    part.key()
                );
            }
        }

        for case in manifest["scans"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let scan = as_points(&read(&mut npz, &format!("{name}__scan")));
            let vertices = as_points(&read(&mut npz, &format!("{name}__vertices")));
            let faces: Vec<[u32; 3]> = read(&mut npz, &format!("{name}__faces"))
                .chunks_exact(3)
                .map(|c| [c[0] as u32, c[1] as u32, c[2] as u32])
                .collect();
            let want = read(&mut npz, &format!("{name}__distances"));
            let landmarks = if npz.contains(&format!("{name}__mesh_landmarks")) {
                Some((
                    as_points(&read(&mut npz, &format!("{name}__mesh_landmarks"))),
                    as_points(&read(&mut npz, &format!("{name}__scan_landmarks"))),
                ))
            } else {
                None
            };
            let got = scan_to_mesh(
                &scan,
                &vertices,
                &faces,
                landmarks
                    .as_ref()
                    .map(|(m, s)| (m.as_slice(), s.as_slice())),
            )
            .unwrap();
            for (g, w) in got.distances.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "{name}: {g} vs {w}");
            }
            for (key, g) in [("mean", got.mean), ("median", got.median), ("std", got.std)] {
                let w = case[key].as_f64().unwrap();
                worst.see(g, w);
                assert!(rel(g, w) < 1e-9, "{name} {key}: {g} vs {w}");
            }
        }
        eprintln!(
            "metrics vs numpy/scipy reference: max relative difference {:.3e} (values over 1 µm), \
             max absolute difference {:.3e} (values under 1 µm), max aligned-point difference \
             {worst_point:.3e} m",
            worst.rel, worst.abs_small
        );
    }

    #[test]
    fn evaluate_reports_means_parts_and_hand_scores() {
        let gt = points(6, 2 * 21);
        let pred: Vec<Point> = gt
            .iter()
            .map(|g| [g[0] + 0.004, g[1], g[2] * 1.01])
            .collect();
        let report = evaluate(&pred, &gt, 21, None).unwrap();
        assert_eq!((report.num_samples, report.num_points), (2, 21));
        assert!(report.f_score_5mm.is_some() && report.parts.is_none());
        let first = mpjpe(&pred[..21], &gt[..21]).unwrap() * 1000.0;
        assert!((report.per_sample[0].error_mm - first).abs() < 1e-12);
        let mean = (report.per_sample[0].pa_error_mm + report.per_sample[1].pa_error_mm) / 2.0;
        assert!((report.pa_error_mm - mean).abs() < 1e-12);
        assert!(evaluate(&pred, &gt, 20, None).is_err());

        let parts = PartVertices::from_correspondences(
            ("f", &[0, 1, 2]),
            ("l", &[]),
            ("r", &[3]),
            21,
            PartSource::SkinningWeights { model: "m".into() },
        )
        .unwrap();
        let report = evaluate(&pred, &gt, 21, Some(&parts)).unwrap();
        let summary = report.parts.as_ref().unwrap();
        assert_eq!(summary.source, "skinning weights of m");
        assert_eq!(summary.left_hand.pa_error_mm, None);
        assert_eq!(summary.right_hand.pa_error_mm, Some(0.0));
        assert_eq!(summary.body.num_vertices, 17);
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["parts"]["left_hand"]["pa_error_mm"].is_null());
        assert!(json["per_sample"][1]["f_score_15mm"].is_number());
    }
}
