//! NCCL between the GPUs of a CUDA run (feature `nccl`, `furpe train
//! --nccl`): every peer (one per GPU, in one process or in several MPI
//! ranks) joins one NCCL communicator, and the sums of [`super::Peer`]
//! (gradients, BatchNorm statistics, loss values, replica checksums) are
//! all-reduced by NCCL on the GPUs' own buffers, with no copy to the host.
//!
//! Burn 0.21 has an NCCL all-reduce of its own (`DistributedBackend`, behind
//! burn's `distributed` feature), but that feature makes every autodiff
//! backend require it, so the CPU backends (burn-flex, burn-ndarray) no
//! longer train in the same binary; and its NCCL id never leaves the
//! process. So this module reaches the CUDA buffer under a Burn tensor
//! (fusion → CubeCL handle → device pointer) and calls NCCL through cudarc,
//! the bindings burn-cuda is built on. The NCCL id is made by peer 0's
//! process and handed to the others over the MPI link.
//!
//! NCCL picks its own reduction order, so unlike the default MPI path a run
//! is not bit-for-bit reproducible across topologies; every peer still gets
//! the same bits, so the replicas stay identical.
//!
//! Written and compiled without a GPU: this path has not yet run on one
//! (scripts/gpu-check.sh runs it when a GPU machine is at hand).

use std::any::Any;
use std::mem::MaybeUninit;

use anyhow::{anyhow, bail};
use burn::tensor::{Tensor, TensorPrimitive};
use cudarc::driver::result as cu;
use cudarc::nccl::{result as nccl, sys};

/// The CUDA backend `furpe train --backend cuda` runs (fusion over CubeCL).
type Cuda = burn::backend::Cuda;
/// The CubeCL backend under fusion, whose tensors hold the device buffers.
type Cube = burn_cubecl::CubeBackend<cubecl::cuda::CudaRuntime, f32, i32, u8>;

/// The run's NCCL id: 128 opaque bytes every peer must join with.
#[derive(Clone, Copy)]
pub struct Id(sys::ncclUniqueId);

impl std::fmt::Debug for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nccl::Id")
    }
}

impl Id {
    /// A fresh id (loads libnccl). Called before any training thread
    /// starts: cudarc panics when it cannot load the library, and that panic
    /// is turned into an error here with the panic hook silenced.
    pub fn new() -> anyhow::Result<Self> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let made = std::panic::catch_unwind(nccl::get_uniqueid);
        std::panic::set_hook(hook);
        match made {
            Ok(Ok(id)) => Ok(Id(id)),
            Ok(Err(e)) => bail!("NCCL: cannot make a communicator id: {e:?}"),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown reason");
                bail!("--nccl: cannot load NCCL ({why}); install NCCL (libnccl2) or put its library on LD_LIBRARY_PATH")
            }
        }
    }

    /// The id as values a sum over processes carries exactly (bytes as
    /// small integers; the other processes contribute zeros).
    pub fn to_values(self) -> Vec<f32> {
        self.0.internal.iter().map(|&b| b as u8 as f32).collect()
    }

    /// Zeros: what a process other than peer 0's adds to the id's sum.
    pub fn zeros() -> Vec<f32> {
        vec![0.0; 128]
    }

    pub fn from_values(values: &[f32]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            values.len() == 128,
            "NCCL id: {} values, expected 128",
            values.len()
        );
        let mut id = sys::ncclUniqueId { internal: [0; 128] };
        for (byte, &v) in id.internal.iter_mut().zip(values) {
            anyhow::ensure!(
                (0.0..=255.0).contains(&v) && v.fract() == 0.0,
                "NCCL id: {v} is not a byte (two processes sent an id?)"
            );
            *byte = v as u8 as _;
        }
        Ok(Id(id))
    }
}

/// One peer's membership of the run's communicator, on its GPU.
pub struct Comm {
    comm: sys::ncclComm_t,
    stream: cudarc::driver::sys::CUstream,
    context: cudarc::driver::sys::CUcontext,
    /// The device whose primary context `join` retained (released on drop).
    device: cudarc::driver::sys::CUdevice,
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nccl::Comm")
    }
}

// SAFETY: the communicator, stream and context are handles NCCL and CUDA let
// any thread use; each peer uses its own `Comm` from its own thread, one
// call at a time (`&self` methods are never called concurrently by the
// trainer, which owns its peer).
unsafe impl Send for Comm {}
unsafe impl Sync for Comm {}

