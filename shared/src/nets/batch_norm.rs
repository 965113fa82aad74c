//! Batch normalisation of `[batch, channels, height, width]` feature maps:
//! burn-nn's `BatchNorm` (the same parameters, running-statistics rule and
//! record, so every saved network loads unchanged) computed in a layout the
//! CPU backend runs at memory speed.
//!
//! burn-nn normalises with `[1, C, 1, 1]` broadcasts and takes its
//! statistics from a transposed copy of the input; on burn-flex a broadcast
//! over a middle axis is ~18× slower than over rows, so at the GPU recipe's
//! student size BatchNorm was most of a CPU training step (BENCHMARKS.md).
//! Here the input is seen as `[batch · channels, height · width]` rows,
//! every per-channel value is repeated once per row (`[batch · channels, 1]`,
//! a few kilobytes), and the statistics are sums along contiguous axes.
//!
//! y = (x − μ) · γ / √(σ² + ε) + β, with μ, σ² the batch's per-channel mean
//! and (biased) variance while training, the running estimates otherwise;
//! running ← (1 − momentum) · running + momentum · batch value, as burn-nn.

use burn::config::Config;
use burn::module::{Module, Param, RunningState};
use burn::tensor::{backend::Backend, Tensor};

#[derive(Config, Debug)]
pub struct BatchNormConfig {
    /// Channels.
    pub num_features: usize,
    #[config(default = 1e-5)]
    pub epsilon: f64,
    #[config(default = 0.1)]
    pub momentum: f64,
}

impl BatchNormConfig {
    /// γ = 1, β = 0, running mean 0 and variance 1 (as burn-nn and PyTorch).
    pub fn init<B: Backend>(&self, device: &B::Device) -> BatchNorm<B> {
        let c = self.num_features;
        BatchNorm {
            gamma: Param::from_tensor(Tensor::ones([c], device)),
            beta: Param::from_tensor(Tensor::zeros([c], device)),
            running_mean: RunningState::new(Tensor::zeros([c], device)),
            running_var: RunningState::new(Tensor::ones([c], device)),
            momentum: self.momentum,
            epsilon: self.epsilon,
        }
    }
}

/// Field names, order and types are burn-nn's `BatchNorm`'s: records and
/// the checkpoint importer (which maps `gamma`/`beta` of a `BatchNorm` to
/// PyTorch's `weight`/`bias`) see no difference.
#[derive(Module, Debug)]
pub struct BatchNorm<B: Backend> {
    pub gamma: Param<Tensor<B, 1>>,
    pub beta: Param<Tensor<B, 1>>,
    pub running_mean: RunningState<Tensor<B, 1>>,
    pub running_var: RunningState<Tensor<B, 1>>,
    pub momentum: f64,
    pub epsilon: f64,
}

impl<B: Backend> BatchNorm<B> {
    /// `[batch, channels, height, width]` → the same shape. Batch
    /// statistics when the backend records gradients (training), the
    /// running ones otherwise.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [n, c, h, w] = x.dims();
        let rows = x.reshape([n * c, h * w]); // [batch · channels, pixels]
        let (centred, var) = if B::ad_enabled(&rows.device()) {
            let count = (n * h * w) as f32;
            let mean = channel_sums(rows.clone(), n, c).div_scalar(count); // [C]
            let centred = rows - per_row(mean.clone(), n);
            let var = channel_sums(centred.clone().square(), n, c).div_scalar(count);
            self.update_running(mean, var.clone());
            (centred, var)
        } else {
            let mean = self.running_mean.value();
            (rows - per_row(mean, n), self.running_var.value())
        };
        let scale = self.gamma.val() / var.add_scalar(self.epsilon).sqrt(); // [C]
        let out = centred * per_row(scale, n) + per_row(self.beta.val(), n);
        out.reshape([n, c, h, w])
    }

    fn update_running(&self, mean: Tensor<B, 1>, var: Tensor<B, 1>) {
        let m = self.momentum;
        let blend = |running: Tensor<B, 1>, batch: Tensor<B, 1>| {
            running
                .mul_scalar(1.0 - m)
                .add(batch.detach().mul_scalar(m))
                .detach()
        };
        self.running_mean
            .update(blend(self.running_mean.value_sync(), mean));
        self.running_var
            .update(blend(self.running_var.value_sync(), var));
    }
}

/// `[N·C, P]` rows → each channel's sum over batch and pixels, `[C]`.
fn channel_sums<B: Backend>(rows: Tensor<B, 2>, n: usize, c: usize) -> Tensor<B, 1> {
    let pixels = rows.dims()[1];
    rows.reshape([n, c, pixels])
        .sum_dim(2) // [N, C, 1]
        .sum_dim(0) // [1, C, 1]
        .reshape([c])
}

