//! Blend shapes: shape (β) and expression (ψ) directions, and pose
//! correctives. Each is a smooth displacement field written down directly
//! from the body's landmarks, so every direction has one plain meaning.

use super::geom::{gauss, smoothstep, v3, V3};
use super::mesh::{Mesh, Segment};
use super::rig::{head_fraction, jaw_fraction};
use super::skeleton::{face, Skeleton, FLOOR_Y};
use crate::smplx::data::NUM_POSE_BASIS;
use crate::smplx::joints::idx;

/// Shape directions (β): displacement per unit coefficient, in metres.
pub const NUM_BETAS: usize = 10;
/// Expression directions (ψ).
pub const NUM_EXPRESSIONS: usize = 10;

/// Area-weighted vertex normals.
pub fn vertex_normals(mesh: &Mesh) -> Vec<V3> {
    let mut n = vec![V3::ZERO; mesh.pos.len()];
    for t in &mesh.faces {
        let [a, b, c] = t.map(|v| mesh.pos[v as usize]);
        let fnrm = (b - a).cross(c - a);
        for &v in t {
            n[v as usize] += fnrm;
        }
    }
    n.into_iter()
        .map(|v| if v.len() > 0.0 { v.norm() } else { v })
        .collect()
}

fn is_arm(part: Segment) -> bool {
    matches!(part, Segment::Arm | Segment::Palm | Segment::Finger(_))
}

fn is_leg(part: Segment) -> bool {
    matches!(part, Segment::Leg | Segment::Foot)
}

/// Sign of the body side (+1 left).
fn side(p: V3) -> f64 {
    if p.x >= 0.0 {
        1.0
    } else {
        -1.0
    }
}

/// Component of `p - a` orthogonal to the segment a→b (its nearest point).
fn off_segment(p: V3, a: V3, b: V3) -> V3 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.dot(ab)).clamp(0.0, 1.0);
    p - (a + ab * t)
}

/// The ten shape directions of one vertex:
/// 0 stature, 1 weight, 2 limb length, 3 shoulder width, 4 hip width,
/// 5 head size, 6 arm girth, 7 leg girth, 8 chest depth, 9 neck length.
pub fn shape_dirs(p: V3, n: V3, part: Segment, sk: &Skeleton) -> [V3; NUM_BETAS] {
    if part == Segment::Spare {
        return [V3::ZERO; NUM_BETAS];
    }
    let j = &sk.joints;
    let sx = side(p);
    let (x, y) = (p.x.abs(), p.y);
    let trunk = part == Segment::Trunk;
    let head = if trunk { head_fraction(p) } else { 0.0 };

    let stature = v3(0.012 * p.x, 0.033 * (y - FLOOR_Y), 0.012 * p.z);

    let belly = gauss((y + 0.2).powi(2), 0.09) * smoothstep(-0.04, 0.06, p.z);
    let girth = match part {
        Segment::Trunk => lerp3(0.010 + 0.010 * belly, 0.002, head),
        Segment::Arm => 0.005,
        Segment::Leg => 0.003 + 0.005 * smoothstep(-1.0, -0.5, y),
        _ => 0.0015,
    };
    let weight = n * girth;

    let arm_reach = if is_arm(part) || (trunk && y > 0.0) {
        (x - 0.16).max(0.0)
    } else {
        0.0
    };
    let leg_reach = if is_leg(part) || trunk {
        (j[idx::LEFT_HIP].y - y).max(0.0)
    } else {
        0.0
    };
    let limbs = v3(sx * 0.045 * arm_reach, -0.045 * leg_reach, 0.0);

    let shoulders = if is_arm(part) {
        1.0
    } else if trunk {
        smoothstep(0.03, 0.16, x) * smoothstep(-0.05, 0.12, y) * (1.0 - head)
    } else {
        0.0
    };
    let shoulder_width = v3(sx * 0.012 * shoulders, 0.0, 0.0);

    let hips = if trunk {
        smoothstep(0.0, 0.15, x) * smoothstep(-0.15, -0.35, y)
    } else if part == Segment::Leg {
        smoothstep(-1.0, -0.5, y)
    } else {
        0.0
    };
    let hip_width = v3(sx * 0.012 * hips, 0.0, 0.0);

    let head_size = (p - face::HEAD_CENTER) * (0.045 * head);

    let (shoulder, wrist) = (j[idx::LEFT_SHOULDER], j[idx::LEFT_WRIST]);
    let arm_girth = if part == Segment::Arm {
        let q = v3(x, p.y, p.z);
        let off = off_segment(q, shoulder, wrist);
        v3(off.x * sx, off.y, off.z) * (0.09 * smoothstep(0.16, 0.22, x))
    } else {
        V3::ZERO
    };

    let (hip, ankle) = (j[idx::LEFT_HIP], j[idx::LEFT_ANKLE]);
    let leg_girth = if part == Segment::Leg {
        let q = v3(x, p.y, p.z);
        let off = off_segment(q, hip, ankle);
        v3(off.x * sx, 0.0, off.z)
            * (0.07 * smoothstep(-1.12, -1.05, y) * smoothstep(-0.46, -0.55, y))
    } else {
        V3::ZERO
    };

    let chest = if trunk {
        (p.z + 0.02)
            * 0.10
            * gauss((y - 0.05).powi(2), 0.08)
            * smoothstep(0.2, 0.1, x)
            * (1.0 - head)
    } else {
        0.0
    };
    let chest_depth = v3(0.0, 0.0, chest);

    let neck = if trunk {
        0.012 * smoothstep(0.19, 0.26, y)
    } else {
        0.0
    };
    let neck_length = v3(0.0, neck, 0.0);

    [
        stature,
        weight,
        limbs,
        shoulder_width,
        hip_width,
        head_size,
        arm_girth,
        leg_girth,
        chest_depth,
        neck_length,
    ]
}

