//! `furpe expert train`: trains a small part expert (SPIN body, DECA face or
//! FrankMocap hand network from `furpe::nets`, at a small ResNet depth and
//! width) on the part crops of a dataset with ground truth (the synthetic
//! world) against that ground truth (`furpe::experts` for the targets and the
//! loss), holds out the last images, reports the expert's errors there next
//! to the mean-parameter baseline's, and saves a self-describing expert file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::ElementConversion;
use furpe::crop::{CropTransform, PartCrops};
use furpe::dataset::{read_annotations, Annotation};
use furpe::experts::{
    body_target, camera_frame_orientation, camera_view, expert_loss, face_target,
    fit_weak_perspective, hand_target, joint_global_rotation, mean_target, prediction_rows,
    target_tensors, ExpertTarget, HeldOutReport,
};
use furpe::keypoints::{openpose137_to_smplx, NUM_BODY25};
use furpe::nets::part_expert::{self, Expert, ExpertConfig, Part};
use furpe::smplx::joints::idx;
use furpe::smplx::{ParamWidths, SmplxConfig, SmplxData, SmplxInput, SmplxParams};
use serde::{Deserialize, Serialize};

use crate::backend::{with_backend, BackendJob, BackendKind};
use crate::crops::{batch, RgbImage};
use crate::rng::Rng;

#[derive(Debug, clap::Subcommand)]
pub enum ExpertCommand {
    /// Train a small part expert on a dataset with ground truth (the
    /// synthetic world) and report held-out errors against the
    /// mean-parameter baseline.
    Train(ExpertTrainArgs),
}

pub fn run(command: ExpertCommand) -> anyhow::Result<()> {
    match command {
        ExpertCommand::Train(args) => train(args).map(|_| ()),
    }
}

fn parse_part(s: &str) -> Result<Part, String> {
    s.parse()
}

