//! Calibrated camera rigs: several synchronised cameras whose intrinsics,
//! lens distortion and poses are known. Read from a Qualisys calibration
//! (`.qca.txt`, what Pose2Sim's demo ships) or a Pose2Sim `Calib.toml`; used
//! to triangulate one person's 2D keypoints from every view into a 3D
//! reference (`benchmarks::pose2sim`), a multi-view pseudo ground truth.
//!
//! Conventions: world-to-camera extrinsics in metres, OpenCV camera axes
//! (x right, y down, z forward), pixels with (0, 0) at the centre of the top
//! left pixel, Brown–Conrady distortion on normalised coordinates with
//! OpenCV's coefficients (k1, k2, p1, p2, k3).

use std::path::Path;

use crate::camera::PinholeCamera;
use crate::metrics::Point;
use crate::rotation::host::{axis_angle_to_matrix, determinant, matmul, solve3, Mat3};

/// Lens distortion (Brown–Conrady), OpenCV's coefficients.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Distortion {
    pub k1: f64,
    pub k2: f64,
    pub p1: f64,
    pub p2: f64,
    pub k3: f64,
}

impl Distortion {
    /// Distorted normalised coordinates of undistorted ones.
    pub fn apply(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let r2 = x * x + y * y;
        let radial = 1.0 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3));
        [
            x * radial + 2.0 * self.p1 * x * y + self.p2 * (r2 + 2.0 * x * x),
            y * radial + self.p1 * (r2 + 2.0 * y * y) + 2.0 * self.p2 * x * y,
        ]
    }

    /// Undistorted normalised coordinates of distorted ones: the fixed point
    /// `u = (d − tangential(u)) / radial(u)`, as OpenCV's `undistortPoints`
    /// iterates it (converges for the mild lenses of motion-capture rigs).
    pub fn remove(&self, distorted: [f64; 2]) -> [f64; 2] {
        let [dx, dy] = distorted;
        let (mut x, mut y) = (dx, dy);
        for _ in 0..20 {
            let r2 = x * x + y * y;
            let radial = 1.0 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3));
            let tx = 2.0 * self.p1 * x * y + self.p2 * (r2 + 2.0 * x * x);
            let ty = self.p1 * (r2 + 2.0 * y * y) + 2.0 * self.p2 * x * y;
            x = (dx - tx) / radial;
            y = (dy - ty) / radial;
        }
        [x, y]
    }
}

/// One calibrated camera.
#[derive(Debug, Clone, PartialEq)]
pub struct RigCamera {
    /// The camera's name in the calibration (`cam01`, …): image files are
    /// matched to cameras by it.
    pub name: String,
    /// Image size (width, height) in pixels that the intrinsics describe.
    pub size: [f64; 2],
    /// Intrinsics and world-to-camera extrinsics (metres).
    pub pinhole: PinholeCamera,
    pub distortion: Distortion,
}

impl RigCamera {
    /// Pixel of a world point (with lens distortion); `None` behind the camera.
    pub fn project(&self, world: Point) -> Option<[f64; 2]> {
        let c = self.pinhole.to_camera(world);
        if c[2] <= 1e-9 {
            return None;
        }
        let [x, y] = self.distortion.apply([c[0] / c[2], c[1] / c[2]]);
        let p = &self.pinhole;
        Some([p.focal[0] * x + p.center[0], p.focal[1] * y + p.center[1]])
    }

    /// Undistorted normalised coordinates (X/Z, Y/Z in the camera frame) of a pixel.
    pub fn normalise(&self, pixel: [f64; 2]) -> [f64; 2] {
        let p = &self.pinhole;
        self.distortion.remove([
            (pixel[0] - p.center[0]) / p.focal[0],
            (pixel[1] - p.center[1]) / p.focal[1],
        ])
    }

    /// The same camera for images resized by `scale` in both directions
    /// (pixel centres kept: `x' = (x + ½)·scale − ½`).
    pub fn scaled(&self, scale: f64) -> RigCamera {
        let mut out = self.clone();
        out.size = self.size.map(|v| v * scale);
        out.pinhole.focal = self.pinhole.focal.map(|f| f * scale);
        out.pinhole.center = self.pinhole.center.map(|c| (c + 0.5) * scale - 0.5);
        out
    }
}

