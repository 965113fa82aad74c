//! TFLite models run on Burn, read straight from their `.tflite` files.
//!
//! MediaPipe's trained body, hand and face models ship as TFLite
//! flatbuffers (npm `@mediapipe/holistic`, Apache-2.0). Rather than convert
//! them once to ONNX and generate Burn code (burn-onnx: a 17-minute cold
//! build, a conversion step every user would have to redo, and converters
//! that mishandle three of the operators these models use), this module
//! reads the flatbuffer itself and runs its operators with Burn's tensor
//! ops, so any Burn backend (CPU, wgpu, CUDA, wasm32) runs the user's own
//! copy of the file with nothing generated or converted.
//!
//! - [`flatbuffer`]: bounds-checked reading of the wire format.
//! - [`model`]: the file as tensors, constants and typed operators (fp16
//!   weights widened, sparse weights densified at load).
//! - [`graph`]: the operators on a device (images kept NCHW inside; inputs
//!   and outputs in TFLite's order).

pub mod flatbuffer;
pub mod graph;
pub mod model;

pub use graph::{Graph, Output};
pub use model::Model;

/// Why a model could not be read or run; every variant names the model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TfliteError {
    #[error("{model}: not a readable TFLite model: {reason}")]
    Format { model: String, reason: String },
    #[error("{model}: operator {op}: {reason} (not supported by this reader)")]
    Unsupported {
        model: String,
        op: usize,
        reason: String,
    },
    #[error("{model}: {reason}")]
    Input { model: String, reason: String },
}
