//! `furpe body …`: the body model from the command line (write the
//! mannequin, run the forward pass on parameter files, export meshes).

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::backend::Backend;
use furpe::smplx::{
    mannequin::mannequin, Batching, ParamWidths, SmplxConfig, SmplxData, SmplxInput, SmplxParams,
};

use crate::backend::{with_backend, BackendJob, BackendKind};

#[derive(Debug, clap::Subcommand)]
pub enum BodyCommand {
    /// Write the embedded default body model: a procedural mannequin in the
    /// official SMPL-X .npz layout. It is a STAND-IN for the licensed SMPL-X
    /// model (which cannot be shipped), not SMPL-X itself.
    Mannequin {
        /// Output .npz (or .obj/.ply for the rest-pose mesh).
        #[arg(long)]
        out: PathBuf,
    },
    /// Pose the body model: parameters JSON in, vertices and joints out.
    Forward(ForwardArgs),
}

#[derive(Debug, clap::Args)]
pub struct ForwardArgs {
    /// SMPL-X model in the official .npz layout (v1.0 or v1.1). Default: the
    /// embedded procedural mannequin (a stand-in for the licensed model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Parameters JSON with the reference package's names (betas, expression,
    /// global_orient, body_pose, jaw_pose, leye_pose, reye_pose,
    /// left_hand_pose, right_hand_pose, transl): flat arrays for one body,
    /// arrays of arrays for a batch; a missing key means zeros.
    #[arg(long)]
    pub params: PathBuf,
    /// Output: .json ({"vertices", "joints"}), or .obj / .ply (the mesh; the
    /// first body of a batch, or one file per body with a _NNN suffix).
    #[arg(long)]
    pub out: PathBuf,
    /// Do not add the model's mean hand pose (hand poses are absolute).
    #[arg(long)]
    pub flat_hand_mean: bool,
    /// Hand poses are N PCA coefficients instead of 45 axis-angle values.
    #[arg(long, value_name = "N")]
    pub num_pca_comps: Option<usize>,
    /// Leave out the 17 dynamic face-contour landmarks (127 joints, not 144).
    #[arg(long)]
    pub no_face_contour: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

pub fn run(command: BodyCommand) -> anyhow::Result<()> {
    match command {
        BodyCommand::Mannequin { out } => write_mannequin(&out),
        BodyCommand::Forward(args) => {
            let backend = args.backend;
            with_backend(backend, args)
        }
    }
}

/// The model at `path`, or the embedded mannequin.
pub fn load_model(path: Option<&Path>) -> anyhow::Result<SmplxData> {
    match path {
        Some(p) => SmplxData::load(p).map_err(anyhow::Error::from),
        None => Ok(mannequin()),
    }
}

fn write_mannequin(out: &Path) -> anyhow::Result<()> {
    let model = mannequin();
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if ext == "npz" {
        model.save(out)?;
    } else {
        let vertices: Vec<[f32; 3]> = model
            .v_template
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect();
        furpe::mesh::save_mesh(out, &vertices, &model.faces)?;
    }
    eprintln!(
        "wrote {} ({} vertices, {} faces): procedural mannequin, a stand-in for the licensed SMPL-X model",
        out.display(),
        model.num_vertices(),
        model.faces.len()
    );
    Ok(())
}

impl BackendJob for ForwardArgs {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        let model = load_model(self.model.as_deref())?;
        let text = std::fs::read_to_string(&self.params)
            .with_context(|| format!("{}: cannot read parameters", self.params.display()))?;
        let widths = ParamWidths {
            betas: 10.min(model.num_shape_space()),
            expression: 10.min(model.num_expression_space()),
            hand: self.num_pca_comps.unwrap_or(45),
            max_betas: model.num_shape_space(),
            max_expression: model.num_expression_space(),
        };
        let (params, batching) =
            SmplxParams::from_json(&text, &self.params.display().to_string(), widths)
                .map_err(anyhow::Error::msg)?;
        let config = SmplxConfig::new()
            .with_num_betas(params.betas[0].len())
            .with_num_expression(params.expression[0].len())
            .with_use_pca(self.num_pca_comps.is_some())
            .with_num_pca_comps(self.num_pca_comps.unwrap_or(6))
            .with_flat_hand_mean(self.flat_hand_mean)
            .with_use_face_contour(!self.no_face_contour);
        let batch = params.batch_size();
        anyhow::ensure!(
            batch <= MAX_BODIES,
            "{}: {batch} bodies; `furpe body forward` poses at most {MAX_BODIES} per call (their vertices alone take {:.1} GB): split the file",
            self.params.display(),
            (batch * model.num_vertices() * 12) as f64 / 1e9
        );
        let layer = config.init::<B>(&model, &device)?;
        // A bounded batch on the device at a time: its intermediate tensors
        // cost megabytes per body.
        let (mut vertices, mut joints) = (Vec::with_capacity(batch), Vec::with_capacity(batch));
        for start in (0..batch).step_by(DEVICE_BATCH) {
            let rows = params.rows(start..(start + DEVICE_BATCH).min(batch));
            let output = layer.forward(SmplxInput::from_params(&rows, &device));
            vertices.extend(per_body(
                furpe::readback::floats(output.vertices)?,
                rows.batch_size(),
            ));
            joints.extend(per_body(
                furpe::readback::floats(output.joints)?,
                rows.batch_size(),
            ));
        }
        write_output(&self.out, &vertices, &joints, &model.faces, batching)
    }
}

/// Bodies posed on the device at once by `furpe body forward`.
const DEVICE_BATCH: usize = 64;
/// Bodies one `furpe body forward` call accepts.
const MAX_BODIES: usize = 1 << 16;

/// Flat `[batch × K × 3]` values → each body's points.
fn per_body(values: Vec<f32>, batch: usize) -> Vec<Vec<[f32; 3]>> {
    let rows = furpe::readback::triples(&values);
    let per = rows.len() / batch.max(1);
    rows.chunks(per.max(1)).map(<[_]>::to_vec).collect()
}

/// Writes forward results as JSON, or meshes by extension.
pub fn write_output(
    out: &Path,
    vertices: &[Vec<[f32; 3]>],
    joints: &[Vec<[f32; 3]>],
    faces: &[[u32; 3]],
    batching: Batching,
) -> anyhow::Result<()> {
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "obj" | "ply" if vertices.len() == 1 => furpe::mesh::save_mesh(out, &vertices[0], faces)?,
        "obj" | "ply" => {
            let stem = out
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            for (i, body) in vertices.iter().enumerate() {
                furpe::mesh::save_mesh(
                    &out.with_file_name(format!("{stem}_{i:03}.{ext}")),
                    body,
                    faces,
                )?;
            }
        }
        "json" => {
            let json = match batching {
                Batching::Single => {
                    serde_json::json!({"vertices": vertices[0], "joints": joints[0]})
                }
                Batching::Batch => serde_json::json!({"vertices": vertices, "joints": joints}),
            };
            furpe::io::write_bytes_atomic(out, serde_json::to_string(&json)?.as_bytes())?;
        }
        _ => anyhow::bail!(
            "{}: unknown output format (expected .json, .obj or .ply)",
            out.display()
        ),
    }
    Ok(())
}
