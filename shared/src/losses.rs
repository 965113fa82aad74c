//! FuRPE's training losses (paper §3.3–3.4), with the authors' released
//! code's variants as named options (docs/method.md, "Pipeline" steps
//! 3–5).
//!
//! - `L_body` = L1 2D body keypoints (visibility-weighted) + pose loss on the
//!   global and body rotations; `L_face` = L1 2D face keypoints + MSE
//!   expression + jaw rotation loss; `L_hand` = L1 2D hand keypoints + hand
//!   rotation loss.
//! - `L_feature` = A · KL(expert ‖ student) per part over softmax-normalised
//!   features.
//! - `L_a→b` = 2 − 2·cos(z_a, z_b) between the student's and the teacher's
//!   parameter vectors (EMA self-supervision).
//!
//! The pose "MSE" compares rotation matrices (as SPIN does), which has no
//! wrap-around; the released code's geodesic angle is the option.
//! Every term takes a per-sample mask: a label the selection dropped (or an
//! expert never produced) is NaN in the shards and contributes nothing.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::camera::weak_perspective;
use crate::keypoints::{
    openpose137_to_smplx, select_joints, NUM_BODY25, NUM_HAND, NUM_OPENPOSE137,
};
use crate::metrics::Part;
use crate::nets::{PartFeatures, Student, StudentOutput};
use crate::smplx::joints::{pose, NUM_BODY_JOINTS};
use crate::smplx::Smplx;

/// The pelvis and the 21 body joints: the skeleton PA-MPJPE compares.
const NUM_BODY_JOINTS_WITH_ROOT: usize = 1 + NUM_BODY_JOINTS;

/// How rotations are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationLoss {
    /// Mean squared difference of the rotation matrices (the paper's MSE).
    Mse,
    /// Geodesic angle `acos((tr(R̂ᵀR) − 1)/2)` (released code).
    Geodesic,
}

/// How 2D keypoint errors are reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeypointReduction {
    /// Mean over visible points.
    Mean,
    /// Sum over points, divided by the batch (released code).
    SumPerSample,
}

/// Term weights and variants; `paper()` is the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LossConfig {
    pub rotation: RotationLoss,
    pub keypoint_reduction: KeypointReduction,
    /// Weight keypoints by their detector confidence (the released code
    /// has this commented out).
    pub keypoint_visibility: bool,
    pub body_keypoints: f32,
    pub hand_keypoints: f32,
    pub face_keypoints: f32,
    pub global_orient: f32,
    pub body_pose: f32,
    pub jaw_pose: f32,
    pub hand_pose: f32,
    pub expression: f32,
    /// `w · mean(β²)`: the released code's replacement for a shape loss
    /// (SPIN's β is SMPL's, not SMPL-X's); the paper has none.
    pub betas_regularizer: f32,
    /// A in `A · KL`: the paper's e⁵, the released 1e5.
    pub distillation: f32,
    /// Weight of each EMA consistency term (released: 5).
    pub consistency: f32,
    /// `w · mean ‖ĵ − j‖` (metres) over the 22 body joints posed by the body
    /// model from the predicted and the labelled rotations, pelvis at the
    /// origin and the global rotation left out (see [`body_joint_error`]).
    /// Neither the paper nor the released code has it (0 in both presets):
    /// it weighs each rotation by how far it moves the limbs, which is what
    /// the image shows and what PA-MPJPE scores.
    pub body_joints: f32,
    /// `w ·` L1 between the BODY_25 keypoints a student's keypoint head
    /// locates on its feature map and the labels' 2D keypoints (same
    /// reduction and visibility as the other keypoint terms). Only students
    /// with `keypoint_head`; neither the paper nor the released code has it.
    pub located_keypoints: f32,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self::paper()
    }
}

impl LossConfig {
    /// Every paper term with weight 1, A = e⁵.
    pub fn paper() -> Self {
        Self {
            rotation: RotationLoss::Mse,
            keypoint_reduction: KeypointReduction::Mean,
            keypoint_visibility: true,
            body_keypoints: 1.0,
            hand_keypoints: 1.0,
            face_keypoints: 1.0,
            global_orient: 1.0,
            body_pose: 1.0,
            jaw_pose: 1.0,
            hand_pose: 1.0,
            expression: 1.0,
            betas_regularizer: 0.0,
            distillation: 5f32.exp(),
            consistency: 1.0,
            body_joints: 0.0,
            located_keypoints: 0.0,
        }
    }

