//! The FrankMocap hand expert: ResNet-50 → pooled 2048 → ReLU → fc1
//! (2048 → 1024) → ReLU, then `feat_encoder` = ReLU → Linear(1024, 1024) →
//! ReLU, then 3 iterations of `regressor` = Linear(1024 + 61, 61) adding
//! deltas to the mean parameters cam 3 | pose 48 | betas 10.
//!
//! Input: 224×224 crop of a right hand (left hands are mirrored first),
//! normalised with mean = std = 0.5 ([`FrankMocapHand::normalize`]).
//! Checkpoint: `pose_shape_best.pth`, a plain state dict with keys
//! `main_encoder.*` (the ResNet and its `fc1`), `feat_encoder.1.*` and
//! `regressor.0.*`. The mean parameters are not in it: FrankMocap builds them
//! at run time (camera scale 5, zero wrist rotation, the mean MANO finger pose
//! of `mean_mano_params.pkl`, zero shape); see [`FrankMocapHand::set_mean_hand_pose`].

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

use super::regressor::{IterativeRegressor, IterativeRegressorConfig};

/// The finger pose FrankMocap starts its regressor from: `mean_pose[3:]` of
/// its `mean_mano_params.pkl` (a pickled dict of NumPy arrays; `mean_pose`
/// holds 48 values, the global rotation then 15 finger joints × 3), as its
/// `H3DWModel.load_params` takes it.
#[cfg(feature = "import")]
pub fn read_mean_mano_params(
    path: &std::path::Path,
) -> Result<[f32; 45], super::import::ImportError> {
    use super::import::ImportError;
    let file = path.display().to_string();
    let arrays = crate::pickle::read_pickle_file(path).map_err(|e| ImportError::Read {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    let keys: Vec<&str> = arrays.iter().map(|(k, _)| k.as_str()).collect();
    let Some((_, pose)) = arrays.iter().find(|(k, _)| k == "mean_pose") else {
        return Err(ImportError::MissingKey {
            file,
            key: "mean_pose".into(),
            expected: vec![48],
            more: 0,
            hint: format!("the file holds {keys:?}"),
        });
    };
    let values = pose
        .to_f32()
        .filter(|v| v.len() == 48)
        .ok_or(ImportError::Shape {
            file,
            key: "mean_pose".into(),
            found: pose.shape.clone(),
            expected: vec![48],
            more: 0,
        })?;
    let mut fingers = [0f32; 45];
    fingers.copy_from_slice(&values[3..]);
    Ok(fingers)
}
use super::resnet::{ResNet, ResNetConfig};

/// Weak-perspective camera (s, tx, ty).
pub const HAND_CAMERA: usize = 3;
/// Wrist 3 + 15 finger joints × 3, axis-angle.
pub const HAND_POSE: usize = 48;
/// MANO shape.
pub const HAND_BETAS: usize = 10;
/// The whole parameter vector.
pub const HAND_PARAMS: usize = HAND_CAMERA + HAND_POSE + HAND_BETAS;
/// FrankMocap's initial camera scale.
pub const HAND_MEAN_SCALE: f32 = 5.0;

/// Which hand a crop shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandSide {
    Left,
    Right,
}

/// [`FrankMocapHand`] configuration.
#[derive(Config, Debug)]
pub struct FrankMocapHandConfig {
    /// Backbone; ResNet-50 in the published model.
    #[config(default = "ResNetConfig::resnet50()")]
    pub backbone: ResNetConfig,
    /// Width of `fc1` and of the encoder feature.
    #[config(default = 1024)]
    pub feature_dim: usize,
    /// Refinement iterations.
    #[config(default = 3)]
    pub iterations: usize,
}

impl FrankMocapHandConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> FrankMocapHand<B> {
        let regressor = IterativeRegressorConfig::new(self.feature_dim, vec![HAND_PARAMS])
            .with_hidden(vec![])
            .with_iterations(self.iterations);
        let mut mean = vec![0.0f32; HAND_PARAMS];
        mean[0] = HAND_MEAN_SCALE;
        FrankMocapHand {
            backbone: self.backbone.init(device),
            fc1: LinearConfig::new(self.backbone.out_channels(), self.feature_dim).init(device),
            feat_fc: LinearConfig::new(self.feature_dim, self.feature_dim).init(device),
            regressor: regressor.init(device),
            mean_params: Param::from_tensor(
                Tensor::<B, 1>::from_floats(mean.as_slice(), device).reshape([1, HAND_PARAMS]),
            )
            .set_require_grad(false),
        }
    }
}

/// The FrankMocap hand expert.
#[derive(Module, Debug)]
pub struct FrankMocapHand<B: Backend> {
    /// `main_encoder.*` without its `fc1`.
    pub backbone: ResNet<B>,
    /// `main_encoder.fc1`.
    pub fc1: Linear<B>,
    /// `feat_encoder.1`.
    pub feat_fc: Linear<B>,
    /// `regressor.0` as the single head of an iterative regressor.
    pub regressor: IterativeRegressor<B>,
    /// Initial parameters `[1, 61]` (buffer; not in the checkpoint).
    pub mean_params: Param<Tensor<B, 2>>,
}

