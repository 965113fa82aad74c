//! The FuRPE student: an SMPL-X regressor trained from the part experts'
//! pseudo labels. Two kinds share one parameter layout:
//!
//! - one-stage (the paper's "FuRPE + ResNet"): one backbone on the body crop
//!   predicts every parameter;
//! - two-stage (ExPose-style): the body network's estimate is posed with the
//!   body model, hand and face crops are cut differentiably (a sampling grid
//!   around the projected hand and face points) from a higher-resolution
//!   view of the same window, and small hand and face networks refine the
//!   hand poses, jaw and expression.
//!
//! The parameter vector (ExPose's order) is
//! `[global 6D | body 21×6D | left hand 15×6D | right hand 15×6D | jaw 6D | β | ψ | camera 3]`;
//! rotations are absolute (the hand mean is not added), the camera is weak
//! perspective `(s, tx, ty)` with `s = softplus(raw)` in the body crop's
//! normalised coordinates. Each part also gets a feature vector, the
//! student's side of the feature distillation.
//!
//! Why this file is long (~800 lines of code, then its tests): one model, top
//! down (config, layout, forward, the two-stage refinement, posing), as
//! candle-transformers keeps one model per file.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{softmax, softplus};
use burn::tensor::backend::Backend;
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::ops::GridSampleOptions;
use burn::tensor::{Tensor, TensorData};

use super::regressor::{IterativeRegressor, IterativeRegressorConfig};
use super::resnet::{ResNet, ResNetConfig};
use crate::camera::weak_perspective;
use crate::keypoints::NUM_BODY25;
use crate::rotation::rot6d_to_matrix;
use crate::smplx::joints::{NUM_BODY_JOINTS, NUM_HAND_JOINTS, NUM_JOINTS};
use crate::smplx::{Smplx, SmplxOutput};

/// Rotations the student predicts: global, body 21, left hand 15, right hand 15, jaw.
pub const PREDICTED_ROTATIONS: usize = 1 + NUM_BODY_JOINTS + 2 * NUM_HAND_JOINTS + 1;
/// Offsets of the rotation blocks in the 6D part of the parameter vector (in rotations).
const LEFT_HAND: usize = 1 + NUM_BODY_JOINTS;
const RIGHT_HAND: usize = LEFT_HAND + NUM_HAND_JOINTS;
const JAW: usize = RIGHT_HAND + NUM_HAND_JOINTS;

/// Where each block sits in the student's parameter vector
/// `[6D rotations (global, body, left hand, right hand, jaw) | β | ψ | camera]`:
/// the one statement of the layout that decoding, the mean start and the
/// EMA consistency term read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamLayout {
    pub num_betas: usize,
    pub num_expression: usize,
}

impl ParamLayout {
    /// The global rotation's 6D block (view-dependent).
    pub const GLOBAL: std::ops::Range<usize> = 0..6;
    /// Weak-perspective camera values `(raw s, tx, ty)`.
    pub const CAMERA: usize = 3;

    pub fn rotations(&self) -> std::ops::Range<usize> {
        0..PREDICTED_ROTATIONS * 6
    }

    pub fn betas(&self) -> std::ops::Range<usize> {
        let start = self.rotations().end;
        start..start + self.num_betas
    }

    pub fn expression(&self) -> std::ops::Range<usize> {
        let start = self.betas().end;
        start..start + self.num_expression
    }

    pub fn camera(&self) -> std::ops::Range<usize> {
        let start = self.expression().end;
        start..start + Self::CAMERA
    }

    /// Length of the whole vector.
    pub fn width(&self) -> usize {
        self.camera().end
    }

    /// What does not depend on the view of the person: everything but the
    /// global rotation and the camera (the two augmented views must agree on it).
    pub fn view_independent(&self) -> std::ops::Range<usize> {
        Self::GLOBAL.end..self.camera().start
    }
}

/// Output-joint indices (144-joint order) that locate each part for its crop.
const LEFT_HAND_POINTS: [usize; 21] = [
    20, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 66, 67, 68, 69, 70,
];
const RIGHT_HAND_POINTS: [usize; 21] = [
    21, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 71, 72, 73, 74, 75,
];
/// The 51 face landmarks.
const FACE_POINTS: std::ops::Range<usize> = crate::smplx::joints::output::FACE_LANDMARKS;

#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum StudentKind {
    OneStage,
    TwoStage,
}

/// [`Student`] configuration.
#[derive(Config, Debug)]
pub struct StudentConfig {
    #[config(default = "StudentKind::OneStage")]
    pub kind: StudentKind,
    /// The body backbone (ResNet-18/34/50, any width).
    #[config(default = "ResNetConfig::resnet18()")]
    pub backbone: ResNetConfig,
    /// Body crop side in pixels.
    #[config(default = 256)]
    pub body_size: usize,
    /// Side of the grid the backbone's last feature map is averaged to
    /// before the regressor: 1 is global average pooling (HMR, SPIN, the
    /// paper); 2 or more keeps where in the crop each feature fired
    /// (`C·g²` regressor inputs), which a small network trained from
    /// scratch needs to tell a raised arm from a lowered one
    /// (docs/learning.md). The distillation heads always read the pooled
    /// feature. At most the map's side (`body_size / 32`).
    #[config(default = 1)]
    pub readout_grid: usize,
    /// Locate the 25 body keypoints (OpenPose BODY_25) on `layer2`'s map
    /// (one heatmap each, soft-argmax) and give their crop positions to the
    /// regressor beside the image feature. Convolutions find joints with
    /// little data (they are translation-equivariant); the regressor then
    /// lifts 2D positions to rotations instead of reading them from a
    /// pooled vector. Supervised by the `located_keypoints` loss term
    /// (docs/learning.md). Not in the paper.
    #[config(default = false)]
    pub keypoint_head: bool,
    #[config(default = "vec![1024, 1024]")]
    pub hidden: Vec<usize>,
    #[config(default = 0.5)]
    pub dropout: f64,
    #[config(default = 3)]
    pub iterations: usize,
    #[config(default = 10)]
    pub num_betas: usize,
    #[config(default = 10)]
    pub num_expression: usize,
    /// Feature widths of the distillation heads: body, face, hand (the
    /// experts' feature widths, or the projection width of the released code).
    #[config(default = "[2048, 2048, 2048]")]
    pub feature_dims: [usize; 3],
    /// Two-stage only: the hand and face backbones and crop sides.
    #[config(default = "ResNetConfig::resnet18()")]
    pub part_backbone: ResNetConfig,
    #[config(default = 224)]
    pub hand_size: usize,
    #[config(default = 256)]
    pub face_size: usize,
    /// Two-stage: crop side relative to the part's projected extent
    /// (ExPose: hands 2.0, head 1.5).
    #[config(default = 2.0)]
    pub hand_scale: f32,
    #[config(default = 1.5)]
    pub face_scale: f32,
}

