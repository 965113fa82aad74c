//! Supervising and scoring the part experts on data with exact ground truth
//! (the synthetic world): the targets each expert learns (in its own
//! conventions), the training loss, the held-out errors against the
//! mean-parameter baseline, and the error of finished pseudo labels.
//!
//! Conventions (reference/furpe-method.md, "Expert conventions"):
//! - body (SPIN): 24 SMPL rotations = SMPL-X global orientation in the camera
//!   frame (x right, y down, z forward) + 21 body joints + identity for SMPL's
//!   two hand joints; β: the synthetic world's SMPL-X β stands in for SPIN's
//!   SMPL β (our bodies are SMPL-X, there is no SMPL fit to take one from);
//!   the weak-perspective camera (s, tx, ty) fitted to the ground-truth
//!   joints' projection in the body crop.
//! - face (DECA): jaw (`pose[3..6]`) and the first 10 expression coefficients;
//!   DECA's other codes are left unsupervised.
//! - hand (FrankMocap): wrist = the hand's global rotation in the camera
//!   frame, 15 finger rotations relative to the SMPL-X hand mean; left hands
//!   are mirrored into right hands; camera and β unsupervised.
//!
//! Loss: MSE between rotation matrices plus MSE on the other values, except
//! the face expert's expression, which is scored by what it does to the mesh
//! ([`ExpressionGeometry`]).

use burn::tensor::{backend::Backend, Tensor, TensorData};
use nalgebra::Matrix3;
use serde::{Deserialize, Serialize};

use crate::camera::PinholeCamera;
use crate::nets::{ExpertPrediction, Part};
use crate::rotation::host::{axis_angle_to_matrix, matmul, Mat3, IDENTITY};
use crate::smplx::joints::PARENTS;
use crate::smplx::SmplxData;

/// What an expert should predict for one crop (or what it did predict).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpertTarget {
    /// Row-major rotation matrices, [`Part::num_rotations`] of them.
    pub rotations: Vec<[f32; 9]>,
    /// [`Part::num_rest`] values.
    pub rest: Vec<f32>,
}

fn flat(m: &Mat3) -> [f32; 9] {
    let mut out = [0.0f32; 9];
    for i in 0..3 {
        for j in 0..3 {
            out[i * 3 + j] = m[i][j] as f32;
        }
    }
    out
}

fn aa(v: &[f32]) -> Mat3 {
    axis_angle_to_matrix([v[0] as f64, v[1] as f64, v[2] as f64])
}

/// The face expert's expression error measured on the face, not on the
/// coefficients: for a coefficient error `d`, `dᵀ·G·d` is the mean squared
/// displacement (m²) of the vertices the expression moves, with
/// `G = EᵀE / n` over those `n` vertices' directions `E` (`[3n, 10]`).
/// Coefficients differ a lot in what they do (a jaw drop moves the chin by
/// a centimetre per unit, a sneer a few millimetres of upper lip), so plain
/// MSE rewards guessing the invisible ones as much as the visible ones;
/// DECA, too, is judged by geometry (NoW), never by its codes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressionGeometry {
    /// `[10, 10]`, row-major.
    gram: Vec<f64>,
}

impl ExpressionGeometry {
    pub const SIZE: usize = 10;

    /// From the model's first 10 expression directions; `None` when the
    /// model has none (or they move nothing).
    pub fn new(model: &SmplxData) -> Option<Self> {
        let k = Self::SIZE;
        if model.num_expression_space() < k {
            return None;
        }
        let (s, offset) = (model.num_shapedirs, model.expression_offset());
        let mut gram = vec![0f64; k * k];
        let mut moved = 0usize;
        for row in model.shapedirs.chunks_exact(3 * s) {
            let dirs: Vec<[f64; 3]> = (0..k)
                .map(|e| [0, 1, 2].map(|c| row[c * s + offset + e] as f64))
                .collect();
            if dirs.iter().all(|d| d.iter().all(|&x| x == 0.0)) {
                continue;
            }
            moved += 1;
            for a in 0..k {
                for b in 0..k {
                    gram[a * k + b] += (0..3).map(|c| dirs[a][c] * dirs[b][c]).sum::<f64>();
                }
            }
        }
        if moved == 0 {
            return None;
        }
        gram.iter_mut().for_each(|g| *g /= moved as f64);
        Some(Self { gram })
    }

    /// RMS displacement (millimetres) of the moved vertices for the
    /// coefficient error `d` (`[10]`).
    pub fn rms_mm(&self, d: &[f64]) -> f64 {
        1000.0 * self.mean_square(d).max(0.0).sqrt()
    }

    fn mean_square(&self, d: &[f64]) -> f64 {
        let k = Self::SIZE;
        (0..k)
            .map(|a| {
                (0..k)
                    .map(|b| d[a] * self.gram[a * k + b] * d[b])
                    .sum::<f64>()
            })
            .sum()
    }

    /// `G` as a `[10, 10]` tensor.
    fn tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2> {
        let g: Vec<f32> = self.gram.iter().map(|&x| x as f32).collect();
        Tensor::from_data(
            TensorData::new(g, [Self::SIZE, Self::SIZE]).convert::<B::FloatElem>(),
            device,
        )
    }
}

/// The global orientation as the camera sees it: `R_camera · R_global`.
pub fn camera_frame_orientation(camera: &PinholeCamera, global_orient: &[f32]) -> Mat3 {
    matmul(&camera.rotation, &aa(global_orient))
}

/// Global rotation of skeleton joint `joint` (0..=21) given the root's global
/// rotation and the 21 body rotations (axis-angle, `[63]`).
pub fn joint_global_rotation(root: &Mat3, body_pose: &[f32], joint: usize) -> Mat3 {
    let mut chain = Vec::new();
    let mut j = joint;
    while j != 0 {
        chain.push(j);
        j = PARENTS[j].max(0) as usize;
    }
    let mut r = *root;
    for &j in chain.iter().rev() {
        r = matmul(&r, &aa(&body_pose[(j - 1) * 3..j * 3]));
    }
    r
}

