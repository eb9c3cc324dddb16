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

/// What a fitrnn run writes inside each of its folders: `(folder, file extensions, prefixes of the
/// nested runs it holds)`. The ensemble and the self-check number what they write: `member_K/`,
/// `refit_K/`, `recording_K.h5`, `refit_K.log`, ...
const FOLDERS: &[(&str, &[&str], &[&str])] = &[
    (paths::MODEL, &["safetensors", "json"], &[]),
    (paths::TABLES, &["parquet"], &[]),
    (paths::FIGURES, &["png", "svg"], &[]),
    (paths::ENSEMBLE, &["log"], &["member_"]),
    (
        paths::SELFCHECK,
        &["log", "h5"],
        &["refit_", "subsample_refit_"],
    ),
];

/// The paths under `dir` (relative to it) that no fitrnn run writes, at any depth: names outside
/// the run layout, files of other kinds in its folders, and anything foreign inside the nested
/// runs of the ensemble and the self-check.
fn foreign_entries(dir: &Path) -> Result<Vec<String>> {
    let mut foreign = Vec::new();
    for (name, path) in entries(dir)? {
        let base = name.strip_suffix(".partial").unwrap_or(&name);
        if !LAYOUT.contains(&base) {
            foreign.push(name);
        } else if let Some(folder) = FOLDERS.iter().find(|f| f.0 == base) {
            if path.is_dir() && !path.is_symlink() {
                foreign.extend(within(&name, folder_foreign(folder, &path)?));
            } else {
                foreign.push(name);
            }
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// `inner` paths shown under `folder`.
fn within(folder: &str, inner: Vec<String>) -> impl Iterator<Item = String> + '_ {
    inner.into_iter().map(move |f| format!("{folder}/{f}"))
}

/// The entries of the run folder `dir` described by `(name, extensions, nested)` of [`FOLDERS`]
/// that a run does not write, relative to `dir`.
fn folder_foreign(
    &(name, extensions, nested): &(&str, &[&str], &[&str]),
    dir: &Path,
) -> Result<Vec<String>> {
    let mut foreign = Vec::new();
    for (inner, path) in entries(dir)? {
        let base = inner.strip_suffix(".partial").unwrap_or(&inner);
        if path.is_symlink() {
            foreign.push(inner);
        } else if path.is_dir() {
            if name == paths::ENSEMBLE && base == SLURM {
                foreign.extend(within(&inner, slurm_foreign(&path)?));
            } else if nested.iter().any(|p| numbered(base, p)) {
                foreign.extend(within(&inner, foreign_entries(&path)?));
            } else {
                foreign.push(inner);
            }
        } else {
            let known = match base.rsplit_once('.') {
                Some((stem, ext)) if extensions.contains(&ext) => match ext {
                    // The self-check's simulated recordings, and each nested run's log.
                    "h5" => ["recording_", "subsample_"]
                        .iter()
                        .any(|p| numbered(stem, p)),
                    "log" => nested.iter().any(|p| numbered(stem, p)),
                    _ => true,
                },
                _ => false,
            };
            if !known {
                foreign.push(inner);
            }
        }
    }
    Ok(foreign)
}

/// The folder where the ensemble's Slurm submission lives (`ensemble/slurm`).
const SLURM: &str = "slurm";

/// The entries of an ensemble's Slurm folder that its submission does not write (the script, the
/// submission record, Slurm's logs and `status/task_K`).
fn slurm_foreign(dir: &Path) -> Result<Vec<String>> {
    let mut foreign = Vec::new();
    for (name, path) in entries(dir)? {
        let ok = if path.is_dir() && !path.is_symlink() {
            name == "status"
                && entries(&path)?
                    .iter()
                    .all(|(task, p)| p.is_file() && !p.is_symlink() && numbered(task, "task_"))
        } else {
            path.is_file()
                && !path.is_symlink()
                && (name == "array.sh"
                    || name.strip_suffix(".partial").unwrap_or(&name) == "submission.json"
                    || name.starts_with("slurm-") && name.ends_with(".out"))
        };
        if !ok {
            foreign.push(name);
        }
    }
    Ok(foreign)
}

/// Whether `name` is `prefix` followed by a number and nothing else.
fn numbered(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The entries of `dir`: `(name, path)`.
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let list =
        std::fs::read_dir(dir).map_err(|e| Error::io(dir, "listing the run directory", e))?;
    let mut out = Vec::new();
    for entry in list {
        let entry = entry.map_err(|e| Error::io(dir, "listing the run directory", e))?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    Ok(out)
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
    fn files_of_the_user_inside_the_runs_folders_keep_it_from_being_replaced() {
        let root = tempfile::tempdir().unwrap();
        for (inside, name) in [
            ("tables", "notes.txt"),
            ("figures", "data.h5"),
            ("model", "rec.h5"),
            ("selfcheck", "mine.h5"),
            ("ensemble", "member_1/raw.tif"),
            ("selfcheck", "refit_0/tables/x.csv"),
            ("ensemble", "keep/readme.md"),
            ("ensemble", "slurm/notes.txt"),
        ] {
            let dir = run_dir(
                root.path(),
                &format!("out_{}", name.replace('/', "_")),
                Status::Complete,
            );
            for layout in ["tables", "figures", "model", "selfcheck", "ensemble"] {
                std::fs::create_dir_all(dir.join(layout)).unwrap();
            }
            // What a run writes there is fine.
            std::fs::write(dir.join("tables/units.parquet"), "").unwrap();
            std::fs::write(dir.join("selfcheck/recording_0.h5"), "").unwrap();
            std::fs::write(dir.join("ensemble/member_1.log"), "").unwrap();
            let user = dir.join(inside).join(name);
            std::fs::create_dir_all(user.parent().unwrap()).unwrap();
            std::fs::write(&user, "mine").unwrap();
            let err = make_room(&dir, true).unwrap_err().to_string();
            assert!(
                err.contains("not a fitrnn run") && err.contains(inside),
                "{inside}/{name}: {err}"
            );
            assert!(user.exists(), "{inside}/{name} was removed");
            assert!(!previous_of(&dir).exists());
        }
    }

    #[test]
    fn a_run_with_only_what_a_run_writes_is_replaced() {
        let root = tempfile::tempdir().unwrap();
        let dir = run_dir(root.path(), "out", Status::Complete);
        for f in [
            "tables/units.parquet",
            "tables/units.parquet.partial",
            "figures/loss.png",
            "figures/weights.svg",
            "model/final.safetensors",
            "ensemble/member_1.log",
            "ensemble/member_1/manifest.json",
            "ensemble/member_1/tables/metrics.parquet",
            "selfcheck/recording_0.h5",
            "selfcheck/subsample_0.h5",
            "selfcheck/refit_0.log",
            "selfcheck/subsample_refit_0/model/final.safetensors",
            "ensemble/slurm/array.sh",
            "ensemble/slurm/submission.json",
            "ensemble/slurm/slurm-17_0.out",
            "ensemble/slurm/status/task_0",
        ] {
            std::fs::create_dir_all(dir.join(f).parent().unwrap()).unwrap();
            if !dir.join(f).exists() {
                std::fs::write(dir.join(f), "").unwrap();
            }
        }
        std::fs::write(
            dir.join("ensemble/member_1/manifest.json"),
            std::fs::read(dir.join("manifest.json")).unwrap(),
        )
        .unwrap();
        make_room(&dir, true).unwrap();
        assert!(previous_of(&dir).join("selfcheck/recording_0.h5").exists());
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
