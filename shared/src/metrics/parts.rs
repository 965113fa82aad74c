//! Per-part errors: which SMPL-X vertices are body, hands and face (the
//! official correspondence files or skinning weights) and each part's PA error.

use std::fmt;
use std::path::Path;

use super::{check_pair, pa_mean_distance, MetricsError, Point, Result, MANO_NUM_VERTICES};
use crate::npz::{read_npy_file, NpzError};
use crate::pickle::read_pickle_file;
use crate::smplx::joints::{idx, NUM_HAND_JOINTS, NUM_JOINTS};

/// FLAME vertex count (face part of the official correspondences).
pub const FLAME_NUM_VERTICES: usize = 5023;
/// Official correspondence file names (inside the directory given to
/// [`PartVertices::from_official_dir`]).
pub const FACE_IDS_FILE: &str = "SMPL-X__FLAME_vertex_ids.npy";
pub const HAND_IDS_FILE: &str = "MANO_SMPLX_vertex_ids.pkl";

/// The body parts of the per-part errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Body,
    LeftHand,
    RightHand,
    Face,
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Body, Part::LeftHand, Part::RightHand, Part::Face];

    /// The order of the per-part label masks and expert features: the
    /// `parts` of `selection.json`, the training targets' `[batch, 4]`
    /// masks and the label shards' feature list. Files already written fix
    /// it, so it differs from [`Part::ALL`] (the order of the reports).
    pub const LABEL_ORDER: [Part; 4] = [Part::Body, Part::Face, Part::LeftHand, Part::RightHand];

    /// This part's position in [`Part::LABEL_ORDER`].
    pub const fn label_slot(self) -> usize {
        match self {
            Part::Body => 0,
            Part::Face => 1,
            Part::LeftHand => 2,
            Part::RightHand => 3,
        }
    }

    /// The label shards' column holding this part's expert feature.
    pub const fn feature_field(self) -> &'static str {
        crate::pseudo::FEATURE_FIELDS[self.label_slot()]
    }

    /// JSON key.
    pub fn key(self) -> &'static str {
        match self {
            Part::Body => "body",
            Part::LeftHand => "left_hand",
            Part::RightHand => "right_hand",
            Part::Face => "face",
        }
    }

    /// Words for tables.
    pub fn label(self) -> &'static str {
        match self {
            Part::Body => "body",
            Part::LeftHand => "left hand",
            Part::RightHand => "right hand",
            Part::Face => "face",
        }
    }

    /// The part a skinning joint belongs to: wrist and fingers of a side are
    /// that hand; head, jaw and eyes are the face; the rest is the body.
    pub fn of_joint(joint: usize) -> Part {
        let left_fingers = idx::LEFT_INDEX1..idx::LEFT_INDEX1 + NUM_HAND_JOINTS;
        let right_fingers = idx::RIGHT_INDEX1..idx::RIGHT_INDEX1 + NUM_HAND_JOINTS;
        if joint == idx::LEFT_WRIST || left_fingers.contains(&joint) {
            Part::LeftHand
        } else if joint == idx::RIGHT_WRIST || right_fingers.contains(&joint) {
            Part::RightHand
        } else if [
            idx::HEAD,
            idx::JAW,
            idx::LEFT_EYE_SMPLHF,
            idx::RIGHT_EYE_SMPLHF,
        ]
        .contains(&joint)
        {
            Part::Face
        } else {
            Part::Body
        }
    }
}

/// Where a part split came from; every report says it.
#[derive(Debug, Clone, PartialEq)]
pub enum PartSource {
    /// `SMPL-X__FLAME_vertex_ids.npy` and `MANO_SMPLX_vertex_ids.pkl` in a directory.
    OfficialFiles { dir: String },
    /// Dominant skinning joint of each vertex of a model.
    SkinningWeights { model: String },
}

impl fmt::Display for PartSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartSource::OfficialFiles { dir } => {
                write!(f, "official correspondence files in {dir}")
            }
            PartSource::SkinningWeights { model } => write!(f, "skinning weights of {model}"),
        }
    }
}

/// SMPL-X vertex ids of each part.
#[derive(Debug, Clone, PartialEq)]
pub struct PartVertices {
    pub body: Vec<usize>,
    pub left_hand: Vec<usize>,
    pub right_hand: Vec<usize>,
    pub face: Vec<usize>,
    /// Vertices of the mesh the ids index.
    pub num_vertices: usize,
    pub source: PartSource,
}

impl PartVertices {
    pub fn part(&self, part: Part) -> &[usize] {
        match part {
            Part::Body => &self.body,
            Part::LeftHand => &self.left_hand,
            Part::RightHand => &self.right_hand,
            Part::Face => &self.face,
        }
    }

    /// Each vertex goes to the part of its dominant joint (largest weight;
    /// the first on ties). `weights` is `[num_vertices, 55]`, as in
    /// `SmplxData::weights`; `model` names it in reports.
    pub fn from_skinning_weights(
        weights: &[f32],
        num_vertices: usize,
        model: impl Into<String>,
    ) -> Result<Self> {
        let model = model.into();
        if weights.len() != num_vertices * NUM_JOINTS {
            return Err(MetricsError::Invalid(format!(
                "{model}: {} skinning weights, expected {num_vertices} × {NUM_JOINTS}",
                weights.len()
            )));
        }
        let mut parts = Self {
            body: Vec::new(),
            left_hand: Vec::new(),
            right_hand: Vec::new(),
            face: Vec::new(),
            num_vertices,
            source: PartSource::SkinningWeights { model },
        };
        for (v, row) in weights.chunks_exact(NUM_JOINTS).enumerate() {
            let mut best = 0;
            for (j, &w) in row.iter().enumerate() {
                if w > row[best] {
                    best = j;
                }
            }
            parts.ids_mut(Part::of_joint(best)).push(v);
        }
        Ok(parts)
    }

