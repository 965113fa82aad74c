//! `furpe expert train`: trains a small part expert (SPIN body, DECA face or
//! FrankMocap hand network from `furpe::nets`, at a small ResNet depth and
//! width) on the part crops of a dataset with ground truth (the synthetic
//! world) against that ground truth (`furpe::experts` for the targets and the
//! loss), holds out the last images, reports the expert's errors there next
//! to the mean-parameter baseline's, and saves a self-describing expert file.
//!
//! Why this file is long (~900 lines): one command's arguments, samples,
//! batches, step and scoring share its private types; the maths it trains with
//! (targets, losses, reports) is in `furpe::experts`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use furpe::crop::{CropTransform, PartCrops};
use furpe::dataset::{read_annotations, Annotation};
use furpe::experts::{
    body_joint_loss, body_keypoint_loss, body_target, camera_frame_orientation, camera_view,
    expert_loss, face_target, fit_weak_perspective, hand_target, in_plane_rotation,
    joint_global_rotation, loss_weights, mean_target, prediction_rows, target_tensors,
    ExpertTarget, ExpressionGeometry, HeldOutReport, PartMesh, BODY_JOINTS,
};
use furpe::keypoints::{openpose137_to_smplx, NUM_BODY25};
use furpe::nets::part_expert::{self, Expert, ExpertConfig, ExpertKind};
use furpe::rotation::host::{matmul, Mat3};
use furpe::smplx::joints::idx;
use furpe::smplx::{ParamWidths, SmplxConfig, SmplxData, SmplxInput, SmplxParams};
use serde::{Deserialize, Serialize};

use crate::backend::{with_backend, BackendJob, BackendKind};
use crate::crops::{batch, RgbImage};
use crate::rng::Rng;
use crate::train::guard;
use crate::train::schedule::LrSchedule;

#[derive(Debug, clap::Subcommand)]
pub enum ExpertCommand {
    /// Train a small part expert on a dataset with ground truth (the
    /// synthetic world) and report held-out errors against the
    /// mean-parameter baseline.
    Train(ExpertTrainArgs),
    /// Score an expert (a `furpe expert train` file or a published
    /// checkpoint) on every image of a dataset with ground truth, against
    /// the mean of that dataset's own targets.
    Eval(ExpertEvalArgs),
}

pub fn run(command: ExpertCommand) -> anyhow::Result<()> {
    match command {
        ExpertCommand::Train(args) => train(args).map(|_| ()),
        ExpertCommand::Eval(args) => with_backend(args.backend, args).map(|_| ()),
    }
}

fn parse_part(s: &str) -> Result<ExpertKind, String> {
    s.parse()
}

