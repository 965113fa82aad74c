//! `furpe label --experts mediapipe`: MediaPipe's body and hand models as the
//! body and hand experts. Each image is searched for people
//! ([`Holistic::detect`]); the one overlapping the annotation's person box
//! most is labelled by fitting SMPL-X to its world landmarks
//! ([`furpe::fit`]): global orientation and 21 body joints from BlazePose's
//! 33 points, each hand's 15 joints from its 21 points, jaw and expression
//! from the face mesh's 468 points (unless a face expert file is given). The body's
//! weak-perspective camera is the least-squares fit of the fitted joints
//! onto the 2D landmarks (selection's reprojection step reads it).
//!
//! The body's feature for the KL distillation is the pose model's shared
//! embedding ([`Person::feature`]); hands and face carry none (their
//! feature columns are left out, so that term has nothing to match for
//! them). No body shape: `smpl_betas` stays NaN. A part the models did not
//! find keeps NaN, which the selection drops.

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use furpe::crop::CropTransform;
use furpe::dataset::Annotation;
use furpe::fit::{self, FitConfig, Landmarks, Side};
use furpe::mediapipe::holistic::{Hand, Holistic, Person};
use furpe::smplx::{ParamWidths, Smplx, SmplxInput, SmplxParams};

use crate::crops::RgbImage;

/// Hands the hand model is less sure of than this are left unlabelled.
const MIN_HAND_PRESENCE: f32 = 0.5;
/// Faces the face model is less sure of than this are left unlabelled.
const MIN_FACE_PRESENCE: f32 = 0.5;

/// The loaded models and the body model the fits pose.
pub(crate) struct MediaPipeExperts<B: Backend> {
    pub holistic: Holistic<B>,
    pub layer: Smplx<Autodiff<B>>,
    pub hands: bool,
    pub face: bool,
}

/// One image's labels (NaN-free parts only; `None` = not found).
#[derive(Debug, Clone, Default)]
pub(crate) struct MediaPipeLabel {
    pub body_box: Option<[f32; 4]>,
    pub body_camera: Option<[f32; 3]>,
    pub global_orient: Option<[f32; 3]>,
    pub body_pose: Option<Vec<f32>>,
    pub feature_body: Option<Vec<f32>>,
    pub left_hand_pose: Option<Vec<f32>>,
    pub right_hand_pose: Option<Vec<f32>>,
    pub jaw_pose: Option<[f32; 3]>,
    pub expression: Option<Vec<f32>>,
}

impl<B: Backend> MediaPipeExperts<B> {
    /// Labels for `images` (with their annotations).
    pub fn label(
        &self,
        images: &[RgbImage],
        annotations: &[&Annotation],
        device: &B::Device,
    ) -> anyhow::Result<Vec<MediaPipeLabel>> {
        // 1. People, one per image: the best overlap with the annotated box.
        let mut people: Vec<Option<Person>> = Vec::with_capacity(images.len());
        for (image, annotation) in images.iter().zip(annotations) {
            let found = self
                .holistic
                .detect(&image.pixels, image.width, image.height, 3)
                .map_err(|e| anyhow::anyhow!("{}: MediaPipe failed: {e}", annotation.image))?;
            people.push(pick(found, annotation.person_box));
        }
        let mut labels = vec![MediaPipeLabel::default(); images.len()];

        // 2. Bodies.
        let rows: Vec<usize> = (0..people.len()).filter(|&r| people[r].is_some()).collect();
        let targets: Vec<Landmarks> = rows
            .iter()
            .filter_map(|&r| people[r].as_ref())
            .map(body_landmarks)
            .collect();
        let fits = fit::fit_body(&self.layer, &targets, &FitConfig::body(), device)?;
        let mut params = SmplxParams::zeros(fits.len(), ParamWidths::default());
        for (k, f) in fits.iter().enumerate() {
            params.global_orient[k] = f.global_orient.to_vec();
            params.body_pose[k] = f.body_pose.clone();
        }
        let joints = if fits.is_empty() {
            Vec::new()
        } else {
            let input = SmplxInput::<Autodiff<B>>::from_params(&params, device);
            let joints = self.layer.joints(input); // [N, 144, 3]
            joints
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("reading the fitted joints: {e:?}"))?
        };
        let per_body = joints.len() / fits.len().max(1);
        for (k, (&r, f)) in rows.iter().zip(&fits).enumerate() {
            let Some(person) = &people[r] else { continue };
            let posed = &joints[k * per_body..(k + 1) * per_body];
            let (box_, camera) = camera_of(person, posed);
            let label = &mut labels[r];
            label.body_box = Some(box_);
            label.body_camera = camera;
            label.global_orient = Some(f.global_orient);
            label.body_pose = Some(f.body_pose.clone());
            label.feature_body = Some(person.feature.clone()).filter(|f| !f.is_empty());
        }

