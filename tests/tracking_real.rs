//! The live page's experts path (`furpe::tracking::Tracker`), natively, on
//! real video: Sports2D's demo, a man on a box waving his arms (15 frames,
//! 0.2 s apart, at the 320 × 180 the page runs at; committed in
//! tests/fixtures/real with their licence and generator). The browser tests
//! run the same code in WebAssembly on the same clip.
//!
//! What "follows the person" means here: the drawn body's joints, projected
//! by the fit's camera, against MediaPipe's 2D landmarks of the same points
//! (median over the visible ones, as a fraction of the person's height), next
//! to the best constant pose: the landmarks' mean configuration in their
//! box, put in every frame's box (a pose that knows where the person is but
//! not what they do).

mod common;

use std::path::Path;

use burn::backend::{Autodiff, Flex};
use common::fixtures;
use furpe::fit::person::landmark_box;
use furpe::fit::{blazepose_joints, FitConfig, PersonFitConfig};
use furpe::inference::Prediction;
use furpe::mediapipe::holistic::{Holistic, Person};
use furpe::mediapipe::package::{ModelFile, Package};
use furpe::tracking::{PersonTrack, Tracker};

type A = Autodiff<Flex>;

/// The bound and the margin over the best constant (the browser tests use
/// the same).
const BOUND: f32 = 0.06;
const RATIO: f32 = 0.6;

