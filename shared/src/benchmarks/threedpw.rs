//! 3DPW (von Marcard et al. 2018): in-the-wild video with SMPL fits from IMUs.
//! Published layout:
//!
//! ```text
//! sequenceFiles/{train,validation,test}/<seq>.pkl   Python 2 pickles (read with latin1)
//! imageFiles/<seq>/image_XXXXX.jpg
//! ```
//!
//! Each pickle is a dict: `sequence` (name), per person P lists `poses`
//! `[F, 72]`, `betas`, `trans` `[F, 3]`, `jointPositions` `[F, 72]` (the 24
//! SMPL joints, world frame), `campose_valid` `[F]`, `poses2d` `[F, 3, 18]`
//! (COCO-18 keypoints x, y, confidence), and shared `img_frame_ids` `[F]`,
//! `cam_poses` `[F, 4, 4]` (world → camera), `cam_intrinsics` `[3, 3]`.
//!
//! One sample per person and frame with a valid camera pose. The SMPL body
//! model is not available here, so the ground truth is `jointPositions`,
//! moved into the camera frame; see [`super::score`] for the joint mapping.

use std::path::Path;

use super::{existing, files_ending, intrinsics, points, BenchmarkError, EvalSample, Target};
use crate::dataset::openpose::box_from_keypoints;
use crate::keypoints::NUM_OPENPOSE137;
use crate::npz::NpyArray;
use crate::pickle::{read_pickle_value_file, PyValue};

/// SMPL joints in `jointPositions`.
pub const NUM_SMPL_JOINTS: usize = 24;
/// COCO-18 keypoint k is OpenPose BODY_25 point `COCO18_TO_BODY25[k]`
/// (BODY_25 adds the mid hip and the feet).
pub const COCO18_TO_BODY25: [usize; 18] = [
    0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
];

pub fn load(
    root: &Path,
    split: &str,
    limit: Option<usize>,
) -> Result<Vec<EvalSample>, BenchmarkError> {
    let dir = root.join("sequenceFiles").join(split);
    let files = if dir.is_dir() {
        files_ending(&dir, ".pkl")?
    } else {
        Vec::new()
    };
    if files.is_empty() {
        return Err(BenchmarkError::Layout {
            root: root.display().to_string(),
            dataset: "3DPW",
            expected: format!(
                "sequenceFiles/{split}/<sequence>.pkl and imageFiles/<sequence>/image_XXXXX.jpg"
            ),
        });
    }
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for name in files {
        if out.len() >= limit {
            break;
        }
        let path = dir.join(&name);
        let seq = read_pickle_value_file(&path)
            .map_err(|e| BenchmarkError::format(&path, e.to_string()))?;
        load_sequence(root, &path, &seq, limit, &mut out)?;
    }
    Ok(out)
}

