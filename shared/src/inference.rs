//! From an image to SMPL-X with a student, shared by `furpe infer`, `furpe
//! eval`, training's validation and the browser so all of them crop and
//! convert alike: the body-window rule, the readout → parameter JSON
//! conversion, and, for video, one frame in, one posed SMPL-X body out (the
//! person crop, the student, the body model, and the crop for the next frame). The browser's
//! live page runs exactly this (on WebGPU or the CPU backend); native video
//! tools can too.
//!
//! Tensor reads are async ([`Tensor::into_data_async`]) because a
//! synchronous read panics in the browser; natively, block on the future
//! (e.g. `burn::tensor::try_read_sync`, or any executor).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::crop::CropTransform;
use crate::nets::{Student, StudentConfig};
use crate::rotation::host::flat_matrices_to_axis_angles;
use crate::smplx::joints::{NUM_BODY_JOINTS, NUM_JOINTS};
use crate::smplx::Smplx;
use crate::smplx::{ParamWidths, SmplxParams};

/// How much larger than the previous body's joint box the next crop is:
/// joints sit inside the silhouette (head top, feet, hands reach further)
/// and the person moves between frames.
pub const FOLLOW_SCALE: f32 = 1.4;

/// The student and the body model on one device.
pub struct BodyRegressor<B: Backend> {
    pub student: Student<B>,
    pub config: StudentConfig,
    pub body_model: Smplx<B>,
    pub device: B::Device,
}

/// Milliseconds spent in each stage of [`BodyRegressor::predict`]. GPU
/// stages end with a read of their result, so they include the device's
/// work, not only the time to queue it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Sampling the crop on the host and uploading it.
    pub crop: f64,
    pub student: f64,
    /// SMPL-X forward pass and reading vertices and joints back.
    pub body: f64,
}

/// One frame's result.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The window the student saw.
    pub crop: CropTransform,
    /// Weak-perspective `(s, tx, ty)` in the crop's normalised coordinates.
    pub camera: [f32; 3],
    /// Posed vertices `[V]` and output joints `[J]`, metres, in the student's
    /// camera-aligned frame (x right, y down).
    pub vertices: Vec<[f32; 3]>,
    pub joints: Vec<[f32; 3]>,
    /// Rotation matrices of the 55 joints, row-major `[55 * 9]`.
    pub rotations: Vec<f32>,
    pub betas: Vec<f32>,
    pub expression: Vec<f32>,
    pub times: StageTimes,
}

impl Prediction {
    /// Whether every number is finite (a corrupt or diverged network is not).
    pub fn is_finite(&self) -> bool {
        self.camera.iter().all(|v| v.is_finite())
            && self.vertices.iter().flatten().all(|v| v.is_finite())
            && self.joints.iter().flatten().all(|v| v.is_finite())
            && self.rotations.iter().all(|v| v.is_finite())
    }

    /// Image pixels of `points` under the weak-perspective camera.
    pub fn project(&self, points: &[[f32; 3]]) -> Vec<[f32; 2]> {
        let [s, tx, ty] = self.camera;
        points
            .iter()
            .map(|p| self.crop.to_image([s * (p[0] + tx), s * (p[1] + ty)]))
            .collect()
    }

    /// Image pixels of the 55 skeleton joints.
    pub fn skeleton_pixels(&self) -> Vec<[f32; 2]> {
        self.project(&self.joints[..NUM_JOINTS.min(self.joints.len())])
    }

    /// The body's SMPL-X parameters under the reference package's
    /// conventions: hands relative to `hands_mean` (left, right) unless
    /// `flat_hand_mean`.
    pub fn params(&self, hands_mean: [&[f32]; 2], flat_hand_mean: bool) -> SmplxParams {
        let readout = StudentReadout {
            rotations: self.rotations.clone(),
            betas: self.betas.clone(),
            expression: self.expression.clone(),
            num_betas: self.betas.len(),
            num_expression: self.expression.len(),
        };
        readout_to_params(&readout, hands_mean, flat_hand_mean)
    }

