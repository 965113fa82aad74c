//! The fits recover known poses from landmarks made by the body model itself.

use super::*;
use crate::smplx::SmplxConfig;
use burn::backend::{Autodiff, Flex};

type A = Autodiff<Flex>;

fn layer() -> Smplx<A> {
    let model = crate::smplx::mannequin::mannequin();
    SmplxConfig::new()
        .init::<A>(&model, &Default::default())
        .expect("mannequin layer")
}

/// Landmarks where the bones say: each single-point site's landmark at
/// its SMPL-X joint (mid-point sites follow from those). `swap` puts
/// each left landmark on the right joint and back (a broken table).
fn landmarks_of(joints: &[[f64; 3]], bones: &[Bone], count: usize, swap: bool) -> Landmarks {
    let mut points = vec![[0.0f32; 3]; count];
    for (l, j) in one_to_one(bones) {
        points[l] = joints[j].map(|v| v as f32);
    }
    if swap {
        use blazepose as bp;
        for (a, b) in [
            (bp::LEFT_SHOULDER, bp::RIGHT_SHOULDER),
            (bp::LEFT_ELBOW, bp::RIGHT_ELBOW),
            (bp::LEFT_WRIST, bp::RIGHT_WRIST),
        ] {
            points.swap(a, b);
        }
    }
    Landmarks {
        points,
        visibility: vec![1.0; count],
    }
}

fn posed(layer: &Smplx<A>, params: &SmplxParams) -> Vec<[f64; 3]> {
    let joints = layer.joints(SmplxInput::from_params(params, &Default::default()));
    read(joints)
        .unwrap()
        .chunks(3)
        .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
        .collect()
}

/// A body turned to the camera's frame (upside down: y down), arms
/// down and bent, a knee up, the head turned.
fn a_body() -> SmplxParams {
    let mut p = SmplxParams::zeros(1, ParamWidths::default());
    p.global_orient[0] = vec![3.0, 0.3, 0.1];
    let mut set = |joint: usize, aa: [f32; 3]| {
        p.body_pose[0][(joint - 1) * 3..joint * 3].copy_from_slice(&aa);
    };
    set(idx::LEFT_SHOULDER, [0.0, 0.2, -1.1]);
    set(idx::RIGHT_SHOULDER, [0.3, 0.0, 1.0]);
    set(idx::LEFT_ELBOW, [0.0, -1.2, 0.0]);
    set(idx::RIGHT_ELBOW, [0.0, 0.8, 0.0]);
    set(idx::LEFT_HIP, [-1.0, 0.0, 0.1]);
    set(idx::LEFT_KNEE, [1.3, 0.0, 0.0]);
    set(idx::RIGHT_HIP, [0.2, 0.0, -0.2]);
    set(idx::HEAD, [0.1, 0.5, 0.0]);
    set(idx::SPINE2, [0.2, 0.0, 0.0]);
    p
}

/// PA-MPJPE (mm) over the 22 body joints.
fn body_error(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    crate::metrics::pa_mpjpe(&a[..22], &b[..22]).unwrap() * 1000.0
}

fn fit_error(swap: bool) -> (f64, f64) {
    fit_error_with(swap, &FitConfig::body())
}

fn fit_error_with(swap: bool, config: &FitConfig) -> (f64, f64) {
    let layer = layer();
    let truth_params = a_body();
    let truth = posed(&layer, &truth_params);
    let target = landmarks_of(&truth, &body_bones(), blazepose::COUNT, swap);
    let fit = fit_body(&layer, &[target], config, &Default::default()).unwrap();
    let mut p = SmplxParams::zeros(1, ParamWidths::default());
    p.global_orient[0] = fit[0].global_orient.to_vec();
    p.body_pose[0] = fit[0].body_pose.clone();
    let rest = posed(&layer, &SmplxParams::zeros(1, ParamWidths::default()));
    (
        body_error(&posed(&layer, &p), &truth),
        body_error(&rest, &truth),
    )
}

#[test]
fn body_fit_recovers_the_pose_from_its_own_joints() {
    let (fit, rest) = fit_error(false);
    // Measured: 6.5 mm against 152 mm for the rest pose (the rest is
    // the spine's bend, which no landmark divides between its joints).
    assert!(
        fit < 15.0 && fit < 0.1 * rest,
        "fit {fit:.1} mm, rest {rest:.1} mm"
    );
}

#[test]
fn body_fit_with_sides_swapped_misses() {
    // The same fit fed left arm points on the right arm: the check
    // above must be able to fail.
    let (fit, _) = fit_error(true);
    assert!(fit > 30.0, "fit {fit:.1} mm");
}

