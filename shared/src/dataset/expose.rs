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
use crate::smplx::joints::pose;
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
        if joints == 55 {
            params.set_full_pose(0, p, |values, _| values.to_vec());
        } else {
            // SMPL-X without the eyes (53 joints): the hands follow the jaw.
            let mut full = p[..pose::flat(pose::LEFT_EYE, 3).start].to_vec();
            full.extend([0.0; 6]);
            full.extend(&p[pose::flat(pose::LEFT_EYE, 3).start..]);
            params.set_full_pose(0, &full, |values, _| values.to_vec());
        }
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
