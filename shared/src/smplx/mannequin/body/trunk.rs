//! Head, neck and torso: one symmetric tube from the crown to the crotch.

use std::f64::consts::{FRAC_PI_2, PI};

use super::DENSITY;
use crate::smplx::mannequin::geom::{gauss, lerp, smoothstep, v3, V3};
use crate::smplx::mannequin::mesh::{split_loop, Mesh, Segment};
use crate::smplx::mannequin::sdf::{cone, ellipsoid, sphere, tilted, Prim, Shape};
use crate::smplx::mannequin::skeleton::face;
use crate::smplx::mannequin::tube::{Axis, End, Meridians, Start, Tube};

/// Centre of the rays that trace the head: level with the mouth, so that
/// the line between the lips is one ring (the dome's equator).
const HEAD_RAYS_FROM: V3 = v3(0.0, face::MOUTH_Y, -0.010);
/// Polar angle (from straight up) of the head's last ring, round the neck
/// under the chin.
const HEAD_LAST_RING: f64 = 145.0 * PI / 180.0;
/// The neck's first horizontal ring.
const NECK_TOP_Y: f64 = 0.200;
/// The torso's last ring (the top of the legs).
const CROTCH_RING_Y: f64 = -0.462;
/// Lowest point of the crotch bridge.
const CROTCH_Y: f64 = -0.505;

/// Where the left limbs attach to the trunk (loops running the way the
/// limb grows).
pub struct Joins {
    pub left_arm: Vec<u32>,
    pub left_leg: Vec<u32>,
}

/// Builds the trunk, cuts both arm holes and splits the crotch.
pub fn build(mesh: &mut Mesh) -> Joins {
    let head_shape = head_shape();
    let head = head_dome(&head_shape).build(mesh, Start::Pole, End::Open);
    let neck = head.rings.last().unwrap().clone();
    let torso_shape = torso_shape();
    let torso = torso_tube(&torso_shape).build(mesh, Start::Loop(neck), End::Open);

    // The trunk's faces are symmetric, so the mirrored cut removes the mirror
    // image of the left hole: the mirrored arm will fit it.
    let faces = 0..mesh.faces.len();
    let left_arm = mesh.cut_hole(faces.clone(), arm_hole);
    mesh.cut_hole(faces, |p| arm_hole(p.mirror()));

    // A symmetric ring starts at the back centre; the front centre is halfway.
    let bottom = torso.rings.last().unwrap();
    let bridge = crotch_bridge(mesh, bottom);
    let (_right_leg, left_leg) = split_loop(bottom, bottom.len() / 2, 0, &bridge);
    Joins { left_arm, left_leg }
}

/// The hip: in both the torso's and the leg's shape, so they meet smoothly.
pub fn hip() -> Prim {
    ellipsoid(v3(0.088, -0.470, -0.008), v3(0.075, 0.090, 0.088))
}

#[rustfmt::skip]
fn torso_shape() -> Shape {
    let mut s = Shape::new();
    // Pelvis, hips, buttocks, belly.
    s.add(ellipsoid(v3(0.0, -0.405, -0.010), v3(0.150, 0.105, 0.105)), 0.0);
    s.add_pair(hip(), 0.05);
    s.add_pair(ellipsoid(v3(0.066, -0.430, -0.050), v3(0.078, 0.088, 0.072)), 0.04);
    s.add(ellipsoid(v3(0.0, -0.190, -0.004), v3(0.136, 0.170, 0.086)), 0.05);
    s.add(ellipsoid(v3(0.0, -0.250, 0.000), v3(0.112, 0.095, 0.068)), 0.04);
    // Ribcage, chest, shoulder blades, the shoulder girdle and trapezius.
    s.add(ellipsoid(v3(0.0, 0.030, -0.020), v3(0.145, 0.170, 0.100)), 0.05);
    s.add_pair(ellipsoid(v3(0.062, 0.070, 0.040), v3(0.065, 0.050, 0.045)), 0.03);
    s.add_pair(ellipsoid(v3(0.070, 0.090, -0.075), v3(0.070, 0.080, 0.045)), 0.03);
    s.add(ellipsoid(v3(0.0, 0.140, -0.025), v3(0.150, 0.065, 0.085)), 0.05);
    s.add_pair(cone(v3(0.0, 0.178, -0.035), 0.062, v3(0.114, 0.170, -0.025), 0.040), 0.03);
    add_neck(&mut s);
    s
}

