//! `furpe synth`, the synthetic world, end to end: determinism, readable
//! images, sane boxes and keypoints, and ground truth that agrees with the
//! pictures. Needs a wgpu adapter (CI installs Mesa lavapipe); without one the
//! command fails and so does this test.

mod common;

use std::path::Path;
use std::process::Command;

use burn::backend::Flex;
use common::scratch;
use furpe::dataset::read_annotations;
use furpe::keypoints::{openpose137_to_smplx, NUM_BODY25, NUM_OPENPOSE137};
use furpe::smplx::joints::idx;
use furpe::smplx::{mannequin::mannequin, SmplxConfig, SmplxInput};

const SIZE: u32 = 128;

fn synth(out: &Path, extra: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args([
            "synth", "--count", "4", "--size", "128", "--seed", "7", "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .expect("run furpe");
    assert!(
        output.status.success(),
        "furpe synth failed (it needs a wgpu adapter; on CPU-only machines install mesa-vulkan-drivers):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("images/s") && stdout.contains("simulated"),
        "{stdout}"
    );
}

/// Decodes an 8-bit PNG: (width, height, channels, pixels).
fn decode(path: &Path) -> (u32, u32, usize, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("decode");
    buf.truncate(info.buffer_size());
    (info.width, info.height, info.color_type.samples(), buf)
}

/// SMPL-X joint behind each OpenPose-137 point (as the simulated detector
/// takes them: hand wrists from the body wrists, pupils from the eyes).
fn source_joint(k: usize) -> usize {
    openpose137_to_smplx()[k].unwrap_or(match k {
        25 => idx::LEFT_WRIST,
        46 => idx::RIGHT_WRIST,
        135 => idx::RIGHT_EYE,
        _ => idx::LEFT_EYE,
    })
}

#[test]
fn synth_cli_deterministic_images_keypoints_and_ground_truth() {
    let (a, b) = (scratch("synth-a"), scratch("synth-b"));
    synth(&a, &[]);
    // Overlays must not change the dataset.
    synth(&b, &["--overlays"]);
    let text_a = std::fs::read(a.join("annotations.jsonl")).expect("annotations");
    let text_b = std::fs::read(b.join("annotations.jsonl")).expect("annotations");
    assert_eq!(text_a, text_b, "same seed, different annotations");

    let annotations = read_annotations(&a.join("annotations.jsonl")).expect("valid annotations");
    assert_eq!(annotations.len(), 4);
    let model = mannequin();
    let device = Default::default();
    let layer = SmplxConfig::new()
        .with_flat_hand_mean(true)
        .init::<Flex>(&model, &device)
        .expect("layer");
    let s = SIZE as f64;
    let mut images = Vec::new();
    for (i, ann) in annotations.iter().enumerate() {
        assert_eq!(ann.image, format!("images/{i:06}.png"));
        assert_eq!((ann.width, ann.height), (SIZE, SIZE));
        assert_eq!(ann.keypoint_source, "simulated-openpose");
        let (w, h, channels, rgb) = decode(&a.join(&ann.image));
        assert_eq!((w, h, channels), (SIZE, SIZE, 3));
        let (w, h, channels, mask) = decode(&a.join("masks").join(format!("{i:06}.png")));
        assert_eq!((w, h, channels), (SIZE, SIZE, 1));
        assert!(b.join("overlays").join(format!("{i:06}.png")).exists());
        images.push(rgb);

        // Box inside the image, around a visible person.
        let [x0, y0, x1, y1] = ann.person_box;
        assert!(x0 >= 0.0 && y0 >= 0.0 && x1 <= SIZE as f32 && y1 <= SIZE as f32);
        assert!(x1 - x0 >= 4.0 && y1 - y0 >= 8.0, "box {:?}", ann.person_box);
        let person_pixels = mask.iter().filter(|&&m| m > 0).count();
        assert!(
            person_pixels > 100,
            "image {i}: {person_pixels} person pixels"
        );

        // Ground truth: re-pose the body and project it with the camera.
        let gt = ann.ground_truth.as_ref().expect("ground truth");
        assert!(gt.flat_hand_mean);
        let camera = gt.camera.expect("camera");
        let params = gt.smplx_params("annotations.jsonl").expect("params");
        let joints = layer
            .forward(SmplxInput::from_params(&params, &device))
            .joints
            .into_data()
            .to_vec::<f32>()
            .expect("joints");
        let project = |j: usize| {
            camera
                .project([0, 1, 2].map(|k| joints[j * 3 + k] as f64))
                .expect("in front of the camera")
        };
        let on_person = |u: f64, v: f64| {
            let (x, y) = (u.round() as i64, v.round() as i64);
            (-1..=1).any(|dy| {
                (-1..=1).any(|dx| {
                    let (x, y) = (x + dx, y + dy);
                    x >= 0
                        && y >= 0
                        && x < SIZE as i64
                        && y < SIZE as i64
                        && mask[(y * SIZE as i64 + x) as usize] > 0
                })
            })
        };
        let (mut in_image, mut hits) = (0, 0);
        for j in 0..144 {
            let [u, v] = project(j);
            if !(0.0..s - 0.5).contains(&u) || !(0.0..s - 0.5).contains(&v) {
                continue;
            }
            in_image += 1;
            // Projected joints fall on rendered person pixels (the mask is
            // the render's coverage, also under occluders).
            let hit = on_person(u, v);
            hits += hit as usize;
            assert!(
                hit || j > idx::RIGHT_WRIST,
                "image {i}: body joint {j} projects to ({u:.1}, {v:.1}), off the person"
            );
            // And inside the person box.
            assert!(
                u >= x0 as f64 - 1.0
                    && u <= x1 as f64 + 1.0
                    && v >= y0 as f64 - 1.0
                    && v <= y1 as f64 + 1.0,
                "image {i}: joint {j} outside the box"
            );
        }
        assert!(in_image > 20, "image {i}: only {in_image} joints in view");
        assert!(
            hits * 100 >= in_image * 97,
            "image {i}: {hits} of {in_image} projected joints on person pixels"
        );

        // Simulated keypoints: 137, in the image, near their ground truth.
        assert_eq!(ann.keypoints.len(), NUM_OPENPOSE137);
        let mut body_detected = 0;
        let mut errors = Vec::new();
        for (k, p) in ann.keypoints.iter().enumerate() {
            if p[2] == 0.0 {
                assert_eq!(*p, [0.0; 3], "a miss is (0, 0, 0)");
                continue;
            }
            assert!(p[2] > 0.0 && p[2] <= 1.0, "confidence {}", p[2]);
            assert!(p[0] >= 0.0 && p[1] >= 0.0 && p[0] <= s as f32 && p[1] <= s as f32);
            let [u, v] = project(source_joint(k));
            errors.push(((p[0] as f64 - u).powi(2) + (p[1] as f64 - v).powi(2)).sqrt());
            body_detected += (k < NUM_BODY25) as usize;
        }
        assert!(
            body_detected >= 5,
            "image {i}: {body_detected} body points detected"
        );
        errors.sort_by(f64::total_cmp);
        let median = errors[errors.len() / 2];
        assert!(
            median < 4.0,
            "image {i}: median keypoint error {median:.1} px"
        );
    }
    assert!(images.windows(2).all(|w| w[0] != w[1]), "images repeat");

    let _ = std::fs::remove_dir_all(a);
    let _ = std::fs::remove_dir_all(b);
}

#[test]
fn synth_cli_rejects_bad_arguments() {
    let out = scratch("synth-bad");
    for (args, message) in [(["--count", "0"], "--count"), (["--size", "8"], "--size")] {
        let output = Command::new(env!("CARGO_BIN_EXE_furpe"))
            .arg("synth")
            .arg("--out")
            .arg(&out)
            .args(args)
            .output()
            .expect("run furpe");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(out);
}

/// `--framing face|hand`: the part fills a good share of the picture (as in
/// the face and hand datasets the experts learn from), its keypoints are in
/// the frame, and the ground truth still projects onto them.
#[test]
fn synth_cli_close_ups_frame_the_part() {
    let dir = scratch("synth-close-ups");
    for (framing, points) in [("face", 67..137), ("hand", 25..67)] {
        let out = dir.join(framing);
        synth(&out, &["--framing", framing, "--backend", "flex"]);
        let annotations = read_annotations(&out.join("annotations.jsonl")).unwrap();
        let mut framed = 0;
        for a in &annotations {
            // The largest extent of the part's seen points (one hand for hands).
            let extent = |range: std::ops::Range<usize>| -> f32 {
                let seen: Vec<[f32; 3]> = a.keypoints[range]
                    .iter()
                    .copied()
                    .filter(|k| k[2] > 0.0)
                    .collect();
                if seen.len() < 5 {
                    return 0.0;
                }
                let span = |c: usize| {
                    let lo = seen.iter().map(|k| k[c]).fold(f32::INFINITY, f32::min);
                    let hi = seen.iter().map(|k| k[c]).fold(f32::NEG_INFINITY, f32::max);
                    hi - lo
                };
                span(0).max(span(1))
            };
            let e = if framing == "face" {
                extent(points.clone())
            } else {
                extent(25..46).max(extent(46..67))
            };
            // A body picture at 128 px shows a face ~13 px and a hand ~15 px wide.
            if e > 0.2 * SIZE as f32 {
                framed += 1;
            }
        }
        assert!(
            framed >= 2,
            "{framing}: {framed} of 4 pictures frame the part"
        );
        if framing == "face" {
            // Face datasets show faces: the camera stands in front of the
            // face, within 40° of yaw, 20° of pitch, plus its elevation.
            for a in &annotations {
                let gt = a.ground_truth.as_ref().unwrap();
                let params = gt.smplx_params("face close-up").unwrap();
                let root = furpe::experts::camera_frame_orientation(
                    &gt.camera.unwrap(),
                    &params.global_orient[0],
                );
                let head =
                    furpe::experts::joint_global_rotation(&root, &params.body_pose[0], idx::HEAD);
                // The face's forward (+z of the head) against the way back to the camera (−z).
                let towards = -head[2][2];
                let angle = towards.clamp(-1.0, 1.0).acos().to_degrees();
                assert!(angle < 70.0, "{}: the face turns {angle:.0}° away", a.image);
            }
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn synth_cli_studio_has_a_plain_backdrop_and_no_occluders() {
    let dir = scratch("synth-studio");
    synth(&dir, &["--scene", "studio", "--backend", "flex"]);
    for i in 0..4 {
        let name = format!("{i:06}.png");
        let (_, _, channels, rgb) = decode(&dir.join("images").join(&name));
        let (_, _, _, mask) = decode(&dir.join("masks").join(&name));
        assert!(
            !mask.contains(&128),
            "{name}: a studio picture has nothing in front of the person"
        );
        // The backdrop: one colour, a gentle gradient and grain.
        let backdrop: Vec<f32> = mask
            .iter()
            .enumerate()
            .filter(|&(_, &m)| m == 0)
            .map(|(p, _)| (0..3).map(|c| rgb[p * channels + c] as f32).sum::<f32>() / 765.0)
            .collect();
        let mean = backdrop.iter().sum::<f32>() / backdrop.len() as f32;
        let sd = (backdrop.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / backdrop.len() as f32)
            .sqrt();
        assert!(sd < 0.06, "{name}: backdrop brightness varies by {sd:.3}");
    }
    std::fs::remove_dir_all(dir).ok();
}
