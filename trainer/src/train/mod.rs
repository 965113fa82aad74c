//! `furpe train`: the FuRPE student learns from selected pseudo labels with
//! feature distillation and an EMA teacher (paper §3.3–3.4).
//!
//! A step: two augmented views of each image → the student on both (with
//! the supervised terms on each) → the teacher on the swapped views → the
//! consistency terms → Adam → the teacher's EMA update. Checkpoints hold the
//! student, the teacher, Adam's moments and the step; everything random is
//! a function of (seed, step), so `--resume` continues bit for bit.
//!
//! Why this file is long (~1 000 lines): the `Trainer`'s run, step, batches,
//! loss and validation share its private state; what needs none of it lives in
//! the sibling modules (`record`, `guard`, `schedule`, `checkpoint`, `data`).

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod ema;
pub mod guard;
pub mod parallel;
pub mod plot;
pub mod record;
pub mod schedule;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use furpe::crop::CropTransform;
use furpe::losses::{self, Targets};
use furpe::metrics::Part;
use furpe::nets::{PartFeatures, Student, StudentConfig, StudentInput, StudentOutput};
use furpe::rotation::axis_angle_to_matrix;
use furpe::smplx::joints::NUM_JOINTS;
use furpe::smplx::{Smplx, SmplxConfig, SmplxData, SmplxInput};

use crate::backend::{with_devices, BackendKind, DevicesJob};
use crate::rng::Rng;
use config::{EmaSchedule, TrainConfig};
use data::{Sample, TrainSet, BODY_CROP_SCALE};
use parallel::{ParallelArgs, Peer};
use record::{Baseline, HeldOut, LogLine, StepRecord, TrainSummary, ValidationRecord};
use schedule::LrSchedule;

/// The student's optimiser.
type StudentAdam<B> = burn::optim::adaptor::OptimizerAdaptor<burn::optim::Adam, Student<B>, B>;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Training configuration (TOML; configs/paper.toml lists every key). Without it, the
    /// paper's defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Dataset directory (overrides the config's `data`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run directory (overrides the config's `out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Continue from the run directory's newest intact checkpoint.
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Start afresh in a run directory that holds an earlier run, deleting
    /// its checkpoints and log (without it such a directory is refused).
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
    #[command(flatten)]
    pub parallel: ParallelArgs,
}

pub fn run(mut args: TrainArgs) -> anyhow::Result<()> {
    // MPI first: the rank decides who writes, the size how the batch splits.
    args.parallel.resolve()?;
    let parallel = args.parallel.clone();
    let result = run_resolved(args);
    if let Err(e) = &result {
        parallel.abort_on(e);
    }
    result
}

fn run_resolved(args: TrainArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => TrainConfig::load(path)?,
        None => TrainConfig::default(),
    };
    if let Some(d) = &args.data {
        config.data = d.clone();
    }
    if let Some(o) = &args.out {
        config.out = o.clone();
    }
    if let Some(e) = args.epochs {
        config.epochs = e;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    config.validate()?;
    args.parallel.validate(config.batch)?;
    // One rank cleans the directory (the others only read it).
    if args.overwrite && args.parallel.node_rank == 0 {
        // Under the lock, so a run still working there is not cut away.
        let _lock = crate::rundir::DirLock::acquire(&config.out, "run")?;
        for old in ["checkpoints", "log.jsonl"] {
            let path = config.out.join(old);
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("{}: cannot remove", path.display()))
                }
                _ => {}
            }
        }
    }
    let summary = train_on(config, args.resume, args.backend, args.parallel)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// Trains (or resumes) a run on one device and returns its final validation summary.
pub fn train(
    config: TrainConfig,
    resume: bool,
    backend: BackendKind,
) -> anyhow::Result<TrainSummary> {
    train_on(config, resume, backend, ParallelArgs::default())
}

/// Trains on this machine's share of a data-parallel run (see [`parallel`]).
pub fn train_on(
    config: TrainConfig,
    resume: bool,
    backend: BackendKind,
    parallel: ParallelArgs,
) -> anyhow::Result<TrainSummary> {
    parallel.validate(config.batch)?;
    anyhow::ensure!(
        !parallel.nccl || backend == BackendKind::Cuda,
        "--nccl sums on CUDA GPUs: run with --backend cuda (this run: {backend:?})"
    );
    let devices = parallel.devices;
    with_devices(
        backend,
        devices,
        Job {
            config,
            resume,
            peers: parallel.local_peers()?,
        },
    )
}