/// A camera's 2D observation of one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Index into the rig's cameras.
    pub camera: usize,
    /// Pixels.
    pub pixel: [f64; 2],
    /// The detector's confidence, the observation's weight.
    pub confidence: f64,
}

/// A triangulated point and the views that agree on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Triangulated {
    /// World coordinates, metres.
    pub point: Point,
    /// The cameras kept (indices into the rig).
    pub views: Vec<usize>,
    /// Mean reprojection error over the kept views, pixels.
    pub mean_error_px: f64,
}

/// A calibration file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
}

fn error(file: &str, reason: impl Into<String>) -> CalibrationError {
    CalibrationError::File {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// Reads a rig: a Qualisys `.qca.txt` (XML) or a Pose2Sim `.toml`.
pub fn read_calibration(path: &Path) -> Result<Vec<RigCamera>, CalibrationError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| error(&file, e.to_string()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let cameras = if name.ends_with(".toml") {
        parse_pose2sim_toml(&text, &file)?
    } else if name.ends_with(".qca.txt") || name.ends_with(".qca") {
        parse_qca(&text, &file)?
    } else {
        return Err(error(
            &file,
            "unknown calibration format (expected a Qualisys .qca.txt or a Pose2Sim .toml)",
        ));
    };
    if cameras.len() < 2 {
        return Err(error(
            &file,
            format!(
                "{} camera(s); triangulation needs at least 2",
                cameras.len()
            ),
        ));
    }
    Ok(cameras)
}

/// Qualisys sub-pixel units per pixel in a `.qca` file's intrinsics.
const QCA_SUBPIXELS: f64 = 64.0;

/// Qualisys calibration export: one `<camera serial=…>` per camera, with a
/// `<transform x y z r11 … r33>` (camera position in millimetres; the rows
/// of the rotation give the camera's axes with y and z pointing up and
/// backwards, hence the flip to OpenCV's axes), an `<intrinsic>` in
/// sub-pixels (1/64 px) and a `<fov_video>` (the image's pixel range). The
/// convention was checked on Pose2Sim's demo: the triangulated keypoints of
/// its four views reproject to a median of ~15 px of 1920, against > 100 px
/// for the other readings (tests/fixtures/pose2sim).
pub fn parse_qca(text: &str, file: &str) -> Result<Vec<RigCamera>, CalibrationError> {
    let mut cameras = Vec::new();
    for (k, block) in text.split("<camera ").skip(1).enumerate() {
        let block = block.split("</camera>").next().unwrap_or(block);
        let head = block.split('>').next().unwrap_or("");
        let name = attribute(head, "serial").unwrap_or_else(|| format!("camera{}", k + 1));
        let what = |m: &str| format!("camera '{name}': {m}");
        if let Some(v) = attribute(head, "viewrotation") {
            if v.trim() != "0" {
                return Err(error(
                    file,
                    what(&format!(
                        "viewrotation {v} is not supported (rotate the images and calibrate with viewrotation 0)"
                    )),
                ));
            }
        }
        let tag = |t: &str| {
            tag_attributes(block, t)
                .ok_or_else(|| error(file, what(&format!("no <{t} …/> element"))))
        };
        let number = |attrs: &str, key: &str| -> Result<f64, CalibrationError> {
            let v = attribute(attrs, key)
                .ok_or_else(|| error(file, what(&format!("no attribute '{key}'"))))?;
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    error(
                        file,
                        what(&format!("'{key}' = '{v}' is not a finite number")),
                    )
                })
        };
        let transform = tag("transform")?;
        let intrinsic = tag("intrinsic")?;
        let fov = tag("fov_video")?;
        let mut r: Mat3 = [[0.0; 3]; 3];
        for (i, row) in r.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = number(transform, &format!("r{}{}", i + 1, j + 1))?;
            }
        }
        let position = ["x", "y", "z"]
            .map(|k| number(transform, k))
            .into_iter()
            .collect::<Result<Vec<f64>, _>>()?;
        let position = [position[0], position[1], position[2]].map(|v| v / 1000.0);
        // Qualisys camera axes (x right, y up, z backwards) → OpenCV's.
        let flip: Mat3 = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
        let rotation = matmul(&flip, &r);
        let t = crate::rotation::host::apply(&rotation, position).map(|v| -v);
        let focal = [
            number(intrinsic, "focalLengthU")? / QCA_SUBPIXELS,
            number(intrinsic, "focalLengthV")? / QCA_SUBPIXELS,
        ];
        let center = [
            number(intrinsic, "centerPointU")? / QCA_SUBPIXELS,
            number(intrinsic, "centerPointV")? / QCA_SUBPIXELS,
        ];
        if focal.iter().any(|&f| f <= 0.0) {
            return Err(error(file, what("a focal length is not positive")));
        }
        let size = [
            number(fov, "right")? - number(fov, "left")? + 1.0,
            number(fov, "bottom")? - number(fov, "top")? + 1.0,
        ];
        let distortion = Distortion {
            k1: number(intrinsic, "radialDistortion1")?,
            k2: number(intrinsic, "radialDistortion2")?,
            k3: number(intrinsic, "radialDistortion3")?,
            p1: number(intrinsic, "tangentalDistortion1")?,
            p2: number(intrinsic, "tangentalDistortion2")?,
        };
        cameras.push(RigCamera {
            name,
            size,
            pinhole: PinholeCamera {
                focal,
                center,
                rotation,
                translation: t,
            },
            distortion,
        });
    }
    if cameras.is_empty() {
        return Err(error(
            file,
            "no <camera …> element (expected a Qualisys .qca export)",
        ));
    }
    Ok(cameras)
}

