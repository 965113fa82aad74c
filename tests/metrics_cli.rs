//! `furpe metrics` against numpy / scipy (tests/fixtures/gen_metrics_fixtures.py).
//!
//! The arrays are NOT the unit tests' fixtures: the generator committed only
//! recipes (counter-based random numbers, `common::uniform`) and the expected
//! metrics; this test rebuilds the arrays, writes them as float32 / float64
//! `.npy` files and runs the binary on them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixtures, scratch, uniform, write_random_model};
use furpe::npz::{write_npy, NpyArray};
use serde_json::Value;

/// Relative agreement required with the reference.
const REL_TOL: f64 = 1e-6;

/// The recipe of `recipe_arrays` in the generator: (pred, gt), `[n·k·3]`.
fn recipe_arrays(r: &Value) -> (Vec<f64>, Vec<f64>) {
    let get = |k: &str| r[k].as_f64().expect("recipe number");
    let (n, k, seed) = (get("n") as usize, get("k") as usize, get("seed") as u64);
    let gt: Vec<f64> = uniform(seed, 1, n * k * 3)
        .into_iter()
        .map(|x| (x - 0.5) * get("extent"))
        .collect();
    let noise: Vec<f64> = uniform(seed, 2, n * k * 3)
        .into_iter()
        .map(|x| (x - 0.5) * get("noise"))
        .collect();
    let q = uniform(seed, 3, n * 8);
    let mut pred = vec![0.0; gt.len()];
    for i in 0..n {
        let q = &q[8 * i..8 * i + 8];
        let (w, x, y, z) = (q[0] - 0.5, q[1] - 0.5, q[2] - 0.5, q[3] - 0.5);
        let norm = (w * w + x * x + y * y + z * z).sqrt();
        let (w, x, y, z) = (w / norm, x / norm, y / norm, z / norm);
        let rot = [
            [
                1.0 - 2.0 * (y * y + z * z),
                2.0 * (x * y - w * z),
                2.0 * (x * z + w * y),
            ],
            [
                2.0 * (x * y + w * z),
                1.0 - 2.0 * (x * x + z * z),
                2.0 * (y * z - w * x),
            ],
            [
                2.0 * (x * z - w * y),
                2.0 * (y * z + w * x),
                1.0 - 2.0 * (x * x + y * y),
            ],
        ];
        let scale = 0.8 + 0.4 * q[4];
        let t = [(q[5] - 0.5) * 0.4, (q[6] - 0.5) * 0.4, (q[7] - 0.5) * 0.4];
        for p in 0..k {
            let at = (i * k + p) * 3;
            let g = &gt[at..at + 3];
            for (row, r) in rot.iter().enumerate() {
                pred[at + row] =
                    scale * (r[0] * g[0] + r[1] * g[1] + r[2] * g[2]) + t[row] + noise[at + row];
            }
        }
    }
    (pred, gt)
}

fn write_points(path: &Path, shape: &[usize], values: &[f64], f32_file: bool) {
    let array = if f32_file {
        NpyArray::f32(shape, values.iter().map(|&x| x as f32).collect())
    } else {
        NpyArray::f64(shape, values.to_vec())
    };
    std::fs::write(path, write_npy(&array)).expect("write npy");
}

