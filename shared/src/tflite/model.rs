//! A TFLite model file read into plain Rust: the tensors, their constant
//! data (fp16 weights widened to f32, sparse weights densified) and the
//! operators with typed options. The storage-only operators (DEQUANTIZE and
//! DENSIFY on constants) are evaluated here, once, so the graph that runs
//! holds only arithmetic.
//!
//! Field numbers follow TFLite's `schema.fbs` (the schema the reference
//! interpreter, PyPI `ai-edge-litert`, carries as `schema_py_generated.py`).

use super::flatbuffer::{Buffer, FlatError, Table};
use super::TfliteError;

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

enum ReadError {
    Flat(FlatError),
    Model(TfliteError),
}

impl From<FlatError> for ReadError {
    fn from(e: FlatError) -> Self {
        Self::Flat(e)
    }
}

impl From<TfliteError> for ReadError {
    fn from(e: TfliteError) -> Self {
        Self::Model(e)
    }
}

struct Reader<'a, 'n> {
    name: &'n str,
    root: Table<'a>,
    bytes_len: usize,
}

impl Reader<'_, '_> {
    fn format(&self, reason: impl Into<String>) -> ReadError {
        ReadError::Model(TfliteError::Format {
            model: self.name.to_string(),
            reason: reason.into(),
        })
    }

