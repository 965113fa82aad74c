//! The DECA face expert's coarse encoder `E_flame`: ResNet-50 → pooled 2048
//! → Linear(2048, 1024) → ReLU → Linear(1024, 236), the FLAME code
//! shape 100 | tex 50 | exp 50 | pose 6 (root 3, jaw 3) | cam 3 | light 27.
//!
//! Input: 224×224 face crop with values in [0, 1] (no normalisation).
//! Checkpoint: `deca_model.tar`, state dict under `E_flame` with keys
//! `encoder.*` (the ResNet), `layers.0.*` and `layers.2.*`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

use super::resnet::{ResNet, ResNetConfig};

/// FLAME pose coefficients in DECA's code (global 3, jaw 3).
pub const DECA_POSE: usize = 6;
/// Weak-perspective camera.
pub const DECA_CAMERA: usize = 3;
/// Spherical-harmonics lighting, 9 bands × RGB.
pub const DECA_LIGHT: usize = 27;
/// SMPL-X expression coefficients taken from FLAME's.
pub const SMPLX_EXPRESSION: usize = 10;

/// [`DecaEncoder`] configuration.
#[derive(Config, Debug)]
pub struct DecaConfig {
    /// Backbone; ResNet-50 in the published model.
    #[config(default = "ResNetConfig::resnet50()")]
    pub backbone: ResNetConfig,
    /// Width of the hidden layer.
    #[config(default = 1024)]
    pub hidden: usize,
    #[config(default = 100)]
    pub n_shape: usize,
    #[config(default = 50)]
    pub n_tex: usize,
    #[config(default = 50)]
    pub n_exp: usize,
}

impl DecaConfig {
    /// Width of the code: 236 for the published model.
    pub fn code_dim(&self) -> usize {
        self.n_shape + self.n_tex + self.n_exp + DECA_POSE + DECA_CAMERA + DECA_LIGHT
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> DecaEncoder<B> {
        DecaEncoder {
            backbone: self.backbone.init(device),
            fc1: LinearConfig::new(self.backbone.out_channels(), self.hidden).init(device),
            fc2: LinearConfig::new(self.hidden, self.code_dim()).init(device),
            n_shape: self.n_shape,
            n_tex: self.n_tex,
            n_exp: self.n_exp,
        }
    }
}

/// DECA's coarse encoder.
#[derive(Module, Debug)]
pub struct DecaEncoder<B: Backend> {
    /// `encoder.*` in the checkpoint.
    pub backbone: ResNet<B>,
    /// `layers.0`.
    pub fc1: Linear<B>,
    /// `layers.2`.
    pub fc2: Linear<B>,
    pub n_shape: usize,
    pub n_tex: usize,
    pub n_exp: usize,
}

/// DECA's prediction, the code split into its parts.
#[derive(Debug, Clone)]
pub struct DecaOutput<B: Backend> {
    /// The whole code `[batch, 236]`.
    pub code: Tensor<B, 2>,
    /// FLAME shape `[batch, 100]`.
    pub shape: Tensor<B, 2>,
    /// Albedo `[batch, 50]`.
    pub tex: Tensor<B, 2>,
    /// FLAME expression `[batch, 50]`.
    pub exp: Tensor<B, 2>,
    /// Axis-angle root 3 | jaw 3, `[batch, 6]`.
    pub pose: Tensor<B, 2>,
    /// Weak-perspective camera `[batch, 3]`.
    pub camera: Tensor<B, 2>,
    /// Spherical-harmonics lighting `[batch, 9, 3]`.
    pub light: Tensor<B, 3>,
    /// The expert feature: the hidden layer after ReLU `[batch, 1024]`.
    pub feature: Tensor<B, 2>,
}

/// SMPL-X face parameters taken from a face expert.
#[derive(Debug, Clone)]
pub struct SmplxFacePart<B: Backend> {
    /// `[batch, 3]` axis-angle.
    pub jaw_pose: Tensor<B, 2>,
    /// `[batch, 10]`.
    pub expression: Tensor<B, 2>,
}

impl<B: Backend> DecaEncoder<B> {
    /// `[batch, 3, 224, 224]` crops in [0, 1] → code.
    pub fn forward(&self, images: Tensor<B, 4>) -> DecaOutput<B> {
        let batch = images.dims()[0];
        let pooled = self.backbone.forward(images); // [batch, 2048]
        let feature = relu(self.fc1.forward(pooled)); // [batch, 1024]
        let code = self.fc2.forward(feature.clone()); // [batch, 236]
        let mut start = 0;
        let mut take = |n: usize| {
            let part = code.clone().slice([0..batch, start..start + n]);
            start += n;
            part
        };
        let shape = take(self.n_shape);
        let tex = take(self.n_tex);
        let exp = take(self.n_exp);
        let pose = take(DECA_POSE);
        let camera = take(DECA_CAMERA);
        let light = take(DECA_LIGHT).reshape([batch, 9, 3]);
        DecaOutput {
            code,
            shape,
            tex,
            exp,
            pose,
            camera,
            light,
            feature,
        }
    }

