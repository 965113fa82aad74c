//! Output directories that one process owns at a time.
//!
//! A run directory (training, labelling) is locked with an OS file lock on
//! `DIR/.lock` for as long as the process works in it: a second run on the
//! same directory is refused instead of interleaving its config, log and
//! checkpoints with the first's. The OS releases the lock when the process
//! ends, however it ends (kill -9 included), so a crashed run never leaves a
//! stale lock behind.

use std::fs::{File, TryLockError};
use std::path::Path;

use anyhow::Context;

/// Held while a process works in a directory; released on drop.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Creates `dir` if needed and takes its lock, or says who holds it.
    pub fn acquire(dir: &Path, what: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the {what} directory", dir.display()))?;
        let path = dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open the lock file", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "{}: another furpe process is working in this {what} directory (it holds {}); wait for it to finish or choose another directory",
                dir.display(),
                path.display()
            ),
            Err(TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("{}: cannot lock", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = std::env::temp_dir().join(format!("furpe-lock-{}", std::process::id()));
        let first = DirLock::acquire(&dir, "run").unwrap();
        let err = DirLock::acquire(&dir, "run").unwrap_err().to_string();
        assert!(
            err.contains("another furpe process") && err.contains(".lock"),
            "{err}"
        );
        drop(first);
        DirLock::acquire(&dir, "run").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
