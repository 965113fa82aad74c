//! `furpe infer` and `furpe export`, and the student predictor `furpe eval
//! --checkpoint` uses: an exported student (`RUN/student.furpe`) applied to
//! images, through the shared crop rule and parameter conversion.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::backend::Backend;
use furpe::crop::CropTransform;
use furpe::inference::{body_window, BodyRegressor};
use furpe::keypoints::{NUM_BODY25, SMPLIFYX_BODY25};
use furpe::metrics::image_points::{image_agreement, FramePoints};
use furpe::nets::student_file::{self, Precision};
use furpe::smplx::{SmplxConfig, SmplxData, SmplxParams};

use crate::backend::{with_backend, BackendJob, BackendKind};
use crate::eval::predict::{EvalInput, Predictor};

/// A loaded student with its body model: `furpe infer` and `furpe eval
/// --checkpoint` run it through the shared [`BodyRegressor`], the path the
/// browser takes.
pub struct StudentPredictor<B: Backend> {
    regressor: BodyRegressor<B>,
    hands_mean: [Vec<f32>; 2],
    flat_hand_mean: bool,
    /// Flip test-time augmentation for `furpe eval --flip` (see
    /// [`StudentPredictor::flip_averaged`]).
    pub flip: bool,
}

/// One image's prediction.
pub struct Prediction {
    pub params: SmplxParams,
    /// NAME.json of `furpe infer` (the shared `inference::Prediction::to_json`).
    pub json: serde_json::Value,
    /// Weak-perspective camera (s, tx, ty) in the window's coordinates.
    pub camera: [f32; 3],
    pub window: CropTransform,
    /// The posed vertices `[V]` at the origin (model frame).
    pub vertices: Vec<[f32; 3]>,
    /// The OpenPose BODY_25 points of the body, projected: image pixels.
    pub body25: Vec<[f32; 2]>,
}

impl<B: Backend> StudentPredictor<B> {
    pub fn load(
        path: &Path,
        model: &SmplxData,
        flat_hand_mean: bool,
        device: &B::Device,
    ) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("{}: cannot read the student", path.display()))?;
        let (student, config, _) =
            student_file::from_bytes::<B>(&bytes, &path.display().to_string(), device)?;
        Ok(Self {
            regressor: BodyRegressor {
                student,
                config,
                body_model: SmplxConfig::new().init::<B>(model, device)?,
                device: device.clone(),
            },
            hands_mean: [model.hands_mean_l.clone(), model.hands_mean_r.clone()],
            flat_hand_mean,
            flip: false,
        })
    }

    /// Flip test-time augmentation: the student also sees the window
    /// mirrored, its answer is mirrored back (left and right joints swapped,
    /// each rotation reflected: `SmplxParams::flipped`), and the two are
    /// averaged as the best constant is (`baseline::mean_params`: rotations
    /// by their chordal mean, shape arithmetically). The expression is the
    /// unmirrored view's: its basis has no left–right symmetry to undo.
    pub fn flip_averaged(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        window: CropTransform,
    ) -> anyhow::Result<SmplxParams> {
        let direct = self.predict(rgb, width, height, window)?.params;
        let mirrored = CropTransform {
            flip: !window.flip,
            ..window
        };
        let back = self.predict(rgb, width, height, mirrored)?.params.flipped();
        let hands_mean =
            (!self.flat_hand_mean).then(|| [&self.hands_mean[0][..], &self.hands_mean[1][..]]);
        let mut mean =
            furpe::baseline::mean_params(&SmplxParams::concat(&[direct.clone(), back]), hands_mean)
                .map_err(anyhow::Error::msg)?;
        mean.expression = direct.expression;
        Ok(mean)
    }

    /// Predicts the person in `window` of an RGB8 image.
    pub fn predict(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        window: CropTransform,
    ) -> anyhow::Result<Prediction> {
        let no_clock = || 0.0;
        let p = burn::tensor::try_read_sync(
            self.regressor
                .predict_rgb(rgb, width, height, window, &no_clock),
        )
        .context("the student's prediction could not be read synchronously on this backend")?
        .map_err(anyhow::Error::msg)?;
        Ok(Prediction::from_shared(
            p,
            &self.hands_mean,
            self.flat_hand_mean,
        ))
    }
}

