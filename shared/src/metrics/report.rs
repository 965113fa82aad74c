//! A batch of samples evaluated at once (`evaluate`): per-sample and mean
//! errors, per-part summaries and hand F-scores, serialisable for reports.

use serde::Serialize;

use super::{
    check_pair, f_score, mean_distance, part_pa_errors, similarity_procrustes, MetricsError, Part,
    PartVertices, Point, Result, F_SCORE_THRESHOLDS, HAND_NUM_KEYPOINTS, MANO_NUM_VERTICES,
};

/// Per-part PA errors of one sample, millimetres (`null`: empty part).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PartErrorsMm {
    pub body: Option<f64>,
    pub left_hand: Option<f64>,
    pub right_hand: Option<f64>,
    pub face: Option<f64>,
}

impl PartErrorsMm {
    pub fn get(&self, part: Part) -> Option<f64> {
        match part {
            Part::Body => self.body,
            Part::LeftHand => self.left_hand,
            Part::RightHand => self.right_hand,
            Part::Face => self.face,
        }
    }
}

/// Metrics of one sample, millimetres.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleMetrics {
    /// Mean per-point distance, no alignment.
    pub error_mm: f64,
    /// Mean per-point distance after similarity Procrustes.
    pub pa_error_mm: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<PartErrorsMm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_5mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_15mm: Option<f64>,
}

/// One part over all samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartSummary {
    pub num_vertices: usize,
    pub pa_error_mm: Option<f64>,
}

/// Per-part results over all samples, with where the parts came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartsSummary {
    /// "official correspondence files in DIR" or "skinning weights of MODEL".
    pub source: String,
    pub body: PartSummary,
    pub left_hand: PartSummary,
    pub right_hand: PartSummary,
    pub face: PartSummary,
}

impl PartsSummary {
    pub fn get(&self, part: Part) -> &PartSummary {
        match part {
            Part::Body => &self.body,
            Part::LeftHand => &self.left_hand,
            Part::RightHand => &self.right_hand,
            Part::Face => &self.face,
        }
    }
}

/// Metrics of a batch: means over samples (all samples have the same number
/// of points, so these are also means over all points) and per sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchReport {
    pub num_samples: usize,
    pub num_points: usize,
    pub error_mm: f64,
    pub pa_error_mm: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<PartsSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_5mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_score_15mm: Option<f64>,
    pub per_sample: Vec<SampleMetrics>,
}

/// Evaluates `N` samples of `num_points` points each (`pred` and `gt` are
/// `[N · num_points]`): errors with and without similarity Procrustes,
/// per-part PA errors when `parts` is given, and F@5mm / F@15mm when
/// `num_points` is a hand layout (778 MANO vertices or 21 keypoints).
pub fn evaluate(
    pred: &[Point],
    gt: &[Point],
    num_points: usize,
    parts: Option<&PartVertices>,
) -> Result<BatchReport> {
    check_pair(pred, gt)?;
    if num_points == 0 || !pred.len().is_multiple_of(num_points) {
        return Err(MetricsError::Invalid(format!(
            "{} points do not split into samples of {num_points}",
            pred.len()
        )));
    }
    let hand = num_points == MANO_NUM_VERTICES || num_points == HAND_NUM_KEYPOINTS;
    let mm = |m: f64| m * 1000.0;
    let per_sample = pred
        .chunks_exact(num_points)
        .zip(gt.chunks_exact(num_points))
        .map(|(p, g)| {
            let aligned = similarity_procrustes(p, g)?;
            let parts = parts
                .map(|parts| -> Result<PartErrorsMm> {
                    let [body, left_hand, right_hand, face] =
                        part_pa_errors(p, g, parts)?.map(|e| e.map(mm));
                    Ok(PartErrorsMm {
                        body,
                        left_hand,
                        right_hand,
                        face,
                    })
                })
                .transpose()?;
            let (f5, f15) = if hand {
                (
                    Some(f_score(&aligned, g, F_SCORE_THRESHOLDS[0])?),
                    Some(f_score(&aligned, g, F_SCORE_THRESHOLDS[1])?),
                )
            } else {
                (None, None)
            };
            Ok(SampleMetrics {
                error_mm: mm(mean_distance(p, g)?),
                pa_error_mm: mm(mean_distance(&aligned, g)?),
                parts,
                f_score_5mm: f5,
                f_score_15mm: f15,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let n = per_sample.len() as f64;
    let mean = |f: &dyn Fn(&SampleMetrics) -> Option<f64>| -> Option<f64> {
        per_sample.iter().map(f).sum::<Option<f64>>().map(|s| s / n)
    };
    let parts = parts.map(|parts| {
        let summary = |part: Part| PartSummary {
            num_vertices: parts.part(part).len(),
            pa_error_mm: mean(&|s| s.parts.and_then(|e| e.get(part))),
        };
        PartsSummary {
            source: parts.source.to_string(),
            body: summary(Part::Body),
            left_hand: summary(Part::LeftHand),
            right_hand: summary(Part::RightHand),
            face: summary(Part::Face),
        }
    });
    Ok(BatchReport {
        num_samples: per_sample.len(),
        num_points,
        error_mm: mean(&|s| Some(s.error_mm)).unwrap_or(0.0),
        pa_error_mm: mean(&|s| Some(s.pa_error_mm)).unwrap_or(0.0),
        parts,
        f_score_5mm: mean(&|s| s.f_score_5mm),
        f_score_15mm: mean(&|s| s.f_score_15mm),
        per_sample,
    })
}
