//! Rigs against OpenCV (tests/fixtures/gen_pose2sim_fixtures.py: projection
//! by `cv2.projectPoints`, undistortion by `cv2.undistortPoints`) and the
//! Qualisys reading against real detections of Pose2Sim's demo.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/pose2sim")
        .join(name)
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("opencv_reference.json")).unwrap())
        .unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(floats).collect(),
        other => vec![other.as_f64().unwrap()],
    }
}

fn rig() -> Vec<RigCamera> {
    read_calibration(&fixture("Calib.qca.txt")).unwrap()
}

#[test]
fn qca_cameras_project_and_undistort_as_opencv() {
    let want = reference();
    let cameras = rig();
    assert_eq!(cameras.len(), 4);
    let points: Vec<Point> = floats(&want["points"])
        .chunks(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    for (cam, w) in cameras.iter().zip(want["cameras"].as_array().unwrap()) {
        assert_eq!(cam.name, w["name"].as_str().unwrap());
        assert_eq!(cam.size.to_vec(), floats(&w["size"]));
        let pixels = floats(&w["pixels"]);
        let undistorted = floats(&w["undistorted"]);
        for (i, &p) in points.iter().enumerate() {
            let got = cam.project(p).unwrap();
            for k in 0..2 {
                assert!(
                    (got[k] - pixels[2 * i + k]).abs() < 1e-6,
                    "{}: point {i}: {got:?} vs OpenCV {:?}",
                    cam.name,
                    &pixels[2 * i..2 * i + 2]
                );
            }
            let n = cam.normalise([pixels[2 * i], pixels[2 * i + 1]]);
            for k in 0..2 {
                assert!((n[k] - undistorted[2 * i + k]).abs() < 1e-7, "{n:?}");
            }
        }
    }
}

#[test]
fn pose2sim_toml_reads_the_same_rig() {
    let qca = rig();
    let toml = read_calibration(&fixture("Calib.toml")).unwrap();
    assert_eq!(toml.len(), qca.len());
    for (a, b) in qca.iter().zip(&toml) {
        assert_eq!(a.name, b.name);
        for p in [[-1.0, 0.0, 1.0], [-0.6, 0.3, 0.2]] {
            let (x, y) = (a.project(p).unwrap(), b.project(p).unwrap());
            // The TOML has no k3 (zero in this file) and stores Rodrigues vectors.
            assert!(
                (x[0] - y[0]).abs() < 1e-6 && (x[1] - y[1]).abs() < 1e-6,
                "{x:?} {y:?}"
            );
        }
    }
}

#[test]
fn scaling_keeps_pixel_centres() {
    let cam = &rig()[0];
    let half = cam.scaled(0.5);
    let p = [-1.0, 0.2, 1.1];
    let (full, small) = (cam.project(p).unwrap(), half.project(p).unwrap());
    for k in 0..2 {
        assert!(((full[k] + 0.5) * 0.5 - 0.5 - small[k]).abs() < 1e-9);
    }
}

#[test]
fn triangulation_recovers_points_and_drops_a_disagreeing_view() {
    let cameras = rig();
    let p = [-1.1, 0.1, 1.2];
    let mut obs: Vec<Observation> = (0..4)
        .map(|c| Observation {
            camera: c,
            pixel: cameras[c].project(p).unwrap(),
            confidence: 0.9,
        })
        .collect();
    let t = triangulate(&cameras, &obs, 1.0).unwrap();
    assert!(
        t.point.iter().zip(p).all(|(a, b)| (a - b).abs() < 1e-9),
        "{t:?}"
    );
    assert_eq!(t.views, [0, 1, 2, 3]);
    // One view 300 px off (a left/right swap): dropped, the point kept.
    obs[2].pixel[0] += 300.0;
    let t = triangulate(&cameras, &obs, 1.0).unwrap();
    assert_eq!(t.views, [0, 1, 3]);
    assert!(t.point.iter().zip(p).all(|(a, b)| (a - b).abs() < 1e-9));
    // Without the threshold the bad view pulls the point away.
    let loose = triangulate(&cameras, &obs, f64::INFINITY).unwrap();
    assert!(loose.point.iter().zip(p).any(|(a, b)| (a - b).abs() > 0.01));
    // Two views that disagree, or one view, give nothing.
    let two = [obs[0], obs[2]];
    assert!(triangulate(&cameras, &two, 1.0).is_none());
    assert!(triangulate(&cameras, &obs[..1], 1.0).is_none());
}

/// Median reprojection error (pixels of the 1080×1920 videos) of the real
/// detections' limb joints in two frames, triangulated from the four views.
fn real_residual(cameras: &[RigCamera]) -> f64 {
    let det: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("detections.json")).unwrap())
            .unwrap();
    let mut errors = Vec::new();
    for views in det["frames"].as_object().unwrap().values() {
        for j in [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14] {
            let obs: Vec<Observation> = cameras
                .iter()
                .enumerate()
                .filter_map(|(c, cam)| {
                    let k = floats(&views[&cam.name][j]);
                    (k[2] > 0.5).then_some(Observation {
                        camera: c,
                        pixel: [k[0], k[1]],
                        confidence: k[2],
                    })
                })
                .collect();
            // As the benchmark triangulates: views beyond 1.5 % of the
            // height dropped; a joint no two views agree on counts as ∞.
            errors
                .push(triangulate(cameras, &obs, 28.8).map_or(f64::INFINITY, |t| t.mean_error_px));
        }
    }
    errors.sort_by(f64::total_cmp);
    errors[errors.len() / 2]
}

