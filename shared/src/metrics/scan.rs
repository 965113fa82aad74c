//! NoW-style scan-to-mesh distance: each scan point to the nearest point on
//! the mesh's triangles, optionally after a landmark alignment.

use nalgebra::Vector3;

use super::{check_finite, similarity_transform, vec3, MetricsError, Point, Result};

/// Scan-to-mesh distances (NoW): for every scan point, the distance to the
/// nearest point on the mesh's triangles.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanToMesh {
    pub distances: Vec<f64>,
    pub mean: f64,
    /// Middle value (mean of the two middle ones for an even count).
    pub median: f64,
    /// Population standard deviation.
    pub std: f64,
}

/// Closest point to `p` on triangle `abc` (Ericson, Real-Time Collision
/// Detection §5.1.5); triangles without area fall back to their edges.
fn closest_on_triangle(
    p: Vector3<f64>,
    a: Vector3<f64>,
    b: Vector3<f64>,
    c: Vector3<f64>,
) -> Vector3<f64> {
    let (ab, ac) = (b - a, c - a);
    let scale = ab.norm_squared().max(ac.norm_squared());
    if ab.cross(&ac).norm_squared() <= 1e-24 * scale * scale {
        return [(a, b), (b, c), (c, a)]
            .into_iter()
            .map(|(s, e)| closest_on_segment(p, s, e))
            .min_by(|x, y| (x - p).norm_squared().total_cmp(&(y - p).norm_squared()))
            .unwrap_or(a);
    }
    let ap = p - a;
    let (d1, d2) = (ab.dot(&ap), ac.dot(&ap));
    if d1 <= 0.0 && d2 <= 0.0 {
        return a;
    }
    let bp = p - b;
    let (d3, d4) = (ab.dot(&bp), ac.dot(&bp));
    if d3 >= 0.0 && d4 <= d3 {
        return b;
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        return a + ab * (d1 / (d1 - d3));
    }
    let cp = p - c;
    let (d5, d6) = (ab.dot(&cp), ac.dot(&cp));
    if d6 >= 0.0 && d5 <= d6 {
        return c;
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        return a + ac * (d2 / (d2 - d6));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && d4 - d3 >= 0.0 && d5 - d6 >= 0.0 {
        return b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6)));
    }
    let denom = va + vb + vc;
    a + ab * (vb / denom) + ac * (vc / denom)
}

fn closest_on_segment(p: Vector3<f64>, s: Vector3<f64>, e: Vector3<f64>) -> Vector3<f64> {
    let d = e - s;
    let len2 = d.norm_squared();
    if len2 == 0.0 {
        return s;
    }
    s + d * ((p - s).dot(&d) / len2).clamp(0.0, 1.0)
}

/// NoW-style scan-to-mesh distance. With `landmarks = Some((on_mesh,
/// on_scan))` the mesh is first moved by the similarity taking its landmarks
/// onto the scan's (corresponding points); otherwise it is used as is.
/// Brute force over triangles, skipping those whose bounding box is farther
/// than the best distance so far.
pub fn scan_to_mesh(
    scan: &[Point],
    vertices: &[Point],
    faces: &[[u32; 3]],
    landmarks: Option<(&[Point], &[Point])>,
) -> Result<ScanToMesh> {
    if scan.is_empty() || faces.is_empty() {
        return Err(MetricsError::Empty);
    }
    check_finite(scan, "scan")?;
    check_finite(vertices, "mesh")?;
    if let Some(bad) = faces
        .iter()
        .flatten()
        .find(|&&i| i as usize >= vertices.len())
    {
        return Err(MetricsError::Invalid(format!(
            "face index {bad} outside 0..{}",
            vertices.len()
        )));
    }
    let moved;
    let vertices = match landmarks {
        Some((on_mesh, on_scan)) => {
            moved = similarity_transform(on_mesh, on_scan)?.apply_all(vertices);
            &moved
        }
        None => vertices,
    };
    let triangles: Vec<[Vector3<f64>; 3]> = faces
        .iter()
        .map(|f| f.map(|i| vec3(&vertices[i as usize])))
        .collect();
    let boxes: Vec<(Vector3<f64>, Vector3<f64>)> = triangles
        .iter()
        .map(|[a, b, c]| (a.inf(b).inf(c), a.sup(b).sup(c)))
        .collect();
    let distances: Vec<f64> = scan
        .iter()
        .map(|p| {
            let p = vec3(p);
            let mut best = f64::INFINITY;
            for ([a, b, c], (lo, hi)) in triangles.iter().zip(&boxes) {
                let outside = (lo - p).sup(&(p - hi)).sup(&Vector3::zeros());
                if outside.norm_squared() >= best {
                    continue;
                }
                best = best.min((closest_on_triangle(p, *a, *b, *c) - p).norm_squared());
            }
            best.sqrt()
        })
        .collect();
    let n = distances.len() as f64;
    let mean = distances.iter().sum::<f64>() / n;
    let std = (distances.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut sorted = distances.clone();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        0.5 * (sorted[mid - 1] + sorted[mid])
    };
    Ok(ScanToMesh {
        distances,
        mean,
        median,
        std,
    })
}
