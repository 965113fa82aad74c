//! MediaPipe's models read by `furpe::tflite` and run on Burn (burn-flex),
//! against the reference TFLite interpreter on two real photos.
//!
//! Fixtures: tests/fixtures/gen_mediapipe_fixtures.py (PyPI `ai-edge-litert`,
//! reference kernels) on scikit-image's `astronaut` (public domain) and
//! `camera` (CC0). The models come from the user's copy of the npm package
//! (`npm ci --prefix models/mediapipe`; .ci/run installs it), never from the
//! repository. The model inputs are rebuilt here from the committed
//! 256-pixel PNGs by the generator's integer rules, so both sides see the
//! same numbers.

mod common;

use std::path::Path;

use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use common::fixtures;
use furpe::mediapipe::package::{ModelFile, Package};
use furpe::mediapipe::pipeline::to_range;
use furpe::npz::NpzArchive;
use furpe::tflite::{Graph, Model};

type B = Flex;

/// Largest |ours − reference| over an output, relative to the output's
/// largest magnitude. The reference kernels and TFLite's XNNPACK kernels
/// differ by up to 1.5e-4 on these outputs.
const TOL: f32 = 1e-3;

const IMAGES: [&str; 2] = ["astronaut", "camera"];

fn package() -> Package {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Package::find(None, &root).unwrap_or_else(|e| panic!("{e}"))
}

/// The 256-pixel photo as RGB8.
fn photo(name: &str) -> Vec<u8> {
    let path = fixtures().join(format!("mediapipe/{name}_256.png"));
    let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rgb = img.to_rgb8();
    assert_eq!(rgb.dimensions(), (256, 256), "{}", path.display());
    rgb.into_raw()
}

/// The generator's input rule: the PNG (256), its centre crop (224, 192)
/// or 2 × 2 block means (128), then the model's value range; `[1, 3, s, s]`.
fn model_input(rgb: &[u8], model: ModelFile) -> Tensor<B, 4> {
    let size = model.input_size();
    let mut chw = vec![0f32; 3 * size * size];
    for y in 0..size {
        for x in 0..size {
            for c in 0..3 {
                let at = |yy: usize, xx: usize| rgb[(yy * 256 + xx) * 3 + c] as f32;
                let v = if size == 128 {
                    (at(2 * y, 2 * x)
                        + at(2 * y, 2 * x + 1)
                        + at(2 * y + 1, 2 * x)
                        + at(2 * y + 1, 2 * x + 1))
                        / 4.0
                } else {
                    let o = (256 - size) / 2;
                    at(y + o, x + o)
                };
                chw[(c * size + y) * size + x] = to_range(v / 255.0, model.input_range());
            }
        }
    }
    Tensor::from_data(
        TensorData::new(chw, [1, 3, size, size]),
        &Default::default(),
    )
}

fn relative_error(ours: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(ours.len(), reference.len());
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let worst = ours
        .iter()
        .zip(reference)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    worst / scale
}

