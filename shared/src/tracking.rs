//! Following one person through a video with MediaPipe's models: the live
//! page runs this every frame, and the native real-video tests run the very
//! same code on the same frames.
//!
//! - [`Tracker::find`]: where the person is. MediaPipe's person detector on
//!   the first frame, then the region the body's own landmarks give (as
//!   MediaPipe tracks), the detector again whenever the person is lost. The
//!   student's crop is the body window around the landmarks
//!   ([`crate::inference::body_window`], the rule training crops by), so it
//!   never feeds on the student's own error; nobody in view is `None`.
//! - [`Tracker::experts`]: MediaPipe's body, hand and face landmarks →
//!   SMPL-X fitted with [`crate::fit::fit_people`] (the fitting that
//!   `furpe label --experts mediapipe` labels with), warm-started from the
//!   previous frame's fit, then posed through the same
//!   [`Smplx::forward_rotations`] the student's output goes through.
//! - [`Tracker::head`]: the pose-head student ([`crate::nets::pose_head`])
//!   on the embedding of the body model that [`Tracker::find`] runs anyway,
//!   placed on the same landmarks as the fits are ([`head_prediction`]).
//!
//! [`PersonTrack`] is the first stage alone (the models and the previous
//! frame's regions), and [`Tracker::experts_on`] / [`Tracker::head_on`] the
//! second alone, so the two can run on different threads (the live page's
//! Web Worker); [`Person::to_bytes`] carries a person between them.
//!
//! Everything here reads tensors synchronously: it runs on a CPU backend
//! (Burn flex natively and in WebAssembly), where that is allowed.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use crate::crop::CropTransform;
use crate::fit::person::landmark_box;
use crate::fit::person::place_bodies;
use crate::fit::{fit_people, BodyFit, PersonFit, PersonFitConfig};
use crate::inference::{body_window, Prediction, StageTimes};
use crate::mediapipe::holistic::{Holistic, Parts, Person};
use crate::nets::pose_head::PoseHead;
use crate::smplx::{Smplx, SmplxConfig, SmplxData, SmplxInput};

/// Milliseconds spent in each stage of [`Tracker::experts`] and
/// [`Tracker::head`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExpertTimes {
    /// Detector (when tracking was lost) and landmark models.
    pub landmarks: f64,
    /// The fit; for [`Tracker::head`], the head and the camera's placement.
    pub fit: f64,
    /// Posing SMPL-X and reading vertices and joints back.
    pub body: f64,
}

impl ExpertTimes {
    /// The stages between four clock readings: before the models, after
    /// them, after the fit (or head), after posing.
    fn between([t0, t1, t2, t3]: [f64; 4]) -> Self {
        Self {
            landmarks: t1 - t0,
            fit: t2 - t1,
            body: t3 - t2,
        }
    }
}

/// One frame of the experts path.
#[derive(Debug, Clone)]
pub struct ExpertsFrame {
    pub person: Person,
    pub fit: PersonFit,
    /// The posed body, its crop the fit's body box and its camera the
    /// fit's (the same form the student's output takes, so drawing and
    /// scoring treat both alike).
    pub prediction: Prediction,
    pub times: ExpertTimes,
}

/// MediaPipe's models and the people of the previous frame: where the person
/// is, frame after frame. [`Tracker`] runs one; the live page also runs one
/// on its own in a Web Worker, beside the engine (the models' landmarks,
/// then the fit or the student, run in parallel on two cores).
pub struct PersonTrack<B: Backend> {
    holistic: Holistic<B>,
    people: Vec<Person>,
}

impl<B: Backend> PersonTrack<B> {
    pub fn new(holistic: Holistic<B>) -> Self {
        Self {
            holistic,
            people: Vec::new(),
        }
    }

    /// Forgets the previous frame (a new clip or camera).
    pub fn reset(&mut self) {
        self.people.clear();
    }

    /// MediaPipe's models on this frame (RGB8), starting from the previous
    /// frame's regions (the detector when there are none): the person, if
    /// anyone is in view.
    pub fn track(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
        parts: Parts,
    ) -> Result<Option<Person>, String> {
        self.people = self
            .holistic
            .track_parts(rgb, width, height, 1, &self.people, parts)
            .map_err(|e| e.to_string())?;
        Ok(self.people.first().cloned())
    }
}

/// The student's crop around a person MediaPipe found: the body window
/// around the landmarks (the rule training crops by).
pub fn person_crop(person: &Person, width: u32, height: u32) -> CropTransform {
    body_window(Some(landmark_box(person)), None, width, height)
}

