//! Ensembles: how far each inferred interaction can be trusted. Around a finished fit, members
//! that differ in seed, in a block bootstrap of the training windows and in the held-out fold give
//! each block value an interval (`tables/interactions_ensemble.parquet`), and the self-check
//! refits recordings simulated from the fitted network to say which blocks data like the user's
//! determine (`tables/selfcheck.parquet`, the `identifiable` column). Every extra fit is one run of
//! the `fitrnn` binary through the job runner, one per core.
//!
//! ```text
//! fit ──► members (seeds × bootstrap × folds) ──┐
//!   └───► simulate from the fit ──► refits ─────┴──► consensus + self-check tables
//! ```

pub mod consensus;
mod constants;
pub mod currents;
pub mod members;
pub mod perturbations;
pub mod selfcheck;

use crate::analysis::tables::levels_of;
use crate::config::{BackendKind, Config};
use crate::data::write_recording;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::jobs::{BackendChoice, FitSpec};
use crate::network::Fitted;
use crate::rundir::tables::{
    self, CurrentRow, EnsembleMemberRow, InteractionRow, MetricRow, PerturbationRow, SelfcheckRow,
    Table,
};
use crate::rundir::{RunDir, RunPaths};
use consensus::Key;
use members::Member;
use std::collections::BTreeMap;
use std::path::Path;

/// What an ensemble did, for the command's summary and the report.
#[derive(Debug, Clone, Default)]
pub struct EnsembleOutcome {
    /// Members, the fit included.
    pub members: usize,
    /// Self-check refits.
    pub refits: usize,
    /// Fits at the same time.
    pub parallel: usize,
    /// Wall time of the extra fits and their summary, s.
    pub wall_s: f64,
    /// Blocks that exist in the fit, at the first analysis level.
    pub blocks: usize,
    /// Of those, blocks whose `mean_w` interval excludes 0.
    pub sign_determined: usize,
    /// Of those, blocks the self-check flagged identifiable (`None` without a self-check).
    pub identifiable: Option<usize>,
    /// The self-check's spectral-radius rows (`pre` = `all` and, with subsample refits,
    /// `subsample`), each with its verdict; empty without refits.
    pub spectrum: Vec<SelfcheckRow>,
    /// Intervals of what the fit learned besides its weights (`constants_ensemble.parquet`).
    pub constants: Vec<crate::rundir::tables::ConstantEnsembleRow>,
}

/// Fits at the same time and threads per fit: `jobs` (0: one per core), and the cores shared
/// between them.
fn parallelism(jobs: usize) -> (usize, usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parallel = if jobs == 0 { cores } else { jobs };
    (parallel.max(1), (cores / parallel.max(1)).max(1))
}

/// The self-check's refit of recording `k` of the run in `run` (`subsampled`: of subsampled
/// recording `k`).
fn refit_spec(run: &RunPaths, cfg: &Config, k: usize, threads: usize, subsampled: bool) -> FitSpec {
    let (data, out, name) = if subsampled {
        (
            run.subsample_recording(k),
            run.subsample_refit(k),
            format!("self-check subsample refit {k}"),
        )
    } else {
        (
            run.selfcheck_recording(k),
            run.selfcheck_refit(k),
            format!("self-check refit {k}"),
        )
    };
    // The simulated recording is a contract file whatever the user's was (NWB, several planes).
    let mut overrides = vec![
        format!("data.path={}", data.display()),
        "data.format=contract".to_string(),
        format!("seed={}", cfg.seed + 1 + k as u64),
    ];
    if cfg.data.deconvolve.is_some() {
        // The simulation is already rates (the fit's view of the deconvolved traces).
        overrides.push("data.deconvolve=null".to_string());
    }
    overrides.extend(members::no_ensemble());
    FitSpec {
        name,
        config: run.config(),
        overrides,
        out,
        threads,
    }
}

