//! Scoring one posed SMPL-X prediction against one benchmark sample.
//!
//! What is compared, per ground truth (all errors after a similarity
//! Procrustes, millimetres):
//!
//! * **SMPL-X mesh** (EHF, synthetic): PA-V2V over all 10 475 vertices; per
//!   part (body, hands, face; each part selected and aligned on its own, as
//!   ExPose does) with the [`PartVertices`] given; PA-MPJPE over the 22 body
//!   joints (pelvis … wrists) that the model's `J_regressor` regresses from
//!   both meshes, since EHF has meshes only.
//! * **SMPL joints** (3DPW): PA-MPJPE over the 22 joints SMPL and SMPL-X
//!   share ([`SMPL_SMPLX_COMMON_JOINTS`]): SMPL joint j is SMPL-X joint j for
//!   j < 22 (pelvis, hips, spine, knees, ankles, feet, neck, collars, head,
//!   shoulders, elbows, wrists). SMPL's joints 22 and 23 (hand roots) have no
//!   SMPL-X twin and are left out. The two models' regressors place the hips
//!   and spine slightly differently, so a perfect body still scores a few mm.
//! * **Limb joints** (Pose2Sim): PA-MPJPE over the 12 limb joints of the
//!   multi-view reference, the SMPL-X joints that SMPLify-X compares with
//!   those OpenPose points ([`limb_joints`]).
//! * **Right hand** (FreiHAND): PA-MPJPE over the 21 keypoints (the SMPL-X
//!   right wrist, finger joints and fingertips in OpenPose order,
//!   `keypoints::SMPLIFYX_RHAND`). With the official MANO ↔ SMPL-X
//!   correspondence (`MANO_SMPLX_vertex_ids.pkl`): PA-V2V over the 778 MANO
//!   vertices and F@5mm / F@15mm on them; without it the F-scores use the 21
//!   keypoints, and there is no PA-V2V.
//! * **Face scan** (NoW): scan-to-mesh distance from every scan vertex to the
//!   predicted face triangles after a similarity alignment of the 7 landmarks
//!   ([`NOW_LANDMARKS_SMPLX`]) to the scan's picked points (NoW's first,
//!   landmark-based step; its rigid ICP refinement is not done).

use serde::Serialize;

use super::pose2sim::LIMB_JOINTS;
use super::Target;
use crate::keypoints::{SMPLIFYX_BODY25, SMPLIFYX_RHAND};
use crate::metrics::{
    pa_f_scores, pa_mean_distance, part_pa_errors, scan_to_mesh, similarity_transform,
    MetricsError, Part, PartErrorsMm, PartVertices, Point, F_SCORE_THRESHOLDS,
};
use crate::smplx::joints::NUM_JOINTS;

/// The points of a prediction and of its target, in the same order.
pub type PointPair = (Vec<Point>, Vec<Point>);

/// SMPL joints 0..22 are SMPL-X joints 0..22.
pub const SMPL_SMPLX_COMMON_JOINTS: usize = 22;
/// NoW's 7 landmarks (right eye outer and inner corner, left eye inner and
/// outer corner, nose bottom, right and left mouth corner: iBUG-68 points
/// 36, 39, 42, 45, 33, 48, 54) as SMPL-X output joints (the 51 static face
/// landmarks start at joint 76 with iBUG point 17).
pub const NOW_LANDMARKS_SMPLX: [usize; 7] = [95, 98, 101, 104, 92, 107, 113];
/// At most this many points per sample are kept for the gallery.
pub const OVERLAY_POINTS: usize = 1500;

/// What the model files give the scorer.
pub struct Scorer<'a> {
    /// Parts of the SMPL-X mesh (official files or skinning weights).
    pub parts: &'a PartVertices,
    /// `[55, V]` row-major, the model's joint regressor.
    pub j_regressor: &'a [f32],
    pub faces: &'a [[u32; 3]],
    /// SMPL-X ids of the 778 MANO right-hand vertices, when the official
    /// correspondence file was given.
    pub right_hand_ids: Option<&'a [usize]>,
    /// Triangles of the face part (NoW compares the face only).
    face_triangles: Vec<[u32; 3]>,
}

/// A posed prediction on the host, metres.
#[derive(Clone, Copy)]
pub struct Posed<'a> {
    /// `[V, 3]`.
    pub vertices: &'a [Point],
    /// The output joints `[144 or 127, 3]`.
    pub joints: &'a [Point],
}

/// Scan-to-mesh statistics, mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScanErrorMm {
    pub mean: f64,
    pub median: f64,
    pub std: f64,
}

