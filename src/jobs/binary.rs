//! Finding the `fitrnn` binary that runs each job: never "whatever executable is running", which
//! is a test harness or a user's program when fitrnn is used as a library.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The binary's file name on this platform.
fn file_name() -> String {
    format!("fitrnn{}", std::env::consts::EXE_SUFFIX)
}

/// The `fitrnn` binary to run jobs with, in this order: `$FITRNN_BIN`; the running executable
/// when it is `fitrnn`; a `fitrnn` beside the running executable or in its parent folder (the
/// binary next to a test harness in `target/<profile>/deps/`); `fitrnn` on the `PATH`.
pub fn fitrnn_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("FITRNN_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Unsupported {
                problem: format!("FITRNN_BIN is {}, which is not a file", p.display()),
                fix: "point FITRNN_BIN at the fitrnn binary, or unset it".into(),
            })
        };
    }
    let name = file_name();
    let exe = std::env::current_exe().ok();
    let beside = exe.iter().flat_map(|e| {
        let dir = e.parent().map(Path::to_path_buf);
        let up = dir.as_ref().and_then(|d| d.parent()).map(Path::to_path_buf);
        [dir, up].into_iter().flatten().map(|d| d.join(&name))
    });
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(&name)).collect())
        .unwrap_or_default();
    exe.iter()
        .filter(|e| e.file_name().is_some_and(|n| n == name.as_str()))
        .cloned()
        .chain(beside)
        .chain(on_path)
        .find(|p| p.is_file())
        .ok_or_else(|| Error::Unsupported {
            problem: "cannot find the fitrnn binary to run the fits with".into(),
            fix: "build it (cargo build --release) and put it on the PATH, or set FITRNN_BIN to its path".into(),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_binary_is_found_beside_a_test_harness_never_the_harness_itself() {
        let found = super::fitrnn_binary().unwrap();
        assert_eq!(
            found.file_name().unwrap(),
            super::file_name().as_str(),
            "{found:?}"
        );
        assert_ne!(found, std::env::current_exe().unwrap());
    }
}