fn add_neck(s: &mut Shape) {
    s.add(
        cone(v3(0.0, 0.170, -0.030), 0.058, v3(0.0, 0.310, -0.012), 0.052),
        0.03,
    );
}

#[rustfmt::skip]
fn head_shape() -> Shape {
    let mut s = Shape::new();
    add_neck(&mut s);
    // Skull, mid-face, jaw, chin and cheekbones.
    s.add(ellipsoid(v3(0.0, 0.392, -0.012), v3(0.077, 0.098, 0.100)), 0.03);
    s.add(ellipsoid(v3(0.0, 0.338, 0.018), v3(0.064, 0.072, 0.078)), 0.02);
    s.add(ellipsoid(v3(0.0, 0.292, 0.018), v3(0.056, 0.042, 0.070)), 0.02);
    s.add(ellipsoid(v3(0.0, 0.272, 0.066), v3(0.022, 0.020, 0.020)), 0.015);
    s.add_pair(ellipsoid(v3(0.047, 0.352, 0.048), v3(0.018, 0.012, 0.020)), 0.015);
    // Brows; eye sockets carved out, eyeballs set in them, upper and lower lids.
    s.add_pair(cone(v3(0.011, 0.391, 0.083), 0.0068, v3(0.050, 0.394, 0.067), 0.0058), 0.012);
    s.sub_pair(sphere(face::EYE + v3(0.0, 0.003, 0.026), 0.0145), 0.008);
    s.add_pair(sphere(face::EYE, face::EYE_RADIUS), 0.002);
    s.add_pair(ellipsoid(face::EYE + v3(0.0, 0.0045, 0.004), v3(0.0150, 0.0085, 0.0125)), 0.002);
    s.add_pair(ellipsoid(face::EYE + v3(0.0, -0.0055, 0.002), v3(0.0140, 0.0060, 0.0120)), 0.002);
    // Nose: bridge, tip and wings.
    s.add(cone(v3(0.0, 0.377, 0.079), 0.0055, face::NOSE_TIP, 0.0090), 0.012);
    s.add(sphere(face::NOSE_TIP + v3(0.0, -0.002, 0.001), 0.0098), 0.008);
    s.add_pair(sphere(v3(0.0115, 0.3235, 0.092), 0.0068), 0.012);
    // Lips: each a pair of tapered rods from the corners to the middle.
    let mid_upper = v3(0.0, face::MOUTH_Y + 0.0055, 0.093);
    let mid_lower = v3(0.0, face::MOUTH_Y - 0.0065, 0.090);
    s.add_pair(cone(face::MOUTH_CORNER + v3(0.0, 0.001, 0.0), 0.0035, mid_upper, 0.0065), 0.012);
    s.add_pair(cone(face::MOUTH_CORNER + v3(-0.002, -0.001, -0.001), 0.0035, mid_lower, 0.0072), 0.012);
    // The groove between the lips; sharp, because it lies on the dome's
    // equator, which is traced as one ring.
    s.sub(ellipsoid(v3(0.0, face::MOUTH_Y, 0.101), v3(0.021, 0.0018, 0.016)), 0.002);
    // Ears, each with a hollow.
    s.add_pair(tilted(face::EAR, v3(0.009, 0.031, 0.019), v3(0.0, 1.0, -0.25)), 0.016);
    s.sub_pair(sphere(face::EAR + v3(0.012, -0.002, 0.004), 0.007), 0.005);
    s
}

