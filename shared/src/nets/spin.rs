//! The SPIN body expert (HMR architecture): ResNet-50 → pooled 2048 →
//! 3 iterations of fc1 → dropout → fc2 → dropout (no activation) → decpose
//! (24 × 6D) / decshape (10) / deccam (3) deltas, from the mean parameters
//! `init_pose`, `init_shape`, `init_cam`.
//!
//! Input: 224×224 body crop, ImageNet normalisation ([`Spin::normalize`]).
//! Checkpoint: `model_checkpoint.pt`, state dict under `model` with the keys
//! `conv1`, `bn1`, `layer1`–`layer4`, `fc1`, `fc2`, `decpose`, `decshape`,
//! `deccam`, `init_pose`, `init_shape`, `init_cam`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};

use super::regressor::{IterativeRegressor, IterativeRegressorConfig};
use super::resnet::{ResNet, ResNetConfig};
use crate::rotation::{matrix_to_axis_angle, rot6d_to_matrix};

/// SMPL joints SPIN predicts (global + 23).
pub const SPIN_JOINTS: usize = 24;
/// Width of SPIN's pose vector (24 × 6D).
pub const SPIN_POSE_DIM: usize = SPIN_JOINTS * 6;
/// SMPL shape coefficients.
pub const SPIN_BETAS: usize = 10;
/// Weak-perspective camera (s, tx, ty).
pub const SPIN_CAMERA: usize = 3;

/// [`Spin`] configuration.
#[derive(Config, Debug)]
pub struct SpinConfig {
    /// Backbone; ResNet-50 in the published model.
    #[config(default = "ResNetConfig::resnet50()")]
    pub backbone: ResNetConfig,
    /// Hidden widths of the regressor (`fc1`, `fc2`).
    #[config(default = "vec![1024, 1024]")]
    pub hidden: Vec<usize>,
    /// Refinement iterations.
    #[config(default = 3)]
    pub iterations: usize,
    /// Dropout after `fc1` and `fc2`.
    #[config(default = 0.5)]
    pub dropout: f64,
}

impl SpinConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Spin<B> {
        let regressor = IterativeRegressorConfig::new(
            self.backbone.out_channels(),
            vec![SPIN_POSE_DIM, SPIN_BETAS, SPIN_CAMERA],
        )
        .with_hidden(self.hidden.clone())
        .with_dropout(self.dropout)
        .with_iterations(self.iterations);
        // Stand-in mean parameters until a checkpoint provides SPIN's: every
        // joint at identity except the global rotation, 180° about x (the
        // camera looks along +z with y down), and a mid-range camera scale.
        let mut pose = [1.0f32, 0.0, 0.0, 1.0, 0.0, 0.0].repeat(SPIN_JOINTS);
        pose[..6].copy_from_slice(&[1.0, 0.0, 0.0, -1.0, 0.0, 0.0]);
        let buffer = |values: Vec<f32>| {
            let n = values.len();
            Param::from_tensor(
                Tensor::<B, 1>::from_floats(values.as_slice(), device).reshape([1, n]),
            )
            .set_require_grad(false)
        };
        Spin {
            backbone: self.backbone.init(device),
            regressor: regressor.init(device),
            init_pose: buffer(pose),
            init_shape: buffer(vec![0.0; SPIN_BETAS]),
            init_cam: buffer(vec![0.9, 0.0, 0.0]),
        }
    }
}

/// The SPIN body expert.
#[derive(Module, Debug)]
pub struct Spin<B: Backend> {
    pub backbone: ResNet<B>,
    /// `fc1`, `fc2` and the heads `decpose`, `decshape`, `deccam`.
    pub regressor: IterativeRegressor<B>,
    /// Mean pose, `[1, 144]` (buffer).
    pub init_pose: Param<Tensor<B, 2>>,
    /// Mean shape, `[1, 10]` (buffer).
    pub init_shape: Param<Tensor<B, 2>>,
    /// Mean camera, `[1, 3]` (buffer).
    pub init_cam: Param<Tensor<B, 2>>,
}

