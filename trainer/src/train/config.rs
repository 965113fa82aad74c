//! `furpe train`'s configuration: one TOML file, every field optional.
//! Defaults are the paper's (Adam, lr 1e-5 divided by 10 at epoch 20,
//! batch 32, e⁵ distillation, cosine τ from 0.996); `loss_preset =
//! "released"` switches the losses to the authors' released script.

use std::path::{Path, PathBuf};

use anyhow::Context;
use furpe::losses::LossConfig;
use furpe::nets::{ResNetConfig, StudentConfig, StudentKind};
use serde::{Deserialize, Serialize};

/// `loss_preset`: which of the paper's loss settings `[loss]` starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossPreset {
    /// The paper's weights (`LossConfig::paper`).
    Paper,
    /// The authors' released training script (`LossConfig::released`).
    Released,
}

/// `ema.schedule`: how the teacher's τ moves during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmaSchedule {
    /// From `tau` up to 1 at the last step along half a cosine (released).
    Cosine,
    /// `tau` throughout.
    Constant,
}

/// [`StudentKind`] as TOML spells it (`one_stage`, `two_stage`).
#[derive(Serialize, Deserialize)]
#[serde(remote = "StudentKind", rename_all = "snake_case")]
enum StudentKindName {
    OneStage,
    TwoStage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Dataset directory (annotations.jsonl, images, labels/, selection.json).
    pub data: PathBuf,
    /// More labelled datasets trained on together with `data` (each with its
    /// own annotations, labels and selection; their rows are shuffled
    /// together), e.g. real images the experts labelled beside a synthetic
    /// world. Their feature widths must match `data`'s.
    pub extra_data: Vec<PathBuf>,
    /// Run directory: checkpoints, log, plots, exported student.
    pub out: PathBuf,
    /// Body model (.npz, official layout); default: the embedded mannequin.
    pub model: Option<PathBuf>,
    /// Start from the weights of a student file (`RUN/student.furpe` or a
    /// `furpe export`) instead of random ones: fine-tuning, e.g. a longer
    /// schedule's low-lr phase or new data. Its network must be the one
    /// `[student]` (with the labels' feature widths) describes.
    pub init: Option<PathBuf>,
    /// Train only on what `furpe select` kept (false: every label, NaNs masked).
    pub use_selection: bool,
    pub seed: u64,
    pub epochs: usize,
    /// Stop after this many steps, wherever the epoch is (a compute budget;
    /// default: every epoch). The run still ends with a validation.
    pub max_steps: Option<usize>,
    /// Stop after the first step that ends this many minutes into the
    /// training loop (a wall-clock budget, e.g. a GPU lease); the run ends
    /// as at `max_steps` (validation, checkpoint, export), and `--resume`
    /// continues it towards `epochs` / `max_steps`. One process and one
    /// device only: peers would have to agree on the step to stop at.
    pub max_minutes: Option<f64>,
    pub batch: usize,
    pub lr: f64,
    /// Epoch at which the learning rate is multiplied by `lr_drop`.
    pub lr_drop_epoch: usize,
    pub lr_drop: f64,
    pub weight_decay: f64,
    /// Checkpoint every N steps (and at each epoch end).
    pub checkpoint_every: usize,
    /// Log every N steps.
    pub log_every: usize,
    /// Every N-th annotation (index % N == 0) is held out for validation.
    pub holdout_every: usize,
    /// Crop preparation threads.
    pub workers: usize,
    /// The base the `loss` table overrides.
    pub loss_preset: LossPreset,
    pub loss: Option<toml::Value>,
    pub distill: bool,
    pub ema: EmaConfig,
    pub augment: AugmentConfig,
    pub student: StudentSettings,
}

/// The EMA teacher–student scheme.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmaConfig {
    pub enabled: bool,
    /// τ at the start; the cosine schedule raises it to 1 at the last step.
    pub tau: f64,
    pub schedule: EmaSchedule,
    /// Released behaviour: each view flips independently and the full
    /// parameter vectors are compared. Default: both views share the flip
    /// and the view-dependent global rotation and camera are left out.
    pub released_views: bool,
}

