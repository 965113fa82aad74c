//! Self-describing network files: the one layout behind the exported student
//! (`student_file`) and the trained part experts (`expert_file`).
//!
//! Layout: an 8-byte magic naming the kind of file, a little-endian u32
//! header length, a JSON header ([`FileHeader`]: the network configuration,
//! the weight precision, provenance), then the weights as a Burn
//! named-MessagePack record (f32 or f16). The header comes first so a reader
//! can build the network before touching the weights and can reject a file it
//! does not understand with a clear message.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::record::{FullPrecisionSettings, HalfPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

/// Bumped when the layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// Storage precision of the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F16,
}

/// What a file says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileHeader {
    pub format_version: u32,
    /// The network, as its configuration's JSON.
    pub config: serde_json::Value,
    pub precision: Precision,
    /// Free-form provenance (training config, step, body model used).
    #[serde(default)]
    pub note: String,
    /// CRC-32 of the weight bytes that follow the header, verified on load:
    /// a flipped bit in a weight would otherwise load silently. Files written
    /// before it existed have none and load unverified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_crc32: Option<u32>,
}

/// Which kind of file a reader expects: its magic, a name for messages and a
/// hint on how to make one.
#[derive(Debug, Clone, Copy)]
pub struct FileKind {
    pub magic: &'static [u8; 8],
    /// "student", "expert", … (in "not a FuRPE {what} file").
    pub what: &'static str,
    /// How to produce such a file, appended to the "not a … file" error.
    pub hint: &'static str,
}

/// Why a network file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WeightsFileError {
    #[error("{file}: not a FuRPE {what} file (it does not start with {magic}); {hint}")]
    WrongKind {
        file: String,
        what: &'static str,
        magic: String,
        hint: &'static str,
    },
    #[error("{0}: truncated or corrupt ({1})")]
    Corrupt(String, String),
    #[error("{0}: format version {1}, this build reads version {FORMAT_VERSION}")]
    Version(String, u32),
    #[error("{0}: weight '{1}' has shape {2:?}, the network in the header expects {3:?}")]
    Shape(String, String, Vec<usize>, Vec<usize>),
    #[error("{0}: the weights' CRC-32 is {1:08x}, the header says {2:08x}: the file is corrupt")]
    Checksum(String, u32, u32),
    #[error("{0}: weight '{1}' holds {2} non-finite values (NaN or infinite): the network that wrote it diverged or the file is corrupt")]
    NonFinite(String, String, usize),
}

/// Does `bytes` start with `kind`'s magic?
pub fn has_magic(bytes: &[u8], kind: &FileKind) -> bool {
    bytes.len() >= 8 && &bytes[..8] == kind.magic
}

/// Serialises `module` under a header holding `config`.
pub fn to_bytes<B: Backend, M: Module<B>>(
    kind: &FileKind,
    module: &M,
    config: serde_json::Value,
    precision: Precision,
    note: &str,
) -> Result<Vec<u8>, String> {
    // Parameter ids are random per process; numbering them makes the same
    // weights give the same file.
    let record = renumber(module.clone()).into_record();
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
    let header = FileHeader {
        format_version: FORMAT_VERSION,
        config,
        precision,
        note: note.to_string(),
        weights_crc32: Some(crc32fast::hash(&weights)),
    };
    let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(12 + header.len() + weights.len());
    out.extend_from_slice(kind.magic);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&weights);
    Ok(out)
}

/// Reads the header; returns it and where the weights start.
pub fn read_header(
    bytes: &[u8],
    kind: &FileKind,
    name: &str,
) -> Result<(FileHeader, usize), WeightsFileError> {
    if !has_magic(bytes, kind) || bytes.len() < 12 {
        return Err(WeightsFileError::WrongKind {
            file: name.to_string(),
            what: kind.what,
            magic: String::from_utf8_lossy(kind.magic).into_owned(),
            hint: kind.hint,
        });
    }
    let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let end = 12usize.saturating_add(len);
    let text = bytes.get(12..end).ok_or_else(|| {
        WeightsFileError::Corrupt(name.to_string(), "header runs past the end".into())
    })?;
    let header: FileHeader = serde_json::from_slice(text)
        .map_err(|e| WeightsFileError::Corrupt(name.to_string(), format!("header: {e}")))?;
    if header.format_version != FORMAT_VERSION {
        return Err(WeightsFileError::Version(
            name.to_string(),
            header.format_version,
        ));
    }
    Ok((header, end))
}

