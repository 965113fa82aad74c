//! The data pipeline end to end on a small synthetic world: the hand expert
//! trained here and the committed default experts beat the mean-parameter
//! baseline on held-out crops, `furpe label`
//! resumes after a hard crash to the same shard, the selection drops images
//! whose labels are worse than those it keeps, and bad inputs give clear
//! errors. Needs a wgpu adapter for `furpe synth` (lavapipe on CPU machines).

mod common;

use std::path::Path;
use std::process::Command;

use common::{run_furpe, scratch};
use serde_json::Value;

fn furpe(args: &[&str]) -> String {
    let (ok, text) = run_furpe(args);
    assert!(ok, "furpe {args:?} failed:\n{text}");
    text
}

fn synth(out: &Path, count: usize, size: u32, seed: u64) {
    synth_framed(out, count, size, seed, "body");
}

fn synth_framed(out: &Path, count: usize, size: u32, seed: u64, framing: &str) {
    furpe(&[
        "synth",
        "--out",
        &out.display().to_string(),
        "--count",
        &count.to_string(),
        "--size",
        &size.to_string(),
        "--seed",
        &seed.to_string(),
        "--framing",
        framing,
        "--backend",
        "flex",
    ]);
}

fn train(data: &Path, part: &str, out: &Path, epochs: usize) -> Value {
    train_with(
        data,
        part,
        out,
        &[
            "--epochs",
            &epochs.to_string(),
            "--crop",
            "48",
            "--lr",
            "2e-3",
        ],
    )
}

