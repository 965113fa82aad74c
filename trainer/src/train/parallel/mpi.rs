//! MPI as the link between processes (feature `mpi`): the ranks that
//! `mpirun -np N furpe train --mpi …` or `srun furpe train --mpi …` start,
//! on the system's MPI (Open MPI, MPICH) through rsmpi. No port of our own
//! is opened; the cluster's launcher, network and security apply.
//!
//! By default a sum is an all-gather followed by an addition in rank order
//! on every rank, not `MPI_Allreduce`: an all-reduce may add in any order
//! the library picks (and change it with the message size or the
//! topology; the standard does not even promise every rank the same bits),
//! while the gather keeps every rank's and every run's rounding the same,
//! so runs reproduce and the replicas stay bit-identical. The price is
//! traffic and memory growing with the number of ranks (each rank receives
//! every buffer), fine for the tens of ranks of a data-parallel student.
//! `--mpi-sum reduce` trades run-to-run reproducibility for the library's
//! tree algorithms: `MPI_Reduce` to rank 0, then `MPI_Bcast` of rank 0's
//! result, so the replicas still hold the same bits.

use anyhow::{anyhow, ensure};
use mpi::collective::SystemOperation;
use mpi::traits::*;

use super::MpiSum;

/// MPI, initialised, and its world communicator.
pub struct World {
    // The communicator before the universe: fields drop in order, and
    // dropping the universe finalises MPI.
    world: mpi::topology::SimpleCommunicator,
    how: MpiSum,
    _universe: mpi::environment::Universe,
}

// SAFETY: MPI is initialised with at least MPI_THREAD_SERIALIZED (checked in
// `init`), which lets any thread call MPI as long as calls never overlap;
// every call on the communicator is made under the link's `io` mutex
// (`net::Link::exchange`); `abort_world` needs no communicator.
unsafe impl Send for World {}

impl World {
    /// Initialises MPI (once per process).
    pub fn init(how: MpiSum) -> anyhow::Result<Self> {
        let (universe, threading) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or_else(|| anyhow!("MPI was already initialised in this process"))?;
        ensure!(
            matches!(
                threading,
                mpi::Threading::Serialized | mpi::Threading::Multiple
            ),
            "this MPI library grants {threading:?} thread support; furpe needs MPI_THREAD_SERIALIZED \
             (its training threads take turns calling MPI)"
        );
        let world = universe.world();
        Ok(Self {
            world,
            how,
            _universe: universe,
        })
    }

    pub fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    pub fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// The element-wise sum of every rank's `values`, the same bits on
    /// every rank: added in rank order (`Gather`), or in the order of the
    /// library's reduction at rank 0, then broadcast (`Reduce`). `seq` numbers the exchanges: all ranks
    /// must be at the same one with the same count (else they run different
    /// configurations), which is checked first.
    pub fn sum(&self, seq: u64, values: Vec<f32>) -> anyhow::Result<Vec<f32>> {
        let (size, n) = (self.size(), values.len());
        let header = [seq, n as u64];
        let mut headers = vec![0u64; 2 * size];
        self.world.all_gather_into(&header[..], &mut headers[..]);
        for (rank, h) in headers.chunks_exact(2).enumerate() {
            ensure!(
                h == header,
                "MPI rank {rank} is at exchange {} of {} values, rank {} at {seq} of {n}: \
                 do all ranks run the same configuration and furpe version?",
                h[0],
                h[1],
                self.rank()
            );
        }
        if n == 0 {
            return Ok(values);
        }
        if self.how == MpiSum::Reduce {
            let root = self.world.process_at_rank(0);
            let mut sum = vec![0f32; n];
            if self.rank() == 0 {
                root.reduce_into_root(&values[..], &mut sum[..], SystemOperation::sum());
            } else {
                root.reduce_into(&values[..], SystemOperation::sum());
            }
            root.broadcast_into(&mut sum[..]);
            return Ok(sum);
        }
        let mut all = vec![0f32; n * size];
        self.world.all_gather_into(&values[..], &mut all[..]);
        let mut chunks = all.chunks_exact(n);
        let mut sum = chunks.next().map(<[f32]>::to_vec).unwrap_or_default();
        for chunk in chunks {
            for (a, b) in sum.iter_mut().zip(chunk) {
                *a += b;
            }
        }
        Ok(sum)
    }
}

/// Ends every rank of the job (`MPI_Abort` on the world communicator): a
/// rank that fails must not leave the others waiting in their next
/// exchange. Callable from any thread, without the communicator (another
/// thread may be blocked on it).
pub fn abort_world(code: i32) -> ! {
    // SAFETY: only called while a `World` exists (MPI is initialised), and
    // MPI_Abort may be called from any thread at MPI_THREAD_SERIALIZED.
    unsafe {
        mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, code);
    }
    std::process::abort()
}
