//! Triangle meshes: normals; OBJ and PLY export for any mesh viewer (glTF with a
//! skeleton: [`crate::glb`]); and the readers the benchmarks need (EHF's
//! `*_align.ply`, NoW's `.obj` scans): OBJ, ASCII and binary PLY; polygons are
//! split into fans.

use std::io::Write;
use std::path::Path;

/// Writes vertices `[V][3]` and triangles as OBJ text.
pub fn write_obj<W: Write>(
    w: &mut W,
    vertices: &[[f32; 3]],
    faces: &[[u32; 3]],
) -> std::io::Result<()> {
    for v in vertices {
        writeln!(w, "v {} {} {}", v[0], v[1], v[2])?;
    }
    for f in faces {
        // OBJ indices are 1-based.
        writeln!(w, "f {} {} {}", f[0] + 1, f[1] + 1, f[2] + 1)?;
    }
    Ok(())
}

/// Writes a binary little-endian PLY.
pub fn write_ply<W: Write>(
    w: &mut W,
    vertices: &[[f32; 3]],
    faces: &[[u32; 3]],
) -> std::io::Result<()> {
    write!(
        w,
        "ply\nformat binary_little_endian 1.0\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
        vertices.len(),
        faces.len()
    )?;
    for v in vertices {
        for c in v {
            w.write_all(&c.to_le_bytes())?;
        }
    }
    for f in faces {
        w.write_all(&[3u8])?;
        for i in f {
            w.write_all(&(*i as i32).to_le_bytes())?;
        }
    }
    Ok(())
}

/// Writes OBJ or PLY by the file's extension, atomically.
pub fn save_mesh(path: &Path, vertices: &[[f32; 3]], faces: &[[u32; 3]]) -> std::io::Result<()> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "obj" => crate::io::write_atomic(path, |w| write_obj(w, vertices, faces)),
        "ply" => crate::io::write_atomic(path, |w| write_ply(w, vertices, faces)),
        _ => Err(std::io::Error::other(format!(
            "{}: unknown mesh format (expected .obj or .ply)",
            path.display()
        ))),
    }
}

/// A mesh read from a file: vertices `[V][3]` and triangles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mesh {
    pub vertices: Vec<[f64; 3]>,
    pub faces: Vec<[u32; 3]>,
}

/// An unreadable mesh file: which file, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct MeshError {
    pub file: String,
    pub reason: String,
}

/// Reads OBJ or PLY by extension.
pub fn read_mesh(path: &Path) -> Result<Mesh, MeshError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| MeshError {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let result = match ext.as_str() {
        "obj" => parse_obj(&String::from_utf8_lossy(&bytes)),
        "ply" => parse_ply(&bytes),
        _ => Err("unknown mesh format (expected .obj or .ply)".to_string()),
    };
    result.map_err(|reason| MeshError { file, reason })
}

/// Fan-triangulates a polygon.
fn fan(poly: &[u32], faces: &mut Vec<[u32; 3]>) {
    for k in 1..poly.len().saturating_sub(1) {
        faces.push([poly[0], poly[k], poly[k + 1]]);
    }
}

/// OBJ text: `v x y z [colour]`, `f i[/t[/n]] …` (1-based or negative
/// indices). Other statements are ignored.
pub fn parse_obj(text: &str) -> Result<Mesh, String> {
    let mut mesh = Mesh::default();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("v") => {
                let xyz: Vec<f64> = words.take(3).map_while(|w| w.parse().ok()).collect();
                if xyz.len() != 3 || xyz.iter().any(|v| !v.is_finite()) {
                    return Err(format!("line {}: 'v' needs three finite numbers", n + 1));
                }
                mesh.vertices.push([xyz[0], xyz[1], xyz[2]]);
            }
            Some("f") => {
                let count = mesh.vertices.len() as i64;
                let poly = words
                    .map(|w| {
                        let i: i64 = w
                            .split('/')
                            .next()
                            .unwrap_or("")
                            .parse()
                            .map_err(|_| format!("line {}: bad face index '{w}'", n + 1))?;
                        let i = if i < 0 { count + i } else { i - 1 };
                        if i < 0 || i >= count {
                            return Err(format!(
                                "line {}: face index {w} outside the {count} vertices read so far",
                                n + 1
                            ));
                        }
                        Ok(i as u32)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                fan(&poly, &mut mesh.faces);
            }
            _ => {}
        }
    }
    if mesh.vertices.is_empty() {
        return Err("no vertices ('v' lines)".into());
    }
    Ok(mesh)
}