fn train_with(data: &Path, part: &str, out: &Path, options: &[&str]) -> Value {
    let (data, out) = (data.display().to_string(), out.display().to_string());
    let mut args = vec![
        "expert",
        "train",
        "--part",
        part,
        "--data",
        &data,
        "--out",
        &out,
        "--backend",
        "flex",
    ];
    args.extend_from_slice(options);
    furpe(&args);
    read_json(Path::new(&format!("{out}.report.json")))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts that an expert's held-out errors beat the best constant's (the
/// targets' chordal mean) by at least 10% (mean expert/baseline ratio over
/// its groups), and its mesh error by `mesh_ratio`.
fn assert_beats_baseline(part: &str, report: &Value, mesh_ratio: f64) {
    let relative = report["relative"].as_f64().unwrap();
    assert!(
        relative < 0.9,
        "the {part} expert should beat the mean-parameter baseline by at least 10% on held-out crops \
         (mean expert/baseline error ratio over its groups {relative:.3}): {:#}",
        report["groups"]
    );
    // And on the mesh its prediction makes (joints' PA-MPJPE, face PA-V2V).
    let mesh = &report["mesh"];
    let ratio = mesh["expert"].as_f64().unwrap() / mesh["baseline"].as_f64().unwrap();
    assert!(ratio < mesh_ratio, "{part} mesh error {mesh:#}");
}

fn label_args(data: &Path, experts: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["label".into(), "--data".into(), data.display().to_string()];
    for part in ["body", "face", "hand"] {
        args.push(format!("--{part}"));
        args.push(experts.join(format!("{part}.expert")).display().to_string());
    }
    args.extend(["--chunk", "16", "--batch", "8", "--backend", "flex"].map(String::from));
    args
}

#[test]
fn hand_expert_beats_the_mean_baseline() {
    // Hands are ~15 px at 128 px; at 256 px their fingers and the forearm
    // show (README, Data pipeline). Crops of 32 px keep what a 256 px image
    // has of a hand at half the cost of 48 px.
    let dir = scratch("label-hand-expert");
    let data = dir.join("data");
    synth(&data, 1000, 256, 5);
    let expert = dir.join("hand.expert");
    let summary = train_with(&data, "hand", &expert, &["--epochs", "24", "--crop", "32"]);
    // Trained on burn-flex (since 2026-12-02) this CI-sized hand expert
    // reaches 0.96 of the best constant's joint error at 24 epochs and 0.96
    // at 32 (on burn-ndarray it was just under 0.95): it is barely
    // input-dependent (see the learning issue); this bar guards that it
    // stays better than the constant.
    assert_beats_baseline("hand", &summary["report"], 0.98);
    let mesh = &summary["report"]["mesh"];
    for group in summary["report"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .chain([mesh])
    {
        assert!(
            group["expert"].as_f64().unwrap() < group["baseline"].as_f64().unwrap(),
            "hand {group:#}"
        );
    }
    assert_eq!(mesh["name"], "joints PA-MPJPE");
    std::fs::remove_dir_all(dir).ok();
}

/// The default world's experts (`models/experts/`, trained by
/// `scripts/train-default-experts.sh` on worlds of other seeds: more data
/// than a CI run can train on) against the mean of a fresh world's own
/// targets, through `furpe expert eval`.
#[test]
fn default_experts_beat_the_mean_baseline_on_a_fresh_world() {
    let dir = scratch("label-default-experts");
    let experts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/experts");
    // The pictures each expert learns from: bodies at 128 px, face
    // close-ups (DECA learns from face datasets), hands in 256 px body
    // pictures (at 128 px a hand is ~15 px). Mesh bounds: issue 14's 0.8× of
    // the best constant for the face and hands (they score 0.74× and 0.75×;
    // the hand expert before 2026-12-08 scored 0.94× and fails it); the body
    // expert, not the main job's body labeller (MediaPipe is), to 0.9× (it
    // scores 0.84×; the one before 2026-12-08 scored 0.93×).
    for (part, framing, size, mesh_bound) in [
        ("body", "body", 128, 0.9),
        ("face", "face", 128, 0.8),
        ("hand", "body", 256, 0.8),
    ] {
        let data = dir.join(part);
        synth_framed(&data, 300, size, 1234, framing);
        let report = dir.join(format!("{part}.json"));
        furpe(&[
            "expert",
            "eval",
            "--part",
            part,
            "--expert",
            &experts.join(format!("{part}.expert")).display().to_string(),
            "--data",
            &data.display().to_string(),
            "--report",
            &report.display().to_string(),
            "--backend",
            "flex",
        ]);
        assert_beats_baseline(part, &read_json(&report), mesh_bound);
    }
}

#[test]
fn label_resumes_after_a_crash() {
    pipeline("label-resume", false);
}

#[test]
fn selection_drops_worse_labels() {
    pipeline("label-selection", true);
}

fn pipeline(name: &str, check_selection: bool) {
    let dir = scratch(name);
    let data = dir.join("data");
    synth(&data, 160, 128, 5);
    // Briefly trained experts: real, imperfect predictions to label with.
    let experts = dir.join("experts");
    for part in ["body", "face", "hand"] {
        train(&data, part, &experts.join(format!("{part}.expert")), 3);
    }

    // An uninterrupted run, then a run that crashes after one committed chunk and a rerun.
    furpe(
        &label_args(&data, &experts)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let shard = data.join("labels/shard-0000-of-0001.safetensors");
    let reference = std::fs::read(&shard).unwrap();
    // A finished shard is never replaced unasked; --force relabels it.
    let again: Vec<String> = label_args(&data, &experts);
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let (ok, text) = run_furpe(&again);
    assert!(
        !ok && text.contains("--force") && text.contains("shard-0000-of-0001"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&shard).unwrap(),
        reference,
        "the refused run touched the shard"
    );
    let mut forced = again.clone();
    forced.push("--force");
    let text = furpe(&forced);
    assert!(text.contains("removed"), "{text}");
    assert_eq!(
        std::fs::read(&shard).unwrap(),
        reference,
        "relabelling is deterministic"
    );
    std::fs::remove_file(&shard).unwrap();
    let crashed = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args(label_args(&data, &experts))
        .env("FURPE_TEST_ONLY_ABORT_AFTER_CHUNKS", "2")
        .output()
        .unwrap();
    assert!(
        !crashed.status.success(),
        "the test-only abort did not stop the run"
    );
    assert!(
        !shard.exists(),
        "a crashed run must not leave a final shard"
    );
    let text = furpe(
        &label_args(&data, &experts)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(text.contains("resuming: 2 of 10 chunks"), "{text}");
    assert!(text.contains("images/s"), "{text}");
    assert!(
        std::fs::read(&shard).unwrap() == reference,
        "resumed shard differs from the uninterrupted run's"
    );

    if !check_selection {
        std::fs::remove_dir_all(dir).ok();
        return;
    }
    // Selection: dropped images have worse body labels than kept ones. The
    // briefly trained experts' labels reproject with an MSE of ~0.02–0.1
    // crop units, so the paper-default threshold (0.01) would keep almost
    // nothing; 0.05 (what `furpe demo` uses) keeps some and drops some.
    let config = dir.join("selection-config.json");
    std::fs::write(&config, r#"{"reprojection_max_mse": 0.05}"#).unwrap();
    furpe(&[
        "select",
        "--data",
        &data.display().to_string(),
        "--config",
        &config.display().to_string(),
        "--backend",
        "flex",
    ]);
    let selection = read_json(&data.join("selection.json"));
    let labels = furpe::pseudo::load_dir(&data.join("labels")).unwrap();
    let annotations = furpe::dataset::read_annotations(&data.join("annotations.jsonl")).unwrap();
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    for (row, d) in selection["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let index = d["index"].as_u64().unwrap() as usize;
        assert_eq!(labels.index[row] as usize, index);
        let gt = annotations[index].ground_truth.as_ref().unwrap();
        let params = gt.smplx_params("gt").unwrap();
        let global =
            furpe::experts::camera_frame_orientation(&gt.camera.unwrap(), &params.global_orient[0]);
        let error = furpe::experts::body_label_error_deg(
            labels.get("global_orient", row).unwrap(),
            labels.get("body_pose", row).unwrap(),
            &global,
            &params.body_pose[0],
        );
        if d["kept"].as_bool().unwrap() {
            kept.push(error)
        } else {
            dropped.push(error)
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    assert!(
        !kept.is_empty() && !dropped.is_empty(),
        "selection kept {} and dropped {}: cannot compare",
        kept.len(),
        dropped.len()
    );
    assert!(
        mean(&dropped) > mean(&kept),
        "dropped images' body labels should be worse than kept ones': dropped {:.2}° ({} images) vs kept {:.2}° ({} images)",
        mean(&dropped),
        dropped.len(),
        mean(&kept),
        kept.len()
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = scratch("label-errors");
    let data = dir.join("data");
    synth(&data, 5, 64, 9);
    let expert = dir.join("body.expert");
    furpe(&[
        "expert",
        "train",
        "--part",
        "body",
        "--data",
        &data.display().to_string(),
        "--out",
        &expert.display().to_string(),
        "--epochs",
        "1",
        "--crop",
        "32",
        "--width",
        "4",
        "--backend",
        "flex",
    ]);
    let label = |data: &Path, flag: &str, expert: &Path| {
        run_furpe(&[
            "label",
            "--data",
            &data.display().to_string(),
            flag,
            &expert.display().to_string(),
            "--backend",
            "flex",
        ])
    };

    // Empty data folder.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (ok, text) = label(&empty, "--body", &expert);
    assert!(
        !ok && text.contains("annotations.jsonl") && text.contains("not a dataset"),
        "{text}"
    );

    // A fit prior that is not a finite λ ≥ 0, or given without the fits.
    let (ok, text) = run_furpe(&[
        "label",
        "--data",
        &data.display().to_string(),
        "--experts",
        "mediapipe",
        "--hand-prior=-1",
        "--backend",
        "flex",
    ]);
    assert!(
        !ok && text.contains("--hand-prior -1: expected a finite λ ≥ 0"),
        "{text}"
    );
    let (ok, text) = run_furpe(&[
        "label",
        "--data",
        &data.display().to_string(),
        "--body",
        &expert.display().to_string(),
        "--face-prior",
        "0.1",
        "--backend",
        "flex",
    ]);
    assert!(
        !ok && text.contains("--face-prior applies to --experts mediapipe"),
        "{text}"
    );

    // An expert file given for the wrong part, a truncated one, published
    // checkpoints with a missing key and a mis-shaped one.
    let (ok, text) = label(&data, "--face", &expert);
    assert!(
        !ok && text.contains("a body expert, given as the face expert"),
        "{text}"
    );
    let bytes = std::fs::read(&expert).unwrap();
    let cut = dir.join("cut.expert");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, text) = label(&data, "--body", &cut);
    assert!(
        !ok && text.contains("cut.expert") && text.contains("corrupt"),
        "{text}"
    );
    let fixtures = common::fixtures().join("experts");
    let (ok, text) = label(&data, "--body", &fixtures.join("spin_missing_key.pt"));
    assert!(
        !ok && text.contains("spin_missing_key.pt")
            && (text.contains("missing") || text.contains("shape")),
        "{text}"
    );
    let (ok, text) = label(&data, "--face", &fixtures.join("deca_bad_shape.tar"));
    assert!(
        !ok && text.contains("deca_bad_shape.tar") && text.contains("shape"),
        "{text}"
    );

    // A corrupt image names the file.
    std::fs::write(data.join("images/000002.png"), b"not a png").unwrap();
    let (ok, text) = label(&data, "--body", &expert);
    assert!(
        !ok && text.contains("000002.png") && text.contains("corrupt"),
        "{text}"
    );

    // Expert training needs ground truth.
    let lines = std::fs::read_to_string(data.join("annotations.jsonl")).unwrap();
    let stripped: String = lines
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("ground_truth");
            format!("{v}\n")
        })
        .collect();
    std::fs::write(data.join("annotations.jsonl"), stripped).unwrap();
    let (ok, text) = run_furpe(&[
        "expert",
        "train",
        "--part",
        "hand",
        "--data",
        &data.display().to_string(),
        "--out",
        &dir.join("h.expert").display().to_string(),
        "--backend",
        "flex",
    ]);
    assert!(!ok && text.contains("no ground_truth"), "{text}");
    std::fs::remove_dir_all(dir).ok();
}

/// MediaPipe's real body model as the body expert (an SMPL-X fit to its
/// landmarks) on a fresh synthetic world: its body labels, posed and scored
/// by `furpe eval`, beat the labels' own mean given as a constant.
#[test]
fn mediapipe_body_labels_beat_their_constant() {
    let dir = scratch("label_mediapipe");
    let data = dir.join("world");
    synth(&data, 32, 256, 4242);
    let data_s = data.display().to_string();
    let (ok, log) = run_furpe(&[
        "label",
        "--data",
        &data_s,
        "--experts",
        "mediapipe",
        "--body",
        "x.furpe",
    ]);
    assert!(
        !ok && log.contains("--experts mediapipe labels the body itself"),
        "{log}"
    );
    // A package that is not there: where it looked, and how to install it.
    let (ok, log) = run_furpe(&[
        "label",
        "--data",
        &data_s,
        "--experts",
        "mediapipe",
        "--mediapipe",
        "/no-such-package",
    ]);
    assert!(
        !ok && log.contains("no-such-package") && log.contains("npm ci --prefix models/mediapipe"),
        "{log}"
    );
    assert!(!data.join("labels/shard-0000-of-0001.safetensors").exists());
    furpe(&[
        "label",
        "--data",
        &data_s,
        "--experts",
        "mediapipe",
        "--no-face",
        "--backend",
        "flex",
    ]);
    let labels =
        furpe::pseudo::PseudoLabels::load(&data.join("labels/shard-0000-of-0001.safetensors"))
            .expect("label shard");
    // One prediction per image: the label, or the zero body where
    // MediaPipe found nobody (counted against it).
    let pred = dir.join("pred");
    std::fs::create_dir_all(&pred).unwrap();
    let (mut found, mut hands) = (0, 0);
    for (row, &index) in labels.index.iter().enumerate() {
        let get = |key: &str| {
            labels
                .get(key, row)
                .filter(|v| v.iter().all(|x| x.is_finite()))
                .map(<[f32]>::to_vec)
        };
        let mut body = serde_json::Map::new();
        if let (Some(g), Some(b)) = (get("global_orient"), get("body_pose")) {
            found += 1;
            // The pose model's shared embedding, for the KL distillation.
            let feature = get("feature_body").expect("a labelled body has its feature");
            assert_eq!(feature.len(), 2 * 2 * 288);
            body.insert("global_orient".into(), serde_json::json!(g));
            body.insert("body_pose".into(), serde_json::json!(b));
        }
        hands +=
            get("left_hand_pose").is_some() as usize + get("right_hand_pose").is_some() as usize;
        std::fs::write(
            pred.join(format!("{index:06}.json")),
            serde_json::to_string(&body).unwrap(),
        )
        .unwrap();
    }
    // At least 3 in 4 bodies found (measured: 29–30 of 32).
    assert!(found >= 24, "MediaPipe found {found} of 32 bodies");
    assert!(hands >= 4, "{hands} hands labelled");
    let out = dir.join("eval");
    furpe(&[
        "eval",
        "--dataset",
        "synthetic",
        "--root",
        &data_s,
        "--pred",
        &pred.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--backend",
        "flex",
    ]);
    let report = read_json(&out.join("report.json"));
    let labels_mm = report["mean"]["pa_mpjpe_mm"].as_f64().unwrap();
    let constant = report["constants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap_or("").starts_with("own mean"))
        .expect("own-mean row");
    let constant_mm = constant["mean"]["pa_mpjpe_mm"].as_f64().unwrap();
    // Measured: 100.0 vs 119.8 mm (0.83×) with the missed bodies as zero
    // bodies; 0.72× the best constant on 300 images (docs/mediapipe_labels.md).
    assert!(
        labels_mm < 0.9 * constant_mm,
        "labels {labels_mm:.1} mm vs their own mean {constant_mm:.1} mm"
    );
}
