//! One error type for the whole library, with one variant per kind of failure a user must tell
//! apart: bad input (and where it is), a fit that diverged, a failed child fit, a failure inside a
//! library fitrnn builds on, and a broken invariant of fitrnn's own (a bug).
//!
//! Every variant that comes from user input names the file, the place inside it (dataset, attribute,
//! config key), what was expected and what was found, and how to fix it, so that the command line can
//! print a single clear line and exit with the variant's code instead of panicking.
//! [`Error::exit_code`] maps variants to exit codes: 2 bad input, 1 a computation or the machine
//! failed, 70 a bug.

use std::path::{Path, PathBuf};

/// Result alias used across fitrnn.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit code for bad input (config, data, arguments).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for a run that failed while computing (divergence, a failed child fit, a full disk).
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a broken internal invariant: a bug in fitrnn (`EX_SOFTWARE` of sysexits.h).
pub const EXIT_BUG: u8 = 70;

/// Everything that can go wrong in fitrnn, from bad input to a failed write.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A recording (HDF5 / NWB) or run-directory file breaks its contract.
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
    #[error("{}: {action}: {source}{}", path.display(), storage_advice(source))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What fitrnn was doing (`reading`, `creating`, ...).
        action: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The HDF5 library reported an error while reading or writing a named file.
    #[error("{}: {location}: HDF5 error: {message}", file.display())]
    Hdf5 {
        /// The file.
        file: PathBuf,
        /// Dataset or group path.
        location: String,
        /// The HDF5 library's message.
        message: String,
    },
    /// A request that cannot be served by this build, machine or command line (CUDA without the
    /// feature, a missing argument, an existing output directory).
    #[error("{problem}{}", fix_suffix(fix))]
    Unsupported {
        /// What was asked for and why it cannot be done.
        problem: String,
        /// How to get it.
        fix: String,
    },
    /// The fit diverged: the loss or the weights became non-finite.
    #[error("{place}: {what}; training.lr is {}{}", short_number(*lr), fix_suffix(fix))]
    Diverged {
        /// Phase, epoch and step, e.g. `phase dense, epoch 3, step 41`.
        place: String,
        /// What became non-finite.
        what: String,
        /// The learning rate of the step that diverged.
        lr: f64,
        /// What to change.
        fix: String,
    },
    /// A child process (one fit of a sweep or study, a benchmark cell) failed.
    #[error("{what} failed{}; see {}", exit_suffix(*code), log.display())]
    ChildFailed {
        /// Which child, e.g. `fit recorded_50 / dale_topprob seed 1`.
        what: String,
        /// Its log file (stdout and stderr).
        log: PathBuf,
        /// Its exit code (`None` when it was killed by a signal or did not start).
        code: Option<i32>,
    },
    /// Several children of one command failed; the ones that finished are kept.
    #[error("{summary}failed: {}", failed.join("; "))]
    ChildrenFailed {
        /// What the command did get done (one or more lines).
        summary: String,
        /// One entry per failed child, each naming its log.
        failed: Vec<String>,
    },
    /// A failure inside a library fitrnn builds on (tensor maths, tables, HDF5 in memory,
    /// numerical solvers, drawing), with what fitrnn was doing.
    #[error("{context}: {message}")]
    Internal {
        /// What fitrnn was doing, e.g. `tensor operation` or `drawing the loss figure`.
        context: String,
        /// The library's message (first line).
        message: String,
    },
    /// fitrnn broke one of its own promises (a weight against Dale's law after the projection, a
    /// weight outside the mask): a bug, reported with where it happened.
    #[error("internal error at {place}: {what}. This is a bug in fitrnn; please report it with the run's manifest.json and config.resolved.yaml")]
    Bug {
        /// Where, e.g. `phase finetune, epoch 2, step 30`.
        place: String,
        /// What broke.
        what: String,
    },
}

fn fix_suffix(fix: &str) -> String {
    if fix.is_empty() {
        String::new()
    } else {
        format!(". Fix: {fix}")
    }
}

/// A number as written in a config: plain when short (`0.01`), else in exponent form (`1e30`).
pub fn short_number(x: f64) -> String {
    let plain = x.to_string();
    if plain.len() <= 10 {
        plain
    } else {
        format!("{x:e}")
    }
}

