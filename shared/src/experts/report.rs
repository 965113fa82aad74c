//! Held-out scoring: predictions as host rows, the best constant (the
//! targets' chordal mean), per-group errors against it, and a pseudo label's error.

use burn::tensor::backend::Backend;
use nalgebra::Matrix3;
use serde::{Deserialize, Serialize};

use super::{aa, flat, ExpertTarget, ExpressionGeometry};
use crate::nets::{ExpertKind, ExpertPrediction};
use crate::rotation::host::Mat3;

/// The prediction on the host, in the target layout, one per batch row.
pub fn prediction_rows<B: Backend>(
    prediction: &ExpertPrediction<B>,
) -> Result<Vec<ExpertTarget>, crate::readback::ReadbackError> {
    let [n, r, _, _] = prediction.rotations.dims();
    let rot = crate::readback::floats(prediction.rotations.clone())?;
    let (k, rest) = match &prediction.rest {
        Some(t) => (t.dims()[1], crate::readback::floats(t.clone())?),
        None => (0, vec![]),
    };
    Ok((0..n)
        .map(|b| ExpertTarget {
            rotations: (0..r)
                .map(|j| {
                    let mut m = [0.0f32; 9];
                    m.copy_from_slice(&rot[(b * r + j) * 9..(b * r + j + 1) * 9]);
                    m
                })
                .collect(),
            rest: rest[b * k..(b + 1) * k].to_vec(),
        })
        .collect())
}

/// Angle of `aᵀ·b` in degrees, from the chordal distance
/// ‖a − b‖_F = 2√2·sin(θ/2) (stable near zero, where acos of the trace is not).
pub fn rotation_angle_deg(a: &[f32; 9], b: &[f32; 9]) -> f64 {
    let d2: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum();
    let half = (d2.sqrt() / (2.0 * std::f64::consts::SQRT_2)).clamp(0.0, 1.0);
    (2.0 * half.asin()).to_degrees()
}

/// The best constant (the targets' mean): per rotation the chordal mean (the average
/// matrix projected back onto rotations), per other value the mean.
pub fn mean_target(targets: &[ExpertTarget]) -> Option<ExpertTarget> {
    let first = targets.first()?;
    let n = targets.len() as f64;
    let rotations = (0..first.rotations.len())
        .map(|j| {
            let mut sum = Matrix3::<f64>::zeros();
            for t in targets {
                sum += Matrix3::from_row_slice(&t.rotations[j].map(f64::from));
            }
            // The chordal mean (crate::baseline), by the Jacobi SVD that
            // metrics trusts (nalgebra's own loses accuracy on near-rank-deficient sums).
            let r = crate::metrics::nearest_rotation(&sum);
            let mut m = [0.0f32; 9];
            for i in 0..3 {
                for k in 0..3 {
                    m[i * 3 + k] = r[(i, k)] as f32;
                }
            }
            m
        })
        .collect();
    let rest = (0..first.rest.len())
        .map(|i| (targets.iter().map(|t| t.rest[i] as f64).sum::<f64>() / n) as f32)
        .collect();
    Some(ExpertTarget { rotations, rest })
}

/// One reported error: expert vs the best constant on the same crops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupError {
    pub name: String,
    /// "deg" (mean rotation angle), "mse", or "mm" (the expression's mean
    /// RMS displacement of the face, [`ExpressionGeometry`]).
    pub unit: String,
    pub expert: f64,
    pub baseline: f64,
}

/// Held-out errors of one expert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutReport {
    pub part: ExpertKind,
    pub crops: usize,
    pub groups: Vec<GroupError>,
    /// Mean over groups of expert / baseline (< 1: better than the mean).
    pub relative: f64,
    /// The part's standard error on the mesh ([`PartMesh`](super::PartMesh)): body joints'
    /// PA-MPJPE (as SPIN is judged on 3DPW), hand joints' PA-MPJPE
    /// (FreiHAND), the face's PA-V2V (NoW-like); `None` without a body model.
    #[serde(default)]
    pub mesh: Option<GroupError>,
}