/// The attributes of the first `<tag …>` element in `text`.
fn tag_attributes<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag} ");
    let start = text.find(&open)? + open.len();
    let rest = &text[start..];
    Some(&rest[..rest.find('>')?])
}

/// `key="value"` in an element's attribute text.
fn attribute(attrs: &str, key: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(i) = rest.find(key) {
        let before_ok = i == 0 || rest[..i].ends_with(char::is_whitespace);
        let after = rest[i + key.len()..].trim_start();
        if before_ok {
            if let Some(value) = after.strip_prefix('=') {
                let value = value.trim_start();
                let quote = value.chars().next()?;
                if quote == '"' || quote == '\'' {
                    let body = &value[1..];
                    return body.find(quote).map(|end| body[..end].to_string());
                }
            }
        }
        rest = &rest[i + key.len()..];
    }
    None
}

/// Pose2Sim's calibration: one table per camera with `name`, `size`
/// (width, height), `matrix` (3×3 intrinsics), `distortions` (k1, k2, p1,
/// p2), `rotation` (Rodrigues vector, world to camera), `translation`
/// (metres) and `fisheye` (refused when true).
pub fn parse_pose2sim_toml(text: &str, file: &str) -> Result<Vec<RigCamera>, CalibrationError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| error(file, format!("not valid TOML: {e}")))?;
    let mut cameras = Vec::new();
    for (key, value) in &table {
        let Some(cam) = value.as_table() else {
            continue;
        };
        if key == "metadata" || !cam.contains_key("matrix") {
            continue;
        }
        let what = |m: &str| error(file, format!("[{key}]: {m}"));
        let floats = |k: &str, n: usize| -> Result<Vec<f64>, CalibrationError> {
            let flat: Vec<f64> = match cam.get(k) {
                Some(toml::Value::Array(a)) => a
                    .iter()
                    .flat_map(|v| match v {
                        toml::Value::Array(row) => row.clone(),
                        other => vec![other.clone()],
                    })
                    .map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                    .collect::<Option<Vec<f64>>>()
                    .ok_or_else(|| what(&format!("'{k}' holds a non-number")))?,
                _ => return Err(what(&format!("no array '{k}'"))),
            };
            if flat.len() != n || flat.iter().any(|v| !v.is_finite()) {
                return Err(what(&format!(
                    "'{k}' has {} finite values, expected {n}",
                    flat.len()
                )));
            }
            Ok(flat)
        };
        if cam.get("fisheye").and_then(toml::Value::as_bool) == Some(true) {
            return Err(what("fisheye cameras are not supported"));
        }
        let name = cam
            .get("name")
            .and_then(toml::Value::as_str)
            .unwrap_or(key)
            .to_string();
        let size = floats("size", 2)?;
        let k = floats("matrix", 9)?;
        let d = floats("distortions", 4)?;
        let r = floats("rotation", 3)?;
        let t = floats("translation", 3)?;
        if k[0] <= 0.0 || k[4] <= 0.0 {
            return Err(what("a focal length is not positive"));
        }
        cameras.push(RigCamera {
            name,
            size: [size[0], size[1]],
            pinhole: PinholeCamera {
                focal: [k[0], k[4]],
                center: [k[2], k[5]],
                rotation: axis_angle_to_matrix([r[0], r[1], r[2]]),
                translation: [t[0], t[1], t[2]],
            },
            distortion: Distortion {
                k1: d[0],
                k2: d[1],
                p1: d[2],
                p2: d[3],
                k3: 0.0,
            },
        });
    }
    if cameras.is_empty() {
        return Err(error(
            file,
            "no camera table (expected [cam_NN] tables with name, size, matrix, distortions, rotation, translation)",
        ));
    }
    Ok(cameras)
}