/// Augmentation of each view (released: flip 0.5, rotation ±30°, scale 0.25, noise 0.4).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    pub flip: f32,
    pub rotation_deg: f32,
    pub scale: f32,
    /// Per-channel gain jitter ±.
    pub color: f32,
    /// Per-pixel multiplicative noise ± (released "pixel noise").
    pub noise: f32,
    /// Crop centre jitter ± this fraction of the crop's side, in x and y
    /// (not in the paper; default 0). Where a live page crops (around a
    /// detector's box, or its own last body) is never exactly where the
    /// training crops were cut, and a student that only saw centred people
    /// loses accuracy there.
    pub shift: f32,
}

/// The network, in TOML-friendly terms.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudentSettings {
    /// `one_stage` or `two_stage`.
    #[serde(with = "StudentKindName")]
    pub kind: StudentKind,
    /// 18, 34 or 50.
    pub depth: usize,
    /// Stem width (64 in the published ResNets).
    pub width: usize,
    /// Blocks per stage, overriding the depth's (e.g. [1, 1, 1, 1] for a tiny net).
    pub layers: Option<[usize; 4]>,
    pub crop: usize,
    /// Side of the grid the last feature map is averaged to before the
    /// regressor (1: global average pooling, the paper's; 2: keeps which
    /// quarter of the crop each feature came from). At most `crop / 32`.
    pub readout_grid: usize,
    /// Locate the 25 body keypoints on an early feature map and give their
    /// positions to the regressor (weigh it with `[loss] located_keypoints`).
    pub keypoint_head: bool,
    pub hidden: Vec<usize>,
    pub dropout: f64,
    pub part_width: usize,
    pub hand_crop: usize,
    pub face_crop: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            data: PathBuf::from("data"),
            extra_data: Vec::new(),
            out: PathBuf::from("runs/train"),
            model: None,
            init: None,
            use_selection: true,
            seed: 0,
            epochs: 30,
            max_steps: None,
            max_minutes: None,
            batch: 32,
            lr: 1e-5,
            lr_drop_epoch: 20,
            lr_drop: 0.1,
            weight_decay: 0.0,
            checkpoint_every: 500,
            log_every: 10,
            holdout_every: 10,
            workers: 2,
            loss_preset: LossPreset::Paper,
            loss: None,
            distill: true,
            ema: EmaConfig::default(),
            augment: AugmentConfig::default(),
            student: StudentSettings::default(),
        }
    }
}

impl Default for EmaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tau: 0.996,
            schedule: EmaSchedule::Cosine,
            released_views: false,
        }
    }
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            flip: 0.5,
            rotation_deg: 30.0,
            scale: 0.25,
            color: 0.2,
            noise: 0.4,
            shift: 0.0,
        }
    }
}

impl Default for StudentSettings {
    fn default() -> Self {
        Self {
            kind: StudentKind::OneStage,
            depth: 18,
            width: 64,
            layers: None,
            crop: 256,
            readout_grid: 1,
            keypoint_head: false,
            hidden: vec![1024, 1024],
            dropout: 0.5,
            part_width: 64,
            hand_crop: 224,
            face_crop: 256,
        }
    }
}