impl StudentConfig {
    /// The browser's network: one-stage, a ResNet-18 layout at a quarter of
    /// the width (≈0.7 M backbone parameters), a 128-pixel body crop and a
    /// single 256-wide regressor layer, small enough to run every webcam
    /// frame on a laptop GPU and within ~0.1–0.3 s on a CPU in WebAssembly.
    /// The page uses it with random weights until a trained file exists.
    pub fn web() -> Self {
        Self::new()
            .with_backbone(
                ResNetConfig::new(super::BlockKind::Basic, [2, 2, 2, 2]).with_base_width(16),
            )
            .with_body_size(128)
            .with_hidden(vec![256])
            .with_feature_dims([64, 64, 64])
    }

    /// Side of the detail crop a two-stage student cuts its hand and face
    /// crops from: the body window at twice the body crop's resolution.
    /// `None` for a one-stage student, which has no use for one.
    pub fn detail_size(&self) -> Option<usize> {
        (self.kind == StudentKind::TwoStage).then_some(self.body_size * 2)
    }

    /// The input this student needs from `n` windows. `sample(side)` returns
    /// the windows' RGB crops in [0, 1] at `side × side`, channels first
    /// (`[n, 3, side, side]` flattened). This is the one place that decides
    /// which crops a student gets, so no caller can hand a two-stage student
    /// its body crop alone (it would silently run as a one-stage one).
    pub fn input<B: Backend>(
        &self,
        n: usize,
        mut sample: impl FnMut(usize) -> Vec<f32>,
        device: &B::Device,
    ) -> StudentInput<B> {
        let mut cut = |side: usize| {
            Tensor::<B, 4>::from_data(TensorData::new(sample(side), [n, 3, side, side]), device)
        };
        StudentInput {
            body: cut(self.body_size),
            detail: self.detail_size().map(cut),
        }
    }

    /// Width of the parameter vector.
    pub fn param_dim(&self) -> usize {
        self.param_layout().width()
    }

    pub fn param_layout(&self) -> ParamLayout {
        ParamLayout {
            num_betas: self.num_betas,
            num_expression: self.num_expression,
        }
    }

    /// Whether these settings describe a network that can be built: sizes
    /// and widths in range (a file's header is checked with this before
    /// anything is allocated), the readout grid no finer than the map.
    pub fn check(&self) -> Result<(), String> {
        use super::{check_dropout, in_range};
        self.backbone.check("backbone")?;
        self.part_backbone.check("part_backbone")?;
        in_range("body_size", self.body_size, 8, 2048)?;
        in_range("hand_size", self.hand_size, 8, 2048)?;
        in_range("face_size", self.face_size, 8, 2048)?;
        in_range("iterations", self.iterations, 1, 16)?;
        in_range("num_betas", self.num_betas, 0, 400)?;
        in_range("num_expression", self.num_expression, 0, 400)?;
        in_range("hidden layers", self.hidden.len(), 0, 8)?;
        for &h in &self.hidden {
            in_range("hidden width", h, 1, 16384)?;
        }
        for &d in &self.feature_dims {
            in_range("feature_dims", d, 1, 16384)?;
        }
        check_dropout("dropout", self.dropout)?;
        let map_side = (self.body_size / 32).max(1);
        if !(1..=map_side).contains(&self.readout_grid) {
            return Err(format!(
                "readout_grid must be between 1 and the feature map's side ({map_side} for a {}-pixel crop), not {}",
                self.body_size, self.readout_grid
            ));
        }
        Ok(())
    }