    fn model(&mut self) -> Result<Model, ReadError> {
        // Model: 1 operator_codes, 2 subgraphs, 3 description, 4 buffers.
        let codes = self
            .root
            .tables(1)?
            .iter()
            .map(|c| {
                // OperatorCode: 0 deprecated_builtin_code (i8), 3 builtin_code.
                let old = c.i8(0, 0)? as i32;
                let new = c.i32(3, 0)?;
                Ok(old.max(new))
            })
            .collect::<Result<Vec<i32>, FlatError>>()?;
        let subgraphs = self.root.tables(2)?;
        let Some(graph) = subgraphs.first() else {
            return Err(self.format("the file holds no subgraph"));
        };
        let description = self.root.string(3)?;
        let buffers = self.root.tables(4)?;

        // SubGraph: 0 tensors, 1 inputs, 2 outputs, 3 operators.
        let mut tensors = Vec::new();
        let mut constants = Vec::new();
        for (index, t) in graph.tables(0)?.iter().enumerate() {
            let (info, constant) = self.tensor(index, t, &buffers)?;
            tensors.push(info);
            constants.push(constant);
        }
        let index = |i: i32, what: &str| -> Result<usize, ReadError> {
            usize::try_from(i)
                .ok()
                .filter(|&i| i < tensors.len())
                .ok_or_else(|| {
                    self.format(format!(
                        "{what} refers to tensor {i}, the graph has {}",
                        tensors.len()
                    ))
                })
        };
        let inputs = graph
            .i32s(1)?
            .into_iter()
            .map(|i| index(i, "a graph input"))
            .collect::<Result<Vec<_>, _>>()?;
        let outputs = graph
            .i32s(2)?
            .into_iter()
            .map(|i| index(i, "a graph output"))
            .collect::<Result<Vec<_>, _>>()?;

        let mut operators = Vec::new();
        let mut storage = Vec::new();
        for (position, op) in graph.tables(3)?.iter().enumerate() {
            // Operator: 0 opcode_index, 1 inputs, 2 outputs, 4 builtin_options.
            let opcode = op.u32(0, 0)? as usize;
            let Some(&code) = codes.get(opcode) else {
                return Err(self.format(format!(
                    "operator {position} uses operator code {opcode}, the file lists {}",
                    codes.len()
                )));
            };
            let op_inputs = op
                .i32s(1)?
                .into_iter()
                .map(|i| {
                    if i < 0 {
                        Ok(None)
                    } else {
                        index(i, "an operator input").map(Some)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let op_outputs = op
                .i32s(2)?
                .into_iter()
                .map(|i| index(i, "an operator output"))
                .collect::<Result<Vec<_>, _>>()?;
            let options = op.table(4)?;
            let kind = match code {
                DEQUANTIZE | DENSIFY => {
                    storage.push((operators.len(), code));
                    // Placeholder; folded into a constant below.
                    OpKind::Reshape
                }
                _ => self.kind(position, code, options)?,
            };
            operators.push(Operator {
                kind,
                inputs: op_inputs,
                outputs: op_outputs,
            });
        }
        let mut model = Model {
            name: self.name.to_string(),
            description,
            tensors,
            constants,
            operators,
            inputs,
            outputs,
        };
        model.fold_storage_ops(storage)?;
        Ok(model)
    }

    fn tensor(
        &self,
        index: usize,
        t: &Table<'_>,
        buffers: &[Table<'_>],
    ) -> Result<(TensorInfo, Option<Constant>), ReadError> {
        // Tensor: 0 shape, 1 type, 2 buffer, 3 name, 6 sparsity.
        let name = t.string(3)?;
        let shape = t
            .i32s(0)?
            .into_iter()
            .map(|d| {
                usize::try_from(d).map_err(|_| {
                    self.format(format!(
                        "tensor {index} '{name}' has a negative dimension {d}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                self.format(format!(
                    "tensor {index} '{name}': shape {shape:?} overflows"
                ))
            })?;
        let dtype = DType::from_code(t.u8(1, 0)?);
        let buffer = t.u32(2, 0)? as usize;
        let data: &[u8] = match buffers.get(buffer) {
            // Buffer: 0 data; 1 offset and 2 size for files over 2 GB.
            Some(b) => {
                if b.u64(1, 0)? > 1 {
                    return Err(self.format(format!(
                        "tensor '{name}' keeps its data outside the flatbuffer (a >2 GB model); not supported (file is {} bytes)",
                        self.bytes_len
                    )));
                }
                b.bytes(0)?
            }
            None if buffer == 0 => &[],
            None => {
                return Err(self.format(format!(
                    "tensor '{name}' uses buffer {buffer}, the file has {}",
                    buffers.len()
                )))
            }
        };
        let info = TensorInfo { name, shape, dtype };
        if data.is_empty() {
            return Ok((info, None));
        }
        let values = decode(&info, data).map_err(|reason| self.format(reason))?;
        let constant = match t.table(6)? {
            None => {
                let expected: usize = info.shape.iter().product();
                if values.len() != expected {
                    return Err(self.format(format!(
                        "tensor '{}' has shape {:?} ({expected} values) but its buffer holds {}",
                        info.name,
                        info.shape,
                        values.len()
                    )));
                }
                values
            }
            Some(sparsity) => match values {
                Constant::F32(v) => {
                    Constant::F32(densify(&info, &sparsity, &v).map_err(|r| self.format(r))?)
                }
                Constant::I32(_) => {
                    return Err(self.format(format!("tensor '{}': sparse integer data", info.name)))
                }
            },
        };
        Ok((info, Some(constant)))
    }

    fn kind(&self, op: usize, code: i32, options: Option<Table<'_>>) -> Result<OpKind, ReadError> {
        let unsupported = |what: String| {
            ReadError::Model(TfliteError::Unsupported {
                model: self.name.to_string(),
                op,
                reason: what,
            })
        };
        let need = |what: &str| {
            options.ok_or_else(|| self.format(format!("operator {op} ({what}) has no options")))
        };
        let activation = |t: &Table<'_>, slot: usize| -> Result<Activation, ReadError> {
            match t.u8(slot, 0)? {
                0 => Ok(Activation::None),
                1 => Ok(Activation::Relu),
                2 => Ok(Activation::ReluN1To1),
                3 => Ok(Activation::Relu6),
                4 => Ok(Activation::Tanh),
                other => Err(unsupported(format!("fused activation {other}"))),
            }
        };
        let padding = |t: &Table<'_>| -> Result<Padding, ReadError> {
            match t.u8(0, 0)? {
                0 => Ok(Padding::Same),
                1 => Ok(Padding::Valid),
                other => Err(self.format(format!("operator {op}: padding {other}"))),
            }
        };
        let positive = |v: i32, what: &str| -> Result<usize, ReadError> {
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0 && v <= 1024)
                .ok_or_else(|| {
                    self.format(format!("operator {op}: {what} is {v}, expected 1 to 1024"))
                })
        };
        Ok(match code {
            CONV_2D => {
                // Conv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 activation,
                // 4 dilation_w, 5 dilation_h.
                let o = need("CONV_2D")?;
                OpKind::Conv2d {
                    padding: padding(&o)?,
                    stride: [
                        positive(o.i32(2, 1)?, "stride")?,
                        positive(o.i32(1, 1)?, "stride")?,
                    ],
                    dilation: [
                        positive(o.i32(5, 1)?, "dilation")?,
                        positive(o.i32(4, 1)?, "dilation")?,
                    ],
                    activation: activation(&o, 3)?,
                }
            }
            DEPTHWISE_CONV_2D => {
                // 0 padding, 1 stride_w, 2 stride_h, 3 depth_multiplier,
                // 4 activation, 5 dilation_w, 6 dilation_h.
                let o = need("DEPTHWISE_CONV_2D")?;
                OpKind::DepthwiseConv2d {
                    padding: padding(&o)?,
                    stride: [
                        positive(o.i32(2, 1)?, "stride")?,
                        positive(o.i32(1, 1)?, "stride")?,
                    ],
                    dilation: [
                        positive(o.i32(6, 1)?, "dilation")?,
                        positive(o.i32(5, 1)?, "dilation")?,
                    ],
                    multiplier: positive(o.i32(3, 1)?, "depth multiplier")?,
                    activation: activation(&o, 4)?,
                }
            }
            MAX_POOL_2D => {
                // Pool2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 filter_w,
                // 4 filter_h, 5 activation.
                let o = need("MAX_POOL_2D")?;
                OpKind::MaxPool2d {
                    padding: padding(&o)?,
                    stride: [
                        positive(o.i32(2, 1)?, "stride")?,
                        positive(o.i32(1, 1)?, "stride")?,
                    ],
                    filter: [
                        positive(o.i32(4, 1)?, "filter")?,
                        positive(o.i32(3, 1)?, "filter")?,
                    ],
                    activation: activation(&o, 5)?,
                }
            }
            ADD => OpKind::Add {
                activation: match options {
                    Some(o) => activation(&o, 0)?,
                    None => Activation::None,
                },
            },
            MUL => OpKind::Mul {
                activation: match options {
                    Some(o) => activation(&o, 0)?,
                    None => Activation::None,
                },
            },
            CONCATENATION => {
                let o = need("CONCATENATION")?;
                OpKind::Concatenation {
                    axis: o.i32(0, 0)?,
                    activation: activation(&o, 1)?,
                }
            }
            PAD => OpKind::Pad,
            RESHAPE => OpKind::Reshape,
            RESIZE_BILINEAR => {
                // ResizeBilinearOptions: 2 align_corners, 3 half_pixel_centers.
                let (align_corners, half_pixel_centers) = match options {
                    Some(o) => (o.bool(2)?, o.bool(3)?),
                    None => (false, false),
                };
                OpKind::ResizeBilinear {
                    align_corners,
                    half_pixel_centers,
                }
            }
            PRELU => OpKind::Prelu,
            RELU => OpKind::Relu,
            RELU6 => OpKind::Relu6,
            LOGISTIC => OpKind::Logistic,
            FULLY_CONNECTED => {
                // 0 activation, 1 weights_format (0 = default), 2 keep_num_dims.
                let o = need("FULLY_CONNECTED")?;
                if o.u8(1, 0)? != 0 {
                    return Err(unsupported("FULLY_CONNECTED with shuffled weights".into()));
                }
                OpKind::FullyConnected {
                    activation: activation(&o, 0)?,
                    keep_num_dims: o.bool(2)?,
                }
            }
            MEAN => OpKind::Mean {
                keep_dims: match options {
                    Some(o) => o.bool(0)?,
                    None => false,
                },
            },
            STRIDED_SLICE => {
                // 0 begin_mask, 1 end_mask, 2 ellipsis, 3 new_axis, 4 shrink_axis.
                let o = need("STRIDED_SLICE")?;
                if o.i32(2, 0)? != 0 || o.i32(3, 0)? != 0 {
                    return Err(unsupported(
                        "STRIDED_SLICE with ellipsis or new-axis masks".into(),
                    ));
                }
                OpKind::StridedSlice {
                    begin_mask: o.i32(0, 0)?,
                    end_mask: o.i32(1, 0)?,
                    shrink_axis_mask: o.i32(4, 0)?,
                }
            }
            DEPTH_TO_SPACE => {
                let o = need("DEPTH_TO_SPACE")?;
                OpKind::DepthToSpace {
                    block: positive(o.i32(0, 0)?, "block size")?,
                }
            }
            other => return Err(unsupported(format!("builtin operator code {other}"))),
        })
    }
}

/// Decodes a buffer by the tensor's type (fp16 widened to f32, int64
/// shape data narrowed to i32).
fn decode(info: &TensorInfo, data: &[u8]) -> Result<Constant, String> {
    let whole = |size: usize| {
        if data.len().is_multiple_of(size) {
            Ok(())
        } else {
            Err(format!(
                "tensor '{}': {} bytes is not a whole number of {size}-byte values",
                info.name,
                data.len()
            ))
        }
    };
    match info.dtype {
        DType::F32 => {
            whole(4)?;
            Ok(Constant::F32(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ))
        }
        DType::F16 => {
            whole(2)?;
            Ok(Constant::F32(
                data.chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
            ))
        }
        DType::I32 => {
            whole(4)?;
            Ok(Constant::I32(
                data.chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ))
        }
        DType::I64 => {
            whole(8)?;
            data.chunks_exact(8)
                .map(|b| {
                    let v = i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                    i32::try_from(v).map_err(|_| format!("tensor '{}': int64 value {v} out of range", info.name))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Constant::I32)
        }
        DType::Other(code) => Err(format!(
            "tensor '{}' has TFLite type {code}; only float32, float16, int32 and int64 constants are read",
            info.name
        )),
    }
}

/// Expands a sparse tensor (TFLite `SparsityParameters`) to dense row-major
/// data. Each level of the traversal is either dense (a plain loop) or CSR
/// (segments index into an index array); the position reached at the last
/// level is the index of the stored value. Only the identity traversal
/// order without block maps is read (what the MediaPipe detectors use).
fn densify(info: &TensorInfo, sparsity: &Table<'_>, values: &[f32]) -> Result<Vec<f32>, String> {
    let fail = |what: String| format!("tensor '{}': sparsity: {what}", info.name);
    let flat = |e: FlatError| fail(e.0);
    let rank = info.shape.len();
    let order = sparsity.i32s(0).map_err(flat)?;
    if order.iter().copied().ne(0..rank as i32) || !sparsity.i32s(1).map_err(flat)?.is_empty() {
        return Err(fail(format!(
            "traversal order {order:?} or a block map is not supported"
        )));
    }
    let dims = sparsity.tables(2).map_err(flat)?;
    if dims.len() != rank {
        return Err(fail(format!(
            "{} dimension entries for a rank-{rank} tensor",
            dims.len()
        )));
    }
    let mut levels = Vec::with_capacity(rank);
    for (level, d) in dims.iter().enumerate() {
        // DimensionMetadata: 0 format (0 dense, 1 CSR), 1 dense_size,
        // 2/3 array_segments (union), 4/5 array_indices (union).
        levels.push(match d.u8(0, 0).map_err(flat)? {
            0 => Level::Dense,
            1 => Level::Csr {
                segments: index_vector(d, 2, 3).map_err(&fail)?,
                indices: index_vector(d, 4, 5).map_err(&fail)?,
            },
            other => return Err(fail(format!("level {level} has format {other}"))),
        });
    }
    let total: usize = info.shape.iter().product();
    let mut dense = vec![0.0f32; total];
    expand(&info.shape, &levels, 0, 0, 0, values, &mut dense).map_err(fail)?;
    Ok(dense)
}

enum Level {
    Dense,
    Csr {
        segments: Vec<usize>,
        indices: Vec<usize>,
    },
}

/// Reads a `SparseIndexVector` union (Int32Vector = 1, Uint16Vector = 2,
/// Uint8Vector = 3; each a table whose slot 0 holds the values).
fn index_vector(d: &Table<'_>, type_slot: usize, value_slot: usize) -> Result<Vec<usize>, String> {
    let kind = d.u8(type_slot, 0).map_err(|e| e.0)?;
    let table = d
        .table(value_slot)
        .map_err(|e| e.0)?
        .ok_or_else(|| "a CSR level without its index vector".to_string())?;
    let read = |e: FlatError| e.0;
    Ok(match kind {
        1 => table
            .i32s(0)
            .map_err(read)?
            .into_iter()
            .map(|v| usize::try_from(v).map_err(|_| format!("negative sparse index {v}")))
            .collect::<Result<Vec<_>, _>>()?,
        2 => table
            .u16s(0)
            .map_err(read)?
            .into_iter()
            .map(usize::from)
            .collect(),
        3 => table
            .bytes(0)
            .map_err(read)?
            .iter()
            .map(|&v| usize::from(v))
            .collect(),
        other => return Err(format!("index vector type {other}")),
    })
}

fn expand(
    shape: &[usize],
    levels: &[Level],
    level: usize,
    position: usize,
    linear: usize,
    values: &[f32],
    dense: &mut [f32],
) -> Result<(), String> {
    if level == levels.len() {
        let v = values
            .get(position)
            .ok_or_else(|| format!("value {position} of {} is missing", values.len()))?;
        dense[linear] = *v;
        return Ok(());
    }
    let size = shape[level];
    match &levels[level] {
        Level::Dense => {
            for i in 0..size {
                expand(
                    shape,
                    levels,
                    level + 1,
                    position * size + i,
                    linear * size + i,
                    values,
                    dense,
                )?;
            }
        }
        Level::Csr { segments, indices } => {
            let (Some(&start), Some(&end)) = (segments.get(position), segments.get(position + 1))
            else {
                return Err(format!("segment {position} is missing"));
            };
            if start > end || end > indices.len() {
                return Err(format!(
                    "segment {position} is {start}..{end} of {} indices",
                    indices.len()
                ));
            }
            for (k, &column) in indices.iter().enumerate().take(end).skip(start) {
                if column >= size {
                    return Err(format!(
                        "index {column} is outside dimension {level} of size {size}"
                    ));
                }
                expand(
                    shape,
                    levels,
                    level + 1,
                    k,
                    linear * size + column,
                    values,
                    dense,
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp16_and_int64_buffers_decode() {
        let info = |dtype| TensorInfo {
            name: "t".into(),
            shape: vec![2],
            dtype,
        };
        let halfs: Vec<u8> = [1.5f32, -0.25]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        assert_eq!(
            decode(&info(DType::F16), &halfs),
            Ok(Constant::F32(vec![1.5, -0.25]))
        );
        let longs: Vec<u8> = [3i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            decode(&info(DType::I64), &longs),
            Ok(Constant::I32(vec![3, -1]))
        );
        assert!(
            decode(&info(DType::F32), &[0u8; 6]).is_err(),
            "6 bytes is not whole f32s"
        );
        assert!(decode(&info(DType::Other(9)), &[0u8; 2]).is_err());
    }

    #[test]
    fn csr_levels_expand_to_the_dense_matrix() {
        // [[0, 5, 0], [7, 0, 8]]: dense rows, CSR columns.
        let levels = [
            Level::Dense,
            Level::Csr {
                segments: vec![0, 1, 3],
                indices: vec![1, 0, 2],
            },
        ];
        let mut dense = vec![0.0; 6];
        expand(&[2, 3], &levels, 0, 0, 0, &[5.0, 7.0, 8.0], &mut dense).unwrap();
        assert_eq!(dense, vec![0.0, 5.0, 0.0, 7.0, 0.0, 8.0]);
        // A column index outside the row and a short value list are errors.
        let bad = [
            Level::Dense,
            Level::Csr {
                segments: vec![0, 1, 3],
                indices: vec![1, 0, 3],
            },
        ];
        assert!(expand(&[2, 3], &bad, 0, 0, 0, &[5.0, 7.0, 8.0], &mut dense).is_err());
        assert!(expand(&[2, 3], &levels, 0, 0, 0, &[5.0, 7.0], &mut dense).is_err());
    }
}
