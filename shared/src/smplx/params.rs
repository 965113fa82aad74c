//! SMPL-X parameters on the host: the JSON format shared with the reference
//! package's argument names, and the left/right flip used by augmentation.

use serde_json::{Map, Value};

/// Parameter names in the reference package, in the order they are stored.
pub const PARAM_NAMES: [&str; 10] = [
    "betas",
    "expression",
    "global_orient",
    "body_pose",
    "jaw_pose",
    "leye_pose",
    "reye_pose",
    "left_hand_pose",
    "right_hand_pose",
    "transl",
];

/// A batch of SMPL-X parameters; every field holds one row per body.
///
/// Hand poses are relative to the model's mean hand (the reference package's
/// convention) and hold 45 axis-angle values or `num_pca_comps` PCA
/// coefficients, depending on how the model layer is configured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SmplxParams {
    pub betas: Vec<Vec<f32>>,
    pub expression: Vec<Vec<f32>>,
    pub global_orient: Vec<Vec<f32>>,
    pub body_pose: Vec<Vec<f32>>,
    pub jaw_pose: Vec<Vec<f32>>,
    pub leye_pose: Vec<Vec<f32>>,
    pub reye_pose: Vec<Vec<f32>>,
    pub left_hand_pose: Vec<Vec<f32>>,
    pub right_hand_pose: Vec<Vec<f32>>,
    pub transl: Vec<Vec<f32>>,
}

/// What a parameter JSON file held: one body (flat arrays) or a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    Single,
    Batch,
}

/// Row lengths a parameter set must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamWidths {
    /// Rows shorter than these are zero-padded to them.
    pub betas: usize,
    pub expression: usize,
    /// 45 for axis-angle hands, the number of PCA components otherwise.
    pub hand: usize,
    /// Longer rows are accepted up to these (the model file's shape and
    /// expression spaces); the field then widens to its longest row.
    pub max_betas: usize,
    pub max_expression: usize,
}

impl Default for ParamWidths {
    fn default() -> Self {
        Self {
            betas: 10,
            expression: 10,
            hand: 45,
            max_betas: 10,
            max_expression: 10,
        }
    }
}

impl SmplxParams {
    /// Sets row `b`'s pose fields from one axis-angle vector `[55 × 3]` in
    /// skeleton order (`joints::pose`); `hand` maps each hand's 45 values
    /// (e.g. subtracts the hand mean) and gets `(values, left?)`.
    pub fn set_full_pose(
        &mut self,
        b: usize,
        full: &[f32],
        hand: impl Fn(&[f32], bool) -> Vec<f32>,
    ) {
        use crate::smplx::joints::pose;
        let take = |joints| full[pose::flat(joints, 3)].to_vec();
        self.global_orient[b] = take(pose::GLOBAL);
        self.body_pose[b] = take(pose::BODY);
        self.jaw_pose[b] = take(pose::JAW);
        self.leye_pose[b] = take(pose::LEFT_EYE);
        self.reye_pose[b] = take(pose::RIGHT_EYE);
        self.left_hand_pose[b] = hand(&full[pose::flat(pose::LEFT_HAND, 3)], true);
        self.right_hand_pose[b] = hand(&full[pose::flat(pose::RIGHT_HAND, 3)], false);
    }

    /// All-zero parameters for `batch` bodies (the mean body in the rest pose,
    /// with the mean hand pose unless the layer uses a flat hand mean).
    pub fn zeros(batch: usize, widths: ParamWidths) -> Self {
        let rows = |n: usize| vec![vec![0.0; n]; batch];
        Self {
            betas: rows(widths.betas),
            expression: rows(widths.expression),
            global_orient: rows(3),
            body_pose: rows(63),
            jaw_pose: rows(3),
            leye_pose: rows(3),
            reye_pose: rows(3),
            left_hand_pose: rows(widths.hand),
            right_hand_pose: rows(widths.hand),
            transl: rows(3),
        }
    }

    /// Stacks parameter sets (one body or a batch each) into one batch, for
    /// one forward pass; rows keep their widths.
    pub fn concat(sets: &[SmplxParams]) -> SmplxParams {
        let mut out = SmplxParams::default();
        for set in sets {
            for name in PARAM_NAMES {
                if let (Some(dst), Some(src)) = (out.field_mut(name), set.field(name)) {
                    dst.extend(src.iter().cloned());
                }
            }
        }
        out
    }