/// Runs `furpe metrics ARGS`: (exit code, stdout, stderr).
fn furpe_metrics(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .arg("metrics")
        .args(args)
        .output()
        .expect("run furpe");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Compares every field of `want` with `got`; returns the largest relative
/// difference seen (values near 0 are compared against 1e-9 instead).
fn compare(want: &Value, got: &Value, at: &str) -> f64 {
    match want {
        Value::Object(map) => map
            .iter()
            .map(|(k, w)| compare(w, &got[k], &format!("{at}.{k}")))
            .fold(0.0, f64::max),
        Value::Array(items) => {
            let got_items = got
                .as_array()
                .unwrap_or_else(|| panic!("{at}: not a list: {got}"));
            assert_eq!(items.len(), got_items.len(), "{at}: length");
            items
                .iter()
                .zip(got_items)
                .enumerate()
                .map(|(i, (w, g))| compare(w, g, &format!("{at}[{i}]")))
                .fold(0.0, f64::max)
        }
        Value::Number(w) => {
            let w = w.as_f64().expect("number");
            let g = got
                .as_f64()
                .unwrap_or_else(|| panic!("{at}: expected {w}, found {got}"));
            let rel = (g - w).abs() / w.abs().max(g.abs()).max(1e-9);
            assert!(
                rel <= REL_TOL,
                "{at}: {g} vs reference {w} (relative {rel:.2e})"
            );
            rel
        }
        other => {
            assert_eq!(other, got, "{at}");
            0.0
        }
    }
}

#[test]
fn cli_matches_numpy_reference_on_fresh_arrays() {
    let text = std::fs::read_to_string(fixtures().join("metrics_cli_reference.json"))
        .expect("metrics_cli_reference.json");
    let reference: Value = serde_json::from_str(&text).expect("reference parses");
    let dir = scratch("metrics-cli");
    let mut worst = 0.0f64;
    let cases = reference["cases"].as_array().expect("cases");
    assert!(cases.len() >= 5);
    for case in cases {
        let recipe = &case["recipe"];
        let name = recipe["name"].as_str().expect("name");
        let (pred, gt) = recipe_arrays(recipe);
        let shape = [
            recipe["n"].as_u64().expect("n") as usize,
            recipe["k"].as_u64().expect("k") as usize,
            3,
        ];
        let f32_file = recipe["dtype"] == "f32";
        let (pred_path, gt_path, out_path) = (
            dir.join(format!("{name}_pred.npy")),
            dir.join(format!("{name}_gt.npy")),
            dir.join(format!("{name}.json")),
        );
        write_points(&pred_path, &shape, &pred, f32_file);
        write_points(&gt_path, &shape, &gt, f32_file);
        let mut args: Vec<String> = ["--pred", arg(&pred_path), "--gt", arg(&gt_path)]
            .map(String::from)
            .to_vec();
        args.extend(["--out".into(), arg(&out_path).into()]);
        let parts_dir = fixtures().join("metrics_parts");
        let mut source = None;
        match &recipe["parts"] {
            Value::String(s) if s == "official" => {
                args.extend(["--parts".into(), arg(&parts_dir).into()]);
                source = Some(format!(
                    "official correspondence files in {}",
                    arg(&parts_dir)
                ));
            }
            Value::Object(m) => {
                let seed = m["model_seed"].as_u64().expect("model_seed");
                let model: PathBuf = dir.join(format!("model_{seed}.npz"));
                write_random_model(&model, seed, 20, false, false);
                args.extend(["--model".into(), arg(&model).into()]);
                source = Some(format!("skinning weights of {}", arg(&model)));
            }
            _ => {}
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = furpe_metrics(&args);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(
            stdout.contains("PA error (similarity Procrustes)"),
            "{stdout}"
        );
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&out_path).expect("report written"))
                .expect("report parses");
        worst = worst.max(compare(&case["expected"], &report, name));
        assert_eq!(report["num_samples"], shape[0]);
        assert_eq!(report["num_points"], shape[1]);
        match source {
            Some(source) => {
                assert_eq!(report["parts"]["source"], source.as_str(), "{name}");
                assert!(stdout.contains(&source), "{name}: {stdout}");
            }
            None => assert!(report.get("parts").is_none(), "{name}"),
        }
        let hand = shape[1] == 21 || shape[1] == 778;
        assert_eq!(report.get("f_score_5mm").is_some(), hand, "{name}");
        if hand {
            assert!(stdout.contains("F@15mm"), "{stdout}");
        }
    }
    eprintln!("furpe metrics vs numpy/scipy: max relative difference {worst:.3e}");
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = scratch("metrics-cli-errors");
    let good = dir.join("good.npy");
    write_points(&good, &[2, 5, 3], &uniform(9, 1, 30), false);
    let write = |name: &str, array: NpyArray| -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, write_npy(&array)).expect("write");
        path
    };
    let other_k = write("k6.npy", NpyArray::f64(&[2, 6, 3], uniform(9, 2, 36)));
    let rank2 = write("rank2.npy", NpyArray::f64(&[10, 3], uniform(9, 3, 30)));
    let xy = write("xy.npy", NpyArray::f32(&[2, 5, 2], vec![0.5; 20]));
    let mut with_nan = uniform(9, 4, 30);
    with_nan[3 * 5 + 3 + 2] = f64::NAN; // sample 1, point 1, z
    let nan = write("nan.npy", NpyArray::f64(&[2, 5, 3], with_nan));
    let mut with_inf = vec![0.25f32; 30];
    with_inf[4] = f32::INFINITY;
    let inf = write("inf.npy", NpyArray::f32(&[2, 5, 3], with_inf));
    let ints = write("ints.npy", NpyArray::i64(&[2, 5, 3], vec![1; 30]));
    let empty = write("empty.npy", NpyArray::f64(&[0, 5, 3], vec![]));
    let garbage = dir.join("garbage.npy");
    std::fs::write(&garbage, b"this is not numpy").expect("write");
    let missing = dir.join("missing.npy");
    let big_a = dir.join("big_a.npy");
    let big_b = dir.join("big_b.npy");
    write_points(&big_a, &[1, 10475, 3], &uniform(9, 5, 10475 * 3), true);
    write_points(&big_b, &[1, 10475, 3], &uniform(9, 6, 10475 * 3), true);
    let no_parts = dir.join("no_parts");
    std::fs::create_dir_all(&no_parts).expect("dir");
    std::fs::copy(
        fixtures().join("metrics_parts/SMPL-X__FLAME_vertex_ids.npy"),
        no_parts.join("SMPL-X__FLAME_vertex_ids.npy"),
    )
    .expect("copy");

    // (pred, gt, extra args, file the message must name, words it must hold)
    let cases: Vec<(&Path, &Path, Vec<&str>, &Path, &str)> = vec![
        (&good, &other_k, vec![], &other_k, "same N and K"),
        (&rank2, &good, vec![], &rank2, "expected [N, K, 3]"),
        (&good, &xy, vec![], &xy, "[2, 5, 2], expected [N, K, 3]"),
        (
            &good,
            &nan,
            vec![],
            &nan,
            "non-finite value NaN at [1, 1, 2]",
        ),
        (&inf, &good, vec![], &inf, "non-finite value inf"),
        (
            &ints,
            &good,
            vec![],
            &ints,
            "int64, expected float32 or float64",
        ),
        (&empty, &good, vec![], &empty, "no points"),
        (&garbage, &good, vec![], &garbage, "not an .npy"),
        (&good, &missing, vec![], &missing, "cannot read"),
        (
            &big_a,
            &big_b,
            vec!["--parts", arg(&no_parts)],
            &no_parts,
            "MANO_SMPLX_vertex_ids.pkl: cannot read",
        ),
        (
            &big_a,
            &big_b,
            vec!["--model", arg(&missing)],
            &missing,
            "cannot read",
        ),
    ];
    for (pred, gt, extra, culprit, words) in cases {
        let mut args = vec!["--pred", arg(pred), "--gt", arg(gt)];
        args.extend(extra);
        let (code, _, stderr) = furpe_metrics(&args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains(arg(culprit)), "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
    }
}
