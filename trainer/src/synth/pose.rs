//! Random plausible SMPL-X parameters: body poses within joint limits, finger
//! curls, jaw and gaze, shape and expression, and a mostly upright global
//! orientation facing the camera.
//!
//! Angles are axis-angle in each joint's parent frame, which in the rest pose
//! (T-pose, palms down) is the world frame: y up, +x the body's left, +z
//! forward. So for the left arm (along +x) a negative z rotation lowers it and
//! a negative y rotation swings it forward; the right arm mirrors (signs of y
//! and z flip). Negative x at a hip lifts the leg forward, positive x at a
//! knee bends it, positive x at the spine and neck bends forward.

use furpe::rotation::host::{axis_angle_to_matrix, matmul, Mat3};
use furpe::smplx::joints::idx;
use furpe::smplx::{ParamWidths, SmplxParams};

use crate::rng::Rng;

/// Per-axis limits and a normal prior: (lo, hi, mean, sd), radians.
type Axis = (f64, f64, f64, f64);

const fn ax(lo: f64, hi: f64, mean: f64, sd: f64) -> Axis {
    (lo, hi, mean, sd)
}

/// Limits of SMPL-X joint `j` (1..=21), axes x, y, z.
fn limits(j: usize) -> [Axis; 3] {
    use idx::*;
    const SPINE: [Axis; 3] = [
        ax(-0.3, 0.5, 0.03, 0.08),
        ax(-0.35, 0.35, 0.0, 0.1),
        ax(-0.25, 0.25, 0.0, 0.06),
    ];
    match j {
        LEFT_HIP => [
            ax(-1.8, 0.5, -0.1, 0.3),
            ax(-0.6, 0.6, 0.0, 0.2),
            ax(-0.35, 0.8, 0.08, 0.12),
        ],
        RIGHT_HIP => [
            ax(-1.8, 0.5, -0.1, 0.3),
            ax(-0.6, 0.6, 0.0, 0.2),
            ax(-0.8, 0.35, -0.08, 0.12),
        ],
        LEFT_KNEE | RIGHT_KNEE => [
            ax(0.0, 2.4, 0.15, 0.35),
            ax(-0.1, 0.1, 0.0, 0.03),
            ax(-0.1, 0.1, 0.0, 0.03),
        ],
        SPINE1 => [
            ax(-0.3, 0.6, 0.05, 0.12),
            ax(-0.4, 0.4, 0.0, 0.12),
            ax(-0.3, 0.3, 0.0, 0.08),
        ],
        SPINE2 | SPINE3 => SPINE,
        LEFT_ANKLE | RIGHT_ANKLE => [
            ax(-0.6, 0.7, 0.05, 0.15),
            ax(-0.3, 0.3, 0.0, 0.1),
            ax(-0.3, 0.3, 0.0, 0.1),
        ],
        LEFT_FOOT | RIGHT_FOOT => [
            ax(-0.3, 0.3, 0.0, 0.1),
            ax(-0.1, 0.1, 0.0, 0.03),
            ax(-0.1, 0.1, 0.0, 0.03),
        ],
        NECK => [
            ax(-0.5, 0.7, 0.05, 0.15),
            ax(-0.8, 0.8, 0.0, 0.25),
            ax(-0.4, 0.4, 0.0, 0.1),
        ],
        HEAD => [
            ax(-0.4, 0.5, 0.0, 0.12),
            ax(-0.5, 0.5, 0.0, 0.15),
            ax(-0.3, 0.3, 0.0, 0.08),
        ],
        LEFT_COLLAR => [
            ax(-0.2, 0.2, 0.0, 0.05),
            ax(-0.3, 0.3, 0.0, 0.08),
            ax(-0.4, 0.3, 0.0, 0.08),
        ],
        RIGHT_COLLAR => [
            ax(-0.2, 0.2, 0.0, 0.05),
            ax(-0.3, 0.3, 0.0, 0.08),
            ax(-0.3, 0.4, 0.0, 0.08),
        ],
        LEFT_SHOULDER => [
            ax(-1.2, 1.2, 0.0, 0.35),
            ax(-1.6, 0.8, -0.2, 0.45),
            ax(-1.5, 1.0, -1.0, 0.4),
        ],
        RIGHT_SHOULDER => [
            ax(-1.2, 1.2, 0.0, 0.35),
            ax(-0.8, 1.6, 0.2, 0.45),
            ax(-1.0, 1.5, 1.0, 0.4),
        ],
        LEFT_ELBOW => [
            ax(-1.0, 1.0, 0.0, 0.3),
            ax(-2.5, 0.0, -0.5, 0.5),
            ax(-0.1, 0.1, 0.0, 0.03),
        ],
        RIGHT_ELBOW => [
            ax(-1.0, 1.0, 0.0, 0.3),
            ax(0.0, 2.5, 0.5, 0.5),
            ax(-0.1, 0.1, 0.0, 0.03),
        ],
        LEFT_WRIST => [
            ax(-0.8, 0.8, 0.0, 0.3),
            ax(-0.6, 0.6, 0.0, 0.2),
            ax(-0.8, 0.6, 0.0, 0.25),
        ],
        RIGHT_WRIST => [
            ax(-0.8, 0.8, 0.0, 0.3),
            ax(-0.6, 0.6, 0.0, 0.2),
            ax(-0.6, 0.8, 0.0, 0.25),
        ],
        _ => [ax(0.0, 0.0, 0.0, 0.0); 3],
    }
}

