//! Shared helpers of the workspace-level tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use furpe::npz::{write_npz, NpyArray};

pub const V: usize = 10475;
pub const F: usize = 20908;
pub const J: usize = 55;

/// The fixture directory, `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A fresh scratch directory in the system's temp dir, removed when the
/// test that made it passes (kept after a failure, to look at). Tests write
/// model files, worlds and runs of tens of MB: left behind, a few runs of the
/// suite fill a CI machine's disk.
pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("furpe-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    Scratch(dir)
}

/// A scratch directory that removes itself (see [`scratch`]).
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// splitmix64 of (seed << 48 | key << 32 | i) -> [0, 1). Bit-identical to
/// `uniform` in tests/fixtures/gen_smplx_fixtures.py.
pub fn uniform(seed: u64, key: u64, n: usize) -> Vec<f64> {
    (0..n as u64)
        .map(|i| {
            let mut z = ((seed << 48) | (key << 32) | i).wrapping_add(0x9E3779B97F4A7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
            z ^= z >> 31;
            (z >> 11) as f64 * 2f64.powi(-53)
        })
        .collect()
}

/// Writes the random official-layout model of `random_model` in the Python
/// generator: same keys, values, dtypes (`f32` files use uint32 indices,
/// `f64` files int64).
pub fn write_random_model(
    path: &Path,
    seed: u64,
    num_shapedirs: usize,
    f64_file: bool,
    compressed: bool,
) {
    let float = |shape: &[usize], v: Vec<f64>| {
        if f64_file {
            NpyArray::f64(shape, v)
        } else {
            NpyArray::f32(shape, v.into_iter().map(|x| x as f32).collect())
        }
    };
    let index = |shape: &[usize], v: Vec<f64>| {
        if f64_file {
            NpyArray::i64(shape, v.into_iter().map(|x| x as i64).collect())
        } else {
            NpyArray::u32(shape, v.into_iter().map(|x| x as i64 as u32).collect())
        }
    };
    let u = |key: u64, shape: &[usize]| uniform(seed, key, shape.iter().product());
    let affine = |v: Vec<f64>, sub: f64, mul: f64| {
        v.into_iter().map(|x| (x - sub) * mul).collect::<Vec<_>>()
    };
    let floor_times = |v: Vec<f64>, n: usize| {
        v.into_iter()
            .map(|x| (x * n as f64).floor())
            .collect::<Vec<_>>()
    };

    let jreg = u(4, &[J, V])
        .into_iter()
        .map(|x| if x > 0.999 { (x - 0.999) * 200.0 } else { 0.0 })
        .collect();
    let weights = u(5, &[V, J])
        .into_iter()
        .map(|x| {
            let w = x * x;
            w * w * (5.0 / 55.0)
        })
        .collect();
    let mut kintree: Vec<f64> = furpe::smplx::joints::PARENTS
        .iter()
        .map(|&p| p as f64)
        .collect();
    kintree[0] = 4294967295.0;
    kintree.extend((0..J).map(|j| j as f64));
    let arrays = vec![
        (
            "v_template",
            float(&[V, 3], affine(u(1, &[V, 3]), 0.5, 2.0)),
        ),
        ("f", index(&[F, 3], floor_times(u(2, &[F, 3]), V))),
        (
            "shapedirs",
            float(
                &[V, 3, num_shapedirs],
                affine(u(3, &[V, 3, num_shapedirs]), 0.5, 0.02),
            ),
        ),
        (
            "posedirs",
            float(&[V, 3, 486], affine(u(6, &[V, 3, 486]), 0.5, 0.02)),
        ),
        ("J_regressor", float(&[J, V], jreg)),
        ("weights", float(&[V, J], weights)),
        ("kintree_table", index(&[2, J], kintree)),
        (
            "hands_componentsl",
            float(&[45, 45], affine(u(7, &[45, 45]), 0.5, 1.0)),
        ),
        (
            "hands_componentsr",
            float(&[45, 45], affine(u(8, &[45, 45]), 0.5, 1.0)),
        ),
        ("hands_meanl", float(&[45], affine(u(9, &[45]), 0.5, 0.5))),
        ("hands_meanr", float(&[45], affine(u(10, &[45]), 0.5, 0.5))),
        (
            "hands_coeffsl",
            float(&[4, 45], affine(u(11, &[4, 45]), 0.5, 1.0)),
        ),
        (
            "hands_coeffsr",
            float(&[4, 45], affine(u(12, &[4, 45]), 0.5, 1.0)),
        ),
        ("lmk_faces_idx", index(&[51], floor_times(u(13, &[51]), F))),
        ("lmk_bary_coords", float(&[51, 3], u(14, &[51, 3]))),
        (
            "dynamic_lmk_faces_idx",
            index(&[79, 17], floor_times(u(15, &[79, 17]), F)),
        ),
        (
            "dynamic_lmk_bary_coords",
            float(&[79, 17, 3], u(16, &[79, 17, 3])),
        ),
        ("vt", float(&[V, 2], u(17, &[V, 2]))),
        ("ft", index(&[F, 3], floor_times(u(18, &[F, 3]), V))),
    ];
    let file = std::fs::File::create(path).expect("create model file");
    write_npz(std::io::BufWriter::new(file), &arrays, compressed).expect("write model file");
}

/// Largest absolute difference between two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Runs the `furpe` binary; returns success and stdout + stderr. A panic is
/// never an acceptable way to fail, so it fails the test.
pub fn run_furpe<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_furpe"))
        .args(args)
        .output()
        .expect("run furpe");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "furpe panicked: {text}");
    (out.status.success(), text)
}
