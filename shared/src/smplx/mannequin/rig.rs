//! The rig: where the joints are (as a regressor over vertices) and which
//! joints move each vertex (skinning weights).
//!
//! Joints: each row of the regressor is a set of convex weights over the
//! vertices around the joint (a slab of rings across the limb or trunk),
//! chosen by maximum entropy so that the weighted mean is exactly the
//! designed joint. Reshaping the body moves those rings and so the joint.
//!
//! Skinning: every vertex gets a smooth partition of unity built from
//! a few overlapping "fractions" (head, arm, hip) and, within each, a chain
//! of bones with smooth hand-overs around each joint. The eye joints move
//! no vertices: the mannequin's eyes are part of the face, not separate
//! eyeballs as in SMPL-X.

use super::geom::{gauss, smoothstep, V3};
use super::mesh::{Digit, Mesh, Segment};
use super::skeleton::{face, Finger, Skeleton};
use crate::smplx::joints::{idx, NUM_JOINTS};

/// A vertex's weight for each joint.
pub type Weights = [f64; NUM_JOINTS];

// ------------------------------------------------------------ regressor ---

/// Which vertices may carry a joint: parts, and a slab of half-thickness
/// `half` across `normal` within `radius` of the joint.
struct Support {
    parts: fn(Segment) -> bool,
    normal: V3,
    half: f64,
    radius: f64,
}

fn trunk(p: Segment) -> bool {
    p == Segment::Trunk
}

fn arm(p: Segment) -> bool {
    matches!(p, Segment::Arm | Segment::Palm)
}

fn leg(p: Segment) -> bool {
    matches!(p, Segment::Leg | Segment::Foot)
}

fn foot(p: Segment) -> bool {
    p == Segment::Foot
}

fn support(sk: &Skeleton, joint: usize) -> Support {
    let across = |parts: fn(Segment) -> bool, normal: V3, half: f64, radius: f64| Support {
        parts,
        normal,
        half,
        radius,
    };
    let side = joint_side(joint);
    match joint {
        idx::PELVIS | idx::SPINE1 | idx::SPINE2 | idx::SPINE3 | idx::NECK => {
            across(trunk, V3::Y, 0.02, 0.3)
        }
        idx::LEFT_HIP | idx::RIGHT_HIP | idx::LEFT_COLLAR | idx::RIGHT_COLLAR => {
            across(trunk, V3::Y, 0.02, 0.3)
        }
        idx::HEAD => across(trunk, V3::Y, 0.015, 0.2),
        idx::JAW => across(trunk, V3::Y, 0.012, 0.15),
        idx::LEFT_EYE_SMPLHF | idx::RIGHT_EYE_SMPLHF => across(trunk, V3::Y, 0.010, 0.15),
        idx::LEFT_KNEE | idx::RIGHT_KNEE => across(leg, V3::Y, 0.02, 0.15),
        idx::LEFT_ANKLE | idx::RIGHT_ANKLE => across(leg, V3::Y, 0.015, 0.12),
        idx::LEFT_FOOT | idx::RIGHT_FOOT => across(foot, V3::Z, 0.012, 0.08),
        idx::LEFT_SHOULDER | idx::RIGHT_SHOULDER => across(arm, V3::X, 0.015, 0.15),
        idx::LEFT_ELBOW | idx::RIGHT_ELBOW | idx::LEFT_WRIST | idx::RIGHT_WRIST => {
            across(arm, V3::X, 0.012, 0.12)
        }
        _ => {
            // A finger joint: rings across the digit (the knuckles sit in
            // the palm's end, the thumb's base in the ball of the thumb).
            let (f, k) = finger_of_joint(sk, joint);
            let mut u = f.dir();
            if side < 0.0 {
                u = u.mirror();
            }
            let parts: fn(Segment) -> bool = match (f.digit, k) {
                (_, 0) => |p| matches!(p, Segment::Palm | Segment::Finger(_)),
                (Digit::Index, _) => |p| p == Segment::Finger(Digit::Index),
                (Digit::Middle, _) => |p| p == Segment::Finger(Digit::Middle),
                (Digit::Ring, _) => |p| p == Segment::Finger(Digit::Ring),
                (Digit::Pinky, _) => |p| p == Segment::Finger(Digit::Pinky),
                // The thumb's knuckle is where it leaves the palm.
                (Digit::Thumb, _) => |p| matches!(p, Segment::Palm | Segment::Finger(Digit::Thumb)),
            };
            let radius = if k == 0 { 0.022 } else { 0.016 };
            across(parts, u, if k == 0 { 0.007 } else { 0.0045 }, radius)
        }
    }
}

