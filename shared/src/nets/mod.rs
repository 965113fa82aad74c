//! Networks: the ResNet backbones, the iterative regressor, and the three
//! part experts (SPIN body, DECA face, FrankMocap hand) with their
//! conversions to SMPL-X part parameters.
//!
//! Every network keeps the parameter names of its published PyTorch
//! checkpoint (up to a per-network key map), so the published weights load
//! through [`import`] (cargo feature `import`, native only), and every
//! backbone's depth and width are configurable so small experts train on a CPU.

pub mod batch_norm;
pub mod deca;
pub mod frankmocap;
#[cfg(feature = "import")]
pub mod import;
pub mod part_expert;
pub mod pose_head;
pub mod regressor;
pub mod resnet;
pub mod spin;
pub mod student;
pub mod student_file;
pub mod weights_file;

pub use deca::{DecaConfig, DecaEncoder, DecaOutput, SmplxFacePart};
pub use frankmocap::{FrankMocapHand, FrankMocapHandConfig, HandOutput, HandSide, SmplxHandPart};
pub use part_expert::{
    Expert, ExpertConfig, ExpertKind, ExpertNet, ExpertPrediction, RawPrediction,
};
pub use regressor::{IterativeRegressor, IterativeRegressorConfig, RegressorOutput};
pub use resnet::{BlockKind, ResNet, ResNetConfig, ResNetFeatures};
pub use spin::{SmplxBodyPart, Spin, SpinConfig, SpinOutput};
pub use student::{
    ParamLayout, PartFeatures, Student, StudentConfig, StudentInput, StudentKind, StudentOutput,
};

use burn::tensor::{backend::Backend, Tensor};

/// `Ok` when `lo ≤ value ≤ hi`, else an error naming the setting: the
/// range checks a network file's header passes before anything is
/// allocated (a corrupt or hostile header must not abort on allocation).
pub(crate) fn in_range(name: &str, value: usize, lo: usize, hi: usize) -> Result<(), String> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} must be between {lo} and {hi}, not {value}"))
    }
}

/// `Ok` for a dropout probability in [0, 1).
pub(crate) fn check_dropout(name: &str, p: f64) -> Result<(), String> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("{name} must be in [0, 1), not {p}"))
    }
}

/// ImageNet channel means (RGB), the normalisation of SPIN and torchvision.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// `(x − mean) / std` per channel; `images` `[batch, 3, H, W]`.
pub fn normalize_images<B: Backend>(
    images: Tensor<B, 4>,
    mean: [f32; 3],
    std: [f32; 3],
) -> Tensor<B, 4> {
    let device = images.device();
    let mean = Tensor::<B, 1>::from_floats(mean, &device).reshape([1, 3, 1, 1]);
    let std = Tensor::<B, 1>::from_floats(std, &device).reshape([1, 3, 1, 1]);
    (images - mean) / std
}

/// Maps a ResNet parameter path from Burn's field names to torchvision's
/// (`downsample.conv` → `downsample.0`, `downsample.bn` → `downsample.1`).
pub fn torchvision_path(path: &str) -> String {
    path.replace(".downsample.conv.", ".downsample.0.")
        .replace(".downsample.bn.", ".downsample.1.")
}

/// Maps a PyTorch-style parameter path of an expert to its checkpoint key
/// through prefix rules `(module prefix, checkpoint prefix)`, first match
/// wins; `None` when no rule matches (the parameter is not in the checkpoint).
pub(crate) fn map_prefix(path: &str, rules: &[(&str, &str)]) -> Option<String> {
    rules.iter().find_map(|(module, checkpoint)| {
        path.strip_prefix(module)
            .map(|rest| torchvision_path(&format!("{checkpoint}{rest}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rules_and_torchvision_names() {
        let rules = [("backbone.", "encoder."), ("fc1.", "layers.0.")];
        assert_eq!(
            map_prefix("backbone.layer2.0.downsample.bn.running_var", &rules).as_deref(),
            Some("encoder.layer2.0.downsample.1.running_var")
        );
        assert_eq!(
            map_prefix("fc1.weight", &rules).as_deref(),
            Some("layers.0.weight")
        );
        assert_eq!(map_prefix("mean_params", &rules), None);
        assert_eq!(
            torchvision_path("layer1.0.downsample.conv.weight"),
            "layer1.0.downsample.0.weight"
        );
    }
}
