//! One error type for the whole library.
//!
//! Every variant that comes from user input names the file, the place inside it (dataset, attribute,
//! config key), what was expected and what was found, and how to fix it, so that the command line can
//! print a single clear line and exit non-zero instead of panicking.

use std::path::{Path, PathBuf};

/// Result alias used across fitrnn.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in fitrnn, from bad input to a failed write.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A recording (HDF5 / NWB) file breaks the contract.
    #[error("{}: {location}: {problem}{}", file.display(), fix_suffix(fix))]
    Data {
        /// The offending file.
        file: PathBuf,
        /// Dataset, attribute or group path inside the file (e.g. `/neurons/cell_type`).
        location: String,
        /// What was expected and what was found.
        problem: String,
        /// How to fix it (may be empty).
        fix: String,
    },
    /// A config file (or a `--set` override) is invalid.
    #[error("{}: {key}: {problem}{}", file.display(), fix_suffix(fix))]
    Config {
        /// The config file.
        file: PathBuf,
        /// Dotted key, e.g. `data.normalisation`.
        key: String,
        /// What was expected and what was found.
        problem: String,
        /// How to fix it (may be empty).
        fix: String,
    },
    /// A file could not be opened, read or written.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What fitrnn was doing (`reading`, `creating`, ...).
        action: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The HDF5 library reported an error while reading or writing.
    #[error("{}: {location}: HDF5 error: {message}", file.display())]
    Hdf5 {
        /// The file.
        file: PathBuf,
        /// Dataset or group path.
        location: String,
        /// The HDF5 library's message.
        message: String,
    },
    /// A request that cannot be served by this build or machine (e.g. CUDA without the feature).
    #[error("{problem}{}", fix_suffix(fix))]
    Unsupported {
        /// What was asked for and why it cannot be done.
        problem: String,
        /// How to get it.
        fix: String,
    },
    /// A numerical or internal invariant failed (a bug or a diverging fit), with context.
    #[error("{0}")]
    Invariant(String),
}

fn fix_suffix(fix: &str) -> String {
    if fix.is_empty() {
        String::new()
    } else {
        format!(". Fix: {fix}")
    }
}

impl Error {
    /// A contract violation in `file` at `location`.
    pub fn data(
        file: &Path,
        location: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Data {
            file: file.to_path_buf(),
            location: location.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// An invalid config value at `key` in `file`.
    pub fn config(
        file: &Path,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Config {
            file: file.to_path_buf(),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// An I/O failure while `action` on `path`.
    pub fn io(path: &Path, action: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            action: action.into(),
            source,
        }
    }

    /// An HDF5 library failure at `location` in `file`.
    pub fn hdf5(file: &Path, location: impl Into<String>, err: hdf5::Error) -> Self {
        Error::Hdf5 {
            file: file.to_path_buf(),
            location: location.into(),
            message: err.to_string(),
        }
    }
}
