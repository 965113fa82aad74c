//! `furpe head train`: the pose-head student ([`furpe::nets::pose_head`]),
//! an MLP from MediaPipe's pose embedding to the 22 body rotations, trained
//! on the pseudo labels of `furpe label --experts mediapipe` (which store the
//! embedding beside each label as `feature_body`). No image is decoded: the
//! embeddings are the inputs.
//!
//! Every `holdout_every`-th record of each dataset is held out; the run ends
//! by scoring the head on them against the best constant (the training
//! labels' chordal mean) by PA-MPJPE over the 22 body joints posed with the
//! body model, with the spread of the predictions beside the labels'.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use furpe::metrics::{Part, Point};
use furpe::nets::pose_head::{self, PoseHead, PoseHeadConfig, HEAD_ROTATIONS};
use furpe::nets::weights_file::Precision;
use furpe::rotation::host::{axis_angles_to_flat_matrices, flat_matrices_to_axis_angles};
use furpe::selection::Decision;
use furpe::smplx::{Smplx, SmplxConfig, SmplxInput, SmplxParams};
use serde_json::json;

use crate::backend::{with_backend, BackendJob, BackendKind};
use crate::rng::Rng;

#[derive(Debug, clap::Subcommand)]
pub enum HeadCommand {
    /// Train a pose-head student on labels of `furpe label --experts
    /// mediapipe`: writes OUT/head.furpe, OUT/label_mean.json (the best
    /// constant) and OUT/report.json (held-out PA-MPJPE against it).
    Train(HeadTrainArgs),
}

