//! A part expert as one value: which part it looks at, its network (SPIN,
//! DECA's coarse encoder or FrankMocap's hand network, any depth and width),
//! the crop size it expects, and its self-describing file. `furpe expert
//! train` writes these files and `furpe label` rebuilds the network from them
//! (or from a published checkpoint at full size).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use super::deca::{DecaConfig, DecaEncoder, DecaOutput, SMPLX_EXPRESSION};
use super::frankmocap::{FrankMocapHand, FrankMocapHandConfig, HandOutput, HAND_CAMERA, HAND_POSE};
use super::resnet::{BlockKind, ResNetConfig};
use super::spin::{Spin, SpinConfig, SpinOutput, SPIN_BETAS, SPIN_CAMERA, SPIN_JOINTS};
use super::weights_file::{self, FileKind, Precision, WeightsFileError};
use crate::rotation::axis_angle_to_matrix;

/// The expert file's magic, name and how to make one.
pub const KIND: FileKind = FileKind {
    magic: b"FURPEEXP",
    what: "expert",
    hint: "train one with `furpe expert train`, or pass a published checkpoint (.pt/.pth/.tar)",
};

/// Which of the three part experts: body, face or hand. One hand expert
/// serves both hands, so this is not [`crate::metrics::Part`] (the body's
/// four regions); [`ExpertKind::parts`] maps one to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpertKind {
    /// SPIN on the body crop: global + body rotations, shape, camera.
    Body,
    /// DECA on the face crop: jaw and expression.
    Face,
    /// FrankMocap on right-hand crops (left hands mirrored): wrist and fingers.
    Hand,
}

impl ExpertKind {
    pub const ALL: [ExpertKind; 3] = [ExpertKind::Body, ExpertKind::Face, ExpertKind::Hand];

    /// The body regions this expert labels.
    pub fn parts(self) -> &'static [crate::metrics::Part] {
        use crate::metrics::Part;
        match self {
            ExpertKind::Body => &[Part::Body],
            ExpertKind::Face => &[Part::Face],
            ExpertKind::Hand => &[Part::LeftHand, Part::RightHand],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ExpertKind::Body => "body",
            ExpertKind::Face => "face",
            ExpertKind::Hand => "hand",
        }
    }

    /// Rotations the expert is supervised on, `[batch, R, 3, 3]` in
    /// [`ExpertPrediction::rotations`]: body 24 (SPIN's SMPL joints),
    /// face 1 (jaw), hand 16 (wrist + 15 finger joints).
    pub fn num_rotations(self) -> usize {
        match self {
            ExpertKind::Body => super::spin::SPIN_JOINTS,
            ExpertKind::Face => 1,
            ExpertKind::Hand => HAND_POSE / 3,
        }
    }

    /// Supervised values besides rotations ([`ExpertPrediction::rest`]):
    /// body β 10 + camera 3, face expression 10, hand none.
    pub fn num_rest(self) -> usize {
        match self {
            ExpertKind::Body => SPIN_BETAS + SPIN_CAMERA,
            ExpertKind::Face => SMPLX_EXPRESSION,
            ExpertKind::Hand => 0,
        }
    }

    /// Named groups of supervised rotations (indices) for error reports.
    /// Body: SMPL joints 22/23 (the hands) are supervised towards identity
    /// but not reported, SMPL-X takes them from the hand expert.
    pub fn rotation_groups(self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        match self {
            ExpertKind::Body => vec![("global", 0..1), ("body", 1..22)],
            ExpertKind::Face => vec![("jaw", 0..1)],
            ExpertKind::Hand => vec![("wrist", 0..1), ("fingers", 1..16)],
        }
    }

    /// Named groups of the other supervised values.
    pub fn rest_groups(self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        match self {
            ExpertKind::Body => vec![("betas", 0..10), ("camera", 10..13)],
            ExpertKind::Face => vec![("expression", 0..10)],
            ExpertKind::Hand => vec![],
        }
    }
}

