//! One MediaPipe person → SMPL-X parameters and a camera: the body from
//! BlazePose's 33 world points, each hand from its 21, jaw and expression
//! from the face mesh, and the weak-perspective camera that puts the fitted
//! joints on the 2D landmarks. `furpe label --experts mediapipe` labels
//! images with it (cold starts, many iterations); the live page's experts
//! mode draws it frame after frame (each fit warm-started from the previous
//! frame's, a few iterations). One rule for both, so what the page shows is
//! what the labels hold.

use burn::tensor::backend::{AutodiffBackend, Backend};

use super::{
    blazepose_joints, fit_body_from, fit_face_from, fit_hand_from, BodyFit, FaceFit, FitConfig,
    FitError, HandFit, Landmarks, Side, FACE_MESH_COUNT,
};
use crate::crop::CropTransform;
use crate::mediapipe::holistic::{Hand, Person};
use crate::smplx::{ParamWidths, Smplx, SmplxInput, SmplxParams};

/// Hands the hand model is less sure of than this are not fitted.
pub const MIN_HAND_PRESENCE: f32 = 0.5;
/// Faces the face model is less sure of than this are not fitted.
pub const MIN_FACE_PRESENCE: f32 = 0.5;
/// Body landmarks less visible than this do not place the camera.
const MIN_CAMERA_VISIBILITY: f32 = 0.5;
/// The body box's side relative to the landmarks' longer extent.
const BOX_SCALE: f32 = 1.2;

/// What [`fit_people`] fits and how hard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonFitConfig {
    pub body: FitConfig,
    /// `None`: hands are not fitted (another expert labels them).
    pub hand: Option<FitConfig>,
    /// `None`: the face is not fitted.
    pub face: Option<FitConfig>,
}

impl PersonFitConfig {
    /// Still images, cold starts: the measured settings of
    /// docs/mediapipe_labels.md.
    pub fn label() -> Self {
        Self {
            body: FitConfig::body(),
            hand: Some(FitConfig::hand()),
            face: Some(FitConfig::face()),
        }
    }

    /// Video, warm starts from the previous frame: a few iterations follow
    /// a person between frames (the first frame of a track starts cold and
    /// converges over the next ones). Measured in BENCHMARKS.md (live page).
    pub fn live() -> Self {
        Self {
            body: FitConfig {
                iterations: 30,
                ..FitConfig::body()
            },
            hand: Some(FitConfig {
                iterations: 10,
                learning_rate: 0.1,
                ..FitConfig::hand()
            }),
            face: Some(FitConfig {
                iterations: 10,
                ..FitConfig::face()
            }),
        }
    }
}

/// One person's fit.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonFit {
    /// Square around the body's 2D landmarks (x0, y0, x1, y1), pixels: the
    /// frame the camera is in.
    pub body_box: [f32; 4],
    /// Weak-perspective `(s, tx, ty)` in `body_box`'s normalised
    /// coordinates (`None`: too few visible landmarks to place it).
    pub camera: Option<[f32; 3]>,
    pub body: BodyFit,
    pub left_hand: Option<HandFit>,
    pub right_hand: Option<HandFit>,
    pub face: Option<FaceFit>,
}

impl PersonFit {
    /// The fit of the subject's `side` hand.
    pub fn hand(&self, side: Side) -> Option<&HandFit> {
        match side {
            Side::Left => self.left_hand.as_ref(),
            Side::Right => self.right_hand.as_ref(),
        }
    }

    fn hand_mut(&mut self, side: Side) -> &mut Option<HandFit> {
        match side {
            Side::Left => &mut self.left_hand,
            Side::Right => &mut self.right_hand,
        }
    }

    /// The body box as a crop (the camera's frame).
    pub fn crop(&self) -> CropTransform {
        CropTransform::around_box(self.body_box, 1.0)
    }

