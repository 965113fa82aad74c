//! FuRPE's three-step selection of pseudo labels (paper §3.2), with the
//! authors' released-code behaviour as named options
//! (docs/method.md, "Pipeline" step 2).
//!
//! 1. Keypoint confidence: an image whose OpenPose keypoints are mostly
//!    unsure is dropped (body > 0.1, hands > 0.2, face > 0.4; fewer than 12
//!    passing points drops it).
//! 2. Invalid expert output: non-finite or out-of-range parameters.
//! 3. Reprojection: the part parameters drive SMPL-X, its joints are
//!    projected with the body expert's camera and compared with the OpenPose
//!    body keypoints; a large error drops the image.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::dataset::Annotation;
use crate::keypoints::{openpose137_to_smplx, NUM_BODY25, NUM_HAND};
use crate::metrics::Part;
use crate::pseudo::PseudoLabels;
use crate::smplx::{ParamWidths, Smplx, SmplxInput, SmplxParams};

/// Thresholds and variants. Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelectionConfig {
    pub body_confidence: f32,
    pub hand_confidence: f32,
    pub face_confidence: f32,
    /// Fewer passing keypoints than this drops the image (released
    /// COCO-WholeBody variant: 6).
    pub min_keypoints: usize,
    /// Released loader: drop a hand's or the face's label (not the image)
    /// unless that part has more than `part_gate_count` confident keypoints.
    pub part_gating: bool,
    pub part_gate_count: usize,
    /// Any axis-angle component at or above this (radians) is invalid
    /// (the released code uses 3.15 for hands).
    pub max_axis_angle: f32,
    /// Released code: an invalid hand drops only that hand's label.
    pub invalid_hand_drops_part_only: bool,
    /// Step 3 on/off (the released code has no implementation of it).
    pub reprojection: bool,
    /// Step 3 threshold: mean squared distance between projected SMPL-X
    /// joints and confident OpenPose body keypoints, in the body crop's
    /// normalised units (the crop spans [-1, 1]; 0.01 is an RMS error of
    /// 5 % of the crop side). The paper's "1.5" has no usable unit.
    pub reprojection_max_mse: f32,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        Self {
            body_confidence: 0.1,
            hand_confidence: 0.2,
            face_confidence: 0.4,
            min_keypoints: 12,
            part_gating: false,
            part_gate_count: 8,
            max_axis_angle: 3.15,
            invalid_hand_drops_part_only: false,
            reprojection: true,
            reprojection_max_mse: 0.01,
        }
    }
}

impl SelectionConfig {
    /// The authors' released code: part gating, hand-only invalidation, no step 3.
    pub fn released() -> Self {
        Self {
            part_gating: true,
            invalid_hand_drops_part_only: true,
            reprojection: false,
            ..Self::default()
        }
    }
}

/// Why an image was dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Reason {
    /// Step 1: only `passing` keypoints were confident enough.
    KeypointConfidence { passing: usize },
    /// Step 2: a field was non-finite or out of range.
    InvalidExpertOutput { field: String },
    /// Step 3: reprojection error above the threshold.
    Reprojection { mse: f32 },
}

/// The verdict on one labelled image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Record in `annotations.jsonl`.
    pub index: u64,
    pub kept: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Which part labels may be used, in [`Part::LABEL_ORDER`].
    pub parts: [bool; 4],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reprojection_mse: Option<f32>,
}

