//! `furpe demo`: the main job on the embedded defaults.
//!
//! Writes the stand-in mannequin, its rest mesh and a posed sequence, then
//! runs FuRPE end to end on the synthetic world: part experts trained on
//! part crops, pseudo labels, the three-step selection, the student
//! (configs/cpu-small.toml), and its evaluation against the best constant
//! (the mean of its training labels) on an unseen world; with MediaPipe's
//! body expert (the default) also the pose-head student on the same labels'
//! embeddings. Rerunning resumes the student's training.

use std::path::PathBuf;

use burn::tensor::backend::Backend;
use furpe::smplx::{
    mannequin::mannequin, Batching, ParamWidths, SmplxConfig, SmplxInput, SmplxParams,
};

use crate::backend::{with_backend, BackendJob, BackendKind};
use crate::train::config::TrainConfig;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Output directory.
    #[arg(long, default_value = "runs/demo")]
    pub out: PathBuf,
    /// Frames in the posed sequence.
    #[arg(long, default_value_t = 12)]
    pub frames: usize,
    /// Images in the synthetic training world (0: only the body model outputs).
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// Images in the unseen test world.
    #[arg(long, default_value_t = 100)]
    pub test_count: usize,
    /// Student epochs (default: configs/cpu-small.toml's).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Label with the experts in DIR (body.expert, face.expert,
    /// hand.expert; e.g. models/experts, the default world's) instead of
    /// training three small ones on the new world.
    #[arg(long, value_name = "DIR")]
    pub experts: Option<PathBuf>,
    /// The body expert: MediaPipe's trained body model, SMPL-X fitted to
    /// its landmarks (needs `npm ci --prefix models/mediapipe`), or a small
    /// network trained on the new world.
    #[arg(long, value_enum, default_value_t = crate::pipeline::BodyExpert::Mediapipe)]
    pub body_expert: crate::pipeline::BodyExpert,
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
        let vertices = furpe::readback::floats(output.vertices)?;
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

        if self.count == 0 {
            return Ok(());
        }
        // The whole FuRPE pipeline on the synthetic world: experts → labels →
        // selection → student, then an evaluation on a second, unseen world.
        let started = std::time::Instant::now();
        let world = self.out.join("world");
        // The CPU-sized body expert is weak (see README, "Data pipeline"): its
        // labels reproject with a median error of ~0.08 crop units, so the
        // paper-default threshold (0.01) would keep almost nothing. The demo
        // keeps the best quarter or so.
        std::fs::create_dir_all(&world)?;
        let selection = world.join("selection-config.json");
        furpe::io::write_bytes_atomic(&selection, br#"{"reprojection_max_mse": 0.05}"#)?;
        // MediaPipe's body labels are 0.72× the best constant at 256 px,
        // 0.80× at 128 px (docs/mediapipe_labels.md); the student's crops
        // cost the same either way. The unseen world has the same size.
        let size = match self.body_expert {
            crate::pipeline::BodyExpert::Mediapipe => 256,
            crate::pipeline::BodyExpert::Trained => 128,
        };
        let prepared = crate::pipeline::prepare(&crate::pipeline::PrepareArgs {
            out: world.clone(),
            count: self.count,
            seed: 0,
            size,
            epochs: 12,
            crop: 48,
            hand_crop: 48,
            hand_epochs: 12,
            width: 8,
            selection_config: Some(selection),
            experts: self.experts.clone(),
            body_expert: self.body_expert,
            backend: self.backend,
        })
        .map_err(|e| {
            anyhow::anyhow!("{e:#} (the synthetic world's renderer needs a Vulkan driver; without a GPU install Mesa lavapipe: apt-get install mesa-vulkan-drivers)")
        })?;
        let mut config: TrainConfig = toml::from_str(CPU_CONFIG)?;
        config.data = prepared.data.clone();
        config.out = self.out.join("student");
        if let Some(e) = self.epochs {
            config.epochs = e;
        }
        let resume = crate::train::checkpoint::latest(&config.out)?.is_some();
        let trained = crate::train::train(config.clone(), resume, self.backend)?;

        // An unseen world (another seed) for the final numbers.
        let test = self.out.join("test");
        crate::synth::run(crate::synth::SynthArgs {
            out: test.clone(),
            count: self.test_count,
            seed: 1000,
            model: None,
            size,
            supersample: 2,
            overlays: false,
            contact_sheet: Some(self.out.join("test_samples.png")),
            framing: crate::synth::Subject::Body,
            scene: crate::synth::Setting::Wild,
            backend: self.backend,
        })?;
        let student = config.out.join("student.furpe");
        let exe = std::env::current_exe()?;

        // With MediaPipe's body expert the labels hold its pose embedding:
        // the pose-head student (docs/pose_head.md) trains on them in a
        // couple of minutes and is scored beside the student.
        let head = self.out.join("head");
        let with_head = self.body_expert == crate::pipeline::BodyExpert::Mediapipe;
        if with_head {
            let status = std::process::Command::new(&exe)
                .args(["head", "train", "--overwrite", "--data"])
                .arg(&prepared.data)
                .arg("--out")
                .arg(&head)
                .status()?;
            anyhow::ensure!(status.success(), "furpe head train failed");
        }
        let mut predictors = vec![
            (
                "eval_student",
                vec![
                    "--checkpoint".to_string(),
                    student.display().to_string(),
                    "--constant".to_string(),
                    config.out.join("label_mean.json").display().to_string(),
                ],
            ),
            (
                "eval_baseline",
                vec![
                    "--baseline".to_string(),
                    "constant".to_string(),
                    "--constant".to_string(),
                    config.out.join("label_mean.json").display().to_string(),
                ],
            ),
        ];
        if with_head {
            predictors.push((
                "eval_head",
                vec![
                    "--head".to_string(),
                    head.join("head.furpe").display().to_string(),
                    "--constant".to_string(),
                    head.join("label_mean.json").display().to_string(),
                ],
            ));
        }
        for (name, predictor) in predictors {
            let status = std::process::Command::new(&exe)
                .args(["eval", "--dataset", "synthetic", "--root"])
                .arg(&test)
                .args(&predictor)
                .arg("--out")
                .arg(self.out.join(name))
                .status()?;
            anyhow::ensure!(status.success(), "furpe eval ({name}) failed");
        }
        let read = |name: &str| -> anyhow::Result<serde_json::Value> {
            let path = self.out.join(name).join("report.json");
            Ok(serde_json::from_str(&std::fs::read_to_string(&path)?)?)
        };
        let summary = serde_json::json!({
            "seconds": started.elapsed().as_secs_f64(),
            "prepare": prepared,
            "train": trained,
            "test_student": read("eval_student")?,
            "test_baseline": read("eval_baseline")?,
            "test_head": if with_head { Some(read("eval_head")?) } else { None },
        });
        furpe::io::write_bytes_atomic(
            &self.out.join("demo.json"),
            serde_json::to_string_pretty(&summary)?.as_bytes(),
        )?;
        println!(
            "\n== furpe demo: done in {:.0} s ==",
            started.elapsed().as_secs_f64()
        );
        for name in ["eval_baseline", "eval_student", "eval_head"] {
            if let Ok(table) = std::fs::read_to_string(self.out.join(name).join("report.md")) {
                println!("{table}");
            }
        }
        println!(
            "student: {} (open the live page with `scripts/web.sh serve` and drop it there)",
            student.display()
        );
        Ok(())
    }
}

/// The small student `furpe demo` trains on a 2-core CPU.
const CPU_CONFIG: &str = include_str!("../../configs/cpu-small.toml");

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