    /// Checks the arguments ([`Self::check`]), then builds the network.
    ///
    /// # Panics
    /// On settings [`Self::check`] refuses.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Student<B> {
        if let Err(e) = self.check() {
            panic!("{e}");
        }
        let backbone = self.backbone.init(device);
        let width = self.backbone.out_channels();
        let grid = self.readout_grid;
        let located = located_width(self.keypoint_head);
        let regressor =
            IterativeRegressorConfig::new(width * grid * grid + located, vec![self.param_dim()])
                .with_hidden(self.hidden.clone())
                .with_dropout(self.dropout)
                .with_relu(true)
                .with_iterations(self.iterations)
                .init(device);
        let [body_dim, face_dim, hand_dim] = self.feature_dims;
        let part_width = self.part_backbone.out_channels();
        let two_stage = self.kind == StudentKind::TwoStage;
        let part_regressor = |heads: Vec<usize>| {
            IterativeRegressorConfig::new(part_width, heads)
                .with_hidden(self.hidden.clone())
                .with_dropout(self.dropout)
                .with_relu(true)
                .with_iterations(self.iterations)
                .init(device)
        };
        let (hand, face) = if two_stage {
            (
                Some(PartNet {
                    backbone: self.part_backbone.init(device),
                    regressor: part_regressor(vec![NUM_HAND_JOINTS * 6]),
                    feature: LinearConfig::new(part_width, hand_dim).init(device),
                }),
                Some(PartNet {
                    backbone: self.part_backbone.init(device),
                    regressor: part_regressor(vec![6, self.num_expression]),
                    feature: LinearConfig::new(part_width, face_dim).init(device),
                }),
            )
        } else {
            (None, None)
        };
        let keypoint_head = self.keypoint_head.then(|| {
            Conv2dConfig::new([self.backbone.layer2_channels(), NUM_BODY25], [1, 1]).init(device)
        });
        Student {
            backbone,
            keypoint_head,
            regressor,
            body_feature: LinearConfig::new(width, body_dim).init(device),
            face_feature: LinearConfig::new(width, face_dim).init(device),
            left_hand_feature: LinearConfig::new(width, hand_dim).init(device),
            right_hand_feature: LinearConfig::new(width, hand_dim).init(device),
            hand,
            face,
            num_betas: self.num_betas,
            num_expression: self.num_expression,
            hand_size: self.hand_size,
            face_size: self.face_size,
            hand_scale: self.hand_scale as f64,
            face_scale: self.face_scale as f64,
        }
    }
}

/// A part network of the two-stage student: backbone, regressor, feature head.
#[derive(Module, Debug)]
pub struct PartNet<B: Backend> {
    pub backbone: ResNet<B>,
    pub regressor: IterativeRegressor<B>,
    pub feature: Linear<B>,
}

/// The student network; see the module docs.
#[derive(Module, Debug)]
pub struct Student<B: Backend> {
    pub backbone: ResNet<B>,
    /// BODY_25 heatmaps from `layer2` (`keypoint_head`); `None` in files
    /// written before the option.
    pub keypoint_head: Option<Conv2d<B>>,
    pub regressor: IterativeRegressor<B>,
    /// Distillation heads on the body feature (one-stage: all four parts).
    pub body_feature: Linear<B>,
    pub face_feature: Linear<B>,
    pub left_hand_feature: Linear<B>,
    pub right_hand_feature: Linear<B>,
    /// Two-stage refinement networks (shared by both hands: left crops are mirrored).
    pub hand: Option<PartNet<B>>,
    pub face: Option<PartNet<B>>,
    pub num_betas: usize,
    pub num_expression: usize,
    pub hand_size: usize,
    pub face_size: usize,
    pub hand_scale: f64,
    pub face_scale: f64,
}

/// What the network sees.
#[derive(Debug, Clone)]
pub struct StudentInput<B: Backend> {
    /// Body crops in [0, 1] `[batch, 3, S, S]`.
    pub body: Tensor<B, 4>,
    /// Two-stage: the same windows at a higher resolution `[batch, 3, H, H]`
    /// (the hand and face crops are cut from it). One-stage ignores it.
    pub detail: Option<Tensor<B, 4>>,
}

/// Distillation features, one per part, `[batch, D]` each.
#[derive(Debug, Clone)]
pub struct PartFeatures<B: Backend> {
    pub body: Tensor<B, 2>,
    pub face: Tensor<B, 2>,
    pub left_hand: Tensor<B, 2>,
    pub right_hand: Tensor<B, 2>,
}

/// The student's prediction.
#[derive(Debug, Clone)]
pub struct StudentOutput<B: Backend> {
    /// The parameter vector `[batch, P]` (the EMA consistency loss compares these).
    pub params: Tensor<B, 2>,
    /// Absolute joint rotations in SMPL-X order `[batch, 55, 3, 3]`
    /// (eyes are the identity).
    pub rotations: Tensor<B, 4>,
    pub betas: Tensor<B, 2>,
    pub expression: Tensor<B, 2>,
    /// Weak-perspective camera `(s > 0, tx, ty)` `[batch, 3]`.
    pub camera: Tensor<B, 2>,
    pub features: PartFeatures<B>,
    /// With a keypoint head: the BODY_25 keypoints it located, in the body
    /// crop's normalised coordinates `[batch, 25, 2]`.
    pub located: Option<Tensor<B, 3>>,
}

/// The one way a prediction becomes a body: the output's rotations and
/// shape coefficients through the body model, at the origin (the camera
/// places it). The browser, `furpe infer` / `eval --checkpoint`, training
/// (losses and validation) and `furpe bench` all pose through these.
impl<B: Backend> StudentOutput<B> {
    /// Every vertex and joint: what is drawn, exported or scored by PA-V2V.
    pub fn posed(&self, body_model: &Smplx<B>) -> SmplxOutput<B> {
        let batch = self.rotations.dims()[0];
        body_model.forward_rotations(
            Student::shape_coeffs(self, body_model),
            self.rotations.clone(),
            Tensor::zeros([batch, 3], &self.rotations.device()),
        )
    }

    /// Only the joints (skeleton, vertex joints, landmarks) `[batch, J, 3]`:
    /// what the losses, the detail crops and reprojection read, at a
    /// fraction of the cost.
    pub fn posed_joints(&self, body_model: &Smplx<B>) -> Tensor<B, 3> {
        let batch = self.rotations.dims()[0];
        body_model.forward_joints(
            Student::shape_coeffs(self, body_model),
            self.rotations.clone(),
            Tensor::zeros([batch, 3], &self.rotations.device()),
        )
    }
}