    /// SMPL-X parameters for the layer the fit used (axis-angle hands,
    /// relative to its mean hand): body, hands and face where fitted,
    /// the rest at zero (mean shape, neutral face).
    pub fn params(&self) -> SmplxParams {
        let mut p = SmplxParams::zeros(1, ParamWidths::default());
        p.global_orient[0] = self.body.global_orient.to_vec();
        p.body_pose[0] = self.body.body_pose.clone();
        if let Some(h) = &self.left_hand {
            p.left_hand_pose[0] = h.hand_pose.clone();
        }
        if let Some(h) = &self.right_hand {
            p.right_hand_pose[0] = h.hand_pose.clone();
        }
        if let Some(f) = &self.face {
            p.jaw_pose[0] = f.jaw_pose.to_vec();
            let width = p.expression[0].len();
            p.expression[0] = f.expression.iter().copied().take(width).collect();
            p.expression[0].resize(width, 0.0);
        }
        p
    }
}

/// The 2D landmarks' bounding box (x0, y0, x1, y1), pixels.
pub fn landmark_box(person: &Person) -> [f32; 4] {
    crate::crop::bounds(person.body.iter().map(|l| l.xy()))
}

/// BlazePose's world points with their visibilities: the body fit's target.
pub fn body_landmarks(person: &Person) -> Landmarks {
    Landmarks {
        points: person.world.clone(),
        visibility: person
            .body
            .iter()
            .map(|l| l.visibility.unwrap_or(1.0))
            .collect(),
    }
}

/// A hand the hand model is sure of, as the hand fit's target.
pub fn hand_landmarks(hand: &Hand) -> Option<Landmarks> {
    (hand.presence >= MIN_HAND_PRESENCE && hand.world.len() == 21).then(|| Landmarks {
        points: hand.world.clone(),
        visibility: vec![1.0; hand.world.len()],
    })
}

/// The face mesh, when the face model is sure of it, as the face fit's target.
pub fn face_landmarks(person: &Person) -> Option<Landmarks> {
    let face = person.face.as_ref()?;
    (face.presence >= MIN_FACE_PRESENCE && face.landmarks.len() == FACE_MESH_COUNT).then(|| {
        Landmarks {
            points: face.landmarks.iter().map(|l| l.position).collect(),
            visibility: vec![1.0; face.landmarks.len()],
        }
    })
}

/// Fits every person (batched per part); `warm[k]`, where given, starts
/// person `k`'s fits (parts it lacks start cold). `layer` must take
/// axis-angle hands.
pub fn fit_people<B: AutodiffBackend>(
    layer: &Smplx<B>,
    people: &[&Person],
    warm: &[Option<&PersonFit>],
    config: &PersonFitConfig,
    device: &B::Device,
) -> Result<Vec<PersonFit>, FitError> {
    let warm_of = |k: usize| warm.get(k).copied().flatten();

    // 1. Bodies.
    let targets: Vec<Landmarks> = people.iter().map(|p| body_landmarks(p)).collect();
    let starts: Vec<Option<&BodyFit>> = (0..people.len())
        .map(|k| warm_of(k).map(|w| &w.body))
        .collect();
    let bodies = fit_body_from(layer, &targets, &starts, &config.body, device)?;

    // 2. Cameras: the fitted joints onto the 2D landmarks.
    let mut fits = place_bodies(layer, people, bodies, device)?;

    // 3. Hands, each side in one batch.
    if let Some(hand_config) = &config.hand {
        for side in [Side::Left, Side::Right] {
            let hand_of = |p: &Person| -> Option<Landmarks> {
                match side {
                    Side::Left => p.left_hand.as_ref(),
                    Side::Right => p.right_hand.as_ref(),
                }
                .and_then(hand_landmarks)
            };
            let rows: Vec<(usize, Landmarks)> = people
                .iter()
                .enumerate()
                .filter_map(|(k, p)| hand_of(p).map(|t| (k, t)))
                .collect();
            let targets: Vec<Landmarks> = rows.iter().map(|(_, t)| t.clone()).collect();
            let starts: Vec<Option<&HandFit>> = rows
                .iter()
                .map(|(k, _)| warm_of(*k).and_then(|w| w.hand(side)))
                .collect();
            let hands = fit_hand_from(layer, side, &targets, &starts, hand_config, device)?;
            for ((k, _), h) in rows.iter().zip(hands) {
                *fits[*k].hand_mut(side) = Some(h);
            }
        }
    }

    // 4. Faces.
    if let Some(face_config) = &config.face {
        let rows: Vec<(usize, Landmarks)> = people
            .iter()
            .enumerate()
            .filter_map(|(k, p)| face_landmarks(p).map(|t| (k, t)))
            .collect();
        let targets: Vec<Landmarks> = rows.iter().map(|(_, t)| t.clone()).collect();
        let starts: Vec<Option<&FaceFit>> = rows
            .iter()
            .map(|(k, _)| warm_of(*k).and_then(|w| w.face.as_ref()))
            .collect();
        let faces = fit_face_from(layer, &targets, &starts, face_config, device)?;
        for ((k, _), f) in rows.iter().zip(faces) {
            fits[*k].face = Some(f);
        }
    }
    Ok(fits)
}