fn holistic(hands: bool, face: bool) -> Holistic<Flex> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let package = Package::find(None, &root).unwrap_or_else(|e| panic!("{e}"));
    Holistic::<Flex>::new(
        |f| package.model_bytes(f).map_err(anyhow::Error::from),
        ModelFile::PoseLandmarkLite,
        hands,
        face,
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn tracker(hands: bool, face: bool) -> Tracker<A> {
    let body = furpe::smplx::mannequin::mannequin();
    Tracker::new(holistic(hands, face), &body, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn frame(name: &str) -> (Vec<u8>, u32, u32) {
    let path = fixtures().join("real").join(name);
    let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    (rgb.into_raw(), w, h)
}

fn clip() -> Vec<(Vec<u8>, u32, u32)> {
    (1..=15)
        .map(|k| frame(&format!("sports2d_{k:02}.jpg")))
        .collect()
}

fn clock() -> f64 {
    0.0
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f32::NAN)
}

/// `(drawn joint, landmark, visible)` pixel pairs of every corresponding
/// point, and the landmarks' box `(centre x, centre y, height)`.
type Pairs = (Vec<([f32; 2], [f32; 2], bool)>, [f32; 3]);

fn pairs(p: &Prediction, person: &Person) -> Pairs {
    let b = landmark_box(person);
    let frame = [
        (b[0] + b[2]) / 2.0,
        (b[1] + b[3]) / 2.0,
        (b[3] - b[1]).max(1e-6),
    ];
    let pairs = blazepose_joints()
        .into_iter()
        .map(|(l, j)| {
            let drawn = p.project(&[p.joints[j]])[0];
            let q = &person.body[l];
            let visible = q.visibility.unwrap_or(1.0) >= 0.5;
            (drawn, [q.position[0], q.position[1]], visible)
        })
        .collect();
    (pairs, frame)
}

/// Median over frames of each frame's median error (fraction of height):
/// the drawn body's, and the best constant pose's.
fn follow_scores(frames: &[Pairs]) -> (f32, f32) {
    let rel = |q: [f32; 2], f: [f32; 3]| [(q[0] - f[0]) / f[2], (q[1] - f[1]) / f[2]];
    // Every point's mean position in its box.
    let points = frames.first().map_or(0, |f| f.0.len());
    let mut mean = vec![[0.0f32; 2]; points];
    for (pairs, f) in frames {
        for (m, (_, q, _)) in mean.iter_mut().zip(pairs) {
            let r = rel(*q, *f);
            m[0] += r[0] / frames.len() as f32;
            m[1] += r[1] / frames.len() as f32;
        }
    }
    let dist = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let body = frames
        .iter()
        .map(|(pairs, f)| {
            median(
                pairs
                    .iter()
                    .filter(|p| p.2)
                    .map(|(d, q, _)| dist(*d, *q) / f[2])
                    .collect(),
            )
        })
        .collect();
    let constant = frames
        .iter()
        .map(|(pairs, f)| {
            median(
                pairs
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.2)
                    .map(|(k, (_, q, _))| {
                        let c = [f[0] + mean[k][0] * f[2], f[1] + mean[k][1] * f[2]];
                        dist(c, *q) / f[2]
                    })
                    .collect(),
            )
        })
        .collect();
    (median(body), median(constant))
}

/// Runs the clip through the experts path: scores and frames with a person.
fn run(config: &PersonFitConfig) -> (f32, f32, usize) {
    let mut tracker = tracker(config.hand.is_some(), config.face.is_some());
    let mut frames = Vec::new();
    for (rgb, w, h) in clip() {
        if let Some(f) = tracker
            .experts(&rgb, w, h, config, &clock)
            .unwrap_or_else(|e| panic!("{e}"))
        {
            assert!(f.prediction.is_finite(), "a non-finite body");
            frames.push(pairs(&f.prediction, &f.person));
        }
    }
    let (body, constant) = follow_scores(&frames);
    (body, constant, frames.len())
}

#[test]
fn the_experts_path_follows_a_real_person() {
    let (body, constant, found) = run(&PersonFitConfig::live());
    eprintln!(
        "experts path on 15 real frames: person in {found}; joints {:.1} % of the height from \
         MediaPipe's 2D landmarks, best constant pose {:.1} %",
        100.0 * body,
        100.0 * constant
    );
    assert!(found >= 13, "a person in only {found} of 15 frames");
    assert!(
        body <= BOUND && body <= RATIO * constant,
        "joints {body:.3} of the height from the landmarks, best constant {constant:.3}"
    );
}

/// The page's two-thread path: a `PersonTrack` (the worker's) finds the
/// person, the person crosses as bytes, `experts_on` fits it; on the same
/// frames it gives the very bodies the one-thread `experts` gives.
#[test]
fn the_worker_path_gives_the_same_bodies() {
    let config = PersonFitConfig::live();
    let mut one = tracker(true, true);
    let mut engine = tracker(true, true);
    let mut worker = PersonTrack::new(holistic(true, true));
    let parts = Tracker::<A>::experts_parts(&config);
    let mut compared = 0;
    for (rgb, w, h) in clip().into_iter().take(6) {
        let direct = one
            .experts(&rgb, w, h, &config, &clock)
            .unwrap_or_else(|e| panic!("{e}"));
        let found = worker
            .track(&rgb, w, h, parts)
            .unwrap_or_else(|e| panic!("{e}"));
        let bytes = found.map(|p| p.to_bytes().unwrap_or_else(|e| panic!("{e}")));
        let piped = match bytes {
            Some(b) => {
                let person = Person::from_bytes(&b).unwrap_or_else(|e| panic!("{e}"));
                Some(
                    engine
                        .experts_on(person, &config, &clock)
                        .unwrap_or_else(|e| panic!("{e}")),
                )
            }
            None => {
                engine.lost();
                None
            }
        };
        assert_eq!(direct.is_some(), piped.is_some(), "found by one path only");
        if let (Some(a), Some(b)) = (direct, piped) {
            let worst = a
                .prediction
                .vertices
                .iter()
                .zip(&b.prediction.vertices)
                .flat_map(|(p, q)| (0..3).map(move |k| (p[k] - q[k]).abs()))
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-5, "the bodies differ by {worst} m");
            compared += 1;
        }
    }
    assert!(compared >= 5, "a person in only {compared} of 6 frames");
}

#[test]
fn a_fit_that_does_not_move_fails_the_same_check() {
    // The check above must be able to fail: with no iterations the body
    // stays at its rest pose (turned to face the camera), placed by the
    // same camera fit.
    let frozen = PersonFitConfig {
        body: FitConfig {
            iterations: 0,
            ..FitConfig::body()
        },
        hand: None,
        face: None,
    };
    let (body, constant, _) = run(&frozen);
    eprintln!(
        "rest pose: {:.1} % of the height, best constant {:.1} %",
        100.0 * body,
        100.0 * constant
    );
    assert!(
        body > BOUND || body > RATIO * constant,
        "the rest pose passed: {body:.3} vs constant {constant:.3}"
    );
}

