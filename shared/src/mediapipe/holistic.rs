//! MediaPipe's models assembled into one still-image path, the way
//! MediaPipe runs them in static-image mode: the person detector on the
//! letterboxed image → each person's rotated region → body landmarks
//! (refined from the heatmap) →
//! each hand's region from the body's wrist and knuckles (this project's
//! rule, [`pipeline::hand_roi_from_pose`]) → hand landmarks, run a second
//! time on the region its own first landmarks give; the face likewise from
//! the body's face points ([`pipeline::face_roi_from_pose`]) → face mesh,
//! run again on the region the mesh gives. Everything returned is in image
//! pixels; the world landmarks are metres.
//!
//! `furpe detect` and (later) the live page's experts mode both call
//! [`Holistic::detect`]; the numbers it uses live in [`super::pipeline`].

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::package::ModelFile;
use super::pipeline::{
    self, Anchor, Detection, Landmark, FACE_LANDMARKS, HAND_LANDMARKS, POSE_DETECTOR,
    POSE_LANDMARKS, PRESENCE_THRESHOLD,
};
use crate::crop::{Border, CropTransform};
use crate::tflite::{Graph, Model, TfliteError};

// BlazePose landmarks the hand regions start from.
const LEFT_WRIST: usize = 15;
const RIGHT_WRIST: usize = 16;
const LEFT_PINKY: usize = 17;
const RIGHT_PINKY: usize = 18;
const LEFT_INDEX: usize = 19;
const RIGHT_INDEX: usize = 20;
/// The last of BlazePose's face points (0 nose … 10 mouth, right corner).
const MOUTH_RIGHT: usize = 10;

/// Number of body landmarks reported (BlazePose's 33; the model's 6
/// auxiliary points only place the region).
pub const NUM_BODY: usize = 33;

/// One hand found in an image.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Hand {
    /// The window the hand model saw last.
    pub roi: CropTransform,
    /// The hand model's hand flag (probability that a hand is in the window).
    pub presence: f32,
    /// 21 points, pixels (z in the same scale, relative to the wrist).
    pub landmarks: Vec<Landmark>,
    /// 21 points, metres, origin near the hand's centre.
    pub world: Vec<[f32; 3]>,
}

/// One face found in an image.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Face {
    /// The window the face model saw last.
    pub roi: CropTransform,
    /// The face model's face flag (probability).
    pub presence: f32,
    /// The mesh's 468 points, pixels (z in the same scale).
    pub landmarks: Vec<Landmark>,
}

/// One person found in an image.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Person {
    /// The detector's box and keypoints, image pixels; `None` when the
    /// region came from the previous frame ([`Holistic::track`]).
    pub detection: Option<Detection>,
    /// The window the body model saw last.
    pub roi: CropTransform,
    /// The region for the next frame of a video, from this frame's
    /// alignment landmarks (MediaPipe's tracking).
    pub next_roi: Option<CropTransform>,
    /// The body model's pose presence (probability).
    pub presence: f32,
    /// BlazePose's 33 points, pixels, with visibility and presence.
    pub body: Vec<Landmark>,
    /// The same 33 points in metres, origin between the hips.
    pub world: Vec<[f32; 3]>,
    /// The pose model's embedding that its landmark, world-point and
    /// presence heads share (e.g. 2 × 2 × 288 for the full model; empty if
    /// the model has none where expected): the body expert's feature for
    /// FuRPE's KL distillation.
    pub feature: Vec<f32>,
    /// The subject's own left and right hands (not the image's sides).
    pub left_hand: Option<Hand>,
    pub right_hand: Option<Hand>,
    pub face: Option<Face>,
}

impl Person {
    /// The person as bytes (MessagePack: exact floats, NaN included), for
    /// the live page's worker to hand what it found to the engine.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        rmp_serde::to_vec(self).map_err(|e| format!("a person does not encode: {e}"))
    }

    /// [`Self::to_bytes`] read back; the error says what was malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        rmp_serde::from_slice(bytes).map_err(|e| {
            format!(
                "a person's bytes ({} bytes) do not decode: {e}",
                bytes.len()
            )
        })
    }
}