#[derive(Debug, Clone, clap::Args)]
pub struct ExpertTrainArgs {
    /// body (SPIN), face (DECA coarse encoder) or hand (FrankMocap).
    #[arg(long, value_parser = parse_part)]
    pub part: Part,
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
    /// Share of images held out for the report (the last ones).
    #[arg(long, default_value_t = 0.2)]
    pub held_out: f64,
    /// Body model the ground truth refers to; default: the embedded mannequin.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

/// What training produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpertSummary {
    pub out: PathBuf,
    pub report: HeldOutReport,
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

/// One crop and what the expert should say about it.
struct Sample {
    image: usize,
    crop: CropTransform,
    target: ExpertTarget,
}

impl BackendJob for ExpertTrainArgs {
    type Output = ExpertSummary;
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<ExpertSummary> {
        let start = Instant::now();
        let annotations = read_annotations(&self.data.join("annotations.jsonl"))?;
        let model = crate::body::load_model(self.model.as_deref())?;
        let samples = samples::<B>(self.part, &annotations, &model, &self.data, &device)?;
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
        // Decode every image once; crops are cut up front (no augmentation).
        let mut images: Vec<Option<RgbImage>> = (0..annotations.len()).map(|_| None).collect();
        let mut crops = Vec::with_capacity(samples.len());
        for s in &samples {
            if images[s.image].is_none() {
                let path = self.data.join(&annotations[s.image].image);
                images[s.image] = Some(RgbImage::load(&path)?);
            }
            let image = images[s.image].as_ref().context("image decoded above")?;
            crops.push(image.crop(&s.crop, self.crop));
        }
        drop(images);

        type AD<B> = Autodiff<B>;
        AD::<B>::seed(&device, self.seed);
        let config = ExpertConfig::small(self.part, self.width, self.crop);
        let mut expert: Expert<AD<B>> = config.init(&device);
        let mut optim = AdamConfig::new().init::<AD<B>, Expert<AD<B>>>();
        let mut rng = Rng::new(self.seed ^ 0x5eed_e2e7);
        let mut order = train_ids.clone();
        let mut final_loss = f64::NAN;
        for epoch in 0..self.epochs {
            // Fisher–Yates with the seeded generator: reproducible epochs.
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            // Cosine decay to a tenth: settles the small nets without tuning.
            let progress = epoch as f64 / self.epochs as f64;
            let lr = self.lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
            let (mut sum, mut count) = (0.0, 0usize);
            for chunk in order.chunks(self.batch) {
                // A batch of one breaks batch norm's statistics.
                if chunk.len() < 2 {
                    continue;
                }
                let images = batch::<AD<B>>(
                    &chunk
                        .iter()
                        .map(|&i| crops[i].as_slice())
                        .collect::<Vec<_>>(),
                    self.crop,
                    &device,
                );
                let targets: Vec<&ExpertTarget> =
                    chunk.iter().map(|&i| &samples[i].target).collect();
                let (rot, rest) = target_tensors::<AD<B>>(&targets, &device);
                let prediction = expert.forward(images);
                let loss = expert_loss(self.part, &prediction, rot, rest);
                let value: f64 = loss.clone().into_scalar().elem();
                if !value.is_finite() {
                    anyhow::bail!(
                        "training diverged at epoch {epoch} (loss {value}); try a smaller --lr"
                    );
                }
                sum += value * chunk.len() as f64;
                count += chunk.len();
                let grads = GradientsParams::from_grads(loss.backward(), &expert);
                expert = optim.step(lr, expert, grads);
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

        // Held-out errors: the trained expert (inference mode) and the mean of
        // the training targets, on the same crops.
        let expert = expert.valid();
        let mut predictions = Vec::with_capacity(test_ids.len());
        for chunk in test_ids.chunks(self.batch.max(8)) {
            let images = batch::<B>(
                &chunk
                    .iter()
                    .map(|&i| crops[i].as_slice())
                    .collect::<Vec<_>>(),
                self.crop,
                &device,
            );
            predictions.extend(prediction_rows(&expert.forward(images)));
        }
        let train_targets: Vec<ExpertTarget> = train_ids
            .iter()
            .map(|&i| samples[i].target.clone())
            .collect();
        let test_targets: Vec<ExpertTarget> = test_ids
            .iter()
            .map(|&i| samples[i].target.clone())
            .collect();
        let baseline = mean_target(&train_targets).context("no training targets")?;
        let report = HeldOutReport::new(self.part, &predictions, &test_targets, &baseline);
        let summary = ExpertSummary {
            out: self.out.clone(),
            report,
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
            "trained on {} crops for {} epochs in {:.1} s (final loss {:.4}); wrote {} and {}",
            summary.train_crops,
            self.epochs,
            summary.seconds,
            final_loss,
            self.out.display(),
            report_path.display()
        );
        Ok(summary)
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
    part: Part,
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
    if part == Part::Body {
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
            let out = layer
                .forward(SmplxInput::from_params(&params, device))
                .joints;
            let [_, nj, _] = out.dims();
            let flat = out
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
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
            Part::Body => {
                let (rel, pixels) = camera_view(&joints[i], camera, &row(&p.transl, 3));
                let (mut xy, mut uv) = (Vec::new(), Vec::new());
                for j in map.iter().take(NUM_BODY25).flatten() {
                    if let Some(px) = pixels[*j] {
                        let j = *j;
                        xy.push([rel[j][0], rel[j][1]]);
                        uv.push(crops.body.to_crop(px));
                    }
                }
                let Some(cam) = fit_weak_perspective(&xy, &uv) else {
                    continue;
                };
                out.push(Sample {
                    image: i,
                    crop: crops.body,
                    target: body_target(&global, &body_pose, &row(&p.betas, 10), cam),
                });
            }
            Part::Face => {
                if let Some(crop) = crops.face {
                    out.push(Sample {
                        image: i,
                        crop,
                        target: face_target(&row(&p.jaw_pose, 3), &row(&p.expression, 10)),
                    });
                }
            }
            Part::Hand => {
                for (crop, pose, mean, wrist, mirrored) in [
                    (
                        crops.left_hand,
                        &p.left_hand_pose,
                        &model.hands_mean_l,
                        idx::LEFT_WRIST,
                        true,
                    ),
                    (
                        crops.right_hand,
                        &p.right_hand_pose,
                        &model.hands_mean_r,
                        idx::RIGHT_WRIST,
                        false,
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
                    out.push(Sample {
                        image: i,
                        crop,
                        target: hand_target(&wrist, &fingers, mirrored),
                    });
                }
            }
        }
    }
    Ok(out)
}
