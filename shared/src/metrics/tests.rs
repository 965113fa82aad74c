//! Metrics against hand-made cases, degenerate inputs and the reference
//! fixtures.

use super::*;
use crate::npz::NpzArchive;
use crate::smplx::joints::NUM_JOINTS;
use nalgebra::Matrix3;
use nalgebra::Rotation3;
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Deterministic points in [-0.5, 0.5)³ (a small LCG; tests only).
fn points(seed: u64, n: usize) -> Vec<Point> {
    let mut state = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..n).map(|_| [next(), next(), next()]).collect()
}

fn transform(points: &[Point], scale: f64, axis_angle: [f64; 3], t: Point) -> Vec<Point> {
    let r = Rotation3::new(Vector3::from(axis_angle));
    points
        .iter()
        .map(|p| {
            let q = scale * (r * vec3(p));
            [q.x + t[0], q.y + t[1], q.z + t[2]]
        })
        .collect()
}

fn max_point_diff(a: &[Point], b: &[Point]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| distance(x, y))
        .fold(0.0, f64::max)
}

#[test]
fn known_similarity_is_recovered() {
    let pred = points(1, 40);
    let gt = transform(&pred, 1.7, [0.3, -2.1, 0.9], [0.5, -1.0, 2.0]);
    let sim = similarity_transform(&pred, &gt).unwrap();
    assert!((sim.scale - 1.7).abs() < 1e-12, "{}", sim.scale);
    let r = Rotation3::new(Vector3::new(0.3, -2.1, 0.9));
    for i in 0..3 {
        for j in 0..3 {
            assert!((sim.rotation[i][j] - r[(i, j)]).abs() < 1e-12);
        }
    }
    assert!(max_point_diff(&[sim.translation], &[[0.5, -1.0, 2.0]]) < 1e-12);
    assert!(pa_mpjpe(&pred, &gt).unwrap() < 1e-12);
    // Without alignment the error is large.
    assert!(mpjpe(&pred, &gt).unwrap() > 0.5);
}

#[test]
fn mirror_image_is_aligned_by_a_rotation_not_a_reflection() {
    let pred = points(2, 50);
    let mirrored: Vec<Point> = pred.iter().map(|p| [-p[0], p[1], p[2]]).collect();
    let gt = transform(&mirrored, 0.8, [1.0, 0.2, -0.4], [0.1, 0.2, 0.3]);
    let sim = similarity_transform(&pred, &gt).unwrap();
    let r = Matrix3::from_fn(|i, j| sim.rotation[i][j]);
    assert!((r.determinant() - 1.0).abs() < 1e-12, "{}", r.determinant());
    assert!((r * r.transpose() - Matrix3::identity()).abs().max() < 1e-12);
    // A reflection would match exactly; a rotation cannot.
    let pa = pa_v2v(&pred, &gt).unwrap();
    assert!(pa > 0.05, "{pa}");
    // ... but the best rotation still beats no rotation at all.
    let no_rotation = Similarity {
        rotation: Similarity::identity().rotation,
        ..sim
    };
    assert!(mean_distance(&no_rotation.apply_all(&pred), &gt).unwrap() > pa);
}

#[test]
fn near_collinear_sets_keep_full_precision() {
    // Spread 1 : 1e-4 : 5e-5 — nalgebra's own 3×3 SVD misaligns this by 1e-5 m.
    let pred: Vec<Point> = points(3, 40)
        .into_iter()
        .map(|p| [p[0], p[1] * 1e-4, p[2] * 5e-5])
        .collect();
    let gt = transform(&pred, 1.3, [-0.7, 0.4, 2.5], [0.0, 1.0, 0.0]);
    let aligned = similarity_procrustes(&pred, &gt).unwrap();
    assert!(max_point_diff(&aligned, &gt) < 1e-13);
}

#[test]
fn svd3_decomposes_full_and_rank_deficient_matrices() {
    let mut cases: Vec<Matrix3<f64>> = (0..200)
        .map(|s| {
            let p = points(100 + s, 3);
            Matrix3::from_fn(|i, j| p[i][j])
        })
        .collect();
    let a = Vector3::new(0.3, -0.2, 0.5);
    let b = Vector3::new(-0.1, 0.4, 0.2);
    cases.push(a * b.transpose()); // rank 1
    cases.push(a * b.transpose() + b * a.transpose()); // rank 2
    cases.push(Matrix3::zeros());
    cases.push(Matrix3::from_diagonal(&Vector3::new(1.0, 1.0, 1e-30)));
    for m in cases {
        let (u, s, v) = svd3(&m);
        let eye = Matrix3::<f64>::identity();
        assert!((u.transpose() * u - eye).abs().max() < 1e-13, "{m}");
        assert!((v.transpose() * v - eye).abs().max() < 1e-13, "{m}");
        assert!(s.iter().all(|&x| x >= 0.0));
        let back = u * Matrix3::from_diagonal(&s) * v.transpose();
        assert!(
            (back - m).abs().max() <= 1e-14 * m.abs().max().max(1e-300),
            "{m}"
        );
    }
}