fn lerp3(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// The ten expression directions of one vertex (zero off the face):
/// 0 jaw drop, 1 smile, 2 wide mouth, 3 pucker, 4 brows up, 5 frown,
/// 6 eyes shut, 7 puffed cheeks, 8 sneer, 9 mouth corners down.
pub fn expression_dirs(p: V3, n: V3, part: Segment) -> [V3; 10] {
    if part != Segment::Trunk {
        return [V3::ZERO; 10];
    }
    let mask = head_fraction(p) * smoothstep(-0.03, 0.02, p.z);
    if mask <= 0.0 {
        return [V3::ZERO; 10];
    }
    let sx = side(p);
    // Work on the left half; lateral motions flip sign on the right.
    let q = v3(p.x.abs(), p.y, p.z);
    let near = |c: V3, sigma: f64| gauss((q - c).dot(q - c), sigma);
    let lateral = |v: V3| v3(v.x * sx, v.y, v.z);
    let corner = face::MOUTH_CORNER;
    let mouth_mid = v3(0.0, face::MOUTH_Y, 0.092);

    // Like a hinge below the ears: the chin moves most.
    let jaw = jaw_fraction(p) * ((p.z + 0.03) / 0.12).clamp(0.0, 1.0);
    let jaw_drop = v3(0.0, -0.010, -0.003) * jaw;
    let smile = lateral(v3(0.004, 0.005, -0.002)) * near(corner, 0.011)
        + v3(0.0, 0.0025, 0.001) * near(v3(0.040, 0.3185, 0.068), 0.015);
    let wide = lateral(v3(0.006, 0.0, -0.0015)) * near(corner, 0.013);
    let pucker = (v3(0.0, 0.0, 0.006) + lateral(v3(-0.004, 0.0, 0.0)) * (q.x / 0.025))
        * near(mouth_mid, 0.014);
    let brows_up = v3(0.0, 0.006, 0.0) * near(v3(0.032, face::BROW_Y, 0.078), 0.018);
    let frown = lateral(v3(-0.002, -0.0035, 0.001)) * near(v3(0.015, 0.390, 0.083), 0.011);
    let lid = face::EYE + v3(0.0, 0.0065, 0.013);
    let eyes_shut = v3(0.0, -0.005, 0.0005) * near(lid, 0.0065)
        + v3(0.0, 0.0018, 0.0) * near(face::EYE + v3(0.0, -0.0065, 0.012), 0.005);
    let puff = n * (0.007 * near(v3(0.045, 0.300, 0.064), 0.017));
    let sneer = v3(0.0, 0.0035, 0.0006) * near(v3(0.013, 0.3185, 0.092), 0.009);
    let corners_down = v3(0.0, -0.005, -0.001) * near(corner, 0.010);

    [
        jaw_drop,
        smile,
        wide,
        pucker,
        brows_up,
        frown,
        eyes_shut,
        puff,
        sneer,
        corners_down,
    ]
    .map(|d| d * mask)
}

/// Pose correctives of one vertex, `[3][486]` flattened as (coordinate,
/// pose feature): the flesh in the crease of a bent knee or elbow bulges
/// out a little. The pose feature of joint j is R_j - I (row-major); a bend
/// by θ about a hinge axis makes the two diagonal entries off that axis
/// cos θ - 1, so a corrective of -½·bulge on each gives (1 - cos θ)·bulge.
pub fn pose_dirs(p: V3, n: V3, part: Segment, sk: &Skeleton, out: &mut [f64]) {
    let j = &sk.joints;
    let left = p.x >= 0.0;
    let mut add = |joint: usize, diag: [usize; 2], bulge: V3| {
        for d in diag {
            let feature = (joint - 1) * 9 + d * 4;
            for (c, value) in [bulge.x, bulge.y, bulge.z].into_iter().enumerate() {
                out[c * NUM_POSE_BASIS + feature] += -0.5 * value;
            }
        }
    };
    if part == Segment::Leg {
        // Knee bends about x; the crease is behind (-z).
        let knee = j[idx::LEFT_KNEE];
        let amount = 0.015 * gauss((p.y - knee.y).powi(2), 0.04) * (-n.z).max(0.0);
        let joint = if left {
            idx::LEFT_KNEE
        } else {
            idx::RIGHT_KNEE
        };
        add(joint, [1, 2], n * amount);
    }
    if part == Segment::Arm {
        // Elbow bends about y (the forearm swings forward); crease in front.
        let elbow = j[idx::LEFT_ELBOW];
        let amount = 0.010 * gauss((p.x.abs() - elbow.x).powi(2), 0.035) * n.z.max(0.0);
        let joint = if left {
            idx::LEFT_ELBOW
        } else {
            idx::RIGHT_ELBOW
        };
        add(joint, [0, 2], n * amount);
    }
}
