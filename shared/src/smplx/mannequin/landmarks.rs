//! Face landmarks as (triangle, barycentric) pairs, found by casting rays
//! onto the face: the 51 fixed ones (brows, nose, eyes, lips, in the
//! reference package's order) and the 17 jaw-contour points for each of the
//! 79 head-yaw bins.

use super::geom::{v3, V3};
use super::mesh::{Mesh, Segment};
use super::skeleton::face;
use crate::smplx::data::{NUM_CONTOUR_BINS, NUM_CONTOUR_LANDMARKS, NUM_STATIC_LANDMARKS};

/// A point on the surface: a triangle and barycentric weights of its corners.
#[derive(Clone, Copy, Debug)]
pub struct SurfacePoint {
    pub face: u32,
    pub bary: [f64; 3],
}

/// The 51 fixed landmarks' positions seen from the front (x, y), in
/// `JOINT_NAMES[76..127]` order (right = -x).
fn static_targets() -> [(f64, f64); NUM_STATIC_LANDMARKS] {
    let m = face::MOUTH_Y;
    let (ey, ex) = (face::EYE.y + 0.001, face::EYE.x);
    let brow = [
        (0.056, 0.3905),
        (0.046, 0.3975),
        (0.035, 0.4000),
        (0.024, 0.3990),
        (0.013, 0.3950),
    ];
    let nose = [(0.0, 0.372), (0.0, 0.359), (0.0, 0.346), (0.0, 0.333)];
    let nose_base = [
        (-0.014, 0.319),
        (-0.007, 0.316),
        (0.0, 0.314),
        (0.007, 0.316),
        (0.014, 0.319),
    ];
    // Eye outline, outer corner first: outer, upper ×2, inner, lower ×2.
    let eye = |s: f64| {
        [
            (s * (ex + 0.0145), ey),
            (s * (ex + 0.0055), ey + 0.0050),
            (s * (ex - 0.0055), ey + 0.0050),
            (s * (ex - 0.0145), ey),
            (s * (ex - 0.0055), ey - 0.0040),
            (s * (ex + 0.0055), ey - 0.0040),
        ]
    };
    let (r_eye, l_eye) = (eye(-1.0), eye(1.0));
    let c = face::MOUTH_CORNER.x;
    let mut out = Vec::with_capacity(NUM_STATIC_LANDMARKS);
    out.extend(brow.iter().map(|&(x, y)| (-x, y)));
    out.extend(brow.iter().rev().copied());
    out.extend(nose);
    out.extend(nose_base);
    out.extend(r_eye);
    // Left eye in the reference order: inner corner, upper (inner, outer),
    // outer corner, lower (outer, inner).
    out.extend([l_eye[3], l_eye[2], l_eye[1], l_eye[0], l_eye[5], l_eye[4]]);
    // Outer lip line: right corner, upper lip to the left corner, lower lip back.
    out.extend([
        (-c, m),
        (-0.016, m + 0.0060),
        (-0.006, m + 0.0085),
        (0.0, m + 0.0075),
        (0.006, m + 0.0085),
        (0.016, m + 0.0060),
        (c, m),
        (0.016, m - 0.0070),
        (0.007, m - 0.0095),
        (0.0, m - 0.0100),
        (-0.007, m - 0.0095),
        (-0.016, m - 0.0070),
    ]);
    // Inner lip line: right corner, upper, left corner, lower.
    let ci = c - 0.005;
    out.extend([
        (-ci, m),
        (-0.008, m + 0.0012),
        (0.0, m + 0.0012),
        (0.008, m + 0.0012),
        (ci, m),
        (0.008, m - 0.0012),
        (0.0, m - 0.0012),
        (-0.008, m - 0.0012),
    ]);
    out.try_into().expect("51 static landmarks")
}

/// The fixed landmarks, each where a ray along -z first meets the face.
pub fn static_landmarks(mesh: &Mesh) -> Vec<SurfacePoint> {
    let faces = face_triangles(mesh);
    static_targets()
        .iter()
        .map(|&(x, y)| {
            cast(mesh, &faces, v3(x, y, 0.5), v3(0.0, 0.0, -1.0))
                .unwrap_or_else(|| panic!("no face at ({x}, {y})"))
        })
        .collect()
}

