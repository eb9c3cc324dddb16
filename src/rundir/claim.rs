//! Claiming a run directory before anything is written into it, so that no fit ever deletes a
//! user's files or writes into a run another process is writing:
//!
//! - every process that writes a run holds an advisory lock on its `.fitrnn-lock` file, and a
//!   second writer (a fit, `--resume`, `analyse`, `selfcheck`) is refused while it is held;
//! - `output.overwrite` replaces only a fitrnn run: a directory whose entries are all part of the
//!   run layout and whose `manifest.json`, if any, is a fitrnn manifest. Anything else is refused,
//!   naming what is there;
//! - a replaced run is not deleted first: a complete run is moved aside to `<dir>.previous` by one
//!   rename and removed only when the new run is complete, so a failed or killed replacement
//!   leaves the last complete run on disk.

use super::manifest::{Manifest, Status};
use super::paths;
use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The lock file inside a run directory.
pub const LOCK: &str = ".fitrnn-lock";

/// Every name a run directory may hold at its top level (besides `<name>.partial` files).
const LAYOUT: &[&str] = &[
    paths::MANIFEST,
    paths::CONFIG,
    paths::MODEL,
    paths::TABLES,
    paths::FIGURES,
    paths::PREDICTIONS,
    paths::CURRENTS,
    paths::REPORT,
    paths::ENSEMBLE,
    paths::SELFCHECK,
    LOCK,
];

/// The advisory lock of one run directory, held for as long as the value lives.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Take the lock of the run directory `dir` (which exists), or refuse because another process
/// holds it.
pub fn lock(dir: &Path) -> Result<RunLock> {
    let path = dir.join(LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, "opening the run's lock file", e))?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Unsupported {
            problem: format!(
                "another fitrnn process is writing the run in {} (it holds {})",
                dir.display(),
                path.display()
            ),
            fix: "wait for it to finish, or choose another output.dir (e.g. --set output.dir=runs/new)"
                .into(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, "locking the run", e)),
    }
}

/// `<dir>.previous`: where a complete run waits while a new run replaces it.
pub fn previous_of(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".previous");
    dir.with_file_name(name)
}

/// The names in `dir` that no fitrnn run writes (at most a few, for the message).
fn foreign_entries(dir: &Path) -> Result<Vec<String>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(dir, "listing the run directory", e))?;
    let mut foreign = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "listing the run directory", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let base = name.strip_suffix(".partial").unwrap_or(&name);
        if !LAYOUT.contains(&base) {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// Whether `dir` is empty (or absent).
fn is_empty(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut d) => Ok(d.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::io(dir, "listing the output directory", e)),
    }
}

