//! The live page's engine: one webcam frame per `step`, on WebGPU or the CPU.
//!
//! JS owns the camera and the frame loop; each `step` gets the frame's RGBA
//! pixels (nothing leaves the page) and draws the mesh over the frame and in
//! a side view, in one of three modes:
//! - *experts*: MediaPipe's body, hand and face models find the person and
//!   SMPL-X is fitted to their landmarks, warm-started from the previous
//!   frame (`furpe::tracking::Tracker::experts`, the fitting `furpe label
//!   --experts mediapipe` labels with); on the CPU (Burn flex, SIMD128).
//! - *head*: the pose-head student (`furpe::nets::pose_head`): an MLP on
//!   the embedding of MediaPipe's body model, which tracks the person
//!   anyway; one forward pass instead of a fit (`Tracker::head`).
//! - *student*: the FuRPE student on the crop around the person that
//!   MediaPipe's detector and landmarks track (`Tracker::find`; without
//!   MediaPipe's models, around the last body, else the centred frame), on
//!   WebGPU or the CPU.
//!
//! MediaPipe's models normally run in a Web Worker (`PersonFinder`,
//! `crate::finder`): the page hands each person it found to
//! [`LiveEngine::step_with`], which runs only this mode's own stage, so the
//! models and the engine overlap; [`LiveEngine::step`] runs both in turn.
//!
//! Either way the body is posed by the same SMPL-X path and smoothed if
//! asked. Mutable state sits in `RefCell`s that are never borrowed across an
//! `await`, so JS may toggle options or drop files while a frame is in flight.
//!
//! Why this file is long (~900 lines): it is the page's one engine, wasm-bindgen
//! glue around shared code (tracking, inference, render, filter) that holds no
//! maths of its own.

use std::cell::RefCell;
use std::rc::Rc;

use burn::backend::wgpu::{init_device, RuntimeOptions, WgpuDevice, WgpuSetup};
use furpe::camera::PinholeCamera;
use furpe::crop::CropTransform;
use furpe::filter::{OneEuro, OneEuroConfig};
use furpe::fit::{blazepose_joints, PersonFitConfig};
use furpe::inference::{body_window, BodyRegressor, Prediction, FOLLOW_SCALE};
use furpe::mediapipe::holistic::Person;
use furpe::nets::pose_head::{self, PoseHead};
use furpe::nets::student_file;
use furpe::nets::StudentConfig;
use furpe::render::{
    vertex_normals, Background, BodyParts, Light, Lighting, MeshData, MeshRenderer, Outfit, Scene,
    View, COLOR_FORMAT,
};
use furpe::smplx::{SmplxConfig, SmplxData};
use furpe::tracking::{person_crop, Tracker};
use serde_json::json;
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

use crate::display::{Display, Gpu};
use crate::finder::{holistic, parts_for, rgb_of};
use crate::{js_error, now};

type GpuBackend = burn::backend::Wgpu<f32, i32, u32>;
pub(crate) type CpuBackend = burn::backend::Flex;
/// The experts mode's fits take gradient steps on the CPU.
pub(crate) type FitBackend = burn::backend::Autodiff<CpuBackend>;

/// What the page draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// MediaPipe's landmarks → SMPL-X fit.
    Experts,
    /// The FuRPE student.
    Student,
    /// The pose-head student on MediaPipe's embedding.
    Head,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Experts => "experts",
            Mode::Student => "student",
            Mode::Head => "head",
        }
    }
}

/// The network and body model on the chosen backend.
/// Built once per model or student change and kept behind an `Rc`, so the
/// variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Engine {
    Gpu(BodyRegressor<GpuBackend>),
    Cpu(BodyRegressor<CpuBackend>),
}

/// Where the student's weights came from (shown in the page).
#[derive(Clone)]
enum StudentSource {
    Random,
    File { name: String, bytes: Rc<Vec<u8>> },
}

/// The body model on the host: faces, colours, its name.
struct Body {
    data: SmplxData,
    colors: Vec<[f32; 3]>,
    label: String,
}

impl Body {
    fn new(data: SmplxData, label: String) -> Self {
        let colors = Outfit::default().vertex_colors(&BodyParts::new(&data));
        Self {
            data,
            colors,
            label,
        }
    }
}

struct State {
    mode: Mode,
    previous: Option<Prediction>,
    /// MediaPipe's body landmarks in the last frame (`None`: nobody, or
    /// the models are not loaded).
    person: Option<Person>,
    /// Off: compute only (benchmarks of the network and body model alone).
    drawing: bool,
    smoothing: bool,
    mesh_filter: OneEuro,
    camera_filter: OneEuro,
    frames: u64,
    last_end: Option<f64>,
    fps: f64,
    yaw: f64,
    pitch: f64,
}

