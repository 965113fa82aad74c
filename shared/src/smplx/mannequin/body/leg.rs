//! Leg and foot: the leg runs from the crotch into a hole in the top of the
//! foot; the foot runs from a pole at the heel to a ridge across the toes.

use super::trunk::hip;
use super::DENSITY;
use crate::smplx::joints::idx;
use crate::smplx::mannequin::geom::{lerp, smoothstep, v3, V3};
use crate::smplx::mannequin::mesh::{Mesh, Segment};
use crate::smplx::mannequin::sdf::{cone, ellipsoid, sphere, Prim, Shape};
use crate::smplx::mannequin::skeleton::{Skeleton, FLOOR_Y};
use crate::smplx::mannequin::tube::{Axis, End, Start, Tube};

/// First ring of the leg's own tube, just below the crotch.
const THIGH_TOP_Y: f64 = -0.500;
/// Where the leg meets the foot.
const ANKLE_CUT_Y: f64 = -1.118;

/// Builds the left leg and foot from the leg's loop at the crotch
/// (counter-clockwise about -y).
pub fn build(mesh: &mut Mesh, sk: &Skeleton, top: Vec<u32>) {
    let foot_shape = foot_shape(sk);
    let first_foot_face = mesh.faces.len();
    foot_tube(&foot_shape).build(mesh, Start::Pole, End::Ridge(4));
    let mut hole = mesh.cut_hole(first_foot_face..mesh.faces.len(), ankle_hole);
    // The cut follows the foot's upright rings in steps; its edge lies on
    // the near-vertical ankle, so level it by sliding it down the ankle.
    for &v in &hole {
        mesh.pos[v as usize].y = ANKLE_CUT_Y;
    }
    // The hole runs counter-clockwise about "up"; the leg comes down into it.
    hole.reverse();
    let leg_shape = leg_shape(sk);
    leg_tube(sk, &leg_shape).build(mesh, Start::Loop(top), End::Loop(hole));
}

fn leg_tube<'a>(sk: &Skeleton, shape: &'a Shape) -> Tube<'a> {
    let j = &sk.joints;
    Tube {
        part: Segment::Leg,
        dir: -V3::Y,
        e1: V3::X,
        axis: Axis::Line(vec![
            v3(0.085, -0.470, 0.0),
            j[idx::LEFT_KNEE],
            j[idx::LEFT_ANKLE],
            v3(0.088, -1.13, -0.034),
        ]),
        shape,
        spacing: &|p| lerp(0.019, 0.012, smoothstep(-1.0, -1.1, p.y)) * DENSITY,
        symmetric: false,
        s_first: -THIGH_TOP_Y,
        s_last: -ANKLE_CUT_Y,
        rays: 96,
        min_columns: 8,
        meridians: None,
        pinned: Vec::new(),
    }
}

fn foot_tube(shape: &Shape) -> Tube<'_> {
    Tube {
        part: Segment::Foot,
        dir: V3::Z,
        e1: V3::X,
        axis: Axis::Line(vec![
            v3(0.089, -1.168, -0.060),
            v3(0.095, -1.176, 0.060),
            v3(0.098, -1.187, 0.150),
        ]),
        shape,
        spacing: &|_| 0.0128 * DENSITY,
        symmetric: false,
        s_first: 0.0,
        s_last: 0.0,
        rays: 128,
        min_columns: 8,
        meridians: None,
        pinned: Vec::new(),
    }
}

#[rustfmt::skip]
fn leg_shape(sk: &Skeleton) -> Shape {
    let (hip_joint, knee) = (sk.joints[idx::LEFT_HIP], sk.joints[idx::LEFT_KNEE]);
    let mut s = Shape::new();
    // Hip, thigh with the quadriceps (front) and hamstrings (back), kneecap.
    s.add(hip(), 0.05);
    s.add(cone(hip_joint + v3(0.006, -0.02, -0.004), 0.074, knee, 0.050), 0.05);
    s.add(ellipsoid(v3(0.100, -0.600, 0.024), v3(0.052, 0.170, 0.050)), 0.04);
    s.add(ellipsoid(v3(0.090, -0.600, -0.026), v3(0.052, 0.160, 0.050)), 0.04);
    s.add(ellipsoid(knee + v3(0.0, 0.006, 0.040), v3(0.020, 0.024, 0.015)), 0.02);
    add_lower_leg(&mut s, sk);
    // Keep off the plane of symmetry, where the other thigh is.
    s.clip(Prim::HalfSpace { n: -V3::X, d: -0.004 }, 0.0);
    s
}

/// Shin, calf and ankle: in both the leg's and the foot's shape, so the two
/// meet without a step.
#[rustfmt::skip]
fn add_lower_leg(s: &mut Shape, sk: &Skeleton) {
    let (knee, ankle) = (sk.joints[idx::LEFT_KNEE], sk.joints[idx::LEFT_ANKLE]);
    s.add(cone(knee, 0.047, ankle, 0.029), 0.04);
    s.add(ellipsoid(v3(0.098, -0.915, -0.028), v3(0.043, 0.115, 0.045)), 0.05);
    s.add(cone(ankle + v3(0.0, 0.06, 0.003), 0.031, ankle + v3(0.0, -0.035, 0.0), 0.034), 0.02);
    // The ankle bones, outer and inner.
    s.add(sphere(ankle + v3(0.026, -0.005, -0.004), 0.014), 0.012);
    s.add(sphere(ankle + v3(-0.022, 0.004, 0.002), 0.014), 0.012);
}

#[rustfmt::skip]
fn foot_shape(sk: &Skeleton) -> Shape {
    let mut s = Shape::new();
    // Heel, arch, forefoot.
    s.add(sphere(v3(0.088, -1.173, -0.048), 0.036), 0.0);
    s.add(ellipsoid(v3(0.094, -1.175, 0.035), v3(0.042, 0.036, 0.095)), 0.03);
    s.add(ellipsoid(v3(0.100, -1.186, 0.112), v3(0.049, 0.024, 0.050)), 0.03);
    // Big toe, then the smaller toes stepping back.
    s.add(ellipsoid(v3(0.079, -1.192, 0.150), v3(0.016, 0.016, 0.024)), 0.012);
    s.add(ellipsoid(v3(0.099, -1.195, 0.147), v3(0.011, 0.012, 0.020)), 0.010);
    s.add(ellipsoid(v3(0.114, -1.196, 0.140), v3(0.010, 0.011, 0.019)), 0.010);
    s.add(ellipsoid(v3(0.127, -1.197, 0.130), v3(0.009, 0.010, 0.018)), 0.010);
    add_lower_leg(&mut s, sk);
    // Only the bottom of the leg: the foot stops a little above where the
    // leg joins it (that cap is cut away for the leg anyway). Sole flat.
    s.clip(Prim::HalfSpace { n: V3::Y, d: ANKLE_CUT_Y + 0.025 }, 0.005);
    s.clip(Prim::HalfSpace { n: -V3::Y, d: -FLOOR_Y }, 0.006);
    s
}

/// The top of the left foot, where the leg joins it.
fn ankle_hole(p: V3) -> bool {
    let q = v3((p.x - 0.088) / 0.050, 0.0, (p.z + 0.035) / 0.055);
    p.y > ANKLE_CUT_Y && q.x * q.x + q.z * q.z < 1.0
}
