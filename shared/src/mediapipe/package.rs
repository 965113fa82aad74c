//! Finding MediaPipe's model files in the user's copy of the npm package
//! `@mediapipe/holistic` (installed by `npm ci --prefix models/mediapipe`).
//!
//! The pose landmark models are plain `*.tflite` files in the package; the
//! detectors, hand and face models are packed into
//! `holistic_solution_packed_assets.data` (an Emscripten file-packager
//! blob), whose byte ranges `holistic_solution_packed_assets_loader.js`
//! lists as `"filename": "…/name.tflite", "start": S, "end": E`.

use std::path::{Path, PathBuf};

use super::pipeline::{
    FACE_DETECTOR, FACE_LANDMARKS, HAND_LANDMARKS, PALM_DETECTOR, POSE_DETECTOR, POSE_LANDMARKS,
};

/// The npm package and version the models are read from.
pub const NPM_PACKAGE: &str = "@mediapipe/holistic@0.5.1675471629";
/// Where `npm ci --prefix models/mediapipe` puts it, relative to the
/// repository root.
pub const DEFAULT_DIR: &str = "models/mediapipe/node_modules/@mediapipe/holistic";
/// The environment variable naming another package folder.
pub const ENV_DIR: &str = "FURPE_MEDIAPIPE";

const PACKED_DATA: &str = "holistic_solution_packed_assets.data";
const PACKED_LOADER: &str = "holistic_solution_packed_assets_loader.js";

/// The MediaPipe models FuRPE runs, with the input each expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelFile {
    /// BlazePose person detector: 224², values in [-1, 1].
    PoseDetection,
    /// BlazePose GHUM landmarks (39 points, world coordinates): 256², [0, 1].
    PoseLandmarkLite,
    PoseLandmarkFull,
    PoseLandmarkHeavy,
    /// Palm detector: 192², [-1, 1].
    PalmDetectionFull,
    /// 21 hand landmarks: 224², [0, 1].
    HandLandmarkFull,
    /// Short-range face detector: 128², [-1, 1].
    FaceDetectionShortRange,
    /// 468-point face mesh: 192², [0, 1].
    FaceLandmark,
}

impl ModelFile {
    pub const ALL: [ModelFile; 8] = [
        Self::PoseDetection,
        Self::PoseLandmarkLite,
        Self::PoseLandmarkFull,
        Self::PoseLandmarkHeavy,
        Self::PalmDetectionFull,
        Self::HandLandmarkFull,
        Self::FaceDetectionShortRange,
        Self::FaceLandmark,
    ];

    /// The file's name without `.tflite`.
    pub fn stem(self) -> &'static str {
        match self {
            Self::PoseDetection => "pose_detection",
            Self::PoseLandmarkLite => "pose_landmark_lite",
            Self::PoseLandmarkFull => "pose_landmark_full",
            Self::PoseLandmarkHeavy => "pose_landmark_heavy",
            Self::PalmDetectionFull => "palm_detection_full",
            Self::HandLandmarkFull => "hand_landmark_full",
            Self::FaceDetectionShortRange => "face_detection_short_range",
            Self::FaceLandmark => "face_landmark",
        }
    }

    /// Side of the square input in pixels (from the model's config in
    /// [`super::pipeline`], where each model's numbers live).
    pub fn input_size(self) -> usize {
        match self {
            Self::PoseDetection => POSE_DETECTOR.anchors.input_size,
            Self::PoseLandmarkLite | Self::PoseLandmarkFull | Self::PoseLandmarkHeavy => {
                POSE_LANDMARKS.input_size
            }
            Self::PalmDetectionFull => PALM_DETECTOR.anchors.input_size,
            Self::HandLandmarkFull => HAND_LANDMARKS.input_size,
            Self::FaceDetectionShortRange => FACE_DETECTOR.anchors.input_size,
            Self::FaceLandmark => FACE_LANDMARKS.input_size,
        }
    }

    /// The range input pixels in [0, 1] are mapped onto.
    pub fn input_range(self) -> [f32; 2] {
        match self {
            Self::PoseDetection => POSE_DETECTOR.input_range,
            Self::PoseLandmarkLite | Self::PoseLandmarkFull | Self::PoseLandmarkHeavy => {
                POSE_LANDMARKS.input_range
            }
            Self::PalmDetectionFull => PALM_DETECTOR.input_range,
            Self::HandLandmarkFull => HAND_LANDMARKS.input_range,
            Self::FaceDetectionShortRange => FACE_DETECTOR.input_range,
            Self::FaceLandmark => FACE_LANDMARKS.input_range,
        }
    }
}

