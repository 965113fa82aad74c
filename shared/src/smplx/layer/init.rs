//! `SmplxConfig::init`: the model file checked against the configuration
//! and uploaded once, as the full and the joints-only vertex sets, the
//! joint regressor folded into the shape space and the tree cut into levels.

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use super::{Level, Skin, Smplx, SmplxConfig, SmplxConfigError};
use crate::smplx::data::{
    NUM_CONTOUR_BINS, NUM_CONTOUR_LANDMARKS, NUM_POSE_BASIS, NUM_STATIC_LANDMARKS,
};
use crate::smplx::joints::{NUM_JOINTS, VERTEX_JOINT_IDS};
use crate::smplx::SmplxData;

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
        // One row per (coordinate, vertex), coordinate-major, of every
        // direction a rest vertex blends: the 486 pose correctives, the
        // shape and expression directions, then the template (whose input
        // is a constant 1). The forward then gets all three coordinate
        // planes of the posed rest mesh from one matrix product whose large
        // dimension comes first, the orientation CPU GEMMs run fastest.
        let s = self.shapedirs.len().checked_div(self.v * 3).unwrap_or(0);
        let width = NUM_POSE_BASIS + s + 1;
        let mut blend_dirs = Vec::with_capacity(3 * n * width);
        for c in 0..3 {
            for &i in ids {
                let at = i * 3 + c;
                blend_dirs.extend((0..NUM_POSE_BASIS).map(|k| self.posedirs[k * self.v * 3 + at]));
                blend_dirs.extend((0..s).map(|r| self.shapedirs[r * self.v * 3 + at]));
                blend_dirs.push(self.v_template[at]);
            }
        }
        // Transposed, so the skinning product's large dimension is last.
        let mut weights_t = Vec::with_capacity(NUM_JOINTS * n);
        for k in 0..NUM_JOINTS {
            weights_t.extend(ids.iter().map(|&i| self.weights[i * NUM_JOINTS + k]));
        }
        let renumber =
            |list: &[usize]| -> Vec<usize> { list.iter().map(|&i| position[i]).collect() };
        let contour: Vec<i64> = renumber(self.contour_vertices)
            .iter()
            .map(|&i| i as i64)
            .collect();
        Skin {
            n,
            blend_dirs: float2(&blend_dirs, [3 * n, width], device),
            weights_t: float2(&weights_t, [NUM_JOINTS, n], device),
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
            use crate::smplx::joints::pose::{flat, LEFT_HAND, RIGHT_HAND};
            pose_mean[flat(LEFT_HAND, 3)].copy_from_slice(&data.hands_mean_l);
            pose_mean[flat(RIGHT_HAND, 3)].copy_from_slice(&data.hands_mean_r);
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
