use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::*;
use crate::smplx::data::{NUM_CONTOUR_BINS, NUM_CONTOUR_LANDMARKS, NUM_STATIC_LANDMARKS};
use crate::smplx::joints::JOINT_NAMES;

/// Generated once and shared by the tests.
fn model() -> &'static SmplxData {
    static MODEL: OnceLock<SmplxData> = OnceLock::new();
    MODEL.get_or_init(mannequin)
}

fn vertex(m: &SmplxData, v: usize) -> V3 {
    geom::v3(
        m.v_template[3 * v] as f64,
        m.v_template[3 * v + 1] as f64,
        m.v_template[3 * v + 2] as f64,
    )
}

fn joints(m: &SmplxData) -> Vec<V3> {
    let n = m.num_vertices();
    (0..NUM_JOINTS)
        .map(|j| {
            (0..n).fold(V3::ZERO, |acc, v| {
                acc + vertex(m, v) * m.j_regressor[j * n + v] as f64
            })
        })
        .collect()
}

fn extra_joint(m: &SmplxData, k: usize) -> V3 {
    vertex(m, VERTEX_JOINT_IDS[k])
}

#[test]
fn mannequin_counts_match_the_official_layout() {
    let m = model();
    let (v, f) = (NUM_VERTICES, NUM_FACES);
    assert_eq!(m.num_vertices(), v);
    assert_eq!(m.faces.len(), f);
    assert_eq!(m.num_shapedirs, 20);
    assert_eq!(m.shapedirs.len(), v * 3 * 20);
    assert_eq!(m.posedirs.len(), v * 3 * NUM_POSE_BASIS);
    assert_eq!(m.j_regressor.len(), NUM_JOINTS * v);
    assert_eq!(m.weights.len(), v * NUM_JOINTS);
    assert_eq!(m.hands_components_l.len(), 45 * 45);
    assert_eq!(m.hands_components_r.len(), 45 * 45);
    assert_eq!(m.hands_mean_l.len(), 45);
    assert_eq!(m.lmk_faces_idx.len(), NUM_STATIC_LANDMARKS);
    assert_eq!(m.lmk_bary_coords.len(), NUM_STATIC_LANDMARKS * 3);
    assert_eq!(
        m.dynamic_lmk_faces_idx.len(),
        NUM_CONTOUR_BINS * NUM_CONTOUR_LANDMARKS
    );
    assert_eq!(
        m.dynamic_lmk_bary_coords.len(),
        NUM_CONTOUR_BINS * NUM_CONTOUR_LANDMARKS * 3
    );
    assert_eq!(m.parents, PARENTS.to_vec());
    assert_eq!(m.note.as_deref(), Some(NOTE));
}

#[test]
fn mannequin_surface_is_closed_oriented_and_one_sphere() {
    let m = model();
    // Every directed edge once, and its reverse once: closed, manifold
    // along edges, consistently oriented.
    let mut directed = HashSet::new();
    for t in &m.faces {
        for k in 0..3 {
            assert!(
                directed.insert((t[k], t[(k + 1) % 3])),
                "edge {:?} used twice in one direction",
                (t[k], t[(k + 1) % 3])
            );
        }
    }
    for &(a, b) in &directed {
        assert!(
            directed.contains(&(b, a)),
            "edge ({a}, {b}) has one face only"
        );
    }
    // Euler characteristic 2 on the used vertices, and one piece.
    let used: HashSet<u32> = m.faces.iter().flatten().copied().collect();
    let edges = directed.len() / 2;
    assert_eq!(
        used.len() as i64 - edges as i64 + m.faces.len() as i64,
        2,
        "not a sphere"
    );
    let mut parent: HashMap<u32, u32> = used.iter().map(|&v| (v, v)).collect();
    fn find(p: &mut HashMap<u32, u32>, v: u32) -> u32 {
        let mut r = v;
        while p[&r] != r {
            r = p[&r];
        }
        p.insert(v, r);
        r
    }
    for t in &m.faces {
        for k in 1..3 {
            let (a, b) = (find(&mut parent, t[0]), find(&mut parent, t[k]));
            parent.insert(a, b);
        }
    }
    let roots: HashSet<u32> = used.iter().map(|&v| find(&mut parent, v)).collect();
    assert_eq!(roots.len(), 1, "surface is in {} pieces", roots.len());
}

