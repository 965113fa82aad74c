//! The synthetic world (`furpe synth`) as a benchmark: `DIR/annotations.jsonl`
//! with exact SMPL-X ground truth; the caller poses the ground-truth
//! parameters with the body model (the mannequin unless `--model`).

use std::path::Path;

use super::{existing, intrinsics, BenchmarkError, EvalSample, Target};
use crate::dataset::read_annotations;

pub fn load(root: &Path, limit: Option<usize>) -> Result<Vec<EvalSample>, BenchmarkError> {
    let path = root.join("annotations.jsonl");
    if !path.exists() {
        return Err(BenchmarkError::Layout {
            root: root.display().to_string(),
            dataset: "a synthetic world",
            expected: "annotations.jsonl with ground truth (written by `furpe synth`) and images/"
                .into(),
        });
    }
    let annotations =
        read_annotations(&path).map_err(|e| BenchmarkError::format(&path, e.to_string()))?;
    let mut out = Vec::new();
    for (line, a) in annotations
        .iter()
        .enumerate()
        .take(limit.unwrap_or(usize::MAX))
    {
        let record = format!("{}:{}", path.display(), line + 1);
        let gt = a.ground_truth.as_ref().ok_or_else(|| {
            BenchmarkError::format(
                &path,
                format!(
                    "line {}: no ground truth (not a synthetic world?)",
                    line + 1
                ),
            )
        })?;
        let params = gt
            .smplx_params(&record)
            .map_err(|reason| BenchmarkError::Format {
                file: record.clone(),
                reason,
            })?;
        let image = existing(root.join(&a.image), "image named by annotations.jsonl")?;
        let id = Path::new(&a.image)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("{line:06}"));
        out.push(EvalSample {
            id,
            image,
            person_box: Some(a.person_box),
            keypoints: Some(a.keypoints.clone()),
            camera: gt.camera.map(|c| intrinsics(c.focal, c.center)),
            target: Target::SmplxParams {
                params: Box::new(params),
                flat_hand_mean: gt.flat_hand_mean,
                world_to_camera: gt.camera,
            },
        });
    }
    Ok(out)
}
