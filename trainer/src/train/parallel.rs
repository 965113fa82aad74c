//! Data parallelism for `furpe train`: one peer (a thread) per device on
//! this machine, and optionally several machines, kept in step with
//! burn-collective (Burn's all-reduce; feature `ddp`).
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

use burn::module::ModuleMapper;
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};

/// Held while a peer seeds the backend and draws its initial weights.
pub static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How a run is spread over devices and machines (`furpe train` flags).
#[derive(Debug, Clone, clap::Args)]
pub struct ParallelArgs {
    /// Devices on this machine, one training thread each: CUDA/wgpu GPUs
    /// 0..N-1. On the CPU backend N threads share the one CPU (a test of the
    /// data-parallel path, not a speed-up). The global batch is split evenly.
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Machines in the run (EXPERIMENTAL: hangs in its second all-reduce in
    /// our localhost test; see the README). Start `furpe orchestrator --port P` on one of
    /// them, then `furpe train` with the same config on each, with its own
    /// --node-rank, the same --nodes and --orchestrator, and its --node-address.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// This machine's rank, 0..nodes-1 (rank 0 logs and writes checkpoints).
    #[arg(long, default_value_t = 0)]
    pub node_rank: usize,
    /// The orchestrator's address, ws://HOST:PORT.
    #[arg(long)]
    pub orchestrator: Option<String>,
    /// This machine's address as the others reach it, ws://HOST:PORT, where
    /// PORT is --data-port (tensors are exchanged peer to peer through it).
    #[arg(long)]
    pub node_address: Option<String>,
    #[arg(long, default_value_t = 3131)]
    pub data_port: u16,
}

impl Default for ParallelArgs {
    fn default() -> Self {
        Self {
            devices: 1,
            nodes: 1,
            node_rank: 0,
            orchestrator: None,
            node_address: None,
            data_port: 3131,
        }
    }
}

impl ParallelArgs {
    /// Total peers over all machines.
    pub fn peers(&self) -> usize {
        self.devices * self.nodes
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
        if self.nodes > 1 {
            anyhow::ensure!(
                self.orchestrator.is_some() && self.node_address.is_some(),
                "--nodes {} needs --orchestrator ws://HOST:PORT (see `furpe orchestrator`) and this machine's --node-address ws://HOST:{}",
                self.nodes,
                self.data_port
            );
        }
        if self.nodes > 1 {
            eprintln!(
                "warning: multi-machine training is experimental: in our two-process test on localhost the nodes connect and then wait forever in the second all-reduce (burn-collective 0.21); see the README"
            );
        }
        if self.peers() > 1 && !cfg!(feature = "ddp") {
            anyhow::bail!(
                "this furpe binary was built without data parallelism; rebuild with `cargo build --release -p furpe-trainer --features ddp`"
            );
        }
        Ok(())
    }

    /// The peers this process runs, one per local device.
    pub fn local_peers(&self) -> Vec<Peer> {
        (0..self.devices)
            .map(|local| Peer {
                index: self.node_rank * self.devices + local,
                count: self.peers(),
                args: self.clone(),
            })
            .collect()
    }
}

/// One replica of the run.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Global index, 0..count (node-major).
    pub index: usize,
    pub count: usize,
    args: ParallelArgs,
}

impl Peer {
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

    /// Joins the collective (a no-op for a single peer).
    pub fn register<B: Backend>(&self, device: &B::Device) -> anyhow::Result<()> {
        if self.count == 1 {
            return Ok(());
        }
        collective::register::<B>(self, device)
    }

    /// Leaves the collective (a no-op for a single peer).
    pub fn finish<B: Backend>(&self) -> anyhow::Result<()> {
        if self.count == 1 {
            return Ok(());
        }
        collective::finish::<B>(self)
    }

