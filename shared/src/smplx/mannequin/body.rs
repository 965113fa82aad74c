//! The mannequin's surface: its shapes and how the tubes are joined.
//!
//! One closed surface: the trunk runs from a pole on the crown down through
//! the neck to the crotch, where a bridge of vertices splits its last ring
//! into the two legs; each leg runs into a hole cut in the top of its foot.
//! The arms grow out of holes cut in the sides of the chest; each arm runs
//! on into the heel of the hand, where the thumb web splits off the thumb,
//! and the palm then splits at the finger webs into four fingers.
//! The left limbs are built and mirrored.

use super::geom::{gauss, lerp, smoothstep, v3, V3};
use super::mesh::{split_loop, Axis, Digit, End, Meridians, Mesh, Part, Start, Tube};
use super::sdf::{cone, ellipsoid, sphere, tilted, Prim, Shape};
use super::skeleton::{face, Finger, Skeleton, FLOOR_Y};
use crate::smplx::joints::idx;

/// Scales every target edge length; tuned so the surface lands just under
/// the official vertex count (the rest is made up by edge splits).
const DENSITY: f64 = 1.0;

/// Where the trunk's last ring (the top of the legs) sits.
const CROTCH_RING_Y: f64 = -0.462;
/// Lowest point of the crotch bridge.
const CROTCH_Y: f64 = -0.505;
/// First ring of each leg's own tube.
const THIGH_TOP_Y: f64 = -0.500;
/// Where the leg meets the foot.
const ANKLE_CUT_Y: f64 = -1.118;
/// The arm's first ring (x), just outside the hole in the chest.
const ARM_START_X: f64 = 0.172;
/// Where the arm's vertices count as the hand's (x).
const PALM_START_X: f64 = 0.712;
/// The ring where the finger webs split the palm (x).
const FINGER_SPLIT_X: f64 = 0.806;

/// Builds the whole closed surface.
pub fn build(sk: &Skeleton) -> Mesh {
    let mut mesh = Mesh::default();
    let head_shape = head_shape();
    let head = head_dome(&head_shape).build(&mut mesh, Start::Pole, End::Open);
    let neck = head.rings.last().unwrap().clone();
    let torso_shape = torso_shape();
    let trunk = torso_tube(&torso_shape).build(&mut mesh, Start::Loop(neck), End::Open);
    let trunk_faces = 0..mesh.faces.len();

    let left_hole = mesh.cut_hole(trunk_faces.clone(), arm_hole);
    mesh.cut_hole(trunk_faces, |p| arm_hole(p.mirror()));
    let (v0, f0) = (mesh.pos.len(), mesh.faces.len());
    build_arm(&mut mesh, sk, left_hole);
    mesh.mirror_subtree(v0, f0);

    let bottom = trunk.rings.last().unwrap().clone();
    let bridge = crotch_bridge(&mut mesh, &bottom);
    // The symmetric ring starts at the back centre; the front centre is halfway.
    let (_right, left) = split_loop(&bottom, bottom.len() / 2, 0, &bridge);
    let (v0, f0) = (mesh.pos.len(), mesh.faces.len());
    build_leg(&mut mesh, sk, left);
    mesh.mirror_subtree(v0, f0);

    mesh.compact();
    mesh
}

// ---------------------------------------------------------------- trunk ---

/// The hips: shared by the trunk and the legs so they meet smoothly.
fn hip_prim() -> Prim {
    ellipsoid(v3(0.088, -0.470, -0.008), v3(0.075, 0.090, 0.088))
}

fn add_hip(s: &mut Shape) {
    s.add(hip_prim(), 0.05);
}

