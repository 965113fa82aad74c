//! SMPL-X part parameters fitted to 3D landmarks: how MediaPipe's body and
//! hand points become pseudo labels (`furpe label --experts mediapipe`).
//!
//! MediaPipe's models give points, SMPL-X labels are joint rotations. Per
//! image the rotations are found by minimising (independently per row of
//! the batch, so batching changes nothing)
//!
//! ```text
//! E(θ) = Σ_e c_e ‖d̂_e(θ) − t̂_e‖² / Σ_e c_e  +  λ ‖θ_part‖²
//! ```
//!
//! - `e` runs over the part's bones ([`BODY_BONES`], [`hand_bones`]): pairs
//!   of sites, each site the mean of some landmarks on one side and the mean
//!   of some SMPL-X joints on the other.
//! - `d̂_e(θ)` is the bone's unit direction on the posed SMPL-X joints
//!   ([`Smplx::joints`]: kinematic joints plus the vertex joints nose, eyes,
//!   ears, toes, heels and finger tips), `t̂_e` the same bone's unit direction
//!   on the landmarks (metres, camera-aligned: x right, y down, z away from
//!   the camera, the frame the student's global rotation lives in).
//!   Directions, not positions: MediaPipe's skeleton (GHUM's) and the
//!   SMPL-X model have different proportions, and a direction is what a
//!   joint rotation sets.
//! - `c_e = 0.25 + 0.75 · min(visibility of its landmarks)`: an occluded
//!   limb's guess still counts a little (dropping it would leave the prior's
//!   T-pose there).
//! - `λ ‖θ‖²` on the part's axis-angle (hands: relative to the mean hand):
//!   the rotation about a bone's own axis (twist) moves no landmark, so
//!   the prior sets it; it also spreads a back bend evenly over the three
//!   spine joints. It is small enough to leave observed directions alone.
//!
//! The face ([`fit_face`]: head rotation, jaw, 10 expression coefficients)
//! uses positions instead: the 51 inner face landmarks (brows, nose, eyes,
//! lips: iBUG points 17–67, SMPL-X joints 76–126) against the face mesh's
//! points at [`crate::mediapipe::openpose::FACE70_FROM_MESH`], each set
//! centred and scaled to unit RMS radius, so the error is the shape's; the
//! prior is on jaw and expression.
//!
//! The correspondence is by SMPL-X joint index (the reference package's
//! order, [`crate::smplx::joints::idx`]), the same in every SMPL-X-layout
//! model: the official file and the embedded mannequin alike need no table
//! of their own.
//!
//! Optimiser: Adam on the axis-angle parameters. The global rotation starts
//! at the Procrustes rotation taking the rest pose's anchor sites (hips and
//! shoulders; a hand's wrist and knuckles) onto the landmarks', so a fit
//! never starts facing away from its target.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

use crate::smplx::joints::idx;

mod correspondence;
pub mod person;
use crate::smplx::{ParamWidths, Smplx, SmplxInput, SmplxParams};
pub use correspondence::*;
pub use person::{fit_people, PersonFit, PersonFitConfig};
/// One image's landmarks for one part.
#[derive(Debug, Clone, PartialEq)]
pub struct Landmarks {
    /// Metres, camera-aligned (x right, y down, z away from the camera).
    pub points: Vec<[f32; 3]>,
    /// Per point, in [0, 1] (1 where the model gives none).
    pub visibility: Vec<f32>,
}

/// How hard to fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitConfig {
    pub iterations: usize,
    pub learning_rate: f64,
    /// λ of the pose prior.
    pub prior: f32,
}

impl FitConfig {
    /// Measured on a synthetic world (docs/mediapipe_labels.md).
    pub fn body() -> Self {
        Self {
            iterations: 200,
            learning_rate: 0.1,
            prior: 1e-3,
        }
    }

    /// Measured on a synthetic world (docs/mediapipe_labels.md).
    pub fn hand() -> Self {
        Self {
            iterations: 200,
            learning_rate: 0.05,
            prior: 1e-3,
        }
    }
}

impl FitConfig {
    /// Measured on a synthetic world (docs/mediapipe_labels.md).
    pub fn face() -> Self {
        // The face's shape error is in units of its radius: an expression
        // moves points by a few hundredths, so the prior must be weak.
        Self {
            iterations: 400,
            learning_rate: 0.05,
            prior: 1e-5,
        }
    }
}