/// Every metric of one sample (absent where the benchmark has none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleScore {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pa_v2v_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts_mm: Option<PartErrorsMm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pa_mpjpe_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_5mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_15mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_to_mesh_mm: Option<ScanErrorMm>,
    /// Ground truth and the Procrustes-aligned prediction (camera frame,
    /// at most [`OVERLAY_POINTS`] each) for the gallery.
    #[serde(skip)]
    pub overlay: Option<(Vec<Point>, Vec<Point>)>,
}

impl SampleScore {
    /// The error that ranks samples: PA-V2V, else PA-MPJPE, else the
    /// scan-to-mesh mean.
    pub fn primary_mm(&self) -> f64 {
        self.pa_v2v_mm
            .or(self.pa_mpjpe_mm)
            .or(self.scan_to_mesh_mm.map(|s| s.mean))
            .unwrap_or(0.0)
    }
}

const MM: f64 = 1000.0;

impl<'a> Scorer<'a> {
    pub fn new(
        parts: &'a PartVertices,
        j_regressor: &'a [f32],
        faces: &'a [[u32; 3]],
        right_hand_ids: Option<&'a [usize]>,
    ) -> Self {
        let mut in_face = vec![false; parts.num_vertices];
        for &i in parts.part(Part::Face) {
            in_face[i] = true;
        }
        let face_triangles = faces
            .iter()
            .filter(|f| {
                f.iter()
                    .all(|&i| in_face.get(i as usize).copied().unwrap_or(false))
            })
            .copied()
            .collect();
        Self {
            parts,
            j_regressor,
            faces,
            right_hand_ids,
            face_triangles,
        }
    }

    /// The first `n` regressed joints of a mesh.
    fn regress(&self, vertices: &[Point], n: usize) -> Vec<Point> {
        let v = vertices.len();
        (0..n)
            .map(|j| crate::smplx::data::regress_joint(self.j_regressor, v, j, |i| vertices[i]))
            .collect()
    }

    /// The points PA-MPJPE compares, of the prediction and of the target
    /// (body joints, or the hand's 21 keypoints); `None` for a face scan,
    /// which has no joints. [`crate::baseline::spread_mm`] reads them.
    pub fn pa_points(
        &self,
        target: &Target,
        pred: Posed,
    ) -> Result<Option<PointPair>, MetricsError> {
        let n = SMPL_SMPLX_COMMON_JOINTS;
        Ok(match target {
            Target::SmplxMesh(gt) => {
                if pred.vertices.len() != gt.len()
                    || self.j_regressor.len() != NUM_JOINTS * gt.len()
                {
                    return Err(MetricsError::Invalid(format!(
                        "the body model has {} vertices, the ground-truth mesh {} and the joint regressor {} weights",
                        pred.vertices.len(),
                        gt.len(),
                        self.j_regressor.len()
                    )));
                }
                Some((self.regress(pred.vertices, n), self.regress(gt, n)))
            }
            Target::SmplJoints(gt) => Some((
                joints(pred.joints, n)?.to_vec(),
                gt[..n.min(gt.len())].to_vec(),
            )),
            Target::LimbJoints { joints: gt, .. } => Some((limb_joints(pred.joints)?, gt.clone())),
            Target::RightHand { joints: gt, .. } => {
                joints(pred.joints, 76)?;
                let p = SMPLIFYX_RHAND.iter().map(|&i| pred.joints[i]).collect();
                Some((p, gt.clone()))
            }
            Target::FaceScan { .. } | Target::SmplxParams { .. } => None,
        })
    }

