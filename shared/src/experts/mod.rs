//! Supervising and scoring the part experts on data with exact ground truth
//! (the synthetic world): the targets each expert learns (in its own
//! conventions), the training loss, the held-out errors against the
//! mean-parameter baseline, and the error of finished pseudo labels.
//!
//! Conventions (docs/method.md, "Expert conventions"):
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

mod camera;
mod expression;
mod loss;
mod mesh;
mod report;
mod targets;

pub use camera::*;
pub use expression::*;
pub use loss::*;
pub use mesh::*;
pub use report::*;
pub use targets::*;

use crate::rotation::host::{axis_angle_to_matrix, Mat3};

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

#[cfg(test)]
mod tests;