impl Prediction {
    /// The shared path's result as `furpe infer` writes it.
    fn from_shared(
        p: furpe::inference::Prediction,
        hands_mean: &[Vec<f32>; 2],
        flat_hand_mean: bool,
    ) -> Self {
        let hands_mean = [&hands_mean[0][..], &hands_mean[1][..]];
        let body25: Vec<[f32; 3]> = SMPLIFYX_BODY25
            .iter()
            .map(|&j| p.joints.get(j).copied().unwrap_or([f32::NAN; 3]))
            .collect();
        Prediction {
            body25: p.project(&body25),
            params: p.params(hands_mean, flat_hand_mean),
            json: p.to_json(hands_mean, flat_hand_mean),
            camera: p.camera,
            window: p.crop,
            vertices: p.vertices,
        }
    }
}

/// A pose-head student ([`furpe::nets::pose_head`]) with the MediaPipe
/// models it reads the embedding of: each image is searched for people and
/// the one overlapping the given box most (the first found without one) is
/// predicted; the body is placed on its 2D landmarks.
pub struct HeadPredictor<B: Backend> {
    holistic: furpe::mediapipe::holistic::Holistic<B>,
    head: furpe::nets::pose_head::PoseHead<B>,
    layer: furpe::smplx::Smplx<B>,
    hands_mean: [Vec<f32>; 2],
    flat_hand_mean: bool,
    device: B::Device,
    /// `furpe eval`: samples asked for, and those where nobody was found
    /// (predicted as the head's best constant and counted in its name).
    asked: usize,
    missed: usize,
}

impl<B: Backend> HeadPredictor<B> {
    pub fn load(
        path: &Path,
        mediapipe: Option<&Path>,
        model: &SmplxData,
        flat_hand_mean: bool,
        device: &B::Device,
    ) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("{}: cannot read the pose-head student", path.display()))?;
        let (head, config, _) =
            furpe::nets::pose_head::from_bytes::<B>(&bytes, &path.display().to_string(), device)?;
        let root = std::env::current_dir().context("cannot read the current directory")?;
        let package = furpe::mediapipe::package::Package::find(mediapipe, &root)?;
        let holistic = furpe::mediapipe::holistic::Holistic::<B>::new(
            |file| package.model_bytes(file).map_err(anyhow::Error::from),
            config.pose_model_file(),
            false,
            false,
            device,
        )?;
        Ok(Self {
            holistic,
            head,
            // Axis-angle hands: what `head_prediction` poses.
            layer: SmplxConfig::new().init::<B>(model, device)?,
            hands_mean: [model.hands_mean_l.clone(), model.hands_mean_r.clone()],
            flat_hand_mean,
            device: device.clone(),
            asked: 0,
            missed: 0,
        })
    }

    /// The head's best constant (its training labels' mean) as parameters:
    /// body only, mean hands, neutral face.
    fn constant(&self) -> anyhow::Result<SmplxParams> {
        let m = furpe::readback::floats(self.head.start_rotations())
            .map_err(|e| anyhow::anyhow!("the head's mean rotations: {e}"))?;
        let axis_angle = furpe::rotation::host::flat_matrices_to_axis_angles(&m);
        let mut params = SmplxParams::zeros(1, Default::default());
        params.global_orient[0] = axis_angle[..3].to_vec();
        params.body_pose[0] = axis_angle[3..].to_vec();
        if self.flat_hand_mean {
            params.left_hand_pose[0] = self.hands_mean[0].clone();
            params.right_hand_pose[0] = self.hands_mean[1].clone();
        }
        Ok(params)
    }

    /// The person overlapping `person_box` most in an RGB8 image; `None`
    /// when MediaPipe finds nobody.
    pub fn predict(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        person_box: Option<[f32; 4]>,
    ) -> anyhow::Result<Option<Prediction>> {
        let found = self
            .holistic
            .detect_parts(
                rgb,
                width,
                height,
                3,
                furpe::mediapipe::holistic::Parts::BODY,
            )
            .map_err(|e| anyhow::anyhow!("MediaPipe failed: {e}"))?;
        let person = match person_box {
            Some(b) => crate::label::mediapipe::pick(found, b),
            None => found.into_iter().next(),
        };
        let Some(person) = person else {
            return Ok(None);
        };
        let p = furpe::tracking::head_prediction(&self.head, &self.layer, &person, &self.device)
            .map_err(anyhow::Error::msg)?;
        Ok(Some(Prediction::from_shared(
            p,
            &self.hands_mean,
            self.flat_hand_mean,
        )))
    }
}

