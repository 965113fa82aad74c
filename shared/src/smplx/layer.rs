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

use burn::config::Config;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use super::data::{NUM_CONTOUR_BINS, NUM_CONTOUR_LANDMARKS, NUM_POSE_BASIS, NUM_STATIC_LANDMARKS};
use super::joints::{NUM_JOINTS, VERTEX_JOINT_IDS};
use super::params::SmplxParams;
use super::SmplxData;
use crate::rotation::axis_angle_to_matrix;

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
    /// Rest vertices, flattened `[1, n*3]`.
    v_template: Tensor<B, 2>,
    /// Selected shape and expression directions `[β+ψ, n*3]`.
    shapedirs: Tensor<B, 2>,
    /// Pose correctives `[486, n*3]`.
    posedirs: Tensor<B, 2>,
    /// Skinning weights `[n, 55]`.
    weights: Tensor<B, 2>,
    /// Positions of the 21 extra joints' vertices.
    vertex_joint_ids: Tensor<B, 1, Int>,
    /// Static landmarks: the positions of each landmark's three face corners `[51*3]`.
    static_lmk_vertices: Tensor<B, 1, Int>,
    /// Contour landmarks per yaw bin: corner positions `[79, 17*3]`.
    contour_vertices: Tensor<B, 2, Int>,
}

/// Host copies of the model's per-vertex arrays, from which both vertex
/// sets are cut.
struct HostSkin<'a> {
    v: usize,
    v_template: &'a [f32],
    /// `[S, V*3]`
    shapedirs: &'a [f32],
    /// `[486, V*3]`
    posedirs: &'a [f32],
    /// `[V, 55]`
    weights: &'a [f32],
    vertex_joint_ids: &'a [usize],
    static_lmk_vertices: &'a [usize],
    contour_vertices: &'a [usize],
}

