//! What MediaPipe does around its TFLite models, in plain f32 Rust: the
//! detectors' SSD anchors, box and keypoint decoding, weighted non-maximum
//! suppression, the rotated region of interest (ROI) each landmark model is
//! fed, and the landmarks mapped back to image pixels. The models themselves
//! run elsewhere (an interpreter hands over their raw output arrays in
//! TFLite's shapes); nothing here touches Burn.
//!
//! Every pixel any model sees is sampled through [`CropTransform`], the
//! crate's one crop rule: the detectors' letterbox is
//! [`CropTransform::whole_image`] (MediaPipe pads to a square, keeping the
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

use crate::crop::{Border, CropTransform};
use std::f32::consts::{FRAC_PI_2, PI};

/// Raw output arrays that do not have the shape a model config expects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what}: {got} values, expected {expected}")]
pub struct ShapeError {
    pub what: &'static str,
    pub expected: usize,
    pub got: usize,
}

// ---------------------------------------------------------------- anchors

/// An SSD detector's anchor layout (MediaPipe's `SsdAnchorsCalculator`
/// options). Every detector here has one square feature map per stride,
/// `ceil(input_size / stride)` cells a side, one layer per stride and
/// `reduce_boxes_in_lowest_layer = false`, so those options are not modelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnchorConfig {
    /// Square input side (pixels).
    pub input_size: usize,
    /// Anchor scale of the first and the last layer (fractions of the input).
    pub min_scale: f32,
    pub max_scale: f32,
    /// One per layer; consecutive equal strides share a feature map.
    pub strides: &'static [usize],
    pub aspect_ratios: &'static [f32],
    /// Aspect ratio of the extra anchor at the geometric mean of a layer's
    /// scale and the next one's (1.0 at the last layer); 0 for none.
    pub interpolated_scale_aspect_ratio: f32,
    /// Anchor centre within its cell (0.5: the middle).
    pub anchor_offset: f32,
    /// Every anchor 1 × 1: the regressors then carry the whole box size.
    pub fixed_anchor_size: bool,
}

/// One anchor, normalised to the detector input ([0, 1], y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub center: [f32; 2],
    /// Width, height.
    pub size: [f32; 2],
}

/// The anchors in the order of the model's output rows: stride groups,
/// then cell rows, cell columns, anchors of a cell.
pub fn ssd_anchors(config: &AnchorConfig) -> Vec<Anchor> {
    let strides = config.strides;
    let mut anchors = Vec::new();
    let mut first = 0;
    while first < strides.len() {
        // Layers sharing a stride share one feature map.
        let end = first
            + strides[first..]
                .iter()
                .take_while(|&&s| s == strides[first])
                .count();
        let sizes = cell_anchor_sizes(config, first..end);
        let cells = config.input_size.div_ceil(strides[first].max(1));
        for y in 0..cells {
            for x in 0..cells {
                let center = [
                    (x as f32 + config.anchor_offset) / cells as f32,
                    (y as f32 + config.anchor_offset) / cells as f32,
                ];
                for &size in &sizes {
                    let size = if config.fixed_anchor_size {
                        [1.0, 1.0]
                    } else {
                        size
                    };
                    anchors.push(Anchor { center, size });
                }
            }
        }
        first = end;
    }
    anchors
}

/// (width, height) of the anchors in one cell of the feature map shared by
/// `layers`: per layer, one per aspect ratio, then the interpolated one.
fn cell_anchor_sizes(config: &AnchorConfig, layers: std::ops::Range<usize>) -> Vec<[f32; 2]> {
    let mut sizes = Vec::new();
    for layer in layers {
        let scale = anchor_scale(config, layer);
        for &ratio in config.aspect_ratios {
            sizes.push(anchor_size(scale, ratio));
        }
        if config.interpolated_scale_aspect_ratio > 0.0 {
            let next = if layer + 1 == config.strides.len() {
                1.0
            } else {
                anchor_scale(config, layer + 1)
            };
            let ratio = config.interpolated_scale_aspect_ratio;
            sizes.push(anchor_size((scale * next).sqrt(), ratio));
        }
    }
    sizes
}

/// Layer `layer`'s scale: linear from `min_scale` to `max_scale`.
fn anchor_scale(config: &AnchorConfig, layer: usize) -> f32 {
    let n = config.strides.len();
    if n == 1 {
        (config.min_scale + config.max_scale) / 2.0
    } else {
        config.min_scale + (config.max_scale - config.min_scale) * layer as f32 / (n - 1) as f32
    }
}

/// (width, height) of an anchor of `scale` and aspect ratio `ratio` (w / h).
fn anchor_size(scale: f32, ratio: f32) -> [f32; 2] {
    let root = ratio.sqrt();
    [scale * root, scale / root]
}

// ------------------------------------------------------------- detectors

/// How one detector's raw outputs are read. Its outputs are
/// `[1, anchors, 4 + 2·keypoints]` regressors (box centre x, y, width,
/// height, then keypoint x, y pairs; input pixels, centres relative to the
/// anchor) and `[1, anchors, 1]` raw score logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    pub anchors: AnchorConfig,
    pub num_keypoints: usize,
    /// Regressors are divided by this (MediaPipe's x, y, w and h scales,
    /// all equal to the input side here).
    pub coord_scale: f32,
    /// Raw scores are clipped to ±this before the sigmoid.
    pub score_clip: f32,
    /// Detections scoring below this (after the sigmoid) are dropped.
    pub min_score: f32,
    /// Weighted NMS blends boxes overlapping more than this (IoU).
    pub iou_threshold: f32,
    /// The input tensor's value range: pixels in [0, 1] map linearly onto it.
    pub input_range: [f32; 2],
}

/// `pose_detection.tflite` (BlazePose detector): 224², inputs in [-1, 1],
/// 2254 anchors, 4 keypoints (0 mid-hip, 1 full-body size and rotation
/// point, 2 mid-shoulder, 3 upper-body size and rotation point); the box is
/// roughly the face's.
pub const POSE_DETECTOR: DetectorConfig = DetectorConfig {
    anchors: AnchorConfig {
        input_size: 224,
        min_scale: 0.1484375,
        max_scale: 0.75,
        strides: &[8, 16, 32, 32, 32],
        aspect_ratios: &[1.0],
        interpolated_scale_aspect_ratio: 1.0,
        anchor_offset: 0.5,
        fixed_anchor_size: true,
    },
    num_keypoints: 4,
    coord_scale: 224.0,
    score_clip: 100.0,
    min_score: 0.5,
    iou_threshold: 0.3,
    input_range: [-1.0, 1.0],
};

