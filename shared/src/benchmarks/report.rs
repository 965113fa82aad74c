//! The evaluation report: means over samples, `report.md` in the layout of
//! the paper's Table 1 (method | PA-V2V all | body | L-hand | R-hand | face |
//! PA-MPJPE, mm), `report.json` (every metric, per sample too) and
//! `per_sample.csv`.

use serde::Serialize;

use super::score::{SampleScore, ScanErrorMm};
use crate::metrics::Part;

/// Means over the samples; `None` where the benchmark has no such metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeanScores {
    pub pa_v2v_mm: Option<f64>,
    pub body_mm: Option<f64>,
    pub left_hand_mm: Option<f64>,
    pub right_hand_mm: Option<f64>,
    pub face_mm: Option<f64>,
    pub pa_mpjpe_mm: Option<f64>,
    pub f_score_5mm: Option<f64>,
    pub f_score_15mm: Option<f64>,
    /// Means of the per-sample mean, median and standard deviation.
    pub scan_to_mesh_mm: Option<ScanErrorMm>,
}

impl MeanScores {
    pub fn of(samples: &[SampleScore]) -> Self {
        let mean = |f: &dyn Fn(&SampleScore) -> Option<f64>| -> Option<f64> {
            let values: Option<Vec<f64>> = samples.iter().map(f).collect();
            values
                .filter(|v| !v.is_empty())
                .map(|v| v.iter().sum::<f64>() / v.len() as f64)
        };
        let part = |p: Part| mean(&|s| s.parts_mm.and_then(|e| e.get(p)));
        let s2m = |f: fn(&ScanErrorMm) -> f64| mean(&|s| s.scan_to_mesh_mm.as_ref().map(f));
        Self {
            pa_v2v_mm: mean(&|s| s.pa_v2v_mm),
            body_mm: part(Part::Body),
            left_hand_mm: part(Part::LeftHand),
            right_hand_mm: part(Part::RightHand),
            face_mm: part(Part::Face),
            pa_mpjpe_mm: mean(&|s| s.pa_mpjpe_mm),
            f_score_5mm: mean(&|s| s.f_score_5mm),
            f_score_15mm: mean(&|s| s.f_score_15mm),
            scan_to_mesh_mm: match (s2m(|s| s.mean), s2m(|s| s.median), s2m(|s| s.std)) {
                (Some(mean), Some(median), Some(std)) => Some(ScanErrorMm { mean, median, std }),
                _ => None,
            },
        }
    }
}

/// Everything `furpe eval` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub dataset: String,
    pub root: String,
    /// The predictor, e.g. "mean-parameter baseline" or "predictions in DIR".
    pub method: String,
    /// The body model that posed the predictions.
    pub model: String,
    pub evaluated: String,
    /// Where the SMPL-X part vertices come from: official correspondence
    /// files or a model's skinning weights.
    pub part_vertex_source: String,
    /// FreiHAND: "MANO_SMPLX_vertex_ids.pkl …" or "joints only".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hand_vertex_source: Option<String>,
    pub notes: Vec<String>,
    pub num_samples: usize,
    pub mean: MeanScores,
    /// Constant predictors scored on the same samples: the best constant
    /// (the training labels' mean, when given), the predictor's own mean
    /// prediction used for every sample, the zero-parameter body.
    pub constants: Vec<ConstantRow>,
    /// Input dependence: how much the predictions differ from one another,
    /// next to how much the ground truth does.
    pub spread: Option<Spread>,
    pub per_sample: Vec<SampleScore>,
}

/// One constant predictor's means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstantRow {
    pub name: String,
    pub mean: MeanScores,
}

/// [`crate::baseline::spread_mm`] of the predictions and of the ground truth,
/// on the points PA-MPJPE compares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    pub predictions_mm: f64,
    pub ground_truth_mm: f64,
    pub points: String,
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.digits$}"))
}

