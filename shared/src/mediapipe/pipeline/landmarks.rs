//! The landmark models' outputs: their configs, and landmarks (image and
//! world) mapped back through the window each model saw.

use super::{expect_len, mediapipe_rotation, sigmoid, ShapeError};
use crate::crop::CropTransform;

/// How one landmark model's main output is read: `[1, landmarks × values]`,
/// each row x, y (model-input pixels), z (same scale as x, before
/// `z_divisor`), then for the pose model visibility and presence logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LandmarkConfig {
    /// Square input side (pixels).
    pub input_size: usize,
    /// The input's value range: pixels in [0, 1] map linearly onto it.
    pub input_range: [f32; 2],
    pub num_landmarks: usize,
    pub values_per_landmark: usize,
    /// z is divided by this after the pixel scaling (MediaPipe's `normalize_z`).
    pub z_divisor: f32,
}

/// `pose_landmark_full.tflite` `Identity` [1, 195]: 39 landmarks (33 body
/// points, then 6 auxiliary: 33 hip centre, 34 size and rotation point, ...).
/// Input 256² in [0, 1]. `Identity_1` [1, 1] is the pose presence, already a
/// probability (the graph ends in LOGISTIC); `Identity_4` [1, 117] the world
/// landmarks ([`project_world_landmarks`]).
pub const POSE_LANDMARKS: LandmarkConfig = LandmarkConfig {
    input_size: 256,
    input_range: [0.0, 1.0],
    num_landmarks: 39,
    values_per_landmark: 5,
    z_divisor: 1.0,
};

/// `hand_landmark_full.tflite` `Identity` [1, 63]: 21 landmarks. Input 224²
/// in [0, 1]. `Identity_1` [1, 1] hand presence and `Identity_2` [1, 1]
/// handedness are probabilities (LOGISTIC in the graph; MediaPipe calls a
/// handedness ≥ 0.5 "Left", for a mirrored selfie image); `Identity_3`
/// [1, 63] world landmarks.
pub const HAND_LANDMARKS: LandmarkConfig = LandmarkConfig {
    input_size: 224,
    input_range: [0.0, 1.0],
    num_landmarks: 21,
    values_per_landmark: 3,
    z_divisor: 0.4,
};

/// `face_landmark.tflite` `conv2d_21` [1, 1, 1, 1404]: 468 landmarks. Input
/// 192² in [0, 1]. `conv2d_31` [1, 1, 1, 1] is the face presence as a raw
/// logit: apply [`sigmoid`] before the threshold.
pub const FACE_LANDMARKS: LandmarkConfig = LandmarkConfig {
    input_size: 192,
    input_range: [0.0, 1.0],
    num_landmarks: 468,
    values_per_landmark: 3,
    z_divisor: 1.0,
};

/// Below this presence probability MediaPipe drops a pose, hand or face
/// (and goes back to its detector).
pub const PRESENCE_THRESHOLD: f32 = 0.5;

/// One landmark in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Landmark {
    /// x, y in image pixels; z (depth, smaller is nearer the camera) in the
    /// same pixel scale as x. MediaPipe's normalised `z` is this z divided by
    /// the image width.
    pub position: [f32; 3],
    /// Probability that the point is visible (pose only).
    pub visibility: Option<f32>,
    /// Probability that the point is inside the image (pose only).
    pub presence: Option<f32>,
}

impl Landmark {
    /// x, y in pixels.
    pub fn xy(&self) -> [f32; 2] {
        [self.position[0], self.position[1]]
    }
}

/// A landmark model's raw output mapped back to image pixels through the
/// window `roi` it saw: (x, y) from model-input pixels (0 at the input's
/// left or top edge, the input side at the other) through `roi.to_image`, z scaled as MediaPipe does (÷ input side ÷ `z_divisor` ×
/// ROI side, i.e. pixels like x), visibility and presence through the sigmoid.
pub fn project_landmarks(
    config: &LandmarkConfig,
    raw: &[f32],
    roi: &CropTransform,
) -> Result<Vec<Landmark>, ShapeError> {
    let values = config.values_per_landmark.max(3);
    expect_len("landmarks", config.num_landmarks * values, raw.len())?;
    let size = config.input_size as f32;
    let depth = roi.side / size / config.z_divisor;
    Ok(raw
        .chunks_exact(values)
        .map(|row| {
            let [x, y] = roi.to_image([2.0 * row[0] / size - 1.0, 2.0 * row[1] / size - 1.0]);
            Landmark {
                position: [x, y, row[2] * depth],
                visibility: row.get(3).map(|&v| sigmoid(v)),
                presence: row.get(4).map(|&v| sigmoid(v)),
            }
        })
        .collect())
}

/// World landmarks (`[n × 3]` metres, origin between the hips for the pose)
/// turned back by the window's rotation (MediaPipe undoes only the ROI's
/// rotation: they carry no image position or scale); a mirrored window
/// mirrors x first.
pub fn project_world_landmarks(
    raw: &[f32],
    roi: &CropTransform,
) -> Result<Vec<[f32; 3]>, ShapeError> {
    if !raw.len().is_multiple_of(3) {
        return Err(ShapeError {
            what: "world landmarks",
            expected: raw.len() / 3 * 3,
            got: raw.len(),
        });
    }
    let (s, c) = mediapipe_rotation(roi).sin_cos();
    Ok(raw
        .chunks_exact(3)
        .map(|p| {
            let x = if roi.flip { -p[0] } else { p[0] };
            [c * x - s * p[1], s * x + c * p[1], p[2]]
        })
        .collect())
}
