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
    write(&tmp).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, "renaming the finished file", e)
    })
}

/// Write `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, "writing", e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!partial_path(&path).exists());
        write_bytes(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