    fn ids_mut(&mut self, part: Part) -> &mut Vec<usize> {
        match part {
            Part::Body => &mut self.body,
            Part::LeftHand => &mut self.left_hand,
            Part::RightHand => &mut self.right_hand,
            Part::Face => &mut self.face,
        }
    }

    /// Face and hand ids as given; the body is every other vertex. Each id
    /// list is `(name of its origin, ids)` for error messages.
    pub fn from_correspondences(
        face: (&str, &[i64]),
        left_hand: (&str, &[i64]),
        right_hand: (&str, &[i64]),
        num_vertices: usize,
        source: PartSource,
    ) -> Result<Self> {
        let convert = |(origin, ids): (&str, &[i64])| -> Result<Vec<usize>> {
            ids.iter()
                .map(|&id| {
                    usize::try_from(id)
                        .ok()
                        .filter(|&i| i < num_vertices)
                        .ok_or_else(|| {
                            MetricsError::Invalid(format!(
                                "{origin}: vertex id {id} outside 0..{num_vertices}"
                            ))
                        })
                })
                .collect()
        };
        let (face, left_hand, right_hand) =
            (convert(face)?, convert(left_hand)?, convert(right_hand)?);
        let mut taken = vec![false; num_vertices];
        for &i in face.iter().chain(&left_hand).chain(&right_hand) {
            taken[i] = true;
        }
        let body = (0..num_vertices).filter(|&i| !taken[i]).collect();
        Ok(Self {
            body,
            left_hand,
            right_hand,
            face,
            num_vertices,
            source,
        })
    }

    /// Reads the official correspondence files in `dir`:
    /// `SMPL-X__FLAME_vertex_ids.npy` (5023 ids) and
    /// `MANO_SMPLX_vertex_ids.pkl` (a pickled dict with `left_hand` and
    /// `right_hand`, 778 ids each). The body is every other vertex.
    pub fn from_official_dir(dir: &Path, num_vertices: usize) -> Result<Self> {
        let face_path = dir.join(FACE_IDS_FILE);
        let face_name = face_path.display().to_string();
        let face = read_npy_file(&face_path)?;
        let face = ids_of(&face_name, "(array)", face, FLAME_NUM_VERTICES)?;
        let hand_path = dir.join(HAND_IDS_FILE);
        let hand_name = hand_path.display().to_string();
        let mut hands = read_pickle_file(&hand_path)?;
        let mut take =
            |key: &str| -> Result<Vec<i64>> {
                let at = hands.iter().position(|(k, _)| k == key).ok_or_else(|| {
                    NpzError::MissingKey {
                        file: hand_name.clone(),
                        key: key.into(),
                    }
                })?;
                let (_, array) = hands.swap_remove(at);
                ids_of(&hand_name, key, array, MANO_NUM_VERTICES)
            };
        let left = take("left_hand")?;
        let right = take("right_hand")?;
        let (left_origin, right_origin) = (
            format!("{hand_name} 'left_hand'"),
            format!("{hand_name} 'right_hand'"),
        );
        Self::from_correspondences(
            (&face_name, &face),
            (&left_origin, &left),
            (&right_origin, &right),
            num_vertices,
            PartSource::OfficialFiles {
                dir: dir.display().to_string(),
            },
        )
    }
}

/// Integer ids of shape `(len,)` from an array read from `file`.
fn ids_of(file: &str, key: &str, array: crate::npz::NpyArray, len: usize) -> Result<Vec<i64>> {
    if array.shape != [len] {
        return Err(NpzError::Shape {
            file: file.into(),
            key: key.into(),
            found: array.shape,
            expected: format!("({len},)"),
        }
        .into());
    }
    array.to_i64().ok_or_else(|| {
        NpzError::BadArray {
            file: file.into(),
            key: key.into(),
            reason: "expected integer vertex ids".into(),
        }
        .into()
    })
}

/// PA mean distance of each part ([`Part::ALL`] order), each part selected
/// and aligned on its own; `None` for a part without vertices.
pub fn part_pa_errors(
    pred: &[Point],
    gt: &[Point],
    parts: &PartVertices,
) -> Result<[Option<f64>; 4]> {
    check_pair(pred, gt)?;
    if pred.len() != parts.num_vertices {
        return Err(MetricsError::Invalid(format!(
            "{} points, but the parts ({}) index {} vertices",
            pred.len(),
            parts.source,
            parts.num_vertices
        )));
    }
    let mut out = [None; 4];
    for (slot, part) in out.iter_mut().zip(Part::ALL) {
        let ids = parts.part(part);
        if ids.is_empty() {
            continue;
        }
        let select = |points: &[Point]| ids.iter().map(|&i| points[i]).collect::<Vec<_>>();
        *slot = Some(pa_mean_distance(&select(pred), &select(gt))?);
    }
    Ok(out)
}
