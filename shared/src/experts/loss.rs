//! The experts' training loss: per-group weights from the baseline's
//! spread, the rotation / value MSE, and SPIN's 2D and 3D body keypoint terms.

use burn::tensor::{backend::Backend, Tensor};

use super::{ExpertTarget, ExpressionGeometry};
use crate::nets::{ExpertKind, ExpertPrediction};

/// The groups the loss is taken over, in [`expert_loss`]'s order: the
/// reported rotation groups, the rotations outside them (SPIN's SMPL hand
/// joints) as one more group when there are any, then the other values'
/// groups. `(rotations?, range)`.
fn loss_groups(part: ExpertKind) -> Vec<(bool, std::ops::Range<usize>)> {
    let mut groups: Vec<(bool, std::ops::Range<usize>)> = part
        .rotation_groups()
        .into_iter()
        .map(|(_, r)| (true, r))
        .collect();
    let covered = groups.iter().map(|(_, g)| g.end).max().unwrap_or(0);
    if covered < part.num_rotations() {
        groups.push((true, covered..part.num_rotations()));
    }
    groups.extend(part.rest_groups().into_iter().map(|(_, r)| (false, r)));
    groups
}

/// Per-group loss weights for [`expert_loss`]: one over the mean-parameter
/// baseline's loss on `targets` (the groups' spread about `mean`), so every
/// group starts at 1 however large its values are. Unweighted, the body
/// loss is mostly β (mean square ≈ 1, and all but invisible in a crop
/// normalised to the body's extent) while the 21 body rotations weigh ≈ 0.03:
/// the network then memorises β and never learns the pose. A group without
/// spread (SPIN's hand joints, always identity) keeps weight 1.
pub fn loss_weights(
    part: ExpertKind,
    targets: &[ExpertTarget],
    mean: &ExpertTarget,
    geometry: Option<&ExpressionGeometry>,
) -> Vec<f32> {
    let n = targets.len().max(1) as f64;
    loss_groups(part)
        .into_iter()
        .map(|(rotations, range)| {
            let mut sum = 0.0;
            if let Some(g) = geometry.filter(|_| part == ExpertKind::Face && !rotations) {
                for t in targets {
                    let d: Vec<f64> = range
                        .clone()
                        .map(|k| t.rest[k] as f64 - mean.rest[k] as f64)
                        .collect();
                    sum += g.mean_square(&d);
                }
                let spread = sum / n;
                return if spread > 1e-12 {
                    (1.0 / spread) as f32
                } else {
                    1.0
                };
            }
            for t in targets {
                for k in range.clone() {
                    sum += if rotations {
                        (0..9)
                            .map(|e| {
                                (t.rotations[k][e] as f64 - mean.rotations[k][e] as f64).powi(2)
                            })
                            .sum::<f64>()
                            / 9.0
                    } else {
                        (t.rest[k] as f64 - mean.rest[k] as f64).powi(2)
                    };
                }
            }
            let spread = sum / (n * range.len().max(1) as f64);
            if spread > 1e-8 {
                (1.0 / spread) as f32
            } else {
                1.0
            }
        })
        .collect()
}

/// MSE between rotation matrices plus MSE on the other supervised values,
/// per group (the reported [`ExpertKind::rotation_groups`] and
/// [`ExpertKind::rest_groups`], SPIN's hand joints as one more), each times its
/// weight ([`loss_weights`]; all 1 for the plain sum) and summed: a plain
/// mean over all values would give SPIN's global orientation 1/24 of the
/// rotation term. With `geometry`, the face's expression term is the mean
/// squared vertex displacement of the coefficient error.
pub fn expert_loss<B: Backend>(
    part: ExpertKind,
    prediction: &ExpertPrediction<B>,
    rotations: Tensor<B, 4>,
    rest: Option<Tensor<B, 2>>,
    weights: &[f32],
    geometry: Option<&ExpressionGeometry>,
) -> Tensor<B, 1> {
    let batch = rotations.dims()[0];
    let rot_diff = (prediction.rotations.clone() - rotations).square(); // [batch, R, 3, 3]
    let rest_diff = match (&prediction.rest, rest) {
        (Some(p), Some(t)) => {
            let d = p.clone() - t; // [batch, K]
            match geometry.filter(|_| part == ExpertKind::Face) {
                // dᵀ·G·d per row, spread over its K columns so `mean` below gives it.
                Some(g) => {
                    let k = d.dims()[1];
                    let gd = d.clone().matmul(g.tensor::<B>(&d.device()));
                    Some((gd * d).mul_scalar(k as f64))
                }
                None => Some(d.square()),
            }
        }
        _ => None,
    };
    let mut loss = Tensor::<B, 1>::zeros([1], &rot_diff.device());
    for (g, (is_rotation, range)) in loss_groups(part).into_iter().enumerate() {
        let w = weights.get(g).copied().unwrap_or(1.0);
        let term = if is_rotation {
            rot_diff.clone().slice([0..batch, range]).mean()
        } else if let Some(d) = &rest_diff {
            d.clone().slice([0..batch, range]).mean()
        } else {
            continue;
        };
        loss = loss + term.mul_scalar(w).reshape([1]);
    }
    loss
}