impl TrainConfig {
    /// Reads a TOML file; unknown keys are errors (a typo must not silently
    /// train with a default).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the training config", path.display()))?;
        let config: Self =
            toml::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))?;
        config
            .validate()
            .with_context(|| format!("{}", path.display()))?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.batch > 0, "batch must be at least 1");
        anyhow::ensure!(self.epochs > 0, "epochs must be at least 1");
        anyhow::ensure!(self.max_steps != Some(0), "max_steps must be at least 1");
        if let Some(m) = self.max_minutes {
            anyhow::ensure!(
                m.is_finite() && m > 0.0,
                "max_minutes must be a positive number of minutes, not {m}"
            );
        }
        anyhow::ensure!(self.holdout_every >= 2, "holdout_every must be at least 2");
        let datasets = self.datasets();
        for (i, dir) in datasets.iter().enumerate() {
            anyhow::ensure!(
                !datasets[..i].contains(dir),
                "extra_data: {} is listed twice (with data)",
                dir.display()
            );
        }
        anyhow::ensure!(
            (0.0..=0.5).contains(&self.augment.shift),
            "augment.shift must be in 0..=0.5 (a fraction of the crop's side), not {}",
            self.augment.shift
        );
        self.loss_config()?;
        self.student_config([1, 1, 1])?;
        Ok(())
    }

    /// Every dataset the run trains on: `data`, then `extra_data`.
    pub fn datasets(&self) -> Vec<PathBuf> {
        std::iter::once(self.data.clone())
            .chain(self.extra_data.iter().cloned())
            .collect()
    }

    /// The loss preset with the `[loss]` table's overrides.
    pub fn loss_config(&self) -> anyhow::Result<LossConfig> {
        let base = match self.loss_preset {
            LossPreset::Paper => LossConfig::paper(),
            LossPreset::Released => LossConfig::released(),
        };
        let Some(overrides) = &self.loss else {
            return Ok(base);
        };
        let mut value = serde_json::to_value(&base)?;
        let (Some(map), Some(table)) = (value.as_object_mut(), overrides.as_table()) else {
            anyhow::bail!("[loss] must be a table");
        };
        for (key, v) in table {
            anyhow::ensure!(
                map.contains_key(key),
                "[loss] unknown key {key:?} (known: {:?})",
                map.keys().collect::<Vec<_>>()
            );
            map.insert(key.clone(), serde_json::to_value(v)?);
        }
        serde_json::from_value(value).context("[loss] bad value")
    }

    /// The network; `feature_dims` are the experts' feature widths.
    pub fn student_config(&self, feature_dims: [usize; 3]) -> anyhow::Result<StudentConfig> {
        let s = &self.student;
        let resnet = |width: usize| -> anyhow::Result<ResNetConfig> {
            let base = match s.depth {
                18 => ResNetConfig::resnet18(),
                34 => ResNetConfig::resnet34(),
                50 => ResNetConfig::resnet50(),
                d => anyhow::bail!("student.depth must be 18, 34 or 50, not {d}"),
            };
            let base = match s.layers {
                Some(layers) => ResNetConfig::new(base.block, layers),
                None => base,
            };
            Ok(base.with_base_width(width))
        };
        let config = StudentConfig::new()
            .with_kind(s.kind)
            .with_backbone(resnet(s.width)?)
            .with_part_backbone(resnet(s.part_width)?)
            .with_body_size(s.crop)
            .with_readout_grid(s.readout_grid)
            .with_keypoint_head(s.keypoint_head)
            .with_hidden(s.hidden.clone())
            .with_dropout(s.dropout)
            .with_hand_size(s.hand_crop)
            .with_face_size(s.face_crop)
            .with_feature_dims(feature_dims);
        config
            .check()
            .map_err(|e| anyhow::anyhow!("[student] {e}"))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets one bad value in a config.
    type Edit = fn(&mut TrainConfig);

    /// Each check refuses its bad value and names the key; the defaults pass.
    #[test]
    fn each_check_names_what_is_wrong() {
        assert!(TrainConfig::default().validate().is_ok());
        let cases: [(Edit, &str); 10] = [
            (|c| c.batch = 0, "batch"),
            (|c| c.epochs = 0, "epochs"),
            (|c| c.max_steps = Some(0), "max_steps"),
            (|c| c.max_minutes = Some(0.0), "max_minutes"),
            (|c| c.max_minutes = Some(f64::NAN), "max_minutes"),
            (|c| c.holdout_every = 1, "holdout_every"),
            (|c| c.extra_data = vec![c.data.clone()], "extra_data"),
            (|c| c.augment.shift = 0.6, "augment.shift"),
            (|c| c.augment.shift = -0.1, "augment.shift"),
            (|c| c.student.depth = 19, "student.depth"),
        ];
        for (edit, key) in cases {
            let mut config = TrainConfig::default();
            edit(&mut config);
            let err = format!("{:#}", config.validate().unwrap_err());
            assert!(err.contains(key), "{key}: {err}");
        }
    }
}
