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

use std::collections::HashMap;

use crate::npz::{parse_npy, NpyArray, NpzError};

/// What a recognised global stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Callable {
    Reconstruct,
    Ndarray,
    Dtype,
    FromBuffer,
    CodecsEncode,
    /// `bytes()`: protocol 2's spelling of `b''`.
    EmptyBytes,
}

/// A NumPy dtype as pickled: kind (`i`, `u`, `f`, `b`), item size, byte order.
#[derive(Debug, Clone, PartialEq)]
struct Dtype {
    kind: char,
    size: usize,
    big_endian: bool,
}

/// A Python object. Containers hold indices into the reader's arena, so that
/// `BUILD` on a memoised object is seen through every reference to it.
#[derive(Debug, Clone)]
enum Obj {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<usize>),
    List(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    Global(Callable),
    Dtype(Dtype),
    /// `_reconstruct(ndarray, (0,), b'b')`, waiting for its `BUILD` state.
    EmptyArray,
    Array(NpyArray),
}

impl Obj {
    fn kind(&self) -> &'static str {
        match self {
            Obj::None => "None",
            Obj::Bool(_) => "bool",
            Obj::Int(_) => "int",
            Obj::Float(_) => "float",
            Obj::Str(_) => "str",
            Obj::Bytes(_) => "bytes",
            Obj::Tuple(_) => "tuple",
            Obj::List(_) => "list",
            Obj::Dict(_) => "dict",
            Obj::Global(_) => "global",
            Obj::Dtype(_) => "numpy dtype",
            Obj::EmptyArray => "unfinished numpy array",
            Obj::Array(_) => "numpy array",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Mark,
    Obj(usize),
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of the opcode being interpreted (for errors).
    at: usize,
    file: &'a str,
    arena: Vec<Obj>,
    stack: Vec<Slot>,
    memo: HashMap<u64, usize>,
}

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

/// Nesting beyond this is refused: a memoised list appended to itself
/// would otherwise recurse forever.
const MAX_DEPTH: usize = 64;

impl<'a> Reader<'a> {
    /// The arena object `i` as a [`PyValue`].
    fn value(&self, i: usize, depth: usize) -> Result<PyValue, NpzError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!(
                "objects nested deeper than {MAX_DEPTH} (or a self-referencing container)"
            )));
        }
        let all = |ids: &[usize]| -> Result<Vec<PyValue>, NpzError> {
            ids.iter().map(|&j| self.value(j, depth + 1)).collect()
        };
        Ok(match &self.arena[i] {
            Obj::None => PyValue::None,
            Obj::Bool(b) => PyValue::Bool(*b),
            Obj::Int(v) => PyValue::Int(*v),
            Obj::Float(v) => PyValue::Float(*v),
            Obj::Str(s) => PyValue::Str(s.clone()),
            Obj::Bytes(b) => PyValue::Bytes(b.clone()),
            Obj::Tuple(t) => PyValue::Tuple(all(t)?),
            Obj::List(l) => PyValue::List(all(l)?),
            Obj::Dict(d) => PyValue::Dict(
                d.iter()
                    .map(|&(k, v)| Ok((self.value(k, depth + 1)?, self.value(v, depth + 1)?)))
                    .collect::<Result<_, NpzError>>()?,
            ),
            Obj::Array(a) => PyValue::Array(a.clone()),
            other => {
                return Err(self.error(format!("a pickled {} is not plain data", other.kind())))
            }
        })
    }

    fn error(&self, reason: String) -> NpzError {
        NpzError::BadArray {
            file: self.file.to_string(),
            key: "(pickle)".into(),
            reason: format!("{reason} (at byte {})", self.at),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], NpzError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.error("truncated pickle".into()))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, NpzError> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64, NpzError> {
        let b = self.take(n)?;
        Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    fn len(&mut self, n: usize) -> Result<usize, NpzError> {
        let v = self.le(n)?;
        usize::try_from(v).map_err(|_| self.error(format!("length {v} too large")))
    }

    fn line(&mut self) -> Result<&'a str, NpzError> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.error("truncated pickle".into()))?;
        let text = std::str::from_utf8(&rest[..end])
            .map_err(|_| self.error("a global name is not text".into()))?;
        self.pos += end + 1;
        Ok(text)
    }

    fn push(&mut self, obj: Obj) {
        self.arena.push(obj);
        self.stack.push(Slot::Obj(self.arena.len() - 1));
    }

    fn pop(&mut self) -> Result<usize, NpzError> {
        match self.stack.pop() {
            Some(Slot::Obj(i)) => Ok(i),
            Some(Slot::Mark) => Err(self.error("unexpected mark on the stack".into())),
            None => Err(self.error("stack underflow".into())),
        }
    }

    fn top(&self) -> Result<usize, NpzError> {
        match self.stack.last() {
            Some(Slot::Obj(i)) => Ok(*i),
            _ => Err(self.error("stack underflow".into())),
        }
    }

    /// Pops everything down to the last mark.
    fn pop_mark(&mut self) -> Result<Vec<usize>, NpzError> {
        let mark = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or_else(|| self.error("no mark on the stack".into()))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        items
            .into_iter()
            .map(|s| match s {
                Slot::Obj(i) => Ok(i),
                Slot::Mark => Err(self.error("nested mark".into())),
            })
            .collect()
    }

    fn text(&mut self, n: usize) -> Result<Obj, NpzError> {
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(|s| Obj::Str(s.to_string()))
            .map_err(|_| self.error("invalid UTF-8 in a string".into()))
    }

    fn run(&mut self) -> Result<usize, NpzError> {
        if self.bytes.first() != Some(&0x80) {
            self.at = 0;
            return Err(self
                .error("not a pickle of protocol 2 to 5 (protocols 0 and 1 are not read)".into()));
        }
        loop {
            self.at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if !(2..=5).contains(&proto) {
                        return Err(
                            self.error(format!("pickle protocol {proto} is not read (2 to 5 are)"))
                        );
                    }
                }
                0x95 => {
                    self.take(8)?; // FRAME: only a length hint
                }
                b'.' => return self.pop(),
                b'(' => self.stack.push(Slot::Mark),
                b'}' => self.push(Obj::Dict(Vec::new())),
                b']' => self.push(Obj::List(Vec::new())),
                b')' => self.push(Obj::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                    items.reverse();
                    self.push(Obj::Tuple(items));
                }
                b'N' => self.push(Obj::None),
                b'G' => {
                    // BINFLOAT: big-endian IEEE double.
                    let b = self.take(8)?;
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(b);
                    self.push(Obj::Float(f64::from_be_bytes(raw)));
                }
                0x88 => self.push(Obj::Bool(true)),
                0x89 => self.push(Obj::Bool(false)),
                b'K' => {
                    let v = self.u8()?;
                    self.push(Obj::Int(v as i64));
                }
                b'M' => {
                    let v = self.le(2)?;
                    self.push(Obj::Int(v as i64));
                }
                b'J' => {
                    let v = self.le(4)? as u32 as i32;
                    self.push(Obj::Int(v as i64));
                }
                0x8a => {
                    // LONG1: little-endian two's complement of n <= 8 bytes.
                    let n = self.u8()? as usize;
                    if n > 8 {
                        return Err(self.error(format!("integer of {n} bytes is too large")));
                    }
                    let raw = self.le(n)?;
                    let v = if n == 0 {
                        0
                    } else {
                        let shift = 64 - 8 * n as u32;
                        ((raw << shift) as i64) >> shift
                    };
                    self.push(Obj::Int(v));
                }
                0x8c => {
                    let n = self.len(1)?;
                    let s = self.text(n)?;
                    self.push(s);
                }
                b'X' => {
                    let n = self.len(4)?;
                    let s = self.text(n)?;
                    self.push(s);
                }
                0x8d => {
                    let n = self.len(8)?;
                    let s = self.text(n)?;
                    self.push(s);
                }
                // Python 2 `str` (SHORT_BINSTRING, BINSTRING) is bytes.
                b'U' | b'C' => {
                    let n = self.len(1)?;
                    let b = self.take(n)?.to_vec();
                    self.push(Obj::Bytes(b));
                }
                b'T' | b'B' => {
                    let n = self.len(4)?;
                    let b = self.take(n)?.to_vec();
                    self.push(Obj::Bytes(b));
                }
                0x8e | 0x96 => {
                    let n = self.len(8)?;
                    let b = self.take(n)?.to_vec();
                    self.push(Obj::Bytes(b));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = self.global(module, name)?;
                    self.push(Obj::Global(g));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Obj::Str(module), Obj::Str(name)) =
                        (self.arena[module].clone(), self.arena[name].clone())
                    else {
                        return Err(self.error("STACK_GLOBAL needs two strings".into()));
                    };
                    let g = self.global(&module, &name)?;
                    self.push(Obj::Global(g));
                }
                0x94 => {
                    let top = self.top()?;
                    let key = self.memo.len() as u64;
                    self.memo.insert(key, top);
                }
                b'q' | b'r' => {
                    let key = self.le(if op == b'q' { 1 } else { 4 })?;
                    let top = self.top()?;
                    self.memo.insert(key, top);
                }
                b'h' | b'j' => {
                    let key = self.le(if op == b'h' { 1 } else { 4 })?;
                    let i = *self
                        .memo
                        .get(&key)
                        .ok_or_else(|| self.error(format!("memo entry {key} is not defined")))?;
                    self.stack.push(Slot::Obj(i));
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.dict_insert(vec![key, value])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.error("SETITEMS with an odd number of items".into()));
                    }
                    self.dict_insert(items)?;
                }
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop()?]
                    } else {
                        self.pop_mark()?
                    };
                    let list = self.top()?;
                    match &mut self.arena[list] {
                        Obj::List(l) => l.extend(items),
                        _ => {
                            return Err(self.error("APPEND to something that is not a list".into()))
                        }
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let obj = self.reduce(func, args)?;
                    self.push(obj);
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    self.build(target, state)?;
                }
                other => {
                    let shown = if other.is_ascii_graphic() {
                        format!(" ('{}')", other as char)
                    } else {
                        String::new()
                    };
                    return Err(self.error(format!(
                        "pickle opcode 0x{other:02x}{shown} is not supported (only dicts of numpy arrays are read)"
                    )));
                }
            }
        }
    }

    fn global(&self, module: &str, name: &str) -> Result<Callable, NpzError> {
        Ok(match (module, name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                Callable::Reconstruct
            }
            ("numpy", "ndarray") => Callable::Ndarray,
            ("numpy", "dtype") => Callable::Dtype,
            ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Callable::FromBuffer,
            ("_codecs", "encode") => Callable::CodecsEncode,
            ("builtins" | "__builtin__", "bytes") => Callable::EmptyBytes,
            _ => {
                return Err(self.error(format!(
                    "refusing the pickled global {module}.{name} (only numpy arrays are read)"
                )))
            }
        })
    }

    fn dict_insert(&mut self, items: Vec<usize>) -> Result<(), NpzError> {
        let dict = self.top()?;
        let pairs: Vec<(usize, usize)> = items.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        match &mut self.arena[dict] {
            Obj::Dict(d) => {
                d.extend(pairs);
                Ok(())
            }
            _ => Err(self.error("SETITEM on something that is not a dict".into())),
        }
    }

    fn tuple(&self, i: usize, what: &str) -> Result<Vec<usize>, NpzError> {
        match &self.arena[i] {
            Obj::Tuple(t) => Ok(t.clone()),
            other => Err(self.error(format!("{what}: a {}, expected a tuple", other.kind()))),
        }
    }

    fn shape(&self, i: usize) -> Result<Vec<usize>, NpzError> {
        self.tuple(i, "array shape")?
            .into_iter()
            .map(|d| match self.arena[d] {
                Obj::Int(v) if v >= 0 => Ok(v as usize),
                _ => Err(self.error("array shape holds something other than sizes".into())),
            })
            .collect()
    }

    fn reduce(&mut self, func: usize, args: usize) -> Result<Obj, NpzError> {
        let Obj::Global(callable) = self.arena[func] else {
            return Err(self.error(format!("cannot call a {}", self.arena[func].kind())));
        };
        let args = self.tuple(args, "call arguments")?;
        let arg = |k: usize| args.get(k).map(|&i| &self.arena[i]);
        match callable {
            Callable::Reconstruct => match arg(0) {
                Some(Obj::Global(Callable::Ndarray)) => Ok(Obj::EmptyArray),
                _ => Err(self.error("_reconstruct of something other than numpy.ndarray".into())),
            },
            Callable::Dtype => match arg(0) {
                Some(Obj::Str(code)) => self.dtype(code),
                Some(Obj::Bytes(code)) => {
                    let code = String::from_utf8_lossy(code).into_owned();
                    self.dtype(&code)
                }
                _ => Err(self.error("numpy.dtype without a type code".into())),
            },
            Callable::CodecsEncode => match (arg(0), arg(1)) {
                (Some(Obj::Str(text)), Some(Obj::Str(enc)))
                    if matches!(enc.as_str(), "latin1" | "latin-1") =>
                {
                    text.chars()
                        .map(|c| u8::try_from(c as u32).ok())
                        .collect::<Option<Vec<u8>>>()
                        .map(Obj::Bytes)
                        .ok_or_else(|| self.error("latin1 text outside 0..256".into()))
                }
                _ => Err(self.error("_codecs.encode other than (str, 'latin1')".into())),
            },
            Callable::FromBuffer => {
                let (Some(&data), Some(&dtype), Some(&shape)) =
                    (args.first(), args.get(1), args.get(2))
                else {
                    return Err(
                        self.error("_frombuffer needs (buffer, dtype, shape, order)".into())
                    );
                };
                let fortran = matches!(arg(3), Some(Obj::Str(o)) if o == "F");
                let shape = self.shape(shape)?;
                self.array(data, dtype, shape, fortran).map(Obj::Array)
            }
            Callable::EmptyBytes if args.is_empty() => Ok(Obj::Bytes(Vec::new())),
            Callable::EmptyBytes => Err(self.error("bytes(...) with arguments".into())),
            Callable::Ndarray => Err(self.error("direct numpy.ndarray construction".into())),
        }
    }

    fn dtype(&self, code: &str) -> Result<Obj, NpzError> {
        let (big_endian, code) = match code.as_bytes().first() {
            Some(b'>') => (true, &code[1..]),
            Some(b'<' | b'|' | b'=') => (false, &code[1..]),
            _ => (false, code),
        };
        let mut chars = code.chars();
        let kind = chars.next().unwrap_or('?');
        let size: usize = chars.as_str().parse().unwrap_or(0);
        let ok = match kind {
            'i' | 'u' => matches!(size, 1 | 2 | 4 | 8),
            'f' => matches!(size, 4 | 8),
            'b' => size == 1,
            _ => false,
        };
        if !ok {
            return Err(self.error(format!(
                "numpy dtype '{code}' is not read (integers, floats and bools are)"
            )));
        }
        Ok(Obj::Dtype(Dtype {
            kind,
            size,
            big_endian,
        }))
    }

    fn build(&mut self, target: usize, state: usize) -> Result<(), NpzError> {
        match self.arena[target] {
            Obj::Dtype(_) => {
                // (version, byteorder, subdescr, names, fields, elsize, alignment, flags[, metadata])
                let state = self.tuple(state, "dtype state")?;
                let order = state.get(1).map(|&i| &self.arena[i]);
                let big = match order {
                    Some(Obj::Str(o)) => o == ">",
                    Some(Obj::Bytes(o)) => o.as_slice() == b">",
                    _ => return Err(self.error("dtype state without a byte order".into())),
                };
                if let Obj::Dtype(d) = &mut self.arena[target] {
                    d.big_endian = big;
                }
                Ok(())
            }
            Obj::EmptyArray => {
                // ([version,] shape, dtype, is_fortran, raw data)
                let mut state = self.tuple(state, "array state")?;
                if state.len() == 5 {
                    state.remove(0);
                }
                let [shape, dtype, fortran, data] = state[..] else {
                    return Err(self.error(format!(
                        "array state of {} items, expected 4 or 5",
                        state.len()
                    )));
                };
                let fortran = match self.arena[fortran] {
                    Obj::Bool(b) => b,
                    Obj::Int(v) => v != 0,
                    _ => return Err(self.error("array order flag is not a bool".into())),
                };
                let shape = self.shape(shape)?;
                let array = self.array(data, dtype, shape, fortran)?;
                self.arena[target] = Obj::Array(array);
                Ok(())
            }
            ref other => Err(self.error(format!("cannot set the state of a {}", other.kind()))),
        }
    }

    /// Decodes raw bytes through the `.npy` parser, which already knows
    /// every dtype, byte order and Fortran layout we accept.
    fn array(
        &self,
        data: usize,
        dtype: usize,
        shape: Vec<usize>,
        fortran: bool,
    ) -> Result<NpyArray, NpzError> {
        let Obj::Dtype(d) = &self.arena[dtype] else {
            return Err(self.error("array without a numpy dtype".into()));
        };
        let Obj::Bytes(raw) = &self.arena[data] else {
            return Err(self.error(format!(
                "array data is a {}, expected bytes",
                self.arena[data].kind()
            )));
        };
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.error("array shape overflows".into()))?;
        if count.checked_mul(d.size) != Some(raw.len()) {
            return Err(self.error(format!(
                "array of shape {shape:?} and item size {} needs {} bytes, found {}",
                d.size,
                count.saturating_mul(d.size),
                raw.len()
            )));
        }
        // Widen the integer widths the .npy reader does not store.
        let (kind, size, big_endian, raw): (char, usize, bool, Vec<u8>) = match (d.kind, d.size) {
            ('i', 1) | ('i', 2) | ('u', 2) => {
                let widened: Vec<u8> = raw
                    .chunks_exact(d.size)
                    .flat_map(|c| {
                        let v: i32 = match (d.kind, c) {
                            ('i', [b]) => *b as i8 as i32,
                            (_, [a, b]) => {
                                let pair = if d.big_endian { [*b, *a] } else { [*a, *b] };
                                if d.kind == 'i' {
                                    i16::from_le_bytes(pair) as i32
                                } else {
                                    u16::from_le_bytes(pair) as i32
                                }
                            }
                            _ => 0,
                        };
                        v.to_le_bytes()
                    })
                    .collect();
                ('i', 4, false, widened)
            }
            _ => (d.kind, d.size, d.big_endian, raw.clone()),
        };
        let order = match (size, big_endian) {
            (1, _) => '|',
            (_, true) => '>',
            _ => '<',
        };
        // A version 1.0 .npy header in front of the raw bytes.
        let header = format!(
            "{{'descr': '{order}{kind}{size}', 'fortran_order': {}, 'shape': ({}), }}",
            if fortran { "True" } else { "False" },
            shape.iter().map(|d| format!("{d},")).collect::<String>()
        );
        let header_len = u16::try_from(header.len())
            .map_err(|_| self.error("array has too many dimensions".into()))?;
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&header_len.to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        npy.extend_from_slice(&raw);
        parse_npy(&npy, self.file, "(pickled array)")
    }
}

#[cfg(test)]
mod tests {
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
}
