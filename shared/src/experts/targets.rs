//! What each expert learns for one crop, in its own conventions (body, face,
//! hand targets), and targets stacked into tensors for the loss.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use super::{aa, flat};
use crate::rotation::host::{Mat3, IDENTITY};

/// What an expert should predict for one crop (or what it did predict).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpertTarget {
    /// Row-major rotation matrices, [`ExpertKind::num_rotations`](crate::nets::ExpertKind::num_rotations) of them.
    pub rotations: Vec<[f32; 9]>,
    /// [`ExpertKind::num_rest`](crate::nets::ExpertKind::num_rest) values.
    pub rest: Vec<f32>,
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
