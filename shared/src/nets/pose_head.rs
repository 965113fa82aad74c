//! The pose-head student: SMPL-X body pose regressed from the embedding of
//! MediaPipe's pose landmark network.
//!
//! FuRPE's students start from backbones pretrained on real images
//! (ImageNet ResNet-50 / HRNet in the paper). None can be downloaded here
//! (licences), and a ResNet trained from scratch on this project's CPU
//! budget learns the rendered mannequin world but not real people
//! (docs/learning.md §8–10). The one network trained on real people that
//! ships with a free licence is MediaPipe's pose landmark model
//! (Apache-2.0). This student uses it as a frozen backbone: the landmark
//! model's shared embedding (2 × 2 × 288 = 1 152 values for
//! `pose_landmark_full`, [`crate::mediapipe::holistic::Person::feature`])
//! goes through a small MLP that predicts the 22 body rotations (global
//! orientation and the 21 body joints, 6D each). What is trained is the MLP
//! only, on the pseudo labels `furpe label --experts mediapipe` writes, which
//! store that embedding beside every label (`feature_body`).
//!
//! It is a student, not the expert: one forward pass instead of an iterative
//! fit, so it is what a page can run every frame. Hands, jaw and expression
//! are not predicted (the embedding sees the body): callers take them from
//! the label mean or another source and say so.
//!
//! Layout of the output: [`HEAD_ROTATIONS`] rotations in SMPL-X joint order
//! (pelvis = global orientation first), camera frame (y down), the labels'
//! convention.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::weights_file::{self, FileKind, Precision};
use crate::rotation::{matrix_to_rot6d, rot6d_to_matrix};
use crate::smplx::joints::NUM_BODY_JOINTS;

/// Rotations the head predicts: the global orientation and the body joints.
pub const HEAD_ROTATIONS: usize = 1 + NUM_BODY_JOINTS;