/// The shared wgpu renderer on the page's WebGPU device.
struct GpuDrawer {
    renderer: RefCell<MeshRenderer>,
    /// Why GPU drawing stopped (the page then draws on the CPU).
    failed: RefCell<Option<String>>,
}

struct Inner {
    gpu: Option<(Gpu, WgpuDevice)>,
    /// Present on the WebGPU path unless CPU drawing was asked for.
    gpu_drawer: Option<GpuDrawer>,
    fallback_reason: Option<String>,
    engine: RefCell<Rc<Engine>>,
    body: RefCell<Rc<Body>>,
    student: RefCell<(StudentSource, String)>,
    /// MediaPipe's models and the previous frame (`None` until loaded).
    tracker: RefCell<Option<Tracker<FitBackend>>>,
    /// The pose-head student and its label (`None` until loaded).
    head: RefCell<Option<(Rc<PoseHead<CpuBackend>>, String)>>,
    overlay: RefCell<Display>,
    side: RefCell<Display>,
    state: RefCell<State>,
}

/// The live webcam engine (JS: `await LiveEngine.create(overlay, side, preferGpu)`).
#[wasm_bindgen]
pub struct LiveEngine {
    inner: Rc<Inner>,
}

/// Lights for the student's camera-aligned frame (y down, facing −z): a key
/// light from above the camera, a fill from the side.
fn camera_frame_lighting() -> Lighting {
    Lighting {
        ambient: [0.35; 3],
        lights: [
            Light {
                direction: [0.3, -0.8, -0.6],
                color: [0.7; 3],
            },
            Light {
                direction: [-0.8, -0.1, -0.4],
                color: [0.2; 3],
            },
        ],
    }
}

fn build_engine(
    gpu: Option<&WgpuDevice>,
    body: &SmplxData,
    student: &StudentSource,
) -> Result<(Engine, String), String> {
    fn on<B: burn::tensor::backend::Backend>(
        device: B::Device,
        body: &SmplxData,
        student: &StudentSource,
    ) -> Result<(BodyRegressor<B>, String), String> {
        let body_model = SmplxConfig::new()
            .init::<B>(body, &device)
            .map_err(|e| format!("this body model does not fit the student: {e}"))?;
        let (student, config, label) = match student {
            StudentSource::Random => {
                let config = StudentConfig::web();
                let student = config
                    .init::<B>(&device)
                    .with_quiet_heads(0.01)
                    .centred_in_crop(&config, body);
                (
                    student,
                    config,
                    "random weights, untrained: the mesh stays near the mean pose (centred in the crop) and does not follow you"
                        .to_string(),
                )
            }
            StudentSource::File { name, bytes } => {
                let (student, config, header) = student_file::from_bytes::<B>(bytes, name, &device)
                    .map_err(|e| e.to_string())?;
                let note = if header.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", header.note)
                };
                (student, config, format!("{name}{note}"))
            }
        };
        Ok((
            BodyRegressor {
                student,
                config,
                body_model,
                device,
            },
            label,
        ))
    }
    Ok(match gpu {
        Some(device) => {
            let (r, label) = on::<GpuBackend>(device.clone(), body, student)?;
            (Engine::Gpu(r), label)
        }
        None => {
            let (r, label) = on::<CpuBackend>(Default::default(), body, student)?;
            (Engine::Cpu(r), label)
        }
    })
}