/// Bodies placed in their images: each body's joints (posed by `layer`,
/// which must take axis-angle hands) put onto its person's 2D landmarks by a
/// weak-perspective camera; no hands or face yet. The fits and the
/// pose-head student (`crate::tracking::head_prediction`) place alike.
pub fn place_bodies<B: Backend>(
    layer: &Smplx<B>,
    people: &[&Person],
    bodies: Vec<BodyFit>,
    device: &B::Device,
) -> Result<Vec<PersonFit>, FitError> {
    let mut params = SmplxParams::zeros(bodies.len(), ParamWidths::default());
    for (k, f) in bodies.iter().enumerate() {
        params.global_orient[k] = f.global_orient.to_vec();
        params.body_pose[k] = f.body_pose.clone();
    }
    let joints = if bodies.is_empty() {
        Vec::new()
    } else {
        let input = SmplxInput::<B>::from_params(&params, device);
        let joints = layer.joints(input); // [N, J, 3]
        crate::readback::floats(joints).map_err(|e| FitError::Readback(e.to_string()))?
    };
    let per_body = joints.len() / bodies.len().max(1);
    Ok(people
        .iter()
        .zip(bodies)
        .enumerate()
        .map(|(k, (person, body))| {
            let posed = &joints[k * per_body..(k + 1) * per_body];
            let (body_box, camera) = camera_of(person, posed);
            PersonFit {
                body_box,
                camera,
                body,
                left_hand: None,
                right_hand: None,
                face: None,
            }
        })
        .collect())
}

/// The square box around the body's 2D landmarks, and the weak-perspective
/// camera that puts the fitted joints (`posed`, `[J × 3]` flat) on them.
fn camera_of(person: &Person, posed: &[f32]) -> ([f32; 4], Option<[f32; 3]>) {
    let crop = CropTransform::around_box(landmark_box(person), BOX_SCALE);
    let half = crop.side / 2.0;
    let square = crop.square();
    let (mut xy, mut uv) = (Vec::new(), Vec::new());
    for (landmark, joint) in blazepose_joints() {
        let (Some(l), Some(p)) = (
            person.body.get(landmark),
            posed.get(joint * 3..joint * 3 + 2),
        ) else {
            continue;
        };
        if l.visibility.unwrap_or(1.0) < MIN_CAMERA_VISIBILITY {
            continue;
        }
        xy.push([p[0], p[1]]);
        uv.push([
            (l.position[0] - crop.center[0]) / half,
            (l.position[1] - crop.center[1]) / half,
        ]);
    }
    let camera = crate::experts::fit_weak_perspective(&xy, &uv).filter(|c| c[0] > 0.0);
    (square, camera)
}