#[test]
fn mannequin_triangles_are_well_formed_and_face_outward() {
    let m = model();
    let mut volume = 0.0;
    for t in &m.faces {
        assert!(
            t[0] != t[1] && t[1] != t[2] && t[2] != t[0],
            "repeated vertex in {t:?}"
        );
        let [a, b, c] = t.map(|v| vertex(m, v as usize));
        let area = 0.5 * (b - a).cross(c - a).len();
        assert!(area > 1e-7, "degenerate triangle {t:?} (area {area})");
        volume += a.dot(b.cross(c)) / 6.0;
    }
    // Positive signed volume: normals point out. About 60 litres.
    assert!(
        (0.045..0.08).contains(&volume),
        "enclosed volume {volume} m³"
    );
}

#[test]
fn mannequin_spare_vertices_are_unused_and_pinned_to_the_pelvis() {
    let m = model();
    let used: HashSet<u32> = m.faces.iter().flatten().copied().collect();
    let spare: Vec<usize> = (0..NUM_VERTICES)
        .filter(|v| !used.contains(&(*v as u32)))
        .collect();
    assert_eq!(spare.len(), NUM_VERTICES - SURFACE_VERTICES);
    let pelvis = joints(m)[idx::PELVIS];
    for v in spare {
        assert!(vertex(m, v).dist(pelvis) < 1e-6);
        assert_eq!(m.weights[v * NUM_JOINTS + idx::PELVIS], 1.0);
        assert!(m.shapedirs[v * 60..(v + 1) * 60].iter().all(|&x| x == 0.0));
    }
}

#[test]
fn mannequin_skinning_weights_are_a_partition_of_unity() {
    let m = model();
    for v in 0..NUM_VERTICES {
        let row = &m.weights[v * NUM_JOINTS..(v + 1) * NUM_JOINTS];
        assert!(
            row.iter().all(|&w| w >= 0.0),
            "negative weight at vertex {v}"
        );
        let sum: f32 = row.iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-5,
            "weights of vertex {v} sum to {sum}"
        );
    }
    // The strongest influence is the right joint at telling places.
    let strongest = |v: usize| {
        let row = &m.weights[v * NUM_JOINTS..(v + 1) * NUM_JOINTS];
        (0..NUM_JOINTS)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap()
    };
    assert_eq!(strongest(VERTEX_JOINT_IDS[0]), idx::HEAD, "nose");
    assert_eq!(
        strongest(VERTEX_JOINT_IDS[5]),
        idx::LEFT_FOOT,
        "left big toe"
    );
    assert_eq!(strongest(VERTEX_JOINT_IDS[7]), idx::LEFT_ANKLE, "left heel");
    assert_eq!(
        strongest(VERTEX_JOINT_IDS[12]),
        idx::LEFT_INDEX3,
        "left index tip"
    );
    assert_eq!(
        strongest(VERTEX_JOINT_IDS[20]),
        idx::RIGHT_PINKY3,
        "right pinky tip"
    );
    assert_eq!(
        strongest(VERTEX_JOINT_IDS[11]),
        idx::LEFT_THUMB3,
        "left thumb tip"
    );
    // The chin hangs on the jaw.
    let chin = (0..NUM_VERTICES)
        .filter(|&v| vertex(m, v).x == 0.0 && (0.25..0.28).contains(&vertex(m, v).y))
        .max_by(|&a, &b| vertex(m, a).z.total_cmp(&vertex(m, b).z))
        .unwrap();
    assert!(
        m.weights[chin * NUM_JOINTS + idx::JAW] > 0.5,
        "chin not on the jaw"
    );
    let brow = (0..NUM_VERTICES)
        .filter(|&v| vertex(m, v).x == 0.0 && (0.39..0.41).contains(&vertex(m, v).y))
        .max_by(|&a, &b| vertex(m, a).z.total_cmp(&vertex(m, b).z))
        .unwrap();
    assert_eq!(
        m.weights[brow * NUM_JOINTS + idx::HEAD],
        1.0,
        "forehead not on the head"
    );
}