#[wasm_bindgen]
impl LiveEngine {
    /// Opens WebGPU when `prefer_gpu` and available (else the CPU), builds
    /// the embedded mannequin and a random student, and takes over the two
    /// canvases (`overlay`: the video with the mesh; `side`: a 3D view). On
    /// WebGPU the views are drawn by the shared wgpu renderer unless
    /// `gpu_drawing` is false (then, as without WebGPU, by the CPU
    /// rasteriser).
    pub async fn create(
        overlay: HtmlCanvasElement,
        side: HtmlCanvasElement,
        prefer_gpu: bool,
        gpu_drawing: bool,
    ) -> Result<LiveEngine, JsValue> {
        let (gpu, fallback_reason) = if prefer_gpu {
            match Gpu::open().await {
                Ok(gpu) => {
                    let setup = WgpuSetup {
                        instance: gpu.instance.clone(),
                        adapter: gpu.adapter.clone(),
                        device: gpu.device.clone(),
                        queue: gpu.queue.clone(),
                        backend: wgpu::Backend::BrowserWebGpu,
                    };
                    let device = init_device(setup, RuntimeOptions::default());
                    (Some((gpu, device)), None)
                }
                Err(reason) => (None, Some(reason)),
            }
        } else {
            (None, Some("CPU requested".to_string()))
        };
        let body = Body::new(
            furpe::smplx::mannequin::mannequin(),
            "embedded mannequin (a stand-in for SMPL-X, not SMPL-X)".into(),
        );
        let source = StudentSource::Random;
        let (engine, label) =
            build_engine(gpu.as_ref().map(|g| &g.1), &body.data, &source).map_err(js_error)?;
        let overlay_display = Display::new(overlay).map_err(js_error)?;
        let side_display = Display::new(side).map_err(js_error)?;
        let config = OneEuroConfig::default();
        let gpu_drawer = gpu
            .as_ref()
            .filter(|_| gpu_drawing)
            .map(|(gpu, _)| GpuDrawer {
                renderer: RefCell::new(MeshRenderer::new(&gpu.device, COLOR_FORMAT)),
                failed: RefCell::new(None),
            });
        Ok(LiveEngine {
            inner: Rc::new(Inner {
                gpu,
                gpu_drawer,
                fallback_reason,
                engine: RefCell::new(Rc::new(engine)),
                body: RefCell::new(Rc::new(body)),
                student: RefCell::new((source, label)),
                tracker: RefCell::new(None),
                head: RefCell::new(None),
                overlay: RefCell::new(overlay_display),
                side: RefCell::new(side_display),
                state: RefCell::new(State {
                    mode: Mode::Student,
                    previous: None,
                    person: None,
                    drawing: true,
                    smoothing: true,
                    mesh_filter: OneEuro::new(config),
                    camera_filter: OneEuro::new(config),
                    frames: 0,
                    last_end: None,
                    fps: 0.0,
                    yaw: 0.9,
                    pitch: 0.15,
                }),
            }),
        })
    }