/// A PLY scalar type.
#[derive(Debug, Clone, Copy)]
enum PlyType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl PlyType {
    fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "char" | "int8" => Self::I8,
            "uchar" | "uint8" => Self::U8,
            "short" | "int16" => Self::I16,
            "ushort" | "uint16" => Self::U16,
            "int" | "int32" => Self::I32,
            "uint" | "uint32" => Self::U32,
            "float" | "float32" => Self::F32,
            "double" | "float64" => Self::F64,
            other => return Err(format!("unknown PLY property type '{other}'")),
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    fn read(self, b: &[u8], big: bool) -> f64 {
        macro_rules! num {
            ($t:ty, $n:expr) => {{
                let mut raw = [0u8; $n];
                raw.copy_from_slice(&b[..$n]);
                if big {
                    <$t>::from_be_bytes(raw) as f64
                } else {
                    <$t>::from_le_bytes(raw) as f64
                }
            }};
        }
        match self {
            Self::I8 => b[0] as i8 as f64,
            Self::U8 => b[0] as f64,
            Self::I16 => num!(i16, 2),
            Self::U16 => num!(u16, 2),
            Self::I32 => num!(i32, 4),
            Self::U32 => num!(u32, 4),
            Self::F32 => num!(f32, 4),
            Self::F64 => num!(f64, 8),
        }
    }
}

/// A PLY property: a scalar, or a list (count type, item type).
#[derive(Debug, Clone)]
struct PlyProperty {
    name: String,
    scalar: PlyType,
    list: Option<PlyType>,
}

#[derive(Debug, Clone)]
struct PlyElement {
    name: String,
    count: usize,
    properties: Vec<PlyProperty>,
}

/// PLY: `ascii`, `binary_little_endian` or `binary_big_endian`; the
/// `vertex` element's x, y, z (any other properties skipped) and the
/// `face` element's index list (`vertex_indices` or `vertex_index`).
pub fn parse_ply(bytes: &[u8]) -> Result<Mesh, String> {
    let header_end = bytes
        .windows(11)
        .position(|w| w == b"end_header\n")
        .map(|p| p + 11)
        .or_else(|| {
            bytes
                .windows(12)
                .position(|w| w == b"end_header\r\n")
                .map(|p| p + 12)
        })
        .ok_or("no 'end_header' line (not a PLY file?)")?;
    let header = String::from_utf8_lossy(&bytes[..header_end]);
    let mut lines = header.lines();
    if lines.next().map(str::trim) != Some("ply") {
        return Err("does not start with 'ply'".into());
    }
    let mut format = None;
    let mut elements: Vec<PlyElement> = Vec::new();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["format", f, _] => format = Some(f.to_string()),
            ["element", name, count] => elements.push(PlyElement {
                name: name.to_string(),
                count: count
                    .parse()
                    .map_err(|_| format!("bad element count '{count}'"))?,
                properties: Vec::new(),
            }),
            ["property", "list", count, item, name] => elements
                .last_mut()
                .ok_or("a property before any element")?
                .properties
                .push(PlyProperty {
                    name: name.to_string(),
                    scalar: PlyType::parse(item)?,
                    list: Some(PlyType::parse(count)?),
                }),
            ["property", ty, name] => elements
                .last_mut()
                .ok_or("a property before any element")?
                .properties
                .push(PlyProperty {
                    name: name.to_string(),
                    scalar: PlyType::parse(ty)?,
                    list: None,
                }),
            _ => {}
        }
    }
    let format = format.ok_or("no 'format' line")?;
    let body = &bytes[header_end..];
    let mut values = match format.as_str() {
        "ascii" => PlyValues::Ascii(
            std::str::from_utf8(body)
                .map_err(|_| "ASCII PLY body is not text")?
                .split_whitespace(),
        ),
        "binary_little_endian" => PlyValues::Binary {
            bytes: body,
            pos: 0,
            big: false,
        },
        "binary_big_endian" => PlyValues::Binary {
            bytes: body,
            pos: 0,
            big: true,
        },
        other => return Err(format!("unknown PLY format '{other}'")),
    };
    let mut mesh = Mesh::default();
    let mut saw_vertex = false;
    for element in &elements {
        let is_vertex = element.name == "vertex";
        let is_face = element.name == "face";
        if is_vertex {
            saw_vertex = true;
            for axis in ["x", "y", "z"] {
                if !element.properties.iter().any(|p| p.name == axis) {
                    return Err(format!("the vertex element has no '{axis}' property"));
                }
            }
        }
        for row in 0..element.count {
            let mut xyz = [0.0; 3];
            for p in &element.properties {
                let what = || format!("{} {row}, property '{}'", element.name, p.name);
                match p.list {
                    None => {
                        let v = values
                            .next(p.scalar)
                            .ok_or_else(|| format!("file ends inside {}", what()))?;
                        if is_vertex {
                            match p.name.as_str() {
                                "x" => xyz[0] = v,
                                "y" => xyz[1] = v,
                                "z" => xyz[2] = v,
                                _ => {}
                            }
                        }
                    }
                    Some(count_type) => {
                        let n = values
                            .next(count_type)
                            .ok_or_else(|| format!("file ends inside {}", what()))?;
                        // The declared length is not trusted (a corrupt
                        // file can claim 1e19 entries): the list grows as
                        // its values are actually read.
                        if !(n.is_finite() && n >= 0.0) {
                            return Err(format!("bad list length {n} in {}", what()));
                        }
                        let n = n as usize;
                        let mut poly = Vec::with_capacity(n.min(64));
                        for _ in 0..n {
                            let v = values
                                .next(p.scalar)
                                .ok_or_else(|| format!("file ends inside {}", what()))?;
                            poly.push(v);
                        }
                        if is_face && matches!(p.name.as_str(), "vertex_indices" | "vertex_index") {
                            let ids = poly
                                .iter()
                                .map(|&v| {
                                    (v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64)
                                        .then_some(v as u32)
                                        .ok_or_else(|| format!("{}: bad index {v}", what()))
                                })
                                .collect::<Result<Vec<u32>, String>>()?;
                            fan(&ids, &mut mesh.faces);
                        }
                    }
                }
            }
            if is_vertex {
                if xyz.iter().any(|v| !v.is_finite()) {
                    return Err(format!("vertex {row} is not finite: {xyz:?}"));
                }
                mesh.vertices.push(xyz);
            }
        }
    }
    if !saw_vertex {
        return Err("no 'vertex' element".into());
    }
    let n = mesh.vertices.len();
    if let Some(bad) = mesh.faces.iter().flatten().find(|&&i| i as usize >= n) {
        return Err(format!("face index {bad} outside the {n} vertices"));
    }
    Ok(mesh)
}