impl<B: Backend> Predictor for HeadPredictor<B> {
    fn name(&self) -> String {
        if self.missed == 0 {
            "pose-head student".into()
        } else {
            format!(
                "pose-head student ({} of {} samples without a person found: its best constant there)",
                self.missed, self.asked
            )
        }
    }

    fn predict(&mut self, input: &EvalInput) -> anyhow::Result<SmplxParams> {
        let image = input.load_rgb()?;
        let (w, h) = image.dimensions();
        self.asked += 1;
        match HeadPredictor::predict(self, image.as_raw(), w, h, input.person_box)
            .with_context(|| format!("sample {}", input.id))?
        {
            Some(p) => Ok(p.params),
            None => {
                self.missed += 1;
                self.constant()
            }
        }
    }
}

/// What `furpe infer` runs (one per run: the size difference costs nothing).
#[allow(clippy::large_enum_variant)]
enum Predictors<B: Backend> {
    Student(StudentPredictor<B>),
    Head(HeadPredictor<B>),
}

impl<B: Backend> Predictors<B> {
    /// The person in (or overlapping) `person_box`, the whole image without
    /// one; `None` when a pose-head student's detector finds nobody.
    fn predict(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        person_box: Option<[f32; 4]>,
    ) -> anyhow::Result<Option<Prediction>> {
        match self {
            Self::Student(s) => {
                let window = body_window(person_box, None, width, height);
                s.predict(rgb, width, height, window).map(Some)
            }
            Self::Head(h) => h.predict(rgb, width, height, person_box),
        }
    }
}

impl<B: Backend> Predictor for StudentPredictor<B> {
    fn name(&self) -> String {
        if self.flip {
            "FuRPE student (flip test-time augmentation)".into()
        } else {
            "FuRPE student".into()
        }
    }

    fn predict(&mut self, input: &EvalInput) -> anyhow::Result<SmplxParams> {
        let image = input.load_rgb()?;
        let (w, h) = image.dimensions();
        let window = body_window(input.person_box, input.keypoints, w, h);
        if self.flip {
            return self.flip_averaged(image.as_raw(), w, h, window);
        }
        Ok(StudentPredictor::predict(self, image.as_raw(), w, h, window)?.params)
    }
}

