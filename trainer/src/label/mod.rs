//! `furpe label`: runs the part experts over a dataset and writes pseudo
//! labels (`furpe::pseudo`) in SMPL-X conventions with the experts' features.
//!
//! Per image: the body crop (around the body keypoints), the face crop and
//! both hand crops (around their OpenPose points; left hands mirrored, their
//! outputs un-mirrored) from `furpe::crop::PartCrops`; SPIN → global
//! orientation + 21 body rotations, DECA → jaw + expression[:10], FrankMocap →
//! hand poses relative to the SMPL-X hand mean. A part without a crop (too few
//! keypoints) or without an expert gets NaN, which the selection rejects.
//!
//! `--experts mediapipe` replaces the body and hand experts with MediaPipe's
//! models and an SMPL-X fit to their landmarks ([`mediapipe`]); face and
//! hand expert files (`--face`, `--hand`) may replace MediaPipe's.
//!
//! Sharding: `--shard i/N` takes the images whose index modulo N is i and
//! writes `DIR/labels/shard-IIII-of-NNNN.safetensors`.
//!
//! Crash safety: images are labelled in chunks of `--chunk`; each finished
//! chunk is committed atomically under `DIR/labels/.shard-IIII-of-NNNN.partial/`
//! with a manifest of the run's inputs. A rerun with the same inputs skips the
//! committed chunks; the final shard is written atomically from the chunks and
//! is byte-identical to an uninterrupted run's (chunks do not depend on each
//! other, and the manifest pins the batch and chunk sizes).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::tensor::{backend::Backend, Tensor};
use furpe::crop::{CropTransform, PartCrops};
use furpe::dataset::{read_annotations, Annotation};
use furpe::metrics::Part;
use furpe::nets::part_expert::{self, Expert, ExpertConfig, ExpertKind};
use furpe::nets::{HandSide, RawPrediction};
use furpe::pseudo::{PseudoLabels, PARAM_FIELDS};
use serde::{Deserialize, Serialize};

use crate::backend::{with_backend, BackendJob, BackendKind};
use crate::crops::{batch, RgbImage};
use crate::detect::PoseModel;

pub(crate) mod mediapipe;
use mediapipe::{MediaPipeExperts, MediaPipeLabel};

/// Test-only: abort the process (as a crash would) after this many chunks
/// were committed in this run. Used by tests/label_cli.rs to check resuming.
pub const TEST_ABORT_ENV: &str = "FURPE_TEST_ONLY_ABORT_AFTER_CHUNKS";