/// The point that the observations agree on: linear least squares on
/// undistorted normalised coordinates, each view weighted by its confidence
/// (`w·(x·r₃ − r₁)·X = w·(t₁ − x·t₃)`, two rows per view). While some kept
/// view reprojects more than `max_error_px` away and more than two remain,
/// the worst one is dropped (a detector that swapped left and right in one
/// view, or lost the point behind the body). `None` when fewer than two
/// views remain, the system is degenerate, the point lies behind a kept
/// camera or the last two still disagree.
pub fn triangulate(
    cameras: &[RigCamera],
    observations: &[Observation],
    max_error_px: f64,
) -> Option<Triangulated> {
    let mut kept: Vec<Observation> = observations
        .iter()
        .filter(|o| o.camera < cameras.len() && o.confidence > 0.0)
        .copied()
        .collect();
    while kept.len() >= 2 {
        let point = solve(cameras, &kept)?;
        let errors: Vec<f64> = kept
            .iter()
            .map(|o| {
                cameras[o.camera].project(point).map_or(f64::INFINITY, |p| {
                    (p[0] - o.pixel[0]).hypot(p[1] - o.pixel[1])
                })
            })
            .collect();
        let (worst, &max) = errors
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        if max <= max_error_px {
            return Some(Triangulated {
                point,
                views: kept.iter().map(|o| o.camera).collect(),
                mean_error_px: errors.iter().sum::<f64>() / errors.len() as f64,
            });
        }
        if kept.len() == 2 {
            return None;
        }
        kept.remove(worst);
    }
    None
}

/// Weighted linear least squares for one point (normal equations, 3×3).
fn solve(cameras: &[RigCamera], observations: &[Observation]) -> Option<Point> {
    let mut ata = [[0.0f64; 3]; 3];
    let mut atb = [0.0f64; 3];
    for o in observations {
        let cam = &cameras[o.camera];
        let [x, y] = cam.normalise(o.pixel);
        let r = &cam.pinhole.rotation;
        let t = &cam.pinhole.translation;
        for (u, row) in [(x, 0), (y, 1)] {
            let a = [0, 1, 2].map(|j| o.confidence * (u * r[2][j] - r[row][j]));
            let b = o.confidence * (t[row] - u * t[2]);
            for i in 0..3 {
                for j in 0..3 {
                    ata[i][j] += a[i] * a[j];
                }
                atb[i] += a[i] * b;
            }
        }
    }
    // Scale-aware singularity test: the points' coordinates are metres and
    // the weights confidences, so compare the determinant with the matrix's
    // own magnitude.
    let scale = ata.iter().flatten().map(|v| v.abs()).fold(0.0, f64::max);
    if determinant(&ata).abs() <= 1e-12 * scale.powi(3) {
        return None;
    }
    let point = solve3(&ata, atb)?;
    observations
        .iter()
        .all(|o| cameras[o.camera].pinhole.to_camera(point)[2] > 0.0)
        .then_some(point)
}

#[cfg(test)]
mod tests;