    /// The authors' released training script.
    pub fn released() -> Self {
        Self {
            rotation: RotationLoss::Geodesic,
            keypoint_reduction: KeypointReduction::SumPerSample,
            keypoint_visibility: false,
            body_keypoints: 10.0,
            hand_keypoints: 2.0,
            face_keypoints: 1.0,
            global_orient: 10.0,
            body_pose: 10.0,
            jaw_pose: 5.0,
            hand_pose: 10.0,
            expression: 0.05,
            betas_regularizer: 0.2,
            distillation: 1e5,
            consistency: 5.0,
            body_joints: 0.0,
            located_keypoints: 0.0,
        }
    }
}

/// Masked mean of per-sample values `[batch]` (0 when the mask is empty).
pub fn masked_mean<B: Backend>(values: Tensor<B, 1>, mask: Tensor<B, 1>) -> Tensor<B, 1> {
    (values * mask.clone()).sum() / mask.sum().clamp_min(1.0)
}

/// Per-sample rotation error `[batch]` between `[batch, n, 3, 3]` stacks.
pub fn rotation_error<B: Backend>(
    kind: RotationLoss,
    pred: Tensor<B, 4>,
    target: Tensor<B, 4>,
) -> Tensor<B, 1> {
    let [batch, n, _, _] = pred.dims();
    match kind {
        RotationLoss::Mse => (pred - target)
            .square()
            .reshape([batch, n * 9])
            .mean_dim(1)
            .reshape([batch]),
        RotationLoss::Geodesic => {
            // tr(R̂ᵀR) = Σ R̂ ⊙ R.
            let trace = (pred * target).reshape([batch, n, 9]).sum_dim(2); // [batch, n, 1]
                                                                           // Clamped away from ±1: acos has an infinite slope there.
            let cos = ((trace - 1.0) / 2.0).clamp(-1.0 + 1e-6, 1.0 - 1e-6);
            cos.acos().reshape([batch, n]).mean_dim(1).reshape([batch])
        }
    }
}

/// Per-sample body-joint error `[batch]`: the mean distance (metres) between
/// the 22 body joints (pelvis … wrists) posed from `pred` and from `target`
/// rotations `[batch, 55, 3, 3]`, both with the same `shape` `[batch, β+ψ]`
/// and the global rotation replaced by the identity. Only the articulated
/// pose counts: the global rotation has its own term, and a similarity
/// alignment (PA-MPJPE) removes it anyway. The skeleton alone is posed
/// ([`Smplx::posed_joints`]), no vertices.
pub fn body_joint_error<B: Backend>(
    body_model: &Smplx<B>,
    shape: Tensor<B, 2>,
    pred: Tensor<B, 4>,
    target: Tensor<B, 4>,
) -> Tensor<B, 1> {
    let [batch, n, _, _] = pred.dims();
    let identity = Tensor::<B, 2>::eye(3, &pred.device())
        .reshape([1, 1, 3, 3])
        .expand([batch, 1, 3, 3]);
    let articulated = |r: Tensor<B, 4>| {
        let rotations = Tensor::cat(vec![identity.clone(), r.slice([0..batch, 1..n])], 1);
        let joints = body_model.posed_joints(shape.clone(), rotations); // [batch, 55, 3]
        let joints = joints.slice([0..batch, 0..NUM_BODY_JOINTS_WITH_ROOT]);
        let pelvis = joints.clone().slice([0..batch, 0..1]);
        joints - pelvis // [batch, 22, 3]
    };
    (articulated(pred) - articulated(target))
        .square()
        .sum_dim(2)
        .sqrt()
        .mean_dim(1)
        .reshape([batch])
}

/// Per-sample mean squared error `[batch]` of `[batch, D]` vectors.
pub fn squared_error<B: Backend>(pred: Tensor<B, 2>, target: Tensor<B, 2>) -> Tensor<B, 1> {
    let batch = pred.dims()[0];
    (pred - target).square().mean_dim(1).reshape([batch])
}

