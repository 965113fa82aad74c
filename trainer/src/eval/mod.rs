//! `furpe eval`: a predictor on a benchmark. Loads the samples
//! (`furpe::benchmarks`), asks the predictor for SMPL-X parameters, poses them
//! with the body model, scores them (`furpe::benchmarks::score`) and writes
//! `report.md`, `report.json`, `per_sample.csv` and `worst.png`.

mod gallery;
pub(crate) mod predict;

use std::path::PathBuf;

use anyhow::{bail, Context};
use burn::tensor::backend::Backend;
use furpe::benchmarks::report::{ConstantRow, EvalReport, MeanScores, Spread};
use furpe::benchmarks::score::{Posed, SampleScore, Scorer};
use furpe::benchmarks::{Benchmark, EvalSample, Target};
use furpe::metrics::{PartSource, PartVertices, Point};
use furpe::smplx::{ParamWidths, Smplx, SmplxConfig, SmplxData, SmplxInput, SmplxParams};

use crate::backend::{with_backend, BackendJob, BackendKind};
use predict::{ConstantPredictor, EvalInput, PredictionDir, Predictor};

/// Samples posed per forward pass.
const CHUNK: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Baseline {
    /// The best constant: the body in `--constant FILE` (e.g. the training
    /// labels' mean, `label_mean.json` in a `furpe train` run) for every image.
    Constant,
    /// Zero pose, shape and expression (the model's template in its T-pose)
    /// for every image: a weak reference any average pose beats.
    ZeroBody,
}

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("predictor")
        .required(true)
        .multiple(false)
        .args(["pred", "baseline", "checkpoint", "head"])
))]
pub struct EvalArgs {
    /// Benchmark: ehf, 3dpw, freihand, now, pose2sim (real people, a
    /// multi-view pseudo ground truth) or synthetic.
    #[arg(long, value_parser = clap::value_parser!(BenchmarkArg))]
    pub dataset: BenchmarkArg,
    /// The benchmark's folder, in its published layout (see README).
    #[arg(long)]
    pub root: PathBuf,
    /// Predictions: DIR/<sample id>.json, one body's SMPL-X parameters each
    /// (the format of `furpe body forward --params`).
    #[arg(long, value_name = "DIR")]
    pub pred: Option<PathBuf>,
    /// A baseline predictor instead of predictions.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// The best constant: one body's SMPL-X parameters (JSON, as `--pred`
    /// files), normally the mean of the training labels (`label_mean.json`
    /// of a `furpe train` run). Scored as `--baseline constant`, or as an
    /// extra row beside any other predictor.
    #[arg(long, value_name = "FILE")]
    pub constant: Option<PathBuf>,
    /// A trained student file (`student.furpe` of a `furpe train` run, or
    /// one exported by `furpe export`).
    #[arg(long, value_name = "C")]
    pub checkpoint: Option<PathBuf>,
    /// With --checkpoint: flip test-time augmentation. The student also
    /// sees each window mirrored; its answer, mirrored back, is averaged
    /// with the direct one (rotations by their chordal mean). Twice the
    /// student's time; docs/learning.md §13–14 measure it.
    #[arg(long, requires = "checkpoint")]
    pub flip: bool,
    /// A pose-head student (`furpe head train`'s head.furpe): MediaPipe
    /// finds the person in each image (the one overlapping the sample's
    /// box) and the head reads its embedding. A sample where nobody is found
    /// gets the head's best constant, counted in the report.
    #[arg(long, value_name = "H")]
    pub head: Option<PathBuf>,
    /// With --head: the `@mediapipe/holistic` package folder.
    #[arg(long, value_name = "DIR", requires = "head")]
    pub mediapipe: Option<PathBuf>,
    /// SMPL-X model (.npz, official layout). Default: the embedded mannequin,
    /// a stand-in (numbers on real benchmarks then mean little).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Directory with the official correspondence files
    /// (SMPL-X__FLAME_vertex_ids.npy, MANO_SMPLX_vertex_ids.pkl); without it
    /// the parts come from the model's skinning weights, and FreiHAND is
    /// scored on joints only.
    #[arg(long, value_name = "DIR")]
    pub parts: Option<PathBuf>,
    /// Output directory. Default: runs/eval/<dataset>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Evaluate the first N samples only.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// 3DPW split: sequenceFiles/<split>/.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Samples in worst.png.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub worst: usize,
    /// Predicted hand poses are absolute (no mean hand added).
    #[arg(long)]
    pub flat_hand_mean: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

/// `Benchmark` for clap.
#[derive(Debug, Clone, Copy)]
pub struct BenchmarkArg(pub Benchmark);

impl std::str::FromStr for BenchmarkArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse().map(BenchmarkArg)
    }
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if args.limit == Some(0) {
        bail!("--limit must be at least 1");
    }
    with_backend(args.backend, args)
}