fn load_sequence(
    root: &Path,
    path: &Path,
    seq: &PyValue,
    limit: usize,
    out: &mut Vec<EvalSample>,
) -> Result<(), BenchmarkError> {
    let key = |k: &str| {
        seq.get(k).ok_or_else(|| {
            BenchmarkError::format(
                path,
                format!("no key '{k}' (expected a 3DPW sequence dict)"),
            )
        })
    };
    let name = key("sequence")?
        .as_text()
        .ok_or_else(|| BenchmarkError::format(path, "'sequence' is not a string"))?;
    let frame_ids = array(path, "img_frame_ids", key("img_frame_ids")?, None)?;
    let frames = frame_ids.len();
    let frame_ids = frame_ids
        .to_i64()
        .ok_or_else(|| BenchmarkError::format(path, "'img_frame_ids' holds non-integer values"))?;
    let cam_poses = floats(path, "cam_poses", key("cam_poses")?, &[frames, 4, 4])?;
    let k = floats(path, "cam_intrinsics", key("cam_intrinsics")?, &[3, 3])?;
    let camera = intrinsics([k[0], k[4]], [k[2], k[5]]);
    let joints = list(path, "jointPositions", key("jointPositions")?)?;
    let valid = list(path, "campose_valid", key("campose_valid")?)?;
    let poses2d = list(path, "poses2d", key("poses2d")?)?;
    if valid.len() != joints.len() || poses2d.len() != joints.len() {
        return Err(BenchmarkError::format(
            path,
            format!(
                "'jointPositions', 'campose_valid' and 'poses2d' list {}, {} and {} people; expected the same",
                joints.len(),
                valid.len(),
                poses2d.len()
            ),
        ));
    }
    for person in 0..joints.len() {
        let what = |k: &str| format!("{k}[{person}]");
        let j = floats(
            path,
            &what("jointPositions"),
            &joints[person],
            &[frames, 3 * NUM_SMPL_JOINTS],
        )?;
        let ok = floats(path, &what("campose_valid"), &valid[person], &[frames])?;
        let kp = floats(path, &what("poses2d"), &poses2d[person], &[frames, 3, 18])?;
        for f in 0..frames {
            if out.len() >= limit {
                return Ok(());
            }
            if ok[f] == 0.0 {
                continue;
            }
            let pose = &cam_poses[16 * f..16 * f + 16];
            let rotation = [0, 1, 2].map(|r| [0, 1, 2].map(|c| pose[4 * r + c]));
            let translation = [pose[3], pose[7], pose[11]];
            let mut gt = points(&j[f * 72..(f + 1) * 72]);
            super::transform(&mut gt, &rotation, translation);
            let mut keypoints = vec![[0.0f32; 3]; NUM_OPENPOSE137];
            let coco = &kp[f * 54..(f + 1) * 54];
            for (c, &b) in COCO18_TO_BODY25.iter().enumerate() {
                keypoints[b] = [coco[c] as f32, coco[18 + c] as f32, coco[36 + c] as f32];
            }
            let image = existing(
                root.join("imageFiles")
                    .join(&name)
                    .join(format!("image_{:05}.jpg", frame_ids[f])),
                "3DPW image (imageFiles/<sequence>/image_XXXXX.jpg)",
            )?;
            out.push(EvalSample {
                id: format!("{name}_p{person}_f{:05}", frame_ids[f]),
                image,
                person_box: box_from_keypoints(&keypoints, 0.1, 0.1, u32::MAX, u32::MAX),
                keypoints: Some(keypoints),
                camera: Some(camera),
                target: Target::SmplJoints(gt),
            });
        }
    }
    Ok(())
}

fn list<'a>(path: &Path, key: &str, value: &'a PyValue) -> Result<&'a [PyValue], BenchmarkError> {
    value.items().ok_or_else(|| {
        BenchmarkError::format(
            path,
            format!(
                "'{key}' is a {}, expected a list with one entry per person",
                value.kind()
            ),
        )
    })
}

fn array<'a>(
    path: &Path,
    key: &str,
    value: &'a PyValue,
    shape: Option<&[usize]>,
) -> Result<&'a NpyArray, BenchmarkError> {
    match value {
        PyValue::Array(a) if shape.is_none_or(|s| a.shape == s) => Ok(a),
        PyValue::Array(a) => Err(BenchmarkError::format(
            path,
            format!(
                "'{key}' has shape {:?}, expected {:?}",
                a.shape,
                shape.unwrap_or_default()
            ),
        )),
        other => Err(BenchmarkError::format(
            path,
            format!("'{key}' is a {}, expected a numpy array", other.kind()),
        )),
    }
}

fn floats(
    path: &Path,
    key: &str,
    value: &PyValue,
    shape: &[usize],
) -> Result<Vec<f64>, BenchmarkError> {
    let a = array(path, key, value, Some(shape))?;
    let v = a
        .to_f64()
        .ok_or_else(|| BenchmarkError::format(path, format!("'{key}' is not numeric")))?;
    if v.iter().any(|x| !x.is_finite()) {
        return Err(BenchmarkError::format(
            path,
            format!("'{key}' holds a non-finite value"),
        ));
    }
    Ok(v)
}
