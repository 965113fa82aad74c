//! MediaPipe's landmarks written as OpenPose keypoints (the 137-point
//! array: BODY_25, left hand 21, right hand 21, face 70), so `furpe detect`
//! output goes through `furpe import openpose` like OpenPose's own.
//!
//! Body: BlazePose's 33 points (`@mediapipe/pose` POSE_LANDMARKS order)
//! give 23 of BODY_25's 25 directly or as a midpoint; BlazePose has no
//! small toes, so `LSmallToe` and `RSmallToe` stay missed (0, 0, 0). Its hip
//! points sit where GHUM's hip joints are, a little higher and wider than
//! OpenPose's; its "foot index" is the tip of the foot, used for the big
//! toe. Hands: MediaPipe's 21 hand points are in OpenPose's hand order
//! (wrist, then thumb, index, middle, ring, pinky from base to tip).
//! Face: OpenPose's 70 (the 68 iBUG points and two pupils) picked from the
//! face mesh's 468 by [`FACE70_FROM_MESH`], this project's correspondence
//! read off the mesh's landmark semantics (its symmetric pairs, e.g. eye
//! corners 33 ↔ 263, mouth corners 61 ↔ 291, jaw 234 ↔ 454); the face
//! model has no iris, so each pupil is its eye's six points' mean.

use crate::keypoints::{NUM_BODY25, NUM_FACE70, NUM_HAND, NUM_OPENPOSE137};

/// Number of BlazePose body landmarks (the model outputs 39: these 33 and
/// 6 auxiliary points for the region of interest).
pub const NUM_POSE: usize = 33;

/// Where each BODY_25 point comes from in BlazePose's 33: one landmark, the
/// midpoint of two, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Point(usize),
    Mid(usize, usize),
    None,
}

// BlazePose landmark indices.
const NOSE: usize = 0;
const LEFT_EYE: usize = 2;
const RIGHT_EYE: usize = 5;
const LEFT_EAR: usize = 7;
const RIGHT_EAR: usize = 8;
const LEFT_SHOULDER: usize = 11;
const RIGHT_SHOULDER: usize = 12;
const LEFT_ELBOW: usize = 13;
const RIGHT_ELBOW: usize = 14;
const LEFT_WRIST: usize = 15;
const RIGHT_WRIST: usize = 16;
const LEFT_HIP: usize = 23;
const RIGHT_HIP: usize = 24;
const LEFT_KNEE: usize = 25;
const RIGHT_KNEE: usize = 26;
const LEFT_ANKLE: usize = 27;
const RIGHT_ANKLE: usize = 28;
const LEFT_HEEL: usize = 29;
const RIGHT_HEEL: usize = 30;
const LEFT_FOOT_INDEX: usize = 31;
const RIGHT_FOOT_INDEX: usize = 32;

/// BODY_25 (in [`crate::keypoints::BODY25_NAMES`] order) from BlazePose.
const BODY25_FROM_POSE: [Source; NUM_BODY25] = [
    Source::Point(NOSE),
    Source::Mid(LEFT_SHOULDER, RIGHT_SHOULDER), // Neck
    Source::Point(RIGHT_SHOULDER),
    Source::Point(RIGHT_ELBOW),
    Source::Point(RIGHT_WRIST),
    Source::Point(LEFT_SHOULDER),
    Source::Point(LEFT_ELBOW),
    Source::Point(LEFT_WRIST),
    Source::Mid(LEFT_HIP, RIGHT_HIP), // MidHip
    Source::Point(RIGHT_HIP),
    Source::Point(RIGHT_KNEE),
    Source::Point(RIGHT_ANKLE),
    Source::Point(LEFT_HIP),
    Source::Point(LEFT_KNEE),
    Source::Point(LEFT_ANKLE),
    Source::Point(RIGHT_EYE),
    Source::Point(LEFT_EYE),
    Source::Point(RIGHT_EAR),
    Source::Point(LEFT_EAR),
    Source::Point(LEFT_FOOT_INDEX), // LBigToe
    Source::None,                   // LSmallToe
    Source::Point(LEFT_HEEL),
    Source::Point(RIGHT_FOOT_INDEX), // RBigToe
    Source::None,                    // RSmallToe
    Source::Point(RIGHT_HEEL),
];

/// Number of face mesh points (`face_landmark.tflite`).
pub const NUM_MESH: usize = 468;

/// The face mesh point behind each OpenPose face point 0–67 (jaw 0–16 from
/// the subject's right, brows 17–26, nose 27–35, eyes 36–47 from each
/// eye's outer-right corner, lips 48–67); 68 and 69 are the pupils.
pub const FACE70_FROM_MESH: [usize; 68] = [
    // jaw
    234, 93, 132, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 361, 323, 454,
    // right brow (outer → inner), left brow (inner → outer)
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    // nose bridge (top → tip), nostrils (right → left)
    168, 197, 5, 4, 98, 97, 2, 326, 327, // right eye, left eye
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380, // outer lips, inner lips
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91, 78, 81, 13, 311, 308, 402, 14, 178,
];

