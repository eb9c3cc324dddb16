//! The rows of a fitted model's analysis tables (tidy, one row per observation): `interactions`,
//! `spectrum`, `diagnostics` and `currents`, plus the current time courses of `currents.h5`. Each
//! function reads a [`Fitted`] model (and free-running simulations of it) and returns rows; the
//! run directory writes them.

use super::blocks::{block_interactions, blocks_of, Level};
use super::currents::Decomposition;
use super::diagnostics::{metrics, submatrix, Spectrum};
use super::jacobian::{jacobian, mean_state, saturated_fraction};
use crate::config::SpectraStages;
use crate::error::Result;
use crate::network::{Fitted, FreeRun};
use crate::rundir::series::{CurrentCourses, LevelCourses};
use crate::rundir::tables::{
    CurrentEnsembleRow, CurrentRow, DiagnosticRow, InteractionEnsembleRow, InteractionRow,
    PerturbationEnsembleRow, PerturbationRow, SpectrumRow,
};

/// The levels named in a config (validated there).
pub fn levels_of(names: &[String]) -> Vec<Level> {
    names
        .iter()
        .map(|n| Level::parse(n).expect("validated levels"))
        .collect()
}

/// `interactions.parquet`: block statistics of the dense and final weights at every level.
pub fn interactions(f: &Fitted, levels: &[Level]) -> Vec<InteractionRow> {
    let units = &f.network.units.units;
    let mut rows = Vec::new();
    for (stage, w) in f
        .stages()
        .iter()
        .filter(|(s, _)| *s == "dense" || *s == "final")
    {
        for &level in levels {
            for r in block_interactions(units, w, level) {
                rows.push(InteractionRow {
                    level: level.name().into(),
                    stage: (*stage).into(),
                    pre: r.pre,
                    post: r.post,
                    n_pre: r.n_pre as u32,
                    n_post: r.n_post as u32,
                    n_possible: r.n_possible as u32,
                    n_nonzero: r.n_nonzero as u32,
                    density: r.density,
                    mean_w: r.mean_w,
                    mean_abs_w: r.mean_abs_w,
                    sum_w: r.sum_w,
                    mean_w_ci_low: f64::NAN,
                    mean_w_ci_high: f64::NAN,
                    sign_determined: None,
                    identifiable: None,
                });
            }
        }
    }
    rows
}

/// Give the final-stage `rows` of `interactions.parquet` the ensemble's interval of `mean_w`,
/// its sign verdict and the self-check's flag from `ensemble` (`interactions_ensemble.parquet`),
/// block by block; rows the ensemble does not cover keep NaN and null.
pub fn with_intervals(rows: &mut [InteractionRow], ensemble: &[InteractionEnsembleRow]) {
    let by_block: std::collections::BTreeMap<(&str, &str, &str), &InteractionEnsembleRow> =
        ensemble
            .iter()
            .filter(|e| e.metric == "mean_w")
            .map(|e| ((e.level.as_str(), e.pre.as_str(), e.post.as_str()), e))
            .collect();
    for r in rows.iter_mut().filter(|r| r.stage == "final") {
        if let Some(e) = by_block.get(&(r.level.as_str(), r.pre.as_str(), r.post.as_str())) {
            r.mean_w_ci_low = e.ci_low;
            r.mean_w_ci_high = e.ci_high;
            r.sign_determined = Some(e.sign_determined);
            r.identifiable = e.identifiable;
        }
    }
}

/// Give the `rows` of `currents.parquet` the ensemble's interval of `mean_current` and the
/// self-check's flag from `ensemble` (`currents_ensemble.parquet`), current by current; rows the
/// ensemble does not cover keep NaN and null.
pub fn currents_with_intervals(rows: &mut [CurrentRow], ensemble: &[CurrentEnsembleRow]) {
    type CurrentKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);
    let by_current: std::collections::BTreeMap<CurrentKey, &CurrentEnsembleRow> = ensemble
        .iter()
        .map(|e| {
            let key = (
                e.level.as_str(),
                e.split.as_str(),
                e.source.as_str(),
                e.target.as_str(),
                e.source_sign.as_str(),
            );
            (key, e)
        })
        .collect();
    for r in rows.iter_mut() {
        let key = (
            r.level.as_str(),
            r.split.as_str(),
            r.source.as_str(),
            r.target.as_str(),
            r.source_sign.as_str(),
        );
        if let Some(e) = by_current.get(&key) {
            r.mean_current_ci_low = e.ci_low;
            r.mean_current_ci_high = e.ci_high;
            r.identifiable = e.identifiable;
        }
    }
}

/// Give the `rows` of `perturbations.parquet` the ensemble's interval of `delta_rel`, its sign
/// verdict and the self-check's verdict from `ensemble` (`perturbations_ensemble.parquet`),
/// effect by effect; rows the ensemble does not cover keep NaN and null.
pub fn perturbations_with_intervals(
    rows: &mut [PerturbationRow],
    ensemble: &[PerturbationEnsembleRow],
) {
    for r in rows.iter_mut() {
        let same = |e: &&PerturbationEnsembleRow| {
            e.kind == r.kind
                && e.perturbed == r.perturbed
                && e.target == r.target
                && e.magnitude.to_bits() == r.magnitude.to_bits()
        };
        if let Some(e) = ensemble.iter().find(same) {
            r.delta_rel_ci_low = e.ci_low;
            r.delta_rel_ci_high = e.ci_high;
            r.sign_determined = Some(e.sign_determined);
            r.identifiable = e.identifiable;
        }
    }
}

