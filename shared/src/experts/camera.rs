//! Camera-frame helpers for the targets: orientations as the camera (and a
//! turned crop) sees them, joints through the camera, the weak-perspective fit.

use super::aa;
use crate::camera::PinholeCamera;
use crate::rotation::host::{matmul, Mat3};
use crate::smplx::joints::PARENTS;

/// The global orientation as the camera sees it: `R_camera · R_global`.
pub fn camera_frame_orientation(camera: &PinholeCamera, global_orient: &[f32]) -> Mat3 {
    matmul(&camera.rotation, &aa(global_orient))
}

/// Global rotation of skeleton joint `joint` (0..=21) given the root's global
/// rotation and the 21 body rotations (axis-angle, `[63]`).
pub fn joint_global_rotation(root: &Mat3, body_pose: &[f32], joint: usize) -> Mat3 {
    let mut chain = Vec::new();
    let mut j = joint;
    while j != 0 {
        chain.push(j);
        j = PARENTS[j].max(0) as usize;
    }
    let mut r = *root;
    for &j in chain.iter().rev() {
        r = matmul(&r, &aa(&body_pose[(j - 1) * 3..j * 3]));
    }
    r
}

/// SMPL-X joints as the camera sees them. `joints`: the ground-truth body
/// posed with zero translation (world frame; the root joint j0 stays where
/// the rest pose has it). Returns (a) the joints of the same body with its
/// camera-frame orientation `R_c · R` and zero translation, `R_c·(J − j0) + j0`
/// (what a regressor's weak-perspective camera projects), and (b) their pixel
/// positions through the pinhole camera with the body translated by `transl`
/// (`None` behind the camera).
pub fn camera_view(
    joints: &[[f32; 3]],
    camera: &PinholeCamera,
    transl: &[f32],
) -> (Vec<[f32; 3]>, Vec<Option<[f32; 2]>>) {
    let apply = |p: [f64; 3]| crate::rotation::host::apply(&camera.rotation, p);
    let j0 = joints.first().copied().unwrap_or([0.0; 3]).map(f64::from);
    let t = [0, 1, 2].map(|k| transl.get(k).copied().unwrap_or(0.0) as f64);
    let mut rel = Vec::with_capacity(joints.len());
    let mut pixels = Vec::with_capacity(joints.len());
    for p in joints {
        let p = p.map(f64::from);
        let r = apply([p[0] - j0[0], p[1] - j0[1], p[2] - j0[2]]);
        rel.push([0, 1, 2].map(|k| (r[k] + j0[k]) as f32));
        let c = camera.to_camera([p[0] + t[0], p[1] + t[1], p[2] + t[2]]);
        pixels.push((c[2] > 1e-6).then(|| {
            [
                (camera.focal[0] * c[0] / c[2] + camera.center[0]) as f32,
                (camera.focal[1] * c[1] / c[2] + camera.center[1]) as f32,
            ]
        }));
    }
    (rel, pixels)
}

/// Least-squares weak-perspective camera (s, tx, ty) with
/// `uv ≈ s · (xy + t)`; `None` with fewer than 2 points or a degenerate fit.
pub fn fit_weak_perspective(xy: &[[f32; 2]], uv: &[[f32; 2]]) -> Option<[f32; 3]> {
    let n = xy.len().min(uv.len());
    if n < 2 {
        return None;
    }
    // Linear in (s, a, b) with a = s·tx, b = s·ty: u = s·x + a, v = s·y + b.
    let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
    let (mx, my) = (mean(&|i| xy[i][0] as f64), mean(&|i| xy[i][1] as f64));
    let (mu, mv) = (mean(&|i| uv[i][0] as f64), mean(&|i| uv[i][1] as f64));
    let mut num = 0.0;
    let mut den = 0.0;
    for i in 0..n {
        let (dx, dy) = (xy[i][0] as f64 - mx, xy[i][1] as f64 - my);
        num += dx * (uv[i][0] as f64 - mu) + dy * (uv[i][1] as f64 - mv);
        den += dx * dx + dy * dy;
    }
    if den < 1e-12 {
        return None;
    }
    let s = num / den;
    if s.is_nan() || s <= 1e-6 {
        return None;
    }
    let (a, b) = (mu - s * mx, mv - s * my);
    Some([s as f32, (a / s) as f32, (b / s) as f32])
}

/// The rotation of the camera frame seen through a crop turned by
/// `rotation` ([`crate::crop::CropTransform::rotation`]): crop coordinates
/// are `(c·x − s·y, s·x + c·y)` of the image's, so a body's camera-frame
/// orientation `R` appears as `Q·R` with Q this rotation about the optical
/// axis.
pub fn in_plane_rotation(rotation: f32) -> Mat3 {
    let (s, c) = (rotation as f64).sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}