#[test]
fn degenerate_sets_give_documented_finite_results() {
    let gt = points(4, 12);
    let mu = centroid(&gt);
    let spread = gt.iter().map(|g| (vec3(g) - mu).norm()).sum::<f64>() / 12.0;
    // All predicted points equal, or all zero: aligned onto the gt centroid.
    for value in [[0.1, -0.2, 0.3], [0.0; 3]] {
        let pred = vec![value; 12];
        let aligned = similarity_procrustes(&pred, &gt).unwrap();
        assert!(aligned.iter().all(|a| (vec3(a) - mu).norm() < 1e-15));
        assert!((pa_mpjpe(&pred, &gt).unwrap() - spread).abs() < 1e-15);
    }
    // Ground truth a single point: prediction collapses onto it.
    let same = vec![[0.5, 0.25, -1.0]; 12];
    assert!(pa_mpjpe(&gt, &same).unwrap() < 1e-15);
    // One point, two points, collinear with collinear, collinear with a cloud.
    assert_eq!(pa_mpjpe(&gt[..1], &same[..1]).unwrap(), 0.0);
    assert!(pa_mpjpe(&gt[..2], &gt[2..4]).unwrap() < 1e-15);
    let line = |d: Point, o: f64| -> Vec<Point> {
        (0..10)
            .map(|i| {
                let t = i as f64 * 0.1 - 0.3;
                [o + t * d[0], o + t * d[1], o + t * d[2]]
            })
            .collect()
    };
    let (l1, l2) = (line([1.0, 2.0, -1.0], 0.3), line([0.2, -0.5, 0.7], -1.0));
    assert!(pa_mpjpe(&l1, &l2).unwrap() < 1e-14);
    for (p, g) in [(&l1, &gt[..10]), (&gt[..10].to_vec(), &l1)] {
        let e = pa_mpjpe(p, g).unwrap();
        assert!(e.is_finite() && e > 0.0);
    }
}

#[test]
fn bad_input_is_an_error_not_nan() {
    let a = points(5, 4);
    assert!(matches!(
        mpjpe(&a, &a[..3]),
        Err(MetricsError::LengthMismatch { pred: 4, gt: 3 })
    ));
    assert!(matches!(pa_mpjpe(&[], &[]), Err(MetricsError::Empty)));
    let mut b = a.clone();
    b[2][1] = f64::NAN;
    assert!(matches!(
        pa_mpjpe(&a, &b),
        Err(MetricsError::NonFinite {
            which: "ground truth",
            index: 2
        })
    ));
    b[2][1] = f64::INFINITY;
    assert!(f_score(&b, &a, 0.01).is_err());
}

#[test]
fn f_score_counts_points_within_the_threshold() {
    let gt: Vec<Point> = (0..10).map(|i| [i as f64 * 0.1, 0.0, 0.0]).collect();
    // Half the points 3 mm off, half 10 mm off.
    let pred: Vec<Point> = gt
        .iter()
        .enumerate()
        .map(|(i, g)| [g[0], g[1] + if i < 5 { 0.003 } else { 0.010 }, g[2]])
        .collect();
    assert_eq!(f_score(&pred, &gt, 0.005).unwrap(), 0.5);
    assert_eq!(f_score(&pred, &gt, 0.015).unwrap(), 1.0);
    assert_eq!(f_score(&pred, &gt, 0.001).unwrap(), 0.0);
    // Exactly on the threshold does not count (FreiHAND uses d < t).
    assert_eq!(f_score(&pred, &gt, 0.003).unwrap(), 0.0);
}

#[test]
fn the_label_order_names_each_part_once_at_its_slot() {
    let mut seen = [false; 4];
    for (slot, part) in Part::LABEL_ORDER.into_iter().enumerate() {
        assert_eq!(part.label_slot(), slot, "{part:?}");
        assert!(!std::mem::replace(&mut seen[slot], true));
    }
    // The order files already hold: body, face, left hand, right hand.
    let keys = Part::LABEL_ORDER.map(Part::key);
    assert_eq!(keys, ["body", "face", "left_hand", "right_hand"]);
}