/// `currents.parquet` (time-averaged CURBD currents per level and split, from the free-running
/// simulations `runs` of the final model, one per split) and the time courses of the first
/// validation-or-training run for `currents.h5` (`None` without runs).
pub fn currents(
    f: &Fitted,
    levels: &[Level],
    runs: &[(&str, &FreeRun)],
) -> (Vec<CurrentRow>, Option<CurrentCourses>) {
    let units = &f.network.units.units;
    let mut rows = Vec::new();
    let course_run = runs.iter().find(|r| r.0 == "validation").or(runs.first());
    let mut courses = Vec::new();
    for &level in levels {
        for (split, run) in runs {
            let d = Decomposition::new(
                units,
                &f.network.signs,
                level,
                &f.params.w_rec,
                run.rates.view(),
            );
            for row in d.rows() {
                rows.push(CurrentRow {
                    level: level.name().into(),
                    split: (*split).into(),
                    source: row.source,
                    target: row.target,
                    source_sign: row.source_sign.to_string(),
                    mean_current: row.mean_current,
                    mean_abs_current: row.mean_abs_current,
                    mean_current_ci_low: f64::NAN,
                    mean_current_ci_high: f64::NAN,
                    identifiable: None,
                });
            }
            if course_run.is_some_and(|c| c.0 == *split) {
                courses.push(LevelCourses {
                    level: level.name().into(),
                    targets: d.labels.clone(),
                    sources: d.source_labels(),
                    source_block: d
                        .sources
                        .iter()
                        .map(|(b, _)| d.labels[*b].clone())
                        .collect(),
                    source_sign: d.sources.iter().map(|(_, s)| s.to_string()).collect(),
                    current: d.course,
                });
            }
        }
    }
    let courses = course_run.map(|(split, run)| CurrentCourses {
        split: (*split).into(),
        frame: run.frame.clone(),
        window: run.window.clone(),
        levels: courses,
    });
    (rows, courses)
}

/// Rows of `spectrum.parquet` and `diagnostics.parquet`.
#[derive(Debug, Default)]
pub struct SpectralRows {
    /// Eigen- and singular values.
    pub spectrum: Vec<SpectrumRow>,
    /// Metrics per stage and scope.
    pub diagnostics: Vec<DiagnosticRow>,
}

impl SpectralRows {
    /// Add the eigenvalues and singular values of `sp`, the spectrum of `matrix` at `stage`.
    pub fn spectrum(&mut self, stage: &str, matrix: &str, sp: &Spectrum) {
        let ev = sp.eigenvalues.iter().map(|e| (e.0, e.1));
        let sv = sp.singular_values.iter().map(|s| (*s, 0.0));
        for (kind, items) in [
            ("eigenvalue", ev.collect::<Vec<_>>()),
            ("singular_value", sv.collect()),
        ] {
            for (k, (re, im)) in items.into_iter().enumerate() {
                self.spectrum.push(SpectrumRow {
                    stage: stage.into(),
                    matrix: matrix.into(),
                    kind: kind.into(),
                    index: k as u32,
                    re,
                    im,
                });
            }
        }
    }

    /// Add one metric of `scope` at `stage`.
    pub fn diagnostic(&mut self, stage: &str, scope: &str, metric: &str, value: f64) {
        self.diagnostics.push(DiagnosticRow {
            stage: stage.into(),
            scope: scope.into(),
            metric: metric.into(),
            value,
        });
    }
}

/// `spectrum.parquet` and `diagnostics.parquet`: for every stage, the metrics of `W_rec` (scope
/// `all`, and the recurrent sub-network of each block with at least two units at every level),
/// with spectra for the stages that `spectra` selects; for those of them in `runs` (a free-running
/// simulation of that stage's parameters), the spectrum of the Jacobian at the mean state, its
/// spectral radius and the fraction of saturated units.
pub fn spectra(
    f: &Fitted,
    levels: &[Level],
    runs: &[(&'static str, &FreeRun)],
    spectra: SpectraStages,
) -> Result<SpectralRows> {
    let units = &f.network.units.units;
    let signs = &f.network.signs;
    let mut t = SpectralRows::default();
    for (stage, w) in f.stages() {
        let with_spectra = spectra.includes(stage, w.nrows());
        let sp = if with_spectra {
            Some(Spectrum::of(&w)?)
        } else {
            None
        };
        if let Some(sp) = &sp {
            t.spectrum(stage, "w_rec", sp);
        }
        for (metric, value) in metrics(&w, signs, sp.as_ref()) {
            t.diagnostic(stage, "all", metric, value);
        }
        for &level in levels {
            let (labels, block) = blocks_of(units, level);
            for (b, label) in labels.iter().enumerate() {
                let members: Vec<usize> = (0..block.len()).filter(|&i| block[i] == b).collect();
                if members.len() < 2 {
                    continue;
                }
                let sub = submatrix(&w, &members);
                let sub_signs: Vec<_> = members.iter().map(|&i| signs[i]).collect();
                let sp = if with_spectra {
                    Some(Spectrum::of(&sub)?)
                } else {
                    None
                };
                for (metric, value) in metrics(&sub, &sub_signs, sp.as_ref()) {
                    t.diagnostic(stage, label, metric, value);
                }
            }
        }
        if let Some((_, run)) = runs.iter().find(|r| r.0 == stage && with_spectra) {
            let act = f.network.rnn.activation;
            let p_stage = f.params_of(stage);
            let alpha = f.network.alpha_values(p_stage)?;
            let j = jacobian(&p_stage.w_rec, &alpha, &mean_state(run.states.view()), act);
            let sp = Spectrum::of(&j)?;
            t.spectrum(stage, "jacobian", &sp);
            t.diagnostic(stage, "all", "jacobian_spectral_radius", sp.radius());
            t.diagnostic(
                stage,
                "all",
                "saturated_fraction",
                saturated_fraction(run.states.view(), act),
            );
        }
    }
    Ok(t)
}
