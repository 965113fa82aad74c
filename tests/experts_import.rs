//! Importing the part experts and ImageNet backbones from checkpoints in the
//! published key layouts, checked against PyTorch outputs.
//!
//! Fixtures come from tests/fixtures/gen_expert_checkpoints.py: small networks
//! with the published parameter names, saved the way SPIN, DECA, FrankMocap
//! and torchvision save theirs, plus the PyTorch outputs for a fixed input.

mod common;

use std::path::PathBuf;

use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use common::fixtures;
use furpe::nets::import::{param_entries, ImportError};
use furpe::nets::resnet::load_torchvision;
use furpe::nets::{
    torchvision_path, BlockKind, DecaConfig, DecaEncoder, FrankMocapHand, FrankMocapHandConfig,
    HandSide, ResNetConfig, Spin, SpinConfig,
};
use furpe::npz::NpzArchive;
use furpe::rotation::axis_angle_to_matrix;

type B = Flex;

/// Parity tolerance: absolute for values of order one, relative to the
/// largest magnitude otherwise.
const TOL: f32 = 1e-4;

// Shared with the generator script.
const BATCH: usize = 2;
const SIZE: usize = 64;

fn dir() -> PathBuf {
    fixtures().join("experts")
}

fn reference(key: &str) -> (Vec<usize>, Vec<f32>) {
    let mut npz = NpzArchive::open(&dir().join("experts_reference.npz")).expect("reference npz");
    let array = npz.read(key).unwrap_or_else(|e| panic!("{e}"));
    let data = array.to_f32().expect("numeric array");
    (array.shape, data)
}

fn input() -> Tensor<B, 4> {
    let (shape, data) = reference("input");
    assert_eq!(shape, [BATCH, 3, SIZE, SIZE]);
    Tensor::from_data(TensorData::new(data, shape), &Default::default())
}

fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().expect("f32 data")
}

/// Compares with the reference, prints the error, returns it (scaled).
fn check<const D: usize>(name: &str, got: Tensor<B, D>) -> f32 {
    let (shape, want) = reference(name);
    assert_eq!(got.dims().to_vec(), shape, "{name}: shape");
    let got = values(got);
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let err = common::max_abs_diff(&got, &want);
    println!("{name:<22} max |Δ| = {err:.3e}  (scale max(1, |ref|) = {scale:.3})");
    assert!(
        err <= TOL * scale,
        "{name}: max |Δ| {err} > {TOL} × {scale}"
    );
    err / scale
}

fn expert_backbone() -> ResNetConfig {
    ResNetConfig::new(BlockKind::Bottleneck, [1, 2, 1, 1]).with_base_width(2)
}

#[test]
fn resnet50_from_torchvision_pth() {
    let device = Default::default();
    let net = ResNetConfig::resnet50()
        .with_base_width(2)
        .with_num_classes(Some(10))
        .init::<B>(&device);
    let net =
        load_torchvision(net, &dir().join("resnet50_w2.pth")).unwrap_or_else(|e| panic!("{e}"));
    check("resnet50__pooled", net.forward(input()));
    let logits = net.classify(input()).expect("classifier");
    check("resnet50__logits", logits);
}

#[test]
fn resnet18_from_safetensors_with_and_without_classifier() {
    let device = Default::default();
    let path = dir().join("resnet18_w4.safetensors");
    let config = ResNetConfig::resnet18().with_base_width(4);
    let net = config.clone().with_num_classes(Some(10)).init::<B>(&device);
    let net = load_torchvision(net, &path).unwrap_or_else(|e| panic!("{e}"));
    check("resnet18__pooled", net.forward(input()));
    check(
        "resnet18__logits",
        net.classify(input()).expect("classifier"),
    );
    // A backbone without `fc` ignores the classifier's keys.
    let backbone =
        load_torchvision(config.init::<B>(&device), &path).unwrap_or_else(|e| panic!("{e}"));
    check("resnet18__pooled", backbone.forward(input()));
}