impl std::str::FromStr for ExpertKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "body" => Ok(ExpertKind::Body),
            "face" => Ok(ExpertKind::Face),
            "hand" => Ok(ExpertKind::Hand),
            other => Err(format!("unknown part '{other}' (body, face or hand)")),
        }
    }
}

/// The network of an expert.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "part", content = "net", rename_all = "lowercase")]
pub enum ExpertNet {
    Body(SpinConfig),
    Face(DecaConfig),
    Hand(FrankMocapHandConfig),
}

/// [`Expert`] configuration: the network and the crop it sees.
#[derive(Config, Debug)]
pub struct ExpertConfig {
    pub net: ExpertNet,
    /// Side of the square crop in pixels (224 for the published experts).
    pub crop_size: usize,
}

impl ExpertConfig {
    /// A small expert that trains on a CPU: basic-block ResNet [1, 1, 1, 1]
    /// of base width `width`, regressor widths `16 · width`.
    pub fn small(part: ExpertKind, width: usize, crop_size: usize) -> Self {
        let backbone = ResNetConfig::new(BlockKind::Basic, [1, 1, 1, 1]).with_base_width(width);
        let hidden = 16 * width;
        let net = match part {
            ExpertKind::Body => ExpertNet::Body(
                SpinConfig::new()
                    .with_backbone(backbone)
                    .with_hidden(vec![hidden, hidden])
                    // Little data, few epochs: dropout would only slow it down.
                    .with_dropout(0.0),
            ),
            ExpertKind::Face => ExpertNet::Face(
                DecaConfig::new()
                    .with_backbone(backbone)
                    .with_hidden(hidden),
            ),
            ExpertKind::Hand => ExpertNet::Hand(
                FrankMocapHandConfig::new()
                    .with_backbone(backbone)
                    .with_feature_dim(hidden),
            ),
        };
        Self::new(net, crop_size)
    }

    /// The published expert's architecture (ResNet-50, 224 px crops).
    pub fn published(part: ExpertKind) -> Self {
        let net = match part {
            ExpertKind::Body => ExpertNet::Body(SpinConfig::new()),
            ExpertKind::Face => ExpertNet::Face(DecaConfig::new()),
            ExpertKind::Hand => ExpertNet::Hand(FrankMocapHandConfig::new()),
        };
        Self::new(net, 224)
    }

    pub fn part(&self) -> ExpertKind {
        match self.net {
            ExpertNet::Body(_) => ExpertKind::Body,
            ExpertNet::Face(_) => ExpertKind::Face,
            ExpertNet::Hand(_) => ExpertKind::Hand,
        }
    }

    /// Width of the expert feature ([`ExpertPrediction::feature`]).
    pub fn feature_dim(&self) -> usize {
        match &self.net {
            ExpertNet::Body(c) => c.backbone.out_channels(),
            ExpertNet::Face(c) => c.hidden,
            ExpertNet::Hand(c) => c.feature_dim,
        }
    }

    /// Whether these settings describe a network that can be built (sizes
    /// in range, as [`crate::nets::StudentConfig::check`]): an expert
    /// file's header is checked with this before anything is allocated.
    pub fn check(&self) -> Result<(), String> {
        use super::{check_dropout, in_range};
        in_range("crop_size", self.crop_size, 8, 2048)?;
        match &self.net {
            ExpertNet::Body(c) => {
                c.backbone.check("backbone")?;
                in_range("hidden layers", c.hidden.len(), 0, 8)?;
                for &h in &c.hidden {
                    in_range("hidden width", h, 1, 16384)?;
                }
                in_range("iterations", c.iterations, 1, 16)?;
                check_dropout("dropout", c.dropout)
            }
            ExpertNet::Face(c) => {
                c.backbone.check("backbone")?;
                in_range("hidden", c.hidden, 1, 16384)?;
                in_range("n_shape", c.n_shape, 0, 1000)?;
                in_range("n_tex", c.n_tex, 0, 1000)?;
                in_range("n_exp", c.n_exp, 0, 1000)
            }
            ExpertNet::Hand(c) => {
                c.backbone.check("backbone")?;
                in_range("feature_dim", c.feature_dim, 1, 16384)?;
                in_range("iterations", c.iterations, 1, 16)
            }
        }
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> Expert<B> {
        match &self.net {
            ExpertNet::Body(c) => Expert::Body(c.init(device)),
            ExpertNet::Face(c) => Expert::Face(c.init(device)),
            ExpertNet::Hand(c) => Expert::Hand(c.init(device)),
        }
    }
}

/// One part expert.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Expert<B: Backend> {
    Body(Spin<B>),
    Face(DecaEncoder<B>),
    Hand(FrankMocapHand<B>),
}

