//! The link between the machines (processes) of a multi-machine run: a sum
//! of f32 buffers, over MPI (feature `mpi`, [`super::mpi`]: what clusters
//! run, the documented way) or, as a development fallback, over TCP (std
//! only, node 0 as the hub; no authentication, so for trusted networks
//! only).
//!
//! Over TCP every other node holds one connection to node 0. In each exchange every
//! node sends its buffer; node 0 adds them in rank order (its own, then node
//! 1's, node 2's, ...) and sends the sum back to all. The order never
//! changes, so every run of a configuration gives the same sums, and every
//! node receives the very same bits: the replicas stay identical.
//!
//! On a machine with several devices only its first device's peer (local
//! index 0) talks to the network; the others hold the same buffer (the
//! within-machine all-reduce ran first) and take the result from it
//! through [`Link::sum`]'s hand-off.
//!
//! Wire format (little-endian): a node's greeting is `FURPEDDP`, the
//! protocol version, its rank, --nodes and --devices (u32 each); node 0
//! answers one status byte (0: accepted; otherwise a u32 length and a UTF-8
//! reason follow). An exchange is a header (sequence number u64, value count
//! u64) and the values (f32), one way and then the other.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context};

const MAGIC: &[u8; 8] = b"FURPEDDP";
const VERSION: u32 = 1;
/// How long node 0 waits for the others to connect, and they for node 0.
const RENDEZVOUS: Duration = Duration::from_secs(600);

/// This machine's end of the link (one per process, shared by its peers).
pub struct Link {
    rank: usize,
    nodes: usize,
    /// The wire is MPI (a failing rank must end the job).
    is_mpi: bool,
    io: Mutex<Io>,
    handoff: Mutex<Handoff>,
    ready: Condvar,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Link(node {} of {})", self.rank, self.nodes)
    }
}

enum Wire {
    /// Node 0: the other nodes, in rank order.
    Hub(Vec<TcpStream>),
    /// Any other node: its connection to node 0.
    Spoke(TcpStream),
    /// Every rank of an MPI job.
    #[cfg(feature = "mpi")]
    Mpi(super::mpi::World),
}

struct Io {
    wire: Wire,
    /// Exchanges so far; both ends check it, so nodes out of step fail.
    seq: u64,
}

/// The latest result, for the local peers other than the first.
struct Handoff {
    generation: u64,
    result: Option<Result<Arc<Vec<f32>>, String>>,
    /// The generation each local peer took last.
    taken: Vec<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// HOST:PORT (a `tcp://` prefix is accepted) → (host, port).
pub fn parse_master(value: &str) -> anyhow::Result<(String, u16)> {
    let bare = value.strip_prefix("tcp://").unwrap_or(value);
    let (host, port) = Some(bare)
        .filter(|b| !b.contains('/'))
        .and_then(|b| b.rsplit_once(':'))
        .filter(|(h, _)| !h.is_empty())
        .ok_or_else(|| {
            anyhow!("--dev-tcp-master {value:?}: expected HOST:PORT (node 0's address)")
        })?;
    let port: u16 =
        port.parse().ok().filter(|p| *p != 0).ok_or_else(|| {
            anyhow!("--dev-tcp-master {value:?}: {port:?} is not a port (1..65535)")
        })?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), port))
}

impl Link {
    /// Node 0 listens on the port of `master` (every interface) until the
    /// other nodes have connected; the others connect to `master`.
    pub fn connect(
        master: &str,
        rank: usize,
        nodes: usize,
        devices: usize,
    ) -> anyhow::Result<Self> {
        let (host, port) = parse_master(master)?;
        let wire = if rank == 0 {
            Wire::Hub(accept_nodes(port, nodes, devices)?)
        } else {
            Wire::Spoke(join_hub(&host, port, rank, nodes, devices)?)
        };
        Ok(Self::with_wire(wire, rank, nodes, devices))
    }

    /// This process's end of `wire`, shared by its `devices` local peers.
    fn with_wire(wire: Wire, rank: usize, nodes: usize, devices: usize) -> Self {
        #[cfg(feature = "mpi")]
        let is_mpi = matches!(wire, Wire::Mpi(_));
        #[cfg(not(feature = "mpi"))]
        let is_mpi = false;
        Self {
            rank,
            nodes,
            is_mpi,
            io: Mutex::new(Io { wire, seq: 0 }),
            handoff: Mutex::new(Handoff {
                generation: 0,
                result: None,
                taken: vec![0; devices],
            }),
            ready: Condvar::new(),
        }
    }

