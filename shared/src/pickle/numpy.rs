//! The recognised callables (NumPy's array and dtype reconstruction,
//! `_codecs.encode`, `bytes`) reproduced on plain data, arrays decoded
//! through the `.npy` parser.

use super::machine::{Callable, Dtype, Obj, Reader};
use crate::npz::{parse_npy, NpyArray, NpzError};

impl Reader<'_> {
    pub(super) fn reduce(&mut self, func: usize, args: usize) -> Result<Obj, NpzError> {
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

    pub(super) fn build(&mut self, target: usize, state: usize) -> Result<(), NpzError> {
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