impl BackendJob for EvalArgs {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        let benchmark = self.dataset.0;
        let samples = benchmark.load(&self.root, &self.split, self.limit)?;
        let model = crate::body::load_model(self.model.as_deref())?;
        let model_name = match &self.model {
            Some(p) => p.display().to_string(),
            None => "the embedded mannequin (a stand-in for SMPL-X)".to_string(),
        };
        let parts = match &self.parts {
            Some(dir) => PartVertices::from_official_dir(dir, model.num_vertices())?,
            None => PartVertices::from_skinning_weights(
                &model.weights,
                model.num_vertices(),
                &model_name,
            )?,
        };
        let official = matches!(parts.source, PartSource::OfficialFiles { .. });
        let right_hand_ids = official.then_some(parts.right_hand.as_slice());
        let scorer = Scorer::new(&parts, &model.j_regressor, &model.faces, right_hand_ids);

        let widths = ParamWidths {
            betas: 10.min(model.num_shape_space()),
            expression: 10.min(model.num_expression_space()),
            hand: 45,
            max_betas: 10.min(model.num_shape_space()),
            max_expression: 10.min(model.num_expression_space()),
        };
        let constant = match &self.constant {
            Some(path) => Some((
                format!("best constant ({})", path.display()),
                predict::read_params(path, widths)?,
            )),
            None => None,
        };
        let mut predictor: Box<dyn Predictor> = match (&self.pred, self.baseline, &self.checkpoint)
        {
            (Some(dir), _, _) => {
                if !dir.is_dir() {
                    bail!(
                        "--pred {}: not a directory (expected one <sample id>.json per sample)",
                        dir.display()
                    );
                }
                Box::new(PredictionDir {
                    dir: dir.clone(),
                    widths,
                })
            }
            (_, Some(Baseline::ZeroBody), _) => Box::new(ConstantPredictor {
                name: "zero-parameter body (T-pose)".into(),
                params: SmplxParams::zeros(1, widths),
            }),
            (_, Some(Baseline::Constant), _) => match &constant {
                Some((name, params)) => Box::new(ConstantPredictor {
                    name: name.clone(),
                    params: params.clone(),
                }),
                None => bail!("--baseline constant needs --constant FILE (one body's parameters, e.g. label_mean.json of a furpe train run)"),
            },
            (_, _, Some(c)) => {
                let mut student = crate::infer::StudentPredictor::<B>::load(
                    c,
                    &model,
                    self.flat_hand_mean,
                    &device,
                )?;
                student.flip = self.flip;
                Box::new(student)
            }
            _ => match &self.head {
                Some(h) => Box::new(crate::infer::HeadPredictor::<B>::load(
                    h,
                    self.mediapipe.as_deref(),
                    &model,
                    self.flat_hand_mean,
                    &device,
                )?),
                None => bail!("give a predictor: --pred DIR, --baseline constant|zero-body, --checkpoint C or --head H"),
            },
        };
        let layer = layer_for::<B>(
            &model,
            widths.betas,
            widths.expression,
            self.flat_hand_mean,
            &device,
        )?;
        let mut gt_layers: Vec<(bool, usize, usize, Smplx<B>)> = Vec::new();