/// SMPL-X joints as the camera sees them. `joints`: the ground-truth body
/// posed with zero translation (world frame; the root joint j0 stays where
/// the rest pose has it). Returns (a) the joints of the same body with its
/// camera-frame orientation `R_c · R` and zero translation, `R_c·(J − j0) + j0`
/// (what a regressor's weak-perspective camera projects), and (b) their pixel
/// positions through the pinhole camera with the body translated by `transl`
/// (`None` behind the camera).
pub fn camera_view(
    joints: &[[f32; 3]],
    camera: &PinholeCamera,
    transl: &[f32],
) -> (Vec<[f32; 3]>, Vec<Option<[f32; 2]>>) {
    let apply = |p: [f64; 3]| crate::rotation::host::apply(&camera.rotation, p);
    let j0 = joints.first().copied().unwrap_or([0.0; 3]).map(f64::from);
    let t = [0, 1, 2].map(|k| transl.get(k).copied().unwrap_or(0.0) as f64);
    let mut rel = Vec::with_capacity(joints.len());
    let mut pixels = Vec::with_capacity(joints.len());
    for p in joints {
        let p = p.map(f64::from);
        let r = apply([p[0] - j0[0], p[1] - j0[1], p[2] - j0[2]]);
        rel.push([0, 1, 2].map(|k| (r[k] + j0[k]) as f32));
        let c = camera.to_camera([p[0] + t[0], p[1] + t[1], p[2] + t[2]]);
        pixels.push((c[2] > 1e-6).then(|| {
            [
                (camera.focal[0] * c[0] / c[2] + camera.center[0]) as f32,
                (camera.focal[1] * c[1] / c[2] + camera.center[1]) as f32,
            ]
        }));
    }
    (rel, pixels)
}

/// Least-squares weak-perspective camera (s, tx, ty) with
/// `uv ≈ s · (xy + t)`; `None` with fewer than 2 points or a degenerate fit.
pub fn fit_weak_perspective(xy: &[[f32; 2]], uv: &[[f32; 2]]) -> Option<[f32; 3]> {
    let n = xy.len().min(uv.len());
    if n < 2 {
        return None;
    }
    // Linear in (s, a, b) with a = s·tx, b = s·ty: u = s·x + a, v = s·y + b.
    let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
    let (mx, my) = (mean(&|i| xy[i][0] as f64), mean(&|i| xy[i][1] as f64));
    let (mu, mv) = (mean(&|i| uv[i][0] as f64), mean(&|i| uv[i][1] as f64));
    let mut num = 0.0;
    let mut den = 0.0;
    for i in 0..n {
        let (dx, dy) = (xy[i][0] as f64 - mx, xy[i][1] as f64 - my);
        num += dx * (uv[i][0] as f64 - mu) + dy * (uv[i][1] as f64 - mv);
        den += dx * dx + dy * dy;
    }
    if den < 1e-12 {
        return None;
    }
    let s = num / den;
    if s.is_nan() || s <= 1e-6 {
        return None;
    }
    let (a, b) = (mu - s * mx, mv - s * my);
    Some([s as f32, (a / s) as f32, (b / s) as f32])
}

/// The rotation of the camera frame seen through a crop turned by
/// `rotation` ([`crate::crop::CropTransform::rotation`]): crop coordinates
/// are `(c·x − s·y, s·x + c·y)` of the image's, so a body's camera-frame
/// orientation `R` appears as `Q·R` with Q this rotation about the optical
/// axis.
pub fn in_plane_rotation(rotation: f32) -> Mat3 {
    let (s, c) = (rotation as f64).sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

/// The body expert's target: camera-frame global orientation, 21 body
/// rotations (`[63]` axis-angle), SMPL's hand joints at identity, β (the
/// SMPL-X β standing in for SMPL's), the fitted weak-perspective camera.
pub fn body_target(
    global: &Mat3,
    body_pose: &[f32],
    betas: &[f32],
    camera: [f32; 3],
) -> ExpertTarget {
    let mut rotations = vec![flat(global)];
    rotations.extend((0..21).map(|j| flat(&aa(&body_pose[j * 3..j * 3 + 3]))));
    rotations.extend([flat(&IDENTITY), flat(&IDENTITY)]);
    let mut rest: Vec<f32> = (0..10)
        .map(|i| betas.get(i).copied().unwrap_or(0.0))
        .collect();
    rest.extend(camera);
    ExpertTarget { rotations, rest }
}

/// The face expert's target: jaw (`[3]` axis-angle) and 10 expression coefficients.
pub fn face_target(jaw: &[f32], expression: &[f32]) -> ExpertTarget {
    ExpertTarget {
        rotations: vec![flat(&aa(jaw))],
        rest: (0..10)
            .map(|i| expression.get(i).copied().unwrap_or(0.0))
            .collect(),
    }
}

/// The hand expert's target for one crop: wrist (global, camera frame) and 15
/// finger rotations relative to the SMPL-X hand mean (`[45]`). A left hand's
/// crop is mirrored, so its target is mirrored too: `M·R·M` with
/// M = diag(−1, 1, 1), i.e. axis-angle y and z negated.
pub fn hand_target(wrist: &Mat3, fingers: &[f32], mirrored: bool) -> ExpertTarget {
    let s = if mirrored { [-1.0, 1.0, 1.0] } else { [1.0; 3] };
    let mirror = |m: &Mat3| -> Mat3 {
        let mut o = *m;
        for (i, row) in o.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v *= s[i] * s[j];
            }
        }
        o
    };
    let mut rotations = vec![flat(&mirror(wrist))];
    rotations.extend((0..15).map(|j| flat(&mirror(&aa(&fingers[j * 3..j * 3 + 3])))));
    ExpertTarget {
        rotations,
        rest: vec![],
    }
}

/// Stacks targets into tensors: rotations `[N, R, 3, 3]`, rest `[N, K]` (`None` when K = 0).
pub fn target_tensors<B: Backend>(
    targets: &[&ExpertTarget],
    device: &B::Device,
) -> (Tensor<B, 4>, Option<Tensor<B, 2>>) {
    let n = targets.len();
    let r = targets.first().map(|t| t.rotations.len()).unwrap_or(0);
    let k = targets.first().map(|t| t.rest.len()).unwrap_or(0);
    let rot: Vec<f32> = targets
        .iter()
        .flat_map(|t| t.rotations.iter().flatten().copied())
        .collect();
    let rotations = Tensor::from_data(
        TensorData::new(rot, [n, r, 3, 3]).convert::<B::FloatElem>(),
        device,
    );
    let rest = (k > 0).then(|| {
        let v: Vec<f32> = targets
            .iter()
            .flat_map(|t| t.rest.iter().copied())
            .collect();
        Tensor::from_data(TensorData::new(v, [n, k]).convert::<B::FloatElem>(), device)
    });
    (rotations, rest)
}

