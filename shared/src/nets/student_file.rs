//! The exported student: one self-describing file that the trainer writes
//! (`furpe export`) and both native inference and the browser read.
//!
//! Layout: the magic `FURPESTU`, a little-endian u32 header length, a JSON
//! header ([`StudentHeader`]: the network configuration, the weight
//! precision, provenance), then the weights as a Burn named-MessagePack
//! record (f32 or f16). The header comes first so a reader can build the
//! network before touching the weights and can reject a file it does not
//! understand with a clear message.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::record::{FullPrecisionSettings, HalfPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use super::student::{Student, StudentConfig};

const MAGIC: &[u8; 8] = b"FURPESTU";
/// Bumped when the layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// Storage precision of the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F16,
}

/// What the file says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentHeader {
    pub format_version: u32,
    /// The network, as `StudentConfig`'s JSON.
    pub config: serde_json::Value,
    pub precision: Precision,
    /// Free-form provenance (training config, step, body model used).
    #[serde(default)]
    pub note: String,
}

/// Why a student file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StudentFileError {
    #[error("{0}: not a FuRPE student file (it does not start with FURPESTU); export one with `furpe export`")]
    NotAStudent(String),
    #[error("{0}: truncated or corrupt ({1})")]
    Corrupt(String, String),
    #[error("{0}: format version {1}, this build reads version {FORMAT_VERSION}")]
    Version(String, u32),
    #[error("{0}: weight '{1}' has shape {2:?}, the network in the header expects {3:?}")]
    Shape(String, String, Vec<usize>, Vec<usize>),
}

/// Serialises a student with its configuration.
pub fn to_bytes<B: Backend>(
    student: &Student<B>,
    config: &StudentConfig,
    precision: Precision,
    note: &str,
) -> Result<Vec<u8>, String> {
    let header = StudentHeader {
        format_version: FORMAT_VERSION,
        config: serde_json::to_value(config).map_err(|e| e.to_string())?,
        precision,
        note: note.to_string(),
    };
    let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    // Parameter ids are random per process; numbering them makes the same
    // weights give the same file.
    let record = student.clone().map(&mut Renumber(0)).into_record();
    let weights = match precision {
        Precision::F32 => Recorder::<B>::record(
            &NamedMpkBytesRecorder::<FullPrecisionSettings>::new(),
            record,
            (),
        ),
        Precision::F16 => Recorder::<B>::record(
            &NamedMpkBytesRecorder::<HalfPrecisionSettings>::new(),
            record,
            (),
        ),
    }
    .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(12 + header.len() + weights.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&weights);
    Ok(out)
}

/// Reads the header only.
pub fn read_header(bytes: &[u8], name: &str) -> Result<(StudentHeader, usize), StudentFileError> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(StudentFileError::NotAStudent(name.to_string()));
    }
    let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let end = 12usize.saturating_add(len);
    let text = bytes.get(12..end).ok_or_else(|| {
        StudentFileError::Corrupt(name.to_string(), "header runs past the end".into())
    })?;
    let header: StudentHeader = serde_json::from_slice(text)
        .map_err(|e| StudentFileError::Corrupt(name.to_string(), format!("header: {e}")))?;
    if header.format_version != FORMAT_VERSION {
        return Err(StudentFileError::Version(
            name.to_string(),
            header.format_version,
        ));
    }
    Ok((header, end))
}

/// Builds the network the header describes and loads its weights.
pub fn from_bytes<B: Backend>(
    bytes: &[u8],
    name: &str,
    device: &B::Device,
) -> Result<(Student<B>, StudentConfig, StudentHeader), StudentFileError> {
    let (header, start) = read_header(bytes, name)?;
    let config: StudentConfig = serde_json::from_value(header.config.clone())
        .map_err(|e| StudentFileError::Corrupt(name.to_string(), format!("config: {e}")))?;
    let fresh = config.init::<B>(device);
    let expected = shapes(&fresh);
    let weights = bytes[start..].to_vec();
    let record = match header.precision {
        Precision::F32 => {
            NamedMpkBytesRecorder::<FullPrecisionSettings>::new().load(weights, device)
        }
        Precision::F16 => {
            NamedMpkBytesRecorder::<HalfPrecisionSettings>::new().load(weights, device)
        }
    }
    .map_err(|e| StudentFileError::Corrupt(name.to_string(), format!("weights: {e}")))?;
    let student = fresh.load_record(record);
    // A record from another network would load silently with wrong shapes.
    for ((path, got), (_, want)) in shapes(&student).into_iter().zip(expected) {
        if got != want {
            return Err(StudentFileError::Shape(name.to_string(), path, got, want));
        }
    }
    Ok((student, config, header))
}

/// Gives parameters the ids 0, 1, 2, … in visiting order.
struct Renumber(u64);

impl<B: Backend> ModuleMapper<B> for Renumber {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (_, value, mapper) = param.consume();
        self.0 += 1;
        Param::from_mapped_value(ParamId::from(self.0 - 1), value, mapper)
    }
}

/// Every float parameter's shape, in visiting order, with a positional name.
fn shapes<B: Backend>(student: &Student<B>) -> Vec<(String, Vec<usize>)> {
    struct Shapes(Vec<(String, Vec<usize>)>);
    impl<B: Backend> ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let name = format!("parameter #{}", self.0.len());
            self.0.push((name, param.val().dims().to_vec()));
        }
    }
    let mut visitor = Shapes(Vec::new());
    student.visit(&mut visitor);
    visitor.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::{BlockKind, ResNetConfig};
    use burn::backend::NdArray;
    type B = NdArray<f32>;

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
        let (_, start) = read_header(&bytes, "b").unwrap();
        let mut mixed = bytes[..start].to_vec();
        mixed.extend_from_slice(&wide[wide_start..]);
        let err = from_bytes::<B>(&mixed, "mixed.furpe", &device).unwrap_err();
        assert!(err.to_string().contains("expects"), "{err}");
    }
}
