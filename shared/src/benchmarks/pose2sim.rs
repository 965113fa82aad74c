//! Pose2Sim's demo (PyPI `pose2sim`, BSD-3): real people filmed by four
//! synchronised, calibrated cameras. Nobody annotated it in 3D, so the
//! reference is a **multi-view pseudo ground truth**: each frame's 2D
//! keypoints from every view (a detector's, e.g. `furpe detect`),
//! triangulated with the calibration ([`crate::multiview`]). Every predictor
//! is then scored on each single view, in that camera's frame.
//!
//! Layout (what `scripts/eval-pose2sim.sh` writes from the demo's videos):
//!
//! ```text
//! calibration/<one file>.qca.txt | .toml   Qualisys export or Pose2Sim Calib.toml
//! images/<camera>_<frame>.jpg|png          each camera's frames, named by the
//!                                          calibration's camera name; the same
//!                                          <frame> in every camera is one instant
//! pose/<camera>_<frame>_keypoints.json     OpenPose --write_json (first person)
//! ```
//!
//! Images may be the calibration's size or uniformly scaled from it (the
//! intrinsics follow the image height). The reference holds the 12 limb
//! joints (shoulders, elbows, wrists, hips, knees, ankles: BODY_25 points
//! [`LIMB_JOINTS`]); a frame where one of them cannot be triangulated within
//! [`MAX_REPROJECTION`] in at least two views is left out.

use std::collections::BTreeMap;
use std::path::Path;

use super::{files_ending, intrinsics, BenchmarkError, EvalSample, Target};
use crate::dataset::openpose::{box_from_keypoints, parse_openpose_json};
use crate::keypoints::NUM_OPENPOSE137;
use crate::metrics::Point;
use crate::multiview::{read_calibration, triangulate, Observation, RigCamera};

/// BODY_25 indices of the compared joints: right shoulder, elbow, wrist,
/// left shoulder, elbow, wrist, right hip, knee, ankle, left hip, knee,
/// ankle (the 12 limb joints of the LSP-14 set that PA-MPJPE on 3DPW-like
/// benchmarks uses, without head and neck, which detectors and body models
/// place differently).
pub const LIMB_JOINTS: [usize; 12] = [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14];
/// A view's keypoint takes part in the triangulation above this confidence.
pub const MIN_CONFIDENCE: f32 = 0.5;
/// Largest reprojection error of a kept view, as a fraction of the image
/// height (29 px of Pose2Sim's 1920): beyond it the view is dropped.
pub const MAX_REPROJECTION: f64 = 0.015;

/// One camera's frame on disk.
struct View {
    camera: usize,
    stem: String,
    image: std::path::PathBuf,
    keypoints: Vec<[f32; 3]>,
    size: [u32; 2],
}

pub fn load(root: &Path, limit: Option<usize>) -> Result<Vec<EvalSample>, BenchmarkError> {
    let layout = || {
        BenchmarkError::Layout {
        root: root.display().to_string(),
        dataset: "Pose2Sim",
        expected: "calibration/<file>.qca.txt or .toml, images/<camera>_<frame>.jpg and pose/<camera>_<frame>_keypoints.json".into(),
    }
    };
    let calibration = calibration_file(root).ok_or_else(layout)?;
    let rig = read_calibration(&calibration)
        .map_err(|e| BenchmarkError::format(&calibration, e.to_string()))?;
    let images_dir = root.join("images");
    if !images_dir.is_dir() {
        return Err(layout());
    }
    // frame → the views that show it
    let mut frames: BTreeMap<String, Vec<View>> = BTreeMap::new();
    for suffix in [".jpg", ".jpeg", ".png"] {
        for name in files_ending(&images_dir, suffix)? {
            let stem = name[..name.len() - suffix.len()].to_string();
            let Some((camera, frame)) = rig.iter().enumerate().find_map(|(i, c)| {
                stem.strip_prefix(&format!("{}_", c.name))
                    .map(|frame| (i, frame.to_string()))
            }) else {
                continue;
            };
            let image = images_dir.join(&name);
            let pose = root.join("pose").join(format!("{stem}_keypoints.json"));
            if !pose.is_file() {
                return Err(BenchmarkError::missing(
                    &pose,
                    format!("the 2D keypoints of {} (OpenPose JSON)", image.display()),
                ));
            }
            let text = std::fs::read_to_string(&pose)
                .map_err(|e| BenchmarkError::format(&pose, e.to_string()))?;
            let people = parse_openpose_json(&text, &pose.display().to_string())
                .map_err(|e| BenchmarkError::format(&pose, e))?;
            let Some(keypoints) = people.into_iter().next() else {
                continue; // nobody detected in this view
            };
            if keypoints.len() != NUM_OPENPOSE137 {
                return Err(BenchmarkError::format(
                    &pose,
                    format!("{} keypoints, expected {NUM_OPENPOSE137}", keypoints.len()),
                ));
            }
            let size = super::image_size(&image)?;
            frames.entry(frame).or_default().push(View {
                camera,
                stem,
                image,
                keypoints,
                size,
            });
        }
    }
    if frames.is_empty() {
        return Err(layout());
    }
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for views in frames.values() {
        if out.len() >= limit {
            break;
        }
        let cameras: Vec<RigCamera> = views
            .iter()
            .map(|v| rig[v.camera].scaled(v.size[1] as f64 / rig[v.camera].size[1]))
            .collect();
        let Some((joints, error_px)) = reference(&cameras, views) else {
            continue;
        };
        for (view, camera) in views.iter().zip(&cameras) {
            let [w, h] = view.size;
            let person_box = box_from_keypoints(&view.keypoints[..25], 0.1, 0.1, w, h);
            let in_camera: Vec<Point> = joints
                .iter()
                .map(|&p| camera.pinhole.to_camera(p))
                .collect();
            out.push(EvalSample {
                id: view.stem.clone(),
                image: view.image.clone(),
                person_box,
                keypoints: Some(view.keypoints.clone()),
                camera: Some(intrinsics(camera.pinhole.focal, camera.pinhole.center)),
                target: Target::LimbJoints {
                    joints: in_camera,
                    reference_error_px: error_px,
                },
            });
        }
    }
    Ok(out)
}

