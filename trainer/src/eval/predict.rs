//! Predictors: what turns an evaluation sample (image, box, keypoints,
//! camera) into SMPL-X parameters. Evaluation only sees this trait, so it is
//! independent of training: per-sample parameter files, constants (the best
//! constant and the zero-parameter body), and the student checkpoint.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use furpe::benchmarks::EvalSample;
use furpe::camera::PinholeCamera;
use furpe::smplx::params::PARAM_NAMES;
use furpe::smplx::{Batching, ParamWidths, SmplxParams};

/// What a predictor may look at: never the ground truth. The parameter-file
/// and mean predictors need only the id; the student reads the rest.
#[allow(dead_code)]
pub struct EvalInput<'a> {
    pub id: &'a str,
    /// The RGB image (read it with [`EvalInput::load_rgb`]).
    pub image: &'a Path,
    /// Person box (x0, y0, x1, y1), pixels.
    pub person_box: Option<[f32; 4]>,
    /// OpenPose-137 keypoints, pixels.
    pub keypoints: Option<&'a [[f32; 3]]>,
    /// Intrinsics, when the benchmark gives them.
    pub camera: Option<&'a PinholeCamera>,
}

impl<'a> EvalInput<'a> {
    pub fn of(sample: &'a EvalSample) -> Self {
        Self {
            id: &sample.id,
            image: &sample.image,
            person_box: sample.person_box,
            keypoints: sample.keypoints.as_deref(),
            camera: sample.camera.as_ref(),
        }
    }

    /// The image as 8-bit RGB.
    pub fn load_rgb(&self) -> anyhow::Result<image::RgbImage> {
        crate::crops::decode_rgb(self.image)
    }
}

/// Anything that predicts one body's SMPL-X parameters for a sample.
pub trait Predictor {
    /// The method's name in reports.
    fn name(&self) -> String;
    /// One body (batch size 1), hand poses as the evaluation's layer expects
    /// (relative to the mean hand unless `--flat-hand-mean`).
    fn predict(&mut self, input: &EvalInput) -> anyhow::Result<SmplxParams>;
}

/// One body for every image: the best constant (`--baseline constant`,
/// the training labels' mean) or the zero-parameter body
/// (`--baseline zero-body`). A learned predictor must beat the first.
pub struct ConstantPredictor {
    pub name: String,
    pub params: SmplxParams,
}

impl Predictor for ConstantPredictor {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn predict(&mut self, _input: &EvalInput) -> anyhow::Result<SmplxParams> {
        Ok(self.params.clone())
    }
}

/// `--pred DIR`: `DIR/<sample id>.json`, one body's parameters in the
/// `SmplxParams` JSON format (what `furpe body forward --params` reads).
pub struct PredictionDir {
    pub dir: PathBuf,
    pub widths: ParamWidths,
}

impl Predictor for PredictionDir {
    fn name(&self) -> String {
        format!("predictions in {}", self.dir.display())
    }

    fn predict(&mut self, input: &EvalInput) -> anyhow::Result<SmplxParams> {
        let path = self.dir.join(format!("{}.json", input.id));
        if !path.is_file() {
            bail!(
                "{}: cannot read the prediction of sample {} (--pred DIR holds one SMPL-X parameter JSON per sample, named <sample id>.json)",
                path.display(),
                input.id
            );
        }
        read_params(&path, self.widths)
    }
}

/// One body's SMPL-X parameters from a JSON file (flat arrays), checked finite.
pub fn read_params(path: &Path, widths: ParamWidths) -> anyhow::Result<SmplxParams> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{name}: cannot read the SMPL-X parameters"))?;
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
        if ["NaN", "Infinity"].iter().any(|t| text.contains(t)) {
            bail!(
                "{name}: holds NaN or Infinity; every predicted parameter must be a finite number"
            );
        }
        bail!("{name}: not valid JSON: {e}");
    }
    let (params, batching) =
        SmplxParams::from_json(&text, &name, widths).map_err(anyhow::Error::msg)?;
    if batching == Batching::Batch {
        bail!("{name}: holds a batch (arrays of arrays); expected one body (flat arrays)");
    }
    check_finite(&params, &name)?;
    Ok(params)
}

/// Every value finite, else an error naming the file and key.
pub fn check_finite(params: &SmplxParams, source: &str) -> anyhow::Result<()> {
    for key in PARAM_NAMES {
        let rows = params.field(key).map(Vec::as_slice).unwrap_or_default();
        if let Some(i) = rows.iter().flatten().position(|v| !v.is_finite()) {
            bail!("{source}: key '{key}' holds a non-finite value at index {i}; every predicted parameter must be finite");
        }
    }
    Ok(())
}
