//! Data parallelism for `furpe train`: one peer (a thread) per device on
//! this machine, and optionally several processes (machines), kept in step
//! by all-reduces: burn-collective's between the devices of a machine
//! (feature `ddp`), [`net::Link`] between processes: MPI (feature `mpi`,
//! `--mpi`, ranks from `mpirun`/`srun`) or, as a development fallback, TCP
//! through node 0 (`--dev-tcp-master`). On CUDA, `--nccl` (feature `nccl`)
//! sums on the GPUs with NCCL instead, between the devices and the
//! processes alike ([`nccl`]); the link then only carries NCCL's id.
//!
//! Every peer takes its slice of the global batch (same rows, same
//! augmentation draws as a single-device run), computes the loss and its
//! gradients, and the gradients are averaged by an all-reduce. Each peer
//! then applies the same Adam step, so the replicas stay identical without
//! ever broadcasting weights; [`Peer::check_replicas`] verifies that they do.
//! BatchNorm normalises each device's share with that share's statistics
//! (as PyTorch's DDP without SyncBatchNorm); the running statistics are
//! averaged over peers after every step, so the replicas (and the EMA
//! teacher, which runs on them) stay identical. Peer 0 alone validates,
//! logs and writes checkpoints.
//!
//! Across machines a mean is: the sum over this machine's devices
//! (burn-collective), the sum over machines in rank order (the link: MPI
//! all-gathers and adds in rank order, TCP adds at node 0), then a division
//! by the number of peers, on every device alike. With two peers that is bit
//! for bit what one machine with two devices computes.
//!
//! Why not burn-collective's own multi-node all-reduce: in 0.21 every global
//! all-reduce (each strategy) ends with `SyncService::sync`, a barrier that
//! clears a *copy* of its list of synced nodes instead of the list itself
//! (`syncing_peers.lock().unwrap().to_vec()` ... `syncing_peers.clear()`,
//! burn-collective 0.21 `src/global/node/sync.rs`). The first barrier passes;
//! from the second on the list holds stale entries, never equals the node
//! list again, and every node waits forever in its second all-reduce.

#[cfg(feature = "mpi")]
mod mpi;
#[cfg(feature = "nccl")]
mod nccl;
mod net;

use std::sync::Arc;

use burn::module::ModuleMapper;
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};

/// Held while a peer seeds the backend and draws its initial weights.
pub static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `--mpi-sum`: how the ranks' buffers are added (see [`ParallelArgs::mpi_sum`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MpiSum {
    /// All-gather, then add in rank order on every rank.
    Gather,
    /// `MPI_Reduce` to rank 0, then `MPI_Bcast`.
    Reduce,
}

/// How a run is spread over devices and machines (`furpe train` flags).
#[derive(Debug, Clone, clap::Args)]
pub struct ParallelArgs {
    /// Devices on this machine, one training thread each: CUDA/wgpu GPUs
    /// 0..N-1. On the CPU backend N threads share the one CPU (a test of the
    /// data-parallel path, not a speed-up). The global batch is split evenly.
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Take the processes from MPI (a build with the `mpi` feature): launch
    /// N ranks with `mpirun -np N furpe train --mpi …` (a hostfile for
    /// several machines) or `srun furpe train --mpi …`; rank and size come
    /// from MPI, gradients travel over MPI. Rank 0 logs, validates and
    /// writes checkpoints and the exported student.
    #[arg(long, conflicts_with_all = ["nodes", "node_rank", "master"])]
    pub mpi: bool,
    /// How `--mpi` sums gradients across ranks. `gather` (default): every
    /// rank receives every rank's buffer and adds them in rank order, so a
    /// run reproduces bit for bit whatever the MPI library and network
    /// (traffic grows with the rank count). `reduce`: `MPI_Reduce` to rank
    /// 0 and `MPI_Bcast` back, the library's own tree algorithms (traffic
    /// does not grow with the ranks); every rank still gets the same bits,
    /// but the order of the additions is the library's, so a run reproduces
    /// only with the same MPI library, version and rank layout.
    #[arg(long, value_enum, default_value_t = MpiSum::Gather, requires = "mpi")]
    pub mpi_sum: MpiSum,
    /// Machines in the run, for the TCP development fallback (without MPI):
    /// start `furpe train` with the same config, --nodes, --devices and
    /// --dev-tcp-master on each, with its own --node-rank.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// This machine's rank, 0..nodes-1 (TCP development fallback).
    #[arg(long, default_value_t = 0)]
    pub node_rank: usize,
    /// Development fallback without MPI: node 0's address, HOST:PORT. Node 0
    /// listens on PORT on every interface and sums every node's gradients;
    /// no authentication (anyone who reaches the port can join): for a
    /// trusted network only. Clusters: use --mpi.
    #[arg(long = "dev-tcp-master", value_name = "HOST:PORT")]
    pub master: Option<String>,
    /// Sum on the GPUs with NCCL (CUDA backend; a build with the `nccl`
    /// feature): gradients, BatchNorm statistics and logged values are
    /// all-reduced on the devices' own buffers, between this machine's GPUs
    /// and, with --mpi, between the ranks (one rank per GPU: `srun
    /// --gpus-per-task 1`). NCCL picks its reduction order, so runs are not
    /// bit-reproducible across topologies (the replicas still agree). Not
    /// yet run on a GPU: see scripts/gpu-check.sh.
    #[arg(long)]
    pub nccl: bool,
    /// The MPI link, once MPI is up ([`Self::resolve`]).
    #[arg(skip)]
    link: Option<Arc<net::Link>>,
}