        // 3. Hands.
        if self.hands {
            for side in [Side::Left, Side::Right] {
                let hand_of = |p: &Person| -> Option<Hand> {
                    match side {
                        Side::Left => p.left_hand.clone(),
                        Side::Right => p.right_hand.clone(),
                    }
                    .filter(|h| h.presence >= MIN_HAND_PRESENCE && h.world.len() == 21)
                };
                let rows: Vec<(usize, Hand)> = people
                    .iter()
                    .enumerate()
                    .filter_map(|(r, p)| p.as_ref().and_then(hand_of).map(|h| (r, h)))
                    .collect();
                let targets: Vec<Landmarks> = rows
                    .iter()
                    .map(|(_, h)| Landmarks {
                        points: h.world.clone(),
                        visibility: vec![1.0; h.world.len()],
                    })
                    .collect();
                let fits = fit::fit_hand(&self.layer, side, &targets, &FitConfig::hand(), device)?;
                for ((r, _), f) in rows.iter().zip(fits) {
                    match side {
                        Side::Left => labels[*r].left_hand_pose = Some(f.hand_pose),
                        Side::Right => labels[*r].right_hand_pose = Some(f.hand_pose),
                    }
                }
            }
        }
        // 4. Faces.
        if self.face {
            let rows: Vec<(usize, Landmarks)> = people
                .iter()
                .enumerate()
                .filter_map(|(r, p)| {
                    let face = p.as_ref()?.face.as_ref()?;
                    (face.presence >= MIN_FACE_PRESENCE
                        && face.landmarks.len() == fit::FACE_MESH_COUNT)
                        .then(|| {
                            (
                                r,
                                Landmarks {
                                    points: face.landmarks.iter().map(|l| l.position).collect(),
                                    visibility: vec![1.0; face.landmarks.len()],
                                },
                            )
                        })
                })
                .collect();
            let targets: Vec<Landmarks> = rows.iter().map(|(_, t)| t.clone()).collect();
            let fits = fit::fit_face(&self.layer, &targets, &FitConfig::face(), device)?;
            for ((r, _), f) in rows.iter().zip(fits) {
                labels[*r].jaw_pose = Some(f.jaw_pose);
                labels[*r].expression = Some(f.expression);
            }
        }
        Ok(labels)
    }
}

/// The person whose box overlaps `person_box` most (the first found when
/// none does).
fn pick(found: Vec<Person>, person_box: [f32; 4]) -> Option<Person> {
    let overlap = |p: &Person| furpe::mediapipe::pipeline::iou(bounds(p), person_box);
    let best = found
        .iter()
        .enumerate()
        .max_by(|a, b| overlap(a.1).total_cmp(&overlap(b.1)))
        .map(|(k, _)| k)?;
    found.into_iter().nth(best)
}

/// The 2D landmarks' bounding box (pixels).
fn bounds(p: &Person) -> [f32; 4] {
    p.body.iter().fold(
        [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ],
        |b, l| {
            [
                b[0].min(l.position[0]),
                b[1].min(l.position[1]),
                b[2].max(l.position[0]),
                b[3].max(l.position[1]),
            ]
        },
    )
}

fn body_landmarks(p: &Person) -> Landmarks {
    Landmarks {
        points: p.world.clone(),
        visibility: p.body.iter().map(|l| l.visibility.unwrap_or(1.0)).collect(),
    }
}

/// The square box around the body's 2D landmarks, and the weak-perspective
/// camera that puts the fitted joints (`posed`, `[144 × 3]` flat) on them.
fn camera_of(person: &Person, posed: &[f32]) -> ([f32; 4], Option<[f32; 3]>) {
    let b = bounds(person);
    let crop = CropTransform::around_box(b, 1.2);
    let half = crop.side / 2.0;
    let square = [
        crop.center[0] - half,
        crop.center[1] - half,
        crop.center[0] + half,
        crop.center[1] + half,
    ];
    let (mut xy, mut uv) = (Vec::new(), Vec::new());
    for (landmark, joint) in fit::blazepose_joints() {
        let l = &person.body[landmark];
        if l.visibility.unwrap_or(1.0) < 0.5 {
            continue;
        }
        xy.push([posed[joint * 3], posed[joint * 3 + 1]]);
        uv.push([
            (l.position[0] - crop.center[0]) / half,
            (l.position[1] - crop.center[1]) / half,
        ]);
    }
    let camera = furpe::experts::fit_weak_perspective(&xy, &uv).filter(|c| c[0] > 0.0);
    (square, camera)
}
