//! The compiled operators (`Step`s over NCHW images or flat TFLite-order
//! values) and how each one runs on a Burn backend.

use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{PadMode, PaddedConvOptions};
use burn::tensor::{activation, Int, Tensor};

use crate::tflite::model::Activation;

/// A value between operators.
#[derive(Debug, Clone)]
pub(super) enum Value<B: Backend> {
    /// A rank-4 tensor stored NCHW (TFLite's [n, h, w, c] permuted).
    Image(Tensor<B, 4>),
    /// Any tensor in TFLite's order: flat data and its shape.
    Flat(Tensor<B, 1>, Vec<usize>),
}

impl<B: Backend> Value<B> {
    /// The shape in TFLite's order.
    pub(super) fn shape(&self) -> Vec<usize> {
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
    pub(super) fn image(self) -> Tensor<B, 4> {
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
    pub(super) fn flat(self) -> (Tensor<B, 1>, Vec<usize>) {
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
pub(super) struct Interpolation<B: Backend> {
    pub(super) low: Tensor<B, 1, Int>,
    pub(super) high: Tensor<B, 1, Int>,
    /// [out] weight of `high`; `low` gets 1 − weight.
    pub(super) weight: Tensor<B, 1>,
}

#[derive(Debug, Clone)]
pub(super) enum Step<B: Backend> {
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
    pub(super) fn kind(&self) -> &'static str {
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
pub(super) struct Node<B: Backend> {
    pub(super) step: Step<B>,
    /// Tensor indices of the data inputs (weights are inside the step).
    pub(super) inputs: Vec<usize>,
    pub(super) output: usize,
}

/// Runs one step; `inputs` are the node's data inputs in order.
pub(super) fn run<B: Backend>(step: &Step<B>, mut inputs: Vec<Value<B>>) -> Value<B> {
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
