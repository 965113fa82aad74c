//! `furpe train`: a tiny student trains on a small synthetic world, writes
//! its log, curves, checkpoints and exported student; a run killed with
//! SIGKILL and resumed ends with the same weights as an uninterrupted one;
//! bad configurations fail clearly.
//!
//! The labels here are ORACLE labels made from the synthetic ground truth
//! (test-only scaffolding: the pipeline's labels come from the trained part
//! experts through `furpe label`), so these tests exercise the trainer
//! independently of the experts.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{run_furpe, scratch};
use furpe::dataset::read_annotations;
use furpe::pseudo::PseudoLabels;
use furpe::rotation::host::{axis_angle_to_matrix, matmul, matrix_to_axis_angle};
use furpe::smplx::mannequin::mannequin;

/// Oracle pseudo labels (camera-frame global orientation, hands relative to
/// the mean) and random expert features, for test training only.
fn write_oracle_labels(dir: &Path) {
    write_oracle_labels_with_features(dir, 8);
}

/// [`write_oracle_labels`] with expert features `width` wide.
fn write_oracle_labels_with_features(dir: &Path, width: usize) {
    let annotations = read_annotations(&dir.join("annotations.jsonl")).unwrap();
    let model = mannequin();
    let mut labels = PseudoLabels::default();
    for (i, a) in annotations.iter().enumerate() {
        let gt = a.ground_truth.as_ref().unwrap();
        let p = gt.smplx_params("gt").unwrap();
        let camera = gt.camera.as_ref().unwrap();
        let g = &p.global_orient[0];
        let r = axis_angle_to_matrix([g[0] as f64, g[1] as f64, g[2] as f64]);
        let global: Vec<f32> = matrix_to_axis_angle(&matmul(&camera.rotation, &r))
            .iter()
            .map(|&v| v as f32)
            .collect();
        let rel = |hand: &[f32], mean: &[f32]| -> Vec<f32> {
            hand.iter().zip(mean).map(|(h, m)| h - m).collect()
        };
        let feature: Vec<f32> = (0..width).map(|k| ((i * 7 + k) % 5) as f32).collect();
        labels
            .push(
                i as u64,
                &[
                    ("body_box", &a.person_box[..]),
                    ("body_camera", &[1.0, 0.0, 0.0]),
                    ("global_orient", &global),
                    ("body_pose", &p.body_pose[0]),
                    ("smpl_betas", &p.betas[0][..10]),
                    ("jaw_pose", &p.jaw_pose[0]),
                    ("expression", &p.expression[0][..10]),
                    (
                        "left_hand_pose",
                        &rel(&p.left_hand_pose[0], &model.hands_mean_l),
                    ),
                    (
                        "right_hand_pose",
                        &rel(&p.right_hand_pose[0], &model.hands_mean_r),
                    ),
                    ("feature_body", &feature),
                    ("feature_face", &feature),
                    ("feature_left_hand", &feature),
                    ("feature_right_hand", &feature),
                ],
            )
            .unwrap();
    }
    std::fs::create_dir_all(dir.join("labels")).unwrap();
    labels
        .save(&dir.join("labels/shard-0000-of-0001.safetensors"))
        .unwrap();
}

fn world(name: &str, count: usize) -> common::Scratch {
    let dir = scratch(name);
    let data = dir.join("data");
    let (ok, out) = run_furpe(&[
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--count",
        &count.to_string(),
        "--size",
        "64",
        "--supersample",
        "1",
        "--seed",
        "3",
    ]);
    assert!(ok, "{out}");
    write_oracle_labels(&data);
    dir
}

const TINY: &str = r#"
use_selection = false
epochs = 2
batch = 4
lr = 1e-3
checkpoint_every = 2
log_every = 1
holdout_every = 5
workers = 2
[student]
depth = 18
layers = [1, 1, 1, 1]
width = 4
crop = 32
hidden = [16]
"#;

/// A TINY config at `path` for the world in `dir` (run directory `dir/run`):
/// top-level keys `top` go before TINY's `[student]` table (and replace its
/// `lr` when they set one), `student` adds keys to that table.
fn tiny_config(path: &Path, dir: &Path, run: &str, top: &str, student: &str) -> std::path::PathBuf {
    let tiny = if top.contains("lr =") {
        TINY.replace("lr = 1e-3\n", "")
    } else {
        TINY.to_string()
    };
    let text = format!(
        "data = {:?}\nout = {:?}\n{top}{tiny}{student}",
        dir.join("data"),
        dir.join(run)
    );
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("train.toml");
    std::fs::write(
        &path,
        format!(
            "data = {:?}\nout = {:?}\n{TINY}{extra}",
            dir.join("data"),
            dir.join("run")
        ),
    )
    .unwrap();
    path
}