impl Default for ParallelArgs {
    fn default() -> Self {
        Self {
            devices: 1,
            nodes: 1,
            node_rank: 0,
            master: None,
            mpi: false,
            mpi_sum: MpiSum::Gather,
            nccl: false,
            link: None,
        }
    }
}

impl ParallelArgs {
    /// Total peers over all machines.
    pub fn peers(&self) -> usize {
        self.devices * self.nodes
    }

    /// With `--mpi`, initialises MPI and takes this process's rank and the
    /// number of processes from it (once; later calls change nothing).
    pub fn resolve(&mut self) -> anyhow::Result<()> {
        if !self.mpi || self.link.is_some() {
            return Ok(());
        }
        #[cfg(feature = "mpi")]
        {
            let link = net::Link::over_mpi(mpi::World::init(self.mpi_sum)?, self.devices);
            (self.node_rank, self.nodes) = link.rank_and_size();
            self.link = Some(Arc::new(link));
            Ok(())
        }
        #[cfg(not(feature = "mpi"))]
        anyhow::bail!(
            "--mpi: this furpe binary was built without MPI; install MPI (Debian: libopenmpi-dev \
             openmpi-bin) and rebuild with `cargo build --release -p furpe-trainer --features mpi`"
        )
    }

    /// Prints `error` and ends every rank of an MPI job (the others would
    /// wait for this one); returns when there is no MPI.
    pub fn abort_on(&self, error: &anyhow::Error) {
        if let Some(link) = &self.link {
            link.abort_on(error);
        }
    }

