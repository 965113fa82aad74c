//! The SMPL-X forward pass on any Burn backend, batched and differentiable.
//!
//! Written from the SMPL (Loper et al. 2015) and SMPL-X (Pavlakos et al.
//! 2019) equations:
//!
//!   shaped   T(β,ψ) = T̄ + S·[β;ψ]                      (shape blend)
//!   joints   J(β,ψ) = 𝒥·T(β,ψ)                          (joint regressor)
//!   posed    Tₚ     = T(β,ψ) + P·vec(R(θ) − I)          (pose correctives)
//!   skinned  vᵢ     = Σₖ wᵢₖ · Gₖ(θ,J) · Gₖ(0,J)⁻¹ · Tₚ,ᵢ   (linear blend skinning)
//!
//! followed by the extra joints the reference package appends: 21 vertices
//! (nose, eyes, ears, feet, fingertips), 51 face landmarks, and 17 jaw-contour
//! landmarks that follow the head's yaw.

mod forward;
mod init;

use burn::config::Config;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use super::params::SmplxParams;

/// How a model layer reads its parameters. Defaults match the reference
/// package's `SMPLX` class (10 betas, 10 expressions, hand mean added) except
/// two, on purpose: the face contour is on (144 joints; the class defaults to
/// 127) and hands are 45 axis-angle values unless `use_pca` is set (the class
/// defaults to 6 PCA components).
#[derive(Config, Debug, PartialEq)]
pub struct SmplxConfig {
    /// Shape coefficients β read from the input (≤ the file's shape space).
    #[config(default = 10)]
    pub num_betas: usize,
    /// Expression coefficients ψ (≤ the file's expression space).
    #[config(default = 10)]
    pub num_expression: usize,
    /// Hand poses are PCA coefficients rather than 45 axis-angle values.
    #[config(default = false)]
    pub use_pca: bool,
    #[config(default = 6)]
    pub num_pca_comps: usize,
    /// Do not add the model's mean hand pose.
    #[config(default = false)]
    pub flat_hand_mean: bool,
    /// Append the 17 dynamic contour landmarks (144 joints, else 127).
    #[config(default = true)]
    pub use_face_contour: bool,
}

/// The model's constant tensors, ready on a device.
#[derive(Debug, Clone)]
pub struct Smplx<B: Backend> {
    pub config: SmplxConfig,
    /// Every vertex: what a mesh is drawn, exported or scored from.
    full: Skin<B>,
    /// Only the vertices the extra joints and the landmarks read: what
    /// [`Smplx::forward_joints`] skins (keypoint losses, reprojection).
    sparse: Skin<B>,
    /// Rest joints of the template `[1, 55*3]` and their shape directions
    /// `[β+ψ, 55*3]`: the joint regressor folded into the shape space once,
    /// so the forward pass never multiplies by the 55×V regressor.
    joint_template: Tensor<B, 2>,
    joint_shapedirs: Tensor<B, 2>,
    /// Joints grouped by depth in the tree; each level's parents are in the
    /// level before, so a level is one batched matrix product.
    levels: Vec<Level<B>>,
    /// Where each joint sits in the level-ordered stack.
    joint_order: Tensor<B, 1, Int>,
    /// Parent of each joint, with the root pointing at itself.
    parent_ids: Tensor<B, 1, Int>,
    root_mask: Tensor<B, 3>,
    /// Hand PCA rows in use `[C, 45]` and the mean pose added to the full
    /// pose (zeros except the hands) `[1, 165]`.
    hand_components_l: Tensor<B, 2>,
    hand_components_r: Tensor<B, 2>,
    pose_mean: Tensor<B, 2>,
    /// Static landmarks' barycentric weights `[1, 51, 3, 1]`.
    static_lmk_bary: Tensor<B, 4>,
    /// Contour landmarks' weights per yaw bin `[79, 17*3]`.
    contour_bary: Tensor<B, 2>,
}

/// The per-vertex tensors of a set of `n` vertices, and where the extra
/// joints and landmarks find their vertices within the set.
#[derive(Debug, Clone)]
struct Skin<B: Backend> {
    n: usize,
    /// Everything a rest vertex blends, one row per coordinate and vertex
    /// (row `c·n + i`: coordinate `c` of vertex `i`) `[3n, 486 + β+ψ + 1]`:
    /// pose correctives P, shape and expression directions S, template T̄.
    blend_dirs: Tensor<B, 2>,
    /// Skinning weights, transposed `[55, n]`.
    weights_t: Tensor<B, 2>,
    /// Positions of the 21 extra joints' vertices.
    vertex_joint_ids: Tensor<B, 1, Int>,
    /// Static landmarks: the positions of each landmark's three face corners `[51*3]`.
    static_lmk_vertices: Tensor<B, 1, Int>,
    /// Contour landmarks per yaw bin: corner positions `[79, 17*3]`.
    contour_vertices: Tensor<B, 2, Int>,
}

#[derive(Debug, Clone)]
struct Level<B: Backend> {
    joints: Tensor<B, 1, Int>,
    /// Positions of the parents in the stack of earlier levels.
    parent_slots: Tensor<B, 1, Int>,
    len: usize,
}

/// Vertices and joints of a batch of bodies.
#[derive(Debug, Clone)]
pub struct SmplxOutput<B: Backend> {
    /// `[B, V, 3]`
    pub vertices: Tensor<B, 3>,
    /// `[B, 144, 3]` (or 127 without the contour), reference package order.
    pub joints: Tensor<B, 3>,
}

/// Device-side parameters: one row per body, widths as in [`SmplxConfig`].
#[derive(Debug, Clone)]
pub struct SmplxInput<B: Backend> {
    pub betas: Tensor<B, 2>,
    pub expression: Tensor<B, 2>,
    pub global_orient: Tensor<B, 2>,
    pub body_pose: Tensor<B, 2>,
    pub jaw_pose: Tensor<B, 2>,
    pub leye_pose: Tensor<B, 2>,
    pub reye_pose: Tensor<B, 2>,
    pub left_hand_pose: Tensor<B, 2>,
    pub right_hand_pose: Tensor<B, 2>,
    pub transl: Tensor<B, 2>,
}

impl<B: Backend> SmplxInput<B> {
    /// Uploads host parameters.
    pub fn from_params(params: &SmplxParams, device: &B::Device) -> Self {
        let up = |rows: &Vec<Vec<f32>>| {
            let width = rows.first().map_or(0, Vec::len);
            let flat: Vec<f32> = rows.iter().flatten().copied().collect();
            Tensor::<B, 2>::from_data(
                TensorData::new(flat, [rows.len(), width]).convert::<B::FloatElem>(),
                device,
            )
        };
        Self {
            betas: up(&params.betas),
            expression: up(&params.expression),
            global_orient: up(&params.global_orient),
            body_pose: up(&params.body_pose),
            jaw_pose: up(&params.jaw_pose),
            leye_pose: up(&params.leye_pose),
            reye_pose: up(&params.reye_pose),
            left_hand_pose: up(&params.left_hand_pose),
            right_hand_pose: up(&params.right_hand_pose),
            transl: up(&params.transl),
        }
    }
}

/// A configuration the model file cannot satisfy.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SmplxConfigError(String);

#[cfg(test)]
mod tests;