/// A fitted face: what a face expert labels.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceFit {
    /// The head's rotation in the camera frame.
    pub head_orient: [f32; 3],
    pub jaw_pose: [f32; 3],
    pub expression: Vec<f32>,
    /// RMS distance between fitted and landmark points, as a fraction of
    /// the points' RMS radius.
    pub residual: f32,
}

/// A fitted body: what a body expert labels.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyFit {
    pub global_orient: [f32; 3],
    /// 21 joints × axis-angle.
    pub body_pose: Vec<f32>,
    /// Confidence-weighted mean angle (degrees) between fitted and
    /// landmark bones: how well the fit explains its landmarks.
    pub residual_deg: f32,
}

/// A fitted hand: its pose relative to the model's mean hand (the labels'
/// convention) and the wrist's rotation in the camera frame.
#[derive(Debug, Clone, PartialEq)]
pub struct HandFit {
    pub wrist_orient: [f32; 3],
    /// 15 joints × axis-angle, relative to the mean hand.
    pub hand_pose: Vec<f32>,
    pub residual_deg: f32,
}

/// Why a fit cannot start.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("landmark set {row}: {got} points, {expected} expected")]
    Count {
        row: usize,
        got: usize,
        expected: usize,
    },
    #[error("landmark set {row}: a non-finite point or visibility")]
    NotFinite { row: usize },
    #[error("warm start {row}: {got} parameters, {expected} expected")]
    StartWidth {
        row: usize,
        got: usize,
        expected: usize,
    },
    #[error("reading the fit back from the device: {0}")]
    Readback(String),
}

/// Fits global orientation and the 21 body joints to BlazePose's world
/// landmarks, one row per image. `layer` must take axis-angle hands.
pub fn fit_body<B: AutodiffBackend>(
    layer: &Smplx<B>,
    targets: &[Landmarks],
    config: &FitConfig,
    device: &B::Device,
) -> Result<Vec<BodyFit>, FitError> {
    fit_body_from(layer, targets, &[], config, device)
}

/// [`fit_body`] starting row `r` from `warm[r]` where given (a video's
/// previous frame: a few iterations then suffice), else from the
/// Procrustes start.
pub fn fit_body_from<B: AutodiffBackend>(
    layer: &Smplx<B>,
    targets: &[Landmarks],
    warm: &[Option<&BodyFit>],
    config: &FitConfig,
    device: &B::Device,
) -> Result<Vec<BodyFit>, FitError> {
    let starts: Vec<Option<Vec<f32>>> = warm
        .iter()
        .map(|w| w.map(|f| [&f.global_orient[..], &f.body_pose].concat()))
        .collect();
    let part = Part {
        energy: Energy::Bones(body_bones()),
        anchors: body_anchors(),
        count: blazepose::COUNT,
        free: Free::Body,
    };
    let problem = Problem::new(layer, device, part, targets, &starts)?;
    let (params, residual) = problem.solve(layer, config)?;
    Ok(params
        .into_iter()
        .zip(residual)
        .map(|(p, r)| BodyFit {
            global_orient: [p[0], p[1], p[2]],
            body_pose: p[3..].to_vec(),
            residual_deg: r,
        })
        .collect())
}

/// Fits one side's 15 hand joints (and the wrist's rotation) to MediaPipe's
/// hand world landmarks, one row per image.
pub fn fit_hand<B: AutodiffBackend>(
    layer: &Smplx<B>,
    side: Side,
    targets: &[Landmarks],
    config: &FitConfig,
    device: &B::Device,
) -> Result<Vec<HandFit>, FitError> {
    fit_hand_from(layer, side, targets, &[], config, device)
}

