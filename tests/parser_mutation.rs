//! A seeded mutation test of every parser that reads user files: a fixed
//! corpus of valid inputs (npy, npz, pickle, parameter JSON and sequences,
//! OpenPose JSON, OBJ, PLY, student, expert and pose-head files, PyTorch
//! and safetensors checkpoints, camera calibrations, MediaPipe's TFLite
//! models), each mutated hundreds of times (bit flips, byte overwrites,
//! deletions, duplications, digit runs, truncations) with a fixed seed.
//! Every mutant must be parsed or refused with an error: a panic fails the
//! test, an abort (an unbounded allocation) kills it. Runs in seconds, in
//! the normal test run; the seed makes a failure reproducible.
//!
//! Network files are mutated whole, header included: the header's settings
//! are range-checked before anything is allocated.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use burn::backend::Flex;
use furpe::nets::{
    part_expert, pose_head, student_file, weights_file, BlockKind, ExpertConfig, ExpertKind,
    ResNetConfig, StudentConfig,
};
use furpe::npz::{parse_npy, write_npy, write_npz, NpyArray, NpzArchive};
use furpe::smplx::{Batching, ParamWidths, SmplxParams, SmplxSequence};

/// splitmix64: a small seeded generator (the corpus must not depend on `rand`).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutant of `input` restricted to `range` (edits land inside it).
fn mutate(input: &[u8], range: std::ops::Range<usize>, rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        let span = range.end.min(out.len()).saturating_sub(range.start);
        if span == 0 {
            break;
        }
        let at = range.start + rng.below(span);
        match rng.below(7) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = [0x00, 0xff, b'9', b'-', b'e', b'"', b'[', b'\n'][rng.below(8)],
            2 => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            3 => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            4 => out.truncate(at),
            // A run of digits: numbers in headers (shapes, lengths, counts)
            // grow past what fits or what can be allocated.
            5 => {
                let run = vec![b'9'; 1 + rng.below(19)];
                out.splice(at..at, run);
            }
            _ => out[at] = rng.next() as u8,
        }
    }
    out
}