/// The groups the loss is taken over, in [`expert_loss`]'s order: the
/// reported rotation groups, the rotations outside them (SPIN's SMPL hand
/// joints) as one more group when there are any, then the other values'
/// groups. `(rotations?, range)`.
fn loss_groups(part: Part) -> Vec<(bool, std::ops::Range<usize>)> {
    let mut groups: Vec<(bool, std::ops::Range<usize>)> = part
        .rotation_groups()
        .into_iter()
        .map(|(_, r)| (true, r))
        .collect();
    let covered = groups.iter().map(|(_, g)| g.end).max().unwrap_or(0);
    if covered < part.num_rotations() {
        groups.push((true, covered..part.num_rotations()));
    }
    groups.extend(part.rest_groups().into_iter().map(|(_, r)| (false, r)));
    groups
}

/// Per-group loss weights for [`expert_loss`]: one over the mean-parameter
/// baseline's loss on `targets` (the groups' spread about `mean`), so every
/// group starts at 1 however large its values are. Unweighted, the body
/// loss is mostly β (mean square ≈ 1, and all but invisible in a crop
/// normalised to the body's extent) while the 21 body rotations weigh ≈ 0.03:
/// the network then memorises β and never learns the pose. A group without
/// spread (SPIN's hand joints, always identity) keeps weight 1.
pub fn loss_weights(
    part: Part,
    targets: &[ExpertTarget],
    mean: &ExpertTarget,
    geometry: Option<&ExpressionGeometry>,
) -> Vec<f32> {
    let n = targets.len().max(1) as f64;
    loss_groups(part)
        .into_iter()
        .map(|(rotations, range)| {
            let mut sum = 0.0;
            if let Some(g) = geometry.filter(|_| part == Part::Face && !rotations) {
                for t in targets {
                    let d: Vec<f64> = range
                        .clone()
                        .map(|k| t.rest[k] as f64 - mean.rest[k] as f64)
                        .collect();
                    sum += g.mean_square(&d);
                }
                let spread = sum / n;
                return if spread > 1e-12 {
                    (1.0 / spread) as f32
                } else {
                    1.0
                };
            }
            for t in targets {
                for k in range.clone() {
                    sum += if rotations {
                        (0..9)
                            .map(|e| {
                                (t.rotations[k][e] as f64 - mean.rotations[k][e] as f64).powi(2)
                            })
                            .sum::<f64>()
                            / 9.0
                    } else {
                        (t.rest[k] as f64 - mean.rest[k] as f64).powi(2)
                    };
                }
            }
            let spread = sum / (n * range.len().max(1) as f64);
            if spread > 1e-8 {
                (1.0 / spread) as f32
            } else {
                1.0
            }
        })
        .collect()
}

/// MSE between rotation matrices plus MSE on the other supervised values,
/// per group (the reported [`Part::rotation_groups`] and
/// [`Part::rest_groups`], SPIN's hand joints as one more), each times its
/// weight ([`loss_weights`]; all 1 for the plain sum) and summed: a plain
/// mean over all values would give SPIN's global orientation 1/24 of the
/// rotation term. With `geometry`, the face's expression term is the mean
/// squared vertex displacement of the coefficient error.
pub fn expert_loss<B: Backend>(
    part: Part,
    prediction: &ExpertPrediction<B>,
    rotations: Tensor<B, 4>,
    rest: Option<Tensor<B, 2>>,
    weights: &[f32],
    geometry: Option<&ExpressionGeometry>,
) -> Tensor<B, 1> {
    let batch = rotations.dims()[0];
    let rot_diff = (prediction.rotations.clone() - rotations).square(); // [batch, R, 3, 3]
    let rest_diff = match (&prediction.rest, rest) {
        (Some(p), Some(t)) => {
            let d = p.clone() - t; // [batch, K]
            match geometry.filter(|_| part == Part::Face) {
                // dᵀ·G·d per row, spread over its K columns so `mean` below gives it.
                Some(g) => {
                    let k = d.dims()[1];
                    let gd = d.clone().matmul(g.tensor::<B>(&d.device()));
                    Some((gd * d).mul_scalar(k as f64))
                }
                None => Some(d.square()),
            }
        }
        _ => None,
    };
    let mut loss = Tensor::<B, 1>::zeros([1], &rot_diff.device());
    for (g, (is_rotation, range)) in loss_groups(part).into_iter().enumerate() {
        let w = weights.get(g).copied().unwrap_or(1.0);
        let term = if is_rotation {
            rot_diff.clone().slice([0..batch, range]).mean()
        } else if let Some(d) = &rest_diff {
            d.clone().slice([0..batch, range]).mean()
        } else {
            continue;
        };
        loss = loss + term.mul_scalar(w).reshape([1]);
    }
    loss
}

/// The expert's 22 SMPL-X body joints `[batch, 22, 3]`, camera frame, zero
/// translation (as [`camera_view`]'s): posed from its global orientation,
/// 21 body rotations and β, the rest of the body at rest. `None` for the
/// parts without a body (`rest` absent).
fn predicted_body_joints<B: Backend>(
    prediction: &ExpertPrediction<B>,
    layer: &crate::smplx::Smplx<B>,
) -> Option<Tensor<B, 3>> {
    use crate::smplx::joints::NUM_JOINTS;
    let [batch, _, _, _] = prediction.rotations.dims();
    let device = prediction.rotations.device();
    let rest = prediction.rest.as_ref()?;
    let identity = Tensor::<B, 2>::eye(3, &device)
        .reshape([1, 1, 3, 3])
        .expand([batch, NUM_JOINTS - BODY_JOINTS, 3, 3]);
    let rotations = Tensor::cat(
        vec![
            prediction
                .rotations
                .clone()
                .slice([0..batch, 0..BODY_JOINTS]),
            identity,
        ],
        1,
    ); // [batch, 55, 3, 3]
    let betas = rest.clone().slice([0..batch, 0..10]);
    let shape = Tensor::cat(
        vec![
            betas.slice([0..batch, 0..layer.config.num_betas.min(10)]),
            Tensor::zeros([batch, layer.config.num_expression], &device),
        ],
        1,
    );
    Some(
        layer
            .posed_joints(shape, rotations)
            .slice([0..batch, 0..BODY_JOINTS]),
    )
}