    /// What `furpe infer` writes for an image (NAME.json) and the page's
    /// `predict_params` returns: the parameters of [`Self::params`] and the
    /// camera with its window.
    pub fn to_json(&self, hands_mean: [&[f32]; 2], flat_hand_mean: bool) -> serde_json::Value {
        let mut json = self
            .params(hands_mean, flat_hand_mean)
            .to_json(crate::smplx::Batching::Single);
        json["camera"] = serde_json::json!({
            "weak_perspective": self.camera,
            "crop_center": self.crop.center,
            "crop_side": self.crop.side,
        });
        json
    }

    /// The person crop for the next frame: around this body's projected
    /// joints (pelvis, spine, limbs, head: the first 22), or the whole image
    /// when they are unusable.
    pub fn next_crop(&self, width: u32, height: u32) -> CropTransform {
        let body = &self.joints[..(1 + NUM_BODY_JOINTS).min(self.joints.len())];
        let pixels = self.project(body);
        CropTransform::follow(Some(&pixels), width, height, FOLLOW_SCALE)
    }
}

/// Reads a float tensor to the host without blocking.
async fn read<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>, String> {
    crate::readback::floats_async(t)
        .await
        .map_err(|e| e.to_string())
}

impl<B: Backend> BodyRegressor<B> {
    /// Runs one RGBA8 frame (`width × height`, rows top to bottom) through
    /// the crop `crop`. `now` is a millisecond clock (`performance.now()` in
    /// the browser; `std::time::Instant` is unavailable there).
    pub async fn predict(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        crop: CropTransform,
        now: &dyn Fn() -> f64,
    ) -> Result<Prediction, String> {
        self.predict_pixels(rgba, 4, width, height, crop, now).await
    }

    /// [`Self::predict`] on an RGB8 image (`furpe infer`, `furpe eval`).
    pub async fn predict_rgb(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        crop: CropTransform,
        now: &dyn Fn() -> f64,
    ) -> Result<Prediction, String> {
        self.predict_pixels(rgb, 3, width, height, crop, now).await
    }

    async fn predict_pixels(
        &self,
        pixels: &[u8],
        channels: usize,
        width: u32,
        height: u32,
        crop: CropTransform,
        now: &dyn Fn() -> f64,
    ) -> Result<Prediction, String> {
        let expected = width as usize * height as usize * channels;
        if width == 0 || height == 0 || pixels.len() != expected {
            let kind = if channels == 4 { "RGBA" } else { "RGB" };
            return Err(format!(
                "a {width}×{height} {kind} frame has {expected} bytes, got {}",
                pixels.len()
            ));
        }
        let sample = |side| {
            if channels == 4 {
                crop.sample_rgba(pixels, width, height, side)
            } else {
                crop.sample_rgb(pixels, width, height, side)
            }
        };
        let t0 = now();
        let input = self.config.input(1, sample, &self.device);
        let t1 = now();
        let out = self.student.forward(input, &self.body_model);
        let camera = read(out.camera.clone()).await?;
        let t2 = now();
        let posed = out.posed(&self.body_model);
        let vertices = read(posed.vertices).await?;
        let joints = read(posed.joints).await?;
        let rotations = read(out.rotations).await?;
        let betas = read(out.betas).await?;
        let expression = read(out.expression).await?;
        let t3 = now();
        let camera = [0, 1, 2].map(|i| camera.get(i).copied().unwrap_or(f32::NAN));
        Ok(Prediction {
            crop,
            camera,
            vertices: crate::readback::triples(&vertices),
            joints: crate::readback::triples(&joints),
            rotations,
            betas,
            expression,
            times: StageTimes {
                crop: t1 - t0,
                student: t2 - t1,
                body: t3 - t2,
            },
        })
    }
}

