//! SMPL-X model arrays as they sit in the official `SMPLX_*.npz` files.
//!
//! This is the host-side (plain `Vec`) form: it is what the loader validates,
//! what the procedural mannequin produces, and what [`super::Smplx`] uploads to
//! a device. Shapes follow the official layout (docs/smplx-layout.md §7).

use std::io::{Read, Seek};
use std::path::Path;

use super::joints::{NUM_JOINTS, PARENTS};
use crate::npz::{NpyArray, NpzArchive, NpzError};

/// Number of pose-corrective directions: 54 non-root joints × 9.
pub const NUM_POSE_BASIS: usize = (NUM_JOINTS - 1) * 9;
/// Static face landmarks (SMPL-X joints 76..127).
pub const NUM_STATIC_LANDMARKS: usize = 51;
/// Dynamic contour landmarks (SMPL-X joints 127..144).
pub const NUM_CONTOUR_LANDMARKS: usize = 17;
/// Rows of the dynamic-contour table: one per degree of neck yaw bin.
pub const NUM_CONTOUR_BINS: usize = 79;

/// All arrays of an SMPL-X model, row-major, `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct SmplxData {
    /// Rest-pose vertices `[V, 3]`.
    pub v_template: Vec<f32>,
    /// Triangles `[F, 3]`.
    pub faces: Vec<[u32; 3]>,
    /// Shape then expression directions `[V, 3, S]`.
    pub shapedirs: Vec<f32>,
    /// Number of columns of `shapedirs` (`S`): 20 for v1.0, 400 for v1.1.
    pub num_shapedirs: usize,
    /// Pose correctives `[V, 3, 486]`.
    pub posedirs: Vec<f32>,
    /// Joint regressor `[55, V]`.
    pub j_regressor: Vec<f32>,
    /// Skinning weights `[V, 55]`.
    pub weights: Vec<f32>,
    /// Kinematic parents, root is -1 `[55]`.
    pub parents: Vec<i64>,
    /// Hand PCA components, rows are components `[45, 45]`.
    pub hands_components_l: Vec<f32>,
    pub hands_components_r: Vec<f32>,
    /// Mean hand pose (axis-angle, 15 joints) `[45]`.
    pub hands_mean_l: Vec<f32>,
    pub hands_mean_r: Vec<f32>,
    /// Static landmark faces `[51]` and barycentrics `[51, 3]`.
    pub lmk_faces_idx: Vec<u32>,
    pub lmk_bary_coords: Vec<f32>,
    /// Contour landmark faces per neck-yaw bin `[79, 17]` and barycentrics `[79, 17, 3]`.
    pub dynamic_lmk_faces_idx: Vec<u32>,
    pub dynamic_lmk_bary_coords: Vec<f32>,
    /// Free-text provenance stored under the `furpe_note` key (the mannequin
    /// says there that it is a stand-in for the licensed model).
    pub note: Option<String>,
}

/// Joint `j` regressed from a mesh of `num_vertices` points: row `j` of
/// `j_regressor` (`[joints × num_vertices]`) times the points, summed in
/// f64 over the non-zero weights. The one joint regression the host code
/// uses (rest joints, colours, scoring).
pub fn regress_joint(
    j_regressor: &[f32],
    num_vertices: usize,
    j: usize,
    point: impl Fn(usize) -> [f64; 3],
) -> [f64; 3] {
    let row = &j_regressor[j * num_vertices..(j + 1) * num_vertices];
    let mut p = [0f64; 3];
    for (v, &w) in row.iter().enumerate().filter(|(_, w)| **w != 0.0) {
        let q = point(v);
        (0..3).for_each(|k| p[k] += w as f64 * q[k]);
    }
    p
}

impl SmplxData {
    /// Skeleton joint `j` of the template (the rest pose, mean shape).
    pub fn rest_joint(&self, j: usize) -> [f64; 3] {
        let t = &self.v_template;
        regress_joint(&self.j_regressor, self.num_vertices(), j, |v| {
            [t[v * 3] as f64, t[v * 3 + 1] as f64, t[v * 3 + 2] as f64]
        })
    }

    pub fn num_vertices(&self) -> usize {
        self.v_template.len() / 3
    }

    /// Shape (β) directions in the file: 10 for v1.0, 300 for v1.1.
    pub fn num_shape_space(&self) -> usize {
        if self.num_shapedirs >= 400 {
            300
        } else {
            self.num_shapedirs.min(10)
        }
    }

    /// Expression (ψ) directions in the file: 10 for v1.0, 100 for v1.1.
    pub fn num_expression_space(&self) -> usize {
        if self.num_shapedirs >= 400 {
            100
        } else {
            self.num_shapedirs.saturating_sub(10).min(10)
        }
    }

    /// Column of `shapedirs` where the expression directions start.
    pub fn expression_offset(&self) -> usize {
        if self.num_shapedirs >= 400 {
            300
        } else {
            10
        }
    }

