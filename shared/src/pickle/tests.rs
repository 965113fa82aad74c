//! The reader against pickles written by Python (fixtures) and hand-made
//! streams, including the ones it must refuse.

use super::*;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/metrics_pickles")
        .join(name)
}

/// Pickles written by Python (tests/fixtures/gen_metrics_fixtures.py)
/// with protocols 2 to 5 and a Python 2 style stream; the expected
/// values sit beside them.
#[test]
fn reads_numpy_dicts_pickled_by_python() {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let files = expected.as_object().unwrap();
    assert!(files.len() >= 5);
    for (name, arrays) in files {
        let got = read_pickle_file(&fixture(name)).unwrap();
        let arrays = arrays.as_object().unwrap();
        assert_eq!(got.len(), arrays.len(), "{name}");
        for (key, array) in got {
            let want = &arrays[&key];
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(array.shape, shape, "{name} {key}");
            let values: Vec<f64> = want["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(array.to_f64().unwrap(), values, "{name} {key}");
        }
    }
}

/// Truncated and corrupted streams are errors, never panics.
#[test]
fn damaged_pickles_never_panic() {
    for name in ["p2.pkl", "p5.pkl", "py2.pkl"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for end in 0..bytes.len() {
            assert!(read_pickled_arrays(&bytes[..end], name).is_err());
        }
        let mut state = 0x2545F4914F6CDD1Du64;
        for _ in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut damaged = bytes.clone();
            let at = (state % bytes.len() as u64) as usize;
            damaged[at] ^= 1 << (state >> 60 & 7);
            let _ = read_pickled_arrays(&damaged, name);
        }
    }
}

#[test]
fn refuses_code_and_other_objects() {
    // pickle.dumps of os.system('echo hi') style payload, protocol 2.
    let evil = b"\x80\x02cos\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03.";
    let err = read_pickled_arrays(evil, "evil.pkl")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("evil.pkl") && err.contains("os.system"),
        "{err}"
    );
    // Protocol 0 text pickle.
    let err = read_pickled_arrays(b"(dp0\n.", "p0.pkl")
        .unwrap_err()
        .to_string();
    assert!(err.contains("protocol"), "{err}");
    // A list instead of a dict: pickle.dumps([1, 2], protocol=4).
    let list = b"\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e.";
    let err = read_pickled_arrays(list, "l.pkl").unwrap_err().to_string();
    assert!(
        err.contains("list") && err.contains("expected a dict"),
        "{err}"
    );
    // Truncated stream.
    let err = read_pickled_arrays(&list[..12], "t.pkl")
        .unwrap_err()
        .to_string();
    assert!(err.contains("t.pkl") && err.contains("truncated"), "{err}");
    // A dict holding an int: pickle.dumps({'a': 1}, protocol=2).
    let int = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";
    let err = read_pickled_arrays(int, "i.pkl").unwrap_err().to_string();
    assert!(err.contains("'a'") && err.contains("int"), "{err}");
}

/// Plain data (floats, strings, tuples, nested lists) through the
/// general reader: `pickle.dumps({'a': [1.5, 'x', (None, True)], 'n': -7},
/// protocol=2)`; a self-appended list is refused, not followed forever.
#[test]
fn reads_plain_values() {
    let bytes = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(G?\xf8\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x03N\x88\x86q\x04eX\x01\x00\x00\x00nq\x05J\xf9\xff\xff\xffu.";
    let value = read_pickle_value(bytes, "v.pkl").unwrap();
    let a = value.get("a").and_then(PyValue::items).unwrap();
    assert_eq!(a[0], PyValue::Float(1.5));
    assert_eq!(a[1].as_text().as_deref(), Some("x"));
    assert_eq!(
        a[2],
        PyValue::Tuple(vec![PyValue::None, PyValue::Bool(true)])
    );
    assert_eq!(value.get("n"), Some(&PyValue::Int(-7)));
    assert!(value.get("missing").is_none());
    // l = []; l.append(l): `]q\x00h\x00a.`
    let cyclic = b"\x80\x02]q\x00h\x00a.";
    let err = read_pickle_value(cyclic, "c.pkl").unwrap_err().to_string();
    assert!(err.contains("c.pkl") && err.contains("nested"), "{err}");
    // Python 2 `str` bytes decode as latin1.
    assert_eq!(
        PyValue::Bytes(vec![b'd', 0xe9]).as_text().as_deref(),
        Some("d\u{e9}")
    );
}
