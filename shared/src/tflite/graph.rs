//! A [`Model`] on a Burn device: the weights uploaded once in the layouts
//! Burn's kernels want, then the operators run in file order.
//!
//! Layout: TFLite images are NHWC; Burn's convolutions are NCHW. Rank-4
//! values live as NCHW [`Value::Image`]s between operators, so a chain of
//! convolutions never permutes; everything else is a [`Value::Flat`] in
//! TFLite's own order. An operator whose meaning depends on the axis order
//! (reshape, concatenation, fully connected) converts explicitly, so every
//! result is the one TFLite's reference kernels give.

use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{PadMode, PaddedConvOptions};
use burn::tensor::{activation, Int, Tensor, TensorData};

use super::model::{Activation, Constant, Model, OpKind, Padding};
use super::TfliteError;

/// A model output: its TFLite name and shape, and the values in TFLite's
/// order (row-major over `shape`; the batch is the first dimension).
#[derive(Debug, Clone)]
pub struct Output<B: Backend> {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Tensor<B, 1>,
}

/// A value between operators.
#[derive(Debug, Clone)]
enum Value<B: Backend> {
    /// A rank-4 tensor stored NCHW (TFLite's [n, h, w, c] permuted).
    Image(Tensor<B, 4>),
    /// Any tensor in TFLite's order: flat data and its shape.
    Flat(Tensor<B, 1>, Vec<usize>),
}

impl<B: Backend> Value<B> {
    /// The shape in TFLite's order.
    fn shape(&self) -> Vec<usize> {
        match self {
            Self::Image(t) => {
                let [n, c, h, w] = t.dims();
                vec![n, h, w, c]
            }
            Self::Flat(_, shape) => shape.clone(),
        }
    }

    /// As an NCHW image; ranks below 4 broadcast from the right as TFLite's
    /// (a bias of shape [c] becomes [1, c, 1, 1]).
    fn image(self) -> Tensor<B, 4> {
        match self {
            Self::Image(t) => t,
            Self::Flat(t, shape) => {
                let mut nhwc = [1usize; 4];
                let rank = shape.len().min(4);
                nhwc[4 - rank..].copy_from_slice(&shape[shape.len() - rank..]);
                t.reshape(nhwc).permute([0, 3, 1, 2])
            }
        }
    }

    /// As flat data in TFLite's order.
    fn flat(self) -> (Tensor<B, 1>, Vec<usize>) {
        match self {
            Self::Flat(t, shape) => (t, shape),
            Self::Image(t) => {
                let [n, c, h, w] = t.dims();
                (t.permute([0, 2, 3, 1]).flatten(0, 3), vec![n, h, w, c])
            }
        }
    }
}

/// Bilinear weights along one axis: for each output index the two source
/// indices and the weight of the second.
#[derive(Debug, Clone)]
struct Interpolation<B: Backend> {
    low: Tensor<B, 1, Int>,
    high: Tensor<B, 1, Int>,
    /// [out] weight of `high`; `low` gets 1 − weight.
    weight: Tensor<B, 1>,
}

#[derive(Debug, Clone)]
enum Step<B: Backend> {
    Conv {
        weight: Tensor<B, 4>,
        bias: Option<Tensor<B, 1>>,
        options: PaddedConvOptions<2>,
        activation: Activation,
    },
    MaxPool {
        filter: [usize; 2],
        stride: [usize; 2],
        /// (before, after) for height and width; padded with −∞.
        pad: [(usize, usize); 2],
        activation: Activation,
    },
    Add(Activation),
    Mul(Activation),
    Concat {
        /// Axis in TFLite's order.
        axis: usize,
        activation: Activation,
    },
    /// (before, after) per TFLite axis of a rank-4 input.
    Pad([(usize, usize); 4]),
    /// The output's static shape; its first dimension follows the batch.
    Reshape(Vec<usize>),
    Resize {
        rows: Interpolation<B>,
        cols: Interpolation<B>,
    },
    /// max(x, 0) + alpha · min(x, 0), alpha broadcast as an image.
    Prelu(Tensor<B, 4>),
    Relu,
    Relu6,
    Logistic,
    FullyConnected {
        /// [in, out]
        weight: Tensor<B, 2>,
        bias: Option<Tensor<B, 1>>,
        activation: Activation,
        keep_num_dims: bool,
    },
    /// Mean over height and width of an image.
    SpatialMean {
        keep_dims: bool,
    },
    /// Ranges per TFLite axis of a rank-4 input (stride 1); the batch
    /// range is always the whole batch.
    Slice([std::ops::Range<usize>; 4]),
    DepthToSpace(usize),
}