/// [`fit_hand`] with warm starts, as [`fit_body_from`].
pub fn fit_hand_from<B: AutodiffBackend>(
    layer: &Smplx<B>,
    side: Side,
    targets: &[Landmarks],
    warm: &[Option<&HandFit>],
    config: &FitConfig,
    device: &B::Device,
) -> Result<Vec<HandFit>, FitError> {
    let starts: Vec<Option<Vec<f32>>> = warm
        .iter()
        .map(|w| w.map(|f| [&f.wrist_orient[..], &f.hand_pose].concat()))
        .collect();
    let part = Part {
        energy: Energy::Bones(hand_bones(side)),
        anchors: hand_anchors(side),
        count: mediapipe_hand::COUNT,
        free: Free::Hand(side),
    };
    let problem = Problem::new(layer, device, part, targets, &starts)?;
    let (params, residual) = problem.solve(layer, config)?;
    Ok(params
        .into_iter()
        .zip(residual)
        .map(|(p, r)| HandFit {
            wrist_orient: [p[0], p[1], p[2]],
            hand_pose: p[3..].to_vec(),
            residual_deg: r,
        })
        .collect())
}

/// Fits head rotation, jaw and expression to the face mesh's points
/// (`points` 468 each, any consistent scale, camera-aligned), one row per image.
pub fn fit_face<B: AutodiffBackend>(
    layer: &Smplx<B>,
    targets: &[Landmarks],
    config: &FitConfig,
    device: &B::Device,
) -> Result<Vec<FaceFit>, FitError> {
    fit_face_from(layer, targets, &[], config, device)
}

/// [`fit_face`] with warm starts, as [`fit_body_from`].
pub fn fit_face_from<B: AutodiffBackend>(
    layer: &Smplx<B>,
    targets: &[Landmarks],
    warm: &[Option<&FaceFit>],
    config: &FitConfig,
    device: &B::Device,
) -> Result<Vec<FaceFit>, FitError> {
    let starts: Vec<Option<Vec<f32>>> = warm
        .iter()
        .map(|w| w.map(|f| [&f.head_orient[..], &f.jaw_pose[..], &f.expression].concat()))
        .collect();
    let points = face_points();
    let part = Part {
        energy: Energy::Shape(points.clone()),
        anchors: points,
        count: FACE_MESH_COUNT,
        free: Free::Face,
    };
    let problem = Problem::new(layer, device, part, targets, &starts)?;
    let (params, residual) = problem.solve(layer, config)?;
    Ok(params
        .into_iter()
        .zip(residual)
        .map(|(p, r)| FaceFit {
            head_orient: [p[0], p[1], p[2]],
            jaw_pose: [p[3], p[4], p[5]],
            expression: p[6..].to_vec(),
            residual: r,
        })
        .collect())
}

/// What a fit compares.
#[derive(Debug, Clone)]
enum Energy {
    /// Unit directions of bones.
    Bones(Vec<Bone>),
    /// Points centred and scaled to unit RMS radius.
    Shape(Vec<Site>),
}

impl Energy {
    /// `(from, to)` sites of each compared vector: a bone, or a point from
    /// the set's centroid.
    fn vectors(&self) -> Vec<(Vec<(Site, f32)>, Site)> {
        match self {
            Self::Bones(bones) => bones
                .iter()
                .map(|b| (vec![(b.from.clone(), 1.0)], b.to.clone()))
                .collect(),
            Self::Shape(points) => {
                let n = points.len() as f32;
                let all: Vec<(Site, f32)> = points.iter().map(|p| (p.clone(), 1.0 / n)).collect();
                points.iter().map(|p| (all.clone(), p.clone())).collect()
            }
        }
    }
}

/// How much more the prior holds the collars than the other joints.
const COLLAR_PRIOR: f32 = 100.0;

/// Which parameters a fit moves: the global rotation (3) and then the part.
#[derive(Debug, Clone, Copy)]
enum Free {
    /// 21 body joints (63).
    Body,
    /// One hand's 15 joints (45); the body stays at rest, so the global
    /// rotation is the wrist's.
    Hand(Side),
    /// Jaw (3) and expression (10); the global rotation is the head's.
    Face,
}

impl Free {
    /// Per-parameter weight of the prior (the part's parameters only).
    /// The collars turn the shoulder joints the way the shoulders turn the
    /// arms; only the shoulders' small shift tells them apart, so the prior
    /// keeps the collars near rest (they move little in people) and gives
    /// the turn to the shoulders.
    fn prior_weights(self) -> Vec<f32> {
        match self {
            Self::Body => (1..=21)
                .flat_map(|joint| {
                    let w = if joint == idx::LEFT_COLLAR || joint == idx::RIGHT_COLLAR {
                        COLLAR_PRIOR
                    } else {
                        1.0
                    };
                    [w; 3]
                })
                .collect(),
            _ => vec![1.0; self.width() - 3],
        }
    }

