//! The hand pose space: a mean pose and an orthonormal 45×45 basis whose
//! first components are the motions hands mostly make (curl, spread,
//! thumb across the palm, pointing, claw), the rest completing the basis.
//!
//! Axis-angle per finger joint, in SMPL-X's order (index, middle, pinky,
//! ring, thumb; three joints each). The left hand lies along +x, palm
//! down, so curling a finger toward the palm is a rotation about -z. A
//! left-hand rotation (x, y, z) mirrors to the right hand as (x, -y, -z).

use super::geom::{v3, V3};
use super::mesh::Digit;
use super::skeleton::Skeleton;

/// 15 joints × 3.
pub const HAND_DIM: usize = 45;

/// Axis about which a digit of the left hand flexes toward the palm.
fn flex_axis(sk: &Skeleton, d: Digit) -> V3 {
    let u = sk.finger(d).dir();
    if d == Digit::Thumb {
        // The thumb curls down and across toward the little finger.
        u.cross(v3(0.0, -1.0, -0.5).norm()).norm()
    } else {
        u.cross(-V3::Y).norm()
    }
}

/// Axis about which a digit of the left hand swings toward the thumb (+z).
fn spread_axis(sk: &Skeleton, d: Digit) -> V3 {
    sk.finger(d).dir().cross(V3::Z).norm()
}

/// A hand pose from per-digit, per-joint angles about the given axes.
fn pose(sk: &Skeleton, angles: impl Fn(Digit, usize) -> (f64, f64)) -> [f64; HAND_DIM] {
    let mut out = [0.0; HAND_DIM];
    for d in Digit::ALL {
        for k in 0..3 {
            let (flex, spread) = angles(d, k);
            let aa = flex_axis(sk, d) * flex + spread_axis(sk, d) * spread;
            let i = (d.order() * 3 + k) * 3;
            out[i..i + 3].copy_from_slice(&[aa.x, aa.y, aa.z]);
        }
    }
    out
}

/// A relaxed hand: fingers slightly curled, more toward the little finger.
pub fn left_mean(sk: &Skeleton) -> [f64; HAND_DIM] {
    pose(sk, |d, k| {
        let along = [0.12, 0.22, 0.12][k];
        let more = match d {
            Digit::Index => 1.0,
            Digit::Middle => 1.1,
            Digit::Ring => 1.25,
            Digit::Pinky => 1.4,
            Digit::Thumb => 0.6,
        };
        (along * more, 0.0)
    })
}

/// The basis, rows are components.
pub fn left_components(sk: &Skeleton) -> Vec<[f64; HAND_DIM]> {
    let fingers = |d: Digit| d != Digit::Thumb;
    let named = [
        // Curl every digit.
        pose(sk, |d, _| (if fingers(d) { 1.0 } else { 0.5 }, 0.0)),
        // Spread the fingers apart at the knuckles.
        pose(sk, |d, k| {
            let fan = match d {
                Digit::Index => 1.0,
                Digit::Middle => 0.1,
                Digit::Ring => -0.6,
                Digit::Pinky => -1.0,
                Digit::Thumb => 0.8,
            };
            (0.0, if k == 0 { fan } else { 0.0 })
        }),
        // Thumb across the palm: flex it, and swing its base toward the
        // fingers.
        pose(sk, |d, k| match (d, k) {
            (Digit::Thumb, 0) => (1.0, -0.5),
            (Digit::Thumb, _) => ([1.0, 0.6, 0.3][k], 0.0),
            _ => (0.0, 0.0),
        }),
        // Point: index straight, the others curled.
        pose(sk, |d, _| match d {
            Digit::Index => (-1.0, 0.0),
            Digit::Thumb => (0.3, 0.0),
            _ => (1.0, 0.0),
        }),
        // Claw: bend the outer joints, straighten the knuckles.
        pose(sk, |d, k| {
            if fingers(d) {
                ([-0.6, 1.0, 1.0][k], 0.0)
            } else {
                (0.0, 0.0)
            }
        }),
    ];
    let identity = (0..HAND_DIM).map(|i| {
        let mut e = [0.0; HAND_DIM];
        e[i] = 1.0;
        e
    });
    gram_schmidt(named.into_iter().chain(identity))
}

/// Orthonormalises vectors in order, dropping those (nearly) dependent on
/// the ones before, until the basis is complete.
fn gram_schmidt(vectors: impl Iterator<Item = [f64; HAND_DIM]>) -> Vec<[f64; HAND_DIM]> {
    let mut basis: Vec<[f64; HAND_DIM]> = Vec::with_capacity(HAND_DIM);
    for mut v in vectors {
        // Twice, for numerical safety.
        for _ in 0..2 {
            for b in &basis {
                let d: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
                for (x, y) in v.iter_mut().zip(b) {
                    *x -= d * y;
                }
            }
        }
        let len = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if len > 1e-6 {
            basis.push(v.map(|x| x / len));
        }
        if basis.len() == HAND_DIM {
            break;
        }
    }
    basis
}

/// A left-hand pose vector as the right hand's: (x, y, z) → (x, -y, -z).
pub fn mirror(v: &[f64; HAND_DIM]) -> [f64; HAND_DIM] {
    let mut out = *v;
    for i in (0..HAND_DIM).step_by(3) {
        out[i + 1] = -out[i + 1];
        out[i + 2] = -out[i + 2];
    }
    out
}