#[derive(Debug, clap::Args)]
pub struct InferArgs {
    /// An image, a directory of images (.png, .jpg), or a dataset directory
    /// (annotations.jsonl, e.g. from `furpe import openpose`): each record is
    /// cut at its own person box, only its parameters are written
    /// (RECORD.json, no mesh or overlay), and where the records carry a
    /// detector's keypoints the projected body is scored against them
    /// (keypoints_2d.json: distance as a fraction of the person's height,
    /// beside the best constant in the image).
    pub input: PathBuf,
    /// Exported student (`furpe train` writes RUN/student.furpe).
    #[arg(long, required_unless_present = "head", conflicts_with = "head")]
    pub student: Option<PathBuf>,
    /// Instead of a student: a pose-head student (`furpe head train` writes
    /// OUT/head.furpe), run on MediaPipe's embedding of each image's person.
    #[arg(long)]
    pub head: Option<PathBuf>,
    /// With --head: the `@mediapipe/holistic` package folder (default:
    /// models/mediapipe/node_modules/@mediapipe/holistic).
    #[arg(long)]
    pub mediapipe: Option<PathBuf>,
    /// Output directory: NAME.json (parameters), NAME.obj, NAME_overlay.png.
    #[arg(long, default_value = "infer")]
    pub out: PathBuf,
    /// Person box x0,y0,x1,y1 in pixels (it may reach past the image's
    /// edges, so a value may be negative); default: the whole image.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub person_box: Option<Vec<f32>>,
    /// Body model (.npz); default: the embedded mannequin.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

pub fn run_infer(args: InferArgs) -> anyhow::Result<()> {
    with_backend(args.backend, args)
}

impl BackendJob for InferArgs {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        let model = crate::body::load_model(self.model.as_deref())?;
        let predictor = match (&self.student, &self.head) {
            (Some(student), _) => Predictors::Student(StudentPredictor::<B>::load(
                student, &model, false, &device,
            )?),
            (None, Some(head)) => Predictors::Head(HeadPredictor::<B>::load(
                head,
                self.mediapipe.as_deref(),
                &model,
                false,
                &device,
            )?),
            (None, None) => anyhow::bail!("give --student FILE or --head FILE"),
        };
        if self.input.join("annotations.jsonl").is_file() {
            anyhow::ensure!(
                self.person_box.is_none(),
                "--person-box: a dataset's records carry their own person boxes"
            );
            return self.run_dataset(&predictor);
        }
        let images: Vec<PathBuf> = if self.input.is_dir() {
            crate::crops::image_files(&self.input)?
        } else {
            vec![self.input.clone()]
        };
        if let Some(b) = &self.person_box {
            anyhow::ensure!(
                b.len() == 4 && b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1],
                "--person-box {b:?}: expected four finite numbers x0,y0,x1,y1 with x1 > x0 and y1 > y0"
            );
        }
        std::fs::create_dir_all(&self.out)?;
        let many = images.len() > 1;
        let mut unreadable = Vec::new();
        for path in images {
            // One bad image in a folder is reported and skipped, not the end
            // of the run; a single named image that cannot be read is an error.
            let Some(image) = crate::crops::open_or_skip(&path, many, &mut unreadable)? else {
                continue;
            };
            let (w, h) = image.dimensions();
            let bbox = self.person_box.as_ref().map(|b| [b[0], b[1], b[2], b[3]]);
            let Some(p) = predictor.predict(image.as_raw(), w, h, bbox)? else {
                println!("{}: nobody found (nothing written)", path.display());
                continue;
            };
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "image".into());
            furpe::io::write_bytes_atomic(
                &self.out.join(format!("{stem}.json")),
                serde_json::to_string_pretty(&p.json)?.as_bytes(),
            )?;
            let vertices = &p.vertices;
            let obj = self.out.join(format!("{stem}.obj"));
            let mut text = Vec::new();
            furpe::mesh::write_obj(&mut text, vertices, &model.faces)?;
            furpe::io::write_bytes_atomic(&obj, &text)
                .with_context(|| format!("{}: cannot write", obj.display()))?;
            let overlay = overlay(&image, vertices, &p);
            let png = self.out.join(format!("{stem}_overlay.png"));
            crate::crops::save_png(&overlay, &png)?;
            println!(
                "{} -> {}",
                path.display(),
                self.out.join(format!("{stem}.json")).display()
            );
        }
        anyhow::ensure!(
            unreadable.is_empty(),
            "{} image(s) could not be decoded and were skipped (the others were written): {}",
            unreadable.len(),
            unreadable.join(", ")
        );
        Ok(())
    }
}