/// The body expert's joints: the pelvis and the 21 joints of the body pose.
pub const BODY_JOINTS: usize = 22;

/// SPIN's 2D keypoint term for the body expert: its body joints
/// ([`predicted_body_joints`]) through its weak-perspective camera
/// `(s, tx, ty)`, `u = s·(x + tx)`, against the true joints in crop
/// coordinates (`keypoints` `[batch, 22, 3]`: u, v, weight); the weighted
/// mean squared distance. Rotation targets alone barely teach a small
/// network the pose (a twist the image cannot show costs as much as a bent
/// elbow); where the joints land in the crop is what the pixels do show.
pub fn body_keypoint_loss<B: Backend>(
    prediction: &ExpertPrediction<B>,
    layer: &crate::smplx::Smplx<B>,
    keypoints: Tensor<B, 3>,
) -> Tensor<B, 1> {
    let device = prediction.rotations.device();
    let (Some(joints), Some(rest)) = (
        predicted_body_joints(prediction, layer),
        prediction.rest.as_ref(),
    ) else {
        return Tensor::zeros([1], &device);
    };
    let [batch, _, _] = joints.dims();
    let joints = joints.slice([0..batch, 0..BODY_JOINTS, 0..2]); // [batch, 22, 2]
    let camera = rest.clone().slice([0..batch, 10..13]); // [batch, 3]
    let scale = camera
        .clone()
        .slice([0..batch, 0..1])
        .reshape([batch, 1, 1]);
    let shift = camera.slice([0..batch, 1..3]).reshape([batch, 1, 2]);
    let projected = (joints + shift) * scale; // [batch, 22, 2]
    let target = keypoints.clone().slice([0..batch, 0..BODY_JOINTS, 0..2]);
    let weight = keypoints.slice([0..batch, 0..BODY_JOINTS, 2..3]); // [batch, 22, 1]
    let squared = (projected - target).square().sum_dim(2) * weight.clone(); // [batch, 22, 1]
    squared
        .sum()
        .div(weight.sum().add_scalar(1e-6))
        .reshape([1])
}

/// SPIN's 3D keypoint term for the body expert: its body joints
/// ([`predicted_body_joints`]) against the true camera-frame joints
/// (`joints` `[batch, 22, 3]`), both taken relative to the pelvis; the mean
/// squared distance (m²). This scores the pose by where the limbs are, which
/// is what the image shows and what PA-MPJPE measures, where the rotation
/// targets spend as much on a twist no pixel shows as on a bent knee.
pub fn body_joint_loss<B: Backend>(
    prediction: &ExpertPrediction<B>,
    layer: &crate::smplx::Smplx<B>,
    joints: Tensor<B, 3>,
) -> Tensor<B, 1> {
    let device = prediction.rotations.device();
    let Some(predicted) = predicted_body_joints(prediction, layer) else {
        return Tensor::zeros([1], &device);
    };
    let [batch, _, _] = predicted.dims();
    let relative = |j: Tensor<B, 3>| {
        let pelvis = j.clone().slice([0..batch, 0..1]);
        j - pelvis
    }; // [batch, 22, 3]
    (relative(predicted) - relative(joints))
        .square()
        .sum_dim(2)
        .mean()
        .reshape([1])
}

/// The prediction on the host, in the target layout, one per batch row.
pub fn prediction_rows<B: Backend>(prediction: &ExpertPrediction<B>) -> Vec<ExpertTarget> {
    let [n, r, _, _] = prediction.rotations.dims();
    let rot = prediction
        .rotations
        .clone()
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .unwrap_or_default();
    let (k, rest) = match &prediction.rest {
        Some(t) => (
            t.dims()[1],
            t.clone()
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .unwrap_or_default(),
        ),
        None => (0, vec![]),
    };
    (0..n)
        .map(|b| ExpertTarget {
            rotations: (0..r)
                .map(|j| {
                    let mut m = [0.0f32; 9];
                    m.copy_from_slice(&rot[(b * r + j) * 9..(b * r + j + 1) * 9]);
                    m
                })
                .collect(),
            rest: rest[b * k..(b + 1) * k].to_vec(),
        })
        .collect()
}

/// Angle of `aᵀ·b` in degrees, from the chordal distance
/// ‖a − b‖_F = 2√2·sin(θ/2) (stable near zero, where acos of the trace is not).
pub fn rotation_angle_deg(a: &[f32; 9], b: &[f32; 9]) -> f64 {
    let d2: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum();
    let half = (d2.sqrt() / (2.0 * std::f64::consts::SQRT_2)).clamp(0.0, 1.0);
    (2.0 * half.asin()).to_degrees()
}

/// The best constant (the targets' mean): per rotation the chordal mean (the average
/// matrix projected back onto rotations), per other value the mean.
pub fn mean_target(targets: &[ExpertTarget]) -> Option<ExpertTarget> {
    let first = targets.first()?;
    let n = targets.len() as f64;
    let rotations = (0..first.rotations.len())
        .map(|j| {
            let mut sum = Matrix3::<f64>::zeros();
            for t in targets {
                sum += Matrix3::from_row_slice(&t.rotations[j].map(f64::from));
            }
            // The chordal mean (crate::baseline), by the Jacobi SVD that
            // metrics trusts (nalgebra's own loses accuracy on near-rank-deficient sums).
            let r = crate::metrics::nearest_rotation(&sum);
            let mut m = [0.0f32; 9];
            for i in 0..3 {
                for k in 0..3 {
                    m[i * 3 + k] = r[(i, k)] as f32;
                }
            }
            m
        })
        .collect();
    let rest = (0..first.rest.len())
        .map(|i| (targets.iter().map(|t| t.rest[i] as f64).sum::<f64>() / n) as f32)
        .collect();
    Some(ExpertTarget { rotations, rest })
}

/// One reported error: expert vs the best constant on the same crops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupError {
    pub name: String,
    /// "deg" (mean rotation angle), "mse", or "mm" (the expression's mean
    /// RMS displacement of the face, [`ExpressionGeometry`]).
    pub unit: String,
    pub expert: f64,
    pub baseline: f64,
}

/// Held-out errors of one expert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutReport {
    pub part: Part,
    pub crops: usize,
    pub groups: Vec<GroupError>,
    /// Mean over groups of expert / baseline (< 1: better than the mean).
    pub relative: f64,
    /// The part's standard error on the mesh ([`PartMesh`]): body joints'
    /// PA-MPJPE (as SPIN is judged on 3DPW), hand joints' PA-MPJPE
    /// (FreiHAND), the face's PA-V2V (NoW-like); `None` without a body model.
    #[serde(default)]
    pub mesh: Option<GroupError>,
}

