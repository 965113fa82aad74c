//! `furpe label --experts mediapipe`: MediaPipe's body and hand models as the
//! body and hand experts. Each image is searched for people
//! ([`Holistic::detect`]); the one overlapping the annotation's person box
//! most is labelled by fitting SMPL-X to its world landmarks
//! ([`furpe::fit`]): global orientation and 21 body joints from BlazePose's
//! 33 points, each hand's 15 joints from its 21 points, jaw and expression
//! from the face mesh's 468 points (unless a face expert file is given), by
//! [`furpe::fit::fit_people`], which the live page's experts mode also runs.
//! The body's weak-perspective camera is the least-squares fit of the
//! fitted joints onto the 2D landmarks (selection's reprojection step reads it).
//!
//! The body's feature for the KL distillation is the pose model's shared
//! embedding ([`Person::feature`]); hands and face carry none (their
//! feature columns are left out, so that term has nothing to match for
//! them). No body shape: `smpl_betas` stays NaN. A part the models did not
//! find keeps NaN, which the selection drops.

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use furpe::dataset::Annotation;
use furpe::fit::person::landmark_box;
use furpe::fit::{fit_people, FitConfig, PersonFitConfig};
use furpe::mediapipe::holistic::{Holistic, Person};
use furpe::smplx::Smplx;

use crate::crops::RgbImage;

/// The loaded models and the body model the fits pose.
pub(crate) struct MediaPipeExperts<B: Backend> {
    pub holistic: Holistic<B>,
    pub layer: Smplx<Autodiff<B>>,
    pub hands: bool,
    pub face: bool,
    /// λ of the hand and face fits' priors, where not the defaults.
    pub hand_prior: Option<f32>,
    pub face_prior: Option<f32>,
}

/// `config` with its prior's λ replaced, when one is given.
fn with_prior(config: FitConfig, prior: Option<f32>) -> FitConfig {
    FitConfig {
        prior: prior.unwrap_or(config.prior),
        ..config
    }
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

        // 2. Their fits, all images in one batch per part (the same rule as
        // the live page's experts mode, cold starts).
        let rows: Vec<usize> = (0..people.len()).filter(|&r| people[r].is_some()).collect();
        let found: Vec<&Person> = people.iter().flatten().collect();
        let config = PersonFitConfig {
            hand: self
                .hands
                .then(|| with_prior(FitConfig::hand(), self.hand_prior)),
            face: self
                .face
                .then(|| with_prior(FitConfig::face(), self.face_prior)),
            ..PersonFitConfig::label()
        };
        let fits = fit_people(&self.layer, &found, &[], &config, device)?;

        let mut labels = vec![MediaPipeLabel::default(); images.len()];
        for ((&r, person), fit) in rows.iter().zip(&found).zip(fits) {
            let face = fit.face.as_ref();
            labels[r] = MediaPipeLabel {
                body_box: Some(fit.body_box),
                body_camera: fit.camera,
                global_orient: Some(fit.body.global_orient),
                body_pose: Some(fit.body.body_pose.clone()),
                feature_body: Some(person.feature.clone()).filter(|f| !f.is_empty()),
                left_hand_pose: fit.left_hand.map(|h| h.hand_pose),
                right_hand_pose: fit.right_hand.map(|h| h.hand_pose),
                jaw_pose: face.map(|f| f.jaw_pose),
                expression: face.map(|f| f.expression.clone()),
            };
        }
        Ok(labels)
    }
}

/// The person whose box overlaps `person_box` most (the first found when
/// none does).
pub(crate) fn pick(found: Vec<Person>, person_box: [f32; 4]) -> Option<Person> {
    let overlap = |p: &Person| furpe::mediapipe::pipeline::iou(landmark_box(p), person_box);
    let best = found
        .iter()
        .enumerate()
        .max_by(|a, b| overlap(a.1).total_cmp(&overlap(b.1)))
        .map(|(k, _)| k)?;
    found.into_iter().nth(best)
}