/// Body crop side relative to the person box's longer side.
pub const BODY_CROP_SCALE: f32 = 1.2;

/// Confidence above which a body keypoint places the crop.
const KEYPOINT_CONFIDENCE: f32 = 0.1;

/// The body window: around the person box if known, else around the
/// confident body keypoints, else the whole image.
pub fn body_window(
    person_box: Option<[f32; 4]>,
    keypoints: Option<&[[f32; 3]]>,
    width: u32,
    height: u32,
) -> CropTransform {
    if let Some(b) = person_box {
        return CropTransform::around_box(b, BODY_CROP_SCALE);
    }
    keypoints
        .and_then(|k| {
            CropTransform::around_points(
                &k[..k.len().min(25)],
                KEYPOINT_CONFIDENCE,
                4,
                BODY_CROP_SCALE,
            )
        })
        .unwrap_or_else(|| CropTransform::whole_image(width, height))
}

/// Host copies of a student's outputs for `n` bodies.
#[derive(Debug, Clone)]
pub struct StudentReadout {
    /// Absolute rotations, SMPL-X order `[n × 55 × 9]`.
    pub rotations: Vec<f32>,
    pub betas: Vec<f32>,
    pub expression: Vec<f32>,
    pub num_betas: usize,
    pub num_expression: usize,
}

/// Readout → parameters under the reference package's conventions: hands
/// relative to `hands_mean` (left, right), or absolute with `flat_hand_mean`.
pub fn readout_to_params(
    readout: &StudentReadout,
    hands_mean: [&[f32]; 2],
    flat_hand_mean: bool,
) -> SmplxParams {
    let n = readout.rotations.len() / (NUM_JOINTS * 9);
    let mut params = SmplxParams::zeros(
        n,
        ParamWidths {
            betas: readout.num_betas,
            expression: readout.num_expression,
            ..ParamWidths::default()
        },
    );
    for b in 0..n {
        let aa = flat_matrices_to_axis_angles(
            &readout.rotations[b * NUM_JOINTS * 9..(b + 1) * NUM_JOINTS * 9],
        );
        params.set_full_pose(b, &aa, |values, left| {
            let mean = hands_mean[if left { 0 } else { 1 }];
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if flat_hand_mean {
                        *v
                    } else {
                        v - mean.get(i).copied().unwrap_or(0.0)
                    }
                })
                .collect()
        });
        params.betas[b] =
            readout.betas[b * readout.num_betas..(b + 1) * readout.num_betas].to_vec();
        params.expression[b] = readout.expression
            [b * readout.num_expression..(b + 1) * readout.num_expression]
            .to_vec();
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::{BlockKind, ResNetConfig, StudentInput};
    use crate::smplx::SmplxConfig;
    use burn::backend::Flex;
    type B = Flex;

    /// A tiny student of `kind` and the mannequin on the CPU, and a test frame.
    fn tiny(kind: crate::nets::StudentKind) -> (BodyRegressor<B>, Vec<u8>, u32, u32) {
        let device = Default::default();
        let config = StudentConfig::web()
            .with_kind(kind)
            .with_backbone(ResNetConfig::new(BlockKind::Basic, [1, 1, 1, 1]).with_base_width(4))
            .with_body_size(32);
        let model = crate::smplx::mannequin::mannequin();
        let regressor = BodyRegressor::<B> {
            student: config.init(&device),
            body_model: SmplxConfig::new().init(&model, &device).unwrap(),
            config,
            device,
        };
        let (w, h) = (40u32, 30u32);
        let frame: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
        (regressor, frame, w, h)
    }

    #[test]
    fn a_frame_gives_a_finite_body_and_a_next_crop() {
        let (regressor, frame, w, h) = tiny(crate::nets::StudentKind::OneStage);
        let model = crate::smplx::mannequin::mannequin();
        let crop = CropTransform::follow(None, w, h, FOLLOW_SCALE);
        let clock = || 0.0;
        let p = burn::tensor::try_read_sync(regressor.predict(&frame, w, h, crop, &clock))
            .expect("ndarray futures are ready at once")
            .unwrap();
        assert!(p.is_finite());
        assert_eq!(p.vertices.len(), model.num_vertices());
        assert_eq!(p.rotations.len(), NUM_JOINTS * 9);
        let next = p.next_crop(w, h);
        assert!(next.side > 0.0 && next.center.iter().all(|c| c.is_finite()));
        // A frame of the wrong size is an error, not a panic.
        let err = burn::tensor::try_read_sync(regressor.predict(&frame[4..], w, h, crop, &clock))
            .unwrap()
            .unwrap_err();
        assert!(err.contains("RGBA"), "{err}");
    }

    /// A two-stage student run through the video path refines its hands and
    /// face from the detail crop: its output is that of the full two-stage
    /// forward, not of the body stage alone (the browser once dropped the
    /// detail crop, silently running every two-stage student as one-stage).
    #[test]
    fn a_two_stage_student_refines_from_its_detail_crop() {
        let (regressor, frame, w, h) = tiny(crate::nets::StudentKind::TwoStage);
        let (config, device) = (&regressor.config, &regressor.device);
        let crop = CropTransform::follow(None, w, h, FOLLOW_SCALE);
        let clock = || 0.0;
        let p = burn::tensor::try_read_sync(regressor.predict(&frame, w, h, crop, &clock))
            .unwrap()
            .unwrap();
        let body_only = StudentInput {
            body: config
                .input(1, |side| crop.sample_rgba(&frame, w, h, side), device)
                .body,
            detail: None,
        };
        let one_stage = regressor
            .student
            .forward(body_only, &regressor.body_model)
            .rotations
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let differ = p
            .rotations
            .iter()
            .zip(&one_stage)
            .filter(|(a, b)| (*a - *b).abs() > 1e-6)
            .count();
        assert!(
            differ > 0,
            "the two-stage student's output equals its body stage alone"
        );
    }
}