/// Simulate the self-check's `count` subsampled recordings from the fit (each keeping
/// `ensemble.observed_fraction` of every population's neurons) and write them.
fn simulate_subsamples(
    cfg: &Config,
    ds: &Dataset,
    f: &Fitted,
    run: &RunPaths,
    count: usize,
) -> Result<()> {
    let noise = selfcheck::noise_levels(f, ds)?;
    for k in 0..count {
        let path = run.subsample_recording(k);
        let seed = cfg
            .seed
            .wrapping_mul(6271)
            .wrapping_add(15_485_863 + k as u64);
        let (rec, _) = selfcheck::simulate_recording(f, ds, &noise, seed, &path)?;
        write_simulated(
            &selfcheck::subsample(&rec, cfg.ensemble.observed_fraction, seed),
            &path,
        )?;
    }
    Ok(())
}

/// Write a recording the self-check simulated to `path`, creating its folder.
fn write_simulated(rec: &crate::data::Recording, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating", e))?;
    }
    write_recording(rec, path)
}

/// Simulate the self-check's `refits` recordings from the fit and write them; returns the rates of
/// the first simulation (the truth's input shares come from them).
fn simulate_recordings(
    cfg: &Config,
    ds: &Dataset,
    f: &Fitted,
    run: &RunPaths,
    refits: usize,
) -> Result<ndarray::Array2<f32>> {
    let noise = selfcheck::noise_levels(f, ds)?;
    let mut first = None;
    for k in 0..refits {
        let path = run.selfcheck_recording(k);
        let seed = cfg.seed.wrapping_mul(7919).wrapping_add(104_729 + k as u64);
        let (rec, rates) = selfcheck::simulate_recording(f, ds, &noise, seed, &path)?;
        write_simulated(&rec, &path)?;
        first.get_or_insert(rates);
    }
    first.ok_or_else(|| Error::bug("self-check", "no recording simulated"))
}

/// Where the extra fits of the run in `run` run: `ensemble.backend`, `parallel` at a time.
fn backend_choice(cfg: &Config, run: &RunPaths, parallel: usize) -> BackendChoice {
    BackendChoice {
        kind: cfg.ensemble.backend,
        parallel: match cfg.ensemble.backend {
            BackendKind::Local => parallel,
            BackendKind::Slurm => cfg.ensemble.jobs,
        },
        slurm: cfg.slurm.clone(),
        wait: true,
        dir: run
            .root()
            .join(crate::rundir::paths::ENSEMBLE)
            .join("slurm"),
        name: "fitrnn-ensemble".into(),
    }
}

/// Run every fit of `specs` on `choice`'s backend; an error naming each failed fit's log.
fn run_all(specs: &[FitSpec], choice: &BackendChoice) -> Result<()> {
    let backend = choice.backend(specs)?;
    let results = crate::jobs::run_fits(backend.as_ref(), specs, "ensemble fits")?;
    let jobs: Vec<_> = specs.iter().map(FitSpec::job).collect();
    let failed = crate::jobs::failures(&jobs, &results);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::ChildrenFailed {
            summary: format!(
                "{} of {} ensemble fits finished; the fit itself is in the run directory, but its intervals need every member\n",
                specs.len() - failed.len(),
                specs.len()
            ),
            failed,
        })
    }
}

/// The held-out scores of each member (pooled rows of its `metrics` table, validation split).
fn member_rows(ms: &[Member]) -> Result<Vec<EnsembleMemberRow>> {
    let mut rows = Vec::new();
    for m in ms {
        let metrics: Vec<MetricRow> = tables::read(&RunPaths::new(&m.dir).table(MetricRow::NAME))?;
        for r in metrics
            .iter()
            .filter(|r| r.population == "all" && r.split == "validation")
        {
            rows.push(EnsembleMemberRow {
                member: m.index as u32,
                seed: m.seed,
                bootstrap: m.bootstrap.unwrap_or(0),
                fold: m.fold as u32,
                mode: r.mode.clone(),
                r2: r.r2,
                pvar: r.pvar,
            });
        }
    }
    Ok(rows)
}

