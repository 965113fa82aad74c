//! Arm and hand: one tube from the chest wall to the finger webs, the four
//! fingers split off its last ring, the thumb out of a hole in the palm.

use super::{up_for, DENSITY};
use crate::smplx::joints::idx;
use crate::smplx::mannequin::geom::{lerp, smoothstep, v3, V3};
use crate::smplx::mannequin::mesh::{split_loop, Digit, Mesh, Segment};
use crate::smplx::mannequin::sdf::{cone, ellipsoid, sphere, Prim, Shape};
use crate::smplx::mannequin::skeleton::{Finger, Skeleton};
use crate::smplx::mannequin::tube::{Axis, End, Start, Tube};

/// The arm's first ring (x), just outside the hole in the chest.
const ARM_START_X: f64 = 0.172;
/// Where the arm's vertices count as the hand's (x).
const PALM_START_X: f64 = 0.712;
/// The ring where the finger webs split the palm (x).
const FINGER_SPLIT_X: f64 = 0.806;
/// The four fingers from the thumb side.
const FINGERS: [Digit; 4] = [Digit::Index, Digit::Middle, Digit::Ring, Digit::Pinky];

/// Builds the left arm from the hole in the chest (counter-clockwise about +x).
pub fn build(mesh: &mut Mesh, sk: &Skeleton, hole: Vec<u32>) {
    let shape = arm_shape(sk);
    let (v0, f0) = (mesh.pos.len(), mesh.faces.len());
    let arm = arm_tube(sk, &shape).build(mesh, Start::Loop(hole), End::Open);
    for v in v0..mesh.pos.len() {
        if mesh.pos[v].x > PALM_START_X {
            mesh.part[v] = Segment::Palm;
        }
    }

    let thumb_hole = mesh.cut_hole(f0..mesh.faces.len(), thumb_hole);
    build_digit(mesh, sk, Digit::Thumb, thumb_hole);

    // Split the last ring at each web, from the index side toward the little
    // finger: each split takes off one finger's loop.
    let mut rest = arm.rings.last().unwrap().clone();
    let center = *arm.centers.last().unwrap();
    for pair in FINGERS.windows(2) {
        let web_z = 0.5 * (finger_z_at(sk.finger(pair[0])) + finger_z_at(sk.finger(pair[1])));
        let (top, bottom) = web_ends(mesh, &rest, center, web_z);
        let bridge = web_bridge(mesh, rest[top], rest[bottom]);
        let (finger_loop, others) = split_loop(&rest, top, bottom, &bridge);
        build_digit(mesh, sk, pair[0], finger_loop);
        rest = others;
    }
    build_digit(mesh, sk, Digit::Pinky, rest);
}

fn arm_tube<'a>(sk: &Skeleton, shape: &'a Shape) -> Tube<'a> {
    let j = &sk.joints;
    Tube {
        part: Segment::Arm,
        dir: V3::X,
        e1: V3::Y,
        axis: Axis::Line(vec![
            v3(0.150, 0.155, -0.025),
            j[idx::LEFT_SHOULDER],
            j[idx::LEFT_ELBOW],
            j[idx::LEFT_WRIST],
            v3(FINGER_SPLIT_X, 0.131, -0.024),
        ]),
        shape,
        spacing: &arm_spacing,
        symmetric: false,
        s_first: ARM_START_X,
        s_last: FINGER_SPLIT_X,
        rays: 128,
        min_columns: 8,
        meridians: None,
        pinned: Vec::new(),
    }
}

/// Coarse on the arm, fine on the hand.
fn arm_spacing(p: V3) -> f64 {
    lerp(0.018, 0.0075, smoothstep(0.62, 0.70, p.x.abs())) * DENSITY
}

#[rustfmt::skip]
fn arm_shape(sk: &Skeleton) -> Shape {
    let j = &sk.joints;
    let (shoulder, elbow, wrist) = (j[idx::LEFT_SHOULDER], j[idx::LEFT_ELBOW], j[idx::LEFT_WRIST]);
    let mut s = Shape::new();
    // Deltoid over the shoulder, upper arm, biceps (front) and triceps (back).
    s.add(ellipsoid(shoulder + v3(0.012, 0.0, 0.0), v3(0.065, 0.055, 0.057)), 0.0);
    s.add(cone(shoulder, 0.047, elbow, 0.035), 0.03);
    s.add(ellipsoid(v3(0.320, 0.146, -0.012), v3(0.085, 0.036, 0.038)), 0.03);
    s.add(ellipsoid(v3(0.300, 0.150, -0.042), v3(0.095, 0.036, 0.034)), 0.03);
    // Point of the elbow, forearm muscles tapering to the wrist.
    s.add(sphere(elbow + v3(0.0, 0.0, -0.028), 0.016), 0.02);
    s.add(cone(elbow, 0.036, wrist, 0.024), 0.02);
    s.add(ellipsoid(v3(0.530, 0.146, -0.030), v3(0.100, 0.040, 0.044)), 0.04);
    s.add(ellipsoid(wrist, v3(0.026, 0.020, 0.030)), 0.02);
    add_palm(&mut s, sk);
    s
}

/// The palm's slab.
fn palm_box() -> Prim {
    Prim::RoundBox {
        c: v3(0.751, 0.131, -0.024),
        half: v3(0.047, 0.0125, 0.033),
        round: 0.011,
    }
}

