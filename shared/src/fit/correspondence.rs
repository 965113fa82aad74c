//! Which landmark is which SMPL-X joint: MediaPipe's body, hand and face
//! point layouts, and the sites and bones the fits in [`super`] compare.
//! Sites are SMPL-X joint indices (the reference package's order), so the
//! tables hold for every SMPL-X-layout model.

use crate::smplx::joints::idx;

/// BlazePose's 33 body points (the subject's own left and right).
pub mod blazepose {
    pub const NOSE: usize = 0;
    pub const LEFT_EYE: usize = 2;
    pub const RIGHT_EYE: usize = 5;
    pub const LEFT_EAR: usize = 7;
    pub const RIGHT_EAR: usize = 8;
    pub const LEFT_SHOULDER: usize = 11;
    pub const RIGHT_SHOULDER: usize = 12;
    pub const LEFT_ELBOW: usize = 13;
    pub const RIGHT_ELBOW: usize = 14;
    pub const LEFT_WRIST: usize = 15;
    pub const RIGHT_WRIST: usize = 16;
    pub const LEFT_PINKY: usize = 17;
    pub const RIGHT_PINKY: usize = 18;
    pub const LEFT_INDEX: usize = 19;
    pub const RIGHT_INDEX: usize = 20;
    pub const LEFT_HIP: usize = 23;
    pub const RIGHT_HIP: usize = 24;
    pub const LEFT_KNEE: usize = 25;
    pub const RIGHT_KNEE: usize = 26;
    pub const LEFT_ANKLE: usize = 27;
    pub const RIGHT_ANKLE: usize = 28;
    pub const LEFT_HEEL: usize = 29;
    pub const RIGHT_HEEL: usize = 30;
    pub const LEFT_FOOT_INDEX: usize = 31;
    pub const RIGHT_FOOT_INDEX: usize = 32;
    /// Points per body.
    pub const COUNT: usize = 33;
}

/// MediaPipe's 21 hand points: the wrist, then per finger (thumb, index,
/// middle, ring, pinky) four points from the knuckle nearest the wrist to
/// the tip.
pub mod mediapipe_hand {
    pub const WRIST: usize = 0;
    /// First point of finger `f` (0 thumb … 4 pinky); its four points are
    /// `finger(f)..finger(f) + 4`.
    pub const fn finger(f: usize) -> usize {
        1 + 4 * f
    }
    /// Points per hand.
    pub const COUNT: usize = 21;
}

/// A point both skeletons define: the mean of `landmarks` and the mean of
/// SMPL-X `joints`.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub landmarks: Vec<usize>,
    pub joints: Vec<usize>,
}

impl Site {
    fn one(landmark: usize, joint: usize) -> Self {
        Self {
            landmarks: vec![landmark],
            joints: vec![joint],
        }
    }

    fn mid(landmarks: [usize; 2], joints: [usize; 2]) -> Self {
        Self {
            landmarks: landmarks.to_vec(),
            joints: joints.to_vec(),
        }
    }
}

/// A direction both skeletons define: from one site to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Bone {
    pub from: Site,
    pub to: Site,
}

pub(super) fn bone(from: Site, to: Site) -> Bone {
    Bone { from, to }
}