#[test]
fn nobody_in_an_empty_scene_and_the_student_crop_is_on_the_person() {
    let mut tracker = tracker(false, false);
    let (rgb, w, h) = frame("sports2d_empty.jpg");
    let body = PersonFitConfig {
        hand: None,
        face: None,
        ..PersonFitConfig::live()
    };
    let found = tracker.experts(&rgb, w, h, &body, &clock).expect("runs");
    assert!(found.is_none(), "a person found in an empty scene");
    assert!(tracker.find(&rgb, w, h).expect("runs").is_none());
    for (rgb, w, h) in clip().into_iter().take(5) {
        let (person, crop) = tracker
            .find(&rgb, w, h)
            .expect("runs")
            .expect("the man is found");
        let [x0, y0, x1, y1] = landmark_box(&person);
        let [cx, cy] = crop.center;
        assert!(
            (x0..=x1).contains(&cx) && (y0..=y1).contains(&cy) && crop.side >= y1 - y0,
            "crop {crop:?} not on the person's box {:?}",
            [x0, y0, x1, y1]
        );
    }
}

/// The committed pose-head student (www/models/default-head.furpe).
fn default_head() -> furpe::nets::pose_head::PoseHead<Flex> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/models/default-head.furpe");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    furpe::nets::pose_head::from_bytes::<Flex>(&bytes, "default-head.furpe", &Default::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

/// Runs the clip through the pose-head path: scores and frames with a person.
fn run_head(head: &furpe::nets::pose_head::PoseHead<Flex>) -> (f32, f32, usize) {
    let mut tracker = tracker(false, false);
    let mut frames = Vec::new();
    for (rgb, w, h) in clip() {
        if let Some(f) = tracker
            .head(&rgb, w, h, head, &clock)
            .unwrap_or_else(|e| panic!("{e}"))
        {
            assert!(f.prediction.is_finite(), "a non-finite body");
            frames.push(pairs(&f.prediction, &f.person));
        }
    }
    let (body, constant) = follow_scores(&frames);
    (body, constant, frames.len())
}

/// The pose-head student is a network on pixels (through MediaPipe's frozen
/// embedding), one forward pass, no fit: its own bound, set from
/// measurement (3.6 % of the height and 0.57× the best constant on these
/// frames; the same head with its input cut off: 8.9 %).
const HEAD_BOUND: f32 = 0.05;
const HEAD_RATIO: f32 = 0.7;

#[test]
fn the_pose_head_student_follows_a_real_person() {
    let (body, constant, found) = run_head(&default_head());
    eprintln!(
        "pose-head student on 15 real frames: person in {found}; joints {:.1} % of the height \
         from MediaPipe's 2D landmarks, best constant pose {:.1} %",
        100.0 * body,
        100.0 * constant
    );
    assert!(found >= 13, "a person in only {found} of 15 frames");
    assert!(
        body <= HEAD_BOUND && body <= HEAD_RATIO * constant,
        "joints {body:.3} of the height from the landmarks, best constant {constant:.3}"
    );

    // The same check fails for the same head with its input cut off (the
    // output layer zeroed: it predicts its training labels' mean, the best
    // constant, for every frame).
    let mut constant_head = default_head();
    let weight = constant_head.output.weight.val().zeros_like();
    constant_head.output.weight = burn::module::Param::from_tensor(weight);
    let (body, constant, _) = run_head(&constant_head);
    eprintln!(
        "its input cut off: {:.1} % of the height, best constant {:.1} %",
        100.0 * body,
        100.0 * constant
    );
    assert!(
        body > HEAD_BOUND || body > HEAD_RATIO * constant,
        "a head that ignores its input passed: {body:.3} vs constant {constant:.3}"
    );
}