/// [`PoseHead`] configuration.
#[derive(Config, Debug)]
pub struct PoseHeadConfig {
    /// Width of the pose landmark model's embedding (1 152 for
    /// `pose_landmark_full`).
    pub feature_dim: usize,
    /// Which pose landmark model made the embedding ("lite", "full" or
    /// "heavy"): a page must run the same one.
    #[config(default = "String::from(\"full\")")]
    pub pose_model: String,
    #[config(default = "vec![512]")]
    pub hidden: Vec<usize>,
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl PoseHeadConfig {
    /// Whether these settings describe a head that can be built (a file's
    /// header is checked with this before anything is allocated).
    pub fn check(&self) -> Result<(), String> {
        use super::{check_dropout, in_range};
        in_range("feature_dim", self.feature_dim, 1, 65_536)?;
        in_range("hidden layers", self.hidden.len(), 0, 8)?;
        for &h in &self.hidden {
            in_range("hidden width", h, 1, 16_384)?;
        }
        check_dropout("dropout", self.dropout)?;
        if !["lite", "full", "heavy"].contains(&self.pose_model.as_str()) {
            return Err(format!(
                "pose_model must be \"lite\", \"full\" or \"heavy\", not {:?}",
                self.pose_model
            ));
        }
        Ok(())
    }

    /// The pose landmark model a page or `furpe infer` must run for this
    /// head (its embedding is what the head reads).
    pub fn pose_model_file(&self) -> crate::mediapipe::package::ModelFile {
        use crate::mediapipe::package::ModelFile;
        match self.pose_model.as_str() {
            "lite" => ModelFile::PoseLandmarkLite,
            "heavy" => ModelFile::PoseLandmarkHeavy,
            _ => ModelFile::PoseLandmarkFull,
        }
    }

    /// Checks the arguments ([`Self::check`]), then builds the head: the
    /// feature statistics at (0, 1), the output at the identity rotations
    /// until [`PoseHead::start_at`] sets them from the data.
    ///
    /// # Panics
    /// On settings [`Self::check`] refuses.
    pub fn init<B: Backend>(&self, device: &B::Device) -> PoseHead<B> {
        if let Err(e) = self.check() {
            panic!("{e}");
        }
        let mut width = self.feature_dim;
        let mut hidden = Vec::with_capacity(self.hidden.len());
        for &h in &self.hidden {
            hidden.push(LinearConfig::new(width, h).init(device));
            width = h;
        }
        let output = LinearConfig::new(width, HEAD_ROTATIONS * 6).init(device);
        let identity: Vec<f32> = (0..HEAD_ROTATIONS)
            .flat_map(|_| [1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
            .collect();
        PoseHead {
            feature_mean: buffer(&vec![0.0; self.feature_dim], device),
            feature_std: buffer(&vec![1.0; self.feature_dim], device),
            start: buffer(&identity, device),
            hidden,
            dropout: DropoutConfig::new(self.dropout).init(),
            output,
        }
    }
}

/// A constant of the head, saved with its weights but never trained.
fn buffer<B: Backend>(values: &[f32], device: &B::Device) -> Param<Tensor<B, 2>> {
    Param::from_tensor(Tensor::<B, 1>::from_floats(values, device).reshape([1, values.len()]))
        .set_require_grad(false)
}

/// The head; see the module docs.
#[derive(Module, Debug)]
pub struct PoseHead<B: Backend> {
    /// Per-value mean and standard deviation of the training embeddings
    /// `[1, F]` (set once from the data, not trained).
    pub feature_mean: Param<Tensor<B, 2>>,
    pub feature_std: Param<Tensor<B, 2>>,
    /// The rotations the output is added to, 6D `[1, 22 × 6]`: the
    /// training labels' mean, so an untrained head predicts the best
    /// constant and training only has to learn the input's effect.
    pub start: Param<Tensor<B, 2>>,
    pub hidden: Vec<Linear<B>>,
    pub dropout: Dropout,
    pub output: Linear<B>,
}

impl<B: Backend> PoseHead<B> {
    /// Embeddings `[batch, F]` → the body's rotation matrices
    /// `[batch, 22, 3, 3]`.
    pub fn forward(&self, features: Tensor<B, 2>) -> Tensor<B, 4> {
        let batch = features.dims()[0];
        // 1. Standardise with the training set's statistics.
        let mean = self.feature_mean.val().detach();
        let std = self.feature_std.val().detach();
        let mut x = (features - mean) / std; // [batch, F]
                                             // 2. The MLP.
        for layer in &self.hidden {
            x = relu(layer.forward(x));
            x = self.dropout.forward(x);
        }
        // 3. An offset from the label mean, 6D, then Gram–Schmidt.
        let rot6d = self.output.forward(x) + self.start.val().detach(); // [batch, 22·6]
        rot6d_to_matrix(rot6d.reshape([batch * HEAD_ROTATIONS, 6])).reshape([
            batch,
            HEAD_ROTATIONS,
            3,
            3,
        ])
    }

    /// What the head adds its output to: the training labels' mean, the
    /// best constant, as rotation matrices `[22, 3, 3]` (callers predict it
    /// where there is no embedding to read, and say so).
    pub fn start_rotations(&self) -> Tensor<B, 3> {
        rot6d_to_matrix(self.start.val().reshape([HEAD_ROTATIONS, 6]))
    }

    /// The width of the embedding it reads.
    pub fn feature_dim(&self) -> usize {
        self.feature_mean.val().dims()[1]
    }

    /// Sets the data-dependent constants before training: the embeddings'
    /// per-value mean and standard deviation (`features`: rows of `F`
    /// values), and the starting rotations (`start`: 22 row-major 3 × 3
    /// matrices, the labels' mean). The output layer is scaled down so the
    /// untrained head predicts `start` for every input, within a few
    /// degrees.
    pub fn start_at(mut self, features: &[Vec<f32>], start: &[[f32; 9]]) -> Result<Self, String> {
        let dim = self.feature_dim();
        if features.is_empty() {
            return Err("no training embeddings".into());
        }
        if let Some(bad) = features.iter().position(|f| f.len() != dim) {
            return Err(format!(
                "embedding {bad} has {} values, the head reads {dim}",
                features[bad].len()
            ));
        }
        if start.len() != HEAD_ROTATIONS {
            return Err(format!(
                "{} starting rotations, the head predicts {HEAD_ROTATIONS}",
                start.len()
            ));
        }
        let n = features.len() as f64;
        let mut mean = vec![0.0f64; dim];
        for f in features {
            for (m, &v) in mean.iter_mut().zip(f) {
                *m += v as f64 / n;
            }
        }
        let mut var = vec![0.0f64; dim];
        for f in features {
            for ((s, &v), m) in var.iter_mut().zip(f).zip(&mean) {
                *s += (v as f64 - m).powi(2) / n;
            }
        }
        // A constant value (a dead channel) is divided by 1, not by ~0.
        let std: Vec<f32> = var
            .iter()
            .map(|v| {
                if v.sqrt() > 1e-6 {
                    v.sqrt() as f32
                } else {
                    1.0
                }
            })
            .collect();
        let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        let device = self.output.weight.val().device();
        let matrices: Vec<f32> = start.iter().flatten().copied().collect();
        let matrices =
            Tensor::<B, 3>::from_data(TensorData::new(matrices, [HEAD_ROTATIONS, 3, 3]), &device);
        let start6d = matrix_to_rot6d(matrices)
            .reshape([1, HEAD_ROTATIONS * 6])
            .detach();
        self.feature_mean = buffer(&mean, &device);
        self.feature_std = buffer(&std, &device);
        self.start = Param::from_tensor(start6d).set_require_grad(false);
        // New leaves (a product of a tracked weight is not one).
        let scaled = self.output.weight.val().mul_scalar(0.01).detach();
        self.output.weight = Param::from_tensor(scaled);
        if let Some(bias) = self.output.bias.take() {
            self.output.bias = Some(Param::from_tensor(bias.val().zeros_like().detach()));
        }
        Ok(self)
    }
}

/// The head file's magic, name and how to make one.
pub const KIND: FileKind = FileKind {
    magic: b"FURPEPHD",
    what: "pose-head student",
    hint: "train one with `furpe head train`",
};

/// Serialises a head with its configuration.
pub fn to_bytes<B: Backend>(
    head: &PoseHead<B>,
    config: &PoseHeadConfig,
    precision: Precision,
    note: &str,
) -> Result<Vec<u8>, String> {
    let config = serde_json::to_value(config).map_err(|e| e.to_string())?;
    weights_file::to_bytes(&KIND, head, config, precision, note)
}

/// Whether `bytes` start like a head file.
pub fn is_head_file(bytes: &[u8]) -> bool {
    weights_file::has_magic(bytes, &KIND)
}

/// Builds the head the header describes and loads its weights.
pub fn from_bytes<B: Backend>(
    bytes: &[u8],
    name: &str,
    device: &B::Device,
) -> Result<(PoseHead<B>, PoseHeadConfig, weights_file::FileHeader), weights_file::WeightsFileError>
{
    let (header, start) = weights_file::read_header(bytes, &KIND, name)?;
    let corrupt = |e: String| weights_file::WeightsFileError::Corrupt(name.to_string(), e);
    let config: PoseHeadConfig = serde_json::from_value(header.config.clone())
        .map_err(|e| corrupt(format!("config: {e}")))?;
    config
        .check()
        .map_err(|e| corrupt(format!("config: {e}")))?;
    let fresh = config.init::<B>(device);
    let head = weights_file::load_weights(fresh, bytes, start, &header, name, device)?;
    Ok((head, config, header))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    type B = Flex;

    #[test]
    fn init_checks_its_arguments() {
        let ok = PoseHeadConfig::new(16);
        assert!(ok.check().is_ok());
        for (bad, what) in [
            (PoseHeadConfig::new(0), "feature_dim"),
            (PoseHeadConfig::new(16).with_hidden(vec![0]), "hidden width"),
            (
                PoseHeadConfig::new(16).with_hidden(vec![4; 9]),
                "hidden layers",
            ),
            (PoseHeadConfig::new(16).with_dropout(1.0), "dropout"),
            (
                PoseHeadConfig::new(16).with_pose_model("huge".into()),
                "pose_model",
            ),
        ] {
            let e = bad.check().expect_err(what);
            assert!(e.contains(what), "{e}");
            let panicked = std::panic::catch_unwind(|| bad.init::<B>(&Default::default()));
            assert!(panicked.is_err(), "{what}: init must refuse");
        }
    }

    /// 22 rotations about x by `angle` radians, row-major.
    fn about_x(angle: f32) -> Vec<[f32; 9]> {
        let (s, c) = angle.sin_cos();
        vec![[1.0, 0.0, 0.0, 0.0, c, -s, 0.0, s, c]; HEAD_ROTATIONS]
    }

    #[test]
    fn an_untrained_head_predicts_its_start_and_the_file_round_trips() {
        let device = Default::default();
        let config = PoseHeadConfig::new(8).with_hidden(vec![16]);
        let features: Vec<Vec<f32>> = (0..5)
            .map(|i| (0..8).map(|j| (i * 8 + j) as f32 * 0.3).collect())
            .collect();
        let start = about_x(0.7);
        let head = config
            .init::<B>(&device)
            .start_at(&features, &start)
            .expect("start");
        let input =
            Tensor::<B, 1>::from_floats(features.concat().as_slice(), &device).reshape([5, 8]);
        let out = head.forward(input.clone()); // [5, 22, 3, 3]
        assert_eq!(out.dims(), [5, HEAD_ROTATIONS, 3, 3]);
        let values = out.clone().into_data().to_vec::<f32>().expect("floats");
        // Within a few hundredths of the start: the output layer is scaled down.
        for (k, v) in values.iter().enumerate() {
            let want = start[0][k % 9];
            assert!((v - want).abs() < 0.05, "value {k}: {v} vs {want}");
        }
        // A broken start (the identity) is far from it: the check can fail.
        let far = values
            .iter()
            .enumerate()
            .any(|(k, v)| (v - about_x(0.0)[0][k % 9]).abs() > 0.3);
        assert!(far);

        let bytes = to_bytes(&head, &config, Precision::F32, "test").expect("bytes");
        assert!(is_head_file(&bytes));
        let (loaded, loaded_config, header) =
            from_bytes::<B>(&bytes, "head.furpe", &device).expect("load");
        assert_eq!(loaded_config.hidden, vec![16]);
        assert_eq!(header.note, "test");
        let again = loaded
            .forward(input)
            .into_data()
            .to_vec::<f32>()
            .expect("floats");
        for (a, b) in values.iter().zip(&again) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn start_at_refuses_mismatched_data() {
        let device = Default::default();
        let head = PoseHeadConfig::new(4).init::<B>(&device);
        let e = head
            .clone()
            .start_at(&[vec![0.0; 3]], &about_x(0.1))
            .expect_err("width");
        assert!(e.contains("3 values"), "{e}");
        let e = head
            .start_at(&[vec![0.0; 4]], &about_x(0.1)[..2])
            .expect_err("rotations");
        assert!(e.contains("2 starting rotations"), "{e}");
    }

    #[test]
    fn a_student_file_is_not_a_head_file() {
        let e = from_bytes::<B>(b"FURPESTU\0\0\0\0{}", "x.furpe", &Default::default())
            .expect_err("wrong kind");
        assert!(
            e.to_string().contains("not a FuRPE pose-head student file"),
            "{e}"
        );
    }
}