    /// Bodies `range` of the batch (e.g. to pose a long sequence in chunks).
    pub fn rows(&self, range: std::ops::Range<usize>) -> SmplxParams {
        let mut out = SmplxParams::default();
        for name in PARAM_NAMES {
            if let (Some(dst), Some(src)) = (out.field_mut(name), self.field(name)) {
                *dst = src[range.clone()].to_vec();
            }
        }
        out
    }

    pub fn batch_size(&self) -> usize {
        self.global_orient.len()
    }

    pub fn field(&self, name: &str) -> Option<&Vec<Vec<f32>>> {
        Some(match name {
            "betas" => &self.betas,
            "expression" => &self.expression,
            "global_orient" => &self.global_orient,
            "body_pose" => &self.body_pose,
            "jaw_pose" => &self.jaw_pose,
            "leye_pose" => &self.leye_pose,
            "reye_pose" => &self.reye_pose,
            "left_hand_pose" => &self.left_hand_pose,
            "right_hand_pose" => &self.right_hand_pose,
            "transl" => &self.transl,
            _ => return None,
        })
    }

    pub fn field_mut(&mut self, name: &str) -> Option<&mut Vec<Vec<f32>>> {
        Some(match name {
            "betas" => &mut self.betas,
            "expression" => &mut self.expression,
            "global_orient" => &mut self.global_orient,
            "body_pose" => &mut self.body_pose,
            "jaw_pose" => &mut self.jaw_pose,
            "leye_pose" => &mut self.leye_pose,
            "reye_pose" => &mut self.reye_pose,
            "left_hand_pose" => &mut self.left_hand_pose,
            "right_hand_pose" => &mut self.right_hand_pose,
            "transl" => &mut self.transl,
            _ => return None,
        })
    }