/// `extra_data`: a run trains on the rows of both datasets, reads each
/// record's image from its own dataset, and refuses datasets whose expert
/// features differ.
#[test]
fn trains_on_several_datasets_at_once() {
    let dir = world("train-two-sets", 20);
    let other = world("train-two-sets-extra", 20);
    let write = |steps: usize| {
        let top = format!(
            "extra_data = [{:?}]\nmax_steps = {steps}\n",
            other.join("data")
        );
        tiny_config(&dir.join("train.toml"), &dir, "run", &top, "")
    };
    let path = write(1);
    let (ok, out) = run_furpe(&["train", "--config", path.to_str().unwrap()]);
    // 16 + 16 training rows, 4 + 4 held out (every 5th record of each).
    assert!(ok && out.contains("32 training rows, 8 held out"), "{out}");

    // A missing image of the second dataset is named with its own directory
    // (both worlds name their images alike).
    let image = other.join("data/images/000003.png");
    let kept = std::fs::read(&image).unwrap();
    std::fs::remove_file(&image).unwrap();
    let path = write(2);
    let (ok, out) = run_furpe(&["train", "--config", path.to_str().unwrap(), "--overwrite"]);
    let named = image.display().to_string();
    assert!(!ok && out.contains(&named), "{out}");
    std::fs::write(&image, kept).unwrap();

    write_oracle_labels_with_features(&other.join("data"), 6);
    let (ok, out) = run_furpe(&["train", "--config", path.to_str().unwrap(), "--overwrite"]);
    assert!(!ok && out.contains("feature widths"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

/// `init`: a run starts from a student file's weights (with lr 0 its
/// student predicts what that file does, up to BatchNorm's running
/// statistics), and a file of another network is refused.
#[test]
fn a_run_starts_from_a_student_file() {
    let dir = world("train-init", 20);
    let write = |name: &str, top: &str, student: &str| {
        tiny_config(
            &dir.join(name),
            &dir,
            &name.replace(".toml", ""),
            top,
            student,
        )
    };
    let first = write("first.toml", "lr = 1e-3\nmax_steps = 4\n", "");
    let (ok, out) = run_furpe(&["train", "--config", first.to_str().unwrap()]);
    assert!(ok, "{out}");
    let trained = dir.join("first/student.furpe");
    let init = format!("init = {trained:?}\nlr = 0.0\nmax_steps = 1\n");
    let second = write("second.toml", &init, "");
    let (ok, out) = run_furpe(&["train", "--config", second.to_str().unwrap()]);
    assert!(ok && out.contains("starting from the weights of"), "{out}");
    let fresh = write("fresh.toml", "lr = 0.0\nmax_steps = 1\nseed = 5\n", "");
    let (ok, out) = run_furpe(&["train", "--config", fresh.to_str().unwrap()]);
    assert!(ok, "{out}");
    let image = dir.join("data/images/000001.png");
    let pose = |student: &Path| -> Vec<f64> {
        let out_dir = dir.join("infer");
        let (ok, out) = run_furpe(&[
            "infer",
            image.to_str().unwrap(),
            "--student",
            student.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(ok, "{out}");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("000001.json")).unwrap()).unwrap();
        json["body_pose"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let max_gap = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    };
    let original = pose(&trained);
    let started = max_gap(&original, &pose(&dir.join("second/student.furpe")));
    let random = max_gap(&original, &pose(&dir.join("fresh/student.furpe")));
    eprintln!("init: max |delta body_pose| {started:.2e}; a fresh student {random:.2e}");
    assert!(started < 0.1 * random, "{started} vs {random}");
    // Another network is refused, naming the file.
    let other = write("other.toml", &init, "dropout = 0.3\n");
    let (ok, out) = run_furpe(&["train", "--config", other.to_str().unwrap()]);
    assert!(
        !ok && out.contains("init =") && out.contains("first/student.furpe"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `max_minutes`: a wall-clock budget ends the run after the step that
/// passes it, with the validation, checkpoint and export of a finished run;
/// `--resume` goes on to the step budget. Peers are refused.
#[test]
fn a_time_budget_ends_the_run_and_resume_finishes_it() {
    let dir = world("train-minutes", 20);
    // 1 ms: the first step (a few hundred ms here) already passes it.
    let path = tiny_config(
        &dir.join("budget.toml"),
        &dir,
        "run",
        "max_steps = 6\nmax_minutes = 0.00002\n",
        "",
    );
    let (ok, out) = run_furpe(&["train", "--config", path.to_str().unwrap()]);
    assert!(
        ok && out.contains("max_minutes: stopping at step 1 of 6"),
        "{out}"
    );
    assert!(dir.join("run/student.furpe").is_file());
    let log = std::fs::read_to_string(dir.join("run/log.jsonl")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("\"validation\"") && l.contains("\"step\":1")),
        "{log}"
    );
    // Resumed without the budget, the run finishes its 6 steps.
    let resumed = tiny_config(&dir.join("resume.toml"), &dir, "run", "max_steps = 6\n", "");
    let (ok, out) = run_furpe(&["train", "--config", resumed.to_str().unwrap(), "--resume"]);
    assert!(ok && !out.contains("max_minutes"), "{out}");
    let log = std::fs::read_to_string(dir.join("run/log.jsonl")).unwrap();
    assert!(log.contains("\"step\":6"), "{log}");
    // Two peers would have to agree on when to stop: refused.
    let two = tiny_config(
        &dir.join("two.toml"),
        &dir,
        "run2",
        "max_steps = 6\nmax_minutes = 1.0\n",
        "",
    );
    let (ok, out) = run_furpe(&["train", "--config", two.to_str().unwrap(), "--devices", "2"]);
    assert!(
        !ok && out.contains("max_minutes needs a run on one device"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn trains_logs_checkpoints_and_exports() {
    let dir = world("train-basic", 20);
    let cfg = config(&dir, "");
    let (ok, out) = run_furpe(&["train", "--config", cfg.to_str().unwrap()]);
    assert!(ok, "{out}");
    let run = dir.join("run");
    for file in [
        "log.jsonl",
        "curves.png",
        "student.furpe",
        "config.toml",
        "label_mean.json",
        "checkpoints/latest",
    ] {
        assert!(run.join(file).is_file(), "missing {file}: {out}");
    }
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    let steps: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["step"].is_u64() && v["loss"].is_f64())
        .collect();
    // 16 training rows (every 5th of 20 held out), batch 4: 4 steps per epoch.
    assert_eq!(steps.len(), 8, "{log}");
    for term in [
        "body_keypoints",
        "body_pose",
        "hand_pose",
        "expression",
        "distillation",
        "consistency",
    ] {
        assert!(steps[0][term].is_f64(), "no {term} in {}", steps[0]);
    }
    assert!(log.contains("\"validation\""), "{log}");
    // The exported student runs through `furpe infer` and `furpe eval`.
    let images = dir.join("data/images");
    let infer = dir.join("infer");
    let (ok, out) = run_furpe(&[
        "infer",
        images.to_str().unwrap(),
        "--student",
        run.join("student.furpe").to_str().unwrap(),
        "--out",
        infer.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let first = std::fs::read_dir(&images).unwrap().count();
    let jsons = std::fs::read_dir(&infer)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(jsons, first, "one parameter file per image");
    // A dataset directory: every record at its box, scored against its
    // (here simulated) detector keypoints beside the best constant.
    let scored = dir.join("infer-dataset");
    let (ok, out) = run_furpe(&[
        "infer",
        dir.join("data").to_str().unwrap(),
        "--student",
        run.join("student.furpe").to_str().unwrap(),
        "--out",
        scored.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("best constant in the image"), "{out}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scored.join("keypoints_2d.json")).unwrap()).unwrap();
    let agreement = &report["agreement"];
    assert_eq!(agreement["frames"], 20, "{report}");
    for key in ["median", "constant_median", "spread", "detected_spread"] {
        let v = agreement[key].as_f64().unwrap();
        assert!(v.is_finite() && v > 0.0 && v < 2.0, "{key}: {report}");
    }
    // The same medians in pixels, on 64-px images.
    for key in ["median_px", "constant_median_px"] {
        let v = agreement[key].as_f64().unwrap();
        assert!(v.is_finite() && v > 0.0 && v < 128.0, "{key}: {report}");
    }
    assert!(scored.join("000019.json").is_file());
    let eval = dir.join("eval");
    let (ok, out) = run_furpe(&[
        "eval",
        "--dataset",
        "synthetic",
        "--root",
        dir.join("data").to_str().unwrap(),
        "--checkpoint",
        run.join("student.furpe").to_str().unwrap(),
        "--out",
        eval.to_str().unwrap(),
        "--limit",
        "4",
    ]);
    assert!(ok, "{out}");
    let report = std::fs::read_to_string(eval.join("report.md")).unwrap();
    assert!(report.contains("FuRPE student"), "{report}");
    // A bad image in a folder is reported and skipped; the rest are written.
    let mixed = dir.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    let good = std::fs::read_dir(&images)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&good, mixed.join("a.png")).unwrap();
    std::fs::write(mixed.join("b.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
    let mixed_out = dir.join("infer-mixed");
    let (ok, out) = run_furpe(&[
        "infer",
        mixed.to_str().unwrap(),
        "--student",
        run.join("student.furpe").to_str().unwrap(),
        "--out",
        mixed_out.to_str().unwrap(),
    ]);
    assert!(
        !ok && out.contains("b.png") && out.contains("skipped"),
        "{out}"
    );
    assert!(mixed_out.join("a.json").is_file(), "{out}");
    for bad in ["NaN,0,10,10", "10,0,5,10"] {
        let (ok, out) = run_furpe(&[
            "infer",
            mixed.join("a.png").to_str().unwrap(),
            "--student",
            run.join("student.furpe").to_str().unwrap(),
            "--out",
            mixed_out.to_str().unwrap(),
            "--person-box",
            bad,
        ]);
        assert!(!ok && out.contains("--person-box"), "{bad}: {out}");
    }
    // A box reaching past the image's top-left corner is a box, not a flag.
    let (ok, out) = run_furpe(&[
        "infer",
        mixed.join("a.png").to_str().unwrap(),
        "--student",
        run.join("student.furpe").to_str().unwrap(),
        "--out",
        mixed_out.to_str().unwrap(),
        "--person-box",
        "-4,-4,30,40",
    ]);
    assert!(ok, "{out}");
    // A file that is not a student is refused with its name.
    let (ok, out) = run_furpe(&[
        "infer",
        images.to_str().unwrap(),
        "--student",
        cfg.to_str().unwrap(),
        "--out",
        infer.to_str().unwrap(),
    ]);
    assert!(
        !ok && out.contains("train.toml") && out.contains("not a FuRPE student"),
        "{out}"
    );
    // Running again into the same directory must not overwrite it.
    let (ok, out) = run_furpe(&["train", "--config", cfg.to_str().unwrap()]);
    assert!(!ok && out.contains("--resume"), "{out}");
}

/// `furpe export --untrained`: a random-weight student of a config's
/// `[student]` table (the browser tests compare a two-stage one with `furpe
/// infer`), marked untrained in its header, seeded, runnable by `furpe
/// infer`; a bad table is refused naming the file.
#[test]
fn exports_an_untrained_student_of_a_config() {
    let dir = world("export-untrained", 2);
    let table = "[student]\nkind = \"two_stage\"\ndepth = 18\nlayers = [1, 1, 1, 1]\nwidth = 8\ncrop = 32\npart_width = 8\nhand_crop = 32\nface_crop = 32\n";
    let cfg = dir.join("two.toml");
    std::fs::write(&cfg, format!("seed = 5\n{table}")).unwrap();
    let export = |out: &Path| {
        run_furpe(&[
            "export",
            "--untrained",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let (a, b) = (dir.join("a.furpe"), dir.join("b.furpe"));
    for file in [&a, &b] {
        let (ok, out) = export(file);
        assert!(ok, "{out}");
    }
    let bytes = std::fs::read(&a).unwrap();
    assert!(
        String::from_utf8_lossy(&bytes)
            .contains("UNTRAINED: random weights (two-stage student, seed 5"),
        "the header does not say the student is untrained"
    );
    assert!(
        mask_ids(&bytes) == mask_ids(&std::fs::read(&b).unwrap()),
        "the same seed gave different weights"
    );
    let infer = dir.join("infer");
    let (ok, out) = run_furpe(&[
        "infer",
        dir.join("data/images").to_str().unwrap(),
        "--student",
        a.to_str().unwrap(),
        "--out",
        infer.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(std::fs::read_dir(&infer).unwrap().count() > 0, "{out}");
    std::fs::write(&cfg, table.replace("depth = 18", "depth = 19")).unwrap();
    let (ok, out) = export(&a);
    assert!(
        !ok && out.contains("two.toml") && out.contains("depth"),
        "{out}"
    );
    let (ok, out) = run_furpe(&["export", "--out", a.to_str().unwrap()]);
    assert!(!ok && out.contains("--untrained"), "{out}");
}

/// Epochs of the can-it-learn runs (`FURPE_LEARN_EPOCHS` overrides it, to
/// explore).
fn learn_epochs(default: usize) -> String {
    std::env::var("FURPE_LEARN_EPOCHS").unwrap_or_else(|_| default.to_string())
}

/// PA-MPJPE of the student and of the best constant (the training labels'
/// mean) on the images the student was trained on.
fn fit_error(dir: &Path, student: &str) -> (f64, f64, String) {
    let run = dir.join("run");
    let eval = dir.join("eval-fit");
    let (ok, out) = run_furpe(&[
        "eval",
        "--dataset",
        "synthetic",
        "--root",
        dir.join("data").to_str().unwrap(),
        "--checkpoint",
        run.join("student.furpe").to_str().unwrap(),
        "--constant",
        run.join("label_mean.json").to_str().unwrap(),
        "--out",
        eval.to_str().unwrap(),
    ]);
    assert!(ok, "{student}: {out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(eval.join("report.json")).unwrap()).unwrap();
    let constant = &report["constants"][0];
    assert!(
        constant["name"]
            .as_str()
            .unwrap()
            .starts_with("best constant"),
        "{report}"
    );
    let md = std::fs::read_to_string(eval.join("report.md")).unwrap();
    (
        report["mean"]["pa_mpjpe_mm"].as_f64().unwrap(),
        constant["mean"]["pa_mpjpe_mm"].as_f64().unwrap(),
        md,
    )
}

/// Can it learn: on 64 images with exact labels, a student fits them below
/// the best constant (the mean of those labels) on the same images. A
/// student that ignores its pixels can do no better than the constant, so
/// this fails on any bug that cuts the image off from the prediction (a
/// wrong crop, a dead gradient, labels paired with the wrong images).
fn can_it_learn(name: &str, student: &str, epochs: usize, ratio: f64) {
    let dir = world(name, 64);
    let path = dir.join("train.toml");
    std::fs::write(
        &path,
        format!(
            r#"data = {:?}
out = {:?}
use_selection = false
epochs = {}
lr_drop_epoch = 1000
batch = 16
lr = {}
checkpoint_every = 100000
log_every = 10
holdout_every = 100000
workers = 2
distill = false
[ema]
enabled = false
[augment]
flip = 0.0
rotation_deg = 0.0
scale = 0.0
color = 0.0
noise = 0.0
[loss]
expression = 0.0
body_pose = 10.0
global_orient = 10.0
body_joints = {}
[student]
{student}
"#,
            dir.join("data"),
            dir.join("run"),
            learn_epochs(epochs),
            std::env::var("FURPE_LEARN_LR").unwrap_or_else(|_| "2e-3".into()),
            std::env::var("FURPE_LEARN_BODY_JOINTS").unwrap_or_else(|_| "10.0".into())
        ),
    )
    .unwrap();
    let (ok, out) = run_furpe(&["train", "--config", path.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (fit, constant, md) = fit_error(&dir, student);
    eprintln!("{name}: student {fit:.1} mm, best constant {constant:.1} mm\n{md}");
    assert!(
        fit <= ratio * constant,
        "{name}: PA-MPJPE on its own 64 training images {fit:.1} mm, the best constant's {constant:.1} mm (must be ≤ {ratio}×)\n{md}"
    );
}

// Measured 2026-12-04 (burn-flex, 2 cores), PA-MPJPE on the 64 training
// images against the best constant's 120.7 mm, 100 epochs (300 steps):
// - the paper's loss weights, regressor hidden [64] (this test until
//   2026-12-02, then at 400 epochs): 116.0 mm (0.96×);
// - hidden [256]: 84.4 mm; without the expression term (ψ of a 20-pixel
//   face is invisible, and its coefficient error dominated the loss) and
//   with the rotations × 10: 67.1 mm;
// - plus the 3D body-joint term (`body_joints`): 35–38 mm (0.3×).
// At 150 epochs (~30 s with the joints-only body pass) it reaches 28.3 mm
// (0.23×); the bar is the issue's 0.3×. Without the joint term
// (`FURPE_LEARN_BODY_JOINTS=0`) it reaches 77.8 mm at 100 epochs and fails.
#[test]
fn one_stage_student_fits_a_small_set_below_the_best_constant() {
    can_it_learn(
        "learn-one-stage",
        "depth = 18\nlayers = [1, 1, 1, 1]\nwidth = 8\ncrop = 32\nhidden = [256]\ndropout = 0.0",
        150,
        0.3,
    );
}

/// The two-stage student (ExPose-style hand and face refinement from a
/// detail crop) on the same 64 images: its body comes from the same kind of
/// backbone, so it must fit as far below the best constant. Measured
/// 2026-12-04: 34.6 mm at 150 epochs, 27.2 mm (0.23×) at 200 (~1 min).
#[test]
fn two_stage_student_fits_a_small_set_below_the_best_constant() {
    can_it_learn(
        "learn-two-stage",
        "kind = \"two_stage\"\ndepth = 18\nlayers = [1, 1, 1, 1]\nwidth = 8\ncrop = 32\nhidden = [256]\ndropout = 0.0\npart_width = 8\nhand_crop = 32\nface_crop = 32",
        200,
        0.3,
    );
}

#[test]
fn killed_and_resumed_run_matches_an_uninterrupted_one() {
    let dir = world("train-resume", 20);
    let cfg = config(&dir, "");
    let (ok, out) = run_furpe(&["train", "--config", cfg.to_str().unwrap()]);
    assert!(ok, "{out}");
    let reference = std::fs::read(dir.join("run/student.furpe")).unwrap();

    let other = dir.join("run2");
    let mut child = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args(["train", "--config", cfg.to_str().unwrap(), "--out"])
        .arg(&other)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill as soon as the first checkpoint is committed.
    let start = Instant::now();
    while !other.join("checkpoints/latest").is_file() {
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint");
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().ok(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        !other.join("student.furpe").exists(),
        "the run finished before it could be killed; the test proves nothing"
    );
    let (ok, out) = run_furpe(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--resume",
    ]);
    assert!(ok && out.contains("resuming from"), "{out}");
    let resumed = std::fs::read(other.join("student.furpe")).unwrap();
    // Every weight and batch-norm statistic must be bit-identical. Burn
    // gives running statistics a random per-process id (parameters are
    // renumbered on export), so ids are masked out before comparing.
    assert_eq!(mask_ids(&resumed).len(), mask_ids(&reference).len());
    assert!(
        mask_ids(&resumed) == mask_ids(&reference),
        "resumed weights differ from the uninterrupted run"
    );
    assert!(mask_ids(&resumed).len() > 1000);
}

#[test]
fn a_corrupt_training_image_is_reported_before_step_one() {
    let dir = world("train-bad-image", 20);
    let cfg = config(&dir, "");
    let mut images: Vec<_> = std::fs::read_dir(dir.join("data/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    images.sort();
    let victim = images[images.len() - 1].clone();
    std::fs::write(&victim, b"\x89PNG\r\n\x1a\ncut short").unwrap();
    let (ok, out) = run_furpe(&["train", "--config", cfg.to_str().unwrap()]);
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(
        !ok && out.contains(name) && out.contains("nothing was trained"),
        "{out}"
    );
    assert!(!dir.join("run/checkpoints").exists(), "{out}");
}

/// The run directory's `step-*` checkpoints, oldest first.
fn checkpoints(run: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("step-")
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_finished_run_is_never_overwritten_and_resumes_from_its_newest_intact_checkpoint() {
    let dir = world("train-rundir", 20);
    let cfg = config(&dir, "");
    let cfg = cfg.to_str().unwrap();
    let (ok, out) = run_furpe(&["train", "--config", cfg]);
    assert!(ok, "{out}");
    let run = dir.join("run");
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    // A fresh run on a directory that holds a run is refused, and leaves it
    // as it was, with or without the `latest` pointer.
    let (ok, out) = run_furpe(&["train", "--config", cfg]);
    assert!(
        !ok && out.contains("already holds a run") && out.contains("--overwrite"),
        "{out}"
    );
    std::fs::remove_file(run.join("checkpoints/latest")).unwrap();
    let (ok, out) = run_furpe(&["train", "--config", cfg]);
    assert!(!ok && out.contains("already holds a run"), "{out}");
    assert_eq!(std::fs::read_to_string(run.join("log.jsonl")).unwrap(), log);
    let steps = checkpoints(&run);
    assert!(steps.len() >= 2, "{steps:?}");
    // One flipped bit in the newest checkpoint's weights: `--resume` names
    // it and continues from the older one.
    let newest = steps[steps.len() - 1].join("student.mpk");
    let mut bytes = std::fs::read(&newest).unwrap();
    let at = bytes.len() * 3 / 4;
    bytes[at] ^= 0x10;
    std::fs::write(&newest, bytes).unwrap();
    let older = steps[steps.len() - 2].display().to_string();
    let (ok, out) = run_furpe(&["train", "--config", cfg, "--resume"]);
    assert!(
        ok && out.contains("CRC-32") && out.contains(&format!("resuming from {older}")),
        "{out}"
    );
    // --overwrite starts afresh.
    let (ok, out) = run_furpe(&["train", "--config", cfg, "--overwrite"]);
    assert!(ok && !out.contains("resuming"), "{out}");
}

#[test]
fn a_second_run_on_the_same_directory_is_refused_while_the_first_works() {
    let dir = world("train-lock", 20);
    let cfg = config(&dir, "");
    let run = dir.join("run");
    let mut first = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--epochs",
            "200",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !run.join("log.jsonl").is_file() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the first run never started"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (ok, out) = run_furpe(&["train", "--config", cfg.to_str().unwrap(), "--overwrite"]);
    let still_running = first.try_wait().unwrap().is_none();
    first.kill().ok();
    first.wait().unwrap();
    assert!(
        still_running,
        "the first run finished before the second started; the test proves nothing"
    );
    assert!(!ok && out.contains("another furpe process"), "{out}");
    assert!(
        run.join("log.jsonl").is_file(),
        "the refused run deleted the first's log"
    );
}

/// The record with every MessagePack `"id": <13-char string>` value zeroed.
/// A student file's header is left out: its CRC-32 covers those ids.
fn mask_ids(bytes: &[u8]) -> Vec<u8> {
    const KEY: &[u8] = b"\xa2id\xad";
    let record = match furpe::nets::student_file::read_header(bytes, "student") {
        Ok((_, start)) => &bytes[start..],
        Err(_) => bytes,
    };
    let mut out = record.to_vec();
    let mut i = 0;
    while i + KEY.len() + 13 <= out.len() {
        if &out[i..i + KEY.len()] == KEY {
            out[i + KEY.len()..i + KEY.len() + 13].fill(0);
            i += KEY.len() + 13;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn bad_configs_fail_clearly() {
    let dir = scratch("train-bad");
    let cases = [
        ("epochs = 0\n", "epochs"),
        ("batchsize = 3\n", "batchsize"),
        ("[student]\nkind = \"three_stage\"\n", "three_stage"),
        ("[loss]\nfoo = 1.0\n", "foo"),
        ("loss_preset = \"mine\"\n", "loss_preset"),
        ("max_steps = 0\n", "max_steps"),
        ("[student]\ncrop = 64\nreadout_grid = 3\n", "readout_grid"),
        ("[student]\ndropout = 2.0\n", "dropout"),
    ];
    for (text, needle) in cases {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let (ok, out) = run_furpe(&["train", "--config", path.to_str().unwrap()]);
        assert!(
            !ok && out.contains(needle) && out.contains("bad.toml"),
            "{text}: {out}"
        );
    }
    // The committed configurations parse (the run then stops at the missing data).
    for name in [
        "paper",
        "released",
        "cpu-small",
        "cpu-tiny",
        "default-student",
        "default-student-finetune",
        "cpu-wide-student",
    ] {
        let path = common::fixtures().join(format!("../../configs/{name}.toml"));
        let (ok, out) = run_furpe(&[
            "train",
            "--config",
            path.to_str().unwrap(),
            "--data",
            dir.join("nowhere").to_str().unwrap(),
        ]);
        assert!(!ok && out.contains("annotations.jsonl"), "{name}: {out}");
    }
    // A dataset without labels says what to run.
    let path = dir.join("nolabels.toml");
    let data = dir.join("empty");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(&path, format!("data = {data:?}\n")).unwrap();
    let (ok, out) = run_furpe(&["train", "--config", path.to_str().unwrap()]);
    assert!(!ok && out.contains("annotations.jsonl"), "{out}");
    // --nccl: a build without NCCL says how to get it; with it, a CPU
    // backend is refused before any data is read.
    let tiny = common::fixtures().join("../../configs/cpu-tiny.toml");
    let (ok, out) = run_furpe(&[
        "train",
        "--config",
        tiny.to_str().unwrap(),
        "--data",
        dir.join("nowhere").to_str().unwrap(),
        "--backend",
        "flex",
        "--nccl",
    ]);
    let want = if cfg!(feature = "nccl") {
        "--backend cuda"
    } else {
        "--features nccl"
    };
    assert!(!ok && out.contains(want), "{out}");
}

#[test]
fn data_parallel_runs_on_two_devices_in_step() {
    let dir = world("train-ddp", 20);
    // No dropout: every peer's forward pass is then a function of its data
    // alone, and the two layouts below must agree bit for bit.
    // (TINY ends inside its [student] table.)
    let cfg = config(&dir, "dropout = 0.0\n");
    let cfg = cfg.to_str().unwrap();

    // Two devices of one machine (two CPU peers: the data-parallel path).
    let local = dir.join("local");
    let (ok, out) = run_furpe(&[
        "train",
        "--config",
        cfg,
        "--out",
        local.to_str().unwrap(),
        "--devices",
        "2",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("batch split over 2 devices"), "{out}");
    let log = std::fs::read_to_string(local.join("log.jsonl")).unwrap();
    assert_eq!(
        log.lines().filter(|l| l.contains("\"loss\"")).count(),
        8,
        "one log record per global step, from the leader only: {log}"
    );

    // The replicas are checked against each other at every epoch end (the
    // run fails if they drift); and with no dropout the run is deterministic.
    let again = dir.join("again");
    let (ok, out) = run_furpe(&[
        "train",
        "--config",
        cfg,
        "--out",
        again.to_str().unwrap(),
        "--devices",
        "2",
    ]);
    assert!(ok, "{out}");
    let first = std::fs::read(local.join("student.furpe")).unwrap();
    let second = std::fs::read(again.join("student.furpe")).unwrap();
    assert!(
        mask_ids(&first) == mask_ids(&second),
        "two identical two-device runs ended with different weights"
    );
    // A multi-machine run needs node 0's address.
    let (ok, out) = run_furpe(&["train", "--config", cfg, "--nodes", "2"]);
    assert!(!ok && out.contains("--dev-tcp-master HOST:PORT"), "{out}");
    let (ok, out) = run_furpe(&[
        "train",
        "--config",
        cfg,
        "--nodes",
        "2",
        "--dev-tcp-master",
        "ws://host0",
    ]);
    assert!(!ok && out.contains("expected HOST:PORT"), "{out}");

    // A batch that does not split over the peers is refused up front.
    let (ok, out) = run_furpe(&["train", "--config", cfg, "--devices", "3"]);
    assert!(!ok && out.contains("does not split evenly"), "{out}");
}

/// A free TCP port on localhost (free when asked; the test then binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `"weights"` digest of a `furpe train` summary on stdout.
fn weights_digest(stdout: &str) -> String {
    let start = stdout.find('{').expect("a JSON summary on stdout");
    let summary: serde_json::Value = serde_json::from_str(&stdout[start..]).unwrap();
    summary["weights"].as_str().unwrap().to_string()
}

#[test]
fn data_parallel_runs_on_two_machines_in_step() {
    let dir = world("train-nodes", 20);
    // No dropout: the runs below must agree bit for bit (see the two-device test).
    let cfg = config(&dir, "dropout = 0.0\n");

    // The reference: one process, two devices, the same global batch of 4.
    let single = dir.join("single");
    let out = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--devices",
            "2",
            "--out",
        ])
        .arg(&single)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let reference = weights_digest(&String::from_utf8_lossy(&out.stdout));

    // Two machines of one device each: two processes on localhost, node 0
    // listening on --dev-tcp-master's port. A hang fails the test after the timeout.
    let master = format!("127.0.0.1:{}", free_port());
    let started = Instant::now();
    let mut nodes: Vec<_> = (0..2)
        .map(|rank| {
            let out = dir.join(format!("node{rank}"));
            std::fs::create_dir_all(&out).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_furpe"))
                .args(["train", "--config", cfg.to_str().unwrap(), "--nodes", "2"])
                .args([
                    "--node-rank",
                    &rank.to_string(),
                    "--dev-tcp-master",
                    &master,
                    "--out",
                ])
                .arg(&out)
                .stdout(std::fs::File::create(dir.join(format!("node{rank}.out"))).unwrap())
                .stderr(std::fs::File::create(dir.join(format!("node{rank}.err"))).unwrap())
                .spawn()
                .unwrap();
            (child, out)
        })
        .collect();
    let read = |name: String| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let mut codes = [None, None];
    while codes.iter().any(Option::is_none) {
        for (code, (child, _)) in codes.iter_mut().zip(nodes.iter_mut()) {
            if code.is_none() {
                *code = child.try_wait().unwrap();
            }
        }
        if started.elapsed() > Duration::from_secs(300) {
            for (child, _) in nodes.iter_mut() {
                child.kill().ok();
                child.wait().ok();
            }
            panic!(
                "the two-node run did not finish in 300 s (hung?)\nnode 0:\n{}\nnode 1:\n{}",
                read("node0.err".into()),
                read("node1.err".into())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("two-node run: {:.1} s", started.elapsed().as_secs_f64());
    for (rank, code) in codes.iter().enumerate() {
        let err = read(format!("node{rank}.err"));
        assert!(
            code.is_some_and(|c| c.success()) && !err.contains("panicked"),
            "node {rank} failed:\n{err}"
        );
    }
    assert!(read("node0.err".into()).contains("batch split over 2 devices on 2 machines"));

    // Both replicas end bit-identical, and equal to the one-process run:
    // the same slices, the same (a + b) / 2 means.
    let digests: Vec<String> = (0..2)
        .map(|rank| weights_digest(&read(format!("node{rank}.out"))))
        .collect();
    assert_eq!(digests[0], digests[1], "the two nodes' weights differ");
    assert_eq!(
        digests[0], reference,
        "two machines of one device ended with other weights than one machine of two"
    );
    let (node0, node1) = (&nodes[0].1, &nodes[1].1);
    let exported = std::fs::read(node0.join("student.furpe")).unwrap();
    let expected = std::fs::read(single.join("student.furpe")).unwrap();
    assert!(mask_ids(&exported) == mask_ids(&expected));
    // Node 0 alone logs (one record a global step) and writes files.
    let log = std::fs::read_to_string(node0.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"loss\"")).count(), 8);
    assert!(!node1.join("student.furpe").exists() && !node1.join("log.jsonl").exists());
}

/// `mpirun` (Open MPI) running `furpe train --mpi` with `ranks` ranks,
/// output tagged by rank (`[1,R]<stdout>:`); `env` adds variables to every
/// rank.
#[cfg(feature = "mpi")]
fn mpirun(ranks: usize, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new("mpirun");
    // Local ranks only: Open MPI's `isolated` launcher needs no ssh/rsh agent
    // (a bare CI machine may have none).
    c.env("OMPI_MCA_plm", "isolated");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "--tag-output",
        "-np",
    ])
    .arg(ranks.to_string());
    for (k, v) in env {
        c.env(k, v).args(["-x", k]);
    }
    c.arg(env!("CARGO_BIN_EXE_furpe")).args(args);
    c
}

/// Runs `command` to its end or kills it after `limit`; (success, stdout, stderr).
#[cfg(feature = "mpi")]
fn finish(mut command: Command, limit: Duration, dir: &Path, name: &str) -> (bool, String, String) {
    let (out, err) = (
        dir.join(format!("{name}.out")),
        dir.join(format!("{name}.err")),
    );
    let mut child = command
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("mpirun (Open MPI: apt-get install openmpi-bin libopenmpi-dev)");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "{name}: still running after {} s (hung?)\n{}",
                limit.as_secs(),
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (status.success(), read(&out), read(&err))
}

/// Rank `rank`'s lines of tagged mpirun output, untagged.
#[cfg(feature = "mpi")]
fn rank_output(tagged: &str, rank: usize) -> String {
    let tag = format!("[1,{rank}]<stdout>:");
    tagged
        .lines()
        .filter_map(|l| l.strip_prefix(&tag))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(feature = "mpi")]
#[test]
fn data_parallel_runs_on_two_mpi_ranks_in_step() {
    let dir = world("train-mpi", 20);
    // No dropout: the runs must agree bit for bit (see the two-device test).
    let cfg = config(&dir, "dropout = 0.0\n");
    let cfg = cfg.to_str().unwrap();

    // The reference: one process, two devices, the same global batch of 4.
    let single = dir.join("single");
    let out = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args(["train", "--config", cfg, "--devices", "2", "--out"])
        .arg(&single)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = weights_digest(&String::from_utf8_lossy(&out.stdout));

    // Two MPI ranks on localhost, one device each, one --out (rank 0 writes).
    let two_ranks = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec!["train", "--config", cfg, "--mpi"];
        args.extend_from_slice(extra);
        args.extend(["--out", out.to_str().unwrap()]);
        let done = finish(mpirun(2, &args, &[]), Duration::from_secs(300), &dir, name);
        (out, done)
    };
    let started = Instant::now();
    let (run, (ok, stdout, stderr)) = two_ranks("mpi", &[]);
    eprintln!("two MPI ranks: {:.1} s", started.elapsed().as_secs_f64());
    assert!(ok && !stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("batch split over 2 devices on 2 machines"),
        "{stderr}"
    );
    let digests: Vec<String> = (0..2)
        .map(|r| weights_digest(&rank_output(&stdout, r)))
        .collect();
    assert_eq!(digests[0], digests[1], "the two ranks' weights differ");
    assert_eq!(
        digests[0], reference,
        "two MPI ranks of one device ended with other weights than one process of two devices"
    );
    let exported = std::fs::read(run.join("student.furpe")).unwrap();
    let expected = std::fs::read(single.join("student.furpe")).unwrap();
    assert!(mask_ids(&exported) == mask_ids(&expected));
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"loss\"")).count(), 8);

    // The same run with MPI's own reduction (MPI_Reduce + MPI_Bcast): the
    // ranks hold the same bits, and with two ranks the one addition per
    // value commutes exactly, so the weights are the gather's.
    let (_, (ok, stdout, stderr)) = two_ranks("mpi-reduce", &["--mpi-sum", "reduce"]);
    assert!(ok && !stderr.contains("panicked"), "{stderr}");
    let digests: Vec<String> = (0..2)
        .map(|r| weights_digest(&rank_output(&stdout, r)))
        .collect();
    assert_eq!(
        digests[0], digests[1],
        "--mpi-sum reduce: the ranks' weights differ"
    );
    assert_eq!(
        digests[0], reference,
        "--mpi-sum reduce: other weights than the gather"
    );
    let (ok, out) = run_furpe(&["train", "--config", cfg, "--mpi-sum", "reduce"]);
    assert!(!ok && out.contains("--mpi"), "{out}");

    // A batch that does not split over the ranks is refused, and the job ends.
    let (ok, _, stderr) = finish(
        mpirun(
            3,
            &[
                "train",
                "--config",
                cfg,
                "--mpi",
                "--out",
                dir.join("three").to_str().unwrap(),
            ],
            &[],
        ),
        Duration::from_secs(120),
        &dir,
        "three",
    );
    assert!(!ok && stderr.contains("does not split evenly"), "{stderr}");

    // --mpi and the TCP fallback's flags exclude each other.
    let (ok, out) = run_furpe(&["train", "--config", cfg, "--mpi", "--nodes", "2"]);
    assert!(!ok && out.contains("cannot be used with"), "{out}");
}

#[cfg(feature = "mpi")]
#[test]
fn a_killed_mpi_rank_ends_the_run_with_an_error() {
    let dir = world("train-mpi-kill", 20);
    let cfg = config(&dir, "dropout = 0.0\n");
    let cfg = cfg.to_str().unwrap();
    let tag = format!("furpe-kill-{}", std::process::id());
    let run = dir.join("run");
    let mut command = mpirun(
        2,
        &[
            "train",
            "--config",
            cfg,
            "--mpi",
            "--out",
            run.to_str().unwrap(),
        ],
        &[("FURPE_TEST_TAG", &tag)],
    );
    let err_path = dir.join("kill.err");
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("mpirun");
    // Once training runs, SIGKILL rank 1 (found by the tag in its environment).
    let started = Instant::now();
    let rank1 = loop {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "training never started"
        );
        let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap_or_default();
        if log.contains("\"loss\"") {
            let found = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let env = std::fs::read(e.path().join("environ")).ok()?;
                let env = String::from_utf8_lossy(&env);
                (env.contains(&format!("FURPE_TEST_TAG={tag}"))
                    && env.contains("OMPI_COMM_WORLD_RANK=1\0"))
                .then_some(pid)
            });
            if let Some(pid) = found {
                break pid;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let killed = Instant::now();
    assert!(Command::new("kill")
        .args(["-9", &rank1.to_string()])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if killed.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            child.wait().ok();
            panic!("rank 1 was killed but the job still ran after 60 s (rank 0 hangs?)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    eprintln!(
        "the job ended {:.1} s after rank 1 was killed",
        killed.elapsed().as_secs_f64()
    );
    assert!(
        !status.success(),
        "the job succeeded although a rank was killed\n{err}"
    );
    assert!(
        err.contains("rank 1") || err.contains("signal 9") || err.contains("Killed"),
        "{err}"
    );
}
