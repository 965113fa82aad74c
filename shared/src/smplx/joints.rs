//! SMPL-X joint names, the kinematic tree and the fixed vertex ids of the
//! extra joints, as the reference `smplx` package orders them
//! (docs/smplx-layout.md §1–§3).

/// Skeleton joints driven by linear blend skinning.
pub const NUM_JOINTS: usize = 55;
/// Body joints in `body_pose` (SMPL-X joints 1..=21).
pub const NUM_BODY_JOINTS: usize = 21;
/// Finger joints per hand.
pub const NUM_HAND_JOINTS: usize = 15;
/// All output joints with the face contour (55 + 21 + 51 + 17).
pub const NUM_OUTPUT_JOINTS: usize = 144;
/// Output joints without the face contour.
pub const NUM_OUTPUT_JOINTS_NO_CONTOUR: usize = 127;

/// Which of the 55 skeleton joints each part's rotations drive, in joint
/// units: the one statement of the pose layout (`global_orient`,
/// `body_pose`, `jaw_pose`, eyes, `left_hand_pose`, `right_hand_pose`).
/// [`pose::flat`] turns a range into a flat pose vector's (3 values per
/// joint for axis-angle, 9 for matrices).
pub mod pose {
    use std::ops::Range;

    pub const GLOBAL: Range<usize> = 0..1;
    pub const BODY: Range<usize> = 1..22;
    pub const JAW: Range<usize> = 22..23;
    pub const LEFT_EYE: Range<usize> = 23..24;
    pub const RIGHT_EYE: Range<usize> = 24..25;
    pub const LEFT_HAND: Range<usize> = 25..40;
    pub const RIGHT_HAND: Range<usize> = 40..55;

    /// `joints` in a flat vector with `width` values per joint.
    pub const fn flat(joints: Range<usize>, width: usize) -> Range<usize> {
        joints.start * width..joints.end * width
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::smplx::joints::{NUM_BODY_JOINTS, NUM_HAND_JOINTS, NUM_JOINTS};

        #[test]
        fn the_parts_tile_the_skeleton_in_order() {
            let parts = [
                GLOBAL, BODY, JAW, LEFT_EYE, RIGHT_EYE, LEFT_HAND, RIGHT_HAND,
            ];
            assert_eq!(parts[0].start, 0);
            assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
            assert_eq!(RIGHT_HAND.end, NUM_JOINTS);
            assert_eq!(BODY.len(), NUM_BODY_JOINTS);
            assert_eq!([LEFT_HAND.len(), RIGHT_HAND.len()], [NUM_HAND_JOINTS; 2]);
            // The reference package's full axis-angle pose: hands at 75..120, 120..165.
            assert_eq!(flat(LEFT_HAND, 3), 75..120);
            assert_eq!(flat(RIGHT_HAND, 3), 120..165);
        }
    }
}

/// Where each group sits among the 144 output joints (the 55 skeleton
/// joints, then [`VERTEX_JOINT_IDS`]' 21, the 51 face landmarks and the 17
/// contour points), in the reference package's order.
pub mod output {
    use std::ops::Range;

    pub const SKELETON: Range<usize> = 0..55;
    /// Nose, eyes, ears, toes and heels.
    pub const HEAD_AND_FEET: Range<usize> = 55..66;
    /// Thumb, index, middle, ring and pinky tips.
    pub const LEFT_FINGERTIPS: Range<usize> = 66..71;
    pub const RIGHT_FINGERTIPS: Range<usize> = 71..76;
    /// The static face landmarks (iBUG points 17–67).
    pub const FACE_LANDMARKS: Range<usize> = 76..127;
    /// The dynamic face contour (iBUG points 0–16).
    pub const CONTOUR: Range<usize> = 127..144;

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::smplx::joints::{
            NUM_JOINTS, NUM_OUTPUT_JOINTS, NUM_OUTPUT_JOINTS_NO_CONTOUR, VERTEX_JOINT_IDS,
        };

