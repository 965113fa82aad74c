//! One video frame in, one posed SMPL-X body out: the person crop, the
//! student, the body model, and the crop for the next frame. The browser's
//! live page runs exactly this (on WebGPU or the CPU backend); native video
//! tools can too.
//!
//! Tensor reads are async ([`Tensor::into_data_async`]) because a
//! synchronous read panics in the browser; natively, block on the future
//! (e.g. `burn::tensor::try_read_sync`, or any executor).

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::crop::CropTransform;
use crate::nets::{Student, StudentConfig, StudentInput};
use crate::smplx::joints::{NUM_BODY_JOINTS, NUM_JOINTS};
use crate::smplx::Smplx;

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
    t.into_data_async()
        .await
        .map_err(|e| format!("reading a tensor from the device failed: {e:?}"))?
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| format!("unexpected tensor data: {e:?}"))
}

fn triples(v: Vec<f32>) -> Vec<[f32; 3]> {
    v.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
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
        let expected = width as usize * height as usize * 4;
        if width == 0 || height == 0 || rgba.len() != expected {
            return Err(format!(
                "a {width}×{height} RGBA frame has {expected} bytes, got {}",
                rgba.len()
            ));
        }
        let t0 = now();
        let size = self.config.body_size;
        let pixels = crop.sample_rgba(rgba, width, height, size);
        let body =
            Tensor::<B, 4>::from_data(TensorData::new(pixels, [1, 3, size, size]), &self.device);
        let t1 = now();
        let out = self
            .student
            .forward(StudentInput { body, detail: None }, &self.body_model);
        let shape = self.student.shape_coeffs(&out, &self.body_model);
        let camera = read(out.camera.clone()).await?;
        let t2 = now();
        let posed = self.body_model.forward_rotations(
            shape,
            out.rotations.clone(),
            Tensor::zeros([1, 3], &self.device),
        );
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
            vertices: triples(vertices),
            joints: triples(joints),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::{BlockKind, ResNetConfig};
    use crate::smplx::SmplxConfig;
    use burn::backend::NdArray;
    type B = NdArray<f32>;

    #[test]
    fn a_frame_gives_a_finite_body_and_a_next_crop() {
        let device = Default::default();
        let config = StudentConfig::web()
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
}