#[derive(Debug, Clone, clap::Args)]
pub struct ExpertTrainArgs {
    /// body (SPIN), face (DECA coarse encoder) or hand (FrankMocap).
    #[arg(long, value_parser = parse_part)]
    pub part: ExpertKind,
    /// Dataset with ground truth (annotations.jsonl, images/), e.g. from `furpe synth`.
    #[arg(long)]
    pub data: PathBuf,
    /// Expert file to write (self-describing: configuration + weights).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Crop side in pixels.
    #[arg(long, default_value_t = 64)]
    pub crop: usize,
    /// ResNet base width (basic blocks [1, 1, 1, 1]; 64 is full width).
    #[arg(long, default_value_t = 8)]
    pub width: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Train on the keypoints' windows only, without the random shift,
    /// zoom, turn and colour jitter.
    #[arg(long)]
    pub no_augment: bool,
    /// Body expert: add SPIN's 2D keypoint loss (the true body joints in the
    /// crop against the expert's joints through its camera) to the
    /// rotation, β and camera targets. Off by default: at CPU sizes (1000
    /// images, 12 epochs) it did not help (README, Data pipeline).
    #[arg(long)]
    pub keypoint_loss: bool,
    /// Body expert: add SPIN's 3D keypoint loss (the expert's body joints
    /// against the true camera-frame joints, both relative to the pelvis)
    /// to the rotation, β and camera targets.
    #[arg(long)]
    pub joint_loss: bool,
    /// Also write this PNG: the first 64 crops as the expert sees them
    /// (the keypoints' windows, before augmentation), 8 per row.
    #[arg(long, value_name = "PNG")]
    pub crop_sheet: Option<PathBuf>,
    /// Share of images held out for the report (the last ones).
    #[arg(long, default_value_t = 0.2)]
    pub held_out: f64,
    /// Body model the ground truth refers to; default: the embedded mannequin.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ExpertEvalArgs {
    /// body (SPIN), face (DECA coarse encoder) or hand (FrankMocap).
    #[arg(long, value_parser = parse_part)]
    pub part: ExpertKind,
    /// The expert: a `furpe expert train` file or the published checkpoint.
    #[arg(long)]
    pub expert: PathBuf,
    /// FrankMocap's `mean_mano_params.pkl`, with the published hand checkpoint.
    #[arg(long)]
    pub hand_mean: Option<PathBuf>,
    /// Dataset with ground truth (annotations.jsonl, images/); every image is scored.
    #[arg(long)]
    pub data: PathBuf,
    /// Also write the report here (JSON).
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Body model the ground truth refers to; default: the embedded mannequin.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

impl BackendJob for ExpertEvalArgs {
    type Output = HeldOutReport;
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<HeldOutReport> {
        let loaded = crate::label::load_expert::<B>(
            self.part,
            &self.expert,
            self.hand_mean.as_deref(),
            &device,
        )?;
        let crop = loaded.config.crop_size;
        let annotations = read_annotations(&self.data.join("annotations.jsonl"))?;
        let model = crate::body::load_model(self.model.as_deref())?;
        let (samples, targets) = with_targets(samples::<B>(
            self.part,
            &annotations,
            &model,
            &self.data,
            &device,
        )?);
        let images = decode_images(&samples, &annotations, &self.data)?;
        let crops: Vec<Vec<f32>> = samples
            .iter()
            .map(|s| cut_window(&images, s, &s.crop, crop))
            .collect();
        // The set's own mean: a baseline that knows the test set's average.
        let baseline = mean_target(&targets).with_context(|| {
            format!(
                "{}: no {} crops with ground truth",
                self.data.display(),
                self.part.name()
            )
        })?;
        let geometry = (self.part == ExpertKind::Face)
            .then(|| ExpressionGeometry::new(&model))
            .flatten();
        let mesh = PartMesh::<B>::new(&model, &device).ok();
        let all: Vec<usize> = (0..crops.len()).collect();
        let scoring = Scoring {
            part: self.part,
            crop,
            batch: self.batch,
        };
        let report = evaluate(
            &loaded.expert,
            &all,
            &crops,
            &targets,
            &baseline,
            geometry.as_ref(),
            mesh.as_ref(),
            &scoring,
            &device,
        )?;
        if let Some(path) = &self.report {
            furpe::io::write_bytes_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
        }
        print!("{}", report.table());
        println!(
            "(baseline: the mean of these {} crops' own targets)",
            report.crops
        );
        Ok(report)
    }
}

/// What scoring needs to know of the expert.
struct Scoring {
    part: ExpertKind,
    crop: usize,
    batch: usize,
}

/// What training produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpertSummary {
    pub out: PathBuf,
    pub report: HeldOutReport,
    /// The same errors on as many training crops (un-augmented windows):
    /// far below the held-out ones means over-fitting.
    pub train_report: HeldOutReport,
    pub train_crops: usize,
    pub epochs: usize,
    pub seconds: f64,
    pub final_loss: f64,
}

/// Trains, evaluates and saves one expert.
pub fn train(args: ExpertTrainArgs) -> anyhow::Result<ExpertSummary> {
    if args.epochs == 0 || args.batch == 0 || !(16..=512).contains(&args.crop) || args.width == 0 {
        anyhow::bail!("--epochs, --batch, --width must be ≥ 1 and --crop in 16..=512");
    }
    if !(0.0..1.0).contains(&args.held_out) {
        anyhow::bail!("--held-out must be in [0, 1), got {}", args.held_out);
    }
    with_backend(args.backend, args)
}

/// One crop and what the expert should learn from it: the ground truth in
/// the expert's conventions, as seen through any crop window around the part
/// ([`Sample::target`]), so augmented windows get consistent targets.
struct Sample {
    image: usize,
    /// The window the keypoints give (what `furpe label` cuts).
    crop: CropTransform,
    truth: Truth,
}