        #[test]
        fn the_output_groups_tile_the_144_joints_in_order() {
            let groups = [
                SKELETON,
                HEAD_AND_FEET,
                LEFT_FINGERTIPS,
                RIGHT_FINGERTIPS,
                FACE_LANDMARKS,
                CONTOUR,
            ];
            assert_eq!(groups[0].start, 0);
            assert!(groups.windows(2).all(|w| w[0].end == w[1].start));
            assert_eq!(SKELETON.end, NUM_JOINTS);
            assert_eq!(RIGHT_FINGERTIPS.end - SKELETON.end, VERTEX_JOINT_IDS.len());
            assert_eq!(FACE_LANDMARKS.end, NUM_OUTPUT_JOINTS_NO_CONTOUR);
            assert_eq!(CONTOUR.end, NUM_OUTPUT_JOINTS);
        }
    }
}

/// Parent of each skeleton joint; the root's is -1.
pub const PARENTS: [i64; NUM_JOINTS] = [
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15, 20, 25,
    26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38, 21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49,
    50, 21, 52, 53,
];

/// Joints whose chained rotation gives the head's yaw for the face contour.
pub const NECK_KIN_CHAIN: [usize; 5] = [12, 9, 6, 3, 0];

/// Vertex ids of the 21 extra joints (SMPL-X joints 55..76): nose, eyes, ears,
/// toes, heels, fingertips. The reference package hard-codes these ids, so
/// every model in the official layout (the mannequin too) puts those
/// landmarks at these vertices.
pub const VERTEX_JOINT_IDS: [usize; 21] = [
    9120, 9929, 9448, 616, 6, // nose, right eye, left eye, right ear, left ear
    5770, 5780, 8846, 8463, 8474, 8635, // left big/small toe, heel; right ...
    5361, 4933, 5058, 5169, 5286, // left thumb, index, middle, ring, pinky tips
    8079, 7669, 7794, 7905, 8022, // right ...
];

/// Index of each named joint in the 144-joint output.
pub mod idx {
    pub const PELVIS: usize = 0;
    pub const LEFT_HIP: usize = 1;
    pub const RIGHT_HIP: usize = 2;
    pub const SPINE1: usize = 3;
    pub const LEFT_KNEE: usize = 4;
    pub const RIGHT_KNEE: usize = 5;
    pub const SPINE2: usize = 6;
    pub const LEFT_ANKLE: usize = 7;
    pub const RIGHT_ANKLE: usize = 8;
    pub const SPINE3: usize = 9;
    pub const LEFT_FOOT: usize = 10;
    pub const RIGHT_FOOT: usize = 11;
    pub const NECK: usize = 12;
    pub const LEFT_COLLAR: usize = 13;
    pub const RIGHT_COLLAR: usize = 14;
    pub const HEAD: usize = 15;
    pub const LEFT_SHOULDER: usize = 16;
    pub const RIGHT_SHOULDER: usize = 17;
    pub const LEFT_ELBOW: usize = 18;
    pub const RIGHT_ELBOW: usize = 19;
    pub const LEFT_WRIST: usize = 20;
    pub const RIGHT_WRIST: usize = 21;
    pub const JAW: usize = 22;
    pub const LEFT_EYE_SMPLHF: usize = 23;
    pub const RIGHT_EYE_SMPLHF: usize = 24;
    pub const LEFT_INDEX1: usize = 25;
    pub const LEFT_INDEX2: usize = 26;
    pub const LEFT_INDEX3: usize = 27;
    pub const LEFT_MIDDLE1: usize = 28;
    pub const LEFT_MIDDLE2: usize = 29;
    pub const LEFT_MIDDLE3: usize = 30;
    pub const LEFT_PINKY1: usize = 31;
    pub const LEFT_PINKY2: usize = 32;
    pub const LEFT_PINKY3: usize = 33;
    pub const LEFT_RING1: usize = 34;
    pub const LEFT_RING2: usize = 35;
    pub const LEFT_RING3: usize = 36;
    pub const LEFT_THUMB1: usize = 37;
    pub const LEFT_THUMB2: usize = 38;
    pub const LEFT_THUMB3: usize = 39;
    pub const RIGHT_INDEX1: usize = 40;
    pub const RIGHT_INDEX2: usize = 41;
    pub const RIGHT_INDEX3: usize = 42;
    pub const RIGHT_MIDDLE1: usize = 43;
    pub const RIGHT_MIDDLE2: usize = 44;
    pub const RIGHT_MIDDLE3: usize = 45;
    pub const RIGHT_PINKY1: usize = 46;
    pub const RIGHT_PINKY2: usize = 47;
    pub const RIGHT_PINKY3: usize = 48;
    pub const RIGHT_RING1: usize = 49;
    pub const RIGHT_RING2: usize = 50;
    pub const RIGHT_RING3: usize = 51;
    pub const RIGHT_THUMB1: usize = 52;
    pub const RIGHT_THUMB2: usize = 53;
    pub const RIGHT_THUMB3: usize = 54;
    pub const NOSE: usize = 55;
    pub const RIGHT_EYE: usize = 56;
    pub const LEFT_EYE: usize = 57;
    pub const RIGHT_EAR: usize = 58;
    pub const LEFT_EAR: usize = 59;
    pub const LEFT_BIG_TOE: usize = 60;
    pub const LEFT_SMALL_TOE: usize = 61;
    pub const LEFT_HEEL: usize = 62;
    pub const RIGHT_BIG_TOE: usize = 63;
    pub const RIGHT_SMALL_TOE: usize = 64;
    pub const RIGHT_HEEL: usize = 65;
    pub const LEFT_THUMB: usize = 66;
    pub const LEFT_INDEX: usize = 67;
    pub const LEFT_MIDDLE: usize = 68;
    pub const LEFT_RING: usize = 69;
    pub const LEFT_PINKY: usize = 70;
    pub const RIGHT_THUMB: usize = 71;
    pub const RIGHT_INDEX: usize = 72;
    pub const RIGHT_MIDDLE: usize = 73;
    pub const RIGHT_RING: usize = 74;
    pub const RIGHT_PINKY: usize = 75;
}