#[test]
fn hand_fit_recovers_a_bent_hand() {
    let layer = layer();
    for side in [Side::Left, Side::Right] {
        let mut p = SmplxParams::zeros(1, ParamWidths::default());
        p.global_orient[0] = vec![0.4, -1.0, 2.0];
        let hand: Vec<f32> = (0..45)
            .map(|k| {
                if k % 3 == 2 {
                    0.5
                } else {
                    0.05 * (k % 5) as f32
                }
            })
            .collect();
        let ids: Vec<usize> = finger_joints(side).iter().flatten().copied().collect();
        let mut bones_of = |h: Vec<f32>| match side {
            Side::Left => p.left_hand_pose[0] = h,
            Side::Right => p.right_hand_pose[0] = h,
        };
        bones_of(hand.clone());
        let truth = posed(&layer, &p);
        let target = landmarks_of(&truth, &hand_bones(side), mediapipe_hand::COUNT, false);
        let fit = fit_hand(
            &layer,
            side,
            &[target],
            &FitConfig::hand(),
            &Default::default(),
        )
        .unwrap();
        p.global_orient[0] = fit[0].wrist_orient.to_vec();
        match side {
            Side::Left => p.left_hand_pose[0] = fit[0].hand_pose.clone(),
            Side::Right => p.right_hand_pose[0] = fit[0].hand_pose.clone(),
        }
        let got = posed(&layer, &p);
        let pick = |j: &[[f64; 3]]| -> Vec<[f64; 3]> {
            std::iter::once(j[wrist(side)])
                .chain(ids.iter().map(|&i| j[i]))
                .collect()
        };
        let error = crate::metrics::pa_mpjpe(&pick(&got), &pick(&truth)).unwrap() * 1000.0;
        // Measured: ~1 mm.
        assert!(error < 3.0, "{side:?}: {error:.2} mm");
    }
}

#[test]
fn face_fit_recovers_jaw_and_expression() {
    let (fit_mm, rest_mm) = face_err_with(&FitConfig::face());
    // Measured: 0.16 mm against 8.1 mm for the rest face.
    assert!(
        fit_mm < 0.2 * rest_mm,
        "fit {fit_mm:.2} mm, rest {rest_mm:.2} mm"
    );
}

fn face_err_with(config: &FitConfig) -> (f64, f64) {
    let layer = layer();
    let mut p = SmplxParams::zeros(1, ParamWidths::default());
    p.global_orient[0] = vec![2.9, 0.4, 0.0];
    p.jaw_pose[0] = vec![0.3, 0.0, 0.0];
    p.expression[0] = vec![1.5, -1.0, 0.5, 0.0, 0.8, 0.0, 0.0, -0.5, 0.0, 0.3];
    let truth = posed(&layer, &p);
    // The mesh's points at the SMPL-X landmarks, in pixels (×500).
    let mut points = vec![[0.0f32; 3]; FACE_MESH_COUNT];
    for site in face_points() {
        points[site.landmarks[0]] = truth[site.joints[0]].map(|v| (v * 500.0) as f32);
    }
    let target = Landmarks {
        points,
        visibility: vec![1.0; FACE_MESH_COUNT],
    };
    let fit = fit_face(&layer, &[target], config, &Default::default()).unwrap();
    // The fitted face against the rest face, both aligned to the truth.
    let face = |j: &[[f64; 3]]| j[76..127].to_vec();
    let mut fitted = p.clone();
    fitted.jaw_pose[0] = fit[0].jaw_pose.to_vec();
    fitted.expression[0] = fit[0].expression.clone();
    let mut rest = p.clone();
    rest.jaw_pose[0] = vec![0.0; 3];
    rest.expression[0] = vec![0.0; 10];
    let error = |q: &SmplxParams| {
        crate::metrics::pa_mpjpe(&face(&posed(&layer, q)), &face(&truth)).unwrap() * 1000.0
    };
    (error(&fitted), error(&rest))
}

#[test]
fn bad_landmarks_are_named() {
    let layer = layer();
    let short = Landmarks {
        points: vec![[0.0; 3]; 5],
        visibility: vec![1.0; 5],
    };
    let err = fit_body(&layer, &[short], &FitConfig::body(), &Default::default());
    assert_eq!(
        err.unwrap_err(),
        FitError::Count {
            row: 0,
            got: 5,
            expected: 33
        }
    );
    let mut nan = Landmarks {
        points: vec![[0.0; 3]; 33],
        visibility: vec![1.0; 33],
    };
    nan.points[3][1] = f32::NAN;
    let err = fit_body(&layer, &[nan], &FitConfig::body(), &Default::default());
    assert_eq!(err.unwrap_err(), FitError::NotFinite { row: 0 });
}

/// The body's PA-MPJPE (mm) after `config`'s iterations from `warm` (or
/// the cold Procrustes start).
fn warm_fit_error(warm: Option<&BodyFit>, config: &FitConfig) -> f64 {
    let layer = layer();
    let truth = posed(&layer, &a_body());
    let target = landmarks_of(&truth, &body_bones(), blazepose::COUNT, false);
    let fit = fit_body_from(&layer, &[target], &[warm], config, &Default::default()).unwrap();
    let mut p = SmplxParams::zeros(1, ParamWidths::default());
    p.global_orient[0] = fit[0].global_orient.to_vec();
    p.body_pose[0] = fit[0].body_pose.clone();
    body_error(&posed(&layer, &p), &truth)
}

