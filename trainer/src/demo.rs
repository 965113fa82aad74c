//! `furpe demo`: the main job on the embedded defaults.
//!
//! Until the training pipeline lands this writes the stand-in mannequin, its
//! rest mesh, a short posed sequence (a wave) through the real forward pass,
//! and a small synthetic world rendered from the same body, so a fresh
//! machine sees the finished stages work end to end.

use std::path::PathBuf;

use burn::tensor::backend::Backend;
use furpe::smplx::{
    mannequin::mannequin, Batching, ParamWidths, SmplxConfig, SmplxInput, SmplxParams,
};

use crate::backend::{with_backend, BackendJob, BackendKind};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Output directory.
    #[arg(long, default_value = "runs/demo")]
    pub out: PathBuf,
    /// Frames in the posed sequence.
    #[arg(long, default_value_t = 12)]
    pub frames: usize,
    /// Images in the small synthetic world (0 skips it).
    #[arg(long, default_value_t = 16)]
    pub synth_count: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    with_backend(args.backend, args)
}

impl BackendJob for DemoArgs {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.out)?;
        let model = mannequin();
        model.save(&self.out.join("mannequin.npz"))?;
        let rest: Vec<[f32; 3]> = model
            .v_template
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect();
        furpe::mesh::save_mesh(&self.out.join("mannequin_rest.obj"), &rest, &model.faces)?;

        let params = wave_sequence(self.frames);
        let layer = SmplxConfig::new().init::<B>(&model, &device)?;
        let output = layer.forward(SmplxInput::from_params(&params, &device));
        let vertices = output
            .vertices
            .into_data()
            .to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading vertices: {e:?}"))?;
        let v = model.num_vertices();
        for (i, frame) in vertices.chunks_exact(v * 3).enumerate() {
            let rows: Vec<[f32; 3]> = frame.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
            furpe::mesh::save_mesh(
                &self.out.join(format!("wave_{i:03}.obj")),
                &rows,
                &model.faces,
            )?;
        }
        furpe::io::write_bytes_atomic(
            &self.out.join("wave_params.json"),
            serde_json::to_string(&params.to_json(Batching::Batch))?.as_bytes(),
        )?;
        println!(
            "wrote {}: mannequin.npz (procedural stand-in for the licensed SMPL-X model), mannequin_rest.obj, wave_000..{:03}.obj, wave_params.json",
            self.out.display(),
            self.frames.saturating_sub(1)
        );

        // A small synthetic world from the same body model; its keypoints
        // come from the simulated OpenPose detector.
        let synth = crate::synth::SynthArgs {
            out: self.out.join("synth"),
            count: self.synth_count,
            seed: 0,
            model: Some(self.out.join("mannequin.npz")),
            size: 256,
            supersample: 2,
            overlays: true,
            contact_sheet: Some(self.out.join("synth_samples.png")),
            backend: self.backend,
        };
        if self.synth_count > 0 {
            crate::synth::run(synth).map_err(|e| {
                anyhow::anyhow!("synthetic world: {e:#} (the renderer needs a Vulkan driver; without a GPU install Mesa lavapipe: apt-get install mesa-vulkan-drivers)")
            })?;
        }
        Ok(())
    }
}

/// Arms down, then the right arm waves while the head turns and the mouth opens.
fn wave_sequence(frames: usize) -> SmplxParams {
    let mut p = SmplxParams::zeros(frames, ParamWidths::default());
    for f in 0..frames {
        let t = f as f32 / frames.max(1) as f32 * std::f32::consts::TAU;
        let body = &mut p.body_pose[f];
        // body_pose slot k is SMPL-X joint k+1.
        body[15 * 3 + 2] = -1.2; // left shoulder (16) down
                                 // The right arm points along −x in the rest pose: a negative z
                                 // rotation raises it, and the elbow swings the forearm up and down.
        body[16 * 3 + 2] = -0.6 - 0.2 * t.sin(); // right shoulder (17) raised
        body[18 * 3 + 2] = -1.2 + 0.5 * t.sin(); // right elbow (19) waves
        body[11 * 3 + 1] = 0.4 * t.sin(); // neck (12) turns
        body[3 * 3] = 0.3 * (1.0 - t.cos()); // left knee (4) bends
        p.jaw_pose[f][0] = 0.15 * (1.0 - t.cos());
        p.expression[f][0] = 1.5 * t.sin();
        p.right_hand_pose[f]
            .iter_mut()
            .step_by(3)
            .for_each(|x| *x = 0.3 * (1.0 + t.cos()));
    }
    p
}