fn exit_suffix(code: Option<i32>) -> String {
    match code {
        Some(c) => format!(" (exit {c})"),
        None => String::new(),
    }
}

/// The first line of a library's message (candle appends a backtrace when RUST_BACKTRACE is set).
fn first_line(msg: &str) -> String {
    msg.lines().next().unwrap_or_default().to_string()
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::internal("tensor operation failed", e)
    }
}

impl From<polars::prelude::PolarsError> for Error {
    fn from(e: polars::prelude::PolarsError) -> Self {
        Error::internal("building a table", e)
    }
}

impl From<hdf5::Error> for Error {
    fn from(e: hdf5::Error) -> Self {
        Error::internal("HDF5", e)
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

    /// An HDF5 library failure at `location` in `file`. A failure of the storage under it (a
    /// full disk, a quota, a read-only or failing file system, which HDF5 reports as an `errno`
    /// in a long message) is an I/O error naming the file, not bad input.
    pub fn hdf5(file: &Path, location: impl Into<String>, err: hdf5::Error) -> Self {
        let message = err.to_string();
        if let Some(source) = storage_failure(&message) {
            return Error::Io {
                path: file.to_path_buf(),
                action: "writing".into(),
                source,
            };
        }
        Error::Hdf5 {
            file: file.to_path_buf(),
            location: location.into(),
            message,
        }
    }

    /// A library failure while doing `context`.
    pub fn internal(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Internal {
            context: context.into(),
            message: first_line(&err.to_string()),
        }
    }

    /// A broken invariant of fitrnn's own at `place`.
    pub fn bug(place: impl Into<String>, what: impl Into<String>) -> Self {
        Error::Bug {
            place: place.into(),
            what: what.into(),
        }
    }

    /// This error with the file `from` named as `to` (a temporary file's failure, told as the
    /// failure of the file the user knows).
    pub fn naming(self, from: &Path, to: &Path) -> Self {
        match self {
            Error::Io {
                path,
                action,
                source,
            } if path == from => Error::Io {
                path: to.to_path_buf(),
                action,
                source,
            },
            Error::Hdf5 {
                file,
                location,
                message,
            } if file == from => Error::Hdf5 {
                file: to.to_path_buf(),
                location,
                message,
            },
            other => other,
        }
    }

    /// The process exit code for this error: [`EXIT_BAD_INPUT`] for input that must be fixed,
    /// [`EXIT_BUG`] for a bug, [`EXIT_FAILED`] for everything that failed while computing or
    /// writing (a full disk is not bad input).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Data { .. }
            | Error::Config { .. }
            | Error::Hdf5 { .. }
            | Error::Unsupported { .. } => EXIT_BAD_INPUT,
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::StorageFull
                | std::io::ErrorKind::QuotaExceeded
                | std::io::ErrorKind::ReadOnlyFilesystem
                | std::io::ErrorKind::Interrupted
                | std::io::ErrorKind::OutOfMemory => EXIT_FAILED,
                _ => EXIT_BAD_INPUT,
            },
            Error::Bug { .. } => EXIT_BUG,
            Error::Diverged { .. }
            | Error::ChildFailed { .. }
            | Error::ChildrenFailed { .. }
            | Error::Internal { .. } => EXIT_FAILED,
        }
    }
}

/// What to do about a failure of the storage (a full disk, a quota, a read-only file system), as
/// the end of an I/O error's message; empty for other errors.
fn storage_advice(source: &std::io::Error) -> &'static str {
    match source.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            ". Fix: free space on that file system (or set output.dir on another one) and run again; an interrupted fit continues from its last checkpoint with fitrnn --resume RUN_DIR, and finished files are kept"
        }
        std::io::ErrorKind::ReadOnlyFilesystem => {
            ". Fix: write to a file system that is not read-only (set output.dir)"
        }
        _ => "",
    }
}

