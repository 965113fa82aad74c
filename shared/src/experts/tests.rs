//! Expert targets, losses and held-out scores against hand-made cases and
//! the mannequin body model.

use super::*;
use crate::nets::{ExpertKind, ExpertPrediction};
use crate::rotation::host::IDENTITY;
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// A prediction with the given supervised outputs (the raw network
/// output, unused by the losses, is an empty DECA code).
fn prediction_of<B: Backend>(
    rotations: Tensor<B, 4>,
    rest: Option<Tensor<B, 2>>,
) -> ExpertPrediction<B> {
    let n = rotations.dims()[0];
    let device = rotations.device();
    let zeros = || Tensor::<B, 2>::zeros([n, 1], &device);
    ExpertPrediction {
        rotations,
        rest,
        feature: zeros(),
        raw: crate::nets::RawPrediction::Face(crate::nets::DecaOutput {
            code: zeros(),
            shape: zeros(),
            tex: zeros(),
            exp: zeros(),
            pose: zeros(),
            camera: zeros(),
            light: Tensor::zeros([n, 1, 1], &device),
            feature: zeros(),
        }),
    }
}

#[test]
fn weak_perspective_fit_recovers_the_camera() {
    let xy = [[0.1f32, -0.5], [0.3, 0.2], [-0.2, 0.4], [0.05, 0.9]];
    let cam = [1.3f32, 0.1, -0.2];
    let uv: Vec<[f32; 2]> = xy
        .iter()
        .map(|p| [cam[0] * (p[0] + cam[1]), cam[0] * (p[1] + cam[2])])
        .collect();
    let fit = fit_weak_perspective(&xy, &uv).unwrap();
    for k in 0..3 {
        assert!((fit[k] - cam[k]).abs() < 1e-5, "{fit:?}");
    }
    assert!(fit_weak_perspective(&xy[..1], &uv[..1]).is_none());
}

#[test]
fn chordal_mean_and_angles() {
    let a = face_target(&[0.2, 0.0, 0.0], &[1.0; 10]);
    let b = face_target(&[0.4, 0.0, 0.0], &[3.0; 10]);
    let mean = mean_target(&[a.clone(), b.clone()]).unwrap();
    let c = face_target(&[0.3, 0.0, 0.0], &[2.0; 10]);
    assert!(rotation_angle_deg(&mean.rotations[0], &c.rotations[0]) < 1e-3);
    assert_eq!(mean.rest, vec![2.0; 10]);
    assert!(
        (rotation_angle_deg(&a.rotations[0], &b.rotations[0]) - 0.2f64.to_degrees()).abs() < 1e-3
    );
    let report = HeldOutReport::new(
        ExpertKind::Face,
        std::slice::from_ref(&a),
        std::slice::from_ref(&a),
        &mean,
        None,
    );
    assert!(
        report.relative < 1e-3 && report.groups[1].baseline == 1.0,
        "{report:?}"
    );
}

#[test]
fn mirrored_hand_target_negates_y_and_z() {
    let fingers: Vec<f32> = (0..45).map(|i| 0.01 * i as f32).collect();
    let mut flipped = fingers.clone();
    for (i, v) in flipped.iter_mut().enumerate() {
        if i % 3 != 0 {
            *v = -*v;
        }
    }
    let wrist = aa(&[0.3, 0.2, -0.1]);
    let m = hand_target(&wrist, &fingers, true);
    let want = hand_target(&aa(&[0.3, -0.2, 0.1]), &flipped, false);
    for (a, b) in m.rotations.iter().zip(&want.rotations) {
        assert!(rotation_angle_deg(a, b) < 1e-3);
    }
}

#[test]
fn turned_crops_turn_the_camera_frame() {
    use crate::crop::CropTransform;
    // Camera-frame points seen by a weak-perspective camera in an
    // upright window; the same pixels through a turned (and a mirrored)
    // window are the points turned by `in_plane_rotation`.
    let (s, t) = (0.8f32, [0.1f32, -0.2]);
    let upright = CropTransform::around_box([20.0, 30.0, 120.0, 130.0], 1.0);
    let points = [[0.3f64, -0.4, 2.0], [-0.5, 0.2, 1.5], [0.1, 0.7, 2.5]];
    for turn in [0.0f32, 0.3, -1.1] {
        for flip in [false, true] {
            let window = upright.augmented(turn, 1.0, flip);
            let q = in_plane_rotation(turn);
            for p in points {
                let pixel = upright.to_image([s * (p[0] as f32 + t[0]), s * (p[1] as f32 + t[1])]);
                let uv = window.to_crop(pixel);
                let pq = crate::rotation::host::apply(&q, p);
                let tq = crate::rotation::host::apply(&q, [t[0] as f64, t[1] as f64, 0.0]);
                let mut want = [s * (pq[0] + tq[0]) as f32, s * (pq[1] + tq[1]) as f32];
                if flip {
                    want[0] = -want[0];
                }
                assert!(
                    (uv[0] - want[0]).abs() < 1e-4 && (uv[1] - want[1]).abs() < 1e-4,
                    "turn {turn} flip {flip}: {uv:?} vs {want:?}"
                );
            }
        }
    }
}

