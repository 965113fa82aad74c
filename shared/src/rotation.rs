//! Rotation maths on any Burn backend: axis-angle ↔ matrix, 6D → matrix,
//! matrix → 6D. Batched over the first dimension, differentiable, and free of
//! NaN gradients at zero angle (the Taylor branch is taken there, and the
//! other branch is fed a harmless value so its backward pass stays finite).

use burn::tensor::{backend::Backend, Tensor};

/// Below this squared angle (rad²) the Taylor series are used; their error is
/// O(θ⁴/120) ≈ 1e-14 there, far below f32 resolution.
const SMALL_ANGLE_SQ: f64 = 1e-6;

/// Rodrigues' formula. `[N, 3]` axis-angle → `[N, 3, 3]` rotation matrices.
///
/// R = I + a·K + b·K², with K the cross-product matrix of the unnormalised
/// axis-angle vector, a = sin θ / θ and b = (1 − cos θ) / θ². Writing it with
/// K of the unnormalised vector needs no division by θ, so the formula is
/// exact at θ = 0 and near π alike.
pub fn axis_angle_to_matrix<B: Backend>(axis_angle: Tensor<B, 2>) -> Tensor<B, 3> {
    let n = axis_angle.dims()[0];
    let angle_sq = axis_angle.clone().square().sum_dim(1); // [N, 1]
    let small = angle_sq.clone().lower_elem(SMALL_ANGLE_SQ);
    let safe_sq = angle_sq.clone().mask_fill(small.clone(), 1.0);
    let angle = safe_sq.clone().sqrt();
    let a = (angle.clone().sin() / angle.clone()).mask_where(
        small.clone(),
        angle_sq.clone().div_scalar(-6.0).add_scalar(1.0),
    );
    let b = ((angle.cos().neg().add_scalar(1.0)) / safe_sq)
        .mask_where(small, angle_sq.clone().div_scalar(-24.0).add_scalar(0.5));

    let [x, y, z] = components(axis_angle);
    let ax = a.clone() * x.clone();
    let ay = a.clone() * y.clone();
    let az = a * z.clone();
    let bxy = b.clone() * x.clone() * y.clone();
    let bxz = b.clone() * x.clone() * z.clone();
    let byz = b.clone() * y.clone() * z.clone();
    let d = |c: Tensor<B, 2>| (b.clone() * (c.square() - angle_sq.clone())).add_scalar(1.0);
    let entries = vec![
        d(x),
        bxy.clone() - az.clone(),
        bxz.clone() + ay.clone(),
        bxy + az,
        d(y),
        byz.clone() - ax.clone(),
        bxz - ay,
        byz + ax,
        d(z),
    ];
    Tensor::cat(entries, 1).reshape([n, 3, 3])
}

