//! Training data: selected pseudo labels joined with their images and
//! keypoints, cut into augmented body crops on worker threads.
//!
//! Every random choice (epoch order, augmentation of each view) comes from a
//! generator seeded by (seed, epoch, position), never from a running state,
//! so a resumed run sees exactly the batches an uninterrupted one would.

use std::path::{Path, PathBuf};

use anyhow::Context;
use furpe::crop::CropTransform;
use furpe::dataset::{read_annotations, Annotation};
use furpe::keypoints::{openpose137_flip, NUM_OPENPOSE137};
use furpe::metrics::Part;
use furpe::pseudo::{PseudoLabels, FEATURE_FIELDS};
use furpe::selection::Decision;
use furpe::smplx::SmplxParams;

use super::config::AugmentConfig;
use crate::rng::Rng;

pub use furpe::inference::BODY_CROP_SCALE;

/// One labelled image the student may train on.
#[derive(Debug, Clone)]
pub struct Row {
    /// Index into [`TrainSet::annotations`] (all datasets, in order).
    pub annotation: usize,
    /// Which dataset (`TrainSet::sources`) holds the label.
    pub source: usize,
    /// Row of that dataset's labels.
    pub label: usize,
    /// Usable labels, in `furpe::metrics::Part::LABEL_ORDER`.
    pub parts: [bool; 4],
}

/// One labelled dataset of the run: its directory and pseudo labels.
pub struct Source {
    pub dir: PathBuf,
    pub labels: PseudoLabels,
    /// Where its records start in [`TrainSet::annotations`].
    pub first: usize,
}

/// The datasets, their labels, and the split. A run may train on several
/// labelled datasets at once (e.g. a synthetic world and real images the
/// experts labelled); their records are numbered one after the other, and
/// each dataset's every `holdout_every`-th record is held out.
pub struct TrainSet {
    pub sources: Vec<Source>,
    /// Every dataset's records, in order.
    pub annotations: Vec<Annotation>,
    pub train: Vec<Row>,
    /// Held-out annotations (never trained on).
    pub holdout: Vec<usize>,
    /// Expert feature widths: body, face, hand.
    pub feature_dims: [usize; 3],
    pub hands_mean: [Vec<f32>; 2],
}

/// One view of one sample, ready to batch.
#[derive(Debug, Clone)]
pub struct Sample {
    /// `[3, S, S]` in [0, 1].
    pub body: Vec<f32>,
    /// Two-stage: the same window at twice the resolution `[3, 2S, 2S]`.
    pub detail: Option<Vec<f32>>,
    /// `[137 × 3]` in crop coordinates.
    pub keypoints: Vec<f32>,
    /// Absolute axis-angle of the 55 joints (hand mean added) `[55 × 3]`.
    pub pose: Vec<f32>,
    pub expression: Vec<f32>,
    pub parts: [f32; 4],
    /// Expert features, in `furpe::metrics::Part::LABEL_ORDER`.
    pub features: [Vec<f32>; 4],
}

/// How views are cut: augmentation ranges, crop side, and the side of the
/// two-stage student's high-resolution window (`StudentConfig::detail_size`).
pub struct ViewSpec<'a> {
    pub augment: &'a AugmentConfig,
    pub crop: usize,
    pub detail: Option<usize>,
}