/// The status of the fitrnn run in `dir` (`None` for a run that died before writing its manifest),
/// or an error naming what makes `dir` something other than a run, which fitrnn never replaces.
fn run_status(dir: &Path) -> Result<Option<Status>> {
    let refuse = |what: String| {
        Error::Unsupported {
        problem: format!(
            "output.overwrite is set, but {} is not a fitrnn run directory: {what}; fitrnn replaces only its own runs",
            dir.display()
        ),
        fix: "choose an output.dir of its own for the run (e.g. --set output.dir=runs/new)".into(),
    }
    };
    if !dir.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    let foreign = foreign_entries(dir)?;
    if !foreign.is_empty() {
        let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
        let more = foreign.len().saturating_sub(shown.len());
        return Err(refuse(format!(
            "it holds {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )));
    }
    let manifest = dir.join(paths::MANIFEST);
    if !manifest.exists() {
        return Ok(None);
    }
    match Manifest::read(&manifest) {
        Ok(m) if !m.fitrnn_version.is_empty() => Ok(Some(m.status)),
        Ok(_) => Err(refuse("its manifest.json names no fitrnn version".into())),
        Err(e) => Err(refuse(format!(
            "its manifest.json is not a fitrnn manifest ({e})"
        ))),
    }
}

/// Make room for a new run at `dir`: nothing to do when it is absent or empty; otherwise refuse
/// unless `overwrite` and `dir` is a fitrnn run that no process is writing, which is then moved
/// aside to `<dir>.previous` (when complete) or removed (when a complete run already waits there).
pub fn make_room(dir: &Path, overwrite: bool) -> Result<()> {
    if !dir.exists() && !dir.is_symlink() {
        return Ok(());
    }
    if dir.is_dir() && is_empty(dir)? {
        return Ok(());
    }
    if !overwrite {
        let what = if dir.is_dir() {
            "already exists and is not empty"
        } else {
            "exists and is not a directory"
        };
        return Err(Error::Unsupported {
            problem: format!("the run directory {} {what}", dir.display()),
            fix: "choose another output.dir (e.g. --set output.dir=runs/new), or set output.overwrite: true to replace an earlier fitrnn run there".into(),
        });
    }
    let status = run_status(dir)?;
    let held = lock(dir)?;
    let previous = previous_of(dir);
    if status != Some(Status::Complete) && previous.exists() {
        // An unfinished replacement of the complete run in `<dir>.previous`: keep that one.
        run_status(&previous)?;
        remove(dir)?;
    } else {
        if previous.exists() {
            run_status(&previous)?;
            remove(&previous)?;
        }
        std::fs::rename(dir, &previous)
            .map_err(|e| Error::io(dir, "moving the previous run aside", e))?;
    }
    drop(held);
    Ok(())
}

/// Remove the earlier run that `dir`'s run replaced, once `dir`'s run is complete.
pub fn forget_previous(dir: &Path) -> Result<()> {
    let previous = previous_of(dir);
    if previous.is_dir() && run_status(&previous).is_ok() {
        remove(&previous)?;
    }
    Ok(())
}

fn remove(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, "removing the replaced run", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_dir(root: &Path, name: &str, status: Status) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("tables")).unwrap();
        let text = format!("{{\"fitrnn_version\": \"0.1.0\", \"status\": \"{status}\"}}");
        std::fs::write(dir.join(paths::MANIFEST), text).unwrap();
        dir
    }

    #[test]
    fn a_directory_with_other_files_is_never_replaced() {
        let root = tempfile::tempdir().unwrap();
        let dir = run_dir(root.path(), "out", Status::Complete);
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = make_room(&dir, true).unwrap_err().to_string();
        assert!(
            err.contains("notes.txt") && err.contains("not a fitrnn run"),
            "{err}"
        );
        assert!(dir.join("notes.txt").exists());
        assert!(!previous_of(&dir).exists());
    }

    #[test]
    fn a_foreign_manifest_is_never_replaced() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(paths::MANIFEST), "{\"name\": \"other tool\"}").unwrap();
        assert!(make_room(&dir, true).is_err());
        assert!(dir.join(paths::MANIFEST).exists());
    }

    #[test]
    fn a_complete_run_waits_aside_until_its_replacement_is_complete() {
        let root = tempfile::tempdir().unwrap();
        let dir = run_dir(root.path(), "out", Status::Complete);
        make_room(&dir, true).unwrap();
        assert!(!dir.exists());
        assert!(previous_of(&dir).join(paths::MANIFEST).exists());
        // The replacement is killed; a third run keeps the complete one and drops the unfinished.
        run_dir(root.path(), "out", Status::Running);
        make_room(&dir, true).unwrap();
        assert!(!dir.exists());
        let kept = Manifest::read(&previous_of(&dir).join(paths::MANIFEST)).unwrap();
        assert_eq!(kept.status, Status::Complete);
        run_dir(root.path(), "out", Status::Complete);
        forget_previous(&dir).unwrap();
        assert!(!previous_of(&dir).exists());
        assert!(dir.exists());
    }

    #[test]
    fn a_locked_run_is_not_replaced() {
        let root = tempfile::tempdir().unwrap();
        let dir = run_dir(root.path(), "out", Status::Running);
        let _held = lock(&dir).unwrap();
        let err = make_room(&dir, true).unwrap_err().to_string();
        assert!(err.contains("another fitrnn process"), "{err}");
        assert!(dir.join(paths::MANIFEST).exists());
    }
}
