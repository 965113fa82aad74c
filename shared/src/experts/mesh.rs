//! Each expert's standard error on the mesh its prediction makes
//! (`PartMesh`: body and hand PA-MPJPE, face PA-V2V).

use burn::tensor::{backend::Backend, Tensor, TensorData};

use super::{flat, ExpertTarget, GroupError};
use crate::nets::ExpertKind;
use crate::rotation::host::{axis_angle_to_matrix, IDENTITY};
use crate::smplx::joints::output;
use crate::smplx::joints::pose::{BODY, RIGHT_HAND};
use crate::smplx::SmplxData;

/// Each expert's standard error, measured on the mesh its prediction makes
/// (not on its parameters, where invisible twists and tiny spine turns
/// weigh as much as a bent elbow): the part alone is posed with the
/// predicted values and the rest of the body at rest, then aligned to the
/// target's by a similarity Procrustes fit and the mean point distance
/// taken, in millimetres:
/// - body: the 22 SMPL-X body joints (pelvis to wrists) from the 21 body
///   rotations and β (SPIN's PA-MPJPE);
/// - hand: the right wrist, 15 finger joints and 5 fingertips from the 15
///   finger rotations plus the SMPL-X hand mean (left crops are mirrored
///   into right hands; FreiHAND's PA-MPJPE);
/// - face: the head's vertices from the jaw and 10 expressions (a NoW-like
///   PA-V2V).
pub struct PartMesh<B: Backend> {
    layer: crate::smplx::Smplx<B>,
    /// Vertices mostly skinned to the head, jaw or eyes.
    head: Vec<usize>,
    hands_mean_r: Vec<f32>,
    device: B::Device,
}

impl<B: Backend> PartMesh<B> {
    pub fn new(
        model: &SmplxData,
        device: &B::Device,
    ) -> Result<Self, crate::smplx::layer::SmplxConfigError> {
        use crate::smplx::joints::{idx, NUM_JOINTS};
        let layer = crate::smplx::SmplxConfig::new().init::<B>(model, device)?;
        let head = (0..model.num_vertices())
            .filter(|&v| {
                let w = &model.weights[v * NUM_JOINTS..(v + 1) * NUM_JOINTS];
                w[idx::HEAD] + w[idx::JAW] + w[idx::LEFT_EYE_SMPLHF] + w[idx::RIGHT_EYE_SMPLHF]
                    > 0.5
            })
            .collect();
        Ok(Self {
            layer,
            head,
            hands_mean_r: model.hands_mean_r.clone(),
            device: device.clone(),
        })
    }

    /// Mean PA distance (mm) of `predictions` and of the constant
    /// `baseline` against `targets`.
    pub fn error(
        &self,
        part: ExpertKind,
        predictions: &[ExpertTarget],
        targets: &[ExpertTarget],
        baseline: &ExpertTarget,
    ) -> Option<GroupError> {
        let truth = self.points(part, targets)?;
        let baseline = self.points(part, std::slice::from_ref(baseline))?;
        let predicted = self.points(part, predictions)?;
        let mean = |rows: &[Vec<[f64; 3]>]| -> Option<f64> {
            let mut sum = 0.0;
            for (i, t) in truth.iter().enumerate() {
                let row = rows.get(i).or(rows.first())?;
                sum += crate::metrics::pa_mean_distance(row, t).ok()?;
            }
            Some(1000.0 * sum / truth.len().max(1) as f64)
        };
        let name = match part {
            ExpertKind::Face => "face PA-V2V",
            _ => "joints PA-MPJPE",
        };
        Some(GroupError {
            name: name.into(),
            unit: "mm".into(),
            expert: mean(&predicted)?,
            // One row: the mean parameters against every target.
            baseline: mean(&baseline)?,
        })
    }

    /// The part's points for each row, posed from the row's values.
    fn points(&self, part: ExpertKind, rows: &[ExpertTarget]) -> Option<Vec<Vec<[f64; 3]>>> {
        use crate::smplx::joints::{idx, NUM_JOINTS};
        let n = rows.len();
        if n == 0 {
            return Some(Vec::new());
        }
        let identity = flat(&IDENTITY);
        let mut rotations = vec![identity; n * NUM_JOINTS];
        let mut coeffs = vec![0f32; n * 20]; // β 10, ψ 10
        for (r, row) in rows.iter().enumerate() {
            let pose = &mut rotations[r * NUM_JOINTS..(r + 1) * NUM_JOINTS];
            match part {
                ExpertKind::Body => {
                    pose[BODY].copy_from_slice(row.rotations.get(BODY)?);
                    coeffs[r * 20..r * 20 + 10].copy_from_slice(row.rest.get(0..10)?);
                }
                ExpertKind::Face => {
                    pose[idx::JAW] = *row.rotations.first()?;
                    coeffs[r * 20 + 10..r * 20 + 20].copy_from_slice(row.rest.get(0..10)?);
                }
                ExpertKind::Hand => {
                    for j in 0..15 {
                        let m = row.rotations.get(1 + j)?;
                        let rel = crate::rotation::host::matrix_to_axis_angle(&[
                            [m[0] as f64, m[1] as f64, m[2] as f64],
                            [m[3] as f64, m[4] as f64, m[5] as f64],
                            [m[6] as f64, m[7] as f64, m[8] as f64],
                        ]);
                        let mean = self.hands_mean_r.get(j * 3..j * 3 + 3)?;
                        let full = [0, 1, 2].map(|k| rel[k] + mean[k] as f64);
                        pose[RIGHT_HAND.start + j] = flat(&axis_angle_to_matrix(full));
                    }
                }
            }
        }
        let device = &self.device;
        let rot: Vec<f32> = rotations.iter().flatten().copied().collect();
        let coeffs = Tensor::from_data(
            TensorData::new(coeffs, [n, 20]).convert::<B::FloatElem>(),
            device,
        );
        let rotations = Tensor::from_data(
            TensorData::new(rot, [n, NUM_JOINTS, 3, 3]).convert::<B::FloatElem>(),
            device,
        );
        let transl = Tensor::zeros([n, 3], device);
        // Body and hand are scored on joints (no mesh needed), the face on its vertices.
        let (source, chosen): (Tensor<B, 3>, Vec<usize>) = match part {
            ExpertKind::Body => (
                self.layer.forward_joints(coeffs, rotations, transl),
                (0..BODY.end).collect(),
            ),
            ExpertKind::Hand => (
                self.layer.forward_joints(coeffs, rotations, transl),
                std::iter::once(idx::RIGHT_WRIST)
                    .chain(RIGHT_HAND)
                    .chain(output::RIGHT_FINGERTIPS)
                    .collect(),
            ),
            ExpertKind::Face => (
                self.layer
                    .forward_rotations(coeffs, rotations, transl)
                    .vertices,
                self.head.clone(),
            ),
        };
        let [_, width, _] = source.dims();
        let flat_points = source.into_data().convert::<f32>().to_vec::<f32>().ok()?;
        Some(
            (0..n)
                .map(|r| {
                    chosen
                        .iter()
                        .map(|&k| {
                            let at = (r * width + k) * 3;
                            [0, 1, 2].map(|c| flat_points[at + c] as f64)
                        })
                        .collect()
                })
                .collect(),
        )
    }
}
