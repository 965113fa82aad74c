//! The best constant predictor, and how much a set of bodies varies.
//!
//! A learned regressor is judged against the best input-independent answer:
//! one body predicted for every image. A network that ignores its input can
//! at best learn that constant, so "beats the constant" is the test of having
//! learnt anything from pixels; beating the zero-parameter body (a T-pose) is
//! not, since any average pose with the arms down does that by ~60 mm.
//!
//! The constant is the mean of the labels: each joint's rotation averaged on
//! the rotation group (the chordal L2 mean, the rotation nearest in Frobenius
//! norm to the arithmetic mean of the rotation matrices; Hartley et al.,
//! "Rotation Averaging", IJCV 2013, §5.3), shape and expression coefficients
//! and translations averaged arithmetically. Hand poses are stored relative
//! to the model's mean hand, so they are averaged as absolute rotations
//! (mean hand added, then taken off again).
//!
//! [`spread_mm`] measures input dependence: the mean Procrustes-aligned
//! distance of each body's points to the set's mean shape. Reported for the
//! predictions next to the ground truth's, it shows a regressor that returns
//! nearly the same body for every image (spread near 0) whatever its error.

use nalgebra::Matrix3;

use crate::metrics::{nearest_rotation, pa_mean_distance, similarity_procrustes, Point};
use crate::rotation::host::{axis_angle_to_matrix, matrix_to_axis_angle, Mat3};
use crate::smplx::params::PARAM_NAMES;
use crate::smplx::SmplxParams;

/// Parameter fields that hold axis-angle rotations (3 values per joint).
const ROTATION_FIELDS: [&str; 7] = [
    "global_orient",
    "body_pose",
    "jaw_pose",
    "leye_pose",
    "reye_pose",
    "left_hand_pose",
    "right_hand_pose",
];

/// The chordal L2 mean of rotation matrices; `None` for an empty set.
pub fn mean_rotation(rotations: &[Mat3]) -> Option<Mat3> {
    if rotations.is_empty() {
        return None;
    }
    let mut sum = Matrix3::<f64>::zeros();
    for r in rotations {
        sum += Matrix3::from_fn(|i, k| r[i][k]);
    }
    let r = nearest_rotation(&(sum / rotations.len() as f64));
    Some([0, 1, 2].map(|i| [0, 1, 2].map(|k| r[(i, k)])))
}

/// Joint-wise chordal mean of axis-angle rows (`[3 × joints]` each);
/// `offset` (e.g. the mean hand) is added to every row before averaging and
/// taken off the result.
fn mean_axis_angles(rows: &[&[f32]], offset: Option<&[f32]>) -> Vec<f32> {
    let width = rows.first().map_or(0, |r| r.len());
    let at = |i: usize| offset.and_then(|o| o.get(i)).copied().unwrap_or(0.0) as f64;
    let mut out = Vec::with_capacity(width);
    for j in 0..width / 3 {
        let matrices: Vec<Mat3> = rows
            .iter()
            .map(|r| axis_angle_to_matrix([0, 1, 2].map(|k| r[3 * j + k] as f64 + at(3 * j + k))))
            .collect();
        let mean = mean_rotation(&matrices).map_or([0.0; 3], |m| matrix_to_axis_angle(&m));
        out.extend((0..3).map(|k| (mean[k] - at(3 * j + k)) as f32));
    }
    out
}

/// The constant body that best summarises `bodies` (every row of the
/// batch): rotations by their chordal mean, everything else arithmetically.
/// `hands_mean` (left, right; 45 values each) is the mean hand that the hand
/// poses are relative to, `None` for a flat-hand-mean convention.
pub fn mean_params(
    bodies: &SmplxParams,
    hands_mean: Option<[&[f32]; 2]>,
) -> Result<SmplxParams, String> {
    let n = bodies.batch_size();
    if n == 0 {
        return Err("no bodies to average".into());
    }
    let mut out = bodies.rows(0..1);
    for key in PARAM_NAMES {
        let Some(rows) = bodies.field(key) else {
            continue;
        };
        let width = rows[0].len();
        if let Some(b) = rows.iter().position(|r| r.len() != width) {
            return Err(format!(
                "'{key}' of body {b} has {} values, body 0 has {width}",
                rows[b].len()
            ));
        }
        if let Some(b) = rows.iter().position(|r| r.iter().any(|v| !v.is_finite())) {
            return Err(format!("'{key}' of body {b} holds a non-finite value"));
        }
        let slices: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let mean = if ROTATION_FIELDS.contains(&key) {
            if width % 3 != 0 {
                return Err(format!("'{key}' has {width} values, not 3 per joint"));
            }
            let offset = match (key, hands_mean) {
                ("left_hand_pose", Some([l, _])) => Some(l),
                ("right_hand_pose", Some([_, r])) => Some(r),
                _ => None,
            };
            mean_axis_angles(&slices, offset)
        } else {
            (0..width)
                .map(|i| (slices.iter().map(|r| r[i] as f64).sum::<f64>() / n as f64) as f32)
                .collect()
        };
        if let Some(field) = out.field_mut(key) {
            field[0] = mean;
        }
    }
    Ok(out)
}

/// The mean shape of point sets after generalised Procrustes alignment
/// (each set aligned to the running mean by a similarity, three rounds).
fn procrustes_mean(sets: &[Vec<Point>]) -> Result<Vec<Point>, crate::metrics::MetricsError> {
    let mut mean = sets[0].clone();
    for _round in 0..3 {
        let mut sum = vec![[0.0; 3]; mean.len()];
        for set in sets {
            let aligned = similarity_procrustes(set, &mean)?;
            for (s, p) in sum.iter_mut().zip(&aligned) {
                for k in 0..3 {
                    s[k] += p[k];
                }
            }
        }
        mean = sum
            .into_iter()
            .map(|s| s.map(|v| v / sets.len() as f64))
            .collect();
    }
    Ok(mean)
}