/// `[N, 3, 3]` rotation matrices → `[N, 3]` axis-angle, angle in [0, π].
///
/// Goes through the quaternion, built from whichever of w, x, y, z is
/// largest (Shepperd's method), so it stays accurate near π where the
/// trace-based formula loses the axis.
pub fn matrix_to_axis_angle<B: Backend>(matrix: Tensor<B, 3>) -> Tensor<B, 2> {
    let n = matrix.dims()[0];
    let m = matrix.reshape([n, 9]);
    let e = |i: usize| m.clone().slice([0..n, i..i + 1]); // [N, 1]
    let (r00, r01, r02, r10, r11, r12, r20, r21, r22) =
        (e(0), e(1), e(2), e(3), e(4), e(5), e(6), e(7), e(8));
    // 4·q² for each quaternion component.
    let four_sq = [
        (r00.clone() + r11.clone() + r22.clone()).add_scalar(1.0),
        (r00.clone() - r11.clone() - r22.clone()).add_scalar(1.0),
        (r11.clone() - r00.clone() - r22.clone()).add_scalar(1.0),
        (r22.clone() - r00.clone() - r11.clone()).add_scalar(1.0),
    ];
    // 4·q_i·q_j products, from the matrix's (anti)symmetric parts.
    let wx = r21.clone() - r12.clone();
    let wy = r02.clone() - r20.clone();
    let wz = r10.clone() - r01.clone();
    let xy = r01 + r10;
    let xz = r02 + r20;
    let yz = r12 + r21;
    // Candidate quaternions (w, x, y, z) scaled by 4·q_k, one per pivot k.
    let candidates = [
        [four_sq[0].clone(), wx.clone(), wy.clone(), wz.clone()],
        [wx.clone(), four_sq[1].clone(), xy.clone(), xz.clone()],
        [wy.clone(), xy, four_sq[2].clone(), yz.clone()],
        [wz, xz, yz, four_sq[3].clone()],
    ];
    let pivot = Tensor::cat(four_sq.to_vec(), 1).argmax(1); // [N, 1]
    let mut quat: Option<Tensor<B, 2>> = None;
    for (k, candidate) in candidates.into_iter().enumerate() {
        let q = Tensor::cat(candidate.to_vec(), 1); // [N, 4]
        let norm = q.clone().square().sum_dim(1).clamp_min(1e-30).sqrt();
        let q = q / norm;
        let chosen = pivot.clone().equal_elem(k as i64).expand([n, 4]);
        quat = Some(match quat {
            None => q,
            Some(acc) => acc.mask_where(chosen, q),
        });
    }
    let quat = quat.unwrap_or_else(|| Tensor::zeros([n, 4], &m.device()));
    // q and −q are the same rotation: take w ≥ 0 so the angle is in [0, π].
    let w = quat.clone().slice([0..n, 0..1]);
    let sign = w.clone().sign().mask_fill(w.clone().equal_elem(0.0), 1.0);
    let quat = quat * sign;
    let w = quat.clone().slice([0..n, 0..1]);
    let v = quat.slice([0..n, 1..4]);
    let sin_half_sq = v.clone().square().sum_dim(1);
    let small = sin_half_sq.clone().lower_elem(SMALL_ANGLE_SQ);
    let sin_half = sin_half_sq.mask_fill(small.clone(), 1.0).sqrt();
    // angle / sin(angle/2) = 2·atan2(s, w) / s, which tends to 2/w as s → 0.
    let scale =
        (sin_half.clone().atan2(w.clone()) * 2.0 / sin_half).mask_where(small, w.recip() * 2.0);
    v * scale
}

/// The 6D representation of Zhou et al. (first two columns of the matrix,
/// read as a row-major 3×2 block, SPIN and ExPose's layout) → `[N, 3, 3]`,
/// by Gram–Schmidt; the third column is the cross product.
pub fn rot6d_to_matrix<B: Backend>(rot6d: Tensor<B, 2>) -> Tensor<B, 3> {
    let n = rot6d.dims()[0];
    let block = rot6d.reshape([n, 3, 2]);
    let a1 = block.clone().slice([0..n, 0..3, 0..1]).reshape([n, 3]);
    let a2 = block.slice([0..n, 0..3, 1..2]).reshape([n, 3]);
    let b1 = normalize(a1);
    let b2 = normalize(a2.clone() - b1.clone() * (b1.clone() * a2).sum_dim(1));
    let b3 = b1.clone().cross(b2.clone(), 1);
    Tensor::stack::<3>(vec![b1, b2, b3], 2)
}

/// `[N, 3, 3]` → `[N, 6]`, the inverse of [`rot6d_to_matrix`] on rotations.
pub fn matrix_to_rot6d<B: Backend>(matrix: Tensor<B, 3>) -> Tensor<B, 2> {
    let n = matrix.dims()[0];
    matrix.slice([0..n, 0..3, 0..2]).reshape([n, 6])
}

fn normalize<B: Backend>(v: Tensor<B, 2>) -> Tensor<B, 2> {
    let norm = v.clone().square().sum_dim(1).clamp_min(1e-16).sqrt();
    v / norm
}

fn components<B: Backend>(v: Tensor<B, 2>) -> [Tensor<B, 2>; 3] {
    let n = v.dims()[0];
    [
        v.clone().slice([0..n, 0..1]),
        v.clone().slice([0..n, 1..2]),
        v.slice([0..n, 2..3]),
    ]
}

/// Plain `f64` versions for host-side code (mannequin construction, tests,
/// converting results for output files).
pub mod host {
    pub type Mat3 = [[f64; 3]; 3];

    pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

    /// The transpose, which for a rotation is its inverse.
    pub fn transpose(m: &Mat3) -> Mat3 {
        [0, 1, 2].map(|r| [0, 1, 2].map(|c| m[c][r]))
    }