    fn width(self) -> usize {
        match self {
            Self::Body => 3 + 63,
            Self::Hand(_) => 3 + 45,
            Self::Face => 3 + 3 + ParamWidths::default().expression,
        }
    }
}

/// A batch of fits, set up on the host.
struct Problem<B: AutodiffBackend> {
    /// `[E, 144]`: +1/n on a bone's `to` joints, −1/n on its `from` joints,
    /// so `select · joints` is every bone vector.
    select: Tensor<B::InnerBackend, 2>,
    /// `[N, E, 3]` unit landmark directions.
    target: Tensor<B::InnerBackend, 3>,
    /// `[N, E]` bone weights, each row summing to 1.
    weight: Tensor<B::InnerBackend, 2>,
    /// `[N, P]` starting parameters.
    start: Tensor<B::InnerBackend, 2>,
    /// `[1, P − 3]` the prior's weight per part parameter.
    prior_weights: Tensor<B::InnerBackend, 2>,
    free: Free,
    /// Shape energies scale each set to unit RMS radius; bone energies
    /// normalise each vector.
    shape: bool,
    batch: usize,
    bones: usize,
}

/// What one fit compares and moves.
struct Part {
    energy: Energy,
    /// Sites whose rest positions are turned onto the landmarks' for the
    /// cold start.
    anchors: Vec<Site>,
    /// Landmarks per set.
    count: usize,
    free: Free,
}

