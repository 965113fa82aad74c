//! FuRPE's loss terms against PyTorch: values and gradients on the inputs of
//! `tests/fixtures/losses_reference.json` (written by
//! `tests/fixtures/gen_loss_fixtures.py` with torch's own operators).

mod common;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};
use furpe::losses::{self, KeypointReduction, RotationLoss};

type B = Autodiff<Flex>;

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn dims<const D: usize>(v: &serde_json::Value) -> [usize; D] {
    let d: Vec<usize> = v
        .as_array()
        .expect("shape")
        .iter()
        .map(|x| x.as_u64().expect("dim") as usize)
        .collect();
    d.try_into().expect("rank")
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

fn close(name: &str, what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{name}: {what} length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{name}: {what}[{i}] = {g}, PyTorch {w}"
        );
    }
}

#[test]
fn losses_match_pytorch_values_and_gradients() {
    let text = std::fs::read_to_string(common::fixtures().join("losses_reference.json"))
        .expect("tests/fixtures/losses_reference.json");
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let pred = floats(&case["pred"]);
        let target = floats(&case["target"]);
        let (values, grad) = match name {
            "rotation_mse" | "rotation_geodesic" => {
                let shape = dims::<4>(&case["shape"]);
                let p = tensor(pred, shape).require_grad();
                let kind = if name == "rotation_mse" {
                    RotationLoss::Mse
                } else {
                    RotationLoss::Geodesic
                };
                let v = losses::rotation_error(kind, p.clone(), tensor(target, shape));
                let g = v.clone().sum().backward();
                (v.into_data(), p.grad(&g).unwrap().into_data())
            }
            "keypoints" => {
                let p = tensor(pred, dims::<3>(&case["shape"])).require_grad();
                let t = tensor(target, dims::<3>(&case["target_shape"]));
                let reduction = match case["reduction"].as_str().unwrap() {
                    "mean" => KeypointReduction::Mean,
                    _ => KeypointReduction::SumPerSample,
                };
                let visibility = case["visibility"].as_bool().unwrap();
                let v = losses::keypoint_error(p.clone(), t, visibility, reduction);
                let g = v.clone().sum().backward();
                (v.into_data(), p.grad(&g).unwrap().into_data())
            }
            _ => {
                let shape = dims::<2>(&case["shape"]);
                let p = tensor(pred, shape).require_grad();
                let t = tensor(target, shape);
                let v = match name {
                    "feature_kl" => losses::feature_kl(p.clone(), t),
                    "consistency" => losses::consistency(p.clone(), t),
                    "squared_error" => losses::squared_error(p.clone(), t),
                    other => panic!("unknown case {other}"),
                };
                let g = v.clone().sum().backward();
                (v.into_data(), p.grad(&g).unwrap().into_data())
            }
        };
        let label = format!(
            "{name} {}",
            case.get("reduction")
                .map_or(String::new(), |r| r.to_string())
        );
        close(
            &label,
            "value",
            &values.to_vec::<f32>().unwrap(),
            &floats(&case["values"]),
            2e-5,
        );
        close(
            &label,
            "gradient",
            &grad.to_vec::<f32>().unwrap(),
            &floats(&case["grad"]),
            1e-4,
        );
    }
}
