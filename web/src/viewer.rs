//! The embeddable viewer's engine (`<furpe-viewer>` in `www/furpe-viewer.js`):
//! poses an SMPL-X result or sequence with the body model, draws any frame
//! from an orbiting camera, projects the skeleton for the 2D overlay and
//! exports the current frame as GLB.
//!
//! The body model runs once per loaded file on the CPU backend (a viewer
//! does not need a GPU for a forward pass per file) and frames are drawn by
//! the shared CPU rasteriser. Every method after `create` is synchronous, so
//! no state is borrowed across an await.

use burn::tensor::{backend::Backend, Tensor};
use furpe::camera::PinholeCamera;
use furpe::glb::{write_glb, GlbBody};
use furpe::render::{
    software, vertex_normals, Background, BodyParts, Lighting, MeshData, Outfit, Scene, View,
};
use furpe::smplx::joints::{NUM_JOINTS, PARENTS};
use furpe::smplx::params::ParamWidths;
use furpe::smplx::{SmplxConfig, SmplxData, SmplxInput, SmplxParams, SmplxSequence};
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

use crate::display::Display;
use crate::js_error;

type Cpu = burn::backend::Flex;
/// Points per frame: posed vertices or joints.
type Frames = Vec<Vec<[f32; 3]>>;
/// Bodies posed per forward call: bounds memory for long sequences.
const CHUNK: usize = 32;

/// A result viewer bound to one canvas (JS: `await Viewer.create(canvas, preferGpu)`).
#[wasm_bindgen]
pub struct Viewer {
    display: Display,
    backend: String,
    model: SmplxData,
    model_label: String,
    colors: Vec<[f32; 3]>,
    sequence: Option<SmplxSequence>,
    /// Per frame: posed vertices and the 55 skeleton joints.
    vertices: Frames,
    joints: Frames,
    frame: usize,
    target: [f64; 3],
    yaw: f64,
    pitch: f64,
    distance: f64,
}

fn read3<B: Backend>(t: Tensor<B, 3>) -> Result<Frames, String> {
    let [b, n, _] = t.dims();
    let data = burn::tensor::try_read_sync(furpe::readback::floats_async(t))
        .ok_or("the CPU backend did not answer at once")?
        .map_err(|e| e.to_string())?;
    Ok((0..b)
        .map(|i| {
            data[i * n * 3..(i + 1) * n * 3]
                .chunks_exact(3)
                .map(|c| [c[0], c[1], c[2]])
                .collect()
        })
        .collect())
}

#[wasm_bindgen]
impl Viewer {
    /// Binds a viewer to `canvas`. Posing and drawing run on the CPU: the
    /// viewer's methods are synchronous (JS redraws on every drag, scrub and
    /// frame), while the live page's WebGPU drawing reads its pixels back
    /// asynchronously (see `display.rs`); `_prefer_gpu` is kept in the API
    /// for when the viewer draws on WebGPU too.
    pub async fn create(canvas: HtmlCanvasElement, _prefer_gpu: bool) -> Result<Viewer, JsValue> {
        let backend = "CPU (WebAssembly: Burn flex + SIMD128 + CPU rasteriser)".to_string();
        let display = Display::new(canvas).map_err(js_error)?;
        let model = furpe::smplx::mannequin::mannequin();
        let colors = Outfit::default().vertex_colors(&BodyParts::new(&model));
        Ok(Viewer {
            display,
            backend,
            model,
            model_label: "embedded mannequin (a stand-in for SMPL-X)".into(),
            colors,
            sequence: None,
            vertices: Vec::new(),
            joints: Vec::new(),
            frame: 0,
            target: [0.0, 0.0, 0.0],
            yaw: 0.0,
            pitch: 0.1,
            distance: 3.0,
        })
    }

    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    pub fn body_model(&self) -> String {
        self.model_label.clone()
    }

    /// Loads a result (any form of [`SmplxSequence`]); returns the frame
    /// count. On error the previous result stays.
    pub fn load_result(&mut self, text: &str, name: &str) -> Result<u32, JsValue> {
        let widths = ParamWidths {
            max_betas: self.model.num_shape_space(),
            max_expression: self.model.num_expression_space(),
            ..ParamWidths::default()
        };
        let sequence = SmplxSequence::from_json(text, name, widths).map_err(js_error)?;
        let (vertices, joints) = self.pose(&sequence.frames).map_err(js_error)?;
        let n = vertices.len();
        self.sequence = Some(sequence);
        self.vertices = vertices;
        self.joints = joints;
        self.frame = 0;
        self.reset_view();
        Ok(n as u32)
    }

    /// Replaces the body model with an SMPL-X `.npz` and re-poses the result.
    pub fn load_body_model(&mut self, bytes: Vec<u8>, name: String) -> Result<String, JsValue> {
        let model = SmplxData::from_bytes(&name, bytes).map_err(js_error)?;
        let previous = std::mem::replace(&mut self.model, model);
        if let Some(seq) = self.sequence.clone() {
            match self.pose(&seq.frames) {
                Ok((v, j)) => {
                    self.vertices = v;
                    self.joints = j;
                }
                Err(e) => {
                    self.model = previous;
                    return Err(js_error(e));
                }
            }
        }
        self.colors = Outfit::default().vertex_colors(&BodyParts::new(&self.model));
        self.model_label = format!("{name} ({} vertices)", self.model.num_vertices());
        Ok(self.model_label.clone())
    }

