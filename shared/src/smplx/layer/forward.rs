//! The forward pass itself: shape blend, joint regression, pose correctives,
//! the kinematic chain and linear blend skinning, then the extra joints and
//! landmarks, over every vertex or only the ones the joints read.

use burn::tensor::{backend::Backend, Tensor};

use super::{Skin, Smplx, SmplxInput, SmplxOutput};
use crate::rotation::axis_angle_to_matrix;
use crate::smplx::data::{NUM_CONTOUR_LANDMARKS, NUM_POSE_BASIS, NUM_STATIC_LANDMARKS};
use crate::smplx::joints::NUM_JOINTS;

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
        let (planes, joints) = self.skin(&self.full, shape_coeffs, rotations);
        // Translated per coordinate plane, then laid out [B, V, 3]: a
        // broadcast add on the permuted mesh costs 20× more on CPU backends.
        let planes = planes
            .into_iter()
            .enumerate()
            .map(|(c, plane)| plane + transl.clone().slice([0..batch, c..c + 1]))
            .collect();
        SmplxOutput {
            vertices: Tensor::stack::<3>(planes, 0).permute([1, 2, 0]),
            joints: joints + transl.reshape([batch, 1, 3]),
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

    /// The posed vertices of `skin` as three coordinate planes `[B, n]` and
    /// every joint `[B, 144, 3]`, before translation, in five steps.
    fn skin(
        &self,
        skin: &Skin<B>,
        shape_coeffs: Tensor<B, 2>,
        rotations: Tensor<B, 4>,
    ) -> (Vec<Tensor<B, 2>>, Tensor<B, 3>) {
        let batch = rotations.dims()[0];
        let n = skin.n;
        let device = rotations.device();

        // 1. Rest joints, the regressor folded into the shape space.
        let rest_joints = (self.joint_template.clone()
            + shape_coeffs.clone().matmul(self.joint_shapedirs.clone()))
        .reshape([batch, NUM_JOINTS, 3]);

        // 2. Shape blend and pose correctives, one product:
        // Tₚ = T̄ + S·[β;ψ] + P·vec(R − I), as three coordinate planes.
        let identity = Tensor::<B, 2>::eye(3, &device).reshape([1, 1, 3, 3]);
        let pose_feature = (rotations.clone().slice([0..batch, 1..NUM_JOINTS]) - identity)
            .reshape([batch, NUM_POSE_BASIS]);
        let blend_input = Tensor::cat(
            vec![
                pose_feature,
                shape_coeffs,
                Tensor::ones([batch, 1], &device),
            ],
            1,
        ); // [B, 486 + β+ψ + 1]
        let posed_vertices = skin
            .blend_dirs
            .clone()
            .matmul(blend_input.transpose()) // [3n, B]
            .reshape([3, n, batch])
            .swap_dims(1, 2); // [3, B, n]

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

        // The per-vertex blend of the transforms, [12B, 55] @ [55, n]: each
        // of the 12 entries comes out as a contiguous [B, n] plane, so the
        // transform is applied with whole-plane multiply-adds (a broadcast
        // [B, n, 3, 4] product and a permute cost 5× more on CPU backends).
        let blended = joint_transforms
            .permute([2, 3, 0, 1])
            .reshape([12 * batch, NUM_JOINTS])
            .matmul(skin.weights_t.clone())
            .reshape([3, 4, batch, n]);
        let entry = |r: usize, c: usize| {
            blended
                .clone()
                .slice([r..r + 1, c..c + 1])
                .reshape([batch, n])
        };
        let coordinate = |c: usize| posed_vertices.clone().narrow(0, c, 1).reshape([batch, n]);
        let (x, y, z) = (coordinate(0), coordinate(1), coordinate(2));
        let planes: Vec<Tensor<B, 2>> = (0..3)
            .map(|r| {
                entry(r, 0) * x.clone()
                    + entry(r, 1) * y.clone()
                    + entry(r, 2) * z.clone()
                    + entry(r, 3)
            })
            .collect();
        let vertices = Tensor::stack::<3>(planes.clone(), 0).permute([1, 2, 0]); // [B, n, 3]

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
        (planes, Tensor::cat(joints, 1))
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