#[test]
fn parts_from_skinning_weights_follow_the_dominant_joint() {
    // One vertex per probe joint, plus a tie (first joint wins).
    let probes = [0, 15, 20, 21, 22, 23, 24, 25, 39, 40, 54, 12, 18];
    let mut weights = vec![0.0f32; (probes.len() + 1) * NUM_JOINTS];
    for (v, &j) in probes.iter().enumerate() {
        weights[v * NUM_JOINTS + j] = 0.9;
        weights[v * NUM_JOINTS + (j + 1) % NUM_JOINTS] = 0.1;
    }
    let tie = probes.len();
    weights[tie * NUM_JOINTS + 22] = 0.5;
    weights[tie * NUM_JOINTS + 30] = 0.5;
    let parts = PartVertices::from_skinning_weights(&weights, probes.len() + 1, "test").unwrap();
    assert_eq!(parts.body, vec![0, 11, 12]);
    assert_eq!(parts.face, vec![1, 4, 5, 6, tie]);
    assert_eq!(parts.left_hand, vec![2, 7, 8]);
    assert_eq!(parts.right_hand, vec![3, 9, 10]);
    assert_eq!(parts.source.to_string(), "skinning weights of test");
    assert!(PartVertices::from_skinning_weights(&weights, 3, "test").is_err());
}

#[test]
fn official_correspondence_files_are_read() {
    let dir = fixtures().join("metrics_parts");
    let parts = PartVertices::from_official_dir(&dir, SMPLX_NUM_VERTICES).unwrap();
    assert_eq!(
        (
            parts.face.len(),
            parts.left_hand.len(),
            parts.right_hand.len()
        ),
        (5023, 778, 778)
    );
    assert_eq!(parts.body.len(), SMPLX_NUM_VERTICES - 5023 - 2 * 778);
    assert!(parts
        .source
        .to_string()
        .starts_with("official correspondence files in "));
    // Fewer vertices than the ids need.
    let err = PartVertices::from_official_dir(&dir, 6000)
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside 0..6000"), "{err}");
    let err = PartVertices::from_official_dir(&fixtures(), SMPLX_NUM_VERTICES)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(FACE_IDS_FILE) && err.contains("cannot read"),
        "{err}"
    );
}

fn read(npz: &mut NpzArchive<std::io::BufReader<std::fs::File>>, key: &str) -> Vec<f64> {
    npz.read(key).unwrap().to_f64().unwrap()
}

fn as_points(v: &[f64]) -> Vec<Point> {
    v.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

/// Relative difference; values under 1 µm (exact alignments, ~1e-16 m)
/// are compared against 1 µm instead.
fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-6)
}

/// Largest relative difference seen on values over 1 µm, and largest
/// absolute difference on the others.
#[derive(Default)]
struct Worst {
    rel: f64,
    abs_small: f64,
}

impl Worst {
    fn see(&mut self, a: f64, b: f64) {
        if a.abs().max(b.abs()) >= 1e-6 {
            self.rel = self.rel.max(rel(a, b));
        } else {
            self.abs_small = self.abs_small.max((a - b).abs());
        }
    }
}