#[test]
fn spin_checkpoint() {
    let device = Default::default();
    let spin = SpinConfig::new()
        .with_backbone(expert_backbone())
        .with_hidden(vec![32, 32])
        .init::<B>(&device)
        .load_checkpoint(&dir().join("spin_model_checkpoint.pt"))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = spin.forward(input());
    check("spin__rotmat", out.rotmat.clone());
    check("spin__pose6d", out.pose6d.clone());
    check("spin__betas", out.betas.clone());
    check("spin__camera", out.camera.clone());
    check("spin__feature", out.feature.clone());
    check("spin__hidden", out.hidden.clone());

    // SMPL-X conversion: the axis-angles rebuild SMPL joints 0-21.
    let part = out.to_smplx();
    let aa = Tensor::cat(vec![part.global_orient, part.body_pose], 1).reshape([BATCH * 22, 3]);
    let rebuilt = values(axis_angle_to_matrix(aa));
    let want = values(out.rotmat.slice([0..BATCH, 0..22]));
    let err = common::max_abs_diff(&rebuilt, &want);
    println!("spin→smplx round trip max |Δ| = {err:.3e}");
    assert!(err < 1e-4, "{err}");
}

#[test]
fn deca_checkpoint() {
    let device = Default::default();
    let deca = DecaConfig::new()
        .with_backbone(expert_backbone())
        .with_hidden(32)
        .init::<B>(&device)
        .load_checkpoint(&dir().join("deca_model.tar"))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = deca.forward(input());
    check("deca__code", out.code.clone());
    check("deca__feature", out.feature.clone());
    let (_, code) = reference("deca__code");
    let face = out.to_smplx();
    let jaw = values(face.jaw_pose);
    let expression = values(face.expression);
    for b in 0..BATCH {
        let row = &code[b * 236..(b + 1) * 236];
        // shape 100 | tex 50 | exp 50 | pose 6 (root 3, jaw 3) | cam 3 | light 27
        assert!(common::max_abs_diff(&jaw[b * 3..b * 3 + 3], &row[203..206]) < TOL);
        assert!(common::max_abs_diff(&expression[b * 10..b * 10 + 10], &row[150..160]) < TOL);
    }
}