/// The expert's 22 SMPL-X body joints `[batch, 22, 3]`, camera frame, zero
/// translation (as [`camera_view`](super::camera_view)'s): posed from its global orientation,
/// 21 body rotations and β, the rest of the body at rest. `None` for the
/// parts without a body (`rest` absent).
fn predicted_body_joints<B: Backend>(
    prediction: &ExpertPrediction<B>,
    layer: &crate::smplx::Smplx<B>,
) -> Option<Tensor<B, 3>> {
    use crate::smplx::joints::NUM_JOINTS;
    let [batch, _, _, _] = prediction.rotations.dims();
    let device = prediction.rotations.device();
    let rest = prediction.rest.as_ref()?;
    let identity = Tensor::<B, 2>::eye(3, &device)
        .reshape([1, 1, 3, 3])
        .expand([batch, NUM_JOINTS - BODY_JOINTS, 3, 3]);
    let rotations = Tensor::cat(
        vec![
            prediction
                .rotations
                .clone()
                .slice([0..batch, 0..BODY_JOINTS]),
            identity,
        ],
        1,
    ); // [batch, 55, 3, 3]
    let betas = rest.clone().slice([0..batch, 0..10]);
    let shape = Tensor::cat(
        vec![
            betas.slice([0..batch, 0..layer.config.num_betas.min(10)]),
            Tensor::zeros([batch, layer.config.num_expression], &device),
        ],
        1,
    );
    Some(
        layer
            .posed_joints(shape, rotations)
            .slice([0..batch, 0..BODY_JOINTS]),
    )
}

/// The body expert's joints: the pelvis and the 21 joints of the body pose.
pub const BODY_JOINTS: usize = 22;

/// SPIN's 2D keypoint term for the body expert: its body joints
/// ([`predicted_body_joints`]) through its weak-perspective camera
/// `(s, tx, ty)`, `u = s·(x + tx)`, against the true joints in crop
/// coordinates (`keypoints` `[batch, 22, 3]`: u, v, weight); the weighted
/// mean squared distance. Rotation targets alone barely teach a small
/// network the pose (a twist the image cannot show costs as much as a bent
/// elbow); where the joints land in the crop is what the pixels do show.
pub fn body_keypoint_loss<B: Backend>(
    prediction: &ExpertPrediction<B>,
    layer: &crate::smplx::Smplx<B>,
    keypoints: Tensor<B, 3>,
) -> Tensor<B, 1> {
    let device = prediction.rotations.device();
    let (Some(joints), Some(rest)) = (
        predicted_body_joints(prediction, layer),
        prediction.rest.as_ref(),
    ) else {
        return Tensor::zeros([1], &device);
    };
    let [batch, _, _] = joints.dims();
    let joints = joints.slice([0..batch, 0..BODY_JOINTS, 0..2]); // [batch, 22, 2]
    let camera = rest.clone().slice([0..batch, 10..13]); // [batch, 3]
    let scale = camera
        .clone()
        .slice([0..batch, 0..1])
        .reshape([batch, 1, 1]);
    let shift = camera.slice([0..batch, 1..3]).reshape([batch, 1, 2]);
    let projected = (joints + shift) * scale; // [batch, 22, 2]
    let target = keypoints.clone().slice([0..batch, 0..BODY_JOINTS, 0..2]);
    let weight = keypoints.slice([0..batch, 0..BODY_JOINTS, 2..3]); // [batch, 22, 1]
    let squared = (projected - target).square().sum_dim(2) * weight.clone(); // [batch, 22, 1]
    squared
        .sum()
        .div(weight.sum().add_scalar(1e-6))
        .reshape([1])
}

/// SPIN's 3D keypoint term for the body expert: its body joints
/// ([`predicted_body_joints`]) against the true camera-frame joints
/// (`joints` `[batch, 22, 3]`), both taken relative to the pelvis; the mean
/// squared distance (m²). This scores the pose by where the limbs are, which
/// is what the image shows and what PA-MPJPE measures, where the rotation
/// targets spend as much on a twist no pixel shows as on a bent knee.
pub fn body_joint_loss<B: Backend>(
    prediction: &ExpertPrediction<B>,
    layer: &crate::smplx::Smplx<B>,
    joints: Tensor<B, 3>,
) -> Tensor<B, 1> {
    let device = prediction.rotations.device();
    let Some(predicted) = predicted_body_joints(prediction, layer) else {
        return Tensor::zeros([1], &device);
    };
    let [batch, _, _] = predicted.dims();
    let relative = |j: Tensor<B, 3>| {
        let pelvis = j.clone().slice([0..batch, 0..1]);
        j - pelvis
    }; // [batch, 22, 3]
    (relative(predicted) - relative(joints))
        .square()
        .sum_dim(2)
        .mean()
        .reshape([1])
}