impl InferArgs {
    /// `furpe infer DATASET`: every record at its person box; parameters per
    /// record and, with detector keypoints, their agreement in the image.
    fn run_dataset<B: Backend>(&self, predictor: &Predictors<B>) -> anyhow::Result<()> {
        let dir = &self.input;
        let records = furpe::dataset::read_annotations(&dir.join("annotations.jsonl"))?;
        std::fs::create_dir_all(&self.out)?;
        let mut scored: Vec<(usize, Vec<[f32; 2]>)> = Vec::new();
        let mut nobody = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let path = dir.join(&record.image);
            let image = crate::crops::decode_rgb(&path)?;
            let (w, h) = image.dimensions();
            let Some(p) = predictor.predict(image.as_raw(), w, h, Some(record.person_box))? else {
                nobody.push(i);
                continue;
            };
            furpe::io::write_bytes_atomic(
                &self.out.join(format!("{i:06}.json")),
                serde_json::to_string_pretty(&p.json)?.as_bytes(),
            )?;
            if record.keypoints.len() >= NUM_BODY25 {
                scored.push((i, p.body25));
            }
        }
        if !nobody.is_empty() {
            println!(
                "{} of {} records: MediaPipe found nobody (no parameters written, not scored): {:?}",
                nobody.len(),
                records.len(),
                &nobody[..nobody.len().min(20)]
            );
        }
        let frames: Vec<FramePoints> = scored
            .iter()
            .map(|(i, predicted)| FramePoints {
                person_box: records[*i].person_box,
                detected: &records[*i].keypoints[..NUM_BODY25],
                predicted,
            })
            .collect();
        let min_confidence = 0.5;
        let Some(agreement) = image_agreement(&frames, min_confidence) else {
            println!(
                "{} records: parameters in {}; no detector keypoints to score",
                records.len(),
                self.out.display()
            );
            return Ok(());
        };
        let report = serde_json::json!({
            "student": self.student.as_ref().or(self.head.as_ref()).map(|p| p.display().to_string()),
            "records_without_a_person": nobody.len(),
            "dataset": dir.display().to_string(),
            "points": "OpenPose BODY_25 with confidence >= 0.5",
            "min_confidence": min_confidence,
            "agreement": agreement,
        });
        furpe::io::write_bytes_atomic(
            &self.out.join("keypoints_2d.json"),
            format!("{report:#}\n").as_bytes(),
        )?;
        println!(
            "{} frames: body joints {:.1} % of the person's height from the keypoints (median; mean {:.1} %; {:.1} px), best constant in the image {:.1} % (mean {:.1} %; {:.1} px); aligned per frame (2D similarity) {:.1} % vs {:.1} %; spread {:.1} % (keypoints {:.1} %); {}",
            agreement.frames,
            100.0 * agreement.median,
            100.0 * agreement.mean,
            agreement.median_px,
            100.0 * agreement.constant_median,
            100.0 * agreement.constant_mean,
            agreement.constant_median_px,
            100.0 * agreement.aligned_median,
            100.0 * agreement.constant_aligned_median,
            100.0 * agreement.spread,
            100.0 * agreement.detected_spread,
            self.out.join("keypoints_2d.json").display()
        );
        Ok(())
    }
}

/// The predicted vertices projected through the weak-perspective camera and
/// drawn as dots over the image.
fn overlay(image: &image::RgbImage, vertices: &[[f32; 3]], p: &Prediction) -> image::RgbImage {
    let mut out = image.clone();
    let [s, tx, ty] = p.camera;
    for v in vertices.iter().step_by(3) {
        let crop = [s * (v[0] + tx), s * (v[1] + ty)];
        let [x, y] = p.window.to_image(crop);
        if x >= 0.0 && y >= 0.0 && (x as u32) < out.width() && (y as u32) < out.height() {
            out.put_pixel(x as u32, y as u32, image::Rgb([255, 60, 60]));
        }
    }
    out
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["student", "untrained"])))]
pub struct ExportArgs {
    /// A student file (RUN/student.furpe) to re-export.
    #[arg(long)]
    pub student: Option<PathBuf>,
    /// Instead of a trained student: an UNTRAINED one (random weights, seeded
    /// by the config's `seed`) of the network a `furpe train` config's
    /// `[student]` table describes. It predicts nothing useful; it checks
    /// that a page or a pipeline runs that architecture end to end (the
    /// browser tests compare a two-stage one with `furpe infer`).
    #[arg(long, value_name = "TRAIN_CONFIG.toml")]
    pub untrained: Option<PathBuf>,
    #[arg(long)]
    pub out: PathBuf,
    /// Store the weights as f16 (half the size; for the browser).
    #[arg(long)]
    pub f16: bool,
}

