//! A TFLite model file read into plain Rust: the tensors, their constant
//! data (fp16 weights widened to f32, sparse weights densified) and the
//! operators with typed options. The storage-only operators (DEQUANTIZE and
//! DENSIFY on constants) are evaluated here, once, so the graph that runs
//! holds only arithmetic.
//!
//! Field numbers follow TFLite's `schema.fbs` (the schema the reference
//! interpreter, PyPI `ai-edge-litert`, carries as `schema_py_generated.py`).

mod decode;
mod read;

use super::flatbuffer::{Buffer, FlatError};
use super::TfliteError;
use read::{ReadError, Reader};

/// TFLite's `TensorType` values this reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    I32,
    I64,
    Other(u8),
}

impl DType {
    fn from_code(code: u8) -> Self {
        match code {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::I32,
            4 => Self::I64,
            other => Self::Other(other),
        }
    }
}

/// One tensor of the graph: name and static shape (TFLite order, NHWC for
/// images).
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
}

/// Constant data, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    F32(Vec<f32>),
    I32(Vec<i32>),
}

impl Constant {
    pub fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::I32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `Padding` in TFLite's convolution and pooling options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Output size ceil(in / stride); the zeros split with the extra one at
    /// the end (bottom, right).
    Same,
    /// No padding.
    Valid,
}

/// A fused activation applied to an operator's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    ReluN1To1,
    Relu6,
    Tanh,
}

/// The operators the MediaPipe models use, with their options.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    Conv2d {
        padding: Padding,
        stride: [usize; 2],
        dilation: [usize; 2],
        activation: Activation,
    },
    DepthwiseConv2d {
        padding: Padding,
        stride: [usize; 2],
        dilation: [usize; 2],
        multiplier: usize,
        activation: Activation,
    },
    MaxPool2d {
        padding: Padding,
        stride: [usize; 2],
        filter: [usize; 2],
        activation: Activation,
    },
    Add {
        activation: Activation,
    },
    Mul {
        activation: Activation,
    },
    Concatenation {
        axis: i32,
        activation: Activation,
    },
    Pad,
    Reshape,
    ResizeBilinear {
        align_corners: bool,
        half_pixel_centers: bool,
    },
    Prelu,
    Relu,
    Relu6,
    Logistic,
    FullyConnected {
        activation: Activation,
        keep_num_dims: bool,
    },
    Mean {
        keep_dims: bool,
    },
    StridedSlice {
        begin_mask: i32,
        end_mask: i32,
        shrink_axis_mask: i32,
    },
    DepthToSpace {
        block: usize,
    },
}

/// One operator: what it does, which tensors it reads and writes (`None`
/// for an omitted optional input such as a missing bias).
#[derive(Debug, Clone)]
pub struct Operator {
    pub kind: OpKind,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
}

