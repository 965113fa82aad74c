//! The exported student: one self-describing file that the trainer writes
//! (`furpe export`) and both native inference and the browser read.
//!
//! The layout is [`super::weights_file`]'s with the magic `FURPESTU` and a
//! `StudentConfig` in the header.

use burn::tensor::backend::Backend;

use super::student::{Student, StudentConfig};
use super::weights_file::{self, FileKind};
pub use super::weights_file::{Precision, FORMAT_VERSION};

/// The student file's magic, name and how to make one.
pub const KIND: FileKind = FileKind {
    magic: b"FURPESTU",
    what: "student",
    hint: "export one with `furpe export`",
};

/// What the file says about itself.
pub type StudentHeader = weights_file::FileHeader;

/// Why a student file could not be read.
pub type StudentFileError = weights_file::WeightsFileError;

/// Serialises a student with its configuration.
pub fn to_bytes<B: Backend>(
    student: &Student<B>,
    config: &StudentConfig,
    precision: Precision,
    note: &str,
) -> Result<Vec<u8>, String> {
    let config = serde_json::to_value(config).map_err(|e| e.to_string())?;
    weights_file::to_bytes(&KIND, student, config, precision, note)
}

/// Reads the header only.
pub fn read_header(bytes: &[u8], name: &str) -> Result<(StudentHeader, usize), StudentFileError> {
    weights_file::read_header(bytes, &KIND, name)
}

/// Builds the network the header describes and loads its weights.
pub fn from_bytes<B: Backend>(
    bytes: &[u8],
    name: &str,
    device: &B::Device,
) -> Result<(Student<B>, StudentConfig, StudentHeader), StudentFileError> {
    let (header, start) = read_header(bytes, name)?;
    let config = with_defaults(&header.config)
        .map_err(|e| StudentFileError::Corrupt(name.to_string(), format!("config: {e}")))?;
    config
        .check()
        .map_err(|e| StudentFileError::Corrupt(name.to_string(), format!("config: {e}")))?;
    let fresh = config.init::<B>(device);
    let student = weights_file::load_weights(fresh, bytes, start, &header, name, device)?;
    Ok((student, config, header))
}

