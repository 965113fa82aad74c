//! The dataset format: images plus one JSON annotation per line (JSONL).
//!
//! Every source (the synthetic world, a folder of OpenPose output, ExPose's
//! curated fits) is brought into this one form, so labelling, selection,
//! training and evaluation read a single format:
//!
//! ```text
//! DIR/annotations.jsonl   one `Annotation` per line
//! DIR/images/…            the images, paths relative to DIR
//! DIR/labels/…            pseudo-label shards (safetensors), written by `furpe label`
//! ```

pub mod expose;
pub mod openpose;

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::camera::PinholeCamera;
use crate::keypoints::NUM_OPENPOSE137;
use crate::smplx::{params::ParamWidths, SmplxParams};

/// One person in one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Image path relative to the dataset directory.
    pub image: String,
    pub width: u32,
    pub height: u32,
    /// Person box (x0, y0, x1, y1) in pixels.
    pub person_box: [f32; 4],
    /// OpenPose-137 keypoints (body 25, left hand 21, right hand 21, face 70),
    /// each (x, y, confidence) in pixels; a missed point is (0, 0, 0).
    pub keypoints: Vec<[f32; 3]>,
    /// Where the keypoints come from: "openpose", "simulated-openpose"
    /// (the synthetic world's simulated detector), "expose-curated-fits", …
    pub keypoint_source: String,
    /// Ground truth, when the source has it (the synthetic world does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_truth: Option<GroundTruth>,
}

/// Exact SMPL-X parameters and camera of an annotated person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// One body's parameters under the reference package's names (flat arrays).
    pub params: serde_json::Value,
    /// The camera that took the image; `None` where only 2D is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<PinholeCamera>,
    /// Hand poses in `params` are absolute (no mean hand added).
    #[serde(default)]
    pub flat_hand_mean: bool,
}

impl GroundTruth {
    pub fn new(params: &SmplxParams, camera: Option<PinholeCamera>, flat_hand_mean: bool) -> Self {
        Self {
            params: params.to_json(crate::smplx::Batching::Single),
            camera,
            flat_hand_mean,
        }
    }

    /// The parameters, parsed; `source` names the file in errors.
    pub fn smplx_params(&self, source: &str) -> Result<SmplxParams, String> {
        let widths = ParamWidths {
            max_betas: 300,
            max_expression: 100,
            ..ParamWidths::default()
        };
        SmplxParams::from_json(&self.params.to_string(), source, widths).map(|(p, _)| p)
    }
}

/// An error reading annotations, naming the file and line.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{file}: {reason}")]
    Io { file: String, reason: String },
    #[error("{file}:{line}: {reason}")]
    Record {
        file: String,
        line: usize,
        reason: String,
    },
}

/// Reads `annotations.jsonl`; every record is validated.
pub fn read_annotations(path: &Path) -> Result<Vec<Annotation>, DatasetError> {
    let file_name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DatasetError::Io {
        file: file_name.clone(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| DatasetError::Io {
            file: file_name.clone(),
            reason: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record = |reason: String| DatasetError::Record {
            file: file_name.clone(),
            line: i + 1,
            reason,
        };
        let annotation: Annotation =
            serde_json::from_str(&line).map_err(|e| record(e.to_string()))?;
        annotation.validate().map_err(record)?;
        out.push(annotation);
    }
    if out.is_empty() {
        return Err(DatasetError::Io {
            file: file_name,
            reason: "no annotations (empty file)".into(),
        });
    }
    Ok(out)
}

/// Writes annotations as JSONL, atomically.
pub fn write_annotations(path: &Path, annotations: &[Annotation]) -> std::io::Result<()> {
    crate::io::write_atomic(path, |w| {
        for a in annotations {
            serde_json::to_writer(&mut *w, a).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

impl Annotation {
    /// Checks sizes and values; returns what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.keypoints.len() != NUM_OPENPOSE137 {
            return Err(format!(
                "'keypoints' has {} points, expected {NUM_OPENPOSE137} (OpenPose body 25 + hands 21 + 21 + face 70)",
                self.keypoints.len()
            ));
        }
        if self.keypoints.iter().flatten().any(|v| !v.is_finite()) {
            return Err("'keypoints' holds a non-finite value".into());
        }
        if self.width == 0 || self.height == 0 {
            return Err(format!(
                "image size {}x{} is empty",
                self.width, self.height
            ));
        }
        let [x0, y0, x1, y1] = self.person_box;
        if !(x1 > x0 && y1 > y0) || self.person_box.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "'person_box' {:?} is not (x0, y0, x1, y1) with x1 > x0, y1 > y0",
                self.person_box
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Annotation {
        Annotation {
            image: "images/000000.png".into(),
            width: 256,
            height: 256,
            person_box: [10.0, 20.0, 200.0, 250.0],
            keypoints: vec![[1.0, 2.0, 0.9]; NUM_OPENPOSE137],
            keypoint_source: "simulated-openpose".into(),
            ground_truth: Some(GroundTruth::new(
                &SmplxParams::zeros(1, ParamWidths::default()),
                None,
                false,
            )),
        }
    }

    #[test]
    fn jsonl_roundtrip_and_errors() {
        let dir = std::env::temp_dir().join(format!("furpe-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("annotations.jsonl");
        write_annotations(&path, &[sample(), sample()]).unwrap();
        let back = read_annotations(&path).unwrap();
        assert_eq!(back, vec![sample(), sample()]);
        assert!(back[0]
            .ground_truth
            .as_ref()
            .unwrap()
            .smplx_params("x")
            .is_ok());

        let mut bad = sample();
        bad.keypoints.pop();
        let line = serde_json::to_string(&bad).unwrap();
        std::fs::write(
            &path,
            format!("{}\n{line}\n", serde_json::to_string(&sample()).unwrap()),
        )
        .unwrap();
        let err = read_annotations(&path).unwrap_err().to_string();
        assert!(
            err.contains("annotations.jsonl:2") && err.contains("136 points"),
            "{err}"
        );
        std::fs::write(&path, "").unwrap();
        assert!(read_annotations(&path)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