#[test]
fn mannequin_regressor_rows_are_convex_and_place_the_joints() {
    let m = model();
    let n = NUM_VERTICES;
    for j in 0..NUM_JOINTS {
        let row = &m.j_regressor[j * n..(j + 1) * n];
        assert!(
            row.iter().all(|&w| w >= 0.0),
            "negative regressor weight for joint {j}"
        );
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "regressor row {j} sums to {sum}");
        assert!(
            row.iter().filter(|&&w| w > 0.0).count() >= 8,
            "joint {j} rests on too few vertices"
        );
    }
    let got = joints(m);
    let sk = Skeleton::rest();
    for j in 0..NUM_JOINTS {
        assert!(
            got[j].dist(sk.joints[j]) < 1e-5,
            "joint {} at {:?}, designed {:?}",
            JOINT_NAMES[j],
            got[j],
            sk.joints[j]
        );
    }
    assert!(got[idx::PELVIS].dist(geom::v3(0.0, -0.35, 0.0)) < 0.02);
    for j in 1..NUM_JOINTS {
        let name = JOINT_NAMES[j];
        if name.starts_with("left") {
            assert!(got[j].x > 0.02, "{name} is not on the left (+x)");
        } else if name.starts_with("right") {
            assert!(got[j].x < -0.02, "{name} is not on the right (-x)");
        }
    }
    // Each child joint lies beyond its parent along the limbs.
    assert!(
        got[idx::LEFT_WRIST].x > got[idx::LEFT_ELBOW].x
            && got[idx::LEFT_ELBOW].x > got[idx::LEFT_SHOULDER].x
    );
    assert!(
        got[idx::LEFT_ANKLE].y < got[idx::LEFT_KNEE].y
            && got[idx::LEFT_KNEE].y < got[idx::LEFT_HIP].y
    );
    assert!(got[idx::HEAD].y > got[idx::NECK].y && got[idx::NECK].y > got[idx::SPINE3].y);
}

#[test]
fn mannequin_has_the_proportions_of_a_standing_adult() {
    let m = model();
    let ys: Vec<f64> = (0..NUM_VERTICES).map(|v| vertex(m, v).y).collect();
    let (lo, hi) = ys
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    assert!((1.65..1.75).contains(&(hi - lo)), "height {}", hi - lo);
    assert!((-1.23..-1.18).contains(&lo), "soles at {lo}");
    let span = (0..NUM_VERTICES)
        .map(|v| vertex(m, v).x.abs())
        .fold(0.0, f64::max)
        * 2.0;
    assert!((1.6..1.85).contains(&span), "arm span {span}");
}

fn check_bary(faces: &[u32], bary: &[f32], num_faces: usize) {
    for (f, b) in faces.iter().zip(bary.chunks_exact(3)) {
        assert!((*f as usize) < num_faces);
        assert!(
            b.iter().all(|&x| (0.0..=1.0).contains(&x)),
            "barycentric {b:?}"
        );
        assert!(
            (b.iter().sum::<f32>() - 1.0).abs() < 1e-5,
            "barycentric {b:?}"
        );
    }
}

fn landmark(m: &SmplxData, face: u32, bary: &[f32]) -> V3 {
    let t = m.faces[face as usize];
    (0..3).fold(V3::ZERO, |acc, k| {
        acc + vertex(m, t[k] as usize) * bary[k] as f64
    })
}