/// Overall pose families; each shifts some joints' priors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Standing,
    Walking,
    Gesturing,
    Crouching,
    /// Arms and legs uniform within their limits.
    Wide,
}

/// One random body; `num_betas`/`num_expression` are the layer's widths.
pub fn sample_params(rng: &mut Rng, num_betas: usize, num_expression: usize) -> SmplxParams {
    let mut p = SmplxParams::zeros(
        1,
        ParamWidths {
            betas: num_betas,
            expression: num_expression,
            ..ParamWidths::default()
        },
    );
    let style = *rng.pick(&[
        Style::Standing,
        Style::Standing,
        Style::Standing,
        Style::Walking,
        Style::Walking,
        Style::Gesturing,
        Style::Gesturing,
        Style::Crouching,
        Style::Wide,
        Style::Wide,
    ]);
    let body = sample_body(rng, style);
    p.body_pose[0] = body.iter().map(|&x| x as f32).collect();
    p.left_hand_pose[0] = sample_hand(rng, true);
    p.right_hand_pose[0] = sample_hand(rng, false);

    // Jaw: closed half the time, else open up to ~20°.
    let jaw = if rng.chance(0.5) {
        rng.range(0.0, 0.05)
    } else {
        rng.range(0.05, 0.35)
    };
    p.jaw_pose[0] = vec![jaw as f32, rng.range(-0.05, 0.05) as f32, 0.0];
    // Both eyes share one gaze.
    let gaze = [
        rng.normal_clipped(0.0, 0.15, -0.35, 0.35) as f32,
        rng.normal_clipped(0.0, 0.2, -0.5, 0.5) as f32,
        0.0,
    ];
    p.leye_pose[0] = gaze.to_vec();
    p.reye_pose[0] = gaze.to_vec();

    p.betas[0] = (0..num_betas)
        .map(|_| rng.normal_clipped(0.0, 1.0, -2.5, 2.5) as f32)
        .collect();
    p.expression[0] = (0..num_expression)
        .map(|_| rng.normal_clipped(0.0, 0.8, -2.0, 2.0) as f32)
        .collect();

    // Upright, facing the camera within ±60° of yaw most of the time.
    let yaw = if rng.chance(0.85) {
        rng.range(-60f64.to_radians(), 60f64.to_radians())
    } else {
        rng.range(-std::f64::consts::PI, std::f64::consts::PI)
    };
    let pitch = rng.normal_clipped(0.0, 5f64.to_radians(), -0.25, 0.25);
    let roll = rng.normal_clipped(0.0, 4f64.to_radians(), -0.2, 0.2);
    let r = matmul(
        &axis_angle_to_matrix([0.0, yaw, 0.0]),
        &matmul(
            &axis_angle_to_matrix([pitch, 0.0, 0.0]),
            &axis_angle_to_matrix([0.0, 0.0, roll]),
        ),
    );
    p.global_orient[0] = matrix_to_axis_angle(&r).map(|x| x as f32).to_vec();
    p
}

