//! `SimulatedOpenPose`: a SIMULATED 2D keypoint detector. It does not look at
//! the image; it projects the ground-truth SMPL-X joints and corrupts them the
//! way a real OpenPose run on the picture would: pixel noise that grows with
//! the part's size, occasional gross errors, lower confidence for small,
//! foreshortened or hidden points, and misses (0, 0, 0) outside the image,
//! behind occluders, behind the body itself (from the rendered depth) or at
//! random. Its output is labelled `keypoint_source = "simulated-openpose"`.

use furpe::camera::PinholeCamera;
use furpe::keypoints::{openpose137_to_smplx, NUM_BODY25, NUM_HAND, NUM_OPENPOSE137};
use furpe::metrics::Part;
use furpe::smplx::joints::idx;

use crate::rng::Rng;

/// What the detector is told in `annotations.jsonl`.
pub const KEYPOINT_SOURCE: &str = "simulated-openpose";

/// Which detector head a point belongs to (the body parts the per-part
/// errors use too).
fn part_of(k: usize) -> Part {
    if k < NUM_BODY25 {
        Part::Body
    } else if k < NUM_BODY25 + NUM_HAND {
        Part::LeftHand
    } else if k < NUM_BODY25 + 2 * NUM_HAND {
        Part::RightHand
    } else {
        Part::Face
    }
}

/// The view of the scene the simulated detector works from.
pub struct Observation<'a> {
    /// The 144 SMPL-X output joints, world frame.
    pub joints: &'a [[f32; 3]],
    pub camera: &'a PinholeCamera,
    pub size: u32,
    /// Pixels covered by occluders (size × size).
    pub occluded: &'a [bool],
    /// Camera-frame depth of the rendered body per pixel; `None` where the
    /// background shows.
    pub surface_depth: &'a [Option<f32>],
}

/// The simulated OpenPose-137 detector (body 25, hands 21 + 21, face 70).
#[derive(Debug, Clone)]
pub struct SimulatedOpenPose {
    /// SMPL-X joint behind each OpenPose point.
    source: [usize; NUM_OPENPOSE137],
}

impl Default for SimulatedOpenPose {
    fn default() -> Self {
        Self::new()
    }
}

impl SimulatedOpenPose {
    pub fn new() -> Self {
        let map = openpose137_to_smplx();
        let source = std::array::from_fn(|k| match (k, map[k]) {
            (_, Some(j)) => j,
            // Points without an SMPL-X counterpart: each hand's wrist is the
            // body's wrist; the pupils (face 68 right, 69 left) are the eyes.
            (25, None) => idx::LEFT_WRIST,
            (46, None) => idx::RIGHT_WRIST,
            (135, None) => idx::RIGHT_EYE,
            _ => idx::LEFT_EYE,
        });
        Self { source }
    }

    /// The SMPL-X joint OpenPose point `k` is taken from.
    pub fn source_joint(&self, k: usize) -> usize {
        self.source[k]
    }