#[test]
fn mannequin_landmarks_sit_on_the_face_in_order() {
    let m = model();
    check_bary(&m.lmk_faces_idx, &m.lmk_bary_coords, m.faces.len());
    check_bary(
        &m.dynamic_lmk_faces_idx,
        &m.dynamic_lmk_bary_coords,
        m.faces.len(),
    );
    let pts: Vec<V3> = (0..NUM_STATIC_LANDMARKS)
        .map(|k| landmark(m, m.lmk_faces_idx[k], &m.lmk_bary_coords[3 * k..3 * k + 3]))
        .collect();
    let named = |name: &str| {
        pts[JOINT_NAMES[76..127]
            .iter()
            .position(|&n| n == name)
            .unwrap()]
    };
    for (k, p) in pts.iter().enumerate() {
        let name = JOINT_NAMES[76 + k];
        assert!(p.z > 0.05, "{name} is not on the face");
        if name.starts_with("left") {
            assert!(p.x > 0.0, "{name} not on the left");
        } else if name.starts_with("right") {
            assert!(p.x < 0.0, "{name} not on the right");
        }
    }
    let (brow, eye, nose, mouth) = (
        named("left_eye_brow3"),
        named("left_eye2"),
        named("nose4"),
        named("mouth_bottom"),
    );
    assert!(brow.y > eye.y && eye.y > nose.y && nose.y > mouth.y);
    assert!(
        named("nose4").z > named("nose1").z,
        "nose tip behind its bridge"
    );
    assert!(
        named("left_eye1").x > named("left_eye4").x,
        "left eye corners swapped"
    );
    // Contours run from the right of the jaw to the left, through the chin.
    for bin in [0, 20, 39, 40, 60, 78] {
        let c: Vec<V3> = (0..NUM_CONTOUR_LANDMARKS)
            .map(|k| {
                let i = bin * NUM_CONTOUR_LANDMARKS + k;
                landmark(
                    m,
                    m.dynamic_lmk_faces_idx[i],
                    &m.dynamic_lmk_bary_coords[3 * i..3 * i + 3],
                )
            })
            .collect();
        assert!(
            c.windows(2).all(|w| w[1].x >= w[0].x - 1e-6),
            "contour of bin {bin} not right to left"
        );
        assert!(
            c[8].y < named("mouth_bottom").y,
            "contour middle above the mouth"
        );
    }
}

