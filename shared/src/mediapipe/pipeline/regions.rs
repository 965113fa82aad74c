//! Regions of interest: MediaPipe's rotated ROIs as `CropTransform`s, from
//! detections, from the body's points, and from last frame's landmarks.

use super::{Detection, Landmark};
use crate::crop::CropTransform;
use std::f32::consts::{FRAC_PI_2, PI};

/// BlazePose ROI: twice the centre-to-scale-point distance, times this.
pub const POSE_ROI_SCALE: f32 = 1.25;
/// Palm detection → hand ROI: moved half the box height towards the fingers,
/// the long side times this.
pub const PALM_ROI_SHIFT_Y: f32 = -0.5;
pub const PALM_ROI_SCALE: f32 = 2.6;
/// Hand landmarks → next hand ROI.
pub const HAND_ROI_SHIFT_Y: f32 = -0.1;
pub const HAND_ROI_SCALE: f32 = 2.0;
/// Face detection or landmarks → face ROI: the long side times this.
pub const FACE_ROI_SCALE: f32 = 1.5;
/// The pose landmarks that align the next frame's ROI: hip centre and the
/// full-body size and rotation point (the first two auxiliary landmarks).
pub const POSE_ALIGNMENT_LANDMARKS: [usize; 2] = [33, 34];
/// The face landmarks kept level in the next ROI: the eyes' outer corners
/// (left and right on screen).
pub const FACE_ALIGNMENT_LANDMARKS: [usize; 2] = [33, 263];
/// The hand landmarks that shape the next hand ROI: the wrist and the two
/// lower joints of each finger (thumb: 1–3), the steadiest ones.
pub const HAND_ROI_LANDMARKS: [usize; 12] = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18];

/// The square window for a MediaPipe ROI of `side` pixels around `center`
/// turned by MediaPipe's `rotation` (radians, clockwise on screen; see the
/// module doc): `CropTransform::rotation = −rotation`, never mirrored.
pub fn crop_from_mediapipe(center: [f32; 2], side: f32, rotation: f32) -> CropTransform {
    CropTransform {
        center,
        side,
        rotation: -rotation,
        flip: false,
    }
}

/// MediaPipe's rotation (clockwise on screen) of a window.
pub fn mediapipe_rotation(crop: &CropTransform) -> f32 {
    -crop.rotation
}

/// An angle wrapped to [-π, π).
fn normalize_radians(angle: f32) -> f32 {
    angle - 2.0 * PI * ((angle + PI) / (2.0 * PI)).floor()
}

/// MediaPipe's ROI rotation: the clockwise turn that brings the screen
/// direction `from → to` (pixels, y down) to the angle `target` (radians,
/// counter-clockwise from +x; 90° is "up").
fn rotation_towards(from: [f32; 2], to: [f32; 2], target: f32) -> f32 {
    normalize_radians(target - (from[1] - to[1]).atan2(to[0] - from[0]))
}

/// A rotated rectangle in image pixels before MediaPipe's
/// `RectTransformationCalculator` makes it square.
struct RotatedRect {
    center: [f32; 2],
    /// Width, height along the rectangle's own axes.
    size: [f32; 2],
    /// MediaPipe's sense (clockwise on screen).
    rotation: f32,
}

impl RotatedRect {
    /// Moved by `shift_y` of its height along its own y axis, squared on its
    /// long side and scaled; `None` when degenerate.
    fn to_crop(&self, shift_y: f32, scale: f32) -> Option<CropTransform> {
        let (s, c) = self.rotation.sin_cos();
        let dy = self.size[1] * shift_y;
        let center = [self.center[0] - s * dy, self.center[1] + c * dy];
        let side = self.size[0].max(self.size[1]) * scale;
        let finite = center.iter().all(|v| v.is_finite()) && self.rotation.is_finite();
        (finite && side.is_finite() && side > 0.0)
            .then(|| crop_from_mediapipe(center, side, self.rotation))
    }