struct Job {
    config: TrainConfig,
    resume: bool,
    peers: Vec<Peer>,
}

impl DevicesJob for Job {
    type Output = TrainSummary;
    fn run<B: Backend>(self, devices: Vec<B::Device>) -> anyhow::Result<TrainSummary> {
        let Job {
            config,
            resume,
            mut peers,
        } = self;
        if peers.len() == 1 && peers[0].count == 1 {
            let device = devices.into_iter().next().context("no device")?;
            return Trainer::<Autodiff<B>>::new(config, device, peers.remove(0))?.run(resume);
        }
        // One thread per device. A peer that fails cannot be replaced and the
        // others would wait for it in the next all-reduce: end the process.
        std::thread::scope(|scope| {
            let handles: Vec<_> = peers
                .into_iter()
                .zip(devices)
                .map(|(peer, device)| {
                    let config = config.clone();
                    scope.spawn(move || {
                        let index = peer.index;
                        let result = Trainer::<Autodiff<B>>::new(config, device, peer)
                            .and_then(|t| t.run(resume));
                        if let Err(e) = &result {
                            eprintln!("\npeer {index}: {e:#}");
                            std::process::exit(1);
                        }
                        result
                    })
                })
                .collect();
            let mut summaries = Vec::new();
            for h in handles {
                summaries.push(
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a training thread panicked"))??,
                );
            }
            // This machine's first peer speaks for it (the leader on rank 0).
            Ok(summaries.remove(0))
        })
    }
}

/// What one step measured, for the log line and the progress bar.
struct StepDone {
    lr: f64,
    tau: f64,
    /// `L_total` averaged over the peers.
    loss: f32,
    terms: Vec<(&'static str, f32)>,
    load_s: f64,
    sync_s: f64,
}

/// The shuffled row order of the current epoch (a function of seed and epoch).
#[derive(Default)]
struct EpochOrder {
    epoch: Option<usize>,
    order: Vec<usize>,
}

impl EpochOrder {
    /// The global batch of `step` (every peer's rows).
    fn rows<B: AutodiffBackend>(&mut self, trainer: &Trainer<B>, step: usize) -> Vec<usize> {
        let epoch = step / trainer.steps_per_epoch;
        if self.epoch != Some(epoch) {
            self.order = trainer.set.epoch_order(trainer.config.seed, epoch);
            self.epoch = Some(epoch);
        }
        let batch = trainer.config.batch;
        let position = step % trainer.steps_per_epoch;
        self.order[position * batch..(position + 1) * batch].to_vec()
    }
}

/// One batch on the device.
struct Batch<B: Backend> {
    input: StudentInput<B>,
    targets: Targets<B>,
}

struct Trainer<B: AutodiffBackend> {
    config: TrainConfig,
    device: B::Device,
    peer: Peer,
    set: TrainSet,
    student_config: StudentConfig,
    loss: losses::LossConfig,
    model: Smplx<B>,
    model_inner: Smplx<B::InnerBackend>,
    model_data: SmplxData,
    /// Body models for the held-out ground truth (mean hand, flat hand),
    /// uploaded on first use and kept: validation runs every epoch.
    gt_layers: [std::sync::OnceLock<Smplx<B::InnerBackend>>; 2],
    steps_per_epoch: usize,
    total_steps: usize,
}

impl<B: AutodiffBackend> Trainer<B> {
    fn new(config: TrainConfig, device: B::Device, peer: Peer) -> anyhow::Result<Self> {
        let model_data = crate::body::load_model(config.model.as_deref())?;
        let hands_mean = [
            model_data.hands_mean_l.clone(),
            model_data.hands_mean_r.clone(),
        ];
        let set = TrainSet::open(
            &config.datasets(),
            config.use_selection,
            config.holdout_every,
            hands_mean,
        )?;
        anyhow::ensure!(
            set.train.len() >= config.batch,
            "{}: only {} usable training images (after the selection), fewer than one batch of {}; label more images or loosen the selection",
            config
                .datasets()
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            set.train.len(),
            config.batch
        );
        let student_config = config.student_config(set.feature_dims)?;
        let smplx = SmplxConfig::new();
        let model = smplx.init::<B>(&model_data, &device)?;
        let model_inner = smplx.init::<B::InnerBackend>(&model_data, &device)?;
        let steps_per_epoch = (set.train.len() / config.batch).max(1);
        let total_steps = steps_per_epoch
            .saturating_mul(config.epochs)
            .min(config.max_steps.unwrap_or(usize::MAX));
        let loss = config.loss_config()?;
        Ok(Self {
            config,
            device,
            peer,
            set,
            student_config,
            loss,
            model,
            model_inner,
            model_data,
            gt_layers: Default::default(),
            steps_per_epoch,
            total_steps,
        })
    }

