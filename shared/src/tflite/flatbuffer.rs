//! A bounds-checked reader for the parts of the FlatBuffers wire format that
//! a TFLite model uses: tables with vtables, scalars, strings, vectors of
//! scalars and vectors of tables. Every offset read from the file is checked
//! against the buffer, so a truncated or hostile file gives an error, never a
//! panic or an out-of-bounds read.
//!
//! Wire format (flatbuffers.dev, "FlatBuffers internals"): little-endian; the
//! buffer starts with a `u32` offset to the root table; a table starts with
//! an `i32` giving (table − vtable); a vtable is `u16` vtable size, `u16`
//! table size, then one `u16` field offset per field slot (0 = absent);
//! offset-typed fields hold a `u32` relative to the field's own position;
//! vectors and strings start with a `u32` element count.

/// Why the buffer could not be read (the model module adds the file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatError(pub String);

pub type Result<T> = std::result::Result<T, FlatError>;

fn err<T>(what: impl Into<String>) -> Result<T> {
    Err(FlatError(what.into()))
}

/// The whole file.
#[derive(Clone, Copy)]
pub struct Buffer<'a> {
    bytes: &'a [u8],
}

impl<'a> Buffer<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn slice(&self, at: usize, len: usize) -> Result<&'a [u8]> {
        at.checked_add(len)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| {
                FlatError(format!(
                    "offset {at} + {len} bytes is past the end of the {}-byte file",
                    self.bytes.len()
                ))
            })
    }

    fn u16(&self, at: usize) -> Result<u16> {
        let b = self.slice(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Result<u32> {
        let b = self.slice(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The root table, `identifier` checked when given (TFLite's is "TFL3").
    pub fn root(&self, identifier: Option<&[u8; 4]>) -> Result<Table<'a>> {
        if let Some(id) = identifier {
            if self.bytes.get(4..8) != Some(&id[..]) {
                return err(format!(
                    "file identifier is not '{}' (not this kind of file)",
                    String::from_utf8_lossy(id)
                ));
            }
        }
        let at = self.u32(0)? as usize;
        Table::at(*self, at)
    }

    /// Follows the `u32` offset stored at `at`.
    fn indirect(&self, at: usize) -> Result<usize> {
        let rel = self.u32(at)? as usize;
        at.checked_add(rel)
            .ok_or_else(|| FlatError(format!("offset at {at} overflows")))
    }
}

/// One table: its position and its vtable.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    buf: Buffer<'a>,
    at: usize,
    vtable: usize,
    vtable_len: u16,
}

impl<'a> Table<'a> {
    fn at(buf: Buffer<'a>, at: usize) -> Result<Self> {
        let b = buf.slice(at, 4)?;
        let soffset = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64;
        let vtable = at as i64 - soffset;
        if vtable < 0 {
            return err(format!("table at {at} points to a vtable before the file"));
        }
        let vtable = vtable as usize;
        let vtable_len = buf.u16(vtable)?;
        if vtable_len < 4 || vtable_len % 2 != 0 {
            return err(format!(
                "vtable at {vtable} has an invalid size {vtable_len}"
            ));
        }
        buf.slice(vtable, vtable_len as usize)?;
        Ok(Self {
            buf,
            at,
            vtable,
            vtable_len,
        })
    }

    /// Where field `slot` lives, `None` when absent.
    fn field(&self, slot: usize) -> Result<Option<usize>> {
        let entry = 4 + 2 * slot;
        if entry + 2 > self.vtable_len as usize {
            return Ok(None);
        }
        let rel = self.buf.u16(self.vtable + entry)? as usize;
        Ok((rel != 0).then_some(self.at + rel))
    }

    fn scalar<const N: usize>(&self, slot: usize) -> Result<Option<[u8; N]>> {
        match self.field(slot)? {
            None => Ok(None),
            Some(at) => {
                let b = self.buf.slice(at, N)?;
                let mut out = [0u8; N];
                out.copy_from_slice(b);
                Ok(Some(out))
            }
        }
    }

    pub fn u8(&self, slot: usize, default: u8) -> Result<u8> {
        Ok(self.scalar::<1>(slot)?.map_or(default, |b| b[0]))
    }

    pub fn i8(&self, slot: usize, default: i8) -> Result<i8> {
        Ok(self.scalar::<1>(slot)?.map_or(default, |b| b[0] as i8))
    }

    pub fn bool(&self, slot: usize) -> Result<bool> {
        Ok(self.u8(slot, 0)? != 0)
    }

    pub fn i32(&self, slot: usize, default: i32) -> Result<i32> {
        Ok(self.scalar::<4>(slot)?.map_or(default, i32::from_le_bytes))
    }

    pub fn u32(&self, slot: usize, default: u32) -> Result<u32> {
        Ok(self.scalar::<4>(slot)?.map_or(default, u32::from_le_bytes))
    }

    pub fn u64(&self, slot: usize, default: u64) -> Result<u64> {
        Ok(self.scalar::<8>(slot)?.map_or(default, u64::from_le_bytes))
    }

    /// A sub-table (or a union's value), `None` when absent.
    pub fn table(&self, slot: usize) -> Result<Option<Table<'a>>> {
        match self.field(slot)? {
            None => Ok(None),
            Some(at) => Ok(Some(Table::at(self.buf, self.buf.indirect(at)?)?)),
        }
    }

    /// A vector's element count and the position of its first element.
    fn vector(&self, slot: usize, elem: usize) -> Result<Option<(usize, usize)>> {
        match self.field(slot)? {
            None => Ok(None),
            Some(at) => {
                let start = self.buf.indirect(at)?;
                let len = self.buf.u32(start)? as usize;
                let bytes = len
                    .checked_mul(elem)
                    .ok_or_else(|| FlatError(format!("vector at {start} is too long")))?;
                self.buf.slice(start + 4, bytes)?;
                Ok(Some((len, start + 4)))
            }
        }
    }

    /// A `[ubyte]` vector as a slice of the file (empty when absent).
    pub fn bytes(&self, slot: usize) -> Result<&'a [u8]> {
        match self.vector(slot, 1)? {
            None => Ok(&[]),
            Some((len, at)) => self.buf.slice(at, len),
        }
    }

    pub fn string(&self, slot: usize) -> Result<String> {
        Ok(String::from_utf8_lossy(self.bytes(slot)?).into_owned())
    }

    /// An `[int]` vector (empty when absent).
    pub fn i32s(&self, slot: usize) -> Result<Vec<i32>> {
        Ok(self
            .bytes_of(slot, 4)?
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// A `[ushort]` vector (empty when absent).
    pub fn u16s(&self, slot: usize) -> Result<Vec<u16>> {
        Ok(self
            .bytes_of(slot, 2)?
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect())
    }

    fn bytes_of(&self, slot: usize, elem: usize) -> Result<&'a [u8]> {
        match self.vector(slot, elem)? {
            None => Ok(&[]),
            Some((len, at)) => self.buf.slice(at, len * elem),
        }
    }

    /// A vector of tables (empty when absent).
    pub fn tables(&self, slot: usize) -> Result<Vec<Table<'a>>> {
        let Some((len, at)) = self.vector(slot, 4)? else {
            return Ok(Vec::new());
        };
        (0..len)
            .map(|i| Table::at(self.buf, self.buf.indirect(at + 4 * i)?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-assembled buffer: root table with a u8 field (slot 0 = 7), an
    /// absent slot 1, an `[int]` (slot 2 = [3, -4]) and a string (slot 3).
    fn sample() -> Vec<u8> {
        let mut b = Vec::new();
        // Layout: root offset, identifier, vtable at 8 (12 bytes), table at 20.
        b.extend(20u32.to_le_bytes()); // 0: root → table at 20
        b.extend(b"TFL3"); // 4: identifier
        b.extend(12u16.to_le_bytes()); // vtable size
        b.extend(16u16.to_le_bytes()); // table size
        b.extend(12u16.to_le_bytes()); // slot 0 at table+12
        b.extend(0u16.to_le_bytes()); // slot 1 absent
        b.extend(4u16.to_le_bytes()); // slot 2 at table+4
        b.extend(8u16.to_le_bytes()); // slot 3 at table+8
        assert_eq!(b.len(), 20);
        b.extend(12i32.to_le_bytes()); // 20: table − vtable = 12
        b.extend(16u32.to_le_bytes()); // 24: vector at 24 + 16 = 40
        b.extend(28u32.to_le_bytes()); // 28: string at 28 + 28 = 56
        b.extend([7u8, 0, 0, 0]); // 32: slot 0 value
        b.extend([0u8; 4]); // 36: padding
        b.extend(2u32.to_le_bytes()); // 40: vector length
        b.extend(3i32.to_le_bytes());
        b.extend((-4i32).to_le_bytes()); // ends at 52
        b.extend([0u8; 4]); // 52
        b.extend(2u32.to_le_bytes()); // 56: string length
        b.extend(b"ok");
        b
    }

    #[test]
    fn reads_scalars_vectors_strings_and_defaults() {
        let bytes = sample();
        let root = Buffer::new(&bytes).root(Some(b"TFL3")).unwrap();
        assert_eq!(root.u8(0, 1).unwrap(), 7);
        assert_eq!(
            root.i32(1, 42).unwrap(),
            42,
            "absent field gives the default"
        );
        assert_eq!(root.i32s(2).unwrap(), vec![3, -4]);
        assert_eq!(root.string(3).unwrap(), "ok");
        assert_eq!(root.i32(9, 5).unwrap(), 5, "slot past the vtable is absent");
    }

    #[test]
    fn every_truncation_and_a_wrong_identifier_are_errors_not_panics() {
        let bytes = sample();
        assert!(Buffer::new(&bytes).root(Some(b"XXXX")).is_err());
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            let read = Buffer::new(cut).root(None).and_then(|t| {
                t.u8(0, 0)?;
                t.i32s(2)?;
                t.string(3)
            });
            assert!(read.is_err(), "truncated to {len} bytes was accepted");
        }
    }

    #[test]
    fn a_huge_vector_length_is_refused() {
        let mut bytes = sample();
        bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        let root = Buffer::new(&bytes).root(None).unwrap();
        assert!(root.i32s(2).is_err());
    }
}