/// +1 for a left joint, -1 for a right one, 0 on the midline.
fn joint_side(joint: usize) -> f64 {
    match joint {
        idx::LEFT_HIP
        | idx::LEFT_KNEE
        | idx::LEFT_ANKLE
        | idx::LEFT_FOOT
        | idx::LEFT_COLLAR
        | idx::LEFT_SHOULDER
        | idx::LEFT_ELBOW
        | idx::LEFT_WRIST
        | idx::LEFT_EYE_SMPLHF => 1.0,
        idx::RIGHT_HIP
        | idx::RIGHT_KNEE
        | idx::RIGHT_ANKLE
        | idx::RIGHT_FOOT
        | idx::RIGHT_COLLAR
        | idx::RIGHT_SHOULDER
        | idx::RIGHT_ELBOW
        | idx::RIGHT_WRIST
        | idx::RIGHT_EYE_SMPLHF => -1.0,
        j if (idx::LEFT_INDEX1..idx::RIGHT_INDEX1).contains(&j) => 1.0,
        j if j >= idx::RIGHT_INDEX1 => -1.0,
        _ => 0.0,
    }
}

/// The digit a hand joint belongs to and its place on it (0 = base).
fn finger_of_joint(sk: &Skeleton, joint: usize) -> (&Finger, usize) {
    let k = (joint - idx::LEFT_INDEX1) % 15;
    (&sk.fingers[k / 3], k % 3)
}

/// The joint regressor, one sparse row per joint.
pub fn regressor(mesh: &Mesh, sk: &Skeleton) -> Vec<Vec<(usize, f64)>> {
    (0..NUM_JOINTS)
        .map(|j| regressor_row(mesh, sk, j))
        .collect()
}

fn regressor_row(mesh: &Mesh, sk: &Skeleton, joint: usize) -> Vec<(usize, f64)> {
    let target = sk.joints[joint];
    let sup = support(sk, joint);
    // Widen the support until the joint lies inside the vertices' hull.
    for widen in [1.0, 1.5, 2.0, 3.0, 4.0] {
        let ids: Vec<usize> = (0..mesh.pos.len())
            .filter(|&v| {
                let q = mesh.pos[v] - target;
                (sup.parts)(mesh.part[v])
                    && q.dot(sup.normal).abs() < sup.half * widen
                    && q.len() < sup.radius * widen
            })
            .collect();
        let pts: Vec<V3> = ids.iter().map(|&v| mesh.pos[v]).collect();
        if let Some(w) = maxent_weights(&pts, target) {
            return ids.into_iter().zip(w).filter(|&(_, w)| w > 1e-7).collect();
        }
    }
    panic!("no vertices surround joint {joint}");
}