/// Runs `parse` on `count` mutants of `input`; any panic fails with the
/// corpus name and mutant number.
fn survive(
    name: &str,
    input: &[u8],
    range: std::ops::Range<usize>,
    count: usize,
    parse: impl Fn(&[u8]),
) {
    let mut rng = Rng(0x5EED ^ name.len() as u64 ^ (input.len() as u64) << 20);
    // The original must parse (or the corpus is not what it claims).
    parse(input);
    for k in 0..count {
        let mutant = mutate(input, range.clone(), &mut rng);
        let outcome = catch_unwind(AssertUnwindSafe(|| parse(&mutant)));
        assert!(
            outcome.is_ok(),
            "{name}: mutant {k} made the parser panic ({} bytes)",
            mutant.len()
        );
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_parser_survives_mutated_input() {
    let n = 1000;
    // .npy of each dtype family.
    for (name, array) in [
        (
            "npy-f32",
            NpyArray::f32(&[2, 3], vec![1.0, -2.5, 3.0, 4.0, 5.0, 6.0]),
        ),
        ("npy-i64", NpyArray::i64(&[2, 2], vec![-1, 0, 1, 7])),
        (
            "npy-str",
            NpyArray::strings(vec!["pelvis".into(), "left_hip".into()]),
        ),
    ] {
        let bytes = write_npy(&array);
        survive(name, &bytes, 0..bytes.len(), n, |b| {
            let _ = parse_npy(b, "m.npy", "k");
        });
    }
    // .npz, stored and deflated.
    for compressed in [false, true] {
        let mut buf = std::io::Cursor::new(Vec::new());
        write_npz(
            &mut buf,
            &[
                ("a", NpyArray::f32(&[2, 2], vec![1., 2., 3., 4.])),
                ("b", NpyArray::i64(&[3], vec![1, 2, 3])),
            ],
            compressed,
        )
        .unwrap();
        let bytes = buf.into_inner();
        survive(
            if compressed {
                "npz-deflate"
            } else {
                "npz-stored"
            },
            &bytes,
            0..bytes.len(),
            n,
            |b| {
                if let Ok(mut npz) = NpzArchive::from_bytes("m.npz", b.to_vec()) {
                    for key in npz.keys() {
                        let _ = npz.read(&key);
                        let _ = npz.read_f32(&key, &[None, None]);
                    }
                }
            },
        );
    }
    // Pickles of NumPy arrays and plain data (a committed fixture).
    let pickle = std::fs::read(common::fixtures().join("metrics_pickles/p2.pkl")).unwrap();
    survive("pickle", &pickle, 0..pickle.len(), n, |b| {
        let _ = furpe::pickle::read_pickled_arrays(b, "p.pkl");
        let _ = furpe::pickle::read_pickle_value(b, "p.pkl");
    });
    // Parameter JSON, single and as a sequence.
    let mut params = SmplxParams::zeros(1, ParamWidths::default());
    params.body_pose[0][4] = 0.25;
    params.transl[0] = vec![0.1, -0.2, 3.0];
    let single = params.to_json(Batching::Single).to_string().into_bytes();
    survive("params", &single, 0..single.len(), n, |b| {
        if let Ok((p, _)) = SmplxParams::from_json(&text(b), "p.json", ParamWidths::default()) {
            let _ = p.flipped();
        }
    });
    let sequence = format!(
        "{{\"fps\": 30, \"frames\": [{0}, {0}]}}",
        params.to_json(Batching::Single)
    )
    .into_bytes();
    survive("sequence", &sequence, 0..sequence.len(), n, |b| {
        let _ = SmplxSequence::from_json(&text(b), "s.json", ParamWidths::default());
    });
    // OpenPose --write_json output.
    let person: Vec<f32> = (0..75).map(|i| (i % 7) as f32 * 3.5).collect();
    let openpose = serde_json::json!({"version": 1.3, "people": [{
        "pose_keypoints_2d": person,
        "hand_left_keypoints_2d": vec![1.0f32; 63],
        "hand_right_keypoints_2d": vec![2.0f32; 63],
        "face_keypoints_2d": vec![3.0f32; 210],
    }]})
    .to_string()
    .into_bytes();
    survive("openpose", &openpose, 0..openpose.len(), n, |b| {
        let _ = furpe::dataset::openpose::parse_openpose_json(&text(b), "k.json");
    });
    // Meshes: OBJ text, and ASCII and binary PLY.
    let vertices = [
        [0.0f32, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.5],
        [1.0, 1.0, 1.0],
    ];
    let faces = [[0u32, 1, 2], [1, 3, 2]];
    let mut obj = Vec::new();
    furpe::mesh::write_obj(&mut obj, &vertices, &faces).unwrap();
    survive("obj", &obj, 0..obj.len(), n, |b| {
        let _ = furpe::mesh::parse_obj(&text(b));
    });
    let mut ply = Vec::new();
    furpe::mesh::write_ply(&mut ply, &vertices, &faces).unwrap();
    survive("ply", &ply, 0..ply.len(), n, |b| {
        let _ = furpe::mesh::parse_ply(b);
    });
    let ascii_ply = b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n".to_vec();
    survive("ply-ascii", &ascii_ply, 0..ascii_ply.len(), n, |b| {
        let _ = furpe::mesh::parse_ply(b);
    });
}

/// `bytes` cut anywhere (inside the magic, the header length, the header
/// whose end is `start`, the weights) must be refused.
fn refused_at_every_cut(name: &str, bytes: &[u8], start: usize, refused: impl Fn(&[u8]) -> bool) {
    let len = bytes.len();
    for cut in [
        0,
        4,
        8,
        11,
        12,
        start / 2,
        start,
        start + 1,
        len / 2,
        len - 1,
    ] {
        assert!(refused(&bytes[..cut]), "{name} cut at {cut}");
    }
}

#[test]
fn network_files_survive_mutated_input() {
    let device = Default::default();
    // A student file, header and weight record alike.
    let config = StudentConfig::new()
        .with_backbone(ResNetConfig::new(BlockKind::Basic, [1, 1, 1, 1]).with_base_width(4))
        .with_hidden(vec![8])
        .with_feature_dims([4, 4, 4]);
    let bytes = student_file::to_bytes(
        &config.init::<Flex>(&device),
        &config,
        student_file::Precision::F32,
        "",
    )
    .unwrap();
    let (_, start) = student_file::read_header(&bytes, "s").unwrap();
    survive("student-header", &bytes, 0..start, 300, |b| {
        let _ = student_file::from_bytes::<Flex>(b, "s.furpe", &device);
    });
    survive("student-weights", &bytes, start..bytes.len(), 100, |b| {
        let _ = student_file::from_bytes::<Flex>(b, "s.furpe", &device);
    });
    refused_at_every_cut("student", &bytes, start, |b| {
        student_file::from_bytes::<Flex>(b, "s.furpe", &device).is_err()
    });
    // An expert file of each part.
    for part in ExpertKind::ALL {
        let config = ExpertConfig::small(part, 2, 32);
        let bytes = part_expert::to_bytes(&config.init::<Flex>(&device), &config, "").unwrap();
        survive(part.name(), &bytes, 0..bytes.len(), 200, |b| {
            let _ = part_expert::from_bytes::<Flex>(b, "e.expert", &device);
        });
    }
    // A pose-head file.
    let config = pose_head::PoseHeadConfig::new(8).with_hidden(vec![16]);
    let bytes = pose_head::to_bytes(
        &config.init::<Flex>(&device),
        &config,
        student_file::Precision::F32,
        "",
    )
    .unwrap();
    survive("pose-head", &bytes, 0..bytes.len(), 300, |b| {
        let _ = pose_head::from_bytes::<Flex>(b, "h.furpe", &device);
    });
    let (_, start) = weights_file::read_header(&bytes, &pose_head::KIND, "h").unwrap();
    refused_at_every_cut("pose head", &bytes, start, |b| {
        pose_head::from_bytes::<Flex>(b, "h.furpe", &device).is_err()
    });
}

#[test]
fn checkpoints_survive_mutated_input() {
    // PyTorch files (zip containers holding a pickle) and safetensors are read
    // from paths, so each mutant is written to a scratch file first.
    let dir = common::scratch("mutation-checkpoints");
    for (name, fixture) in [
        ("pytorch", "experts/spin_model_checkpoint.pt"),
        ("safetensors", "experts/resnet18_w4.safetensors"),
    ] {
        let bytes = std::fs::read(common::fixtures().join(fixture)).unwrap();
        let ext = fixture.rsplit('.').next().unwrap();
        let path = dir.join(format!("mutant.{ext}"));
        survive(name, &bytes, 0..bytes.len(), 200, |b| {
            std::fs::write(&path, b).unwrap();
            if let Ok(checkpoint) = furpe::nets::import::Checkpoint::open(&path) {
                let keys: Vec<String> = checkpoint.keys().map(str::to_string).collect();
                for key in keys {
                    let _ = checkpoint.read_f32(&key);
                }
            }
        });
    }
}

#[test]
fn calibrations_survive_mutated_input() {
    for (name, file) in [("qca", "Calib.qca.txt"), ("toml", "Calib.toml")] {
        let bytes = std::fs::read(common::fixtures().join("pose2sim").join(file)).unwrap();
        survive(name, &bytes, 0..bytes.len(), 1000, |b| {
            let text = text(b);
            let rig = if name == "qca" {
                furpe::multiview::parse_qca(&text, file)
            } else {
                furpe::multiview::parse_pose2sim_toml(&text, file)
            };
            if let Ok(cameras) = rig {
                // Using a parsed rig must not panic either.
                for camera in &cameras {
                    let _ = camera.project([0.1, 0.2, 2.0]);
                }
            }
        });
    }
}

#[test]
fn tflite_models_survive_mutated_input() {
    use furpe::mediapipe::package::{ModelFile, Package};
    use furpe::tflite::{Graph, Model};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let package = Package::find(None, &root).unwrap_or_else(|e| panic!("{e}"));
    let bytes = package
        .model_bytes(ModelFile::FaceDetectionShortRange)
        .unwrap_or_else(|e| panic!("{e}"));
    let device = Default::default();
    survive("tflite", &bytes, 0..bytes.len(), 300, |b| {
        if let Ok(model) = Model::parse(b, "m.tflite") {
            let _ = Graph::<Flex>::new(&model, &device);
        }
    });
}