impl HeldOutReport {
    /// Errors of `predictions` and of the constant `baseline` against `targets`.
    pub fn new(
        part: Part,
        predictions: &[ExpertTarget],
        targets: &[ExpertTarget],
        baseline: &ExpertTarget,
        geometry: Option<&ExpressionGeometry>,
    ) -> Self {
        let n = targets.len().max(1) as f64;
        let mut groups = Vec::new();
        for (name, range) in part.rotation_groups() {
            let err = |pred: &dyn Fn(usize) -> ExpertTarget| {
                let mut sum = 0.0;
                for (i, t) in targets.iter().enumerate() {
                    let p = pred(i);
                    for j in range.clone() {
                        sum += rotation_angle_deg(&p.rotations[j], &t.rotations[j]);
                    }
                }
                sum / (n * range.len() as f64)
            };
            groups.push(GroupError {
                name: name.into(),
                unit: "deg".into(),
                expert: err(&|i| predictions[i].clone()),
                baseline: err(&|_| baseline.clone()),
            });
        }
        for (name, range) in part.rest_groups() {
            if let Some(g) = geometry.filter(|_| part == Part::Face) {
                let err = |pred: &dyn Fn(usize) -> Vec<f32>| {
                    let mut sum = 0.0;
                    for (i, t) in targets.iter().enumerate() {
                        let p = pred(i);
                        let d: Vec<f64> = range
                            .clone()
                            .map(|k| p[k] as f64 - t.rest[k] as f64)
                            .collect();
                        sum += g.rms_mm(&d);
                    }
                    sum / n
                };
                groups.push(GroupError {
                    name: name.into(),
                    unit: "mm".into(),
                    expert: err(&|i| predictions[i].rest.clone()),
                    baseline: err(&|_| baseline.rest.clone()),
                });
                continue;
            }
            let err = |pred: &dyn Fn(usize) -> Vec<f32>| {
                let mut sum = 0.0;
                for (i, t) in targets.iter().enumerate() {
                    let p = pred(i);
                    sum += range
                        .clone()
                        .map(|k| (p[k] as f64 - t.rest[k] as f64).powi(2))
                        .sum::<f64>();
                }
                sum / (n * range.len() as f64)
            };
            groups.push(GroupError {
                name: name.into(),
                unit: "mse".into(),
                expert: err(&|i| predictions[i].rest.clone()),
                baseline: err(&|_| baseline.rest.clone()),
            });
        }
        let relative = groups
            .iter()
            .map(|g| g.expert / g.baseline.max(1e-12))
            .sum::<f64>()
            / groups.len().max(1) as f64;
        Self {
            part,
            crops: targets.len(),
            groups,
            relative,
            mesh: None,
        }
    }

    /// Adds the mesh error ([`PartMesh::error`]).
    pub fn with_mesh(mut self, mesh: Option<GroupError>) -> Self {
        self.mesh = mesh;
        self
    }

    /// A readable table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} expert, {} held-out crops:\n",
            self.part.name(),
            self.crops
        );
        for g in &self.groups {
            s += &format!(
                "  {:<11} expert {:>9.4} {:<3}   best constant {:>9.4} {:<3}  ({:.0}%)\n",
                g.name,
                g.expert,
                g.unit,
                g.baseline,
                g.unit,
                100.0 * g.expert / g.baseline.max(1e-12)
            );
        }
        if let Some(g) = &self.mesh {
            s += &format!(
                "  {} expert {:.2} mm, best constant {:.2} mm ({:.0}%)\n",
                g.name,
                g.expert,
                g.baseline,
                100.0 * g.expert / g.baseline.max(1e-12)
            );
        }
        s
    }
}

/// Each expert's standard error, measured on the mesh its prediction makes
/// (not on its parameters, where invisible twists and tiny spine turns
/// weigh as much as a bent elbow): the part alone is posed with the
/// predicted values and the rest of the body at rest, then aligned to the
/// target's by a similarity Procrustes fit and the mean point distance
/// taken, in millimetres:
/// - body: the 22 SMPL-X body joints (pelvis to wrists) from the 21 body
///   rotations and β (SPIN's PA-MPJPE);
/// - hand: the right wrist, 15 finger joints and 5 fingertips from the 15
///   finger rotations plus the SMPL-X hand mean (left crops are mirrored
///   into right hands; FreiHAND's PA-MPJPE);
/// - face: the head's vertices from the jaw and 10 expressions (a NoW-like
///   PA-V2V).
pub struct PartMesh<B: Backend> {
    layer: crate::smplx::Smplx<B>,
    /// Vertices mostly skinned to the head, jaw or eyes.
    head: Vec<usize>,
    hands_mean_r: Vec<f32>,
    device: B::Device,
}

impl<B: Backend> PartMesh<B> {
    pub fn new(
        model: &SmplxData,
        device: &B::Device,
    ) -> Result<Self, crate::smplx::layer::SmplxConfigError> {
        use crate::smplx::joints::{idx, NUM_JOINTS};
        let layer = crate::smplx::SmplxConfig::new().init::<B>(model, device)?;
        let head = (0..model.num_vertices())
            .filter(|&v| {
                let w = &model.weights[v * NUM_JOINTS..(v + 1) * NUM_JOINTS];
                w[idx::HEAD] + w[idx::JAW] + w[idx::LEFT_EYE_SMPLHF] + w[idx::RIGHT_EYE_SMPLHF]
                    > 0.5
            })
            .collect();
        Ok(Self {
            layer,
            head,
            hands_mean_r: model.hands_mean_r.clone(),
            device: device.clone(),
        })
    }