/// 63 body-pose values (joints 1..=21).
fn sample_body(rng: &mut Rng, style: Style) -> Vec<f64> {
    let mut pose = vec![0.0; 63];
    for j in 1..=21 {
        for (a, &(lo, hi, mean, sd)) in limits(j).iter().enumerate() {
            pose[(j - 1) * 3 + a] = rng.normal_clipped(mean, sd, lo, hi);
        }
    }
    let mut set = |j: usize, a: usize, v: f64| {
        let (lo, hi, _, _) = limits(j)[a];
        pose[(j - 1) * 3 + a] = v.clamp(lo, hi);
    };
    use idx::*;
    match style {
        Style::Standing => {}
        Style::Walking => {
            let s = if rng.chance(0.5) { 1.0 } else { -1.0 };
            let stride = rng.range(0.2, 0.55);
            set(LEFT_HIP, 0, -stride * s);
            set(RIGHT_HIP, 0, stride * s);
            let (back_knee, front_knee) = if s > 0.0 {
                (RIGHT_KNEE, LEFT_KNEE)
            } else {
                (LEFT_KNEE, RIGHT_KNEE)
            };
            set(back_knee, 0, rng.range(0.3, 0.8));
            set(front_knee, 0, rng.range(0.0, 0.25));
            // Arms swing against the legs.
            set(LEFT_SHOULDER, 1, 0.6 * stride * s);
            set(RIGHT_SHOULDER, 1, 0.6 * stride * s);
            set(LEFT_SHOULDER, 2, rng.range(-1.35, -1.1));
            set(RIGHT_SHOULDER, 2, rng.range(1.1, 1.35));
            set(LEFT_ELBOW, 1, -rng.range(0.2, 0.7));
            set(RIGHT_ELBOW, 1, rng.range(0.2, 0.7));
        }
        Style::Gesturing => {
            for (shoulder, elbow, sign) in [
                (LEFT_SHOULDER, LEFT_ELBOW, -1.0),
                (RIGHT_SHOULDER, RIGHT_ELBOW, 1.0),
            ] {
                if rng.chance(0.7) {
                    set(shoulder, 2, sign * rng.range(-0.9, 0.6));
                    set(shoulder, 1, sign * rng.range(-0.2, 1.2));
                    set(elbow, 1, sign * rng.range(0.2, 2.2));
                }
            }
        }
        Style::Crouching => {
            let hip = rng.range(-1.7, -0.9);
            let knee = rng.range(1.2, 2.3);
            for (h, k, a) in [
                (LEFT_HIP, LEFT_KNEE, LEFT_ANKLE),
                (RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE),
            ] {
                set(h, 0, hip + rng.range(-0.2, 0.2));
                set(k, 0, knee + rng.range(-0.2, 0.2));
                set(a, 0, rng.range(0.0, 0.5));
            }
            set(SPINE1, 0, rng.range(0.1, 0.5));
        }
        Style::Wide => {
            for j in [
                LEFT_SHOULDER,
                RIGHT_SHOULDER,
                LEFT_ELBOW,
                RIGHT_ELBOW,
                LEFT_HIP,
                RIGHT_HIP,
                LEFT_KNEE,
                RIGHT_KNEE,
            ] {
                for a in 0..3 {
                    let (lo, hi, _, _) = limits(j)[a];
                    let v = rng.range(lo, hi);
                    set(j, a, v);
                }
            }
        }
    }
    pose
}