    /// The run: lock the directory, start or resume, then steps with their
    /// log lines, checkpoints and per-epoch validation; export at the end.
    fn run(self, resume: bool) -> anyhow::Result<TrainSummary> {
        // Refused before the run directory is touched.
        anyhow::ensure!(
            self.config.max_minutes.is_none() || self.peer.count == 1,
            "max_minutes needs a run on one device in one process ({} peers here would have to agree on the step to stop at); use max_steps",
            self.peer.count
        );
        let out = self.config.out.clone();
        let leader = self.peer.leader();
        // Only the leader writes into the run directory, so only it locks it.
        let _lock = if leader {
            Some(crate::rundir::DirLock::acquire(&out, "run")?)
        } else {
            None
        };
        self.peer.register::<B::InnerBackend>(&self.device)?;
        let (mut student, mut teacher, mut optim, mut step) = self.start(&out, resume)?;
        self.peer
            .check_replicas::<B::InnerBackend, _>(&student.valid(), &self.device)?;
        let log_path = out.join("log.jsonl");
        let mut log = None;
        let mut baseline = None;
        if leader {
            std::fs::write(out.join("config.toml"), toml::to_string(&self.config)?)?;
            checkpoint::truncate_log(&log_path, step)?;
            log = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log_path)
                    .with_context(|| format!("{}: cannot open the log", log_path.display()))?,
            );
            baseline = self.baselines(&out)?;
        }
        let budget = self
            .config
            .max_minutes
            .map(|m| std::time::Duration::from_secs_f64(m * 60.0));
        let started = Instant::now();
        let first_step = step;
        let mut order = EpochOrder::default();
        let mut last = None;
        while step < self.total_steps {
            let epoch = step / self.steps_per_epoch;
            let rows = order.rows(&self, step);
            let (first_slot, rows) = self.peer.slice(&rows);
            let done;
            (student, teacher, done) =
                self.step(student, teacher, &mut optim, step, first_slot, rows)?;
            step += 1;

            // A `max_steps` or `max_minutes` budget ends the run mid-epoch:
            // close it like an epoch.
            let out_of_time = budget.is_some_and(|b| started.elapsed() >= b);
            let epoch_end =
                step % self.steps_per_epoch == 0 || step == self.total_steps || out_of_time;
            if epoch_end {
                self.peer
                    .check_replicas::<B::InnerBackend, _>(&student.valid(), &self.device)?;
            }
            let Some(log) = log.as_mut() else {
                continue;
            };
            let elapsed = started.elapsed().as_secs_f64();
            let rate = ((step - first_step) * self.config.batch) as f64 / elapsed.max(1e-9);
            if step % self.config.log_every.max(1) == 0 || step == self.total_steps {
                let record = LogLine::Step(StepRecord {
                    step,
                    epoch,
                    lr: done.lr,
                    tau: done.tau,
                    loss: done.loss,
                    images_per_s: rate,
                    load_s: done.load_s,
                    sync_s: done.sync_s,
                    terms: done
                        .terms
                        .iter()
                        .map(|(n, v)| (n.to_string(), *v))
                        .collect(),
                });
                writeln!(log, "{}", serde_json::to_string(&record)?)?;
            }
            progress(
                step,
                self.total_steps,
                epoch,
                done.loss,
                rate,
                elapsed,
                first_step,
            );

            if epoch_end || step % self.config.checkpoint_every.max(1) == 0 {
                checkpoint::save(&out, step, &student, &teacher, &optim)?;
            }
            if epoch_end {
                let val = ValidationRecord {
                    step,
                    epoch: epoch + 1,
                    held_out: self.validate(Held::Student(&student.valid()))?,
                    baseline_pa_v2v_mm: baseline.map(|b| b.best_constant.pa_v2v_mm),
                    baseline_pa_mpjpe_mm: baseline.map(|b| b.best_constant.pa_mpjpe_mm),
                };
                writeln!(
                    log,
                    "{}",
                    serde_json::to_string(&LogLine::Validation { validation: val })?
                )?;
                if let (Some(v), Some(b)) = (val.held_out, baseline) {
                    eprintln!(
                        "\nepoch {}: held-out PA-V2V {:.1} mm, PA-MPJPE {:.1} mm (best constant {:.1} mm, {:.1} mm); spread of the predictions {:.1} mm (ground truth {:.1} mm)",
                        epoch + 1,
                        v.pa_v2v_mm,
                        v.pa_mpjpe_mm,
                        b.best_constant.pa_v2v_mm,
                        b.best_constant.pa_mpjpe_mm,
                        v.spread_mm.unwrap_or(f64::NAN),
                        v.ground_truth_spread_mm.unwrap_or(f64::NAN),
                    );
                }
                last = Some(val);
                log.flush()?;
                if let Err(e) = plot::curves(&log_path, &out.join("curves.png")) {
                    eprintln!("warning: could not draw the loss curves: {e:#}");
                }
            }
            if out_of_time && step < self.total_steps {
                eprintln!(
                    "\nmax_minutes: stopping at step {step} of {} ({:.1} min of training); --resume continues",
                    self.total_steps,
                    started.elapsed().as_secs_f64() / 60.0
                );
                break;
            }
        }
        self.peer.finish::<B::InnerBackend>()?;
        let mut summary = TrainSummary {
            steps: step,
            devices: self.peer.count,
            peer: self.peer.index,
            weights: parallel::digest(&student.valid())?,
            validation: last,
            baseline,
            student: None,
        };
        if !leader {
            return Ok(summary);
        }
        eprintln!();
        let bytes = furpe::nets::student_file::to_bytes(
            &student.valid(),
            &self.student_config,
            furpe::nets::student_file::Precision::F32,
            &format!("furpe train, {} steps, seed {}", step, self.config.seed),
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let exported = out.join("student.furpe");
        furpe::io::write_bytes_atomic(&exported, &bytes)?;
        summary.student = Some(exported);
        Ok(summary)
    }