/// Convex weights (all positive, summing to one) whose weighted mean of
/// `points` is `target`, with maximum entropy: w_i ∝ exp(λ·(p_i - t)),
/// λ found by Newton's method on the (convex) log-partition function.
/// None if `target` is not strictly inside the points' hull.
fn maxent_weights(points: &[V3], target: V3) -> Option<Vec<f64>> {
    if points.len() < 4 {
        return None;
    }
    // Work in units of the cloud's size so λ stays moderate.
    let scale = points.iter().map(|&p| p.dist(target)).fold(0.0, f64::max);
    let q: Vec<V3> = points.iter().map(|&p| (p - target) / scale).collect();
    let log_partition = |lam: V3| {
        let m = q.iter().map(|&qi| lam.dot(qi)).fold(f64::MIN, f64::max);
        m + q
            .iter()
            .map(|&qi| (lam.dot(qi) - m).exp())
            .sum::<f64>()
            .ln()
    };
    let weights = |lam: V3| {
        let m = q.iter().map(|&qi| lam.dot(qi)).fold(f64::MIN, f64::max);
        let w: Vec<f64> = q.iter().map(|&qi| (lam.dot(qi) - m).exp()).collect();
        let sum: f64 = w.iter().sum();
        w.into_iter().map(|x| x / sum).collect::<Vec<f64>>()
    };
    let mut lam = V3::ZERO;
    for _ in 0..200 {
        let w = weights(lam);
        let g = q
            .iter()
            .zip(&w)
            .fold(V3::ZERO, |acc, (&qi, &wi)| acc + qi * wi);
        if g.len() < 1e-12 {
            return Some(w);
        }
        // Hessian: the weighted covariance of the points.
        let mut h = [[0.0; 3]; 3];
        for (&qi, &wi) in q.iter().zip(&w) {
            let d = [qi.x - g.x, qi.y - g.y, qi.z - g.z];
            for r in 0..3 {
                for c in 0..3 {
                    h[r][c] += wi * d[r] * d[c];
                }
            }
        }
        for (r, row) in h.iter_mut().enumerate() {
            row[r] += 1e-12;
        }
        let step = solve3(h, -g)?;
        let f0 = log_partition(lam);
        let mut t = 1.0;
        while log_partition(lam + step * t) > f0 + 1e-4 * t * g.dot(step) && t > 1e-10 {
            t *= 0.5;
        }
        lam += step * t;
        if lam.len() > 1e4 {
            return None;
        }
    }
    let w = weights(lam);
    let g = q
        .iter()
        .zip(&w)
        .fold(V3::ZERO, |acc, (&qi, &wi)| acc + qi * wi);
    (g.len() * scale < 1e-7).then_some(w)
}

/// `h·x = b` (the shared Cramer's rule, `rotation::host::solve3`).
fn solve3(h: [[f64; 3]; 3], b: V3) -> Option<V3> {
    let [x, y, z] = crate::rotation::host::solve3(&h, [b.x, b.y, b.z])?;
    Some(V3 { x, y, z })
}

// ------------------------------------------------------------- skinning ---

fn one(joint: usize) -> Weights {
    let mut w = [0.0; NUM_JOINTS];
    w[joint] = 1.0;
    w
}

/// (1 - t)·a + t·b.
fn mix(a: &Weights, b: &Weights, t: f64) -> Weights {
    let mut out = [0.0; NUM_JOINTS];
    for j in 0..NUM_JOINTS {
        out[j] = a[j] * (1.0 - t) + b[j] * t;
    }
    out
}

/// Weights along a chain of bones: `bones[k] = (joint, start, width)`;
/// bone k takes over from bone k-1 across `start ± width` (the first
/// bone's start is ignored).
fn chain(s: f64, bones: &[(usize, f64, f64)]) -> Weights {
    let take_over = |k: usize| {
        if k == 0 {
            1.0
        } else if k == bones.len() {
            0.0
        } else {
            let (_, start, width) = bones[k];
            smoothstep(start - width, start + width, s)
        }
    };
    let mut w = [0.0; NUM_JOINTS];
    for (k, &(joint, _, _)) in bones.iter().enumerate() {
        w[joint] += take_over(k) - take_over(k + 1);
    }
    w
}

/// Per-side joint ids (left when `left`).
fn sided(left: bool, l: usize, r: usize) -> usize {
    if left {
        l
    } else {
        r
    }
}

/// Skinning weights of every vertex.
pub fn skinning(mesh: &Mesh, sk: &Skeleton) -> Vec<Weights> {
    (0..mesh.pos.len())
        .map(|v| vertex_weights(mesh.pos[v], mesh.part[v], sk))
        .collect()
}

/// One vertex: the spine-and-legs weights, handed over to the arm chain
/// across the shoulder, then to the head (and jaw) above the jaw line.
fn vertex_weights(p: V3, part: Segment, sk: &Skeleton) -> Weights {
    if part == Segment::Spare {
        return one(idx::PELVIS);
    }
    let left = p.x >= 0.0;
    let body = lower_or_spine(p, left, sk);
    let arm_fraction = match part {
        Segment::Arm | Segment::Palm | Segment::Finger(_) => smoothstep(0.125, 0.19, p.x.abs()),
        Segment::Trunk => {
            smoothstep(0.125, 0.19, p.x.abs())
                * smoothstep(0.02, 0.08, p.y)
                * smoothstep(0.27, 0.21, p.y)
        }
        _ => 0.0,
    };
    let w = if arm_fraction > 0.0 {
        mix(&body, &arm_weights(p, part, left, sk), arm_fraction)
    } else {
        body
    };
    let head = if part == Segment::Trunk {
        head_fraction(p)
    } else {
        0.0
    };
    mix(&w, &head_weights(p), head)
}