    /// The mean of every peer's gradients.
    pub fn mean_gradients<B: Backend>(
        &self,
        grads: GradientsParams,
    ) -> anyhow::Result<GradientsParams> {
        if self.count == 1 {
            return Ok(grads);
        }
        collective::mean_gradients::<B>(self, grads)
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
        let t = collective::mean_tensor::<B>(self, t)?;
        let out: Vec<f32> = t.into_data().convert::<f32>().to_vec().unwrap_or_default();
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
        let value = match collective::mean_tensor::<B::InnerBackend>(self.peer, flat) {
            Ok(mean) => Tensor::from_inner(mean.reshape(shape)),
            Err(e) => {
                self.error = Some(e);
                value
            }
        };
        Param::from_mapped_value(id, value, mapper)
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

/// `furpe orchestrator`: the coordinator multi-machine runs connect to.
#[derive(Debug, clap::Args)]
pub struct OrchestratorArgs {
    /// Port to listen on (WebSocket).
    #[arg(long, default_value_t = 3030)]
    pub port: u16,
}

pub fn orchestrator(args: OrchestratorArgs) -> anyhow::Result<()> {
    collective::orchestrator(args.port)
}

#[cfg(feature = "ddp")]
mod collective {
    use std::str::FromStr;

    use anyhow::anyhow;
    use burn::optim::GradientsParams;
    use burn::tensor::backend::Backend;
    use burn::tensor::{Tensor, TensorPrimitive};
    use burn_collective::{
        all_reduce, finish_collective, register as join, start_global_orchestrator,
        AllReduceStrategy, CollectiveConfig, PeerId, ReduceOperation,
    };
    use burn_communication::Address;

    use super::Peer;

    fn id(peer: &Peer) -> PeerId {
        PeerId(peer.index as u32)
    }

    fn address(flag: &str, value: &str) -> anyhow::Result<Address> {
        anyhow::ensure!(
            value.starts_with("ws://"),
            "{flag} {value:?}: expected ws://HOST:PORT"
        );
        Address::from_str(value).map_err(|e| anyhow!("{flag} {value:?}: {e}"))
    }

    pub fn register<B: Backend>(peer: &Peer, device: &B::Device) -> anyhow::Result<()> {
        let args = &peer.args;
        let mut config = CollectiveConfig::default().with_num_devices(args.devices);
        if args.nodes > 1 {
            let (Some(global), Some(node)) = (&args.orchestrator, &args.node_address) else {
                anyhow::bail!("--nodes > 1 needs --orchestrator and --node-address");
            };
            config = config
                .with_num_nodes(args.nodes as u32)
                .with_global_address(address("--orchestrator", global)?)
                .with_node_address(address("--node-address", node)?)
                .with_data_service_port(args.data_port)
                // burn-collective 0.21's ring cannot split a tensor smaller
                // than the node count (a one-value all-reduce fails with
                // RingReduceImpossible); a binary tree takes any size.
                .with_global_all_reduce_strategy(AllReduceStrategy::Tree(2));
        }
        join::<B>(id(peer), device.clone(), config)
            .map_err(|e| anyhow!("peer {}: cannot join the collective: {e:?}", peer.index))
    }

    pub fn finish<B: Backend>(peer: &Peer) -> anyhow::Result<()> {
        finish_collective::<B>(id(peer))
            .map_err(|e| anyhow!("peer {}: cannot leave the collective: {e:?}", peer.index))
    }

    pub fn mean_gradients<B: Backend>(
        peer: &Peer,
        grads: GradientsParams,
    ) -> anyhow::Result<GradientsParams> {
        grads
            .all_reduce::<B>(id(peer), ReduceOperation::Mean)
            .map_err(|e| anyhow!("peer {}: gradient all-reduce failed: {e:?}", peer.index))
    }

    pub fn mean_tensor<B: Backend>(peer: &Peer, t: Tensor<B, 1>) -> anyhow::Result<Tensor<B, 1>> {
        let out = all_reduce::<B>(id(peer), t.into_primitive().tensor(), ReduceOperation::Mean)
            .map_err(|e| anyhow!("peer {}: all-reduce failed: {e:?}", peer.index))?;
        Ok(Tensor::from_primitive(TensorPrimitive::Float(out)))
    }

    pub fn orchestrator(port: u16) -> anyhow::Result<()> {
        eprintln!("furpe orchestrator listening on ws://0.0.0.0:{port} (Ctrl-C to stop)");
        tokio::runtime::Runtime::new()?.block_on(start_global_orchestrator(port));
        Ok(())
    }
}

#[cfg(not(feature = "ddp"))]
mod collective {
    use burn::optim::GradientsParams;
    use burn::tensor::backend::Backend;
    use burn::tensor::Tensor;

    use super::Peer;

    const MISSING: &str = "this furpe binary was built without data parallelism; rebuild with `cargo build --release -p furpe-trainer --features ddp`";

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
    pub fn mean_tensor<B: Backend>(_: &Peer, _: Tensor<B, 1>) -> anyhow::Result<Tensor<B, 1>> {
        anyhow::bail!(MISSING)
    }
    pub fn orchestrator(_: u16) -> anyhow::Result<()> {
        anyhow::bail!(MISSING)
    }
}
