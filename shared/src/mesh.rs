//! Triangle-mesh export: Wavefront OBJ and binary PLY, for any mesh viewer.

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
