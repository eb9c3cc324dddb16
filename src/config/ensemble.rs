//! `ensemble:` how many extra fits say how far each interaction can be trusted: members that differ
//! in seed, in a block bootstrap of the training windows and in the cross-validation fold, and
//! self-check refits of recordings simulated from the fitted network.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `ensemble:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleConfig {
    /// Seeds per (bootstrap, fold): the fit itself is the first member of the first seed.
    #[serde(default)]
    pub seeds: usize,
    /// Block-bootstrap resamples of the training windows per seed (0: the windows as they are).
    #[serde(default)]
    pub bootstrap: usize,
    /// Cross-validation folds (1 or 0: the config's split only).
    #[serde(default)]
    pub folds: usize,
    /// Self-check refits: recordings simulated from the fitted network, refitted with the same
    /// config and scored against it (0: none).
    #[serde(default)]
    pub selfcheck: usize,
    /// Self-check refits of subsampled recordings: simulated from the fitted network like the
    /// self-check's, but keeping only `observed_fraction` of the recorded neurons of every
    /// population, as a recording holds only part of a circuit; they show how far fitting part of
    /// a network moves its spectrum (0: none).
    #[serde(default)]
    pub subsample: usize,
    /// Fraction of each population's neurons a subsampled recording keeps (at least one).
    #[serde(default = "default_observed_fraction")]
    pub observed_fraction: f64,
    /// Fits at the same time, one CPU thread each (0: one per core); on Slurm, the most tasks
    /// running at once (0: no limit).
    #[serde(default)]
    pub jobs: usize,
    /// Where the extra fits run: `local` (child processes here) or `slurm` (one job array on the
    /// cluster, with the `slurm:` section's options); never changes a fit's numbers.
    #[serde(default)]
    pub backend: BackendKind,
}

fn default_observed_fraction() -> f64 {
    0.5
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig {
            seeds: 0,
            bootstrap: 0,
            folds: 0,
            selfcheck: 0,
            subsample: 0,
            observed_fraction: default_observed_fraction(),
            jobs: 0,
            backend: BackendKind::Local,
        }
    }
}

/// Where many fits run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// Child processes on this machine.
    #[default]
    Local,
    /// One Slurm job array, one task per fit (`sbatch --array`), waited for with `squeue`.
    Slurm,
}

impl EnsembleConfig {
    /// Whether any extra fit runs.
    pub fn enabled(&self) -> bool {
        self.members() > 1 || self.selfcheck > 0 || self.subsample > 0
    }

    /// Members, the fit included: seeds × max(1, bootstrap) × max(1, folds) (at least 1).
    pub fn members(&self) -> usize {
        self.seeds.max(1) * self.bootstrap.max(1) * self.folds.max(1)
    }

    /// Value checks that serde cannot express; `file` is the config, named in errors.
    pub(super) fn validate(&self, file: &Path, folds_available: usize) -> Result<()> {
        if self.folds > folds_available {
            return Err(Error::config(
                file,
                "ensemble.folds",
                format!(
                    "{} folds, but data.split.validation_fraction makes {folds_available}",
                    self.folds
                ),
                "use at most round(1 / validation_fraction) folds",
            ));
        }
        if !(self.observed_fraction > 0.0 && self.observed_fraction < 1.0) {
            return Err(Error::config(
                file,
                "ensemble.observed_fraction",
                format!("{}", self.observed_fraction),
                "use a fraction above 0 and below 1, e.g. 0.5",
            ));
        }
        if self.members() > 1000 || self.selfcheck > 100 || self.subsample > 100 {
            return Err(Error::config(
                file,
                "ensemble",
                format!(
                    "{} members and {} self-check refits are more fits than an ensemble needs",
                    self.members(),
                    self.selfcheck
                ),
                "use tens of members and a few self-check refits",
            ));
        }
        Ok(())
    }
}