/// Per block key (every metric), whether the self-check flagged the block identifiable.
fn flags(rows: &[SelfcheckRow]) -> BTreeMap<Key, bool> {
    let mut out = BTreeMap::new();
    for r in rows.iter().filter(|r| r.level != "network") {
        if let Some(flag) = r.identifiable {
            for metric in consensus::METRICS {
                out.insert(
                    (
                        r.level.clone(),
                        r.pre.clone(),
                        r.post.clone(),
                        metric.to_string(),
                    ),
                    flag,
                );
            }
        }
    }
    out
}

/// The self-check's rows: every refit scored against the fit, and the spectral radii.
fn selfcheck_rows(
    f: &Fitted,
    rates: &ndarray::Array2<f32>,
    run: &RunPaths,
    refits: usize,
    cfg: &Config,
) -> Result<Vec<SelfcheckRow>> {
    let levels = levels_of(&cfg.analysis.levels);
    let dirs: Vec<std::path::PathBuf> = (0..refits).map(|k| run.selfcheck_refit(k)).collect();
    let dirs: Vec<&Path> = dirs.iter().map(|d| d.as_path()).collect();
    let truth = selfcheck::truth(f, rates, &levels);
    let mut rows = selfcheck::score(&truth, &selfcheck::refits(&dirs, &levels)?);
    rows.extend(selfcheck::spectral_rows(f, &dirs)?);
    Ok(rows)
}

/// Run the ensemble `cfg.ensemble` asks for around the fit `f` of `ds`, written in `rd`, and write
/// its tables: `interactions_ensemble`, `perturbations_ensemble`, `currents_ensemble`,
/// `ensemble_members` (and the intervals into `interactions`, `perturbations` and `currents`), (with a
/// self-check) `selfcheck`, and (when the fit learned time constants, indicator decays or inferred
/// inputs) `constants_ensemble`.
pub fn run(cfg: &Config, ds: &Dataset, f: &Fitted, rd: &RunDir) -> Result<EnsembleOutcome> {
    let t0 = std::time::Instant::now();
    let run = rd.paths();
    let (parallel, local_threads) = parallelism(cfg.ensemble.jobs);
    let choice = backend_choice(cfg, run, parallel);
    let threads = match choice.kind {
        BackendKind::Local => local_threads,
        BackendKind::Slurm => choice.threads(),
    };
    let ms = members::members(cfg, run);
    let mut specs: Vec<FitSpec> = ms[1..]
        .iter()
        .map(|m| members::spec(run, m, threads))
        .collect();
    let refits = cfg.ensemble.selfcheck;
    let rates = if refits > 0 {
        Some(simulate_recordings(cfg, ds, f, run, refits)?)
    } else {
        None
    };
    specs.extend((0..refits).map(|k| refit_spec(run, cfg, k, threads, false)));
    let subsamples = cfg.ensemble.subsample;
    if subsamples > 0 {
        simulate_subsamples(cfg, ds, f, run, subsamples)?;
        specs.extend((0..subsamples).map(|k| refit_spec(run, cfg, k, threads, true)));
    }
    run_all(&specs, &choice)?;
    let mut check = match &rates {
        Some(r) => Some(selfcheck_rows(f, r, run, refits, cfg)?),
        None => None,
    };
    if subsamples > 0 {
        let dirs: Vec<std::path::PathBuf> =
            (0..subsamples).map(|k| run.subsample_refit(k)).collect();
        let dirs: Vec<&Path> = dirs.iter().map(|d| d.as_path()).collect();
        let rows = selfcheck::subsample_rows(f, &dirs, cfg.ensemble.observed_fraction)?;
        check.get_or_insert_with(Vec::new).extend(rows);
    }
    let levels = levels_of(&cfg.analysis.levels);
    let values = ms
        .iter()
        .map(|m| consensus::block_values(&m.dir, &levels))
        .collect::<Result<Vec<_>>>()?;
    let identifiable = check.as_deref().map(flags).unwrap_or_default();
    let rows = consensus::rows(&values[0], &values, &identifiable);
    rd.write_table(&rows)?;
    let mut interactions: Vec<InteractionRow> = tables::read(&run.table(InteractionRow::NAME))?;
    crate::analysis::tables::with_intervals(&mut interactions, &rows);
    rd.write_table(&interactions)?;
    let effects = perturbation_rows(&ms, run, refits)?;
    rd.write_table(&effects)?;
    let mut perturbations: Vec<PerturbationRow> = tables::read(&run.table(PerturbationRow::NAME))?;
    crate::analysis::tables::perturbations_with_intervals(&mut perturbations, &effects);
    rd.write_table(&perturbations)?;
    let member_currents = ms
        .iter()
        .map(|m| currents::currents(&m.dir))
        .collect::<Result<Vec<_>>>()?;
    let current_rows = currents::rows(&member_currents[0], &member_currents, &identifiable);
    rd.write_table(&current_rows)?;
    let mut fit_currents: Vec<CurrentRow> = tables::read(&run.table(CurrentRow::NAME))?;
    crate::analysis::tables::currents_with_intervals(&mut fit_currents, &current_rows);
    rd.write_table(&fit_currents)?;
    rd.write_table(&member_rows(&ms)?)?;
    let constants = constants::rows(&ms)?;
    if !constants.is_empty() {
        rd.write_table(&constants)?;
    }
    if let Some(c) = &check {
        rd.write_table(c)?;
    }
    let mut outcome = summarise(&rows, &levels, ms.len(), refits, parallel, t0);
    outcome.spectrum = check
        .iter()
        .flatten()
        .filter(|r| r.level == "network" && r.metric == "spectral_radius")
        .cloned()
        .collect();
    outcome.constants = constants;
    Ok(outcome)
}

