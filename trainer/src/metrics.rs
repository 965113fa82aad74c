//! `furpe metrics`: errors between predicted and ground-truth points (joints
//! or vertices) stored as `.npy` arrays; the maths is `furpe::metrics`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use furpe::metrics::{
    evaluate, BatchReport, Part, PartVertices, Point, HAND_NUM_KEYPOINTS, MANO_NUM_VERTICES,
    SMPLX_NUM_VERTICES,
};
use furpe::npz::{read_npy_file, NpyData};

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Predictions: .npy of shape [N, K, 3], metres, float32 or float64.
    #[arg(long)]
    pub pred: PathBuf,
    /// Ground truth: .npy of the same shape.
    #[arg(long)]
    pub gt: PathBuf,
    /// Directory with the official correspondence files
    /// (SMPL-X__FLAME_vertex_ids.npy, MANO_SMPLX_vertex_ids.pkl) for the
    /// per-part errors when K = 10475 (SMPL-X vertices).
    #[arg(long, value_name = "DIR")]
    pub parts: Option<PathBuf>,
    /// Without --parts, parts come from this model's skinning weights (each
    /// vertex goes to its dominant joint). Default: the embedded mannequin.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Also write the report as JSON.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: MetricsArgs) -> anyhow::Result<()> {
    let (pred_shape, pred) = read_points(&args.pred)?;
    let (gt_shape, gt) = read_points(&args.gt)?;
    if pred_shape != gt_shape {
        bail!(
            "{} has shape {pred_shape:?} but {} has shape {gt_shape:?}: both must be [N, K, 3] with the same N and K",
            args.pred.display(),
            args.gt.display()
        );
    }
    let k = pred_shape[1];
    let parts = if k == SMPLX_NUM_VERTICES {
        Some(load_parts(&args, k)?)
    } else {
        if args.parts.is_some() || args.model.is_some() {
            eprintln!("note: --parts/--model ignored: per-part errors need K = {SMPLX_NUM_VERTICES} (SMPL-X vertices), the arrays have K = {k}");
        }
        None
    };
    let report = evaluate(&pred, &gt, k, parts.as_ref())?;
    print!("{}", table(&args, &report));
    if let Some(out) = &args.out {
        let mut json = serde_json::to_value(&report)?;
        json["pred"] = args.pred.display().to_string().into();
        json["gt"] = args.gt.display().to_string().into();
        let text = serde_json::to_string_pretty(&json)? + "\n";
        furpe::io::write_bytes_atomic(out, text.as_bytes())
            .with_context(|| format!("{}: cannot write the report", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// An `[N, K, 3]` float array as `N · K` points, checked.
fn read_points(path: &Path) -> anyhow::Result<([usize; 3], Vec<Point>)> {
    let array = read_npy_file(path)?;
    let name = path.display();
    let shape = match array.shape[..] {
        [n, k, 3] if n > 0 && k > 0 => [n, k, 3],
        [_, _, 3] => bail!(
            "{name}: array has shape {:?}, which holds no points; expected [N, K, 3] with N, K >= 1",
            array.shape
        ),
        _ => bail!(
            "{name}: array has shape {:?}, expected [N, K, 3] (samples, points, xyz in metres)",
            array.shape
        ),
    };
    let values = match &array.data {
        NpyData::F32(v) => v.iter().map(|&x| x as f64).collect::<Vec<_>>(),
        NpyData::F64(v) => v.clone(),
        other => bail!(
            "{name}: values are {}, expected float32 or float64 coordinates in metres",
            dtype_name(other)
        ),
    };
    if let Some(i) = values.iter().position(|x| !x.is_finite()) {
        bail!(
            "{name}: non-finite value {} at [{}, {}, {}] (sample, point, coordinate); every coordinate must be finite",
            values[i],
            i / (3 * shape[1]),
            i / 3 % shape[1],
            i % 3
        );
    }
    let points = values.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    Ok((shape, points))
}

fn dtype_name(data: &NpyData) -> &'static str {
    match data {
        NpyData::F32(_) => "float32",
        NpyData::F64(_) => "float64",
        NpyData::I64(_) => "int64",
        NpyData::I32(_) => "int32",
        NpyData::U32(_) => "uint32",
        NpyData::U64(_) => "uint64",
        NpyData::U8(_) => "uint8/bool",
        NpyData::Str(_) => "strings",
    }
}

/// Official correspondence files when given, else skinning weights.
fn load_parts(args: &MetricsArgs, num_vertices: usize) -> anyhow::Result<PartVertices> {
    if let Some(dir) = &args.parts {
        if args.model.is_some() {
            eprintln!("note: --model ignored: the parts come from --parts");
        }
        return Ok(PartVertices::from_official_dir(dir, num_vertices)?);
    }
    let model = crate::body::load_model(args.model.as_deref())?;
    let name = match &args.model {
        Some(p) => p.display().to_string(),
        None => "the embedded mannequin (a stand-in for SMPL-X)".to_string(),
    };
    if model.num_vertices() != num_vertices {
        bail!(
            "{name} has {} vertices but the arrays have K = {num_vertices} points",
            model.num_vertices()
        );
    }
    Ok(PartVertices::from_skinning_weights(
        &model.weights,
        num_vertices,
        name,
    )?)
}

/// The readable report: millimetres, mean and range over samples.
fn table(args: &MetricsArgs, report: &BatchReport) -> String {
    let stats = |values: Vec<f64>| -> String {
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        format!("{mean:>10.3} {lo:>10.3} {hi:>10.3}")
    };
    let per = |f: &dyn Fn(&furpe::metrics::SampleMetrics) -> Option<f64>| -> Option<Vec<f64>> {
        report.per_sample.iter().map(f).collect()
    };
    let mut out = format!(
        "pred {}  gt {}\n{} samples x {} points\n{:<40}{:>10} {:>10} {:>10}\n",
        args.pred.display(),
        args.gt.display(),
        report.num_samples,
        report.num_points,
        "millimetres",
        "mean",
        "min",
        "max"
    );
    let error = per(&|s| Some(s.error_mm)).unwrap_or_default();
    let pa = per(&|s| Some(s.pa_error_mm)).unwrap_or_default();
    out += &format!("{:<40}{}\n", "error (no alignment)", stats(error));
    out += &format!("{:<40}{}\n", "PA error (similarity Procrustes)", stats(pa));
    if let Some(parts) = &report.parts {
        out += &format!(
            "per part, PA, each part aligned on its own (parts: {}):\n",
            parts.source
        );
        for part in Part::ALL {
            let label = format!(
                "  {} ({} vertices)",
                part.label(),
                parts.get(part).num_vertices
            );
            match per(&|s| s.parts.and_then(|p| p.get(part))) {
                Some(values) => out += &format!("{label:<40}{}\n", stats(values)),
                None => out += &format!("{label:<40}{:>10}\n", "-"),
            }
        }
    }
    if let (Some(f5), Some(f15)) = (per(&|s| s.f_score_5mm), per(&|s| s.f_score_15mm)) {
        let hand = if report.num_points == MANO_NUM_VERTICES {
            "MANO vertices"
        } else if report.num_points == HAND_NUM_KEYPOINTS {
            "hand keypoints"
        } else {
            "hand"
        };
        out += &format!("F-scores after similarity Procrustes ({hand}, fraction):\n");
        out += &format!("{:<40}{}\n", "  F@5mm", stats(f5));
        out += &format!("{:<40}{}\n", "  F@15mm", stats(f15));
    }
    out
}