/// The expert's own output, for conversion to SMPL-X.
#[derive(Debug, Clone)]
pub enum RawPrediction<B: Backend> {
    Body(SpinOutput<B>),
    Face(DecaOutput<B>),
    Hand(HandOutput<B>),
}

/// What an expert predicts, in the layout its supervision uses.
#[derive(Debug, Clone)]
pub struct ExpertPrediction<B: Backend> {
    /// Supervised rotations `[batch, R, 3, 3]` ([`ExpertKind::num_rotations`]).
    pub rotations: Tensor<B, 4>,
    /// Other supervised values `[batch, K]` ([`ExpertKind::num_rest`]); `None` for hands.
    pub rest: Option<Tensor<B, 2>>,
    /// The expert feature `[batch, F]` (the pseudo feature for distillation).
    pub feature: Tensor<B, 2>,
    pub raw: RawPrediction<B>,
}

impl<B: Backend> Expert<B> {
    pub fn part(&self) -> ExpertKind {
        match self {
            Expert::Body(_) => ExpertKind::Body,
            Expert::Face(_) => ExpertKind::Face,
            Expert::Hand(_) => ExpertKind::Hand,
        }
    }

    /// `[batch, 3, S, S]` crops with values in [0, 1] → prediction; each
    /// expert applies its own input normalisation.
    pub fn forward(&self, images: Tensor<B, 4>) -> ExpertPrediction<B> {
        let batch = images.dims()[0];
        match self {
            Expert::Body(net) => {
                let out = net.forward(Spin::normalize(images));
                let rest = Tensor::cat(vec![out.betas.clone(), out.camera.clone()], 1); // [batch, 13]
                ExpertPrediction {
                    rotations: out.rotmat.clone(),
                    rest: Some(rest),
                    feature: out.feature.clone(),
                    raw: RawPrediction::Body(out),
                }
            }
            Expert::Face(net) => {
                // DECA reads crops in [0, 1] as they are.
                let out = net.forward(images);
                let face = out.to_smplx();
                let jaw = axis_angle_to_matrix(face.jaw_pose).reshape([batch, 1, 3, 3]);
                ExpertPrediction {
                    rotations: jaw,
                    rest: Some(face.expression),
                    feature: out.feature.clone(),
                    raw: RawPrediction::Face(out),
                }
            }
            Expert::Hand(net) => {
                let out = net.forward(FrankMocapHand::normalize(images));
                let joints = HAND_POSE / 3;
                let rotations = axis_angle_to_matrix(out.pose.clone().reshape([batch * joints, 3]))
                    .reshape([batch, joints, 3, 3]);
                ExpertPrediction {
                    rotations,
                    rest: None,
                    feature: out.feature.clone(),
                    raw: RawPrediction::Hand(out),
                }
            }
        }
    }
}