impl<B: Backend> Student<B> {
    /// The starting point of the iterative regressor: identity rotations
    /// except the global one (180° about x: SMPL-X is y-up, the image y-down),
    /// zero β and ψ, camera scale 0.9.
    pub fn mean_params(&self, device: &B::Device) -> Tensor<B, 2> {
        let mut params = Vec::with_capacity(self.param_dim());
        params.extend([1.0, 0.0, 0.0, -1.0, 0.0, 0.0]);
        for _ in 1..PREDICTED_ROTATIONS {
            params.extend([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        }
        params.extend(std::iter::repeat_n(
            0.0,
            self.num_betas + self.num_expression,
        ));
        // softplus⁻¹(0.9)
        params.extend([(0.9f32.exp() - 1.0).ln(), 0.0, 0.0]);
        Tensor::from_data(TensorData::new(params, [1, self.param_dim()]), device)
    }

    pub fn param_dim(&self) -> usize {
        self.param_layout().width()
    }

    pub fn param_layout(&self) -> ParamLayout {
        ParamLayout {
            num_betas: self.num_betas,
            num_expression: self.num_expression,
        }
    }

    /// The readout grid's side, read from the regressor's input width
    /// (`C·g²`), so that student files written before the option existed
    /// load unchanged.
    fn readout_grid(&self, channels: usize) -> usize {
        let located = located_width(self.keypoint_head.is_some());
        let cells = self.regressor.feature_dim().saturating_sub(located) / channels.max(1);
        (1..=cells).find(|g| g * g >= cells).unwrap_or(1)
    }

    /// Scales the body regressor's output heads by `factor` (HMR initialises
    /// them with gain 0.01): an untrained student then predicts close to the
    /// mean parameters, an upright body filling the crop, instead of random
    /// contortions. The browser demo uses it for its random-weight student.
    pub fn with_quiet_heads(mut self, factor: f32) -> Self {
        self.regressor.heads = self
            .regressor
            .heads
            .into_iter()
            .map(|mut head| {
                head.weight = head.weight.map(|w| w * factor);
                head.bias = head.bias.map(|b| b.map(|b| b * factor));
                head
            })
            .collect();
        self
    }

    /// This student with its camera translation biased so that `body`'s
    /// rest skeleton sits in the middle of the crop (for an untrained
    /// student, e.g. the browser's random one). The weak-perspective
    /// convention projects the model's output as is, and a body model
    /// standing on its feet (the mannequin's pelvis is about a metre up)
    /// would otherwise hang above the crop until a trained student learns
    /// the offset.
    pub fn centred_in_crop(
        mut self,
        config: &StudentConfig,
        body: &crate::smplx::SmplxData,
    ) -> Self {
        let v = body.num_vertices();
        // Centre of the box around the 22 body joints in the rest pose
        // (SMPL-X frame, y up): a crop follows that box, so centring it
        // keeps the untrained body from walking out of the crop.
        let joints = 22.min(body.j_regressor.len() / v.max(1));
        let rest_y = |j: usize| body.rest_joint(j)[1] as f32;
        let (mut lo, mut hi) = (f32::MAX, f32::MIN);
        for j in 0..joints {
            let y = rest_y(j);
            (lo, hi) = (lo.min(y), hi.max(y));
        }
        let centre = if joints > 0 { (lo + hi) / 2.0 } else { 0.0 };
        // The global rotation (180° about x, the mean) turns the body about
        // the pelvis, not the origin: a rest height y lands at 2·pelvis − y.
        let pelvis = if joints > 0 { rest_y(0) } else { 0.0 };
        let y = centre - 2.0 * pelvis;
        let p = config.param_dim();
        let iterations = config.iterations.max(1) as f32;
        if let Some(head) = self.regressor.heads.first_mut() {
            let device = head.weight.val().device();
            let mut shift = vec![0.0f32; p];
            // The turned body's box centre is at −y; ty = y brings it to 0.
            // Each regressor iteration adds the head's bias once.
            shift[p - 1] = y / iterations;
            let shift = Tensor::<B, 1>::from_floats(shift.as_slice(), &device);
            head.bias = head.bias.take().map(|b| b.map(|b| b + shift));
        }
        self
    }

    /// Images in [0, 1] → ImageNet normalisation (the backbones' input).
    pub fn normalize(images: Tensor<B, 4>) -> Tensor<B, 4> {
        super::normalize_images(images, super::IMAGENET_MEAN, super::IMAGENET_STD)
    }

    /// One-stage students ignore `body_model`; two-stage ones pose the body
    /// estimate with it to find the hands and the face.
    pub fn forward(&self, input: StudentInput<B>, body_model: &Smplx<B>) -> StudentOutput<B> {
        let body = input.body;
        let batch = body.dims()[0];
        let device = body.device();
        let (layer2, map) = self.backbone.forward_layer2_and_map(Self::normalize(body)); // [batch, C, h, w]
        let [_, channels, _, _] = map.dims();
        let g = self.readout_grid(channels);
        let grid = adaptive_avg_pool2d(map.clone(), [g, g]); // [batch, C, g, g]
        let feature = self.backbone.pool(map); // [batch, C]
        let located = self
            .keypoint_head
            .as_ref()
            .map(|head| soft_argmax(head.forward(layer2))); // [batch, 25, 2]
        let mut readout = vec![grid.reshape([batch, channels * g * g])];
        if let Some(points) = &located {
            readout.push(points.clone().reshape([batch, located_width(true)]));
        }
        let init = self.mean_params(&device);
        let width = init.dims()[1];
        let params = self
            .regressor
            .forward(Tensor::cat(readout, 1), init.expand([batch, width]))
            .params; // [batch, P]
        let features = PartFeatures {
            body: self.body_feature.forward(feature.clone()),
            face: self.face_feature.forward(feature.clone()),
            left_hand: self.left_hand_feature.forward(feature.clone()),
            right_hand: self.right_hand_feature.forward(feature),
        };
        let mut output = self.decode(params, features);
        output.located = located;
        match (&self.hand, &self.face, input.detail) {
            (Some(hand), Some(face), Some(detail)) => {
                self.refine(output, hand, face, detail, body_model)
            }
            _ => output,
        }
    }

    /// Parameter vector → rotations, β, ψ, camera.
    fn decode(&self, params: Tensor<B, 2>, features: PartFeatures<B>) -> StudentOutput<B> {
        let batch = params.dims()[0];
        let device = params.device();
        let layout = self.param_layout();
        let predicted = rot6d_to_matrix(
            params
                .clone()
                .slice([0..batch, layout.rotations()])
                .reshape([batch * PREDICTED_ROTATIONS, 6]),
        )
        .reshape([batch, PREDICTED_ROTATIONS, 3, 3]);
        let eyes = Tensor::<B, 2>::eye(3, &device)
            .reshape([1, 1, 3, 3])
            .expand([batch, 2, 3, 3]);
        let block = |a: usize, b: usize| predicted.clone().slice([0..batch, a..b]);
        // SMPL-X order: global, body, jaw, eyes, left hand, right hand.
        let rotations = Tensor::cat(
            vec![
                block(0, LEFT_HAND),
                block(JAW, JAW + 1),
                eyes,
                block(LEFT_HAND, RIGHT_HAND),
                block(RIGHT_HAND, JAW),
            ],
            1,
        ); // [batch, 55, 3, 3]
        debug_assert_eq!(rotations.dims()[1], NUM_JOINTS);
        let raw_camera = params.clone().slice([0..batch, layout.camera()]);
        let scale = softplus(raw_camera.clone().slice([0..batch, 0..1]), 1.0);
        let camera = Tensor::cat(vec![scale, raw_camera.slice([0..batch, 1..3])], 1);
        StudentOutput {
            betas: params.clone().slice([0..batch, layout.betas()]),
            expression: params.clone().slice([0..batch, layout.expression()]),
            params,
            rotations,
            camera,
            features,
            located: None,
        }
    }

    /// Two-stage: crops hands and face around the posed body's projected
    /// points and lets the part networks refine their parameters.
    fn refine(
        &self,
        output: StudentOutput<B>,
        hand: &PartNet<B>,
        face: &PartNet<B>,
        detail: Tensor<B, 4>,
        body_model: &Smplx<B>,
    ) -> StudentOutput<B> {
        let batch = output.params.dims()[0];
        let joints = output.posed_joints(body_model); // [batch, 144, 3]
        let points = weak_perspective(joints, output.camera.clone()); // [batch, 144, 2]
        let window = |indices: &[usize], scale: f64| {
            let idx = burn::tensor::Tensor::<B, 1, burn::tensor::Int>::from_data(
                TensorData::new(
                    indices.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                    [indices.len()],
                ),
                &detail.device(),
            );
            part_window(points.clone().select(1, idx), scale)
        };
        let face_indices: Vec<usize> = FACE_POINTS.collect();
        let (left_c, left_h) = window(&LEFT_HAND_POINTS, self.hand_scale);
        let (right_c, right_h) = window(&RIGHT_HAND_POINTS, self.hand_scale);
        let (face_c, face_h) = window(&face_indices, self.face_scale);

        let rot_end = PREDICTED_ROTATIONS * 6;
        let (hand6, other) = (NUM_HAND_JOINTS * 6, output.params.clone());
        let slice6 = |a: usize, n: usize| other.clone().slice([0..batch, a * 6..a * 6 + n]);

        // Both hands through one network: the left crop and pose are mirrored
        // into right-hand form and back.
        let left_crop = cut(detail.clone(), left_c, left_h, true, self.hand_size);
        let right_crop = cut(detail.clone(), right_c, right_h, false, self.hand_size);
        let left_feature = hand.backbone.forward(Self::normalize(left_crop));
        let right_feature = hand.backbone.forward(Self::normalize(right_crop));
        let left_init = mirror_rot6d(slice6(LEFT_HAND, hand6));
        let left = mirror_rot6d(
            hand.regressor
                .forward(left_feature.clone(), left_init)
                .params,
        );
        let right = hand
            .regressor
            .forward(right_feature.clone(), slice6(RIGHT_HAND, hand6))
            .params;

        let face_crop = cut(detail, face_c, face_h, false, self.face_size);
        let face_feature = face.backbone.forward(Self::normalize(face_crop));
        let (betas_end, expr_end) = (
            rot_end + self.num_betas,
            rot_end + self.num_betas + self.num_expression,
        );
        let face_init = Tensor::cat(
            vec![
                slice6(JAW, 6),
                other.clone().slice([0..batch, betas_end..expr_end]),
            ],
            1,
        );
        let face_params = face
            .regressor
            .forward(face_feature.clone(), face_init)
            .params;

        let params = Tensor::cat(
            vec![
                other.clone().slice([0..batch, 0..LEFT_HAND * 6]),
                left,
                right,
                face_params.clone().slice([0..batch, 0..6]),
                other.clone().slice([0..batch, rot_end..betas_end]),
                face_params.slice([0..batch, 6..6 + self.num_expression]),
                other.slice([0..batch, expr_end..expr_end + 3]),
            ],
            1,
        );
        let features = PartFeatures {
            body: output.features.body,
            face: face.feature.forward(face_feature),
            left_hand: hand.feature.forward(left_feature),
            right_hand: hand.feature.forward(right_feature),
        };
        self.decode(params, features)
    }

    /// β and ψ padded or cut to the body model's widths.
    pub fn shape_coeffs(output: &StudentOutput<B>, body_model: &Smplx<B>) -> Tensor<B, 2> {
        let batch = output.betas.dims()[0];
        let device = output.betas.device();
        let fit = |t: Tensor<B, 2>, want: usize| {
            let have = t.dims()[1];
            if have >= want {
                t.slice([0..batch, 0..want])
            } else {
                Tensor::cat(vec![t, Tensor::zeros([batch, want - have], &device)], 1)
            }
        };
        let config = &body_model.config;
        Tensor::cat(
            vec![
                fit(output.betas.clone(), config.num_betas),
                fit(output.expression.clone(), config.num_expression),
            ],
            1,
        )
    }
}

/// Regressor inputs the keypoint head adds: x and y of each BODY_25 point.
fn located_width(keypoint_head: bool) -> usize {
    if keypoint_head {
        NUM_BODY25 * 2
    } else {
        0
    }
}

/// Heatmap logits `[batch, K, h, w]` → each map's expected position
/// under its softmax, in crop coordinates (cell centres from −1 + 1/w to
/// 1 − 1/w, x right, y down) `[batch, K, 2]`. Differentiable, and finer
/// than a cell.
pub fn soft_argmax<B: Backend>(heatmaps: Tensor<B, 4>) -> Tensor<B, 3> {
    let [batch, k, h, w] = heatmaps.dims();
    let device = heatmaps.device();
    let weights = softmax(heatmaps.reshape([batch, k, h * w]), 2); // [batch, K, h·w]
    let centre = |i: usize, n: usize| -1.0 + (2 * i + 1) as f32 / n as f32;
    let xs: Vec<f32> = (0..h * w).map(|c| centre(c % w, w)).collect();
    let ys: Vec<f32> = (0..h * w).map(|c| centre(c / w, h)).collect();
    let coords = Tensor::<B, 2>::from_data(TensorData::new([xs, ys].concat(), [2, h * w]), &device)
        .transpose()
        .reshape([1, h * w, 2])
        .expand([batch, h * w, 2]); // [batch, h·w, 2]
    weights.matmul(coords) // [batch, K, 2]
}

/// Centre `[batch, 2]` and half side `[batch, 1]` of the square around
/// `points` `[batch, K, 2]`, `scale` times their extent.
fn part_window<B: Backend>(points: Tensor<B, 3>, scale: f64) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let lo = points.clone().min_dim(1).squeeze_dim::<2>(1); // [batch, 2]
    let hi = points.max_dim(1).squeeze_dim::<2>(1);
    let center = (lo.clone() + hi.clone()) / 2.0;
    let half = (hi - lo).max_dim(1).clamp_min(0.05) * (scale / 2.0); // [batch, 1]
    (center, half)
}

/// Cuts `size × size` crops centred at `center` with half side `half` (both
/// in `images`' normalised coordinates) by bilinear sampling, mirrored
/// left–right when `mirror`. Differentiable in the images and the window.
fn cut<B: Backend>(
    images: Tensor<B, 4>,
    center: Tensor<B, 2>,
    half: Tensor<B, 2>,
    mirror: bool,
    size: usize,
) -> Tensor<B, 4> {
    let batch = images.dims()[0];
    let device = images.device();
    // Pixel centres of the output grid in [-1, 1] (align_corners = false).
    let steps: Vec<f32> = (0..size)
        .map(|i| (i as f32 + 0.5) / size as f32 * 2.0 - 1.0)
        .collect();
    let axis = Tensor::<B, 1>::from_data(TensorData::new(steps, [size]), &device);
    let sign = if mirror { -1.0 } else { 1.0 };
    let xs = axis
        .clone()
        .reshape([1, 1, size, 1])
        .expand([1, size, size, 1])
        * sign;
    let ys = axis.reshape([1, size, 1, 1]).expand([1, size, size, 1]);
    let base = Tensor::cat(vec![xs, ys], 3); // [1, size, size, 2]
    let grid = base * half.reshape([batch, 1, 1, 1]) + center.reshape([batch, 1, 1, 2]);
    images.grid_sample_2d(grid, GridSampleOptions::default())
}

/// Mirrors rotations left–right, `[batch, n·6]` 6D → 6D: `R ↦ P R P` with
/// `P = diag(−1, 1, 1)`, which on the 6D block (first two columns, row
/// major) negates entries (0,1), (1,0) and (2,0).
fn mirror_rot6d<B: Backend>(rot6d: Tensor<B, 2>) -> Tensor<B, 2> {
    let [batch, width] = rot6d.dims();
    let signs: Vec<f32> = (0..width)
        .map(|i| match i % 6 {
            1 | 2 | 4 => -1.0,
            _ => 1.0,
        })
        .collect();
    let signs = Tensor::<B, 1>::from_data(TensorData::new(signs, [width]), &rot6d.device());
    rot6d * signs.reshape([1, width]).expand([batch, width])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::matrix_to_rot6d;
    use burn::backend::Flex;
    type B = Flex;

    /// The embedded mannequin as a body model.
    fn mannequin_model(device: &burn::tensor::Device<B>) -> Smplx<B> {
        crate::smplx::SmplxConfig::new()
            .init::<B>(&crate::smplx::mannequin::mannequin(), device)
            .expect("mannequin")
    }

    fn tiny(kind: StudentKind) -> StudentConfig {
        let small =
            ResNetConfig::new(crate::nets::BlockKind::Basic, [1, 1, 1, 1]).with_base_width(4);
        StudentConfig::new()
            .with_kind(kind)
            .with_backbone(small.clone())
            .with_part_backbone(small)
            .with_body_size(32)
            .with_hand_size(16)
            .with_face_size(16)
            .with_hidden(vec![16])
            .with_feature_dims([8, 6, 5])
    }

    #[test]
    fn the_parameter_layout_tiles_the_vector() {
        let config = tiny(StudentKind::OneStage)
            .with_num_betas(11)
            .with_num_expression(7);
        let l = config.param_layout();
        let blocks = [l.rotations(), l.betas(), l.expression(), l.camera()];
        assert!(blocks.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(l.rotations().len(), PREDICTED_ROTATIONS * 6);
        assert_eq!(
            [l.betas().len(), l.expression().len(), l.camera().len()],
            [11, 7, 3]
        );
        assert_eq!(l.width(), config.param_dim());
        // The consistency term's slice: all but the global 6D and the camera.
        assert_eq!(l.view_independent(), 6..config.param_dim() - 3);
        let device = Default::default();
        let student = config.init::<B>(&device);
        assert_eq!(student.param_layout(), l);
        assert_eq!(student.mean_params(&device).dims(), [1, l.width()]);
    }

    #[test]
    fn mean_parameters_decode_to_the_rest_pose() {
        let device = Default::default();
        let student = tiny(StudentKind::OneStage).init::<B>(&device);
        let params = student.mean_params(&device);
        let features = PartFeatures {
            body: Tensor::zeros([1, 1], &device),
            face: Tensor::zeros([1, 1], &device),
            left_hand: Tensor::zeros([1, 1], &device),
            right_hand: Tensor::zeros([1, 1], &device),
        };
        let out = student.decode(params, features);
        assert_eq!(out.rotations.dims(), [1, 55, 3, 3]);
        let r = out.rotations.into_data().to_vec::<f32>().unwrap();
        assert_eq!(&r[..9], &[1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0]);
        assert_eq!(&r[9..18], &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        let cam = out.camera.into_data().to_vec::<f32>().unwrap();
        assert!((cam[0] - 0.9).abs() < 1e-5);
    }

    /// The vertical centre of the 22 body joints' box, in the crop's units,
    /// as an untrained (zero-head) student places the mannequin.
    fn rest_box_centre(centred: bool) -> f32 {
        let device = Default::default();
        let body = crate::smplx::mannequin::mannequin();
        let layer = crate::smplx::SmplxConfig::new()
            .init::<B>(&body, &device)
            .unwrap();
        let config = tiny(StudentKind::OneStage);
        let mut student = config.init::<B>(&device).with_quiet_heads(0.0);
        if centred {
            student = student.centred_in_crop(&config, &body);
        }
        let input = config.input(1, |side| vec![0.5; 3 * side * side], &device);
        let out = student.forward(input, &layer);
        let joints = crate::readback::floats(out.posed_joints(&layer)).unwrap();
        let cam = out.camera.into_data().to_vec::<f32>().unwrap();
        let ys: Vec<f32> = (0..22)
            .map(|j| cam[0] * (joints[j * 3 + 1] + cam[2]))
            .collect();
        let (lo, hi) = ys
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &y| (a.min(y), b.max(y)));
        (lo + hi) / 2.0
    }

    #[test]
    fn an_untrained_student_centred_in_crop_puts_the_rest_body_in_the_middle() {
        // Measured: 0.000 centred, −0.230 without.
        let (centred, raw) = (rest_box_centre(true), rest_box_centre(false));
        assert!(
            centred.abs() < 0.02 && raw.abs() > 0.15,
            "box centre {centred:.3} centred, {raw:.3} without (crop half-widths)"
        );
    }

    #[test]
    fn mirroring_6d_matches_p_r_p() {
        let device = Default::default();
        let aa = Tensor::<B, 2>::from_floats([[0.3, -0.5, 0.9]], &device);
        let r = crate::rotation::axis_angle_to_matrix(aa.clone());
        // Mirroring an axis-angle negates its y and z components.
        let mirrored = crate::rotation::axis_angle_to_matrix(
            aa * Tensor::<B, 2>::from_floats([[1.0, -1.0, -1.0]], &device),
        );
        let got = mirror_rot6d(matrix_to_rot6d(r))
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let want = matrix_to_rot6d(mirrored)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn cut_reads_the_window() {
        let device = Default::default();
        // 1×1×4×4 image with a ramp in x: value = column index.
        let img: Vec<f32> = (0..16).map(|i| (i % 4) as f32).collect();
        let img = Tensor::<B, 4>::from_data(TensorData::new(img, [1, 1, 4, 4]), &device);
        // The right half of the image: columns 2 and 3.
        let center = Tensor::<B, 2>::from_floats([[0.5, 0.0]], &device);
        let half = Tensor::<B, 2>::from_floats([[0.5]], &device);
        let crop = cut(img.clone(), center.clone(), half.clone(), false, 2);
        let v = crop.into_data().to_vec::<f32>().unwrap();
        assert_eq!(v, vec![2.0, 3.0, 2.0, 3.0]);
        let v = cut(img, center, half, true, 2)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(v, vec![3.0, 2.0, 3.0, 2.0]);
    }

    #[test]
    fn both_kinds_run_and_keep_shapes() {
        let device = Default::default();
        let model = mannequin_model(&device);
        for kind in [StudentKind::OneStage, StudentKind::TwoStage] {
            let student = tiny(kind).init::<B>(&device);
            let input = StudentInput {
                body: Tensor::ones([2, 3, 32, 32], &device) * 0.5,
                detail: Some(Tensor::ones([2, 3, 64, 64], &device) * 0.5),
            };
            let out = student.forward(input, &model);
            assert_eq!(out.params.dims(), [2, student.param_dim()]);
            assert_eq!(out.rotations.dims(), [2, 55, 3, 3]);
            assert_eq!(out.features.left_hand.dims(), [2, 5]);
            assert_eq!(out.features.face.dims(), [2, 6]);
            assert!(out
                .params
                .into_data()
                .to_vec::<f32>()
                .unwrap()
                .iter()
                .all(|v| v.is_finite()));
        }
    }

    #[test]
    fn a_grid_readout_feeds_the_regressor_every_cell() {
        let device = Default::default();
        let model = mannequin_model(&device);
        // A 64-pixel crop gives a 2×2 map: 32 channels × 4 cells.
        let student = tiny(StudentKind::OneStage)
            .with_body_size(64)
            .with_readout_grid(2)
            .init::<B>(&device);
        assert_eq!(student.regressor.feature_dim(), 128);
        assert_eq!(student.readout_grid(32), 2);
        let input = StudentInput {
            body: Tensor::ones([2, 3, 64, 64], &device) * 0.5,
            detail: None,
        };
        let out = student.forward(input, &model);
        assert_eq!(out.params.dims(), [2, student.param_dim()]);
        // The distillation heads still read the pooled feature.
        assert_eq!(out.features.body.dims(), [2, 8]);
        // Files written before the option (one cell) load and run as before.
        let pooled = tiny(StudentKind::OneStage)
            .with_body_size(64)
            .init::<B>(&device);
        assert_eq!(pooled.regressor.feature_dim(), 32);
        assert_eq!(pooled.readout_grid(32), 1);
    }

    #[test]
    #[should_panic(expected = "readout_grid must be between 1 and the feature map's side")]
    fn a_readout_grid_finer_than_the_feature_map_is_refused() {
        let device = Default::default();
        // A 64-pixel crop gives a 2×2 map.
        tiny(StudentKind::OneStage)
            .with_body_size(64)
            .with_readout_grid(3)
            .init::<B>(&device);
    }

    #[test]
    #[should_panic(expected = "readout_grid must be between 1")]
    fn a_zero_readout_grid_is_refused() {
        let device = Default::default();
        tiny(StudentKind::OneStage)
            .with_readout_grid(0)
            .init::<B>(&device);
    }

    #[test]
    fn soft_argmax_finds_a_peak_between_cells() {
        let device = Default::default();
        // 4×4 map, one keypoint: all the weight on row 1, columns 2 and 3
        // equally, so x is halfway between their centres (0.25 and 0.75).
        let mut logits = vec![-50.0f32; 16];
        logits[4 + 2] = 0.0;
        logits[4 + 3] = 0.0;
        let heat = Tensor::<B, 4>::from_data(TensorData::new(logits, [1, 1, 4, 4]), &device);
        let xy = soft_argmax(heat).into_data().to_vec::<f32>().unwrap();
        assert!((xy[0] - 0.5).abs() < 1e-5, "{xy:?}");
        assert!((xy[1] + 0.25).abs() < 1e-5, "{xy:?}");
    }

    #[test]
    fn a_keypoint_head_locates_body25_and_feeds_the_regressor() {
        let device = Default::default();
        let model = mannequin_model(&device);
        let student = tiny(StudentKind::OneStage)
            .with_keypoint_head(true)
            .init::<B>(&device);
        // 32 pooled channels + 25 points × 2.
        assert_eq!(student.regressor.feature_dim(), 32 + 50);
        assert_eq!(student.readout_grid(32), 1);
        let input = StudentInput {
            body: Tensor::ones([2, 3, 32, 32], &device) * 0.5,
            detail: None,
        };
        let out = student.forward(input, &model);
        let located = out.located.expect("a keypoint head locates points");
        assert_eq!(located.dims(), [2, 25, 2]);
        let v = located.into_data().to_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.abs() <= 1.0), "{v:?}");
        let plain = tiny(StudentKind::OneStage).init::<B>(&device);
        let out = plain.forward(
            StudentInput {
                body: Tensor::ones([1, 3, 32, 32], &device),
                detail: None,
            },
            &model,
        );
        assert!(out.located.is_none());
    }

    #[test]
    fn check_refuses_settings_no_network_can_have() {
        let ok = tiny(StudentKind::OneStage);
        assert_eq!(ok.check(), Ok(()));
        let bad = [
            (ok.clone().with_body_size(0), "body_size"),
            (ok.clone().with_hand_size(100_000), "hand_size"),
            (ok.clone().with_iterations(0), "iterations"),
            (ok.clone().with_iterations(1_000_000), "iterations"),
            (ok.clone().with_dropout(5.0), "dropout"),
            (ok.clone().with_hidden(vec![0]), "hidden width"),
            (ok.clone().with_hidden(vec![8; 100_000]), "hidden layers"),
            (ok.clone().with_feature_dims([0, 4, 4]), "feature_dims"),
            (ok.clone().with_num_betas(1 << 40), "num_betas"),
            (
                ok.clone().with_backbone(
                    ResNetConfig::new(crate::nets::BlockKind::Basic, [1, 0, 1, 1])
                        .with_base_width(4),
                ),
                "backbone.layers",
            ),
            (
                ok.clone().with_part_backbone(
                    ResNetConfig::new(crate::nets::BlockKind::Basic, [1, 1, 1, 1])
                        .with_base_width(1 << 30),
                ),
                "part_backbone.base_width",
            ),
            (ok.clone().with_readout_grid(2), "readout_grid"),
        ];
        for (config, field) in bad {
            let e = config.check().expect_err(field);
            assert!(e.starts_with(field), "{field}: {e}");
        }
    }

    #[test]
    fn the_committed_default_student_still_loads_and_runs() {
        // The file the live page runs by default (written by an earlier
        // version of this code: its header is read over today's defaults).
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../www/models/default-student.furpe"
        );
        let bytes = std::fs::read(path).expect("www/models/default-student.furpe");
        let device = Default::default();
        let (student, config, _) =
            crate::nets::student_file::from_bytes::<B>(&bytes, path, &device).expect("loads");
        let model = mannequin_model(&device);
        let side = config.body_size;
        let out = student.forward(
            StudentInput {
                body: Tensor::ones([1, 3, side, side], &device) * 0.5,
                detail: None,
            },
            &model,
        );
        let v = out.params.into_data().to_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite()));
    }
}
