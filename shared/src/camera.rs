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

impl PinholeCamera {
    /// The pinhole camera that draws a weak-perspective prediction where the
    /// network put it: `camera` is `(s, tx, ty)` in `crop`'s normalised
    /// coordinates (`x = s·(X + t)`), `focal` any focal length in image
    /// pixels (the image's width is a natural choice). The body sits at depth
    /// `tz = 2·focal / (side·s)`, where the pinhole's magnification equals the
    /// weak perspective's, so points in the body's depth plane (Z = 0) land
    /// exactly on `crop.to_image(s·(X + t))` and the rest within the body's
    /// perspective foreshortening. Identity rotation: the student's global
    /// rotation already turns the body into the image's y-down frame. The crop
    /// must be unrotated and unflipped (the live person crop is).
    pub fn from_weak_perspective(
        camera: [f32; 3],
        crop: &crate::crop::CropTransform,
        focal: f64,
    ) -> Self {
        let [s, tx, ty] = camera.map(|v| v as f64);
        // A collapsed or negative scale would put the body behind the camera.
        let s = s.max(1e-3);
        let side = (crop.side as f64).max(1e-3);
        Self {
            focal: [focal; 2],
            center: [crop.center[0] as f64, crop.center[1] as f64],
            rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            translation: [tx, ty, 2.0 * focal / (side * s)],
        }
    }
}

impl PinholeCamera {
    /// A camera orbiting `target`: turned `yaw` about the vertical axis and
    /// `pitch` above it (radians), `distance` metres away, looking at it,
    /// with the principal point at `center`. `y_up` says the scene's frame:
    /// SMPL-X's own (y up, facing +z) or the camera-aligned frame the student
    /// predicts in (y down, facing −z). Yaw 0, pitch 0 looks at the body's
    /// front either way.
    pub fn orbit(
        target: [f64; 3],
        yaw: f64,
        pitch: f64,
        distance: f64,
        focal: f64,
        center: [f64; 2],
        y_up: bool,
    ) -> Self {
        use crate::rotation::host::axis_angle_to_matrix;
        let mul = |a: [[f64; 3]; 3], b: [[f64; 3]; 3]| {
            let mut m = [[0.0; 3]; 3];
            for (i, row) in m.iter_mut().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
                }
            }
            m
        };
        // y up → camera (y down, looking along +z at the body's front).
        let base = if y_up {
            [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]
        } else {
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        };
        let turn = mul(
            axis_angle_to_matrix([-pitch, 0.0, 0.0]),
            axis_angle_to_matrix([0.0, yaw, 0.0]),
        );
        let rotation = mul(turn, base);
        let moved = crate::rotation::host::apply(&rotation, target);
        Self {
            focal: [focal; 2],
            center,
            rotation,
            translation: [-moved[0], -moved[1], distance - moved[2]],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    type B = Flex;

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

    #[test]
    fn weak_perspective_pinhole_lands_where_the_crop_says() {
        let crop = crate::crop::CropTransform::around_box([40.0, 20.0, 200.0, 220.0], 1.2);
        let weak = [0.8f32, 0.1, -0.2];
        let cam = PinholeCamera::from_weak_perspective(weak, &crop, 320.0);
        for p in [[0.0, 0.0, 0.0], [0.3, -0.7, 0.0], [-0.2, 0.5, 0.0]] {
            let u = weak[0] * (p[0] as f32 + weak[1]);
            let v = weak[0] * (p[1] as f32 + weak[2]);
            let want = crop.to_image([u, v]);
            let got = cam.project(p).unwrap();
            assert!(
                (got[0] - want[0] as f64).abs() < 1e-3,
                "{got:?} vs {want:?}"
            );
            assert!(
                (got[1] - want[1] as f64).abs() < 1e-3,
                "{got:?} vs {want:?}"
            );
        }
        // Off the depth plane the error stays a perspective effect (small).
        let got = cam.project([0.3, 0.3, 0.1]).unwrap();
        let want = crop.to_image([weak[0] * 0.4, weak[0] * 0.1]);
        assert!((got[0] - want[0] as f64).abs() < 3.0);
    }

    #[test]
    fn orbit_looks_at_the_target_from_the_front() {
        let target = [0.1, 0.9, -0.2];
        for y_up in [true, false] {
            for (yaw, pitch) in [(0.0, 0.0), (1.0, 0.3), (-2.0, -0.5)] {
                let cam =
                    PinholeCamera::orbit(target, yaw, pitch, 3.0, 500.0, [160.0, 120.0], y_up);
                let c = cam.to_camera(target);
                assert!((c[0].abs() + c[1].abs()) < 1e-9 && (c[2] - 3.0).abs() < 1e-9);
            }
            // At yaw 0 the body's up direction is image-up.
            let cam = PinholeCamera::orbit(target, 0.0, 0.0, 3.0, 500.0, [160.0, 120.0], y_up);
            let up = if y_up { 1.0 } else { -1.0 };
            let head = cam.project([target[0], target[1] + up, target[2]]).unwrap();
            assert!(head[1] < 120.0, "{head:?}");
        }
    }
}