#[derive(Debug, Clone, clap::Args)]
pub struct LabelArgs {
    /// Dataset directory (annotations.jsonl, images/); labels go to DATA/labels/.
    #[arg(long)]
    pub data: PathBuf,
    /// Which experts label the body and hands: `files` (the networks given
    /// with --body / --hand) or `mediapipe` (MediaPipe's trained body and
    /// hand models from the npm package, SMPL-X fitted to their landmarks;
    /// docs/mediapipe_labels.md). With mediapipe, --face and --hand files
    /// replace MediaPipe's face and hands.
    #[arg(long, value_enum, default_value_t = ExpertSource::Files)]
    pub experts: ExpertSource,
    /// With --experts mediapipe: which BlazePose landmark model.
    #[arg(long, value_enum, default_value_t = PoseModel::Full)]
    pub pose_model: PoseModel,
    /// With --experts mediapipe: skip the hand model (hands stay unlabelled).
    #[arg(long)]
    pub no_hands: bool,
    /// With --experts mediapipe: skip the face model (the face stays
    /// unlabelled unless --face gives an expert file, which replaces it).
    #[arg(long)]
    pub no_face: bool,
    /// With --experts mediapipe: λ of the hand fits' pose prior, which
    /// holds each finger joint near the model's mean hand (default 1e-3).
    /// Larger values shrink the labels toward the mean hand: on rendered
    /// mannequins, whose hands MediaPipe reads poorly, that is what lets the
    /// labels beat the best constant (docs/mediapipe_labels.md).
    #[arg(long)]
    pub hand_prior: Option<f32>,
    /// With --experts mediapipe: λ of the face fit's prior on jaw and
    /// expression (default 1e-5).
    #[arg(long)]
    pub face_prior: Option<f32>,
    /// With --experts mediapipe: the SMPL-X model the fits pose (.npz,
    /// official layout); default: the embedded mannequin (a stand-in for
    /// the licensed model). Use the model the student trains with.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --experts mediapipe: the `@mediapipe/holistic` package folder
    /// (default: $FURPE_MEDIAPIPE, then models/mediapipe/node_modules/@mediapipe/holistic).
    #[arg(long)]
    pub mediapipe: Option<PathBuf>,
    /// Body expert: a file from `furpe expert train`, or SPIN's `model_checkpoint.pt`.
    #[arg(long)]
    pub body: Option<PathBuf>,
    /// Face expert: a file from `furpe expert train`, or DECA's `deca_model.tar`.
    #[arg(long)]
    pub face: Option<PathBuf>,
    /// Hand expert: a file from `furpe expert train`, or FrankMocap's `pose_shape_best.pth`.
    #[arg(long)]
    pub hand: Option<PathBuf>,
    /// FrankMocap's `mean_mano_params.pkl`, the finger pose its regressor
    /// starts from (with `--hand pose_shape_best.pth`; the checkpoint does
    /// not hold it). Without it the published hand starts from a flat hand.
    #[arg(long, value_name = "PKL")]
    pub hand_mean: Option<PathBuf>,
    /// This process's share: `i/N` labels the images with index % N == i.
    #[arg(long, default_value = "0/1")]
    pub shard: String,
    /// Crops per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Images per committed chunk (the unit of resuming).
    #[arg(long, default_value_t = 64)]
    pub chunk: usize,
    /// Relabel a shard that is already complete: its file and the
    /// selection made from the labels (`DATA/selection.json`) are removed
    /// first. Without it a finished shard is never replaced.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

/// Where the body and hand labels come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExpertSource {
    /// Expert networks from files (--body, --face, --hand).
    Files,
    /// MediaPipe's body and hand models, SMPL-X fitted to their landmarks.
    Mediapipe,
}

/// What labelling did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelSummary {
    pub shard: PathBuf,
    pub images: usize,
    pub resumed_chunks: usize,
    pub seconds: f64,
    pub images_per_second: f64,
}

/// The priors a label run changed, for its manifest (empty: the defaults).
fn priors(hand: Option<f32>, face: Option<f32>) -> String {
    let mut out = String::new();
    if let Some(v) = hand {
        out += &format!(" hand_prior={v}");
    }
    if let Some(v) = face {
        out += &format!(" face_prior={v}");
    }
    out
}

pub fn run(args: LabelArgs) -> anyhow::Result<()> {
    label(args).map(|_| ())
}

/// Labels one shard of a dataset.
pub fn label(args: LabelArgs) -> anyhow::Result<LabelSummary> {
    if args.batch == 0 || args.chunk == 0 {
        anyhow::bail!("--batch and --chunk must be at least 1");
    }
    for (flag, value) in [
        ("--hand-prior", args.hand_prior),
        ("--face-prior", args.face_prior),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && v >= 0.0) {
                anyhow::bail!("{flag} {v}: expected a finite λ ≥ 0");
            }
            if args.experts != ExpertSource::Mediapipe {
                anyhow::bail!("{flag} applies to --experts mediapipe (it weights the fits' prior)");
            }
        }
    }
    match args.experts {
        ExpertSource::Files => {
            if args.body.is_none() && args.face.is_none() && args.hand.is_none() {
                anyhow::bail!("no experts: pass at least one of --body, --face, --hand, or --experts mediapipe");
            }
        }
        ExpertSource::Mediapipe => {
            if args.body.is_some() {
                anyhow::bail!("--experts mediapipe labels the body itself (MediaPipe finds the person through it); --body is for --experts files (--face and --hand may join, replacing MediaPipe's)");
            }
        }
    }
    with_backend(args.backend, args)
}

/// `i/N` → (i, N).
fn parse_shard(spec: &str) -> anyhow::Result<(usize, usize)> {
    let parsed = spec
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n >= 1 && i < n => Ok((i, n)),
        _ => anyhow::bail!("--shard '{spec}': expected i/N with 0 ≤ i < N, e.g. 0/4"),
    }
}

