//! Every file fitrnn writes appears under its name only once it is complete: it is written to
//! `<name>.partial` beside its destination, then renamed over it (a rename within one directory is
//! atomic on POSIX file systems). A failed write removes its partial file, so no half-written file
//! ever passes for a finished one.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The temporary name a file is written under before it is renamed into place: `<name>.partial`.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Write `path` atomically: `write` fills the temporary path it is given, which is then renamed to
/// `path`. On failure the temporary file is removed and `path` is left as it was.
pub fn write_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = partial_path(path);
    let _ = std::fs::remove_file(&tmp);
    write(&tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.naming(&tmp, path)
    })?;
    let kill_here = fault::kill_point(path);
    if kill_here == Some(fault::When::BeforeRename) {
        std::process::abort();
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, "renaming the finished file", e)
    })?;
    if kill_here == Some(fault::When::AfterRename) {
        std::process::abort();
    }
    Ok(())
}

/// Fault injection, for the tests that prove a killed run never leaves a wrong result: with
/// `FITRNN_KILL_AT=<file name>:<n>:<before|after>` in the environment, the process aborts (as a
/// `kill -9` or a power cut would stop it) at the `n`-th atomic write of a file of that name,
/// just before or just after its rename. Without the variable nothing changes.
mod fault {
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;

    /// Where in a write the process is killed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum When {
        BeforeRename,
        AfterRename,
    }

    struct Point {
        file: String,
        n: usize,
        when: When,
    }

    fn point() -> Option<&'static Point> {
        static POINT: OnceLock<Option<Point>> = OnceLock::new();
        POINT
            .get_or_init(|| {
                let spec = std::env::var("FITRNN_KILL_AT").ok()?;
                let mut parts = spec.rsplitn(3, ':');
                let when = match parts.next()? {
                    "before" => When::BeforeRename,
                    "after" => When::AfterRename,
                    _ => return None,
                };
                let n = parts.next()?.parse().ok()?;
                let file = parts.next()?.to_string();
                Some(Point { file, n, when })
            })
            .as_ref()
    }

    /// Whether (and where) this write of `path` is the one to be killed at.
    pub fn kill_point(path: &Path) -> Option<When> {
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        let p = point()?;
        if path.file_name()? != p.file.as_str() {
            return None;
        }
        (SEEN.fetch_add(1, Ordering::SeqCst) + 1 == p.n).then_some(p.when)
    }
}

/// Write `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, "writing", e))
    })
}

/// Refuse to write into the folder `dir` when it already holds a file that `ours` says this
/// output would write there, unless the folder's `marker` (a JSON file the output writes beside
/// its files, naming `fitrnn_version`) shows that an earlier run of the same output wrote it. So
/// an output is replaced, and a user's file of the same name never is. `what` names the output
/// (e.g. `fitrnn compare`) in the message.
pub fn check_own_folder(
    dir: &Path,
    ours: impl Fn(&str) -> bool,
    marker: &str,
    what: &str,
) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Unsupported {
            problem: format!(
                "{} is a file, not a folder for {what}'s output",
                dir.display()
            ),
            fix: format!("choose a folder for {what}'s output (e.g. --out runs/new)"),
        });
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let clashes: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| ours(n.strip_suffix(".partial").unwrap_or(n)))
        .collect();
    if clashes.is_empty() {
        return Ok(());
    }
    let marker_path = dir.join(marker);
    let earlier = std::fs::read(&marker_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("fitrnn_version").is_some());
    if earlier {
        return Ok(());
    }
    let mut shown = clashes;
    shown.sort();
    shown.truncate(5);
    Err(Error::Unsupported {
        problem: format!(
            "{} holds {}, which {what} would replace, and no {marker} of an earlier {what} says it wrote them",
            dir.display(),
            shown.join(", ")
        ),
        fix: format!("choose a folder of its own for {what}'s output (e.g. --out runs/new)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_file_of_an_outputs_name_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let ours = |n: &str| n == "compare.json" || n.ends_with(".png");
        // Nothing of ours there: fine.
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        check_own_folder(dir.path(), ours, "compare.json", "fitrnn compare").unwrap();
        // A file where the folder should be is refused, and left alone.
        let file = dir.path().join("notes.txt");
        let err = check_own_folder(&file, ours, "compare.json", "fitrnn compare").unwrap_err();
        assert!(err.to_string().contains("is a file"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
        // A user's compare.json: refused, naming it.
        std::fs::write(dir.path().join("compare.json"), r#"{"my": "lab metadata"}"#).unwrap();
        let err = check_own_folder(dir.path(), ours, "compare.json", "fitrnn compare")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("compare.json") && err.contains("--out"),
            "{err}"
        );
        // An earlier compare's output: replaced.
        std::fs::write(
            dir.path().join("compare.json"),
            r#"{"fitrnn_version": "0.1.0"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("a.png"), "").unwrap();
        check_own_folder(dir.path(), ours, "compare.json", "fitrnn compare").unwrap();
        // Absent folders are fine.
        check_own_folder(&dir.path().join("new"), ours, "compare.json", "x").unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.parquet");
        write_bytes(&path, b"old").unwrap();
        let failed = write_with(&path, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(Error::internal("writing the table", "disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        // A failure of the temporary file is told as the failure of the file itself.
        let err = write_with(&path, |tmp| {
            Err(Error::io(
                tmp,
                "writing",
                std::io::ErrorKind::StorageFull.into(),
            ))
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(&format!("{}: writing", path.display())),
            "{err}"
        );
        assert!(!partial_path(&path).exists());
        write_bytes(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
