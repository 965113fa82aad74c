//! The live page's person finder, for a Web Worker: MediaPipe's models and
//! the previous frame's regions ([`furpe::tracking::PersonTrack`]), nothing
//! else. `www/finder-worker.js` runs one beside the page's engine, so
//! MediaPipe's landmarks of the next frame are computed while the engine
//! fits SMPL-X to (or runs a student on) the last one: on a machine with two
//! cores the stages overlap instead of adding up. The person crosses to the
//! engine as bytes ([`Person::to_bytes`]) and enters
//! [`crate::LiveEngine::step_with`].

use furpe::fit::PersonFitConfig;
use furpe::mediapipe::holistic::{Holistic, Parts, Person};
use furpe::mediapipe::package::ModelFile;
use furpe::tracking::{PersonTrack, Tracker};
use wasm_bindgen::prelude::*;

use crate::js_error;
use crate::live::{CpuBackend, FitBackend};

/// MediaPipe's models from their bytes (`pose_detection.tflite`, the lite
/// pose landmark model, `hand_landmark_full.tflite`, `face_landmark.tflite`;
/// an empty hand or face file leaves that part out); errors name the file.
pub(crate) fn holistic(
    detector: Vec<u8>,
    landmarks: Vec<u8>,
    hand: Vec<u8>,
    face: Vec<u8>,
) -> Result<Holistic<CpuBackend>, JsValue> {
    let (hands, with_face) = (!hand.is_empty(), !face.is_empty());
    let mut files = [
        (ModelFile::PoseDetection, detector),
        (ModelFile::PoseLandmarkLite, landmarks),
        (ModelFile::HandLandmarkFull, hand),
        (ModelFile::FaceLandmark, face),
    ];
    Holistic::<CpuBackend>::new(
        |file: ModelFile| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
            files
                .iter_mut()
                .find(|(f, _)| *f == file)
                .map(|(_, bytes)| std::mem::take(bytes))
                .filter(|b| !b.is_empty())
                .ok_or_else(|| format!("{}.tflite was not given", file.stem()).into())
        },
        ModelFile::PoseLandmarkLite,
        hands,
        with_face,
        &Default::default(),
    )
    .map_err(js_error)
}

/// The frame's RGB bytes (MediaPipe's models read RGB8).
pub(crate) fn rgb_of(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let expected = width as usize * height as usize * 4;
    if width == 0 || height == 0 || rgba.len() != expected {
        return Err(format!(
            "a {width}×{height} RGBA frame has {expected} bytes, got {}",
            rgba.len()
        ));
    }
    Ok(rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect())
}

/// The parts a page mode needs found: the experts mode's (body, and hands
/// and face when loaded, one pass each) or the body alone (the student's
/// crop, the pose head's embedding).
pub(crate) fn parts_for(mode: &str) -> Result<Parts, String> {
    match mode {
        "experts" => Ok(Tracker::<FitBackend>::experts_parts(
            &PersonFitConfig::live(),
        )),
        "student" | "head" => Ok(Parts::BODY),
        other => Err(format!(
            "unknown mode {other:?} (expected experts, head or student)"
        )),
    }
}

/// MediaPipe's person tracking alone (JS, in a worker:
/// `new PersonFinder(detector, landmarks, hand, face)`).
#[wasm_bindgen]
pub struct PersonFinder {
    track: PersonTrack<CpuBackend>,
    parts: Parts,
}

#[wasm_bindgen]
impl PersonFinder {
    /// The models from their bytes (see [`holistic`]); finds what the
    /// student mode needs until [`Self::set_mode`] says otherwise.
    #[wasm_bindgen(constructor)]
    pub fn new(
        detector: Vec<u8>,
        landmarks: Vec<u8>,
        hand: Vec<u8>,
        face: Vec<u8>,
    ) -> Result<PersonFinder, JsValue> {
        Ok(Self {
            track: PersonTrack::new(holistic(detector, landmarks, hand, face)?),
            parts: Parts::BODY,
        })
    }

    /// Which page mode the people are for (`experts`, `head`, `student`);
    /// the track starts afresh.
    pub fn set_mode(&mut self, mode: &str) -> Result<(), JsValue> {
        self.parts = parts_for(mode).map_err(js_error)?;
        self.track.reset();
        Ok(())
    }

    /// Forgets the previous frame (a new clip or camera).
    pub fn reset(&mut self) {
        self.track.reset();
    }

    /// The person in one RGBA frame as bytes for `LiveEngine.step_with`,
    /// or `undefined` when nobody is in view.
    pub fn find(
        &mut self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
    ) -> Result<Option<Vec<u8>>, JsValue> {
        let rgb = rgb_of(&rgba, width, height).map_err(js_error)?;
        let person: Option<Person> = self
            .track
            .track(&rgb, width, height, self.parts)
            .map_err(js_error)?;
        person.map(|p| p.to_bytes().map_err(js_error)).transpose()
    }
}
