//! ExPose's curated fits (`train.npz` / `val.npz`): SMPL-X fits to real
//! images with their OpenPose keypoints (docs/method.md, "Data
//! formats").
//!
//! Keys: `img_fns` (N strings), `betas` (N×10), `expression` (N×10),
//! `keypoints2D` (N×137×3, OpenPose body 25, hands 21 + 21, face 70) and
//! `pose` (N×55×3 = global, body 21, jaw, left eye, right eye, hands 15 + 15;
//! or N×53×3 without the eyes).

use std::io::{Read, Seek};

use crate::npz::{NpyData, NpzArchive, NpzError};
use crate::smplx::params::ParamWidths;
use crate::smplx::SmplxParams;

/// One fit: image name, keypoints and SMPL-X parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct CuratedFit {
    pub image: String,
    pub keypoints: Vec<[f32; 3]>,
    pub params: SmplxParams,
}

/// Reads every fit of an opened curated-fits archive.
pub fn read_curated_fits<R: Read + Seek>(
    npz: &mut NpzArchive<R>,
) -> Result<Vec<CuratedFit>, NpzError> {
    let names = match npz.read("img_fns")? {
        a if a.shape.len() == 1 => match a.data {
            NpyData::Str(s) => s,
            _ => return Err(bad(npz, "img_fns", "expected an array of strings".into())),
        },
        a => {
            return Err(NpzError::Shape {
                file: npz.name().to_string(),
                key: "img_fns".into(),
                found: a.shape,
                expected: "(N,)".into(),
            })
        }
    };
    let n = names.len();
    let betas = npz.read_f32("betas", &[Some(n), None])?;
    let expression = npz.read_f32("expression", &[Some(n), None])?;
    let keypoints = npz.read_f32("keypoints2D", &[Some(n), Some(137), Some(3)])?;
    let pose = npz.read_f32("pose", &[Some(n), None, Some(3)])?;
    let joints = pose.shape[1];
    if joints != 55 && joints != 53 {
        return Err(NpzError::Shape {
            file: npz.name().to_string(),
            key: "pose".into(),
            found: pose.shape.clone(),
            expected: format!("({n}, 55, 3) or ({n}, 53, 3)"),
        });
    }
    let (nb, ne) = (betas.shape[1], expression.shape[1]);
    let widths = ParamWidths {
        betas: nb,
        expression: ne,
        max_betas: nb,
        max_expression: ne,
        ..ParamWidths::default()
    };
    let mut fits = Vec::with_capacity(n);
    for (i, image) in names.into_iter().enumerate() {
        let p = &pose.data[i * joints * 3..(i + 1) * joints * 3];
        let mut params = SmplxParams::zeros(1, widths);
        params.betas[0] = betas.data[i * nb..(i + 1) * nb].to_vec();
        params.expression[0] = expression.data[i * ne..(i + 1) * ne].to_vec();
        params.global_orient[0] = p[0..3].to_vec();
        params.body_pose[0] = p[3..66].to_vec();
        params.jaw_pose[0] = p[66..69].to_vec();
        let hands = if joints == 55 {
            params.leye_pose[0] = p[69..72].to_vec();
            params.reye_pose[0] = p[72..75].to_vec();
            75
        } else {
            69
        };
        params.left_hand_pose[0] = p[hands..hands + 45].to_vec();
        params.right_hand_pose[0] = p[hands + 45..hands + 90].to_vec();
        let kp = &keypoints.data[i * 137 * 3..(i + 1) * 137 * 3];
        fits.push(CuratedFit {
            image,
            keypoints: kp.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
            params,
        });
    }
    Ok(fits)
}

fn bad<R: Read + Seek>(npz: &NpzArchive<R>, key: &str, reason: String) -> NpzError {
    NpzError::BadArray {
        file: npz.name().to_string(),
        key: key.to_string(),
        reason,
    }
}