/// Which parts a call looks for, beyond the body (a part whose model was
/// not loaded is never looked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub hands: bool,
    pub face: bool,
    /// Run the hand and face models a second time on the window their own
    /// first landmarks give (still images: the body's points place those
    /// windows only roughly). Off, each runs once: half the time, for video.
    pub refine: bool,
}

impl Parts {
    /// Every part the loaded models can find, refined.
    pub const ALL: Parts = Parts {
        hands: true,
        face: true,
        refine: true,
    };
    /// The body only (e.g. to place a crop).
    pub const BODY: Parts = Parts {
        hands: false,
        face: false,
        refine: false,
    };
}

/// Why detection failed (the models misbehaved; an image without people is
/// not an error).
#[derive(Debug, thiserror::Error)]
pub enum HolisticError {
    #[error(transparent)]
    Model(#[from] TfliteError),
    #[error("{model}: output {what}")]
    Output { model: &'static str, what: String },
}

/// One model output read back to the host: TFLite shape and values.
type HostOutput = (Vec<usize>, Vec<f32>);

/// The body model's answer on one window.
struct Body {
    roi: CropTransform,
    presence: f32,
    /// 39 landmarks (33 body points, 6 auxiliary).
    landmarks: Vec<Landmark>,
    world: Vec<[f32; 3]>,
    feature: Vec<f32>,
}

/// The loaded models.
#[derive(Debug, Clone)]
pub struct Holistic<B: Backend> {
    pose_detector: Graph<B>,
    pose_landmarks: Graph<B>,
    /// Length of the pose model's shared embedding (kept as an output).
    pose_feature: Option<usize>,
    hand_landmarks: Option<Graph<B>>,
    face_landmarks: Option<Graph<B>>,
    anchors: Vec<Anchor>,
    pose_model: ModelFile,
    device: B::Device,
}

impl<B: Backend> Holistic<B> {
    /// Builds the graphs from model bytes: `load(file)` returns the bytes of
    /// one model (read from the npm package natively, fetched in the
    /// browser). `pose_model` picks lite, full or heavy; hands and face
    /// are skipped when `hands` / `face` is false.
    pub fn new<E>(
        mut load: impl FnMut(ModelFile) -> Result<Vec<u8>, E>,
        pose_model: ModelFile,
        hands: bool,
        face: bool,
        device: &B::Device,
    ) -> Result<Self, E>
    where
        E: From<TfliteError>,
    {
        let mut graph = |file: ModelFile| -> Result<(Graph<B>, Option<usize>), E> {
            let bytes = load(file)?;
            let model = Model::parse(&bytes, &format!("{}.tflite", file.stem()))?;
            match file {
                ModelFile::PoseLandmarkLite
                | ModelFile::PoseLandmarkFull
                | ModelFile::PoseLandmarkHeavy => {
                    // The segmentation mask (`Identity_2`) is not used:
                    // skipping it saves 13–28 % of the time (BENCHMARKS.md).
                    // The embedding the landmark, world and presence heads
                    // share is kept: it is the body expert's feature.
                    let mut keep = vec!["Identity", "Identity_1", "Identity_3", "Identity_4"];
                    let embedding = model
                        .tensor_named("Identity_4")
                        .and_then(|world| model.upstream(world, 2))
                        .map(|t| &model.tensors[t]);
                    let feature = embedding.map(|t| t.shape.iter().product::<usize>());
                    // Outputs are told apart by their length.
                    let distinct = feature.filter(|len| {
                        ![
                            POSE_LANDMARKS.num_landmarks * 5,
                            1,
                            POSE_LANDMARKS.num_landmarks * 3,
                        ]
                        .contains(len)
                    });
                    if let (Some(t), Some(_)) = (embedding, distinct) {
                        keep.push(&t.name);
                    }
                    Ok((Graph::with_outputs(&model, Some(&keep), device)?, distinct))
                }
                _ => Ok((Graph::new(&model, device)?, None)),
            }
        };
        let (pose_landmarks, pose_feature) = graph(pose_model)?;
        Ok(Self {
            pose_detector: graph(ModelFile::PoseDetection)?.0,
            pose_landmarks,
            pose_feature,
            hand_landmarks: if hands {
                Some(graph(ModelFile::HandLandmarkFull)?.0)
            } else {
                None
            },
            face_landmarks: if face {
                Some(graph(ModelFile::FaceLandmark)?.0)
            } else {
                None
            },
            anchors: pipeline::ssd_anchors(&POSE_DETECTOR.anchors),
            pose_model,
            device: device.clone(),
        })
    }

    /// Length of [`Person::feature`] (`None`: the pose model has no
    /// embedding where expected, and features stay empty).
    pub fn body_feature_len(&self) -> Option<usize> {
        self.pose_feature
    }

    /// Up to `max_people` people in an RGB8 image (row-major, 3 bytes per
    /// pixel), best detection first. An image with nobody in it gives an
    /// empty list.
    pub fn detect(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        max_people: usize,
    ) -> Result<Vec<Person>, HolisticError> {
        self.detect_parts(rgb, width, height, max_people, Parts::ALL)
    }

    /// [`Self::detect`], looking only for `parts` besides the body.
    pub fn detect_parts(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        max_people: usize,
        parts: Parts,
    ) -> Result<Vec<Person>, HolisticError> {
        let letterbox = CropTransform::whole_image(width, height);
        let size = ModelFile::PoseDetection.input_size();
        let input = pipeline::input_tensor(
            &letterbox,
            rgb,
            width,
            height,
            size,
            POSE_DETECTOR.input_range,
            Border::Zero,
        );
        let outputs = self.run(&self.pose_detector, input, size)?;
        let boxes = by_last_dim(
            &outputs,
            4 + 2 * POSE_DETECTOR.num_keypoints,
            "pose_detection",
        )?;
        let scores = by_last_dim(&outputs, 1, "pose_detection")?;
        let detections =
            pipeline::detect(&POSE_DETECTOR, &self.anchors, boxes, scores).map_err(|e| {
                HolisticError::Output {
                    model: "pose_detection",
                    what: e.to_string(),
                }
            })?;
        let mut people = Vec::new();
        for detection in detections.into_iter().take(max_people) {
            let detection = detection.to_image(&letterbox);
            let Some(roi) = pipeline::pose_roi_from_detection(&detection) else {
                continue;
            };
            if let Some(person) = self.person(rgb, width, height, Some(detection), roi, parts)? {
                people.push(person);
            }
        }
        Ok(people)
    }

    /// The next frame of a video: each person of the previous frame is
    /// looked for in the region their landmarks gave (no detector), as
    /// MediaPipe tracks; when anyone is lost, or there was nobody, the frame
    /// is detected afresh ([`Self::detect`]).
    pub fn track(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        max_people: usize,
        previous: &[Person],
    ) -> Result<Vec<Person>, HolisticError> {
        self.track_parts(rgb, width, height, max_people, previous, Parts::ALL)
    }

    /// [`Self::track`], looking only for `parts` besides the body.
    pub fn track_parts(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        max_people: usize,
        previous: &[Person],
        parts: Parts,
    ) -> Result<Vec<Person>, HolisticError> {
        let mut people = Vec::with_capacity(previous.len());
        for roi in previous.iter().filter_map(|p| p.next_roi) {
            if let Some(person) = self.person(rgb, width, height, None, roi, parts)? {
                people.push(person);
            }
        }
        if people.is_empty() || people.len() < previous.len() {
            return self.detect_parts(rgb, width, height, max_people, parts);
        }
        Ok(people)
    }

    /// The body, hands and face in one region; `None` when the body model
    /// says nobody is there.
    fn person(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        detection: Option<Detection>,
        roi: CropTransform,
        parts: Parts,
    ) -> Result<Option<Person>, HolisticError> {
        // One pass, as MediaPipe's static-image mode runs it (the region
        // from the landmarks is for the next frame of a video).
        let Some(Body {
            roi,
            presence,
            landmarks,
            world,
            feature,
        }) = self.body(rgb, width, height, roi)?
        else {
            return Ok(None);
        };
        let hand =
            |wrist: usize, index: usize, pinky: usize| -> Result<Option<Hand>, HolisticError> {
                let roi = pipeline::hand_roi_from_pose(
                    landmarks[wrist].xy(),
                    landmarks[index].xy(),
                    landmarks[pinky].xy(),
                );
                match roi {
                    Some(roi) if parts.hands => self.hand(rgb, width, height, roi, parts.refine),
                    _ => Ok(None),
                }
            };
        let left_hand = hand(LEFT_WRIST, LEFT_INDEX, LEFT_PINKY)?;
        let right_hand = hand(RIGHT_WRIST, RIGHT_INDEX, RIGHT_PINKY)?;
        let face_points: Vec<[f32; 2]> =
            landmarks[..=MOUTH_RIGHT].iter().map(Landmark::xy).collect();
        let face = match pipeline::face_roi_from_pose(&face_points) {
            Some(roi) if parts.face => self.face(rgb, width, height, roi, parts.refine)?,
            _ => None,
        };
        Ok(Some(Person {
            detection,
            next_roi: pipeline::pose_roi_from_landmarks(&landmarks),
            roi,
            presence,
            body: landmarks[..NUM_BODY].to_vec(),
            world: world[..NUM_BODY].to_vec(),
            feature,
            left_hand,
            right_hand,
            face,
        }))
    }

    /// The body model on one window, `None` below the presence threshold.
    fn body(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        roi: CropTransform,
    ) -> Result<Option<Body>, HolisticError> {
        let size = self.pose_model.input_size();
        let outputs = self.window(
            &self.pose_landmarks,
            self.pose_model,
            rgb,
            width,
            height,
            &roi,
        )?;
        let name = "pose_landmark";
        let mut raw = by_len(
            &outputs,
            POSE_LANDMARKS.num_landmarks * POSE_LANDMARKS.values_per_landmark,
            name,
        )?
        .to_vec();
        let presence = by_len(&outputs, 1, name)?[0];
        let world = by_len(&outputs, POSE_LANDMARKS.num_landmarks * 3, name)?;
        if presence.is_nan() || presence < PRESENCE_THRESHOLD {
            return Ok(None);
        }
        let shape = |e: pipeline::ShapeError| HolisticError::Output {
            model: "pose_landmark",
            what: e.to_string(),
        };
        // The heatmap: the [1, rows, cols, 39] output.
        let (heatmap_shape, heatmap) = outputs
            .iter()
            .find(|(shape, _)| shape.len() == 4 && shape[3] == POSE_LANDMARKS.num_landmarks)
            .ok_or_else(|| HolisticError::Output {
                model: "pose_landmark",
                what: "no [1, rows, cols, 39] heatmap".into(),
            })?;
        pipeline::refine_from_heatmap(
            &mut raw,
            POSE_LANDMARKS.values_per_landmark,
            size,
            heatmap,
            heatmap_shape[1],
            heatmap_shape[2],
        )
        .map_err(shape)?;
        let landmarks = pipeline::project_landmarks(&POSE_LANDMARKS, &raw, &roi).map_err(shape)?;
        let world = pipeline::project_world_landmarks(world, &roi).map_err(shape)?;
        let feature = match self.pose_feature {
            Some(len) => by_len(&outputs, len, name)?.to_vec(),
            None => Vec::new(),
        };
        Ok(Some(Body {
            roi,
            presence,
            landmarks,
            world,
            feature,
        }))
    }

    /// The hand model on a window, then (`refine`) once more on the window
    /// its own landmarks give; `None` when there is no hand model or no hand.
    fn hand(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        roi: CropTransform,
        refine: bool,
    ) -> Result<Option<Hand>, HolisticError> {
        let Some(graph) = &self.hand_landmarks else {
            return Ok(None);
        };
        let once = |roi: CropTransform| -> Result<Option<Hand>, HolisticError> {
            let outputs =
                self.window(graph, ModelFile::HandLandmarkFull, rgb, width, height, &roi)?;
            let name = "hand_landmark_full";
            // Outputs: 63 landmarks, hand flag, handedness, 63 world points
            // (two outputs of each length: the model's order decides).
            let count = HAND_LANDMARKS.num_landmarks * HAND_LANDMARKS.values_per_landmark;
            let [raw, flag, _handedness, world] =
                [0, 1, 2, 3].map(|i| outputs.get(i).map(|o| &o.1[..]));
            let (Some(raw), Some(flag), Some(world)) = (raw, flag, world) else {
                return Err(HolisticError::Output {
                    model: name,
                    what: format!("{} outputs, expected 4", outputs.len()),
                });
            };
            if raw.len() != count || flag.len() != 1 || world.len() != count {
                return Err(HolisticError::Output {
                    model: name,
                    what: format!(
                        "lengths {} / {} / {}, expected {count} / 1 / {count}",
                        raw.len(),
                        flag.len(),
                        world.len()
                    ),
                });
            }
            let presence = flag[0];
            if presence.is_nan() || presence < PRESENCE_THRESHOLD {
                return Ok(None);
            }
            let shape = |e: pipeline::ShapeError| HolisticError::Output {
                model: name,
                what: e.to_string(),
            };
            Ok(Some(Hand {
                roi,
                presence,
                landmarks: pipeline::project_landmarks(&HAND_LANDMARKS, raw, &roi)
                    .map_err(shape)?,
                world: pipeline::project_world_landmarks(world, &roi).map_err(shape)?,
            }))
        };
        if !refine {
            return once(roi);
        }
        refined(roi, once, |h: &Hand| {
            pipeline::hand_roi_from_landmarks(&h.landmarks)
        })
    }

    /// The face model on a window, then (`refine`) once more on the window
    /// its own landmarks give; `None` when there is no face model or no face.
    fn face(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        roi: CropTransform,
        refine: bool,
    ) -> Result<Option<Face>, HolisticError> {
        let Some(graph) = &self.face_landmarks else {
            return Ok(None);
        };
        let once = |roi: CropTransform| -> Result<Option<Face>, HolisticError> {
            let outputs = self.window(graph, ModelFile::FaceLandmark, rgb, width, height, &roi)?;
            let name = "face_landmark";
            let raw = by_len(
                &outputs,
                FACE_LANDMARKS.num_landmarks * FACE_LANDMARKS.values_per_landmark,
                name,
            )?;
            // The face flag is a raw logit.
            let presence = pipeline::sigmoid(by_len(&outputs, 1, name)?[0]);
            if presence.is_nan() || presence < PRESENCE_THRESHOLD {
                return Ok(None);
            }
            let landmarks =
                pipeline::project_landmarks(&FACE_LANDMARKS, raw, &roi).map_err(|e| {
                    HolisticError::Output {
                        model: name,
                        what: e.to_string(),
                    }
                })?;
            Ok(Some(Face {
                roi,
                presence,
                landmarks,
            }))
        };
        if !refine {
            return once(roi);
        }
        refined(roi, once, |f: &Face| {
            pipeline::face_roi_from_landmarks(&f.landmarks)
        })
    }

    /// A landmark model on its window of the image: sampled at the model's
    /// size and range, the edge repeated outside the image (MediaPipe's
    /// landmark crops; see [`pipeline::input_tensor`]).
    fn window(
        &self,
        graph: &Graph<B>,
        file: ModelFile,
        rgb: &[u8],
        width: u32,
        height: u32,
        roi: &CropTransform,
    ) -> Result<Vec<HostOutput>, HolisticError> {
        let size = file.input_size();
        let input = pipeline::input_tensor(
            roi,
            rgb,
            width,
            height,
            size,
            file.input_range(),
            Border::Replicate,
        );
        self.run(graph, input, size)
    }

    /// One model on one `[3, size, size]` input; its outputs read back as
    /// (shape, values) in the model's order.
    fn run(
        &self,
        graph: &Graph<B>,
        input: Vec<f32>,
        size: usize,
    ) -> Result<Vec<HostOutput>, HolisticError> {
        let x = Tensor::<B, 4>::from_data(TensorData::new(input, [1, 3, size, size]), &self.device);
        let outputs = graph.forward(x)?;
        outputs
            .into_iter()
            .map(|o| {
                let values =
                    crate::readback::floats(o.data).map_err(|e| HolisticError::Output {
                        model: "tflite",
                        what: format!("'{}': {e}", o.name),
                    })?;
                Ok((o.shape, values))
            })
            .collect()
    }
}

/// The first output whose last dimension is `last`.
fn by_last_dim<'a>(
    outputs: &'a [HostOutput],
    last: usize,
    model: &'static str,
) -> Result<&'a [f32], HolisticError> {
    outputs
        .iter()
        .find(|(shape, _)| shape.last() == Some(&last))
        .map(|(_, v)| &v[..])
        .ok_or_else(|| HolisticError::Output {
            model,
            what: format!("none with last dimension {last}"),
        })
}