    /// "WebGPU (adapter)" or "CPU (reason)".
    pub fn backend(&self) -> String {
        match (&self.inner.gpu, &self.inner.fallback_reason) {
            (Some((gpu, _)), _) => gpu.describe(),
            (None, reason) => format!(
                "CPU (WebAssembly, Burn flex, SIMD128){}",
                reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        }
    }

    pub fn is_gpu(&self) -> bool {
        self.inner.gpu.is_some()
    }

    /// What draws the views: the shared wgpu renderer on WebGPU (offscreen,
    /// read back asynchronously into the canvases) or the CPU rasteriser,
    /// and why when WebGPU drawing stopped.
    pub fn drawer(&self) -> String {
        match &self.inner.gpu_drawer {
            Some(d) => match &*d.failed.borrow() {
                None => "WebGPU (shared wgpu renderer, offscreen, async readback)".into(),
                Some(e) => format!("CPU rasteriser (drawing on WebGPU failed: {e})"),
            },
            None if self.inner.gpu.is_some() => "CPU rasteriser (requested)".into(),
            None => "CPU rasteriser".into(),
        }
    }

    /// What the student is (random or the loaded file).
    pub fn student(&self) -> String {
        self.inner.student.borrow().1.clone()
    }

    pub fn body_model(&self) -> String {
        self.inner.body.borrow().label.clone()
    }

    /// Replaces the student with an exported student file (`furpe export`).
    /// On any error the current student stays and the message says why.
    pub fn load_student(&self, bytes: Vec<u8>, name: String) -> Result<String, JsValue> {
        let source = StudentSource::File {
            name,
            bytes: Rc::new(bytes),
        };
        self.rebuild(None, Some(source))
    }

    /// Replaces the body model with an SMPL-X `.npz` (v1.0/v1.1 layout).
    pub fn load_body_model(&self, bytes: Vec<u8>, name: String) -> Result<String, JsValue> {
        let data = SmplxData::from_bytes(&name, bytes).map_err(js_error)?;
        let label = format!("{name} ({} vertices)", data.num_vertices());
        self.rebuild(Some(Body::new(data, label)), None)
    }

    /// Back to the embedded mannequin.
    pub fn use_mannequin(&self) -> Result<String, JsValue> {
        let body = Body::new(
            furpe::smplx::mannequin::mannequin(),
            "embedded mannequin (a stand-in for SMPL-X, not SMPL-X)".into(),
        );
        self.rebuild(Some(body), None)
    }

    fn rebuild(
        &self,
        body: Option<Body>,
        student: Option<StudentSource>,
    ) -> Result<String, JsValue> {
        let inner = &self.inner;
        let source = student.unwrap_or_else(|| inner.student.borrow().0.clone());
        let (engine, label) = {
            let current = inner.body.borrow();
            let data = body.as_ref().map_or(&current.data, |b| &b.data);
            build_engine(inner.gpu.as_ref().map(|g| &g.1), data, &source).map_err(js_error)?
        };
        *inner.engine.borrow_mut() = Rc::new(engine);
        if let Some(body) = body {
            if let Some(tracker) = inner.tracker.borrow_mut().as_mut() {
                tracker.set_body(&body.data).map_err(js_error)?;
            }
            *inner.body.borrow_mut() = Rc::new(body);
        }
        *inner.student.borrow_mut() = (source, label.clone());
        let mut state = inner.state.borrow_mut();
        state.previous = None;
        state.mesh_filter.reset();
        state.camera_filter.reset();
        Ok(label)
    }

    /// Loads MediaPipe's models (the bytes of `pose_detection.tflite`, a
    /// pose landmark model, `hand_landmark_full.tflite` and
    /// `face_landmark.tflite`; an empty hand or face file leaves that part
    /// out) and switches to the experts mode. On any error the page keeps
    /// what it had and the message names the file.
    pub fn load_experts(
        &self,
        detector: Vec<u8>,
        landmarks: Vec<u8>,
        hand: Vec<u8>,
        face: Vec<u8>,
    ) -> Result<String, JsValue> {
        let (hands, with_face) = (!hand.is_empty(), !face.is_empty());
        let holistic = holistic(detector, landmarks, hand, face)?;
        let tracker = Tracker::<FitBackend>::new(
            holistic,
            &self.inner.body.borrow().data,
            &Default::default(),
        )
        .map_err(js_error)?;
        *self.inner.tracker.borrow_mut() = Some(tracker);
        self.set_mode("experts".into())?;
        let parts = match (hands, with_face) {
            (true, true) => "body, hands and face",
            (true, false) => "body and hands",
            (false, true) => "body and face",
            (false, false) => "body",
        };
        Ok(format!(
            "MediaPipe {parts} (pose_landmark_lite) → SMPL-X fit, on the CPU"
        ))
    }

    /// Whether MediaPipe's models are loaded (experts mode, person crops).
    pub fn has_experts(&self) -> bool {
        self.inner.tracker.borrow().is_some()
    }

    /// Loads a pose-head student (`furpe head train`'s `head.furpe`); it
    /// must read the embedding of the pose model the page runs
    /// (pose_landmark_lite). On error the page keeps what it had and the
    /// message names the file.
    pub fn load_head(&self, bytes: Vec<u8>, name: String) -> Result<String, JsValue> {
        let (head, config, header) =
            pose_head::from_bytes::<CpuBackend>(&bytes, &name, &Default::default())
                .map_err(js_error)?;
        if config.pose_model != "lite" {
            return Err(js_error(format!(
                "{name}: this head reads pose_landmark_{}'s embedding; the page runs pose_landmark_lite (train it on labels made with `furpe label --experts mediapipe --pose-model lite`)",
                config.pose_model
            )));
        }
        let label = format!("{name} ({})", header.note);
        *self.inner.head.borrow_mut() = Some((Rc::new(head), label.clone()));
        Ok(label)
    }

    /// Whether a pose-head student is loaded.
    pub fn has_head(&self) -> bool {
        self.inner.head.borrow().is_some()
    }

    /// `"experts"`, `"head"` or `"student"`; experts needs
    /// [`Self::load_experts`] first, head that and [`Self::load_head`].
    pub fn set_mode(&self, mode: String) -> Result<(), JsValue> {
        let mode = match mode.as_str() {
            "experts" if self.has_experts() => Mode::Experts,
            "experts" => {
                return Err(js_error(
                    "the experts mode needs MediaPipe's models (not loaded)",
                ))
            }
            "head" if self.has_experts() && self.has_head() => Mode::Head,
            "head" => {
                return Err(js_error(
                    "the head mode needs MediaPipe's models and a pose-head student (models/default-head.furpe; not loaded)",
                ))
            }
            "student" => Mode::Student,
            other => {
                return Err(js_error(format!(
                    "unknown mode {other:?} (experts, head or student)"
                )))
            }
        };
        self.reset_tracking();
        self.inner.state.borrow_mut().mode = mode;
        Ok(())
    }

    pub fn mode(&self) -> String {
        self.inner.state.borrow().mode.name().into()
    }

    /// The last frame's body joints projected into the frame (pixels) next
    /// to MediaPipe's 2D landmarks for the same points, for the browser
    /// tests: `{ pairs: [[jx, jy, lx, ly, visibility], …], box: [x0, y0,
    /// x1, y1] }` (the landmarks' box), or `null` when there was no person
    /// or no body.
    pub fn last_keypoints(&self) -> JsValue {
        let state = self.inner.state.borrow();
        let (Some(person), Some(p)) = (&state.person, &state.previous) else {
            return JsValue::NULL;
        };
        let pairs: Vec<[f32; 5]> = blazepose_joints()
            .into_iter()
            .filter_map(|(l, j)| {
                let joint = p.project(&[*p.joints.get(j)?])[0];
                let lm = person.body.get(l)?;
                Some([
                    joint[0],
                    joint[1],
                    lm.position[0],
                    lm.position[1],
                    lm.visibility.unwrap_or(1.0),
                ])
            })
            .collect();
        let b = furpe::fit::person::landmark_box(person);
        let value = json!({ "pairs": pairs, "box": b });
        js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
    }

    /// Turns drawing off (compute only) or on.
    pub fn set_drawing(&self, on: bool) {
        self.inner.state.borrow_mut().drawing = on;
    }

    pub fn set_smoothing(&self, on: bool) {
        let mut state = self.inner.state.borrow_mut();
        state.smoothing = on;
        state.mesh_filter.reset();
        state.camera_filter.reset();
    }

    /// Forgets the last body, so the next frame's crop is the centred frame
    /// again (a new camera stream or a new person; the tests' clips).
    pub fn reset_tracking(&self) {
        if let Some(tracker) = self.inner.tracker.borrow_mut().as_mut() {
            tracker.reset();
        }
        let mut state = self.inner.state.borrow_mut();
        state.previous = None;
        state.person = None;
        state.mesh_filter.reset();
        state.camera_filter.reset();
    }

    /// Turns the side view (radians; drag deltas from JS).
    pub fn orbit(&self, dyaw: f64, dpitch: f64) {
        let mut state = self.inner.state.borrow_mut();
        state.yaw += dyaw;
        state.pitch = (state.pitch + dpitch).clamp(-1.4, 1.4);
    }

    /// The last frame's 55 skeleton joints, metres (student's camera
    /// frame), flattened; empty before the first frame. The browser tests
    /// score them against the fake camera's ground truth (`pa_mpjpe_mm`).
    pub fn last_joints(&self) -> Vec<f32> {
        let state = self.inner.state.borrow();
        state
            .previous
            .as_ref()
            .map(|p| p.joints.iter().take(55).flatten().copied().collect())
            .unwrap_or_default()
    }

    /// Processes one RGBA frame; resolves to the frame's stats (a plain
    /// object: timings in ms, fps, camera, crop, finiteness).
    pub fn step(&self, rgba: Vec<u8>, width: u32, height: u32) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let stats = step(&inner, rgba, width, height, None)
                .await
                .map_err(js_error)?;
            js_sys::JSON::parse(&stats.to_string())
        })
    }

    /// [`Self::step`] with the person already found: `person` is what a
    /// `PersonFinder` (in a worker) returned for this frame or an earlier
    /// one (`undefined`: nobody in view), `find_ms` how long it took there.
    /// The engine then runs only its own stage (the fit, the pose head or
    /// the student on the person's crop), so the page can overlap the two.
    pub fn step_with(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        person: Option<Vec<u8>>,
        find_ms: f64,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let person = person
                .map(|bytes| Person::from_bytes(&bytes))
                .transpose()
                .map_err(js_error)?;
            let found = Found {
                person,
                ms: find_ms,
            };
            let stats = step(&inner, rgba, width, height, Some(found))
                .await
                .map_err(js_error)?;
            js_sys::JSON::parse(&stats.to_string())
        })
    }

    /// The student's SMPL-X parameters for one RGBA frame, in the window
    /// around `person_box` (`[x0, y0, x1, y1]` pixels; empty: the whole
    /// frame): exactly what `furpe infer --person-box` writes as NAME.json
    /// (the shared window rule, student path, including a two-stage
    /// student's detail crops, and conversion). Resolves to that JSON text;
    /// the browser tests compare the two. Draws nothing.
    pub fn predict_params(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        person_box: Vec<f32>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let person_box = match person_box[..] {
                [] => None,
                [x0, y0, x1, y1] => Some([x0, y0, x1, y1]),
                _ => {
                    return Err(js_error(format!(
                        "person_box: expected [x0, y0, x1, y1] or [], got {} numbers",
                        person_box.len()
                    )))
                }
            };
            let window = body_window(person_box, None, width, height);
            // A clone, so no borrow lives across the await.
            let body = inner.body.borrow().clone();
            let prediction = student_on(&inner, &rgba, width, height, window)
                .await
                .map_err(js_error)?;
            let hands_mean = [&body.data.hands_mean_l[..], &body.data.hands_mean_r[..]];
            Ok(JsValue::from_str(
                &prediction.to_json(hands_mean, false).to_string(),
            ))
        })
    }
}