/// `palm_detection_full.tflite`: 192², inputs in [0, 1], 2016 anchors,
/// 7 keypoints (0 wrist, 2 middle finger base, ...).
pub const PALM_DETECTOR: DetectorConfig = DetectorConfig {
    anchors: AnchorConfig {
        input_size: 192,
        min_scale: 0.1484375,
        max_scale: 0.75,
        strides: &[8, 16, 16, 16],
        aspect_ratios: &[1.0],
        interpolated_scale_aspect_ratio: 1.0,
        anchor_offset: 0.5,
        fixed_anchor_size: true,
    },
    num_keypoints: 7,
    coord_scale: 192.0,
    score_clip: 100.0,
    min_score: 0.5,
    iou_threshold: 0.3,
    input_range: [0.0, 1.0],
};

/// `face_detection_short_range.tflite`: 128², inputs in [-1, 1], 896
/// anchors, 6 keypoints (0 and 1 the eyes, left and right on screen, 2 nose
/// tip, 3 mouth, 4 and 5 the ears).
pub const FACE_DETECTOR: DetectorConfig = DetectorConfig {
    anchors: AnchorConfig {
        input_size: 128,
        min_scale: 0.1484375,
        max_scale: 0.75,
        strides: &[8, 16, 16, 16],
        aspect_ratios: &[1.0],
        interpolated_scale_aspect_ratio: 1.0,
        anchor_offset: 0.5,
        fixed_anchor_size: true,
    },
    num_keypoints: 6,
    coord_scale: 128.0,
    score_clip: 100.0,
    min_score: 0.5,
    iou_threshold: 0.3,
    input_range: [-1.0, 1.0],
};

/// A detected object: normalised detector-input coordinates ([0, 1], y
/// down) out of the decoder, image pixels after [`Detection::to_image`].
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Probability (sigmoid of the clipped logit).
    pub score: f32,
    /// x0, y0, x1, y1.
    pub bbox: [f32; 4],
    /// (x, y) per keypoint, in the detector's order.
    pub keypoints: Vec<[f32; 2]>,
}

impl Detection {
    /// This detection in image pixels, `input` being the window the detector
    /// saw (the letterbox [`CropTransform::whole_image`], or any ROI). The box
    /// is the bounds of its mapped corners (exact for an unrotated window).
    pub fn to_image(&self, input: &CropTransform) -> Detection {
        let unit = |p: [f32; 2]| input.to_image([2.0 * p[0] - 1.0, 2.0 * p[1] - 1.0]);
        let [x0, y0, x1, y1] = self.bbox;
        let corners = [[x0, y0], [x1, y0], [x0, y1], [x1, y1]].map(unit);
        Detection {
            score: self.score,
            bbox: bounds(&corners),
            keypoints: self.keypoints.iter().map(|&k| unit(k)).collect(),
        }
    }
}

/// The logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Decodes every anchor scoring at least `config.min_score` into a
/// [`Detection`] (normalised detector-input coordinates), skipping boxes
/// of negative width or height. `raw_boxes`: `[anchors × (4 + 2·keypoints)]`,
/// `raw_scores`: `[anchors]`, both flattened as TFLite returns them.
pub fn decode_detections(
    config: &DetectorConfig,
    anchors: &[Anchor],
    raw_boxes: &[f32],
    raw_scores: &[f32],
) -> Result<Vec<Detection>, ShapeError> {
    let coords = 4 + 2 * config.num_keypoints;
    expect_len("detector scores", anchors.len(), raw_scores.len())?;
    expect_len("detector boxes", anchors.len() * coords, raw_boxes.len())?;
    let clip = config.score_clip.abs();
    let scale = config.coord_scale;
    let mut detections = Vec::new();
    for ((anchor, row), &logit) in anchors
        .iter()
        .zip(raw_boxes.chunks_exact(coords))
        .zip(raw_scores)
    {
        let score = sigmoid(logit.max(-clip).min(clip));
        if score.is_nan() || score < config.min_score {
            continue;
        }
        let point = |x: f32, y: f32| {
            [
                x / scale * anchor.size[0] + anchor.center[0],
                y / scale * anchor.size[1] + anchor.center[1],
            ]
        };
        let [cx, cy] = point(row[0], row[1]);
        let (w, h) = (
            row[2] / scale * anchor.size[0],
            row[3] / scale * anchor.size[1],
        );
        if w.is_nan() || h.is_nan() || w < 0.0 || h < 0.0 {
            continue;
        }
        detections.push(Detection {
            score,
            bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
            keypoints: row[4..]
                .chunks_exact(2)
                .map(|k| point(k[0], k[1]))
                .collect(),
        });
    }
    Ok(detections)
}