        let mut scores: Vec<SampleScore> = Vec::with_capacity(samples.len());
        let mut predictions: Vec<SmplxParams> = Vec::with_capacity(samples.len());
        let mut targets: Vec<Target> = Vec::with_capacity(samples.len());
        // The points PA-MPJPE compares, for the spread of each side.
        let (mut pred_points, mut gt_points) = (Vec::new(), Vec::new());
        for chunk in samples.chunks(CHUNK) {
            let preds = chunk
                .iter()
                .map(|s| predictor.predict(&EvalInput::of(s)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            for (p, s) in preds.iter().zip(chunk) {
                check_single(p, &s.id)?;
                predict::check_finite(p, &format!("the prediction of sample {}", s.id))?;
            }
            let (vertices, joints) = pose(&layer, &SmplxParams::concat(&preds), &device)?;
            for (b, sample) in chunk.iter().enumerate() {
                let target = resolve_target::<B>(sample, &model, &mut gt_layers, &device)?;
                let posed = Posed {
                    vertices: &vertices[b],
                    joints: &joints[b],
                };
                let context = || format!("scoring sample {} of {}", sample.id, self.root.display());
                let score = scorer
                    .score(&sample.id, &target, posed)
                    .with_context(context)?;
                scores.push(score);
                if let Some((p, g)) = scorer.pa_points(&target, posed).with_context(context)? {
                    pred_points.push(p);
                    gt_points.push(g);
                }
                targets.push(target);
            }
            predictions.extend(preds);
        }

        // Constants on the same samples: the best constant when given, the
        // predictor's own mean prediction, the zero-parameter body.
        let hands_mean = (!self.flat_hand_mean)
            .then_some([model.hands_mean_l.as_slice(), model.hands_mean_r.as_slice()]);
        let mut constant_rows: Vec<(String, SmplxParams)> = Vec::new();
        if self.baseline.is_none() {
            if let Some(c) = constant {
                constant_rows.push(c);
            }
            let own = furpe::baseline::mean_params(&SmplxParams::concat(&predictions), hands_mean)
                .map_err(|e| anyhow::anyhow!("averaging the predictions: {e}"))?;
            constant_rows.push(("own mean prediction, as a constant".into(), own));
        }
        if self.baseline != Some(Baseline::ZeroBody) {
            constant_rows.push((
                "zero-parameter body (T-pose)".into(),
                SmplxParams::zeros(1, widths),
            ));
        }
        let mut constants = Vec::new();
        for (name, params) in constant_rows {
            let (vertices, joints) = pose(&layer, &params, &device)?;
            let posed = Posed {
                vertices: &vertices[0],
                joints: &joints[0],
            };
            let rows = samples
                .iter()
                .zip(&targets)
                .map(|(sample, target)| scorer.score(&sample.id, target, posed))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("scoring {name}"))?;
            constants.push(ConstantRow {
                name,
                mean: MeanScores::of(&rows),
            });
        }
        let spread = match (
            furpe::baseline::spread_mm(&pred_points)?,
            furpe::baseline::spread_mm(&gt_points)?,
        ) {
            (Some(predictions_mm), Some(ground_truth_mm)) => Some(Spread {
                predictions_mm,
                ground_truth_mm,
                points: format!("the {} points PA-MPJPE compares", gt_points[0].len()),
            }),
            _ => None,
        };

        let hand_vertex_source = (benchmark == Benchmark::FreiHand).then(|| {
            if official {
                format!("official MANO ↔ SMPL-X correspondence ({}): PA-V2V and F-scores on the 778 MANO vertices", parts.source)
            } else {
                "joints only (no --parts DIR with MANO_SMPLX_vertex_ids.pkl): PA-MPJPE and F-scores on the 21 hand keypoints".to_string()
            }
        });
        let report = EvalReport {
            dataset: benchmark.name().into(),
            root: self.root.display().to_string(),
            method: predictor.name(),
            model: model_name,
            evaluated: samples[0].target.evaluated().into(),
            part_vertex_source: match &parts.source {
                PartSource::OfficialFiles { .. } => {
                    format!("{} (official correspondences)", parts.source)
                }
                PartSource::SkinningWeights { .. } => {
                    format!("{} (no --parts DIR given)", parts.source)
                }
            },
            hand_vertex_source,
            notes: notes(benchmark, self.worst, reference_error_px(&samples)),
            num_samples: scores.len(),
            mean: MeanScores::of(&scores),
            constants,
            spread,
            per_sample: scores,
        };
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs/eval").join(benchmark.name()));
        let gallery = write_outputs(&out, &report, &samples, self.worst)?;
        print!("{}", report.markdown());
        match gallery {
            Ok(()) => println!(
                "wrote report.md, report.json, per_sample.csv and worst.png to {}",
                out.display()
            ),
            // The scores are the result; a picture that cannot be drawn (an
            // image gone since loading, a full disk) does not undo them.
            Err(e) => eprintln!(
                "wrote report.md, report.json and per_sample.csv to {}; worst.png was not written: {e:#}",
                out.display()
            ),
        }
        Ok(())
    }
}