enum Truth {
    Body {
        /// Camera-frame global orientation.
        global: Mat3,
        body_pose: Vec<f32>,
        betas: Vec<f32>,
        /// Camera-frame joints (zero translation) and their pixels, for the
        /// weak-perspective camera fit in the crop.
        xy: Vec<[f32; 2]>,
        pixels: Vec<[f32; 2]>,
        /// The pelvis's camera-frame x, y: the body turns about it.
        pelvis: [f32; 2],
        /// Pixels of the 22 SMPL-X body joints (the 2D keypoint loss).
        joint_pixels: Vec<Option<[f32; 2]>>,
        /// The 22 body joints in the camera frame (the 3D keypoint loss).
        joints: Vec<[f32; 3]>,
    },
    Face {
        jaw: Vec<f32>,
        expression: Vec<f32>,
    },
    Hand {
        /// The wrist's global rotation in the camera frame.
        wrist: Mat3,
        /// Relative to the SMPL-X hand mean.
        fingers: Vec<f32>,
    },
}

impl Sample {
    /// The target for this sample seen through `crop` (its window, or an
    /// augmented one): turning the window turns the camera about its optical
    /// axis (global orientation and wrist become `Q·R`, the joints' x, y
    /// turn with it before the camera fit), a mirrored window mirrors the
    /// hand. `None` when the camera fit fails.
    fn target(&self, crop: &CropTransform) -> Option<ExpertTarget> {
        let q = in_plane_rotation(crop.rotation);
        match &self.truth {
            Truth::Body {
                global,
                body_pose,
                betas,
                xy,
                pixels,
                pelvis,
                ..
            } => {
                // The global orientation turns about the pelvis, so do the joints.
                let xy: Vec<[f32; 2]> = xy.iter().map(|&p| turn(crop, p, *pelvis)).collect();
                let uv: Vec<[f32; 2]> = pixels.iter().map(|&p| crop.to_crop(p)).collect();
                let cam = fit_weak_perspective(&xy, &uv)?;
                Some(body_target(&matmul(&q, global), body_pose, betas, cam))
            }
            Truth::Face { jaw, expression } => Some(face_target(jaw, expression)),
            Truth::Hand { wrist, fingers } => {
                Some(hand_target(&matmul(&q, wrist), fingers, crop.flip))
            }
        }
    }

    /// The 22 body joints in the camera frame as seen through `crop` (a
    /// turned window turns them about the optical axis), flattened, for
    /// [`body_joint_loss`]; empty for the other parts.
    fn joints(&self, crop: &CropTransform) -> Vec<f32> {
        let Truth::Body { joints, .. } = &self.truth else {
            return Vec::new();
        };
        joints
            .iter()
            .flat_map(|p| {
                let [x, y] = turn(crop, [p[0], p[1]], [0.0; 2]);
                [x, y, p[2]]
            })
            .collect()
    }

    /// The body joints in crop coordinates with a weight (`[22]` of u, v, w;
    /// w = 0 for a joint behind the camera or far outside the window), for
    /// [`body_keypoint_loss`]; empty for the other parts.
    fn keypoints(&self, crop: &CropTransform) -> Vec<[f32; 3]> {
        let Truth::Body { joint_pixels, .. } = &self.truth else {
            return Vec::new();
        };
        joint_pixels
            .iter()
            .map(|p| match p.map(|p| crop.to_crop(p)) {
                Some([u, v]) if u.abs() < 1.5 && v.abs() < 1.5 => [u, v, 1.0],
                _ => [0.0; 3],
            })
            .collect()
    }
}

/// `p` (camera-frame x, y) turned about `centre` as `crop` turns the view.
fn turn(crop: &CropTransform, p: [f32; 2], centre: [f32; 2]) -> [f32; 2] {
    let (s, c) = crop.rotation.sin_cos();
    let (x, y) = (p[0] - centre[0], p[1] - centre[1]);
    [c * x - s * y + centre[0], s * x + c * y + centre[1]]
}

/// A randomly shifted, zoomed and turned version of `crop` (what a keypoint
/// detector's jitter and a slightly different framing would give).
fn jitter(crop: &CropTransform, rng: &mut Rng) -> CropTransform {
    let shift = 0.08 * crop.side;
    let zoom = rng.range(-0.12, 0.12).exp() as f32;
    let turn = rng.range(-MAX_TURN, MAX_TURN) as f32;
    let mut out = crop.augmented(turn, zoom, false);
    out.center[0] += shift * rng.range(-1.0, 1.0) as f32;
    out.center[1] += shift * rng.range(-1.0, 1.0) as f32;
    out
}