    /// Loads and validates an official-layout `.npz` from disk.
    pub fn load(path: &Path) -> Result<Self, NpzError> {
        Self::read(&mut NpzArchive::open(path)?)
    }

    /// Loads from bytes (a file dropped into the browser).
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Self, NpzError> {
        Self::read(&mut NpzArchive::from_bytes(name, bytes)?)
    }

    fn read<R: Read + Seek>(npz: &mut NpzArchive<R>) -> Result<Self, NpzError> {
        let v_template = npz.read_f32("v_template", &[None, Some(3)])?;
        let v = v_template.shape[0];
        let needed = super::joints::VERTEX_JOINT_IDS
            .iter()
            .max()
            .map_or(0, |m| m + 1);
        if v < needed {
            return Err(npz_bad(
                npz,
                "v_template",
                format!("{v} vertices; the SMPL-X layout has 10475 (the vertex joints need at least {needed})"),
            ));
        }
        let faces_raw = npz.read_i64("f", &[None, Some(3)])?;
        if let Some(&bad) = faces_raw.data.iter().find(|&&i| i < 0 || i as usize >= v) {
            return Err(npz_bad(
                npz,
                "f",
                format!("vertex index {bad} outside 0..{v}"),
            ));
        }
        let faces: Vec<[u32; 3]> = faces_raw
            .data
            .chunks_exact(3)
            .map(|t| [t[0] as u32, t[1] as u32, t[2] as u32])
            .collect();
        let num_faces = faces.len();
        let shapedirs = npz.read_f32("shapedirs", &[Some(v), Some(3), None])?;
        let num_shapedirs = shapedirs.shape[2];
        let posedirs = npz.read_f32("posedirs", &[Some(v), Some(3), Some(NUM_POSE_BASIS)])?;
        let j_regressor = npz.read_f32("J_regressor", &[Some(NUM_JOINTS), Some(v)])?;
        let weights = npz.read_f32("weights", &[Some(v), Some(NUM_JOINTS)])?;
        let kintree = npz.read_i64("kintree_table", &[Some(2), Some(NUM_JOINTS)])?;
        let mut parents = kintree.data[..NUM_JOINTS].to_vec();
        parents[0] = -1;
        if parents != PARENTS {
            return Err(npz_bad(
                npz,
                "kintree_table",
                format!("row 0 {parents:?} is not the SMPL-X joint tree {PARENTS:?}"),
            ));
        }
        let hands_components_l = npz.read_f32("hands_componentsl", &[Some(45), Some(45)])?;
        let hands_components_r = npz.read_f32("hands_componentsr", &[Some(45), Some(45)])?;
        let hands_mean_l = npz.read_f32("hands_meanl", &[Some(45)])?;
        let hands_mean_r = npz.read_f32("hands_meanr", &[Some(45)])?;
        let lmk_faces_idx = read_face_ids(npz, "lmk_faces_idx", &[Some(51)], num_faces)?;
        let lmk_bary_coords = npz.read_f32("lmk_bary_coords", &[Some(51), Some(3)])?;
        let dynamic_lmk_faces_idx = read_face_ids(
            npz,
            "dynamic_lmk_faces_idx",
            &[Some(NUM_CONTOUR_BINS), Some(NUM_CONTOUR_LANDMARKS)],
            num_faces,
        )?;
        let dynamic_lmk_bary_coords = npz.read_f32(
            "dynamic_lmk_bary_coords",
            &[Some(NUM_CONTOUR_BINS), Some(NUM_CONTOUR_LANDMARKS), Some(3)],
        )?;
        let note = if npz.contains("furpe_note") {
            match npz.read("furpe_note")?.data {
                crate::npz::NpyData::Str(s) => s.into_iter().next(),
                _ => None,
            }
        } else {
            None
        };
        Ok(Self {
            v_template: v_template.data,
            faces,
            shapedirs: shapedirs.data,
            num_shapedirs,
            posedirs: posedirs.data,
            j_regressor: j_regressor.data,
            weights: weights.data,
            parents,
            hands_components_l: hands_components_l.data,
            hands_components_r: hands_components_r.data,
            hands_mean_l: hands_mean_l.data,
            hands_mean_r: hands_mean_r.data,
            lmk_faces_idx,
            lmk_bary_coords: lmk_bary_coords.data,
            dynamic_lmk_faces_idx,
            dynamic_lmk_bary_coords: dynamic_lmk_bary_coords.data,
            note,
        })
    }