    /// Mean PA distance (mm) of `predictions` and of the constant
    /// `baseline` against `targets`.
    pub fn error(
        &self,
        part: Part,
        predictions: &[ExpertTarget],
        targets: &[ExpertTarget],
        baseline: &ExpertTarget,
    ) -> Option<GroupError> {
        let truth = self.points(part, targets)?;
        let baseline = self.points(part, std::slice::from_ref(baseline))?;
        let predicted = self.points(part, predictions)?;
        let mean = |rows: &[Vec<[f64; 3]>]| -> Option<f64> {
            let mut sum = 0.0;
            for (i, t) in truth.iter().enumerate() {
                let row = rows.get(i).or(rows.first())?;
                sum += crate::metrics::pa_mean_distance(row, t).ok()?;
            }
            Some(1000.0 * sum / truth.len().max(1) as f64)
        };
        let name = match part {
            Part::Face => "face PA-V2V",
            _ => "joints PA-MPJPE",
        };
        Some(GroupError {
            name: name.into(),
            unit: "mm".into(),
            expert: mean(&predicted)?,
            // One row: the mean parameters against every target.
            baseline: mean(&baseline)?,
        })
    }

    /// The part's points for each row, posed from the row's values.
    fn points(&self, part: Part, rows: &[ExpertTarget]) -> Option<Vec<Vec<[f64; 3]>>> {
        use crate::smplx::joints::{idx, NUM_JOINTS};
        let n = rows.len();
        if n == 0 {
            return Some(Vec::new());
        }
        let identity = flat(&IDENTITY);
        let mut rotations = vec![identity; n * NUM_JOINTS];
        let mut coeffs = vec![0f32; n * 20]; // β 10, ψ 10
        for (r, row) in rows.iter().enumerate() {
            let pose = &mut rotations[r * NUM_JOINTS..(r + 1) * NUM_JOINTS];
            match part {
                Part::Body => {
                    pose[1..22].copy_from_slice(row.rotations.get(1..22)?);
                    coeffs[r * 20..r * 20 + 10].copy_from_slice(row.rest.get(0..10)?);
                }
                Part::Face => {
                    pose[idx::JAW] = *row.rotations.first()?;
                    coeffs[r * 20 + 10..r * 20 + 20].copy_from_slice(row.rest.get(0..10)?);
                }
                Part::Hand => {
                    for j in 0..15 {
                        let m = row.rotations.get(1 + j)?;
                        let rel = crate::rotation::host::matrix_to_axis_angle(&[
                            [m[0] as f64, m[1] as f64, m[2] as f64],
                            [m[3] as f64, m[4] as f64, m[5] as f64],
                            [m[6] as f64, m[7] as f64, m[8] as f64],
                        ]);
                        let mean = self.hands_mean_r.get(j * 3..j * 3 + 3)?;
                        let full = [0, 1, 2].map(|k| rel[k] + mean[k] as f64);
                        pose[40 + j] = flat(&axis_angle_to_matrix(full));
                    }
                }
            }
        }
        let device = &self.device;
        let rot: Vec<f32> = rotations.iter().flatten().copied().collect();
        let coeffs = Tensor::from_data(
            TensorData::new(coeffs, [n, 20]).convert::<B::FloatElem>(),
            device,
        );
        let rotations = Tensor::from_data(
            TensorData::new(rot, [n, NUM_JOINTS, 3, 3]).convert::<B::FloatElem>(),
            device,
        );
        let transl = Tensor::zeros([n, 3], device);
        // Body and hand are scored on joints (no mesh needed), the face on its vertices.
        let (source, chosen): (Tensor<B, 3>, Vec<usize>) = match part {
            Part::Body => (
                self.layer.forward_joints(coeffs, rotations, transl),
                (0..22).collect(),
            ),
            Part::Hand => (
                self.layer.forward_joints(coeffs, rotations, transl),
                std::iter::once(idx::RIGHT_WRIST)
                    .chain(40..55)
                    .chain(71..76)
                    .collect(),
            ),
            Part::Face => (
                self.layer
                    .forward_rotations(coeffs, rotations, transl)
                    .vertices,
                self.head.clone(),
            ),
        };
        let [_, width, _] = source.dims();
        let flat_points = source.into_data().convert::<f32>().to_vec::<f32>().ok()?;
        Some(
            (0..n)
                .map(|r| {
                    chosen
                        .iter()
                        .map(|&k| {
                            let at = (r * width + k) * 3;
                            [0, 1, 2].map(|c| flat_points[at + c] as f64)
                        })
                        .collect()
                })
                .collect(),
        )
    }
}

