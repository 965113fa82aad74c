//! `furpe`: FuRPE from the command line.

mod ablation;
mod backend;
mod bench;
mod body;
mod crops;
mod demo;
mod detect;
mod eval;
mod expert;
mod head;
mod import;
mod infer;
mod label;
mod metrics;
mod pipeline;
mod rng;
mod rundir;
mod select;
mod synth;
mod train;

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
    /// MediaPipe's real body and hand models (npm @mediapipe/holistic) on
    /// images, a folder or a video: OpenPose --write_json files for
    /// `furpe import openpose`, plus every landmark in <stem>_mediapipe.json.
    Detect(detect::DetectArgs),
    /// Part experts (SPIN body, DECA face, FrankMocap hand) on part crops.
    #[command(subcommand)]
    Expert(expert::ExpertCommand),
    /// The pose-head student: an MLP on MediaPipe's pose embedding (a frozen
    /// backbone trained on real people), trained on `furpe label --experts
    /// mediapipe` labels.
    #[command(subcommand)]
    Head(head::HeadCommand),
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
    /// The main job on the embedded defaults: the mannequin and a posed
    /// sequence, a synthetic world, three part experts, pseudo labels, the
    /// selection, a FuRPE student and its evaluation on an unseen world.
    Demo(demo::DemoArgs),
    /// Errors between predicted and ground-truth points (.npy [N, K, 3],
    /// metres): mean distance with and without similarity Procrustes, per
    /// part for SMPL-X vertices, F@5mm/F@15mm for hands.
    Metrics(metrics::MetricsArgs),
    /// Evaluate a predictor (parameter files, the mean baseline, or a student
    /// checkpoint) on EHF, 3DPW, FreiHAND, NoW, Pose2Sim (real people) or a synthetic world: writes
    /// report.md (the paper's Table 1 layout), report.json, per_sample.csv
    /// and worst.png.
    Eval(eval::EvalArgs),
    /// The synthetic world: render random people in random scenes and write a
    /// dataset with exact SMPL-X ground truth and OpenPose-137 keypoints from
    /// SimulatedOpenPose, a SIMULATED detector (keypoint_source
    /// "simulated-openpose"; not the real OpenPose).
    Synth(synth::SynthArgs),
    /// FuRPE training: the student learns from selected pseudo labels with
    /// feature distillation and an EMA teacher; checkpoints, --resume, log,
    /// curves, and the exported student (RUN/student.furpe).
    Train(train::TrainArgs),
    /// Reconstruct people in images with an exported student: parameters
    /// JSON, OBJ mesh and an overlay PNG per image.
    Infer(infer::InferArgs),
    /// Re-export a student file (f32 or --f16 weights for the browser).
    Export(infer::ExportArgs),
    /// The paper's Table 6 ablation (pseudo labels only, + selection, + EMA,
    /// + distillation), several seeds each.
    Ablation(ablation::AblationArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Body(c) => body::run(c),
        Command::Bench(c) => bench::run(c),
        Command::Demo(a) => demo::run(a),
        Command::Detect(a) => detect::run(a),
        Command::Import(c) => import::run(c),
        Command::Select(a) => select::run(a),
        Command::Expert(c) => expert::run(c),
        Command::Head(c) => head::run(c),
        Command::Label(a) => label::run(a),
        Command::Prepare(a) => pipeline::run(a),
        Command::Metrics(a) => metrics::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Train(a) => train::run(a),
        Command::Infer(a) => infer::run_infer(a),
        Command::Export(a) => infer::run_export(a),
        Command::Ablation(a) => ablation::run(a),
    };
    if let Err(error) = result {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
