//! `furpe prepare`: the data half of FuRPE in one call, on the embedded
//! defaults: the synthetic world (`furpe synth`) → three small part experts
//! trained on it (`furpe expert train`) → pseudo labels for every image
//! (`furpe label`) → the three-step selection (`furpe select`). [`prepare`]
//! is the reusable function (`furpe demo` continues from it with the student).
//!
//! Layout of OUT: `data/` (images, annotations.jsonl, labels/, selection.json),
//! `experts/{body,face,hand}.expert` (+ `.report.json`), `prepare.json` (the summary).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use furpe::dataset::read_annotations;
use furpe::experts::{body_label_error_deg, camera_frame_orientation};
use furpe::nets::ExpertKind;
use furpe::selection::{Decision, Summary};
use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;
use crate::expert::{ExpertSummary, ExpertTrainArgs};
use crate::label::{LabelArgs, LabelSummary};

#[derive(Debug, Clone, clap::Args)]
pub struct PrepareArgs {
    /// Output directory (data/, experts/, prepare.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Synthetic images.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Image side in pixels (at 128 a hand is ~15 px and its expert cannot see the fingers).
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Training epochs per expert.
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    /// Expert crop side in pixels.
    #[arg(long, default_value_t = 48)]
    pub crop: usize,
    /// Hand expert's crop side: a hand is ~30 px in a 256 px image, so 32 px
    /// crops keep all of it at under half the cost of 48 px.
    #[arg(long, default_value_t = 32)]
    pub hand_crop: usize,
    /// Hand expert's training epochs (its smaller crops train faster).
    #[arg(long, default_value_t = 24)]
    pub hand_epochs: usize,
    /// Expert ResNet base width.
    #[arg(long, default_value_t = 8)]
    pub width: usize,
    /// JSON overriding selection settings (see `furpe select --config`).
    #[arg(long)]
    pub selection_config: Option<PathBuf>,
    /// The body expert: MediaPipe's trained body model with SMPL-X fitted to
    /// its landmarks (`furpe label --experts mediapipe`; the npm package
    /// must be installed), or a small network trained on the new world.
    #[arg(long, value_enum, default_value_t = BodyExpert::Mediapipe)]
    pub body_expert: BodyExpert,
    /// Label with the experts in DIR (body.expert, face.expert, hand.expert
    /// from `furpe expert train`, e.g. the default world's in models/experts)
    /// instead of training three on the new world.
    #[arg(long, value_name = "DIR")]
    pub experts: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

/// Where the body's pseudo labels come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BodyExpert {
    /// MediaPipe's body model (real, trained on people), SMPL-X fitted.
    Mediapipe,
    /// A small network trained on the synthetic world (or DIR's body.expert).
    Trained,
}

/// Mean body-label error (degrees, global + 21 body rotations vs the ground
/// truth) of the images the selection kept and of those it dropped.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SelectionQuality {
    pub kept: usize,
    pub dropped: usize,
    pub kept_error_deg: f64,
    pub dropped_error_deg: f64,
}

/// What [`prepare`] did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrepareSummary {
    pub data: PathBuf,
    /// (step, seconds).
    pub timings: Vec<(String, f64)>,
    pub experts: Vec<ExpertSummary>,
    pub label: LabelSummary,
    pub selection: Summary,
    pub selection_quality: SelectionQuality,
}

pub fn run(args: PrepareArgs) -> anyhow::Result<()> {
    prepare(&args).map(|_| ())
}