/// Error of a body pseudo label against the ground truth: mean rotation
/// angle (degrees) over the global orientation (camera frame) and the 21
/// body joints.
pub fn body_label_error_deg(
    global_orient: &[f32],
    body_pose: &[f32],
    gt_global: &Mat3,
    gt_body_pose: &[f32],
) -> f64 {
    let mut sum = rotation_angle_deg(&flat(&aa(global_orient)), &flat(gt_global));
    for j in 0..21 {
        let r = j * 3..j * 3 + 3;
        sum += rotation_angle_deg(
            &flat(&aa(&body_pose[r.clone()])),
            &flat(&aa(&gt_body_pose[r])),
        );
    }
    sum / 22.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A prediction with the given supervised outputs (the raw network
    /// output, unused by the losses, is an empty DECA code).
    fn prediction_of<B: Backend>(
        rotations: Tensor<B, 4>,
        rest: Option<Tensor<B, 2>>,
    ) -> ExpertPrediction<B> {
        let n = rotations.dims()[0];
        let device = rotations.device();
        let zeros = || Tensor::<B, 2>::zeros([n, 1], &device);
        ExpertPrediction {
            rotations,
            rest,
            feature: zeros(),
            raw: crate::nets::RawPrediction::Face(crate::nets::DecaOutput {
                code: zeros(),
                shape: zeros(),
                tex: zeros(),
                exp: zeros(),
                pose: zeros(),
                camera: zeros(),
                light: Tensor::zeros([n, 1, 1], &device),
                feature: zeros(),
            }),
        }
    }

    #[test]
    fn weak_perspective_fit_recovers_the_camera() {
        let xy = [[0.1f32, -0.5], [0.3, 0.2], [-0.2, 0.4], [0.05, 0.9]];
        let cam = [1.3f32, 0.1, -0.2];
        let uv: Vec<[f32; 2]> = xy
            .iter()
            .map(|p| [cam[0] * (p[0] + cam[1]), cam[0] * (p[1] + cam[2])])
            .collect();
        let fit = fit_weak_perspective(&xy, &uv).unwrap();
        for k in 0..3 {
            assert!((fit[k] - cam[k]).abs() < 1e-5, "{fit:?}");
        }
        assert!(fit_weak_perspective(&xy[..1], &uv[..1]).is_none());
    }

    #[test]
    fn chordal_mean_and_angles() {
        let a = face_target(&[0.2, 0.0, 0.0], &[1.0; 10]);
        let b = face_target(&[0.4, 0.0, 0.0], &[3.0; 10]);
        let mean = mean_target(&[a.clone(), b.clone()]).unwrap();
        let c = face_target(&[0.3, 0.0, 0.0], &[2.0; 10]);
        assert!(rotation_angle_deg(&mean.rotations[0], &c.rotations[0]) < 1e-3);
        assert_eq!(mean.rest, vec![2.0; 10]);
        assert!(
            (rotation_angle_deg(&a.rotations[0], &b.rotations[0]) - 0.2f64.to_degrees()).abs()
                < 1e-3
        );
        let report = HeldOutReport::new(
            Part::Face,
            std::slice::from_ref(&a),
            std::slice::from_ref(&a),
            &mean,
            None,
        );
        assert!(
            report.relative < 1e-3 && report.groups[1].baseline == 1.0,
            "{report:?}"
        );
    }

    #[test]
    fn mirrored_hand_target_negates_y_and_z() {
        let fingers: Vec<f32> = (0..45).map(|i| 0.01 * i as f32).collect();
        let mut flipped = fingers.clone();
        for (i, v) in flipped.iter_mut().enumerate() {
            if i % 3 != 0 {
                *v = -*v;
            }
        }
        let wrist = aa(&[0.3, 0.2, -0.1]);
        let m = hand_target(&wrist, &fingers, true);
        let want = hand_target(&aa(&[0.3, -0.2, 0.1]), &flipped, false);
        for (a, b) in m.rotations.iter().zip(&want.rotations) {
            assert!(rotation_angle_deg(a, b) < 1e-3);
        }
    }

    #[test]
    fn turned_crops_turn_the_camera_frame() {
        use crate::crop::CropTransform;
        // Camera-frame points seen by a weak-perspective camera in an
        // upright window; the same pixels through a turned (and a mirrored)
        // window are the points turned by `in_plane_rotation`.
        let (s, t) = (0.8f32, [0.1f32, -0.2]);
        let upright = CropTransform::around_box([20.0, 30.0, 120.0, 130.0], 1.0);
        let points = [[0.3f64, -0.4, 2.0], [-0.5, 0.2, 1.5], [0.1, 0.7, 2.5]];
        for turn in [0.0f32, 0.3, -1.1] {
            for flip in [false, true] {
                let window = upright.augmented(turn, 1.0, flip);
                let q = in_plane_rotation(turn);
                for p in points {
                    let pixel =
                        upright.to_image([s * (p[0] as f32 + t[0]), s * (p[1] as f32 + t[1])]);
                    let uv = window.to_crop(pixel);
                    let pq = crate::rotation::host::apply(&q, p);
                    let tq = crate::rotation::host::apply(&q, [t[0] as f64, t[1] as f64, 0.0]);
                    let mut want = [s * (pq[0] + tq[0]) as f32, s * (pq[1] + tq[1]) as f32];
                    if flip {
                        want[0] = -want[0];
                    }
                    assert!(
                        (uv[0] - want[0]).abs() < 1e-4 && (uv[1] - want[1]).abs() < 1e-4,
                        "turn {turn} flip {flip}: {uv:?} vs {want:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn loss_weights_equalise_the_groups() {
        let targets: Vec<ExpertTarget> = (0..4)
            .map(|i| face_target(&[0.1 * i as f32, 0.0, 0.0], &[3.0 * i as f32; 10]))
            .collect();
        let mean = mean_target(&targets).unwrap();
        let w = loss_weights(Part::Face, &targets, &mean, None);
        assert_eq!(w.len(), 2);
        // Expression: values 0, 3, 6, 9 about 4.5: mean square 11.25.
        assert!((w[1] - 1.0 / 11.25).abs() < 1e-5, "{w:?}");
        // The baseline's weighted loss is 1 per group.
        let device = Default::default();
        type B = burn::backend::Flex;
        let refs: Vec<&ExpertTarget> = targets.iter().collect();
        let (rot, rest) = target_tensors::<B>(&refs, &device);
        let means = vec![&mean; 4];
        let (mrot, mrest) = target_tensors::<B>(&means, &device);
        let prediction = prediction_of(mrot, mrest);
        let loss: f32 =
            expert_loss(Part::Face, &prediction, rot.clone(), rest.clone(), &w, None).into_scalar();
        assert!((loss - 2.0).abs() < 1e-3, "{loss}");
        // Scored on the face, the baseline's weighted loss is 1 per group too.
        let model = crate::smplx::mannequin::mannequin();
        let geometry = ExpressionGeometry::new(&model).unwrap();
        let w = loss_weights(Part::Face, &targets, &mean, Some(&geometry));
        let loss: f32 =
            expert_loss(Part::Face, &prediction, rot, rest, &w, Some(&geometry)).into_scalar();
        assert!((loss - 2.0).abs() < 1e-3, "{loss}");
        // SPIN's hand joints (always identity) keep weight 1.
        let body: Vec<ExpertTarget> = (0..3)
            .map(|i| {
                body_target(
                    &aa(&[0.2 * i as f32, 0.0, 0.0]),
                    &[0.05 * i as f32; 63],
                    &[i as f32; 10],
                    [1.0, 0.0, i as f32],
                )
            })
            .collect();
        let w = loss_weights(Part::Body, &body, &mean_target(&body).unwrap(), None);
        assert_eq!(w.len(), 5);
        assert_eq!(w[2], 1.0);
    }

    /// The expression metric against the body model itself: the RMS
    /// displacement of the vertices the expression moves, between a face
    /// with coefficients `a` and one with `b`.
    #[test]
    fn expression_geometry_is_the_faces_displacement() {
        use crate::smplx::{ParamWidths, SmplxConfig, SmplxInput, SmplxParams};
        type B = burn::backend::Flex;
        let device = Default::default();
        let model = crate::smplx::mannequin::mannequin();
        let geometry = ExpressionGeometry::new(&model).unwrap();
        let layer = SmplxConfig::new().init::<B>(&model, &device).unwrap();
        let a = [0.8f32, -0.5, 1.2, 0.0, 0.3, -1.0, 0.6, 0.2, -0.7, 1.5];
        let b = [0.1f32, 0.4, -0.3, 0.9, 0.0, 0.2, -0.6, 1.1, 0.5, -0.2];
        let mut params = SmplxParams::zeros(2, ParamWidths::default());
        params.expression = vec![a.to_vec(), b.to_vec()];
        let vertices = layer
            .forward(SmplxInput::from_params(&params, &device))
            .vertices
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let v = model.num_vertices();
        let s = model.num_shapedirs;
        let (mut sum, mut moved) = (0.0f64, 0usize);
        for i in 0..v {
            let dirs = &model.shapedirs[i * 3 * s..(i + 1) * 3 * s];
            if !(0..3).any(|c| (10..20).any(|e| dirs[c * s + e] != 0.0)) {
                continue;
            }
            moved += 1;
            sum += (0..3)
                .map(|c| (vertices[i * 3 + c] as f64 - vertices[(v + i) * 3 + c] as f64).powi(2))
                .sum::<f64>();
        }
        let want = 1000.0 * (sum / moved as f64).sqrt();
        let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| (x - y) as f64).collect();
        let got = geometry.rms_mm(&d);
        assert!(want > 0.5, "the expression moves the face: {want} mm");
        assert!(
            (got - want).abs() < 1e-3 * want,
            "{got} mm vs the mesh's {want} mm"
        );
    }

    type Nd = burn::backend::Flex;

    /// The mannequin's layer, and one body with a hip raised and β₀ = 1.
    fn mannequin_body(
        global_orient: [f32; 3],
    ) -> (crate::smplx::Smplx<Nd>, crate::smplx::SmplxParams) {
        use crate::smplx::{ParamWidths, SmplxConfig, SmplxParams};
        let model = crate::smplx::mannequin::mannequin();
        let layer = SmplxConfig::new()
            .init::<Nd>(&model, &Default::default())
            .unwrap();
        let mut params = SmplxParams::zeros(1, ParamWidths::default());
        params.global_orient[0] = global_orient.to_vec();
        params.body_pose[0][0] = 0.4; // left hip
        params.betas[0][0] = 1.0;
        (layer, params)
    }

    /// The posed body's joints, flattened `[joints · 3]`.
    fn joints_of(layer: &crate::smplx::Smplx<Nd>, params: &crate::smplx::SmplxParams) -> Vec<f32> {
        layer
            .forward(crate::smplx::SmplxInput::from_params(
                params,
                &Default::default(),
            ))
            .joints
            .into_data()
            .to_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn body_joint_loss_measures_the_pelvis_relative_joints() {
        type B = Nd;
        let device = Default::default();
        let (layer, params) = mannequin_body([0.3, 0.5, 0.1]);
        let body_joints =
            |p: &crate::smplx::SmplxParams| joints_of(&layer, p)[..BODY_JOINTS * 3].to_vec();
        let truth = body_joints(&params);
        // The same joints anywhere in space: only where they are relative to the pelvis counts.
        let moved: Vec<f32> = truth
            .iter()
            .enumerate()
            .map(|(k, v)| v + [0.5, -0.2, 2.0][k % 3])
            .collect();
        let loss_for = |p: &crate::smplx::SmplxParams| -> f32 {
            let t = body_target(
                &aa(&p.global_orient[0]),
                &p.body_pose[0],
                &p.betas[0],
                [1.0, 0.0, 0.0],
            );
            let (rotations, rest) = target_tensors::<B>(&[&t], &device);
            let joints = Tensor::<B, 3>::from_data(
                TensorData::new(moved.clone(), [1, BODY_JOINTS, 3]),
                &device,
            );
            body_joint_loss(&prediction_of(rotations, rest), &layer, joints).into_scalar()
        };
        assert!(loss_for(&params) < 1e-9, "{}", loss_for(&params));
        // Bending the left elbow (joint 18) moves the left wrist (joint 20) only.
        let mut bent = params.clone();
        bent.body_pose[0][3 * 17 + 1] = -1.0;
        let wrist = |j: &[f32]| [60, 61, 62].map(|k| j[k]);
        let (a, b) = (wrist(&truth), wrist(&body_joints(&bent)));
        let want = (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f32>() / BODY_JOINTS as f32;
        let got = loss_for(&bent);
        assert!(want > 1e-3, "the bend should move the wrist: {want}");
        assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");
    }

    /// At the true pose and camera the keypoint term is zero; a camera
    /// shifted by d costs (s·d)² per joint.
    #[test]
    fn body_keypoint_loss_measures_the_projection() {
        type B = Nd;
        let device = Default::default();
        let (layer, mut params) = mannequin_body([3.0, 0.2, 0.1]);
        params.body_pose[0][3 * 17 + 1] = -1.0; // left elbow (joint 18) bent
        let joints = joints_of(&layer, &params);
        let camera = [0.9f32, 0.05, 0.3];
        let keypoints: Vec<f32> = (0..22)
            .flat_map(|j| {
                let (x, y) = (joints[j * 3], joints[j * 3 + 1]);
                [
                    camera[0] * (x + camera[1]),
                    camera[0] * (y + camera[2]),
                    1.0,
                ]
            })
            .collect();
        let keypoints = Tensor::<B, 3>::from_data(TensorData::new(keypoints, [1, 22, 3]), &device);
        let target = body_target(
            &aa(&params.global_orient[0]),
            &params.body_pose[0],
            &params.betas[0],
            camera,
        );
        let loss_for = |cam: [f32; 3]| -> f32 {
            let mut t = target.clone();
            t.rest[10..13].copy_from_slice(&cam);
            let (rotations, rest) = target_tensors::<B>(&[&t], &device);
            let prediction = prediction_of(rotations, rest);
            body_keypoint_loss(&prediction, &layer, keypoints.clone()).into_scalar()
        };
        assert!(loss_for(camera) < 1e-9, "{}", loss_for(camera));
        let shifted = loss_for([camera[0], camera[1] + 0.1, camera[2]]);
        let want = (camera[0] * 0.1).powi(2);
        assert!(
            (shifted - want).abs() < 1e-4 * want.max(1.0),
            "{shifted} vs {want}"
        );
    }

    #[test]
    fn chain_rotation_composes_parents() {
        let mut pose = vec![0.0f32; 63];
        pose[2] = 0.5; // left hip (joint 1) about z
        pose[9 + 2] = 0.25; // left knee (joint 4) about z
        let r = joint_global_rotation(&IDENTITY, &pose, 4);
        let want = aa(&[0.0, 0.0, 0.75]);
        assert!(rotation_angle_deg(&flat(&r), &flat(&want)) < 1e-3);
    }
}
