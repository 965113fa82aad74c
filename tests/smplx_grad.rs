//! Gradients of the SMPL-X forward pass against finite differences, in f64.
//!
//! Its own test binary on purpose: Burn 0.21 resolves default float dtypes per
//! device, and NdArray<f32> and NdArray<f64> share the CPU device, so an f32
//! test in the same process can make new f64-backend tensors come out f32.

mod common;

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{Tensor, TensorData};
use common::{fixtures, scratch, write_random_model};
use furpe::smplx::{ParamWidths, SmplxConfig, SmplxData, SmplxInput, SmplxParams};
use serde_json::Value;

/// The first fixture case and its model file (in a scratch directory that
/// lives as long as the returned guard).
fn first_case() -> (Value, PathBuf, common::Scratch) {
    let text =
        std::fs::read_to_string(fixtures().join("smplx_reference.json")).expect("fixture json");
    let manifest: Value = serde_json::from_str(&text).expect("fixture json parses");
    let case = manifest["cases"][0].clone();
    let dir = scratch("grad");
    let path = dir.join("model.npz");
    write_random_model(
        &path,
        case["model"]["seed"].as_u64().unwrap_or(1),
        20,
        false,
        false,
    );
    (case["params"].clone(), path, dir)
}

#[test]
fn gradients_match_finite_differences() {
    type B = Autodiff<NdArray<f64>>;
    let device = Default::default();
    let (case_params, model_path, _dir) = first_case();
    let model = SmplxData::load(&model_path).expect("model");
    let layer = SmplxConfig::new()
        .init::<B>(&model, &device)
        .expect("layer");
    let (params, _) = SmplxParams::from_json(&case_params.to_string(), "p", ParamWidths::default())
        .expect("params");
    let base = SmplxInput::<B>::from_params(&params, &device);
    // A fixed random weighting of all joints makes one scalar to differentiate.
    let batch = params.batch_size();
    let weights: Vec<f64> = (0..batch * 144 * 3)
        .map(|i| ((i * 7919 % 1000) as f64 / 500.0) - 1.0)
        .collect();
    let weights = Tensor::<B, 3>::from_data(TensorData::new(weights, [batch, 144, 3]), &device);
    let loss = |input: SmplxInput<B>| -> Tensor<B, 1> {
        (layer.forward(input).joints * weights.clone()).sum()
    };

    type Pick = fn(&mut SmplxInput<B>) -> &mut Tensor<B, 2>;
    let fields: [(&str, Pick); 4] = [
        ("body_pose", |i| &mut i.body_pose),
        ("global_orient", |i| &mut i.global_orient),
        ("betas", |i| &mut i.betas),
        ("expression", |i| &mut i.expression),
    ];
    for (name, pick) in fields {
        let mut input = base.clone();
        let tracked = pick(&mut input).clone().require_grad();
        *pick(&mut input) = tracked.clone();
        let grads = loss(input).backward();
        let analytic = tracked
            .grad(&grads)
            .expect("grad")
            .into_data()
            .to_vec::<f64>()
            .expect("grad data");
        let width = analytic.len() / batch;
        for k in [0, width / 2, width - 1] {
            let eps = 1e-6;
            let bump = |delta: f64| {
                let mut input = base.clone();
                let t = pick(&mut input).clone().inner();
                let mut values = t.into_data().to_vec::<f64>().expect("data");
                values[k] += delta;
                *pick(&mut input) =
                    Tensor::from_data(TensorData::new(values, [batch, width]), &device);
                loss(input).into_scalar()
            };
            let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
            let err = (numeric - analytic[k]).abs();
            assert!(
                err <= 1e-5 * (1.0 + numeric.abs()),
                "d loss / d {name}[{k}]: autodiff {} vs finite differences {numeric}",
                analytic[k]
            );
        }
    }
    let _ = std::fs::remove_dir_all(model_path.parent().unwrap_or(Path::new("/nonexistent")));
}