/// Why a model file could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "MediaPipe's models were not found (looked in {looked}). Install them with \
         `npm ci --prefix models/mediapipe` from the repository root (npm package {NPM_PACKAGE}), \
         or name the package folder with --mediapipe DIR or {ENV_DIR}=DIR"
    )]
    NotFound { looked: String },
    #[error("{file}: cannot read: {reason}")]
    Read { file: PathBuf, reason: String },
    #[error(
        "{dir}: the package has no {name}.tflite, neither as a file nor in {PACKED_LOADER} \
         (is it {NPM_PACKAGE}?)"
    )]
    Missing { dir: PathBuf, name: String },
    #[error("{file}: {name}.tflite is listed at bytes {start}..{end} but the file has {len} bytes (a damaged or partial download?)")]
    Truncated {
        file: PathBuf,
        name: String,
        start: usize,
        end: usize,
        len: usize,
    },
}

/// The byte range of `file_name` in the packed-assets blob, read from the
/// loader script's text.
pub fn packed_range(loader_js: &str, file_name: &str) -> Option<(usize, usize)> {
    let needle = format!("/{file_name}\"");
    let at = loader_js.find(&needle)?;
    let rest = &loader_js[at..];
    let number = |key: &str| -> Option<usize> {
        let k = rest.find(key)? + key.len();
        let digits: String = rest[k..]
            .trim_start_matches([' ', ':'])
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    let (start, end) = (number("\"start\"")?, number("\"end\"")?);
    (start <= end).then_some((start, end))
}

/// The installed npm package.
#[derive(Debug, Clone)]
pub struct Package {
    dir: PathBuf,
}

impl Package {
    /// The package folder: `explicit` (the package itself, or a folder
    /// holding `node_modules/@mediapipe/holistic`), else `$FURPE_MEDIAPIPE`,
    /// else [`DEFAULT_DIR`] under `root` or the nearest of its ancestors
    /// that has one (so any folder inside the repository finds it).
    pub fn find(explicit: Option<&Path>, root: &Path) -> Result<Self, PackageError> {
        let mut candidates = Vec::new();
        let from_env = std::env::var_os(ENV_DIR).map(PathBuf::from);
        for base in explicit.map(Path::to_path_buf).into_iter().chain(from_env) {
            candidates.push(base.join("node_modules/@mediapipe/holistic"));
            candidates.push(base);
        }
        if explicit.is_none() {
            let found = root
                .ancestors()
                .map(|a| a.join(DEFAULT_DIR))
                .find(|d| d.join("package.json").is_file());
            candidates.push(found.unwrap_or_else(|| root.join(DEFAULT_DIR)));
        }
        for dir in &candidates {
            if dir.join("package.json").is_file() {
                return Ok(Self { dir: dir.clone() });
            }
        }
        Err(PackageError::NotFound {
            looked: candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bytes of one model.
    pub fn model_bytes(&self, model: ModelFile) -> Result<Vec<u8>, PackageError> {
        let name = model.stem();
        let read = |file: &Path| {
            std::fs::read(file).map_err(|e| PackageError::Read {
                file: file.to_path_buf(),
                reason: e.to_string(),
            })
        };
        let plain = self.dir.join(format!("{name}.tflite"));
        if plain.is_file() {
            return read(&plain);
        }
        let loader = self.dir.join(PACKED_LOADER);
        let missing = || PackageError::Missing {
            dir: self.dir.clone(),
            name: name.to_string(),
        };
        if !loader.is_file() {
            return Err(missing());
        }
        let text = String::from_utf8_lossy(&read(&loader)?).into_owned();
        let (start, end) = packed_range(&text, &format!("{name}.tflite")).ok_or_else(missing)?;
        let blob_path = self.dir.join(PACKED_DATA);
        let blob = read(&blob_path)?;
        blob.get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or(PackageError::Truncated {
                file: blob_path,
                name: name.to_string(),
                start,
                end,
                len: blob.len(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOADER: &str = r#"{"files": [{"filename": "/third_party/a/face_landmark.tflite", "start": 248408, "end": 1490304}, {"filename": "/third_party/b/palm_detection_full.tflite", "start": 9588747, "end": 11930027}]}"#;

    #[test]
    fn packed_ranges_are_read_from_the_loader_text() {
        assert_eq!(
            packed_range(LOADER, "face_landmark.tflite"),
            Some((248408, 1490304))
        );
        assert_eq!(
            packed_range(LOADER, "palm_detection_full.tflite"),
            Some((9588747, 11930027))
        );
        assert_eq!(packed_range(LOADER, "pose_detection.tflite"), None);
        // A name that is a suffix of another does not match it.
        assert_eq!(packed_range(LOADER, "landmark.tflite"), None);
    }

    #[test]
    fn a_missing_package_names_where_it_looked_and_how_to_install() {
        let dir = std::env::temp_dir().join("furpe-no-mediapipe-here");
        let err = Package::find(Some(&dir), &dir).unwrap_err().to_string();
        assert!(err.contains("furpe-no-mediapipe-here"), "{err}");
        assert!(err.contains("npm ci --prefix models/mediapipe"), "{err}");
    }
}