impl<B: AutodiffBackend> Problem<B> {
    fn new(
        layer: &Smplx<B>,
        device: &B::Device,
        part: Part,
        targets: &[Landmarks],
        starts: &[Option<Vec<f32>>],
    ) -> Result<Self, FitError> {
        let Part {
            energy,
            anchors,
            count,
            free,
        } = part;
        for (row, t) in targets.iter().enumerate() {
            for got in [t.points.len(), t.visibility.len()] {
                if got != count {
                    return Err(FitError::Count {
                        row,
                        got,
                        expected: count,
                    });
                }
            }
            let finite = t.points.iter().flatten().chain(&t.visibility);
            if !finite.into_iter().all(|v| v.is_finite()) {
                return Err(FitError::NotFinite { row });
            }
        }
        let batch = targets.len();
        let shape = matches!(energy, Energy::Shape(_));
        let vectors = energy.vectors();
        let e = vectors.len();
        let rest = rest_joints(layer, device)?;
        let num_joints = rest.len();

        // 1. The vector matrix: +1/n on a vector's `to` joints, −w/n on
        // each of its `from` sites' joints.
        let mut select = vec![0.0f32; e * num_joints];
        for (b, (from, to)) in vectors.iter().enumerate() {
            let ends = from
                .iter()
                .map(|(site, w)| (site, -w))
                .chain(std::iter::once((to, 1.0f32)));
            for (site, sign) in ends {
                for &j in &site.joints {
                    select[b * num_joints + j] += sign / site.joints.len() as f32;
                }
            }
        }

        // 2. Landmark directions and weights.
        let mean_of = |t: &Landmarks, site: &Site| -> ([f32; 3], f32) {
            let n = site.landmarks.len() as f32;
            let mut p = [0.0f32; 3];
            let mut vis = 1.0f32;
            for &l in &site.landmarks {
                for (a, b) in p.iter_mut().zip(t.points[l]) {
                    *a += b / n;
                }
                vis = vis.min(t.visibility[l].clamp(0.0, 1.0));
            }
            (p, vis)
        };
        let mut target = Vec::with_capacity(batch * e * 3);
        let mut weight = Vec::with_capacity(batch * e);
        for t in targets {
            let mut row = Vec::with_capacity(e);
            let mut dirs = Vec::with_capacity(e);
            for (from, to) in &vectors {
                let (b, vb) = mean_of(t, to);
                let mut a = [0.0f32; 3];
                let mut va = 1.0f32;
                for (site, w) in from {
                    let (p, v) = mean_of(t, site);
                    for k in 0..3 {
                        a[k] += w * p[k];
                    }
                    va = va.min(v);
                }
                let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
                let norm = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                let w = 0.25 + 0.75 * va.min(vb);
                if shape {
                    dirs.push(d);
                    row.push(w);
                } else if norm > 1e-6 {
                    dirs.push(d.map(|v| v / norm));
                    row.push(w);
                } else {
                    // A bone of zero length has no direction: it does not count.
                    dirs.push([0.0; 3]);
                    row.push(0.0);
                }
            }
            if shape {
                // Unit RMS radius.
                let rms = (dirs.iter().flatten().map(|v| v * v).sum::<f32>() / e.max(1) as f32)
                    .sqrt()
                    .max(1e-9);
                for d in &mut dirs {
                    *d = d.map(|v| v / rms);
                }
            }
            target.extend(dirs.into_iter().flatten());
            let total: f32 = row.iter().sum::<f32>().max(1e-6);
            weight.extend(row.iter().map(|w| w / total));
        }

        // 3. Start: the warm start where given (checked like the targets),
        // else the rotation taking the rest anchors onto the landmarks'.
        let rest_anchor: Vec<[f64; 3]> = anchors
            .iter()
            .map(|s| site_mean(s.joints.iter().map(|&j| rest[j])))
            .collect();
        let mut start = vec![0.0f32; batch * free.width()];
        for (r, t) in targets.iter().enumerate() {
            if let Some(Some(warm)) = starts.get(r) {
                if warm.len() != free.width() {
                    return Err(FitError::StartWidth {
                        row: r,
                        got: warm.len(),
                        expected: free.width(),
                    });
                }
                if warm.iter().all(|v| v.is_finite()) {
                    start[r * free.width()..(r + 1) * free.width()].copy_from_slice(warm);
                    continue;
                }
            }
            let anchor: Vec<[f64; 3]> = anchors
                .iter()
                .map(|s| site_mean(s.landmarks.iter().map(|&l| t.points[l].map(|v| v as f64))))
                .collect();
            let rotation = crate::metrics::similarity_transform(&rest_anchor, &anchor)
                .map(|s| s.rotation)
                .unwrap_or(crate::rotation::host::IDENTITY);
            let aa = crate::rotation::host::matrix_to_axis_angle(&rotation);
            for k in 0..3 {
                start[r * free.width() + k] = aa[k] as f32;
            }
        }

        let d2 = |data: Vec<f32>, shape: [usize; 2]| upload::<B::InnerBackend>(data, shape, device);
        Ok(Self {
            select: d2(select, [e, num_joints]),
            target: d2(target, [batch, e * 3]).reshape([batch, e, 3]),
            weight: d2(weight, [batch, e]),
            start: d2(start, [batch, free.width()]),
            prior_weights: d2(free.prior_weights(), [1, free.width() - 3]),
            free,
            shape,
            batch,
            bones: e,
        })
    }

    /// `[N, E]` weighted squared direction errors, and the parameters' prior
    /// `[N]`.
    fn objective(&self, layer: &Smplx<B>, params: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 1>) {
        let (n, e) = (self.batch, self.bones);
        let device = params.device();
        let width = self.free.width();
        let global = params.clone().slice([0..n, 0..3]);
        let part = params.slice([0..n, 3..width]);
        let mut input = zero_input::<B>(n, &device);
        input.global_orient = global;
        match self.free {
            Free::Body => input.body_pose = part.clone(),
            Free::Hand(Side::Left) => input.left_hand_pose = part.clone(),
            Free::Hand(Side::Right) => input.right_hand_pose = part.clone(),
            Free::Face => {
                input.jaw_pose = part.clone().slice([0..n, 0..3]);
                input.expression = part.clone().slice([0..n, 3..width - 3]);
            }
        }
        let joints = layer.joints(input); // [N, 144, 3]
        let num_joints = joints.dims()[1];
        let select = Tensor::<B, 2>::from_inner(self.select.clone())
            .reshape([1, e, num_joints])
            .expand([n, e, num_joints]);
        let vectors = select.matmul(joints); // [N, E, 3]
        let direction = if self.shape {
            // [N, 1, 1]: the set's RMS radius.
            let rms = vectors
                .clone()
                .square()
                .sum_dim(2)
                .mean_dim(1)
                .sqrt()
                .clamp_min(1e-9);
            vectors / rms
        } else {
            let length = vectors.clone().square().sum_dim(2).sqrt().clamp_min(1e-6); // [N, E, 1]
            vectors / length
        };
        let target = Tensor::<B, 3>::from_inner(self.target.clone());
        let weight = Tensor::<B, 2>::from_inner(self.weight.clone());
        let error = (direction - target).square().sum_dim(2).reshape([n, e]) * weight;
        let weights = Tensor::<B, 2>::from_inner(self.prior_weights.clone());
        let prior = (part.square() * weights).sum_dim(1).reshape([n]);
        (error, prior)
    }