    /// Parses the reference package's names as JSON: flat arrays for one
    /// body, arrays of arrays for a batch; a missing key means zeros.
    /// `betas` and `expression` may be shorter than `widths` (zero-padded,
    /// which leaves the body unchanged) but not longer. Errors name `source`
    /// (the file), the key, and the shape found and expected. A `camera`
    /// key (`furpe infer`'s placement in the image) is read past.
    pub fn from_json(
        text: &str,
        source: &str,
        widths: ParamWidths,
    ) -> Result<(Self, Batching), String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("{source}: not valid JSON: {e}"))?;
        let object = value.as_object().ok_or_else(|| {
            format!("{source}: expected a JSON object with SMPL-X parameter keys")
        })?;
        // `furpe infer` and the page add where the body sits in the image
        // (`camera`); the body itself does not depend on it.
        let placement = ["camera"];
        if let Some(unknown) = object
            .keys()
            .find(|k| !PARAM_NAMES.contains(&k.as_str()) && !placement.contains(&k.as_str()))
        {
            return Err(format!(
                "{source}: unknown key '{unknown}' (expected some of {PARAM_NAMES:?})"
            ));
        }
        let batching = if object.values().any(|v| {
            v.as_array()
                .is_some_and(|a| a.first().is_some_and(Value::is_array))
        }) {
            Batching::Batch
        } else {
            Batching::Single
        };
        let mut rows_by_key: Vec<(&str, Vec<Vec<f32>>)> = Vec::new();
        for (key, value) in object {
            if placement.contains(&key.as_str()) {
                continue;
            }
            rows_by_key.push((key.as_str(), parse_rows(value, batching, source, key)?));
        }
        let batch = match batching {
            Batching::Single => 1,
            Batching::Batch => rows_by_key.first().map_or(1, |(_, r)| r.len()),
        };
        let longest = |name: &str| {
            rows_by_key
                .iter()
                .filter(|(k, _)| *k == name)
                .flat_map(|(_, rows)| rows.iter().map(Vec::len))
                .max()
                .unwrap_or(0)
        };
        let widths = ParamWidths {
            betas: widths.betas.max(longest("betas").min(widths.max_betas)),
            expression: widths
                .expression
                .max(longest("expression").min(widths.max_expression)),
            ..widths
        };
        let mut params = Self::zeros(batch, widths);
        for (key, rows) in rows_by_key {
            if rows.len() != batch {
                return Err(format!(
                    "{source}: key '{key}' has {} rows, but other keys have {batch} (one row per body)",
                    rows.len()
                ));
            }
            let width = params
                .field(key)
                .map_or(0, |f| f.first().map_or(0, Vec::len));
            let may_be_shorter = matches!(key, "betas" | "expression");
            for row in &rows {
                let ok = row.len() == width || (may_be_shorter && row.len() < width);
                if !ok {
                    let hint = if key.ends_with("hand_pose") && width == 45 {
                        " (45 axis-angle values; for PCA coefficients pass --num-pca-comps N)"
                    } else if key.ends_with("hand_pose") {
                        " (the number of PCA components given by --num-pca-comps)"
                    } else if may_be_shorter {
                        " or fewer (the model file's limit)"
                    } else {
                        ""
                    };
                    return Err(format!(
                        "{source}: key '{key}' has rows of length {}, expected {width}{hint}",
                        row.len()
                    ));
                }
            }
            if let Some(field) = params.field_mut(key) {
                for (dst, src) in field.iter_mut().zip(rows) {
                    dst[..src.len()].copy_from_slice(&src);
                }
            }
        }
        Ok((params, batching))
    }

    /// Serialises with the reference package's names (flat for `Single`).
    pub fn to_json(&self, batching: Batching) -> Value {
        let mut map = Map::new();
        for name in PARAM_NAMES {
            let rows = self.field(name).cloned().unwrap_or_default();
            let value = match batching {
                Batching::Single => rows
                    .into_iter()
                    .next()
                    .map(Value::from)
                    .unwrap_or(Value::Null),
                Batching::Batch => Value::from(rows),
            };
            map.insert(name.to_string(), value);
        }
        Value::Object(map)
    }

    /// The mirror image of each body about the model's sagittal (x = 0)
    /// plane: left and right joints swap and each axis-angle (x, y, z)
    /// becomes (x, −y, −z) (docs/smplx-layout.md §6). Hands must be in
    /// the 45-value axis-angle form. `transl` x is negated, which mirrors the
    /// whole body when the model's rest skeleton is symmetric.
    pub fn flipped(&self) -> Self {
        let mirror =
            |v: &[f32]| -> Vec<f32> { v.chunks(3).flat_map(|c| [c[0], -c[1], -c[2]]).collect() };
        let mut out = self.clone();
        for b in 0..self.batch_size() {
            out.global_orient[b] = mirror(&self.global_orient[b]);
            out.jaw_pose[b] = mirror(&self.jaw_pose[b]);
            out.leye_pose[b] = mirror(&self.reye_pose[b]);
            out.reye_pose[b] = mirror(&self.leye_pose[b]);
            out.left_hand_pose[b] = mirror(&self.right_hand_pose[b]);
            out.right_hand_pose[b] = mirror(&self.left_hand_pose[b]);
            let body = &self.body_pose[b];
            out.body_pose[b] = BODY_FLIP_PERMUTATION
                .iter()
                .flat_map(|&src| mirror(&body[src * 3..src * 3 + 3]))
                .collect();
            out.transl[b][0] = -self.transl[b][0];
        }
        out
    }
}

/// `body_pose` joint i of the flipped body takes joint `BODY_FLIP_PERMUTATION[i]`
/// of the original (body joints 1..=21 numbered from 0).
pub const BODY_FLIP_PERMUTATION: [usize; 21] = [
    1, 0, 2, 4, 3, 5, 7, 6, 8, 10, 9, 11, 13, 12, 14, 16, 15, 18, 17, 20, 19,
];

fn parse_rows(
    value: &Value,
    batching: Batching,
    source: &str,
    key: &str,
) -> Result<Vec<Vec<f32>>, String> {
    let bad = |what: &str| format!("{source}: key '{key}': {what}");
    let array = value
        .as_array()
        .ok_or_else(|| bad("expected an array of numbers"))?;
    let parse_row = |row: &Value| -> Result<Vec<f32>, String> {
        let row = row
            .as_array()
            .ok_or_else(|| bad("expected every row to be an array of numbers (a batch)"))?;
        row.iter()
            .enumerate()
            .map(|(i, x)| {
                let x = x.as_f64().ok_or_else(|| bad("expected numbers"))?;
                // Finite in f64 is not enough: 1e39 is infinite as f32.
                let narrow = x as f32;
                if narrow.is_finite() {
                    Ok(narrow)
                } else {
                    Err(bad(&format!(
                        "value {x} at index {i} is not a finite 32-bit float"
                    )))
                }
            })
            .collect()
    };
    match batching {
        Batching::Single => Ok(vec![parse_row(value)?]),
        Batching::Batch => array.iter().map(parse_row).collect(),
    }
}