    /// The box (x0, y0, x1, y1), axis-aligned, turned by `rotation`.
    fn from_box(bbox: [f32; 4], rotation: f32) -> Self {
        Self {
            center: [(bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0],
            size: [bbox[2] - bbox[0], bbox[3] - bbox[1]],
            rotation,
        }
    }

    /// MediaPipe's `AlignmentPointsRectsCalculator`: centred on `center`,
    /// twice as wide as the distance to `scale_point`, turned so that
    /// `center → scale_point` points up (target 90°).
    fn from_alignment(center: [f32; 2], scale_point: [f32; 2]) -> Self {
        let side = 2.0 * (scale_point[0] - center[0]).hypot(scale_point[1] - center[1]);
        Self {
            center,
            size: [side, side],
            rotation: rotation_towards(center, scale_point, FRAC_PI_2),
        }
    }
}

/// The pose landmark model's window from a pose detection in image pixels:
/// centred on keypoint 0 (mid-hip), side 2 × 1.25 × its distance to
/// keypoint 1, turned so that 0 → 1 points up. `None` when the detection
/// lacks the keypoints or they coincide.
pub fn pose_roi_from_detection(detection: &Detection) -> Option<CropTransform> {
    let center = *detection.keypoints.first()?;
    let scale_point = *detection.keypoints.get(1)?;
    RotatedRect::from_alignment(center, scale_point).to_crop(0.0, POSE_ROI_SCALE)
}

/// The next frame's pose window from this frame's landmarks (image pixels,
/// [`project_landmarks`](super::project_landmarks)): the same rule on landmarks 33 → 34.
pub fn pose_roi_from_landmarks(landmarks: &[Landmark]) -> Option<CropTransform> {
    let [a, b] = POSE_ALIGNMENT_LANDMARKS;
    let center = landmarks.get(a)?.xy();
    let scale_point = landmarks.get(b)?.xy();
    RotatedRect::from_alignment(center, scale_point).to_crop(0.0, POSE_ROI_SCALE)
}

/// The hand landmark model's window from a palm detection in image pixels:
/// the palm box turned so that keypoint 0 (wrist) → 2 (middle finger base)
/// points up, moved half its height towards the fingers, squared, × 2.6.
pub fn palm_roi_from_detection(detection: &Detection) -> Option<CropTransform> {
    let wrist = *detection.keypoints.first()?;
    let finger = *detection.keypoints.get(2)?;
    let rotation = rotation_towards(wrist, finger, FRAC_PI_2);
    RotatedRect::from_box(detection.bbox, rotation).to_crop(PALM_ROI_SHIFT_Y, PALM_ROI_SCALE)
}

/// A hand window from the body's points, for when no palm detector runs:
/// BlazePose's wrist, index and pinky knuckle estimates (landmarks 15/16,
/// 19/20, 17/18). MediaPipe Holistic also starts the hands from the pose;
/// this rule is the project's own: the middle knuckle taken as
/// (2 · index + pinky) / 3, a square palm box on the wrist → knuckle
/// segment, then the palm detector's rule (shift half its height towards
/// the fingers, × 2.6). A second pass with [`hand_roi_from_landmarks`]
/// tightens it.
pub fn hand_roi_from_pose(
    wrist: [f32; 2],
    index: [f32; 2],
    pinky: [f32; 2],
) -> Option<CropTransform> {
    let knuckle = [
        (2.0 * index[0] + pinky[0]) / 3.0,
        (2.0 * index[1] + pinky[1]) / 3.0,
    ];
    let palm = (knuckle[0] - wrist[0]).hypot(knuckle[1] - wrist[1]);
    if palm.is_nan() || palm <= 0.0 {
        return None;
    }
    RotatedRect {
        center: [(wrist[0] + knuckle[0]) / 2.0, (wrist[1] + knuckle[1]) / 2.0],
        size: [palm, palm],
        rotation: rotation_towards(wrist, knuckle, FRAC_PI_2),
    }
    .to_crop(PALM_ROI_SHIFT_Y, PALM_ROI_SCALE)
}

/// The next frame's hand window from 21 hand landmarks (image pixels): the
/// box around [`HAND_ROI_LANDMARKS`] along the hand's own axes (up: wrist
/// towards the middle of the index, middle and ring finger bases), moved a
/// tenth of its height towards the fingers, squared, × 2.
pub fn hand_roi_from_landmarks(landmarks: &[Landmark]) -> Option<CropTransform> {
    let points: Vec<[f32; 2]> = HAND_ROI_LANDMARKS
        .iter()
        .map(|&i| landmarks.get(i).map(Landmark::xy))
        .collect::<Option<_>>()?;
    // Landmarks 5, 9 and 13: the index, middle and ring finger bases.
    let [index, middle, ring] = [points[4], points[6], points[8]];
    let toward = [
        ((index[0] + ring[0]) / 2.0 + middle[0]) / 2.0,
        ((index[1] + ring[1]) / 2.0 + middle[1]) / 2.0,
    ];
    let rotation = rotation_towards(points[0], toward, FRAC_PI_2);
    oriented_bounds(&points, rotation).to_crop(HAND_ROI_SHIFT_Y, HAND_ROI_SCALE)
}

/// The tightest rectangle turned by `rotation` (MediaPipe's sense) around
/// `points`: they are turned back about their axis-aligned centre, boxed,
/// and the box's centre turned forward again.
fn oriented_bounds(points: &[[f32; 2]], rotation: f32) -> RotatedRect {
    let [x0, y0, x1, y1] = bounds(points);
    let pivot = [(x0 + x1) / 2.0, (y0 + y1) / 2.0];
    let (s, c) = rotation.sin_cos();
    // R(−rotation) applied to each point about the pivot.
    let local: Vec<[f32; 2]> = points
        .iter()
        .map(|p| {
            let (dx, dy) = (p[0] - pivot[0], p[1] - pivot[1]);
            [c * dx + s * dy, -s * dx + c * dy]
        })
        .collect();
    let [lx0, ly0, lx1, ly1] = bounds(&local);
    let (mx, my) = ((lx0 + lx1) / 2.0, (ly0 + ly1) / 2.0);
    RotatedRect {
        center: [pivot[0] + c * mx - s * my, pivot[1] + s * mx + c * my],
        size: [lx1 - lx0, ly1 - ly0],
        rotation,
    }
}

/// The face landmark model's window from a face detection in image pixels:
/// the face box turned so that the eyes (keypoints 0 → 1) are level,
/// squared, × 1.5.
pub fn face_roi_from_detection(detection: &Detection) -> Option<CropTransform> {
    let first_eye = *detection.keypoints.first()?;
    let second_eye = *detection.keypoints.get(1)?;
    let rotation = rotation_towards(first_eye, second_eye, 0.0);
    RotatedRect::from_box(detection.bbox, rotation).to_crop(0.0, FACE_ROI_SCALE)
}

/// A face window from the body's face points (BlazePose landmarks 0–10:
/// nose, eyes, ears, mouth corners), for when no face detector runs; the
/// rule is the project's own: turned so the eyes (5, the subject's right,
/// → 2) are level, centred on the points' box, its side twice the
/// ear-to-ear distance (the face mesh spans a little more than the ears
/// across, brow to chin down). A second pass with
/// [`face_roi_from_landmarks`] tightens it.
pub fn face_roi_from_pose(face: &[[f32; 2]]) -> Option<CropTransform> {
    const RIGHT_EYE: usize = 5;
    const LEFT_EYE: usize = 2;
    const LEFT_EAR: usize = 7;
    const RIGHT_EAR: usize = 8;
    let (right_eye, left_eye) = (*face.get(RIGHT_EYE)?, *face.get(LEFT_EYE)?);
    let (left_ear, right_ear) = (*face.get(LEFT_EAR)?, *face.get(RIGHT_EAR)?);
    let across = (left_ear[0] - right_ear[0]).hypot(left_ear[1] - right_ear[1]);
    if across.is_nan() || across <= 0.0 {
        return None;
    }
    let [x0, y0, x1, y1] = bounds(face);
    RotatedRect {
        center: [(x0 + x1) / 2.0, (y0 + y1) / 2.0],
        size: [across, across],
        rotation: rotation_towards(right_eye, left_eye, 0.0),
    }
    .to_crop(0.0, 2.0)
}

/// The next frame's face window from 468 face landmarks (image pixels): the
/// axis-aligned box around all of them, turned so that landmarks 33 → 263
/// are level, squared, × 1.5.
pub fn face_roi_from_landmarks(landmarks: &[Landmark]) -> Option<CropTransform> {
    let [a, b] = FACE_ALIGNMENT_LANDMARKS;
    let rotation = rotation_towards(landmarks.get(a)?.xy(), landmarks.get(b)?.xy(), 0.0);
    let points: Vec<[f32; 2]> = landmarks.iter().map(Landmark::xy).collect();
    RotatedRect::from_box(bounds(&points), rotation).to_crop(0.0, FACE_ROI_SCALE)
}

/// The box (x0, y0, x1, y1) around points.
pub(super) fn bounds(points: &[[f32; 2]]) -> [f32; 4] {
    let inf = f32::INFINITY;
    let mut b = [inf, inf, -inf, -inf];
    for p in points {
        b[0] = b[0].min(p[0]);
        b[1] = b[1].min(p[1]);
        b[2] = b[2].max(p[0]);
        b[3] = b[3].max(p[1]);
    }
    b
}
