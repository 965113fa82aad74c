//! Constant buffers decoded by tensor type (fp16 widened to f32, int64
//! narrowed to i32) and sparse tensors expanded to dense data.

use super::{Constant, DType, TensorInfo};
use crate::tflite::flatbuffer::{FlatError, Table};

/// Decodes a buffer by the tensor's type (fp16 widened to f32, int64
/// shape data narrowed to i32).
pub(super) fn decode(info: &TensorInfo, data: &[u8]) -> Result<Constant, String> {
    let whole = |size: usize| {
        if data.len().is_multiple_of(size) {
            Ok(())
        } else {
            Err(format!(
                "tensor '{}': {} bytes is not a whole number of {size}-byte values",
                info.name,
                data.len()
            ))
        }
    };
    match info.dtype {
        DType::F32 => {
            whole(4)?;
            Ok(Constant::F32(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ))
        }
        DType::F16 => {
            whole(2)?;
            Ok(Constant::F32(
                data.chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
            ))
        }
        DType::I32 => {
            whole(4)?;
            Ok(Constant::I32(
                data.chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ))
        }
        DType::I64 => {
            whole(8)?;
            data.chunks_exact(8)
                .map(|b| {
                    let v = i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                    i32::try_from(v).map_err(|_| format!("tensor '{}': int64 value {v} out of range", info.name))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Constant::I32)
        }
        DType::Other(code) => Err(format!(
            "tensor '{}' has TFLite type {code}; only float32, float16, int32 and int64 constants are read",
            info.name
        )),
    }
}

/// Expands a sparse tensor (TFLite `SparsityParameters`) to dense row-major
/// data. Each level of the traversal is either dense (a plain loop) or CSR
/// (segments index into an index array); the position reached at the last
/// level is the index of the stored value. Only the identity traversal
/// order without block maps is read (what the MediaPipe detectors use).
pub(super) fn densify(
    info: &TensorInfo,
    sparsity: &Table<'_>,
    values: &[f32],
) -> Result<Vec<f32>, String> {
    let fail = |what: String| format!("tensor '{}': sparsity: {what}", info.name);
    let flat = |e: FlatError| fail(e.0);
    let rank = info.shape.len();
    let order = sparsity.i32s(0).map_err(flat)?;
    if order.iter().copied().ne(0..rank as i32) || !sparsity.i32s(1).map_err(flat)?.is_empty() {
        return Err(fail(format!(
            "traversal order {order:?} or a block map is not supported"
        )));
    }
    let dims = sparsity.tables(2).map_err(flat)?;
    if dims.len() != rank {
        return Err(fail(format!(
            "{} dimension entries for a rank-{rank} tensor",
            dims.len()
        )));
    }
    let mut levels = Vec::with_capacity(rank);
    for (level, d) in dims.iter().enumerate() {
        // DimensionMetadata: 0 format (0 dense, 1 CSR), 1 dense_size,
        // 2/3 array_segments (union), 4/5 array_indices (union).
        levels.push(match d.u8(0, 0).map_err(flat)? {
            0 => Level::Dense,
            1 => Level::Csr {
                segments: index_vector(d, 2, 3).map_err(&fail)?,
                indices: index_vector(d, 4, 5).map_err(&fail)?,
            },
            other => return Err(fail(format!("level {level} has format {other}"))),
        });
    }
    let total: usize = info.shape.iter().product();
    let mut dense = vec![0.0f32; total];
    expand(&info.shape, &levels, 0, 0, 0, values, &mut dense).map_err(fail)?;
    Ok(dense)
}

enum Level {
    Dense,
    Csr {
        segments: Vec<usize>,
        indices: Vec<usize>,
    },
}

/// Reads a `SparseIndexVector` union (Int32Vector = 1, Uint16Vector = 2,
/// Uint8Vector = 3; each a table whose slot 0 holds the values).
fn index_vector(d: &Table<'_>, type_slot: usize, value_slot: usize) -> Result<Vec<usize>, String> {
    let kind = d.u8(type_slot, 0).map_err(|e| e.0)?;
    let table = d
        .table(value_slot)
        .map_err(|e| e.0)?
        .ok_or_else(|| "a CSR level without its index vector".to_string())?;
    let read = |e: FlatError| e.0;
    Ok(match kind {
        1 => table
            .i32s(0)
            .map_err(read)?
            .into_iter()
            .map(|v| usize::try_from(v).map_err(|_| format!("negative sparse index {v}")))
            .collect::<Result<Vec<_>, _>>()?,
        2 => table
            .u16s(0)
            .map_err(read)?
            .into_iter()
            .map(usize::from)
            .collect(),
        3 => table
            .bytes(0)
            .map_err(read)?
            .iter()
            .map(|&v| usize::from(v))
            .collect(),
        other => return Err(format!("index vector type {other}")),
    })
}

fn expand(
    shape: &[usize],
    levels: &[Level],
    level: usize,
    position: usize,
    linear: usize,
    values: &[f32],
    dense: &mut [f32],
) -> Result<(), String> {
    if level == levels.len() {
        let v = values
            .get(position)
            .ok_or_else(|| format!("value {position} of {} is missing", values.len()))?;
        dense[linear] = *v;
        return Ok(());
    }
    let size = shape[level];
    match &levels[level] {
        Level::Dense => {
            for i in 0..size {
                expand(
                    shape,
                    levels,
                    level + 1,
                    position * size + i,
                    linear * size + i,
                    values,
                    dense,
                )?;
            }
        }
        Level::Csr { segments, indices } => {
            let (Some(&start), Some(&end)) = (segments.get(position), segments.get(position + 1))
            else {
                return Err(format!("segment {position} is missing"));
            };
            if start > end || end > indices.len() {
                return Err(format!(
                    "segment {position} is {start}..{end} of {} indices",
                    indices.len()
                ));
            }
            for (k, &column) in indices.iter().enumerate().take(end).skip(start) {
                if column >= size {
                    return Err(format!(
                        "index {column} is outside dimension {level} of size {size}"
                    ));
                }
                expand(
                    shape,
                    levels,
                    level + 1,
                    k,
                    linear * size + column,
                    values,
                    dense,
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp16_and_int64_buffers_decode() {
        let info = |dtype| TensorInfo {
            name: "t".into(),
            shape: vec![2],
            dtype,
        };
        let halfs: Vec<u8> = [1.5f32, -0.25]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        assert_eq!(
            decode(&info(DType::F16), &halfs),
            Ok(Constant::F32(vec![1.5, -0.25]))
        );
        let longs: Vec<u8> = [3i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            decode(&info(DType::I64), &longs),
            Ok(Constant::I32(vec![3, -1]))
        );
        assert!(
            decode(&info(DType::F32), &[0u8; 6]).is_err(),
            "6 bytes is not whole f32s"
        );
        assert!(decode(&info(DType::Other(9)), &[0u8; 2]).is_err());
    }

    #[test]
    fn csr_levels_expand_to_the_dense_matrix() {
        // [[0, 5, 0], [7, 0, 8]]: dense rows, CSR columns.
        let levels = [
            Level::Dense,
            Level::Csr {
                segments: vec![0, 1, 3],
                indices: vec![1, 0, 2],
            },
        ];
        let mut dense = vec![0.0; 6];
        expand(&[2, 3], &levels, 0, 0, 0, &[5.0, 7.0, 8.0], &mut dense).unwrap();
        assert_eq!(dense, vec![0.0, 5.0, 0.0, 7.0, 0.0, 8.0]);
        // A column index outside the row and a short value list are errors.
        let bad = [
            Level::Dense,
            Level::Csr {
                segments: vec![0, 1, 3],
                indices: vec![1, 0, 3],
            },
        ];
        assert!(expand(&[2, 3], &bad, 0, 0, 0, &[5.0, 7.0, 8.0], &mut dense).is_err());
        assert!(expand(&[2, 3], &levels, 0, 0, 0, &[5.0, 7.0], &mut dense).is_err());
    }
}
