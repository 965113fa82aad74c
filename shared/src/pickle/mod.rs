//! A safe reader for the one kind of Python pickle the project meets: a dict
//! of NumPy arrays, as `pickle.dump({'left_hand': np.array(…), …}, f)` writes
//! it (protocols 2–5, from Python 3 or Python 2). The official
//! `MANO_SMPLX_vertex_ids.pkl` is such a file.
//!
//! Nothing is executed. The reader interprets the opcodes that stream uses and
//! recognises six callables by name — `numpy(._core|.core).multiarray._reconstruct`,
//! `numpy.ndarray`, `numpy.dtype`, `numpy(._core|.core).numeric._frombuffer`
//! (protocol 5), and `_codecs.encode` and argument-less `bytes` (how protocol 2
//! stores `bytes`) — whose effect it reproduces on plain data. Any other global, opcode or shape of
//! data is an error naming the file and the byte offset.

mod machine;
mod numpy;

use std::collections::HashMap;

use crate::npz::{NpyArray, NpzError};
use machine::{Obj, Reader};

/// Reads a pickle file holding a dict of NumPy arrays; entries in file order.
pub fn read_pickle_file(path: &std::path::Path) -> Result<Vec<(String, NpyArray)>, NpzError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| NpzError::Io {
        file: name.clone(),
        reason: e.to_string(),
    })?;
    read_pickled_arrays(&bytes, &name)
}

/// Interprets `bytes` (named `file` in errors) as a pickled dict of str →
/// NumPy array; entries in file order.
pub fn read_pickled_arrays(bytes: &[u8], file: &str) -> Result<Vec<(String, NpyArray)>, NpzError> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        at: 0,
        file,
        arena: Vec::new(),
        stack: Vec::new(),
        memo: HashMap::new(),
    };
    let top = reader.run()?;
    let Obj::Dict(items) = &reader.arena[top] else {
        return Err(reader.error(format!(
            "the pickled object is a {}, expected a dict of numpy arrays",
            reader.arena[top].kind()
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for &(k, v) in items {
        let key = match &reader.arena[k] {
            Obj::Str(s) => s.clone(),
            // Python 2 `str` keys arrive as bytes.
            Obj::Bytes(b) => String::from_utf8(b.clone())
                .map_err(|_| reader.error("a dict key is not text".into()))?,
            other => {
                return Err(reader.error(format!("a dict key is a {}, expected str", other.kind())))
            }
        };
        match &reader.arena[v] {
            Obj::Array(a) => out.push((key, a.clone())),
            other => {
                return Err(NpzError::BadArray {
                    file: file.to_string(),
                    key,
                    reason: format!("is a pickled {}, expected a numpy array", other.kind()),
                })
            }
        }
    }
    Ok(out)
}

/// Any pickled value built from plain data and NumPy arrays: what the
/// 3DPW sequence files hold (a dict of lists of arrays, strings, numbers).
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text; Python 2 `str` arrives as bytes and is decoded as latin1, as
    /// `pickle.load(f, encoding='latin1')` does.
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<PyValue>),
    Tuple(Vec<PyValue>),
    /// Entries in file order.
    Dict(Vec<(PyValue, PyValue)>),
    Array(NpyArray),
}

impl PyValue {
    /// What the value is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            PyValue::None => "None",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::Bytes(_) => "bytes",
            PyValue::List(_) => "list",
            PyValue::Tuple(_) => "tuple",
            PyValue::Dict(_) => "dict",
            PyValue::Array(_) => "numpy array",
        }
    }

    /// Text of a `str`, or of Python 2 `str` bytes read as latin1.
    pub fn as_text(&self) -> Option<String> {
        match self {
            PyValue::Str(s) => Some(s.clone()),
            PyValue::Bytes(b) => Some(b.iter().map(|&c| c as char).collect()),
            _ => None,
        }
    }

    /// The value under a text key of a dict.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Dict(items) => items
                .iter()
                .find(|(k, _)| k.as_text().as_deref() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Items of a list or tuple.
    pub fn items(&self) -> Option<&[PyValue]> {
        match self {
            PyValue::List(v) | PyValue::Tuple(v) => Some(v),
            _ => None,
        }
    }
}

/// Reads any pickle of plain data and NumPy arrays (see [`PyValue`]).
pub fn read_pickle_value_file(path: &std::path::Path) -> Result<PyValue, NpzError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| NpzError::Io {
        file: name.clone(),
        reason: e.to_string(),
    })?;
    read_pickle_value(&bytes, &name)
}

/// Interprets `bytes` (named `file` in errors) as a pickle of plain data
/// and NumPy arrays.
pub fn read_pickle_value(bytes: &[u8], file: &str) -> Result<PyValue, NpzError> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        at: 0,
        file,
        arena: Vec::new(),
        stack: Vec::new(),
        memo: HashMap::new(),
    };
    let top = reader.run()?;
    reader.value(top, 0)
}

#[cfg(test)]
mod tests;