#[cfg(test)]
mod readout_tests {
    use super::*;
    use crate::rotation::host::axis_angle_to_matrix;

    #[test]
    fn rotations_round_trip_to_parameters() {
        let mut rotations = Vec::new();
        let pose: Vec<[f64; 3]> = (0..55).map(|j| [0.01 * j as f64, -0.2, 0.3]).collect();
        for r in &pose {
            rotations.extend(axis_angle_to_matrix(*r).iter().flatten().map(|&v| v as f32));
        }
        let readout = StudentReadout {
            rotations,
            betas: vec![0.5; 10],
            expression: vec![-0.5; 10],
            num_betas: 10,
            num_expression: 10,
        };
        let mean = vec![0.1f32; 45];
        let p = readout_to_params(&readout, [&mean, &mean], false);
        assert!((p.body_pose[0][0] - 0.01).abs() < 1e-5);
        // Hands are given relative to the mean.
        assert!((p.left_hand_pose[0][0] - (0.25 - 0.1)).abs() < 1e-5);
        let flat = readout_to_params(&readout, [&mean, &mean], true);
        assert!((flat.right_hand_pose[0][0] - 0.40).abs() < 1e-5);
        assert_eq!(p.betas[0], vec![0.5; 10]);
    }

    #[test]
    fn window_prefers_box_then_keypoints_then_image() {
        let b = body_window(Some([0.0, 0.0, 10.0, 20.0]), None, 100, 100);
        assert_eq!(b.side, 24.0);
        let pts = vec![
            [10.0, 10.0, 0.9],
            [20.0, 30.0, 0.9],
            [10.0, 30.0, 0.9],
            [20.0, 10.0, 0.9],
        ];
        let k = body_window(None, Some(&pts), 100, 100);
        assert_eq!(k.center, [15.0, 20.0]);
        let w = body_window(None, None, 100, 50);
        assert_eq!(w.side, 100.0);
    }
}