/// Largest in-plane turn of an augmented window (radians, about 11°).
const MAX_TURN: f64 = 0.2;

/// Photometric jitter of one crop (`[3, S, S]`, values in [0, 1]): contrast,
/// brightness, per-channel gain and pixel noise.
fn colour_jitter(crop: &mut [f32], rng: &mut Rng) {
    let plane = crop.len() / 3;
    let contrast = rng.range(0.7, 1.3) as f32;
    let brightness = rng.range(-0.1, 0.1) as f32;
    let noise = rng.range(0.0, 0.04);
    for ch in 0..3 {
        let gain = rng.range(0.85, 1.15) as f32;
        let values = &mut crop[ch * plane..(ch + 1) * plane];
        let mean = values.iter().sum::<f32>() / plane.max(1) as f32;
        for v in values.iter_mut() {
            let n = (noise * rng.normal()) as f32;
            *v = (((*v - mean) * contrast + mean) * gain + brightness + n).clamp(0.0, 1.0);
        }
    }
}

impl BackendJob for ExpertTrainArgs {
    type Output = ExpertSummary;
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<ExpertSummary> {
        let start = Instant::now();
        // The network's settings first: a bad --width or --crop is named
        // before any data is read.
        let config = ExpertConfig::small(self.part, self.width, self.crop);
        config.check().map_err(|e| {
            anyhow::anyhow!(
                "expert network: {e} (--width {}, --crop {})",
                self.width,
                self.crop
            )
        })?;
        let annotations = read_annotations(&self.data.join("annotations.jsonl"))?;
        let model = crate::body::load_model(self.model.as_deref())?;
        let (samples, targets) = with_targets(samples::<B>(
            self.part,
            &annotations,
            &model,
            &self.data,
            &device,
        )?);
        let held_from =
            annotations.len() - (annotations.len() as f64 * self.held_out).ceil() as usize;
        let train_ids: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].image < held_from)
            .collect();
        let test_ids: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].image >= held_from)
            .collect();
        if train_ids.len() < 2 || test_ids.is_empty() {
            anyhow::bail!(
                "{}: {} {} crops ({} for training, {} held out): too few; make a larger dataset",
                self.data.display(),
                samples.len(),
                self.part.name(),
                train_ids.len(),
                test_ids.len()
            );
        }
        // Decode every image once; training crops are cut anew each epoch
        // (augmented unless --no-augment), the evaluation crops once.
        let images = decode_images(&samples, &annotations, &self.data)?;
        let cut =
            |i: usize, crop: &CropTransform| cut_window(&images, &samples[i], crop, self.crop);
        let fixed: Vec<Vec<f32>> = (0..samples.len())
            .map(|i| cut(i, &samples[i].crop))
            .collect();

        if let Some(path) = &self.crop_sheet {
            write_crop_sheet(path, &fixed, self.crop)?;
        }
        let train_targets: Vec<ExpertTarget> =
            train_ids.iter().map(|&i| targets[i].clone()).collect();
        let baseline = mean_target(&train_targets).context("no training targets")?;
        // Each loss group counts as much as any other at the baseline.
        // The face's expression is scored on the mesh it makes.
        let geometry = (self.part == ExpertKind::Face)
            .then(|| ExpressionGeometry::new(&model))
            .flatten();
        let weights = loss_weights(self.part, &train_targets, &baseline, geometry.as_ref());

        type AD<B> = Autodiff<B>;
        AD::<B>::seed(&device, self.seed);
        // Start at the training set's mean parameters (SPIN's and HMR's start).
        let mut expert: Expert<AD<B>> =
            config
                .init(&device)
                .start_at_mean(&baseline.rotations, &baseline.rest, 0.01)?;
        let mut optim = AdamConfig::new().init::<AD<B>, Expert<AD<B>>>();
        // SPIN's 2D and 3D keypoint losses through the body model (body
        // expert, on request), each weighted to count 1 at the start (the
        // mean-parameter network) as every other group does: read once.
        let skeleton = (self.part == ExpertKind::Body && (self.keypoint_loss || self.joint_loss))
            .then(|| SmplxConfig::new().init::<AD<B>>(&model, &device))
            .transpose()?;
        let mut maths = ExpertStep {
            part: self.part,
            crop: self.crop,
            weights,
            geometry: geometry.as_ref(),
            skeleton,
            keypoint_weight: None,
            joint_weight: None,
            device: device.clone(),
        };
        let schedule = LrSchedule::Cosine {
            lr: self.lr,
            floor: 0.1,
            epochs: self.epochs,
        };
        let mut rng = Rng::new(self.seed ^ 0x5eed_e2e7);
        let mut order = train_ids.clone();
        let mut final_loss = f64::NAN;
        for epoch in 0..self.epochs {
            // Fisher–Yates with the seeded generator: reproducible epochs.
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            let lr = schedule.at(epoch);
            let (mut sum, mut count) = (0.0, 0usize);
            for chunk in order.chunks(self.batch) {
                // A batch of one breaks batch norm's statistics.
                if chunk.len() < 2 {
                    continue;
                }
                let mut batch = ExpertBatch::default();
                for &i in chunk {
                    let s = &samples[i];
                    let window = if self.no_augment {
                        None
                    } else {
                        let w = jitter(&s.crop, &mut rng);
                        s.target(&w).map(|t| (w, t))
                    };
                    let seen = match window {
                        Some((w, t)) => {
                            let mut crop = cut(i, &w);
                            colour_jitter(&mut crop, &mut rng);
                            batch.crops.push(crop);
                            batch.targets.push(t);
                            w
                        }
                        None => {
                            batch.crops.push(fixed[i].clone());
                            batch.targets.push(targets[i].clone());
                            s.crop
                        }
                    };
                    // The keypoint terms' targets, only when they are on.
                    if self.keypoint_loss {
                        batch.keypoints.extend(s.keypoints(&seen));
                    }
                    if self.joint_loss {
                        batch.joints.extend(s.joints(&seen));
                    }
                }
                let value;
                (expert, value) =
                    maths
                        .step(expert, &mut optim, &batch, lr)
                        .with_context(|| {
                            format!(
                                "{} expert, epoch {epoch}: training stopped; try a smaller --lr",
                                self.part.name()
                            )
                        })?;
                sum += value * chunk.len() as f64;
                count += chunk.len();
            }
            final_loss = sum / count.max(1) as f64;
            eprintln!(
                "{} expert: epoch {}/{} loss {:.4} ({:.0} s)",
                self.part.name(),
                epoch + 1,
                self.epochs,
                final_loss,
                start.elapsed().as_secs_f64()
            );
        }

        // Errors of the trained expert (inference mode) and of the mean of
        // the training targets on the same crops: held out, and (to see
        // over-fitting) as many training crops, un-augmented.
        let expert = expert.valid();
        let g = geometry.as_ref();
        let mesh = PartMesh::<B>::new(&model, &device).ok();
        let m = mesh.as_ref();
        let scoring = Scoring {
            part: self.part,
            crop: self.crop,
            batch: self.batch,
        };
        let report = evaluate(
            &expert, &test_ids, &fixed, &targets, &baseline, g, m, &scoring, &device,
        )?;
        let seen = &train_ids[..test_ids.len().min(train_ids.len())];
        let train_report = evaluate(
            &expert, seen, &fixed, &targets, &baseline, g, m, &scoring, &device,
        )?;
        let summary = ExpertSummary {
            out: self.out.clone(),
            report,
            train_report,
            train_crops: train_ids.len(),
            epochs: self.epochs,
            seconds: start.elapsed().as_secs_f64(),
            final_loss,
        };
        let note = serde_json::to_string(&summary)?;
        let bytes = part_expert::to_bytes(&expert, &config, &note).map_err(anyhow::Error::msg)?;
        furpe::io::write_bytes_atomic(&self.out, &bytes)?;
        let report_path = report_path(&self.out);
        furpe::io::write_bytes_atomic(
            &report_path,
            serde_json::to_string_pretty(&summary)?.as_bytes(),
        )?;
        print!("{}", summary.report.table());
        println!(
            "trained on {} crops for {} epochs in {:.1} s (final loss {:.4}; on {} of its training crops: {:.0}% of the baseline's error); wrote {} and {}",
            summary.train_crops,
            self.epochs,
            summary.seconds,
            final_loss,
            summary.train_report.crops,
            100.0 * summary.train_report.relative,
            self.out.display(),
            report_path.display()
        );
        Ok(summary)
    }
}