/// Names of the 144 output joints in the reference package's order.
pub const JOINT_NAMES: [&str; NUM_OUTPUT_JOINTS] = [
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "jaw",
    "left_eye_smplhf",
    "right_eye_smplhf",
    "left_index1",
    "left_index2",
    "left_index3",
    "left_middle1",
    "left_middle2",
    "left_middle3",
    "left_pinky1",
    "left_pinky2",
    "left_pinky3",
    "left_ring1",
    "left_ring2",
    "left_ring3",
    "left_thumb1",
    "left_thumb2",
    "left_thumb3",
    "right_index1",
    "right_index2",
    "right_index3",
    "right_middle1",
    "right_middle2",
    "right_middle3",
    "right_pinky1",
    "right_pinky2",
    "right_pinky3",
    "right_ring1",
    "right_ring2",
    "right_ring3",
    "right_thumb1",
    "right_thumb2",
    "right_thumb3",
    "nose",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
    "left_thumb",
    "left_index",
    "left_middle",
    "left_ring",
    "left_pinky",
    "right_thumb",
    "right_index",
    "right_middle",
    "right_ring",
    "right_pinky",
    "right_eye_brow1",
    "right_eye_brow2",
    "right_eye_brow3",
    "right_eye_brow4",
    "right_eye_brow5",
    "left_eye_brow5",
    "left_eye_brow4",
    "left_eye_brow3",
    "left_eye_brow2",
    "left_eye_brow1",
    "nose1",
    "nose2",
    "nose3",
    "nose4",
    "right_nose_2",
    "right_nose_1",
    "nose_middle",
    "left_nose_1",
    "left_nose_2",
    "right_eye1",
    "right_eye2",
    "right_eye3",
    "right_eye4",
    "right_eye5",
    "right_eye6",
    "left_eye4",
    "left_eye3",
    "left_eye2",
    "left_eye1",
    "left_eye6",
    "left_eye5",
    "right_mouth_1",
    "right_mouth_2",
    "right_mouth_3",
    "mouth_top",
    "left_mouth_3",
    "left_mouth_2",
    "left_mouth_1",
    "left_mouth_5",
    "left_mouth_4",
    "mouth_bottom",
    "right_mouth_4",
    "right_mouth_5",
    "right_lip_1",
    "right_lip_2",
    "lip_top",
    "left_lip_2",
    "left_lip_1",
    "left_lip_3",
    "lip_bottom",
    "right_lip_3",
    "right_contour_1",
    "right_contour_2",
    "right_contour_3",
    "right_contour_4",
    "right_contour_5",
    "right_contour_6",
    "right_contour_7",
    "right_contour_8",
    "contour_middle",
    "left_contour_8",
    "left_contour_7",
    "left_contour_6",
    "left_contour_5",
    "left_contour_4",
    "left_contour_3",
    "left_contour_2",
    "left_contour_1",
];