/// Intersection over union of two boxes (x0, y0, x1, y1); 0 when they do
/// not overlap or are degenerate.
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let w = a[2].min(b[2]) - a[0].max(b[0]);
    let h = a[3].min(b[3]) - a[1].max(b[1]);
    if w.is_nan() || h.is_nan() || w <= 0.0 || h <= 0.0 {
        return 0.0;
    }
    let area = |r: [f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    let inter = w * h;
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// MediaPipe's weighted non-maximum suppression: repeatedly takes the best
/// remaining detection, gathers it with every remaining one overlapping it by
/// more than `iou_threshold`, and outputs their score-weighted mean box and
/// keypoints with the best one's score. Best first. (MediaPipe stops
/// altogether at a degenerate box that does not overlap itself; here it is
/// kept alone and the loop goes on.)
pub fn weighted_nms(mut detections: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = Vec::new();
    let mut remaining = detections.into_iter();
    while let Some(best) = remaining.next() {
        let (cluster, rest): (Vec<Detection>, Vec<Detection>) =
            remaining.partition(|d| iou(d.bbox, best.bbox) > iou_threshold);
        kept.push(blend(best, &cluster));
        remaining = rest.into_iter();
    }
    kept
}

/// `best` averaged with `others`, weighted by score; `best`'s score.
fn blend(best: Detection, others: &[Detection]) -> Detection {
    let total: f32 = best.score + others.iter().map(|d| d.score).sum::<f32>();
    if others.is_empty() || total.is_nan() || total <= 0.0 {
        return best;
    }
    let mut bbox = best.bbox.map(|v| v * best.score);
    let mut keypoints: Vec<[f32; 2]> = best
        .keypoints
        .iter()
        .map(|k| [k[0] * best.score, k[1] * best.score])
        .collect();
    for d in others {
        for (acc, v) in bbox.iter_mut().zip(d.bbox) {
            *acc += v * d.score;
        }
        for (acc, k) in keypoints.iter_mut().zip(&d.keypoints) {
            acc[0] += k[0] * d.score;
            acc[1] += k[1] * d.score;
        }
    }
    Detection {
        score: best.score,
        bbox: bbox.map(|v| v / total),
        keypoints: keypoints
            .into_iter()
            .map(|k| [k[0] / total, k[1] / total])
            .collect(),
    }
}

/// Decoding and weighted NMS: the detector's objects, best first, in
/// normalised detector-input coordinates; empty when nothing passes.
pub fn detect(
    config: &DetectorConfig,
    anchors: &[Anchor],
    raw_boxes: &[f32],
    raw_scores: &[f32],
) -> Result<Vec<Detection>, ShapeError> {
    let detections = decode_detections(config, anchors, raw_boxes, raw_scores)?;
    Ok(weighted_nms(detections, config.iou_threshold))
}

/// A model's input: the window `crop` of an RGB8 image sampled to
/// `size × size` (bilinear, black outside; see [`CropTransform::sample_rgb`]),
/// channels first `[3, size, size]` flattened (what
/// [`crate::tflite::Graph::forward`] takes), values mapped from [0, 1] onto
/// `range`. The detectors' letterbox reads black outside the image
/// ([`Border::Zero`], so the padding is `range[0]`, MediaPipe's
/// `BORDER_ZERO`); the landmark models' windows repeat the edge
/// ([`Border::Replicate`], MediaPipe's default): measured against
/// MediaPipe 0.10.14's own pose graph on the astronaut, black borders put
/// the body landmarks a median 9.5 px away, replicated ones 3.3 px.
pub fn input_tensor(
    crop: &CropTransform,
    rgb: &[u8],
    width: u32,
    height: u32,
    size: usize,
    range: [f32; 2],
    border: Border,
) -> Vec<f32> {
    let mut planar = crop.sample_rgb_with(rgb, width, height, size, border);
    for v in &mut planar {
        *v = to_range(*v, range);
    }
    planar
}

/// A value in [0, 1] mapped linearly onto `range` (the one rule for every
/// model input, the parity fixtures' included).
pub fn to_range(v: f32, range: [f32; 2]) -> f32 {
    range[0] + (range[1] - range[0]) * v
}

// ------------------------------------------------------ regions of interest

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
/// [`project_landmarks`]): the same rule on landmarks 33 → 34.
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
fn bounds(points: &[[f32; 2]]) -> [f32; 4] {
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

// -------------------------------------------------------------- landmarks

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
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// BlazePose's heatmap refinement (`RefineLandmarksFromHeatmapCalculator`;
/// numbers from `@tensorflow-models/pose-detection` `constants.js`): the
/// 7 × 7 heatmap cells around each landmark, through the sigmoid, and where
/// their largest value reaches 0.5 the landmark's x, y move to their
/// weighted mean (cell indices, as MediaPipe counts them). `raw` is the
/// landmark output in model-input pixels (`values` numbers per landmark),
/// `heatmap` the `[rows, cols, landmarks]` output; refines in place.
/// Measured against MediaPipe 0.10.14's pose graph on the two test photos,
/// it brings the visible landmarks from a median 2.3 / 5.5 px to 2.1 /
/// 2.9 px (256-pixel images).
pub fn refine_from_heatmap(
    raw: &mut [f32],
    values: usize,
    input_size: usize,
    heatmap: &[f32],
    rows: usize,
    cols: usize,
) -> Result<(), ShapeError> {
    const KERNEL: usize = 7;
    const MIN_CONFIDENCE: f32 = 0.5;
    let landmarks = raw.len() / values.max(1);
    expect_len("heatmap", rows * cols * landmarks, heatmap.len())?;
    let size = input_size as f32;
    for (i, row) in raw.chunks_exact_mut(values.max(2)).enumerate() {
        let (x, y) = (row[0] / size, row[1] / size);
        if !(x.is_finite() && y.is_finite()) || x < 0.0 || y < 0.0 {
            continue;
        }
        let (c, r) = ((x * cols as f32) as usize, (y * rows as f32) as usize);
        if c >= cols || r >= rows {
            continue;
        }
        let half = (KERNEL - 1) / 2;
        let (mut sum, mut wc, mut wr, mut max) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for rr in r.saturating_sub(half)..(r + half + 1).min(rows) {
            for cc in c.saturating_sub(half)..(c + half + 1).min(cols) {
                let v = sigmoid(heatmap[(rr * cols + cc) * landmarks + i]);
                sum += v;
                max = max.max(v);
                wc += cc as f32 * v;
                wr += rr as f32 * v;
            }
        }
        if max >= MIN_CONFIDENCE && sum > 0.0 {
            row[0] = wc / cols as f32 / sum * size;
            row[1] = wr / rows as f32 / sum * size;
        }
    }
    Ok(())
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
mod tests {
    use super::*;

    fn near(a: f32, b: f32, tol: f32) -> bool {
        (a - b).abs() <= tol
    }

    fn near2(a: [f32; 2], b: [f32; 2], tol: f32) -> bool {
        near(a[0], b[0], tol) && near(a[1], b[1], tol)
    }

    fn inside(p: [f32; 2], b: [f32; 4]) -> bool {
        (b[0]..=b[2]).contains(&p[0]) && (b[1]..=b[3]).contains(&p[1])
    }

    fn landmark(x: f32, y: f32) -> Landmark {
        Landmark {
            position: [x, y, 0.0],
            visibility: None,
            presence: None,
        }
    }

    #[test]
    fn anchor_counts() {
        // 28²·2 + 14²·2 + 7²·6 = 2254; 24²·2 + 12²·6 = 2016; 16²·2 + 8²·6 = 896.
        assert_eq!(ssd_anchors(&POSE_DETECTOR.anchors).len(), 2254);
        assert_eq!(ssd_anchors(&PALM_DETECTOR.anchors).len(), 2016);
        assert_eq!(ssd_anchors(&FACE_DETECTOR.anchors).len(), 896);
    }

    #[test]
    fn anchor_values_by_hand() {
        let a = ssd_anchors(&POSE_DETECTOR.anchors);
        let c = |i: usize| a[i].center;
        // Stride 8: 28 cells, two anchors per cell.
        assert!(near2(c(0), [0.5 / 28.0, 0.5 / 28.0], 1e-6));
        assert_eq!(c(1), c(0));
        assert!(near2(c(2), [1.5 / 28.0, 0.5 / 28.0], 1e-6));
        assert!(near2(c(56), [0.5 / 28.0, 1.5 / 28.0], 1e-6));
        // Stride 16 starts at 1568; the three stride-32 layers at 1960 with
        // six anchors per cell.
        assert!(near2(c(1568), [0.5 / 14.0, 0.5 / 14.0], 1e-6));
        assert!(near2(c(1960), [0.5 / 7.0, 0.5 / 7.0], 1e-6));
        assert_eq!(c(1965), c(1960));
        assert!(near2(c(1966), [1.5 / 7.0, 0.5 / 7.0], 1e-6));
        assert!(near2(c(2253), [6.5 / 7.0, 6.5 / 7.0], 1e-6));
        assert!(a.iter().all(|a| a.size == [1.0, 1.0]));
        // The face detector's 8×8 map begins at 512.
        let f = ssd_anchors(&FACE_DETECTOR.anchors);
        assert!(near2(f[512].center, [1.0 / 16.0, 1.0 / 16.0], 1e-6));

        // Unfixed sizes: layer scales 0.1484375 + 0.6015625·i/4, the
        // interpolated one √(sᵢ·sᵢ₊₁) (√(s₄·1) at the last layer).
        let free = AnchorConfig {
            fixed_anchor_size: false,
            aspect_ratios: &[1.0, 2.0],
            ..POSE_DETECTOR.anchors
        };
        let a = ssd_anchors(&free);
        assert_eq!(a.len(), 28 * 28 * 3 + 14 * 14 * 3 + 7 * 7 * 9);
        let (s0, s1) = (0.1484375f32, 0.1484375 + 0.6015625 / 4.0);
        assert!(near2(a[0].size, [s0, s0], 1e-6));
        assert!(near2(a[1].size, [s0 * 2f32.sqrt(), s0 / 2f32.sqrt()], 1e-6));
        assert!(near2(a[2].size, [(s0 * s1).sqrt(), (s0 * s1).sqrt()], 1e-6));
        let last = a[a.len() - 1].size;
        assert!(near2(last, [0.75f32.sqrt(), 0.75f32.sqrt()], 1e-6));
    }

    /// A one-anchor detector at the input's centre.
    fn single(raw: &[f32], logit: f32) -> Vec<Detection> {
        let anchors = [Anchor {
            center: [0.5, 0.5],
            size: [1.0, 1.0],
        }];
        decode_detections(&POSE_DETECTOR, &anchors, raw, &[logit]).expect("shape")
    }

    #[test]
    fn decoding_boxes_keypoints_and_scores() {
        let mut raw = [0.0f32; 12];
        raw[..4].copy_from_slice(&[22.4, -11.2, 44.8, 22.4]);
        raw[4..6].copy_from_slice(&[-112.0, 112.0]);
        let d = single(&raw, 1000.0);
        assert_eq!(d.len(), 1);
        // Clipped to 100 before the sigmoid.
        assert_eq!(d[0].score, sigmoid(100.0));
        let b = d[0].bbox;
        for (v, e) in b.iter().zip([0.5, 0.4, 0.7, 0.5]) {
            assert!(near(*v, e, 1e-6), "{b:?}");
        }
        assert!(near2(d[0].keypoints[0], [0.0, 1.0], 1e-6));
        assert!(near2(d[0].keypoints[3], [0.5, 0.5], 1e-6));
        // Below the threshold (sigmoid(-0.1) < 0.5), NaN, or a negative size: dropped.
        assert!(single(&raw, -0.1).is_empty());
        assert!(single(&raw, f32::NAN).is_empty());
        raw[2] = -1.0;
        assert!(single(&raw, 5.0).is_empty());
        // Wrong shapes are errors, not panics.
        let anchors = ssd_anchors(&POSE_DETECTOR.anchors);
        assert!(decode_detections(&POSE_DETECTOR, &anchors, &[0.0; 12], &[0.0]).is_err());
    }

    fn det(score: f32, bbox: [f32; 4], k: [f32; 2]) -> Detection {
        Detection {
            score,
            bbox,
            keypoints: vec![k],
        }
    }

    #[test]
    fn weighted_nms_blends_overlapping_boxes() {
        let a = det(0.6, [0.1, 0.1, 0.3, 0.3], [0.2, 0.2]);
        let b = det(0.9, [0.12, 0.1, 0.32, 0.3], [0.3, 0.2]);
        let far = det(0.7, [0.6, 0.6, 0.8, 0.8], [0.7, 0.7]);
        assert!(iou(a.bbox, b.bbox) > 0.3 && iou(a.bbox, far.bbox) == 0.0);
        let out = weighted_nms(vec![a, far, b], 0.3);
        assert_eq!(out.len(), 2);
        // Best first; the cluster keeps the best score and averages by score.
        assert_eq!(out[0].score, 0.9);
        let x0 = (0.9 * 0.12 + 0.6 * 0.1) / 1.5;
        assert!(near(out[0].bbox[0], x0, 1e-6));
        assert!(near(
            out[0].keypoints[0][0],
            (0.9 * 0.3 + 0.6 * 0.2) / 1.5,
            1e-6
        ));
        assert_eq!(out[1].bbox, [0.6, 0.6, 0.8, 0.8]);
        // A degenerate box still comes out (alone), and nothing hangs.
        let flat = det(0.8, [0.5, 0.5, 0.5, 0.9], [0.0, 0.0]);
        assert_eq!(weighted_nms(vec![flat.clone(), flat], 0.3).len(), 2);
        assert!(weighted_nms(Vec::new(), 0.3).is_empty());
    }

    #[test]
    fn letterbox_matches_mediapipe_padding_removal() {
        // 640×480 letterboxed to a square: MediaPipe pads top and bottom by
        // (1 − 480/640)/2 = 0.125 and maps y to (y − 0.125)/0.75.
        let window = CropTransform::whole_image(640, 480);
        let d = det(0.9, [0.25, 0.125, 0.75, 0.5], [0.5, 0.875]).to_image(&window);
        let mp = |x: f32, y: f32| [x * 640.0, (y - 0.125) / 0.75 * 480.0];
        assert!(near2([d.bbox[0], d.bbox[1]], mp(0.25, 0.125), 1e-3));
        assert!(near2([d.bbox[2], d.bbox[3]], mp(0.75, 0.5), 1e-3));
        assert!(near2(d.keypoints[0], mp(0.5, 0.875), 1e-3));
    }

    #[test]
    fn input_tensor_is_channels_first_in_the_model_range() {
        // 4×2, left half red, right half blue, letterboxed to 4×4: row 0 is
        // padding (black → −1), row 1 reads the image's first row exactly.
        let mut rgb = vec![0u8; 4 * 2 * 3];
        for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
            px[if i % 4 < 2 { 0 } else { 2 }] = 255;
        }
        let t = input_tensor(
            &CropTransform::whole_image(4, 2),
            &rgb,
            4,
            2,
            4,
            [-1.0, 1.0],
            Border::Zero,
        );
        assert_eq!(t.len(), 4 * 4 * 3);
        let at = |row: usize, col: usize| [0, 1, 2].map(|c| t[(c * 4 + row) * 4 + col]);
        assert_eq!(at(0, 0), [-1.0, -1.0, -1.0]);
        assert_eq!(at(1, 0), [1.0, -1.0, -1.0]);
        assert_eq!(at(1, 3), [-1.0, -1.0, 1.0]);
    }

    #[test]
    fn rotation_convention_matches_mediapipe_projection() {
        // MediaPipe's LandmarkProjection on a normalised rect of a non-square
        // image, against project_landmarks through crop_from_mediapipe.
        let (w, h) = (640.0f32, 480.0f32);
        let (center, side, theta) = ([300.0f32, 200.0f32], 160.0f32, 0.7f32);
        let roi = crop_from_mediapipe(center, side, theta);
        let raw = [40.0f32, 200.0, 10.0, 250.0, 30.0, -8.0];
        let ours = project_landmarks(
            &LandmarkConfig {
                input_size: 256,
                input_range: [0.0, 1.0],
                num_landmarks: 2,
                values_per_landmark: 3,
                z_divisor: 1.0,
            },
            &raw,
            &roi,
        )
        .expect("shape");
        for (p, row) in ours.iter().zip(raw.chunks(3)) {
            let (x, y) = (row[0] / 256.0 - 0.5, row[1] / 256.0 - 0.5);
            let (s, c) = theta.sin_cos();
            let nx = (c * x - s * y) * (side / w) + center[0] / w;
            let ny = (s * x + c * y) * (side / h) + center[1] / h;
            let nz = row[2] / 256.0 * (side / w);
            assert!(near2(p.xy(), [nx * w, ny * h], 1e-3), "{p:?}");
            assert!(near(p.position[2], nz * w, 1e-4));
        }
        assert_eq!(mediapipe_rotation(&roi), theta);
        // MediaPipe's positive angle turns the window clockwise on screen:
        // at 90° the crop's up (0, −1) points to the image's right.
        let r = crop_from_mediapipe([0.0, 0.0], 2.0, FRAC_PI_2);
        assert!(near2(r.to_image([0.0, -1.0]), [1.0, 0.0], 1e-6));
    }

    #[test]
    fn pose_roi_turns_the_body_upright() {
        // Hip at (100, 200), scale point 80 px above: upright, side 2·80·1.25.
        let mut d = Detection {
            score: 0.9,
            bbox: [0.0; 4],
            keypoints: vec![[100.0, 200.0], [100.0, 120.0]],
        };
        let roi = pose_roi_from_detection(&d).expect("roi");
        assert!(near2(roi.center, [100.0, 200.0], 1e-4));
        assert!(near(roi.side, 200.0, 1e-3) && near(roi.rotation, 0.0, 1e-6));
        // Lying with the head to the right: the crop's top is on the right.
        d.keypoints[1] = [180.0, 200.0];
        let roi = pose_roi_from_detection(&d).expect("roi");
        assert!(near(mediapipe_rotation(&roi), FRAC_PI_2, 1e-6));
        assert!(near2(roi.to_image([0.0, -0.8]), [180.0, 200.0], 1e-3));
        // From landmarks: the same rule on 33 → 34.
        let mut lm = vec![landmark(0.0, 0.0); 39];
        lm[33] = landmark(100.0, 200.0);
        lm[34] = landmark(180.0, 200.0);
        assert_eq!(pose_roi_from_landmarks(&lm), Some(roi));
        // Degenerate: missing or coinciding points.
        assert!(pose_roi_from_landmarks(&lm[..34]).is_none());
        d.keypoints[1] = d.keypoints[0];
        assert!(pose_roi_from_detection(&d).is_none());
        d.keypoints.truncate(1);
        assert!(pose_roi_from_detection(&d).is_none());
    }

    #[test]
    fn palm_and_hand_rois() {
        // An upright palm box 40×60, wrist below the middle finger base.
        let mut keypoints = vec![[100.0, 130.0], [0.0, 0.0], [100.0, 80.0]];
        let d = Detection {
            score: 0.9,
            bbox: [80.0, 70.0, 120.0, 130.0],
            keypoints: keypoints.clone(),
        };
        let roi = palm_roi_from_detection(&d).expect("roi");
        assert!(near2(roi.center, [100.0, 70.0], 1e-3));
        assert!(near(roi.side, 156.0, 1e-3) && near(roi.rotation, 0.0, 1e-6));
        // Fingers to the right: the shift follows the hand.
        keypoints[2] = [150.0, 130.0];
        let roi = palm_roi_from_detection(&Detection { keypoints, ..d }).expect("roi");
        assert!(near(mediapipe_rotation(&roi), FRAC_PI_2, 1e-6));
        assert!(near2(roi.center, [130.0, 100.0], 1e-3));

        // A hand pointing up: wrist at (0, 100), finger joints spread over
        // x ∈ [−20, 20], y ∈ [20, 90].
        let mut lm = vec![landmark(0.0, 50.0); 21];
        lm[0] = landmark(0.0, 100.0);
        for (k, &i) in HAND_ROI_LANDMARKS.iter().enumerate().skip(1) {
            let x = -20.0 + 40.0 * (k as f32 - 1.0) / 10.0;
            lm[i] = landmark(x, 20.0 + 70.0 * ((k % 3) as f32 / 2.0));
        }
        lm[5] = landmark(-10.0, 30.0);
        lm[13] = landmark(10.0, 30.0);
        lm[9] = landmark(0.0, 20.0);
        lm[4] = landmark(500.0, 500.0); // the thumb tip does not count
        let roi = hand_roi_from_landmarks(&lm).expect("roi");
        assert!(near(roi.rotation, 0.0, 1e-6));
        // Box x −20..20, y 20..100: centre (0, 60), moved up 8, side 2·80.
        assert!(near2(roi.center, [0.0, 52.0], 1e-3), "{roi:?}");
        assert!(near(roi.side, 160.0, 1e-3));
        // The same hand turned a quarter clockwise on screen ((x, y) →
        // (−y, x) with y down): the fingers point right, the window follows.
        let turned: Vec<Landmark> = lm
            .iter()
            .map(|l| landmark(-l.position[1], l.position[0]))
            .collect();
        let t = hand_roi_from_landmarks(&turned).expect("roi");
        assert!(near(mediapipe_rotation(&t), FRAC_PI_2, 1e-5));
        assert!(near2(t.center, [-52.0, 0.0], 1e-3), "{t:?}");
        assert!(near(t.side, 160.0, 1e-3));
        assert!(hand_roi_from_landmarks(&lm[..18]).is_none());
    }

    #[test]
    fn face_rois_level_the_eyes() {
        // Eyes on a 45° line going down to the right: MediaPipe turns the
        // window 45° clockwise, so its x axis runs along the eyes.
        let d = Detection {
            score: 0.9,
            bbox: [0.0, 0.0, 80.0, 100.0],
            keypoints: vec![[20.0, 30.0], [50.0, 60.0]],
        };
        let roi = face_roi_from_detection(&d).expect("roi");
        assert!(near(mediapipe_rotation(&roi), PI / 4.0, 1e-6));
        let axis = roi.to_image([1.0, 0.0]);
        let (dx, dy) = (axis[0] - roi.center[0], axis[1] - roi.center[1]);
        assert!(near(dx, dy, 1e-3) && dx > 0.0);
        assert!(near2(roi.center, [40.0, 50.0], 1e-4) && near(roi.side, 150.0, 1e-3));
        // Landmarks: the box of all 468, eyes 33 and 263 level.
        let mut lm = vec![landmark(10.0, 20.0); 468];
        lm[0] = landmark(110.0, 220.0);
        lm[33] = landmark(40.0, 80.0);
        lm[263] = landmark(80.0, 80.0);
        let roi = face_roi_from_landmarks(&lm).expect("roi");
        assert!(near(roi.rotation, 0.0, 1e-6));
        assert!(near2(roi.center, [60.0, 120.0], 1e-4) && near(roi.side, 300.0, 1e-3));
        assert!(face_roi_from_landmarks(&lm[..100]).is_none());
    }

    #[test]
    fn landmark_outputs_and_world_points() {
        let roi = crop_from_mediapipe([50.0, 50.0], 100.0, 0.0);
        let raw = [128.0f32, 0.0, 12.8, 0.0, 1000.0];
        let cfg = LandmarkConfig {
            num_landmarks: 1,
            ..POSE_LANDMARKS
        };
        let p = project_landmarks(&cfg, &raw, &roi).expect("shape")[0];
        assert!(near2(p.xy(), [50.0, 0.0], 1e-4));
        assert!(near(p.position[2], 5.0, 1e-4));
        assert_eq!((p.visibility, p.presence), (Some(0.5), Some(1.0)));
        // Hand z is further divided by 0.4.
        let hand = LandmarkConfig {
            num_landmarks: 1,
            ..HAND_LANDMARKS
        };
        let h = project_landmarks(&hand, &[112.0, 112.0, 22.4], &roi).expect("shape")[0];
        assert!(near(h.position[2], 25.0, 1e-4) && h.visibility.is_none());
        assert!(project_landmarks(&POSE_LANDMARKS, &raw, &roi).is_err());
        // World points only turn: a window turned 90° clockwise maps x to y.
        let turned = crop_from_mediapipe([0.0, 0.0], 1.0, FRAC_PI_2);
        let w = project_world_landmarks(&[1.0, 0.0, 0.3], &turned).expect("shape");
        assert!(near2([w[0][0], w[0][1]], [0.0, 1.0], 1e-6) && w[0][2] == 0.3);
        assert!(project_world_landmarks(&[1.0, 2.0], &turned).is_err());
    }

    /// The six best anchors of `pose_detection.tflite` on skimage's
    /// astronaut (512×512, letterboxed to 224² in [-1, 1]), from
    /// `python3 tools/mediapipe_pipeline_check.py --landmarks --top 6`:
    /// (anchor index, raw score logit, 12 raw regressors).
    #[rustfmt::skip]
    const ASTRONAUT_ANCHORS: [(usize, f32, [f32; 12]); 6] = [
        (583, 1.483488, [0.8257689, -3.181362, 44.73498, 44.73486, -25.83774, 149.6739, 12.64398, -74.2114, -0.7433596, 22.68603, 26.38852, -141.4223]),
        (527, 1.081395, [0.6700511, 4.774317, 44.75568, 44.75552, -22.4726, 151.1692, 12.17959, -65.86399, -0.5867277, 28.5113, 23.27031, -130.5966]),
        (1718, 0.9644423, [4.127245, -5.50913, 44.85847, 44.82652, -18.52806, 147.1077, 18.61643, -79.22278, 4.423874, 18.89645, 28.57764, -146.399]),
        (585, 0.5805626, [-6.268382, -2.844843, 44.73369, 44.73349, -33.28708, 147.1156, 4.307253, -75.10033, -8.142881, 21.59369, 18.89868, -140.6564]),
        (1690, 0.5694202, [4.328362, 8.471923, 44.86454, 44.83248, -12.63767, 152.1924, 15.49567, -62.21142, 4.311188, 30.56332, 20.78582, -125.6009]),
        (581, 0.3901263, [7.211243, -2.328099, 44.73429, 44.73423, -18.57876, 154.1444, 20.49337, -72.14252, 5.786394, 24.88303, 33.13657, -141.3599]),
    ];

    /// The full output arrays with only those anchors scoring.
    fn astronaut_outputs(only_best: bool) -> (Vec<f32>, Vec<f32>) {
        let mut boxes = vec![0.0f32; 2254 * 12];
        let mut scores = vec![-100.0f32; 2254];
        let n = if only_best {
            1
        } else {
            ASTRONAUT_ANCHORS.len()
        };
        for &(i, logit, raw) in &ASTRONAUT_ANCHORS[..n] {
            boxes[i * 12..(i + 1) * 12].copy_from_slice(&raw);
            scores[i] = logit;
        }
        (boxes, scores)
    }

    #[test]
    fn astronaut_pose_detection() {
        let anchors = ssd_anchors(&POSE_DETECTOR.anchors);
        let window = CropTransform::whole_image(512, 512);
        // The best anchor alone decodes to what the script printed:
        // box (161.0, 133.6)–(263.3, 235.9), keypoints (151.2, 534.1),
        // (239.2, 22.4), (208.6, 243.9), (270.6, −131.3).
        let (boxes, scores) = astronaut_outputs(true);
        let d = detect(&POSE_DETECTOR, &anchors, &boxes, &scores).expect("shape");
        assert_eq!(d.len(), 1);
        let best = d[0].to_image(&window);
        assert!(near(best.score, 0.815099, 1e-5));
        for (v, e) in best.bbox.iter().zip([161.0, 133.6, 263.3, 235.9]) {
            assert!(near(*v, e, 0.1), "{:?}", best.bbox);
        }
        for (k, e) in best.keypoints.iter().zip([
            [151.2, 534.1],
            [239.2, 22.4],
            [208.6, 243.9],
            [270.6, -131.3],
        ]) {
            assert!(near2(*k, e, 0.1), "{k:?}");
        }

        // All six pass the threshold (the last one's sigmoid is 0.596) and,
        // overlapping, blend into one detection.
        let (boxes, scores) = astronaut_outputs(false);
        let d = detect(&POSE_DETECTOR, &anchors, &boxes, &scores).expect("shape");
        assert_eq!(d.len(), 1);
        let person = d[0].to_image(&window);
        assert!(near(person.score, 0.815099, 1e-5));
        // What the data shows (tools/mediapipe_pipeline_check.py, drawn on the
        // image): the box spans mouth to neck ring, x 160–265, y 133–237; it
        // holds the chin at about (222, 175).
        let b = person.bbox;
        assert!(
            b[0] > 150.0 && b[1] > 125.0 && b[2] < 275.0 && b[3] < 245.0,
            "{b:?}"
        );
        assert!(inside([222.0, 175.0], b));
        // Keypoint 1 (size point) above the head, keypoint 2 (mid-shoulder)
        // on the neck ring between the shoulders, keypoint 0 (mid-hip) below
        // the picture.
        let k = &person.keypoints;
        assert!(k[1][1] < 40.0 && (200.0..280.0).contains(&k[1][0]), "{k:?}");
        assert!(near2(k[2], [209.0, 243.0], 10.0), "{k:?}");
        assert!(k[0][1] > 512.0);
    }

    /// Raw `pose_landmark_full.tflite` rows (x, y, z, visibility,
    /// presence) for the astronaut, inside the ROI built from the best
    /// anchor alone (same script): nose, left and right shoulder, the two
    /// alignment points.
    #[rustfmt::skip]
    const ASTRONAUT_LANDMARKS: [(usize, [f32; 5]); 5] = [
        (0, [126.5214, 45.82467, -76.99674, 6.630966, 4.60355]),
        (11, [148.4435, 64.87318, -6.502593, 5.134119, 2.571486]),
        (12, [110.9756, 67.51465, -12.60178, 6.646006, 4.258894]),
        (33, [131.4828, 122.9339, 0.05489477, -20.15911, 19.40446]),
        (34, [127.962, 23.04695, 0.1701445, -20.18243, 19.38835]),
    ];

    #[test]
    fn astronaut_pose_landmarks() {
        let anchors = ssd_anchors(&POSE_DETECTOR.anchors);
        let (boxes, scores) = astronaut_outputs(true);
        let d = detect(&POSE_DETECTOR, &anchors, &boxes, &scores).expect("shape");
        let person = d[0].to_image(&CropTransform::whole_image(512, 512));
        let roi = pose_roi_from_detection(&person).expect("roi");
        // The script printed centre (151.23, 534.11), side 1298.11, MediaPipe
        // rotation 0.170218 and sampled the crop with rotation −0.170218.
        assert!(near2(roi.center, [151.23, 534.11], 0.05));
        assert!(near(roi.side, 1298.11, 0.1));
        assert!(near(roi.rotation, -0.170218, 1e-4));

        let mut raw = vec![0.0f32; 195];
        for &(i, row) in &ASTRONAUT_LANDMARKS {
            raw[i * 5..i * 5 + 5].copy_from_slice(&row);
        }
        let lm = project_landmarks(&POSE_LANDMARKS, &raw, &roi).expect("shape");
        // The nose lands on the astronaut's nose (about (222, 125) by eye).
        assert!(near2(lm[0].xy(), [214.4, 122.2], 0.2), "{:?}", lm[0]);
        assert!(inside(lm[0].xy(), [200.0, 105.0, 235.0, 140.0]));
        // Shoulders at the suit's shoulder seams, left on the image's right.
        assert!(near2(lm[11].xy(), [307.6, 236.2], 0.2) && near2(lm[12].xy(), [118.1, 217.2], 0.2));
        assert!(lm[0].visibility.is_some_and(|v| v > 0.99));
        // The model saw the body upright (33 → 34 nearly vertical in the
        // crop: 1° off), so the ROI's sign convention is MediaPipe's; the
        // next frame's ROI agrees with the detector's.
        let next = pose_roi_from_landmarks(&lm).expect("roi");
        assert!(near(next.rotation, roi.rotation, 0.05), "{next:?}");
        assert!(near(next.side, roi.side, 0.05 * roi.side));
    }

    /// The best anchor of `face_detection_short_range.tflite` on the
    /// astronaut (letterboxed to 128² in [-1, 1]) and, inside the ROI built
    /// from it, raw `face_landmark.tflite` rows of landmarks 1 (nose tip), 33
    /// and 263 (the eyes' outer corners) and the raw face flag, from
    /// `python3 tools/mediapipe_pipeline_check.py --face --top 4`.
    #[rustfmt::skip]
    const ASTRONAUT_FACE_ANCHOR: (usize, f32, [f32; 16]) = (143, 2.453855, [-3.769764, -3.868824, 23.11068, 23.11061, -8.302193, -10.8777, 2.817215, -8.691884, -3.42255, -5.027547, -4.471474, 0.2714195, -15.67706, -8.478078, 7.685539, -4.294913]);
    #[rustfmt::skip]
    const ASTRONAUT_FACE_LANDMARKS: [(usize, [f32; 3]); 3] = [
        (1, [95.63544, 99.13277, -32.23194]),
        (33, [47.40282, 66.03873, 4.74858]),
        (263, [133.3254, 54.80486, 5.232026]),
    ];
    const ASTRONAUT_FACE_FLAG: f32 = 26.49973;

    #[test]
    fn astronaut_face() {
        let anchors = ssd_anchors(&FACE_DETECTOR.anchors);
        let (i, logit, row) = ASTRONAUT_FACE_ANCHOR;
        let mut boxes = vec![0.0f32; 896 * 16];
        let mut scores = vec![-100.0f32; 896];
        boxes[i * 16..(i + 1) * 16].copy_from_slice(&row);
        scores[i] = logit;
        let d = detect(&FACE_DETECTOR, &anchors, &boxes, &scores).expect("shape");
        assert_eq!(d.len(), 1);
        let face = d[0].to_image(&CropTransform::whole_image(512, 512));
        // The script printed box (178.7, 82.3)–(271.1, 174.7): the face from
        // brow to chin; eyes (206.8, 100.5), (251.3, 109.2), nose tip
        // (226.3, 123.9), mouth (222.1, 145.1).
        for (v, e) in face.bbox.iter().zip([178.7, 82.3, 271.1, 174.7]) {
            assert!(near(*v, e, 0.1), "{:?}", face.bbox);
        }
        for (k, e) in face
            .keypoints
            .iter()
            .zip([[206.8, 100.5], [251.3, 109.2], [226.3, 123.9]])
        {
            assert!(near2(*k, e, 0.1), "{k:?}");
            assert!(inside(*k, face.bbox));
        }
        // Its ROI: the box squared × 1.5, turned 0.194 rad (clockwise, as the
        // eyes run down to the right).
        let roi = face_roi_from_detection(&face).expect("roi");
        assert!(near2(roi.center, [224.92, 128.52], 0.05));
        assert!(near(roi.side, 138.66, 0.05));
        assert!(near(mediapipe_rotation(&roi), 0.194102, 1e-4));
        // The landmarks land on the nose tip and the outer eye corners (checked
        // by eye on the image).
        assert!(sigmoid(ASTRONAUT_FACE_FLAG) > PRESENCE_THRESHOLD);
        let mut raw = vec![0.0f32; 468 * 3];
        for &(k, r) in &ASTRONAUT_FACE_LANDMARKS {
            raw[k * 3..k * 3 + 3].copy_from_slice(&r);
        }
        let lm = project_landmarks(&FACE_LANDMARKS, &raw, &roi).expect("shape");
        assert!(near2(lm[1].xy(), [224.2, 130.7], 0.2), "{:?}", lm[1]);
        assert!(near2(lm[33].xy(), [194.7, 100.5], 0.2), "{:?}", lm[33]);
        assert!(near2(lm[263].xy(), [257.1, 104.5], 0.2), "{:?}", lm[263]);
        // Directions turn by MediaPipe's angle from crop to image (clockwise
        // on screen): the corners' line slopes −7.4° in the crop, 3.7° in the
        // image (the detector's eye keypoints overstate the tilt, 11°).
        let tilt = |a: [f32; 2], b: [f32; 2]| ((b[1] - a[1]) / (b[0] - a[0])).atan();
        let in_image = tilt(lm[33].xy(), lm[263].xy());
        let in_crop = tilt([47.40282, 66.03873], [133.3254, 54.80486]);
        assert!(near(in_image - in_crop, mediapipe_rotation(&roi), 0.01));
    }

    #[test]
    fn hand_window_from_the_body_covers_the_fingers_upright() {
        // A hand hanging down: wrist at (100, 100), knuckles 30 px below.
        let roi = hand_roi_from_pose([100.0, 100.0], [105.0, 130.0], [90.0, 130.0]).expect("roi");
        // Upright in the crop: the fingers (further down on screen) are up.
        let fingers = roi.to_crop([100.0, 160.0]);
        let wrist = roi.to_crop([100.0, 100.0]);
        assert!(
            fingers[1] < wrist[1],
            "fingers {fingers:?} should be above the wrist {wrist:?}"
        );
        assert!(
            wrist[1] < 1.0 && fingers[1] > -1.0,
            "both inside: {wrist:?} {fingers:?}"
        );
        assert!(hand_roi_from_pose([1.0, 1.0], [1.0, 1.0], [1.0, 1.0]).is_none());
        assert!(hand_roi_from_pose([f32::NAN, 1.0], [1.0, 1.0], [2.0, 1.0]).is_none());
    }

    #[test]
    fn heatmap_refinement_moves_a_confident_point_to_the_peak() {
        // One landmark at input pixel (40, 40) of 64 → heatmap cell (10, 10)
        // of 16 × 16; a confident blob centred on cell (11, 12).
        let (rows, cols) = (16, 16);
        let mut heatmap = vec![-30.0f32; rows * cols];
        heatmap[12 * cols + 11] = 10.0;
        let mut raw = vec![40.0, 40.0, 0.0];
        refine_from_heatmap(&mut raw, 3, 64, &heatmap, rows, cols).expect("shape");
        // Weighted mean ≈ the peak cell, in input pixels: 11 / 16 · 64 = 44.
        assert!(
            near(raw[0], 44.0, 0.01) && near(raw[1], 48.0, 0.01),
            "{raw:?}"
        );
        // Nothing confident nearby: unchanged.
        let mut raw = vec![40.0, 40.0, 0.0];
        refine_from_heatmap(&mut raw, 3, 64, &vec![-10.0; rows * cols], rows, cols).expect("shape");
        assert_eq!(raw, vec![40.0, 40.0, 0.0]);
        assert!(refine_from_heatmap(&mut raw, 3, 64, &[0.0; 3], rows, cols).is_err());
    }

    #[test]
    fn face_window_from_the_body_is_level_and_holds_the_face() {
        // A frontal face: eyes at y = 100, ears at y = 105, nose below.
        let mut face = [[0.0f32; 2]; 11];
        face[0] = [100.0, 115.0]; // nose
        face[2] = [110.0, 100.0]; // left eye (image right)
        face[5] = [90.0, 100.0]; // right eye
        face[7] = [125.0, 105.0]; // left ear
        face[8] = [75.0, 105.0]; // right ear
        for (i, p) in face.iter_mut().enumerate() {
            if *p == [0.0, 0.0] {
                *p = [100.0 + i as f32, 110.0];
            }
        }
        let roi = face_roi_from_pose(&face).expect("roi");
        assert!(roi.rotation.abs() < 1e-6, "eyes level: {}", roi.rotation);
        assert!(near(roi.side, 100.0, 1e-3));
        for p in face {
            let c = roi.to_crop(p);
            assert!(c[0].abs() < 1.0 && c[1].abs() < 1.0, "{p:?} outside: {c:?}");
        }
        assert!(face_roi_from_pose(&face[..6]).is_none());
    }
}