/// SPIN's prediction.
#[derive(Debug, Clone)]
pub struct SpinOutput<B: Backend> {
    /// SMPL joint rotations `[batch, 24, 3, 3]`.
    pub rotmat: Tensor<B, 4>,
    /// The raw 6D pose `[batch, 144]`.
    pub pose6d: Tensor<B, 2>,
    /// SMPL shape `[batch, 10]` (SMPL's, not SMPL-X's).
    pub betas: Tensor<B, 2>,
    /// Weak-perspective camera (s, tx, ty) `[batch, 3]`.
    pub camera: Tensor<B, 2>,
    /// The expert feature: the pooled backbone feature `[batch, 2048]`.
    pub feature: Tensor<B, 2>,
    /// The regressor's last hidden output `[batch, 1024]`.
    pub hidden: Tensor<B, 2>,
}

/// SMPL-X body parameters taken from a body expert.
#[derive(Debug, Clone)]
pub struct SmplxBodyPart<B: Backend> {
    /// `[batch, 3]` axis-angle.
    pub global_orient: Tensor<B, 2>,
    /// `[batch, 63]` axis-angle, SMPL-X body joints 1–21.
    pub body_pose: Tensor<B, 2>,
    /// The same 22 rotations as matrices `[batch, 22, 3, 3]`.
    pub rotmat: Tensor<B, 4>,
}

impl<B: Backend> Spin<B> {
    /// Images in [0, 1] → SPIN's input (ImageNet normalisation).
    pub fn normalize(images: Tensor<B, 4>) -> Tensor<B, 4> {
        super::normalize_images(images, super::IMAGENET_MEAN, super::IMAGENET_STD)
    }

    /// `[batch, 3, 224, 224]` normalised crops → prediction.
    pub fn forward(&self, images: Tensor<B, 4>) -> SpinOutput<B> {
        let batch = images.dims()[0];
        let feature = self.backbone.forward(images); // [batch, 2048]
        let init = Tensor::cat(
            vec![
                self.init_pose.val(),
                self.init_shape.val(),
                self.init_cam.val(),
            ],
            1,
        ); // [1, 157]
        let width = init.dims()[1];
        let out = self
            .regressor
            .forward(feature.clone(), init.expand([batch, width]));
        let pose6d = out.params.clone().slice([0..batch, 0..SPIN_POSE_DIM]);
        let betas = out
            .params
            .clone()
            .slice([0..batch, SPIN_POSE_DIM..SPIN_POSE_DIM + SPIN_BETAS]);
        let camera = out
            .params
            .slice([0..batch, SPIN_POSE_DIM + SPIN_BETAS..width]);
        let rotmat = rot6d_to_matrix(pose6d.clone().reshape([batch * SPIN_JOINTS, 6])).reshape([
            batch,
            SPIN_JOINTS,
            3,
            3,
        ]);
        SpinOutput {
            rotmat,
            pose6d,
            betas,
            camera,
            feature,
            hidden: out.hidden,
        }
    }

    /// Checkpoint key of a parameter (PyTorch-style path); `None`: not stored.
    pub fn checkpoint_key(path: &str) -> Option<String> {
        if let Some(rest) = path.strip_prefix("regressor.layers.") {
            // fc1, fc2, … in order.
            let (index, tail) = rest.split_once('.')?;
            let index: usize = index.parse().ok()?;
            return Some(format!("fc{}.{tail}", index + 1));
        }
        let rules = [
            ("backbone.", ""),
            ("regressor.heads.0.", "decpose."),
            ("regressor.heads.1.", "decshape."),
            ("regressor.heads.2.", "deccam."),
        ];
        Some(super::map_prefix(path, &rules).unwrap_or_else(|| path.to_string()))
    }
}

impl<B: Backend> SpinOutput<B> {
    /// SMPL-X global orientation and body pose: SMPL joints 0–21 are SMPL-X's
    /// (same kinematic tree); SMPL's hand joints 22/23 are dropped.
    pub fn to_smplx(&self) -> SmplxBodyPart<B> {
        let batch = self.rotmat.dims()[0];
        let rotmat = self.rotmat.clone().slice([0..batch, 0..22]); // [batch, 22, 3, 3]
        let aa =
            matrix_to_axis_angle(rotmat.clone().reshape([batch * 22, 3, 3])).reshape([batch, 66]);
        SmplxBodyPart {
            global_orient: aa.clone().slice([0..batch, 0..3]),
            body_pose: aa.slice([0..batch, 3..66]),
            rotmat,
        }
    }
}

