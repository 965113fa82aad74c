//! `furpe head train`: the pose-head student learns what its embedding tells
//! and nothing when the embedding tells nothing; bad input is refused with
//! the file and key named.

mod common;

use std::path::Path;

use common::{run_furpe, scratch, uniform};
use furpe::pseudo::PseudoLabels;

const DIM: usize = 32;

/// One row with every label field `furpe label` writes: those given, the
/// rest NaN (not labelled).
fn push(labels: &mut PseudoLabels, index: u64, given: &[(&str, &[f32])]) {
    let missing: Vec<(&str, Vec<f32>)> = furpe::pseudo::PARAM_FIELDS
        .iter()
        .filter(|(name, _)| !given.iter().any(|(g, _)| g == name))
        .map(|&(name, width)| (name, vec![f32::NAN; width]))
        .collect();
    let mut fields: Vec<(&str, &[f32])> = given.to_vec();
    fields.extend(missing.iter().map(|(n, v)| (*n, v.as_slice())));
    labels.push(index, &fields).expect("push");
}
const ROWS: usize = 400;

/// A labelled dataset whose body poses are a function of the embedding:
/// hips, knees and elbows bend by amounts read from it. With `shuffled`
/// the embeddings are dealt to other rows, so nothing can be learnt.
fn write_labels(dir: &Path, shuffled: bool) {
    let features: Vec<Vec<f32>> = (0..ROWS)
        .map(|r| {
            uniform(7, r as u64, DIM)
                .iter()
                .map(|u| (2.0 * u - 1.0) as f32)
                .collect()
        })
        .collect();
    let mut labels = PseudoLabels::default();
    for r in 0..ROWS {
        let f = &features[r];
        let mut body_pose = vec![0.0f32; 63];
        // body_pose joint k is SMPL-X joint k + 1.
        for (joint, axis, k) in [
            (1, 0, 0),
            (2, 0, 1),
            (4, 0, 2),
            (5, 0, 3),
            (18, 2, 4),
            (19, 2, 5),
        ] {
            body_pose[(joint - 1) * 3 + axis] = 0.8 * f[k];
        }
        let global_orient = [std::f32::consts::PI, 0.0, 0.0];
        let feature = if shuffled {
            &features[(r * 7 + 3) % ROWS]
        } else {
            f
        };
        push(
            &mut labels,
            r as u64,
            &[
                ("global_orient", &global_orient),
                ("body_pose", &body_pose),
                ("feature_body", feature),
            ],
        );
    }
    std::fs::create_dir_all(dir.join("labels")).expect("labels dir");
    labels
        .save(&dir.join("labels/shard-0000-of-0001.safetensors"))
        .expect("save");
}

fn train(data: &Path, out: &Path) -> serde_json::Value {
    let (ok, text) = run_furpe(&[
        "head",
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--steps",
        "800",
        "--pose-model",
        "full",
        "--backend",
        "flex",
    ]);
    assert!(ok, "{text}");
    let report = std::fs::read_to_string(out.join("report.json")).expect("report");
    serde_json::from_str(&report).expect("json")
}

#[test]
fn a_head_learns_what_its_embedding_tells_and_nothing_more() {
    let dir = scratch("head-learns");
    write_labels(&dir.join("data"), false);
    let report = train(&dir.join("data"), &dir.join("out"));
    let held = &report["held_out"];
    let ratio = held["ratio"].as_f64().expect("ratio");
    assert_eq!(held["held_out"], 40, "{report}");
    eprintln!("learnable: {held}");
    assert!(ratio < 0.5, "the head must beat the best constant: {held}");
    assert!(dir.join("out/head.furpe").is_file());
    assert!(dir.join("out/label_mean.json").is_file());

    // The broken variant: embeddings that say nothing about the pose. The
    // same check fails there (the head is no better than the constant).
    write_labels(&dir.join("shuffled"), true);
    let report = train(&dir.join("shuffled"), &dir.join("out-shuffled"));
    let ratio = report["held_out"]["ratio"].as_f64().expect("ratio");
    eprintln!("shuffled: {report}");
    assert!(ratio > 0.9, "nothing to learn, yet {report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_refused_with_the_file_and_key_named() {
    let dir = scratch("head-bad");
    // Labels without the embedding (e.g. from the trained experts).
    let mut labels = PseudoLabels::default();
    push(
        &mut labels,
        0,
        &[("global_orient", &[0.0; 3]), ("body_pose", &[0.0; 63])],
    );
    std::fs::create_dir_all(dir.join("data/labels")).expect("dir");
    labels
        .save(&dir.join("data/labels/shard-0000-of-0001.safetensors"))
        .expect("save");
    let out = dir.join("out");
    let args = |data: &Path| {
        vec![
            "head".to_string(),
            "train".into(),
            "--data".into(),
            data.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--steps".into(),
            "2".into(),
            "--backend".into(),
            "flex".into(),
        ]
    };
    let (ok, text) = run_furpe(&args(&dir.join("data")));
    assert!(
        !ok && text.contains("'feature_body'") && text.contains("labels"),
        "{text}"
    );

    // An embedding of no known pose model's width needs --pose-model.
    write_labels(&dir.join("good"), false);
    let (ok, text) = run_furpe(&args(&dir.join("good")));
    assert!(
        !ok && text.contains("32 values") && text.contains("--pose-model"),
        "{text}"
    );

    // An existing head is not replaced without --overwrite.
    std::fs::create_dir_all(&out).expect("out");
    std::fs::write(out.join("head.furpe"), b"mine").expect("write");
    let mut with_model = args(&dir.join("good"));
    with_model.extend(["--pose-model".into(), "full".into()]);
    let (ok, text) = run_furpe(&with_model);
    assert!(!ok && text.contains("--overwrite"), "{text}");
    assert_eq!(
        std::fs::read(out.join("head.furpe")).expect("read"),
        b"mine"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
