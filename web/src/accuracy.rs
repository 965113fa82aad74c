//! Scoring the page's predictions against ground truth, in the page, with
//! the library's own body model and metric: `body_joints` poses SMPL-X
//! parameters (a video's ground truth, or the mean body) with the embedded
//! mannequin, `pa_mpjpe_mm` compares two joint sets after a similarity
//! Procrustes alignment (`furpe::metrics`, as `furpe eval` does). The
//! browser tests use them to check that the trained student follows the
//! fake camera's ground truth better than the mean body does.

use burn::tensor::Tensor;
use furpe::metrics;
use furpe::smplx::joints::{NUM_BODY_JOINTS, NUM_JOINTS};
use furpe::smplx::params::ParamWidths;
use furpe::smplx::{SmplxConfig, SmplxInput, SmplxSequence};
use wasm_bindgen::prelude::*;

use crate::js_error;

type Cpu = burn::backend::Flex;

/// The 55 skeleton joints (metres, flattened `[55 * 3]`) of one body given
/// as SMPL-X parameter JSON (the `furpe body forward --params` format; a
/// missing key means zeros, so `"{}"` is the mean body), posed with the
/// embedded mannequin on the CPU. `flat_hand_mean`: hand poses are absolute
/// (`furpe synth`'s ground truth) rather than relative to the mean hand.
#[wasm_bindgen]
pub fn body_joints(params_json: &str, flat_hand_mean: bool) -> Result<Vec<f32>, JsValue> {
    let model = furpe::smplx::mannequin::mannequin();
    let widths = ParamWidths {
        max_betas: model.num_shape_space(),
        max_expression: model.num_expression_space(),
        ..ParamWidths::default()
    };
    let params = SmplxSequence::from_json(params_json, "ground-truth parameters", widths)
        .map_err(js_error)?
        .frames;
    if params.batch_size() != 1 {
        return Err(js_error(format!(
            "ground-truth parameters: expected one body, got {}",
            params.batch_size()
        )));
    }
    let width = |f: &Vec<Vec<f32>>| f.first().map_or(0, Vec::len);
    let device = Default::default();
    let layer = SmplxConfig::new()
        .with_num_betas(width(&params.betas))
        .with_num_expression(width(&params.expression))
        .with_flat_hand_mean(flat_hand_mean)
        .init::<Cpu>(&model, &device)
        .map_err(|e| js_error(format!("these parameters do not fit the mannequin: {e}")))?;
    let joints: Tensor<Cpu, 3> = layer
        .forward(SmplxInput::from_params(&params, &device))
        .joints;
    let data = burn::tensor::try_read_sync(furpe::readback::floats_async(joints))
        .ok_or_else(|| js_error("the CPU backend did not answer at once"))?
        .map_err(js_error)?;
    Ok(data[..NUM_JOINTS * 3].to_vec())
}

/// PA-MPJPE in millimetres over the 22 body joints (pelvis … wrists) of two
/// skeletons given as flattened `[≥ 22 * 3]` metres (the page's
/// `last_joints()`, or [`body_joints`]).
#[wasm_bindgen]
pub fn pa_mpjpe_mm(pred: &[f32], gt: &[f32]) -> Result<f64, JsValue> {
    let n = 1 + NUM_BODY_JOINTS;
    let points = |v: &[f32], what: &str| -> Result<Vec<[f64; 3]>, JsValue> {
        if v.len() < n * 3 {
            return Err(js_error(format!(
                "{what}: {} values, need the {n} body joints ({} values)",
                v.len(),
                n * 3
            )));
        }
        Ok(v[..n * 3]
            .chunks_exact(3)
            .map(|c| [c[0] as f64, c[1] as f64, c[2] as f64])
            .collect())
    };
    let (p, g) = (points(pred, "prediction")?, points(gt, "ground truth")?);
    metrics::pa_mpjpe(&p, &g)
        .map(|m| m * 1000.0)
        .map_err(|e| js_error(e.to_string()))
}