#[cfg(feature = "import")]
impl<B: Backend> Spin<B> {
    /// Loads SPIN's `model_checkpoint.pt` (weights under `model`).
    pub fn load_checkpoint(
        self,
        path: &std::path::Path,
    ) -> Result<Self, super::import::ImportError> {
        let checkpoint = super::import::Checkpoint::open_entry(path, "model")?;
        super::import::load_module(self, &checkpoint, Self::checkpoint_key)
    }

    /// Loads torchvision ImageNet weights into the backbone only.
    pub fn load_imagenet_backbone(
        mut self,
        path: &std::path::Path,
    ) -> Result<Self, super::import::ImportError> {
        self.backbone = super::resnet::load_torchvision(self.backbone, path)?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    type B = Flex;

    fn small() -> SpinConfig {
        SpinConfig::new()
            .with_backbone(ResNetConfig::resnet50().with_base_width(2))
            .with_hidden(vec![16, 16])
    }

    #[test]
    fn shapes() {
        let device = Default::default();
        let spin = small().init::<B>(&device);
        let out = spin.forward(Tensor::ones([2, 3, 64, 64], &device));
        assert_eq!(out.rotmat.dims(), [2, 24, 3, 3]);
        assert_eq!(out.pose6d.dims(), [2, 144]);
        assert_eq!(out.betas.dims(), [2, 10]);
        assert_eq!(out.camera.dims(), [2, 3]);
        assert_eq!(out.feature.dims(), [2, 64]);
        assert_eq!(out.hidden.dims(), [2, 16]);
        let part = out.to_smplx();
        assert_eq!(part.global_orient.dims(), [2, 3]);
        assert_eq!(part.body_pose.dims(), [2, 63]);
        assert_eq!(part.rotmat.dims(), [2, 22, 3, 3]);
    }

    #[test]
    fn mean_pose_converts_to_a_half_turn_about_x() {
        let device = Default::default();
        let spin = small().init::<B>(&device);
        let pose6d = spin.init_pose.val(); // [1, 144]
        let rotmat = rot6d_to_matrix(pose6d.clone().reshape([24, 6])).reshape([1, 24, 3, 3]);
        let out = SpinOutput {
            rotmat,
            pose6d,
            betas: Tensor::zeros([1, 10], &device),
            camera: Tensor::zeros([1, 3], &device),
            feature: Tensor::zeros([1, 1], &device),
            hidden: Tensor::zeros([1, 1], &device),
        };
        let part = out.to_smplx();
        let g = crate::readback::floats(part.global_orient).unwrap();
        assert!((g[0].abs() - std::f32::consts::PI).abs() < 1e-5, "{g:?}");
        assert!(g[1].abs() < 1e-6 && g[2].abs() < 1e-6);
        let body = crate::readback::floats(part.body_pose).unwrap();
        assert!(body.iter().all(|v| v.abs() < 1e-6));
    }

    #[test]
    fn checkpoint_keys() {
        let key = |p: &str| Spin::<B>::checkpoint_key(p);
        assert_eq!(
            key("backbone.conv1.weight").as_deref(),
            Some("conv1.weight")
        );
        assert_eq!(
            key("backbone.layer3.0.downsample.conv.weight").as_deref(),
            Some("layer3.0.downsample.0.weight")
        );
        assert_eq!(key("regressor.layers.1.bias").as_deref(), Some("fc2.bias"));
        assert_eq!(
            key("regressor.heads.0.weight").as_deref(),
            Some("decpose.weight")
        );
        assert_eq!(
            key("regressor.heads.2.bias").as_deref(),
            Some("deccam.bias")
        );
        assert_eq!(key("init_pose").as_deref(), Some("init_pose"));
    }
}