/// Steps 1 and 2 for one image (no model needed).
pub fn check_image(
    config: &SelectionConfig,
    annotation: &Annotation,
    labels: &PseudoLabels,
    row: usize,
) -> Decision {
    let index = labels.index[row];
    let drop = |reason| Decision {
        index,
        kept: false,
        reason: Some(reason),
        parts: [false; 4],
        reprojection_mse: None,
    };
    let mut parts = [true; 4];

    // Step 1.
    let kp = &annotation.keypoints;
    let count = |range: std::ops::Range<usize>, threshold: f32| {
        kp[range].iter().filter(|p| p[2] > threshold).count()
    };
    let body = count(0..NUM_BODY25, config.body_confidence);
    let left = count(NUM_BODY25..NUM_BODY25 + NUM_HAND, config.hand_confidence);
    let right = count(
        NUM_BODY25 + NUM_HAND..NUM_BODY25 + 2 * NUM_HAND,
        config.hand_confidence,
    );
    let face = count(NUM_BODY25 + 2 * NUM_HAND..kp.len(), config.face_confidence);
    let passing = body + left + right + face;
    if passing < config.min_keypoints {
        return drop(Reason::KeypointConfidence { passing });
    }
    if config.part_gating {
        parts[Part::Face.label_slot()] = face > config.part_gate_count;
        parts[Part::LeftHand.label_slot()] = left > config.part_gate_count;
        parts[Part::RightHand.label_slot()] = right > config.part_gate_count;
    }

    // Step 2.
    for (field, rotation) in [
        ("body_box", false),
        ("body_camera", false),
        ("global_orient", true),
        ("body_pose", true),
        ("jaw_pose", true),
        ("expression", false),
        ("left_hand_pose", true),
        ("right_hand_pose", true),
    ] {
        let Some(values) = labels.get(field, row) else {
            return drop(Reason::InvalidExpertOutput {
                field: format!("{field} (missing)"),
            });
        };
        let part = match field {
            "jaw_pose" | "expression" => Some(1),
            "left_hand_pose" => Some(2),
            "right_hand_pose" => Some(3),
            _ => None,
        };
        // A face or hand the detector never saw has no crop, so no expert
        // ran: its label is all NaN. That is a missing part, not an invalid
        // expert output; only the part's label goes.
        if let Some(part) = part {
            if values.iter().all(|v| v.is_nan()) {
                parts[part] = false;
                continue;
            }
        }
        let invalid = values
            .iter()
            .any(|v| !v.is_finite() || (rotation && v.abs() >= config.max_axis_angle));
        if invalid {
            let hand = match field {
                "left_hand_pose" => Some(2),
                "right_hand_pose" => Some(3),
                _ => None,
            };
            match hand {
                Some(part) if config.invalid_hand_drops_part_only => parts[part] = false,
                _ => {
                    return drop(Reason::InvalidExpertOutput {
                        field: field.to_string(),
                    })
                }
            }
        }
    }
    let camera = labels.get("body_camera", row).unwrap_or(&[0.0; 3]);
    if camera[0] <= 0.0 {
        return drop(Reason::InvalidExpertOutput {
            field: "body_camera (scale ≤ 0)".into(),
        });
    }
    Decision {
        index,
        kept: true,
        reason: None,
        parts,
        reprojection_mse: None,
    }
}

