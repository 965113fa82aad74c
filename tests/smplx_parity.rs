//! The SMPL-X forward pass against the reference `smplx` package.
//!
//! Fixtures come from tests/fixtures/gen_smplx_fixtures.py (PyTorch, float64)
//! on random model files in the official layout. The model files are rebuilt
//! here, bit for bit, instead of being committed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::backend::Flex;
use common::{fixtures, max_abs_diff, scratch, write_random_model};
use furpe::npz::NpzArchive;
use furpe::smplx::{ParamWidths, SmplxConfig, SmplxData, SmplxInput, SmplxParams};
use serde_json::Value;

/// Tolerance on vertices and joints, metres.
const TOL: f32 = 1e-5;

struct Case {
    name: String,
    seed: u64,
    num_shapedirs: usize,
    f64_file: bool,
    layer: Value,
    params: Value,
}

fn cases() -> Vec<Case> {
    let text =
        std::fs::read_to_string(fixtures().join("smplx_reference.json")).expect("fixture json");
    let manifest: Value = serde_json::from_str(&text).expect("fixture json parses");
    manifest["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap_or_default().to_string(),
            seed: c["model"]["seed"].as_u64().unwrap_or(0),
            num_shapedirs: c["model"]["num_shapedirs"].as_u64().unwrap_or(0) as usize,
            f64_file: c["model"]["dtype"] == "f64",
            layer: c["layer"].clone(),
            params: c["params"].clone(),
        })
        .collect()
}

fn reference(name: &str) -> (Vec<f32>, Vec<f32>) {
    let mut npz = NpzArchive::open(&fixtures().join("smplx_reference.npz")).expect("fixture npz");
    let v = npz
        .read_f32(&format!("{name}__vertices"), &[None, None, Some(3)])
        .expect("vertices");
    let j = npz
        .read_f32(&format!("{name}__joints"), &[None, None, Some(3)])
        .expect("joints");
    (v.data, j.data)
}

/// Writes each distinct random model once; the f64 one deflate-compressed so
/// both archive kinds are read.
fn model_path(dir: &Path, case: &Case) -> PathBuf {
    let path = dir.join(format!(
        "model_{}_{}_{}.npz",
        case.seed, case.num_shapedirs, case.f64_file
    ));
    if !path.exists() {
        write_random_model(
            &path,
            case.seed,
            case.num_shapedirs,
            case.f64_file,
            case.f64_file,
        );
    }
    path
}

fn config_for(layer: &Value) -> SmplxConfig {
    let get = |k: &str| layer.get(k);
    SmplxConfig::new()
        .with_num_betas(get("num_betas").and_then(Value::as_u64).unwrap_or(10) as usize)
        .with_num_expression(get("num_expression").and_then(Value::as_u64).unwrap_or(10) as usize)
        .with_use_pca(get("use_pca").and_then(Value::as_bool).unwrap_or(false))
        .with_num_pca_comps(get("num_pca_comps").and_then(Value::as_u64).unwrap_or(6) as usize)
        .with_flat_hand_mean(
            get("flat_hand_mean")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        )
        .with_use_face_contour(
            get("use_face_contour")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        )
}

fn widths(config: &SmplxConfig) -> ParamWidths {
    ParamWidths {
        betas: config.num_betas,
        expression: config.num_expression,
        hand: if config.use_pca {
            config.num_pca_comps
        } else {
            45
        },
        max_betas: config.num_betas,
        max_expression: config.num_expression,
    }
}