/// Trunk below the head and the legs: the spine chain, blended toward the
/// collars at the shoulders and toward the leg chain at the hips.
fn lower_or_spine(p: V3, left: bool, sk: &Skeleton) -> Weights {
    let j = &sk.joints;
    let spine = chain(
        p.y,
        &[
            (idx::PELVIS, 0.0, 0.0),
            (idx::SPINE1, j[idx::SPINE1].y, 0.05),
            (idx::SPINE2, j[idx::SPINE2].y, 0.05),
            (idx::SPINE3, j[idx::SPINE3].y, 0.05),
            (idx::NECK, j[idx::NECK].y, 0.035),
        ],
    );
    let collar = smoothstep(0.03, 0.12, p.x.abs()) * smoothstep(0.02, 0.12, p.y) * 0.7;
    let spine = mix(
        &spine,
        &one(sided(left, idx::LEFT_COLLAR, idx::RIGHT_COLLAR)),
        collar,
    );
    let hip_y = j[idx::LEFT_HIP].y;
    let hip = smoothstep(hip_y + 0.07, hip_y - 0.05, p.y) * smoothstep(0.0, 0.04, p.x.abs());
    if hip <= 0.0 {
        return spine;
    }
    mix(&spine, &leg_weights(p, left, sk), hip)
}

/// Hip, knee and ankle down the leg; the ankle's share splits into ankle and
/// toes across the ball of the foot.
fn leg_weights(p: V3, left: bool, sk: &Skeleton) -> Weights {
    let j = &sk.joints;
    let mut w = chain(
        -p.y,
        &[
            (sided(left, idx::LEFT_HIP, idx::RIGHT_HIP), 0.0, 0.0),
            (
                sided(left, idx::LEFT_KNEE, idx::RIGHT_KNEE),
                -j[idx::LEFT_KNEE].y,
                0.065,
            ),
            (
                sided(left, idx::LEFT_ANKLE, idx::RIGHT_ANKLE),
                -j[idx::LEFT_ANKLE].y,
                0.035,
            ),
        ],
    );
    let ankle = sided(left, idx::LEFT_ANKLE, idx::RIGHT_ANKLE);
    let toes = smoothstep(j[idx::LEFT_FOOT].z - 0.02, j[idx::LEFT_FOOT].z + 0.015, p.z);
    let share = w[ankle] * toes;
    w[ankle] -= share;
    w[sided(left, idx::LEFT_FOOT, idx::RIGHT_FOOT)] += share;
    w
}

/// Collar, shoulder, elbow and wrist along the arm; the wrist's share goes
/// to the fingers on the hand.
fn arm_weights(p: V3, part: Segment, left: bool, sk: &Skeleton) -> Weights {
    let j = &sk.joints;
    let x = p.x.abs();
    let mut w = chain(
        x,
        &[
            (sided(left, idx::LEFT_COLLAR, idx::RIGHT_COLLAR), 0.0, 0.0),
            (
                sided(left, idx::LEFT_SHOULDER, idx::RIGHT_SHOULDER),
                j[idx::LEFT_SHOULDER].x + 0.01,
                0.045,
            ),
            (
                sided(left, idx::LEFT_ELBOW, idx::RIGHT_ELBOW),
                j[idx::LEFT_ELBOW].x,
                0.05,
            ),
            (
                sided(left, idx::LEFT_WRIST, idx::RIGHT_WRIST),
                j[idx::LEFT_WRIST].x,
                0.025,
            ),
        ],
    );
    let wrist = sided(left, idx::LEFT_WRIST, idx::RIGHT_WRIST);
    let share = w[wrist];
    if share > 0.0 && matches!(part, Segment::Palm | Segment::Finger(_)) {
        // Work on the left hand: mirror the point.
        let q = if left { p } else { p.mirror() };
        let hand = hand_weights(q, part, sk);
        w[wrist] = 0.0;
        for (k, &h) in hand.iter().enumerate() {
            let joint = if left { k } else { mirror_hand_joint(k) };
            w[joint] += share * h;
        }
    }
    w
}

