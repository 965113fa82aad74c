//! Evaluation benchmarks: one loader per dataset's published layout (EHF,
//! 3DPW, FreiHAND, NoW, and the synthetic world), each producing the same
//! [`EvalSample`]s; [`score`] compares a posed SMPL-X prediction with a
//! sample's ground truth, and [`report`] writes the tables.
//!
//! Every loader checks the layout first: a folder that does not look like the
//! benchmark is an error naming the file pattern that was expected, and a
//! missing or malformed file is an error naming that file.

pub mod ehf;
pub mod freihand;
pub mod now;
pub mod pose2sim;
pub mod report;
pub mod score;
pub mod synthetic;
pub mod threedpw;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::camera::PinholeCamera;
use crate::metrics::Point;
use crate::smplx::SmplxParams;

/// The benchmarks `furpe eval --dataset` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Benchmark {
    Ehf,
    ThreeDpw,
    FreiHand,
    Now,
    Pose2Sim,
    Synthetic,
}

impl Benchmark {
    pub const ALL: [Benchmark; 6] = [
        Benchmark::Ehf,
        Benchmark::ThreeDpw,
        Benchmark::FreiHand,
        Benchmark::Now,
        Benchmark::Pose2Sim,
        Benchmark::Synthetic,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Benchmark::Ehf => "ehf",
            Benchmark::ThreeDpw => "3dpw",
            Benchmark::FreiHand => "freihand",
            Benchmark::Now => "now",
            Benchmark::Pose2Sim => "pose2sim",
            Benchmark::Synthetic => "synthetic",
        }
    }

    /// Loads up to `limit` samples from `root` (a 3DPW `split`: train,
    /// validation or test; ignored elsewhere).
    pub fn load(
        self,
        root: &Path,
        split: &str,
        limit: Option<usize>,
    ) -> Result<Vec<EvalSample>, BenchmarkError> {
        if !root.is_dir() {
            return Err(BenchmarkError::Missing {
                file: root.display().to_string(),
                what: format!("the {} root directory", self.name()),
            });
        }
        let mut samples = match self {
            Benchmark::Ehf => ehf::load(root, limit)?,
            Benchmark::ThreeDpw => threedpw::load(root, split, limit)?,
            Benchmark::FreiHand => freihand::load(root, limit)?,
            Benchmark::Now => now::load(root, limit)?,
            Benchmark::Pose2Sim => pose2sim::load(root, limit)?,
            Benchmark::Synthetic => synthetic::load(root, limit)?,
        };
        if let Some(n) = limit {
            samples.truncate(n);
        }
        if samples.is_empty() {
            return Err(BenchmarkError::Layout {
                root: root.display().to_string(),
                dataset: self.name(),
                expected: "at least one sample".into(),
            });
        }
        Ok(samples)
    }
}

impl std::str::FromStr for Benchmark {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Benchmark::ALL
            .into_iter()
            .find(|b| b.name() == s.to_lowercase())
            .ok_or_else(|| {
                format!(
                    "unknown dataset '{s}' (expected one of {})",
                    Benchmark::ALL.map(Benchmark::name).join(", ")
                )
            })
    }
}

/// One evaluation sample: what a predictor sees and what it is scored on.
#[derive(Debug, Clone)]
pub struct EvalSample {
    /// Unique, file-name safe (`--pred DIR` reads `DIR/<id>.json`).
    pub id: String,
    pub image: PathBuf,
    /// Person (or hand, face) box (x0, y0, x1, y1) in pixels, when known.
    pub person_box: Option<[f32; 4]>,
    /// OpenPose-137 keypoints (pixels, confidence), when the benchmark has them.
    pub keypoints: Option<Vec<[f32; 3]>>,
    /// Intrinsics of the image, with the ground truth in this camera's frame
    /// (identity extrinsics), when known.
    pub camera: Option<PinholeCamera>,
    pub target: Target,
}