/// A per-channel `[C]` value for each of the `N·C` rows, `[N·C, 1]`.
fn per_row<B: Backend>(v: Tensor<B, 1>, n: usize) -> Tensor<B, 2> {
    let c = v.dims()[0];
    v.reshape([1, c]).repeat_dim(0, n).reshape([n * c, 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Distribution, Tolerance};

    type B = Flex;
    type A = Autodiff<Flex>;

    /// burn-nn's BatchNorm with the same values as `ours`.
    fn reference<Bk: Backend>(
        ours: &BatchNorm<Bk>,
        device: &Bk::Device,
    ) -> burn::nn::BatchNorm<Bk> {
        let c = ours.gamma.dims()[0];
        let mut theirs = burn::nn::BatchNormConfig::new(c).init::<Bk>(device);
        theirs.gamma = Param::from_tensor(ours.gamma.val());
        theirs.beta = Param::from_tensor(ours.beta.val());
        theirs.running_mean = RunningState::new(ours.running_mean.value());
        theirs.running_var = RunningState::new(ours.running_var.value());
        theirs
    }

    fn random_norm<Bk: Backend>(device: &Bk::Device) -> BatchNorm<Bk> {
        let mut bn = BatchNormConfig::new(5).init::<Bk>(device);
        let r = |lo, hi| Tensor::<Bk, 1>::random([5], Distribution::Uniform(lo, hi), device);
        bn.gamma = Param::from_tensor(r(0.5, 2.0));
        bn.beta = Param::from_tensor(r(-1.0, 1.0));
        bn.running_mean = RunningState::new(r(-0.5, 0.5));
        bn.running_var = RunningState::new(r(0.5, 1.5));
        bn
    }

    #[test]
    fn training_matches_burn_nn_outputs_gradients_and_running_statistics() {
        let device = Default::default();
        let ours = random_norm::<A>(&device);
        let theirs = reference(&ours, &device);
        let x = Tensor::<A, 4>::random([3, 5, 4, 6], Distribution::Uniform(-2.0, 3.0), &device)
            .require_grad();
        let (a, b) = (ours.forward(x.clone()), theirs.forward(x.clone()));
        a.to_data()
            .assert_approx_eq::<f32>(&b.to_data(), Tolerance::absolute(1e-5));
        // The same gradients for the input and both parameters.
        let weights = Tensor::<A, 4>::random([3, 5, 4, 6], Distribution::Default, &device);
        let ga = (a * weights.clone()).sum().backward();
        let gb = (b * weights).sum().backward();
        x.grad(&ga)
            .unwrap()
            .to_data()
            .assert_approx_eq::<f32>(&x.grad(&gb).unwrap().to_data(), Tolerance::absolute(1e-4));
        for (p, q) in [(&ours.gamma, &theirs.gamma), (&ours.beta, &theirs.beta)] {
            p.grad(&ga).unwrap().to_data().assert_approx_eq::<f32>(
                &q.grad(&gb).unwrap().to_data(),
                Tolerance::absolute(1e-4),
            );
        }
        for (p, q) in [
            (&ours.running_mean, &theirs.running_mean),
            (&ours.running_var, &theirs.running_var),
        ] {
            p.value()
                .to_data()
                .assert_approx_eq::<f32>(&q.value().to_data(), Tolerance::absolute(1e-6));
        }
    }

    #[test]
    fn inference_uses_the_running_statistics_as_burn_nn() {
        let device = Default::default();
        let ours = random_norm::<B>(&device);
        let theirs = reference(&ours, &device);
        let x = Tensor::<B, 4>::random([2, 5, 3, 3], Distribution::Uniform(-2.0, 3.0), &device);
        ours.forward(x.clone())
            .to_data()
            .assert_approx_eq::<f32>(&theirs.forward(x).to_data(), Tolerance::absolute(1e-5));
    }

    #[test]
    fn a_burn_nn_record_loads_unchanged() {
        let device = Default::default();
        let theirs = reference(&random_norm::<B>(&device), &device);
        let bytes =
            burn::record::NamedMpkBytesRecorder::<burn::record::FullPrecisionSettings>::new();
        use burn::record::Recorder;
        let saved = bytes.record(theirs.clone().into_record(), ()).unwrap();
        let loaded: BatchNorm<B> = BatchNormConfig::new(5)
            .init(&device)
            .load_record(bytes.load(saved, &device).unwrap());
        let x = Tensor::<B, 4>::random([2, 5, 3, 3], Distribution::Default, &device);
        loaded
            .forward(x.clone())
            .to_data()
            .assert_approx_eq::<f32>(&theirs.forward(x).to_data(), Tolerance::absolute(1e-5));
    }
}