fn torso_shape() -> Shape {
    let mut s = Shape::new();
    // Pelvis, hips, buttocks, belly.
    s.add(
        ellipsoid(v3(0.0, -0.405, -0.010), v3(0.150, 0.105, 0.105)),
        0.0,
    );
    s.add_pair(hip_prim(), 0.05);
    s.add_pair(
        ellipsoid(v3(0.066, -0.430, -0.050), v3(0.078, 0.088, 0.072)),
        0.04,
    );
    s.add(
        ellipsoid(v3(0.0, -0.190, 0.000), v3(0.136, 0.170, 0.092)),
        0.06,
    );
    s.add(
        ellipsoid(v3(0.0, -0.245, 0.004), v3(0.112, 0.100, 0.074)),
        0.05,
    );
    // Ribcage, chest, shoulder blades, shoulders.
    s.add(
        ellipsoid(v3(0.0, 0.030, -0.020), v3(0.145, 0.170, 0.100)),
        0.05,
    );
    s.add_pair(
        ellipsoid(v3(0.062, 0.070, 0.040), v3(0.065, 0.050, 0.045)),
        0.03,
    );
    s.add_pair(
        ellipsoid(v3(0.070, 0.090, -0.075), v3(0.070, 0.080, 0.045)),
        0.03,
    );
    s.add(
        ellipsoid(v3(0.0, 0.140, -0.025), v3(0.150, 0.065, 0.085)),
        0.05,
    );
    s.add_pair(
        cone(
            v3(0.0, 0.170, -0.035),
            0.060,
            v3(0.112, 0.168, -0.025),
            0.040,
        ),
        0.03,
    );
    add_neck(&mut s);
    s
}

fn add_neck(s: &mut Shape) {
    s.add(
        cone(v3(0.0, 0.170, -0.030), 0.058, v3(0.0, 0.310, -0.012), 0.052),
        0.03,
    );
}

fn head_shape() -> Shape {
    let mut s = Shape::new();
    add_neck(&mut s);
    // Skull, mid-face, jaw and chin.
    s.add(
        ellipsoid(v3(0.0, 0.392, -0.012), v3(0.077, 0.098, 0.100)),
        0.03,
    );
    s.add(
        ellipsoid(v3(0.0, 0.338, 0.018), v3(0.064, 0.072, 0.078)),
        0.02,
    );
    s.add(
        ellipsoid(v3(0.0, 0.292, 0.018), v3(0.056, 0.042, 0.070)),
        0.02,
    );
    s.add(
        ellipsoid(v3(0.0, 0.272, 0.066), v3(0.022, 0.020, 0.020)),
        0.015,
    );
    s.add_pair(
        ellipsoid(v3(0.047, 0.352, 0.048), v3(0.018, 0.012, 0.020)),
        0.015,
    );
    // Brows, eye sockets, eyeballs and lids.
    s.add_pair(
        cone(
            v3(0.011, 0.391, 0.083),
            0.0068,
            v3(0.050, 0.394, 0.067),
            0.0058,
        ),
        0.012,
    );
    s.sub_pair(sphere(face::EYE + v3(0.0, 0.003, 0.026), 0.0145), 0.008);
    s.add_pair(sphere(face::EYE, face::EYE_RADIUS), 0.002);
    s.add_pair(
        ellipsoid(
            face::EYE + v3(0.0, 0.0045, 0.004),
            v3(0.0150, 0.0085, 0.0125),
        ),
        0.002,
    );
    s.add_pair(
        ellipsoid(
            face::EYE + v3(0.0, -0.0055, 0.002),
            v3(0.0140, 0.0060, 0.0120),
        ),
        0.002,
    );
    // Nose: bridge, tip and wings.
    s.add(
        cone(v3(0.0, 0.377, 0.079), 0.0055, face::NOSE_TIP, 0.0090),
        0.012,
    );
    s.add(
        sphere(face::NOSE_TIP + v3(0.0, -0.002, 0.001), 0.0098),
        0.008,
    );
    s.add_pair(sphere(v3(0.0115, 0.3235, 0.092), 0.0068), 0.012);
    // Lips (each a pair of tapered rods meeting in the middle) and the slit.
    let mid_upper = v3(0.0, face::MOUTH_Y + 0.0055, 0.093);
    let mid_lower = v3(0.0, face::MOUTH_Y - 0.0065, 0.090);
    s.add_pair(
        cone(
            face::MOUTH_CORNER + v3(0.0, 0.001, 0.0),
            0.0035,
            mid_upper,
            0.0065,
        ),
        0.012,
    );
    s.add_pair(
        cone(
            face::MOUTH_CORNER + v3(-0.002, -0.001, -0.001),
            0.0035,
            mid_lower,
            0.0072,
        ),
        0.012,
    );
    // The line between the lips (traced exactly: it is a ring of the dome).
    s.sub(
        ellipsoid(v3(0.0, face::MOUTH_Y, 0.100), v3(0.022, 0.0018, 0.014)),
        0.002,
    );
    // Ears, with a hollow.
    s.add_pair(
        tilted(face::EAR, v3(0.009, 0.031, 0.019), v3(0.0, 1.0, -0.25)),
        0.016,
    );
    s.sub_pair(sphere(face::EAR + v3(0.012, -0.002, 0.004), 0.007), 0.005);
    s
}

