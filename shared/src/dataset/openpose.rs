//! OpenPose's JSON output (`--write_json`): one `<image>_keypoints.json` per
//! image, `{"people": [{"pose_keypoints_2d": [x, y, c] × 25,
//! "hand_left_keypoints_2d": × 21, "hand_right_keypoints_2d": × 21,
//! "face_keypoints_2d": × 70}, …]}` in pixels; a missed point is (0, 0, 0).

use serde_json::Value;

use crate::keypoints::{NUM_BODY25, NUM_FACE70, NUM_HAND, NUM_OPENPOSE137};

/// The people of one OpenPose JSON file as OpenPose-137 arrays (body 25,
/// left hand 21, right hand 21, face 70). Blocks OpenPose did not write (no
/// hand or face detector run) are all zeros. `file` names the file in errors.
pub fn parse_openpose_json(text: &str, file: &str) -> Result<Vec<Vec<[f32; 3]>>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("{file}: not valid JSON: {e}"))?;
    let people = value
        .get("people")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            format!("{file}: no 'people' array (is this OpenPose --write_json output?)")
        })?;
    people
        .iter()
        .enumerate()
        .map(|(i, person)| {
            let mut points = Vec::with_capacity(NUM_OPENPOSE137);
            for (key, count) in [
                ("pose_keypoints_2d", NUM_BODY25),
                ("hand_left_keypoints_2d", NUM_HAND),
                ("hand_right_keypoints_2d", NUM_HAND),
                ("face_keypoints_2d", NUM_FACE70),
            ] {
                points.extend(
                    read_block(person, key, count)
                        .map_err(|e| format!("{file}: people[{i}].{key}: {e}"))?,
                );
            }
            Ok(points)
        })
        .collect()
}

fn read_block(person: &Value, key: &str, count: usize) -> Result<Vec<[f32; 3]>, String> {
    let Some(values) = person.get(key) else {
        return Ok(vec![[0.0; 3]; count]);
    };
    let values = values.as_array().ok_or("expected an array of numbers")?;
    if values.is_empty() {
        return Ok(vec![[0.0; 3]; count]);
    }
    if values.len() != count * 3 {
        return Err(format!(
            "{} numbers, expected {} ({count} points × x, y, confidence)",
            values.len(),
            count * 3
        ));
    }
    let numbers: Vec<f32> = values
        .iter()
        .map(|v| {
            v.as_f64()
                .filter(|x| x.is_finite())
                .map(|x| x as f32)
                .ok_or("expected finite numbers")
        })
        .collect::<Result<_, _>>()?;
    Ok(numbers
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect())
}

/// Writes people (OpenPose-137 arrays, as [`parse_openpose_json`] returns
/// them) in OpenPose's `--write_json` layout, so `furpe import openpose` and
/// other OpenPose readers take them. Non-finite numbers are written as a
/// missed point (0, 0, 0).
pub fn write_openpose_json(people: &[Vec<[f32; 3]>]) -> Result<String, String> {
    let mut out = Vec::with_capacity(people.len());
    for (i, points) in people.iter().enumerate() {
        if points.len() != NUM_OPENPOSE137 {
            return Err(format!(
                "person {i} has {} points, expected {NUM_OPENPOSE137} (body 25, hands 21 + 21, face 70)",
                points.len()
            ));
        }
        let block = |from: usize, count: usize| -> Value {
            let numbers: Vec<f32> = points[from..from + count]
                .iter()
                .flat_map(|p| {
                    if p.iter().all(|v| v.is_finite()) {
                        *p
                    } else {
                        [0.0; 3]
                    }
                })
                .collect();
            serde_json::json!(numbers)
        };
        let hands = NUM_BODY25;
        out.push(serde_json::json!({
            "person_id": [-1],
            "pose_keypoints_2d": block(0, NUM_BODY25),
            "face_keypoints_2d": block(hands + 2 * NUM_HAND, NUM_FACE70),
            "hand_left_keypoints_2d": block(hands, NUM_HAND),
            "hand_right_keypoints_2d": block(hands + NUM_HAND, NUM_HAND),
            "pose_keypoints_3d": [],
            "face_keypoints_3d": [],
            "hand_left_keypoints_3d": [],
            "hand_right_keypoints_3d": [],
        }));
    }
    Ok(serde_json::json!({ "version": 1.3, "people": out }).to_string())
}

/// A person box (x0, y0, x1, y1) around the keypoints above `min_confidence`,
/// grown by `margin` (fraction of the larger side) and clipped to the image.
/// `None` when fewer than two points pass.
pub fn box_from_keypoints(
    points: &[[f32; 3]],
    min_confidence: f32,
    margin: f32,
    width: u32,
    height: u32,
) -> Option<[f32; 4]> {
    let confident: Vec<&[f32; 3]> = points.iter().filter(|p| p[2] > min_confidence).collect();
    if confident.len() < 2 {
        return None;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in confident {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let grow = margin * (x1 - x0).max(y1 - y0);
    let b = [
        (x0 - grow).max(0.0),
        (y0 - grow).max(0.0),
        (x1 + grow).min(width as f32),
        (y1 + grow).min(height as f32),
    ];
    (b[2] > b[0] && b[3] > b[1]).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_people_and_missing_blocks() {
        let body: Vec<f32> = (0..75).map(|i| i as f32).collect();
        let text = serde_json::json!({"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": body, "face_keypoints_2d": []}]}).to_string();
        let people = parse_openpose_json(&text, "a_keypoints.json").unwrap();
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].len(), 137);
        assert_eq!(people[0][1], [3.0, 4.0, 5.0]);
        assert_eq!(people[0][30], [0.0; 3]);
        let err = parse_openpose_json(r#"{"people": [{"pose_keypoints_2d": [1, 2]}]}"#, "b.json")
            .unwrap_err();
        assert!(
            err.contains("b.json") && err.contains("pose_keypoints_2d") && err.contains("75"),
            "{err}"
        );
        assert!(parse_openpose_json("{oops", "c.json")
            .unwrap_err()
            .contains("c.json"));
    }

    #[test]
    fn box_grows_and_clips() {
        let pts = vec![[10.0, 20.0, 0.9], [50.0, 100.0, 0.8], [500.0, 500.0, 0.01]];
        let b = box_from_keypoints(&pts, 0.1, 0.1, 60, 200).unwrap();
        assert_eq!(b, [2.0, 12.0, 58.0, 108.0]);
    }

    #[test]
    fn written_json_reads_back_with_every_block_in_its_place() {
        let person: Vec<[f32; 3]> = (0..NUM_OPENPOSE137)
            .map(|i| [i as f32, 2.0 * i as f32, 0.5])
            .collect();
        let mut with_nan = person.clone();
        with_nan[3] = [f32::NAN, 1.0, 1.0];
        let text = write_openpose_json(&[person.clone(), with_nan]).unwrap();
        let back = parse_openpose_json(&text, "t.json").unwrap();
        assert_eq!(back[0], person);
        assert_eq!(
            back[1][3], [0.0; 3],
            "a non-finite point is written as missed"
        );
        assert!(write_openpose_json(&[vec![[0.0; 3]; 25]]).is_err());
    }
}