/// Loads the weights that start at `start` into `fresh` (the network the
/// header describes), checking the checksum, every parameter's shape and
/// (natively) that every weight is finite.
pub fn load_weights<B: Backend, M: Module<B>>(
    fresh: M,
    bytes: &[u8],
    start: usize,
    header: &FileHeader,
    name: &str,
    device: &B::Device,
) -> Result<M, WeightsFileError> {
    let weights = bytes.get(start..).unwrap_or_default();
    if let Some(want) = header.weights_crc32 {
        let got = crc32fast::hash(weights);
        if got != want {
            return Err(WeightsFileError::Checksum(name.to_string(), got, want));
        }
    }
    let expected = shapes(&fresh);
    let (in_record, in_network) = (record_tensors(weights), parameter_count(&fresh));
    let weights = weights.to_vec();
    let record = match header.precision {
        Precision::F32 => {
            NamedMpkBytesRecorder::<FullPrecisionSettings>::new().load(weights, device)
        }
        Precision::F16 => {
            NamedMpkBytesRecorder::<HalfPrecisionSettings>::new().load(weights, device)
        }
    }
    .map_err(|e| WeightsFileError::Corrupt(name.to_string(), format!("weights: {e}")))?;
    // Burn 0.21's `load_record` asserts (panics) when a record holds another
    // number of layers than the network (a header edited to more blocks than
    // its weights were saved with); such a file is corrupt, not a crash.
    // Counting the record's tensors first refuses it without the panic, which
    // in the browser (panic = abort) would stop the page; the unwind guard
    // below stays for records of equal count but another nesting.
    if in_record != Some(in_network) {
        return Err(WeightsFileError::Corrupt(
            name.to_string(),
            format!(
                "the weights hold {} tensors, the header's network {in_network}: another number of layers",
                in_record.map_or_else(|| "unreadable".to_string(), |n| n.to_string())
            ),
        ));
    }
    let module =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fresh.load_record(record)))
            .map_err(|_| {
                WeightsFileError::Corrupt(
                    name.to_string(),
                    "the weights hold another number of layers than the header's network".into(),
                )
            })?;
    // A record from another network would load silently with wrong shapes,
    // and an optional part missing from the record would silently vanish.
    let got = shapes(&module);
    if got.len() != expected.len() {
        return Err(WeightsFileError::Corrupt(
            name.to_string(),
            format!(
                "the weights hold {} parameters, the header's network {}",
                got.len(),
                expected.len()
            ),
        ));
    }
    for ((path, got), (_, want)) in got.into_iter().zip(expected) {
        if got != want {
            return Err(WeightsFileError::Shape(name.to_string(), path, got, want));
        }
    }
    // NaN weights give finite, wrong outputs (BatchNorm and ReLU hide them).
    // The browser's WebGPU tensors cannot be read back synchronously; there
    // the checksum is the guard.
    #[cfg(not(target_family = "wasm"))]
    if let Some((path, count)) = first_non_finite(&module) {
        return Err(WeightsFileError::NonFinite(name.to_string(), path, count));
    }
    Ok(module)
}

/// The first float parameter holding NaN or infinite values, and how many.
#[cfg(not(target_family = "wasm"))]
fn first_non_finite<B: Backend, M: Module<B>>(module: &M) -> Option<(String, usize)> {
    struct Finite(usize, Option<(String, usize)>);
    impl<B: Backend> ModuleVisitor<B> for Finite {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let index = self.0;
            self.0 += 1;
            if self.1.is_some() {
                return;
            }
            let values = param.val().into_data().convert::<f32>();
            let bad = values
                .as_slice::<f32>()
                .map(|v| v.iter().filter(|x| !x.is_finite()).count())
                .unwrap_or(0);
            if bad > 0 {
                self.1 = Some((format!("parameter #{index}"), bad));
            }
        }
    }
    let mut visitor = Finite(0, None);
    module.visit(&mut visitor);
    visitor.1
}