/// The fit's perturbation effects with the members' intervals and the refits' verdicts.
fn perturbation_rows(
    ms: &[Member],
    run: &RunPaths,
    refits: usize,
) -> Result<Vec<crate::rundir::tables::PerturbationEnsembleRow>> {
    let members = ms
        .iter()
        .map(|m| perturbations::effects(&m.dir))
        .collect::<Result<Vec<_>>>()?;
    let refit = (0..refits)
        .map(|k| perturbations::effects(&run.selfcheck_refit(k)))
        .collect::<Result<Vec<_>>>()?;
    Ok(perturbations::rows(&members[0], &members, &refit))
}

/// Counts of the first level's existing blocks for the summary.
fn summarise(
    rows: &[crate::rundir::tables::InteractionEnsembleRow],
    levels: &[crate::analysis::blocks::Level],
    members: usize,
    refits: usize,
    parallel: usize,
    t0: std::time::Instant,
) -> EnsembleOutcome {
    let level = levels.first().map(|l| l.name()).unwrap_or("population");
    let existing: Vec<_> = rows
        .iter()
        .filter(|r| r.level == level && r.metric == "mean_w" && r.estimate != 0.0)
        .collect();
    EnsembleOutcome {
        members,
        refits,
        parallel,
        wall_s: t0.elapsed().as_secs_f64(),
        blocks: existing.len(),
        sign_determined: existing.iter().filter(|r| r.sign_determined).count(),
        identifiable: (refits > 0).then(|| {
            existing
                .iter()
                .filter(|r| r.identifiable == Some(true))
                .count()
        }),
        spectrum: Vec::new(),
        constants: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The self-check simulates rates from the fit's view of the data, so a refit of a
    /// deconvolved fit must not deconvolve its recording again.
    #[test]
    fn refits_of_a_deconvolved_fit_read_their_recordings_as_they_are() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/mouse_v1.yaml");
        let run = RunPaths::new("/runs/r");
        let plain = Config::load(&path, &[]).unwrap();
        let spec = refit_spec(&run, &plain, 0, 1, false);
        assert!(!spec
            .overrides
            .iter()
            .any(|o| o.starts_with("data.deconvolve")));
        let sets = vec!["data.deconvolve={decay_ms: {default: 500}}".to_string()];
        let deconvolved = Config::load(&path, &sets).unwrap();
        for subsampled in [false, true] {
            let spec = refit_spec(&run, &deconvolved, 0, 1, subsampled);
            assert!(spec.overrides.contains(&"data.deconvolve=null".to_string()));
            let refit = Config::load(&path, &[sets.clone(), spec.overrides].concat()).unwrap();
            assert!(refit.data.deconvolve.is_none());
        }
    }
}