/// Target edge length on the trunk: finest around the eyes and mouth,
/// fine on the face, coarse on the torso.
fn trunk_spacing(p: V3) -> f64 {
    let face_zone =
        smoothstep(0.44, 0.40, p.y) * smoothstep(0.235, 0.265, p.y) * smoothstep(-0.01, 0.05, p.z);
    let mouth = gauss((p.y - face::MOUTH_Y).powi(2), 0.006) * smoothstep(0.045, 0.025, p.x.abs());
    let eye = gauss(
        (v3(p.x.abs(), p.y, p.z) - (face::EYE + v3(0.0, 0.0, 0.012)))
            .len()
            .powi(2),
        0.012,
    );
    let body = lerp(0.026, 0.014, smoothstep(0.16, 0.23, p.y));
    let head = lerp(body, 0.012, smoothstep(0.24, 0.28, p.y));
    let h = lerp(head, 0.0044, face_zone);
    let h = lerp(h, 0.0032, mouth.max(eye) * face_zone);
    h * DENSITY
}

/// Centre of the rays that trace the head: level with the mouth, so that
/// the line between the lips is one ring (the equator of the dome).
const HEAD_RAYS_FROM: V3 = v3(0.0, face::MOUTH_Y, -0.010);
/// Polar angle (from straight up) of the head's last ring, round the neck
/// under the chin.
const HEAD_LAST_RING: f64 = 145.0 * std::f64::consts::PI / 180.0;
/// The neck's first ring.
const NECK_TOP_Y: f64 = 0.200;

/// The head as a dome of latitude rings traced from inside the skull.
fn head_dome(shape: &Shape) -> Tube<'_> {
    Tube {
        part: Part::Trunk,
        dir: -V3::Y,
        e1: V3::X,
        axis: Axis::Radial(HEAD_RAYS_FROM),
        shape,
        spacing: &trunk_spacing,
        symmetric: true,
        s_first: 0.0,
        s_last: HEAD_LAST_RING,
        rays: 0,
        min_columns: 16,
        meridians: Some(Meridians {
            count: 40,
            density: &head_meridian_density,
        }),
        pinned: vec![std::f64::consts::FRAC_PI_2],
    }
}

/// Meridians crowd on the face: angle 0 is the left side, π/2 the front.
fn head_meridian_density(phi: f64) -> f64 {
    lerp(
        0.42,
        1.0,
        smoothstep(30f64.to_radians(), 55f64.to_radians(), phi),
    )
}

