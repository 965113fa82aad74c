//! What MediaPipe does around its TFLite models, in plain f32 Rust: the
//! detectors' SSD anchors, box and keypoint decoding, weighted non-maximum
//! suppression, the rotated region of interest (ROI) each landmark model is
//! fed, and the landmarks mapped back to image pixels. The models themselves
//! run elsewhere (an interpreter hands over their raw output arrays in
//! TFLite's shapes); nothing here touches Burn.
//!
//! Every pixel any model sees is sampled through [`CropTransform`](crate::crop::CropTransform), the
//! crate's one crop rule: the detectors' letterbox is
//! [`CropTransform::whole_image`](crate::crop::CropTransform::whole_image) (MediaPipe pads to a square, keeping the
//! aspect ratio, black outside), and each MediaPipe ROI (a rotated rectangle
//! made square) becomes a `CropTransform` with [`crop_from_mediapipe`].
//!
//! # Rotation convention
//! MediaPipe maps a point `p` of its ROI (normalised to [0, 1]) to the image
//! as `centre + R(θ)·(p − ½)·side` with `R(θ) = (cos θ, −sin θ; sin θ, cos θ)`
//! acting on pixel coordinates, y down: a positive θ turns the window
//! *clockwise* on screen. `CropTransform::rotation` turns it
//! *counter-clockwise* (its `to_image` applies `R(−rotation)`), so
//! `CropTransform::rotation = −θ`, and crop coordinates are `u = 2p − 1`.
//! The tests check this against MediaPipe's formula and against real model
//! output (the pose landmark model sees the astronaut upright).
//!
//! # Sources of the constants
//! Apache-2.0 npm packages (read for the numbers and the algorithms; the code
//! here is our own):
//! - `@tensorflow-models/pose-detection@2.1.3`: `dist/blazepose_tfjs/constants.js`
//!   (anchors, decoding, NMS IoU 0.3, ROI scale 1.25, input ranges, 39
//!   landmarks with sigmoid visibility, presence threshold 0.5),
//!   `dist/blazepose_tfjs/detector.js` (which keypoints align the ROI: 0 → 1
//!   of the detection, landmarks 33 → 34 for the next frame; target 90°) and
//!   `dist/shared/calculators/*.js` (`create_ssd_anchors`,
//!   `tensors_to_detections`, `calculate_alignment_points_rects`,
//!   `detection_to_rect`, `transform_rect`, `tensors_to_landmarks`,
//!   `calculate_landmark_projection`, `calculate_world_landmark_projection`,
//!   `remove_detection_letterbox`, `image_utils` `normalizeRadians`).
//! - `@tensorflow-models/hand-pose-detection@2.0.1`: `dist/tfjs/constants.js`
//!   (palm anchors, palm ROI shift −0.5 / scale 2.6, landmark ROI shift −0.1 /
//!   scale 2.0, z divided by 0.4), `dist/tfjs/detector.js` (palm ROI from
//!   keypoints 0 → 2, the landmark subset for the next ROI) and
//!   `dist/tfjs/calculators/hand_landmarks_to_rect.js`.
//! - `@tensorflow-models/face-detection@1.0.3` `dist/tfjs/constants.js`
//!   (short-range anchors and decoding) and
//!   `@tensorflow-models/face-landmarks-detection@1.0.6`
//!   `dist/tfjs/constants.js`, `dist/tfjs/detector.js` (face ROI scale 1.5,
//!   eyes 0 → 1 of the detection and landmarks 33 → 263 level, 468 landmarks).
//!
//! The NMS variant comes from MediaPipe's own graphs
//! (`mediapipe/modules/{pose_detection/pose_detection_cpu,
//! palm_detection/palm_detection_cpu, face_detection/face_detection}.pbtxt`
//! in google-ai-edge/mediapipe): all three use `algorithm: WEIGHTED` with
//! IoU 0.3 (the tfjs ports use plain NMS instead). The tfjs decoder scales
//! box widths by the anchor's height; MediaPipe and this file use its width
//! (the same for these 1 × 1 anchors). Which raw output is
//! already a probability was read off the `.tflite` graphs (a final
//! LOGISTIC op or not).
//!
//! Not done here: the one-euro smoothing of video.

mod anchors;
mod detection;
mod heatmap;
mod input;
mod landmarks;
mod regions;

pub use anchors::*;
pub use detection::*;
pub use heatmap::*;
pub use input::*;
pub use landmarks::*;
pub use regions::*;

/// Raw output arrays that do not have the shape a model config expects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what}: {got} values, expected {expected}")]
pub struct ShapeError {
    pub what: &'static str,
    pub expected: usize,
    pub got: usize,
}

fn expect_len(what: &'static str, expected: usize, got: usize) -> Result<(), ShapeError> {
    if expected == got {
        Ok(())
    } else {
        Err(ShapeError {
            what,
            expected,
            got,
        })
    }
}

#[cfg(test)]
mod tests;