pub fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    type B = burn::backend::Flex;
    let device = Default::default();
    let (student, config, note) = match (&args.student, &args.untrained) {
        (Some(path), _) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
            let (student, config, header) =
                student_file::from_bytes::<B>(&bytes, &path.display().to_string(), &device)?;
            (student, config, header.note)
        }
        (None, Some(path)) => {
            let train = crate::train::config::TrainConfig::load(path)?;
            // No experts' features are read: the distillation heads stay
            // one wide, as they never run at inference.
            let config = train.student_config([1, 1, 1])?;
            <B as Backend>::seed(&device, train.seed);
            let note = format!(
                "UNTRAINED: random weights ({} student, seed {}, from {})",
                match config.kind {
                    furpe::nets::StudentKind::OneStage => "one-stage",
                    furpe::nets::StudentKind::TwoStage => "two-stage",
                },
                train.seed,
                path.display()
            );
            (config.init::<B>(&device), config, note)
        }
        (None, None) => anyhow::bail!("give --student FILE or --untrained CONFIG.toml"),
    };
    let precision = if args.f16 {
        Precision::F16
    } else {
        Precision::F32
    };
    let out = student_file::to_bytes(&student, &config, precision, &note)
        .map_err(|e| anyhow::anyhow!(e))?;
    furpe::io::write_bytes_atomic(&args.out, &out)?;
    println!(
        "{} ({:.1} MB, {:?})",
        args.out.display(),
        out.len() as f64 / 1e6,
        precision
    );
    Ok(())
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use furpe::nets::StudentConfig;

    fn predictor() -> StudentPredictor<Flex> {
        let device = Default::default();
        let model = furpe::smplx::mannequin::mannequin();
        let config = StudentConfig::web();
        StudentPredictor {
            regressor: BodyRegressor {
                student: config.init::<Flex>(&device),
                config,
                body_model: SmplxConfig::new()
                    .init::<Flex>(&model, &device)
                    .expect("the mannequin"),
                device,
            },
            hands_mean: [model.hands_mean_l.clone(), model.hands_mean_r.clone()],
            flat_hand_mean: false,
            flip: true,
        }
    }

    fn rotations(p: &SmplxParams) -> Vec<f32> {
        [
            &p.global_orient[0],
            &p.body_pose[0],
            &p.jaw_pose[0],
            &p.left_hand_pose[0],
            &p.right_hand_pose[0],
        ]
        .into_iter()
        .flatten()
        .copied()
        .collect()
    }

    /// Flip test-time augmentation makes the student exactly mirror-
    /// equivariant: the averaged answer for the mirrored window is the
    /// mirror image of the averaged answer for the window (the two views
    /// swap places). A mirroring that did not undo the student's view of
    /// the mirrored window (or swapped no joints) breaks this.
    #[test]
    fn flip_averaging_is_mirror_equivariant() {
        let (w, h) = (96u32, 80u32);
        let rgb: Vec<u8> = (0..w * h * 3)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let s = predictor();
        let window = body_window(Some([20.0, 10.0, 70.0, 75.0]), None, w, h);
        let mirrored = CropTransform {
            flip: !window.flip,
            ..window
        };
        let a = s.flip_averaged(&rgb, w, h, window).expect("a prediction");
        let b = s.flip_averaged(&rgb, w, h, mirrored).expect("a prediction");
        let (ra, rb) = (rotations(&a), rotations(&b.flipped()));
        let worst = ra
            .iter()
            .zip(&rb)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "the averaged answers differ by {worst} rad");
        // Not trivially so: the two views themselves disagree.
        let direct = s.predict(&rgb, w, h, window).expect("a prediction").params;
        let spread = rotations(&direct)
            .iter()
            .zip(&ra)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            spread > 1e-3,
            "the student answered both views alike ({spread})"
        );
    }
}