/// `term` times the weight that made its first value 1 (set then, kept after).
fn normalised<B: Backend>(term: Tensor<B, 1>, weight: &mut Option<f64>) -> Tensor<B, 1> {
    let w = match weight {
        Some(w) => *w,
        None => {
            let value: f64 = term.clone().into_scalar().elem();
            *weight.insert(1.0 / value.max(1e-8))
        }
    };
    term.mul_scalar(w)
}

/// One batch of an expert's training: crops `[3, S, S]` with their targets,
/// and SPIN's keypoint terms' targets when those are on.
#[derive(Default)]
struct ExpertBatch {
    crops: Vec<Vec<f32>>,
    targets: Vec<ExpertTarget>,
    /// `[n × BODY_JOINTS]` (x, y, confidence) in the crop's coordinates.
    keypoints: Vec<[f32; 3]>,
    /// `[n × BODY_JOINTS × 3]` root-relative joints.
    joints: Vec<f32>,
}

/// The maths of an expert's step: the loss groups (each weighted to count
/// 1 at the baseline), SPIN's keypoint terms (each weighted to count 1 at
/// its first value), the NaN stop, Adam. No files, no printing.
struct ExpertStep<'a, B: AutodiffBackend> {
    part: ExpertKind,
    crop: usize,
    weights: Vec<f32>,
    geometry: Option<&'a ExpressionGeometry>,
    /// The body model for the keypoint terms (body expert, on request).
    skeleton: Option<furpe::smplx::Smplx<B>>,
    keypoint_weight: Option<f64>,
    joint_weight: Option<f64>,
    device: B::Device,
}

