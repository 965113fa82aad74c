//! The layer against the mannequin: mirrored parameters mirror the
//! skeleton, the joints-only pass matches the full one, bad input stays finite.

use super::*;
use crate::smplx::joints::NUM_JOINTS;
use crate::smplx::{mannequin::mannequin, ParamWidths};
use burn::backend::Flex;
type B = Flex;

/// Skeleton joint that mirrors each of the 55 joints.
fn mirror_joint(j: usize) -> usize {
    match j {
        1 | 4 | 7 | 10 | 13 | 16 | 18 | 20 | 23 => j + 1,
        2 | 5 | 8 | 11 | 14 | 17 | 19 | 21 | 24 => j - 1,
        25..=39 => j + 15,
        40..=54 => j - 15,
        _ => j,
    }
}

#[test]
fn flipped_parameters_mirror_the_skeleton() {
    let model = mannequin();
    let device = Default::default();
    let layer = SmplxConfig::new().init::<B>(&model, &device).unwrap();
    let mut p = SmplxParams::zeros(1, ParamWidths::default());
    let mut x = 0.37f32;
    for row in [
        &mut p.global_orient[0],
        &mut p.body_pose[0],
        &mut p.jaw_pose[0],
        &mut p.left_hand_pose[0],
        &mut p.right_hand_pose[0],
        &mut p.betas[0],
        &mut p.transl[0],
    ] {
        for v in row.iter_mut() {
            x = (x * 7.13 + 0.31).fract();
            *v = x - 0.5;
        }
    }
    let joints = |params: &SmplxParams| {
        let out = layer.forward(SmplxInput::from_params(params, &device));
        out.joints.into_data().to_vec::<f32>().unwrap()
    };
    let (a, b) = (joints(&p), joints(&p.flipped()));
    for j in 0..NUM_JOINTS {
        let m = mirror_joint(j);
        let want = [-a[m * 3], a[m * 3 + 1], a[m * 3 + 2]];
        for c in 0..3 {
            assert!(
                (b[j * 3 + c] - want[c]).abs() < 1e-4,
                "joint {j} axis {c}: {} vs {}",
                b[j * 3 + c],
                want[c]
            );
        }
    }
}

/// The joints-only pass gives the full pass's joints: every skeleton
/// joint, vertex joint and landmark (the contour at several head turns).
#[test]
fn joints_alone_match_the_full_forward() {
    let model = mannequin();
    let device = Default::default();
    for contour in [true, false] {
        let layer = SmplxConfig::new()
            .with_use_face_contour(contour)
            .init::<B>(&model, &device)
            .unwrap();
        assert!(
            layer.sparse.n < model.num_vertices() / 4,
            "{}",
            layer.sparse.n
        );
        let mut p = SmplxParams::zeros(6, ParamWidths::default());
        let mut x = 0.11f32;
        for b in 0..6 {
            for row in [
                &mut p.global_orient[b],
                &mut p.body_pose[b],
                &mut p.jaw_pose[b],
                &mut p.left_hand_pose[b],
                &mut p.right_hand_pose[b],
                &mut p.betas[b],
                &mut p.expression[b],
                &mut p.transl[b],
            ] {
                for v in row.iter_mut() {
                    x = (x * 7.13 + 0.31).fract();
                    *v = 1.5 * (x - 0.5);
                }
            }
            // Head turns across the contour's yaw bins.
            p.body_pose[b][3 * 14 + 1] = -1.2 + 0.5 * b as f32;
        }
        let full = layer
            .forward(SmplxInput::from_params(&p, &device))
            .joints
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let alone = layer
            .joints(SmplxInput::from_params(&p, &device))
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(full.len(), alone.len());
        assert_eq!(full.len(), 6 * if contour { 144 } else { 127 } * 3);
        for (i, (a, b)) in full.iter().zip(&alone).enumerate() {
            assert!(
                (a - b).abs() <= 2e-6,
                "joint value {i}: full {a}, alone {b}"
            );
        }
    }
}

/// Huge or NaN parameters reach the face-contour bin as a NaN yaw; the
/// forward must return (NaN shows in the output), never panic.
#[test]
fn non_finite_parameters_do_not_panic() {
    let model = mannequin();
    let device = Default::default();
    let layer = SmplxConfig::new().init::<B>(&model, &device).unwrap();
    for bad in [f32::NAN, f32::INFINITY, 1e20, -1e20] {
        let mut p = SmplxParams::zeros(1, ParamWidths::default());
        p.global_orient[0][1] = bad;
        p.betas[0][0] = bad;
        let out = layer.forward(SmplxInput::from_params(&p, &device));
        let v = out.vertices.into_data().to_vec::<f32>().unwrap();
        assert_eq!(v.len(), model.num_vertices() * 3);
    }
}