#[test]
fn loss_weights_equalise_the_groups() {
    let targets: Vec<ExpertTarget> = (0..4)
        .map(|i| face_target(&[0.1 * i as f32, 0.0, 0.0], &[3.0 * i as f32; 10]))
        .collect();
    let mean = mean_target(&targets).unwrap();
    let w = loss_weights(ExpertKind::Face, &targets, &mean, None);
    assert_eq!(w.len(), 2);
    // Expression: values 0, 3, 6, 9 about 4.5: mean square 11.25.
    assert!((w[1] - 1.0 / 11.25).abs() < 1e-5, "{w:?}");
    // The baseline's weighted loss is 1 per group.
    let device = Default::default();
    type B = burn::backend::Flex;
    let refs: Vec<&ExpertTarget> = targets.iter().collect();
    let (rot, rest) = target_tensors::<B>(&refs, &device);
    let means = vec![&mean; 4];
    let (mrot, mrest) = target_tensors::<B>(&means, &device);
    let prediction = prediction_of(mrot, mrest);
    let loss: f32 = expert_loss(
        ExpertKind::Face,
        &prediction,
        rot.clone(),
        rest.clone(),
        &w,
        None,
    )
    .into_scalar();
    assert!((loss - 2.0).abs() < 1e-3, "{loss}");
    // Scored on the face, the baseline's weighted loss is 1 per group too.
    let model = crate::smplx::mannequin::mannequin();
    let geometry = ExpressionGeometry::new(&model).unwrap();
    let w = loss_weights(ExpertKind::Face, &targets, &mean, Some(&geometry));
    let loss: f32 = expert_loss(
        ExpertKind::Face,
        &prediction,
        rot,
        rest,
        &w,
        Some(&geometry),
    )
    .into_scalar();
    assert!((loss - 2.0).abs() < 1e-3, "{loss}");
    // SPIN's hand joints (always identity) keep weight 1.
    let body: Vec<ExpertTarget> = (0..3)
        .map(|i| {
            body_target(
                &aa(&[0.2 * i as f32, 0.0, 0.0]),
                &[0.05 * i as f32; 63],
                &[i as f32; 10],
                [1.0, 0.0, i as f32],
            )
        })
        .collect();
    let w = loss_weights(ExpertKind::Body, &body, &mean_target(&body).unwrap(), None);
    assert_eq!(w.len(), 5);
    assert_eq!(w[2], 1.0);
}

/// The expression metric against the body model itself: the RMS
/// displacement of the vertices the expression moves, between a face
/// with coefficients `a` and one with `b`.
#[test]
fn expression_geometry_is_the_faces_displacement() {
    use crate::smplx::{ParamWidths, SmplxConfig, SmplxInput, SmplxParams};
    type B = burn::backend::Flex;
    let device = Default::default();
    let model = crate::smplx::mannequin::mannequin();
    let geometry = ExpressionGeometry::new(&model).unwrap();
    let layer = SmplxConfig::new().init::<B>(&model, &device).unwrap();
    let a = [0.8f32, -0.5, 1.2, 0.0, 0.3, -1.0, 0.6, 0.2, -0.7, 1.5];
    let b = [0.1f32, 0.4, -0.3, 0.9, 0.0, 0.2, -0.6, 1.1, 0.5, -0.2];
    let mut params = SmplxParams::zeros(2, ParamWidths::default());
    params.expression = vec![a.to_vec(), b.to_vec()];
    let vertices = layer
        .forward(SmplxInput::from_params(&params, &device))
        .vertices
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let v = model.num_vertices();
    let s = model.num_shapedirs;
    let (mut sum, mut moved) = (0.0f64, 0usize);
    for i in 0..v {
        let dirs = &model.shapedirs[i * 3 * s..(i + 1) * 3 * s];
        if !(0..3).any(|c| (10..20).any(|e| dirs[c * s + e] != 0.0)) {
            continue;
        }
        moved += 1;
        sum += (0..3)
            .map(|c| (vertices[i * 3 + c] as f64 - vertices[(v + i) * 3 + c] as f64).powi(2))
            .sum::<f64>();
    }
    let want = 1000.0 * (sum / moved as f64).sqrt();
    let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| (x - y) as f64).collect();
    let got = geometry.rms_mm(&d);
    assert!(want > 0.5, "the expression moves the face: {want} mm");
    assert!(
        (got - want).abs() < 1e-3 * want,
        "{got} mm vs the mesh's {want} mm"
    );
}

type Nd = burn::backend::Flex;