/// A whole model, ready to be turned into a graph on a device.
#[derive(Debug, Clone)]
pub struct Model {
    /// What the error messages call it (usually the file name).
    pub name: String,
    /// The model's own description string.
    pub description: String,
    pub tensors: Vec<TensorInfo>,
    /// Constant data by tensor index (weights, shapes, paddings).
    pub constants: Vec<Option<Constant>>,
    pub operators: Vec<Operator>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

impl Model {
    /// The tensor `steps` operators upstream of `tensor` along each
    /// operator's first input (`None` where the chain ends first). Finds a
    /// model's shared embedding by where it sits, not by a name that
    /// differs between variants: two steps above the pose models' world
    /// landmarks (RESHAPE ← CONV_2D ← the embedding).
    pub fn upstream(&self, tensor: usize, steps: usize) -> Option<usize> {
        let mut t = tensor;
        for _ in 0..steps {
            let op = self.operators.iter().find(|op| op.outputs.contains(&t))?;
            t = (*op.inputs.first()?)?;
        }
        Some(t)
    }
}

// TFLite `BuiltinOperator` codes.
const ADD: i32 = 0;
const CONCATENATION: i32 = 2;
const CONV_2D: i32 = 3;
const DEPTHWISE_CONV_2D: i32 = 4;
const DEPTH_TO_SPACE: i32 = 5;
const DEQUANTIZE: i32 = 6;
const FULLY_CONNECTED: i32 = 9;
const LOGISTIC: i32 = 14;
const MAX_POOL_2D: i32 = 17;
const MUL: i32 = 18;
const RELU: i32 = 19;
const RELU6: i32 = 21;
const RESHAPE: i32 = 22;
const RESIZE_BILINEAR: i32 = 23;
const PAD: i32 = 34;
const MEAN: i32 = 40;
const STRIDED_SLICE: i32 = 45;
const PRELU: i32 = 54;
const DENSIFY: i32 = 124;

impl Model {
    /// Reads a `.tflite` flatbuffer. `name` is used in error messages.
    pub fn parse(bytes: &[u8], name: &str) -> Result<Self, TfliteError> {
        let format = |e: FlatError| TfliteError::Format {
            model: name.to_string(),
            reason: e.0,
        };
        let root = Buffer::new(bytes).root(Some(b"TFL3")).map_err(format)?;
        let mut reader = Reader {
            name,
            root,
            bytes_len: bytes.len(),
        };
        reader.model().map_err(|e| match e {
            ReadError::Flat(e) => format(e),
            ReadError::Model(e) => e,
        })
    }

    /// The index of the tensor called `name`.
    pub fn tensor_named(&self, name: &str) -> Option<usize> {
        self.tensors.iter().position(|t| t.name == name)
    }

    fn unsupported(&self, op: usize, what: impl Into<String>) -> TfliteError {
        TfliteError::Unsupported {
            model: self.name.clone(),
            op,
            reason: what.into(),
        }
    }

    /// Evaluates DEQUANTIZE and DENSIFY where their input is constant, so
    /// their outputs become constants and the operators disappear.
    fn fold_storage_ops(&mut self, storage: Vec<(usize, i32)>) -> Result<(), TfliteError> {
        // `storage` lists (operator position, code) of the storage operators,
        // in graph order, so a DEQUANTIZE of a DENSIFY sees its input folded.
        let ops = std::mem::take(&mut self.operators);
        let mut storage = storage.into_iter().peekable();
        let mut kept = Vec::with_capacity(ops.len());
        for (position, op) in ops.into_iter().enumerate() {
            match storage.peek() {
                Some(&(at, code)) if at == position => {
                    storage.next();
                    self.fold_one(position, code, &op)?;
                }
                _ => kept.push(op),
            }
        }
        self.operators = kept;
        Ok(())
    }

    fn fold_one(&mut self, position: usize, code: i32, op: &Operator) -> Result<(), TfliteError> {
        let (Some(Some(input)), Some(&output)) = (op.inputs.first(), op.outputs.first()) else {
            return Err(self.unsupported(position, "storage operator without input or output"));
        };
        let input = *input;
        let value = match code {
            DEQUANTIZE => match &self.constants[input] {
                Some(Constant::F32(v)) => Constant::F32(v.clone()),
                Some(Constant::I32(_)) => {
                    return Err(self.unsupported(position, "DEQUANTIZE of an integer tensor"))
                }
                None => {
                    return Err(self
                        .unsupported(position, "DEQUANTIZE of a computed (non-constant) tensor"))
                }
            },
            _ => {
                let Some(dense) = self.constants[input].clone() else {
                    return Err(self.unsupported(position, "DENSIFY of a tensor without data"));
                };
                dense
            }
        };
        let expected: usize = self.tensors[output].shape.iter().product();
        if value.len() != expected {
            return Err(TfliteError::Format {
                model: self.name.clone(),
                reason: format!(
                    "operator {position}: tensor '{}' should hold {expected} values, its input has {}",
                    self.tensors[output].name,
                    value.len()
                ),
            });
        }
        self.constants[output] = Some(value);
        Ok(())
    }
}
