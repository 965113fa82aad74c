//! Keypoint formats and the maps between SMPL-X joints and OpenPose
//! (docs/smplx-layout.md §4–§5).
//!
//! Two maps exist and both are in use: SMPLify-X's (OpenPose array of 118 or
//! 135 points: body 25, hands 21 + 21, face landmarks 51, contour 17), and
//! ExPose's (the full OpenPose 137 = body 25, hands 21 + 21, face 70; FuRPE's
//! loaders and the ExPose curated fits use this one).

use burn::tensor::{backend::Backend, Int, Tensor};

/// OpenPose BODY_25 keypoint names.
pub const BODY25_NAMES: [&str; 25] = [
    "Nose",
    "Neck",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
    "MidHip",
    "RHip",
    "RKnee",
    "RAnkle",
    "LHip",
    "LKnee",
    "LAnkle",
    "REye",
    "LEye",
    "REar",
    "LEar",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "RBigToe",
    "RSmallToe",
    "RHeel",
];

/// Sizes of the OpenPose blocks.
pub const NUM_BODY25: usize = 25;
pub const NUM_HAND: usize = 21;
pub const NUM_FACE70: usize = 70;
/// body 25 + left hand 21 + right hand 21 + face 70.
pub const NUM_OPENPOSE137: usize = 137;

/// SMPLify-X `smpl_to_openpose(model_type="smplx", openpose_format="coco25")`:
/// entry k is the SMPL-X output joint compared with the k-th OpenPose point.
pub const SMPLIFYX_BODY25: [usize; 25] = [
    55, 12, 17, 19, 21, 16, 18, 20, 0, 2, 5, 8, 1, 4, 7, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65,
];
pub const SMPLIFYX_LHAND: [usize; 21] = [
    20, 37, 38, 39, 66, 25, 26, 27, 67, 28, 29, 30, 68, 34, 35, 36, 69, 31, 32, 33, 70,
];
pub const SMPLIFYX_RHAND: [usize; 21] = [
    21, 52, 53, 54, 71, 40, 41, 42, 72, 43, 44, 45, 73, 49, 50, 51, 74, 46, 47, 48, 75,
];

/// ExPose `dset_to_body_model("openpose25+hands+face")`: SMPL-X joint
/// `EXPOSE_TARGET[i]` corresponds to OpenPose-137 point `EXPOSE_SOURCE[i]`.
/// The two hand-wrist points and the pupils have no SMPL-X counterpart.
pub const EXPOSE_TARGET: [usize; 133] = [
    0, 1, 2, 4, 5, 7, 8, 12, 16, 17, 18, 19, 20, 21, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
    36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
    60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83,
    84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105,
    106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124,
    125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143,
];
pub const EXPOSE_SOURCE: [usize; 133] = [
    8, 12, 9, 13, 10, 14, 11, 1, 5, 2, 6, 3, 7, 4, 30, 31, 32, 34, 35, 36, 42, 43, 44, 38, 39, 40,
    26, 27, 28, 51, 52, 53, 55, 56, 57, 63, 64, 65, 59, 60, 61, 47, 48, 49, 0, 15, 16, 17, 18, 19,
    20, 21, 22, 23, 24, 29, 33, 37, 41, 45, 50, 54, 58, 62, 66, 84, 85, 86, 87, 88, 89, 90, 91, 92,
    93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112,
    113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131,
    132, 133, 134, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83,
];

/// The SMPLify-X OpenPose array (body 25, hands, face landmarks, optionally
/// the contour) as indices into the 144 SMPL-X output joints.
pub fn smplifyx_indices(with_contour: bool) -> Vec<usize> {
    use crate::smplx::joints::output::{CONTOUR, FACE_LANDMARKS};
    let face_end = if with_contour {
        CONTOUR.end
    } else {
        FACE_LANDMARKS.end
    };
    SMPLIFYX_BODY25
        .iter()
        .chain(&SMPLIFYX_LHAND)
        .chain(&SMPLIFYX_RHAND)
        .copied()
        .chain(FACE_LANDMARKS.start..face_end)
        .collect()
}

