//! Minimal reproduction: burn-collective 0.21's global (multi-node) all-reduce.
//! Run: `repro orchestrator 39301 &`, then `repro node 0 2 39301 39311` and
//! `repro node 1 2 39301 39312`: both print all-reduce 0, then hang in 1
//! (every strategy): SyncService::sync clears a copy of its synced-node list.
//! `repro orchestrator PORT` | `repro node RANK NODES ORCH_PORT DATA_PORT [tree|centralized|ring]`
use std::str::FromStr;

use burn::backend::NdArray;
use burn::tensor::{Tensor, TensorPrimitive};
use burn_collective::{
    all_reduce, register, start_global_orchestrator, AllReduceStrategy, CollectiveConfig, PeerId,
    ReduceOperation,
};
use burn_communication::Address;

type B = NdArray;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a[1] == "orchestrator" {
        let port: u16 = a[2].parse().unwrap();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(start_global_orchestrator(port));
        return;
    }
    let rank: u32 = a[2].parse().unwrap();
    let nodes: u32 = a[3].parse().unwrap();
    let orch: u16 = a[4].parse().unwrap();
    let data: u16 = a[5].parse().unwrap();
    let strategy = match a.get(6).map(String::as_str) {
        Some("centralized") => AllReduceStrategy::Centralized,
        Some("ring") => AllReduceStrategy::Ring,
        _ => AllReduceStrategy::Tree(2),
    };
    let device = Default::default();
    let config = CollectiveConfig::default()
        .with_num_devices(1)
        .with_num_nodes(nodes)
        .with_global_address(Address::from_str(&format!("ws://127.0.0.1:{orch}")).unwrap())
        .with_node_address(Address::from_str(&format!("ws://127.0.0.1:{data}")).unwrap())
        .with_data_service_port(data)
        .with_global_all_reduce_strategy(strategy);
    register::<B>(PeerId(rank), device, config).unwrap();
    eprintln!("node {rank}: registered");
    for op in 0..4 {
        let t = Tensor::<B, 1>::from_floats([rank as f32 + op as f32; 8], &device);
        let out = all_reduce::<B>(PeerId(rank), t.into_primitive().tensor(), ReduceOperation::Sum)
            .unwrap();
        let out = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(out));
        eprintln!("node {rank}: all-reduce {op} -> {:?}", out.into_data().to_vec::<f32>().unwrap());
    }
    eprintln!("node {rank}: done");
}