    /// `init`: a student file's weights, refused unless its network is the
    /// one this run's configuration builds.
    fn initial_weights(&self, path: &std::path::Path) -> anyhow::Result<Student<B>> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path)
            .with_context(|| format!("init = {name}: cannot read the student"))?;
        let (student, config, _) =
            furpe::nets::student_file::from_bytes::<B>(&bytes, &name, &self.device)?;
        let (theirs, ours) = (
            serde_json::to_value(&config)?,
            serde_json::to_value(&self.student_config)?,
        );
        anyhow::ensure!(
            theirs == ours,
            "init = {name}: its network {theirs} is not the one this run builds from [student] and the labels' feature widths: {ours}"
        );
        if self.peer.leader() {
            eprintln!("starting from the weights of {name}");
        }
        Ok(student)
    }

    /// The networks and the optimiser at step 0, or from the newest intact
    /// checkpoint with `--resume`. A fresh start in a directory that holds
    /// checkpoints is refused.
    #[allow(clippy::type_complexity)]
    fn start(
        &self,
        out: &std::path::Path,
        resume: bool,
    ) -> anyhow::Result<(Student<B>, Student<B::InnerBackend>, StudentAdam<B>, usize)> {
        let (student, teacher) = {
            // Seeding is global on some backends: peers initialise one at a
            // time so that every replica starts from the same weights.
            let _one_at_a_time = parallel::INIT.lock().unwrap_or_else(|e| e.into_inner());
            B::seed(&self.device, self.config.seed);
            // A resumed run takes its weights from the checkpoint: `init` is
            // read only at the start.
            let student: Student<B> = match (&self.config.init, resume) {
                (Some(path), false) => self.initial_weights(path)?,
                _ => self.student_config.init(&self.device),
            };
            // Parameters initialise lazily: fix their values before the teacher copies them.
            ema::materialize(&student);
            // Replicas must name each gradient alike in the all-reduce.
            let student = furpe::nets::weights_file::renumber(student);
            let teacher = student.valid();
            (student, teacher)
        };
        let found = checkpoint::complete(out)?;
        if !resume {
            anyhow::ensure!(
                found.is_empty(),
                "{}: already holds a run ({} checkpoints, newest {}); pass --resume to continue it, --overwrite to start afresh, or choose another --out",
                out.display(),
                found.len(),
                found.first().map(|d| d.display().to_string()).unwrap_or_default()
            );
            return Ok((student, teacher, self.new_optim(), 0));
        }
        let resumed = checkpoint::newest_loadable(out, &found, |dir| {
            checkpoint::load(
                dir,
                student.clone(),
                teacher.clone(),
                self.new_optim(),
                &self.device,
            )
        })?;
        if self.peer.leader() {
            for (dir, e) in &resumed.skipped {
                eprintln!("warning: cannot resume from {}: {e}", dir.display());
            }
            let (_, _, _, step) = &resumed.value;
            eprintln!(
                "resuming from {} (step {step}){}",
                resumed.dir.display(),
                if resumed.skipped.is_empty() {
                    String::new()
                } else {
                    let names: Vec<String> = resumed
                        .skipped
                        .iter()
                        .map(|(d, _)| d.display().to_string())
                        .collect();
                    format!(
                        ", the newest intact checkpoint ({} skipped)",
                        names.join(", ")
                    )
                }
            );
        }
        Ok(resumed.value)
    }

    fn new_optim(&self) -> StudentAdam<B> {
        AdamConfig::new()
            .with_weight_decay(
                (self.config.weight_decay > 0.0)
                    .then(|| WeightDecayConfig::new(self.config.weight_decay as f32)),
            )
            .init::<B, Student<B>>()
    }

    /// The best constant (the training labels' mean, written to
    /// `label_mean.json`) and the zero-parameter body on the held-out images.
    fn baselines(&self, out: &std::path::Path) -> anyhow::Result<Option<Baseline>> {
        let label_mean = self.set.label_mean()?;
        furpe::io::write_bytes_atomic(
            &out.join("label_mean.json"),
            format!("{:#}\n", label_mean.to_json(furpe::smplx::Batching::Single)).as_bytes(),
        )?;
        let best_constant = self.validate(Held::Constant(&label_mean))?;
        let zero = furpe::smplx::SmplxParams::zeros(1, Default::default());
        let zero_body = self.validate(Held::Constant(&zero))?;
        let baseline = best_constant
            .zip(zero_body)
            .map(|(best_constant, zero_body)| Baseline {
                best_constant,
                zero_body,
            });
        let devices = if self.peer.nodes() > 1 {
            format!(
                ", batch split over {} devices on {} machines",
                self.peer.count,
                self.peer.nodes()
            )
        } else if self.peer.count > 1 {
            format!(", batch split over {} devices", self.peer.count)
        } else {
            String::new()
        };
        eprintln!(
            "{} training rows, {} held out; {} steps ({} per epoch){devices}",
            self.set.train.len(),
            self.set.holdout.len(),
            self.total_steps,
            self.steps_per_epoch,
        );
        match baseline {
            Some(b) => eprintln!(
                "best constant (the training labels' mean, label_mean.json): PA-V2V {:.1} mm, PA-MPJPE {:.1} mm (zero-parameter body: {:.1} mm, {:.1} mm)",
                b.best_constant.pa_v2v_mm,
                b.best_constant.pa_mpjpe_mm,
                b.zero_body.pa_v2v_mm,
                b.zero_body.pa_mpjpe_mm,
            ),
            None => eprintln!("no held-out ground truth: validation reports nothing"),
        }
        Ok(baseline)
    }

    /// One optimisation step, maths only: both views of this peer's rows →
    /// loss → all-reduced values and gradients (the NaN stop on both) →
    /// Adam → all-reduced BatchNorm statistics → the teacher's EMA update.
    fn step<O: Optimizer<Student<B>, B>>(
        &self,
        student: Student<B>,
        teacher: Student<B::InnerBackend>,
        optim: &mut O,
        step: usize,
        first_slot: usize,
        rows: &[usize],
    ) -> anyhow::Result<(Student<B>, Student<B::InnerBackend>, StepDone)> {
        let epoch = step / self.steps_per_epoch;
        let t0 = Instant::now();
        let (view_a, view_b) = self.batch(rows, first_slot, step)?;
        let load_s = t0.elapsed().as_secs_f64();

        B::seed(
            &self.device,
            self.config.seed
                ^ (step as u64).wrapping_mul(0x9E37_79B9)
                ^ (self.peer.index as u64).wrapping_mul(0x85EB_CA6B_0000),
        );
        let lr = self.lr_schedule().at(epoch);
        let tau = ema::tau(
            self.config.ema.tau,
            step,
            self.total_steps,
            self.config.ema.schedule == EmaSchedule::Cosine,
        );
        let (total, mut terms) = self.loss(&student, &teacher, view_a, view_b);
        let own: f32 = total.clone().into_scalar().elem::<f32>();
        // Every peer sees the same (mean) values, so all stop together on a NaN.
        let t_sync = Instant::now();
        let values = self.peer.mean_values::<B::InnerBackend>(
            std::iter::once(own)
                .chain(terms.iter().map(|t| t.1))
                .collect(),
            &self.device,
        )?;
        let mut sync_s = t_sync.elapsed().as_secs_f64();
        let loss = values[0];
        for (t, v) in terms.iter_mut().zip(&values[1..]) {
            t.1 = *v;
        }
        if let Some(bad) = guard::bad_terms(loss, &terms) {
            return Err(self.nan_stop(step, &bad));
        }
        let grads = GradientsParams::from_grads(total.backward(), &student);
        let t_sync = Instant::now();
        let grads = self.peer.mean_gradients(grads, &student)?;
        sync_s += t_sync.elapsed().as_secs_f64();
        // After the all-reduce: every peer checks the same values.
        if let Some(bad) = guard::bad_gradients(&grads, &student) {
            return Err(self.nan_stop(step, &bad));
        }
        let student = optim.step(lr, student, grads);
        let t_sync = Instant::now();
        let student = self.peer.mean_buffers(student)?;
        sync_s += t_sync.elapsed().as_secs_f64();
        let teacher = if self.config.ema.enabled {
            ema::update(teacher, student.valid(), tau)
        } else {
            teacher
        };
        Ok((
            student,
            teacher,
            StepDone {
                lr,
                tau,
                loss,
                terms,
                load_s,
                sync_s,
            },
        ))
    }

    /// The NaN stop's error: what went bad, and what is left to resume from.
    fn nan_stop(&self, step: usize, what: &str) -> anyhow::Error {
        let good = checkpoint::latest(&self.config.out)
            .ok()
            .flatten()
            .map_or("none yet".to_string(), |d| d.display().to_string());
        anyhow::anyhow!(
            "{what} at step {step}; training stopped before updating the weights. Last good checkpoint: {good}. Lower the learning rate or check the labels."
        )
    }

    /// The paper's schedule: lr, times `lr_drop` from `lr_drop_epoch`.
    fn lr_schedule(&self) -> LrSchedule {
        LrSchedule::StepDrop {
            lr: self.config.lr,
            drop_epoch: self.config.lr_drop_epoch,
            factor: self.config.lr_drop,
        }
    }

    /// Both views of a batch (the second only with EMA).
    /// `first_slot` is the global batch position of `rows[0]`: augmentation
    /// draws follow the global position, whatever the device count.
    fn batch(
        &self,
        rows: &[usize],
        first_slot: usize,
        step: usize,
    ) -> anyhow::Result<(Batch<B>, Option<Batch<B>>)> {
        let ema = &self.config.ema;
        let augment = &self.config.augment;
        let crop = self.student_config.body_size;
        let detail = self.student_config.detail_size();
        let spec = data::ViewSpec {
            augment,
            crop,
            detail,
        };
        let jobs: Vec<(usize, usize)> = rows
            .iter()
            .enumerate()
            .map(|(i, &r)| (first_slot + i, r))
            .collect();
        let jobs: Vec<(usize, usize, bool)> = jobs
            .into_iter()
            .flat_map(|(slot, r)| [(slot, r, false), (slot, r, true)])
            .filter(|&(_, _, second)| ema.enabled || !second)
            .collect();
        let samples = data::prepare(jobs, self.config.workers, |(slot, r, second)| {
            let row = &self.set.train[r];
            let image = self.set.image(row.annotation)?;
            let mut rng = Rng::for_item(
                self.config.seed,
                2,
                (step * self.config.batch + slot) as u64,
            );
            // One stream per view; the views share the flip unless released_views.
            let flip = rng.chance(augment.flip as f64);
            let mut view_rng = Rng::for_item(
                self.config.seed,
                3 + second as u64,
                (step * self.config.batch + slot) as u64,
            );
            let flip = if second && ema.released_views {
                view_rng.chance(augment.flip as f64)
            } else {
                flip
            };
            Ok(self.set.sample(row, &image, &mut view_rng, &spec, flip))
        })?;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, s) in samples.into_iter().enumerate() {
            if ema.enabled && i % 2 == 1 {
                b.push(s);
            } else {
                a.push(s);
            }
        }
        let view_b = ema.enabled.then(|| self.to_device(b));
        Ok((self.to_device(a), view_b))
    }

    fn to_device(&self, samples: Vec<Sample>) -> Batch<B> {
        let n = samples.len();
        let d = &self.device;
        let flat = |f: &dyn Fn(&Sample) -> &[f32]| -> Vec<f32> {
            samples.iter().flat_map(|s| f(s).iter().copied()).collect()
        };
        let crop = self.student_config.body_size;
        let t2 = |v: Vec<f32>, w: usize| Tensor::<B, 2>::from_data(TensorData::new(v, [n, w]), d);
        // The workers cut both crops already (`ViewSpec::detail` is the
        // student's detail size); stack them through the one input rule.
        let input = self.student_config.input(
            n,
            |side| {
                if side == crop {
                    flat(&|s| &s.body)
                } else {
                    flat(&|s| s.detail.as_deref().unwrap_or(&[]))
                }
            },
            d,
        );
        let keypoints = Tensor::<B, 3>::from_data(
            TensorData::new(flat(&|s| &s.keypoints), [n, data::KEYPOINTS, 3]),
            d,
        );
        let rotations = axis_angle_to_matrix(
            t2(flat(&|s| &s.pose), NUM_JOINTS * 3).reshape([n * NUM_JOINTS, 3]),
        )
        .reshape([n, NUM_JOINTS, 3, 3]);
        let parts: Vec<f32> = samples.iter().flat_map(|s| s.parts).collect();
        let features = self.config.distill.then(|| {
            let feat = |p: Part| {
                let i = p.label_slot();
                let w = samples[0].features[i].len();
                t2(flat(&|s| &s.features[i]), w)
            };
            PartFeatures {
                body: feat(Part::Body),
                face: feat(Part::Face),
                left_hand: feat(Part::LeftHand),
                right_hand: feat(Part::RightHand),
            }
        });
        Batch {
            input,
            targets: Targets {
                keypoints,
                rotations,
                expression: t2(flat(&|s| &s.expression), 10),
                parts: t2(parts, 4),
                features,
            },
        }
    }

    /// `L_total` on both student views, plus the EMA consistency terms.
    fn loss(
        &self,
        student: &Student<B>,
        teacher: &Student<B::InnerBackend>,
        a: Batch<B>,
        b: Option<Batch<B>>,
    ) -> (Tensor<B, 1>, Vec<(&'static str, f32)>) {
        let mut named: Vec<(&'static str, Tensor<B, 1>)> = Vec::new();
        let views: Vec<Batch<B>> = std::iter::once(a).chain(b).collect();
        let scale = 1.0 / views.len() as f32;
        let mut outputs = Vec::new();
        for view in &views {
            let output = student.forward(view.input.clone(), &self.model);
            // The skeleton and the few vertices the keypoints read: no mesh.
            let joints = output.posed_joints(&self.model); // [batch, 144, 3]
            for (name, term) in
                losses::supervised(&self.loss, &output, joints, &view.targets, &self.model)
            {
                match named.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, t)) => *t = t.clone() + term * scale,
                    None => named.push((name, term * scale)),
                }
            }
            outputs.push(output);
        }
        if views.len() == 2 {
            // Student on one view against the teacher on the other, both ways.
            let inner = |v: &Batch<B>| StudentInput {
                body: v.input.body.clone().inner(),
                detail: v.input.detail.clone().map(|t| t.inner()),
            };
            let t_a = teacher.forward(inner(&views[0]), &self.model_inner);
            let t_b = teacher.forward(inner(&views[1]), &self.model_inner);
            let z = |o: &StudentOutput<B>| self.consistency_vector(o.params.clone());
            let zt = |o: StudentOutput<B::InnerBackend>| {
                self.consistency_vector(Tensor::<B, 2>::from_inner(o.params))
            };
            let term = losses::consistency(z(&outputs[0]), zt(t_b)).mean()
                + losses::consistency(z(&outputs[1]), zt(t_a)).mean();
            named.push(("consistency", term * self.loss.consistency));
        }
        let total = named
            .iter()
            .map(|(_, t)| t.clone())
            .reduce(|x, y| x + y)
            .expect("at least one loss term");
        let values = named
            .into_iter()
            .map(|(n, t)| (n, t.into_scalar().elem::<f32>()))
            .collect();
        (total, values)
    }

    /// The part of the parameter vector the two views must agree on: all of
    /// it (released), or without the view-dependent global rotation and camera.
    fn consistency_vector<C: Backend>(&self, params: Tensor<C, 2>) -> Tensor<C, 2> {
        if self.config.ema.released_views {
            return params;
        }
        let n = params.dims()[0];
        params.slice([0..n, self.student_config.param_layout().view_independent()])
    }

    /// Held-out PA-V2V / PA-MPJPE (mm) against the ground truth, for the
    /// student or a constant body, and the spread of the predicted and the
    /// true joints (`furpe::baseline::spread_mm`).
    fn validate(&self, held: Held<'_, B::InnerBackend>) -> anyhow::Result<Option<HeldOut>> {
        let holdout: Vec<usize> = self
            .set
            .holdout
            .iter()
            .copied()
            .filter(|&i| self.set.annotations[i].ground_truth.is_some())
            .take(200)
            .collect();
        if holdout.is_empty() {
            return Ok(None);
        }
        let d = &self.device;
        let (mut v2v, mut mpjpe) = (Vec::new(), Vec::new());
        let (mut pred_joints, mut gt_joints) = (Vec::new(), Vec::new());
        for chunk in holdout.chunks(16) {
            let n = chunk.len();
            let pred = match held {
                Held::Student(net) => {
                    let mut views = Vec::with_capacity(n);
                    for &i in chunk {
                        let a = &self.set.annotations[i];
                        let window = CropTransform::around_box(a.person_box, BODY_CROP_SCALE);
                        views.push((window, self.set.image(i)?));
                    }
                    let input = self.student_config.input(
                        n,
                        |side| {
                            views
                                .iter()
                                .flat_map(|(w, image)| {
                                    w.sample_rgb(&image.0, image.1, image.2, side)
                                })
                                .collect()
                        },
                        d,
                    );
                    net.forward(input, &self.model_inner)
                        .posed(&self.model_inner)
                }
                Held::Constant(params) => {
                    let params = furpe::smplx::SmplxParams::concat(&vec![params.clone(); n]);
                    self.model_inner
                        .forward(SmplxInput::from_params(&params, d))
                }
            };
            let gt = self.ground_truth(chunk)?;
            let pv = furpe::readback::points(pred.vertices)?;
            let pj = furpe::readback::points(pred.joints)?;
            let gv = furpe::readback::points(gt.vertices)?;
            let gj = furpe::readback::points(gt.joints)?;
            for k in 0..n {
                v2v.push(furpe::metrics::pa_v2v(&pv[k], &gv[k])? * 1000.0);
                mpjpe.push(furpe::metrics::pa_mpjpe(&pj[k][..22], &gj[k][..22])? * 1000.0);
                pred_joints.push(pj[k][..22].to_vec());
                gt_joints.push(gj[k][..22].to_vec());
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        Ok(Some(HeldOut {
            samples: v2v.len(),
            pa_v2v_mm: mean(&v2v),
            pa_mpjpe_mm: mean(&mpjpe),
            spread_mm: furpe::baseline::spread_mm(&pred_joints)?,
            ground_truth_spread_mm: furpe::baseline::spread_mm(&gt_joints)?,
        }))
    }

    fn ground_truth(
        &self,
        chunk: &[usize],
    ) -> anyhow::Result<furpe::smplx::SmplxOutput<B::InnerBackend>> {
        let mut sets = Vec::new();
        let mut flat = None;
        for &i in chunk {
            let gt = self.set.annotations[i]
                .ground_truth
                .as_ref()
                .context("held-out record without ground truth")?;
            let p = gt
                .smplx_params(&format!("annotation {i}"))
                .map_err(|e| anyhow::anyhow!(e))?;
            anyhow::ensure!(
                flat.is_none_or(|f| f == gt.flat_hand_mean),
                "held-out ground truth mixes flat and mean hand conventions"
            );
            flat = Some(gt.flat_hand_mean);
            sets.push(p);
        }
        let params = furpe::smplx::SmplxParams::concat(&sets);
        let flat = flat.unwrap_or(false);
        let cell = &self.gt_layers[flat as usize];
        let layer = match cell.get() {
            Some(layer) => layer,
            None => {
                let layer = SmplxConfig::new()
                    .with_flat_hand_mean(flat)
                    .init::<B::InnerBackend>(&self.model_data, &self.device)?;
                cell.get_or_init(|| layer)
            }
        };
        Ok(layer.forward(SmplxInput::from_params(&params, &self.device)))
    }
}

/// What [`Trainer::validate`] poses: the student's predictions, or one body
/// for every image (the best constant, the zero-parameter body).
enum Held<'a, B: Backend> {
    Student(&'a Student<B>),
    Constant(&'a furpe::smplx::SmplxParams),
}

fn progress(
    step: usize,
    total: usize,
    epoch: usize,
    loss: f32,
    rate: f64,
    elapsed: f64,
    first: usize,
) {
    let done = step - first;
    let eta = elapsed / done.max(1) as f64 * (total - step) as f64;
    let width = 24;
    let filled = width * step / total.max(1);
    eprint!(
        "\r[{}{}] step {step}/{total} epoch {} loss {loss:.4} {rate:.1} img/s ETA {:.0}s   ",
        "#".repeat(filled),
        "-".repeat(width - filled),
        epoch + 1,
        eta
    );
}
