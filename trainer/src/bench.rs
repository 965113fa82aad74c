//! `furpe bench …`: timings recorded in BENCHMARKS.md. Speed is measured
//! here, never asserted in tests.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::backend::Backend;
use furpe::smplx::{ParamWidths, SmplxConfig, SmplxInput, SmplxParams};

use crate::backend::{with_backend, BackendJob, BackendKind};

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// SMPL-X forward pass (vertices + 144 joints) at several batch sizes.
    Body(BodyBench),
    /// One training step of the student (forward, SMPL-X joints, keypoint +
    /// rotation losses, backward, Adam) on random data; the same workload as
    /// tools/bench_train_torch.py.
    Train(TrainBench),
    /// MediaPipe's models (read by furpe::tflite) on one input each, the
    /// same workload as tools/bench_mediapipe_tflite.py runs in the TFLite
    /// interpreter.
    Mediapipe(MediapipeBench),
}

#[derive(Debug, clap::Args)]
pub struct MediapipeBench {
    /// Timed runs per model (after 2 warm-up runs).
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// The `@mediapipe/holistic` package folder (default: as `furpe detect`).
    #[arg(long)]
    pub mediapipe: Option<PathBuf>,
    /// Also print where each model's time goes, by operator (CPU backends).
    #[arg(long)]
    pub profile: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

impl BackendJob for MediapipeBench {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        use burn::tensor::{Tensor, TensorData};
        use furpe::mediapipe::package::{ModelFile, Package};
        use furpe::tflite::{Graph, Model};
        let root = std::env::current_dir()?;
        let package = Package::find(self.mediapipe.as_deref(), &root)?;
        println!(
            "MediaPipe models on furpe::tflite, batch 1, backend {:?}",
            self.backend
        );
        for file in ModelFile::ALL {
            let bytes = package.model_bytes(file)?;
            let model = Model::parse(&bytes, file.stem())?;
            let graph = Graph::<B>::new(&model, &device)?;
            let size = file.input_size();
            // A fixed mid-grey input: the timing does not depend on values.
            let input = vec![0.5f32; 3 * size * size];
            let mut times = Vec::new();
            let mut by_kind: Vec<(&'static str, f64)> = Vec::new();
            for run in 0..self.runs + 2 {
                let x = Tensor::<B, 4>::from_data(
                    TensorData::new(input.clone(), [1, 3, size, size]),
                    &device,
                );
                let t = Instant::now();
                let mut last = Instant::now();
                let mut observe = |kind: &'static str| {
                    let now = Instant::now();
                    if self.profile && run >= 2 {
                        let ms = (now - last).as_secs_f64() * 1e3;
                        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
                            Some(entry) => entry.1 += ms,
                            None => by_kind.push((kind, ms)),
                        }
                    }
                    last = now;
                };
                let outputs = graph.forward_observed(x, &mut observe)?;
                // Read every output back: the time includes waiting for the device.
                for o in outputs {
                    let _ = o.data.into_data();
                }
                if run >= 2 {
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{:<28} {size:>3}²  median {:7.2} ms  min {:7.2} ms",
                file.stem(),
                times[times.len() / 2],
                times[0]
            );
            if self.profile {
                by_kind.sort_by(|a, b| b.1.total_cmp(&a.1));
                let total: f64 = by_kind.iter().map(|(_, ms)| ms).sum();
                let shares: Vec<String> = by_kind
                    .iter()
                    .take(5)
                    .map(|(k, ms)| format!("{k} {:.0} %", 100.0 * ms / total.max(1e-9)))
                    .collect();
                println!("{:<34} {}", "", shares.join(", "));
            }
        }
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct TrainBench {
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Crop side in pixels.
    #[arg(long, default_value_t = 64)]
    pub crop: usize,
    /// ResNet-18 stem width.
    #[arg(long, default_value_t = 16)]
    pub width: usize,
    /// Timed steps (after 2 warm-up steps).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Pose the whole mesh for the keypoint loss, as training did before
    /// the joints-only pass (`Smplx::forward_joints`), to time both.
    #[arg(long)]
    pub full_mesh: bool,
    /// Also print the median time of each stage (student forward, body
    /// model, losses, backward, Adam), each ended by a read of its result so
    /// that asynchronous backends finish it.
    #[arg(long)]
    pub profile: bool,
    /// Also write the results (and the stage medians with --profile) as
    /// JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

impl BackendJob for TrainBench {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        use burn::optim::{AdamConfig, GradientsParams, Optimizer};
        use burn::tensor::{Distribution, Tensor};
        use furpe::nets::{BlockKind, ResNetConfig, Student, StudentConfig, StudentInput};
        type A<B> = burn::backend::Autodiff<B>;
        anyhow::ensure!(self.steps >= 1, "--steps must be at least 1");
        let model =
            SmplxConfig::new().init::<A<B>>(&furpe::smplx::mannequin::mannequin(), &device)?;
        let config = StudentConfig::new()
            .with_backbone(
                ResNetConfig::new(BlockKind::Basic, [1, 1, 1, 1]).with_base_width(self.width),
            )
            .with_body_size(self.crop)
            .with_hidden(vec![256])
            .with_feature_dims([64, 64, 64]);
        let mut student: Student<A<B>> = config.init(&device);
        let mut optim = AdamConfig::new().init::<A<B>, Student<A<B>>>();
        let n = self.batch;
        let images = Tensor::<A<B>, 4>::random(
            [n, 3, self.crop, self.crop],
            Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let target_2d =
            Tensor::<A<B>, 3>::random([n, 144, 2], Distribution::Uniform(-1.0, 1.0), &device);
        let target_rot = Tensor::<A<B>, 2>::eye(3, &device)
            .reshape([1, 1, 3, 3])
            .expand([n, 55, 3, 3]);
        let mut times = Vec::new();
        const STAGES: [&str; 5] = [
            "student forward",
            "body model",
            "losses",
            "backward",
            "Adam",
        ];
        let mut stage_ms: Vec<Vec<f64>> = vec![Vec::new(); STAGES.len()];
        for step in 0..self.steps + 2 {
            let t = Instant::now();
            let mut mark = Instant::now();
            let mut lap = |stage: usize, done: &dyn Fn()| {
                if self.profile {
                    done();
                    if step >= 2 {
                        stage_ms[stage].push(mark.elapsed().as_secs_f64() * 1e3);
                    }
                    mark = Instant::now();
                }
            };
            let out = student.forward(
                StudentInput {
                    body: images.clone(),
                    detail: None,
                },
                &model,
            );
            lap(0, &|| {
                let _ = out.rotations.clone().into_data();
            });
            let joints = if self.full_mesh {
                out.posed(&model).joints
            } else {
                out.posed_joints(&model)
            };
            lap(1, &|| {
                let _ = joints.clone().into_data();
            });
            let projected = furpe::camera::weak_perspective(joints, out.camera.clone());
            let loss = (projected - target_2d.clone()).abs().mean()
                + (out.rotations.clone() - target_rot.clone()).square().mean();
            lap(2, &|| {
                let _ = loss.clone().into_data();
            });
            let grads = GradientsParams::from_grads(loss.backward(), &student);
            lap(3, &|| {});
            student = optim.step(1e-4, student, grads);
            lap(4, &|| {
                let _ = student.regressor.heads[0].weight.val().into_data();
            });
            // Wait for the device before stopping the clock.
            let _ = out.params.into_data();
            if step >= 2 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        let mut stages = serde_json::Map::new();
        if self.profile {
            for (name, ms) in STAGES.iter().zip(&mut stage_ms) {
                ms.sort_by(f64::total_cmp);
                let median = ms[ms.len() / 2];
                println!("  {name:<16} median {median:>8.1} ms");
                stages.insert(name.to_string(), median.into());
            }
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "student train step (ResNet-18 [1,1,1,1] width {}, {}x{} crops, batch {n}, SMPL-X joints {}, backend {:?}): median {:.1} ms, min {:.1} ms, {:.1} images/s",
            self.width,
            self.crop,
            self.crop,
            if self.full_mesh {
                "from the full mesh"
            } else {
                "alone"
            },
            self.backend,
            median,
            times[0],
            n as f64 / median * 1e3
        );
        if let Some(path) = &self.json {
            let row = serde_json::json!({
                "backend": format!("{:?}", self.backend),
                "batch": n,
                "crop": self.crop,
                "width": self.width,
                "steps": self.steps,
                "full_mesh": self.full_mesh,
                "median_ms": median,
                "min_ms": times[0],
                "stage_median_ms": stages,
            });
            furpe::io::write_bytes_atomic(path, serde_json::to_string_pretty(&row)?.as_bytes())?;
        }
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct BodyBench {
    /// Model file; default: the embedded mannequin (same counts as SMPL-X).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Batch sizes, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,32,256")]
    pub batch: Vec<usize>,
    /// Minimum timed iterations per batch size.
    #[arg(long, default_value_t = 10)]
    pub iters: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Time the joints-only pass (`Smplx::joints`: skeleton, vertex joints
    /// and landmarks, no mesh), what the training losses use.
    #[arg(long)]
    pub joints_only: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Body(args) => with_backend(args.backend, args),
        BenchCommand::Train(args) => with_backend(args.backend, args),
        BenchCommand::Mediapipe(args) => with_backend(args.backend, args),
    }
}

impl BackendJob for BodyBench {
    type Output = ();
    fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
        let model = crate::body::load_model(self.model.as_deref())?;
        let layer = SmplxConfig::new().init::<B>(&model, &device)?;
        println!(
            "SMPL-X forward ({}, 144 joints), backend {:?}",
            if self.joints_only {
                "joints only, no mesh".to_string()
            } else {
                format!("{} vertices", model.num_vertices())
            },
            self.backend
        );
        println!(
            "{:>6} {:>12} {:>12} {:>14}",
            "batch", "median ms", "min ms", "bodies/s"
        );
        let mut rows = Vec::new();
        for &batch in &self.batch {
            let params = bench_params(batch);
            let run_once = || {
                let input = SmplxInput::from_params(&params, &device);
                // Reading back forces lazy and asynchronous backends to finish.
                if self.joints_only {
                    let _ = layer.joints(input).into_data();
                } else {
                    let out = layer.forward(input);
                    let _ = out.vertices.into_data();
                    let _ = out.joints.into_data();
                }
            };
            run_once();
            run_once();
            let mut times = Vec::new();
            let start = Instant::now();
            while times.len() < self.iters
                || (start.elapsed().as_secs_f64() < 2.0 && times.len() < 1000)
            {
                let t = Instant::now();
                run_once();
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "{batch:>6} {median:>12.3} {:>12.3} {:>14.1}",
                times[0],
                batch as f64 / median * 1e3
            );
            rows.push(serde_json::json!({"batch": batch, "joints_only": self.joints_only, "median_ms": median, "min_ms": times[0], "iters": times.len()}));
        }
        if let Some(path) = &self.json {
            furpe::io::write_bytes_atomic(path, serde_json::to_string_pretty(&rows)?.as_bytes())?;
        }
        Ok(())
    }
}

/// Moderate, deterministic poses (the same for every run).
fn bench_params(batch: usize) -> SmplxParams {
    let mut params = SmplxParams::zeros(batch, ParamWidths::default());
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    for b in 0..batch {
        for row in [
            &mut params.betas[b],
            &mut params.expression[b],
            &mut params.global_orient[b],
            &mut params.body_pose[b],
            &mut params.jaw_pose[b],
            &mut params.left_hand_pose[b],
            &mut params.right_hand_pose[b],
        ] {
            row.iter_mut().for_each(|x| *x = next());
        }
    }
    params
}