/// The header's settings over [`StudentConfig::new`]'s: a setting added
/// after a file was written takes its default, which every new setting is
/// chosen to make mean "as before" (`readout_grid` 1, `keypoint_head` off).
fn with_defaults(written: &serde_json::Value) -> Result<StudentConfig, String> {
    let mut full = serde_json::to_value(StudentConfig::new()).map_err(|e| e.to_string())?;
    let (Some(full_map), Some(written)) = (full.as_object_mut(), written.as_object()) else {
        return Err("not a JSON object".into());
    };
    for (key, value) in written {
        full_map.insert(key.clone(), value.clone());
    }
    serde_json::from_value(full).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::{BlockKind, ResNetConfig};
    use burn::backend::Flex;
    type B = Flex;

    fn config(width: usize) -> StudentConfig {
        StudentConfig::new()
            .with_backbone(ResNetConfig::new(BlockKind::Basic, [1, 1, 1, 1]).with_base_width(width))
            .with_hidden(vec![8])
            .with_feature_dims([4, 4, 4])
    }

    #[test]
    fn round_trip_in_both_precisions_and_clear_errors() {
        let device = Default::default();
        let cfg = config(4);
        let student = cfg.init::<B>(&device);
        let probe = |s: &Student<B>| {
            s.regressor.heads[0]
                .weight
                .val()
                .into_data()
                .to_vec::<f32>()
                .unwrap()
        };
        // Parameters initialise lazily: read them before cloning for the record.
        let original = probe(&student);
        for precision in [Precision::F32, Precision::F16] {
            let bytes = to_bytes(&student, &cfg, precision, "test").unwrap();
            let (loaded, _, header) = from_bytes::<B>(&bytes, "s.furpe", &device).unwrap();
            assert_eq!(header.precision, precision);
            let tol = if precision == Precision::F32 {
                0.0
            } else {
                1e-3
            };
            for (a, b) in original.iter().zip(probe(&loaded)) {
                assert!((a - b).abs() <= tol, "{precision:?}: {a} vs {b}");
            }
        }
        let bytes = to_bytes(&student, &cfg, Precision::F32, "").unwrap();
        let err = from_bytes::<B>(b"PK\x03\x04 not a student", "x.npz", &device).unwrap_err();
        assert!(err.to_string().contains("not a FuRPE student"), "{err}");
        let err = from_bytes::<B>(&bytes[..bytes.len() / 2], "cut.furpe", &device).unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
        // Weights of a wider network under this header: a shape error.
        let wide = to_bytes(
            &config(8).init::<B>(&device),
            &config(8),
            Precision::F32,
            "",
        )
        .unwrap();
        let (_, wide_start) = read_header(&wide, "w").unwrap();
        let (mut header, _) = read_header(&bytes, "b").unwrap();
        // Without the checksum (a file from before it existed) the shape
        // check is what catches it; with it, the checksum does.
        let mixed = |header: &StudentHeader| assemble(header, &wide[wide_start..]);
        let err = from_bytes::<B>(&mixed(&header), "mixed.furpe", &device).unwrap_err();
        assert!(err.to_string().contains("CRC-32"), "{err}");
        header.weights_crc32 = None;
        let err = from_bytes::<B>(&mixed(&header), "mixed.furpe", &device).unwrap_err();
        assert!(err.to_string().contains("expects"), "{err}");
    }

    /// A student file from a header and a weight record (magic, header
    /// length, header JSON, record).
    fn assemble(header: &StudentHeader, weights: &[u8]) -> Vec<u8> {
        let text = serde_json::to_vec(header).unwrap();
        let mut out = KIND.magic.to_vec();
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(&text);
        out.extend_from_slice(weights);
        out
    }

    /// `bytes` with its header's network replaced by `other` (the checksum
    /// still matches: only the weights are covered by it).
    fn with_config(bytes: &[u8], other: &StudentConfig) -> Vec<u8> {
        let (mut header, start) = read_header(bytes, "b").unwrap();
        header.config = serde_json::to_value(other).unwrap();
        assemble(&header, &bytes[start..])
    }

    #[test]
    fn a_header_describing_another_layer_count_is_refused_not_a_crash() {
        let device = Default::default();
        let cfg = config(4);
        let bytes = to_bytes(&cfg.init::<B>(&device), &cfg, Precision::F32, "").unwrap();
        // More residual blocks than the weights hold: Burn's record loader
        // asserts on this; the file is refused as corrupt by counting the
        // record's tensors first, before any panic (the browser aborts on one).
        let deeper = cfg
            .clone()
            .with_backbone(ResNetConfig::new(BlockKind::Basic, [2, 1, 1, 1]).with_base_width(4));
        let err = from_bytes::<B>(&with_config(&bytes, &deeper), "deep.furpe", &device)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("deep.furpe") && err.contains("tensors") && err.contains("layers"),
            "{err}"
        );
        // A two-stage header over one-stage weights: the refinement branch
        // is absent from the record and must not silently vanish.
        let two = cfg.clone().with_kind(crate::nets::StudentKind::TwoStage);
        let err = from_bytes::<B>(&with_config(&bytes, &two), "two.furpe", &device)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("two.furpe"), "{err}");
    }

    #[test]
    fn a_flipped_bit_in_any_weight_byte_is_refused() {
        let device = Default::default();
        let cfg = config(4);
        let bytes = to_bytes(&cfg.init::<B>(&device), &cfg, Precision::F32, "").unwrap();
        let (_, start) = read_header(&bytes, "b").unwrap();
        for (i, at) in (start..bytes.len()).step_by(997).enumerate() {
            let mut bad = bytes.clone();
            bad[at] ^= 1 << (i % 8);
            let err = from_bytes::<B>(&bad, "flip.furpe", &device).unwrap_err();
            assert!(err.to_string().contains("flip.furpe"), "{err}");
        }
    }

    #[test]
    fn nan_weights_are_refused_naming_the_parameter() {
        let device = Default::default();
        let cfg = config(4);
        let mut student = cfg.init::<B>(&device);
        student.regressor.heads[0].weight = student.regressor.heads[0]
            .weight
            .clone()
            .map(|w| w.mul_scalar(f32::NAN));
        let bytes = to_bytes(&student, &cfg, Precision::F32, "").unwrap();
        let err = from_bytes::<B>(&bytes, "nan.furpe", &device).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("nan.furpe")
                && text.contains("non-finite")
                && text.contains("parameter #"),
            "{text}"
        );
    }

    /// The student's layout before `keypoint_head` existed (same fields,
    /// same names, that one missing), to write a file as old code did.
    #[derive(burn::module::Module, Debug)]
    struct OldStudent<B: Backend> {
        backbone: crate::nets::ResNet<B>,
        regressor: crate::nets::IterativeRegressor<B>,
        body_feature: burn::nn::Linear<B>,
        face_feature: burn::nn::Linear<B>,
        left_hand_feature: burn::nn::Linear<B>,
        right_hand_feature: burn::nn::Linear<B>,
        hand: Option<crate::nets::student::PartNet<B>>,
        face: Option<crate::nets::student::PartNet<B>>,
        num_betas: usize,
        num_expression: usize,
        hand_size: usize,
        face_size: usize,
        hand_scale: f64,
        face_scale: f64,
    }

    #[test]
    fn a_file_written_before_the_readout_options_loads_as_before() {
        let device = Default::default();
        let cfg = config(4);
        let s = cfg.init::<B>(&device);
        let images = burn::tensor::Tensor::<B, 4>::ones([1, 3, 256, 256], &device) * 0.4;
        let model = crate::smplx::SmplxConfig::new()
            .init::<B>(&crate::smplx::mannequin::mannequin(), &device)
            .expect("mannequin");
        let run = |student: &Student<B>| {
            let input = crate::nets::StudentInput {
                body: images.clone(),
                detail: None,
            };
            student
                .forward(input, &model)
                .params
                .into_data()
                .to_vec::<f32>()
                .unwrap()
        };
        let want = run(&s);
        let old = OldStudent {
            backbone: s.backbone,
            regressor: s.regressor,
            body_feature: s.body_feature,
            face_feature: s.face_feature,
            left_hand_feature: s.left_hand_feature,
            right_hand_feature: s.right_hand_feature,
            hand: s.hand,
            face: s.face,
            num_betas: s.num_betas,
            num_expression: s.num_expression,
            hand_size: s.hand_size,
            face_size: s.face_size,
            hand_scale: s.hand_scale,
            face_scale: s.face_scale,
        };
        // The header as old code wrote it: no readout_grid, no keypoint_head.
        let mut header = serde_json::to_value(&cfg).unwrap();
        let map = header.as_object_mut().unwrap();
        assert!(map.remove("readout_grid").is_some());
        assert!(map.remove("keypoint_head").is_some());
        let bytes = weights_file::to_bytes(&KIND, &old, header, Precision::F32, "old").unwrap();
        let (loaded, config, _) = from_bytes::<B>(&bytes, "old.furpe", &device).expect("loads");
        assert_eq!(config.readout_grid, 1);
        assert!(!config.keypoint_head && loaded.keypoint_head.is_none());
        assert_eq!(run(&loaded), want);
    }
}
