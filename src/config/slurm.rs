//! `slurm:` how fits run on a Slurm cluster when a many-fit command is given `--backend slurm`
//! (or `ensemble.backend: slurm`): `sbatch` options for every task and shell lines run before each
//! fit. It never changes a fit's numbers, so two runs that differ only here are the same fit.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// `sbatch` options fitrnn sets itself; a user's value would break how tasks find their fits.
pub const RESERVED_OPTIONS: &[&str] = &[
    "array", "output", "error", "job-name", "parsable", "wrap", "wait",
];

/// `slurm:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    /// `sbatch` long options without their dashes, for every task: `partition: gpu`,
    /// `account: lab`, `qos: normal`, `time: "04:00:00"`, `mem: 8G`, `constraint: skylake`.
    /// `cpus-per-task`, `mem` and `time` default to estimates from the config and the recording;
    /// `gres: gpu:1` is set for `device: cuda`.
    #[serde(default)]
    pub sbatch: BTreeMap<String, String>,
    /// Shell lines run before each fit, e.g. `module load hdf5/1.14`.
    #[serde(default)]
    pub setup: Vec<String>,
}

/// Check one `sbatch` option's name and value; `context` names where it was given.
pub fn check_option(key: &str, value: &str) -> std::result::Result<(), String> {
    let valid_name = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name || key.starts_with('-') {
        return Err(format!(
            "`{key}` is not an sbatch long option name (write it without dashes, e.g. partition)"
        ));
    }
    if RESERVED_OPTIONS.contains(&key) {
        return Err(format!(
            "`{key}` is set by fitrnn for each job array (one task per fit, logs beside the runs)"
        ));
    }
    if value.contains('\n') {
        return Err(format!("the value of `{key}` has a line break"));
    }
    Ok(())
}

impl SlurmConfig {
    /// Value checks that serde cannot express; `file` is the config, named in errors.
    pub(super) fn validate(&self, file: &Path) -> Result<()> {
        for (k, v) in &self.sbatch {
            check_option(k, v).map_err(|problem| {
                Error::config(
                    file,
                    format!("slurm.sbatch.{k}"),
                    problem,
                    "give sbatch's long options without dashes, e.g. partition: gpu",
                )
            })?;
        }
        if let Some(line) = self.setup.iter().find(|l| l.contains('\n')) {
            return Err(Error::config(
                file,
                "slurm.setup",
                format!("`{line}` holds a line break"),
                "give one shell line per list entry",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_option;

    #[test]
    fn options_fitrnn_sets_itself_and_malformed_names_are_refused() {
        assert!(check_option("partition", "gpu").is_ok());
        assert!(check_option("cpus-per-task", "4").is_ok());
        assert!(check_option("array", "0-3")
            .unwrap_err()
            .contains("set by fitrnn"));
        assert!(check_option("--partition", "gpu").is_err());
        assert!(check_option("part ition", "gpu").is_err());
        assert!(check_option("time", "1:00\n#SBATCH --x").is_err());
    }
}