#[derive(Debug, clap::Args)]
pub struct HeadTrainArgs {
    /// A dataset labelled by `furpe label --experts mediapipe` (repeatable);
    /// its selection.json is applied where present.
    #[arg(long = "data", required = true)]
    pub data: Vec<PathBuf>,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 4000)]
    pub steps: usize,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Hidden layer widths, comma-separated (empty for a linear head).
    #[arg(long, value_delimiter = ',', default_value = "512")]
    pub hidden: Vec<usize>,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
    /// Weight of the joint term: the squared distance (m²) of the 22 posed
    /// body joints, pelvis-relative, to the label's (0: rotations only).
    #[arg(long, default_value_t = 10.0)]
    pub joint_weight: f32,
    /// L2 weight decay (Adam's).
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f32,
    #[arg(long, default_value_t = 10)]
    pub holdout_every: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The pose landmark model whose embedding the labels hold (lite, full
    /// or heavy); default: told by the embedding's width (768 for the npm
    /// package's pose_landmark_lite, 1152 for pose_landmark_full).
    #[arg(long)]
    pub pose_model: Option<String>,
    /// Body model (.npz) the held-out joints are posed with; default: the
    /// embedded mannequin.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Replace OUT/head.furpe if it exists.
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

pub fn run(command: HeadCommand) -> anyhow::Result<()> {
    match command {
        HeadCommand::Train(args) => with_backend(args.backend, args),
    }
}

/// One labelled person: the embedding and the body's 22 rotations.
struct Example {
    feature: Vec<f32>,
    /// Row-major 3 × 3, global orientation first.
    rotations: Vec<[f32; 9]>,
    /// The 22 posed body joints relative to the pelvis, metres (set once
    /// the body model is loaded).
    joints: Vec<Point>,
}

/// The usable labels of `dirs`, split into (training, held out).
fn read_examples(
    dirs: &[PathBuf],
    holdout_every: usize,
) -> anyhow::Result<(Vec<Example>, Vec<Example>)> {
    anyhow::ensure!(holdout_every >= 2, "--holdout-every must be at least 2");
    let (mut train, mut held) = (Vec::new(), Vec::new());
    let mut width: Option<(usize, &Path)> = None;
    for dir in dirs {
        let labels = furpe::pseudo::load_dir(&dir.join("labels"))
            .with_context(|| "label it first: `furpe label --experts mediapipe`")?;
        let key = Part::Body.feature_field();
        let Some(w) = labels.width(key) else {
            anyhow::bail!(
                "{}: no '{key}' in the labels; label with `furpe label --experts mediapipe`, which stores MediaPipe's pose embedding there",
                dir.join("labels").display()
            );
        };
        if let Some((first, first_dir)) = width {
            anyhow::ensure!(
                w == first,
                "{}: 'feature_body' has {w} values, {} has {first}; label both with the same pose model",
                dir.join("labels").display(),
                first_dir.display()
            );
        }
        width = Some((w, dir));
        let selection = dir.join("selection.json");
        // Record → whether its body label was kept.
        let kept_body: Option<std::collections::HashMap<u64, bool>> = if selection.is_file() {
            let text = std::fs::read_to_string(&selection)
                .with_context(|| format!("{}: cannot read", selection.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", selection.display()))?;
            let decisions: Vec<Decision> = serde_json::from_value(value["decisions"].clone())
                .with_context(|| format!("{}: key 'decisions'", selection.display()))?;
            Some(
                decisions
                    .iter()
                    .map(|d| (d.index, d.kept && d.parts[0]))
                    .collect(),
            )
        } else {
            None
        };
        for row in 0..labels.len() {
            let index = labels.index[row];
            let kept = kept_body
                .as_ref()
                .is_none_or(|k| k.get(&index).copied().unwrap_or(false));
            let field = |name: &str| {
                labels
                    .get(name, row)
                    .filter(|v| v.iter().all(|x| x.is_finite()))
            };
            let (Some(feature), Some(orient), Some(pose)) = (
                field(Part::Body.feature_field()),
                field("global_orient"),
                field("body_pose"),
            ) else {
                continue;
            };
            if !kept {
                continue;
            }
            let rotations = axis_angles_to_flat_matrices(&[orient, pose].concat());
            anyhow::ensure!(
                rotations.len() == HEAD_ROTATIONS,
                "{}: row {row} has {} body rotations, {HEAD_ROTATIONS} expected",
                dir.join("labels").display(),
                rotations.len()
            );
            let example = Example {
                feature: feature.to_vec(),
                rotations,
                joints: Vec::new(),
            };
            if index.is_multiple_of(holdout_every as u64) {
                held.push(example);
            } else {
                train.push(example);
            }
        }
    }
    anyhow::ensure!(
        !train.is_empty(),
        "no usable body labels with an embedding in {:?}",
        dirs
    );
    Ok((train, held))
}

/// Rotation matrices (22 per body) as SMPL-X parameters (body only).
fn as_params(bodies: &[Vec<[f32; 9]>]) -> SmplxParams {
    let mut params = SmplxParams::zeros(bodies.len(), Default::default());
    for (k, body) in bodies.iter().enumerate() {
        let aa = flat_matrices_to_axis_angles(body.as_flattened());
        params.global_orient[k] = aa[..3].to_vec();
        params.body_pose[k] = aa[3..].to_vec();
    }
    params
}

/// The 22 body joints of each body, metres.
fn body_joints<B: Backend>(
    layer: &Smplx<B>,
    params: &SmplxParams,
    device: &B::Device,
) -> anyhow::Result<Vec<Vec<Point>>> {
    let joints = layer.joints(SmplxInput::from_params(params, device)); // [N, J, 3]
    let [n, j, _] = joints.dims();
    let v = furpe::readback::floats(joints).map_err(|e| anyhow::anyhow!("joints: {e}"))?;
    Ok((0..n)
        .map(|b| {
            (0..HEAD_ROTATIONS)
                .map(|k| {
                    let p = &v[(b * j + k) * 3..(b * j + k) * 3 + 3];
                    [p[0] as f64, p[1] as f64, p[2] as f64]
                })
                .collect()
        })
        .collect())
}

/// Mean PA-MPJPE (mm) of `pred` against `gt`.
fn pa_mpjpe_mm(pred: &[Vec<Point>], gt: &[Vec<Point>]) -> anyhow::Result<f64> {
    let mut total = 0.0;
    for (p, g) in pred.iter().zip(gt) {
        total += furpe::metrics::pa_mpjpe(p, g)?;
    }
    Ok(1000.0 * total / gt.len().max(1) as f64)
}

/// Sets every example's pelvis-relative label joints.
fn set_joints<B: Backend>(
    layer: &Smplx<B>,
    examples: &mut [Example],
    device: &B::Device,
) -> anyhow::Result<()> {
    for chunk in examples.chunks_mut(256) {
        let bodies: Vec<Vec<[f32; 9]>> = chunk.iter().map(|e| e.rotations.clone()).collect();
        let joints = body_joints(layer, &as_params(&bodies), device)?;
        for (e, j) in chunk.iter_mut().zip(joints) {
            let root = j[0];
            e.joints = j
                .iter()
                .map(|p| [p[0] - root[0], p[1] - root[1], p[2] - root[2]])
                .collect();
        }
    }
    Ok(())
}

/// The label joints of `rows` `[n, 22, 3]`.
fn joint_targets<B: Backend>(
    examples: &[Example],
    rows: &[usize],
    device: &B::Device,
) -> Tensor<B, 3> {
    let values: Vec<f32> = rows
        .iter()
        .flat_map(|&r| examples[r].joints.iter().flatten().map(|&v| v as f32))
        .collect();
    Tensor::from_data(
        TensorData::new(values, [rows.len(), HEAD_ROTATIONS, 3]),
        device,
    )
}

/// Features `[n, F]` and target rotations `[n, 22, 3, 3]` of `rows`.
fn batch<B: Backend>(
    examples: &[Example],
    rows: &[usize],
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 4>) {
    let dim = examples[0].feature.len();
    let features: Vec<f32> = rows
        .iter()
        .flat_map(|&r| examples[r].feature.iter().copied())
        .collect();
    let targets: Vec<f32> = rows
        .iter()
        .flat_map(|&r| examples[r].rotations.iter().flatten().copied())
        .collect();
    (
        Tensor::from_data(TensorData::new(features, [rows.len(), dim]), device),
        Tensor::from_data(
            TensorData::new(targets, [rows.len(), HEAD_ROTATIONS, 3, 3]),
            device,
        ),
    )
}

impl BackendJob for HeadTrainArgs {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        type AD<B> = Autodiff<B>;
        let head_path = self.out.join("head.furpe");
        anyhow::ensure!(
            self.overwrite || !head_path.exists(),
            "{}: exists; pass --overwrite to replace it",
            head_path.display()
        );
        anyhow::ensure!(
            self.steps > 0 && self.batch > 0,
            "--steps and --batch must be positive"
        );
        let (mut train, held) = read_examples(&self.data, self.holdout_every)?;
        let dim = train[0].feature.len();
        println!(
            "{} training and {} held-out bodies, {dim}-value embeddings",
            train.len(),
            held.len()
        );

        let pose_model = match (&self.pose_model, dim) {
            (Some(m), _) => m.clone(),
            (None, 768) => "lite".to_string(),
            (None, 1152) => "full".to_string(),
            (None, _) => anyhow::bail!(
                "the labels' embeddings have {dim} values, not the width of pose_landmark_lite (768) or pose_landmark_full (1152): say which model made them with --pose-model"
            ),
        };

        // 1. The best constant: the training labels' chordal mean.
        let model = crate::body::load_model(self.model.as_deref())?;
        let labels: Vec<Vec<[f32; 9]>> = train.iter().map(|e| e.rotations.clone()).collect();
        let mean = furpe::baseline::mean_params(&as_params(&labels), None)
            .map_err(|e| anyhow::anyhow!("averaging the training labels: {e}"))?;
        let mean_rotations = axis_angles_to_flat_matrices(
            &[&mean.global_orient[0][..], &mean.body_pose[0]].concat(),
        );

        // The joint term's body model, the rotations it poses the rest of
        // the body with (the zero pose's), and the labels' joints.
        let layer_ad = SmplxConfig::new().init::<AD<B>>(&model, &device)?;
        let zero = SmplxParams::zeros(1, Default::default());
        let (shape_zero, rest, _) = layer_ad.rotations_of(SmplxInput::from_params(&zero, &device));
        // Built once for a whole batch: [batch, 33, 3, 3], [batch, β+ψ], [batch, 3].
        let rest = rest
            .slice([0..1, HEAD_ROTATIONS..furpe::smplx::joints::NUM_JOINTS])
            .repeat_dim(0, self.batch);
        let shape_zero = shape_zero.repeat_dim(0, self.batch);
        let transl_zero = Tensor::<AD<B>, 2>::zeros([self.batch, 3], &device);
        if self.joint_weight > 0.0 {
            set_joints(
                &SmplxConfig::new().init::<B>(&model, &device)?,
                &mut train,
                &device,
            )?;
        }

        // 2. The head, starting at that constant.
        let config = PoseHeadConfig::new(dim)
            .with_hidden(self.hidden.clone())
            .with_dropout(self.dropout)
            .with_pose_model(pose_model.clone());
        config.check().map_err(anyhow::Error::msg)?;
        let features: Vec<Vec<f32>> = train.iter().map(|e| e.feature.clone()).collect();
        let mut head: PoseHead<AD<B>> = config
            .init::<AD<B>>(&device)
            .start_at(&features, &mean_rotations)
            .map_err(anyhow::Error::msg)?;
        let mut optim = AdamConfig::new()
            .with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(
                self.weight_decay,
            )))
            .init::<AD<B>, PoseHead<AD<B>>>();

        // 3. Minibatches of the squared distance between rotation matrices
        // (the chordal distance) plus the joint term, the lr a tenth for
        // the last 30 %.
        let started = std::time::Instant::now();
        let mut rng = Rng::new(self.seed);
        let mut running = 0.0;
        for step in 1..=self.steps {
            let rows: Vec<usize> = (0..self.batch).map(|_| rng.below(train.len())).collect();
            let (x, target) = batch::<AD<B>>(&train, &rows, &device);
            let predicted = head.forward(x); // [b, 22, 3, 3]
            let mut loss = (predicted.clone() - target)
                .square()
                .sum()
                .div_scalar(self.batch as f32);
            if self.joint_weight > 0.0 {
                let b = self.batch;
                let full = Tensor::cat(vec![predicted, rest.clone()], 1);
                let joints = layer_ad
                    .forward_joints(shape_zero.clone(), full, transl_zero.clone())
                    .slice([0..b, 0..HEAD_ROTATIONS]); // [b, 22, 3]
                let root = joints.clone().slice([0..b, 0..1]);
                let joints = joints - root;
                let wanted = joint_targets::<AD<B>>(&train, &rows, &device);
                let term = (joints - wanted).square().sum().div_scalar(b as f32);
                loss = loss + term.mul_scalar(self.joint_weight);
            }
            let value: f32 = loss.clone().into_scalar().elem();
            running += value as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            let lr = if step * 10 > self.steps * 7 {
                self.lr * 0.1
            } else {
                self.lr
            };
            head = optim.step(lr, head, grads);
            if step % 500 == 0 || step == self.steps {
                println!(
                    "step {step}/{}: loss {:.4} (mean of the last {}), {:.0} s",
                    self.steps,
                    running / (step - 1).rem_euclid(500).saturating_add(1) as f64,
                    (step - 1).rem_euclid(500) + 1,
                    started.elapsed().as_secs_f64()
                );
                running = 0.0;
            }
        }

        // 4. Held-out bodies against the best constant.
        let head = head.valid();
        let layer = SmplxConfig::new().init::<B>(&model, &device)?;
        let report = if held.is_empty() {
            json!({ "held_out": 0 })
        } else {
            let rows: Vec<usize> = (0..held.len()).collect();
            let (x, _) = batch::<B>(&held, &rows, &device);
            let predicted = head.forward(x);
            let m = furpe::readback::floats(predicted)
                .map_err(|e| anyhow::anyhow!("the head's rotations: {e}"))?;
            let bodies: Vec<Vec<[f32; 9]>> = m
                .chunks(HEAD_ROTATIONS * 9)
                .map(|b| b.chunks(9).map(|r| std::array::from_fn(|k| r[k])).collect())
                .collect();
            let truth: Vec<Vec<[f32; 9]>> = held.iter().map(|e| e.rotations.clone()).collect();
            let pred_joints = body_joints(&layer, &as_params(&bodies), &device)?;
            let gt_joints = body_joints(&layer, &as_params(&truth), &device)?;
            let constant = vec![mean_rotations.clone(); held.len()];
            let constant_joints = body_joints(&layer, &as_params(&constant), &device)?;
            let head_mm = pa_mpjpe_mm(&pred_joints, &gt_joints)?;
            let constant_mm = pa_mpjpe_mm(&constant_joints, &gt_joints)?;
            let spread = furpe::baseline::spread_mm(&pred_joints)?;
            let gt_spread = furpe::baseline::spread_mm(&gt_joints)?;
            println!(
                "held out ({} bodies), PA-MPJPE over the 22 body joints against the labels: head {head_mm:.1} mm, best constant {constant_mm:.1} mm ({:.2}×); spread of the predictions {:.1} mm (labels {:.1} mm)",
                held.len(),
                head_mm / constant_mm,
                spread.unwrap_or(0.0),
                gt_spread.unwrap_or(0.0)
            );
            json!({
                "held_out": held.len(),
                "pa_mpjpe_mm": head_mm,
                "best_constant_pa_mpjpe_mm": constant_mm,
                "ratio": head_mm / constant_mm,
                "spread_mm": spread,
                "labels_spread_mm": gt_spread,
                "joints": "the 22 SMPL-X body joints, posed with the body model, similarity-aligned",
            })
        };

        // 5. The files, each written whole.
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("{}: cannot create", self.out.display()))?;
        let note = format!(
            "pose-head student: {} steps on {:?} ({} bodies), MediaPipe pose_landmark_{} embedding",
            self.steps,
            self.data,
            train.len(),
            pose_model
        );
        let bytes = pose_head::to_bytes(&head, &config, Precision::F32, &note)
            .map_err(anyhow::Error::msg)?;
        furpe::io::write_bytes_atomic(&head_path, &bytes)?;
        let mut constant = SmplxParams::zeros(1, Default::default());
        constant.global_orient = mean.global_orient;
        constant.body_pose = mean.body_pose;
        furpe::io::write_bytes_atomic(
            &self.out.join("label_mean.json"),
            format!("{:#}\n", constant.to_json(furpe::smplx::Batching::Single)).as_bytes(),
        )?;
        let report = json!({
            "data": self.data,
            "training_bodies": train.len(),
            "steps": self.steps,
            "seconds": started.elapsed().as_secs_f64(),
            "held_out": report,
        });
        furpe::io::write_bytes_atomic(
            &self.out.join("report.json"),
            format!("{report:#}\n").as_bytes(),
        )?;
        println!(
            "wrote {}, label_mean.json and report.json",
            head_path.display()
        );
        Ok(())
    }
}