    /// Scores `pred` against `target` (an [`Target::SmplxParams`] must have
    /// been posed into a [`Target::SmplxMesh`] first).
    pub fn score(
        &self,
        id: &str,
        target: &Target,
        pred: Posed,
    ) -> Result<SampleScore, MetricsError> {
        let mut out = SampleScore {
            id: id.to_string(),
            pa_v2v_mm: None,
            parts_mm: None,
            pa_mpjpe_mm: None,
            f_score_5mm: None,
            f_score_15mm: None,
            scan_to_mesh_mm: None,
            overlay: None,
        };
        match target {
            Target::SmplxMesh(gt) => {
                if pred.vertices.len() != gt.len() {
                    return Err(MetricsError::Invalid(format!(
                        "the body model has {} vertices but the ground-truth mesh has {}",
                        pred.vertices.len(),
                        gt.len()
                    )));
                }
                if self.j_regressor.len() != NUM_JOINTS * gt.len() {
                    return Err(MetricsError::Invalid(format!(
                        "the joint regressor has {} weights, expected {NUM_JOINTS} × {}",
                        self.j_regressor.len(),
                        gt.len()
                    )));
                }
                out.pa_v2v_mm = Some(pa_mean_distance(pred.vertices, gt)? * MM);
                let [body, left_hand, right_hand, face] =
                    part_pa_errors(pred.vertices, gt, self.parts)?.map(|e| e.map(|e| e * MM));
                out.parts_mm = Some(PartErrorsMm {
                    body,
                    left_hand,
                    right_hand,
                    face,
                });
                let n = SMPL_SMPLX_COMMON_JOINTS;
                out.pa_mpjpe_mm = Some(
                    pa_mean_distance(&self.regress(pred.vertices, n), &self.regress(gt, n))? * MM,
                );
                out.overlay = Some(overlay(pred.vertices, gt)?);
            }
            Target::SmplJoints(gt) => {
                let n = SMPL_SMPLX_COMMON_JOINTS;
                let (p, g) = (joints(pred.joints, n)?, &gt[..n.min(gt.len())]);
                out.pa_mpjpe_mm = Some(pa_mean_distance(p, g)? * MM);
                out.overlay = Some(overlay(p, g)?);
            }
            Target::LimbJoints { joints: gt, .. } => {
                let p = limb_joints(pred.joints)?;
                out.pa_mpjpe_mm = Some(pa_mean_distance(&p, gt)? * MM);
                out.overlay = Some(overlay(&p, gt)?);
            }
            Target::RightHand {
                joints: gt_joints,
                vertices: gt_vertices,
            } => {
                joints(pred.joints, 76)?;
                let p: Vec<Point> = SMPLIFYX_RHAND.iter().map(|&i| pred.joints[i]).collect();
                out.pa_mpjpe_mm = Some(pa_mean_distance(&p, gt_joints)? * MM);
                let (fp, fg) = match self.right_hand_ids {
                    Some(ids) => {
                        let pv = ids
                            .iter()
                            .map(|&i| pred.vertices.get(i).copied())
                            .collect::<Option<Vec<Point>>>()
                            .ok_or_else(|| {
                                MetricsError::Invalid(
                                    "a MANO vertex id is outside the body model".into(),
                                )
                            })?;
                        out.pa_v2v_mm = Some(pa_mean_distance(&pv, gt_vertices)? * MM);
                        (pv, gt_vertices.clone())
                    }
                    None => (p, gt_joints.clone()),
                };
                let f = pa_f_scores(&fp, &fg, &F_SCORE_THRESHOLDS)?;
                out.f_score_5mm = Some(f[0]);
                out.f_score_15mm = Some(f[1]);
                out.overlay = Some(overlay(&fp, &fg)?);
            }
            Target::FaceScan { scan, landmarks } => {
                joints(pred.joints, 127)?;
                let on_mesh: Vec<Point> = NOW_LANDMARKS_SMPLX
                    .iter()
                    .map(|&i| pred.joints[i])
                    .collect();
                let triangles = if self.face_triangles.is_empty() {
                    self.faces
                } else {
                    &self.face_triangles
                };
                let s = scan_to_mesh(scan, pred.vertices, triangles, Some((&on_mesh, landmarks)))?;
                out.scan_to_mesh_mm = Some(ScanErrorMm {
                    mean: s.mean * MM,
                    median: s.median * MM,
                    std: s.std * MM,
                });
            }
            Target::SmplxParams { .. } => {
                return Err(MetricsError::Invalid(
                    "ground-truth parameters must be posed into a mesh before scoring".into(),
                ))
            }
        }
        Ok(out)
    }
}

/// The first `n` joints, or an error when the prediction has fewer.
fn joints(joints: &[Point], n: usize) -> Result<&[Point], MetricsError> {
    joints.get(..n).ok_or_else(|| {
        MetricsError::Invalid(format!(
            "the prediction has {} joints, at least {n} needed",
            joints.len()
        ))
    })
}

/// The predicted SMPL-X joints compared with the OpenPose limb joints
/// ([`LIMB_JOINTS`]), by SMPLify-X's correspondence.
fn limb_joints(pred: &[Point]) -> Result<Vec<Point>, MetricsError> {
    joints(pred, 22)?;
    Ok(LIMB_JOINTS
        .iter()
        .map(|&k| pred[SMPLIFYX_BODY25[k]])
        .collect())
}

/// Ground truth and aligned prediction, thinned for drawing.
fn overlay(pred: &[Point], gt: &[Point]) -> Result<(Vec<Point>, Vec<Point>), MetricsError> {
    let aligned = similarity_transform(pred, gt)?.apply_all(pred);
    let step = gt.len().div_ceil(OVERLAY_POINTS).max(1);
    let thin = |p: &[Point]| p.iter().step_by(step).copied().collect();
    Ok((thin(gt), thin(&aligned)))
}