/// Runs `model` on both photos and compares every stored output.
fn check(model: ModelFile) {
    let bytes = package()
        .model_bytes(model)
        .unwrap_or_else(|e| panic!("{e}"));
    let parsed = Model::parse(&bytes, model.stem()).unwrap_or_else(|e| panic!("{e}"));
    let graph = Graph::<B>::new(&parsed, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut reference =
        NpzArchive::open(&fixtures().join("mediapipe/reference.npz")).expect("reference.npz");
    let keys = reference.keys();
    let mut compared = 0;
    for image in IMAGES {
        let outputs = graph
            .forward(model_input(&photo(image), model))
            .expect("forward");
        let prefix = format!("{}/{image}/", model.stem());
        let top: Option<Vec<usize>> = keys
            .iter()
            .any(|k| *k == format!("{prefix}top_anchors"))
            .then(|| {
                let a = reference
                    .read(&format!("{prefix}top_anchors"))
                    .expect("top anchors");
                a.to_i64()
                    .expect("int")
                    .into_iter()
                    .map(|i| i as usize)
                    .collect()
            });
        for output in outputs {
            let ours: Vec<f32> = output.data.into_data().to_vec().expect("f32 output");
            // Which stored form: whole, strided ("name@k"), or anchor rows.
            let stored = keys
                .iter()
                .find(|k| {
                    k.starts_with(&prefix)
                        && (k[prefix.len()..] == output.name
                            || k[prefix.len()..].starts_with(&format!("{}@", output.name)))
                })
                .unwrap_or_else(|| panic!("{prefix}{}: not in reference.npz", output.name))
                .clone();
            let want = reference
                .read(&stored)
                .expect("reference")
                .to_f32()
                .expect("f32");
            let ours = if let Some(stride) = stored.split('@').nth(1) {
                let stride: usize = stride.parse().expect("stride");
                ours.into_iter().step_by(stride).collect::<Vec<_>>()
            } else if let (Some(top), true) = (&top, want.len() != ours.len()) {
                let row = output.shape[output.shape.len() - 1];
                top.iter()
                    .flat_map(|&a| ours[a * row..(a + 1) * row].to_vec())
                    .collect()
            } else {
                ours
            };
            let error = relative_error(&ours, &want);
            println!(
                "{stored}: {} values, max relative error {error:.2e}",
                want.len()
            );
            assert!(
                error <= TOL,
                "{stored}: relative error {error:.2e} > {TOL:.0e}"
            );
            compared += 1;
        }
    }
    assert!(
        compared >= 2 * 2,
        "{}: only {compared} outputs compared",
        model.stem()
    );
}

#[test]
fn pose_landmark_full_matches_the_tflite_interpreter() {
    check(ModelFile::PoseLandmarkFull);
}

#[test]
fn pose_detection_with_sparse_weights_matches_the_tflite_interpreter() {
    check(ModelFile::PoseDetection);
}

#[test]
fn hand_landmark_matches_the_tflite_interpreter() {
    check(ModelFile::HandLandmarkFull);
}

#[test]
fn face_landmark_matches_the_tflite_interpreter() {
    check(ModelFile::FaceLandmark);
}

#[test]
fn palm_detection_matches_the_tflite_interpreter() {
    check(ModelFile::PalmDetectionFull);
}

#[test]
fn face_detection_matches_the_tflite_interpreter() {
    check(ModelFile::FaceDetectionShortRange);
}

#[test]
fn a_corrupt_model_is_an_error_naming_it() {
    let bytes = package()
        .model_bytes(ModelFile::FaceDetectionShortRange)
        .expect("model");
    // Truncated: every prefix length class fails cleanly.
    for len in [0, 7, 100, bytes.len() / 2] {
        let err = Model::parse(&bytes[..len], "cut.tflite")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("cut.tflite"), "{err}");
    }
    // Not a TFLite file at all.
    let err = Model::parse(b"\x89PNG\r\n\x1a\n0000", "photo.png")
        .unwrap_err()
        .to_string();
    assert!(err.contains("photo.png") && err.contains("TFL3"), "{err}");
}

#[test]
fn a_graph_cut_to_some_outputs_gives_the_same_numbers() {
    let model = ModelFile::PoseLandmarkFull;
    let bytes = package().model_bytes(model).expect("model");
    let parsed = Model::parse(&bytes, model.stem()).expect("parse");
    let device = Default::default();
    let full = Graph::<B>::new(&parsed, &device).expect("graph");
    let cut = Graph::<B>::with_outputs(&parsed, Some(&["Identity_4", "Identity"]), &device)
        .expect("graph");
    assert_eq!(cut.output_names(), vec!["Identity_4", "Identity"]);
    let input = model_input(&photo("astronaut"), model);
    let all = full.forward(input.clone()).expect("forward");
    for out in cut.forward(input).expect("forward") {
        let same = all
            .iter()
            .find(|o| o.name == out.name)
            .expect("same output");
        let (a, b): (Vec<f32>, Vec<f32>) = (
            out.data.into_data().to_vec().expect("f32"),
            same.data.clone().into_data().to_vec().expect("f32"),
        );
        assert_eq!(a, b, "{}", out.name);
    }
    let err = Graph::<B>::with_outputs(&parsed, Some(&["segmentation"]), &device)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("segmentation") && err.contains(model.stem()),
        "{err}"
    );
}