    /// The link over MPI: this process is rank `world.rank()` of
    /// `world.size()`.
    #[cfg(feature = "mpi")]
    pub fn over_mpi(world: super::mpi::World, devices: usize) -> Self {
        let (rank, nodes) = (world.rank(), world.size());
        Self::with_wire(Wire::Mpi(world), rank, nodes, devices)
    }

    /// This process's rank and the number of processes.
    #[cfg(feature = "mpi")]
    pub fn rank_and_size(&self) -> (usize, usize) {
        (self.rank, self.nodes)
    }

    /// Prints `error` and ends the whole job when the link is MPI (the
    /// other ranks would wait for this one forever); returns otherwise.
    pub fn abort_on(&self, error: &anyhow::Error) {
        if self.is_mpi {
            eprintln!(
                "error (MPI rank {} of {}): {error:#}; ending the job",
                self.rank, self.nodes
            );
            #[cfg(feature = "mpi")]
            super::mpi::abort_world(1);
        }
    }

    /// The element-wise sum of every node's buffer. Each local peer calls it
    /// once per exchange, in the same order; `local` 0 supplies the buffer
    /// (`values` runs on it alone) and talks to the network, the others wait
    /// for its result (their own buffer would be the same).
    pub fn sum(
        &self,
        local: usize,
        values: impl FnOnce() -> anyhow::Result<Vec<f32>>,
    ) -> anyhow::Result<Arc<Vec<f32>>> {
        if local == 0 {
            let result = values()
                .and_then(|v| self.exchange(v))
                .map(Arc::new)
                .map_err(|e| format!("{e:#}"));
            let mut h = lock(&self.handoff);
            h.generation += 1;
            h.result = Some(result.clone());
            h.taken[0] = h.generation;
            drop(h);
            self.ready.notify_all();
            return result.map_err(|e| anyhow!(e));
        }
        let mut h = lock(&self.handoff);
        let want = h.taken[local] + 1;
        while h.generation < want {
            h = self.ready.wait(h).unwrap_or_else(|e| e.into_inner());
        }
        // The first peer cannot start exchange n + 1 before this one has taken
        // exchange n: n + 1 begins with a within-machine all-reduce that
        // waits for every local peer.
        ensure!(
            h.generation == want,
            "local peer {local} fell out of step with the network exchanges"
        );
        h.taken[local] = want;
        match &h.result {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err(e)) => Err(anyhow!("{e}")),
            None => bail!("no network exchange result"),
        }
    }

    /// The element-wise sum of every process's buffer, once, before any
    /// peer runs (every process calls it at the same point): how the NCCL id
    /// reaches the other processes.
    #[cfg(feature = "nccl")]
    pub fn share(&self, values: Vec<f32>) -> anyhow::Result<Vec<f32>> {
        self.exchange(values)
    }

    fn exchange(&self, mut values: Vec<f32>) -> anyhow::Result<Vec<f32>> {
        let mut io = lock(&self.io);
        io.seq += 1;
        let seq = io.seq;
        let count = values.len() as u64;
        match &mut io.wire {
            Wire::Hub(spokes) => {
                let mut buf = Vec::new();
                // In rank order: the sum's rounding is the same every run.
                for (i, s) in spokes.iter_mut().enumerate() {
                    let rank = i + 1;
                    read_header(s, seq, count)
                        .and_then(|()| read_values(s, &mut buf, values.len()))
                        .with_context(|| format!("exchange {seq} with node {rank}"))?;
                    for (a, b) in values.iter_mut().zip(buf.chunks_exact(4)) {
                        *a += f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                }
                let bytes = encode(seq, &values);
                for (i, s) in spokes.iter_mut().enumerate() {
                    s.write_all(&bytes)
                        .and_then(|()| s.flush())
                        .with_context(|| {
                            format!("exchange {seq}: sending node {} the sum", i + 1)
                        })?;
                }
                Ok(values)
            }
            #[cfg(feature = "mpi")]
            Wire::Mpi(world) => world.sum(seq, values),
            Wire::Spoke(hub) => {
                let bytes = encode(seq, &values);
                hub.write_all(&bytes)
                    .and_then(|()| hub.flush())
                    .with_context(|| {
                        format!("exchange {seq}: sending node 0 this node's values")
                    })?;
                let mut buf = Vec::new();
                read_header(hub, seq, count)
                    .and_then(|()| read_values(hub, &mut buf, values.len()))
                    .with_context(|| format!("exchange {seq}: the sum from node 0"))?;
                for (a, b) in values.iter_mut().zip(buf.chunks_exact(4)) {
                    *a = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
                Ok(values)
            }
        }
    }
}

fn encode(seq: u64, values: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16 + 4 * values.len());
    bytes.extend_from_slice(&seq.to_le_bytes());
    bytes.extend_from_slice(&(values.len() as u64).to_le_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

fn read_u64(s: &mut impl Read) -> anyhow::Result<u64> {
    let mut b = [0u8; 8];
    s.read_exact(&mut b)
        .context("the connection closed (did that node stop?)")?;
    Ok(u64::from_le_bytes(b))
}

fn read_u32(s: &mut impl Read) -> anyhow::Result<u32> {
    let mut b = [0u8; 4];
    s.read_exact(&mut b)
        .context("the connection closed (did that node stop?)")?;
    Ok(u32::from_le_bytes(b))
}

fn read_header(s: &mut impl Read, seq: u64, count: u64) -> anyhow::Result<()> {
    let (their_seq, their_count) = (read_u64(s)?, read_u64(s)?);
    ensure!(
        their_seq == seq && their_count == count,
        "the nodes are out of step (exchange {their_seq} of {their_count} values against {seq} of {count}): do they run the same configuration and furpe version?"
    );
    Ok(())
}

fn read_values(s: &mut impl Read, buf: &mut Vec<u8>, count: usize) -> anyhow::Result<()> {
    buf.resize(4 * count, 0);
    s.read_exact(buf)
        .context("the connection closed (did that node stop?)")
}

fn greeting(rank: usize, nodes: usize, devices: usize) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    for v in [VERSION, rank as u32, nodes as u32, devices as u32] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

fn setup(s: &TcpStream) -> anyhow::Result<()> {
    s.set_nodelay(true)?;
    s.set_nonblocking(false)?;
    Ok(())
}

/// Node 0: accepts the other nodes (any order) and returns them by rank.
fn accept_nodes(port: u16, nodes: usize, devices: usize) -> anyhow::Result<Vec<TcpStream>> {
    let listener = TcpListener::bind(("0.0.0.0", port))
        .with_context(|| format!("node 0 cannot listen on port {port} (--dev-tcp-master)"))?;
    listener.set_nonblocking(true)?;
    eprintln!(
        "node 0: waiting for {} other node(s) on port {port}",
        nodes - 1
    );
    let deadline = Instant::now() + RENDEZVOUS;
    let mut joined: Vec<Option<TcpStream>> = (1..nodes).map(|_| None).collect();
    while joined.iter().any(Option::is_none) {
        let (mut s, from) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                ensure!(
                    Instant::now() < deadline,
                    "node 0: after {} s, {} of {} other nodes have not connected to port {port}",
                    RENDEZVOUS.as_secs(),
                    joined.iter().filter(|j| j.is_none()).count(),
                    nodes - 1
                );
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(e).context("node 0: accepting a node"),
        };
        setup(&s)?;
        // A stray connection must not block the rendezvous.
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let rank = match read_greeting(&mut s, nodes, devices, &joined) {
            Ok(rank) => rank,
            Err(Refusal::Stray(e)) => {
                eprintln!("node 0: ignored a connection from {from}: {e:#}");
                continue;
            }
            Err(Refusal::Mismatch(reason)) => {
                let mut answer = vec![1u8];
                answer.extend_from_slice(&(reason.len() as u32).to_le_bytes());
                answer.extend_from_slice(reason.as_bytes());
                let _ = s.write_all(&answer);
                bail!("node 0: refused the node at {from}: {reason}");
            }
        };
        s.set_read_timeout(None)?;
        s.write_all(&[0u8])
            .with_context(|| format!("node 0: answering node {rank}"))?;
        eprintln!("node 0: node {rank} joined from {from}");
        joined[rank - 1] = Some(s);
    }
    Ok(joined.into_iter().flatten().collect())
}

enum Refusal {
    /// Not a furpe node: ignore it.
    Stray(anyhow::Error),
    /// A furpe node of another configuration: fail the run.
    Mismatch(String),
}

fn read_greeting(
    s: &mut TcpStream,
    nodes: usize,
    devices: usize,
    joined: &[Option<TcpStream>],
) -> Result<usize, Refusal> {
    let mut magic = [0u8; 8];
    s.read_exact(&mut magic)
        .map_err(|e| Refusal::Stray(e.into()))?;
    if &magic != MAGIC {
        return Err(Refusal::Stray(anyhow!("not a furpe node")));
    }
    let mut field = || read_u32(s).map_err(Refusal::Stray);
    let (version, rank, their_nodes, their_devices) = (field()?, field()?, field()?, field()?);
    let (rank, their_nodes, their_devices) =
        (rank as usize, their_nodes as usize, their_devices as usize);
    if version != VERSION {
        return Err(Refusal::Mismatch(format!(
            "node {rank} speaks protocol {version}, this furpe {VERSION}: run the same furpe version on every machine"
        )));
    }
    if their_nodes != nodes || their_devices != devices {
        return Err(Refusal::Mismatch(format!(
            "node {rank} has --nodes {their_nodes} --devices {their_devices}, node 0 --nodes {nodes} --devices {devices}: they must match"
        )));
    }
    if rank == 0 || rank >= nodes {
        return Err(Refusal::Mismatch(format!(
            "a node says --node-rank {rank}; the others must be 1..{}",
            nodes - 1
        )));
    }
    if joined[rank - 1].is_some() {
        return Err(Refusal::Mismatch(format!(
            "two nodes say --node-rank {rank}"
        )));
    }
    Ok(rank)
}

/// Any node but 0: connects to node 0 (retrying until it listens).
fn join_hub(
    host: &str,
    port: u16,
    rank: usize,
    nodes: usize,
    devices: usize,
) -> anyhow::Result<TcpStream> {
    let deadline = Instant::now() + RENDEZVOUS;
    let mut said = false;
    let mut s = loop {
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .with_context(|| format!("--dev-tcp-master {host}:{port}: cannot resolve {host}"))?
            .collect();
        if let Some(s) = addrs
            .iter()
            .find_map(|a| TcpStream::connect_timeout(a, Duration::from_secs(5)).ok())
        {
            break s;
        }
        ensure!(
            Instant::now() < deadline,
            "node {rank}: node 0 at {host}:{port} did not answer within {} s",
            RENDEZVOUS.as_secs()
        );
        if !said {
            eprintln!("node {rank}: waiting for node 0 at {host}:{port}");
            said = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    setup(&s)?;
    s.write_all(&greeting(rank, nodes, devices))
        .with_context(|| format!("node {rank}: greeting node 0"))?;
    let mut status = [0u8; 1];
    s.read_exact(&mut status)
        .with_context(|| format!("node {rank}: node 0 closed the connection"))?;
    if status[0] != 0 {
        let n = read_u32(&mut s)? as usize;
        let mut reason = vec![0u8; n.min(4096)];
        s.read_exact(&mut reason)?;
        bail!(
            "node {rank}: node 0 refused this node: {}",
            String::from_utf8_lossy(&reason)
        );
    }
    eprintln!("node {rank}: joined node 0 at {host}:{port}");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_addresses() {
        assert_eq!(parse_master("host0:3131").unwrap(), ("host0".into(), 3131));
        assert_eq!(
            parse_master("tcp://10.0.0.2:9").unwrap(),
            ("10.0.0.2".into(), 9)
        );
        assert_eq!(parse_master("[::1]:3131").unwrap(), ("::1".into(), 3131));
        assert!(parse_master("host0").is_err());
        assert!(parse_master("ws://host0:3030/x").is_err());
        assert!(parse_master("ws://host0").is_err());
        assert!(parse_master("host0:0").is_err());
        assert!(parse_master(":3131").is_err());
    }

    /// Three nodes (threads) sum three buffers several times; every node also
    /// has a second local peer that takes its results from the hand-off.
    #[test]
    fn three_nodes_sum_in_rank_order() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let master = format!("127.0.0.1:{port}");
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..3)
                .map(|rank| {
                    let master = master.clone();
                    scope.spawn(move || {
                        let link = Link::connect(&master, rank, 3, 2).unwrap();
                        // Stands for the within-machine all-reduce that
                        // precedes every exchange.
                        let local = std::sync::Barrier::new(2);
                        std::thread::scope(|inner| {
                            let second = inner.spawn(|| {
                                (0..4)
                                    .map(|_| {
                                        local.wait();
                                        link.sum(1, || unreachable!()).unwrap().to_vec()
                                    })
                                    .collect::<Vec<_>>()
                            });
                            let first: Vec<_> = (0..4)
                                .map(|op| {
                                    local.wait();
                                    let v = vec![rank as f32 + op as f32, 0.1 * rank as f32];
                                    link.sum(0, || Ok(v)).unwrap().to_vec()
                                })
                                .collect();
                            assert_eq!(first, second.join().unwrap());
                            first
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for op in 0..4 {
            let want = vec![
                (0.0 + op as f32) + (1.0 + op as f32) + (2.0 + op as f32),
                (0.0f32 + 0.1) + 0.2,
            ];
            for r in &results {
                assert_eq!(r[op], want);
            }
        }
    }
}