/// A loaded expert and where it came from.
pub(crate) struct Loaded<B: Backend> {
    pub expert: Expert<B>,
    pub config: ExpertConfig,
}

/// A `furpe expert train` file or a published checkpoint (`hand_mean`:
/// FrankMocap's `mean_mano_params.pkl` for the latter) as the `part` expert.
pub(crate) fn load_expert<B: Backend>(
    part: ExpertKind,
    path: &Path,
    hand_mean: Option<&Path>,
    device: &B::Device,
) -> anyhow::Result<Loaded<B>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("{}: cannot read the {} expert", path.display(), part.name()))?;
    let name = path.display().to_string();
    let (expert, config) = if part_expert::is_expert_file(&bytes) {
        if let Some(mean) = hand_mean {
            anyhow::bail!(
                "--hand-mean {}: only for FrankMocap's published checkpoint; {name} is a `furpe expert train` file, which carries its own start",
                mean.display()
            );
        }
        let (expert, config, _) = part_expert::from_bytes::<B>(&bytes, &name, device)?;
        (expert, config)
    } else {
        let (expert, config) = part_expert::load_published::<B>(part, path, device)
            .with_context(|| format!("{name}: neither a `furpe expert train` file nor a loadable published {} checkpoint", part.name()))?;
        match (expert, hand_mean) {
            (part_expert::Expert::Hand(net), Some(mean)) => (
                part_expert::Expert::Hand(net.with_mean_mano_params(mean)?),
                config,
            ),
            (expert, _) => (expert, config),
        }
    };
    if config.part() != part {
        anyhow::bail!(
            "{name}: a {} expert, given as the {} expert",
            config.part().name(),
            part.name()
        );
    }
    Ok(Loaded { expert, config })
}

/// Pins what a committed chunk depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    shard: String,
    images: usize,
    batch: usize,
    chunk: usize,
    /// (part, path, byte length, FNV-1a hash) per expert.
    experts: Vec<(String, String, u64, u64)>,
}

fn fnv1a(path: &Path) -> anyhow::Result<(u64, u64)> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut h: u64 = 0xcbf29ce484222325;
    for b in &bytes {
        h = (h ^ *b as u64).wrapping_mul(0x100000001b3);
    }
    Ok((bytes.len() as u64, h))
}

