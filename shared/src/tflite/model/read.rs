//! The flatbuffer's tables read into a [`Model`]: tensors, buffers and each
//! operator's code and typed options.

use super::decode::{decode, densify};
use super::*;
use crate::tflite::flatbuffer::{FlatError, Table};
use crate::tflite::TfliteError;

pub(super) enum ReadError {
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

pub(super) struct Reader<'a, 'n> {
    pub(super) name: &'n str,
    pub(super) root: Table<'a>,
    pub(super) bytes_len: usize,
}

impl Reader<'_, '_> {
    fn format(&self, reason: impl Into<String>) -> ReadError {
        ReadError::Model(TfliteError::Format {
            model: self.name.to_string(),
            reason: reason.into(),
        })
    }

    pub(super) fn model(&mut self) -> Result<Model, ReadError> {
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