/// The student and SMPL-X on one crop of an RGBA frame, on the page's
/// backend (the engine is cloned out: no borrow lives across the await).
async fn student_on(
    inner: &Inner,
    rgba: &[u8],
    width: u32,
    height: u32,
    crop: CropTransform,
) -> Result<Prediction, String> {
    let engine = inner.engine.borrow().clone();
    match &*engine {
        Engine::Gpu(r) => r.predict(rgba, width, height, crop, &now).await,
        Engine::Cpu(r) => r.predict(rgba, width, height, crop, &now).await,
    }
}

/// [`student_on`] with the student mode's stage times (`find`: the person
/// finder's milliseconds).
async fn student_stage(
    inner: &Inner,
    rgba: &[u8],
    width: u32,
    height: u32,
    crop: CropTransform,
    find: f64,
) -> Result<(Prediction, serde_json::Value), String> {
    let prediction = student_on(inner, rgba, width, height, crop).await?;
    let t = prediction.times;
    let ms = json!({ "find": find, "crop": t.crop, "student": t.student, "body": t.body });
    Ok((prediction, ms))
}

/// A person found by a `PersonFinder` in a worker (`None`: nobody), and the
/// milliseconds it took there.
struct Found {
    person: Option<Person>,
    ms: f64,
}

/// The frame's body in the page's mode: `(body, person, per-stage ms)`;
/// no body when nobody is in view. With `found`, MediaPipe's models have
/// already run (in the page's worker) and only this mode's own stage runs.
async fn infer(
    inner: &Inner,
    mode: Mode,
    rgba: &[u8],
    width: u32,
    height: u32,
    found: Option<Found>,
) -> Result<(Option<Prediction>, Option<Person>, serde_json::Value), String> {
    if let Some(found) = found {
        return infer_found(inner, mode, rgba, width, height, found).await;
    }
    // 1. MediaPipe's models in this thread (the same first stage the
    // worker runs), then the mode's own stage as for a worker's person.
    let t0 = now();
    let tracked = {
        let mut tracker = inner.tracker.borrow_mut();
        match tracker.as_mut() {
            Some(tracker) => {
                let rgb = rgb_of(rgba, width, height)?;
                Some(tracker.track(&rgb, width, height, parts_for(mode.name())?)?)
            }
            None => None,
        }
    };
    if let Some(person) = tracked {
        let found = Found {
            person,
            ms: now() - t0,
        };
        return infer_found(inner, mode, rgba, width, height, found).await;
    }
    // 2. Without MediaPipe's models (the student mode only): the crop
    // around the last body, else the centred frame.
    if mode != Mode::Student {
        return Err(format!("the {} mode needs MediaPipe's models", mode.name()));
    }
    let crop = match &inner.state.borrow().previous {
        Some(p) => p.next_crop(width, height),
        None => CropTransform::follow(None, width, height, FOLLOW_SCALE),
    };
    let (prediction, ms) = student_stage(inner, rgba, width, height, crop, now() - t0).await?;
    Ok((Some(prediction), None, ms))
}