/// Target edge length on the trunk: finest round the eyes and mouth, fine
/// on the face, coarsest on the torso.
fn spacing(p: V3) -> f64 {
    let face_zone =
        smoothstep(0.44, 0.40, p.y) * smoothstep(0.235, 0.265, p.y) * smoothstep(-0.01, 0.05, p.z);
    let mouth = gauss((p.y - face::MOUTH_Y).powi(2), 0.006) * smoothstep(0.045, 0.025, p.x.abs());
    let eye_front = face::EYE + v3(0.0, 0.0, 0.012);
    let eye = gauss((v3(p.x.abs(), p.y, p.z) - eye_front).len().powi(2), 0.012);
    let body = lerp(0.023, 0.013, smoothstep(0.16, 0.23, p.y));
    let head = lerp(body, 0.012, smoothstep(0.24, 0.28, p.y));
    let h = lerp(head, 0.0041, face_zone);
    lerp(h, 0.0032, mouth.max(eye) * face_zone) * DENSITY
}

/// The head: a dome of latitude rings on fixed, face-crowded meridians,
/// with the mouth line pinned as a ring.
fn head_dome(shape: &Shape) -> Tube<'_> {
    Tube {
        part: Segment::Trunk,
        dir: -V3::Y,
        e1: V3::X,
        axis: Axis::Radial(HEAD_RAYS_FROM),
        shape,
        spacing: &spacing,
        symmetric: true,
        s_first: 0.0,
        s_last: HEAD_LAST_RING,
        rays: 0,
        min_columns: 16,
        meridians: Some(Meridians {
            count: 40,
            density: &meridian_density,
        }),
        pinned: vec![FRAC_PI_2],
    }
}

/// Meridians crowd on the face: angle 0 is the left side, π/2 the front.
fn meridian_density(phi: f64) -> f64 {
    lerp(
        0.42,
        1.0,
        smoothstep(30f64.to_radians(), 55f64.to_radians(), phi),
    )
}

/// Neck to crotch, in horizontal rings.
fn torso_tube(shape: &Shape) -> Tube<'_> {
    Tube {
        part: Segment::Trunk,
        dir: -V3::Y,
        e1: V3::X,
        axis: Axis::Line(vec![
            v3(0.0, 0.260, -0.020),
            v3(0.0, 0.220, -0.028),
            v3(0.0, 0.120, -0.025),
            v3(0.0, -0.100, -0.010),
            v3(0.0, -0.300, -0.005),
            v3(0.0, -0.470, -0.015),
        ]),
        shape,
        spacing: &spacing,
        symmetric: true,
        s_first: -NECK_TOP_Y,
        s_last: -CROTCH_RING_Y,
        rays: 160,
        min_columns: 16,
        meridians: None,
        pinned: Vec::new(),
    }
}

/// The patch of the chest wall the left arm grows out of.
fn arm_hole(p: V3) -> bool {
    p.x > 0.09 && (0.088..=0.205).contains(&p.y) && (p.z + 0.025).abs() < 0.052
}

/// Vertices under the crotch from the front centre to the back centre of
/// the torso's last ring (`ring[0]` is the back centre, the front halfway).
fn crotch_bridge(mesh: &mut Mesh, ring: &[u32]) -> Vec<u32> {
    let back = mesh.pos[ring[0] as usize];
    let front = mesh.pos[ring[ring.len() / 2] as usize];
    let n = 5;
    (1..=n)
        .map(|i| {
            let u = i as f64 / (n + 1) as f64;
            let dip = (PI * u).sin().powf(0.6);
            let p = front.lerp(back, u);
            mesh.add_midline_vertex(v3(0.0, lerp(p.y, CROTCH_Y, dip), p.z), Segment::Trunk)
        })
        .collect()
}