    /// The arrays under their official key names, plus the keys the official
    /// files carry that the forward pass does not use (`vt`, `ft`,
    /// `hands_coeffs*`, `joint2num`, `part2num`), so that any tool reading
    /// the official layout finds every key. `extra` adds to or replaces those.
    pub fn to_npz_arrays(
        &self,
        extra: Vec<(&'static str, NpyArray)>,
    ) -> Vec<(&'static str, NpyArray)> {
        let v = self.num_vertices();
        let f = self.faces.len();
        let mut kintree = vec![0i64; 2 * NUM_JOINTS];
        for j in 0..NUM_JOINTS {
            // The official files store the root's parent as uint32 max.
            kintree[j] = if j == 0 {
                u32::MAX as i64
            } else {
                self.parents[j]
            };
            kintree[NUM_JOINTS + j] = j as i64;
        }
        let faces: Vec<u32> = self.faces.iter().flatten().copied().collect();
        let mut arrays = vec![
            (
                "v_template",
                NpyArray::f32(&[v, 3], self.v_template.clone()),
            ),
            ("f", NpyArray::u32(&[f, 3], faces)),
            (
                "shapedirs",
                NpyArray::f32(&[v, 3, self.num_shapedirs], self.shapedirs.clone()),
            ),
            (
                "posedirs",
                NpyArray::f32(&[v, 3, NUM_POSE_BASIS], self.posedirs.clone()),
            ),
            (
                "J_regressor",
                NpyArray::f32(&[NUM_JOINTS, v], self.j_regressor.clone()),
            ),
            (
                "weights",
                NpyArray::f32(&[v, NUM_JOINTS], self.weights.clone()),
            ),
            ("kintree_table", NpyArray::i64(&[2, NUM_JOINTS], kintree)),
            (
                "hands_componentsl",
                NpyArray::f32(&[45, 45], self.hands_components_l.clone()),
            ),
            (
                "hands_componentsr",
                NpyArray::f32(&[45, 45], self.hands_components_r.clone()),
            ),
            (
                "hands_meanl",
                NpyArray::f32(&[45], self.hands_mean_l.clone()),
            ),
            (
                "hands_meanr",
                NpyArray::f32(&[45], self.hands_mean_r.clone()),
            ),
            ("hands_coeffsl", NpyArray::f32(&[1, 45], vec![0.0; 45])),
            ("hands_coeffsr", NpyArray::f32(&[1, 45], vec![0.0; 45])),
            (
                "lmk_faces_idx",
                NpyArray::u32(&[NUM_STATIC_LANDMARKS], self.lmk_faces_idx.clone()),
            ),
            (
                "lmk_bary_coords",
                NpyArray::f32(&[NUM_STATIC_LANDMARKS, 3], self.lmk_bary_coords.clone()),
            ),
            (
                "dynamic_lmk_faces_idx",
                NpyArray::u32(
                    &[NUM_CONTOUR_BINS, NUM_CONTOUR_LANDMARKS],
                    self.dynamic_lmk_faces_idx.clone(),
                ),
            ),
            (
                "dynamic_lmk_bary_coords",
                NpyArray::f32(
                    &[NUM_CONTOUR_BINS, NUM_CONTOUR_LANDMARKS, 3],
                    self.dynamic_lmk_bary_coords.clone(),
                ),
            ),
            ("vt", NpyArray::f32(&[v, 2], vec![0.0; v * 2])),
            (
                "ft",
                NpyArray::u32(&[f, 3], self.faces.iter().flatten().copied().collect()),
            ),
            (
                "joint2num",
                NpyArray::strings(
                    super::joints::JOINT_NAMES[..NUM_JOINTS]
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                ),
            ),
            (
                "part2num",
                NpyArray::strings(vec![
                    "global".into(),
                    "head".into(),
                    "leftEye".into(),
                    "rightEye".into(),
                ]),
            ),
        ];
        if let Some(note) = &self.note {
            arrays.push(("furpe_note", NpyArray::strings(vec![note.clone()])));
        }
        for (key, array) in extra {
            match arrays.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = array,
                None => arrays.push((key, array)),
            }
        }
        arrays
    }

    /// Writes the model as an official-layout `.npz`, atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        crate::io::write_atomic(path, |w| {
            crate::npz::write_npz(w, &self.to_npz_arrays(Vec::new()), false)
        })
    }
}

fn npz_bad<R: Read + Seek>(npz: &NpzArchive<R>, key: &str, reason: String) -> NpzError {
    NpzError::BadArray {
        file: npz.name().to_string(),
        key: key.to_string(),
        reason,
    }
}

fn read_face_ids<R: Read + Seek>(
    npz: &mut NpzArchive<R>,
    key: &str,
    shape: &[Option<usize>],
    num_faces: usize,
) -> Result<Vec<u32>, NpzError> {
    let ids = npz.read_i64(key, shape)?;
    if let Some(&bad) = ids.data.iter().find(|&&i| i < 0 || i as usize >= num_faces) {
        return Err(npz_bad(
            npz,
            key,
            format!("face index {bad} outside 0..{num_faces}"),
        ));
    }
    Ok(ids.data.iter().map(|&i| i as u32).collect())
}