/// L1 2D keypoint loss, one value per sample `[batch]`: `pred` `[batch, K, 2]`,
/// `target` `[batch, K, 3]` (x, y, confidence; confidence 0 = missing).
pub fn keypoint_error<B: Backend>(
    pred: Tensor<B, 3>,
    target: Tensor<B, 3>,
    visibility: bool,
    reduction: KeypointReduction,
) -> Tensor<B, 1> {
    let [batch, k, _] = target.dims();
    let xy = target.clone().slice([0..batch, 0..k, 0..2]);
    let conf = target.slice([0..batch, 0..k, 2..3]); // [batch, K, 1]
    let present = conf.clone().greater_elem(0.0).float();
    let weight = if visibility { conf } else { present.clone() };
    let l1 = ((pred - xy).abs() * weight).sum_dim(2).reshape([batch, k]); // [batch, K]
    match reduction {
        KeypointReduction::Mean => {
            let count = present.reshape([batch, k]).sum_dim(1).clamp_min(1.0) * 2.0;
            (l1.sum_dim(1) / count).reshape([batch])
        }
        KeypointReduction::SumPerSample => l1.sum_dim(1).reshape([batch]),
    }
}

/// `KL(softmax(expert) ‖ softmax(student))` per sample `[batch]`.
pub fn feature_kl<B: Backend>(student: Tensor<B, 2>, expert: Tensor<B, 2>) -> Tensor<B, 1> {
    let batch = student.dims()[0];
    let log_q = log_softmax(student, 1);
    let log_p = log_softmax(expert.clone(), 1);
    let p = softmax(expert, 1);
    (p * (log_p - log_q)).sum_dim(1).reshape([batch])
}

/// `2 − 2·cos(a, b)` per sample `[batch]` (BYOL's normalised MSE).
pub fn consistency<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>) -> Tensor<B, 1> {
    let batch = a.dims()[0];
    let norm = |t: Tensor<B, 2>| t.clone() / t.square().sum_dim(1).sqrt().clamp_min(1e-8);
    ((norm(a) * norm(b)).sum_dim(1) * -2.0 + 2.0).reshape([batch])
}

/// What a batch is supervised with (pseudo labels and keypoints), on the
/// student's side of every augmentation.
#[derive(Debug, Clone)]
pub struct Targets<B: Backend> {
    /// OpenPose-137 keypoints in the body crop's coordinates, (x, y,
    /// confidence) `[batch, 137, 3]`; missed points have confidence 0.
    pub keypoints: Tensor<B, 3>,
    /// Pseudo-label rotations in SMPL-X order, hand mean included
    /// `[batch, 55, 3, 3]` (anything where a part mask is 0).
    pub rotations: Tensor<B, 4>,
    /// Pseudo-label expression `[batch, ψ]`.
    pub expression: Tensor<B, 2>,
    /// Usable labels per sample, in [`Part::LABEL_ORDER`] `[batch, 4]`.
    pub parts: Tensor<B, 2>,
    /// Expert features (already at the student's feature widths), when distilling.
    pub features: Option<PartFeatures<B>>,
}

