//! NumPy `.npy` / `.npz` reading and writing.
//!
//! The SMPL-X model files, the ExPose curated fits and the metric inputs all
//! arrive as NumPy archives. Keys are parsed lazily so that archives holding
//! pickled objects (the official SMPL-X `.npz` has some) load as long as the
//! keys we need are plain arrays. Every error names the file and the key.

use std::io::{Cursor, Read, Seek, Write};

/// An error reading or writing a NumPy file, naming where it happened.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    #[error("{file}: cannot read: {reason}")]
    Io { file: String, reason: String },
    #[error("{file}: not a valid .npz (zip) archive: {reason}")]
    Archive { file: String, reason: String },
    #[error("{file}: missing key '{key}'")]
    MissingKey { file: String, key: String },
    #[error("{file}: key '{key}': {reason}")]
    BadArray {
        file: String,
        key: String,
        reason: String,
    },
    #[error("{file}: key '{key}' has shape {found:?}, expected {expected}")]
    Shape {
        file: String,
        key: String,
        found: Vec<usize>,
        expected: String,
    },
}

/// The most bytes one `.npz` entry may inflate to.
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// Element storage of one array, in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    U8(Vec<u8>),
    /// Fixed-width unicode strings (`<U`).
    Str(Vec<String>),
}

/// One n-dimensional array.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

impl NpyArray {
    pub fn f32(shape: &[usize], data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self {
            shape: shape.to_vec(),
            data: NpyData::F32(data),
        }
    }
    pub fn f64(shape: &[usize], data: Vec<f64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self {
            shape: shape.to_vec(),
            data: NpyData::F64(data),
        }
    }
    pub fn i64(shape: &[usize], data: Vec<i64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self {
            shape: shape.to_vec(),
            data: NpyData::I64(data),
        }
    }
    pub fn u32(shape: &[usize], data: Vec<u32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self {
            shape: shape.to_vec(),
            data: NpyData::U32(data),
        }
    }
    pub fn strings(data: Vec<String>) -> Self {
        Self {
            shape: vec![data.len()],
            data: NpyData::Str(data),
        }
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values as `f64` (integers converted exactly where they fit).
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        Some(match &self.data {
            NpyData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::F64(v) => v.clone(),
            NpyData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::I32(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::U32(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::U64(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::U8(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::Str(_) => return None,
        })
    }

    /// Values as `f32`; float64 files are rounded to nearest.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match &self.data {
            NpyData::F32(v) => Some(v.clone()),
            _ => self
                .to_f64()
                .map(|v| v.into_iter().map(|x| x as f32).collect()),
        }
    }

    /// Values as `i64`; `None` for floats and strings. Unsigned values
    /// that do not fit wrap, which is how the official files store the root's
    /// parent (`2^32 - 1` in a uint32 kintree).
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        Some(match &self.data {
            NpyData::I64(v) => v.clone(),
            NpyData::I32(v) => v.iter().map(|&x| x as i64).collect(),
            NpyData::U32(v) => v.iter().map(|&x| x as i64).collect(),
            NpyData::U64(v) => v.iter().map(|&x| x as i64).collect(),
            NpyData::U8(v) => v.iter().map(|&x| x as i64).collect(),
            _ => return None,
        })
    }
}

/// Parses one `.npy` payload. `what` names it in errors as (file, key).
pub fn parse_npy(bytes: &[u8], file: &str, key: &str) -> Result<NpyArray, NpzError> {
    let bad = |reason: String| NpzError::BadArray {
        file: file.to_string(),
        key: key.to_string(),
        reason,
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not an .npy array (bad magic)".into()));
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header".into()));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad("truncated header".into()))?;
    let header = String::from_utf8_lossy(header);
    let descr = header_field(&header, "descr").ok_or_else(|| bad("header lacks 'descr'".into()))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let fortran = header_field(&header, "fortran_order")
        .map(|s| s.trim().starts_with("True"))
        .unwrap_or(false);
    let shape_text =
        header_field(&header, "shape").ok_or_else(|| bad("header lacks 'shape'".into()))?;
    let shape: Vec<usize> = shape_text
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(format!("bad shape {shape_text}")))?;
    // Declared sizes are checked before anything is multiplied or
    // allocated: a header may claim any shape.
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            bad(format!(
                "shape {shape:?} has more elements than this machine can address"
            ))
        })?;
    let bytes_for = |width: usize| {
        count
            .checked_mul(width)
            .ok_or_else(|| bad(format!("shape {shape:?} of {width}-byte items overflows")))
    };
    let body = &bytes[start + header_len..];

    if descr.starts_with('|') && descr.contains('O') {
        return Err(bad(
            "holds pickled Python objects, which are not read (only numeric arrays)".into(),
        ));
    }
    let little = !descr.starts_with('>');
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    macro_rules! numeric {
        ($t:ty, $variant:ident, $size:expr) => {{
            let need = bytes_for($size)?;
            if body.len() < need {
                return Err(bad(format!(
                    "truncated data: {} bytes for {} elements of {}",
                    body.len(),
                    count,
                    descr
                )));
            }
            let values: Vec<$t> = body[..need]
                .chunks_exact($size)
                .map(|c| {
                    let arr: [u8; $size] = c.try_into().unwrap_or([0; $size]);
                    if little {
                        <$t>::from_le_bytes(arr)
                    } else {
                        <$t>::from_be_bytes(arr)
                    }
                })
                .collect();
            NpyData::$variant(if fortran {
                fortran_to_c(&values, &shape)
            } else {
                values
            })
        }};
    }
    let data = match code {
        "f4" => numeric!(f32, F32, 4),
        "f8" => numeric!(f64, F64, 8),
        "i8" => numeric!(i64, I64, 8),
        "i4" => numeric!(i32, I32, 4),
        "u4" => numeric!(u32, U32, 4),
        "u8" => numeric!(u64, U64, 8),
        "u1" | "b1" => numeric!(u8, U8, 1),
        c if c.starts_with('S') => {
            let width: usize = c[1..]
                .parse()
                .map_err(|_| bad(format!("bad dtype {descr}")))?;
            if width == 0 {
                return Err(bad(format!("zero-width string dtype {descr}")));
            }
            let need = bytes_for(width)?;
            if body.len() < need {
                return Err(bad("truncated string data".into()));
            }
            let strings = body[..need]
                .chunks_exact(width.max(1))
                .map(|item| {
                    let end = item.iter().position(|&b| b == 0).unwrap_or(item.len());
                    String::from_utf8_lossy(&item[..end]).into_owned()
                })
                .collect();
            NpyData::Str(strings)
        }
        c if c.starts_with('U') => {
            let width: usize = c[1..]
                .parse()
                .map_err(|_| bad(format!("bad dtype {descr}")))?;
            if width == 0 {
                return Err(bad(format!("zero-width string dtype {descr}")));
            }
            let need = bytes_for(width.saturating_mul(4))?;
            if body.len() < need {
                return Err(bad("truncated string data".into()));
            }
            let strings = body[..need]
                .chunks_exact(width * 4)
                .map(|item| {
                    item.chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .take_while(|&u| u != 0)
                        .filter_map(char::from_u32)
                        .collect::<String>()
                })
                .collect();
            NpyData::Str(strings)
        }
        _ => return Err(bad(format!("unsupported dtype {descr}"))),
    };
    Ok(NpyArray { shape, data })
}

