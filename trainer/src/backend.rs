//! Compute backends the `furpe` binary was built with, chosen at run time.
//!
//! Backends are cargo features (`flex` default, `ndarray`, `wgpu`, `cuda`). Commands
//! are written once, generic over Burn's `Backend`, and run through
//! [`with_backend`].

use burn::tensor::backend::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// CPU, pure Rust (burn-flex: gemm matmul, SIMD, all cores). The default CPU backend.
    Flex,
    /// CPU, pure Rust (burn-ndarray), the previous CPU backend; slower (BENCHMARKS.md),
    /// kept for side-by-side measurement.
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal, DX12; lavapipe on CPU-only machines).
    Wgpu,
    /// NVIDIA GPU through CUDA (kernels compiled at run time by NVRTC).
    Cuda,
}

impl BackendKind {
    /// The fastest backend compiled in: cuda, then wgpu, then flex, then ndarray.
    pub fn best_available() -> Self {
        if cfg!(feature = "cuda") {
            Self::Cuda
        } else if cfg!(feature = "wgpu") {
            Self::Wgpu
        } else if cfg!(feature = "flex") || !cfg!(feature = "ndarray") {
            Self::Flex
        } else {
            Self::Ndarray
        }
    }
}

/// A job that can run on any backend.
pub trait BackendJob {
    type Output;
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<Self::Output>;
}

/// Runs `job` on the chosen backend, or says how to build one that is missing.
pub fn with_backend<J: BackendJob>(kind: BackendKind, job: J) -> anyhow::Result<J::Output> {
    match kind {
        #[cfg(feature = "flex")]
        BackendKind::Flex => job.run::<burn::backend::Flex>(Default::default()),
        #[cfg(feature = "ndarray")]
        BackendKind::Ndarray => job.run::<burn::backend::NdArray<f32>>(Default::default()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => job.run::<burn::backend::Wgpu>(Default::default()),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => job.run::<burn::backend::Cuda>(Default::default()),
        #[allow(unreachable_patterns)]
        other => anyhow::bail!(
            "this furpe binary was built without the {other:?} backend; rebuild with `cargo build --release -p furpe-trainer --features {}`",
            format!("{other:?}").to_lowercase()
        ),
    }
}

/// A job that runs on several devices of one backend at once (data-parallel training).
pub trait DevicesJob {
    type Output;
    fn run<B: Backend>(self, devices: Vec<B::Device>) -> anyhow::Result<Self::Output>;
}

/// Runs `job` on `count` devices of the chosen backend: GPUs 0..count-1, or
/// `count` handles on the one CPU.
pub fn with_devices<J: DevicesJob>(
    kind: BackendKind,
    count: usize,
    job: J,
) -> anyhow::Result<J::Output> {
    match kind {
        #[cfg(feature = "flex")]
        BackendKind::Flex => job.run::<burn::backend::Flex>(vec![Default::default(); count]),
        #[cfg(feature = "ndarray")]
        BackendKind::Ndarray => {
            job.run::<burn::backend::NdArray<f32>>(vec![Default::default(); count])
        }
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => job.run::<burn::backend::Wgpu>(if count == 1 {
            vec![Default::default()]
        } else {
            (0..count)
                .map(burn::backend::wgpu::WgpuDevice::DiscreteGpu)
                .collect()
        }),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => job.run::<burn::backend::Cuda>(
            (0..count)
                .map(burn::backend::cuda::CudaDevice::new)
                .collect(),
        ),
        #[allow(unreachable_patterns)]
        other => anyhow::bail!(
            "this furpe binary was built without the {other:?} backend; rebuild with `cargo build --release -p furpe-trainer --features {}`",
            format!("{other:?}").to_lowercase()
        ),
    }
}