impl<B: Backend> Expert<B> {
    /// Starts an untrained expert at given mean values, as SPIN and HMR
    /// start from the dataset's mean parameters: `rotations` (row-major
    /// matrices, [`ExpertKind::num_rotations`]) and `rest` ([`ExpertKind::num_rest`]) go
    /// into SPIN's `init_pose`/`init_shape`/`init_cam`, FrankMocap's
    /// `mean_params` (camera kept) or the biases of DECA's jaw and
    /// expression codes, and the output layers' weights and biases are
    /// scaled by `head_gain` (SPIN initialises its heads with gain 0.01), so the
    /// untrained expert predicts about the mean and training learns the
    /// deviations from it.
    pub fn start_at_mean(
        self,
        rotations: &[[f32; 9]],
        rest: &[f32],
        head_gain: f32,
    ) -> Result<Self, crate::readback::ReadbackError> {
        fn scaled<B: Backend, const D: usize>(
            p: Param<Tensor<B, D>>,
            gain: f32,
        ) -> Param<Tensor<B, D>> {
            let t = p.val();
            let device = t.device();
            Param::from_tensor(Tensor::from_data(t.mul_scalar(gain).into_data(), &device))
        }
        fn buffer<B: Backend>(values: &[f32], device: &B::Device) -> Param<Tensor<B, 2>> {
            Param::from_tensor(
                Tensor::<B, 1>::from_floats(values, device).reshape([1, values.len()]),
            )
            .set_require_grad(false)
        }
        fn scale_linear<B: Backend>(mut l: Linear<B>, gain: f32) -> Linear<B> {
            l.weight = scaled(l.weight, gain);
            l.bias = l.bias.map(|b| scaled(b, gain));
            l
        }
        fn scale_heads<B: Backend>(heads: Vec<Linear<B>>, gain: f32) -> Vec<Linear<B>> {
            heads.into_iter().map(|h| scale_linear(h, gain)).collect()
        }
        let aa = |m: &[f32; 9]| -> [f32; 3] {
            let mut r = [[0.0f64; 3]; 3];
            for (i, row) in r.iter_mut().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = m[i * 3 + j] as f64;
                }
            }
            crate::rotation::host::matrix_to_axis_angle(&r).map(|v| v as f32)
        };
        match self {
            Expert::Body(mut net) => {
                let device = net.init_pose.lazy_device();
                if rotations.len() == SPIN_JOINTS {
                    // 6D = the first two columns, row by row (rot6d_to_matrix's layout).
                    let pose: Vec<f32> = rotations
                        .iter()
                        .flat_map(|m| [m[0], m[1], m[3], m[4], m[6], m[7]])
                        .collect();
                    net.init_pose = buffer(&pose, &device);
                }
                if rest.len() == SPIN_BETAS + SPIN_CAMERA {
                    net.init_shape = buffer(&rest[..SPIN_BETAS], &device);
                    net.init_cam = buffer(&rest[SPIN_BETAS..], &device);
                }
                net.regressor.heads = scale_heads(net.regressor.heads, head_gain);
                Ok(Expert::Body(net))
            }
            Expert::Face(mut net) => {
                let device = net.fc2.weight.lazy_device();
                net.fc2 = scale_linear(net.fc2, head_gain);
                if let (Some(jaw), Some(bias)) = (rotations.first(), net.fc2.bias.take()) {
                    let mut values = crate::readback::floats(bias.val())?;
                    let exp = net.n_shape + net.n_tex;
                    let pose = exp + net.n_exp;
                    for (k, v) in rest.iter().take(net.n_exp).enumerate() {
                        values[exp + k] = *v;
                    }
                    values[pose + 3..pose + 6].copy_from_slice(&aa(jaw));
                    net.fc2.bias = Some(Param::from_tensor(Tensor::from_floats(
                        values.as_slice(),
                        &device,
                    )));
                }
                Ok(Expert::Face(net))
            }
            Expert::Hand(mut net) => {
                let device = net.mean_params.lazy_device();
                let mut mean = crate::readback::floats(net.mean_params.val())?;
                for (j, m) in rotations.iter().take(HAND_POSE / 3).enumerate() {
                    mean[HAND_CAMERA + 3 * j..HAND_CAMERA + 3 * j + 3].copy_from_slice(&aa(m));
                }
                net.mean_params = buffer(&mean, &device);
                net.regressor.heads = scale_heads(net.regressor.heads, head_gain);
                Ok(Expert::Hand(net))
            }
        }
    }
}