/// The mannequin's layer, and one body with a hip raised and β₀ = 1.
fn mannequin_body(global_orient: [f32; 3]) -> (crate::smplx::Smplx<Nd>, crate::smplx::SmplxParams) {
    use crate::smplx::{ParamWidths, SmplxConfig, SmplxParams};
    let model = crate::smplx::mannequin::mannequin();
    let layer = SmplxConfig::new()
        .init::<Nd>(&model, &Default::default())
        .unwrap();
    let mut params = SmplxParams::zeros(1, ParamWidths::default());
    params.global_orient[0] = global_orient.to_vec();
    params.body_pose[0][0] = 0.4; // left hip
    params.betas[0][0] = 1.0;
    (layer, params)
}

/// The posed body's joints, flattened `[joints · 3]`.
fn joints_of(layer: &crate::smplx::Smplx<Nd>, params: &crate::smplx::SmplxParams) -> Vec<f32> {
    layer
        .forward(crate::smplx::SmplxInput::from_params(
            params,
            &Default::default(),
        ))
        .joints
        .into_data()
        .to_vec::<f32>()
        .unwrap()
}

#[test]
fn body_joint_loss_measures_the_pelvis_relative_joints() {
    type B = Nd;
    let device = Default::default();
    let (layer, params) = mannequin_body([0.3, 0.5, 0.1]);
    let body_joints =
        |p: &crate::smplx::SmplxParams| joints_of(&layer, p)[..BODY_JOINTS * 3].to_vec();
    let truth = body_joints(&params);
    // The same joints anywhere in space: only where they are relative to the pelvis counts.
    let moved: Vec<f32> = truth
        .iter()
        .enumerate()
        .map(|(k, v)| v + [0.5, -0.2, 2.0][k % 3])
        .collect();
    let loss_for = |p: &crate::smplx::SmplxParams| -> f32 {
        let t = body_target(
            &aa(&p.global_orient[0]),
            &p.body_pose[0],
            &p.betas[0],
            [1.0, 0.0, 0.0],
        );
        let (rotations, rest) = target_tensors::<B>(&[&t], &device);
        let joints =
            Tensor::<B, 3>::from_data(TensorData::new(moved.clone(), [1, BODY_JOINTS, 3]), &device);
        body_joint_loss(&prediction_of(rotations, rest), &layer, joints).into_scalar()
    };
    assert!(loss_for(&params) < 1e-9, "{}", loss_for(&params));
    // Bending the left elbow (joint 18) moves the left wrist (joint 20) only.
    let mut bent = params.clone();
    bent.body_pose[0][3 * 17 + 1] = -1.0;
    let wrist = |j: &[f32]| [60, 61, 62].map(|k| j[k]);
    let (a, b) = (wrist(&truth), wrist(&body_joints(&bent)));
    let want = (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f32>() / BODY_JOINTS as f32;
    let got = loss_for(&bent);
    assert!(want > 1e-3, "the bend should move the wrist: {want}");
    assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");
}

/// At the true pose and camera the keypoint term is zero; a camera
/// shifted by d costs (s·d)² per joint.
#[test]
fn body_keypoint_loss_measures_the_projection() {
    type B = Nd;
    let device = Default::default();
    let (layer, mut params) = mannequin_body([3.0, 0.2, 0.1]);
    params.body_pose[0][3 * 17 + 1] = -1.0; // left elbow (joint 18) bent
    let joints = joints_of(&layer, &params);
    let camera = [0.9f32, 0.05, 0.3];
    let keypoints: Vec<f32> = (0..22)
        .flat_map(|j| {
            let (x, y) = (joints[j * 3], joints[j * 3 + 1]);
            [
                camera[0] * (x + camera[1]),
                camera[0] * (y + camera[2]),
                1.0,
            ]
        })
        .collect();
    let keypoints = Tensor::<B, 3>::from_data(TensorData::new(keypoints, [1, 22, 3]), &device);
    let target = body_target(
        &aa(&params.global_orient[0]),
        &params.body_pose[0],
        &params.betas[0],
        camera,
    );
    let loss_for = |cam: [f32; 3]| -> f32 {
        let mut t = target.clone();
        t.rest[10..13].copy_from_slice(&cam);
        let (rotations, rest) = target_tensors::<B>(&[&t], &device);
        let prediction = prediction_of(rotations, rest);
        body_keypoint_loss(&prediction, &layer, keypoints.clone()).into_scalar()
    };
    assert!(loss_for(camera) < 1e-9, "{}", loss_for(camera));
    let shifted = loss_for([camera[0], camera[1] + 0.1, camera[2]]);
    let want = (camera[0] * 0.1).powi(2);
    assert!(
        (shifted - want).abs() < 1e-4 * want.max(1.0),
        "{shifted} vs {want}"
    );
}

#[test]
fn chain_rotation_composes_parents() {
    let mut pose = vec![0.0f32; 63];
    pose[2] = 0.5; // left hip (joint 1) about z
    pose[9 + 2] = 0.25; // left knee (joint 4) about z
    let r = joint_global_rotation(&IDENTITY, &pose, 4);
    let want = aa(&[0.0, 0.0, 0.75]);
    assert!(rotation_angle_deg(&flat(&r), &flat(&want)) < 1e-3);
}