/// A benchmark's ground truth, metres.
#[derive(Debug, Clone)]
pub enum Target {
    /// An SMPL-X mesh `[10475, 3]` in the camera frame (EHF).
    SmplxMesh(Vec<Point>),
    /// SMPL-X parameters (the synthetic world), posed by the caller with the
    /// body model and moved into the camera frame by `world_to_camera`.
    SmplxParams {
        params: Box<SmplxParams>,
        flat_hand_mean: bool,
        world_to_camera: Option<PinholeCamera>,
    },
    /// The 24 SMPL joints `[24, 3]` in the camera frame (3DPW).
    SmplJoints(Vec<Point>),
    /// A right hand (FreiHAND): 21 keypoints `[21, 3]` and the MANO mesh
    /// `[778, 3]`, camera frame.
    RightHand {
        joints: Vec<Point>,
        vertices: Vec<Point>,
    },
    /// The 12 limb joints `[12, 3]` in the camera frame, in
    /// [`pose2sim::LIMB_JOINTS`] order, triangulated from several calibrated
    /// views (Pose2Sim: a multi-view pseudo ground truth, not a measurement).
    LimbJoints {
        joints: Vec<Point>,
        /// Mean reprojection error of the triangulation in its views, pixels.
        reference_error_px: f64,
    },
    /// A face scan's vertices and its landmarks (NoW: 7 points). Shared by
    /// every image of a subject.
    FaceScan {
        scan: Arc<Vec<Point>>,
        landmarks: Arc<Vec<Point>>,
    },
}

impl Target {
    /// Which part(s) are evaluated, for reports.
    pub fn evaluated(&self) -> &'static str {
        match self {
            Target::SmplxMesh(_) | Target::SmplxParams { .. } => {
                "whole body (SMPL-X mesh: all, body, hands, face)"
            }
            Target::SmplJoints(_) => "body (SMPL joints)",
            Target::LimbJoints { .. } => {
                "body (12 limb joints triangulated from every view of the frame, this one included: a multi-view pseudo ground truth)"
            }
            Target::RightHand { .. } => "right hand (MANO)",
            Target::FaceScan { .. } => "face (scan)",
        }
    }
}

/// A benchmark folder that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BenchmarkError {
    #[error("{root}: does not look like {dataset}: expected {expected}")]
    Layout {
        root: String,
        dataset: &'static str,
        expected: String,
    },
    #[error("{file}: missing ({what})")]
    Missing { file: String, what: String },
    #[error("{file}: {reason}")]
    Format { file: String, reason: String },
}

