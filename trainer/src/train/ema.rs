//! The EMA teacher: `teacher ← τ·teacher + (1 − τ)·student` over every
//! parameter, with the student's batch-norm statistics (buffers are not
//! parameters and an average of running averages means nothing), and the
//! released code's cosine schedule for τ.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{backend::Backend, Tensor};

/// τ at step `step` of `total`: `1 − (1 − τ₀)(cos(π·step/total) + 1)/2`
/// (cosine), or τ₀ (constant).
pub fn tau(base: f64, step: usize, total: usize, cosine: bool) -> f64 {
    if !cosine || total == 0 {
        return base;
    }
    let progress = (step as f64 / total as f64).min(1.0);
    1.0 - (1.0 - base) * ((std::f64::consts::PI * progress).cos() + 1.0) / 2.0
}

/// The new teacher from the student (on the inner backend) and the old teacher.
pub fn update<B: Backend, M: Module<B>>(teacher: M, student: M, tau: f64) -> M {
    let mut collect = Collect(Vec::new());
    teacher.visit(&mut collect);
    let mut blend = Blend {
        teacher: collect.0.into_iter(),
        tau,
    };
    student.map(&mut blend)
}

/// Initialises every lazily initialised parameter, so clones (the teacher)
/// share the student's starting values instead of drawing their own.
pub fn materialize<B: Backend, M: Module<B>>(module: &M) {
    module.visit(&mut Collect(Vec::new()));
}

/// Every float parameter, flattened, in visiting order.
struct Collect<B: Backend>(Vec<Tensor<B, 1>>);

impl<B: Backend> ModuleVisitor<B> for Collect<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.0.push(value.reshape([n]));
    }
}

/// Maps each student parameter to its blend with the teacher's (same
/// architecture, so the same visiting order).
struct Blend<B: Backend> {
    teacher: std::vec::IntoIter<Tensor<B, 1>>,
    tau: f64,
}

impl<B: Backend> ModuleMapper<B> for Blend<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, student, mapper) = param.consume();
        let blended = match self.teacher.next() {
            Some(teacher) => {
                let shape = student.shape();
                student * (1.0 - self.tau) + teacher.reshape(shape) * self.tau
            }
            None => student,
        };
        Param::from_mapped_value(id, blended, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::{Linear, LinearConfig};
    type B = Flex;

    #[test]
    fn blends_parameters_and_follows_the_schedule() {
        let device = Default::default();
        let mut a: Linear<B> = LinearConfig::new(2, 2).init(&device);
        let mut b: Linear<B> = LinearConfig::new(2, 2).init(&device);
        a.weight = Param::from_tensor(Tensor::ones([2, 2], &device));
        b.weight = Param::from_tensor(Tensor::zeros([2, 2], &device));
        let t = update(a, b, 0.75);
        let w = t.weight.val().into_data().to_vec::<f32>().unwrap();
        assert_eq!(w, vec![0.75; 4]);
        assert!((tau(0.996, 0, 100, true) - 0.996).abs() < 1e-12);
        assert!((tau(0.996, 100, 100, true) - 1.0).abs() < 1e-12);
        assert!((tau(0.996, 50, 100, true) - 0.998).abs() < 1e-12);
        assert_eq!(tau(0.9, 50, 100, false), 0.9);
    }
}