impl Comm {
    /// Joins the communicator `id` as `rank` of `count` on CUDA device
    /// `ordinal`. Blocks until every peer has called it (they do, each from
    /// its own thread, as training starts).
    pub fn join(id: Id, rank: usize, count: usize, ordinal: usize) -> anyhow::Result<Self> {
        let cuda = |what: &str, e: cudarc::driver::DriverError| {
            anyhow!("NCCL peer {rank}: CUDA {what} on device {ordinal}: {e:?}")
        };
        cu::init().map_err(|e| cuda("init", e))?;
        let device = cu::device::get(ordinal as i32).map_err(|e| cuda("device", e))?;
        // The primary context: the one CubeCL runs on, so its device
        // pointers are valid here.
        // SAFETY: `device` is a valid device handle from `device::get`.
        let context = unsafe { cu::primary_ctx::retain(device) }.map_err(|e| cuda("context", e))?;
        // SAFETY: `context` was just retained.
        unsafe { cu::ctx::set_current(context) }.map_err(|e| cuda("context", e))?;
        let stream = cu::stream::create(cu::stream::StreamKind::NonBlocking)
            .map_err(|e| cuda("stream", e))?;
        let mut comm = MaybeUninit::<sys::ncclComm_t>::uninit();
        // SAFETY: `comm` is written by NCCL before it is read; the context
        // for `ordinal` is current on this thread.
        unsafe { nccl::comm_init_rank(comm.as_mut_ptr(), count as i32, id.0, rank as i32) }
            .map_err(|e| {
                anyhow!("NCCL peer {rank} of {count}: cannot join the communicator on device {ordinal}: {e:?}")
            })?;
        Ok(Self {
            // SAFETY: initialised by a successful `comm_init_rank`.
            comm: unsafe { comm.assume_init() },
            stream,
            context,
            device,
        })
    }

    /// The element-wise sum over every peer of `t`, a flat tensor of the
    /// backend `B`, which must be CUDA (checked when the run starts).
    pub fn sum<B: burn::tensor::backend::Backend>(
        &self,
        t: Tensor<B, 1>,
    ) -> anyhow::Result<Tensor<B, 1>> {
        let boxed: Box<dyn Any> = Box::new(t);
        let Ok(cuda) = boxed.downcast::<Tensor<Cuda, 1>>() else {
            bail!("--nccl sums CUDA tensors only (run with --backend cuda)");
        };
        let summed: Box<dyn Any> = Box::new(self.sum_cuda(*cuda)?);
        summed
            .downcast::<Tensor<B, 1>>()
            .map(|t| *t)
            .map_err(|_| anyhow!("NCCL: the summed tensor changed backend"))
    }

    fn sum_cuda(&self, t: Tensor<Cuda, 1>) -> anyhow::Result<Tensor<Cuda, 1>> {
        let n = t.dims()[0];
        let device = t.device();
        // 1. A buffer of our own (NCCL writes the sum into it in place),
        //    kept alive as a Burn tensor while its CubeCL handle is used.
        let own = t.mul_scalar(1.0);
        let TensorPrimitive::Float(fused) = own.clone().into_primitive() else {
            bail!("NCCL: a quantized tensor cannot be summed");
        };
        // 2. Through fusion to the CubeCL tensor and its device pointer.
        let cube = fused.client.clone().resolve_tensor_float::<Cube>(fused);
        anyhow::ensure!(
            cube.is_contiguous(),
            "NCCL: the buffer to sum is not contiguous"
        );
        // 3. Every kernel that writes it has finished.
        <Cuda as burn::tensor::backend::Backend>::sync(&device)
            .map_err(|e| anyhow!("NCCL: waiting for the GPU: {e:?}"))?;
        let resource = cube
            .client
            .get_resource(cube.handle.clone())
            .map_err(|e| anyhow!("NCCL: the buffer's device pointer: {e:?}"))?;
        let ptr = resource.resource().ptr as *mut std::ffi::c_void;
        // 4. The all-reduce on this peer's stream, waited for before any
        //    kernel reads the result.
        // SAFETY: `ptr` addresses `n` f32 on this peer's GPU (contiguous,
        // owned by `own`, which outlives the call); the context is the
        // primary one CubeCL allocated it in; `comm` and `stream` are ours.
        unsafe {
            cu::ctx::set_current(self.context).map_err(|e| anyhow!("NCCL: CUDA context: {e:?}"))?;
            nccl::all_reduce(
                ptr,
                ptr,
                n,
                sys::ncclDataType_t::ncclFloat32,
                sys::ncclRedOp_t::ncclSum,
                self.comm,
                self.stream as _,
            )
            .map_err(|e| anyhow!("NCCL all-reduce of {n} values failed: {e:?}"))?;
            cu::stream::synchronize(self.stream)
                .map_err(|e| anyhow!("NCCL: waiting for the all-reduce: {e:?}"))?;
        }
        drop(resource);
        drop(cube);
        Ok(own)
    }
}

impl Drop for Comm {
    fn drop(&mut self) {
        // SAFETY: created in `join`, destroyed once here.
        unsafe {
            let _ = nccl::comm_destroy(self.comm);
            let _ = cu::stream::destroy(self.stream);
            let _ = cu::primary_ctx::release(self.device);
        }
    }
}

/// The CUDA device ordinal of a Burn device, when it is a CUDA one.
pub fn cuda_ordinal<D: Any>(device: &D) -> Option<usize> {
    (device as &dyn Any)
        .downcast_ref::<burn::backend::cuda::CudaDevice>()
        .map(|d| d.index)
}