#[test]
fn the_qualisys_reading_agrees_with_real_detections() {
    let cameras = rig();
    let ours = real_residual(&cameras);
    assert!(ours < 20.0, "median reprojection {ours:.1} px");
    // The other readings of the file: the rotation transposed (a
    // camera-to-world matrix), or the axes not flipped.
    let flip: Mat3 = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
    let reread = |f: &dyn Fn(&Mat3) -> Mat3| -> f64 {
        let other: Vec<RigCamera> = cameras
            .iter()
            .map(|c| {
                let mut c = c.clone();
                // Recover the camera position, re-derive t for the new rotation.
                let r = c.pinhole.rotation;
                let rt = crate::rotation::host::transpose(&r);
                let pos = crate::rotation::host::apply(&rt, c.pinhole.translation).map(|v| -v);
                let rows = matmul(&flip, &r);
                c.pinhole.rotation = f(&rows);
                c.pinhole.translation =
                    crate::rotation::host::apply(&c.pinhole.rotation, pos).map(|v| -v);
                c
            })
            .collect();
        real_residual(&other)
    };
    let transposed = reread(&|rows| matmul(&flip, &crate::rotation::host::transpose(rows)));
    let unflipped = reread(&|rows| *rows);
    assert!(
        transposed > 100.0 && unflipped > 100.0,
        "{transposed:.1} {unflipped:.1}"
    );
}

#[test]
fn bad_calibrations_are_named() {
    let dir = std::env::temp_dir().join(format!("furpe-rig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(fixture("Calib.qca.txt")).unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let err = |p: PathBuf| read_calibration(&p).unwrap_err().to_string();
    let e = err(write(
        "a.qca.txt",
        &text.replacen("focalLengthU=", "focalLengthX=", 1),
    ));
    assert!(
        e.contains("a.qca.txt") && e.contains("cam01") && e.contains("focalLengthU"),
        "{e}"
    );
    let e = err(write(
        "b.qca.txt",
        &text.replacen("viewrotation=\"0\"", "viewrotation=\"90\"", 1),
    ));
    assert!(e.contains("viewrotation 90"), "{e}");
    let e = err(write(
        "c.qca.txt",
        &text.replacen("r11=\"0.55", "r11=\"x0.55", 1),
    ));
    assert!(
        e.contains("'r11'") && e.contains("not a finite number"),
        "{e}"
    );
    let one = text
        .split("<camera ")
        .take(2)
        .collect::<Vec<_>>()
        .join("<camera ");
    let e = err(write("d.qca.txt", &one));
    assert!(e.contains("1 camera(s)"), "{e}");
    let e = err(write("e.yaml", "x"));
    assert!(e.contains("unknown calibration format"), "{e}");
    let toml = std::fs::read_to_string(fixture("Calib.toml")).unwrap();
    let e = err(write(
        "f.toml",
        &toml.replacen("fisheye = false", "fisheye = true", 1),
    ));
    assert!(e.contains("[cam_01]") && e.contains("fisheye"), "{e}");
    let e = err(write(
        "g.toml",
        &toml.replacen("rotation = [ ", "rotation = [ 1.0, ", 1),
    ));
    assert!(e.contains("'rotation' has 4"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