/// How much the bodies differ from one another, in the units of the points:
/// the mean over bodies of the Procrustes-aligned mean distance of each to
/// the set's mean shape. 0 for identical bodies; `None` for fewer than two.
pub fn spread_mm(sets: &[Vec<Point>]) -> Result<Option<f64>, crate::metrics::MetricsError> {
    if sets.len() < 2 {
        return Ok(None);
    }
    let mean = procrustes_mean(sets)?;
    let mut total = 0.0;
    for set in sets {
        total += pa_mean_distance(set, &mean)?;
    }
    Ok(Some(total / sets.len() as f64 * 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::host::matmul;
    use crate::smplx::ParamWidths;

    fn angle_between(a: &Mat3, b: &Mat3) -> f64 {
        let r = matmul(&crate::rotation::host::transpose(a), b);
        let aa = matrix_to_axis_angle(&r);
        (aa[0] * aa[0] + aa[1] * aa[1] + aa[2] * aa[2]).sqrt()
    }

    #[test]
    fn mean_of_symmetric_rotations_is_their_centre() {
        // R·Rz(±θ): the chordal mean is R itself, while averaging the
        // axis-angle vectors of large rotations is not.
        let centre = axis_angle_to_matrix([2.0, -1.0, 0.5]);
        let set: Vec<Mat3> = [0.9, -0.9, 0.4, -0.4]
            .iter()
            .map(|&t| matmul(&centre, &axis_angle_to_matrix([0.0, 0.0, t])))
            .collect();
        let mean = mean_rotation(&set).unwrap();
        assert!(angle_between(&mean, &centre) < 1e-9);
        // The naive mean of axis-angles misses it (the test can tell).
        let naive: Vec<f64> = (0..3)
            .map(|k| set.iter().map(|r| matrix_to_axis_angle(r)[k]).sum::<f64>() / 4.0)
            .collect();
        let naive = axis_angle_to_matrix([naive[0], naive[1], naive[2]]);
        assert!(angle_between(&naive, &centre) > 1e-3);
    }

    #[test]
    fn mean_rotation_minimises_the_chordal_cost() {
        // Against small perturbations of the answer, the summed squared
        // Frobenius distance to the set only grows.
        let set: Vec<Mat3> = [[0.3, 0.1, -0.2], [1.1, -0.4, 0.2], [-0.5, 0.9, 1.4]]
            .map(axis_angle_to_matrix)
            .to_vec();
        let cost = |m: &Mat3| -> f64 {
            set.iter()
                .map(|r| {
                    (0..9)
                        .map(|i| (m[i / 3][i % 3] - r[i / 3][i % 3]).powi(2))
                        .sum::<f64>()
                })
                .sum()
        };
        let mean = mean_rotation(&set).unwrap();
        for axis in [[1e-3, 0.0, 0.0], [0.0, -1e-3, 0.0], [0.0, 0.0, 1e-3]] {
            let nudged = matmul(&mean, &axis_angle_to_matrix(axis));
            assert!(cost(&nudged) > cost(&mean));
        }
    }

    #[test]
    fn mean_params_averages_rotations_on_the_group_and_hands_as_absolute() {
        let mut bodies = SmplxParams::zeros(2, ParamWidths::default());
        bodies.betas[0][0] = 1.0;
        bodies.betas[1][0] = 3.0;
        bodies.body_pose[0][0] = 0.5;
        bodies.body_pose[1][0] = -0.5;
        let mean_hand = vec![0.2f32; 45];
        bodies.left_hand_pose[0][0] = 0.3;
        bodies.left_hand_pose[1][0] = -0.3;
        let m = mean_params(&bodies, Some([&mean_hand, &mean_hand])).unwrap();
        assert_eq!(m.batch_size(), 1);
        assert!((m.betas[0][0] - 2.0).abs() < 1e-6);
        assert!(m.body_pose[0][0].abs() < 1e-6);
        // The absolute rotations (0.5, 0.2, 0.2) and (-0.1, 0.2, 0.2) average
        // to (0.2, 0.2, 0.2) only to first order: rotations do not commute
        // (the residual is ~1e-5 rad).
        assert!(
            m.left_hand_pose[0][0].abs() < 1e-4,
            "{}",
            m.left_hand_pose[0][0]
        );
        assert!(m.right_hand_pose[0].iter().all(|v| v.abs() < 1e-6));
        assert!(mean_params(&SmplxParams::zeros(0, ParamWidths::default()), None).is_err());
        bodies.betas[1][2] = f32::NAN;
        assert!(mean_params(&bodies, None).unwrap_err().contains("betas"));
    }

    #[test]
    fn spread_is_zero_for_copies_and_grows_with_differences() {
        let base: Vec<Point> = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
        ];
        // Copies moved, turned and scaled are the same shape.
        let moved: Vec<Point> = base
            .iter()
            .map(|p| [2.0 * p[1] + 1.0, -2.0 * p[0], 2.0 * p[2]])
            .collect();
        let same = spread_mm(&[base.clone(), moved]).unwrap().unwrap();
        assert!(same < 1e-6, "{same}");
        let mut bent = base.clone();
        bent[3] = [0.5, 0.0, 0.8];
        let differs = spread_mm(&[base.clone(), bent]).unwrap().unwrap();
        assert!(differs > 10.0, "{differs}");
        assert_eq!(spread_mm(&[base]).unwrap(), None);
    }
}