impl HeldOutReport {
    /// Errors of `predictions` and of the constant `baseline` against `targets`.
    pub fn new(
        part: ExpertKind,
        predictions: &[ExpertTarget],
        targets: &[ExpertTarget],
        baseline: &ExpertTarget,
        geometry: Option<&ExpressionGeometry>,
    ) -> Self {
        let n = targets.len().max(1) as f64;
        let mut groups = Vec::new();
        for (name, range) in part.rotation_groups() {
            let err = |pred: &dyn Fn(usize) -> ExpertTarget| {
                let mut sum = 0.0;
                for (i, t) in targets.iter().enumerate() {
                    let p = pred(i);
                    for j in range.clone() {
                        sum += rotation_angle_deg(&p.rotations[j], &t.rotations[j]);
                    }
                }
                sum / (n * range.len() as f64)
            };
            groups.push(GroupError {
                name: name.into(),
                unit: "deg".into(),
                expert: err(&|i| predictions[i].clone()),
                baseline: err(&|_| baseline.clone()),
            });
        }
        for (name, range) in part.rest_groups() {
            if let Some(g) = geometry.filter(|_| part == ExpertKind::Face) {
                let err = |pred: &dyn Fn(usize) -> Vec<f32>| {
                    let mut sum = 0.0;
                    for (i, t) in targets.iter().enumerate() {
                        let p = pred(i);
                        let d: Vec<f64> = range
                            .clone()
                            .map(|k| p[k] as f64 - t.rest[k] as f64)
                            .collect();
                        sum += g.rms_mm(&d);
                    }
                    sum / n
                };
                groups.push(GroupError {
                    name: name.into(),
                    unit: "mm".into(),
                    expert: err(&|i| predictions[i].rest.clone()),
                    baseline: err(&|_| baseline.rest.clone()),
                });
                continue;
            }
            let err = |pred: &dyn Fn(usize) -> Vec<f32>| {
                let mut sum = 0.0;
                for (i, t) in targets.iter().enumerate() {
                    let p = pred(i);
                    sum += range
                        .clone()
                        .map(|k| (p[k] as f64 - t.rest[k] as f64).powi(2))
                        .sum::<f64>();
                }
                sum / (n * range.len() as f64)
            };
            groups.push(GroupError {
                name: name.into(),
                unit: "mse".into(),
                expert: err(&|i| predictions[i].rest.clone()),
                baseline: err(&|_| baseline.rest.clone()),
            });
        }
        let relative = groups
            .iter()
            .map(|g| g.expert / g.baseline.max(1e-12))
            .sum::<f64>()
            / groups.len().max(1) as f64;
        Self {
            part,
            crops: targets.len(),
            groups,
            relative,
            mesh: None,
        }
    }

    /// Adds the mesh error ([`PartMesh::error`](super::PartMesh::error)).
    pub fn with_mesh(mut self, mesh: Option<GroupError>) -> Self {
        self.mesh = mesh;
        self
    }

    /// A readable table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} expert, {} held-out crops:\n",
            self.part.name(),
            self.crops
        );
        for g in &self.groups {
            s += &format!(
                "  {:<11} expert {:>9.4} {:<3}   best constant {:>9.4} {:<3}  ({:.0}%)\n",
                g.name,
                g.expert,
                g.unit,
                g.baseline,
                g.unit,
                100.0 * g.expert / g.baseline.max(1e-12)
            );
        }
        if let Some(g) = &self.mesh {
            s += &format!(
                "  {} expert {:.2} mm, best constant {:.2} mm ({:.0}%)\n",
                g.name,
                g.expert,
                g.baseline,
                100.0 * g.expert / g.baseline.max(1e-12)
            );
        }
        s
    }
}

/// Error of a body pseudo label against the ground truth: mean rotation
/// angle (degrees) over the global orientation (camera frame) and the 21
/// body joints.
pub fn body_label_error_deg(
    global_orient: &[f32],
    body_pose: &[f32],
    gt_global: &Mat3,
    gt_body_pose: &[f32],
) -> f64 {
    let mut sum = rotation_angle_deg(&flat(&aa(global_orient)), &flat(gt_global));
    for j in 0..21 {
        let r = j * 3..j * 3 + 3;
        sum += rotation_angle_deg(
            &flat(&aa(&body_pose[r.clone()])),
            &flat(&aa(&gt_body_pose[r])),
        );
    }
    sum / 22.0
}
