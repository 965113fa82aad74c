//! What a training run writes and returns, as types: the held-out
//! measurement, each `log.jsonl` line, and the run's summary. Readers (the
//! curves, log truncation on resume, the ablation) parse these same types,
//! so a renamed field is a compile error, not a silent NaN.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Held-out errors of one predictor (the student, the best constant or the
/// zero-parameter body), and the input dependence of its predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    pub samples: usize,
    pub pa_v2v_mm: f64,
    pub pa_mpjpe_mm: f64,
    /// Mean Procrustes distance of the predicted joints to their own mean
    /// shape (`furpe::baseline::spread_mm`): 0 for a constant; `None`
    /// below two samples.
    pub spread_mm: Option<f64>,
    /// The same for the ground truth.
    pub ground_truth_spread_mm: Option<f64>,
}

/// What a trained student is compared with: the best constant (the
/// training labels' mean, `label_mean.json`) and, as a second row, the
/// zero-parameter body.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    #[serde(flatten)]
    pub best_constant: HeldOut,
    pub zero_body: HeldOut,
}

/// One training step's line of `log.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: usize,
    pub epoch: usize,
    pub lr: f64,
    pub tau: f64,
    /// `L_total`, averaged over the peers.
    pub loss: f32,
    pub images_per_s: f64,
    /// Seconds preparing the batch.
    pub load_s: f64,
    /// Seconds in the all-reduces (waiting for the other peers included).
    pub sync_s: f64,
    /// Each loss term by name (`losses::supervised`'s names, `consistency`).
    #[serde(flatten)]
    pub terms: BTreeMap<String, f32>,
}

/// One epoch's validation line of `log.jsonl` (written as `{"validation": …}`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidationRecord {
    pub step: usize,
    /// Epochs completed (1-based).
    pub epoch: usize,
    /// `None` when the dataset holds no held-out ground truth.
    #[serde(flatten)]
    pub held_out: Option<HeldOut>,
    pub baseline_pa_v2v_mm: Option<f64>,
    pub baseline_pa_mpjpe_mm: Option<f64>,
}

/// A line of `log.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LogLine {
    Validation { validation: ValidationRecord },
    Step(StepRecord),
}

impl LogLine {
    /// The step the line was written at.
    pub fn step(&self) -> usize {
        match self {
            LogLine::Validation { validation } => validation.step,
            LogLine::Step(s) => s.step,
        }
    }

    /// The lines of a log that parse; others (a line cut by a crash) are skipped.
    pub fn parse_all(text: &str) -> impl Iterator<Item = LogLine> + '_ {
        text.lines().filter_map(|l| serde_json::from_str(l).ok())
    }
}

/// What `furpe train` prints and returns when a peer finishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub steps: usize,
    /// Devices this machine trained on.
    pub devices: usize,
    /// Which peer this summary is from (0: the leader).
    pub peer: usize,
    /// Digest of the final weights (replicas agree bit for bit).
    pub weights: String,
    /// The last validation (leader only).
    pub validation: Option<ValidationRecord>,
    /// The best constant and the zero-parameter body on the same held-out
    /// images (leader only, when the data hold ground truth).
    pub baseline: Option<Baseline>,
    /// The exported student (leader only).
    pub student: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(v: f64) -> HeldOut {
        HeldOut {
            samples: 4,
            pa_v2v_mm: v,
            pa_mpjpe_mm: v - 10.0,
            spread_mm: Some(3.0),
            ground_truth_spread_mm: Some(70.0),
        }
    }

    #[test]
    fn log_lines_read_back_as_written() {
        let step = LogLine::Step(StepRecord {
            step: 7,
            epoch: 1,
            lr: 1e-3,
            tau: 0.99,
            loss: 2.5,
            images_per_s: 10.0,
            load_s: 0.1,
            sync_s: 0.0,
            terms: [("body_pose".to_string(), 1.25f32)].into_iter().collect(),
        });
        let validation = LogLine::Validation {
            validation: ValidationRecord {
                step: 8,
                epoch: 2,
                held_out: Some(held(120.0)),
                baseline_pa_v2v_mm: Some(130.0),
                baseline_pa_mpjpe_mm: Some(120.0),
            },
        };
        let empty = LogLine::Validation {
            validation: ValidationRecord {
                step: 9,
                epoch: 3,
                held_out: None,
                baseline_pa_v2v_mm: None,
                baseline_pa_mpjpe_mm: None,
            },
        };
        let text: String = [&step, &validation, &empty]
            .iter()
            .map(|l| serde_json::to_string(l).unwrap() + "\n")
            .collect::<String>()
            + "{\"step\": 10, \"lo"; // a line cut by a crash
        let back: Vec<LogLine> = LogLine::parse_all(&text).collect();
        assert_eq!(back, vec![step, validation, empty]);
        assert_eq!(
            back.iter().map(LogLine::step).collect::<Vec<_>>(),
            [7, 8, 9]
        );
        // The on-disk names the curves and older tools read.
        let line = serde_json::to_value(&back[1]).unwrap();
        assert_eq!(line["validation"]["pa_v2v_mm"], 120.0);
        assert_eq!(line["validation"]["baseline_pa_v2v_mm"], 130.0);
        let line = serde_json::to_value(&back[0]).unwrap();
        assert_eq!(line["body_pose"], 1.25);
        assert_eq!(line["loss"], 2.5);
    }

    #[test]
    fn the_baseline_keeps_the_best_constant_at_the_top_level() {
        let b = Baseline {
            best_constant: held(150.0),
            zero_body: held(210.0),
        };
        let v = serde_json::to_value(b).unwrap();
        assert_eq!(v["pa_v2v_mm"], 150.0);
        assert_eq!(v["zero_body"]["pa_v2v_mm"], 210.0);
        assert_eq!(serde_json::from_value::<Baseline>(v).unwrap(), b);
    }
}