/// The tiny FrankMocap twin of gen_expert_checkpoints.py, loaded (its mean
/// parameters at FrankMocap's defaults until set).
fn frankmocap_twin() -> FrankMocapHand<B> {
    FrankMocapHandConfig::new()
        .with_backbone(expert_backbone())
        .with_feature_dim(32)
        .init::<B>(&Default::default())
        .load_checkpoint(&dir().join("frankmocap_pose_shape_best.pth"))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn frankmocap_checkpoint() {
    let (_, mean) = reference("hand__mean_finger_pose");
    let mean: [f32; 45] = mean.try_into().expect("45 values");
    let hand = frankmocap_twin().set_mean_hand_pose(mean);
    let out = hand.forward(input());
    check("hand__params", out.params.clone());
    check("hand__feature", out.feature.clone());
    let (_, params) = reference("hand__params");
    let right = values(out.to_smplx(HandSide::Right).hand_pose);
    assert!(common::max_abs_diff(&right[..45], &params[6..51]) < TOL);
}

/// FrankMocap's `mean_mano_params.pkl` layout (generator:
/// gen_mean_mano_params.py) gives the same start as the twin's mean: the
/// loaded checkpoint reproduces its outputs; a file without `mean_pose`
/// names the file, the key and the shape.
#[test]
fn frankmocap_mean_mano_params_file() {
    let hand = frankmocap_twin()
        .with_mean_mano_params(&dir().join("mean_mano_params.pkl"))
        .unwrap_or_else(|e| panic!("{e}"));
    check("hand__params", hand.forward(input()).params);

    let bad = dir().join("mean_mano_params_bad.pkl");
    let text = furpe::nets::frankmocap::read_mean_mano_params(&bad)
        .expect_err("no mean_pose")
        .to_string();
    assert!(
        text.contains("mean_mano_params_bad.pkl")
            && text.contains("'mean_pose'")
            && text.contains("[48]"),
        "{text}"
    );
}

#[test]
fn missing_key_names_file_key_and_shape() {
    let device = Default::default();
    let path = dir().join("spin_missing_key.pt");
    let err = SpinConfig::new()
        .with_backbone(expert_backbone())
        .with_hidden(vec![32, 32])
        .init::<B>(&device)
        .load_checkpoint(&path)
        .expect_err("must fail");
    let text = err.to_string();
    println!("{text}");
    match err {
        ImportError::MissingKey {
            file,
            key,
            expected,
            more,
            ..
        } => {
            assert!(file.ends_with("spin_missing_key.pt"));
            assert_eq!(key, "decshape.bias");
            assert_eq!(expected, [10]);
            assert_eq!(more, 0);
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(text.contains("spin_missing_key.pt") && text.contains("'decshape.bias'"));
    assert!(text.contains("[10]"));
}

#[test]
fn misshaped_key_names_file_key_and_both_shapes() {
    let device = Default::default();
    let err = DecaConfig::new()
        .with_backbone(expert_backbone())
        .with_hidden(32)
        .init::<B>(&device)
        .load_checkpoint(&dir().join("deca_bad_shape.tar"))
        .expect_err("must fail");
    let text = err.to_string();
    println!("{text}");
    match err {
        ImportError::Shape {
            file,
            key,
            found,
            expected,
            ..
        } => {
            assert!(file.ends_with("deca_bad_shape.tar"));
            assert_eq!(key, "layers.2.weight");
            // PyTorch's layout: [out, in].
            assert_eq!(found, [235, 32]);
            assert_eq!(expected, [236, 32]);
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(text.contains("[235, 32]") && text.contains("[236, 32]"));
}

#[test]
fn wrong_container_wrong_net_and_missing_file() {
    let device = Default::default();
    let spin = || {
        SpinConfig::new()
            .with_backbone(expert_backbone())
            .with_hidden(vec![32, 32])
            .init::<B>(&device)
    };
    // FrankMocap's file is a plain state dict: no 'model' entry.
    let err = spin()
        .load_checkpoint(&dir().join("frankmocap_pose_shape_best.pth"))
        .expect_err("must fail");
    println!("{err}");
    assert!(matches!(&err, ImportError::MissingEntry { entry, .. } if entry == "model"));
    assert!(err.to_string().contains("main_encoder."));

    // Widths that do not match the file: the first mismatch and a count.
    let err = SpinConfig::new()
        .with_backbone(expert_backbone().with_base_width(4))
        .with_hidden(vec![32, 32])
        .init::<B>(&device)
        .load_checkpoint(&dir().join("spin_model_checkpoint.pt"))
        .expect_err("must fail");
    println!("{err}");
    assert!(
        matches!(&err, ImportError::Shape { key, more, .. } if key == "conv1.weight" && *more > 10)
    );

    // A hand checkpoint given to the face loader.
    let err = DecaConfig::new()
        .with_backbone(expert_backbone())
        .init::<B>(&device)
        .load_checkpoint(&dir().join("frankmocap_pose_shape_best.pth"))
        .expect_err("must fail");
    assert!(matches!(&err, ImportError::MissingEntry { entry, .. } if entry == "E_flame"));

    let err = FrankMocapHandConfig::new()
        .with_backbone(expert_backbone())
        .init::<B>(&device)
        .load_checkpoint(&dir().join("no_such_file.pth"))
        .expect_err("must fail");
    println!("{err}");
    assert!(matches!(&err, ImportError::Read { file, .. } if file.ends_with("no_such_file.pth")));
}

#[test]
fn torchvision_state_dict_layout_at_full_width() {
    // torchvision's state dicts hold these many tensors besides
    // `num_batches_tracked`: 102 (ResNet-18), 182 (ResNet-34), 267 (ResNet-50).
    let device = Default::default();
    for (config, count) in [
        (ResNetConfig::resnet18(), 102),
        (ResNetConfig::resnet34(), 182),
        (ResNetConfig::resnet50(), 267),
    ] {
        let net = config.with_num_classes(Some(1000)).init::<B>(&device);
        let entries = param_entries::<B, _>(&net);
        assert_eq!(entries.len(), count);
        let shapes: std::collections::HashMap<String, Vec<usize>> = entries
            .into_iter()
            .map(|e| (torchvision_path(&e.torch_path), e.torch_shape))
            .collect();
        let c = net.out_channels();
        assert_eq!(shapes["conv1.weight"], [64, 3, 7, 7]);
        assert_eq!(shapes["bn1.running_var"], [64]);
        assert_eq!(shapes["fc.weight"], [1000, c]);
        assert_eq!(shapes["layer4.1.bn2.weight"], [512]);
    }
    let r18 = ResNetConfig::resnet18().init::<B>(&device);
    let shapes: std::collections::HashMap<String, Vec<usize>> = param_entries::<B, _>(&r18)
        .into_iter()
        .map(|e| (torchvision_path(&e.torch_path), e.torch_shape))
        .collect();
    assert_eq!(shapes["layer2.0.downsample.0.weight"], [128, 64, 1, 1]);
    assert_eq!(shapes["layer4.1.conv2.weight"], [512, 512, 3, 3]);
    assert!(!shapes.contains_key("layer1.0.downsample.0.weight"));
    let r50 = ResNetConfig::resnet50().init::<B>(&device);
    let shapes: std::collections::HashMap<String, Vec<usize>> = param_entries::<B, _>(&r50)
        .into_iter()
        .map(|e| (torchvision_path(&e.torch_path), e.torch_shape))
        .collect();
    assert_eq!(shapes["layer4.2.conv3.weight"], [2048, 512, 1, 1]);
    assert_eq!(shapes["layer1.0.downsample.0.weight"], [256, 64, 1, 1]);
    assert_eq!(shapes["layer2.0.downsample.0.weight"], [512, 256, 1, 1]);
    assert_eq!(shapes["layer3.5.bn3.bias"], [1024]);
    // The full-size experts ask for the published keys and shapes.
    let keys = |entries: Vec<furpe::nets::import::ParamEntry>,
                key_of: fn(&str) -> Option<String>| {
        entries
            .into_iter()
            .filter_map(|e| Some((key_of(&e.torch_path)?, e.torch_shape)))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let spin = keys(
        param_entries::<B, _>(&SpinConfig::new().init::<B>(&device)),
        Spin::<B>::checkpoint_key,
    );
    assert_eq!(spin["fc1.weight"], [1024, 2048 + 144 + 10 + 3]);
    assert_eq!(spin["decpose.weight"], [144, 1024]);
    assert_eq!(spin["init_pose"], [1, 144]);
    assert_eq!(spin["layer4.2.conv3.weight"], [2048, 512, 1, 1]);
    let deca = keys(
        param_entries::<B, _>(&DecaConfig::new().init::<B>(&device)),
        DecaEncoder::<B>::checkpoint_key,
    );
    assert_eq!(deca["layers.0.weight"], [1024, 2048]);
    assert_eq!(deca["layers.2.weight"], [236, 1024]);
    assert_eq!(deca["encoder.layer1.0.downsample.1.running_mean"], [256]);
    let hand = keys(
        param_entries::<B, _>(&FrankMocapHandConfig::new().init::<B>(&device)),
        FrankMocapHand::<B>::checkpoint_key,
    );
    assert_eq!(hand["main_encoder.fc1.weight"], [1024, 2048]);
    assert_eq!(hand["feat_encoder.1.weight"], [1024, 1024]);
    assert_eq!(hand["regressor.0.weight"], [61, 1085]);
    assert!(!hand.contains_key("mean_params"));
}