/// One person's MediaPipe landmarks in image pixels, (x, y, confidence).
#[derive(Debug, Clone, Default)]
pub struct Landmarks {
    /// BlazePose's first 33 points; confidence = its visibility.
    pub body: Option<Vec<[f32; 3]>>,
    /// 21 points each; confidence = the hand flag.
    pub left_hand: Option<Vec<[f32; 3]>>,
    pub right_hand: Option<Vec<[f32; 3]>>,
    /// The face mesh's 468 points; confidence = the face flag.
    pub face: Option<Vec<[f32; 3]>>,
}

/// The OpenPose-137 array of one person; missing parts are (0, 0, 0).
pub fn to_openpose137(person: &Landmarks) -> Vec<[f32; 3]> {
    let mut out = vec![[0.0f32; 3]; NUM_OPENPOSE137];
    if let Some(body) = person.body.as_deref().filter(|b| b.len() >= NUM_POSE) {
        for (slot, source) in BODY25_FROM_POSE.iter().enumerate() {
            out[slot] = match *source {
                Source::Point(i) => body[i],
                Source::Mid(a, b) => {
                    let (p, q) = (body[a], body[b]);
                    [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0, p[2].min(q[2])]
                }
                Source::None => [0.0; 3],
            };
        }
    }
    for (hand, offset) in [
        (&person.left_hand, NUM_BODY25),
        (&person.right_hand, NUM_BODY25 + NUM_HAND),
    ] {
        if let Some(points) = hand.as_deref().filter(|h| h.len() == NUM_HAND) {
            out[offset..offset + NUM_HAND].copy_from_slice(points);
        }
    }
    if let Some(mesh) = person.face.as_deref().filter(|m| m.len() == NUM_MESH) {
        let face = NUM_BODY25 + 2 * NUM_HAND;
        for (slot, &i) in FACE70_FROM_MESH.iter().enumerate() {
            out[face + slot] = mesh[i];
        }
        // Pupils: the mean of each eye's six points (slots 36–41, 42–47).
        for (pupil, eye) in [(68, 36), (69, 42)] {
            let points = &out[face + eye..face + eye + 6];
            let mean = points.iter().fold([0.0f32; 3], |m, p| {
                [m[0] + p[0] / 6.0, m[1] + p[1] / 6.0, m[2] + p[2] / 6.0]
            });
            out[face + pupil] = mean;
        }
    }
    debug_assert_eq!(out.len(), NUM_BODY25 + 2 * NUM_HAND + NUM_FACE70);
    // A point with no confidence is a missed point, whatever its position.
    for p in &mut out {
        if p[2].is_nan() || p[2] <= 0.0 || !p.iter().all(|v| v.is_finite()) {
            *p = [0.0; 3];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::BODY25_NAMES;

    #[test]
    fn body_points_land_in_their_body25_slots() {
        // Landmark i at (i, 100 + i) with confidence 0.9.
        let body: Vec<[f32; 3]> = (0..NUM_POSE)
            .map(|i| [i as f32, 100.0 + i as f32, 0.9])
            .collect();
        let out = to_openpose137(&Landmarks {
            body: Some(body),
            ..Default::default()
        });
        let at = |name: &str| out[BODY25_NAMES.iter().position(|n| *n == name).unwrap()];
        assert_eq!(at("Nose"), [0.0, 100.0, 0.9]);
        assert_eq!(at("RWrist"), [16.0, 116.0, 0.9]);
        assert_eq!(at("LAnkle"), [27.0, 127.0, 0.9]);
        assert_eq!(at("Neck"), [11.5, 111.5, 0.9]);
        assert_eq!(at("MidHip"), [23.5, 123.5, 0.9]);
        assert_eq!(at("RBigToe"), [32.0, 132.0, 0.9]);
        assert_eq!(at("LSmallToe"), [0.0; 3]);
        assert!(
            out[NUM_BODY25..].iter().all(|p| *p == [0.0; 3]),
            "no hands or face given"
        );
    }

    #[test]
    fn hands_keep_their_order_and_unconfident_points_are_missed() {
        let hand: Vec<[f32; 3]> = (0..NUM_HAND)
            .map(|i| [i as f32, 1.0, if i == 4 { 0.0 } else { 0.7 }])
            .collect();
        let out = to_openpose137(&Landmarks {
            right_hand: Some(hand),
            ..Default::default()
        });
        let right = &out[NUM_BODY25 + NUM_HAND..NUM_BODY25 + 2 * NUM_HAND];
        assert_eq!(right[8], [8.0, 1.0, 0.7]);
        assert_eq!(right[4], [0.0; 3], "confidence 0 → missed");
        assert!(out[NUM_BODY25..NUM_BODY25 + NUM_HAND]
            .iter()
            .all(|p| *p == [0.0; 3]));
    }

    #[test]
    fn the_face_map_picks_distinct_mesh_points_and_mirrors_left_and_right() {
        let mut seen = std::collections::HashSet::new();
        assert!(FACE70_FROM_MESH
            .iter()
            .all(|&i| i < NUM_MESH && seen.insert(i)));
        // Mesh point i at x = i: each OpenPose face point carries its mesh index.
        let mesh: Vec<[f32; 3]> = (0..NUM_MESH).map(|i| [i as f32, 0.0, 0.8]).collect();
        let out = to_openpose137(&Landmarks {
            face: Some(mesh),
            ..Default::default()
        });
        let face = &out[NUM_BODY25 + 2 * NUM_HAND..];
        assert_eq!(face[8][0], 152.0, "chin");
        assert_eq!(face[36][0], 33.0, "right eye's outer corner");
        assert_eq!(face[45][0], 263.0, "left eye's outer corner");
        assert_eq!(face[30][0], 4.0, "nose tip");
        let right_pupil = (33.0 + 160.0 + 158.0 + 133.0 + 153.0 + 144.0) / 6.0;
        assert!((face[68][0] - right_pupil).abs() < 1e-3);
        // On a real frontal face (the face model's reference output on the
        // astronaut photo, tests/fixtures/mediapipe), every pair OpenPose's
        // flip swaps must sit mirrored: midpoint on the face's axis, level.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/mediapipe/reference.npz");
        let mut npz = crate::npz::NpzArchive::open(&path).expect("reference.npz");
        let raw = npz
            .read("face_landmark/astronaut/conv2d_21")
            .expect("face mesh")
            .to_f32()
            .expect("f32");
        // The fixture's input is not a face window, so the face is tilted:
        // level its outer eye corners (mesh 33 → 263) first.
        let (a, b) = (
            [raw[33 * 3], raw[33 * 3 + 1]],
            [raw[263 * 3], raw[263 * 3 + 1]],
        );
        let (s, c) = (-(b[1] - a[1]).atan2(b[0] - a[0])).sin_cos();
        let mesh: Vec<[f32; 3]> = raw
            .chunks_exact(3)
            .map(|p| [c * p[0] - s * p[1], s * p[0] + c * p[1], 1.0])
            .collect();
        let out = to_openpose137(&Landmarks {
            face: Some(mesh),
            ..Default::default()
        });
        let face = &out[NUM_BODY25 + 2 * NUM_HAND..];
        let width = face[16][0] - face[0][0];
        assert!(width > 50.0, "jaw ends {:?} {:?}", face[0], face[16]);
        // The jaw runs from the image's left to its right, lowest at the
        // chin (the head is turned a little, so its contour is not mirrored).
        assert!(
            face[..8].iter().all(|p| p[0] < face[8][0])
                && face[9..17].iter().all(|p| p[0] > face[8][0]),
            "jaw sides"
        );
        assert!(
            face[..8].windows(2).all(|w| w[0][1] < w[1][1]),
            "the right jaw runs down to the chin"
        );
        assert!(
            face[9..17].windows(2).all(|w| w[0][1] > w[1][1]),
            "the left jaw runs up from the chin"
        );
        assert!(
            face[..17].iter().all(|p| p[1] <= face[8][1]),
            "the chin is lowest"
        );
        // Inside the contour every pair OpenPose's flip swaps sits mirrored:
        // midpoint on the face's axis, level.
        let flip = crate::keypoints::openpose137_flip();
        let base = NUM_BODY25 + 2 * NUM_HAND;
        let pairs: Vec<(usize, usize)> = (17..68)
            .map(|a| (a, flip[base + a] - base))
            .filter(|(a, b)| a < b)
            .collect();
        let mut mids: Vec<f32> = pairs
            .iter()
            .map(|&(a, b)| (face[a][0] + face[b][0]) / 2.0)
            .collect();
        mids.sort_by(f32::total_cmp);
        let axis = mids[mids.len() / 2];
        for (a, b) in pairs {
            let (p, q) = (face[a], face[b]);
            let off_axis = ((p[0] + q[0]) / 2.0 - axis).abs() / width;
            let tilt = (p[1] - q[1]).abs() / width;
            assert!(
                off_axis < 0.1 && tilt < 0.05,
                "face points {a} / {b}: {p:?} {q:?} (off axis {off_axis:.3}, tilt {tilt:.3})"
            );
            // The lower lips run back from the subject's left (55–59,
            // 65–67); every other pair starts on the image's left.
            let lower_lip = (55..=59).contains(&a) || (65..=67).contains(&a);
            assert_eq!(
                p[0] < q[0],
                !lower_lip,
                "face points {a} / {b} on the wrong sides: {p:?} {q:?}"
            );
        }
    }
}