/// The previous frame's fit: the true pose with every angle 0.15 rad off.
fn previous_frame() -> BodyFit {
    let truth = a_body();
    BodyFit {
        global_orient: [3.0 + 0.15, 0.3 - 0.15, 0.1 + 0.15],
        body_pose: truth.body_pose[0].iter().map(|v| v + 0.15).collect(),
        residual_deg: 0.0,
    }
}

#[test]
fn a_warm_start_follows_in_a_few_iterations() {
    // The live page's budget: what a cold start cannot do in it, a warm
    // start from a nearby pose (the previous frame) does.
    let live = crate::fit::PersonFitConfig::live().body;
    let previous = previous_frame();
    let warm = warm_fit_error(Some(&previous), &live);
    let cold = warm_fit_error(None, &live);
    let converged = warm_fit_error(None, &FitConfig::body());
    eprintln!(
        "warm {warm:.1} mm, cold {cold:.1} mm ({} iterations), converged {converged:.1} mm",
        live.iterations
    );
    assert!(
        warm < 2.0 * converged.max(10.0) && warm < 0.7 * cold,
        "warm {warm:.1} mm, cold {cold:.1} mm (same {} iterations), converged cold {converged:.1} mm",
        live.iterations
    );
}

#[test]
fn a_warm_start_of_the_wrong_width_is_refused_and_a_diverged_one_ignored() {
    let layer = layer();
    let truth = posed(&layer, &a_body());
    let target = landmarks_of(&truth, &body_bones(), blazepose::COUNT, false);
    let mut short = previous_frame();
    short.body_pose.pop();
    let err = fit_body_from(
        &layer,
        std::slice::from_ref(&target),
        &[Some(&short)],
        &FitConfig::body(),
        &Default::default(),
    );
    assert_eq!(
        err,
        Err(FitError::StartWidth {
            row: 0,
            got: 65,
            expected: 66
        })
    );
    // NaN (a diverged frame): the cold start instead, so the same answer.
    let mut nan = previous_frame();
    nan.body_pose[4] = f32::NAN;
    let config = FitConfig {
        iterations: 5,
        ..FitConfig::body()
    };
    let from_nan = fit_body_from(
        &layer,
        std::slice::from_ref(&target),
        &[Some(&nan)],
        &config,
        &Default::default(),
    );
    let cold = fit_body(&layer, &[target], &config, &Default::default());
    assert_eq!(from_nan, cold);
}

#[test]
fn a_person_fit_puts_the_body_on_its_2d_landmarks() {
    use crate::crop::CropTransform;
    use crate::mediapipe::holistic::Person;
    use crate::mediapipe::pipeline::Landmark;
    let layer = layer();
    let truth = posed(&layer, &a_body());
    let world = landmarks_of(&truth, &body_bones(), blazepose::COUNT, false);
    // The image: 400 px per metre, the pelvis at (320, 240).
    let pixel = |p: [f32; 3]| [320.0 + 400.0 * p[0], 240.0 + 400.0 * p[1], 400.0 * p[2]];
    let body: Vec<Landmark> = world
        .points
        .iter()
        .map(|&p| Landmark {
            position: pixel(p),
            visibility: Some(1.0),
            presence: Some(1.0),
        })
        .collect();
    let person = Person {
        detection: None,
        roi: CropTransform::whole_image(640, 480),
        next_roi: None,
        presence: 1.0,
        body: body.clone(),
        world: world.points.clone(),
        feature: Vec::new(),
        left_hand: None,
        right_hand: None,
        face: None,
    };
    let fit = &fit_people(
        &layer,
        &[&person],
        &[],
        &PersonFitConfig::label(),
        &Default::default(),
    )
    .unwrap()[0];
    let camera = fit.camera.expect("a camera");
    let joints = posed(&layer, &fit.params());
    let crop = fit.crop();
    // Median distance between the projected joints and the landmarks they
    // correspond to, as a fraction of the landmarks' height.
    let [_, y0, _, y1] = crate::fit::person::landmark_box(&person);
    let mut d: Vec<f32> = blazepose_joints()
        .into_iter()
        .map(|(l, j)| {
            let [s, tx, ty] = camera;
            let p = crop.to_image([
                s * (joints[j][0] as f32 + tx),
                s * (joints[j][1] as f32 + ty),
            ]);
            let q = body[l].position;
            ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt() / (y1 - y0)
        })
        .collect();
    d.sort_by(f32::total_cmp);
    let median = d[d.len() / 2];
    // Measured: see the assertion message; the joints are GHUM-free here
    // (the landmarks are the model's own), so only the fit's error remains.
    assert!(median < 0.03, "median {median:.3} of the height");
    assert!(fit.left_hand.is_none() && fit.face.is_none());
}
