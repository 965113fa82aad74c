//! The detectors: their configs, raw outputs decoded into boxes and
//! keypoints, and MediaPipe's weighted non-maximum suppression.

use super::regions::bounds;
use super::{expect_len, Anchor, AnchorConfig, ShapeError};
use crate::crop::CropTransform;

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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
