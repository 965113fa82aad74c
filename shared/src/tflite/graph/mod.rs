//! A [`Model`] on a Burn device: the weights uploaded once in the layouts
//! Burn's kernels want, then the operators run in file order.
//!
//! Layout: TFLite images are NHWC; Burn's convolutions are NCHW. Rank-4
//! values live as NCHW [`Value::Image`]s between operators, so a chain of
//! convolutions never permutes; everything else is a [`Value::Flat`] in
//! TFLite's own order. An operator whose meaning depends on the axis order
//! (reshape, concatenation, fully connected) converts explicitly, so every
//! result is the one TFLite's reference kernels give.

mod compile;
mod steps;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::model::Model;
use super::TfliteError;
use compile::Compiler;
use steps::{run, Node, Value};

/// A model output: its TFLite name and shape, and the values in TFLite's
/// order (row-major over `shape`; the batch is the first dimension).
#[derive(Debug, Clone)]
pub struct Output<B: Backend> {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Tensor<B, 1>,
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