#[test]
fn forward_matches_reference_package() {
    type B = Flex;
    let device = Default::default();
    let dir = scratch("parity");
    let cases = cases();
    assert_eq!(cases.len(), 5, "fixture cases");
    for case in &cases {
        let model = SmplxData::load(&model_path(&dir, case)).expect("model loads");
        let config = config_for(&case.layer);
        let layer = config.init::<B>(&model, &device).expect("layer");
        let (params, _) =
            SmplxParams::from_json(&case.params.to_string(), &case.name, widths(&config))
                .expect("params");
        let out = layer.forward(SmplxInput::from_params(&params, &device));
        let (want_v, want_j) = reference(&case.name);
        let got_v = out.vertices.into_data().to_vec::<f32>().expect("vertices");
        let got_j = out.joints.into_data().to_vec::<f32>().expect("joints");
        let (dv, dj) = (max_abs_diff(&got_v, &want_v), max_abs_diff(&got_j, &want_j));
        println!(
            "{}: max |Δvertex| {dv:.2e} m, max |Δjoint| {dj:.2e} m",
            case.name
        );
        assert!(
            dv < TOL && dj < TOL,
            "{}: vertices off by {dv}, joints by {dj}",
            case.name
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn cli_forward_matches_reference_package() {
    let dir = scratch("cli");
    for case in cases()
        .iter()
        .filter(|c| c.name == "v10_f32_moderate" || c.name == "v11_f64_moderate")
    {
        let model = model_path(&dir, case);
        let (want_v, want_j) = reference(&case.name);
        // The whole batch, then its first body as a single (flat-array) body.
        let first: serde_json::Map<String, Value> = case
            .params
            .as_object()
            .expect("params")
            .iter()
            .map(|(k, v)| (k.clone(), v[0].clone()))
            .collect();
        for (label, params) in [
            ("batch", case.params.clone()),
            ("single", Value::Object(first)),
        ] {
            let params_path = dir.join(format!("{}_{label}.json", case.name));
            std::fs::write(&params_path, params.to_string()).expect("write params");
            let out_path = dir.join(format!("{}_{label}_out.json", case.name));
            let status = Command::new(env!("CARGO_BIN_EXE_furpe"))
                .args(["body", "forward", "--model"])
                .arg(&model)
                .arg("--params")
                .arg(&params_path)
                .arg("--out")
                .arg(&out_path)
                .status()
                .expect("run furpe");
            assert!(status.success(), "{}: furpe body forward failed", case.name);
            let out: Value =
                serde_json::from_str(&std::fs::read_to_string(&out_path).expect("out"))
                    .expect("json");
            let flat = |v: &Value| -> Vec<f32> {
                fn walk(v: &Value, acc: &mut Vec<f32>) {
                    match v {
                        Value::Array(a) => a.iter().for_each(|x| walk(x, acc)),
                        Value::Number(n) => acc.push(n.as_f64().unwrap_or(f64::NAN) as f32),
                        _ => acc.push(f32::NAN),
                    }
                }
                let mut acc = Vec::new();
                walk(v, &mut acc);
                acc
            };
            let (got_v, got_j) = (flat(&out["vertices"]), flat(&out["joints"]));
            let (n_v, n_j) = (got_v.len(), got_j.len());
            if label == "single" {
                assert_eq!(
                    (n_v, n_j),
                    (10475 * 3, 144 * 3),
                    "single body is not nested"
                );
                assert!(out["joints"][0][0].is_number());
            } else {
                assert!(
                    out["joints"][0][0].is_array(),
                    "batch output is nested once more"
                );
            }
            let dv = max_abs_diff(&got_v, &want_v[..n_v]);
            let dj = max_abs_diff(&got_j, &want_j[..n_j]);
            assert!(
                dv < TOL && dj < TOL,
                "{} {label}: vertices off by {dv}, joints by {dj}",
                case.name
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn furpe_forward(model: &Path, dir: &Path) -> (bool, String) {
    let params = dir.join("zero.json");
    std::fs::write(&params, "{}").expect("params");
    let out = Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args(["body", "forward", "--model"])
        .arg(model)
        .arg("--params")
        .arg(&params)
        .arg("--out")
        .arg(dir.join("out.json"))
        .output()
        .expect("run furpe");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn bad_model_files_give_clear_errors() {
    use furpe::npz::{write_npz, NpyArray};
    let dir = scratch("bad");
    let good = dir.join("good.npz");
    write_random_model(&good, 3, 20, false, false);
    let arrays: Vec<(String, NpyArray)> = {
        let mut npz = NpzArchive::open(&good).expect("open");
        npz.keys()
            .into_iter()
            .map(|k| {
                let a = npz.read(&k).expect("read");
                (k, a)
            })
            .collect()
    };
    let rewrite = |name: &str, edit: &dyn Fn(&str, NpyArray) -> Option<NpyArray>| -> PathBuf {
        let path = dir.join(name);
        let kept: Vec<(&str, NpyArray)> = arrays
            .iter()
            .filter_map(|(k, a)| edit(k, a.clone()).map(|a| (k.as_str(), a)))
            .collect();
        write_npz(
            std::io::BufWriter::new(std::fs::File::create(&path).expect("create")),
            &kept,
            false,
        )
        .expect("write");
        path
    };

    let truncated = dir.join("truncated.npz");
    let bytes = std::fs::read(&good).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("write");
    let missing = rewrite("missing.npz", &|k, a| (k != "posedirs").then_some(a));
    let wrong_shape = rewrite("shape.npz", &|k, a| {
        Some(if k == "weights" {
            NpyArray::f32(&[10475, 54], vec![0.0; 10475 * 54])
        } else {
            a
        })
    });
    let nan = rewrite("nan.npz", &|k, a| {
        Some(if k == "v_template" {
            let mut v = a.to_f32().expect("floats");
            v[7] = f32::NAN;
            NpyArray::f32(&a.shape, v)
        } else {
            a
        })
    });
    let expectations = [
        (&truncated, vec!["truncated.npz"]),
        (&missing, vec!["missing.npz", "missing key 'posedirs'"]),
        (
            &wrong_shape,
            vec!["shape.npz", "'weights'", "[10475, 54]", "(10475, 55)"],
        ),
        (&nan, vec!["nan.npz", "'v_template'", "non-finite"]),
    ];
    for (path, needles) in expectations {
        let (ok, stderr) = furpe_forward(path, &dir);
        assert!(!ok, "{}: should fail", path.display());
        assert!(
            !stderr.contains("panicked"),
            "{}: panicked: {stderr}",
            path.display()
        );
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{}: error lacks {needle:?}: {stderr}",
                path.display()
            );
        }
    }
    let (ok, stderr) = furpe_forward(&good, &dir);
    assert!(ok, "the intact file must load: {stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn large_batches_are_posed_in_device_chunks_and_bounded() {
    let dir = scratch("batches");
    // 70 bodies (two device chunks of 64 and 6), each turned a little more.
    let n = 70;
    let orient: Vec<[f32; 3]> = (0..n).map(|i| [0.0, 0.02 * i as f32, 0.1]).collect();
    let batch = dir.join("batch.json");
    std::fs::write(
        &batch,
        serde_json::json!({ "global_orient": orient }).to_string(),
    )
    .unwrap();
    let single = dir.join("single.json");
    std::fs::write(
        &single,
        serde_json::json!({ "global_orient": [orient[65]] }).to_string(),
    )
    .unwrap();
    let pose = |params: &Path, out: &str| -> Value {
        let out = dir.join(out);
        let (ok, log) = common::run_furpe(&[
            "body",
            "forward",
            "--params",
            params.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{log}");
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    };
    let all = pose(&batch, "batch_out.json");
    let one = pose(&single, "single_out.json");
    assert_eq!(all["vertices"].as_array().unwrap().len(), n);
    let floats = |v: &Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .flat_map(|p| {
                p.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
            })
            .collect()
    };
    let diff = max_abs_diff(&floats(&all["vertices"][65]), &floats(&one["vertices"][0]));
    assert!(
        diff < 1e-5,
        "body 65 posed in a batch differs from alone by {diff}"
    );

    // More bodies than one call accepts: a clear error naming the file.
    let many = dir.join("many.json");
    let zeros = vec![[0.0f32; 3]; (1 << 16) + 1];
    std::fs::write(
        &many,
        serde_json::json!({ "global_orient": zeros }).to_string(),
    )
    .unwrap();
    let (ok, log) = common::run_furpe(&[
        "body",
        "forward",
        "--params",
        many.to_str().unwrap(),
        "--out",
        dir.join("many_out.json").to_str().unwrap(),
    ]);
    assert!(
        !ok && log.contains("many.json") && log.contains("at most 65536"),
        "{log}"
    );
}