/// The weighted terms of `L_total` (and `L_feature`), each a scalar `[1]`,
/// named for the log.
/// `joints` are the student's posed joints `[batch, 144, 3]`; `body_model`
/// poses the labels for the body-joint term.
pub fn supervised<B: Backend>(
    config: &LossConfig,
    output: &StudentOutput<B>,
    joints: Tensor<B, 3>,
    targets: &Targets<B>,
    body_model: &Smplx<B>,
) -> Vec<(&'static str, Tensor<B, 1>)> {
    let batch = joints.dims()[0];
    let device = joints.device();
    let part = |p: Part| {
        let i = p.label_slot();
        targets
            .parts
            .clone()
            .slice([0..batch, i..i + 1])
            .reshape([batch])
    };
    let (body, face, left, right) = (
        part(Part::Body),
        part(Part::Face),
        part(Part::LeftHand),
        part(Part::RightHand),
    );

    // 2D keypoints: SMPL-X joints in OpenPose-137 order; points without an
    // SMPL-X counterpart get confidence 0.
    let map = openpose137_to_smplx();
    let ids: Vec<usize> = map.iter().map(|m| m.unwrap_or(0)).collect();
    let known: Vec<f32> = map.iter().map(|m| m.map_or(0.0, |_| 1.0)).collect();
    let known = Tensor::<B, 1>::from_data(TensorData::new(known, [NUM_OPENPOSE137]), &device)
        .reshape([1, NUM_OPENPOSE137, 1]);
    let projected = weak_perspective(select_joints(joints, &ids), output.camera.clone());
    let [_, k, _] = targets.keypoints.dims();
    let xy = targets.keypoints.clone().slice([0..batch, 0..k, 0..2]);
    let conf = targets.keypoints.clone().slice([0..batch, 0..k, 2..3]) * known;
    let kp = Tensor::cat(vec![xy, conf], 2);
    let kp_term = |range: std::ops::Range<usize>| {
        let pred = projected.clone().slice([0..batch, range.clone(), 0..2]);
        let target = kp.clone().slice([0..batch, range, 0..3]);
        keypoint_error(
            pred,
            target,
            config.keypoint_visibility,
            config.keypoint_reduction,
        )
        .mean()
    };
    let hands = NUM_BODY25..NUM_BODY25 + 2 * NUM_HAND;

    let rot = |joints: std::ops::Range<usize>, mask: Tensor<B, 1>| {
        let pred = output.rotations.clone().slice([0..batch, joints.clone()]);
        let target = targets.rotations.clone().slice([0..batch, joints]);
        masked_mean(rotation_error(config.rotation, pred, target), mask)
    };
    let mut terms = vec![
        (
            "body_keypoints",
            kp_term(0..NUM_BODY25) * config.body_keypoints,
        ),
        ("hand_keypoints", kp_term(hands) * config.hand_keypoints),
        (
            "face_keypoints",
            kp_term(NUM_BODY25 + 2 * NUM_HAND..NUM_OPENPOSE137) * config.face_keypoints,
        ),
        (
            "global_orient",
            rot(pose::GLOBAL, body.clone()) * config.global_orient,
        ),
        (
            "body_pose",
            rot(pose::BODY, body.clone()) * config.body_pose,
        ),
        ("jaw_pose", rot(pose::JAW, face.clone()) * config.jaw_pose),
        (
            "hand_pose",
            (rot(pose::LEFT_HAND, left.clone()) + rot(pose::RIGHT_HAND, right.clone()))
                * (config.hand_pose / 2.0),
        ),
        (
            "expression",
            masked_mean(
                squared_error(output.expression.clone(), targets.expression.clone()),
                face.clone(),
            ) * config.expression,
        ),
    ];
    if config.body_joints > 0.0 {
        // The label's skeleton takes the student's shape (held fixed): the
        // term then scores the pose alone, and the labels' β (an expert's,
        // possibly another body model's) never enter.
        let shape = Student::shape_coeffs(output, body_model).detach();
        let error = body_joint_error(
            body_model,
            shape,
            output.rotations.clone(),
            targets.rotations.clone(),
        );
        terms.push((
            "body_joints",
            masked_mean(error, body.clone()) * config.body_joints,
        ));
    }
    if let (true, Some(located)) = (config.located_keypoints > 0.0, &output.located) {
        // The detector's points as they are: no SMPL-X counterpart needed.
        let target = targets
            .keypoints
            .clone()
            .slice([0..batch, 0..NUM_BODY25, 0..3]);
        let error = keypoint_error(
            located.clone(),
            target,
            config.keypoint_visibility,
            config.keypoint_reduction,
        );
        terms.push((
            "located_keypoints",
            masked_mean(error, body.clone()) * config.located_keypoints,
        ));
    }
    if config.betas_regularizer > 0.0 {
        terms.push((
            "betas_regularizer",
            output.betas.clone().square().mean().reshape([1]) * config.betas_regularizer,
        ));
    }
    if let Some(expert) = &targets.features {
        let s = &output.features;
        let kl = masked_mean(feature_kl(s.body.clone(), expert.body.clone()), body)
            + masked_mean(feature_kl(s.face.clone(), expert.face.clone()), face)
            + masked_mean(
                feature_kl(s.left_hand.clone(), expert.left_hand.clone()),
                left,
            )
            + masked_mean(
                feature_kl(s.right_hand.clone(), expert.right_hand.clone()),
                right,
            );
        terms.push(("distillation", kl * config.distillation));
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    type B = Flex;

    fn t2(v: &[f32], shape: [usize; 2]) -> Tensor<B, 2> {
        Tensor::from_data(
            burn::tensor::TensorData::new(v.to_vec(), shape),
            &Default::default(),
        )
    }

    fn scalar(t: Tensor<B, 1>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    #[test]
    fn geodesic_is_the_rotation_angle() {
        let device = Default::default();
        let aa = Tensor::<B, 2>::from_floats([[0.0, 0.0, 0.7], [0.3, -0.2, 0.1]], &device);
        let r = crate::rotation::axis_angle_to_matrix(aa).reshape([2, 1, 3, 3]);
        let id = Tensor::<B, 2>::eye(3, &device)
            .reshape([1, 1, 3, 3])
            .expand([2, 1, 3, 3]);
        let angle = scalar(rotation_error(
            RotationLoss::Geodesic,
            r.clone(),
            id.clone(),
        ));
        assert!((angle[0] - 0.7).abs() < 1e-3, "{angle:?}");
        let want = (0.09f32 + 0.04 + 0.01).sqrt();
        assert!((angle[1] - want).abs() < 1e-3, "{angle:?}");
        let mse = scalar(rotation_error(RotationLoss::Mse, r, id));
        // ‖R − I‖² = 4(1 − cos θ) for a rotation by θ, over 9 entries.
        assert!((mse[0] - 4.0 * (1.0 - 0.7f32.cos()) / 9.0).abs() < 1e-5);
    }

    #[test]
    fn keypoints_ignore_missing_points_and_weight_by_confidence() {
        let device = Default::default();
        let pred = Tensor::<B, 3>::from_floats([[[1.0, 1.0], [5.0, 5.0]]], &device);
        let target = Tensor::<B, 3>::from_floats([[[0.0, 0.0, 0.5], [0.0, 0.0, 0.0]]], &device);
        let mean = scalar(keypoint_error(
            pred.clone(),
            target.clone(),
            true,
            KeypointReduction::Mean,
        ));
        assert!((mean[0] - 0.5).abs() < 1e-6, "{mean:?}"); // (1 + 1)·0.5 / 2 coords
        let sum = scalar(keypoint_error(
            pred,
            target,
            false,
            KeypointReduction::SumPerSample,
        ));
        assert!((sum[0] - 2.0).abs() < 1e-6, "{sum:?}");
    }

    /// Zero at the truth whatever the global rotation; a bent elbow costs
    /// the wrist's displacement over the 22 joints (the only joint it moves).
    #[test]
    fn body_joint_error_scores_the_articulated_pose() {
        let device = Default::default();
        let model = crate::smplx::mannequin::mannequin();
        let layer = crate::smplx::SmplxConfig::new()
            .init::<B>(&model, &device)
            .unwrap();
        let rotations = |pose: [f32; 165]| {
            crate::rotation::axis_angle_to_matrix(
                Tensor::<B, 1>::from_floats(pose, &device).reshape([55, 3]),
            )
            .reshape([1, 55, 3, 3])
        };
        let mut truth = [0f32; 165];
        truth[3 * 16 + 2] = -1.0; // left shoulder down
        let mut turned = truth;
        turned[1] = 2.0; // another global rotation
        let mut bent = truth;
        bent[3 * 18 + 1] = -1.2; // left elbow
        let shape = Tensor::<B, 2>::zeros([1, 20], &device);
        let error = |a: [f32; 165], b: [f32; 165]| {
            scalar(body_joint_error(
                &layer,
                shape.clone(),
                rotations(a),
                rotations(b),
            ))[0]
        };
        assert!(error(truth, truth).abs() < 1e-6);
        assert!(
            error(turned, truth).abs() < 1e-5,
            "{}",
            error(turned, truth)
        );
        let joints = |pose: [f32; 165]| {
            layer
                .posed_joints(shape.clone(), rotations(pose))
                .into_data()
                .to_vec::<f32>()
                .unwrap()
        };
        let (a, b) = (joints(truth), joints(bent));
        let wrist = 20 * 3;
        let moved = (0..3)
            .map(|c| (a[wrist + c] - b[wrist + c]).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!(moved > 0.05, "the bend should move the wrist: {moved}");
        let got = error(bent, truth);
        assert!(
            (got - moved / 22.0).abs() < 1e-5,
            "{got} vs {}",
            moved / 22.0
        );
    }

    #[test]
    fn kl_and_consistency() {
        let a = t2(&[1.0, 2.0, 3.0], [1, 3]);
        assert!(scalar(feature_kl(a.clone(), a.clone()))[0].abs() < 1e-6);
        let b = t2(&[3.0, 2.0, 1.0], [1, 3]);
        let kl = scalar(feature_kl(a.clone(), b.clone()))[0];
        // Direct formula with p = softmax(b), q = softmax(a).
        let sm = |v: [f32; 3]| {
            let z: f32 = v.iter().map(|x| x.exp()).sum();
            v.map(|x| x.exp() / z)
        };
        let (p, q) = (sm([3.0, 2.0, 1.0]), sm([1.0, 2.0, 3.0]));
        let want: f32 = (0..3).map(|i| p[i] * (p[i] / q[i]).ln()).sum();
        assert!((kl - want).abs() < 1e-5);
        assert!(scalar(consistency(a.clone(), a.clone() * 3.0))[0].abs() < 1e-6);
        let c = scalar(consistency(a, b))[0];
        assert!((c - (2.0 - 2.0 * 10.0 / 14.0)).abs() < 1e-5);
        let m = scalar(masked_mean(
            Tensor::from_floats([1.0, 5.0], &Default::default()),
            Tensor::from_floats([1.0, 0.0], &Default::default()),
        ));
        assert_eq!(m, vec![1.0]);
    }

    #[test]
    fn located_keypoints_score_the_keypoint_head_against_body25() {
        use crate::nets::{BlockKind, ResNetConfig, StudentConfig, StudentInput};
        let device = Default::default();
        let model = crate::smplx::SmplxConfig::new()
            .init::<B>(&crate::smplx::mannequin::mannequin(), &device)
            .expect("mannequin");
        let student = StudentConfig::new()
            .with_backbone(ResNetConfig::new(BlockKind::Basic, [1, 1, 1, 1]).with_base_width(4))
            .with_body_size(32)
            .with_hidden(vec![8])
            .with_feature_dims([4, 4, 4])
            .with_keypoint_head(true)
            .init::<B>(&device);
        let output = student.forward(
            StudentInput {
                body: Tensor::ones([1, 3, 32, 32], &device) * 0.5,
                detail: None,
            },
            &model,
        );
        let joints = model.forward_joints(
            Student::shape_coeffs(&output, &model),
            output.rotations.clone(),
            Tensor::zeros([1, 3], &device),
        );
        let located = output.located.clone().expect("head");
        // Targets: the located points themselves, shifted by `dx`, confidence 1.
        let targets = |dx: f32| {
            let xy = located.clone() + Tensor::<B, 3>::from_floats([[[dx, 0.0]]], &device);
            let body25 = Tensor::cat(vec![xy, Tensor::ones([1, NUM_BODY25, 1], &device)], 2);
            Targets {
                keypoints: Tensor::cat(
                    vec![
                        body25,
                        Tensor::zeros([1, NUM_OPENPOSE137 - NUM_BODY25, 3], &device),
                    ],
                    1,
                ),
                rotations: output.rotations.clone(),
                expression: output.expression.clone(),
                parts: Tensor::ones([1, 4], &device),
                features: None,
            }
        };
        let term = |config: &LossConfig, dx: f32| {
            supervised(config, &output, joints.clone(), &targets(dx), &model)
                .into_iter()
                .find(|(name, _)| *name == "located_keypoints")
                .map(|(_, t)| scalar(t)[0])
        };
        let config = LossConfig {
            located_keypoints: 2.0,
            ..LossConfig::paper()
        };
        assert!(term(&config, 0.0).expect("term") < 1e-6);
        // L1 of 0.1 in x, 0 in y, averaged over both coordinates, × 2.
        let shifted = term(&config, 0.1).expect("term");
        assert!((shifted - 0.1).abs() < 1e-4, "{shifted}");
        assert_eq!(term(&LossConfig::paper(), 0.1), None);
    }
}