/// The one calibration file under `calibration/`.
fn calibration_file(root: &Path) -> Option<std::path::PathBuf> {
    let dir = root.join("calibration");
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            n.ends_with(".qca.txt") || n.ends_with(".toml")
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// The limb joints of one instant from its views (world frame, metres), and
/// the mean reprojection error of the kept views in pixels of the images;
/// `None` when a joint cannot be triangulated.
fn reference(cameras: &[RigCamera], views: &[View]) -> Option<(Vec<Point>, f64)> {
    let mut joints = Vec::with_capacity(LIMB_JOINTS.len());
    let mut errors = 0.0;
    for &j in &LIMB_JOINTS {
        let observations: Vec<Observation> = views
            .iter()
            .enumerate()
            .filter(|(_, v)| v.keypoints[j][2] > MIN_CONFIDENCE)
            .map(|(i, v)| Observation {
                camera: i,
                pixel: [v.keypoints[j][0] as f64, v.keypoints[j][1] as f64],
                confidence: v.keypoints[j][2] as f64,
            })
            .collect();
        let height = views.iter().map(|v| v.size[1]).min()? as f64;
        let t = triangulate(cameras, &observations, MAX_REPROJECTION * height)?;
        errors += t.mean_error_px;
        joints.push(t.point);
    }
    Some((joints, errors / LIMB_JOINTS.len() as f64))
}

#[cfg(test)]
mod tests {
    //! The loader on tests/fixtures/benchmarks/pose2sim against the reference
    //! that tests/fixtures/gen_pose2sim_fixtures.py triangulated with OpenCV.
    use super::*;
    use crate::benchmarks::Benchmark;
    use serde_json::Value;
    use std::path::PathBuf;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/benchmarks/pose2sim")
    }

    #[test]
    fn every_view_of_every_frame_gets_the_triangulated_limbs() {
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(root().with_file_name("pose2sim_expected.json")).unwrap(),
        )
        .unwrap();
        let want = want["samples"].as_object().unwrap();
        let samples = Benchmark::Pose2Sim.load(&root(), "test", None).unwrap();
        let mut ids: Vec<&str> = samples.iter().map(|s| s.id.as_str()).collect();
        ids.sort();
        let mut keys: Vec<&str> = want.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(ids, keys);
        for s in &samples {
            let Target::LimbJoints {
                joints,
                reference_error_px,
            } = &s.target
            else {
                panic!("Pose2Sim targets are limb joints")
            };
            let w = &want[&s.id];
            let expected: Vec<f64> = w["joints"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| p.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                .collect();
            let got: Vec<f64> = joints.iter().flatten().copied().collect();
            assert_eq!(got.len(), 36);
            for (a, b) in got.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-4, "{}: {a} vs {b}", s.id);
            }
            assert!((reference_error_px - w["reference_error_px"].as_f64().unwrap()).abs() < 1e-3);
            // Intrinsics of the halved images, the joints in front of the camera.
            let camera = s.camera.unwrap();
            assert!(
                (830.0..845.0).contains(&camera.focal[0]),
                "{:?}",
                camera.focal
            );
            assert!(joints.iter().all(|p| p[2] > 1.0));
            assert!(s.person_box.is_some() && s.keypoints.as_ref().unwrap().len() == 137);
        }
        assert_eq!(
            Benchmark::Pose2Sim
                .load(&root(), "test", Some(1))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_missing_keypoint_file_is_named() {
        let dir = std::env::temp_dir().join(format!("furpe-p2s-{}", std::process::id()));
        let copy = |sub: &str| {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            for e in std::fs::read_dir(root().join(sub)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dir.join(sub).join(e.file_name())).unwrap();
            }
        };
        copy("calibration");
        copy("images");
        copy("pose");
        std::fs::remove_file(dir.join("pose/cam02_050_keypoints.json")).unwrap();
        let e = Benchmark::Pose2Sim
            .load(&dir, "test", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cam02_050_keypoints.json") && e.contains("OpenPose"),
            "{e}"
        );
        std::fs::remove_dir_all(dir.join("calibration")).unwrap();
        let e = Benchmark::Pose2Sim
            .load(&dir, "test", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not look like Pose2Sim") && e.contains("qca"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
