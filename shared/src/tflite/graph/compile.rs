//! A model's operators turned into `Step`s: options checked, weights
//! permuted into Burn's layouts and uploaded once.

use burn::tensor::backend::Backend;
use burn::tensor::ops::PaddedConvOptions;
use burn::tensor::{Int, Tensor, TensorData};

use super::steps::{Interpolation, Node, Step, Value};
use crate::tflite::model::{Constant, Model, OpKind, Padding};
use crate::tflite::TfliteError;

pub(super) struct Compiler<'m, B: Backend> {
    pub(super) model: &'m Model,
    pub(super) device: &'m B::Device,
    pub(super) constants: Vec<(usize, Value<B>)>,
}

impl<B: Backend> Compiler<'_, B> {
    fn unsupported(&self, op: usize, reason: impl Into<String>) -> TfliteError {
        TfliteError::Unsupported {
            model: self.model.name.clone(),
            op,
            reason: reason.into(),
        }
    }

    fn shape(&self, tensor: usize) -> &[usize] {
        &self.model.tensors[tensor].shape
    }

    fn input(&self, op: usize, inputs: &[Option<usize>], at: usize) -> Result<usize, TfliteError> {
        inputs
            .get(at)
            .copied()
            .flatten()
            .ok_or_else(|| self.unsupported(op, format!("input {at} is missing")))
    }

    fn floats(&self, op: usize, tensor: usize) -> Result<&[f32], TfliteError> {
        match &self.model.constants[tensor] {
            Some(Constant::F32(v)) => Ok(v),
            _ => Err(self.unsupported(
                op,
                format!(
                    "tensor '{}' should be constant float data",
                    self.model.tensors[tensor].name
                ),
            )),
        }
    }

    fn ints(&self, op: usize, tensor: usize) -> Result<&[i32], TfliteError> {
        match &self.model.constants[tensor] {
            Some(Constant::I32(v)) => Ok(v),
            _ => Err(self.unsupported(
                op,
                format!(
                    "tensor '{}' should be constant integer data",
                    self.model.tensors[tensor].name
                ),
            )),
        }
    }

    fn upload<const D: usize>(&self, data: Vec<f32>, shape: [usize; D]) -> Tensor<B, D> {
        Tensor::from_data(TensorData::new(data, shape), self.device)
    }

    /// A data input that may be a constant: constants are uploaded once
    /// and placed in the value table at every run.
    fn data_input(&mut self, op: usize, tensor: usize) -> Result<usize, TfliteError> {
        if self.model.constants[tensor].is_some()
            && !self.constants.iter().any(|(i, _)| *i == tensor)
        {
            let data = self.floats(op, tensor)?.to_vec();
            let shape = self.shape(tensor).to_vec();
            let n = data.len();
            let value = Value::Flat(self.upload(data, [n]), shape);
            self.constants.push((tensor, value));
        }
        Ok(tensor)
    }

    pub(super) fn node(
        &mut self,
        op: usize,
        operator: &crate::tflite::model::Operator,
    ) -> Result<Node<B>, TfliteError> {
        let ins = &operator.inputs;
        let [output] = operator.outputs[..] else {
            return Err(self.unsupported(op, format!("{} outputs", operator.outputs.len())));
        };
        let x = self.input(op, ins, 0)?;
        let node = |step, inputs| Node {
            step,
            inputs,
            output,
        };
        Ok(match &operator.kind {
            OpKind::Conv2d {
                padding,
                stride,
                dilation,
                activation,
            } => {
                let w = self.input(op, ins, 1)?;
                let [o, kh, kw, i] = self.dims4(op, w)?;
                // [out, kh, kw, in] → [out, in, kh, kw]
                let weight = transpose(self.floats(op, w)?, [o, kh, kw, i], [0, 3, 1, 2]);
                let weight = self.upload(weight, [o, i, kh, kw]);
                let bias = self.bias(op, ins, o)?;
                let options =
                    self.conv_options(op, x, [kh, kw], *padding, *stride, *dilation, 1)?;
                node(
                    Step::Conv {
                        weight,
                        bias,
                        options,
                        activation: *activation,
                    },
                    vec![x],
                )
            }
            OpKind::DepthwiseConv2d {
                padding,
                stride,
                dilation,
                multiplier,
                activation,
            } => {
                let w = self.input(op, ins, 1)?;
                let [one, kh, kw, channels] = self.dims4(op, w)?;
                let in_channels = self.dims4(op, x)?[3];
                if one != 1 || channels != in_channels * multiplier {
                    return Err(
                        self.unsupported(op, format!("depthwise weights {:?}", self.shape(w)))
                    );
                }
                // [1, kh, kw, c·m] → [c·m, 1, kh, kw]; one group per input channel.
                let weight = transpose(self.floats(op, w)?, [1, kh, kw, channels], [3, 0, 1, 2]);
                let weight = self.upload(weight, [channels, 1, kh, kw]);
                let bias = self.bias(op, ins, channels)?;
                let options =
                    self.conv_options(op, x, [kh, kw], *padding, *stride, *dilation, in_channels)?;
                node(
                    Step::Conv {
                        weight,
                        bias,
                        options,
                        activation: *activation,
                    },
                    vec![x],
                )
            }
            OpKind::MaxPool2d {
                padding,
                stride,
                filter,
                activation,
            } => {
                let [_, h, w, _] = self.dims4(op, x)?;
                let pad = match padding {
                    Padding::Valid => [(0, 0); 2],
                    Padding::Same => [
                        same_padding(h, filter[0], stride[0], 1),
                        same_padding(w, filter[1], stride[1], 1),
                    ],
                };
                node(
                    Step::MaxPool {
                        filter: *filter,
                        stride: *stride,
                        pad,
                        activation: *activation,
                    },
                    vec![x],
                )
            }
            OpKind::Add { activation } | OpKind::Mul { activation } => {
                let a = self.data_input(op, x)?;
                let b = self.input(op, ins, 1)?;
                let b = self.data_input(op, b)?;
                let step = if matches!(operator.kind, OpKind::Add { .. }) {
                    Step::Add(*activation)
                } else {
                    Step::Mul(*activation)
                };
                node(step, vec![a, b])
            }
            OpKind::Concatenation { axis, activation } => {
                let rank = self.shape(x).len() as i32;
                let axis = if *axis < 0 { axis + rank } else { *axis };
                if !(0..rank).contains(&axis) {
                    return Err(
                        self.unsupported(op, format!("concatenation axis {axis} of rank {rank}"))
                    );
                }
                let mut inputs = Vec::new();
                for slot in 0..ins.len() {
                    let t = self.input(op, ins, slot)?;
                    inputs.push(self.data_input(op, t)?);
                }
                node(
                    Step::Concat {
                        axis: axis as usize,
                        activation: *activation,
                    },
                    inputs,
                )
            }
            OpKind::Pad => {
                self.dims4(op, x)?;
                let p = self.input(op, ins, 1)?;
                let pads = self.ints(op, p)?;
                let pair = |i: usize| -> Result<(usize, usize), TfliteError> {
                    let get = |k: usize| {
                        pads.get(k)
                            .and_then(|&v| usize::try_from(v).ok())
                            .ok_or_else(|| self.unsupported(op, format!("paddings {pads:?}")))
                    };
                    Ok((get(2 * i)?, get(2 * i + 1)?))
                };
                if pads.len() != 8 {
                    return Err(
                        self.unsupported(op, format!("paddings {pads:?} for a rank-4 input"))
                    );
                }
                node(Step::Pad([pair(0)?, pair(1)?, pair(2)?, pair(3)?]), vec![x])
            }
            OpKind::Reshape => {
                let shape = self.shape(output).to_vec();
                if shape.is_empty()
                    || shape.iter().product::<usize>() != self.shape(x).iter().product::<usize>()
                {
                    return Err(
                        self.unsupported(op, format!("reshape {:?} → {shape:?}", self.shape(x)))
                    );
                }
                node(Step::Reshape(shape), vec![x])
            }
            OpKind::ResizeBilinear {
                align_corners,
                half_pixel_centers,
            } => {
                let [_, h, w, _] = self.dims4(op, x)?;
                let [_, oh, ow, _] = self.dims4(op, output)?;
                let rows = self.interpolation(h, oh, *align_corners, *half_pixel_centers);
                let cols = self.interpolation(w, ow, *align_corners, *half_pixel_centers);
                node(Step::Resize { rows, cols }, vec![x])
            }
            OpKind::Prelu => {
                let a = self.input(op, ins, 1)?;
                let alpha = self.floats(op, a)?.to_vec();
                let n = alpha.len();
                let alpha = Value::Flat(self.upload(alpha, [n]), self.shape(a).to_vec()).image();
                node(Step::Prelu(alpha), vec![x])
            }
            OpKind::Relu => node(Step::Relu, vec![x]),
            OpKind::Relu6 => node(Step::Relu6, vec![x]),
            OpKind::Logistic => node(Step::Logistic, vec![x]),
            OpKind::FullyConnected {
                activation,
                keep_num_dims,
            } => {
                let w = self.input(op, ins, 1)?;
                let [out, features] = match self.shape(w)[..] {
                    [o, f] => [o, f],
                    ref s => return Err(self.unsupported(op, format!("weights of shape {s:?}"))),
                };
                let weight = transpose(self.floats(op, w)?, [out, features, 1, 1], [1, 0, 2, 3]);
                let weight = self.upload(weight, [features, out]);
                let bias = self.bias(op, ins, out)?;
                node(
                    Step::FullyConnected {
                        weight,
                        bias,
                        activation: *activation,
                        keep_num_dims: *keep_num_dims,
                    },
                    vec![x],
                )
            }
            OpKind::Mean { keep_dims } => {
                self.dims4(op, x)?;
                let a = self.input(op, ins, 1)?;
                let mut axes = self.ints(op, a)?.to_vec();
                axes.sort_unstable();
                if axes != [1, 2] {
                    return Err(self.unsupported(
                        op,
                        format!("MEAN over axes {axes:?} (only height and width)"),
                    ));
                }
                node(
                    Step::SpatialMean {
                        keep_dims: *keep_dims,
                    },
                    vec![x],
                )
            }
            OpKind::StridedSlice {
                begin_mask,
                end_mask,
                shrink_axis_mask,
            } => {
                let shape = self.dims4(op, x)?;
                let (b, e, s) = (
                    self.input(op, ins, 1)?,
                    self.input(op, ins, 2)?,
                    self.input(op, ins, 3)?,
                );
                let (begin, end, strides) =
                    (self.ints(op, b)?, self.ints(op, e)?, self.ints(op, s)?);
                if *shrink_axis_mask != 0
                    || strides.iter().any(|&s| s != 1)
                    || begin.len() != 4
                    || end.len() != 4
                {
                    return Err(self.unsupported(
                        op,
                        format!("strided slice begin {begin:?} end {end:?} strides {strides:?} shrink {shrink_axis_mask}"),
                    ));
                }
                let bound = |v: i32, size: usize| -> usize {
                    let v = if v < 0 { v + size as i32 } else { v };
                    (v.max(0) as usize).min(size)
                };
                let range = |i: usize| {
                    let start = if begin_mask >> i & 1 == 1 {
                        0
                    } else {
                        bound(begin[i], shape[i])
                    };
                    let stop = if end_mask >> i & 1 == 1 {
                        shape[i]
                    } else {
                        bound(end[i], shape[i])
                    };
                    start..stop.max(start)
                };
                node(
                    Step::Slice([range(0), range(1), range(2), range(3)]),
                    vec![x],
                )
            }
            OpKind::DepthToSpace { block } => {
                let [_, _, _, c] = self.dims4(op, x)?;
                if c % (block * block) != 0 {
                    return Err(
                        self.unsupported(op, format!("{c} channels for block size {block}"))
                    );
                }
                node(Step::DepthToSpace(*block), vec![x])
            }
        })
    }

    fn dims4(&self, op: usize, tensor: usize) -> Result<[usize; 4], TfliteError> {
        match self.shape(tensor)[..] {
            [a, b, c, d] => Ok([a, b, c, d]),
            ref s => Err(self.unsupported(
                op,
                format!(
                    "tensor '{}' has shape {s:?}; rank 4 expected",
                    self.model.tensors[tensor].name
                ),
            )),
        }
    }

    fn bias(
        &self,
        op: usize,
        ins: &[Option<usize>],
        size: usize,
    ) -> Result<Option<Tensor<B, 1>>, TfliteError> {
        let Some(Some(b)) = ins.get(2) else {
            return Ok(None);
        };
        let data = self.floats(op, *b)?.to_vec();
        if data.len() != size {
            return Err(self.unsupported(
                op,
                format!("bias of {} values for {size} outputs", data.len()),
            ));
        }
        Ok(Some(self.upload(data, [size])))
    }

    #[allow(clippy::too_many_arguments)]
    fn conv_options(
        &self,
        op: usize,
        x: usize,
        kernel: [usize; 2],
        padding: Padding,
        stride: [usize; 2],
        dilation: [usize; 2],
        groups: usize,
    ) -> Result<PaddedConvOptions<2>, TfliteError> {
        let [_, h, w, _] = self.dims4(op, x)?;
        let (top, bottom, left, right) = match padding {
            Padding::Valid => (0, 0, 0, 0),
            Padding::Same => {
                let (t, b) = same_padding(h, kernel[0], stride[0], dilation[0]);
                let (l, r) = same_padding(w, kernel[1], stride[1], dilation[1]);
                (t, b, l, r)
            }
        };
        Ok(PaddedConvOptions::asymmetric(
            stride,
            [top, left],
            [bottom, right],
            dilation,
            groups,
        ))
    }

    /// TFLite's bilinear source coordinates (its `resize_bilinear` kernel):
    /// `half_pixel_centers` samples at (o + ½)·scale − ½, `align_corners`
    /// maps the corner pixels onto each other, otherwise o·scale.
    fn interpolation(
        &self,
        input: usize,
        output: usize,
        align_corners: bool,
        half_pixel: bool,
    ) -> Interpolation<B> {
        let scale = if align_corners && output > 1 {
            (input as f32 - 1.0) / (output as f32 - 1.0)
        } else {
            input as f32 / output as f32
        };
        let mut low = Vec::with_capacity(output);
        let mut high = Vec::with_capacity(output);
        let mut weight = Vec::with_capacity(output);
        for o in 0..output {
            let source = if half_pixel {
                (o as f32 + 0.5) * scale - 0.5
            } else {
                o as f32 * scale
            };
            let floor = source.floor();
            let last = input as i64 - 1;
            low.push((floor as i64).clamp(0, last));
            high.push((source.ceil() as i64).clamp(0, last));
            weight.push(source - floor);
        }
        let ints =
            |v: Vec<i64>| Tensor::<B, 1, Int>::from_data(TensorData::new(v, [output]), self.device);
        Interpolation {
            low: ints(low),
            high: ints(high),
            weight: self.upload(weight, [output]),
        }
    }
}