impl BackendJob for LabelArgs {
    type Output = LabelSummary;
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<LabelSummary> {
        let start = Instant::now();
        let (shard, shards) = parse_shard(&self.shard)?;
        let finished = self
            .data
            .join("labels")
            .join(format!("shard-{shard:04}-of-{shards:04}.safetensors"));
        if finished.exists() {
            anyhow::ensure!(
                self.force,
                "{}: this shard is already labelled; pass --force to relabel it (removes it and {})",
                finished.display(),
                self.data.join("selection.json").display()
            );
            for stale in [finished.clone(), self.data.join("selection.json")] {
                match std::fs::remove_file(&stale) {
                    Ok(()) => eprintln!("--force: removed {}", stale.display()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("{}: cannot remove", stale.display()))
                    }
                }
            }
        }
        let annotations =
            read_annotations(&self.data.join("annotations.jsonl")).with_context(|| {
                format!(
                    "{}: not a dataset (furpe synth or furpe import make one)",
                    self.data.display()
                )
            })?;
        let mut experts: Vec<(ExpertKind, Loaded<B>)> = Vec::new();
        let mut manifest_experts = Vec::new();
        for (part, path) in [
            (ExpertKind::Body, &self.body),
            (ExpertKind::Face, &self.face),
            (ExpertKind::Hand, &self.hand),
        ] {
            if let Some(path) = path {
                let hand_mean = self
                    .hand_mean
                    .as_deref()
                    .filter(|_| part == ExpertKind::Hand);
                experts.push((part, load_expert::<B>(part, path, hand_mean, &device)?));
                let (len, hash) = fnv1a(path)?;
                manifest_experts.push((
                    part.name().to_string(),
                    path.display().to_string(),
                    len,
                    hash,
                ));
            }
        }
        let mediapipe = match self.experts {
            ExpertSource::Files => None,
            ExpertSource::Mediapipe => {
                let root = std::env::current_dir().context("cannot read the current directory")?;
                let package =
                    furpe::mediapipe::package::Package::find(self.mediapipe.as_deref(), &root)?;
                let face = !self.no_face && self.face.is_none();
                let hands = !self.no_hands && self.hand.is_none();
                let holistic = furpe::mediapipe::holistic::Holistic::<B>::new(
                    |file| package.model_bytes(file).map_err(anyhow::Error::from),
                    self.pose_model.file(),
                    hands,
                    face,
                    &device,
                )?;
                let layer = furpe::smplx::SmplxConfig::new()
                    .init(&crate::body::load_model(self.model.as_deref())?, &device)?;
                manifest_experts.push((
                    "body+hands".to_string(),
                    format!(
                        "mediapipe {} hands={hands} face={face}{}",
                        self.pose_model.file().stem(),
                        priors(self.hand_prior, self.face_prior),
                    ),
                    0,
                    0,
                ));
                Some(MediaPipeExperts {
                    holistic,
                    layer,
                    hands,
                    face,
                    hand_prior: self.hand_prior,
                    face_prior: self.face_prior,
                })
            }
        };
        let ids: Vec<usize> = (0..annotations.len())
            .filter(|i| i % shards == shard)
            .collect();
        let labels_dir = self.data.join("labels");
        let stem = format!("shard-{shard:04}-of-{shards:04}");
        let final_path = labels_dir.join(format!("{stem}.safetensors"));
        let partial = labels_dir.join(format!(".{stem}.partial"));
        let manifest = Manifest {
            shard: self.shard.clone(),
            images: annotations.len(),
            batch: self.batch,
            chunk: self.chunk,
            experts: manifest_experts,
        };
        let manifest_path = partial.join("manifest.json");
        if manifest_path.exists() {
            let text = std::fs::read_to_string(&manifest_path)
                .with_context(|| format!("{}: cannot read", manifest_path.display()))?;
            let old: Manifest = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{}: corrupt; delete {} to start over",
                    manifest_path.display(),
                    partial.display()
                )
            })?;
            if old != manifest {
                anyhow::bail!(
                    "{}: an interrupted run with other inputs (experts, shard, batch or chunk size) left chunks here; rerun it with those inputs, or delete the folder to start over",
                    partial.display()
                );
            }
        } else {
            furpe::io::write_bytes_atomic(
                &manifest_path,
                serde_json::to_string_pretty(&manifest)?.as_bytes(),
            )?;
        }
        let abort_after: Option<usize> = std::env::var(TEST_ABORT_ENV)
            .ok()
            .and_then(|v| v.parse().ok());

        let chunks: Vec<&[usize]> = ids.chunks(self.chunk).collect();
        let chunk_path = |c: usize| partial.join(format!("chunk-{c:06}.safetensors"));
        let resumed = (0..chunks.len())
            .filter(|&c| PseudoLabels::load(&chunk_path(c)).is_ok())
            .count();
        if resumed > 0 {
            eprintln!(
                "resuming: {resumed} of {} chunks already committed in {}",
                chunks.len(),
                partial.display()
            );
        }
        let mut progress = Progress::new(ids.len());
        let mut committed = 0;
        let mut done = 0;
        for (c, chunk) in chunks.iter().enumerate() {
            let path = chunk_path(c);
            if PseudoLabels::load(&path).is_ok() {
                done += chunk.len();
                progress.skip(chunk.len());
                continue;
            }
            let rows = label_chunk(
                &experts,
                mediapipe.as_ref(),
                &annotations,
                chunk,
                &self.data,
                self.batch,
                &device,
            )?;
            rows.save(&path)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            committed += 1;
            done += chunk.len();
            progress.update(done);
            if abort_after == Some(committed) {
                eprintln!("\n{TEST_ABORT_ENV}={committed}: aborting on purpose (test only)");
                std::process::abort();
            }
        }
        progress.finish();
        let mut all = PseudoLabels::default();
        for c in 0..chunks.len() {
            let part = PseudoLabels::load(&chunk_path(c))?;
            all.extend(part).map_err(anyhow::Error::msg)?;
        }
        all.save(&final_path)
            .with_context(|| format!("{}: cannot write", final_path.display()))?;
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("{}: cannot remove", partial.display()))?;
        let seconds = start.elapsed().as_secs_f64();
        let summary = LabelSummary {
            shard: final_path.clone(),
            images: ids.len(),
            resumed_chunks: resumed,
            seconds,
            images_per_second: progress.rate(),
        };
        println!(
            "labelled {} images ({} chunks resumed) in {:.1} s, {:.1} images/s; wrote {}",
            ids.len(),
            resumed,
            seconds,
            summary.images_per_second,
            final_path.display()
        );
        Ok(summary)
    }
}