/// MediaPipe's models, the body model (for fitting and for posing) and the
/// previous frame.
pub struct Tracker<A: AutodiffBackend> {
    track: PersonTrack<A::InnerBackend>,
    fit_layer: Smplx<A>,
    pose_layer: Smplx<A::InnerBackend>,
    device: A::Device,
    fit: Option<PersonFit>,
}

impl<A: AutodiffBackend> Tracker<A> {
    /// `body` is the body model the fits move and the drawing shows.
    pub fn new(
        holistic: Holistic<A::InnerBackend>,
        body: &SmplxData,
        device: &A::Device,
    ) -> Result<Self, String> {
        let (fit_layer, pose_layer) = layers::<A>(body, device)?;
        Ok(Self {
            track: PersonTrack::new(holistic),
            fit_layer,
            pose_layer,
            device: device.clone(),
            fit: None,
        })
    }

    /// Another body model; the track starts afresh.
    pub fn set_body(&mut self, body: &SmplxData) -> Result<(), String> {
        (self.fit_layer, self.pose_layer) = layers::<A>(body, &self.device)?;
        self.reset();
        Ok(())
    }

    /// Forgets the previous frame (a new clip or camera).
    pub fn reset(&mut self) {
        self.track.reset();
        self.fit = None;
    }

    /// The person's body landmarks in this frame (RGB8), and the student's
    /// crop around them ([`person_crop`]); `None` when nobody is in view.
    pub fn find(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
    ) -> Result<Option<(Person, CropTransform)>, String> {
        self.fit = None;
        Ok(self.track.track(rgb, width, height, Parts::BODY)?.map(|p| {
            let crop = person_crop(&p, width, height);
            (p, crop)
        }))
    }

    /// MediaPipe's models alone on this frame (RGB8; see
    /// [`PersonTrack::track`]): the first stage of [`Self::experts`] and
    /// [`Self::head`], for callers that run the second
    /// ([`Self::experts_on`], [`Self::head_on`]) themselves.
    pub fn track(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
        parts: Parts,
    ) -> Result<Option<Person>, String> {
        self.track.track(rgb, width, height, parts)
    }

    /// The parts [`Self::experts`] looks for under `config`: one pass per
    /// hand and face (half the time; the fit is warm and smoothing follows).
    pub fn experts_parts(config: &PersonFitConfig) -> Parts {
        Parts {
            hands: config.hand.is_some(),
            face: config.face.is_some(),
            refine: false,
        }
    }

    /// MediaPipe's landmarks and the SMPL-X fitted to them in this frame
    /// (RGB8), `now` a millisecond clock; `None` when nobody is in view.
    pub fn experts(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
        config: &PersonFitConfig,
        now: &dyn Fn() -> f64,
    ) -> Result<Option<ExpertsFrame>, String> {
        let t0 = now();
        let parts = Self::experts_parts(config);
        let Some(person) = self.track.track(rgb, width, height, parts)? else {
            self.fit = None;
            return Ok(None);
        };
        let landmarks = now() - t0;
        let mut frame = self.experts_on(person, config, now)?;
        frame.times.landmarks = landmarks;
        Ok(Some(frame))
    }

    /// [`Self::experts`] on a person found elsewhere (the live page's
    /// worker runs the models; the fit, warm from the previous person's,
    /// runs here). `times.landmarks` is left at 0.
    pub fn experts_on(
        &mut self,
        person: Person,
        config: &PersonFitConfig,
        now: &dyn Fn() -> f64,
    ) -> Result<ExpertsFrame, String> {
        let t1 = now();
        let device = self.device.clone();
        let fit = fit_people(
            &self.fit_layer,
            &[&person],
            &[self.fit.as_ref()],
            config,
            &device,
        )
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or("the fit returned no body")?;
        let t2 = now();
        let prediction = pose(&self.pose_layer, &fit, &device)?;
        let t3 = now();
        self.fit = Some(fit.clone());
        Ok(ExpertsFrame {
            person,
            fit,
            prediction,
            times: ExpertTimes::between([t1, t1, t2, t3]),
        })
    }

    /// Nobody was found in this frame (by a worker's [`PersonTrack`]): the
    /// next person's fit starts cold.
    pub fn lost(&mut self) {
        self.fit = None;
    }

    /// The pose-head student's body in this frame (RGB8): MediaPipe's body
    /// model tracks the person (as [`Self::find`]), the head reads its
    /// embedding; `None` when nobody is in view. Hands and face are the
    /// model's mean ones (the head predicts the body only).
    pub fn head(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
        head: &PoseHead<A::InnerBackend>,
        now: &dyn Fn() -> f64,
    ) -> Result<Option<ExpertsFrame>, String> {
        let t0 = now();
        self.fit = None;
        let Some(person) = self.track.track(rgb, width, height, Parts::BODY)? else {
            return Ok(None);
        };
        let landmarks = now() - t0;
        let mut frame = self.head_on(person, head, now)?;
        frame.times.landmarks = landmarks;
        Ok(Some(frame))
    }