/// [`infer`]'s second stage, on a person found by MediaPipe's models (in the
/// page's worker or in this thread; `None`: nobody in view).
async fn infer_found(
    inner: &Inner,
    mode: Mode,
    rgba: &[u8],
    width: u32,
    height: u32,
    found: Found,
) -> Result<(Option<Prediction>, Option<Person>, serde_json::Value), String> {
    let Found { person, ms: find } = found;
    match mode {
        Mode::Experts | Mode::Head => {
            let head = match mode {
                Mode::Head => Some(
                    inner
                        .head
                        .borrow()
                        .as_ref()
                        .map(|(h, _)| h.clone())
                        .ok_or("the head mode needs a pose-head student")?,
                ),
                _ => None,
            };
            let mut tracker = inner.tracker.borrow_mut();
            let tracker = tracker
                .as_mut()
                .ok_or("this mode needs MediaPipe's models")?;
            let Some(person) = person else {
                tracker.lost();
                return Ok((None, None, json!({ "landmarks": find })));
            };
            let frame = match &head {
                Some(head) => tracker.head_on(person, head, &now)?,
                None => tracker.experts_on(person, &PersonFitConfig::live(), &now)?,
            };
            let fit_key = if head.is_some() { "head" } else { "fit" };
            let mut ms = json!({ "landmarks": find, "body": frame.times.body });
            ms[fit_key] = json!(frame.times.fit);
            Ok((Some(frame.prediction), Some(frame.person), ms))
        }
        Mode::Student => {
            // The student reads no fit: a later experts frame starts cold.
            if let Some(tracker) = inner.tracker.borrow_mut().as_mut() {
                tracker.lost();
            }
            let Some(person) = person else {
                return Ok((None, None, json!({ "find": find })));
            };
            let crop = person_crop(&person, width, height);
            let (prediction, ms) = student_stage(inner, rgba, width, height, crop, find).await?;
            Ok((Some(prediction), Some(person), ms))
        }
    }
}