/// TFLite's SAME padding along one axis: output ceil(in / stride), the
/// missing rows split with the odd one at the end.
fn same_padding(input: usize, kernel: usize, stride: usize, dilation: usize) -> (usize, usize) {
    let effective = (kernel - 1) * dilation + 1;
    let output = input.div_ceil(stride);
    let total = ((output - 1) * stride + effective).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// Permutes row-major 4-D data: output axis k is input axis `order[k]`.
fn transpose(data: &[f32], shape: [usize; 4], order: [usize; 4]) -> Vec<f32> {
    let out_shape = order.map(|a| shape[a]);
    let strides = [
        shape[1] * shape[2] * shape[3],
        shape[2] * shape[3],
        shape[3],
        1,
    ];
    let mut out = Vec::with_capacity(data.len());
    for a in 0..out_shape[0] {
        for b in 0..out_shape[1] {
            for c in 0..out_shape[2] {
                for d in 0..out_shape[3] {
                    let index = [a, b, c, d];
                    let mut at = 0;
                    for k in 0..4 {
                        at += index[k] * strides[order[k]];
                    }
                    out.push(data[at]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_odd_row_at_the_end() {
        // 256 → 128 with a 3×3 stride-2 kernel needs one extra row: after.
        assert_eq!(same_padding(256, 3, 2, 1), (0, 1));
        assert_eq!(same_padding(128, 5, 2, 1), (1, 2));
        assert_eq!(same_padding(64, 3, 1, 1), (1, 1));
        assert_eq!(same_padding(64, 2, 2, 1), (0, 0));
        assert_eq!(same_padding(7, 2, 2, 1), (0, 1));
    }

    #[test]
    fn transpose_moves_axes() {
        // [2, 1, 1, 3] → order [3, 0, 1, 2] gives [3, 2, 1, 1].
        let data = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        assert_eq!(
            transpose(&data, [2, 1, 1, 3], [3, 0, 1, 2]),
            vec![0.0, 10.0, 1.0, 11.0, 2.0, 12.0]
        );
    }
}