impl<B: AutodiffBackend> ExpertStep<'_, B> {
    /// One Adam step on `batch`; the new expert and the batch's loss.
    fn step<O: Optimizer<Expert<B>, B>>(
        &mut self,
        expert: Expert<B>,
        optim: &mut O,
        batch: &ExpertBatch,
        lr: f64,
    ) -> anyhow::Result<(Expert<B>, f64)> {
        let n = batch.crops.len();
        let device = &self.device;
        let images = crate::crops::batch::<B>(
            &batch.crops.iter().map(Vec::as_slice).collect::<Vec<_>>(),
            self.crop,
            device,
        );
        let (rot, rest) = target_tensors::<B>(&batch.targets.iter().collect::<Vec<_>>(), device);
        let prediction = expert.forward(images);
        let mut loss = expert_loss(
            self.part,
            &prediction,
            rot,
            rest,
            &self.weights,
            self.geometry,
        );
        let mut terms = Vec::new();
        if let Some(layer) = &self.skeleton {
            let rows = |flat: Vec<f32>| {
                Tensor::<B, 3>::from_data(TensorData::new(flat, [n, BODY_JOINTS, 3]), device)
            };
            if !batch.keypoints.is_empty() {
                let flat = batch.keypoints.iter().flatten().copied().collect();
                let term = normalised(
                    body_keypoint_loss(&prediction, layer, rows(flat)),
                    &mut self.keypoint_weight,
                );
                terms.push(("keypoints", term.clone().into_scalar().elem::<f32>()));
                loss = loss + term;
            }
            if !batch.joints.is_empty() {
                let term = normalised(
                    body_joint_loss(&prediction, layer, rows(batch.joints.clone())),
                    &mut self.joint_weight,
                );
                terms.push(("joints", term.clone().into_scalar().elem::<f32>()));
                loss = loss + term;
            }
        }
        let value: f32 = loss.clone().into_scalar().elem();
        if let Some(bad) = guard::bad_terms(value, &terms) {
            anyhow::bail!("{bad}");
        }
        let grads = GradientsParams::from_grads(loss.backward(), &expert);
        if let Some(bad) = guard::bad_gradients(&grads, &expert) {
            anyhow::bail!("{bad}");
        }
        Ok((optim.step(lr, expert, grads), value as f64))
    }
}

