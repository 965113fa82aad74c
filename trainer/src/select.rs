//! `furpe select`: the three-step selection over a labelled dataset; writes
//! `DIR/selection.json` (config, summary, one decision per labelled image)
//! and prints how many images each step discarded.

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::backend::Backend;
use furpe::dataset::read_annotations;
use furpe::selection::{check_image, reprojection_mse, Decision, Reason, SelectionConfig, Summary};
use furpe::smplx::SmplxConfig;

use crate::backend::{with_backend, BackendJob, BackendKind};

#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// Dataset directory (annotations.jsonl, labels/).
    #[arg(long)]
    pub data: PathBuf,
    /// Label shards; default DATA/labels.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Use the authors' released code's behaviour (part gating, invalid hands
    /// drop only the hand, no reprojection step) instead of the paper's.
    #[arg(long)]
    pub released: bool,
    /// JSON file overriding any selection setting (see `SelectionConfig`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Body model for the reprojection step; default: the embedded mannequin
    /// (a stand-in for the licensed SMPL-X model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

pub fn run(args: SelectArgs) -> anyhow::Result<()> {
    with_backend(args.backend, args)
}

impl BackendJob for SelectArgs {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        let mut config = if self.released {
            SelectionConfig::released()
        } else {
            SelectionConfig::default()
        };
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            // Fields in the file override the chosen base configuration.
            let mut base = serde_json::to_value(&config)?;
            let overrides: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not valid JSON", path.display()))?;
            let (Some(base_map), Some(over)) = (base.as_object_mut(), overrides.as_object()) else {
                anyhow::bail!(
                    "{}: expected a JSON object of selection settings",
                    path.display()
                );
            };
            for (k, v) in over {
                if !base_map.contains_key(k) {
                    anyhow::bail!(
                        "{}: unknown setting '{k}' (known: {:?})",
                        path.display(),
                        base_map.keys().collect::<Vec<_>>()
                    );
                }
                base_map.insert(k.clone(), v.clone());
            }
            config = serde_json::from_value(base)
                .with_context(|| format!("{}: bad setting value", path.display()))?;
        }
        let annotations = read_annotations(&self.data.join("annotations.jsonl"))?;
        let labels_dir = self
            .labels
            .clone()
            .unwrap_or_else(|| self.data.join("labels"));
        let labels = furpe::pseudo::load_dir(&labels_dir)?;
        for &i in &labels.index {
            if i as usize >= annotations.len() {
                anyhow::bail!(
                    "{}: label for record {i}, but annotations.jsonl has {} records",
                    labels_dir.display(),
                    annotations.len()
                );
            }
        }

        let mut decisions: Vec<Decision> = (0..labels.len())
            .map(|row| {
                check_image(
                    &config,
                    &annotations[labels.index[row] as usize],
                    &labels,
                    row,
                )
            })
            .collect();
        if config.reprojection {
            let model = crate::body::load_model(self.model.as_deref())?;
            let layer = SmplxConfig::new().init::<B>(&model, &device)?;
            let survivors: Vec<usize> = (0..labels.len()).filter(|&r| decisions[r].kept).collect();
            for chunk in survivors.chunks(self.batch.max(1)) {
                let records: Vec<_> = chunk
                    .iter()
                    .map(|&r| &annotations[labels.index[r] as usize])
                    .collect();
                let errors = reprojection_mse(&layer, &config, &records, &labels, chunk, &device)?;
                for (&row, mse) in chunk.iter().zip(errors) {
                    let d = &mut decisions[row];
                    d.reprojection_mse = Some(mse);
                    if mse.is_nan() || mse > config.reprojection_max_mse {
                        d.kept = false;
                        d.reason = Some(Reason::Reprojection { mse });
                        d.parts = [false; 4];
                    }
                }
            }
        }
        let summary = Summary::of(&decisions);
        let report = serde_json::json!({
            "config": config,
            "summary": summary,
            "decisions": decisions,
        });
        let out = self.data.join("selection.json");
        furpe::io::write_bytes_atomic(&out, serde_json::to_string_pretty(&report)?.as_bytes())?;
        print!("{}", summary.table());
        println!("wrote {}", out.display());
        Ok(())
    }
}
