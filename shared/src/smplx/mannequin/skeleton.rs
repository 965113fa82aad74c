//! The rest-pose skeleton and the face's reference points: the design input
//! the surface, the rig and the landmarks are all built around.
//!
//! SMPL-X conventions: metres, y up, +x the body's left, +z forward; rest
//! pose is a T-pose with palms down. The figure is 1.70 m tall, feet on
//! y = -1.21, crown near y = +0.49, pelvis joint at (0, -0.35, 0), roughly
//! where the SMPL-X template stands. Left-side points are given; the right
//! side is their mirror image.

use super::geom::{v3, V3};
use super::mesh::Digit;
use crate::smplx::joints::{idx, NUM_JOINTS};

/// Height of the soles.
pub const FLOOR_Y: f64 = -1.21;

/// Face reference points (left side where lateral).
pub mod face {
    use super::{v3, V3};
    /// Centre of the left eyeball (joint 23).
    pub const EYE: V3 = v3(0.031, 0.368, 0.064);
    pub const EYE_RADIUS: f64 = 0.0125;
    /// Height of the line where the lips meet.
    pub const MOUTH_Y: f64 = 0.2925;
    /// Left corner of the mouth (on the surface, roughly).
    pub const MOUTH_CORNER: V3 = v3(0.024, 0.2925, 0.083);
    /// Centre of the ball of the nose tip.
    pub const NOSE_TIP: V3 = v3(0.0, 0.331, 0.108);
    /// Left ear's centre.
    pub const EAR: V3 = v3(0.074, 0.352, -0.012);
    /// Middle of the skull, used to scale the head.
    pub const HEAD_CENTER: V3 = v3(0.0, 0.37, -0.005);
    /// Brow line height.
    pub const BROW_Y: f64 = 0.397;
    /// Chin's lowest point height.
    pub const CHIN_Y: f64 = 0.252;
}

/// One digit of the left hand: joints from the base (MCP; CMC for the thumb)
/// to the tip, and the flesh radius at each.
#[derive(Clone, Copy, Debug)]
pub struct Finger {
    pub digit: Digit,
    /// Base, middle, distal joint and the tip of the flesh.
    pub points: [V3; 4],
    pub radii: [f64; 4],
}

impl Finger {
    pub fn dir(&self) -> V3 {
        (self.points[3] - self.points[0]).norm()
    }

    /// Centre of the fingertip's end cap.
    pub fn tip_center(&self) -> V3 {
        self.points[3] - self.dir() * self.radii[3]
    }

    /// SMPL-X joint ids of the three joints on the left hand.
    pub fn left_joints(&self) -> [usize; 3] {
        let base = idx::LEFT_INDEX1 + 3 * self.digit.order();
        [base, base + 1, base + 2]
    }
}

pub struct Skeleton {
    /// The 55 SMPL-X joints.
    pub joints: [V3; NUM_JOINTS],
    /// Left-hand digits in SMPL-X order (index, middle, pinky, ring, thumb).
    pub fingers: [Finger; 5],
}

/// A straight digit: base point, direction, phalanx lengths, radii.
fn digit(digit: Digit, base: V3, dir: V3, lengths: [f64; 3], radii: [f64; 4]) -> Finger {
    let u = dir.norm();
    let p1 = base + u * lengths[0];
    let p2 = p1 + u * lengths[1];
    let p3 = p2 + u * lengths[2];
    Finger {
        digit,
        points: [base, p1, p2, p3],
        radii,
    }
}

/// Direction in the palm plane, `deg` degrees from +x toward the thumb (+z).
fn spread(deg: f64, droop: f64) -> V3 {
    let a = deg.to_radians();
    v3(a.cos(), -droop, a.sin())
}

impl Skeleton {
    pub fn rest() -> Self {
        let fingers = [
            digit(
                Digit::Index,
                v3(0.792, 0.131, 0.004),
                spread(3.0, 0.03),
                [0.040, 0.024, 0.021],
                [0.0094, 0.0085, 0.0077, 0.0070],
            ),
            digit(
                Digit::Middle,
                v3(0.797, 0.131, -0.0155),
                spread(0.0, 0.03),
                [0.044, 0.027, 0.023],
                [0.0096, 0.0087, 0.0079, 0.0072],
            ),
            digit(
                Digit::Pinky,
                v3(0.781, 0.130, -0.0525),
                spread(-7.0, 0.03),
                [0.032, 0.020, 0.019],
                [0.0081, 0.0073, 0.0066, 0.0061],
            ),
            digit(
                Digit::Ring,
                v3(0.792, 0.131, -0.0345),
                spread(-3.0, 0.03),
                [0.041, 0.026, 0.022],
                [0.0091, 0.0082, 0.0075, 0.0068],
            ),
            digit(
                Digit::Thumb,
                v3(0.726, 0.121, -0.004),
                v3(0.78, -0.16, 0.60),
                [0.040, 0.031, 0.027],
                [0.0125, 0.0106, 0.0096, 0.0086],
            ),
        ];
        let mut joints = [V3::ZERO; NUM_JOINTS];
        let mut mid = |j: usize, p: V3| joints[j] = p;
        mid(idx::PELVIS, v3(0.0, -0.350, 0.000));
        mid(idx::SPINE1, v3(0.0, -0.225, -0.012));
        mid(idx::SPINE2, v3(0.0, -0.095, -0.016));
        mid(idx::SPINE3, v3(0.0, 0.040, -0.020));
        mid(idx::NECK, v3(0.0, 0.215, -0.030));
        mid(idx::HEAD, v3(0.0, 0.300, -0.008));
        mid(idx::JAW, v3(0.0, 0.322, 0.010));
        let pairs = [
            (idx::LEFT_HIP, idx::RIGHT_HIP, v3(0.080, -0.440, 0.000)),
            (idx::LEFT_KNEE, idx::RIGHT_KNEE, v3(0.095, -0.800, 0.005)),
            (idx::LEFT_ANKLE, idx::RIGHT_ANKLE, v3(0.088, -1.135, -0.035)),
            (idx::LEFT_FOOT, idx::RIGHT_FOOT, v3(0.102, -1.190, 0.085)),
            (
                idx::LEFT_COLLAR,
                idx::RIGHT_COLLAR,
                v3(0.070, 0.160, -0.022),
            ),
            (
                idx::LEFT_SHOULDER,
                idx::RIGHT_SHOULDER,
                v3(0.180, 0.155, -0.025),
            ),
            (idx::LEFT_ELBOW, idx::RIGHT_ELBOW, v3(0.450, 0.146, -0.030)),
            (idx::LEFT_WRIST, idx::RIGHT_WRIST, v3(0.700, 0.139, -0.025)),
            (idx::LEFT_EYE_SMPLHF, idx::RIGHT_EYE_SMPLHF, face::EYE),
        ];
        for (l, r, p) in pairs {
            joints[l] = p;
            joints[r] = p.mirror();
        }
        for f in &fingers {
            for (k, &j) in f.left_joints().iter().enumerate() {
                joints[j] = f.points[k];
                joints[j + 15] = f.points[k].mirror();
            }
        }
        Skeleton { joints, fingers }
    }

    pub fn finger(&self, d: Digit) -> &Finger {
        &self.fingers[d.order()]
    }
}