    /// [`Self::head`] on a person found elsewhere (see [`Self::experts_on`]).
    pub fn head_on(
        &mut self,
        person: Person,
        head: &PoseHead<A::InnerBackend>,
        now: &dyn Fn() -> f64,
    ) -> Result<ExpertsFrame, String> {
        self.fit = None;
        let t1 = now();
        let fit = head_fit(head, &self.pose_layer, &person, &self.device)?;
        let t2 = now();
        let prediction = pose(&self.pose_layer, &fit, &self.device)?;
        let t3 = now();
        Ok(ExpertsFrame {
            person,
            fit,
            prediction,
            times: ExpertTimes::between([t1, t1, t2, t3]),
        })
    }
}

/// The fitting layer (autodiff) and the posing layer, from one body model.
fn layers<A: AutodiffBackend>(
    body: &SmplxData,
    device: &A::Device,
) -> Result<(Smplx<A>, Smplx<A::InnerBackend>), String> {
    // Axis-angle hands: what the fits move.
    let config = SmplxConfig::new();
    let fit = config
        .init::<A>(body, device)
        .map_err(|e| format!("the body model cannot be fitted: {e}"))?;
    let pose = config
        .init::<A::InnerBackend>(body, device)
        .map_err(|e| format!("the body model cannot be posed: {e}"))?;
    Ok((fit, pose))
}

/// A fit posed as a [`Prediction`]: vertices and joints in the camera-aligned
/// frame, the fit's body box as the crop, its camera.
fn pose<B: Backend>(
    layer: &Smplx<B>,
    fit: &PersonFit,
    device: &B::Device,
) -> Result<Prediction, String> {
    let params = fit.params();
    let input = SmplxInput::<B>::from_params(&params, device);
    let (shape, rotations, transl) = layer.rotations_of(input);
    let posed = layer.forward_rotations(shape, rotations.clone(), transl);
    let read = |t: Tensor<B, 3>| -> Result<Vec<[f32; 3]>, String> {
        let v = crate::readback::floats(t).map_err(|e| format!("the posed body: {e}"))?;
        Ok(crate::readback::triples(&v))
    };
    let rotations =
        crate::readback::floats(rotations).map_err(|e| format!("the rotations: {e}"))?;
    Ok(Prediction {
        crop: fit.crop(),
        camera: fit.camera.unwrap_or([f32::NAN; 3]),
        vertices: read(posed.vertices)?,
        joints: read(posed.joints)?,
        rotations,
        betas: params.betas[0].clone(),
        expression: params.expression[0].clone(),
        times: StageTimes::default(),
    })
}

/// The pose-head student's body for one MediaPipe person: the head on the
/// person's pose embedding, placed on its 2D landmarks like a fit
/// ([`place_bodies`]); hands and face left out. `layer` takes axis-angle
/// hands.
pub fn head_fit<B: Backend>(
    head: &PoseHead<B>,
    layer: &Smplx<B>,
    person: &Person,
    device: &B::Device,
) -> Result<PersonFit, String> {
    let dim = head.feature_dim();
    if person.feature.len() != dim {
        return Err(format!(
            "the pose model gave a {}-value embedding; the pose-head student reads {dim} (train it on labels of the same pose model)",
            person.feature.len()
        ));
    }
    let features = Tensor::<B, 1>::from_floats(person.feature.as_slice(), device).reshape([1, dim]);
    let rotations = head.forward(features); // [1, 22, 3, 3]
    let m = crate::readback::floats(rotations).map_err(|e| format!("the head's rotations: {e}"))?;
    let axis_angle = crate::rotation::host::flat_matrices_to_axis_angles(&m);
    let body = BodyFit {
        global_orient: [axis_angle[0], axis_angle[1], axis_angle[2]],
        body_pose: axis_angle[3..].to_vec(),
        // Not a fit: nothing was explained.
        residual_deg: f32::NAN,
    };
    place_bodies(layer, &[person], vec![body], device)
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or_else(|| "placing the body gave nothing".to_string())
}

/// [`head_fit`] posed: the body the pose-head student draws.
pub fn head_prediction<B: Backend>(
    head: &PoseHead<B>,
    layer: &Smplx<B>,
    person: &Person,
    device: &B::Device,
) -> Result<Prediction, String> {
    let fit = head_fit(head, layer, person, device)?;
    pose(layer, &fit, device)
}