impl<B: Backend> Step<B> {
    /// The TFLite operator this step runs.
    fn kind(&self) -> &'static str {
        match self {
            Self::Conv { options, .. } if options.options.groups > 1 => "DEPTHWISE_CONV_2D",
            Self::Conv { .. } => "CONV_2D",
            Self::MaxPool { .. } => "MAX_POOL_2D",
            Self::Add(_) => "ADD",
            Self::Mul(_) => "MUL",
            Self::Concat { .. } => "CONCATENATION",
            Self::Pad(_) => "PAD",
            Self::Reshape(_) => "RESHAPE",
            Self::Resize { .. } => "RESIZE_BILINEAR",
            Self::Prelu(_) => "PRELU",
            Self::Relu => "RELU",
            Self::Relu6 => "RELU6",
            Self::Logistic => "LOGISTIC",
            Self::FullyConnected { .. } => "FULLY_CONNECTED",
            Self::SpatialMean { .. } => "MEAN",
            Self::Slice(_) => "STRIDED_SLICE",
            Self::DepthToSpace(_) => "DEPTH_TO_SPACE",
        }
    }
}

#[derive(Debug, Clone)]
struct Node<B: Backend> {
    step: Step<B>,
    /// Tensor indices of the data inputs (weights are inside the step).
    inputs: Vec<usize>,
    output: usize,
}

/// A TFLite model ready to run on `B`.
#[derive(Debug, Clone)]
pub struct Graph<B: Backend> {
    name: String,
    nodes: Vec<Node<B>>,
    tensor_count: usize,
    input: usize,
    /// The input's [height, width, channels].
    input_hwc: [usize; 3],
    outputs: Vec<(String, usize)>,
    /// Constants that operators read as data (an ADD with a constant).
    constants: Vec<(usize, Value<B>)>,
    /// For each tensor, the last node reading it (values are dropped then).
    last_use: Vec<Option<usize>>,
}

impl<B: Backend> Graph<B> {
    /// Uploads `model`'s weights to `device` and checks that every operator
    /// is one this module runs.
    pub fn new(model: &Model, device: &B::Device) -> Result<Self, TfliteError> {
        Self::with_outputs(model, None, device)
    }