/// The body of a PLY file, read value by value.
enum PlyValues<'a> {
    Ascii(std::str::SplitWhitespace<'a>),
    Binary {
        bytes: &'a [u8],
        pos: usize,
        big: bool,
    },
}

impl PlyValues<'_> {
    fn next(&mut self, ty: PlyType) -> Option<f64> {
        match self {
            PlyValues::Ascii(words) => words.next()?.parse().ok(),
            PlyValues::Binary { bytes, pos, big } => {
                let end = *pos + ty.size();
                let raw = bytes.get(*pos..end)?;
                *pos = end;
                Some(ty.read(raw, *big))
            }
        }
    }
}

/// Area-weighted vertex normals of a triangle mesh (unit length; zero for
/// vertices no triangle uses).
pub fn vertex_normals(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Vec<[f32; 3]> {
    let mut acc = vec![[0f32; 3]; positions.len()];
    for t in triangles {
        let [a, b, c] = t.map(|i| positions.get(i as usize).copied().unwrap_or_default());
        let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        for &i in t {
            if let Some(dst) = acc.get_mut(i as usize) {
                (0..3).for_each(|k| dst[k] += n[k]);
            }
        }
    }
    for n in &mut acc {
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if len > 0.0 {
            n.iter_mut().for_each(|x| *x /= len);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes_and_other_plys() {
        let vertices = [[0.0f32, 1.0, 2.0], [3.0, 4.5, -5.0], [0.25, 0.5, 0.75]];
        let faces = [[0u32, 1, 2]];
        let mut bytes = Vec::new();
        write_ply(&mut bytes, &vertices, &faces).unwrap();
        let mesh = parse_ply(&bytes).unwrap();
        assert_eq!(mesh.faces, faces);
        assert_eq!(mesh.vertices[1], [3.0, 4.5, -5.0]);
        let mut text = Vec::new();
        write_obj(&mut text, &vertices, &faces).unwrap();
        let obj = parse_obj(&String::from_utf8(text).unwrap()).unwrap();
        assert_eq!(obj, mesh);

        // ASCII with extra properties, a quad and a second list property.
        let ascii = "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\n\
            property float z\nproperty uchar red\nelement face 1\nproperty list uchar int vertex_indices\n\
            property list uchar float texcoord\nend_header\n0 0 0 9\n1 0 0 9\n1 1 0 9\n0 1 0 9\n4 0 1 2 3 2 0.5 0.5\n";
        let mesh = parse_ply(ascii.as_bytes()).unwrap();
        assert_eq!(mesh.vertices.len(), 4);
        assert_eq!(mesh.faces, vec![[0, 1, 2], [0, 2, 3]]);

        // Errors say what is wrong.
        let err = parse_ply(&bytes[..bytes.len() - 3]).unwrap_err();
        assert!(err.contains("file ends inside face 0"), "{err}");
        let err = parse_ply(
            b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n",
        )
        .unwrap_err();
        assert!(err.contains("no 'y'"), "{err}");
        let err = parse_obj("v 0 0 0\nf 1 2 3\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("outside"), "{err}");
        let obj = parse_obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3/1/1 -2/2/2 -1/3/3\n").unwrap();
        assert_eq!(obj.faces, vec![[0, 1, 2]]);
    }
}