impl TrainSet {
    /// Reads each directory's `annotations.jsonl`, the shards in `labels/`,
    /// and (when `use_selection`) `selection.json`.
    pub fn open(
        dirs: &[PathBuf],
        use_selection: bool,
        holdout_every: usize,
        hands_mean: [Vec<f32>; 2],
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!dirs.is_empty(), "no dataset to train on");
        let mut set = Self {
            sources: Vec::new(),
            annotations: Vec::new(),
            train: Vec::new(),
            holdout: Vec::new(),
            feature_dims: [1; 3],
            hands_mean,
        };
        for dir in dirs {
            set.add_source(dir, use_selection, holdout_every)?;
        }
        set.check_images()?;
        Ok(set)
    }

    /// Appends one labelled dataset: its records, its usable rows and its
    /// held-out records.
    fn add_source(
        &mut self,
        dir: &Path,
        use_selection: bool,
        holdout_every: usize,
    ) -> anyhow::Result<()> {
        let annotations = read_annotations(&dir.join("annotations.jsonl"))?;
        anyhow::ensure!(
            !annotations.is_empty(),
            "{}: no annotations",
            dir.join("annotations.jsonl").display()
        );
        let labels = furpe::pseudo::load_dir(&dir.join("labels"))
            .with_context(|| "run `furpe label` (or `furpe prepare`) first")?;
        let decisions: Option<Vec<Decision>> = if use_selection {
            let path = dir.join("selection.json");
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "{}: missing; run `furpe select`, or set use_selection = false",
                    path.display()
                )
            })?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", path.display()))?;
            Some(
                serde_json::from_value(value["decisions"].clone())
                    .with_context(|| format!("{}: key 'decisions'", path.display()))?,
            )
        } else {
            None
        };
        let finite = |field: &str, row: usize| {
            labels
                .get(field, row)
                .is_some_and(|v| v.iter().all(|x| x.is_finite()))
        };
        let source = self.sources.len();
        let first = self.annotations.len();
        let mut train = Vec::new();
        for row in 0..labels.len() {
            let annotation = labels.index[row] as usize;
            anyhow::ensure!(
                annotation < annotations.len(),
                "{}: label for record {annotation}, annotations.jsonl has {}",
                dir.join("labels").display(),
                annotations.len()
            );
            if annotation.is_multiple_of(holdout_every) {
                continue;
            }
            let mut parts = Part::LABEL_ORDER.map(|part| match part {
                Part::Body => finite("global_orient", row) && finite("body_pose", row),
                Part::Face => finite("jaw_pose", row) && finite("expression", row),
                Part::LeftHand => finite("left_hand_pose", row),
                Part::RightHand => finite("right_hand_pose", row),
            });
            if let Some(decisions) = &decisions {
                let Some(d) = decisions.iter().find(|d| d.index as usize == annotation) else {
                    continue;
                };
                if !d.kept {
                    continue;
                }
                for (p, keep) in parts.iter_mut().zip(d.parts) {
                    *p &= keep;
                }
            }
            if parts.iter().any(|&p| p) {
                train.push(Row {
                    annotation: first + annotation,
                    source,
                    label: row,
                    parts,
                });
            }
        }
        anyhow::ensure!(
            !train.is_empty(),
            "{}: no usable training labels",
            dir.display()
        );
        // The student has one distillation head per part: every dataset's
        // expert features must have the same widths.
        let width = |field: &str| labels.width(field).unwrap_or(1);
        let feature_dims = [0, 1, 2].map(|i| width(FEATURE_FIELDS[i]));
        if let Some(first_source) = self.sources.first() {
            anyhow::ensure!(
                feature_dims == self.feature_dims,
                "{}: expert feature widths {:?} (body, face, hand), but {} has {:?}; label both with the same experts",
                dir.join("labels").display(),
                feature_dims,
                first_source.dir.join("labels").display(),
                self.feature_dims
            );
        }
        self.feature_dims = feature_dims;
        self.holdout.extend(
            (0..annotations.len())
                .filter(|i| i.is_multiple_of(holdout_every))
                .map(|i| first + i),
        );
        self.train.extend(train);
        self.annotations.extend(annotations);
        self.sources.push(Source {
            dir: dir.to_path_buf(),
            labels,
            first,
        });
        Ok(())
    }

    /// Decodes every image the run will read, before step 1: a corrupt or
    /// missing image is reported now, with every other bad one, instead of
    /// stopping the run when a batch first reaches it.
    fn check_images(&self) -> anyhow::Result<()> {
        let mut used: Vec<usize> = self.train.iter().map(|r| r.annotation).collect();
        used.extend(&self.holdout);
        used.sort_unstable();
        used.dedup();
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(8);
        let chunk = used.len().div_ceil(threads).max(1);
        let mut bad: Vec<String> = std::thread::scope(|scope| {
            let jobs: Vec<_> = used
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .filter_map(|&i| self.image(i).err().map(|e| format!("{e:#}")))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            jobs.into_iter()
                .flat_map(|j| {
                    j.join()
                        .unwrap_or_else(|_| vec!["an image check panicked".into()])
                })
                .collect()
        });
        if bad.is_empty() {
            return Ok(());
        }
        let count = bad.len();
        bad.truncate(10);
        anyhow::bail!(
            "{count} of the {} images cannot be read; nothing was trained. Fix or remove them (and their annotations):\n  {}",
            used.len(),
            bad.join("\n  ")
        )
    }

    /// The order of epoch `epoch` (a seeded Fisher–Yates shuffle).
    pub fn epoch_order(&self, seed: u64, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        let mut rng = Rng::for_item(seed, 1, epoch as u64);
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        order
    }

    /// The dataset that holds record `annotation`.
    fn source_of(&self, annotation: usize) -> &Source {
        let i = self.sources.partition_point(|s| s.first <= annotation);
        &self.sources[i.saturating_sub(1)]
    }

    /// Decodes an annotation's image as RGB8.
    pub fn image(&self, annotation: usize) -> anyhow::Result<(Vec<u8>, u32, u32)> {
        let dir = &self.source_of(annotation).dir;
        load_rgb(&dir.join(&self.annotations[annotation].image))
    }

    /// One augmented view of training row `row`. `flip` is decided by the
    /// caller so two views can share it.
    /// One training row's pseudo label as SMPL-X parameters (missing or
    /// non-finite fields as zeros, as [`TrainSet::sample`] reads them;
    /// hand poses relative to the mean hand).
    pub fn label_params(&self, row: &Row) -> SmplxParams {
        let field = |name: &str, width: usize| -> Vec<f32> {
            self.sources[row.source]
                .labels
                .get(name, row.label)
                .filter(|v| v.iter().all(|x| x.is_finite()))
                .map_or(vec![0.0; width], |v| v.to_vec())
        };
        let mut params = SmplxParams::zeros(1, Default::default());
        params.global_orient[0] = field("global_orient", 3);
        params.body_pose[0] = field("body_pose", 63);
        params.jaw_pose[0] = field("jaw_pose", 3);
        params.expression[0] = field("expression", 10);
        params.left_hand_pose[0] = field("left_hand_pose", 45);
        params.right_hand_pose[0] = field("right_hand_pose", 45);
        params
    }

    /// The best constant: the mean of the training rows' labels (rotations
    /// by their chordal mean, `furpe::baseline`), each part over the rows
    /// whose label of that part is used; the body a network that ignores its
    /// input would learn at best. Parts no row labels stay zero.
    pub fn label_mean(&self) -> anyhow::Result<SmplxParams> {
        let [l, r] = &self.hands_mean;
        let mean_of = |part: Part| -> anyhow::Result<Option<SmplxParams>> {
            let rows: Vec<SmplxParams> = self
                .train
                .iter()
                .filter(|row| row.parts[part.label_slot()])
                .map(|row| self.label_params(row))
                .collect();
            if rows.is_empty() {
                return Ok(None);
            }
            furpe::baseline::mean_params(&SmplxParams::concat(&rows), Some([l, r]))
                .map(Some)
                .map_err(|e| anyhow::anyhow!("averaging the training labels: {e}"))
        };
        let mut out = SmplxParams::zeros(1, Default::default());
        if let Some(m) = mean_of(Part::Body)? {
            out.global_orient = m.global_orient;
            out.body_pose = m.body_pose;
        }
        if let Some(m) = mean_of(Part::Face)? {
            out.jaw_pose = m.jaw_pose;
            out.expression = m.expression;
        }
        if let Some(m) = mean_of(Part::LeftHand)? {
            out.left_hand_pose = m.left_hand_pose;
        }
        if let Some(m) = mean_of(Part::RightHand)? {
            out.right_hand_pose = m.right_hand_pose;
        }
        Ok(out)
    }

    pub fn sample(
        &self,
        row: &Row,
        rgb: &(Vec<u8>, u32, u32),
        rng: &mut Rng,
        view: &ViewSpec,
        flip: bool,
    ) -> Sample {
        let ViewSpec {
            augment,
            crop,
            detail,
        } = view;
        let (crop, detail) = (*crop, *detail);
        let annotation = &self.annotations[row.annotation];
        let rotation = (rng.range(-1.0, 1.0) as f32) * augment.rotation_deg.to_radians();
        let zoom = 1.0 + (rng.range(-1.0, 1.0) as f32) * augment.scale;
        let mut window = CropTransform::around_box(annotation.person_box, BODY_CROP_SCALE)
            .augmented(rotation, zoom, flip);
        // Drawn only when on, so runs without it keep their random stream.
        if augment.shift > 0.0 {
            for axis in 0..2 {
                window.center[axis] += (rng.range(-1.0, 1.0) as f32) * augment.shift * window.side;
            }
        }
        let (pixels, w, h) = rgb;
        let mut body = window.sample_rgb(pixels, *w, *h, crop);
        let gains: Vec<f32> = (0..3)
            .map(|_| 1.0 + (rng.range(-1.0, 1.0) as f32) * augment.color)
            .collect();
        let plane = crop * crop;
        for (i, v) in body.iter_mut().enumerate() {
            let noise = 1.0 + (rng.range(-1.0, 1.0) as f32) * augment.noise * 0.25;
            *v = (*v * gains[i / plane] * noise).clamp(0.0, 1.0);
        }
        let detail = detail.map(|side| window.sample_rgb(pixels, *w, *h, side));

        let mut points = window.keypoints_to_crop(&annotation.keypoints);
        if flip {
            let map = openpose137_flip();
            points = map.iter().map(|&src| points[src]).collect();
        }
        let keypoints = points.iter().flatten().copied().collect();

        let labels = &self.sources[row.source].labels;
        let field = |name: &str, width: usize| -> Vec<f32> {
            labels
                .get(name, row.label)
                .filter(|v| v.iter().all(|x| x.is_finite()))
                .map_or(vec![0.0; width], |v| v.to_vec())
        };
        let mut params = self.label_params(row);
        let mut parts = row.parts;
        let mut features: [Vec<f32>; 4] = std::array::from_fn(|i| {
            let name = FEATURE_FIELDS[i];
            field(name, labels.width(name).unwrap_or(1))
        });
        if flip {
            params = params.flipped();
            let hands = (Part::LeftHand.label_slot(), Part::RightHand.label_slot());
            parts.swap(hands.0, hands.1);
            features.swap(hands.0, hands.1);
        }
        // The window turned by `rotation` shows the body turned by
        // Rz(rotation) in the camera frame (x right, y down).
        let global = rotate_about_z(&params.global_orient[0], window_rotation(rotation, flip));
        let mut pose = Vec::with_capacity(55 * 3);
        pose.extend(global);
        pose.extend(&params.body_pose[0]);
        pose.extend(&params.jaw_pose[0]);
        pose.extend([0.0; 6]);
        for (hand, mean) in [&params.left_hand_pose[0], &params.right_hand_pose[0]]
            .into_iter()
            .zip(&self.hands_mean)
        {
            pose.extend(hand.iter().zip(mean).map(|(a, m)| a + m));
        }
        Sample {
            body,
            detail,
            keypoints,
            pose,
            expression: params.expression[0].clone(),
            parts: parts.map(|p| if p { 1.0 } else { 0.0 }),
            features,
        }
    }
}