    /// [`Self::new`] computing only the tensors named in `keep` (every
    /// output when `None`): operators that feed none of them are dropped,
    /// e.g. the pose model's 256 × 256 segmentation mask when only its
    /// landmarks are wanted. `keep` may name inner tensors too (an
    /// embedding). A name the model lacks is an error.
    pub fn with_outputs(
        model: &Model,
        keep: Option<&[&str]>,
        device: &B::Device,
    ) -> Result<Self, TfliteError> {
        let [input] = model.inputs[..] else {
            return Err(TfliteError::Format {
                model: model.name.clone(),
                reason: format!(
                    "{} graph inputs; one image input expected",
                    model.inputs.len()
                ),
            });
        };
        let input_hwc = match model.tensors[input].shape[..] {
            [_, h, w, c] => [h, w, c],
            ref other => {
                return Err(TfliteError::Format {
                    model: model.name.clone(),
                    reason: format!("input shape {other:?}; [1, height, width, channels] expected"),
                })
            }
        };
        let mut compiler = Compiler {
            model,
            device,
            constants: Vec::new(),
        };
        let wanted: Vec<usize> = match keep {
            None => model.outputs.clone(),
            Some(names) => names
                .iter()
                .map(|name| {
                    model.tensor_named(name).ok_or_else(|| TfliteError::Input {
                        model: model.name.clone(),
                        reason: format!("no tensor named '{name}'"),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        // Walk back from the wanted outputs: which tensors are needed.
        let mut needed = vec![false; model.tensors.len()];
        for &o in &wanted {
            needed[o] = true;
        }
        let mut used = vec![false; model.operators.len()];
        for (index, op) in model.operators.iter().enumerate().rev() {
            if op.outputs.iter().any(|&o| needed[o]) {
                used[index] = true;
                for i in op.inputs.iter().flatten() {
                    needed[*i] = true;
                }
            }
        }
        let mut nodes = Vec::with_capacity(model.operators.len());
        for (index, op) in model.operators.iter().enumerate() {
            if used[index] {
                nodes.push(compiler.node(index, op)?);
            }
        }
        let mut last_use = vec![None; model.tensors.len()];
        for (index, node) in nodes.iter().enumerate() {
            for &i in &node.inputs {
                last_use[i] = Some(index);
            }
        }
        for &o in &wanted {
            last_use[o] = None;
        }
        let outputs = wanted
            .iter()
            .map(|&o| (model.tensors[o].name.clone(), o))
            .collect();
        Ok(Self {
            name: model.name.clone(),
            nodes,
            tensor_count: model.tensors.len(),
            input,
            input_hwc,
            outputs,
            constants: compiler.constants,
            last_use,
        })
    }

    /// The input's [height, width, channels].
    pub fn input_hwc(&self) -> [usize; 3] {
        self.input_hwc
    }

    /// The outputs' names, in the model's order.
    pub fn output_names(&self) -> Vec<&str> {
        self.outputs.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Runs the model on a batch of images, `[batch, channels, height,
    /// width]` (channels first, as the crate's crops are sampled), values
    /// in whatever range the model expects.
    pub fn forward(&self, input: Tensor<B, 4>) -> Result<Vec<Output<B>>, TfliteError> {
        self.forward_observed(input, &mut |_| {})
    }

    /// [`Self::forward`], calling `after` with each operator's kind once it
    /// has run (`furpe bench mediapipe --profile` times them; meaningful on
    /// eager CPU backends, where an operator has finished when it returns).
    pub fn forward_observed(
        &self,
        input: Tensor<B, 4>,
        after: &mut dyn FnMut(&'static str),
    ) -> Result<Vec<Output<B>>, TfliteError> {
        let [_, c, h, w] = input.dims();
        if [h, w, c] != self.input_hwc {
            let [eh, ew, ec] = self.input_hwc;
            return Err(TfliteError::Input {
                model: self.name.clone(),
                reason: format!(
                    "input is [batch, {c}, {h}, {w}], the model takes [batch, {ec}, {eh}, {ew}]"
                ),
            });
        }
        let mut values: Vec<Option<Value<B>>> = vec![None; self.tensor_count];
        values[self.input] = Some(Value::Image(input));
        for (index, value) in &self.constants {
            values[*index] = Some(value.clone());
        }
        for (position, node) in self.nodes.iter().enumerate() {
            let mut inputs = Vec::with_capacity(node.inputs.len());
            for &i in &node.inputs {
                let value = if self.last_use[i] == Some(position) {
                    values[i].take()
                } else {
                    values[i].clone()
                };
                inputs.push(value.ok_or_else(|| TfliteError::Format {
                    model: self.name.clone(),
                    reason: format!(
                        "operator {position} reads tensor {i} before anything writes it"
                    ),
                })?);
            }
            values[node.output] = Some(run(&node.step, inputs));
            after(node.step.kind());
        }
        self.outputs
            .iter()
            .map(|(name, index)| {
                let value = values[*index].take().ok_or_else(|| TfliteError::Format {
                    model: self.name.clone(),
                    reason: format!("output '{name}' is never written"),
                })?;
                let (data, shape) = value.flat();
                Ok(Output {
                    name: name.clone(),
                    shape,
                    data,
                })
            })
            .collect()
    }
}

/// Runs one step; `inputs` are the node's data inputs in order.
fn run<B: Backend>(step: &Step<B>, mut inputs: Vec<Value<B>>) -> Value<B> {
    let first = inputs.remove(0);
    match step {
        Step::Conv {
            weight,
            bias,
            options,
            activation,
        } => {
            let x = first.image();
            let y = conv2d(x, weight.clone(), bias.clone(), options.clone());
            Value::Image(activate(y, *activation))
        }
        Step::MaxPool {
            filter,
            stride,
            pad,
            activation,
        } => {
            let mut x = first.image();
            if pad.iter().any(|&(a, b)| a + b > 0) {
                x = x.pad([pad[0], pad[1]], PadMode::Constant(f32::NEG_INFINITY));
            }
            let y = max_pool2d(x, *filter, *stride, [0, 0], [1, 1], false);
            Value::Image(activate(y, *activation))
        }
        Step::Add(act) => binary(first, inputs.remove(0), *act, |a, b| a + b, |a, b| a + b),
        Step::Mul(act) => binary(first, inputs.remove(0), *act, |a, b| a * b, |a, b| a * b),
        Step::Concat { axis, activation } => concat(first, inputs, *axis, *activation),
        Step::Pad(pads) => {
            let [n, h, w, c] = *pads;
            // TFLite order (n, h, w, c) → NCHW.
            Value::Image(first.image().pad([n, c, h, w], PadMode::Constant(0.0)))
        }
        Step::Reshape(shape) => {
            let (data, _) = first.flat();
            let per_item: usize = shape[1..].iter().product();
            let mut shape = shape.clone();
            if let Some(batch) = shape.first_mut() {
                *batch = data.dims()[0] / per_item.max(1);
            }
            Value::Flat(data, shape)
        }
        Step::Resize { rows, cols } => Value::Image(resize(first.image(), rows, cols)),
        Step::Prelu(alpha) => {
            let x = first.image();
            let positive = x.clone().clamp_min(0.0);
            let negative = x.clamp_max(0.0) * alpha.clone();
            Value::Image(positive + negative)
        }
        Step::Relu => map(first, |t| activation::relu(t), |t| activation::relu(t)),
        Step::Relu6 => map(first, |t| t.clamp(0.0, 6.0), |t| t.clamp(0.0, 6.0)),
        Step::Logistic => map(
            first,
            |t| activation::sigmoid(t),
            |t| activation::sigmoid(t),
        ),
        Step::FullyConnected {
            weight,
            bias,
            activation,
            keep_num_dims,
        } => {
            let (data, shape) = first.flat();
            let [features, out] = weight.dims();
            let rows = data.dims()[0] / features;
            let mut y = data.reshape([rows, features]).matmul(weight.clone());
            if let Some(b) = bias {
                y = y + b.clone().unsqueeze_dim(0);
            }
            let y = activate(y, *activation);
            let shape = if *keep_num_dims {
                let mut s = shape;
                if let Some(last) = s.last_mut() {
                    *last = out;
                }
                s
            } else {
                vec![rows, out]
            };
            Value::Flat(y.flatten(0, 1), shape)
        }
        Step::SpatialMean { keep_dims } => {
            let y = first.image().mean_dim(2).mean_dim(3); // [n, c, 1, 1]
            if *keep_dims {
                Value::Image(y)
            } else {
                let [n, c, _, _] = y.dims();
                Value::Flat(y.flatten(0, 3), vec![n, c])
            }
        }
        Step::Slice(ranges) => {
            let x = first.image();
            let [n, _, _, _] = x.dims();
            let [_, h, w, c] = ranges.clone();
            Value::Image(x.slice([0..n, c, h, w]))
        }
        Step::DepthToSpace(block) => {
            let x = first.image();
            let [n, c, h, w] = x.dims();
            let b = *block;
            let out_c = c / (b * b);
            // TFLite channel index is (row · b + col) · out_c + channel.
            let y = x
                .reshape([n, b, b, out_c, h, w])
                .permute([0, 3, 4, 1, 5, 2])
                .reshape([n, out_c, h * b, w * b]);
            Value::Image(y)
        }
    }
}

fn activate<const D: usize, B: Backend>(t: Tensor<B, D>, a: Activation) -> Tensor<B, D> {
    match a {
        Activation::None => t,
        Activation::Relu => activation::relu(t),
        Activation::ReluN1To1 => t.clamp(-1.0, 1.0),
        Activation::Relu6 => t.clamp(0.0, 6.0),
        Activation::Tanh => activation::tanh(t),
    }
}

fn map<B: Backend>(
    v: Value<B>,
    image: impl Fn(Tensor<B, 4>) -> Tensor<B, 4>,
    flat: impl Fn(Tensor<B, 1>) -> Tensor<B, 1>,
) -> Value<B> {
    match v {
        Value::Image(t) => Value::Image(image(t)),
        Value::Flat(t, shape) => Value::Flat(flat(t), shape),
    }
}

/// An element-wise operator with TFLite's broadcasting: two flat values of
/// one shape stay flat; otherwise both become images and broadcast.
fn binary<B: Backend>(
    a: Value<B>,
    b: Value<B>,
    act: Activation,
    image: impl Fn(Tensor<B, 4>, Tensor<B, 4>) -> Tensor<B, 4>,
    flat: impl Fn(Tensor<B, 1>, Tensor<B, 1>) -> Tensor<B, 1>,
) -> Value<B> {
    match (a, b) {
        (Value::Flat(x, sx), Value::Flat(y, sy)) if sx == sy => {
            Value::Flat(activate(flat(x, y), act), sx)
        }
        (a, b) => Value::Image(activate(image(a.image(), b.image()), act)),
    }
}

fn concat<B: Backend>(
    first: Value<B>,
    rest: Vec<Value<B>>,
    axis: usize,
    act: Activation,
) -> Value<B> {
    let all_images =
        matches!(first, Value::Image(_)) && rest.iter().all(|v| matches!(v, Value::Image(_)));
    let mut values = Vec::with_capacity(rest.len() + 1);
    values.push(first);
    values.extend(rest);
    if all_images {
        // TFLite axis (n, h, w, c) → NCHW position.
        let dim = [0, 2, 3, 1][axis];
        let images = values.into_iter().map(Value::image).collect();
        return Value::Image(activate(Tensor::cat(images, dim), act));
    }
    // Any rank: each value as [outer, size along axis, inner], joined on the middle.
    let mut shape = values[0].shape();
    let outer: usize = shape[..axis].iter().product();
    let mut total = 0;
    let mut parts = Vec::with_capacity(values.len());
    for v in values {
        let (data, s) = v.flat();
        let inner: usize = s[axis + 1..].iter().product();
        total += s[axis];
        parts.push(data.reshape([outer, s[axis], inner]));
    }
    shape[axis] = total;
    let joined: Tensor<B, 3> = Tensor::cat(parts, 1);
    Value::Flat(activate(joined.flatten(0, 2), act), shape)
}

/// Separable bilinear resampling: rows, then columns.
fn resize<B: Backend>(
    x: Tensor<B, 4>,
    rows: &Interpolation<B>,
    cols: &Interpolation<B>,
) -> Tensor<B, 4> {
    let along = |x: Tensor<B, 4>, axis: usize, i: &Interpolation<B>| {
        let n = i.weight.dims()[0];
        let shape = if axis == 2 {
            [1, 1, n, 1]
        } else {
            [1, 1, 1, n]
        };
        let w = i.weight.clone().reshape(shape);
        let low = x.clone().select(axis, i.low.clone());
        let high = x.select(axis, i.high.clone());
        low.clone() + (high - low) * w
    };
    let x = along(x, 2, rows);
    along(x, 3, cols)
}

struct Compiler<'m, B: Backend> {
    model: &'m Model,
    device: &'m B::Device,
    constants: Vec<(usize, Value<B>)>,
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

    fn node(
        &mut self,
        op: usize,
        operator: &super::model::Operator,
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