/// The operating system's error inside an HDF5 message (`errno = 28, error message = 'No space
/// left on device'`) when it is a failure of the storage: no space, a quota, a read-only file
/// system, an I/O error.
fn storage_failure(message: &str) -> Option<std::io::Error> {
    const STORAGE: [i32; 4] = [28, 122, 30, 5]; // ENOSPC, EDQUOT, EROFS, EIO
    let at = message.find("errno = ")? + "errno = ".len();
    let digits: String = message[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let errno: i32 = digits.parse().ok()?;
    STORAGE
        .contains(&errno)
        .then(|| std::io::Error::from_raw_os_error(errno))
}

/// Refuse to read `path` unless it is a regular file (or a link to one): opening a named pipe
/// would block for ever, and a directory or device is never a recording, config or table.
/// `what` names the file for the message (e.g. "the recording").
pub fn require_regular_file(path: &Path, what: &str) -> Result<()> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::io(path, format!("opening {what}"), e))?;
    if meta.is_file() {
        return Ok(());
    }
    let kind = if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file (a named pipe, socket or device)"
    };
    Err(Error::Unsupported {
        problem: format!("{} is {kind}, not {what}", path.display()),
        fix: format!("give the path of {what} itself"),
    })
}

/// "did you mean `x`? valid keys: a, b, c" for the closest of `valid` to `got`.
pub fn suggest(got: &str, valid: &[String], what: &str) -> String {
    let best = valid
        .iter()
        .map(|v| {
            (
                strsim::jaro_winkler(&got.to_lowercase(), &v.to_lowercase()),
                v,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let list = valid.join(", ");
    match best {
        Some((score, v)) if score >= 0.7 => {
            format!("did you mean `{v}`? Valid {what}s here: {list}")
        }
        _ if !valid.is_empty() => format!("valid {what}s here: {list}"),
        _ => format!("remove this {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_under_hdf5_is_an_io_failure_naming_the_file() {
        let raw = "H5Dwrite(): can't write data: file write failed: time = Mon Dec  7 03:54:18 2026\n, filename = '/r/predictions.h5.partial', file descriptor = 4, errno = 28, error message = 'No space left on device', buf = 0x1";
        let e = Error::hdf5(Path::new("/r/predictions.h5"), "/", hdf5::Error::from(raw));
        assert_eq!(e.exit_code(), EXIT_FAILED);
        let text = e.to_string();
        assert!(
            text.starts_with("/r/predictions.h5: writing:") && !text.contains('\n'),
            "{text}"
        );
        let bad_file = Error::hdf5(
            Path::new("r.h5"),
            "/traces",
            hdf5::Error::from("unable to open dataset"),
        );
        assert_eq!(bad_file.exit_code(), EXIT_BAD_INPUT);
    }

    #[test]
    fn exit_codes_follow_the_kind_of_failure() {
        let bad = Error::config(Path::new("c.yaml"), "training.lr", "-1", "use 0.001");
        assert_eq!(bad.exit_code(), EXIT_BAD_INPUT);
        let full = Error::io(
            Path::new("runs/x/tables/metrics.parquet"),
            "writing",
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        );
        assert_eq!(
            full.exit_code(),
            EXIT_FAILED,
            "a full disk is not bad input"
        );
        let text = full.to_string();
        assert!(
            text.starts_with("runs/x/tables/metrics.parquet: writing")
                && text.contains("free space on that file system"),
            "{text}"
        );
        let missing = Error::io(
            Path::new("c.yaml"),
            "reading the config",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(missing.exit_code(), EXIT_BAD_INPUT);
        assert_eq!(Error::bug("step 3", "a sign flipped").exit_code(), EXIT_BUG);
        let diverged = Error::Diverged {
            place: "phase dense, epoch 2, step 9".into(),
            what: "the training loss became NaN".into(),
            lr: 0.01,
            fix: "lower training.lr".into(),
        };
        assert_eq!(diverged.exit_code(), EXIT_FAILED);
        assert_eq!(
            diverged.to_string(),
            "phase dense, epoch 2, step 9: the training loss became NaN; training.lr is 0.01. Fix: lower training.lr"
        );
    }

    #[test]
    fn library_errors_convert_with_their_first_line() {
        let e: Error = candle_core::Error::Msg("shape mismatch\nbacktrace".into()).into();
        assert_eq!(e.to_string(), "tensor operation failed: shape mismatch");
        assert_eq!(e.exit_code(), EXIT_FAILED);
    }
}
