//! `furpe`: FuRPE from the command line.

mod backend;
mod bench;
mod body;
mod crops;
mod demo;
mod expert;
mod import;
mod label;
mod metrics;
mod pipeline;
mod select;
mod synth;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "furpe",
    version,
    about = "FuRPE: full-body (SMPL-X) reconstruction learned from part experts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The SMPL-X body model: write the stand-in mannequin, pose bodies.
    #[command(subcommand)]
    Body(body::BodyCommand),
    /// Benchmarks (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Import images with OpenPose JSON, or ExPose curated fits, as a dataset.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Part experts (SPIN body, DECA face, FrankMocap hand) on part crops.
    #[command(subcommand)]
    Expert(expert::ExpertCommand),
    /// Pseudo labels: run the part experts over a dataset's part crops and
    /// write DATA/labels/shard-IIII-of-NNNN.safetensors (resumable, sharded).
    Label(label::LabelArgs),
    /// The data pipeline in one command: synthetic world → three small part
    /// experts → pseudo labels → selection, with a summary (timings, expert
    /// errors vs the mean baseline, selection table).
    Prepare(pipeline::PrepareArgs),
    /// FuRPE's three-step selection of pseudo labels (keypoint confidence,
    /// invalid expert output, reprojection error).
    Select(select::SelectArgs),
    /// The main job on the embedded defaults (currently: the mannequin and a
    /// posed sequence of meshes; grows into the full pipeline).
    Demo(demo::DemoArgs),
    /// Errors between predicted and ground-truth points (.npy [N, K, 3],
    /// metres): mean distance with and without similarity Procrustes, per
    /// part for SMPL-X vertices, F@5mm/F@15mm for hands.
    Metrics(metrics::MetricsArgs),
    /// The synthetic world: render random people in random scenes and write a
    /// dataset with exact SMPL-X ground truth and OpenPose-137 keypoints from
    /// SimulatedOpenPose, a SIMULATED detector (keypoint_source
    /// "simulated-openpose"; not the real OpenPose).
    Synth(synth::SynthArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Body(c) => body::run(c),
        Command::Bench(c) => bench::run(c),
        Command::Demo(a) => demo::run(a),
        Command::Import(c) => import::run(c),
        Command::Select(a) => select::run(a),
        Command::Expert(c) => expert::run(c),
        Command::Label(a) => label::run(a),
        Command::Prepare(a) => pipeline::run(a),
        Command::Metrics(a) => metrics::run(a),
        Command::Synth(a) => synth::run(a),
    };
    if let Err(error) = result {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
