//! FreiHAND (Zimmermann et al. 2019), the evaluation set: right hands with
//! MANO fits. Published layout:
//!
//! ```text
//! evaluation_K.json       [N][3][3] intrinsics
//! evaluation_xyz.json     [N][21][3] keypoints, metres, camera frame (OpenPose hand order)
//! evaluation_verts.json   [N][778][3] MANO vertices, metres, camera frame
//! evaluation/rgb/%08d.jpg the 224 × 224 images
//! ```
//!
//! FreiHAND gives no 2D detections; the box is the projected keypoints,
//! grown by 10% (the images are hand crops already).

use std::path::Path;

use super::{
    box_of_projection, existing, intrinsics, json_floats, points, BenchmarkError, EvalSample,
    Target,
};
use crate::metrics::{HAND_NUM_KEYPOINTS, MANO_NUM_VERTICES};

pub fn load(root: &Path, limit: Option<usize>) -> Result<Vec<EvalSample>, BenchmarkError> {
    let k_path = root.join("evaluation_K.json");
    if !k_path.exists() {
        return Err(BenchmarkError::Layout {
            root: root.display().to_string(),
            dataset: "FreiHAND",
            expected: "evaluation_K.json, evaluation_xyz.json, evaluation_verts.json and evaluation/rgb/%08d.jpg".into(),
        });
    }
    let read =
        |name: &str| -> Result<(std::path::PathBuf, Vec<serde_json::Value>), BenchmarkError> {
            let path = existing(root.join(name), "FreiHAND evaluation annotations")?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| BenchmarkError::format(&path, e.to_string()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| BenchmarkError::format(&path, format!("not valid JSON: {e}")))?;
            match value {
                serde_json::Value::Array(items) => Ok((path, items)),
                _ => Err(BenchmarkError::format(
                    &path,
                    "expected a JSON list, one entry per image",
                )),
            }
        };
    let (k_path, ks) = read("evaluation_K.json")?;
    let (xyz_path, xyzs) = read("evaluation_xyz.json")?;
    let (verts_path, verts) = read("evaluation_verts.json")?;
    if xyzs.len() != ks.len() || verts.len() != ks.len() {
        return Err(BenchmarkError::format(
            root,
            format!(
                "evaluation_K.json, evaluation_xyz.json and evaluation_verts.json list {}, {} and {} images; expected the same",
                ks.len(),
                xyzs.len(),
                verts.len()
            ),
        ));
    }
    let n = ks.len().min(limit.unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let what = |key: &str| format!("entry {i} ({key})");
        let k = json_floats(&ks[i], &[3, 3], &k_path, &what("intrinsics"))?;
        let joints = points(&json_floats(
            &xyzs[i],
            &[HAND_NUM_KEYPOINTS, 3],
            &xyz_path,
            &what("keypoints"),
        )?);
        let vertices = points(&json_floats(
            &verts[i],
            &[MANO_NUM_VERTICES, 3],
            &verts_path,
            &what("MANO vertices"),
        )?);
        let camera = intrinsics([k[0], k[4]], [k[2], k[5]]);
        let image = existing(
            root.join("evaluation")
                .join("rgb")
                .join(format!("{i:08}.jpg")),
            "FreiHAND image (evaluation/rgb/%08d.jpg)",
        )?;
        out.push(EvalSample {
            id: format!("{i:08}"),
            image,
            person_box: box_of_projection(&camera, &joints),
            keypoints: None,
            camera: Some(camera),
            target: Target::RightHand { joints, vertices },
        });
    }
    Ok(out)
}