/// Step 3's error for a batch of rows: mean squared distance (crop units)
/// between projected SMPL-X joints and the confident OpenPose body keypoints.
/// `layer` must use 10 betas and expressions, axis-angle hands, hand mean on.
pub fn reprojection_mse<B: Backend>(
    layer: &Smplx<B>,
    config: &SelectionConfig,
    annotations: &[&Annotation],
    labels: &PseudoLabels,
    rows: &[usize],
    device: &B::Device,
) -> Result<Vec<f32>, crate::readback::ReadbackError> {
    let batch = rows.len();
    let mut params = SmplxParams::zeros(batch, ParamWidths::default());
    for (b, &row) in rows.iter().enumerate() {
        let get = |f: &str| labels.get(f, row).map(<[f32]>::to_vec);
        for (field, dst) in [
            ("global_orient", &mut params.global_orient[b]),
            ("body_pose", &mut params.body_pose[b]),
            ("jaw_pose", &mut params.jaw_pose[b]),
            ("expression", &mut params.expression[b]),
            ("left_hand_pose", &mut params.left_hand_pose[b]),
            ("right_hand_pose", &mut params.right_hand_pose[b]),
        ] {
            // A missing part (NaN) poses as the mean: it moves no body joint.
            if let Some(v) = get(field).filter(|v| v.iter().all(|x| x.is_finite())) {
                *dst = v;
            }
        }
    }
    let joints = layer.joints(SmplxInput::from_params(&params, device)); // [B, 144, 3]
    let map = openpose137_to_smplx();
    let body_ids: Vec<usize> = (0..NUM_BODY25).map(|k| map[k].unwrap_or(0)).collect();
    let picked = crate::keypoints::select_joints(joints, &body_ids); // [B, 25, 3]
    let xy = picked.slice([0..batch, 0..NUM_BODY25, 0..2]);
    let camera: Vec<f32> = rows
        .iter()
        .flat_map(|&r| {
            labels
                .get("body_camera", r)
                .unwrap_or(&[1.0, 0.0, 0.0])
                .to_vec()
        })
        .collect();
    let camera = Tensor::<B, 2>::from_data(
        TensorData::new(camera, [batch, 3]).convert::<B::FloatElem>(),
        device,
    );
    let projected = crate::camera::weak_perspective(
        Tensor::cat(
            vec![xy.clone(), Tensor::zeros([batch, NUM_BODY25, 1], device)],
            2,
        ),
        camera,
    );
    let projected = crate::readback::floats(projected)?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(b, &row)| {
            let bx = labels.get("body_box", row).unwrap_or(&[0.0, 0.0, 1.0, 1.0]);
            let (cx, cy) = ((bx[0] + bx[2]) / 2.0, (bx[1] + bx[3]) / 2.0);
            let half = ((bx[2] - bx[0]).max(bx[3] - bx[1]) / 2.0).max(1e-6);
            let (mut sum, mut n) = (0.0f32, 0usize);
            for k in 0..NUM_BODY25 {
                let kp = annotations[b].keypoints[k];
                if map[k].is_none() || kp[2] <= config.body_confidence {
                    continue;
                }
                let target = [(kp[0] - cx) / half, (kp[1] - cy) / half];
                let p = &projected[(b * NUM_BODY25 + k) * 2..(b * NUM_BODY25 + k) * 2 + 2];
                sum += (p[0] - target[0]).powi(2) + (p[1] - target[1]).powi(2);
                n += 1;
            }
            if n == 0 {
                f32::INFINITY
            } else {
                sum / n as f32
            }
        })
        .collect())
}

/// Counts per outcome, for the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub labelled: usize,
    pub kept: usize,
    pub dropped_keypoint_confidence: usize,
    pub dropped_invalid_output: usize,
    pub dropped_reprojection: usize,
    /// Part labels switched off in kept images (released-code options).
    pub face_labels_off: usize,
    pub left_hand_labels_off: usize,
    pub right_hand_labels_off: usize,
}

impl Summary {
    pub fn of(decisions: &[Decision]) -> Self {
        let mut s = Summary {
            labelled: decisions.len(),
            ..Default::default()
        };
        for d in decisions {
            match &d.reason {
                None => {
                    s.kept += 1;
                    let off = |p: Part| usize::from(!d.parts[p.label_slot()]);
                    s.face_labels_off += off(Part::Face);
                    s.left_hand_labels_off += off(Part::LeftHand);
                    s.right_hand_labels_off += off(Part::RightHand);
                }
                Some(Reason::KeypointConfidence { .. }) => s.dropped_keypoint_confidence += 1,
                Some(Reason::InvalidExpertOutput { .. }) => s.dropped_invalid_output += 1,
                Some(Reason::Reprojection { .. }) => s.dropped_reprojection += 1,
            }
        }
        s
    }

    /// A readable table.
    pub fn table(&self) -> String {
        let pct = |n: usize| 100.0 * n as f64 / self.labelled.max(1) as f64;
        format!(
            "step                          discarded      share\n\
             1 keypoint confidence        {:>9} {:>9.1}%\n\
             2 invalid expert output      {:>9} {:>9.1}%\n\
             3 reprojection error         {:>9} {:>9.1}%\n\
             kept                         {:>9} {:>9.1}%  of {} labelled\n\
             part labels off in kept: face {}, left hand {}, right hand {}\n",
            self.dropped_keypoint_confidence,
            pct(self.dropped_keypoint_confidence),
            self.dropped_invalid_output,
            pct(self.dropped_invalid_output),
            self.dropped_reprojection,
            pct(self.dropped_reprojection),
            self.kept,
            pct(self.kept),
            self.labelled,
            self.face_labels_off,
            self.left_hand_labels_off,
            self.right_hand_labels_off,
        )
    }
}