/// Serialises a trained expert with its configuration; `note` is free-form
/// provenance (the training report).
pub fn to_bytes<B: Backend>(
    expert: &Expert<B>,
    config: &ExpertConfig,
    note: &str,
) -> Result<Vec<u8>, String> {
    let value = serde_json::to_value(config).map_err(|e| e.to_string())?;
    weights_file::to_bytes(&KIND, expert, value, Precision::F32, note)
}

/// Is this an expert file (rather than a published checkpoint)?
pub fn is_expert_file(bytes: &[u8]) -> bool {
    weights_file::has_magic(bytes, &KIND)
}

/// The free-form provenance an expert file carries (its training report).
pub fn note_of(bytes: &[u8], name: &str) -> Result<String, WeightsFileError> {
    Ok(weights_file::read_header(bytes, &KIND, name)?.0.note)
}

/// Rebuilds the expert an expert file describes.
pub fn from_bytes<B: Backend>(
    bytes: &[u8],
    name: &str,
    device: &B::Device,
) -> Result<(Expert<B>, ExpertConfig, String), WeightsFileError> {
    let (header, start) = weights_file::read_header(bytes, &KIND, name)?;
    let config: ExpertConfig = serde_json::from_value(header.config.clone())
        .map_err(|e| WeightsFileError::Corrupt(name.to_string(), format!("config: {e}")))?;
    config
        .check()
        .map_err(|e| WeightsFileError::Corrupt(name.to_string(), format!("config: {e}")))?;
    let fresh = config.init::<B>(device);
    let expert = weights_file::load_weights(fresh, bytes, start, &header, name, device)?;
    Ok((expert, config, header.note))
}

