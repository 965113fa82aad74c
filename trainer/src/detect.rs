//! `furpe detect`: MediaPipe's real body and hand models on a researcher's
//! own images or video, written as OpenPose `--write_json` files so
//! `furpe import openpose` (and any OpenPose reader) takes them, with no
//! OpenPose install. Per image: `<stem>_keypoints.json` (OpenPose BODY_25,
//! hands 21 + 21, face 70: see `furpe::mediapipe::openpose`)
//! and `<stem>_mediapipe.json` (every landmark with depth, visibility,
//! presence, the world coordinates and the regions used).

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::backend::Backend;
use furpe::dataset::openpose::write_openpose_json;
use furpe::mediapipe::holistic::{Face, Hand, Holistic, Person};
use furpe::mediapipe::openpose::{to_openpose137, Landmarks};
use furpe::mediapipe::package::{ModelFile, Package};
use serde_json::json;

use crate::backend::{with_backend, BackendJob, BackendKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PoseModel {
    /// pose_landmark_lite (fastest).
    Lite,
    /// pose_landmark_full.
    Full,
    /// pose_landmark_heavy (most accurate, ~4× full's work).
    Heavy,
}

impl PoseModel {
    pub(crate) fn file(self) -> ModelFile {
        match self {
            Self::Lite => ModelFile::PoseLandmarkLite,
            Self::Full => ModelFile::PoseLandmarkFull,
            Self::Heavy => ModelFile::PoseLandmarkHeavy,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// An image (.png, .jpg), a folder of images, or a video (.mp4, .mov,
    /// .avi, .mkv, .webm; frames extracted with ffmpeg).
    pub input: PathBuf,
    /// Folder for the JSON files (created).
    #[arg(long)]
    pub out: PathBuf,
    /// Which BlazePose landmark model.
    #[arg(long, value_enum, default_value_t = PoseModel::Full)]
    pub pose_model: PoseModel,
    /// At most this many people per image (best detections first).
    #[arg(long, default_value_t = 4)]
    pub max_people: usize,
    /// Skip the hand model.
    #[arg(long)]
    pub no_hands: bool,
    /// Skip the face model.
    #[arg(long)]
    pub no_face: bool,
    /// The `@mediapipe/holistic` package folder (default: $FURPE_MEDIAPIPE,
    /// then models/mediapipe/node_modules/@mediapipe/holistic).
    #[arg(long)]
    pub mediapipe: Option<PathBuf>,
    /// Also draw the points over each image (`<stem>_detect.png`).
    #[arg(long)]
    pub overlay: bool,
    /// Treat a folder's images (in name order) as the frames of one video:
    /// each frame's body region comes from the previous frame's landmarks,
    /// as MediaPipe tracks (always on for a video file).
    #[arg(long)]
    pub sequence: bool,
    /// Replace JSON files already in OUT (refused otherwise).
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

pub fn run(args: DetectArgs) -> anyhow::Result<()> {
    with_backend(args.backend, args)
}

const VIDEO_EXTENSIONS: [&str; 5] = ["mp4", "mov", "avi", "mkv", "webm"];

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .unwrap_or_default()
}

impl BackendJob for DetectArgs {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        anyhow::ensure!(self.max_people >= 1, "--max-people must be at least 1");
        let root = std::env::current_dir().context("cannot read the current directory")?;
        let package = Package::find(self.mediapipe.as_deref(), &root)?;

        // Frames: the named image, a folder's images, or a video's frames
        // (named like OpenPose names them: <video>_000000000000).
        let mut _frames_dir = None;
        let video = VIDEO_EXTENSIONS.contains(&extension(&self.input).as_str());
        let frames: Vec<(PathBuf, String)> = if self.input.is_dir() {
            let files = crate::crops::image_files(&self.input)?;
            files
                .into_iter()
                .map(|p| {
                    let s = stem(&p);
                    (p, s)
                })
                .collect()
        } else if video {
            let dir = tempdir(&self.out)?;
            let frames = extract_frames(&self.input, dir.path())?;
            _frames_dir = Some(dir);
            frames
        } else {
            anyhow::ensure!(
                self.input.is_file(),
                "{}: no such file or folder",
                self.input.display()
            );
            vec![(self.input.clone(), stem(&self.input))]
        };

        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("{}: cannot create", self.out.display()))?;
        if !self.overwrite {
            let existing: Vec<String> = frames
                .iter()
                .map(|(_, s)| self.out.join(format!("{s}_keypoints.json")))
                .filter(|p| p.exists())
                .map(|p| p.display().to_string())
                .collect();
            anyhow::ensure!(
                existing.is_empty(),
                "{} keypoint file(s) already in {} (first: {}); pass --overwrite to replace them",
                existing.len(),
                self.out.display(),
                existing[0]
            );
        }

        // The models load once the inputs and OUT have been checked.
        let holistic = Holistic::<B>::new(
            |file| package.model_bytes(file).map_err(anyhow::Error::from),
            self.pose_model.file(),
            !self.no_hands,
            !self.no_face,
            &device,
        )?;
        let many = frames.len() > 1;
        let tracking = video || self.sequence;
        let mut previous = Vec::new();
        let (mut unreadable, mut empty) = (Vec::new(), 0usize);
        for (path, stem) in &frames {
            let Some(image) = crate::crops::open_or_skip(path, many, &mut unreadable)? else {
                continue;
            };
            let (w, h) = image.dimensions();
            let people = if tracking {
                holistic.track(image.as_raw(), w, h, self.max_people, &previous)
            } else {
                holistic.detect(image.as_raw(), w, h, self.max_people)
            }
            .with_context(|| format!("{}: detection failed", path.display()))?;
            if people.is_empty() {
                empty += 1;
                eprintln!(
                    "{}: no person found (written with an empty people list)",
                    path.display()
                );
            }
            let openpose: Vec<Vec<[f32; 3]>> = people
                .iter()
                .map(|p| to_openpose137(&landmarks(p)))
                .collect();
            let json_path = self.out.join(format!("{stem}_keypoints.json"));
            let text = write_openpose_json(&openpose).map_err(anyhow::Error::msg)?;
            furpe::io::write_bytes_atomic(&json_path, text.as_bytes())
                .with_context(|| format!("{}: cannot write", json_path.display()))?;
            let full = json!({
                "image": path.file_name().map(|n| n.to_string_lossy().to_string()),
                "width": w,
                "height": h,
                "pose_model": self.pose_model.file().stem(),
                "people": people.iter().map(person_json).collect::<Vec<_>>(),
            });
            let full_path = self.out.join(format!("{stem}_mediapipe.json"));
            furpe::io::write_bytes_atomic(&full_path, serde_json::to_string(&full)?.as_bytes())
                .with_context(|| format!("{}: cannot write", full_path.display()))?;
            if self.overlay {
                let png = self.out.join(format!("{stem}_detect.png"));
                crate::crops::save_png(&draw(&image, &openpose), &png)?;
            }
            println!(
                "{} -> {} ({} people)",
                path.display(),
                json_path.display(),
                people.len()
            );
            previous = people;
        }
        if empty > 0 {
            eprintln!("{empty} of {} image(s) had no person", frames.len());
        }
        anyhow::ensure!(
            unreadable.is_empty(),
            "{} image(s) could not be decoded and were skipped (the others were written): {}",
            unreadable.len(),
            unreadable.join(", ")
        );
        Ok(())
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "image".into())
}

/// (x, y, confidence) per point: the body's visibility, the hand's flag.
fn landmarks(person: &Person) -> Landmarks {
    let hand = |h: &Option<Hand>| {
        h.as_ref().map(|h| {
            h.landmarks
                .iter()
                .map(|l| [l.position[0], l.position[1], h.presence])
                .collect()
        })
    };
    Landmarks {
        body: Some(
            person
                .body
                .iter()
                .map(|l| [l.position[0], l.position[1], l.visibility.unwrap_or(0.0)])
                .collect(),
        ),
        left_hand: hand(&person.left_hand),
        right_hand: hand(&person.right_hand),
        face: person.face.as_ref().map(|f: &Face| {
            f.landmarks
                .iter()
                .map(|l| [l.position[0], l.position[1], f.presence])
                .collect()
        }),
    }
}

fn person_json(p: &Person) -> serde_json::Value {
    let roi = |r: &furpe::crop::CropTransform| json!({"center": r.center, "side": r.side, "rotation": r.rotation});
    let hand = |h: &Option<Hand>| {
        h.as_ref().map(|h| {
            json!({
                "presence": h.presence,
                "roi": roi(&h.roi),
                "landmarks": h.landmarks.iter().map(|l| l.position).collect::<Vec<_>>(),
                "world": h.world,
            })
        })
    };
    json!({
        "region": if p.detection.is_some() { "detected" } else { "tracked" },
        "detection": p.detection.as_ref().map(|d| json!({"score": d.score, "box": d.bbox, "keypoints": d.keypoints})),
        "roi": roi(&p.roi),
        "presence": p.presence,
        "body": p.body.iter().map(|l| json!({
            "xyz": l.position,
            "visibility": l.visibility,
            "presence": l.presence,
        })).collect::<Vec<_>>(),
        "world": p.world,
        "left_hand": hand(&p.left_hand),
        "right_hand": hand(&p.right_hand),
        "face": p.face.as_ref().map(|f| json!({
            "presence": f.presence,
            "roi": roi(&f.roi),
            "landmarks": f.landmarks.iter().map(|l| l.position).collect::<Vec<_>>(),
        })),
    })
}

/// The OpenPose points as small squares over the image.
fn draw(image: &image::RgbImage, people: &[Vec<[f32; 3]>]) -> image::RgbImage {
    let mut out = image.clone();
    let r = (out.width().max(out.height()) / 300).max(1) as i64;
    for person in people {
        for (i, p) in person.iter().enumerate() {
            if p[2] <= 0.0 {
                continue;
            }
            let colour = if i < 25 {
                [255, 60, 60]
            } else {
                [60, 200, 255]
            };
            for dy in -r..=r {
                for dx in -r..=r {
                    let (x, y) = (p[0] as i64 + dx, p[1] as i64 + dy);
                    if x >= 0 && y >= 0 && (x as u32) < out.width() && (y as u32) < out.height() {
                        out.put_pixel(x as u32, y as u32, image::Rgb(colour));
                    }
                }
            }
        }
    }
    out
}

/// A scratch folder inside OUT, removed when dropped (also on errors).
struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(out: &Path) -> anyhow::Result<TempDir> {
    let dir = out.join(format!(".frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    Ok(TempDir(dir))
}

/// The video's frames as PNGs through ffmpeg, named as OpenPose names a
/// video's frames (`<video>_%012d`, counting from 0).
fn extract_frames(video: &Path, dir: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    anyhow::ensure!(video.is_file(), "{}: no such video", video.display());
    let pattern = dir.join("%012d.png");
    let status = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-nostdin", "-i"])
        .arg(video)
        .args(["-start_number", "0"])
        .arg(&pattern)
        .status();
    let status = match status {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "{}: reading video needs ffmpeg, which is not installed (Debian: apt-get install ffmpeg); or extract the frames yourself and pass the folder",
            video.display()
        ),
        Err(e) => return Err(e).context("cannot run ffmpeg"),
    };
    anyhow::ensure!(
        status.success(),
        "{}: ffmpeg could not read this video ({status})",
        video.display()
    );
    let video_stem = stem(video);
    let mut frames: Vec<(PathBuf, String)> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| extension(p) == "png")
        .map(|p| {
            let n = stem(&p);
            (p, format!("{video_stem}_{n}"))
        })
        .collect();
    frames.sort();
    anyhow::ensure!(
        !frames.is_empty(),
        "{}: ffmpeg found no frames",
        video.display()
    );
    Ok(frames)
}