async fn step(
    inner: &Inner,
    rgba: Vec<u8>,
    width: u32,
    height: u32,
    found: Option<Found>,
) -> Result<serde_json::Value, String> {
    let start = now();
    let body = inner.body.borrow().clone();
    let mode = inner.state.borrow().mode;
    let pipelined = found.is_some();
    let (prediction, person, mut ms) = infer(inner, mode, &rgba, width, height, found).await?;
    let finite = prediction.as_ref().is_some_and(Prediction::is_finite);
    let render_start = now();
    // What the drawing needs from the state, copied out: no borrow may live
    // across the GPU readback's await.
    let (drawing, vertices, camera, crop, yaw, pitch) = {
        let mut state = inner.state.borrow_mut();
        let (mut vertices, mut camera, crop) = match &prediction {
            Some(p) => (p.vertices.clone(), p.camera, p.crop),
            None => (
                Vec::new(),
                [1.0, 0.0, 0.0],
                CropTransform::whole_image(width, height),
            ),
        };
        if state.smoothing && finite {
            let t = render_start / 1000.0;
            let flat: &mut [f32] = vertices.as_flattened_mut();
            state.mesh_filter.filter(t, flat);
            state.camera_filter.filter(t, &mut camera);
        } else if prediction.is_none() {
            // Nobody in view: the next person starts unsmoothed.
            state.mesh_filter.reset();
            state.camera_filter.reset();
        }
        (
            state.drawing,
            vertices,
            camera,
            crop,
            state.yaw,
            state.pitch,
        )
    };
    let drawer = if drawing {
        let faces = &body.data.faces;
        let normals = vertex_normals(&vertices, faces);
        let mesh = (finite && vertices.len() == body.colors.len()).then_some(MeshData {
            positions: &vertices,
            normals: &normals,
            colors: &body.colors,
            triangles: faces,
        });
        let lighting = camera_frame_lighting();
        inner.overlay.borrow_mut().resize(width, height);
        let overlay = Scene {
            view: View::new(
                PinholeCamera::from_weak_perspective(camera, &crop, width as f64),
                width,
                height,
            ),
            lighting,
            background: Background::Image {
                rgba: &rgba,
                width,
                height,
            },
            mesh,
        };
        let (w, h) = inner.side.borrow().size();
        let n = vertices.len().max(1) as f64;
        let centroid = [0, 1, 2].map(|k| vertices.iter().map(|v| v[k] as f64).sum::<f64>() / n);
        let centroid = if centroid.iter().all(|c| c.is_finite()) {
            centroid
        } else {
            [0.0; 3]
        };
        let cam = PinholeCamera::orbit(
            centroid,
            yaw,
            pitch,
            3.2,
            h as f64 * 1.2,
            [w as f64 / 2.0 - 0.5, h as f64 / 2.0 - 0.5],
            false,
        );
        let side = Scene {
            view: View::new(cam, w, h),
            lighting,
            background: Background::Color([0.12, 0.13, 0.16]),
            mesh,
        };
        Some(draw(inner, &overlay, &side).await?)
    } else {
        None
    };
    let end = now();
    ms["render"] = json!(end - render_start);
    ms["total"] = json!(end - start);
    let mut state = inner.state.borrow_mut();
    if let Some(last) = state.last_end {
        let instant = 1000.0 / (end - last).max(1e-3);
        state.fps = if state.fps == 0.0 {
            instant
        } else {
            0.8 * state.fps + 0.2 * instant
        };
    }
    state.last_end = Some(end);
    state.frames += 1;
    let stats = json!({
        "frame": state.frames,
        "mode": mode.name(),
        "backend": if inner.gpu.is_some() { "webgpu" } else { "cpu" },
        "drawn_by": drawer,
        "fps": state.fps,
        "ms": ms,
        "person": prediction.is_some(),
        "finite": finite,
        "camera": prediction.as_ref().map(|p| p.camera),
        "crop": prediction.as_ref().map(|p| json!({ "cx": p.crop.center[0], "cy": p.crop.center[1], "side": p.crop.side })),
        "vertices": prediction.as_ref().map_or(0, |p| p.vertices.len()),
        "smoothing": state.smoothing,
        // MediaPipe's models ran in the page's worker, beside this step.
        "pipelined": pipelined,
    });
    // A non-finite body must not steer the next crop.
    state.previous = prediction.filter(Prediction::is_finite);
    state.person = person;
    Ok(stats)
}