/// Loads a published checkpoint into the full-size network of `part`
/// (SPIN `model_checkpoint.pt`, DECA `deca_model.tar`, FrankMocap
/// `pose_shape_best.pth`).
#[cfg(feature = "import")]
pub fn load_published<B: Backend>(
    part: ExpertKind,
    path: &std::path::Path,
    device: &B::Device,
) -> Result<(Expert<B>, ExpertConfig), super::import::ImportError> {
    let config = ExpertConfig::published(part);
    let expert = match config.init::<B>(device) {
        Expert::Body(net) => Expert::Body(net.load_checkpoint(path)?),
        Expert::Face(net) => Expert::Face(net.load_checkpoint(path)?),
        Expert::Hand(net) => Expert::Hand(net.load_checkpoint(path)?),
    };
    Ok((expert, config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn the_experts_label_every_body_region_once() {
        let labelled: Vec<_> = ExpertKind::ALL
            .iter()
            .flat_map(|kind| kind.parts().iter().copied())
            .collect();
        for part in crate::metrics::Part::ALL {
            let n = labelled.iter().filter(|&&p| p == part).count();
            assert_eq!(n, 1, "{part:?} labelled {n} times");
        }
        assert_eq!(labelled.len(), crate::metrics::Part::ALL.len());
        // Each region's feature column is its own.
        let mut fields: Vec<_> = labelled.iter().map(|p| p.feature_field()).collect();
        fields.sort();
        fields.dedup();
        assert_eq!(fields.len(), 4);
    }
    type B = Flex;

    #[test]
    fn check_refuses_settings_no_expert_can_have() {
        for part in ExpertKind::ALL {
            assert_eq!(ExpertConfig::small(part, 4, 64).check(), Ok(()));
            assert_eq!(ExpertConfig::published(part).check(), Ok(()));
            let e = ExpertConfig::small(part, 4, 0).check().expect_err("crop");
            assert!(e.starts_with("crop_size"), "{e}");
            let e = ExpertConfig::small(part, 1 << 30, 64)
                .check()
                .expect_err("width");
            assert!(e.starts_with("backbone.base_width"), "{e}");
        }
        let mut body = SpinConfig::new().with_dropout(5.0);
        let e = ExpertConfig::new(ExpertNet::Body(body.clone()), 64).check();
        assert!(e.expect_err("dropout").starts_with("dropout"));
        body = body.with_dropout(0.0).with_iterations(100_000);
        let e = ExpertConfig::new(ExpertNet::Body(body), 64).check();
        assert!(e.expect_err("iterations").starts_with("iterations"));
        let face = DecaConfig::new().with_hidden(0);
        let e = ExpertConfig::new(ExpertNet::Face(face), 64).check();
        assert!(e.expect_err("hidden").starts_with("hidden"));
        let hand = FrankMocapHandConfig::new().with_feature_dim(1 << 40);
        let e = ExpertConfig::new(ExpertNet::Hand(hand), 64).check();
        assert!(e.expect_err("feature_dim").starts_with("feature_dim"));
    }

    #[test]
    fn every_part_round_trips_through_its_file() {
        let device = Default::default();
        let images = Tensor::<B, 4>::ones([2, 3, 32, 32], &device).mul_scalar(0.3);
        for part in ExpertKind::ALL {
            let config = ExpertConfig::small(part, 2, 32);
            let expert = config.init::<B>(&device);
            let out = expert.forward(images.clone());
            assert_eq!(out.rotations.dims(), [2, part.num_rotations(), 3, 3]);
            assert_eq!(out.feature.dims(), [2, config.feature_dim()]);
            assert_eq!(
                out.rest.as_ref().map(|r| r.dims()[1]).unwrap_or(0),
                part.num_rest()
            );
            let bytes = to_bytes(&expert, &config, "note").unwrap();
            assert!(is_expert_file(&bytes));
            let (back, cfg, note) = from_bytes::<B>(&bytes, "e.expert", &device).unwrap();
            assert_eq!(
                (cfg.part(), back.part(), note.as_str()),
                (part, part, "note")
            );
            let a = out.feature.into_data().to_vec::<f32>().unwrap();
            let b = back
                .forward(images.clone())
                .feature
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            assert_eq!(a, b, "{part:?}");
        }
        let err = from_bytes::<B>(b"FURPESTU....", "s.furpe", &device).unwrap_err();
        assert!(err.to_string().contains("not a FuRPE expert"), "{err}");
    }

    #[test]
    fn started_at_the_mean_an_untrained_expert_predicts_it() {
        use crate::rotation::host::axis_angle_to_matrix;
        let device = Default::default();
        let images = Tensor::<B, 4>::random(
            [2, 3, 32, 32],
            burn::tensor::Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let rot = |v: [f64; 3]| -> [f32; 9] {
            let m = axis_angle_to_matrix(v);
            let mut o = [0.0f32; 9];
            for i in 0..9 {
                o[i] = m[i / 3][i % 3] as f32;
            }
            o
        };
        for part in ExpertKind::ALL {
            let rotations: Vec<[f32; 9]> = (0..part.num_rotations())
                .map(|j| rot([0.3, -0.1 * j as f64, 2.5 * (j == 0) as u8 as f64]))
                .collect();
            let rest: Vec<f32> = (0..part.num_rest()).map(|k| 0.5 - 0.1 * k as f32).collect();
            let expert = ExpertConfig::small(part, 2, 32)
                .init::<B>(&device)
                .start_at_mean(&rotations, &rest, 0.01)
                .unwrap();
            let out = expert.forward(images.clone());
            let got = out.rotations.into_data().to_vec::<f32>().unwrap();
            for (k, v) in got.iter().enumerate() {
                let want = rotations[(k / 9) % rotations.len()][k % 9];
                assert!(
                    (v - want).abs() < 0.05,
                    "{part:?} rotation value {k}: {v} vs {want}"
                );
            }
            if let Some(r) = out.rest {
                let got = r.into_data().to_vec::<f32>().unwrap();
                for (k, v) in got.iter().enumerate() {
                    let want = rest[k % rest.len()];
                    assert!((v - want).abs() < 0.05, "{part:?} value {k}: {v} vs {want}");
                }
            }
        }
    }
}