    /// Rotation matrices stored flat, row-major, 9 values each (what a
    /// network's readback holds) → axis-angles, 3 values each.
    pub fn flat_matrices_to_axis_angles(matrices: &[f32]) -> Vec<f32> {
        matrices
            .chunks_exact(9)
            .flat_map(|m| {
                let m = [0, 1, 2].map(|r| [0, 1, 2].map(|c| m[r * 3 + c] as f64));
                matrix_to_axis_angle(&m).map(|v| v as f32)
            })
            .collect()
    }

    /// Axis-angles, 3 values each → rotation matrices, row-major, flat.
    pub fn axis_angles_to_flat_matrices(axis_angles: &[f32]) -> Vec<[f32; 9]> {
        axis_angles
            .chunks_exact(3)
            .map(|r| {
                let m = axis_angle_to_matrix([r[0] as f64, r[1] as f64, r[2] as f64]);
                std::array::from_fn(|k| m[k / 3][k % 3] as f32)
            })
            .collect()
    }

    pub fn axis_angle_to_matrix(r: [f64; 3]) -> Mat3 {
        let t2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
        let (a, b) = if t2 < 1e-12 {
            (1.0 - t2 / 6.0, 0.5 - t2 / 24.0)
        } else {
            let t = t2.sqrt();
            (t.sin() / t, (1.0 - t.cos()) / t2)
        };
        let [x, y, z] = r;
        [
            [1.0 + b * (x * x - t2), b * x * y - a * z, b * x * z + a * y],
            [b * x * y + a * z, 1.0 + b * (y * y - t2), b * y * z - a * x],
            [b * x * z - a * y, b * y * z + a * x, 1.0 + b * (z * z - t2)],
        ]
    }

