//! Pseudo labels: what the part experts said about each image, converted to
//! SMPL-X part parameters, plus the experts' feature vectors for distillation.
//!
//! Stored as safetensors shards (`DIR/labels/shard-IIII-of-NNNN.safetensors`),
//! one float32 tensor `[N, width]` per field and `index` (int64 `[N]`, the
//! record in `annotations.jsonl`). Column storage keeps a shard one read for
//! training and lets feature widths differ between expert checkpoints.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

/// Parameter fields every shard carries, with their widths.
pub const PARAM_FIELDS: [(&str, usize); 9] = [
    // Square crop box (x0, y0, x1, y1) in pixels that the body expert saw.
    ("body_box", 4),
    // The body expert's weak-perspective camera (s, tx, ty) in that crop's
    // normalised coordinates (the crop spans [-1, 1], y down).
    ("body_camera", 3),
    ("global_orient", 3),
    ("body_pose", 63),
    // SPIN's SMPL shape: kept for reference, not an SMPL-X β.
    ("smpl_betas", 10),
    ("jaw_pose", 3),
    ("expression", 10),
    // Relative to the SMPL-X mean hand (the reference package's convention).
    ("left_hand_pose", 45),
    ("right_hand_pose", 45),
];

/// Expert feature fields (widths depend on the expert networks), in
/// [`crate::metrics::Part::LABEL_ORDER`].
pub const FEATURE_FIELDS: [&str; 4] = [
    "feature_body",
    "feature_face",
    "feature_left_hand",
    "feature_right_hand",
];

/// A column store of pseudo labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PseudoLabels {
    /// Record index in `annotations.jsonl`, one per row.
    pub index: Vec<u64>,
    columns: BTreeMap<String, Column>,
}

#[derive(Debug, Clone, PartialEq)]
struct Column {
    width: usize,
    values: Vec<f32>,
}

/// An error reading a shard, naming the file and the tensor.
#[derive(Debug, thiserror::Error)]
pub enum PseudoError {
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error("{file}: tensor '{key}': {reason}")]
    Tensor {
        file: String,
        key: String,
        reason: String,
    },
}

impl PseudoLabels {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Appends one image's labels; every field given must keep its width.
    pub fn push(&mut self, index: u64, fields: &[(&str, &[f32])]) -> Result<(), String> {
        for (name, values) in fields {
            if let Some(col) = self.columns.get(*name) {
                if col.width != values.len() {
                    return Err(format!(
                        "field '{name}': width {} but earlier rows had {}",
                        values.len(),
                        col.width
                    ));
                }
            }
        }
        let row = self.index.len();
        for (name, values) in fields {
            let col = self
                .columns
                .entry(name.to_string())
                .or_insert_with(|| Column {
                    width: values.len(),
                    values: vec![f32::NAN; row * values.len()],
                });
            col.values.extend_from_slice(values);
        }
        self.index.push(index);
        // Fields this row did not give are NaN: "no label", caught by selection.
        for col in self.columns.values_mut() {
            col.values.resize((row + 1) * col.width, f32::NAN);
        }
        Ok(())
    }

    /// Row `row` of `field`, if the field exists.
    pub fn get(&self, field: &str, row: usize) -> Option<&[f32]> {
        let col = self.columns.get(field)?;
        col.values.get(row * col.width..(row + 1) * col.width)
    }

    /// Width of `field`.
    pub fn width(&self, field: &str) -> Option<usize> {
        self.columns.get(field).map(|c| c.width)
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.columns.keys().map(String::as_str)
    }

    /// Appends all rows of `other` (same fields and widths).
    pub fn extend(&mut self, other: PseudoLabels) -> Result<(), String> {
        for row in 0..other.len() {
            let fields: Vec<(&str, &[f32])> = other
                .columns
                .iter()
                .map(|(k, c)| (k.as_str(), &c.values[row * c.width..(row + 1) * c.width]))
                .collect();
            self.push(other.index[row], &fields)?;
        }
        Ok(())
    }