/// FrankMocap's prediction for (right-hand) crops.
#[derive(Debug, Clone)]
pub struct HandOutput<B: Backend> {
    /// `[batch, 61]`.
    pub params: Tensor<B, 2>,
    /// Weak-perspective camera `[batch, 3]`.
    pub camera: Tensor<B, 2>,
    /// Wrist 3 | fingers 45, axis-angle relative to the SMPL-X hand mean `[batch, 48]`.
    pub pose: Tensor<B, 2>,
    /// MANO shape `[batch, 10]`.
    pub betas: Tensor<B, 2>,
    /// The expert feature: `feat_encoder`'s output `[batch, 1024]`.
    pub feature: Tensor<B, 2>,
}

/// SMPL-X hand parameters taken from a hand expert.
#[derive(Debug, Clone)]
pub struct SmplxHandPart<B: Backend> {
    /// `[batch, 45]` axis-angle relative to the SMPL-X hand mean
    /// (`left_hand_pose` or `right_hand_pose` with the hand mean on, the
    /// reference `smplx` default).
    pub hand_pose: Tensor<B, 2>,
    /// The wrist rotation `[batch, 3]` (FrankMocap drives it as the SMPL-X
    /// wrist joint of a body with zero global orientation).
    pub wrist: Tensor<B, 2>,
    /// Weak-perspective camera of the (unmirrored) crop `[batch, 3]`.
    pub camera: Tensor<B, 2>,
}

impl<B: Backend> FrankMocapHand<B> {
    /// Images in [0, 1] → FrankMocap's input (mean = std = 0.5).
    pub fn normalize(images: Tensor<B, 4>) -> Tensor<B, 4> {
        super::normalize_images(images, [0.5; 3], [0.5; 3])
    }

    /// `[batch, 3, 224, 224]` normalised right-hand crops → prediction.
    pub fn forward(&self, images: Tensor<B, 4>) -> HandOutput<B> {
        let batch = images.dims()[0];
        let pooled = self.backbone.forward(images); // [batch, 2048]
        let main = relu(self.fc1.forward(relu(pooled))); // [batch, 1024]
        let feature = relu(self.feat_fc.forward(main)); // [batch, 1024]
        let init = self.mean_params.val().expand([batch, HAND_PARAMS]);
        let params = self.regressor.forward(feature.clone(), init).params; // [batch, 61]
        HandOutput {
            camera: params.clone().slice([0..batch, 0..HAND_CAMERA]),
            pose: params
                .clone()
                .slice([0..batch, HAND_CAMERA..HAND_CAMERA + HAND_POSE]),
            betas: params
                .clone()
                .slice([0..batch, HAND_CAMERA + HAND_POSE..HAND_PARAMS]),
            params,
            feature,
        }
    }

    /// Sets the initial finger pose (45 values, FrankMocap's
    /// `mean_mano_params.pkl` `mean_pose[3:]`); camera and shape keep
    /// FrankMocap's values (scale 5, zeros), the wrist stays zero.
    pub fn set_mean_hand_pose(mut self, finger_pose: [f32; 45]) -> Self {
        let device = self.mean_params.lazy_device();
        let mut mean = vec![0.0f32; HAND_PARAMS];
        mean[0] = HAND_MEAN_SCALE;
        mean[HAND_CAMERA + 3..HAND_CAMERA + HAND_POSE].copy_from_slice(&finger_pose);
        let tensor =
            Tensor::<B, 1>::from_floats(mean.as_slice(), &device).reshape([1, HAND_PARAMS]);
        self.mean_params = Param::from_tensor(tensor).set_require_grad(false);
        self
    }

    /// Checkpoint key of a parameter (PyTorch-style path); `None` for the
    /// mean parameters, which the checkpoint does not hold.
    pub fn checkpoint_key(path: &str) -> Option<String> {
        if path == "mean_params" {
            return None;
        }
        let rules = [
            ("backbone.", "main_encoder."),
            ("fc1.", "main_encoder.fc1."),
            ("feat_fc.", "feat_encoder.1."),
            ("regressor.heads.0.", "regressor.0."),
        ];
        Some(super::map_prefix(path, &rules).unwrap_or_else(|| path.to_string()))
    }
}