impl HostSkin<'_> {
    /// The tensors of the vertices `ids` (ascending, unique), with the
    /// landmark indices renumbered into positions within `ids`.
    fn upload<B: Backend>(&self, ids: &[usize], device: &B::Device) -> Skin<B> {
        let n = ids.len();
        let mut position = vec![usize::MAX; self.v];
        for (p, &i) in ids.iter().enumerate() {
            position[i] = p;
        }
        let columns = |rows: usize, data: &[f32]| -> Vec<f32> {
            let mut out = Vec::with_capacity(rows * n * 3);
            for r in 0..rows {
                let row = &data[r * self.v * 3..(r + 1) * self.v * 3];
                for &i in ids {
                    out.extend_from_slice(&row[i * 3..i * 3 + 3]);
                }
            }
            out
        };
        let s = self.shapedirs.len().checked_div(self.v * 3).unwrap_or(0);
        let mut weights = Vec::with_capacity(n * NUM_JOINTS);
        for &i in ids {
            weights.extend_from_slice(&self.weights[i * NUM_JOINTS..(i + 1) * NUM_JOINTS]);
        }
        let renumber =
            |list: &[usize]| -> Vec<usize> { list.iter().map(|&i| position[i]).collect() };
        let contour: Vec<i64> = renumber(self.contour_vertices)
            .iter()
            .map(|&i| i as i64)
            .collect();
        Skin {
            n,
            v_template: float2(&columns(1, self.v_template), [1, n * 3], device),
            shapedirs: float2(&columns(s, self.shapedirs), [s, n * 3], device),
            posedirs: float2(
                &columns(NUM_POSE_BASIS, self.posedirs),
                [NUM_POSE_BASIS, n * 3],
                device,
            ),
            weights: float2(&weights, [n, NUM_JOINTS], device),
            vertex_joint_ids: int1(&renumber(self.vertex_joint_ids), device),
            static_lmk_vertices: int1(&renumber(self.static_lmk_vertices), device),
            contour_vertices: Tensor::<B, 1, Int>::from_data(
                TensorData::new(contour, [NUM_CONTOUR_BINS * NUM_CONTOUR_LANDMARKS * 3]),
                device,
            )
            .reshape([NUM_CONTOUR_BINS, NUM_CONTOUR_LANDMARKS * 3]),
        }
    }

    /// Every vertex an extra joint or a landmark reads, ascending.
    fn read_by_joints(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self
            .vertex_joint_ids
            .iter()
            .chain(self.static_lmk_vertices)
            .chain(self.contour_vertices)
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
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

impl SmplxConfig {
    /// Uploads the model to `device`, keeping only the shape, expression and
    /// PCA directions the configuration uses.
    pub fn init<B: Backend>(
        &self,
        data: &SmplxData,
        device: &B::Device,
    ) -> Result<Smplx<B>, SmplxConfigError> {
        let v = data.num_vertices();
        if self.num_betas > data.num_shape_space() {
            return Err(SmplxConfigError(format!(
                "{} betas requested, the model file has {} shape directions",
                self.num_betas,
                data.num_shape_space()
            )));
        }
        if self.num_expression > data.num_expression_space() {
            return Err(SmplxConfigError(format!(
                "{} expression coefficients requested, the model file has {}",
                self.num_expression,
                data.num_expression_space()
            )));
        }
        if self.use_pca && !(1..=45).contains(&self.num_pca_comps) {
            return Err(SmplxConfigError(format!(
                "--num-pca-comps must be in 1..=45, got {}",
                self.num_pca_comps
            )));
        }
        let columns: Vec<usize> = (0..self.num_betas)
            .chain((0..self.num_expression).map(|i| data.expression_offset() + i))
            .collect();
        let s = columns.len();

        // Shape directions as [S, V*3] and, folded through the regressor, [S, 55*3].
        let mut shapedirs = vec![0f32; s * v * 3];
        for (row, &col) in columns.iter().enumerate() {
            for i in 0..v * 3 {
                shapedirs[row * v * 3 + i] = data.shapedirs[i * data.num_shapedirs + col];
            }
        }
        let regress = |field: &dyn Fn(usize) -> f32| -> Vec<f32> {
            // J = 𝒥 · field, accumulated in f64.
            let mut out = vec![0f32; NUM_JOINTS * 3];
            for j in 0..NUM_JOINTS {
                let row = &data.j_regressor[j * v..(j + 1) * v];
                let mut acc = [0f64; 3];
                for (vi, &w) in row.iter().enumerate() {
                    if w != 0.0 {
                        for (c, a) in acc.iter_mut().enumerate() {
                            *a += w as f64 * field(vi * 3 + c) as f64;
                        }
                    }
                }
                for c in 0..3 {
                    out[j * 3 + c] = acc[c] as f32;
                }
            }
            out
        };
        let joint_template = regress(&|i| data.v_template[i]);
        let mut joint_shapedirs = Vec::with_capacity(s * NUM_JOINTS * 3);
        for row in 0..s {
            joint_shapedirs.extend(regress(&|i| shapedirs[row * v * 3 + i]));
        }
        let mut posedirs = vec![0f32; NUM_POSE_BASIS * v * 3];
        for i in 0..v * 3 {
            for k in 0..NUM_POSE_BASIS {
                posedirs[k * v * 3 + i] = data.posedirs[i * NUM_POSE_BASIS + k];
            }
        }

        // Tree levels.
        let mut depth = [0usize; NUM_JOINTS];
        for j in 1..NUM_JOINTS {
            depth[j] = depth[data.parents[j] as usize] + 1;
        }
        let max_depth = depth.iter().copied().max().unwrap_or(0);
        let mut slot = [0usize; NUM_JOINTS];
        let mut next_slot = 0;
        let mut levels = Vec::new();
        for d in 0..=max_depth {
            let joints: Vec<usize> = (0..NUM_JOINTS).filter(|&j| depth[j] == d).collect();
            let parent_slots: Vec<usize> = joints
                .iter()
                .map(|&j| {
                    if j == 0 {
                        0
                    } else {
                        slot[data.parents[j] as usize]
                    }
                })
                .collect();
            for &j in &joints {
                slot[j] = next_slot;
                next_slot += 1;
            }
            levels.push(Level {
                len: joints.len(),
                joints: int1(&joints, device),
                parent_slots: int1(&parent_slots, device),
            });
        }
        let parent_ids: Vec<usize> = (0..NUM_JOINTS)
            .map(|j| data.parents[j].max(0) as usize)
            .collect();
        let mut root_mask = vec![1f32; NUM_JOINTS];
        root_mask[0] = 0.0;

        // Hands: PCA rows in use, and the mean pose added to the full pose.
        let comps = if self.use_pca { self.num_pca_comps } else { 45 };
        let mut pose_mean = vec![0f32; NUM_JOINTS * 3];
        if !self.flat_hand_mean {
            pose_mean[75..120].copy_from_slice(&data.hands_mean_l);
            pose_mean[120..165].copy_from_slice(&data.hands_mean_r);
        }

        // Landmarks: resolve faces to vertex triples once.
        let face_vertices = |faces: &[u32]| -> Vec<usize> {
            faces
                .iter()
                .flat_map(|&f| data.faces[f as usize].map(|i| i as usize))
                .collect()
        };
        let static_lmk_vertices = face_vertices(&data.lmk_faces_idx);
        let contour_vertices = face_vertices(&data.dynamic_lmk_faces_idx);

        let host = HostSkin {
            v,
            v_template: &data.v_template,
            shapedirs: &shapedirs,
            posedirs: &posedirs,
            weights: &data.weights,
            vertex_joint_ids: &VERTEX_JOINT_IDS,
            static_lmk_vertices: &static_lmk_vertices,
            contour_vertices: &contour_vertices,
        };
        let all: Vec<usize> = (0..v).collect();
        Ok(Smplx {
            config: self.clone(),
            full: host.upload(&all, device),
            sparse: host.upload(&host.read_by_joints(), device),
            joint_template: float2(&joint_template, [1, NUM_JOINTS * 3], device),
            joint_shapedirs: float2(&joint_shapedirs, [s, NUM_JOINTS * 3], device),
            levels,
            joint_order: int1(&slot, device),
            parent_ids: int1(&parent_ids, device),
            root_mask: float2(&root_mask, [1, NUM_JOINTS], device).reshape([1, NUM_JOINTS, 1]),
            hand_components_l: float2(&data.hands_components_l[..comps * 45], [comps, 45], device),
            hand_components_r: float2(&data.hands_components_r[..comps * 45], [comps, 45], device),
            pose_mean: float2(&pose_mean, [1, NUM_JOINTS * 3], device),
            static_lmk_bary: float2(&data.lmk_bary_coords, [NUM_STATIC_LANDMARKS, 3], device)
                .reshape([1, NUM_STATIC_LANDMARKS, 3, 1]),
            contour_bary: float2(
                &data.dynamic_lmk_bary_coords,
                [NUM_CONTOUR_BINS, NUM_CONTOUR_LANDMARKS * 3],
                device,
            ),
        })
    }
}

impl<B: Backend> Smplx<B> {
    pub fn num_vertices(&self) -> usize {
        self.full.n
    }

    /// Forward pass from axis-angle parameters (the reference package's inputs).
    pub fn forward(&self, input: SmplxInput<B>) -> SmplxOutput<B> {
        let (shape_coeffs, rotations, transl) = self.rotations_of(input);
        self.forward_rotations(shape_coeffs, rotations, transl)
    }

    /// Axis-angle parameters → shape coefficients `[B, β+ψ]`, rotation
    /// matrices with the hand mean added `[B, 55, 3, 3]` and translation.
    pub fn rotations_of(&self, input: SmplxInput<B>) -> (Tensor<B, 2>, Tensor<B, 4>, Tensor<B, 2>) {
        let batch = input.global_orient.dims()[0];
        let (left_hand, right_hand) = if self.config.use_pca {
            (
                input.left_hand_pose.matmul(self.hand_components_l.clone()),
                input.right_hand_pose.matmul(self.hand_components_r.clone()),
            )
        } else {
            (input.left_hand_pose, input.right_hand_pose)
        };
        let full_pose = Tensor::cat(
            vec![
                input.global_orient,
                input.body_pose,
                input.jaw_pose,
                input.leye_pose,
                input.reye_pose,
                left_hand,
                right_hand,
            ],
            1,
        ) + self.pose_mean.clone(); // [B, 165]
        let rotations = axis_angle_to_matrix(full_pose.reshape([batch * NUM_JOINTS, 3]))
            .reshape([batch, NUM_JOINTS, 3, 3]);
        let shape_coeffs = Tensor::cat(vec![input.betas, input.expression], 1);
        (shape_coeffs, rotations, input.transl)
    }

    /// Forward pass from rotation matrices, the form regressors predict.
    ///
    /// `shape_coeffs` `[B, β+ψ]` (betas then expression), `rotations`
    /// `[B, 55, 3, 3]` (full pose: the hand mean is *not* added here),
    /// `transl` `[B, 3]`.
    pub fn forward_rotations(
        &self,
        shape_coeffs: Tensor<B, 2>,
        rotations: Tensor<B, 4>,
        transl: Tensor<B, 2>,
    ) -> SmplxOutput<B> {
        let batch = rotations.dims()[0];
        let (vertices, joints) = self.skin(&self.full, shape_coeffs, rotations);
        let offset = transl.reshape([batch, 1, 3]);
        SmplxOutput {
            vertices: vertices + offset.clone(),
            joints: joints + offset,
        }
    }

    /// The joints of [`Self::forward_rotations`] `[B, 144, 3]` (or 127)
    /// without the mesh: the skeleton, and of the vertices only those the
    /// extra joints and the landmarks read (a few hundred of 10 475), go
    /// through the pose correctives and the skinning. Each joint is the same
    /// sum over the same terms as in the full pass; only the matrix
    /// products' blocking differs, so the two agree to float rounding
    /// (tested). Keypoint losses, reprojection and selection need nothing
    /// more.
    pub fn forward_joints(
        &self,
        shape_coeffs: Tensor<B, 2>,
        rotations: Tensor<B, 4>,
        transl: Tensor<B, 2>,
    ) -> Tensor<B, 3> {
        let batch = rotations.dims()[0];
        let (_, joints) = self.skin(&self.sparse, shape_coeffs, rotations);
        joints + transl.reshape([batch, 1, 3])
    }

    /// [`Self::forward_joints`] from axis-angle parameters.
    pub fn joints(&self, input: SmplxInput<B>) -> Tensor<B, 3> {
        let (shape_coeffs, rotations, transl) = self.rotations_of(input);
        self.forward_joints(shape_coeffs, rotations, transl)
    }

    /// The posed vertices of `skin` `[B, n, 3]` and every joint `[B, 144, 3]`,
    /// before translation, in five steps.
    fn skin(
        &self,
        skin: &Skin<B>,
        shape_coeffs: Tensor<B, 2>,
        rotations: Tensor<B, 4>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let batch = rotations.dims()[0];
        let n = skin.n;
        let device = rotations.device();

        // 1. Shape blend: vertices and (regressor folded in) rest joints.
        let shaped_vertices =
            skin.v_template.clone() + shape_coeffs.clone().matmul(skin.shapedirs.clone()); // [B, n*3]
        let rest_joints = (self.joint_template.clone()
            + shape_coeffs.matmul(self.joint_shapedirs.clone()))
        .reshape([batch, NUM_JOINTS, 3]);

        // 2. Pose correctives from the 54 non-root rotations.
        let identity = Tensor::<B, 2>::eye(3, &device).reshape([1, 1, 3, 3]);
        let pose_feature = (rotations.clone().slice([0..batch, 1..NUM_JOINTS]) - identity)
            .reshape([batch, NUM_POSE_BASIS]);
        let posed_vertices = shaped_vertices + pose_feature.matmul(skin.posedirs.clone()); // [B, n*3]

        // 3. The kinematic chain.
        let world = self.chain(rotations, rest_joints.clone()); // [B, 55, 3, 4]
        let world_rotation = world.clone().slice([0..batch, 0..NUM_JOINTS, 0..3, 0..3]);
        let posed_joints = world
            .clone()
            .slice([0..batch, 0..NUM_JOINTS, 0..3, 3..4])
            .reshape([batch, NUM_JOINTS, 3]);

        // 4. Skinning. Gₖ(θ,J)·Gₖ(0,J)⁻¹ = [R | t − R·jₖ]: transforms relative to rest.
        let rest_offset = world_rotation
            .clone()
            .matmul(rest_joints.reshape([batch, NUM_JOINTS, 3, 1]));
        let joint_transforms = Tensor::cat(
            vec![
                world_rotation.clone(),
                posed_joints.clone().reshape([batch, NUM_JOINTS, 3, 1]) - rest_offset,
            ],
            3,
        ); // [B, 55, 3, 4]
           // Blend per vertex: [n, 55] @ [55, B*12] keeps it one large 2D product.
        let blended = skin
            .weights
            .clone()
            .matmul(
                joint_transforms
                    .reshape([batch, NUM_JOINTS, 12])
                    .swap_dims(0, 1)
                    .reshape([NUM_JOINTS, batch * 12]),
            )
            .reshape([n, batch, 12])
            .swap_dims(0, 1)
            .reshape([batch, n, 3, 4]);
        let homogeneous = Tensor::cat(
            vec![
                posed_vertices.reshape([batch, n, 3]),
                Tensor::ones([batch, n, 1], &device),
            ],
            2,
        )
        .reshape([batch, n, 1, 4]);
        let vertices = (blended * homogeneous).sum_dim(3).reshape([batch, n, 3]);

        // 5. The joints the reference package appends: vertex joints and landmarks.
        let mut joints = vec![
            posed_joints,
            vertices.clone().select(1, skin.vertex_joint_ids.clone()),
            self.static_landmarks(skin, vertices.clone()),
        ];
        if self.config.use_face_contour {
            let neck_rotation = world_rotation
                .slice([0..batch, 12..13])
                .reshape([batch, 3, 3]);
            joints.push(self.contour_landmarks(skin, vertices.clone(), neck_rotation));
        }
        (vertices, Tensor::cat(joints, 1))
    }

    /// The 55 posed skeleton joints `[B, 55, 3]` alone (no vertices, no
    /// translation): what a 2D keypoint loss on the skeleton needs, at a
    /// fraction of [`Self::forward_rotations`]'s cost. Same inputs.
    pub fn posed_joints(
        &self,
        shape_coeffs: Tensor<B, 2>,
        rotations: Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        let batch = rotations.dims()[0];
        let rest_joints = (self.joint_template.clone()
            + shape_coeffs.matmul(self.joint_shapedirs.clone()))
        .reshape([batch, NUM_JOINTS, 3]);
        self.chain(rotations, rest_joints)
            .slice([0..batch, 0..NUM_JOINTS, 0..3, 3..4])
            .reshape([batch, NUM_JOINTS, 3])
    }

    /// World transforms `[B, 55, 3, 4]` of every joint: Gₖ = G_parent(k) · [Rₖ | jₖ − j_parent(k)].
    fn chain(&self, rotations: Tensor<B, 4>, rest_joints: Tensor<B, 3>) -> Tensor<B, 4> {
        let batch = rotations.dims()[0];
        let device = rotations.device();
        let relative = rest_joints.clone()
            - rest_joints.select(1, self.parent_ids.clone()) * self.root_mask.clone();
        let bottom = Tensor::<B, 1>::from_floats([0.0, 0.0, 0.0, 1.0], &device)
            .reshape([1, 1, 1, 4])
            .expand([batch, NUM_JOINTS, 1, 4]);
        let local = Tensor::cat(
            vec![
                Tensor::cat(
                    vec![rotations, relative.reshape([batch, NUM_JOINTS, 3, 1])],
                    3,
                ),
                bottom,
            ],
            2,
        ); // [B, 55, 4, 4]

        let mut stack: Option<Tensor<B, 4>> = None;
        for level in &self.levels {
            let level_local = local.clone().select(1, level.joints.clone());
            let world = match &stack {
                None => level_local,
                Some(done) => done
                    .clone()
                    .select(1, level.parent_slots.clone())
                    .matmul(level_local),
            };
            stack = Some(match stack {
                None => world,
                Some(done) => Tensor::cat(vec![done, world], 1),
            });
            debug_assert!(level.len > 0);
        }
        let stack = stack.unwrap_or_else(|| Tensor::zeros([batch, NUM_JOINTS, 4, 4], &device));
        stack
            .select(1, self.joint_order.clone())
            .slice([0..batch, 0..NUM_JOINTS, 0..3, 0..4])
    }

    /// The 51 fixed face landmarks `[B, 51, 3]`.
    fn static_landmarks(&self, skin: &Skin<B>, vertices: Tensor<B, 3>) -> Tensor<B, 3> {
        let batch = vertices.dims()[0];
        let corners = vertices
            .select(1, skin.static_lmk_vertices.clone())
            .reshape([batch, NUM_STATIC_LANDMARKS, 3, 3]);
        (corners * self.static_lmk_bary.clone())
            .sum_dim(2)
            .reshape([batch, NUM_STATIC_LANDMARKS, 3])
    }

    /// The 17 jaw-contour landmarks `[B, 17, 3]`, taken from the table row of
    /// the head's yaw: the contour must follow the silhouette as the head turns.
    fn contour_landmarks(
        &self,
        skin: &Skin<B>,
        vertices: Tensor<B, 3>,
        neck_rotation: Tensor<B, 3>,
    ) -> Tensor<B, 3> {
        let batch = vertices.dims()[0];
        let entry = |r: usize, c: usize| {
            neck_rotation
                .clone()
                .slice([0..batch, r..r + 1, c..c + 1])
                .reshape([batch])
        };
        // Yaw of the head's world rotation (the Euler y angle), in degrees.
        let cos_yaw = (entry(0, 0).square() + entry(1, 0).square()).sqrt();
        let yaw = entry(2, 0).neg().atan2(cos_yaw);
        let degrees = yaw
            .mul_scalar(-180.0 / std::f64::consts::PI)
            .clamp(-39.0, 39.0)
            .round();
        // A non-finite neck rotation (huge or NaN parameters, NaN weights)
        // gives a NaN angle, whose cast to an index is out of range: it
        // takes the frontal bin, so the forward stays total and the NaN
        // shows in the vertices instead of aborting the process.
        let degrees = degrees.clone().mask_fill(degrees.is_nan(), 0.0);
        // Bins 0..=39 hold one turning direction, 40..=78 the other.
        let negative = degrees.clone().lower_elem(0.0);
        let bin = degrees
            .clone()
            .mask_where(negative, degrees.neg().add_scalar(39.0).clamp_max(78.0))
            .int();
        let ids = skin.contour_vertices.clone().select(0, bin.clone()); // [B, 51]
        let bary =
            self.contour_bary
                .clone()
                .select(0, bin)
                .reshape([batch, NUM_CONTOUR_LANDMARKS, 3, 1]);
        let gather_ids = ids
            .reshape([batch, NUM_CONTOUR_LANDMARKS * 3, 1])
            .repeat_dim(2, 3);
        let corners = vertices
            .gather(1, gather_ids)
            .reshape([batch, NUM_CONTOUR_LANDMARKS, 3, 3]);
        (corners * bary)
            .sum_dim(2)
            .reshape([batch, NUM_CONTOUR_LANDMARKS, 3])
    }
}

fn float2<B: Backend>(values: &[f32], shape: [usize; 2], device: &B::Device) -> Tensor<B, 2> {
    // Convert so an f64 (or f16) backend computes in its own precision.
    Tensor::from_data(
        TensorData::new(values.to_vec(), shape).convert::<B::FloatElem>(),
        device,
    )
}

fn int1<B: Backend>(values: &[usize], device: &B::Device) -> Tensor<B, 1, Int> {
    let v: Vec<i64> = values.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [values.len()]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smplx::{mannequin::mannequin, ParamWidths};
    use burn::backend::Flex;
    type B = Flex;

    /// Skeleton joint that mirrors each of the 55 joints.
    fn mirror_joint(j: usize) -> usize {
        match j {
            1 | 4 | 7 | 10 | 13 | 16 | 18 | 20 | 23 => j + 1,
            2 | 5 | 8 | 11 | 14 | 17 | 19 | 21 | 24 => j - 1,
            25..=39 => j + 15,
            40..=54 => j - 15,
            _ => j,
        }
    }

    #[test]
    fn flipped_parameters_mirror_the_skeleton() {
        let model = mannequin();
        let device = Default::default();
        let layer = SmplxConfig::new().init::<B>(&model, &device).unwrap();
        let mut p = SmplxParams::zeros(1, ParamWidths::default());
        let mut x = 0.37f32;
        for row in [
            &mut p.global_orient[0],
            &mut p.body_pose[0],
            &mut p.jaw_pose[0],
            &mut p.left_hand_pose[0],
            &mut p.right_hand_pose[0],
            &mut p.betas[0],
            &mut p.transl[0],
        ] {
            for v in row.iter_mut() {
                x = (x * 7.13 + 0.31).fract();
                *v = x - 0.5;
            }
        }
        let joints = |params: &SmplxParams| {
            let out = layer.forward(SmplxInput::from_params(params, &device));
            out.joints.into_data().to_vec::<f32>().unwrap()
        };
        let (a, b) = (joints(&p), joints(&p.flipped()));
        for j in 0..NUM_JOINTS {
            let m = mirror_joint(j);
            let want = [-a[m * 3], a[m * 3 + 1], a[m * 3 + 2]];
            for c in 0..3 {
                assert!(
                    (b[j * 3 + c] - want[c]).abs() < 1e-4,
                    "joint {j} axis {c}: {} vs {}",
                    b[j * 3 + c],
                    want[c]
                );
            }
        }
    }

    /// The joints-only pass gives the full pass's joints: every skeleton
    /// joint, vertex joint and landmark (the contour at several head turns).
    #[test]
    fn joints_alone_match_the_full_forward() {
        let model = mannequin();
        let device = Default::default();
        for contour in [true, false] {
            let layer = SmplxConfig::new()
                .with_use_face_contour(contour)
                .init::<B>(&model, &device)
                .unwrap();
            assert!(
                layer.sparse.n < model.num_vertices() / 4,
                "{}",
                layer.sparse.n
            );
            let mut p = SmplxParams::zeros(6, ParamWidths::default());
            let mut x = 0.11f32;
            for b in 0..6 {
                for row in [
                    &mut p.global_orient[b],
                    &mut p.body_pose[b],
                    &mut p.jaw_pose[b],
                    &mut p.left_hand_pose[b],
                    &mut p.right_hand_pose[b],
                    &mut p.betas[b],
                    &mut p.expression[b],
                    &mut p.transl[b],
                ] {
                    for v in row.iter_mut() {
                        x = (x * 7.13 + 0.31).fract();
                        *v = 1.5 * (x - 0.5);
                    }
                }
                // Head turns across the contour's yaw bins.
                p.body_pose[b][3 * 14 + 1] = -1.2 + 0.5 * b as f32;
            }
            let full = layer
                .forward(SmplxInput::from_params(&p, &device))
                .joints
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            let alone = layer
                .joints(SmplxInput::from_params(&p, &device))
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            assert_eq!(full.len(), alone.len());
            assert_eq!(full.len(), 6 * if contour { 144 } else { 127 } * 3);
            for (i, (a, b)) in full.iter().zip(&alone).enumerate() {
                assert!(
                    (a - b).abs() <= 2e-6,
                    "joint value {i}: full {a}, alone {b}"
                );
            }
        }
    }

    /// Huge or NaN parameters reach the face-contour bin as a NaN yaw; the
    /// forward must return (NaN shows in the output), never panic.
    #[test]
    fn non_finite_parameters_do_not_panic() {
        let model = mannequin();
        let device = Default::default();
        let layer = SmplxConfig::new().init::<B>(&model, &device).unwrap();
        for bad in [f32::NAN, f32::INFINITY, 1e20, -1e20] {
            let mut p = SmplxParams::zeros(1, ParamWidths::default());
            p.global_orient[0][1] = bad;
            p.betas[0][0] = bad;
            let out = layer.forward(SmplxInput::from_params(&p, &device));
            let v = out.vertices.into_data().to_vec::<f32>().unwrap();
            assert_eq!(v.len(), model.num_vertices() * 3);
        }
    }
}