    pub fn validate(&self, batch: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.devices >= 1 && self.nodes >= 1,
            "--devices and --nodes must be at least 1"
        );
        anyhow::ensure!(
            self.node_rank < self.nodes,
            "--node-rank {} is outside 0..{} (--nodes)",
            self.node_rank,
            self.nodes
        );
        anyhow::ensure!(
            batch.is_multiple_of(self.peers()),
            "the batch of {batch} does not split evenly over {} devices × {} machines; choose a batch that is a multiple of {}",
            self.devices,
            self.nodes,
            self.peers()
        );
        anyhow::ensure!(
            !self.mpi || self.link.is_some(),
            "--mpi: MPI is not initialised (ParallelArgs::resolve first)"
        );
        if self.nodes > 1 && !self.mpi {
            let master = self.master.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "--nodes {} needs --mpi (launched by mpirun or srun), or for the TCP development fallback --dev-tcp-master HOST:PORT, node 0's address (the same on every machine)",
                    self.nodes
                )
            })?;
            net::parse_master(master)?;
        }
        if self.nccl && !cfg!(feature = "nccl") {
            anyhow::bail!(
                "--nccl: this furpe binary was built without NCCL; rebuild with `cargo build --release -p furpe-trainer --features nccl` (with `mpi` too for several processes)"
            );
        }
        if self.devices > 1 && !cfg!(feature = "ddp") {
            anyhow::bail!(
                "this furpe binary was built without data parallelism over devices; rebuild with `cargo build --release -p furpe-trainer --features ddp`"
            );
        }
        Ok(())
    }

    /// The peers this process runs, one per local device; with several
    /// machines, after the link between them is up (node 0 waits here for the
    /// others, and they for node 0).
    pub fn local_peers(&self) -> anyhow::Result<Vec<Peer>> {
        let link = match (self.nodes > 1, &self.link, &self.master) {
            (true, Some(link), _) => Some(link.clone()),
            (true, None, Some(master)) => Some(Arc::new(net::Link::connect(
                master,
                self.node_rank,
                self.nodes,
                self.devices,
            )?)),
            (true, None, None) => {
                anyhow::bail!("--nodes > 1 needs --mpi, or --dev-tcp-master HOST:PORT")
            }
            (false, _, _) => None,
        };
        #[cfg(feature = "nccl")]
        let nccl_id = self
            .nccl
            .then(|| {
                let mine = if self.node_rank == 0 {
                    nccl::Id::new()?.to_values()
                } else {
                    nccl::Id::zeros()
                };
                let all = match &link {
                    Some(link) => link
                        .share(mine)
                        .map_err(|e| e.context("sharing the NCCL id with the other processes"))?,
                    None => mine,
                };
                nccl::Id::from_values(&all)
            })
            .transpose()?;
        Ok((0..self.devices)
            .map(|local| Peer {
                index: self.node_rank * self.devices + local,
                count: self.peers(),
                local,
                args: self.clone(),
                link: link.clone(),
                #[cfg(feature = "nccl")]
                nccl: nccl_id.map(|id| (id, Arc::new(std::sync::OnceLock::new()))),
            })
            .collect())
    }
}

/// One replica of the run.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Global index, 0..count (node-major).
    pub index: usize,
    pub count: usize,
    /// Index among this machine's peers, 0..devices.
    local: usize,
    args: ParallelArgs,
    /// To the other machines (several machines only).
    link: Option<Arc<net::Link>>,
    /// With --nccl: the run's NCCL id, and this peer's communicator once
    /// [`Peer::register`] has joined it.
    #[cfg(feature = "nccl")]
    nccl: Option<(nccl::Id, Arc<std::sync::OnceLock<nccl::Comm>>)>,
}

impl Peer {
    /// Machines in the run.
    pub fn nodes(&self) -> usize {
        self.args.nodes
    }

    /// Peer 0 validates, logs, draws the progress bar and writes files.
    pub fn leader(&self) -> bool {
        self.index == 0
    }

