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

use super::record::LogLine;

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
    // A failure (a full disk, most often) leaves no temporary directory and
    // says what happened; the previous checkpoint stays intact.
    let written = write_into(&tmp, step, student, teacher, optim);
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(explain_write_error(e, run, &name));
    }
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

/// The checkpoint's files, written into `tmp`.
fn write_into<B: AutodiffBackend, O: Optimizer<Student<B>, B>>(
    tmp: &Path,
    step: usize,
    student: &Student<B>,
    teacher: &Student<B::InnerBackend>,
    optim: &O,
) -> anyhow::Result<()> {
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
    for (name, path) in weight_files(tmp)? {
        crc32.insert(name, crc32_of(&path)?.into());
    }
    std::fs::write(
        tmp.join("state.json"),
        serde_json::to_string(&serde_json::json!({ "step": step, "crc32": crc32 }))?,
    )?;
    Ok(())
}

/// Whether an error is a full disk, however it was wrapped: Burn's
/// recorder reports it as an encoder error carrying the OS message.
fn is_disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28)
        }) || cause.to_string().contains("No space left on device")
    })
}

/// A failed checkpoint write, said plainly: a full disk is named as such.
fn explain_write_error(e: anyhow::Error, run: &Path, name: &str) -> anyhow::Error {
    let previous = latest(run)
        .ok()
        .flatten()
        .map_or("none".to_string(), |d| d.display().to_string());
    if is_disk_full(&e) {
        anyhow::anyhow!(
            "{}: no space left on device while writing checkpoint {name}; nothing was kept of it, and the previous checkpoint ({previous}) is intact. Free some space and continue with --resume.",
            run.display()
        )
    } else {
        e.context(format!(
            "{}: writing checkpoint {name} failed; the previous checkpoint ({previous}) is intact",
            run.display()
        ))
    }
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
/// next checkpoint), so a resumed log reads as one run. Lines that do not
/// parse (one cut by the crash) go too.
pub fn truncate_log(path: &Path, step: usize) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| serde_json::from_str::<LogLine>(line).is_ok_and(|l| l.step() <= step))
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    furpe::io::write_bytes_atomic(path, out.as_bytes())?;
    Ok(())
}

/// What [`newest_loadable`] found.
pub struct Resumed<T> {
    pub dir: PathBuf,
    pub value: T,
    /// Newer checkpoints that could not be loaded, with why.
    pub skipped: Vec<(PathBuf, String)>,
}

/// The first of `found` (newest first) that `load` accepts: a corrupt
/// checkpoint is skipped and named, never silently resumed from.
pub fn newest_loadable<T>(
    run: &Path,
    found: &[PathBuf],
    mut load: impl FnMut(&Path) -> anyhow::Result<T>,
) -> anyhow::Result<Resumed<T>> {
    anyhow::ensure!(
        !found.is_empty(),
        "{}: --resume, but there is no checkpoint to resume from",
        run.display()
    );
    let mut skipped = Vec::new();
    for dir in found {
        match load(dir) {
            Ok(value) => {
                return Ok(Resumed {
                    dir: dir.clone(),
                    value,
                    skipped,
                })
            }
            Err(e) => skipped.push((dir.clone(), format!("{e:#}"))),
        }
    }
    anyhow::bail!(
        "{}: --resume, but none of its checkpoints could be loaded ({})",
        run.display(),
        skipped
            .iter()
            .map(|(d, e)| format!("{}: {e}", d.display()))
            .collect::<Vec<_>>()
            .join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_skips_what_does_not_load_and_names_it() {
        let run = Path::new("run");
        let found: Vec<PathBuf> = ["step-3", "step-2", "step-1"].map(PathBuf::from).to_vec();
        let r = newest_loadable(run, &found, |d| {
            if d.ends_with("step-3") {
                anyhow::bail!("CRC mismatch")
            }
            Ok(d.display().to_string())
        })
        .unwrap();
        assert_eq!(r.value, "step-2");
        assert_eq!(r.skipped.len(), 1);
        assert!(r.skipped[0].1.contains("CRC mismatch"));

        let none = newest_loadable(run, &found, |_| -> anyhow::Result<()> {
            anyhow::bail!("bad")
        });
        let msg = format!("{:#}", none.err().unwrap());
        assert!(
            msg.contains("none of its checkpoints") && msg.contains("step-1: bad"),
            "{msg}"
        );
        let empty = newest_loadable(run, &[], |_| Ok(()));
        assert!(format!("{:#}", empty.err().unwrap()).contains("no checkpoint"));
    }

    #[test]
    fn a_full_disk_is_named_whatever_wraps_it() {
        let run = Path::new("/nonexistent-run");
        let io = anyhow::Error::from(std::io::Error::from_raw_os_error(28))
            .context("saving the student");
        let msg = format!("{:#}", explain_write_error(io, run, "step-00000004"));
        assert!(
            msg.contains("no space left on device while writing checkpoint step-00000004"),
            "{msg}"
        );
        // Burn's recorder turns the OS error into text inside its own error.
        let burn =
            anyhow::anyhow!("Unknown(\"MessagePack: No space left on device (os error 28)\")");
        assert!(is_disk_full(&burn.context("saving the teacher")));
        let other = anyhow::anyhow!("permission denied").context("saving the teacher");
        assert!(!is_disk_full(&other));
        let msg = format!("{:#}", explain_write_error(other, run, "step-00000004"));
        assert!(
            msg.contains("writing checkpoint step-00000004 failed")
                && msg.contains("permission denied"),
            "{msg}"
        );
    }

    #[test]
    fn a_log_is_cut_back_to_the_checkpoint() {
        let dir = std::env::temp_dir().join(format!("furpe-trunc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log.jsonl");
        std::fs::write(
            &log,
            "{\"step\":1,\"epoch\":0,\"lr\":0.1,\"tau\":1.0,\"loss\":1.0,\"images_per_s\":1.0,\"load_s\":0.0,\"sync_s\":0.0}\n\
             {\"validation\":{\"step\":2,\"epoch\":1,\"baseline_pa_v2v_mm\":null,\"baseline_pa_mpjpe_mm\":null}}\n\
             {\"step\":3,\"epoch\":1,\"lr\":0.1,\"tau\":1.0,\"loss\":1.0,\"images_per_s\":1.0,\"load_s\":0.0,\"sync_s\":0.0}\n{\"st",
        )
        .unwrap();
        truncate_log(&log, 2).unwrap();
        let kept = std::fs::read_to_string(&log).unwrap();
        assert_eq!(kept.lines().count(), 2, "{kept}");
        assert!(kept.contains("\"validation\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