/// The palm: a rounded slab, the balls of the thumb and little finger, and
/// the fingers' bases, which shape its knuckle end.
fn add_palm(s: &mut Shape, sk: &Skeleton) {
    s.add(palm_box(), 0.015);
    add_thenar(s);
    s.add(
        ellipsoid(v3(0.742, 0.122, -0.048), v3(0.035, 0.011, 0.013)),
        0.010,
    );
    for d in FINGERS {
        let f = sk.finger(d);
        s.add(
            cone(f.points[0], f.radii[0] * 1.05, f.points[1], f.radii[1]),
            0.008,
        );
    }
}

/// The ball of the thumb: in the palm's and the thumb's shape.
fn add_thenar(s: &mut Shape) {
    s.add(
        ellipsoid(v3(0.733, 0.121, -0.004), v3(0.030, 0.013, 0.018)),
        0.012,
    );
}

/// Where the thumb leaves the palm: its radial side, below the middle.
fn thumb_hole(p: V3) -> bool {
    let q = v3((p.x - 0.750) / 0.024, (p.y - 0.117) / 0.016, 0.0);
    p.z > -0.012 && q.x * q.x + q.y * q.y < 1.0
}

/// z of a finger's axis at the webs.
fn finger_z_at(f: &Finger) -> f64 {
    let (p, u) = (f.points[0], f.dir());
    p.z + u.z * (FINGER_SPLIT_X - p.x) / u.x
}

/// The ring's vertices on the back and on the palm side of the hand nearest
/// to `z`: the two ends of a web.
fn web_ends(mesh: &Mesh, ring: &[u32], center: V3, z: f64) -> (usize, usize) {
    let nearest = |upper: bool| {
        let off = |i: usize| (mesh.pos[ring[i] as usize].z - z).abs();
        (0..ring.len())
            .filter(|&i| (mesh.pos[ring[i] as usize].y > center.y) == upper)
            .min_by(|&a, &b| off(a).total_cmp(&off(b)))
            .expect("ring has no vertex on that side")
    };
    (nearest(true), nearest(false))
}

/// A web: one vertex inside the hand, halfway from `top` to `bottom`.
fn web_bridge(mesh: &mut Mesh, top: u32, bottom: u32) -> Vec<u32> {
    let p = mesh.pos[top as usize].lerp(mesh.pos[bottom as usize], 0.5);
    vec![mesh.add_vertex(p + v3(0.001, 0.0, 0.0), Segment::Palm)]
}

/// A digit's own shape. A finger also takes the palm's slab, cut off at the
/// planes halfway to its neighbours, so that it starts as its share of the
/// palm's cross-section and rounds off.
fn finger_shape(f: &Finger, sk: &Skeleton) -> Shape {
    let mut s = Shape::new();
    if f.digit == Digit::Thumb {
        add_thenar(&mut s);
    } else {
        s.add(palm_box(), 0.0);
    }
    let p = &f.points;
    s.add(cone(p[0], f.radii[0], p[1], f.radii[1]), 0.004);
    s.add(cone(p[1], f.radii[1], p[2], f.radii[2]), 0.003);
    s.add(cone(p[2], f.radii[2], f.tip_center(), f.radii[3]), 0.003);
    for plane in web_planes(f, sk) {
        s.clip(plane, 0.002);
    }
    s
}

/// Half-spaces keeping a finger to its side of the planes halfway to its
/// neighbours (none for the thumb).
fn web_planes(f: &Finger, sk: &Skeleton) -> Vec<Prim> {
    let Some(i) = FINGERS.iter().position(|&d| d == f.digit) else {
        return Vec::new();
    };
    let neighbours = [i.checked_sub(1), (i + 1 < FINGERS.len()).then_some(i + 1)];
    neighbours
        .into_iter()
        .flatten()
        .map(|k| {
            let other = sk.finger(FINGERS[k]);
            let web = v3(
                FINGER_SPLIT_X,
                0.0,
                0.5 * (finger_z_at(f) + finger_z_at(other)),
            );
            let between = (f.dir() + other.dir()).norm();
            let toward_other = (finger_z_at(other) - finger_z_at(f)).signum();
            let n = v3(-between.z, 0.0, between.x) * (toward_other * between.x.signum());
            Prim::HalfSpace { n, d: n.dot(web) }
        })
        .collect()
}

/// A finger or the thumb, from its loop to a pole at the tip.
fn build_digit(mesh: &mut Mesh, sk: &Skeleton, digit: Digit, start: Vec<u32>) {
    let f = sk.finger(digit);
    let shape = finger_shape(f, sk);
    let dir = f.dir();
    // Start beyond the whole loop so no ring cuts back through it.
    let s_loop = start
        .iter()
        .map(|&v| mesh.pos[v as usize].dot(dir))
        .fold(f64::MIN, f64::max);
    let h = if digit == Digit::Thumb {
        0.0055
    } else {
        0.0052
    } * DENSITY;
    Tube {
        part: Segment::Finger(digit),
        dir,
        e1: up_for(dir),
        axis: Axis::Line(vec![f.points[0], f.points[1], f.points[2], f.tip_center()]),
        shape: &shape,
        spacing: &|_| h,
        symmetric: false,
        s_first: s_loop + 0.004,
        s_last: 0.0,
        rays: 48,
        min_columns: 8,
        meridians: None,
        pinned: Vec::new(),
    }
    .build(mesh, Start::Loop(start), End::Pole);
}