    /// Checkpoint key of a parameter (PyTorch-style path) in `E_flame`.
    pub fn checkpoint_key(path: &str) -> Option<String> {
        let rules = [
            ("backbone.", "encoder."),
            ("fc1.", "layers.0."),
            ("fc2.", "layers.2."),
        ];
        Some(super::map_prefix(path, &rules).unwrap_or_else(|| path.to_string()))
    }
}

impl<B: Backend> DecaOutput<B> {
    /// SMPL-X jaw pose = FLAME jaw (`pose[3..6]`), expression = the first 10
    /// FLAME expression coefficients (FLAME 2020 and SMPL-X share them);
    /// FLAME's shape does not transfer.
    pub fn to_smplx(&self) -> SmplxFacePart<B> {
        let batch = self.pose.dims()[0];
        let n = SMPLX_EXPRESSION.min(self.exp.dims()[1]);
        SmplxFacePart {
            jaw_pose: self.pose.clone().slice([0..batch, 3..6]),
            expression: self.exp.clone().slice([0..batch, 0..n]),
        }
    }
}

#[cfg(feature = "import")]
impl<B: Backend> DecaEncoder<B> {
    /// Loads DECA's `deca_model.tar` (state dict under `E_flame`).
    pub fn load_checkpoint(
        self,
        path: &std::path::Path,
    ) -> Result<Self, super::import::ImportError> {
        let checkpoint = super::import::Checkpoint::open_entry(path, "E_flame")?;
        super::import::load_module(self, &checkpoint, Self::checkpoint_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    type B = Flex;

    #[test]
    fn shapes_and_split() {
        let device = Default::default();
        let config = DecaConfig::new()
            .with_backbone(ResNetConfig::resnet50().with_base_width(2))
            .with_hidden(16);
        assert_eq!(config.code_dim(), 236);
        let deca = config.init::<B>(&device);
        let out = deca.forward(Tensor::ones([2, 3, 64, 64], &device));
        assert_eq!(out.code.dims(), [2, 236]);
        assert_eq!(out.shape.dims(), [2, 100]);
        assert_eq!(out.tex.dims(), [2, 50]);
        assert_eq!(out.exp.dims(), [2, 50]);
        assert_eq!(out.pose.dims(), [2, 6]);
        assert_eq!(out.camera.dims(), [2, 3]);
        assert_eq!(out.light.dims(), [2, 9, 3]);
        assert_eq!(out.feature.dims(), [2, 16]);
        // The parts tile the code in order.
        let code = crate::readback::floats(out.code.clone()).unwrap();
        let pose = crate::readback::floats(out.pose.clone()).unwrap();
        assert_eq!(&code[200..206], &pose[..6]);
        let face = out.to_smplx();
        let jaw = crate::readback::floats(face.jaw_pose).unwrap();
        assert_eq!(&jaw[..3], &pose[3..6]);
        assert_eq!(face.expression.dims(), [2, 10]);
    }

    #[test]
    fn checkpoint_keys() {
        let key = |p: &str| DecaEncoder::<B>::checkpoint_key(p);
        assert_eq!(
            key("backbone.layer1.0.downsample.bn.weight").as_deref(),
            Some("encoder.layer1.0.downsample.1.weight")
        );
        assert_eq!(key("fc1.weight").as_deref(), Some("layers.0.weight"));
        assert_eq!(key("fc2.bias").as_deref(), Some("layers.2.bias"));
    }
}
