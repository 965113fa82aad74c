//! The pickle stream interpreted: the objects it builds (in an arena), the
//! stack and memo, and the opcodes of protocols 2–5; no code is ever run.

use std::collections::HashMap;

use super::PyValue;
use crate::npz::{NpyArray, NpzError};

/// What a recognised global stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Callable {
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
pub(super) struct Dtype {
    pub(super) kind: char,
    pub(super) size: usize,
    pub(super) big_endian: bool,
}

/// A Python object. Containers hold indices into the reader's arena, so that
/// `BUILD` on a memoised object is seen through every reference to it.
#[derive(Debug, Clone)]
pub(super) enum Obj {
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
    pub(super) fn kind(&self) -> &'static str {
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
pub(super) enum Slot {
    Mark,
    Obj(usize),
}

pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    /// Offset of the opcode being interpreted (for errors).
    pub(super) at: usize,
    pub(super) file: &'a str,
    pub(super) arena: Vec<Obj>,
    pub(super) stack: Vec<Slot>,
    pub(super) memo: HashMap<u64, usize>,
}

/// Nesting beyond this is refused: a memoised list appended to itself
/// would otherwise recurse forever.
const MAX_DEPTH: usize = 64;

impl<'a> Reader<'a> {
    /// The arena object `i` as a [`PyValue`].
    pub(super) fn value(&self, i: usize, depth: usize) -> Result<PyValue, NpzError> {
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

    pub(super) fn error(&self, reason: String) -> NpzError {
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

    pub(super) fn run(&mut self) -> Result<usize, NpzError> {
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

    pub(super) fn tuple(&self, i: usize, what: &str) -> Result<Vec<usize>, NpzError> {
        match &self.arena[i] {
            Obj::Tuple(t) => Ok(t.clone()),
            other => Err(self.error(format!("{what}: a {}, expected a tuple", other.kind()))),
        }
    }

    pub(super) fn shape(&self, i: usize) -> Result<Vec<usize>, NpzError> {
        self.tuple(i, "array shape")?
            .into_iter()
            .map(|d| match self.arena[d] {
                Obj::Int(v) if v >= 0 => Ok(v as usize),
                _ => Err(self.error("array shape holds something other than sizes".into())),
            })
            .collect()
    }
}