#[test]
fn mannequin_extra_joint_vertices_sit_at_their_landmarks() {
    let m = model();
    let j = joints(m);
    let nose = extra_joint(m, 0);
    assert!(
        nose.x.abs() < 1e-6 && nose.z > j[idx::HEAD].z + 0.1,
        "nose at {nose:?}"
    );
    let (r_eye, l_eye) = (extra_joint(m, 1), extra_joint(m, 2));
    assert!(l_eye.x > 0.0 && r_eye.x < 0.0);
    assert!(
        l_eye.dist(j[idx::LEFT_EYE_SMPLHF]) < 0.02 && r_eye.dist(j[idx::RIGHT_EYE_SMPLHF]) < 0.02
    );
    assert!(
        l_eye.z > j[idx::LEFT_EYE_SMPLHF].z,
        "eye vertex behind the eyeball centre"
    );
    let (r_ear, l_ear) = (extra_joint(m, 3), extra_joint(m, 4));
    assert!(l_ear.x > 0.07 && r_ear.x < -0.07 && (l_ear.y - nose.y).abs() < 0.05);
    for (k, side) in [(5, 1.0), (8, -1.0)] {
        let ankle = j[if side > 0.0 {
            idx::LEFT_ANKLE
        } else {
            idx::RIGHT_ANKLE
        }];
        let foot = j[if side > 0.0 {
            idx::LEFT_FOOT
        } else {
            idx::RIGHT_FOOT
        }];
        let (big, small, heel) = (
            extra_joint(m, k),
            extra_joint(m, k + 1),
            extra_joint(m, k + 2),
        );
        assert!(big.x * side > 0.0 && small.x * side > 0.0 && heel.x * side > 0.0);
        assert!(
            big.z > foot.z + 0.05 && small.z > foot.z + 0.03,
            "toes not ahead of the ball of the foot"
        );
        assert!(big.x.abs() < small.x.abs(), "big toe not on the inside");
        assert!(
            heel.z < ankle.z - 0.02 && heel.y < ankle.y - 0.04,
            "heel not behind and below the ankle"
        );
    }
    // Fingertips: beyond the last finger joint, along the finger.
    let digits = [
        idx::LEFT_THUMB3,
        idx::LEFT_INDEX3,
        idx::LEFT_MIDDLE3,
        idx::LEFT_RING3,
        idx::LEFT_PINKY3,
    ];
    for (k, &distal) in digits.iter().enumerate() {
        for (offset, shift) in [(11, 0), (16, 15)] {
            let tip = extra_joint(m, offset + k);
            let (d, middle) = (j[distal + shift], j[distal + shift - 1]);
            let along = (d - middle).norm();
            assert!(
                (tip - d).dot(along) > 0.012,
                "tip {} not beyond its last joint",
                offset + k
            );
            assert!(
                tip.dist(d) < 0.03,
                "tip {} too far from its last joint",
                offset + k
            );
        }
    }
}

#[test]
fn mannequin_hand_components_are_orthonormal() {
    let m = model();
    for comps in [&m.hands_components_l, &m.hands_components_r] {
        for a in 0..45 {
            for b in 0..45 {
                let dot: f32 = (0..45).map(|k| comps[a * 45 + k] * comps[b * 45 + k]).sum();
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-5, "rows {a}, {b}: {dot}");
            }
        }
    }
    // Right = left mirrored: (x, y, z) -> (x, -y, -z) per joint.
    for i in 0..45 * 45 {
        let sign = if i % 3 == 0 { 1.0 } else { -1.0 };
        assert_eq!(m.hands_components_r[i], sign * m.hands_components_l[i]);
    }
    // The first component curls the index finger toward the palm (about -z
    // on the left hand), and the mean pose is a slight curl the same way.
    assert!(m.hands_components_l[2] < -0.1);
    assert!(m.hands_mean_l[2] < -0.05 && m.hands_mean_l[2] > -0.5);
}

#[test]
fn mannequin_is_deterministic() {
    assert!(mannequin() == *model());
}

fn displaced(m: &SmplxData, column: usize, amount: f32) -> Vec<f32> {
    (0..NUM_VERTICES * 3)
        .map(|i| m.v_template[i] + amount * m.shapedirs[i * m.num_shapedirs + column])
        .collect()
}

fn height(v: &[f32]) -> f32 {
    let ys = v.iter().skip(1).step_by(3);
    ys.clone().fold(f32::MIN, |a, &b| a.max(b)) - ys.fold(f32::MAX, |a, &b| a.min(b))
}

#[test]
fn mannequin_shape_directions_mean_what_they_say() {
    let m = model();
    let base = height(&m.v_template);
    assert!(
        height(&displaced(m, 0, 2.0)) > base + 0.08,
        "β0 = 2 not taller"
    );
    assert!(
        height(&displaced(m, 0, -2.0)) < base - 0.08,
        "β0 = -2 not shorter"
    );
    // Every direction moves something by millimetres to centimetres per unit.
    for k in 0..20 {
        let most = (0..NUM_VERTICES * 3)
            .map(|i| m.shapedirs[i * 20 + k].abs())
            .fold(0.0, f32::max);
        assert!(
            (0.002..0.06).contains(&most),
            "direction {k} moves at most {most} m per unit"
        );
    }
    // β1 (weight) moves the belly out.
    let belly = (0..NUM_VERTICES)
        .filter(|&v| vertex(m, v).x == 0.0 && (-0.25..-0.15).contains(&vertex(m, v).y))
        .max_by(|&a, &b| vertex(m, a).z.total_cmp(&vertex(m, b).z))
        .unwrap();
    assert!(m.shapedirs[(belly * 3 + 2) * 20 + 1] > 0.008);
}

