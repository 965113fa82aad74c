//! Checkpoints: `RUN/checkpoints/step-NNNNNNNN/` with the student, the
//! teacher and Adam's state as Burn records plus `state.json`. A checkpoint
//! is written into a temporary directory and renamed into place, then
//! `RUN/checkpoints/latest` is replaced atomically, so a crash at any moment
//! leaves the previous checkpoint intact. The two newest are kept.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::{AutodiffModule, Module};
use burn::optim::Optimizer;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use furpe::nets::Student;

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

/// Every complete checkpoint of a run (a `step-*` directory with its
/// `state.json`), newest first. The directories themselves are listed rather
/// than trusting the `latest` pointer alone: a deleted or stale pointer must
/// not hide checkpoints that exist.
pub fn complete(run: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let root = run.join("checkpoints");
    let entries = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list", root.display())),
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("step-"))
                && p.join("state.json").is_file()
        })
        .collect();
    // `step-{:08}`: name order is step order.
    found.sort();
    found.reverse();
    Ok(found)
}

/// The newest complete checkpoint of a run.
pub fn latest(run: &Path) -> anyhow::Result<Option<PathBuf>> {
    Ok(complete(run)?.into_iter().next())
}

/// The files of a checkpoint that its `state.json` checksums.
fn weight_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            (name != "state.json").then_some((name, p))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn crc32_of(path: &Path) -> anyhow::Result<u32> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(crc32fast::hash(&bytes))
}

pub fn save<B: AutodiffBackend, O: Optimizer<Student<B>, B>>(
    run: &Path,
    step: usize,
    student: &Student<B>,
    teacher: &Student<B::InnerBackend>,
    optim: &O,
) -> anyhow::Result<PathBuf> {
    let root = run.join("checkpoints");
    std::fs::create_dir_all(&root)?;
    let name = format!("step-{step:08}");
    let tmp = root.join(format!(".tmp-{name}"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let rec = Rec::new();
    student
        .clone()
        .save_file(tmp.join("student"), &rec)
        .context("saving the student")?;
    teacher
        .clone()
        .save_file(tmp.join("teacher"), &rec)
        .context("saving the teacher")?;
    Recorder::<B>::record(&rec, optim.to_record(), tmp.join("optimizer"))
        .context("saving the optimizer")?;
    // A flipped bit in a weight loads silently as a Burn record: the
    // checksums let `load` refuse it (and fall back to the older checkpoint).
    let mut crc32 = serde_json::Map::new();
    for (name, path) in weight_files(&tmp)? {
        crc32.insert(name, crc32_of(&path)?.into());
    }
    std::fs::write(
        tmp.join("state.json"),
        serde_json::to_string(&serde_json::json!({ "step": step, "crc32": crc32 }))?,
    )?;
    let dir = root.join(&name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir)?;
    furpe::io::write_bytes_atomic(&root.join("latest"), name.as_bytes())?;
    // Keep the two newest.
    let mut old: Vec<PathBuf> = std::fs::read_dir(&root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("step-"))
        })
        .collect();
    old.sort();
    for p in old.iter().rev().skip(2) {
        let _ = std::fs::remove_dir_all(p);
    }
    Ok(dir)
}

#[allow(clippy::type_complexity)]
pub fn load<B: AutodiffBackend, O: Optimizer<Student<B>, B>>(
    dir: &Path,
    student: Student<B>,
    teacher: Student<B::InnerBackend>,
    optim: O,
    device: &B::Device,
) -> anyhow::Result<(Student<B>, Student<B::InnerBackend>, O, usize)> {
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("state.json"))
            .with_context(|| format!("{}: state.json", dir.display()))?,
    )
    .with_context(|| format!("{}: state.json", dir.display()))?;
    let step = state["step"]
        .as_u64()
        .with_context(|| format!("{}: state.json has no step", dir.display()))?;
    if let Some(sums) = state["crc32"].as_object() {
        for (name, path) in weight_files(dir)? {
            let want = sums.get(&name).and_then(|v| v.as_u64());
            let got = crc32_of(&path)? as u64;
            anyhow::ensure!(
                want == Some(got),
                "{}: CRC-32 {got:08x}, state.json says {}: the checkpoint is corrupt",
                path.display(),
                want.map_or("nothing".to_string(), |w| format!("{w:08x}"))
            );
        }
    }
    let rec = Rec::new();
    let student = student
        .load_file(dir.join("student"), &rec, device)
        .with_context(|| format!("{}: student", dir.display()))?;
    let teacher = teacher
        .load_file(dir.join("teacher"), &rec, device)
        .with_context(|| format!("{}: teacher", dir.display()))?;
    let record = Recorder::<B>::load(&rec, dir.join("optimizer"), device)
        .with_context(|| format!("{}: optimizer", dir.display()))?;
    let optim = optim.load_record(record);
    let _ = student.valid();
    Ok((student, teacher, optim, step as usize))
}

/// Drops log lines written after `step` (by a run that crashed before its
/// next checkpoint), so a resumed log reads as one run.
pub fn truncate_log(path: &Path, step: usize) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let s = v["step"]
                .as_u64()
                .or_else(|| v["validation"]["step"].as_u64())
                .unwrap_or(0);
            s as usize <= step
        })
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    furpe::io::write_bytes_atomic(path, out.as_bytes())?;
    Ok(())
}