/// Every case of tests/fixtures/metrics_reference.{npz,json} (numpy /
/// scipy, gen_metrics_fixtures.py).
#[test]
fn reference_fixtures_agree() {
    let text = std::fs::read_to_string(fixtures().join("metrics_reference.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut npz = NpzArchive::open(&fixtures().join("metrics_reference.npz")).unwrap();
    let (mut worst, mut worst_point) = (Worst::default(), 0.0f64);
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() >= 12);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let k = case["k"].as_u64().unwrap() as usize;
        let pred = as_points(&read(&mut npz, &format!("{name}__pred")));
        let gt = as_points(&read(&mut npz, &format!("{name}__gt")));
        let want_aligned = as_points(&read(&mut npz, &format!("{name}__aligned")));
        for (i, ((p, g), a)) in pred
            .chunks(k)
            .zip(gt.chunks(k))
            .zip(want_aligned.chunks(k))
            .enumerate()
        {
            let aligned = similarity_procrustes(p, g).unwrap();
            worst_point = worst_point.max(max_point_diff(&aligned, a));
            let checks = [
                ("error", mean_distance(p, g).unwrap()),
                ("pa_error", pa_mean_distance(p, g).unwrap()),
            ];
            for (key, got) in checks {
                let want = case[key][i].as_f64().unwrap();
                worst.see(got, want);
                assert!(rel(got, want) < 1e-9, "{name}[{i}] {key}: {got} vs {want}");
            }
            if case.get("f5").is_some() {
                let f = pa_f_scores(p, g, &F_SCORE_THRESHOLDS).unwrap();
                for (got, key) in f.into_iter().zip(["f5", "f15"]) {
                    let want = case[key][i].as_f64().unwrap();
                    worst.see(got, want);
                    assert!(
                        (got - want).abs() < 1e-12,
                        "{name}[{i}] {key}: {got} vs {want}"
                    );
                }
            }
        }
    }
    assert!(
        worst_point < 1e-12,
        "aligned points differ by {worst_point}"
    );

    for case in manifest["parts"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let pred = as_points(&read(&mut npz, &format!("{name}__pred")));
        let gt = as_points(&read(&mut npz, &format!("{name}__gt")));
        let mut ids = |part: &str| -> Vec<i64> {
            read(&mut npz, &format!("{name}__{part}"))
                .into_iter()
                .map(|x| x as i64)
                .collect()
        };
        let (face, left, right) = (ids("face"), ids("left_hand"), ids("right_hand"));
        let parts = PartVertices::from_correspondences(
            ("face", &face),
            ("left", &left),
            ("right", &right),
            pred.len(),
            PartSource::OfficialFiles { dir: "mem".into() },
        )
        .unwrap();
        assert_eq!(
            parts.body,
            ids("body").iter().map(|&i| i as usize).collect::<Vec<_>>()
        );
        let got = part_pa_errors(&pred, &gt, &parts).unwrap();
        for (part, got) in Part::ALL.into_iter().zip(got) {
            let want = case["pa_error"][part.key()].as_f64().unwrap();
            let got = got.unwrap();
            worst.see(got, want);
            assert!(
                rel(got, want) < 1e-9,
                "{name} {}: {got} vs {want}",
                part.key()
            );
        }
    }

    for case in manifest["scans"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let scan = as_points(&read(&mut npz, &format!("{name}__scan")));
        let vertices = as_points(&read(&mut npz, &format!("{name}__vertices")));
        let faces: Vec<[u32; 3]> = read(&mut npz, &format!("{name}__faces"))
            .chunks_exact(3)
            .map(|c| [c[0] as u32, c[1] as u32, c[2] as u32])
            .collect();
        let want = read(&mut npz, &format!("{name}__distances"));
        let landmarks = if npz.contains(&format!("{name}__mesh_landmarks")) {
            Some((
                as_points(&read(&mut npz, &format!("{name}__mesh_landmarks"))),
                as_points(&read(&mut npz, &format!("{name}__scan_landmarks"))),
            ))
        } else {
            None
        };
        let got = scan_to_mesh(
            &scan,
            &vertices,
            &faces,
            landmarks
                .as_ref()
                .map(|(m, s)| (m.as_slice(), s.as_slice())),
        )
        .unwrap();
        for (g, w) in got.distances.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{name}: {g} vs {w}");
        }
        for (key, g) in [("mean", got.mean), ("median", got.median), ("std", got.std)] {
            let w = case[key].as_f64().unwrap();
            worst.see(g, w);
            assert!(rel(g, w) < 1e-9, "{name} {key}: {g} vs {w}");
        }
    }
    eprintln!(
        "metrics vs numpy/scipy reference: max relative difference {:.3e} (values over 1 µm), \
         max absolute difference {:.3e} (values under 1 µm), max aligned-point difference \
         {worst_point:.3e} m",
        worst.rel, worst.abs_small
    );
}

#[test]
fn evaluate_reports_means_parts_and_hand_scores() {
    let gt = points(6, 2 * 21);
    let pred: Vec<Point> = gt
        .iter()
        .map(|g| [g[0] + 0.004, g[1], g[2] * 1.01])
        .collect();
    let report = evaluate(&pred, &gt, 21, None).unwrap();
    assert_eq!((report.num_samples, report.num_points), (2, 21));
    assert!(report.f_score_5mm.is_some() && report.parts.is_none());
    let first = mpjpe(&pred[..21], &gt[..21]).unwrap() * 1000.0;
    assert!((report.per_sample[0].error_mm - first).abs() < 1e-12);
    let mean = (report.per_sample[0].pa_error_mm + report.per_sample[1].pa_error_mm) / 2.0;
    assert!((report.pa_error_mm - mean).abs() < 1e-12);
    assert!(evaluate(&pred, &gt, 20, None).is_err());

    let parts = PartVertices::from_correspondences(
        ("f", &[0, 1, 2]),
        ("l", &[]),
        ("r", &[3]),
        21,
        PartSource::SkinningWeights { model: "m".into() },
    )
    .unwrap();
    let report = evaluate(&pred, &gt, 21, Some(&parts)).unwrap();
    let summary = report.parts.as_ref().unwrap();
    assert_eq!(summary.source, "skinning weights of m");
    assert_eq!(summary.left_hand.pa_error_mm, None);
    assert_eq!(summary.right_hand.pa_error_mm, Some(0.0));
    assert_eq!(summary.body.num_vertices, 17);
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["parts"]["left_hand"]["pa_error_mm"].is_null());
    assert!(json["per_sample"][1]["f_score_15mm"].is_number());
}