fn header_field<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let key_pos = header
        .find(&format!("'{name}'"))
        .or_else(|| header.find(&format!("\"{name}\"")))?;
    let rest = &header[key_pos + name.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?;
    let end = if rest.trim_start().starts_with('(') {
        rest.find(')').map(|i| i + 1)?
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(&rest[..end])
}

fn fortran_to_c<T: Copy>(values: &[T], shape: &[usize]) -> Vec<T> {
    if shape.len() < 2 {
        return values.to_vec();
    }
    let n = values.len();
    let mut out = Vec::with_capacity(n);
    // Column-major strides for the incoming data.
    let mut f_strides = vec![1usize; shape.len()];
    for d in 1..shape.len() {
        f_strides[d] = f_strides[d - 1] * shape[d - 1];
    }
    let mut index = vec![0usize; shape.len()];
    for _ in 0..n {
        let src: usize = index.iter().zip(&f_strides).map(|(i, s)| i * s).sum();
        out.push(values[src]);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

/// Serialises one array as `.npy` (version 1.0, little-endian, C order).
pub fn write_npy(array: &NpyArray) -> Vec<u8> {
    let (descr, body): (String, Vec<u8>) = match &array.data {
        NpyData::F32(v) => (
            "<f4".into(),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        NpyData::F64(v) => (
            "<f8".into(),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        NpyData::I64(v) => (
            "<i8".into(),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        NpyData::I32(v) => (
            "<i4".into(),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        NpyData::U32(v) => (
            "<u4".into(),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        NpyData::U64(v) => (
            "<u8".into(),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        NpyData::U8(v) => ("|u1".into(), v.clone()),
        NpyData::Str(v) => {
            let width = v
                .iter()
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(1)
                .max(1);
            let mut body = Vec::with_capacity(v.len() * width * 4);
            for s in v {
                let mut n = 0;
                for c in s.chars() {
                    body.extend((c as u32).to_le_bytes());
                    n += 1;
                }
                body.extend(std::iter::repeat_n(0u8, (width - n) * 4));
            }
            (format!("<U{width}"), body)
        }
    };
    let shape = match array.shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", array.shape[0]),
        _ => format!(
            "({})",
            array
                .shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so that the data starts on a 64-byte boundary, as numpy does.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + body.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    out
}

/// An opened `.npz` archive; arrays are decoded on request.
pub struct NpzArchive<R: Read + Seek> {
    name: String,
    zip: zip::ZipArchive<R>,
}

impl NpzArchive<std::io::BufReader<std::fs::File>> {
    /// Opens an archive on disk.
    pub fn open(path: &std::path::Path) -> Result<Self, NpzError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| NpzError::Io {
            file: name.clone(),
            reason: e.to_string(),
        })?;
        Self::new(name, std::io::BufReader::new(file))
    }
}

impl NpzArchive<Cursor<Vec<u8>>> {
    /// Opens an archive held in memory (a dropped file in the browser).
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Self, NpzError> {
        Self::new(name.to_string(), Cursor::new(bytes))
    }
}

impl<R: Read + Seek> NpzArchive<R> {
    fn new(name: String, reader: R) -> Result<Self, NpzError> {
        let zip = zip::ZipArchive::new(reader).map_err(|e| NpzError::Archive {
            file: name.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self { name, zip })
    }

    /// The file name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Array names (without the `.npy` suffix).
    pub fn keys(&self) -> Vec<String> {
        self.zip
            .file_names()
            .map(|n| n.trim_end_matches(".npy").to_string())
            .collect()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.zip.index_for_name(&format!("{key}.npy")).is_some()
            || self.zip.index_for_name(key).is_some()
    }

    /// Reads and decodes one array.
    pub fn read(&mut self, key: &str) -> Result<NpyArray, NpzError> {
        let entry_name = if self.zip.index_for_name(&format!("{key}.npy")).is_some() {
            format!("{key}.npy")
        } else if self.zip.index_for_name(key).is_some() {
            key.to_string()
        } else {
            return Err(NpzError::MissingKey {
                file: self.name.clone(),
                key: key.to_string(),
            });
        };
        let mut entry = self
            .zip
            .by_name(&entry_name)
            .map_err(|e| NpzError::BadArray {
                file: self.name.clone(),
                key: key.to_string(),
                reason: e.to_string(),
            })?;
        // The declared size is not trusted (ZIP64 can claim a terabyte) and
        // deflate can inflate a thousandfold: both are bounded.
        let mut bytes = Vec::with_capacity((entry.size() as usize).min(1 << 24));
        (&mut entry)
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| NpzError::BadArray {
                file: self.name.clone(),
                key: key.to_string(),
                reason: format!("truncated or corrupt entry: {e}"),
            })?;
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            return Err(NpzError::BadArray {
                file: self.name.clone(),
                key: key.to_string(),
                reason: format!(
                    "inflates to more than {} MiB, the limit for one array (the official SMPL-X arrays are under 200 MiB)",
                    MAX_ENTRY_BYTES >> 20
                ),
            });
        }
        parse_npy(&bytes, &self.name, key)
    }

    /// Reads a float array and checks its shape; `None` in `expected` is a
    /// free dimension. Non-finite values are an error.
    pub fn read_f32(&mut self, key: &str, expected: &[Option<usize>]) -> Result<NpyF32, NpzError> {
        let array = self.read(key)?;
        self.check_shape(key, &array.shape, expected)?;
        let data = array.to_f32().ok_or_else(|| NpzError::BadArray {
            file: self.name.clone(),
            key: key.to_string(),
            reason: "expected a numeric array, found strings".into(),
        })?;
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(NpzError::BadArray {
                file: self.name.clone(),
                key: key.to_string(),
                reason: format!("non-finite value {} at flat index {i}", data[i]),
            });
        }
        Ok(NpyF32 {
            shape: array.shape,
            data,
        })
    }

    /// Reads an integer array (any signedness or width) and checks its shape.
    pub fn read_i64(&mut self, key: &str, expected: &[Option<usize>]) -> Result<NpyI64, NpzError> {
        let array = self.read(key)?;
        self.check_shape(key, &array.shape, expected)?;
        let data = array.to_i64().ok_or_else(|| NpzError::BadArray {
            file: self.name.clone(),
            key: key.to_string(),
            reason: "expected an integer array".into(),
        })?;
        Ok(NpyI64 {
            shape: array.shape,
            data,
        })
    }

    fn check_shape(
        &self,
        key: &str,
        found: &[usize],
        expected: &[Option<usize>],
    ) -> Result<(), NpzError> {
        let ok = found.len() == expected.len()
            && found
                .iter()
                .zip(expected)
                .all(|(f, e)| e.is_none_or(|e| e == *f));
        if ok {
            Ok(())
        } else {
            Err(NpzError::Shape {
                file: self.name.clone(),
                key: key.to_string(),
                found: found.to_vec(),
                expected: shape_text(expected),
            })
        }
    }
}

/// Formats an expected shape, `None` dimensions as `*`.
pub fn shape_text(expected: &[Option<usize>]) -> String {
    let dims: Vec<String> = expected
        .iter()
        .map(|d| d.map_or("*".to_string(), |d| d.to_string()))
        .collect();
    format!("({})", dims.join(", "))
}

/// A float array with its shape.
#[derive(Debug, Clone)]
pub struct NpyF32 {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// An integer array with its shape.
#[derive(Debug, Clone)]
pub struct NpyI64 {
    pub shape: Vec<usize>,
    pub data: Vec<i64>,
}

/// Writes arrays as an `.npz` archive (stored, or deflate-compressed).
pub fn write_npz<W: Write + Seek>(
    writer: W,
    arrays: &[(&str, NpyArray)],
    compressed: bool,
) -> std::io::Result<()> {
    let mut zip = zip::ZipWriter::new(writer);
    let method = if compressed {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .large_file(true);
    for (key, array) in arrays {
        zip.start_file(format!("{key}.npy"), options)
            .map_err(std::io::Error::other)?;
        zip.write_all(&write_npy(array))?;
    }
    zip.finish().map_err(std::io::Error::other)?;
    Ok(())
}

/// Loads a single `.npy` file from disk.
pub fn read_npy_file(path: &std::path::Path) -> Result<NpyArray, NpzError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| NpzError::Io {
        file: name.clone(),
        reason: e.to_string(),
    })?;
    parse_npy(&bytes, &name, "(array)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_roundtrip_all_types() {
        let arrays = [
            NpyArray::f32(&[2, 3], vec![1.0, -2.5, 3.0, 4.0, 5.0, 6.0]),
            NpyArray::f64(&[3], vec![1e-300, 0.5, -7.0]),
            NpyArray::i64(&[2, 2], vec![-1, 0, 1, i64::MAX]),
            NpyArray::u32(&[1], vec![u32::MAX]),
            NpyArray::strings(vec!["pelvis".into(), "left_hip".into()]),
        ];
        for a in &arrays {
            let back = parse_npy(&write_npy(a), "mem", "k").unwrap();
            assert_eq!(&back, a);
        }
    }

    /// A version-1 `.npy` with this header dictionary and body.
    fn raw_npy(dict: &str, body: &[u8]) -> Vec<u8> {
        let mut header = dict.to_string();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn declared_shapes_that_overflow_are_errors_not_wraparound() {
        for (shape, descr) in [
            ("(4611686018427387905, 4, 3)", "<f4"),
            ("(18446744073709551615, 2)", "<f8"),
            ("(4611686018427387904,)", "<f4"),
            ("(2,)", "<U0"),
        ] {
            let dict =
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
            let err = parse_npy(&raw_npy(&dict, &[0u8; 48]), "big.npy", "k").unwrap_err();
            assert!(err.to_string().contains("big.npy"), "{shape}: {err}");
        }
    }

    #[test]
    fn fortran_order_is_transposed() {
        // 2x3 matrix [[0,1,2],[3,4,5]] stored column-major.
        let mut bytes = write_npy(&NpyArray::f64(&[2, 3], vec![0., 3., 1., 4., 2., 5.]));
        let at = bytes.windows(5).position(|w| w == b"False").unwrap();
        bytes[at..at + 5].copy_from_slice(b"True ");
        let a = parse_npy(&bytes, "mem", "k").unwrap();
        assert_eq!(a.data, NpyData::F64(vec![0., 1., 2., 3., 4., 5.]));
    }

    #[test]
    fn npz_stored_and_deflated_and_errors() {
        for compressed in [false, true] {
            let mut buf = Cursor::new(Vec::new());
            write_npz(
                &mut buf,
                &[("a", NpyArray::f32(&[2, 2], vec![1., 2., 3., 4.]))],
                compressed,
            )
            .unwrap();
            let mut npz = NpzArchive::from_bytes("m.npz", buf.into_inner()).unwrap();
            assert_eq!(npz.read_f32("a", &[Some(2), None]).unwrap().data.len(), 4);
            let err = npz
                .read_f32("a", &[Some(3), Some(2)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("m.npz") && err.contains("'a'") && err.contains("(3, 2)"),
                "{err}"
            );
            let err = npz.read_f32("b", &[]).unwrap_err().to_string();
            assert!(err.contains("missing key 'b'"), "{err}");
        }
        let err = NpzArchive::from_bytes("t.npz", b"PK\x03\x04trunc".to_vec())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("t.npz"), "{err}");
    }
}