impl BenchmarkError {
    pub(crate) fn format(file: &Path, reason: impl Into<String>) -> Self {
        BenchmarkError::Format {
            file: file.display().to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(file: &Path, what: impl Into<String>) -> Self {
        BenchmarkError::Missing {
            file: file.display().to_string(),
            what: what.into(),
        }
    }
}

/// `path` if it exists, else a [`BenchmarkError::Missing`] saying what it is.
pub(crate) fn existing(path: PathBuf, what: &str) -> Result<PathBuf, BenchmarkError> {
    if path.exists() {
        Ok(path)
    } else {
        Err(BenchmarkError::missing(&path, what))
    }
}

/// Sorted file names in `dir` that end with `suffix`.
pub(crate) fn files_ending(dir: &Path, suffix: &str) -> Result<Vec<String>, BenchmarkError> {
    let entries = std::fs::read_dir(dir).map_err(|e| BenchmarkError::format(dir, e.to_string()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    Ok(names)
}

/// Width and height of a PNG or JPEG image, from its header.
pub(crate) fn image_size(path: &Path) -> Result<[u32; 2], BenchmarkError> {
    use std::io::Read;
    let bad =
        |why: &str| BenchmarkError::format(path, format!("cannot read the image size: {why}"));
    let mut head = Vec::new();
    std::fs::File::open(path)
        .map_err(|e| BenchmarkError::format(path, e.to_string()))?
        .take(1 << 20)
        .read_to_end(&mut head)
        .map_err(|e| BenchmarkError::format(path, e.to_string()))?;
    let be16 = |i: usize| {
        head.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as u32)
    };
    let be32 = |i: usize| {
        head.get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return match (be32(16), be32(20)) {
            (Some(w), Some(h)) if w > 0 && h > 0 => Ok([w, h]),
            _ => Err(bad("a PNG without a valid IHDR")),
        };
    }
    if !head.starts_with(&[0xFF, 0xD8]) {
        return Err(bad("neither PNG nor JPEG"));
    }
    // JPEG: walk the marker segments to the first start-of-frame.
    let mut i = 2;
    while let (Some(&0xFF), Some(&marker)) = (head.get(i), head.get(i + 1)) {
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0x01 || (0xD0..=0xD9).contains(&marker) {
            i += 2; // a marker without a segment
            continue;
        }
        let length = be16(i + 2).ok_or_else(|| bad("a truncated JPEG header"))? as usize;
        let sof = (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker);
        if sof {
            return match (be16(i + 7), be16(i + 5)) {
                (Some(w), Some(h)) if w > 0 && h > 0 => Ok([w, h]),
                _ => Err(bad("a JPEG frame header without a size")),
            };
        }
        i += 2 + length;
    }
    Err(bad("no JPEG start-of-frame marker in the first MiB"))
}

/// `v → R v + t` for every point.
pub(crate) fn transform(points: &mut [Point], rotation: &[[f64; 3]; 3], translation: [f64; 3]) {
    for p in points {
        let r = crate::rotation::host::apply(rotation, *p);
        *p = [0, 1, 2].map(|i| r[i] + translation[i]);
    }
}

/// A camera with intrinsics only (points already in its frame).
pub(crate) fn intrinsics(focal: [f64; 2], center: [f64; 2]) -> PinholeCamera {
    PinholeCamera {
        focal,
        center,
        rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        translation: [0.0; 3],
    }
}

/// Box around projected points, grown by 10% of the larger side.
pub(crate) fn box_of_projection(camera: &PinholeCamera, points: &[Point]) -> Option<[f32; 4]> {
    let uv: Vec<[f32; 3]> = points
        .iter()
        .filter_map(|&p| camera.project(p))
        .map(|[u, v]| [u as f32, v as f32, 1.0])
        .collect();
    crate::dataset::openpose::box_from_keypoints(&uv, 0.5, 0.1, u32::MAX, u32::MAX)
}

/// Floats of a JSON value nested as `[[…]]`, checked against `shape`.
pub(crate) fn json_floats(
    value: &serde_json::Value,
    shape: &[usize],
    file: &Path,
    what: &str,
) -> Result<Vec<f64>, BenchmarkError> {
    fn walk(v: &serde_json::Value, shape: &[usize], out: &mut Vec<f64>) -> bool {
        match shape.split_first() {
            None => match v.as_f64() {
                Some(x) if x.is_finite() => {
                    out.push(x);
                    true
                }
                _ => false,
            },
            Some((&n, rest)) => v
                .as_array()
                .is_some_and(|a| a.len() == n && a.iter().all(|x| walk(x, rest, out))),
        }
    }
    let mut out = Vec::with_capacity(shape.iter().product());
    if walk(value, shape, &mut out) {
        Ok(out)
    } else {
        Err(BenchmarkError::format(
            file,
            format!("{what}: expected finite numbers of shape {shape:?}"),
        ))
    }
}

/// Points from a flat `[n·3]` list.
pub(crate) fn points(flat: &[f64]) -> Vec<Point> {
    flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

#[cfg(test)]
mod tests {
    //! Each loader on the fixtures of tests/fixtures/gen_benchmark_fixtures.py,
    //! against the values that script computed (camera frames with scipy).
    use super::*;
    use serde_json::Value;

    fn root(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/benchmarks")
            .join(name)
    }

    fn expected() -> Value {
        serde_json::from_str(&std::fs::read_to_string(root("expected.json")).unwrap()).unwrap()
    }

    fn close(a: &[f64], b: &Value, tol: f64) {
        let b: Vec<f64> = b
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn image_sizes_come_from_the_headers() {
        let ehf = root("ehf");
        assert_eq!(image_size(&ehf.join("01_img.jpg")).unwrap(), [1600, 1200]);
        assert_eq!(image_size(&ehf.join("02_img.png")).unwrap(), [1600, 1200]);
        let pose2sim = root("pose2sim/images/cam01_001.jpg");
        assert_eq!(image_size(&pose2sim).unwrap(), [540, 960]);
        // Not an image, or a JPEG cut before its frame header: named.
        let e = image_size(&ehf.join("01_2Djnt.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("01_2Djnt.json") && e.contains("neither PNG nor JPEG"),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("furpe-imsize-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cut = dir.join("cut.jpg");
        let bytes = std::fs::read(&pose2sim).unwrap();
        std::fs::write(&cut, &bytes[..20]).unwrap();
        let e = image_size(&cut).unwrap_err().to_string();
        assert!(
            e.contains("cut.jpg") && e.contains("cannot read the image size"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn ehf_meshes_move_into_the_camera_frame() {
        let want = &expected()["ehf"];
        let samples = Benchmark::Ehf.load(&root("ehf"), "test", None).unwrap();
        assert_eq!(
            samples.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["01", "02"]
        );
        assert!(
            samples[0].image.ends_with("01_img.jpg") && samples[1].image.ends_with("02_img.png")
        );
        for s in &samples {
            let w = &want[&s.id];
            let Target::SmplxMesh(v) = &s.target else {
                panic!("EHF target is a mesh")
            };
            assert_eq!(v.len(), 10475);
            close(&v[0], &w["vertex0_camera"], 1e-6);
            close(&v[10474], &w["vertex_last_camera"], 1e-6);
            let k = s.keypoints.as_ref().unwrap();
            close(&k[0].map(f64::from), &w["keypoint0"], 1e-3);
            close(&k[72].map(f64::from), &w["face_keypoint5"], 1e-3);
            let camera = s.camera.unwrap();
            assert_eq!(
                (camera.focal, camera.center),
                ([1498.22; 2], [790.26, 578.90])
            );
            assert!(s.person_box.is_some());
        }
        assert_eq!(
            Benchmark::Ehf
                .load(&root("ehf"), "test", Some(1))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn threedpw_joints_per_valid_frame() {
        let want = expected()["3dpw"].as_object().unwrap().clone();
        let samples = Benchmark::ThreeDpw
            .load(&root("3dpw"), "test", None)
            .unwrap();
        let ids: Vec<&str> = samples.iter().map(|s| s.id.as_str()).collect();
        let mut keys: Vec<&str> = want.keys().map(String::as_str).collect();
        keys.sort();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        assert!(
            !ids.contains(&"courtyard_fixture_00_p1_f00001"),
            "invalid camera pose skipped"
        );
        for s in &samples {
            let w = &want[&s.id];
            let Target::SmplJoints(j) = &s.target else {
                panic!("3DPW target is joints")
            };
            assert_eq!(j.len(), 24);
            close(&j[0], &w["joint0_camera"], 1e-9);
            close(&j[23], &w["joint23_camera"], 1e-9);
            let coco0: Vec<f64> = w["coco0"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let k = s.keypoints.as_ref().unwrap();
            for (got, want) in k[0].iter().zip(&coco0) {
                assert!((*got as f64 - want).abs() < 1e-3);
            }
            assert_eq!(k[8], [0.0; 3], "BODY_25's mid hip is not in COCO-18");
            assert!(s
                .image
                .ends_with(format!("image_{}.jpg", &s.id[s.id.len() - 5..])));
        }
        let err = Benchmark::ThreeDpw
            .load(&root("3dpw"), "validation", None)
            .unwrap_err();
        assert!(
            err.to_string().contains("sequenceFiles/validation/"),
            "{err}"
        );
    }

    #[test]
    fn freihand_and_now() {
        let want = expected();
        let samples = Benchmark::FreiHand
            .load(&root("freihand"), "test", None)
            .unwrap();
        assert_eq!(samples.len(), 3);
        for s in &samples {
            let w = &want["freihand"][&s.id];
            let Target::RightHand { joints, vertices } = &s.target else {
                panic!("hand")
            };
            close(&joints[0], &w["xyz0"], 1e-12);
            close(&vertices[777], &w["vert777"], 1e-12);
            let k = &w["K"];
            assert_eq!(s.camera.unwrap().focal[0], k[0][0].as_f64().unwrap());
            let [x0, y0, x1, y1] = s.person_box.unwrap();
            assert!(x1 > x0 && y1 > y0 && x0 > 0.0 && x1 < 224.0);
        }
        let samples = Benchmark::Now.load(&root("now"), "test", None).unwrap();
        let ids: Vec<Value> = samples.iter().map(|s| Value::from(s.id.clone())).collect();
        assert_eq!(Value::from(ids), want["now"]["ids"]);
        let Target::FaceScan { scan, landmarks } = &samples[0].target else {
            panic!("scan")
        };
        assert_eq!(
            scan.len() as u64,
            want["now"]["scan_vertices"].as_u64().unwrap()
        );
        close(&scan[0], &want["now"]["scan_vertex0_m"], 1e-9);
        close(&landmarks[4], &want["now"]["landmark4_m"], 1e-12);
    }

    #[test]
    fn wrong_layouts_name_what_was_expected() {
        for (b, dir, needle) in [
            (Benchmark::Ehf, "now", "NN_align.ply"),
            (Benchmark::FreiHand, "ehf", "evaluation_K.json"),
            (Benchmark::Now, "3dpw", "imagepathsvalidation.txt"),
            (Benchmark::ThreeDpw, "freihand", "sequenceFiles/test/"),
            (Benchmark::Synthetic, "ehf", "annotations.jsonl"),
        ] {
            let err = b.load(&root(dir), "test", None).unwrap_err().to_string();
            assert!(
                err.contains(needle) && err.contains("does not look like"),
                "{err}"
            );
        }
        assert!("H36M"
            .parse::<Benchmark>()
            .unwrap_err()
            .contains("ehf, 3dpw"));
        assert_eq!("3DPW".parse::<Benchmark>().unwrap(), Benchmark::ThreeDpw);
    }
}