/// Labels for the images `ids`.
fn label_chunk<B: Backend>(
    experts: &[(ExpertKind, Loaded<B>)],
    mediapipe: Option<&MediaPipeExperts<B>>,
    annotations: &[Annotation],
    ids: &[usize],
    data: &Path,
    batch_size: usize,
    device: &B::Device,
) -> anyhow::Result<PseudoLabels> {
    let images: Vec<RgbImage> = ids
        .iter()
        .map(|&i| RgbImage::load(&data.join(&annotations[i].image)))
        .collect::<anyhow::Result<_>>()?;
    let crops: Vec<PartCrops> = ids
        .iter()
        .map(|&i| PartCrops::from_keypoints(&annotations[i].keypoints, annotations[i].person_box))
        .collect();
    // Every field of every row starts as NaN ("no label").
    let mut rows: Vec<Vec<(&'static str, Vec<f32>)>> = crops
        .iter()
        .map(|c| {
            let mut fields: Vec<(&'static str, Vec<f32>)> = PARAM_FIELDS
                .iter()
                .map(|&(k, w)| (k, vec![f32::NAN; w]))
                .collect();
            fields[0].1 = c.body.square().to_vec();
            fields
        })
        .collect();
    let mut set = |row: usize, key: &'static str, values: Vec<f32>| {
        if let Some(f) = rows[row].iter_mut().find(|(k, _)| *k == key) {
            f.1 = values;
        } else {
            rows[row].push((key, values));
        }
    };
    for (part, loaded) in experts {
        let width = loaded.config.feature_dim();
        // (row, crop, hand side) jobs for this expert.
        let jobs: Vec<(usize, CropTransform, HandSide)> = match part {
            ExpertKind::Body => crops
                .iter()
                .enumerate()
                .map(|(r, c)| (r, c.body, HandSide::Right))
                .collect(),
            ExpertKind::Face => crops
                .iter()
                .enumerate()
                .filter_map(|(r, c)| c.face.map(|f| (r, f, HandSide::Right)))
                .collect(),
            ExpertKind::Hand => crops
                .iter()
                .enumerate()
                .flat_map(|(r, c)| {
                    [
                        c.left_hand.map(|h| (r, h, HandSide::Left)),
                        c.right_hand.map(|h| (r, h, HandSide::Right)),
                    ]
                })
                .flatten()
                .collect(),
        };
        // Missing parts keep NaN features of the right width.
        for r in 0..crops.len() {
            for region in part.parts() {
                set(r, region.feature_field(), vec![f32::NAN; width]);
            }
        }
        let size = loaded.config.crop_size;
        for group in jobs.chunks(batch_size) {
            let pixels: Vec<Vec<f32>> = group
                .iter()
                .map(|(r, c, _)| images[*r].crop(c, size))
                .collect();
            let input = batch::<B>(
                &pixels.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                size,
                device,
            );
            let prediction = loaded.expert.forward(input);
            let feature = host_rows(prediction.feature.clone())?;
            match &prediction.raw {
                RawPrediction::Body(out) => {
                    let part = out.to_smplx();
                    let global = host_rows(part.global_orient)?;
                    let body = host_rows(part.body_pose)?;
                    let betas = host_rows(out.betas.clone())?;
                    let camera = host_rows(out.camera.clone())?;
                    for (k, (r, _, _)) in group.iter().enumerate() {
                        set(*r, "global_orient", global[k].clone());
                        set(*r, "body_pose", body[k].clone());
                        set(*r, "smpl_betas", betas[k].clone());
                        set(*r, "body_camera", camera[k].clone());
                        set(*r, Part::Body.feature_field(), feature[k].clone());
                    }
                }
                RawPrediction::Face(out) => {
                    let face = out.to_smplx();
                    let jaw = host_rows(face.jaw_pose)?;
                    let expression = host_rows(face.expression)?;
                    for (k, (r, _, _)) in group.iter().enumerate() {
                        set(*r, "jaw_pose", jaw[k].clone());
                        set(*r, "expression", expression[k].clone());
                        set(*r, Part::Face.feature_field(), feature[k].clone());
                    }
                }
                RawPrediction::Hand(out) => {
                    // Left and right crops share a batch; un-mirror row by row.
                    let left = host_rows(out.to_smplx(HandSide::Left).hand_pose)?;
                    let right = host_rows(out.to_smplx(HandSide::Right).hand_pose)?;
                    for (k, (r, _, side)) in group.iter().enumerate() {
                        match side {
                            HandSide::Left => {
                                set(*r, "left_hand_pose", left[k].clone());
                                set(*r, Part::LeftHand.feature_field(), feature[k].clone());
                            }
                            HandSide::Right => {
                                set(*r, "right_hand_pose", right[k].clone());
                                set(*r, Part::RightHand.feature_field(), feature[k].clone());
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(mediapipe) = mediapipe {
        // Rows where nobody is found keep NaN features of the right width.
        if let Some(width) = mediapipe.holistic.body_feature_len() {
            for r in 0..ids.len() {
                set(r, Part::Body.feature_field(), vec![f32::NAN; width]);
            }
        }
        let chunk: Vec<&Annotation> = ids.iter().map(|&i| &annotations[i]).collect();
        for (r, label) in mediapipe
            .label(&images, &chunk, device)?
            .into_iter()
            .enumerate()
        {
            let MediaPipeLabel {
                body_box,
                body_camera,
                global_orient,
                body_pose,
                feature_body,
                left_hand_pose,
                right_hand_pose,
                jaw_pose,
                expression,
            } = label;
            if let Some(v) = feature_body {
                set(r, Part::Body.feature_field(), v);
            }
            if let Some(v) = jaw_pose {
                set(r, "jaw_pose", v.to_vec());
            }
            if let Some(v) = expression {
                set(r, "expression", v);
            }
            if let Some(v) = body_box {
                set(r, "body_box", v.to_vec());
            }
            if let Some(v) = body_camera {
                set(r, "body_camera", v.to_vec());
            }
            if let Some(v) = global_orient {
                set(r, "global_orient", v.to_vec());
            }
            if let Some(v) = body_pose {
                set(r, "body_pose", v);
            }
            if let Some(v) = left_hand_pose {
                set(r, "left_hand_pose", v);
            }
            if let Some(v) = right_hand_pose {
                set(r, "right_hand_pose", v);
            }
        }
    }
    let mut labels = PseudoLabels::default();
    for (row, &i) in rows.iter().zip(ids) {
        let refs: Vec<(&str, &[f32])> = row.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        labels.push(i as u64, &refs).map_err(anyhow::Error::msg)?;
    }
    Ok(labels)
}

/// `[N, W]` → N host rows.
fn host_rows<B: Backend>(t: Tensor<B, 2>) -> anyhow::Result<Vec<Vec<f32>>> {
    let [n, w] = t.dims();
    let flat = furpe::readback::floats(t)?;
    Ok((0..n).map(|r| flat[r * w..(r + 1) * w].to_vec()).collect())
}

/// A progress bar on stderr with images/s (redrawn in place on a terminal,
/// one line per update otherwise).
struct Progress {
    total: usize,
    start: Instant,
    skipped: usize,
    done: usize,
    tty: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            total,
            start: Instant::now(),
            skipped: 0,
            done: 0,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn skip(&mut self, n: usize) {
        self.skipped += n;
        self.done += n;
    }

    /// Images per second labelled in this run (resumed chunks excluded).
    fn rate(&self) -> f64 {
        (self.done - self.skipped) as f64 / self.start.elapsed().as_secs_f64().max(1e-9)
    }

    fn update(&mut self, done: usize) {
        self.done = done;
        let width = 30;
        let filled = width * done / self.total.max(1);
        let line = format!(
            "label [{}{}] {}/{} images {:.1} images/s",
            "#".repeat(filled),
            "-".repeat(width - filled),
            done,
            self.total,
            self.rate()
        );
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}
