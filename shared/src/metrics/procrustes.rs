//! Alignment: Umeyama's similarity transform (the module doc's formula and
//! degenerate cases), the nearest rotation, and the 3×3 one-sided Jacobi SVD
//! both rest on.

use nalgebra::{Matrix3, Vector3};

use super::{centroid, check_pair, vec3, Point, Result};

/// Relative spread under which a prediction counts as a single point.
pub const DEGENERATE_SPREAD: f64 = 1e-12;

/// `x ↦ scale · rotation · x + translation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub scale: f64,
    /// Row-major rotation matrix (determinant +1).
    pub rotation: [[f64; 3]; 3],
    pub translation: Point,
}

impl Similarity {
    pub fn identity() -> Self {
        Self {
            scale: 1.0,
            rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            translation: [0.0; 3],
        }
    }

    pub fn apply(&self, p: &Point) -> Point {
        let r = &self.rotation;
        let mut out = self.translation;
        for (i, o) in out.iter_mut().enumerate() {
            *o += self.scale * (r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2]);
        }
        out
    }

    pub fn apply_all(&self, points: &[Point]) -> Vec<Point> {
        points.iter().map(|p| self.apply(p)).collect()
    }
}

/// `m = U diag(s) Vᵀ` by one-sided Jacobi rotations: the columns of `m V`
/// are made pairwise orthogonal; their norms are the singular values. `V` is
/// a product of rotations (det +1); `U` is completed to an orthonormal basis
/// where singular values vanish. Singular values are not sorted.
pub(super) fn svd3(m: &Matrix3<f64>) -> (Matrix3<f64>, Vector3<f64>, Matrix3<f64>) {
    let mut w = *m;
    let mut v = Matrix3::<f64>::identity();
    for _sweep in 0..60 {
        let mut rotated = false;
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            let alpha = w.column(p).norm_squared();
            let beta = w.column(q).norm_squared();
            let gamma = w.column(p).dot(&w.column(q));
            if gamma == 0.0 || gamma.abs() <= f64::EPSILON * (alpha * beta).sqrt() {
                continue;
            }
            rotated = true;
            let zeta = (beta - alpha) / (2.0 * gamma);
            let t = if zeta.abs() > 1e150 {
                0.5 / zeta
            } else {
                zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt())
            };
            let c = 1.0 / (1.0 + t * t).sqrt();
            let s = c * t;
            for mat in [&mut w, &mut v] {
                for r in 0..3 {
                    let (a, b) = (mat[(r, p)], mat[(r, q)]);
                    mat[(r, p)] = c * a - s * b;
                    mat[(r, q)] = s * a + c * b;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let sigma = Vector3::new(w.column(0).norm(), w.column(1).norm(), w.column(2).norm());
    // Columns of U in decreasing singular value, re-orthogonalised; a column
    // whose singular value vanished is completed from the others.
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| sigma[b].total_cmp(&sigma[a]));
    let mut u = Matrix3::<f64>::zeros();
    for (k, &i) in order.iter().enumerate() {
        let mut col = if sigma[i] > 0.0 {
            w.column(i) / sigma[i]
        } else {
            Vector3::zeros()
        };
        for &j in &order[..k] {
            let uj = u.column(j).into_owned();
            col -= uj * uj.dot(&col);
        }
        let norm = col.norm();
        col = if norm > 0.5 {
            col / norm
        } else {
            match k {
                0 => Vector3::x(),
                1 => {
                    let u0 = u.column(order[0]).into_owned();
                    // The axis least aligned with u0, made orthogonal to it.
                    let axis = match u0.iamin() {
                        0 => Vector3::x(),
                        1 => Vector3::y(),
                        _ => Vector3::z(),
                    };
                    (axis - u0 * u0.dot(&axis)).normalize()
                }
                _ => u.column(order[0]).cross(&u.column(order[1])),
            }
        };
        u.set_column(i, &col);
    }
    (u, sigma, v)
}

/// The rotation nearest to `m` in Frobenius norm (`U diag(1, 1, ±1) Vᵀ`,
/// the sign keeping det +1), through [`svd3`].
pub fn nearest_rotation(m: &Matrix3<f64>) -> Matrix3<f64> {
    let (u, sigma, v) = svd3(m);
    let mut d = Vector3::new(1.0, 1.0, 1.0);
    if u.determinant() * v.determinant() < 0.0 {
        d[sigma.imin()] = -1.0;
    }
    u * Matrix3::from_diagonal(&d) * v.transpose()
}

/// The least-squares similarity taking `pred` onto `gt` (see the module
/// documentation for the formula and the degenerate cases).
pub fn similarity_transform(pred: &[Point], gt: &[Point]) -> Result<Similarity> {
    check_pair(pred, gt)?;
    let n = pred.len() as f64;
    let (mu_p, mu_g) = (centroid(pred), centroid(gt));
    let var_p = pred
        .iter()
        .map(|p| (vec3(p) - mu_p).norm_squared())
        .sum::<f64>()
        / n;
    let max_abs = pred.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
    if var_p.sqrt() <= DEGENERATE_SPREAD * max_abs {
        return Ok(Similarity {
            scale: 0.0,
            translation: [mu_g.x, mu_g.y, mu_g.z],
            ..Similarity::identity()
        });
    }
    let mut cov = Matrix3::<f64>::zeros();
    for (p, g) in pred.iter().zip(gt) {
        cov += (vec3(g) - mu_g) * (vec3(p) - mu_p).transpose();
    }
    cov /= n;
    let (u, sigma, v) = svd3(&cov);
    let mut d = Vector3::new(1.0, 1.0, 1.0);
    if u.determinant() * v.determinant() < 0.0 {
        d[sigma.imin()] = -1.0;
    }
    let r = u * Matrix3::from_diagonal(&d) * v.transpose();
    let scale = sigma.dot(&d) / var_p;
    let t = mu_g - scale * r * mu_p;
    Ok(Similarity {
        scale,
        rotation: [
            [r[(0, 0)], r[(0, 1)], r[(0, 2)]],
            [r[(1, 0)], r[(1, 1)], r[(1, 2)]],
            [r[(2, 0)], r[(2, 1)], r[(2, 2)]],
        ],
        translation: [t.x, t.y, t.z],
    })
}

/// `pred` after the similarity that best aligns it with `gt`.
pub fn similarity_procrustes(pred: &[Point], gt: &[Point]) -> Result<Vec<Point>> {
    Ok(similarity_transform(pred, gt)?.apply_all(pred))
}