/// Neck to crotch, in horizontal rings.
fn torso_tube(shape: &Shape) -> Tube<'_> {
    Tube {
        part: Part::Trunk,
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
        spacing: &trunk_spacing,
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

/// Vertices under the crotch joining the front and back centre of the
/// trunk's last ring (`ring[0]` is the back centre, the front is halfway);
/// ordered front to back.
fn crotch_bridge(mesh: &mut Mesh, ring: &[u32]) -> Vec<u32> {
    let back = mesh.pos[ring[0] as usize];
    let front = mesh.pos[ring[ring.len() / 2] as usize];
    let n = 5;
    (1..=n)
        .map(|i| {
            let u = i as f64 / (n + 1) as f64;
            let dip = (std::f64::consts::PI * u).sin().powf(0.6);
            let p = front.lerp(back, u);
            mesh.add_midline_vertex(v3(0.0, lerp(p.y, CROTCH_Y, dip), p.z), Part::Trunk)
        })
        .collect()
}

// ------------------------------------------------------------------ arm ---

fn arm_shape(sk: &Skeleton) -> Shape {
    let j = &sk.joints;
    let (sh, el, wr) = (
        j[idx::LEFT_SHOULDER],
        j[idx::LEFT_ELBOW],
        j[idx::LEFT_WRIST],
    );
    let mut s = Shape::new();
    // Deltoid over the shoulder, upper arm, biceps and triceps.
    s.add(
        ellipsoid(sh + v3(0.012, 0.0, 0.0), v3(0.065, 0.055, 0.057)),
        0.0,
    );
    s.add(cone(sh, 0.047, el, 0.035), 0.03);
    s.add(
        ellipsoid(v3(0.320, 0.146, -0.012), v3(0.085, 0.036, 0.038)),
        0.03,
    );
    s.add(
        ellipsoid(v3(0.300, 0.150, -0.042), v3(0.095, 0.036, 0.034)),
        0.03,
    );
    // Elbow, forearm muscles tapering to the wrist.
    s.add(sphere(el + v3(0.0, 0.0, -0.028), 0.016), 0.02);
    s.add(cone(el, 0.036, wr, 0.024), 0.02);
    s.add(
        ellipsoid(v3(0.530, 0.146, -0.030), v3(0.100, 0.040, 0.044)),
        0.04,
    );
    s.add(ellipsoid(wr, v3(0.026, 0.020, 0.030)), 0.02);
    add_palm(&mut s, sk);
    s
}

/// The palm: a rounded slab with the thumb's and little finger's balls
/// and a knuckle row.
fn palm_box() -> Prim {
    Prim::RoundBox {
        c: v3(0.751, 0.131, -0.024),
        half: v3(0.047, 0.0125, 0.033),
        round: 0.011,
    }
}

fn add_palm(s: &mut Shape, sk: &Skeleton) {
    s.add(palm_box(), 0.015);
    add_thenar(s);
    s.add(
        ellipsoid(v3(0.742, 0.122, -0.048), v3(0.035, 0.011, 0.013)),
        0.010,
    );
    // The finger bases shape the knuckle end of the palm.
    for d in FINGERS {
        let f = sk.finger(d);
        s.add(
            cone(f.points[0], f.radii[0] * 1.05, f.points[1], f.radii[1]),
            0.008,
        );
    }
}

/// The ball of the thumb, shared by the palm and the thumb.
fn add_thenar(s: &mut Shape) {
    s.add(
        ellipsoid(v3(0.733, 0.121, -0.004), v3(0.030, 0.013, 0.018)),
        0.012,
    );
}

/// A digit's own shape. A finger also takes the end of the palm, cut off
/// at the planes through its webs, so that it starts as the palm's cross
/// section and rounds off.
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

/// The four fingers from the thumb side.
const FINGERS: [Digit; 4] = [Digit::Index, Digit::Middle, Digit::Ring, Digit::Pinky];

/// Half-spaces bounding a finger by the planes halfway to its neighbours.
fn web_planes(f: &Finger, sk: &Skeleton) -> Vec<Prim> {
    let Some(i) = FINGERS.iter().position(|&d| d == f.digit) else {
        return Vec::new();
    };
    [i.checked_sub(1), (i + 1 < FINGERS.len()).then_some(i + 1)]
        .into_iter()
        .flatten()
        .map(|k| {
            let other = sk.finger(FINGERS[k]);
            let web = v3(
                FINGER_SPLIT_X,
                0.0,
                0.5 * (finger_z_at(f, FINGER_SPLIT_X) + finger_z_at(other, FINGER_SPLIT_X)),
            );
            let between = (f.dir() + other.dir()).norm();
            let mut n = v3(-between.z, 0.0, between.x);
            if n.z * (finger_z_at(other, FINGER_SPLIT_X) - finger_z_at(f, FINGER_SPLIT_X)) < 0.0 {
                n = -n;
            }
            Prim::HalfSpace { n, d: n.dot(web) }
        })
        .collect()
}

fn arm_spacing(p: V3) -> f64 {
    lerp(0.020, 0.0075, smoothstep(0.62, 0.70, p.x.abs())) * DENSITY
}

fn finger_spacing(_: V3) -> f64 {
    0.0052 * DENSITY
}

/// In-plane reference direction: "up", made normal to `dir`.
fn up_for(dir: V3) -> V3 {
    V3::Y.reject(dir).norm()
}

fn build_arm(mesh: &mut Mesh, sk: &Skeleton, hole: Vec<u32>) {
    let j = &sk.joints;
    let shape = arm_shape(sk);
    let (v0, f0) = (mesh.pos.len(), mesh.faces.len());
    let arm = Tube {
        part: Part::Arm,
        dir: V3::X,
        e1: V3::Y,
        axis: Axis::Line(vec![
            v3(0.150, 0.155, -0.025),
            j[idx::LEFT_SHOULDER],
            j[idx::LEFT_ELBOW],
            j[idx::LEFT_WRIST],
            v3(FINGER_SPLIT_X, 0.131, -0.024),
        ]),
        shape: &shape,
        spacing: &arm_spacing,
        symmetric: false,
        s_first: ARM_START_X,
        s_last: FINGER_SPLIT_X,
        rays: 128,
        min_columns: 8,
        meridians: None,
        pinned: Vec::new(),
    }
    .build(mesh, Start::Loop(hole), End::Open);
    for v in v0..mesh.pos.len() {
        if mesh.pos[v].x > PALM_START_X {
            mesh.part[v] = Part::Palm;
        }
    }

    // The thumb grows out of the ball of the thumb.
    let thumb_hole = mesh.cut_hole(f0..mesh.faces.len(), thumb_hole);
    build_digit(mesh, sk, Digit::Thumb, thumb_hole);

    // Finger webs, from the index side toward the little finger.
    let mut rest = arm.rings.last().unwrap().clone();
    let center = *arm.centers.last().unwrap();
    for pair in FINGERS.windows(2) {
        let web_z = 0.5
            * (finger_z_at(sk.finger(pair[0]), FINGER_SPLIT_X)
                + finger_z_at(sk.finger(pair[1]), FINGER_SPLIT_X));
        let (top, bottom) = web_ends(mesh, &rest, center, web_z);
        let bridge = web_bridge(mesh, rest[top], rest[bottom], 1);
        let (finger_loop, others) = split_loop(&rest, top, bottom, &bridge);
        build_digit(mesh, sk, pair[0], finger_loop);
        rest = others;
    }
    build_digit(mesh, sk, Digit::Pinky, rest);
}

/// Where the thumb leaves the palm: its radial side, below the middle.
fn thumb_hole(p: V3) -> bool {
    let q = v3((p.x - 0.750) / 0.024, (p.y - 0.117) / 0.016, 0.0);
    p.z > -0.012 && q.x * q.x + q.y * q.y < 1.0
}

/// z of a digit's axis where it crosses the plane x = `x`.
fn finger_z_at(f: &Finger, x: f64) -> f64 {
    let (p, u) = (f.points[0], f.dir());
    p.z + u.z * (x - p.x) / u.x
}

/// The ring vertices on the back and the palm side of the hand closest to
/// `z`: the two ends of a web.
fn web_ends(mesh: &Mesh, ring: &[u32], center: V3, z: f64) -> (usize, usize) {
    let closest = |upper: bool| {
        (0..ring.len())
            .filter(|&i| (mesh.pos[ring[i] as usize].y > center.y) == upper)
            .min_by(|&a, &b| {
                let da = (mesh.pos[ring[a] as usize].z - z).abs();
                let db = (mesh.pos[ring[b] as usize].z - z).abs();
                da.total_cmp(&db)
            })
            .expect("ring has no vertex on that side")
    };
    (closest(true), closest(false))
}

/// `n` vertices across the inside of the hand from `top` to `bottom`.
fn web_bridge(mesh: &mut Mesh, top: u32, bottom: u32, n: usize) -> Vec<u32> {
    let (a, b) = (mesh.pos[top as usize], mesh.pos[bottom as usize]);
    (1..=n)
        .map(|i| {
            let p = a.lerp(b, i as f64 / (n + 1) as f64);
            mesh.add_vertex(p + v3(0.001, 0.0, 0.0), Part::Palm)
        })
        .collect()
}

/// A finger or thumb from its web loop to a pole at the tip.
fn build_digit(mesh: &mut Mesh, sk: &Skeleton, digit: Digit, start: Vec<u32>) {
    let f = sk.finger(digit);
    let shape = finger_shape(f, sk);
    let dir = f.dir();
    let s_loop = start
        .iter()
        .map(|&v| mesh.pos[v as usize].dot(dir))
        .fold(f64::MIN, f64::max);
    let spacing = |p: V3| {
        if f.digit == Digit::Thumb {
            0.0055 * DENSITY
        } else {
            finger_spacing(p)
        }
    };
    Tube {
        part: Part::Finger(f.digit),
        dir,
        e1: up_for(dir),
        axis: Axis::Line(vec![f.points[0], f.points[1], f.points[2], f.tip_center()]),
        shape: &shape,
        spacing: &spacing,
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

// ------------------------------------------------------------------ leg ---

fn leg_shape(sk: &Skeleton) -> Shape {
    let j = &sk.joints;
    let (hip, knee, ankle) = (j[idx::LEFT_HIP], j[idx::LEFT_KNEE], j[idx::LEFT_ANKLE]);
    let mut s = Shape::new();
    // Hip, thigh with the quadriceps and hamstrings.
    add_hip(&mut s);
    s.add(
        cone(hip + v3(0.006, -0.02, -0.004), 0.074, knee, 0.050),
        0.05,
    );
    s.add(
        ellipsoid(v3(0.100, -0.600, 0.024), v3(0.052, 0.170, 0.050)),
        0.04,
    );
    s.add(
        ellipsoid(v3(0.090, -0.600, -0.026), v3(0.052, 0.160, 0.050)),
        0.04,
    );
    // Kneecap, shin and calf.
    s.add(
        ellipsoid(knee + v3(0.0, 0.006, 0.040), v3(0.020, 0.024, 0.015)),
        0.02,
    );
    s.add(cone(knee, 0.047, ankle, 0.029), 0.04);
    s.add(
        ellipsoid(v3(0.098, -0.915, -0.028), v3(0.043, 0.115, 0.045)),
        0.05,
    );
    // Keep off the plane of symmetry.
    s.clip(
        Prim::HalfSpace {
            n: -V3::X,
            d: -0.004,
        },
        0.0,
    );
    add_ankle(&mut s, sk, 0.06);
    s
}

fn add_ankle(s: &mut Shape, sk: &Skeleton, top: f64) {
    let ankle = sk.joints[idx::LEFT_ANKLE];
    s.add(
        cone(
            ankle + v3(0.0, top, 0.003),
            0.031,
            ankle + v3(0.0, -0.035, 0.0),
            0.034,
        ),
        0.02,
    );
    s.add(sphere(ankle + v3(0.026, -0.005, -0.004), 0.014), 0.012);
    s.add(sphere(ankle + v3(-0.022, 0.004, 0.002), 0.014), 0.012);
}

fn foot_shape(sk: &Skeleton) -> Shape {
    let mut s = Shape::new();
    // Heel, arch, forefoot and toes, then the sole cut flat.
    s.add(sphere(v3(0.088, -1.173, -0.048), 0.036), 0.0);
    s.add(
        ellipsoid(v3(0.094, -1.175, 0.035), v3(0.042, 0.036, 0.095)),
        0.03,
    );
    s.add(
        ellipsoid(v3(0.100, -1.186, 0.112), v3(0.049, 0.024, 0.050)),
        0.03,
    );
    // Big toe, then the smaller toes stepping back.
    s.add(
        ellipsoid(v3(0.079, -1.192, 0.150), v3(0.016, 0.016, 0.024)),
        0.012,
    );
    s.add(
        ellipsoid(v3(0.099, -1.195, 0.147), v3(0.011, 0.012, 0.020)),
        0.010,
    );
    s.add(
        ellipsoid(v3(0.114, -1.196, 0.140), v3(0.010, 0.011, 0.019)),
        0.010,
    );
    s.add(
        ellipsoid(v3(0.127, -1.197, 0.130), v3(0.009, 0.010, 0.018)),
        0.010,
    );
    add_ankle(&mut s, sk, 0.012);
    s.clip(
        Prim::HalfSpace {
            n: -V3::Y,
            d: -FLOOR_Y,
        },
        0.006,
    );
    s
}

fn leg_spacing(p: V3) -> f64 {
    lerp(0.021, 0.012, smoothstep(-1.0, -1.1, p.y)) * DENSITY
}

fn foot_spacing(_: V3) -> f64 {
    0.012 * DENSITY
}

/// The top of the left foot where the leg joins it.
fn ankle_hole(p: V3) -> bool {
    let q = v3((p.x - 0.088) / 0.050, 0.0, (p.z + 0.035) / 0.055);
    p.y > ANKLE_CUT_Y && q.x * q.x + q.z * q.z < 1.0
}

fn build_leg(mesh: &mut Mesh, sk: &Skeleton, top: Vec<u32>) {
    let j = &sk.joints;
    let foot_shape = foot_shape(sk);
    let first_foot_face = mesh.faces.len();
    Tube {
        part: Part::Foot,
        dir: V3::Z,
        e1: V3::X,
        axis: Axis::Line(vec![
            v3(0.089, -1.168, -0.060),
            v3(0.095, -1.176, 0.060),
            v3(0.098, -1.187, 0.150),
        ]),
        shape: &foot_shape,
        spacing: &foot_spacing,
        symmetric: false,
        s_first: 0.0,
        s_last: 0.0,
        rays: 128,
        min_columns: 8,
        meridians: None,
        pinned: Vec::new(),
    }
    .build(mesh, Start::Pole, End::Ridge(4));
    let mut hole = mesh.cut_hole(first_foot_face..mesh.faces.len(), ankle_hole);
    // The hole runs counter-clockwise about "up"; the leg comes down into it.
    hole.reverse();

    let shape = leg_shape(sk);
    Tube {
        part: Part::Leg,
        dir: -V3::Y,
        e1: V3::X,
        axis: Axis::Line(vec![
            v3(0.085, -0.470, 0.0),
            j[idx::LEFT_KNEE],
            j[idx::LEFT_ANKLE],
            v3(0.088, -1.13, -0.034),
        ]),
        shape: &shape,
        spacing: &leg_spacing,
        symmetric: false,
        s_first: -THIGH_TOP_Y,
        s_last: -ANKLE_CUT_Y,
        rays: 96,
        min_columns: 8,
        meridians: None,
        pinned: Vec::new(),
    }
    .build(mesh, Start::Loop(top), End::Loop(hole));
}