/// The right-hand joint matching a left-hand one (and wrist to wrist).
fn mirror_hand_joint(j: usize) -> usize {
    match j {
        idx::LEFT_WRIST => idx::RIGHT_WRIST,
        j if (idx::LEFT_INDEX1..idx::RIGHT_INDEX1).contains(&j) => j + 15,
        j => j,
    }
}

/// Weights on the left hand (wrist and finger joints) of a left-hand point.
fn hand_weights(p: V3, part: Segment, sk: &Skeleton) -> Weights {
    match part {
        Segment::Finger(d) => digit_chain(p, sk.finger(d)),
        _ => palm_weights(p, sk),
    }
}

/// Along a digit: wrist before its base, then its three joints.
fn digit_chain(p: V3, f: &Finger) -> Weights {
    let u = f.dir();
    let s = |q: V3| (q - f.points[0]).dot(u);
    let [j1, j2, j3] = f.left_joints();
    let base_width = if f.digit == Digit::Thumb {
        0.014
    } else {
        0.010
    };
    chain(
        s(p),
        &[
            (idx::LEFT_WRIST, 0.0, 0.0),
            (j1, 0.0, base_width),
            (j2, s(f.points[1]), 0.007),
            (j3, s(f.points[2]), 0.006),
        ],
    )
}

/// The palm follows the wrist, except near the knuckles (which follow the
/// nearest fingers) and the ball of the thumb (which follows the thumb).
fn palm_weights(p: V3, sk: &Skeleton) -> Weights {
    let fingers = [Digit::Index, Digit::Middle, Digit::Ring, Digit::Pinky];
    let near: Vec<f64> = fingers
        .iter()
        .map(|&d| {
            let f = sk.finger(d);
            gauss((p.z - f.points[0].z).powi(2), 0.009)
        })
        .collect();
    let total: f64 = near.iter().sum::<f64>().max(1e-12);
    let mut w = one(idx::LEFT_WRIST);
    for (k, &d) in fingers.iter().enumerate() {
        let f = sk.finger(d);
        let knuckle =
            smoothstep(f.points[0].x - 0.022, f.points[0].x + 0.006, p.x) * near[k] / total;
        let digit = digit_chain(p, f);
        w = mix(&w, &digit, knuckle);
    }
    let thumb = sk.finger(Digit::Thumb);
    let ball = smoothstep(
        0.026,
        0.010,
        segment_distance(p, thumb.points[0], thumb.points[1]),
    );
    mix(&w, &digit_chain(p, thumb), ball)
}

fn segment_distance(p: V3, a: V3, b: V3) -> f64 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.dot(ab)).clamp(0.0, 1.0);
    p.dist(a + ab * t)
}

/// How much of a trunk vertex belongs to the head: above a line from the
/// throat under the chin to the base of the skull.
pub fn head_fraction(p: V3) -> f64 {
    let jaw_line = 0.262 - 0.55 * p.z;
    // Softer behind, where the neck twists when the head turns.
    let soft = 0.012 + 0.1 * (-p.z).max(0.0);
    smoothstep(jaw_line - soft, jaw_line + soft, p.y)
}

/// Head, with the lower lip, chin and jaw on the jaw joint.
fn head_weights(p: V3) -> Weights {
    mix(&one(idx::HEAD), &one(idx::JAW), 0.95 * jaw_fraction(p))
}

/// How much of the head moves with the lower jaw: below the line between
/// the lips (a sharp parting there), and beyond the mouth's corners below
/// the jaw bone's upper edge, which climbs and softens toward the ear.
pub fn jaw_fraction(p: V3) -> f64 {
    let beside = (p.x.abs() - face::MOUTH_CORNER.x).max(0.0);
    let edge = face::MOUTH_Y + 0.7 * beside;
    let soft = 0.004 + 0.5 * beside;
    let below = smoothstep(edge + 0.2 * soft + 0.001, edge - soft, p.y);
    below * smoothstep(-0.045, 0.0, p.z)
}
