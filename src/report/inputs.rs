//! The run directory as the report reads it: the manifest, the tidy tables as rows, the
//! predictions and the weights, all through [`crate::rundir`]. A missing or unreadable input is a
//! [`Need`] error (a sentence saying what is missing), so that the figure or section that needs it
//! is skipped with a note instead of failing the report.

use crate::error::Result;
use crate::rundir::paths::{table_file, RunPaths, Weights};
use crate::rundir::series::Predictions;
use crate::rundir::tables::{
    self, ConstantEnsembleRow, CurrentRow, DiagnosticRow, HistoryRow, InferredInputRow,
    InteractionEnsembleRow, InteractionRow, MetricRow, PerturbationEnsembleRow, PerturbationRow,
    SelfcheckRow, SpectrumRow, SplitRow, Table, UnitRow,
};
use crate::rundir::Manifest;
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// An input that may be missing: `Err` holds the reason, shown in the report.
pub type Need<T> = std::result::Result<T, String>;

/// Everything the report reads from a finished run directory.
pub struct RunFiles {
    /// The run directory.
    pub dir: PathBuf,
    /// Where its files live.
    pub paths: RunPaths,
    /// `manifest.json`.
    pub manifest: Manifest,
    units: Need<Vec<UnitRow>>,
    split: Need<Vec<SplitRow>>,
    history: Need<Vec<HistoryRow>>,
    metrics: Need<Vec<MetricRow>>,
    interactions: Need<Vec<InteractionRow>>,
    currents: Need<Vec<CurrentRow>>,
    perturbations: Need<Vec<PerturbationRow>>,
    spectrum: Need<Vec<SpectrumRow>>,
    diagnostics: Need<Vec<DiagnosticRow>>,
    ensemble: Need<Vec<InteractionEnsembleRow>>,
    perturbations_ensemble: Need<Vec<PerturbationEnsembleRow>>,
    selfcheck: Need<Vec<SelfcheckRow>>,
    inferred_inputs: Need<Vec<InferredInputRow>>,
    constants_ensemble: Need<Vec<ConstantEnsembleRow>>,
}

/// The rows of table `T`, or why they are unavailable.
fn load<T: Table>(paths: &RunPaths) -> Need<Vec<T>> {
    let path = paths.table(T::NAME);
    if !path.is_file() {
        return Err(format!("{} is missing", table_file(T::NAME)));
    }
    tables::read(&path).map_err(|e| format!("{} could not be read: {e}", table_file(T::NAME)))
}

/// A loaded table's rows, or the reason they are missing.
fn rows<T>(t: &Need<Vec<T>>) -> Need<&[T]> {
    t.as_deref().map_err(Clone::clone)
}

impl RunFiles {
    /// Read the manifest and tables of `dir`; refuses a run whose status is not `complete`, unless
    /// `finishing` (the pipeline writes the report before it marks its run complete).
    pub fn open(dir: &Path, finishing: bool) -> Result<RunFiles> {
        let manifest = if finishing {
            crate::rundir::read_manifest(dir)?
        } else {
            crate::rundir::read_complete_manifest(dir, "write a report for")?
        };
        let paths = RunPaths::new(dir);
        Ok(RunFiles {
            dir: dir.to_path_buf(),
            manifest,
            units: load(&paths),
            split: load(&paths),
            history: load(&paths),
            metrics: load(&paths),
            interactions: load(&paths),
            currents: load(&paths),
            perturbations: load(&paths),
            spectrum: load(&paths),
            diagnostics: load(&paths),
            ensemble: load(&paths),
            perturbations_ensemble: load(&paths),
            selfcheck: load(&paths),
            inferred_inputs: load(&paths),
            constants_ensemble: load(&paths),
            paths,
        })
    }

    /// `tables/units.parquet`.
    pub fn units(&self) -> Need<&[UnitRow]> {
        rows(&self.units)
    }
    /// `tables/split.parquet`.
    pub fn split(&self) -> Need<&[SplitRow]> {
        rows(&self.split)
    }
    /// `tables/history.parquet`.
    pub fn history(&self) -> Need<&[HistoryRow]> {
        rows(&self.history)
    }
    /// `tables/metrics.parquet`.
    pub fn metrics(&self) -> Need<&[MetricRow]> {
        rows(&self.metrics)
    }
    /// `tables/interactions.parquet`.
    pub fn interactions(&self) -> Need<&[InteractionRow]> {
        rows(&self.interactions)
    }
    /// `tables/currents.parquet`.
    pub fn currents(&self) -> Need<&[CurrentRow]> {
        rows(&self.currents)
    }
    /// `tables/perturbations.parquet`.
    pub fn perturbations(&self) -> Need<&[PerturbationRow]> {
        rows(&self.perturbations)
    }
    /// `tables/spectrum.parquet`.
    pub fn spectrum(&self) -> Need<&[SpectrumRow]> {
        rows(&self.spectrum)
    }
    /// `tables/diagnostics.parquet`.
    pub fn diagnostics(&self) -> Need<&[DiagnosticRow]> {
        rows(&self.diagnostics)
    }

    /// `tables/interactions_ensemble.parquet` (runs with an ensemble).
    pub fn ensemble(&self) -> Need<&[InteractionEnsembleRow]> {
        rows(&self.ensemble)
    }
    /// `tables/perturbations_ensemble.parquet` (runs with an ensemble).
    pub fn perturbations_ensemble(&self) -> Need<&[PerturbationEnsembleRow]> {
        rows(&self.perturbations_ensemble)
    }
    /// `tables/selfcheck.parquet` (runs with a self-check).
    pub fn selfcheck(&self) -> Need<&[SelfcheckRow]> {
        rows(&self.selfcheck)
    }

    /// `tables/inferred_inputs.parquet` (runs with inferred inputs).
    pub fn inferred_inputs(&self) -> Need<&[InferredInputRow]> {
        rows(&self.inferred_inputs)
    }

    /// `tables/constants_ensemble.parquet` (runs with an ensemble that learned constants).
    pub fn constants_ensemble(&self) -> Need<&[ConstantEnsembleRow]> {
        rows(&self.constants_ensemble)
    }

    /// `predictions.h5`.
    pub fn predictions(&self) -> Need<Predictions> {
        let path = self.paths.predictions();
        if !path.is_file() {
            return Err(format!("{} is missing", crate::rundir::paths::PREDICTIONS));
        }
        Predictions::read(&path).map_err(|e| e.to_string())
    }

    /// The final recurrent weights `W[post, pre]` from `model/final.safetensors`.
    pub fn final_weights(&self) -> Need<Array2<f32>> {
        let path = self.paths.weights(Weights::Final);
        if !path.is_file() {
            let relative = path.strip_prefix(self.paths.root()).unwrap_or(&path);
            return Err(format!("{} is missing", relative.display()));
        }
        crate::rundir::weights::TensorFile::open(&path)
            .and_then(|t| t.array2("w_rec"))
            .map_err(|e| e.to_string())
    }
}