    /// Adam on the parameters; returns each row's parameters and residual.
    fn solve(
        &self,
        layer: &Smplx<B>,
        config: &FitConfig,
    ) -> Result<(Vec<Vec<f32>>, Vec<f32>), FitError> {
        let (n, width) = (self.batch, self.free.width());
        if n == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        let mut x = self.start.clone();
        let mut m = x.zeros_like();
        let mut v = x.zeros_like();
        for t in 1..=config.iterations {
            let params = Tensor::<B, 2>::from_inner(x.clone()).require_grad();
            let (error, prior) = self.objective(layer, params.clone());
            // Each row's energy depends on its own parameters only, so the
            // sum's gradient is every row's own gradient.
            let energy = error.sum() + prior.sum().mul_scalar(config.prior);
            let grads = energy.backward();
            let Some(g) = params.grad(&grads) else {
                break;
            };
            m = m.mul_scalar(beta1) + g.clone().mul_scalar(1.0 - beta1);
            v = v.mul_scalar(beta2) + g.square().mul_scalar(1.0 - beta2);
            let m_hat = m.clone().div_scalar(1.0 - beta1.powi(t as i32));
            let v_hat = v.clone().div_scalar(1.0 - beta2.powi(t as i32));
            x = x - (m_hat / v_hat.sqrt().add_scalar(eps)).mul_scalar(config.learning_rate);
        }
        let (error, _) = self.objective(layer, Tensor::<B, 2>::from_inner(x.clone()));
        let error = read(error.inner())?;
        let params = read(x)?;
        // Bones: the weighted mean of ‖d̂ − t̂‖² = 2 − 2 cos α, as an angle.
        // Shapes: the weighted RMS distance in units of the RMS radius.
        let residual = error
            .chunks(self.bones)
            .map(|row| {
                let mean = row.iter().sum::<f32>();
                if self.shape {
                    mean.sqrt()
                } else {
                    (1.0 - mean / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
                }
            })
            .collect();
        Ok((
            params.chunks(width).map(<[f32]>::to_vec).collect(),
            residual,
        ))
    }
}

fn read<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>, FitError> {
    crate::readback::floats(t).map_err(|e| FitError::Readback(e.to_string()))
}

fn upload<B: Backend>(data: Vec<f32>, shape: [usize; 2], device: &B::Device) -> Tensor<B, 2> {
    Tensor::from_data(
        TensorData::new(data, shape).convert::<B::FloatElem>(),
        device,
    )
}

fn site_mean(points: impl Iterator<Item = [f64; 3]>) -> [f64; 3] {
    let mut sum = [0.0f64; 3];
    let mut n = 0.0;
    for p in points {
        for k in 0..3 {
            sum[k] += p[k];
        }
        n += 1.0;
    }
    sum.map(|v| v / f64::max(n, 1.0))
}

/// Every parameter zero (rest pose, mean hands), batch `n`.
fn zero_input<B: Backend>(n: usize, device: &B::Device) -> SmplxInput<B> {
    SmplxInput::from_params(&SmplxParams::zeros(n, ParamWidths::default()), device)
}

/// The rest pose's joints, host.
fn rest_joints<B: Backend>(
    layer: &Smplx<B>,
    device: &B::Device,
) -> Result<Vec<[f64; 3]>, FitError> {
    let joints = layer.joints(zero_input::<B>(1, device));
    Ok(read(joints)?
        .chunks(3)
        .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
        .collect())
}

#[cfg(test)]
mod tests;