/// Draws the two views: on the GPU path with the shared wgpu renderer
/// (offscreen, both views submitted before either is awaited), else, or
/// once the GPU drawing has failed, with the CPU rasteriser. Returns which
/// drawer drew ("webgpu" or "cpu").
async fn draw(
    inner: &Inner,
    overlay: &Scene<'_>,
    side: &Scene<'_>,
) -> Result<&'static str, String> {
    if let Some(drawer) = inner
        .gpu_drawer
        .as_ref()
        .filter(|d| d.failed.borrow().is_none())
    {
        let gpu = &inner.gpu.as_ref().ok_or("no WebGPU device")?.0;
        let result = async {
            let (a, b) = {
                let mut renderer = drawer.renderer.borrow_mut();
                let a = inner
                    .overlay
                    .borrow_mut()
                    .submit_gpu(gpu, &mut renderer, overlay)?;
                let b = inner
                    .side
                    .borrow_mut()
                    .submit_gpu(gpu, &mut renderer, side)?;
                (a, b)
            };
            let (a, b) = (a.pixels().await?, b.pixels().await?);
            inner.overlay.borrow().put(&a.0, a.1, a.2)?;
            inner.side.borrow().put(&b.0, b.1, b.2)
        }
        .await;
        match result {
            Ok(()) => return Ok("webgpu"),
            Err(e) => {
                // Say so once and keep the page running on the CPU drawer.
                web_sys::console::error_1(
                    &format!("drawing on WebGPU failed ({e}); drawing on the CPU from now on")
                        .into(),
                );
                *drawer.failed.borrow_mut() = Some(e);
            }
        }
    }
    inner.overlay.borrow_mut().draw(overlay)?;
    inner.side.borrow_mut().draw(side)?;
    Ok("cpu")
}

/// Diagnostics: runs one stage on WebGPU through the page's shared device
/// and reads the result back asynchronously (0: arithmetic, 1: the web
/// student on a grey crop, 2: the SMPL-X mannequin in the rest pose).
/// Resolves to a short summary of what was read.
#[wasm_bindgen]
pub async fn gpu_selftest(stage: u32) -> Result<String, JsValue> {
    use burn::tensor::Tensor;
    let gpu = Gpu::open().await.map_err(js_error)?;
    let device = init_device(
        WgpuSetup {
            instance: gpu.instance.clone(),
            adapter: gpu.adapter.clone(),
            device: gpu.device.clone(),
            queue: gpu.queue.clone(),
            backend: wgpu::Backend::BrowserWebGpu,
        },
        RuntimeOptions::default(),
    );
    let read = |t: Tensor<GpuBackend, 2>| async move {
        furpe::readback::floats_async(t)
            .await
            .map_err(js_error)
            .map(|v| format!("{} values, first {:?}", v.len(), v.first()))
    };
    match stage {
        0 => {
            let a = Tensor::<GpuBackend, 2>::ones([64, 64], &device);
            read(a.clone().matmul(a)).await
        }
        1 => {
            let config = StudentConfig::web();
            let student = config.init::<GpuBackend>(&device).with_quiet_heads(0.01);
            let body =
                Tensor::<GpuBackend, 4>::ones([1, 3, config.body_size, config.body_size], &device)
                    * 0.5;
            let feature = student
                .backbone
                .forward(furpe::nets::Student::<GpuBackend>::normalize(body));
            read(feature).await
        }
        3 => {
            let model = furpe::smplx::mannequin::mannequin();
            let (engine, _) =
                build_engine(Some(&device), &model, &StudentSource::Random).map_err(js_error)?;
            let Engine::Gpu(r) = engine else {
                return Err(js_error("not on the GPU"));
            };
            let frame = vec![128u8; 64 * 48 * 4];
            let p = r
                .predict(&frame, 64, 48, CropTransform::whole_image(64, 48), &now)
                .await
                .map_err(js_error)?;
            Ok(format!("camera {:?}, {:?}", p.camera, p.times))
        }
        _ => {
            let model = furpe::smplx::mannequin::mannequin();
            let layer = SmplxConfig::new()
                .init::<GpuBackend>(&model, &device)
                .map_err(js_error)?;
            let params = furpe::smplx::SmplxParams::zeros(1, Default::default());
            let out = layer.forward(furpe::smplx::SmplxInput::from_params(&params, &device));
            read(out.joints.reshape([1, -1])).await
        }
    }
}