    /// Writes the shard atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let index_bytes: Vec<u8> = self
            .index
            .iter()
            .flat_map(|&i| (i as i64).to_le_bytes())
            .collect();
        let column_bytes: Vec<(String, Vec<u8>, usize)> = self
            .columns
            .iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    c.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    c.width,
                )
            })
            .collect();
        let n = self.len();
        let mut views = vec![(
            "index".to_string(),
            TensorView::new(Dtype::I64, vec![n], &index_bytes).map_err(std::io::Error::other)?,
        )];
        for (name, bytes, width) in &column_bytes {
            views.push((
                name.clone(),
                TensorView::new(Dtype::F32, vec![n, *width], bytes)
                    .map_err(std::io::Error::other)?,
            ));
        }
        let bytes = safetensors::serialize(views, None).map_err(std::io::Error::other)?;
        crate::io::write_bytes_atomic(path, &bytes)
    }

    /// Reads a shard written by [`PseudoLabels::save`].
    pub fn load(path: &Path) -> Result<Self, PseudoError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| PseudoError::File {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let tensors =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| PseudoError::File {
                file: file.clone(),
                reason: format!("not a safetensors file: {e}"),
            })?;
        let bad = |key: &str, reason: String| PseudoError::Tensor {
            file: file.clone(),
            key: key.to_string(),
            reason,
        };
        let index = tensors
            .tensor("index")
            .map_err(|e| bad("index", e.to_string()))?;
        if index.dtype() != Dtype::I64 || index.shape().len() != 1 {
            return Err(bad(
                "index",
                format!(
                    "expected int64 [N], found {:?} {:?}",
                    index.dtype(),
                    index.shape()
                ),
            ));
        }
        let n = index.shape()[0];
        let mut out = PseudoLabels {
            index: index
                .data()
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as u64)
                .collect(),
            columns: BTreeMap::new(),
        };
        for name in tensors.names() {
            if name == "index" {
                continue;
            }
            let t = tensors.tensor(name).map_err(|e| bad(name, e.to_string()))?;
            if t.dtype() != Dtype::F32 || t.shape().len() != 2 || t.shape()[0] != n {
                return Err(bad(
                    name,
                    format!(
                        "expected float32 [{n}, width], found {:?} {:?}",
                        t.dtype(),
                        t.shape()
                    ),
                ));
            }
            let values = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            out.columns.insert(
                name.to_string(),
                Column {
                    width: t.shape()[1],
                    values,
                },
            );
        }
        for (name, width) in PARAM_FIELDS {
            match out.width(name) {
                Some(w) if w == width => {}
                Some(w) => return Err(bad(name, format!("width {w}, expected {width}"))),
                None => return Err(bad(name, "missing".into())),
            }
        }
        Ok(out)
    }
}

/// Loads and concatenates every `*.safetensors` shard in `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<PseudoLabels, PseudoError> {
    let file = dir.display().to_string();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| PseudoError::File {
            file: file.clone(),
            reason: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(PseudoError::File {
            file,
            reason: "no .safetensors label shards (run `furpe label` first)".into(),
        });
    }
    let mut all = PseudoLabels::default();
    for path in paths {
        let shard = PseudoLabels::load(&path)?;
        all.extend(shard).map_err(|reason| PseudoError::File {
            file: path.display().to_string(),
            reason,
        })?;
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn row(seed: f32) -> Vec<(&'static str, Vec<f32>)> {
        let mut fields: Vec<(&'static str, Vec<f32>)> = PARAM_FIELDS
            .iter()
            .map(|&(k, w)| (k, (0..w).map(|i| seed + i as f32 * 0.01).collect()))
            .collect();
        fields.push(("feature_body", vec![seed; 8]));
        fields
    }

    #[test]
    fn shard_roundtrip_and_errors() {
        let mut labels = PseudoLabels::default();
        for i in 0..3 {
            let r = row(i as f32);
            let refs: Vec<(&str, &[f32])> = r.iter().map(|(k, v)| (*k, v.as_slice())).collect();
            labels.push(i * 2, &refs).unwrap();
        }
        assert!(
            labels.push(9, &[("feature_body", &[1.0][..])]).is_err(),
            "width change rejected"
        );
        let dir = std::env::temp_dir().join(format!("furpe-pseudo-{}", std::process::id()));
        let path = dir.join("shard-0000-of-0001.safetensors");
        labels.save(&path).unwrap();
        let back = load_dir(&dir).unwrap();
        assert_eq!(back, labels);
        assert_eq!(back.get("jaw_pose", 2).unwrap(), &[2.0, 2.01, 2.02]);
        std::fs::write(&path, b"garbage").unwrap();
        let err = load_dir(&dir).unwrap_err().to_string();
        assert!(
            err.contains("shard-0000-of-0001.safetensors") && err.contains("not a safetensors"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
