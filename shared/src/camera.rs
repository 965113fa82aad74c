//! Cameras that turn 3D joints into image points: the weak-perspective
//! camera the regressors predict, and the pinhole camera of real images.

use burn::tensor::{backend::Backend, Tensor};

/// Weak perspective, as in HMR/SPIN/ExPose: `x = s · (X[:2] + t)`.
///
/// `points` `[B, J, 3]`, `camera` `[B, 3]` = (s, tx, ty) → `[B, J, 2]`,
/// in the crop's normalised coordinates.
pub fn weak_perspective<B: Backend>(points: Tensor<B, 3>, camera: Tensor<B, 2>) -> Tensor<B, 3> {
    let [batch, joints, _] = points.dims();
    let scale = camera
        .clone()
        .slice([0..batch, 0..1])
        .reshape([batch, 1, 1]);
    let shift = camera.slice([0..batch, 1..3]).reshape([batch, 1, 2]);
    let xy = points.slice([0..batch, 0..joints, 0..2]);
    (xy + shift) * scale
}

/// Pinhole projection of camera-frame points: `x = f · X/Z + c`.
///
/// `points` `[B, J, 3]`, `focal` and `center` `[B, 2]` in pixels → `[B, J, 2]`.
/// Points at or behind the camera plane are clamped to Z = 1e-6 m so the
/// result stays finite; callers mask them through keypoint visibility.
pub fn pinhole<B: Backend>(
    points: Tensor<B, 3>,
    focal: Tensor<B, 2>,
    center: Tensor<B, 2>,
) -> Tensor<B, 3> {
    let [batch, joints, _] = points.dims();
    let depth = points
        .clone()
        .slice([0..batch, 0..joints, 2..3])
        .clamp_min(1e-6);
    let xy = points.slice([0..batch, 0..joints, 0..2]) / depth;
    xy * focal.reshape([batch, 1, 2]) + center.reshape([batch, 1, 2])
}

/// Host-side pinhole camera with a world-to-camera rigid transform.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PinholeCamera {
    /// Focal lengths (fx, fy) in pixels.
    pub focal: [f64; 2],
    /// Principal point (cx, cy) in pixels.
    pub center: [f64; 2],
    /// World-to-camera rotation (row-major).
    pub rotation: [[f64; 3]; 3],
    /// World-to-camera translation, metres.
    pub translation: [f64; 3],
}

impl PinholeCamera {
    /// Camera-frame coordinates of a world point.
    pub fn to_camera(&self, p: [f64; 3]) -> [f64; 3] {
        let r = crate::rotation::host::apply(&self.rotation, p);
        [0, 1, 2].map(|i| r[i] + self.translation[i])
    }

    /// Pixel coordinates of a world point; `None` behind the camera.
    pub fn project(&self, p: [f64; 3]) -> Option<[f64; 2]> {
        let c = self.to_camera(p);
        (c[2] > 1e-9).then(|| {
            [
                self.focal[0] * c[0] / c[2] + self.center[0],
                self.focal[1] * c[1] / c[2] + self.center[1],
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    type B = NdArray<f32>;

    #[test]
    fn pinhole_tensor_matches_host() {
        let cam = PinholeCamera {
            focal: [1000.0, 1100.0],
            center: [320.0, 240.0],
            rotation: crate::rotation::host::axis_angle_to_matrix([0.0, 0.0, 0.0]),
            translation: [0.0, 0.0, 0.0],
        };
        let p = [0.1, -0.2, 2.5];
        let want = cam.project(p).unwrap();
        let d = Default::default();
        let pts = Tensor::<B, 1>::from_floats([0.1, -0.2, 2.5], &d).reshape([1, 1, 3]);
        let f = Tensor::<B, 1>::from_floats([1000.0, 1100.0], &d).reshape([1, 2]);
        let c = Tensor::<B, 1>::from_floats([320.0, 240.0], &d).reshape([1, 2]);
        let got = pinhole(pts, f, c).into_data().to_vec::<f32>().unwrap();
        assert!((got[0] as f64 - want[0]).abs() < 1e-3 && (got[1] as f64 - want[1]).abs() < 1e-3);
    }

    #[test]
    fn weak_perspective_scales_after_shift() {
        let d = Default::default();
        let pts = Tensor::<B, 1>::from_floats([1.0, 2.0, 9.0], &d).reshape([1, 1, 3]);
        let cam = Tensor::<B, 1>::from_floats([2.0, 0.5, -1.0], &d).reshape([1, 3]);
        let got = weak_perspective(pts, cam)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(got, vec![3.0, 2.0]);
    }
}