    /// Rotation matrix → axis-angle (angle in [0, π]), through a unit
    /// quaternion picked by Shepperd's rule so no branch divides by a small number.
    pub fn matrix_to_axis_angle(m: &Mat3) -> [f64; 3] {
        let trace = m[0][0] + m[1][1] + m[2][2];
        let q = if trace > m[0][0].max(m[1][1]).max(m[2][2]) {
            let s = (1.0 + trace).sqrt() * 2.0;
            [
                s / 4.0,
                (m[2][1] - m[1][2]) / s,
                (m[0][2] - m[2][0]) / s,
                (m[1][0] - m[0][1]) / s,
            ]
        } else if m[0][0] >= m[1][1] && m[0][0] >= m[2][2] {
            let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
            [
                (m[2][1] - m[1][2]) / s,
                s / 4.0,
                (m[0][1] + m[1][0]) / s,
                (m[0][2] + m[2][0]) / s,
            ]
        } else if m[1][1] >= m[2][2] {
            let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
            [
                (m[0][2] - m[2][0]) / s,
                (m[0][1] + m[1][0]) / s,
                s / 4.0,
                (m[1][2] + m[2][1]) / s,
            ]
        } else {
            let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
            [
                (m[1][0] - m[0][1]) / s,
                (m[0][2] + m[2][0]) / s,
                (m[1][2] + m[2][1]) / s,
                s / 4.0,
            ]
        };
        // Same rotation, w ≥ 0: angle in [0, π].
        let q = if q[0] < 0.0 { q.map(|v| -v) } else { q };
        let sin_half = (q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
        let scale = if sin_half < 1e-12 {
            2.0 / q[0]
        } else {
            2.0 * sin_half.atan2(q[0]) / sin_half
        };
        [q[1] * scale, q[2] * scale, q[3] * scale]
    }

    pub fn matmul(a: &Mat3, b: &Mat3) -> Mat3 {
        let mut c = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        c
    }

    pub fn apply(m: &Mat3, v: [f64; 3]) -> [f64; 3] {
        [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
    }

    pub fn determinant(m: &Mat3) -> f64 {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    }

    /// `m·x = b` by Cramer's rule; `None` when the determinant is not finite
    /// or below 1e-30 in magnitude (callers that need a scale-aware test
    /// check [`determinant`] first).
    pub fn solve3(m: &Mat3, b: [f64; 3]) -> Option<[f64; 3]> {
        let d = determinant(m);
        if !d.is_finite() || d.abs() < 1e-30 {
            return None;
        }
        Some([0, 1, 2].map(|c| {
            let mut mc = *m;
            for (row, &v) in mc.iter_mut().zip(&b) {
                row[c] = v;
            }
            determinant(&mc) / d
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    type B = Flex;

    fn tensor2(rows: &[[f32; 3]]) -> Tensor<B, 2> {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::<B, 1>::from_floats(flat.as_slice(), &Default::default()).reshape([rows.len(), 3])
    }

    fn to_vec<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    #[test]
    fn rodrigues_matches_host_f64() {
        let cases = [
            [0.0, 0.0, 0.0],
            [1e-5, -2e-5, 3e-6],
            [0.3, -0.2, 0.9],
            [std::f32::consts::PI - 1e-4, 0.0, 0.0],
            [0.0, -std::f32::consts::PI, 0.0],
            [1.5, 1.5, -1.5],
        ];
        let got = to_vec(axis_angle_to_matrix(tensor2(&cases)));
        for (i, c) in cases.iter().enumerate() {
            let want = host::axis_angle_to_matrix(c.map(|x| x as f64));
            for r in 0..3 {
                for k in 0..3 {
                    let g = got[i * 9 + r * 3 + k] as f64;
                    assert!(
                        (g - want[r][k]).abs() < 2e-6,
                        "case {i} ({r},{k}): {g} vs {}",
                        want[r][k]
                    );
                }
            }
        }
    }

    #[test]
    fn axis_angle_roundtrip_including_pi_and_zero() {
        let pi = std::f32::consts::PI;
        let cases = [
            [0.0, 0.0, 0.0],
            [2e-4, 0.0, -1e-4],
            [0.3, -0.2, 0.9],
            [pi - 1e-3, 0.0, 0.0],
            [0.0, 0.0, pi - 1e-3],
            [(pi - 1e-3) / 2f32.sqrt(), -(pi - 1e-3) / 2f32.sqrt(), 0.0],
            [-1.0, 2.0, 0.5],
        ];
        let back = to_vec(matrix_to_axis_angle(axis_angle_to_matrix(tensor2(&cases))));
        for (i, c) in cases.iter().enumerate() {
            for k in 0..3 {
                assert!(
                    (back[i * 3 + k] - c[k]).abs() < 1e-4,
                    "case {i}: {:?} vs {c:?}",
                    &back[i * 3..i * 3 + 3]
                );
            }
        }
    }

    #[test]
    fn rot6d_roundtrip_and_orthonormal() {
        let r = axis_angle_to_matrix(tensor2(&[[0.3, -0.2, 0.9], [2.0, 0.1, -0.4]]));
        let back = rot6d_to_matrix(matrix_to_rot6d(r.clone()));
        let (a, b) = (to_vec(r), to_vec(back));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5));
        // An arbitrary 6D vector gives a proper rotation.
        let m = to_vec(rot6d_to_matrix(
            Tensor::<B, 1>::from_floats([1.0, 0.3, 0.2, 2.0, -0.5, 0.1], &Default::default())
                .reshape([1, 6]),
        ));
        let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
            + m[2] * (m[3] * m[7] - m[4] * m[6]);
        assert!((det - 1.0).abs() < 1e-5, "det {det}");
    }

    #[test]
    fn gradient_is_finite_at_zero_angle() {
        type A = Autodiff<B>;
        let x = Tensor::<A, 2>::zeros([2, 3], &Default::default()).require_grad();
        let loss = axis_angle_to_matrix(x.clone()).sum();
        let grads = loss.backward();
        let g = x.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
        // d(sum R)/dr at 0: the off-diagonal a·K terms give ±1 per component.
        assert!(g.iter().all(|v| v.abs() < 1e-5), "{g:?}");
    }

    #[test]
    fn flat_matrices_round_trip_through_axis_angles() {
        let aa = [0.3f32, -0.2, 0.1, 0.0, 0.0, 0.0, 1.0, 2.0, -0.5];
        let m = host::axis_angles_to_flat_matrices(&aa);
        assert_eq!(m.len(), 3);
        let back = host::flat_matrices_to_axis_angles(m.as_flattened());
        for (a, b) in aa.iter().zip(&back) {
            assert!((a - b).abs() < 1e-5, "{aa:?} vs {back:?}");
        }
    }

    #[test]
    fn host_matrix_to_axis_angle_inverts_rodrigues() {
        for r in [
            [0.0, 0.0, 0.0],
            [0.3, -0.2, 0.1],
            [0.0, 3.1, 0.2],
            [1.0, 1.0, -1.0],
            [0.0, 0.0, std::f64::consts::PI - 1e-4],
        ] {
            let back = host::matrix_to_axis_angle(&host::axis_angle_to_matrix(r));
            for i in 0..3 {
                assert!((back[i] - r[i]).abs() < 1e-9, "{r:?} -> {back:?}");
            }
        }
    }
}