impl EvalReport {
    /// `report.md`.
    pub fn markdown(&self) -> String {
        let m = &self.mean;
        let mut out = format!(
            "# furpe eval: {}\n\n{} samples from `{}`; evaluated: {}.\n\n",
            self.dataset, self.num_samples, self.root, self.evaluated
        );
        out += "Errors in mm after a similarity Procrustes alignment (per part: each part aligned on its own).\n\n";
        let mut header =
            "| method | PA-V2V all | body | L-hand | R-hand | face | PA-MPJPE |".to_string();
        let mut rule = "|---|---|---|---|---|---|---|".to_string();
        let mut row = format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            self.method,
            cell(m.pa_v2v_mm, 1),
            cell(m.body_mm, 1),
            cell(m.left_hand_mm, 1),
            cell(m.right_hand_mm, 1),
            cell(m.face_mm, 1),
            cell(m.pa_mpjpe_mm, 1)
        );
        if m.f_score_5mm.is_some() {
            header += " F@5mm | F@15mm |";
            rule += "---|---|";
            row += &format!(
                " {} | {} |",
                cell(m.f_score_5mm, 3),
                cell(m.f_score_15mm, 3)
            );
        }
        if let Some(s) = &m.scan_to_mesh_mm {
            header += " scan-to-mesh mean | median | std |";
            rule += "---|---|---|";
            row += &format!(" {:.2} | {:.2} | {:.2} |", s.mean, s.median, s.std);
        }
        out += &format!("{header}\n{rule}\n{row}\n");
        for c in &self.constants {
            let m = &c.mean;
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.name,
                cell(m.pa_v2v_mm, 1),
                cell(m.body_mm, 1),
                cell(m.left_hand_mm, 1),
                cell(m.right_hand_mm, 1),
                cell(m.face_mm, 1),
                cell(m.pa_mpjpe_mm, 1)
            );
            if m.f_score_5mm.is_some() {
                out += &format!(
                    " {} | {} |",
                    cell(m.f_score_5mm, 3),
                    cell(m.f_score_15mm, 3)
                );
            }
            if let Some(s) = &m.scan_to_mesh_mm {
                out += &format!(" {:.2} | {:.2} | {:.2} |", s.mean, s.median, s.std);
            }
            out += "\n";
        }
        out += "\n";
        if let Some(s) = &self.spread {
            out += &format!(
                "Input dependence ({}): the predictions differ from their own mean shape by {:.1} mm on average, the ground truth by {:.1} mm (a predictor that ignores its input scores 0).\n\n",
                s.points, s.predictions_mm, s.ground_truth_mm
            );
        }
        out += &format!("- body model: {}\n", self.model);
        out += &format!("- part vertices: {}\n", self.part_vertex_source);
        if let Some(h) = &self.hand_vertex_source {
            out += &format!("- hand vertices: {h}\n");
        }
        for note in &self.notes {
            out += &format!("- {note}\n");
        }
        out
    }

    /// `per_sample.csv`: one row per sample, empty cells where a metric does not apply.
    pub fn csv(&self) -> String {
        let mut out = "id,pa_v2v_mm,body_mm,left_hand_mm,right_hand_mm,face_mm,pa_mpjpe_mm,f_score_5mm,f_score_15mm,scan_to_mesh_mean_mm,scan_to_mesh_median_mm,scan_to_mesh_std_mm\n".to_string();
        let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
        for s in &self.per_sample {
            let part = |p: Part| f(s.parts_mm.and_then(|e| e.get(p)));
            let id = if s.id.contains([',', '"']) {
                format!("\"{}\"", s.id.replace('"', "\"\""))
            } else {
                s.id.clone()
            };
            let cells = [
                id,
                f(s.pa_v2v_mm),
                part(Part::Body),
                part(Part::LeftHand),
                part(Part::RightHand),
                part(Part::Face),
                f(s.pa_mpjpe_mm),
                f(s.f_score_5mm),
                f(s.f_score_15mm),
                f(s.scan_to_mesh_mm.map(|e| e.mean)),
                f(s.scan_to_mesh_mm.map(|e| e.median)),
                f(s.scan_to_mesh_mm.map(|e| e.std)),
            ];
            out += &cells.join(",");
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::PartErrorsMm;

    fn sample(id: &str, v2v: f64) -> SampleScore {
        SampleScore {
            id: id.into(),
            pa_v2v_mm: Some(v2v),
            parts_mm: Some(PartErrorsMm {
                body: Some(v2v + 1.0),
                left_hand: Some(2.0),
                right_hand: Some(3.0),
                face: None,
            }),
            pa_mpjpe_mm: Some(10.0),
            f_score_5mm: None,
            f_score_15mm: None,
            scan_to_mesh_mm: None,
            overlay: None,
        }
    }

    #[test]
    fn means_tables_and_csv() {
        let per_sample = vec![sample("a", 10.0), sample("b,c", 30.0)];
        let mean = MeanScores::of(&per_sample);
        assert_eq!(mean.pa_v2v_mm, Some(20.0));
        assert_eq!(mean.body_mm, Some(21.0));
        assert_eq!(mean.face_mm, None);
        let report = EvalReport {
            dataset: "ehf".into(),
            root: "R".into(),
            method: "m".into(),
            model: "x".into(),
            evaluated: "whole body".into(),
            part_vertex_source: "skinning weights of x".into(),
            hand_vertex_source: None,
            notes: vec![],
            num_samples: 2,
            mean: mean.clone(),
            constants: vec![ConstantRow {
                name: "own mean".into(),
                mean,
            }],
            spread: Some(Spread {
                predictions_mm: 1.5,
                ground_truth_mm: 80.0,
                points: "22 body joints".into(),
            }),
            per_sample,
        };
        let md = report.markdown();
        assert!(
            md.contains("| m | 20.0 | 21.0 | 2.0 | 3.0 | — | 10.0 |"),
            "{md}"
        );
        assert!(md.contains("| own mean | 20.0 | 21.0 |"), "{md}");
        assert!(
            md.contains("by 1.5 mm on average, the ground truth by 80.0 mm"),
            "{md}"
        );
        let csv = report.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[2].starts_with("\"b,c\",30.000000,31.000000,2.0"),
            "{csv}"
        );
        assert_eq!(lines[1].split(',').count(), lines[0].split(',').count());
    }
}