    /// Detects one person: 137 points (x, y, confidence) in pixels, misses
    /// as (0, 0, 0).
    pub fn detect(&self, obs: &Observation, rng: &mut Rng) -> Vec<[f32; 3]> {
        let cam = obs.camera;
        let s = obs.size as f64;
        let in_camera = |j: usize| -> [f64; 3] {
            cam.to_camera(
                obs.joints
                    .get(j)
                    .copied()
                    .unwrap_or_default()
                    .map(f64::from),
            )
        };
        let project = |c: [f64; 3]| -> [f64; 2] {
            let z = c[2].max(1e-6);
            [
                cam.focal[0] * c[0] / z + cam.center[0],
                cam.focal[1] * c[1] / z + cam.center[1],
            ]
        };
        let dist2 =
            |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();

        // Part sizes in pixels. Body: 1.7 m at the pelvis's depth. Hands: the
        // larger of palm length and width as projected (foreshortening makes
        // it small). Face: 0.2 m at the head's depth, and whether it looks
        // towards the camera.
        let pelvis = in_camera(idx::PELVIS);
        let body_px = cam.focal[1] * 1.7 / pelvis[2].max(0.1);
        let hand_px = |wrist: usize, middle: usize, index: usize, pinky: usize| {
            let p = |j| project(in_camera(j));
            2.0 * dist2(p(wrist), p(middle)).max(dist2(p(index), p(pinky)) * 1.3)
        };
        let lhand_px = hand_px(
            idx::LEFT_WRIST,
            idx::LEFT_MIDDLE1,
            idx::LEFT_INDEX1,
            idx::LEFT_PINKY1,
        );
        let rhand_px = hand_px(
            idx::RIGHT_WRIST,
            idx::RIGHT_MIDDLE1,
            idx::RIGHT_INDEX1,
            idx::RIGHT_PINKY1,
        );
        let head = in_camera(idx::HEAD);
        let face_px = cam.focal[1] * 0.2 / head[2].max(0.1);
        let facing = {
            // Forward = from between the ears to the nose; towards the camera
            // = −(head position).
            let (nose, le, re) = (
                in_camera(idx::NOSE),
                in_camera(idx::LEFT_EAR),
                in_camera(idx::RIGHT_EAR),
            );
            let fwd = [0, 1, 2].map(|k| nose[k] - (le[k] + re[k]) / 2.0);
            let n = (fwd.iter().map(|x| x * x).sum::<f64>()).sqrt().max(1e-9);
            let h = (head.iter().map(|x| x * x).sum::<f64>()).sqrt().max(1e-9);
            -(0..3).map(|k| fwd[k] * head[k]).sum::<f64>() / (n * h)
        };

        let smooth = |x: f64, lo: f64, hi: f64| ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
        // Whole parts the detector fails on.
        let face_missed =
            facing < -0.1 || rng.chance(0.04 + 0.5 * (1.0 - smooth(face_px, 6.0, 20.0)));
        let lhand_missed = rng.chance(0.06 + 0.6 * (1.0 - smooth(lhand_px, 4.0, 14.0)));
        let rhand_missed = rng.chance(0.06 + 0.6 * (1.0 - smooth(rhand_px, 4.0, 14.0)));

        let mut out = vec![[0f32; 3]; NUM_OPENPOSE137];
        for (k, slot) in out.iter_mut().enumerate() {
            let part = part_of(k);
            let j = self.source_joint(k);
            let c = in_camera(j);
            // Draw every random number up front so that one point's fate
            // never shifts the stream for the next.
            let (n1, n2) = (rng.normal(), rng.normal());
            let (u_outlier, u_miss, u_occl_miss) = (rng.uniform(), rng.uniform(), rng.uniform());
            let conf_noise = rng.normal();
            if c[2] <= 0.05 {
                continue;
            }
            let gt = project(c);
            let (scale_px, base_conf, sd_k, miss_p, self_occl_miss, margin, missed) = match part {
                Part::Body => {
                    // Nose, eyes, ears and feet points sit on the surface.
                    let surface = matches!(k, 0 | 15..=24);
                    (
                        body_px,
                        0.82,
                        0.008,
                        0.02,
                        0.15,
                        if surface { 0.05 } else { 0.15 },
                        false,
                    )
                }
                Part::LeftHand => (lhand_px, 0.6, 0.05, 0.05, 0.5, 0.04, lhand_missed),
                Part::RightHand => (rhand_px, 0.6, 0.05, 0.05, 0.5, 0.04, rhand_missed),
                Part::Face => (face_px, 0.72, 0.025, 0.03, 0.7, 0.03, face_missed),
            };
            if missed {
                continue;
            }
            let px = gt[0].round() as i64;
            let py = gt[1].round() as i64;
            let inside = px >= 0 && py >= 0 && px < s as i64 && py < s as i64;
            if !inside {
                continue;
            }
            let pixel = (py * s as i64 + px) as usize;
            if obs.occluded.get(pixel).copied().unwrap_or(false) {
                continue;
            }
            // Hidden behind another part of the body: the surface the render
            // shows there is clearly in front of the point.
            let self_occluded =
                nearest_surface(obs, px, py).is_some_and(|d| (d as f64) < c[2] - margin);
            if self_occluded && u_occl_miss < self_occl_miss {
                continue;
            }
            if u_miss < miss_p {
                continue;
            }
            let mut sd = sd_k * scale_px + 0.3;
            if self_occluded {
                sd *= 2.0;
            }
            if u_outlier < 0.015 {
                sd *= 6.0;
            }
            let x = gt[0] + sd * n1;
            let y = gt[1] + sd * n2;
            if x < 0.0 || y < 0.0 || x > s - 1.0 || y > s - 1.0 {
                continue;
            }
            let size_factor = match part {
                Part::Body => 0.6 + 0.4 * smooth(body_px, 40.0, 120.0),
                Part::LeftHand | Part::RightHand => 0.3 + 0.7 * smooth(scale_px, 6.0, 30.0),
                Part::Face => {
                    (0.3 + 0.7 * smooth(face_px, 8.0, 40.0))
                        * (0.4 + 0.6 * smooth(facing, 0.0, 0.6))
                }
            };
            let mut conf = base_conf * size_factor + 0.06 * conf_noise;
            if self_occluded {
                conf *= 0.45;
            }
            let border = x.min(y).min(s - 1.0 - x).min(s - 1.0 - y);
            if border < 0.03 * s {
                conf *= 0.8;
            }
            let conf = conf.clamp(0.0, 0.99);
            if conf < 0.08 {
                continue;
            }
            *slot = [x as f32, y as f32, conf as f32];
        }
        out
    }
}