/// Azimuth (degrees, 0 = chin, + = the figure's left) of contour point k
/// when the face is frontal: from below the right ear round to the left.
fn contour_azimuth(k: usize) -> f64 {
    let t = k as f64 / (NUM_CONTOUR_LANDMARKS - 1) as f64 * 2.0 - 1.0;
    78.0 * t
}

/// Height of the jaw line at an azimuth: the chin's underside in front,
/// rising toward the ear lobes.
fn jaw_height(azimuth_deg: f64) -> f64 {
    let a = (azimuth_deg.abs() / 78.0).min(1.0);
    face::CHIN_Y + 0.008 + 0.070 * a.powf(1.8)
}

/// Head yaw of a contour bin, in degrees about +y: bins 0..=39 turn the head
/// to its right (negative yaw), 40..=78 to its left (the reference package
/// rounds the neck chain's y-rotation into these bins).
fn bin_yaw(bin: usize) -> f64 {
    if bin <= 39 {
        -(bin as f64)
    } else {
        (bin - 39) as f64
    }
}

/// The contour for every yaw bin. The rule: when the head turns by θ, the
/// visible jaw outline slides round the jaw away from the turn, so each
/// contour point moves by -θ/2 in azimuth (clamped to the jaw) and follows
/// the jaw line's height there.
pub fn contour_landmarks(mesh: &Mesh) -> Vec<[SurfacePoint; NUM_CONTOUR_LANDMARKS]> {
    let faces = face_triangles(mesh);
    (0..NUM_CONTOUR_BINS)
        .map(|bin| {
            std::array::from_fn(|k| {
                let az = (contour_azimuth(k) - 0.5 * bin_yaw(bin)).clamp(-80.0, 80.0);
                let a = az.to_radians();
                let y = jaw_height(az);
                let out = v3(a.sin(), 0.0, a.cos());
                let center = v3(0.0, y, -0.01);
                cast(mesh, &faces, center + out * 0.4, -out)
                    .unwrap_or_else(|| panic!("no jaw at azimuth {az}"))
            })
        })
        .collect()
}

/// Triangles of the face and jaw (the front of the head).
fn face_triangles(mesh: &Mesh) -> Vec<u32> {
    (0..mesh.faces.len() as u32)
        .filter(|&f| {
            mesh.faces[f as usize].iter().all(|&v| {
                let p = mesh.pos[v as usize];
                mesh.part[v as usize] == Segment::Trunk && p.y > 0.22 && p.z > -0.06
            })
        })
        .collect()
}

/// First hit of a ray on the given triangles (Möller–Trumbore).
fn cast(mesh: &Mesh, faces: &[u32], origin: V3, dir: V3) -> Option<SurfacePoint> {
    let mut best: Option<(f64, SurfacePoint)> = None;
    for &f in faces {
        let [a, b, c] = mesh.faces[f as usize].map(|v| mesh.pos[v as usize]);
        let (e1, e2) = (b - a, c - a);
        let pv = dir.cross(e2);
        let det = e1.dot(pv);
        if det.abs() < 1e-14 {
            continue;
        }
        let tv = origin - a;
        let u = tv.dot(pv) / det;
        let qv = tv.cross(e1);
        let v = dir.dot(qv) / det;
        let t = e2.dot(qv) / det;
        let eps = 1e-9;
        if u < -eps || v < -eps || u + v > 1.0 + eps || t <= 0.0 {
            continue;
        }
        if best.as_ref().is_none_or(|(bt, _)| t < *bt) {
            // Clamp rounding errors so the weights are exactly convex.
            let w = [1.0 - u - v, u, v].map(|x| x.max(0.0));
            let sum: f64 = w.iter().sum();
            best = Some((
                t,
                SurfacePoint {
                    face: f,
                    bary: w.map(|x| x / sum),
                },
            ));
        }
    }
    best.map(|(_, p)| p)
}