/// The first output holding `len` values.
fn by_len<'a>(
    outputs: &'a [HostOutput],
    len: usize,
    model: &'static str,
) -> Result<&'a [f32], HolisticError> {
    outputs
        .iter()
        .find(|(_, v)| v.len() == len)
        .map(|(_, v)| &v[..])
        .ok_or_else(|| HolisticError::Output {
            model,
            what: format!("none of {len} values"),
        })
}

/// A part model run on `roi`, then once more on the window its own first
/// landmarks give (`next`); the first answer stands when the second finds
/// nothing.
fn refined<T>(
    roi: CropTransform,
    once: impl Fn(CropTransform) -> Result<Option<T>, HolisticError>,
    next: impl Fn(&T) -> Option<CropTransform>,
) -> Result<Option<T>, HolisticError> {
    let Some(first) = once(roi)? else {
        return Ok(None);
    };
    match next(&first) {
        Some(window) => Ok(Some(once(window)?.unwrap_or(first))),
        None => Ok(Some(first)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn landmark(x: f32, visibility: Option<f32>) -> Landmark {
        Landmark {
            position: [x, 2.0 * x, -x],
            visibility,
            presence: visibility,
        }
    }

    /// A person survives the worker → engine hop bit for bit, NaN included
    /// (JSON would turn it into null), and bad bytes say so.
    #[test]
    fn person_bytes_round_trip() {
        let roi = CropTransform::whole_image(640, 360);
        let person = Person {
            detection: Some(Detection {
                score: 0.9,
                bbox: [1.0, 2.0, 3.0, 4.0],
                keypoints: vec![[0.5, 0.25]; 4],
            }),
            roi,
            next_roi: None,
            presence: 0.75,
            body: (0..33).map(|i| landmark(i as f32, Some(0.5))).collect(),
            world: vec![[0.1, f32::NAN, -0.3]; 33],
            feature: vec![1.5; 12],
            left_hand: Some(Hand {
                roi,
                presence: 0.6,
                landmarks: (0..21).map(|i| landmark(i as f32, None)).collect(),
                world: vec![[0.0; 3]; 21],
            }),
            right_hand: None,
            face: Some(Face {
                roi,
                presence: 0.8,
                landmarks: (0..468).map(|i| landmark(i as f32, None)).collect(),
            }),
        };
        let bytes = person.to_bytes().expect("encodes");
        let back = Person::from_bytes(&bytes).expect("decodes");
        assert_eq!(back.detection, person.detection);
        assert_eq!(back.roi, person.roi);
        assert_eq!(back.body, person.body);
        assert!(back.world[0][1].is_nan() && back.world[0][0] == 0.1);
        assert_eq!(back.feature, person.feature);
        assert_eq!(
            back.left_hand.map(|h| h.landmarks),
            person.left_hand.map(|h| h.landmarks)
        );
        assert!(back.right_hand.is_none());
        assert_eq!(back.face.map(|f| f.landmarks.len()), Some(468));
        let err = Person::from_bytes(&bytes[..bytes.len() / 2]).expect_err("truncated");
        assert!(err.contains("do not decode"), "{err}");
    }
}