#[test]
fn mannequin_expressions_only_move_the_face() {
    let m = model();
    for v in 0..NUM_VERTICES {
        let p = vertex(m, v);
        let moves = (10..20).any(|k| (0..3).any(|c| m.shapedirs[(v * 3 + c) * 20 + k] != 0.0));
        if moves {
            assert!(
                p.y > 0.22 && p.z > -0.04,
                "expression moves vertex {v} at {p:?}"
            );
        }
    }
    // ψ0 drops the chin.
    let chin = (0..NUM_VERTICES)
        .filter(|&v| vertex(m, v).x == 0.0 && vertex(m, v).z > 0.06 && vertex(m, v).y < 0.28)
        .max_by(|&a, &b| vertex(m, a).y.total_cmp(&vertex(m, b).y))
        .unwrap();
    assert!(m.shapedirs[(chin * 3 + 1) * 20 + 10] < -0.003);
}

#[test]
fn mannequin_pose_correctives_are_small_and_local() {
    let m = model();
    let most = m.posedirs.iter().fold(0.0f32, |a, &b| a.max(b.abs()));
    assert!(most > 1e-3 && most < 0.02, "largest corrective {most}");
    // Only the knees' and elbows' hinge features are used.
    let features: HashSet<usize> = m
        .posedirs
        .iter()
        .enumerate()
        .filter(|(_, &x)| x != 0.0)
        .map(|(i, _)| (i % NUM_POSE_BASIS) / 9 + 1)
        .collect();
    let expected: HashSet<usize> = [
        idx::LEFT_KNEE,
        idx::RIGHT_KNEE,
        idx::LEFT_ELBOW,
        idx::RIGHT_ELBOW,
    ]
    .into();
    assert_eq!(features, expected);
}

#[test]
fn mannequin_is_mirror_symmetric() {
    let m = model();
    let key = |p: V3| {
        (
            (p.x * 1e6).round() as i64,
            (p.y * 1e6).round() as i64,
            (p.z * 1e6).round() as i64,
        )
    };
    let all: HashSet<_> = (0..NUM_VERTICES).map(|v| key(vertex(m, v))).collect();
    for v in 0..NUM_VERTICES {
        assert!(
            all.contains(&key(vertex(m, v).mirror())),
            "vertex {v} has no mirror image"
        );
    }
}

#[test]
fn mannequin_round_trips_through_npz() {
    let m = model();
    let mut bytes = std::io::Cursor::new(Vec::new());
    crate::npz::write_npz(&mut bytes, &m.to_npz_arrays(Vec::new()), false).unwrap();
    let back = SmplxData::from_bytes("mannequin.npz", bytes.into_inner()).unwrap();
    assert!(back == *m);
}

/// How much of the surface the designed tubes fill, by part (the rest is
/// topped up by edge splits).
#[test]
#[ignore]
fn surface_budget() {
    let mesh = body::build(&Skeleton::rest());
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for p in &mesh.part {
        *counts.entry(format!("{p:?}")).or_default() += 1;
    }
    eprintln!(
        "{} of {SURFACE_VERTICES} surface vertices: {counts:?}",
        mesh.pos.len()
    );
}

/// Writes the model for a look with tools/render_mesh.py.
#[test]
#[ignore]
fn write_npz() {
    let t = std::time::Instant::now();
    let m = mannequin();
    eprintln!("generated in {:?}", t.elapsed());
    m.save(std::path::Path::new("/tmp/mannequin.npz")).unwrap();
}