    /// This peer's slice of a global batch: (first global slot, rows).
    pub fn slice<'a>(&self, rows: &'a [usize]) -> (usize, &'a [usize]) {
        let per = rows.len() / self.count;
        let first = self.index * per;
        (first, &rows[first..first + per])
    }

    /// Whether sums go through NCCL (`--nccl`), even with one peer: a
    /// single-GPU run then exercises the NCCL path (its sum is the identity).
    fn uses_nccl(&self) -> bool {
        self.args.nccl
    }

    /// With --nccl, this peer's communicator.
    #[cfg(feature = "nccl")]
    fn comm(&self) -> anyhow::Result<&nccl::Comm> {
        self.nccl
            .as_ref()
            .and_then(|(_, comm)| comm.get())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "peer {}: NCCL is not joined (Peer::register first)",
                    self.index
                )
            })
    }

    /// Joins this machine's collective (a no-op for a single device), or
    /// with --nccl the run's NCCL communicator on this peer's GPU.
    pub fn register<B: Backend>(&self, device: &B::Device) -> anyhow::Result<()> {
        #[cfg(feature = "nccl")]
        if let Some((id, comm)) = &self.nccl {
            let ordinal = nccl::cuda_ordinal(device)
                .ok_or_else(|| anyhow::anyhow!("--nccl needs --backend cuda"))?;
            let joined = nccl::Comm::join(*id, self.index, self.count, ordinal)?;
            comm.set(joined)
                .map_err(|_| anyhow::anyhow!("peer {}: NCCL joined twice", self.index))?;
            return Ok(());
        }
        if self.args.devices == 1 || self.uses_nccl() {
            return Ok(());
        }
        collective::register::<B>(self, device)
    }

    /// Leaves this machine's collective (a no-op for a single device).
    pub fn finish<B: Backend>(&self) -> anyhow::Result<()> {
        if self.args.devices == 1 || self.uses_nccl() {
            return Ok(());
        }
        collective::finish::<B>(self)
    }

    /// The mean over every peer of a flat tensor: the sum over this
    /// machine's devices, then over the machines in rank order, divided by
    /// the number of peers. Every peer calls it, in the same order.
    fn mean_flat<B: Backend>(&self, t: Tensor<B, 1>) -> anyhow::Result<Tensor<B, 1>> {
        #[cfg(feature = "nccl")]
        if self.uses_nccl() {
            let sum = self.comm()?.sum(t)?;
            return Ok(sum.div_scalar(self.count as f32));
        }
        if self.count == 1 {
            return Ok(t);
        }
        let Some(link) = &self.link else {
            return collective::all_reduce::<B>(self, t, false);
        };
        let device = t.device();
        let n = t.dims()[0];
        let local = if self.args.devices > 1 {
            collective::all_reduce::<B>(self, t, true)?
        } else {
            t
        };
        let sum = link.sum(self.local, || {
            furpe::readback::floats(local).map_err(|e| anyhow::anyhow!("peer {}: {e}", self.index))
        })?;
        anyhow::ensure!(sum.len() == n, "the node link changed the number of values");
        let sum = Tensor::<B, 1>::from_data(TensorData::new(sum.to_vec(), [n]), &device);
        Ok(sum.div_scalar(self.count as f32))
    }

    /// The mean of every peer's gradients.
    pub fn mean_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
        &self,
        grads: GradientsParams,
        module: &M,
    ) -> anyhow::Result<GradientsParams> {
        if self.count == 1 && !self.uses_nccl() {
            return Ok(grads);
        }
        if self.link.is_none() && !self.uses_nccl() {
            return collective::mean_gradients::<B::InnerBackend>(self, grads);
        }
        // Across machines, every gradient in the module's parameter order
        // (the same on every replica) as one flat tensor: one exchange a step.
        let mut take = TakeGrads::<B> {
            grads,
            parts: Vec::new(),
        };
        module.visit(&mut take);
        if take.parts.is_empty() {
            return Ok(take.grads);
        }
        let (parts, flat): (Vec<_>, Vec<_>) = take
            .parts
            .into_iter()
            .map(|(id, dims, t)| ((id, dims), t))
            .unzip();
        let mean = self.mean_flat(Tensor::cat(flat, 0))?;
        let mut put = PutGrads::<B> {
            grads: take.grads,
            mean,
            parts,
            next: 0,
            offset: 0,
            error: None,
        };
        module.visit(&mut put);
        if let Some(e) = put.error {
            return Err(e);
        }
        anyhow::ensure!(
            put.next == put.parts.len(),
            "peer {}: {} of {} averaged gradients found no parameter",
            self.index,
            put.parts.len() - put.next,
            put.parts.len()
        );
        Ok(put.grads)
    }

    /// The mean over peers of a few host values (loss terms), so that every
    /// peer logs, and stops on a non-finite loss, alike.
    pub fn mean_values<B: Backend>(
        &self,
        values: Vec<f32>,
        device: &B::Device,
    ) -> anyhow::Result<Vec<f32>> {
        if self.count == 1 {
            return Ok(values);
        }
        let n = values.len();
        let t = Tensor::<B, 1>::from_floats(values.as_slice(), device);
        let t = self.mean_flat::<B>(t)?;
        let out = furpe::readback::floats(t)?;
        anyhow::ensure!(out.len() == n, "all-reduce changed the number of values");
        Ok(out)
    }

    /// The module with every buffer (a float tensor outside autodiff: the
    /// BatchNorm running statistics) replaced by its mean over peers.
    pub fn mean_buffers<B: AutodiffBackend, M: AutodiffModule<B>>(
        &self,
        module: M,
    ) -> anyhow::Result<M> {
        if self.count == 1 {
            return Ok(module);
        }
        // A running statistic keeps this step's update aside until it is
        // synced (`valid` syncs); sync first, or the update would later
        // overwrite the mean.
        drop(module.valid());
        let mut mapper = MeanBuffers {
            peer: self,
            error: None,
        };
        let module = module.map(&mut mapper);
        match mapper.error {
            Some(e) => Err(e),
            None => Ok(module),
        }
    }

    /// Fails if the replicas' weights have drifted apart (they never should:
    /// the same start, the same averaged gradients, the same Adam steps).
    pub fn check_replicas<B: Backend, M: Module<B>>(
        &self,
        module: &M,
        device: &B::Device,
    ) -> anyhow::Result<()> {
        if self.count == 1 {
            return Ok(());
        }
        let own = checksum(module);
        let mean = self.mean_values::<B>(vec![own as f32], device)?[0] as f64;
        anyhow::ensure!(
            (mean - own).abs() <= 1e-5 * own.abs().max(1.0),
            "peer {}: its weights differ from the other replicas' (checksum {own} vs mean {mean}); data-parallel training lost sync",
            self.index
        );
        Ok(())
    }
}

