//! `furpe ablation`: the paper's Table 6 on a labelled dataset — pseudo
//! labels only; + selection; + EMA; + distillation — each trained with
//! several seeds, reported as the mean and spread of the held-out PA-V2V
//! and PA-MPJPE (markdown + JSON).

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use crate::backend::BackendKind;
use crate::train::config::TrainConfig;
use crate::train::record::{LogLine, ValidationRecord};

#[derive(Debug, clap::Args)]
pub struct AblationArgs {
    /// Labelled dataset (after `furpe prepare` or `furpe label` + `furpe select`).
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory: one run per variant and seed, ablation.md, ablation.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Base training configuration (default: configs/cpu-small.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Epochs per run (default: the configuration's).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// A fixed budget of steps per run instead of epochs: every variant then
    /// gets the same compute (with the selection, fewer images are seen
    /// more often).
    #[arg(long, conflicts_with = "epochs")]
    pub steps: Option<usize>,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

/// (name, use_selection, ema, distillation), cumulative as in Table 6.
const VARIANTS: [(&str, bool, bool, bool); 4] = [
    ("pseudo labels only", false, false, false),
    ("+ selection", true, false, false),
    ("+ EMA", true, true, false),
    ("+ distillation", true, true, true),
];

pub fn run(args: AblationArgs) -> anyhow::Result<()> {
    let mut base: TrainConfig = match &args.config {
        Some(path) => TrainConfig::load(path)?,
        None => toml::from_str(include_str!("../../configs/cpu-small.toml"))?,
    };
    base.data = args.data.clone();
    if let Some(e) = args.epochs {
        base.epochs = e;
    }
    if let Some(s) = args.steps {
        base.max_steps = Some(s);
        base.epochs = base.epochs.max(s);
    }
    let mut rows = Vec::new();
    let mut ground_truth_spread = f64::NAN;
    for (name, selection, ema, distill) in VARIANTS {
        let mut v2v = Vec::new();
        let mut mpjpe = Vec::new();
        let mut constant = Vec::new();
        let mut spread = Vec::new();
        for seed in 0..args.seeds {
            let mut config = base.clone();
            config.use_selection = selection;
            config.ema.enabled = ema;
            config.distill = distill;
            config.seed = seed;
            config.out = args
                .out
                .join(format!("{}-seed{seed}", name.replace(['+', ' '], "")));
            let resume = crate::train::checkpoint::latest(&config.out)?.is_some();
            let done = config.out.join("student.furpe").is_file();
            let validation = if done {
                // Finished earlier: read its result instead of training again.
                last_validation(&config.out)?
            } else {
                crate::train::train(config, resume, args.backend)
                    .with_context(|| format!("variant {name:?}, seed {seed}"))?
                    .validation
                    .with_context(|| format!("variant {name:?}, seed {seed}: no validation"))?
            };
            let held = validation.held_out;
            v2v.push(held.map_or(f64::NAN, |h| h.pa_v2v_mm));
            mpjpe.push(held.map_or(f64::NAN, |h| h.pa_mpjpe_mm));
            constant.push(validation.baseline_pa_mpjpe_mm.unwrap_or(f64::NAN));
            spread.push(held.and_then(|h| h.spread_mm).unwrap_or(f64::NAN));
            if let Some(s) = held.and_then(|h| h.ground_truth_spread_mm) {
                ground_truth_spread = s;
            }
        }
        rows.push((name, v2v, mpjpe, constant, spread));
    }
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
        (mean, sd)
    };
    // Each variant's best constant is the mean of its own training labels
    // (with the selection, of fewer rows); a variant that does not beat it
    // has learnt nothing from the pixels.
    let mut md = String::from(
        "| variant | held-out PA-V2V (mm) | held-out PA-MPJPE (mm) | best constant's PA-MPJPE (mm) | spread of the predictions (mm) | runs |\n|---|---|---|---|---|---|\n",
    );
    let mut out = Vec::new();
    for (name, v2v, mpjpe, constant, spread) in &rows {
        let (a, sa) = stats(v2v);
        let (b, sb) = stats(mpjpe);
        let (c, sc) = stats(constant);
        let (d, sd) = stats(spread);
        md.push_str(&format!(
            "| {name} | {a:.1} ± {sa:.1} | {b:.1} ± {sb:.1} | {c:.1} ± {sc:.1} | {d:.1} ± {sd:.1} | {} |\n",
            v2v.len()
        ));
        out.push(json!({
            "variant": name, "pa_v2v_mm": v2v, "pa_mpjpe_mm": mpjpe,
            "best_constant_pa_mpjpe_mm": constant, "spread_mm": spread,
        }));
    }
    md.push_str(&format!(
        "\nSpread: the held-out joints' mean Procrustes distance to their own mean shape (the ground truth's: {ground_truth_spread:.1} mm); a student that ignores its input scores 0.\n"
    ));
    std::fs::create_dir_all(&args.out)?;
    furpe::io::write_bytes_atomic(&args.out.join("ablation.md"), md.as_bytes())?;
    furpe::io::write_bytes_atomic(
        &args.out.join("ablation.json"),
        serde_json::to_string_pretty(&out)?.as_bytes(),
    )?;
    print!("{md}");
    Ok(())
}

/// The last validation record of a finished run's log.
fn last_validation(run: &std::path::Path) -> anyhow::Result<ValidationRecord> {
    let text = std::fs::read_to_string(run.join("log.jsonl"))
        .with_context(|| format!("{}: no log", run.display()))?;
    LogLine::parse_all(&text)
        .filter_map(|l| match l {
            LogLine::Validation { validation } => Some(validation),
            LogLine::Step(_) => None,
        })
        .last()
        .with_context(|| format!("{}: no validation record", run.display()))
}
