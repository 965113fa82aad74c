//! Triangle meshes on the host: normals, and export as Wavefront OBJ and
//! binary PLY for any mesh viewer (glTF with a skeleton: [`crate::glb`]).

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