/// synth → experts → label → select; prints and returns the summary.
pub fn prepare(args: &PrepareArgs) -> anyhow::Result<PrepareSummary> {
    let total = Instant::now();
    let data = args.out.join("data");
    let mut timings = Vec::new();
    let t = Instant::now();
    crate::synth::run(crate::synth::SynthArgs {
        out: data.clone(),
        count: args.count,
        seed: args.seed,
        model: None,
        size: args.size,
        supersample: 2,
        overlays: false,
        contact_sheet: None,
        framing: crate::synth::Subject::Body,
        scene: crate::synth::Setting::Wild,
        backend: args.backend,
    })?;
    timings.push(("synth".to_string(), t.elapsed().as_secs_f64()));

    let mut experts = Vec::new();
    for part in ExpertKind::ALL {
        if part == ExpertKind::Body && args.body_expert == BodyExpert::Mediapipe {
            continue;
        }
        if let Some(dir) = &args.experts {
            experts.push(trained_expert(
                &dir.join(format!("{}.expert", part.name())),
            )?);
            continue;
        }
        let t = Instant::now();
        let out = args
            .out
            .join("experts")
            .join(format!("{}.expert", part.name()));
        experts.push(crate::expert::train(ExpertTrainArgs {
            part,
            data: data.clone(),
            out,
            epochs: if part == ExpertKind::Hand {
                args.hand_epochs
            } else {
                args.epochs
            },
            crop: if part == ExpertKind::Hand {
                args.hand_crop
            } else {
                args.crop
            },
            width: args.width,
            seed: args.seed,
            batch: 32,
            lr: 1e-3,
            held_out: 0.2,
            no_augment: false,
            crop_sheet: None,
            keypoint_loss: false,
            joint_loss: false,
            model: None,
            backend: args.backend,
        })?);
        timings.push((format!("expert {}", part.name()), t.elapsed().as_secs_f64()));
    }

    let t = Instant::now();
    let file_of = |part: ExpertKind| {
        experts
            .iter()
            .find(|e| e.report.part == part)
            .map(|e| e.out.clone())
    };
    let mediapipe = args.body_expert == BodyExpert::Mediapipe;
    let label = crate::label::label(LabelArgs {
        data: data.clone(),
        experts: if mediapipe {
            crate::label::ExpertSource::Mediapipe
        } else {
            crate::label::ExpertSource::Files
        },
        pose_model: crate::detect::PoseModel::Full,
        // The trained face and hand experts label those parts (they beat
        // MediaPipe's fits on this world: docs/mediapipe_labels.md).
        no_hands: true,
        no_face: true,
        hand_prior: None,
        face_prior: None,
        model: None,
        mediapipe: None,
        body: file_of(ExpertKind::Body),
        face: file_of(ExpertKind::Face),
        hand: file_of(ExpertKind::Hand),
        hand_mean: None,
        shard: "0/1".into(),
        batch: 32,
        chunk: 64,
        // The experts were just trained: any earlier labels are stale.
        force: true,
        backend: args.backend,
    })?;
    timings.push(("label".to_string(), t.elapsed().as_secs_f64()));

    let t = Instant::now();
    crate::select::run(crate::select::SelectArgs {
        data: data.clone(),
        labels: None,
        released: false,
        config: args.selection_config.clone(),
        model: None,
        batch: 64,
        backend: args.backend,
    })?;
    timings.push(("select".to_string(), t.elapsed().as_secs_f64()));
    let (selection, selection_quality) = selection_quality(&data)?;
    timings.push(("total".to_string(), total.elapsed().as_secs_f64()));

    let summary = PrepareSummary {
        data: data.clone(),
        timings,
        experts,
        label,
        selection,
        selection_quality,
    };
    let path = args.out.join("prepare.json");
    furpe::io::write_bytes_atomic(&path, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    println!("\n== furpe prepare: summary ==");
    for e in &summary.experts {
        print!("{}", e.report.table());
    }
    print!("selection:\n{}", summary.selection.table());
    let q = &summary.selection_quality;
    println!(
        "body-label error vs ground truth (mean rotation angle, global + 21 joints): kept {:.2}° ({} images), dropped {:.2}° ({} images)",
        q.kept_error_deg, q.kept, q.dropped_error_deg, q.dropped
    );
    println!("timings:");
    for (step, s) in &summary.timings {
        println!("  {step:<12} {s:>7.1} s");
    }
    println!("wrote {}", path.display());
    Ok(summary)
}

/// A `furpe expert train` file and the report it carries.
fn trained_expert(path: &std::path::Path) -> anyhow::Result<ExpertSummary> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("{name}: cannot read the expert"))?;
    let note = furpe::nets::part_expert::note_of(&bytes, &name)?;
    let mut summary: ExpertSummary = serde_json::from_str(&note)
        .with_context(|| format!("{name}: its header holds no `furpe expert train` report"))?;
    summary.out = path.to_path_buf();
    Ok(summary)
}

/// Reads DATA/selection.json and compares the kept and dropped images' body
/// labels with the ground truth.
pub fn selection_quality(data: &std::path::Path) -> anyhow::Result<(Summary, SelectionQuality)> {
    let path = data.join("selection.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let report: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let summary: Summary = serde_json::from_value(report["summary"].clone())
        .with_context(|| format!("{}: 'summary'", path.display()))?;
    let decisions: Vec<Decision> = serde_json::from_value(report["decisions"].clone())
        .with_context(|| format!("{}: 'decisions'", path.display()))?;
    let annotations = read_annotations(&data.join("annotations.jsonl"))?;
    let labels = furpe::pseudo::load_dir(&data.join("labels"))?;
    let source = data.join("annotations.jsonl").display().to_string();
    let mut q = SelectionQuality::default();
    for (row, d) in decisions.iter().enumerate() {
        let (Some(global), Some(body)) = (
            labels.get("global_orient", row),
            labels.get("body_pose", row),
        ) else {
            continue;
        };
        if global.iter().chain(body).any(|v| !v.is_finite()) {
            continue;
        }
        let Some(gt) = annotations
            .get(d.index as usize)
            .and_then(|a| a.ground_truth.as_ref())
        else {
            continue;
        };
        let (Ok(params), Some(camera)) = (gt.smplx_params(&source), gt.camera) else {
            continue;
        };
        let gt_global = camera_frame_orientation(&camera, &params.global_orient[0]);
        let err = body_label_error_deg(global, body, &gt_global, &params.body_pose[0]);
        if d.kept {
            q.kept += 1;
            q.kept_error_deg += err;
        } else {
            q.dropped += 1;
            q.dropped_error_deg += err;
        }
    }
    q.kept_error_deg /= q.kept.max(1) as f64;
    q.dropped_error_deg /= q.dropped.max(1) as f64;
    Ok((summary, q))
}