    fn pose(&self, params: &SmplxParams) -> Result<(Frames, Frames), String> {
        let device = Default::default();
        let width = |f: &Vec<Vec<f32>>| f.first().map_or(0, Vec::len);
        let layer = SmplxConfig::new()
            .with_num_betas(width(&params.betas))
            .with_num_expression(width(&params.expression))
            .init::<Cpu>(&self.model, &device)
            .map_err(|e| format!("the result does not fit this body model: {e}"))?;
        let (mut vertices, mut joints) = (Vec::new(), Vec::new());
        let total = params.batch_size();
        for start in (0..total).step_by(CHUNK) {
            let chunk = params.rows(start..(start + CHUNK).min(total));
            let out = layer.forward(SmplxInput::from_params(&chunk, &device));
            vertices.extend(read3(out.vertices)?);
            joints.extend(read3(out.joints)?);
        }
        Ok((vertices, joints))
    }

    pub fn frame_count(&self) -> u32 {
        self.vertices.len() as u32
    }

    pub fn fps(&self) -> f32 {
        self.sequence.as_ref().map_or(30.0, |s| s.fps)
    }

    pub fn frame(&self) -> u32 {
        self.frame as u32
    }

    pub fn set_frame(&mut self, frame: u32) {
        self.frame = (frame as usize).min(self.vertices.len().saturating_sub(1));
    }

    /// Drag deltas in radians.
    pub fn orbit(&mut self, dyaw: f64, dpitch: f64) {
        self.yaw += dyaw;
        self.pitch = (self.pitch + dpitch).clamp(-1.5, 1.5);
    }

    /// Multiplies the camera distance (wheel).
    pub fn zoom(&mut self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            self.distance = (self.distance * factor).clamp(0.5, 20.0);
        }
    }

    /// Looks at the first frame's body from the front.
    pub fn reset_view(&mut self) {
        if let Some(v) = self.vertices.first() {
            let n = v.len().max(1) as f64;
            self.target = [0, 1, 2].map(|k| v.iter().map(|p| p[k] as f64).sum::<f64>() / n);
            let height = v.iter().map(|p| p[1]).fold(f32::MIN, f32::max)
                - v.iter().map(|p| p[1]).fold(f32::MAX, f32::min);
            self.distance = (height as f64 * 1.6).clamp(1.0, 10.0);
        }
        self.yaw = 0.0;
        self.pitch = 0.1;
    }

    /// Resizes the drawing buffer (CSS size × devicePixelRatio from JS).
    pub fn resize(&mut self, width: u32, height: u32) {
        self.display.resize(width, height);
    }

    fn view(&self) -> View {
        let (w, h) = self.display.size();
        let cam = PinholeCamera::orbit(
            self.target,
            self.yaw,
            self.pitch,
            self.distance,
            h as f64 * 1.4,
            [w as f64 / 2.0 - 0.5, h as f64 / 2.0 - 0.5],
            true,
        );
        View::new(cam, w, h)
    }

    /// Draws the current frame (just the background before a result).
    pub fn render(&mut self) -> Result<(), JsValue> {
        let view = self.view();
        let background = Background::Color([0.93, 0.94, 0.96]);
        let lighting = Lighting::default();
        let Some(vertices) = self.vertices.get(self.frame) else {
            return self
                .display
                .draw(&Scene {
                    view,
                    lighting,
                    background,
                    mesh: None,
                })
                .map_err(js_error);
        };
        let normals = vertex_normals(vertices, &self.model.faces);
        let scene = Scene {
            view,
            lighting,
            background,
            mesh: Some(MeshData {
                positions: vertices,
                normals: &normals,
                colors: &self.colors,
                triangles: &self.model.faces,
            }),
        };
        self.display.draw(&scene).map_err(js_error)
    }

    /// Pixel positions (x, y) of the current frame's 55 joints in the canvas,
    /// NaN behind the camera; empty before a result.
    pub fn skeleton_2d(&self) -> Vec<f32> {
        let Some(joints) = self.joints.get(self.frame) else {
            return Vec::new();
        };
        let n = NUM_JOINTS.min(joints.len());
        software::project(&self.view(), &joints[..n])
            .into_iter()
            .flat_map(|p| p.unwrap_or([f32::NAN; 2]))
            .collect()
    }

    /// Parent of each skeleton joint (−1 for the root).
    pub fn parents(&self) -> Vec<i32> {
        PARENTS.iter().map(|&p| p as i32).collect()
    }

    /// The current frame as a binary glTF with the skeleton.
    pub fn glb(&self) -> Result<Vec<u8>, JsValue> {
        let (Some(vertices), Some(joints)) =
            (self.vertices.get(self.frame), self.joints.get(self.frame))
        else {
            return Err(js_error("no result loaded"));
        };
        write_glb(&GlbBody {
            vertices,
            faces: &self.model.faces,
            joints,
            parents: &self.model.parents,
            weights: &self.model.weights,
            colors: Some(&self.colors),
        })
        .map_err(js_error)
    }
}