/// 45 absolute axis-angle values (flat hand mean) for one hand: a shared
/// closing amount (open, relaxed or fist) with per-finger variation, and the
/// fingers spread when open. Finger order: index, middle, pinky, ring, thumb.
fn sample_hand(rng: &mut Rng, left: bool) -> Vec<f32> {
    let close = match rng.below(3) {
        0 => rng.range(0.0, 0.15),
        1 => rng.range(0.1, 0.5),
        _ => rng.range(0.55, 1.0),
    };
    let spread = rng.range(-0.05, 0.3) * (1.0 - close);
    // Left fingers point +x, palm down: curling is a negative z rotation and
    // spreading towards the thumb (+z) a negative y rotation. Right mirrors.
    let side = if left { 1.0 } else { -1.0 };
    let mut pose = vec![0f32; 45];
    // (finger slot, spread factor) for index, middle, pinky, ring.
    for (finger, spread_k) in [(0, -1.0), (1, 0.0), (2, 1.0), (3, 0.5)] {
        let c = (close + 0.15 * rng.normal()).clamp(0.0, 1.0);
        for (joint, max_bend) in [1.3, 1.6, 1.1].into_iter().enumerate() {
            let k = (finger * 3 + joint) * 3;
            let bend = c * max_bend * rng.range(0.85, 1.15);
            pose[k + 2] = (-side * bend) as f32;
            if joint == 0 {
                pose[k + 1] = (side * spread_k * spread) as f32;
            }
        }
    }
    // Thumb: folds across the palm (towards -z and down).
    let c = (close + 0.15 * rng.normal()).clamp(0.0, 1.0);
    let thumb = 4 * 9;
    pose[thumb + 1] = (side * 0.5 * c) as f32;
    pose[thumb + 2] = (-side * 0.3 * c) as f32;
    pose[thumb + 3 + 2] = (-side * 0.6 * c) as f32;
    pose[thumb + 6 + 2] = (-side * 0.7 * c) as f32;
    pose
}

/// Axis-angle of a rotation matrix (angle in [0, π]).
pub fn matrix_to_axis_angle(r: &Mat3) -> [f64; 3] {
    let trace = r[0][0] + r[1][1] + r[2][2];
    let cos = ((trace - 1.0) / 2.0).clamp(-1.0, 1.0);
    let angle = cos.acos();
    let skew = [r[2][1] - r[1][2], r[0][2] - r[2][0], r[1][0] - r[0][1]];
    if angle < 1e-6 {
        return skew.map(|s| s / 2.0);
    }
    if angle > std::f64::consts::PI - 1e-4 {
        // sin ≈ 0: the axis is the column of R + I with the largest norm.
        let m = [0, 1, 2].map(|i| {
            let mut c = [r[0][i], r[1][i], r[2][i]];
            c[i] += 1.0;
            c
        });
        let best = m
            .iter()
            .max_by(|a, b| norm(a).total_cmp(&norm(b)))
            .copied()
            .unwrap_or([1.0, 0.0, 0.0]);
        let n = norm(&best).max(1e-12);
        let mut axis = best.map(|x| x / n);
        // Keep the sign consistent with the (tiny) skew part.
        if axis.iter().zip(&skew).map(|(a, s)| a * s).sum::<f64>() < 0.0 {
            axis = axis.map(|x| -x);
        }
        return axis.map(|x| x * angle);
    }
    let k = angle / (2.0 * angle.sin());
    skew.map(|s| s * k)
}

fn norm(v: &[f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_angle_roundtrip() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let v = [rng.normal(), rng.normal(), rng.normal()];
            let n = norm(&v);
            let angle = rng.range(0.0, std::f64::consts::PI);
            let r = v.map(|x| x / n * angle);
            let back = matrix_to_axis_angle(&axis_angle_to_matrix(r));
            let (m1, m2) = (axis_angle_to_matrix(r), axis_angle_to_matrix(back));
            for i in 0..3 {
                for j in 0..3 {
                    assert!((m1[i][j] - m2[i][j]).abs() < 1e-6, "{r:?} -> {back:?}");
                }
            }
        }
    }

    #[test]
    fn sampled_poses_respect_limits() {
        let mut rng = Rng::new(11);
        for _ in 0..200 {
            let p = sample_params(&mut rng, 10, 10);
            for j in 1..=21 {
                for (a, &(lo, hi, _, _)) in limits(j).iter().enumerate() {
                    let v = p.body_pose[0][(j - 1) * 3 + a] as f64;
                    assert!(v >= lo - 1e-6 && v <= hi + 1e-6, "joint {j} axis {a}: {v}");
                }
            }
            assert!(p.betas[0].iter().all(|b| b.abs() <= 2.5));
            assert_eq!(p.left_hand_pose[0].len(), 45);
        }
    }
}