/// The nearest rendered surface depth in the 3×3 pixels around (x, y).
fn nearest_surface(obs: &Observation, x: i64, y: i64) -> Option<f32> {
    let s = obs.size as i64;
    let mut best: Option<f32> = None;
    for dy in -1..=1 {
        for dx in -1..=1 {
            let (u, v) = (x + dx, y + dy);
            if u < 0 || v < 0 || u >= s || v >= s {
                continue;
            }
            if let Some(Some(d)) = obs.surface_depth.get((v * s + u) as usize) {
                best = Some(best.map_or(*d, |b| b.min(*d)));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use furpe::rotation::host::axis_angle_to_matrix;

    #[test]
    fn every_point_has_a_source_joint() {
        let d = SimulatedOpenPose::new();
        assert_eq!(d.source_joint(0), idx::NOSE);
        assert_eq!(d.source_joint(4), idx::RIGHT_WRIST);
        assert_eq!(d.source_joint(25), idx::LEFT_WRIST);
        assert_eq!(d.source_joint(46), idx::RIGHT_WRIST);
        assert_eq!(d.source_joint(135), idx::RIGHT_EYE);
        assert_eq!(d.source_joint(136), idx::LEFT_EYE);
        assert!((0..NUM_OPENPOSE137).all(|k| d.source_joint(k) < 144));
    }

    #[test]
    fn misses_outside_and_under_occluders() {
        // Joints spread on a plane 3 m in front of an identity camera.
        let joints: Vec<[f32; 3]> = (0..144)
            .map(|j| {
                [
                    ((j % 12) as f32 - 5.5) * 0.12,
                    ((j / 12) as f32 - 5.5) * 0.12,
                    3.0,
                ]
            })
            .collect();
        let camera = PinholeCamera {
            focal: [150.0, 150.0],
            center: [63.5, 63.5],
            rotation: axis_angle_to_matrix([0.0; 3]),
            translation: [0.0; 3],
        };
        let size = 128;
        let mut occluded = vec![false; size * size];
        // Cover the left half of the image.
        for y in 0..size {
            for x in 0..size / 2 {
                occluded[y * size + x] = true;
            }
        }
        let depth = vec![None; size * size];
        let obs = Observation {
            joints: &joints,
            camera: &camera,
            size: size as u32,
            occluded: &occluded,
            surface_depth: &depth,
        };
        let d = SimulatedOpenPose::new();
        let a = d.detect(&obs, &mut Rng::new(1));
        let b = d.detect(&obs, &mut Rng::new(1));
        assert_eq!(a, b, "deterministic");
        let mut detected = 0;
        for (k, p) in a.iter().enumerate() {
            let gt = camera
                .project(joints[d.source_joint(k)].map(f64::from))
                .expect("in front");
            if gt[0] < 63.0 {
                assert_eq!(*p, [0.0; 3], "point {k} under the occluder");
            }
            if p[2] > 0.0 {
                detected += 1;
                assert!(p[0] >= 0.0 && p[0] <= 127.0 && p[1] >= 0.0 && p[1] <= 127.0);
                assert!(
                    ((p[0] as f64 - gt[0]).powi(2) + (p[1] as f64 - gt[1]).powi(2)).sqrt() < 40.0
                );
            }
        }
        assert!(detected > 20, "{detected} detected");
    }
}