struct MeanBuffers<'a> {
    peer: &'a Peer,
    error: Option<anyhow::Error>,
}

impl<B: AutodiffBackend> ModuleMapper<B> for MeanBuffers<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        if self.error.is_some() {
            return param;
        }
        let (id, value, mapper) = param.consume();
        if value.is_require_grad() {
            return Param::from_mapped_value(id, value, mapper);
        }
        let shape = value.dims();
        let flat = value
            .clone()
            .inner()
            .reshape([shape.iter().product::<usize>()]);
        let value = match self.peer.mean_flat::<B::InnerBackend>(flat) {
            Ok(mean) => Tensor::from_inner(mean.reshape(shape)),
            Err(e) => {
                self.error = Some(e);
                value
            }
        };
        Param::from_mapped_value(id, value, mapper)
    }
}

/// Takes every parameter's gradient out of `grads`, flattened, in visiting
/// order (the same on every replica).
struct TakeGrads<B: AutodiffBackend> {
    grads: GradientsParams,
    parts: Vec<(ParamId, Vec<usize>, Tensor<B::InnerBackend, 1>)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for TakeGrads<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            let dims = g.dims().to_vec();
            let n = dims.iter().product::<usize>();
            self.parts.push((param.id, dims, g.reshape([n])));
        }
    }
}

/// Puts the averaged gradients back, slice by slice, in the same order.
struct PutGrads<B: AutodiffBackend> {
    grads: GradientsParams,
    mean: Tensor<B::InnerBackend, 1>,
    parts: Vec<(ParamId, Vec<usize>)>,
    next: usize,
    offset: usize,
    error: Option<anyhow::Error>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for PutGrads<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some((id, shape)) = self.parts.get(self.next) else {
            return;
        };
        if *id != param.id || self.error.is_some() {
            return;
        }
        let Ok(dims) = <[usize; D]>::try_from(shape.as_slice()) else {
            self.error = Some(anyhow::anyhow!(
                "a gradient of shape {shape:?} for a parameter of rank {D}"
            ));
            return;
        };
        let n: usize = dims.iter().product();
        let part = self.mean.clone().narrow(0, self.offset, n).reshape(dims);
        self.grads.register(param.id, part);
        self.next += 1;
        self.offset += n;
    }
}

/// FNV-1a (64 bits, hex) of every parameter's f32 bits in visiting order:
/// the summary's `weights`, equal exactly when two replicas are.
pub fn digest<B: Backend, M: Module<B>>(module: &M) -> anyhow::Result<String> {
    struct Fnv(u64, Option<furpe::readback::ReadbackError>);
    impl<B: Backend> ModuleVisitor<B> for Fnv {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let values = match furpe::readback::floats(param.val()) {
                Ok(v) => v,
                Err(e) => {
                    self.1.get_or_insert(e);
                    return;
                }
            };
            for v in values {
                for b in v.to_bits().to_le_bytes() {
                    self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3);
                }
            }
        }
    }
    let mut fnv = Fnv(0xCBF2_9CE4_8422_2325, None);
    module.visit(&mut fnv);
    match fnv.1 {
        Some(e) => Err(e.into()),
        None => Ok(format!("{:016x}", fnv.0)),
    }
}

