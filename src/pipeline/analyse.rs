//! Every analysis of a fitted model, in the order the run directory gets them: block interactions,
//! free-running simulations of the final (and dense) model, spectra and diagnostics, currents and
//! perturbations, each timed.

use crate::analysis::perturb::perturbations;
use crate::analysis::tables::{
    currents, currents_with_intervals, interactions, levels_of, perturbations_with_intervals,
    spectra, SpectralRows,
};
use crate::config::Config;
use crate::dataset::Dataset;
use crate::error::Result;
use crate::network::{Fitted, FreeRun};
use crate::rundir::series::CurrentCourses;
use crate::rundir::tables::{
    self, CurrentEnsembleRow, CurrentRow, InferredInputRow, InteractionEnsembleRow, InteractionRow,
    PerturbationEnsembleRow, PerturbationRow, Table,
};
use crate::rundir::RunDir;
use std::collections::BTreeMap;

/// The analyses of a fitted model, as rows of the run's tables.
#[derive(Debug)]
pub struct Analyses {
    /// `interactions.parquet`.
    pub interactions: Vec<InteractionRow>,
    /// `spectrum.parquet` and `diagnostics.parquet`.
    pub spectral: SpectralRows,
    /// `currents.parquet`.
    pub currents: Vec<CurrentRow>,
    /// `currents.h5`.
    pub courses: Option<CurrentCourses>,
    /// `perturbations.parquet`.
    pub perturbations: Vec<PerturbationRow>,
    /// `inferred_inputs.parquet` (empty, and not written, without inferred inputs).
    pub inferred_inputs: Vec<InferredInputRow>,
    /// Wall time of each step, s.
    pub seconds: Vec<(&'static str, f64)>,
}

impl Analyses {
    /// Write every table and `currents.h5` into the run directory.
    pub fn write(&self, rd: &RunDir) -> Result<()> {
        // A run analysed again after its ensemble keeps the ensemble's intervals on its blocks,
        // currents and perturbation effects.
        let ensemble = rd.paths().table(InteractionEnsembleRow::NAME);
        if ensemble.is_file() {
            let mut rows = self.interactions.clone();
            crate::analysis::tables::with_intervals(&mut rows, &tables::read(&ensemble)?);
            rd.write_table(&rows)?;
        } else {
            rd.write_table(&self.interactions)?;
        }
        rd.write_table(&self.spectral.spectrum)?;
        rd.write_table(&self.spectral.diagnostics)?;
        let mut currents = self.currents.clone();
        let ensemble = rd.paths().table(CurrentEnsembleRow::NAME);
        if ensemble.is_file() {
            currents_with_intervals(&mut currents, &tables::read(&ensemble)?);
        }
        rd.write_table(&currents)?;
        if let Some(c) = &self.courses {
            c.write(&rd.paths().currents())?;
        }
        if !self.inferred_inputs.is_empty() {
            rd.write_table(&self.inferred_inputs)?;
        }
        let mut perturbations = self.perturbations.clone();
        let ensemble = rd.paths().table(PerturbationEnsembleRow::NAME);
        if ensemble.is_file() {
            perturbations_with_intervals(&mut perturbations, &tables::read(&ensemble)?);
        }
        rd.write_table(&perturbations)
    }

    /// `{step: seconds, ..., "total": seconds}` for the manifest.
    pub fn wall_s(&self) -> BTreeMap<String, f64> {
        let mut m: BTreeMap<String, f64> = self
            .seconds
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        m.insert("total".into(), self.seconds.iter().map(|t| t.1).sum());
        m
    }
}

/// Analyse `f`, fitted to `ds` as `cfg` says: interactions, spectra and diagnostics, currents on
/// both splits and perturbations on the held-out windows (training windows when nothing is held
/// out).
pub fn analyse(cfg: &Config, ds: &Dataset, f: &Fitted) -> Result<Analyses> {
    let mut clock = std::time::Instant::now();
    let mut seconds = Vec::new();
    let mut lap = |name: &'static str| {
        seconds.push((name, clock.elapsed().as_secs_f64()));
        clock = std::time::Instant::now();
    };
    let levels = levels_of(&cfg.analysis.levels);
    let interactions = interactions(f, &levels);
    lap("interactions");
    let held_out = if ds.validation_windows.is_empty() {
        &ds.train_scored
    } else {
        &ds.validation_windows
    };
    let mut final_runs: Vec<(&'static str, FreeRun)> = Vec::new();
    for (split, windows) in [
        ("train", &ds.train_scored),
        ("validation", &ds.validation_windows),
    ] {
        if !windows.is_empty() {
            final_runs.push((split, f.free_run(&f.params, ds, windows)?));
        }
    }
    let final_held_out = if ds.validation_windows.is_empty() {
        0
    } else {
        final_runs.len() - 1
    };
    let dense_run = match &f.dense {
        Some(d) if !held_out.is_empty() => Some(f.free_run(d, ds, held_out)?),
        _ => None,
    };
    lap("simulations");
    let mut spectral_runs: Vec<(&'static str, &FreeRun)> = Vec::new();
    if let Some(r) = &dense_run {
        spectral_runs.push(("dense", r));
    }
    if let Some((_, r)) = final_runs.get(final_held_out) {
        spectral_runs.push(("final", r));
    }
    let spectral = spectra(f, &levels, &spectral_runs, cfg.analysis.spectra)?;
    lap("spectra_and_diagnostics");
    let runs: Vec<(&str, &FreeRun)> = final_runs.iter().map(|(s, r)| (*s, r)).collect();
    let (currents, courses) = currents(f, &levels, &runs);
    let inferred_inputs = crate::analysis::inferred::inferred_inputs(f, &runs);
    lap("currents");
    let perturbations = perturbations(f, ds, held_out, &cfg.analysis.perturbations)?;
    lap("perturbations");
    Ok(Analyses {
        interactions,
        spectral,
        currents,
        courses,
        perturbations,
        inferred_inputs,
        seconds,
    })
}
