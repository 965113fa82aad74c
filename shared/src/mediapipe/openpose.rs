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
//! Face: not mapped yet (the block stays missed); the face mesh's 468
//! points have no agreed 68-point correspondence.

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

/// One person's MediaPipe landmarks in image pixels, (x, y, confidence).
#[derive(Debug, Clone, Default)]
pub struct Landmarks {
    /// BlazePose's first 33 points; confidence = its visibility.
    pub body: Option<Vec<[f32; 3]>>,
    /// 21 points each; confidence = the hand flag.
    pub left_hand: Option<Vec<[f32; 3]>>,
    pub right_hand: Option<Vec<[f32; 3]>>,
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
}
