//! From an image to SMPL-X parameters with a student: which window the
//! network sees, and how its rotations become the parameter JSON. Shared by
//! `furpe infer`, `furpe eval`, training's validation and the browser, so
//! all of them crop and convert alike.

use crate::crop::CropTransform;
use crate::rotation::host::matrix_to_axis_angle;
use crate::smplx::{ParamWidths, SmplxParams};

/// Body crop side relative to the person box's longer side.
pub const BODY_CROP_SCALE: f32 = 1.2;

/// Confidence above which a body keypoint places the crop.
const KEYPOINT_CONFIDENCE: f32 = 0.1;

/// The body window: around the person box if known, else around the
/// confident body keypoints, else the whole image.
pub fn body_window(
    person_box: Option<[f32; 4]>,
    keypoints: Option<&[[f32; 3]]>,
    width: u32,
    height: u32,
) -> CropTransform {
    if let Some(b) = person_box {
        return CropTransform::around_box(b, BODY_CROP_SCALE);
    }
    keypoints
        .and_then(|k| {
            CropTransform::around_points(
                &k[..k.len().min(25)],
                KEYPOINT_CONFIDENCE,
                4,
                BODY_CROP_SCALE,
            )
        })
        .unwrap_or_else(|| CropTransform::whole_image(width, height))
}

/// Host copies of a student's outputs for `n` bodies.
#[derive(Debug, Clone)]
pub struct StudentReadout {
    /// Absolute rotations, SMPL-X order `[n × 55 × 9]`.
    pub rotations: Vec<f32>,
    pub betas: Vec<f32>,
    pub expression: Vec<f32>,
    pub num_betas: usize,
    pub num_expression: usize,
}

/// Readout → parameters under the reference package's conventions: hands
/// relative to `hands_mean` (left, right), or absolute with `flat_hand_mean`.
pub fn readout_to_params(
    readout: &StudentReadout,
    hands_mean: [&[f32]; 2],
    flat_hand_mean: bool,
) -> SmplxParams {
    let n = readout.rotations.len() / (55 * 9);
    let mut params = SmplxParams::zeros(
        n,
        ParamWidths {
            betas: readout.num_betas,
            expression: readout.num_expression,
            ..ParamWidths::default()
        },
    );
    for b in 0..n {
        let aa: Vec<f32> = (0..55)
            .flat_map(|j| {
                let m = &readout.rotations[(b * 55 + j) * 9..(b * 55 + j + 1) * 9];
                let m = [0, 1, 2].map(|r| [0, 1, 2].map(|c| m[r * 3 + c] as f64));
                matrix_to_axis_angle(&m).map(|v| v as f32)
            })
            .collect();
        let hand = |range: std::ops::Range<usize>, mean: &[f32]| -> Vec<f32> {
            aa[range]
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if flat_hand_mean {
                        *v
                    } else {
                        v - mean.get(i).copied().unwrap_or(0.0)
                    }
                })
                .collect()
        };
        params.global_orient[b] = aa[0..3].to_vec();
        params.body_pose[b] = aa[3..66].to_vec();
        params.jaw_pose[b] = aa[66..69].to_vec();
        params.leye_pose[b] = aa[69..72].to_vec();
        params.reye_pose[b] = aa[72..75].to_vec();
        params.left_hand_pose[b] = hand(75..120, hands_mean[0]);
        params.right_hand_pose[b] = hand(120..165, hands_mean[1]);
        params.betas[b] =
            readout.betas[b * readout.num_betas..(b + 1) * readout.num_betas].to_vec();
        params.expression[b] = readout.expression
            [b * readout.num_expression..(b + 1) * readout.num_expression]
            .to_vec();
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::host::axis_angle_to_matrix;

    #[test]
    fn rotations_round_trip_to_parameters() {
        let mut rotations = Vec::new();
        let pose: Vec<[f64; 3]> = (0..55).map(|j| [0.01 * j as f64, -0.2, 0.3]).collect();
        for r in &pose {
            rotations.extend(axis_angle_to_matrix(*r).iter().flatten().map(|&v| v as f32));
        }
        let readout = StudentReadout {
            rotations,
            betas: vec![0.5; 10],
            expression: vec![-0.5; 10],
            num_betas: 10,
            num_expression: 10,
        };
        let mean = vec![0.1f32; 45];
        let p = readout_to_params(&readout, [&mean, &mean], false);
        assert!((p.body_pose[0][0] - 0.01).abs() < 1e-5);
        // Hands are given relative to the mean.
        assert!((p.left_hand_pose[0][0] - (0.25 - 0.1)).abs() < 1e-5);
        let flat = readout_to_params(&readout, [&mean, &mean], true);
        assert!((flat.right_hand_pose[0][0] - 0.40).abs() < 1e-5);
        assert_eq!(p.betas[0], vec![0.5; 10]);
    }

    #[test]
    fn window_prefers_box_then_keypoints_then_image() {
        let b = body_window(Some([0.0, 0.0, 10.0, 20.0]), None, 100, 100);
        assert_eq!(b.side, 24.0);
        let pts = vec![
            [10.0, 10.0, 0.9],
            [20.0, 30.0, 0.9],
            [10.0, 30.0, 0.9],
            [20.0, 10.0, 0.9],
        ];
        let k = body_window(None, Some(&pts), 100, 100);
        assert_eq!(k.center, [15.0, 20.0]);
        let w = body_window(None, None, 100, 50);
        assert_eq!(w.side, 100.0);
    }
}