/// For each OpenPose-137 point, its SMPL-X output joint (ExPose's map), or
/// `None` where ExPose drops the point.
pub fn openpose137_to_smplx() -> [Option<usize>; NUM_OPENPOSE137] {
    let mut map = [None; NUM_OPENPOSE137];
    for (&t, &s) in EXPOSE_TARGET.iter().zip(&EXPOSE_SOURCE) {
        map[s] = Some(t);
    }
    map
}

/// OpenPose-137 under a horizontal image flip: point `i` of the flipped
/// image is point `OPENPOSE137_FLIP[i]` of the original (left and right swap:
/// BODY_25 limbs, eyes, ears and feet; the two hands; the iBUG-68 face
/// contour, brows, eyes, nostrils, mouth, and the pupils).
pub fn openpose137_flip() -> [usize; NUM_OPENPOSE137] {
    const BODY: [usize; 25] = [
        0, 1, 5, 6, 7, 2, 3, 4, 8, 12, 13, 14, 9, 10, 11, 16, 15, 18, 17, 22, 23, 24, 19, 20, 21,
    ];
    let mut face: [usize; 70] = std::array::from_fn(|i| i);
    let mut pair = |a: usize, b: usize| {
        face[a] = b;
        face[b] = a;
    };
    for i in 0..8 {
        pair(i, 16 - i); // contour
    }
    for i in 0..5 {
        pair(17 + i, 26 - i); // brows
    }
    pair(31, 35);
    pair(32, 34); // nostrils
    for (a, b) in [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)] {
        pair(a, b); // eyes
    }
    for (a, b) in [
        (48, 54),
        (49, 53),
        (50, 52),
        (55, 59),
        (56, 58),
        (60, 64),
        (61, 63),
        (65, 67),
    ] {
        pair(a, b); // mouth
    }
    pair(68, 69); // pupils
    let mut map = [0; NUM_OPENPOSE137];
    for (i, &b) in BODY.iter().enumerate() {
        map[i] = b;
    }
    for i in 0..NUM_HAND {
        map[NUM_BODY25 + i] = NUM_BODY25 + NUM_HAND + i;
        map[NUM_BODY25 + NUM_HAND + i] = NUM_BODY25 + i;
    }
    for (i, &f) in face.iter().enumerate() {
        map[NUM_BODY25 + 2 * NUM_HAND + i] = NUM_BODY25 + 2 * NUM_HAND + f;
    }
    map
}

/// Picks SMPL-X joints `[B, 144, C]` in the order of `indices` → `[B, K, C]`.
pub fn select_joints<B: Backend>(joints: Tensor<B, 3>, indices: &[usize]) -> Tensor<B, 3> {
    let ids: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    let ids = Tensor::<B, 1, Int>::from_data(ids.as_slice(), &joints.device());
    joints.select(1, ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_agree_on_body_and_hands() {
        // §F: body and hand parts equal SMPLify-X's except the hand wrists,
        // face 17..68 -> 76..127 and the contour 0..17 -> 127..144.
        let inv = openpose137_to_smplx();
        for k in 0..25 {
            assert_eq!(inv[k], Some(SMPLIFYX_BODY25[k]));
        }
        for k in 1..21 {
            assert_eq!(inv[25 + k], Some(SMPLIFYX_LHAND[k]));
            assert_eq!(inv[46 + k], Some(SMPLIFYX_RHAND[k]));
        }
        assert_eq!(
            (inv[25], inv[46], inv[135], inv[136]),
            (None, None, None, None)
        );
        for k in 0..51 {
            assert_eq!(inv[67 + 17 + k], Some(76 + k));
        }
        for k in 0..17 {
            assert_eq!(inv[67 + k], Some(127 + k));
        }
        assert_eq!(smplifyx_indices(true).len(), 135);
        assert_eq!(smplifyx_indices(false).len(), 118);
    }

    #[test]
    fn flip_is_an_involution_that_swaps_sides() {
        let flip = openpose137_flip();
        for (i, &j) in flip.iter().enumerate() {
            assert_eq!(flip[j], i);
        }
        assert_eq!(flip[2], 5); // right shoulder <-> left shoulder
        assert_eq!(flip[25], 46); // left wrist <-> right wrist
        assert_eq!(flip[67 + 30], 67 + 30); // nose tip stays
        assert_eq!(flip[67 + 36], 67 + 45); // eye corners swap
    }
}