/// The mean triangulation residual of a multi-view reference (Pose2Sim).
fn reference_error_px(samples: &[EvalSample]) -> Option<f64> {
    let errors: Vec<f64> = samples
        .iter()
        .filter_map(|s| match &s.target {
            Target::LimbJoints {
                reference_error_px, ..
            } => Some(*reference_error_px),
            _ => None,
        })
        .collect();
    (!errors.is_empty()).then(|| errors.iter().sum::<f64>() / errors.len() as f64)
}

/// Writes the reports, then the gallery; `Ok(Err(..))` when only the
/// gallery failed.
fn write_outputs(
    out: &std::path::Path,
    report: &EvalReport,
    samples: &[EvalSample],
    worst: usize,
) -> anyhow::Result<anyhow::Result<()>> {
    let write = |name: &str, text: String| -> anyhow::Result<()> {
        let path = out.join(name);
        furpe::io::write_bytes_atomic(&path, text.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))
    };
    write("report.md", report.markdown())?;
    write("report.json", serde_json::to_string_pretty(report)? + "\n")?;
    write("per_sample.csv", report.csv())?;
    let mut order: Vec<usize> = (0..samples.len()).collect();
    order.sort_by(|&a, &b| {
        report.per_sample[b]
            .primary_mm()
            .total_cmp(&report.per_sample[a].primary_mm())
    });
    order.truncate(worst.max(1));
    // The reports are written (the outer result); the gallery's own failure
    // is returned beside them.
    Ok(gallery::write_gallery(
        &out.join("worst.png"),
        samples,
        &report.per_sample,
        &order,
    ))
}

/// What each benchmark's numbers mean.
fn notes(benchmark: Benchmark, worst: usize, reference_error_px: Option<f64>) -> Vec<String> {
    let mut notes = vec![match benchmark {
        Benchmark::Ehf | Benchmark::Synthetic => "PA-MPJPE: the 22 body joints (pelvis … wrists) regressed by the body model's J_regressor from both meshes".into(),
        Benchmark::ThreeDpw => "PA-MPJPE: the 22 joints SMPL and SMPL-X share (SMPL joint j = SMPL-X joint j for j < 22; SMPL's hand roots 22, 23 left out); ground truth is 3DPW's jointPositions in the camera frame".into(),
        Benchmark::FreiHand => "PA-MPJPE: the 21 right-hand keypoints (SMPL-X wrist, finger joints and fingertips in OpenPose order)".into(),
        Benchmark::Pose2Sim => "PA-MPJPE: the 12 limb joints (shoulders, elbows, wrists, hips, knees, ankles) against a multi-view pseudo ground truth: every view's 2D keypoints triangulated with the calibration (views that disagree dropped), not a measurement; SMPL-X joints compared by SMPLify-X's OpenPose correspondence, whose hips sit where a detector's do not, so a perfect body still scores some mm".into(),
        Benchmark::Now => "scan-to-mesh: every scan vertex to the predicted face triangles after a similarity alignment of 7 landmarks (NoW's first step; no ICP refinement)".into(),
    }];
    if let Some(px) = reference_error_px {
        notes.push(format!(
            "the reference reprojects into its views with a mean error of {px:.1} px (triangulation residual, images' pixels)"
        ));
    }
    if benchmark == Benchmark::Synthetic {
        notes.push("ground truth: the annotated SMPL-X parameters posed with the body model, moved into the camera frame".into());
    }
    notes.push(format!(
        "worst.png: the {worst} worst samples by the first metric present (PA-V2V, PA-MPJPE, scan-to-mesh); projected points, ground truth green, aligned prediction red"
    ));
    notes
}

