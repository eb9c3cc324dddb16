//! Where everything lives in a run directory (design §6). Every path of the layout is spelled
//! here, once; the rest of fitrnn asks a [`RunPaths`] for it.
//!
//! ```text
//! manifest.json  config.resolved.yaml  predictions.h5  currents.h5  report.html
//! model/{dense,final,checkpoint}.safetensors
//! tables/<table>.parquet  figures/<figure>.{png,svg}
//! ensemble/member_<k>/  selfcheck/recording_<k>.h5  selfcheck/refit_<k>/
//! ```

use std::path::{Path, PathBuf};

/// The manifest, relative to the run directory.
pub const MANIFEST: &str = "manifest.json";
/// The resolved config.
pub const CONFIG: &str = "config.resolved.yaml";
/// The folder of weights and checkpoints.
pub const MODEL: &str = "model";
/// The folder of tidy tables.
pub const TABLES: &str = "tables";
/// The folder of figures.
pub const FIGURES: &str = "figures";
/// Free-running predictions on the validation split.
pub const PREDICTIONS: &str = "predictions.h5";
/// Current time courses.
pub const CURRENTS: &str = "currents.h5";
/// The report.
pub const REPORT: &str = "report.html";
/// The ensemble's member runs.
pub const ENSEMBLE: &str = "ensemble";
/// The self-check's recordings and refits.
pub const SELFCHECK: &str = "selfcheck";

/// Which weights file: after the dense phase, or the final fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// `model/dense.safetensors`.
    Dense,
    /// `model/final.safetensors`.
    Final,
}

/// The paths of one run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPaths {
    root: PathBuf,
}

impl RunPaths {
    /// The run directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunPaths { root: root.into() }
    }
    /// The run directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `manifest.json`.
    pub fn manifest(&self) -> PathBuf {
        self.root.join(MANIFEST)
    }
    /// `config.resolved.yaml`.
    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG)
    }
    /// `model/`.
    pub fn model_dir(&self) -> PathBuf {
        self.root.join(MODEL)
    }
    /// `model/dense.safetensors` or `model/final.safetensors`.
    pub fn weights(&self, which: Weights) -> PathBuf {
        self.model_dir().join(match which {
            Weights::Dense => "dense.safetensors",
            Weights::Final => "final.safetensors",
        })
    }
    /// `model/checkpoint.safetensors`: the whole checkpoint (tensors, and its counters, window
    /// order and history in the metadata).
    pub fn checkpoint(&self) -> PathBuf {
        self.model_dir().join("checkpoint.safetensors")
    }
    /// `model/checkpoint.json`: where fitrnn 0.1 kept the checkpoint's counters, order and
    /// history, read when the checkpoint's metadata does not hold them.
    pub fn legacy_checkpoint_json(&self) -> PathBuf {
        self.model_dir().join("checkpoint.json")
    }
    /// `tables/`.
    pub fn tables_dir(&self) -> PathBuf {
        self.root.join(TABLES)
    }
    /// `tables/<name>.parquet`.
    pub fn table(&self, name: &str) -> PathBuf {
        self.tables_dir().join(format!("{name}.parquet"))
    }
    /// `predictions.h5`.
    pub fn predictions(&self) -> PathBuf {
        self.root.join(PREDICTIONS)
    }
    /// `currents.h5`.
    pub fn currents(&self) -> PathBuf {
        self.root.join(CURRENTS)
    }
    /// `figures/`.
    pub fn figures_dir(&self) -> PathBuf {
        self.root.join(FIGURES)
    }
    /// `report.html`.
    pub fn report(&self) -> PathBuf {
        self.root.join(REPORT)
    }
    /// `ensemble/member_<k>`: the run directory of the ensemble's member `k`.
    pub fn ensemble_member(&self, k: usize) -> PathBuf {
        self.root.join(ENSEMBLE).join(format!("member_{k}"))
    }
    /// `selfcheck/recording_<k>.h5`: the self-check's `k`-th recording simulated from the fit.
    pub fn selfcheck_recording(&self, k: usize) -> PathBuf {
        self.root.join(SELFCHECK).join(format!("recording_{k}.h5"))
    }
    /// `selfcheck/refit_<k>`: the run directory of the refit of recording `k`.
    pub fn selfcheck_refit(&self, k: usize) -> PathBuf {
        self.root.join(SELFCHECK).join(format!("refit_{k}"))
    }
    /// `selfcheck/subsample_<k>.h5`: the self-check's subsampled recording `k`.
    pub fn subsample_recording(&self, k: usize) -> PathBuf {
        self.root.join(SELFCHECK).join(format!("subsample_{k}.h5"))
    }
    /// `selfcheck/subsample_refit_<k>`: the run directory of the refit of subsampled recording `k`.
    pub fn subsample_refit(&self, k: usize) -> PathBuf {
        self.root
            .join(SELFCHECK)
            .join(format!("subsample_refit_{k}"))
    }
}

/// `tables/<name>.parquet` as a user reads it in messages.
pub fn table_file(name: &str) -> String {
    format!("{TABLES}/{name}.parquet")
}