impl<B: Backend> HandOutput<B> {
    /// SMPL-X hand parameters. Left hands were mirrored into right hands
    /// before the network: mirroring back negates the y and z components of
    /// every axis-angle (wrist and fingers) and the camera's x shift.
    pub fn to_smplx(&self, side: HandSide) -> SmplxHandPart<B> {
        let batch = self.pose.dims()[0];
        let device = self.pose.device();
        let (pose, camera) = match side {
            HandSide::Right => (self.pose.clone(), self.camera.clone()),
            HandSide::Left => {
                let flip = Tensor::<B, 1>::from_floats([1.0, -1.0, -1.0], &device)
                    .reshape([1, 3])
                    .repeat_dim(1, HAND_POSE / 3); // [1, 48]
                let cam_flip =
                    Tensor::<B, 1>::from_floats([1.0, -1.0, 1.0], &device).reshape([1, 3]);
                (self.pose.clone() * flip, self.camera.clone() * cam_flip)
            }
        };
        SmplxHandPart {
            wrist: pose.clone().slice([0..batch, 0..3]),
            hand_pose: pose.slice([0..batch, 3..HAND_POSE]),
            camera,
        }
    }
}

#[cfg(feature = "import")]
impl<B: Backend> FrankMocapHand<B> {
    /// Loads FrankMocap's `pose_shape_best.pth` (plain state dict). The mean
    /// parameters keep their values.
    pub fn load_checkpoint(
        self,
        path: &std::path::Path,
    ) -> Result<Self, super::import::ImportError> {
        let checkpoint = super::import::Checkpoint::open(path)?;
        super::import::load_module(self, &checkpoint, Self::checkpoint_key)
    }

    /// [`Self::set_mean_hand_pose`] from FrankMocap's `mean_mano_params.pkl`.
    pub fn with_mean_mano_params(
        self,
        path: &std::path::Path,
    ) -> Result<Self, super::import::ImportError> {
        Ok(self.set_mean_hand_pose(read_mean_mano_params(path)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    type B = Flex;

    fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        crate::readback::floats(t).unwrap()
    }

    #[test]
    fn shapes() {
        let device = Default::default();
        let hand = FrankMocapHandConfig::new()
            .with_backbone(ResNetConfig::resnet50().with_base_width(2))
            .with_feature_dim(16)
            .init::<B>(&device);
        let out = hand.forward(Tensor::ones([2, 3, 64, 64], &device));
        assert_eq!(out.params.dims(), [2, 61]);
        assert_eq!(out.camera.dims(), [2, 3]);
        assert_eq!(out.pose.dims(), [2, 48]);
        assert_eq!(out.betas.dims(), [2, 10]);
        assert_eq!(out.feature.dims(), [2, 16]);
        let part = out.to_smplx(HandSide::Right);
        assert_eq!(part.hand_pose.dims(), [2, 45]);
        assert_eq!(part.wrist.dims(), [2, 3]);
    }

    #[test]
    fn left_hand_unflip() {
        let device = Default::default();
        let pose: Vec<f32> = (0..48).map(|i| i as f32 + 1.0).collect();
        let out = HandOutput::<B> {
            params: Tensor::zeros([1, 61], &device),
            camera: Tensor::from_floats([[5.0, 0.25, -0.5]], &device),
            pose: Tensor::<B, 1>::from_floats(pose.as_slice(), &device).reshape([1, 48]),
            betas: Tensor::zeros([1, 10], &device),
            feature: Tensor::zeros([1, 4], &device),
        };
        let right = out.to_smplx(HandSide::Right);
        assert_eq!(values(right.wrist), vec![1.0, 2.0, 3.0]);
        let left = out.to_smplx(HandSide::Left);
        assert_eq!(values(left.wrist), vec![1.0, -2.0, -3.0]);
        let fingers = values(left.hand_pose);
        assert_eq!(&fingers[..6], &[4.0, -5.0, -6.0, 7.0, -8.0, -9.0]);
        assert_eq!(fingers[44], -48.0);
        assert_eq!(values(left.camera), vec![5.0, -0.25, -0.5]);
    }

    #[test]
    fn mean_parameters_and_keys() {
        let device = Default::default();
        let hand = FrankMocapHandConfig::new()
            .with_backbone(ResNetConfig::resnet18().with_base_width(2))
            .with_feature_dim(8)
            .init::<B>(&device);
        let mean = values(hand.mean_params.val());
        assert_eq!(mean[0], 5.0);
        assert!(mean[1..].iter().all(|&v| v == 0.0));
        let hand = hand.set_mean_hand_pose([0.5; 45]);
        let mean = values(hand.mean_params.val());
        assert_eq!(&mean[..6], &[5.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(mean[6..51].iter().all(|&v| v == 0.5));
        assert!(mean[51..].iter().all(|&v| v == 0.0));
        let key = |p: &str| FrankMocapHand::<B>::checkpoint_key(p);
        assert_eq!(key("mean_params"), None);
        assert_eq!(
            key("fc1.weight").as_deref(),
            Some("main_encoder.fc1.weight")
        );
        assert_eq!(
            key("backbone.bn1.running_mean").as_deref(),
            Some("main_encoder.bn1.running_mean")
        );
        assert_eq!(key("feat_fc.bias").as_deref(), Some("feat_encoder.1.bias"));
        assert_eq!(
            key("regressor.heads.0.weight").as_deref(),
            Some("regressor.0.weight")
        );
    }
}
