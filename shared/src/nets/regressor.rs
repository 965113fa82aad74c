//! The HMR/SPIN iterative error-feedback regressor: starting from mean
//! parameters, each iteration reads `[feature, current params]`, runs an MLP
//! and adds the deltas its linear heads predict.
//!
//! The parameter vector is the concatenation of the heads' outputs, in order
//! (SPIN: pose 144 | shape 10 | camera 3; FrankMocap: one head of 61), so the
//! same module serves every layout.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

/// [`IterativeRegressor`] configuration.
#[derive(Config, Debug)]
pub struct IterativeRegressorConfig {
    /// Width of the image feature.
    pub feature_dim: usize,
    /// Output widths of the linear heads; the parameter vector is their concatenation.
    pub heads: Vec<usize>,
    /// Hidden layer widths (`fc1`, `fc2`, …); empty: the heads read the input directly.
    #[config(default = "vec![1024, 1024]")]
    pub hidden: Vec<usize>,
    /// Dropout after each hidden layer (active only when autodiff is).
    #[config(default = 0.5)]
    pub dropout: f64,
    /// ReLU after each hidden layer. SPIN/HMR has none (linear MLP); ExPose's
    /// regressor has one.
    #[config(default = false)]
    pub relu: bool,
    /// Refinement iterations.
    #[config(default = 3)]
    pub iterations: usize,
}

impl IterativeRegressorConfig {
    /// Width of the parameter vector.
    pub fn param_dim(&self) -> usize {
        self.heads.iter().sum()
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> IterativeRegressor<B> {
        let mut width = self.feature_dim + self.param_dim();
        let mut layers = Vec::with_capacity(self.hidden.len());
        for &h in &self.hidden {
            layers.push(LinearConfig::new(width, h).init(device));
            width = h;
        }
        let heads = self
            .heads
            .iter()
            .map(|&d| LinearConfig::new(width, d).init(device))
            .collect();
        IterativeRegressor {
            layers,
            heads,
            dropout: DropoutConfig::new(self.dropout).init(),
            relu: self.relu,
            iterations: self.iterations,
        }
    }
}

/// The iterative regressor; see the module docs.
#[derive(Module, Debug)]
pub struct IterativeRegressor<B: Backend> {
    /// Hidden layers (SPIN's `fc1`, `fc2`).
    pub layers: Vec<Linear<B>>,
    /// Output heads (SPIN's `decpose`, `decshape`, `deccam`).
    pub heads: Vec<Linear<B>>,
    pub dropout: Dropout,
    pub relu: bool,
    pub iterations: usize,
}

/// What the regressor returns.
#[derive(Debug, Clone)]
pub struct RegressorOutput<B: Backend> {
    /// Final parameters `[batch, P]`.
    pub params: Tensor<B, 2>,
    /// Parameters after each iteration, the last equal to `params`.
    pub stages: Vec<Tensor<B, 2>>,
    /// The last hidden layer's output in the last iteration `[batch, H]`
    /// (the input feature when there are no hidden layers).
    pub hidden: Tensor<B, 2>,
}

impl<B: Backend> IterativeRegressor<B> {
    /// `feature` `[batch, F]`, `init` `[batch, P]` (mean parameters) → refined parameters.
    pub fn forward(&self, feature: Tensor<B, 2>, init: Tensor<B, 2>) -> RegressorOutput<B> {
        let mut params = init;
        let mut stages = Vec::with_capacity(self.iterations);
        let mut hidden = feature.clone();
        for _ in 0..self.iterations {
            let mut x = Tensor::cat(vec![feature.clone(), params.clone()], 1); // [batch, F + P]
            for layer in &self.layers {
                x = layer.forward(x);
                if self.relu {
                    x = relu(x);
                }
                x = self.dropout.forward(x);
            }
            let deltas = self.heads.iter().map(|h| h.forward(x.clone())).collect();
            params = params + Tensor::cat(deltas, 1); // [batch, P]
            if !self.layers.is_empty() {
                hidden = x;
            }
            stages.push(params.clone());
        }
        RegressorOutput {
            params,
            stages,
            hidden,
        }
    }

    /// Width of the parameter vector.
    pub fn param_dim(&self) -> usize {
        self.heads.iter().map(|h| h.weight.shape()[1]).sum()
    }

    /// Width of the image feature it reads (the first layer's input less the parameters).
    pub fn feature_dim(&self) -> usize {
        let input = match (self.layers.first(), self.heads.first()) {
            (Some(layer), _) => layer.weight.shape()[0],
            (None, Some(head)) => head.weight.shape()[0],
            (None, None) => 0,
        };
        input.saturating_sub(self.param_dim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::module::Param;
    type B = Flex;

    #[test]
    fn shapes_and_stages() {
        let device = Default::default();
        let config = IterativeRegressorConfig::new(32, vec![144, 10, 3]).with_hidden(vec![16, 16]);
        let reg = config.init::<B>(&device);
        assert_eq!(reg.param_dim(), 157);
        let out = reg.forward(
            Tensor::ones([2, 32], &device),
            Tensor::zeros([2, 157], &device),
        );
        assert_eq!(out.params.dims(), [2, 157]);
        assert_eq!(out.hidden.dims(), [2, 16]);
        assert_eq!(out.stages.len(), 3);
    }

    #[test]
    fn zero_heads_keep_the_initial_parameters() {
        let device = Default::default();
        let mut reg = IterativeRegressorConfig::new(4, vec![5])
            .with_hidden(vec![])
            .init::<B>(&device);
        reg.heads[0].weight = Param::from_tensor(Tensor::zeros([9, 5], &device));
        reg.heads[0].bias = Some(Param::from_tensor(Tensor::ones([5], &device)));
        let init = Tensor::<B, 2>::zeros([1, 5], &device);
        let out = reg.forward(Tensor::ones([1, 4], &device), init);
        // Three iterations add the bias three times.
        let v = crate::readback::floats(out.params).unwrap();
        assert_eq!(v, vec![3.0; 5]);
        assert_eq!(out.hidden.dims(), [1, 4]);
    }
}