/// The module with its float parameters numbered 0, 1, 2, … in visiting
/// order. Burn draws parameter ids at random per process; numbered ids make
/// the same weights give the same file, and let data-parallel replicas
/// (other threads or machines) name each gradient alike.
pub fn renumber<B: Backend, M: Module<B>>(module: M) -> M {
    module.map(&mut Renumber(0))
}

struct Renumber(u64);

impl<B: Backend> ModuleMapper<B> for Renumber {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (_, value, mapper) = param.consume();
        self.0 += 1;
        Param::from_mapped_value(ParamId::from(self.0 - 1), value, mapper)
    }
}

/// How many tensors (float, int and bool parameters) `module` holds.
fn parameter_count<B: Backend, M: Module<B>>(module: &M) -> usize {
    struct Count(usize);
    impl<B: Backend> ModuleVisitor<B> for Count {
        fn visit_float<const D: usize>(&mut self, _: &Param<Tensor<B, D>>) {
            self.0 += 1;
        }
        fn visit_int<const D: usize>(&mut self, _: &Param<Tensor<B, D, burn::tensor::Int>>) {
            self.0 += 1;
        }
        fn visit_bool<const D: usize>(&mut self, _: &Param<Tensor<B, D, burn::tensor::Bool>>) {
            self.0 += 1;
        }
    }
    let mut count = Count(0);
    module.visit(&mut count);
    count.0
}

/// How many tensors a named-MessagePack record holds, read without building
/// the network: every map with both a `bytes` and a `shape` key is one
/// (Burn's serialised `TensorData`). `None` when the bytes are not
/// MessagePack.
fn record_tensors(bytes: &[u8]) -> Option<usize> {
    rmp_serde::from_slice::<TensorCount>(bytes)
        .ok()
        .map(|count| count.0)
}

/// The tensors in a serialised value, counted while it is read (the weights'
/// bytes themselves are skipped, never copied).
struct TensorCount(usize);

impl<'de> Deserialize<'de> for TensorCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TensorCountVisitor)
    }
}

struct TensorCountVisitor;

impl<'de> serde::de::Visitor<'de> for TensorCountVisitor {
    type Value = TensorCount;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Burn record")
    }

    fn visit_bool<E>(self, _: bool) -> Result<TensorCount, E> {
        Ok(TensorCount(0))
    }
    fn visit_i64<E>(self, _: i64) -> Result<TensorCount, E> {
        Ok(TensorCount(0))
    }
    fn visit_u64<E>(self, _: u64) -> Result<TensorCount, E> {
        Ok(TensorCount(0))
    }
    fn visit_f64<E>(self, _: f64) -> Result<TensorCount, E> {
        Ok(TensorCount(0))
    }
    fn visit_str<E>(self, _: &str) -> Result<TensorCount, E> {
        Ok(TensorCount(0))
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<TensorCount, E> {
        Ok(TensorCount(0))
    }
    fn visit_unit<E>(self) -> Result<TensorCount, E> {
        Ok(TensorCount(0))
    }
    fn visit_none<E>(self) -> Result<TensorCount, E> {
        Ok(TensorCount(0))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<TensorCount, D::Error> {
        TensorCount::deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<TensorCount, A::Error> {
        let mut total = 0;
        while let Some(TensorCount(n)) = seq.next_element()? {
            total += n;
        }
        Ok(TensorCount(total))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TensorCount, A::Error> {
        let (mut total, mut bytes, mut shape) = (0, false, false);
        // Burn's named records key every map by field name.
        while let Some(key) = map.next_key::<String>()? {
            bytes |= key == "bytes";
            shape |= key == "shape";
            total += map.next_value::<TensorCount>()?.0;
        }
        Ok(TensorCount(if bytes && shape { 1 } else { total }))
    }
}

fn shapes<B: Backend, M: Module<B>>(module: &M) -> Vec<(String, Vec<usize>)> {
    struct Shapes(Vec<(String, Vec<usize>)>);
    impl<B: Backend> ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let name = format!("parameter #{}", self.0.len());
            self.0.push((name, param.val().dims().to_vec()));
        }
    }
    let mut visitor = Shapes(Vec::new());
    module.visit(&mut visitor);
    visitor.0
}