/// A position-weighted sum of |parameters|: equal replicas give equal sums.
fn checksum<B: Backend, M: Module<B>>(module: &M) -> f64 {
    struct Sum(f64, usize);
    impl<B: Backend> ModuleVisitor<B> for Sum {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.1 += 1;
            let s: f64 = param.val().abs().sum().into_scalar().elem();
            self.0 += s * self.1 as f64;
        }
    }
    let mut sum = Sum(0.0, 0);
    module.visit(&mut sum);
    sum.0
}

/// Within a machine: burn-collective's all-reduce between its devices.
#[cfg(feature = "ddp")]
mod collective {
    use anyhow::anyhow;
    use burn::optim::GradientsParams;
    use burn::tensor::backend::Backend;
    use burn::tensor::{Tensor, TensorPrimitive};
    use burn_collective::{
        all_reduce as reduce, finish_collective, register as join, CollectiveConfig, PeerId,
        ReduceOperation,
    };

    use super::Peer;

    fn id(peer: &Peer) -> PeerId {
        PeerId(peer.local as u32)
    }

    pub fn register<B: Backend>(peer: &Peer, device: &B::Device) -> anyhow::Result<()> {
        let config = CollectiveConfig::default().with_num_devices(peer.args.devices);
        join::<B>(id(peer), device.clone(), config)
            .map_err(|e| anyhow!("peer {}: cannot join the collective: {e:?}", peer.index))
    }

    pub fn finish<B: Backend>(peer: &Peer) -> anyhow::Result<()> {
        finish_collective::<B>(id(peer))
            .map_err(|e| anyhow!("peer {}: cannot leave the collective: {e:?}", peer.index))
    }

    /// The mean of every local peer's gradients.
    pub fn mean_gradients<B: Backend>(
        peer: &Peer,
        grads: GradientsParams,
    ) -> anyhow::Result<GradientsParams> {
        grads
            .all_reduce::<B>(id(peer), ReduceOperation::Mean)
            .map_err(|e| anyhow!("peer {}: gradient all-reduce failed: {e:?}", peer.index))
    }

    /// The sum (or the mean) over this machine's peers.
    pub fn all_reduce<B: Backend>(
        peer: &Peer,
        t: Tensor<B, 1>,
        sum: bool,
    ) -> anyhow::Result<Tensor<B, 1>> {
        let op = if sum {
            ReduceOperation::Sum
        } else {
            ReduceOperation::Mean
        };
        let out = reduce::<B>(id(peer), t.into_primitive().tensor(), op)
            .map_err(|e| anyhow!("peer {}: all-reduce failed: {e:?}", peer.index))?;
        Ok(Tensor::from_primitive(TensorPrimitive::Float(out)))
    }
}

#[cfg(not(feature = "ddp"))]
mod collective {
    use burn::optim::GradientsParams;
    use burn::tensor::backend::Backend;
    use burn::tensor::Tensor;

    use super::Peer;

    const MISSING: &str = "this furpe binary was built without data parallelism over devices; rebuild with `cargo build --release -p furpe-trainer --features ddp`";

    pub fn register<B: Backend>(_: &Peer, _: &B::Device) -> anyhow::Result<()> {
        anyhow::bail!(MISSING)
    }
    pub fn finish<B: Backend>(_: &Peer) -> anyhow::Result<()> {
        anyhow::bail!(MISSING)
    }
    pub fn mean_gradients<B: Backend>(
        _: &Peer,
        _: GradientsParams,
    ) -> anyhow::Result<GradientsParams> {
        anyhow::bail!(MISSING)
    }
    pub fn all_reduce<B: Backend>(
        _: &Peer,
        _: Tensor<B, 1>,
        _: bool,
    ) -> anyhow::Result<Tensor<B, 1>> {
        anyhow::bail!(MISSING)
    }
}