/// Per-frame keys a sequence may carry besides the parameters; the viewer
/// ignores them, `furpe infer` may write them.
pub const FRAME_EXTRA_KEYS: [&str; 4] = ["time", "frame", "image", "camera"];

/// A result or a sequence of results: what the viewer plays and what
/// `furpe infer` writes for a video. One JSON file in any of these forms:
///
/// 1. one parameter object (see [`SmplxParams::from_json`]): flat arrays are
///    one frame, arrays of arrays one frame per row;
/// 2. a JSON array of such objects, one (or one batch of) frames each;
/// 3. `{"fps": 30, "frames": [ … ]}`: form 2 with a frame rate (`fps` may be
///    left out).
///
/// Frame objects of forms 2 and 3 may also hold `time` (seconds), `frame`
/// (index), `image` (file name) and `camera` (the weak-perspective
/// `[s, tx, ty]`), which the viewer does not need and skips.
#[derive(Debug, Clone, PartialEq)]
pub struct SmplxSequence {
    /// One row per frame.
    pub frames: SmplxParams,
    /// Frames per second when played back.
    pub fps: f32,
}

/// Frame rate of a sequence that does not give one.
pub const DEFAULT_FPS: f32 = 30.0;

impl SmplxSequence {
    pub fn len(&self) -> usize {
        self.frames.batch_size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses any of the three forms; errors name `source` and the frame.
    pub fn from_json(text: &str, source: &str, widths: ParamWidths) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("{source}: not valid JSON: {e}"))?;
        let (frames, fps) = match value {
            Value::Object(map) if map.contains_key("frames") => {
                let fps = match map.get("fps") {
                    None => DEFAULT_FPS,
                    Some(v) => v
                        .as_f64()
                        .filter(|f| *f > 0.0 && f.is_finite())
                        .ok_or_else(|| format!("{source}: 'fps' must be a positive number"))?
                        as f32,
                };
                match map.get("frames") {
                    Some(Value::Array(frames)) => (frames.clone(), fps),
                    _ => {
                        return Err(format!(
                            "{source}: 'frames' must be an array of parameter objects"
                        ))
                    }
                }
            }
            Value::Object(map) => (vec![Value::Object(map)], DEFAULT_FPS),
            Value::Array(frames) => (frames, DEFAULT_FPS),
            _ => {
                return Err(format!(
                "{source}: expected SMPL-X parameters, an array of them, or {{\"frames\": [...]}}"
            ))
            }
        };
        if frames.is_empty() {
            return Err(format!("{source}: the sequence has no frames"));
        }
        let mut parsed = Vec::with_capacity(frames.len());
        for (i, frame) in frames.into_iter().enumerate() {
            let Value::Object(mut map) = frame else {
                return Err(format!("{source}: frame {i} is not a JSON object"));
            };
            for key in FRAME_EXTRA_KEYS {
                map.remove(key);
            }
            let text = Value::Object(map).to_string();
            let (params, _) =
                SmplxParams::from_json(&text, &format!("{source} frame {i}"), widths)?;
            parsed.push(params);
        }
        // Frames may widen β or ψ differently: pad every frame to the widest.
        let widest = |f: fn(&SmplxParams) -> &Vec<Vec<f32>>| {
            parsed
                .iter()
                .flat_map(|p| f(p).iter().map(Vec::len))
                .max()
                .unwrap_or(0)
        };
        let (nb, ne) = (widest(|p| &p.betas), widest(|p| &p.expression));
        let mut out = SmplxParams::default();
        for mut p in parsed {
            for row in p.betas.iter_mut() {
                row.resize(nb, 0.0);
            }
            for row in p.expression.iter_mut() {
                row.resize(ne, 0.0);
            }
            for name in PARAM_NAMES {
                if let (Some(dst), Some(src)) = (out.field_mut(name), p.field_mut(name)) {
                    dst.append(src);
                }
            }
        }
        Ok(Self { frames: out, fps })
    }

    /// Form 3 (`{"fps", "frames"}`), one flat object per frame.
    pub fn to_json(&self) -> Value {
        let frames = (0..self.len())
            .map(|i| {
                let mut one = SmplxParams::default();
                for name in PARAM_NAMES {
                    if let (Some(dst), Some(src)) = (one.field_mut(name), self.frames.field(name)) {
                        dst.push(src[i].clone());
                    }
                }
                one.to_json(Batching::Single)
            })
            .collect::<Vec<_>>();
        serde_json::json!({ "fps": self.fps, "frames": frames })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_batch_json() {
        let w = ParamWidths::default();
        let (p, b) =
            SmplxParams::from_json(r#"{"betas": [1, 2], "transl": [0, 0, 1]}"#, "p.json", w)
                .unwrap();
        assert_eq!(b, Batching::Single);
        assert_eq!(p.betas[0][..3], [1.0, 2.0, 0.0]);
        assert_eq!(p.body_pose[0].len(), 63);
        let (p, b) = SmplxParams::from_json(
            r#"{"jaw_pose": [[0.1,0,0],[0.2,0,0],[0,0,0]]}"#,
            "p.json",
            w,
        )
        .unwrap();
        assert_eq!((b, p.batch_size()), (Batching::Batch, 3));
        // What `furpe infer` writes reads back: its camera is read past.
        let (p, _) = SmplxParams::from_json(
            r#"{"jaw_pose": [0.1,0,0], "camera": {"weak_perspective": [1,0,0]}}"#,
            "p.json",
            w,
        )
        .unwrap();
        assert_eq!(p.jaw_pose[0], [0.1, 0.0, 0.0]);
        let err = SmplxParams::from_json(r#"{"body_pose": [1, 2]}"#, "p.json", w).unwrap_err();
        assert!(
            err.contains("p.json") && err.contains("'body_pose'") && err.contains("63"),
            "{err}"
        );
        let err = SmplxParams::from_json(r#"{"left_hand_pose": [1, 2, 3, 4, 5, 6]}"#, "p.json", w)
            .unwrap_err();
        assert!(err.contains("--num-pca-comps"), "{err}");
        let err = SmplxParams::from_json(r#"{"pose": [1]}"#, "p.json", w).unwrap_err();
        assert!(err.contains("unknown key 'pose'"), "{err}");
    }

    #[test]
    fn values_beyond_f32_are_refused_naming_key_and_index() {
        let err = SmplxParams::from_json(
            r#"{"transl": [0, 1e39, 0]}"#,
            "big.json",
            ParamWidths::default(),
        )
        .unwrap_err();
        assert!(
            err.contains("big.json") && err.contains("'transl'") && err.contains("index 1"),
            "{err}"
        );
    }

    #[test]
    fn flip_is_an_involution_and_swaps_sides() {
        let mut p = SmplxParams::zeros(1, ParamWidths::default());
        p.body_pose[0][0..3].copy_from_slice(&[0.1, 0.2, 0.3]); // left hip
        p.left_hand_pose[0][0] = 0.5;
        let f = p.flipped();
        assert_eq!(f.body_pose[0][3..6], [0.1, -0.2, -0.3]); // now the right hip
        assert_eq!(f.right_hand_pose[0][0], 0.5);
        assert_eq!(f.flipped(), p);
    }

    #[test]
    fn sequences_in_every_form() {
        let w = ParamWidths::default();
        let one = r#"{"body_pose": [0.1], "global_orient": [0, 0, 1]}"#;
        assert!(SmplxSequence::from_json(one, "a.json", w).is_err());
        let one = r#"{"global_orient": [0, 0, 1], "betas": [1, 2]}"#;
        let s = SmplxSequence::from_json(one, "a.json", w).unwrap();
        assert_eq!((s.len(), s.fps), (1, DEFAULT_FPS));
        assert_eq!(s.frames.betas[0].len(), 10);
        let arr = r#"[{"global_orient": [0, 0, 1], "camera": [1, 0, 0], "time": 0.5},
                      {"global_orient": [[0, 1, 0], [1, 0, 0]]}]"#;
        let s = SmplxSequence::from_json(arr, "b.json", w).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.frames.global_orient[2], vec![1.0, 0.0, 0.0]);
        let obj = format!(r#"{{"fps": 12, "frames": {arr}}}"#);
        let s2 = SmplxSequence::from_json(&obj, "c.json", w).unwrap();
        assert_eq!((s2.len(), s2.fps), (3, 12.0));
        // Round trip through form 3.
        let back = SmplxSequence::from_json(&s2.to_json().to_string(), "d.json", w).unwrap();
        assert_eq!(back, s2);
        for bad in [
            "[]",
            "3",
            r#"{"frames": 3}"#,
            r#"[1]"#,
            r#"{"fps": -1, "frames": []}"#,
            "{oops",
        ] {
            let err = SmplxSequence::from_json(bad, "bad.json", w).unwrap_err();
            assert!(err.starts_with("bad.json"), "{err}");
        }
    }
}
