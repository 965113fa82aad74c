//! NoW (Sanyal et al. 2019), the validation split: face images with a 3D
//! head scan per subject. Published layout:
//!
//! ```text
//! imagepathsvalidation.txt                              <subject>/<condition>/IMG_XXXX.jpg, one per line
//! iphone_pictures/<subject>/<condition>/IMG_XXXX.jpg
//! scans/<subject>/<name>.obj                            the subject's scan
//! scans_lmks_onlyface/<subject>/<name>_picked_points.pp its 7 landmarks (MeshLab picked points)
//! ```
//!
//! Units: the scans are read as metres, unless a scan's extent is above
//! [`MM_EXTENT`] (a head in millimetres), which is then divided by 1000.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::{existing, files_ending, BenchmarkError, EvalSample, Target};
use crate::metrics::Point;

/// Landmarks per scan: the eye corners (4), the nose tip and the mouth corners.
pub const NUM_LANDMARKS: usize = 7;
/// A scan whose bounding-box diagonal exceeds this many units is in millimetres.
pub const MM_EXTENT: f64 = 10.0;
const LIST: &str = "imagepathsvalidation.txt";

/// A subject's scan vertices and landmarks, metres; shared by its images.
type Subject = (Arc<Vec<Point>>, Arc<Vec<Point>>);

pub fn load(root: &Path, limit: Option<usize>) -> Result<Vec<EvalSample>, BenchmarkError> {
    let list = root.join(LIST);
    if !list.exists() {
        return Err(BenchmarkError::Layout {
            root: root.display().to_string(),
            dataset: "NoW",
            expected: format!(
                "{LIST}, iphone_pictures/, scans/<subject>/*.obj and scans_lmks_onlyface/<subject>/*.pp"
            ),
        });
    }
    let text =
        std::fs::read_to_string(&list).map_err(|e| BenchmarkError::format(&list, e.to_string()))?;
    let mut scans: HashMap<String, Subject> = HashMap::new();
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if out.len() >= limit.unwrap_or(usize::MAX) {
            break;
        }
        let subject = line.split('/').next().unwrap_or_default().to_string();
        if subject.is_empty() || !line.contains('/') {
            return Err(BenchmarkError::format(
                &list,
                format!(
                    "line {}: '{line}' is not <subject>/<condition>/<image>",
                    n + 1
                ),
            ));
        }
        let image = existing(
            root.join("iphone_pictures").join(line),
            "NoW image (iphone_pictures/<line of the list>)",
        )?;
        if !scans.contains_key(&subject) {
            scans.insert(subject.clone(), load_subject(root, &subject)?);
        }
        let (scan, landmarks) = scans[&subject].clone();
        let id = line
            .rsplit_once('.')
            .map_or(line, |(stem, _)| stem)
            .replace('/', "__");
        out.push(EvalSample {
            id,
            image,
            person_box: None,
            keypoints: None,
            camera: None,
            target: Target::FaceScan { scan, landmarks },
        });
    }
    Ok(out)
}

/// The subject's scan vertices and landmarks, in metres.
fn load_subject(root: &Path, subject: &str) -> Result<Subject, BenchmarkError> {
    let scan_dir = root.join("scans").join(subject);
    let obj = single(
        &scan_dir,
        ".obj",
        "the subject's scan (scans/<subject>/*.obj)",
    )?;
    let mesh = crate::mesh::read_mesh(&obj).map_err(|e| BenchmarkError::format(&obj, e.reason))?;
    let lmk_dir = root.join("scans_lmks_onlyface").join(subject);
    let pp = single(
        &lmk_dir,
        ".pp",
        "the scan's landmarks (scans_lmks_onlyface/<subject>/*.pp)",
    )?;
    let text =
        std::fs::read_to_string(&pp).map_err(|e| BenchmarkError::format(&pp, e.to_string()))?;
    let landmarks = parse_picked_points(&text).map_err(|r| BenchmarkError::format(&pp, r))?;
    if landmarks.len() != NUM_LANDMARKS {
        return Err(BenchmarkError::format(
            &pp,
            format!(
                "{} picked points, expected {NUM_LANDMARKS} (NoW's landmarks)",
                landmarks.len()
            ),
        ));
    }
    let mut scan = mesh.vertices;
    let (lo, hi) = scan
        .iter()
        .fold(([f64::MAX; 3], [f64::MIN; 3]), |(lo, hi), p| {
            (
                [0, 1, 2].map(|i| lo[i].min(p[i])),
                [0, 1, 2].map(|i| hi[i].max(p[i])),
            )
        });
    let extent = (0..3).map(|i| (hi[i] - lo[i]).powi(2)).sum::<f64>().sqrt();
    let mut landmarks = landmarks;
    if extent > MM_EXTENT {
        for p in scan.iter_mut().chain(landmarks.iter_mut()) {
            *p = p.map(|v| v / 1000.0);
        }
    }
    Ok((Arc::new(scan), Arc::new(landmarks)))
}

/// The one file ending in `suffix` in `dir`.
fn single(dir: &Path, suffix: &str, what: &str) -> Result<std::path::PathBuf, BenchmarkError> {
    let names = if dir.is_dir() {
        files_ending(dir, suffix)?
    } else {
        Vec::new()
    };
    match names.as_slice() {
        [one] => Ok(dir.join(one)),
        [] => Err(BenchmarkError::missing(
            &dir.join(format!("*{suffix}")),
            what,
        )),
        _ => Err(BenchmarkError::format(
            dir,
            format!(
                "{} files ending in {suffix}, expected one ({what})",
                names.len()
            ),
        )),
    }
}

/// MeshLab picked points (`<point x=".." y=".." z=".." …/>` elements), in order.
pub fn parse_picked_points(text: &str) -> Result<Vec<Point>, String> {
    let mut out = Vec::new();
    for (n, chunk) in text.split("<point").skip(1).enumerate() {
        let tag = chunk.split('>').next().unwrap_or_default();
        let attr = |name: &str| -> Result<f64, String> {
            let needle = format!("{name}=\"");
            let start = tag
                .find(&needle)
                .filter(|&i| i == 0 || tag.as_bytes()[i - 1].is_ascii_whitespace())
                .ok_or_else(|| format!("point {n} has no {name} attribute"))?
                + needle.len();
            let value = tag[start..].split('"').next().unwrap_or_default();
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("point {n}: {name}=\"{value}\" is not a finite number"))
        };
        out.push([attr("x")?, attr("y")?, attr("z")?]);
    }
    if out.is_empty() {
        return Err("no <point> elements (not a MeshLab picked-points file?)".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picked_points() {
        let text = r#"<!DOCTYPE PickedPoints>
<PickedPoints>
 <DocumentData><DataFileName name="scan.obj"/></DocumentData>
 <point x="0.5" y="-1e-2" z="3" active="1" name="0"/>
 <point name="1" active="1" z="0" y="2" x="1"/>
</PickedPoints>"#;
        assert_eq!(
            parse_picked_points(text).unwrap(),
            vec![[0.5, -0.01, 3.0], [1.0, 2.0, 0.0]]
        );
        let err = parse_picked_points(r#"<point x="1" y="2"/>"#).unwrap_err();
        assert!(err.contains("no z"), "{err}");
        assert!(parse_picked_points("<PickedPoints/>").is_err());
    }
}