/// The in-plane rotation a body undergoes in the crop: the window's turn,
/// mirrored when the crop is.
fn window_rotation(rotation: f32, flip: bool) -> f32 {
    if flip {
        -rotation
    } else {
        rotation
    }
}

/// `Rz(angle) · R(axis_angle)` as axis-angle.
fn rotate_about_z(axis_angle: &[f32], angle: f32) -> Vec<f32> {
    use furpe::rotation::host::{axis_angle_to_matrix, matmul, matrix_to_axis_angle};
    let r = axis_angle_to_matrix([0, 1, 2].map(|i| axis_angle[i] as f64));
    let z = axis_angle_to_matrix([0.0, 0.0, angle as f64]);
    matrix_to_axis_angle(&matmul(&z, &r))
        .iter()
        .map(|&v| v as f32)
        .collect()
}

/// Decodes a PNG or JPEG as RGB8, naming the file on failure.
pub fn load_rgb(path: &Path) -> anyhow::Result<(Vec<u8>, u32, u32)> {
    let image = crate::crops::decode_rgb(path)?;
    let (w, h) = image.dimensions();
    Ok((image.into_raw(), w, h))
}

/// Samples of one batch, prepared on `workers` threads.
pub fn prepare<T: Send>(
    jobs: Vec<T>,
    workers: usize,
    make: impl Fn(T) -> anyhow::Result<Sample> + Sync,
) -> anyhow::Result<Vec<Sample>> {
    let workers = workers.max(1);
    let mut slots: Vec<Option<T>> = jobs.into_iter().map(Some).collect();
    let chunk = slots.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .chunks_mut(chunk)
            .map(|part| {
                let make = &make;
                scope.spawn(move || {
                    part.iter_mut()
                        .filter_map(Option::take)
                        .map(make)
                        .collect::<anyhow::Result<Vec<Sample>>>()
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| anyhow::anyhow!("a data worker panicked"))??,
            );
        }
        Ok(out)
    })
}

/// Number of OpenPose keypoints per sample (for batching).
pub const KEYPOINTS: usize = NUM_OPENPOSE137;
