//! `furpe select`: each of the three steps drops the images it should, and
//! the released-code variant behaves as documented.

mod common;

use std::process::Command;

use burn::backend::Flex;
use common::{scratch, write_random_model};
use furpe::dataset::{write_annotations, Annotation};
use furpe::keypoints::openpose137_to_smplx;
use furpe::pseudo::PseudoLabels;
use furpe::smplx::{ParamWidths, SmplxConfig, SmplxData, SmplxInput, SmplxParams};
use serde_json::Value;

type B = Flex;

const BOX: [f32; 4] = [100.0, 50.0, 300.0, 250.0];
const CAMERA: [f32; 3] = [0.4, 0.05, -0.1];

/// Keypoints a perfect detector would give for `params` seen through CAMERA in BOX.
fn keypoints(model: &SmplxData, params: &SmplxParams) -> Vec<[f32; 3]> {
    let device = Default::default();
    let layer = SmplxConfig::new().init::<B>(model, &device).unwrap();
    let joints = layer
        .forward(SmplxInput::from_params(params, &device))
        .joints
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let (cx, cy, half) = (
        (BOX[0] + BOX[2]) / 2.0,
        (BOX[1] + BOX[3]) / 2.0,
        (BOX[2] - BOX[0]) / 2.0,
    );
    openpose137_to_smplx()
        .iter()
        .enumerate()
        .map(|(k, j)| match j {
            Some(j) => {
                let x = CAMERA[0] * (joints[j * 3] + CAMERA[1]);
                let y = CAMERA[0] * (joints[j * 3 + 1] + CAMERA[2]);
                let conf = if k < 25 {
                    0.9
                } else if k < 67 {
                    0.5
                } else {
                    0.6
                };
                [cx + x * half, cy + y * half, conf]
            }
            None => [0.0; 3],
        })
        .collect()
}

fn label_row(params: &SmplxParams) -> Vec<(&'static str, Vec<f32>)> {
    vec![
        ("body_box", BOX.to_vec()),
        ("body_camera", CAMERA.to_vec()),
        ("global_orient", params.global_orient[0].clone()),
        ("body_pose", params.body_pose[0].clone()),
        ("smpl_betas", vec![0.0; 10]),
        ("jaw_pose", params.jaw_pose[0].clone()),
        ("expression", params.expression[0].clone()),
        ("left_hand_pose", params.left_hand_pose[0].clone()),
        ("right_hand_pose", params.right_hand_pose[0].clone()),
        ("feature_body", vec![0.5; 16]),
    ]
}

fn select(dir: &std::path::Path, model: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "select".to_string(),
        "--data".into(),
        dir.display().to_string(),
    ];
    args.extend(["--model".to_string(), model.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let (ok, text) = common::run_furpe(&args);
    assert!(ok, "{text}");
    assert!(
        text.contains("1 keypoint confidence"),
        "prints the table: {text}"
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("selection.json")).unwrap()).unwrap()
}

#[test]
fn each_step_drops_what_it_should() {
    let dir = scratch("select");
    let model_path = dir.join("model.npz");
    write_random_model(&model_path, 4, 20, false, false);
    let model = SmplxData::load(&model_path).unwrap();

    let mut annotations = Vec::new();
    let mut labels = PseudoLabels::default();
    for i in 0..6u64 {
        let mut p = SmplxParams::zeros(1, ParamWidths::default());
        for (k, v) in p.body_pose[0].iter_mut().enumerate() {
            *v = (((k as u64 * 31 + i * 17) % 13) as f32 / 13.0 - 0.5) * 0.4;
        }
        p.global_orient[0] = vec![std::f32::consts::PI - 0.2, 0.1, 0.0];
        let mut kp = keypoints(&model, &p);
        let mut label = p.clone();
        match i {
            1 => kp.iter_mut().for_each(|k| k[2] = 0.05), // step 1: detector unsure everywhere
            2 => label.body_pose[0][4] = f32::NAN,        // step 2: non-finite body pose
            3 => label.body_pose[0].iter_mut().for_each(|v| *v += 0.9), // step 3: wrong pose
            4 => label.left_hand_pose[0][7] = 3.3,        // step 2: hand out of range
            // No right-hand crop, no expert run: a missing part, not an invalid output.
            5 => label.right_hand_pose[0]
                .iter_mut()
                .for_each(|v| *v = f32::NAN),
            _ => {}
        }
        annotations.push(Annotation {
            image: format!("images/{i:06}.png"),
            width: 400,
            height: 300,
            person_box: BOX,
            keypoints: kp,
            keypoint_source: "test".into(),
            ground_truth: None,
        });
        let row = label_row(&label);
        let refs: Vec<(&str, &[f32])> = row.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        labels.push(i, &refs).unwrap();
    }
    write_annotations(&dir.join("annotations.jsonl"), &annotations).unwrap();
    labels
        .save(&dir.join("labels/shard-0000-of-0001.safetensors"))
        .unwrap();

    let report = select(&dir, &model_path, &[]);
    let decisions = report["decisions"].as_array().unwrap();
    let step = |i: usize| {
        decisions[i]["reason"]["step"]
            .as_str()
            .unwrap_or("kept")
            .to_string()
    };
    assert_eq!(
        (0..6).map(step).collect::<Vec<_>>(),
        [
            "kept",
            "keypoint_confidence",
            "invalid_expert_output",
            "reprojection",
            "invalid_expert_output",
            "kept"
        ]
    );
    let good = decisions[0]["reprojection_mse"].as_f64().unwrap();
    assert!(good < 1e-8, "a perfect label reprojects exactly: {good}");
    assert_eq!(report["summary"]["kept"], 2);
    assert_eq!(
        decisions[5]["parts"],
        serde_json::json!([true, true, true, false]),
        "a missing hand drops only that hand's label"
    );

    let report = select(&dir, &model_path, &["--released"]);
    let decisions = report["decisions"].as_array().unwrap();
    let kept: Vec<bool> = decisions
        .iter()
        .map(|d| d["kept"].as_bool().unwrap())
        .collect();
    assert_eq!(
        kept,
        [true, false, false, true, true, true],
        "released: no step 3, bad hand drops the hand only"
    );
    assert_eq!(
        decisions[4]["parts"],
        serde_json::json!([true, true, false, true])
    );

    // A config file overrides one threshold; an unknown key is an error.
    std::fs::write(dir.join("sel.json"), r#"{"min_keypoints": 1000}"#).unwrap();
    let report = select(
        &dir,
        &model_path,
        &["--config", dir.join("sel.json").to_str().unwrap()],
    );
    assert_eq!(report["summary"]["dropped_keypoint_confidence"], 6);
    std::fs::write(dir.join("sel.json"), r#"{"min_keypoint": 3}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args([
            "select",
            "--data",
            dir.to_str().unwrap(),
            "--config",
            dir.join("sel.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("unknown setting 'min_keypoint'")
    );
    std::fs::remove_dir_all(dir).unwrap();
}