fn layer_for<B: Backend>(
    model: &SmplxData,
    betas: usize,
    expression: usize,
    flat_hand_mean: bool,
    device: &B::Device,
) -> anyhow::Result<Smplx<B>> {
    Ok(SmplxConfig::new()
        .with_num_betas(betas)
        .with_num_expression(expression)
        .with_flat_hand_mean(flat_hand_mean)
        .init::<B>(model, device)?)
}

/// One body per prediction.
fn check_single(params: &SmplxParams, id: &str) -> anyhow::Result<()> {
    if params.batch_size() != 1 {
        bail!(
            "the prediction of sample {id} holds {} bodies, expected 1",
            params.batch_size()
        );
    }
    Ok(())
}

/// Vertices and joints of each body on the host, f64.
type Bodies = Vec<Vec<Point>>;

fn pose<B: Backend>(
    layer: &Smplx<B>,
    params: &SmplxParams,
    device: &B::Device,
) -> anyhow::Result<(Bodies, Bodies)> {
    let batch = params.batch_size();
    let output = layer.forward(SmplxInput::from_params(params, device));
    let vertices = furpe::readback::points(output.vertices)?;
    let joints = furpe::readback::points(output.joints)?;
    anyhow::ensure!(
        vertices.len() == batch && joints.len() == batch,
        "the body model posed {} bodies for {batch} parameter sets",
        vertices.len()
    );
    if let Some((b, _)) = vertices
        .iter()
        .enumerate()
        .find(|(_, v)| v.iter().flatten().any(|x| !x.is_finite()))
    {
        bail!("body {b} of a batch posed to non-finite vertices (are the parameters sane?)");
    }
    Ok((vertices, joints))
}

/// The sample's target, with ground-truth parameters posed into a mesh in
/// the camera frame (a layer per hand convention and width, made once).
fn resolve_target<B: Backend>(
    sample: &EvalSample,
    model: &SmplxData,
    layers: &mut Vec<(bool, usize, usize, Smplx<B>)>,
    device: &B::Device,
) -> anyhow::Result<Target> {
    let Target::SmplxParams {
        params,
        flat_hand_mean,
        world_to_camera,
    } = &sample.target
    else {
        return Ok(sample.target.clone());
    };
    let (nb, ne) = (params.betas[0].len(), params.expression[0].len());
    let at = match layers
        .iter()
        .position(|(f, b, e, _)| (*f, *b, *e) == (*flat_hand_mean, nb, ne))
    {
        Some(at) => at,
        None => {
            let layer = layer_for::<B>(model, nb, ne, *flat_hand_mean, device)
                .with_context(|| format!("posing the ground truth of sample {}", sample.id))?;
            layers.push((*flat_hand_mean, nb, ne, layer));
            layers.len() - 1
        }
    };
    let (mut vertices, _) = pose(&layers[at].3, params, device)?;
    let mut vertices = vertices.swap_remove(0);
    if let Some(camera) = world_to_camera {
        vertices.iter_mut().for_each(|p| *p = camera.to_camera(*p));
    }
    Ok(Target::SmplxMesh(vertices))
}