/// Up to 64 crops (`[3, S, S]`, values in [0, 1]) in rows of 8.
fn write_crop_sheet(path: &Path, crops: &[Vec<f32>], side: usize) -> anyhow::Result<()> {
    let shown = crops.len().min(64);
    let (cols, rows) = (shown.min(8), shown.div_ceil(8));
    let mut sheet = image::RgbImage::new((cols * side) as u32, (rows * side) as u32);
    for (k, crop) in crops.iter().take(shown).enumerate() {
        let (x0, y0) = ((k % 8) * side, (k / 8) * side);
        for y in 0..side {
            for x in 0..side {
                let px = [0, 1, 2].map(|c| (crop[c * side * side + y * side + x] * 255.0) as u8);
                sheet.put_pixel((x0 + x) as u32, (y0 + y) as u32, image::Rgb(px));
            }
        }
    }
    sheet
        .save(path)
        .with_context(|| format!("{}: cannot write the crop sheet", path.display()))
}

/// The expert's errors and the baseline's on the crops `ids` (their fixed windows).
#[allow(clippy::too_many_arguments)]
fn evaluate<B: Backend>(
    expert: &Expert<B>,
    ids: &[usize],
    crops: &[Vec<f32>],
    targets: &[ExpertTarget],
    baseline: &ExpertTarget,
    geometry: Option<&ExpressionGeometry>,
    mesh: Option<&PartMesh<B>>,
    args: &Scoring,
    device: &B::Device,
) -> anyhow::Result<HeldOutReport> {
    let predictions = predict(expert, ids, crops, args, device)?;
    let wanted: Vec<ExpertTarget> = ids.iter().map(|&i| targets[i].clone()).collect();
    let mesh = mesh.and_then(|m| m.error(args.part, &predictions, &wanted, baseline));
    Ok(HeldOutReport::new(args.part, &predictions, &wanted, baseline, geometry).with_mesh(mesh))
}

/// The expert's predictions on the crops `ids`.
fn predict<B: Backend>(
    expert: &Expert<B>,
    ids: &[usize],
    crops: &[Vec<f32>],
    args: &Scoring,
    device: &B::Device,
) -> anyhow::Result<Vec<ExpertTarget>> {
    let mut predictions = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(args.batch.max(8)) {
        let images = batch::<B>(
            &chunk
                .iter()
                .map(|&i| crops[i].as_slice())
                .collect::<Vec<_>>(),
            args.crop,
            device,
        );
        predictions.extend(prediction_rows(&expert.forward(images))?);
    }
    Ok(predictions)
}

/// The samples with a target through their keypoints' window, and those
/// targets; a sample whose camera fit fails is left out.
fn with_targets(mut samples: Vec<Sample>) -> (Vec<Sample>, Vec<ExpertTarget>) {
    let mut targets = Vec::with_capacity(samples.len());
    samples.retain(|s| match s.target(&s.crop) {
        Some(t) => {
            targets.push(t);
            true
        }
        None => false,
    });
    (samples, targets)
}

/// Every image a sample comes from, decoded once (`None` for the others).
fn decode_images(
    samples: &[Sample],
    annotations: &[Annotation],
    data: &Path,
) -> anyhow::Result<Vec<Option<RgbImage>>> {
    let mut images: Vec<Option<RgbImage>> = (0..annotations.len()).map(|_| None).collect();
    for s in samples {
        if images[s.image].is_none() {
            images[s.image] = Some(RgbImage::load(&data.join(&annotations[s.image].image))?);
        }
    }
    Ok(images)
}

/// The window `crop` of the sample's image at `side × side` (`[3, S, S]`).
fn cut_window(
    images: &[Option<RgbImage>],
    sample: &Sample,
    crop: &CropTransform,
    side: usize,
) -> Vec<f32> {
    match &images[sample.image] {
        Some(image) => image.crop(crop, side),
        None => vec![0.0; 3 * side * side],
    }
}

/// `OUT` → `OUT.report.json`.
pub fn report_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".report.json");
    out.with_file_name(name)
}

