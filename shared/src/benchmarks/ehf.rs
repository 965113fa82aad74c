//! EHF (Pavlakos et al. 2019): 100 images of one person with SMPL-X meshes
//! fitted to 3D scans. Published layout, one folder:
//!
//! ```text
//! NN_img.png | NN_img.jpg   the image (1600 × 1200)
//! NN_2Djnt.json             OpenPose JSON (body 25, hands, face)
//! NN_align.ply              the ground-truth SMPL-X mesh (10 475 vertices), scanner frame
//! ```
//!
//! The meshes are moved into the camera frame with ExPose's fixed transform
//! ([`ROTATION_AXIS_ANGLE`], [`TRANSLATION`]); the camera is [`FOCAL`],
//! [`CENTER`].

use std::path::Path;

use super::{existing, files_ending, intrinsics, transform, BenchmarkError, EvalSample, Target};
use crate::dataset::openpose::{box_from_keypoints, parse_openpose_json};
use crate::metrics::{Point, SMPLX_NUM_VERTICES};

/// Scanner → camera rotation (Rodrigues vector) and translation, metres
/// (ExPose's values; 0.4342 is not log10(e)).
pub const ROTATION_AXIS_ANGLE: [f64; 3] = [-2.98748, 0.01172, -0.05705];
#[allow(clippy::approx_constant)]
pub const TRANSLATION: [f64; 3] = [-0.0361, 0.4342, 2.3710];
/// Camera intrinsics, pixels.
pub const FOCAL: f64 = 1498.22;
pub const CENTER: [f64; 2] = [790.26, 578.90];

const MESH_SUFFIX: &str = "_align.ply";

pub fn load(root: &Path, limit: Option<usize>) -> Result<Vec<EvalSample>, BenchmarkError> {
    let meshes = files_ending(root, MESH_SUFFIX)?;
    if meshes.is_empty() {
        return Err(BenchmarkError::Layout {
            root: root.display().to_string(),
            dataset: "EHF",
            expected: "NN_align.ply ground-truth meshes beside NN_img.png|jpg and NN_2Djnt.json"
                .into(),
        });
    }
    let rotation = crate::rotation::host::axis_angle_to_matrix(ROTATION_AXIS_ANGLE);
    let camera = intrinsics([FOCAL; 2], CENTER);
    let mut out = Vec::new();
    for name in meshes.iter().take(limit.unwrap_or(usize::MAX)) {
        let id = name.trim_end_matches(MESH_SUFFIX).to_string();
        let image = ["png", "jpg"]
            .map(|ext| root.join(format!("{id}_img.{ext}")))
            .into_iter()
            .find(|p| p.exists())
            .ok_or_else(|| {
                BenchmarkError::missing(
                    &root.join(format!("{id}_img.png")),
                    format!("EHF image of sample {id} (NN_img.png or NN_img.jpg)"),
                )
            })?;
        let json = existing(
            root.join(format!("{id}_2Djnt.json")),
            "EHF OpenPose keypoints (NN_2Djnt.json)",
        )?;
        let text = std::fs::read_to_string(&json)
            .map_err(|e| BenchmarkError::format(&json, e.to_string()))?;
        let people = parse_openpose_json(&text, &json.display().to_string()).map_err(|reason| {
            BenchmarkError::Format {
                file: json.display().to_string(),
                reason,
            }
        })?;
        let keypoints = people.into_iter().next();
        let person_box = keypoints
            .as_ref()
            .and_then(|k| box_from_keypoints(k, 0.1, 0.1, u32::MAX, u32::MAX));

        let mesh_path = root.join(name);
        let mesh = crate::mesh::read_mesh(&mesh_path)
            .map_err(|e| BenchmarkError::format(&mesh_path, e.reason))?;
        if mesh.vertices.len() != SMPLX_NUM_VERTICES {
            return Err(BenchmarkError::format(
                &mesh_path,
                format!(
                    "{} vertices, expected {SMPLX_NUM_VERTICES} (an SMPL-X mesh)",
                    mesh.vertices.len()
                ),
            ));
        }
        let mut vertices: Vec<Point> = mesh.vertices;
        transform(&mut vertices, &rotation, TRANSLATION);
        out.push(EvalSample {
            id,
            image,
            person_box,
            keypoints,
            camera: Some(camera),
            target: Target::SmplxMesh(vertices),
        });
    }
    Ok(out)
}