/// The body's bones: trunk, pelvis and shoulder lines, limbs, feet, head,
/// and each hand's direction and plane from BlazePose's rough hand points.
pub fn body_bones() -> Vec<Bone> {
    use blazepose as bp;
    let hips = || {
        Site::mid(
            [bp::LEFT_HIP, bp::RIGHT_HIP],
            [idx::LEFT_HIP, idx::RIGHT_HIP],
        )
    };
    let shoulders = || {
        Site::mid(
            [bp::LEFT_SHOULDER, bp::RIGHT_SHOULDER],
            [idx::LEFT_SHOULDER, idx::RIGHT_SHOULDER],
        )
    };
    let ears = || {
        Site::mid(
            [bp::LEFT_EAR, bp::RIGHT_EAR],
            [idx::LEFT_EAR, idx::RIGHT_EAR],
        )
    };
    let one = Site::one;
    vec![
        // Trunk and the lines that turn it.
        bone(hips(), shoulders()),
        bone(
            one(bp::RIGHT_HIP, idx::RIGHT_HIP),
            one(bp::LEFT_HIP, idx::LEFT_HIP),
        ),
        bone(
            one(bp::RIGHT_SHOULDER, idx::RIGHT_SHOULDER),
            one(bp::LEFT_SHOULDER, idx::LEFT_SHOULDER),
        ),
        // Each side's hip to shoulder: where the collars hold the
        // shoulders (both collars dropping leaves the lines above alone).
        bone(
            one(bp::LEFT_HIP, idx::LEFT_HIP),
            one(bp::LEFT_SHOULDER, idx::LEFT_SHOULDER),
        ),
        bone(
            one(bp::RIGHT_HIP, idx::RIGHT_HIP),
            one(bp::RIGHT_SHOULDER, idx::RIGHT_SHOULDER),
        ),
        // Arms.
        bone(
            one(bp::LEFT_SHOULDER, idx::LEFT_SHOULDER),
            one(bp::LEFT_ELBOW, idx::LEFT_ELBOW),
        ),
        bone(
            one(bp::LEFT_ELBOW, idx::LEFT_ELBOW),
            one(bp::LEFT_WRIST, idx::LEFT_WRIST),
        ),
        bone(
            one(bp::RIGHT_SHOULDER, idx::RIGHT_SHOULDER),
            one(bp::RIGHT_ELBOW, idx::RIGHT_ELBOW),
        ),
        bone(
            one(bp::RIGHT_ELBOW, idx::RIGHT_ELBOW),
            one(bp::RIGHT_WRIST, idx::RIGHT_WRIST),
        ),
        // Legs.
        bone(
            one(bp::LEFT_HIP, idx::LEFT_HIP),
            one(bp::LEFT_KNEE, idx::LEFT_KNEE),
        ),
        bone(
            one(bp::LEFT_KNEE, idx::LEFT_KNEE),
            one(bp::LEFT_ANKLE, idx::LEFT_ANKLE),
        ),
        bone(
            one(bp::RIGHT_HIP, idx::RIGHT_HIP),
            one(bp::RIGHT_KNEE, idx::RIGHT_KNEE),
        ),
        bone(
            one(bp::RIGHT_KNEE, idx::RIGHT_KNEE),
            one(bp::RIGHT_ANKLE, idx::RIGHT_ANKLE),
        ),
        // Feet: heel to toes.
        bone(
            one(bp::LEFT_HEEL, idx::LEFT_HEEL),
            one(bp::LEFT_FOOT_INDEX, idx::LEFT_BIG_TOE),
        ),
        bone(
            one(bp::RIGHT_HEEL, idx::RIGHT_HEEL),
            one(bp::RIGHT_FOOT_INDEX, idx::RIGHT_BIG_TOE),
        ),
        // Head: lean (shoulders to nose), yaw and roll (ear line), nod
        // (ears to nose).
        bone(shoulders(), one(bp::NOSE, idx::NOSE)),
        bone(
            one(bp::RIGHT_EAR, idx::RIGHT_EAR),
            one(bp::LEFT_EAR, idx::LEFT_EAR),
        ),
        bone(ears(), one(bp::NOSE, idx::NOSE)),
        // Hands: wrist to the knuckles' middle, and the knuckle line
        // (BlazePose's index and pinky points sit near the knuckles).
        bone(
            one(bp::LEFT_WRIST, idx::LEFT_WRIST),
            Site::mid(
                [bp::LEFT_INDEX, bp::LEFT_PINKY],
                [idx::LEFT_INDEX1, idx::LEFT_PINKY1],
            ),
        ),
        bone(
            one(bp::LEFT_PINKY, idx::LEFT_PINKY1),
            one(bp::LEFT_INDEX, idx::LEFT_INDEX1),
        ),
        bone(
            one(bp::RIGHT_WRIST, idx::RIGHT_WRIST),
            Site::mid(
                [bp::RIGHT_INDEX, bp::RIGHT_PINKY],
                [idx::RIGHT_INDEX1, idx::RIGHT_PINKY1],
            ),
        ),
        bone(
            one(bp::RIGHT_PINKY, idx::RIGHT_PINKY1),
            one(bp::RIGHT_INDEX, idx::RIGHT_INDEX1),
        ),
    ]
}

/// The (BlazePose landmark, SMPL-X joint) pairs that [`body_bones`] ties
/// one to one (mid-point sites left out).
pub fn blazepose_joints() -> Vec<(usize, usize)> {
    one_to_one(&body_bones())
}

pub(super) fn one_to_one(bones: &[Bone]) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = bones
        .iter()
        .flat_map(|b| [&b.from, &b.to])
        .filter(|s| s.landmarks.len() == 1 && s.joints.len() == 1)
        .map(|s| (s.landmarks[0], s.joints[0]))
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

/// The sites whose rest-pose layout starts the body's global rotation.
pub(super) fn body_anchors() -> Vec<Site> {
    use blazepose as bp;
    [
        (bp::LEFT_HIP, idx::LEFT_HIP),
        (bp::RIGHT_HIP, idx::RIGHT_HIP),
        (bp::LEFT_SHOULDER, idx::LEFT_SHOULDER),
        (bp::RIGHT_SHOULDER, idx::RIGHT_SHOULDER),
    ]
    .into_iter()
    .map(|(l, j)| Site::one(l, j))
    .collect()
}