/// Crops and targets of `part` for every annotation with ground truth.
fn samples<B: Backend>(
    part: ExpertKind,
    annotations: &[Annotation],
    model: &SmplxData,
    data: &Path,
    device: &B::Device,
) -> anyhow::Result<Vec<Sample>> {
    let source = data.join("annotations.jsonl").display().to_string();
    let mut gts = Vec::with_capacity(annotations.len());
    for (i, a) in annotations.iter().enumerate() {
        let gt = a.ground_truth.as_ref().with_context(|| {
            format!("{source}: record {} ({}) has no ground_truth; experts train on data with ground truth (furpe synth)", i + 1, a.image)
        })?;
        let camera = gt
            .camera
            .with_context(|| format!("{source}: record {}: ground_truth has no camera", i + 1))?;
        let params = gt.smplx_params(&source).map_err(anyhow::Error::msg)?;
        gts.push((params, camera, gt.flat_hand_mean));
    }
    let row = |p: &Vec<Vec<f32>>, n: usize| -> Vec<f32> {
        let mut v = p.first().cloned().unwrap_or_default();
        v.resize(n, 0.0);
        v
    };
    // Body targets need the ground-truth joints (the camera fit).
    let mut joints: Vec<Vec<[f32; 3]>> = Vec::new();
    if part == ExpertKind::Body {
        let layer = SmplxConfig::new()
            .with_flat_hand_mean(true)
            .init::<B>(model, device)?;
        for chunk in gts.chunks(64) {
            let mut params = SmplxParams::zeros(chunk.len(), ParamWidths::default());
            for (b, (p, _, _)) in chunk.iter().enumerate() {
                params.betas[b] = row(&p.betas, 10);
                params.global_orient[b] = row(&p.global_orient, 3);
                params.body_pose[b] = row(&p.body_pose, 63);
            }
            let out = layer.joints(SmplxInput::from_params(&params, device));
            let [_, nj, _] = out.dims();
            let flat = furpe::readback::floats(out)?;
            for b in 0..chunk.len() {
                joints.push(
                    (0..nj)
                        .map(|j| {
                            let k = (b * nj + j) * 3;
                            [flat[k], flat[k + 1], flat[k + 2]]
                        })
                        .collect(),
                );
            }
        }
    }
    let map = openpose137_to_smplx();
    let mut out = Vec::new();
    for (i, (a, (p, camera, flat_hand_mean))) in annotations.iter().zip(&gts).enumerate() {
        let crops = PartCrops::from_keypoints(&a.keypoints, a.person_box);
        let global = camera_frame_orientation(camera, &row(&p.global_orient, 3));
        let body_pose = row(&p.body_pose, 63);
        match part {
            ExpertKind::Body => {
                let (rel, projected) = camera_view(&joints[i], camera, &row(&p.transl, 3));
                let (mut xy, mut pixels) = (Vec::new(), Vec::new());
                for j in map.iter().take(NUM_BODY25).flatten() {
                    if let Some(px) = projected[*j] {
                        xy.push([rel[*j][0], rel[*j][1]]);
                        pixels.push(px);
                    }
                }
                out.push(Sample {
                    image: i,
                    crop: crops.body,
                    truth: Truth::Body {
                        global,
                        body_pose: body_pose.clone(),
                        betas: row(&p.betas, 10),
                        xy,
                        pixels,
                        pelvis: [rel[0][0], rel[0][1]],
                        joint_pixels: projected.iter().take(BODY_JOINTS).copied().collect(),
                        joints: rel.iter().take(BODY_JOINTS).copied().collect(),
                    },
                });
            }
            ExpertKind::Face => {
                if let Some(crop) = crops.face {
                    out.push(Sample {
                        image: i,
                        crop,
                        truth: Truth::Face {
                            jaw: row(&p.jaw_pose, 3),
                            expression: row(&p.expression, 10),
                        },
                    });
                }
            }
            ExpertKind::Hand => {
                for (crop, pose, mean, wrist) in [
                    (
                        crops.left_hand,
                        &p.left_hand_pose,
                        &model.hands_mean_l,
                        idx::LEFT_WRIST,
                    ),
                    (
                        crops.right_hand,
                        &p.right_hand_pose,
                        &model.hands_mean_r,
                        idx::RIGHT_WRIST,
                    ),
                ] {
                    let Some(crop) = crop else { continue };
                    let mut fingers = row(pose, 45);
                    if *flat_hand_mean {
                        // Absolute pose → relative to the SMPL-X hand mean (FrankMocap's convention).
                        for (v, m) in fingers.iter_mut().zip(mean.iter()) {
                            *v -= m;
                        }
                    }
                    let wrist = joint_global_rotation(&global, &body_pose, wrist);
                    // The left hand's window is mirrored (crop.flip): its target too.
                    out.push(Sample {
                        image: i,
                        crop,
                        truth: Truth::Hand { wrist, fingers },
                    });
                }
            }
        }
    }
    Ok(out)
}
