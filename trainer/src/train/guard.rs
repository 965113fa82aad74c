//! The NaN stop: a step whose loss terms or (all-reduced) gradients are not
//! finite ends training before the optimiser writes them into the weights,
//! naming what went bad. Both training loops call it; it needs no files.

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};

/// `None` when the total and every named term are finite; otherwise what is not.
pub fn bad_terms(total: f32, terms: &[(&str, f32)]) -> Option<String> {
    let mut bad: Vec<String> = terms
        .iter()
        .filter(|(_, v)| !v.is_finite())
        .map(|(name, v)| format!("{name} = {v}"))
        .collect();
    if !total.is_finite() && bad.is_empty() {
        bad.push(format!("the total = {total}"));
    }
    (!bad.is_empty()).then(|| format!("loss terms not finite: {}", bad.join(", ")))
}

/// `None` when every gradient `module`'s parameters have in `grads` is
/// finite; otherwise their L1 norm (NaN or ∞). One read from the device.
pub fn bad_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    grads: &GradientsParams,
    module: &M,
) -> Option<String> {
    let mut sum = GradientL1::<B> { grads, total: None };
    module.visit(&mut sum);
    let norm: f32 = sum.total?.into_scalar().elem();
    (!norm.is_finite()).then(|| format!("the gradients' L1 norm is {norm}"))
}

/// Adds up |gradient| over every float parameter: any NaN or ∞ survives the sum.
struct GradientL1<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    total: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradientL1<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) else {
            return;
        };
        let part = g.abs().sum();
        self.total = Some(match self.total.take() {
            Some(t) => t + part,
            None => part,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Autodiff;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::TensorData;

    type B = Autodiff<burn::backend::Flex>;

    #[test]
    fn a_non_finite_term_is_named() {
        assert_eq!(bad_terms(1.0, &[("a", 0.5), ("b", 0.5)]), None);
        let msg = bad_terms(f32::NAN, &[("a", 0.5), ("body_pose", f32::NAN)]).unwrap();
        assert!(
            msg.contains("body_pose = NaN") && !msg.contains("a ="),
            "{msg}"
        );
        let msg = bad_terms(f32::INFINITY, &[("a", 0.5)]).unwrap();
        assert!(msg.contains("total = inf"), "{msg}");
    }

    #[test]
    fn a_finite_loss_with_an_infinite_gradient_is_caught() {
        let device = Default::default();
        let linear: Linear<B> = LinearConfig::new(2, 1).init(&device);
        // √w has the finite value 0 at w = 0 and an infinite slope there.
        let weight = linear.weight.val(); // [2, 1]
        let at = Tensor::<B, 2>::from_data(TensorData::from([[0.0f32], [1.0]]), &device);
        let loss = (weight.clone() - weight.detach() + at).sqrt().sum();
        let value: f32 = loss.clone().into_scalar().elem();
        assert!(value.is_finite(), "{value}");
        let grads = GradientsParams::from_grads(loss.backward(), &linear);
        let msg = bad_gradients(&grads, &linear).expect("caught");
        assert!(msg.contains("L1 norm is"), "{msg}");

        // The same module with a well-behaved loss passes.
        let loss = (linear.weight.val() * 2.0).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &linear);
        assert_eq!(bad_gradients(&grads, &linear), None);
    }
}