/// Which hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// SMPL-X joints of one hand's fingers, in MediaPipe's finger order (thumb,
/// index, middle, ring, pinky): the three finger joints, then the tip.
pub(super) fn finger_joints(side: Side) -> [[usize; 4]; 5] {
    match side {
        Side::Left => [
            [
                idx::LEFT_THUMB1,
                idx::LEFT_THUMB2,
                idx::LEFT_THUMB3,
                idx::LEFT_THUMB,
            ],
            [
                idx::LEFT_INDEX1,
                idx::LEFT_INDEX2,
                idx::LEFT_INDEX3,
                idx::LEFT_INDEX,
            ],
            [
                idx::LEFT_MIDDLE1,
                idx::LEFT_MIDDLE2,
                idx::LEFT_MIDDLE3,
                idx::LEFT_MIDDLE,
            ],
            [
                idx::LEFT_RING1,
                idx::LEFT_RING2,
                idx::LEFT_RING3,
                idx::LEFT_RING,
            ],
            [
                idx::LEFT_PINKY1,
                idx::LEFT_PINKY2,
                idx::LEFT_PINKY3,
                idx::LEFT_PINKY,
            ],
        ],
        Side::Right => [
            [
                idx::RIGHT_THUMB1,
                idx::RIGHT_THUMB2,
                idx::RIGHT_THUMB3,
                idx::RIGHT_THUMB,
            ],
            [
                idx::RIGHT_INDEX1,
                idx::RIGHT_INDEX2,
                idx::RIGHT_INDEX3,
                idx::RIGHT_INDEX,
            ],
            [
                idx::RIGHT_MIDDLE1,
                idx::RIGHT_MIDDLE2,
                idx::RIGHT_MIDDLE3,
                idx::RIGHT_MIDDLE,
            ],
            [
                idx::RIGHT_RING1,
                idx::RIGHT_RING2,
                idx::RIGHT_RING3,
                idx::RIGHT_RING,
            ],
            [
                idx::RIGHT_PINKY1,
                idx::RIGHT_PINKY2,
                idx::RIGHT_PINKY3,
                idx::RIGHT_PINKY,
            ],
        ],
    }
}

pub(super) fn wrist(side: Side) -> usize {
    match side {
        Side::Left => idx::LEFT_WRIST,
        Side::Right => idx::RIGHT_WRIST,
    }
}

/// A hand's bones: every finger segment from the wrist to the tip, and the
/// knuckle line (index to pinky) that sets the palm's turn.
pub fn hand_bones(side: Side) -> Vec<Bone> {
    use mediapipe_hand as mh;
    let fingers = finger_joints(side);
    let mut bones = Vec::with_capacity(21);
    for (f, joints) in fingers.iter().enumerate() {
        let mut from = Site::one(mh::WRIST, wrist(side));
        for (k, &joint) in joints.iter().enumerate() {
            let to = Site::one(mh::finger(f) + k, joint);
            bones.push(bone(from, to.clone()));
            from = to;
        }
    }
    bones.push(bone(
        Site::one(mh::finger(1), fingers[1][0]),
        Site::one(mh::finger(4), fingers[4][0]),
    ));
    bones
}

/// The sites whose rest-pose layout starts a hand's rotation: the wrist
/// and the four finger knuckles.
pub(super) fn hand_anchors(side: Side) -> Vec<Site> {
    use mediapipe_hand as mh;
    let fingers = finger_joints(side);
    std::iter::once(Site::one(mh::WRIST, wrist(side)))
        .chain((1..5).map(|f| Site::one(mh::finger(f), fingers[f][0])))
        .collect()
}

/// First of the 51 face landmarks (iBUG 17–67) among SMPL-X's output joints.
pub(super) const FIRST_FACE_LANDMARK: usize = crate::smplx::joints::output::FACE_LANDMARKS.start;
/// iBUG's 68 points start with 17 on the jaw line; SMPL-X's 51 follow them.
const IBUG_INNER_START: usize = 17;

/// The face's points: each inner iBUG point as the mesh's vertex and
/// SMPL-X's landmark joint.
pub fn face_points() -> Vec<Site> {
    use crate::mediapipe::openpose::FACE70_FROM_MESH;
    (IBUG_INNER_START..FACE70_FROM_MESH.len())
        .map(|k| {
            Site::one(
                FACE70_FROM_MESH[k],
                FIRST_FACE_LANDMARK + k - IBUG_INNER_START,
            )
        })
        .collect()
}

/// MediaPipe's face mesh points.
pub const FACE_MESH_COUNT: usize = 468;
