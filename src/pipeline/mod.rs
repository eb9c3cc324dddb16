//! The whole job of `fitrnn --config`, as a library: fit a dataset (from scratch or from a run's
//! checkpoint), evaluate the fit against its baselines, analyse the fitted model, and write the run
//! directory and its report. Each step returns typed results; the command line only formats them.
//!
//! ```text
//! Dataset ──► train::fit ──► Fitted ──► evaluate ──► metrics, predictions
//!                                  └──► analyse  ──► interactions, currents, spectra, perturbations
//!                                                    └──► rundir (tables, weights, manifest) ──► report
//! ```

mod analyse;

pub use analyse::{analyse, Analyses};

use crate::config::Config;
use crate::dataset::Dataset;
use crate::error::Result;
pub use crate::evaluate::{evaluate, Evaluation, Headline};
use crate::network::Fitted;
use crate::report::ReportSummary;
use crate::rundir::checkpoint::{Checkpoint, CheckpointWriter};
use crate::rundir::tables::{HistoryRow, SplitRow, UnitRow};
use crate::rundir::{weights, DataEntry, Manifest, RunDir, Weights};
use candle_core::Device;
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// Called after every epoch with the phase, the epoch, the epochs in the phase and its row.
pub type OnEpoch<'a> = &'a mut dyn FnMut(&str, usize, usize, &HistoryRow);

/// What a finished run reports.
#[derive(Debug)]
pub struct RunOutcome {
    /// The run directory.
    pub dir: PathBuf,
    /// Epochs trained, over both phases.
    pub epochs: usize,
    /// Mean wall time of an epoch, s.
    pub seconds_per_epoch: f64,
    /// Fraction of non-zero final recurrent weights.
    pub density: f64,
    /// What the one-step warm start did (none without one).
    pub warm_start: Option<crate::rundir::manifest::WarmStartSummary>,
    /// The learned indicator decays per cell type, `(cell type, initial ms, learned ms)` (empty
    /// for rate readouts).
    pub calcium_decays_ms: Vec<(String, f32, f32)>,
    /// The learned time constants per cell type, `(cell type, initial ms, learned ms)` (empty
    /// when they are fixed).
    pub taus_ms: Vec<(String, f32, f32)>,
    /// With inferred inputs: per area, the inferred drive's share of its units' input on the
    /// training frames, `(area, share)` (empty without them).
    pub inferred_shares: Vec<(String, f64)>,
    /// The validation headline of the evaluation.
    pub headline: Vec<Headline>,
    /// Wall time of each analysis step, s.
    pub analysis_seconds: Vec<(&'static str, f64)>,
    /// The ensemble and self-check around the fit, when `ensemble` asks for one.
    pub ensemble: Option<crate::ensemble::EnsembleOutcome>,
    /// The report.
    pub report: ReportSummary,
}

/// The manifest a new run starts with.
fn new_manifest(config: &Config, device: &Device) -> Result<Manifest> {
    Ok(Manifest {
        fitrnn_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("FITRNN_GIT_COMMIT").into(),
        command_line: std::env::args().collect(),
        config: String::new(),
        seed: config.seed,
        device: crate::device::choice_of(device).name(),
        threads: candle_core::utils::get_num_threads(),
        started_unix_s: crate::rundir::unix_now(),
        data: DataEntry::of(config.data.path.files())?,
        ..Manifest::default()
    })
}

/// Fit `ds` as `config` (read from `config_path`) asks, on `device`, into a new run directory
/// `config.output.dir`, and write everything.
pub fn run(
    config: &Config,
    config_path: &Path,
    ds: &Dataset,
    device: &Device,
    on_epoch: OnEpoch,
) -> Result<RunOutcome> {
    let mut manifest = new_manifest(config, device)?;
    manifest.config = config_path.display().to_string();
    let rd = RunDir::create(&config.output.dir, config.output.overwrite, manifest)?;
    finish(config, ds, device, rd, None, on_epoch)
}

/// Continue the interrupted run in `dir`, whose own resolved `config` and dataset `ds` the caller
/// has read: refuses a recording that changed since the run started (unless
/// `allow_changed_data`, with a warning), then fits from the last checkpoint and writes
/// everything, ending with the weights of an uninterrupted run.
pub fn resume(
    dir: &Path,
    config: &Config,
    ds: &Dataset,
    device: &Device,
    allow_changed_data: bool,
    on_epoch: OnEpoch,
) -> Result<RunOutcome> {
    let mut rd = RunDir::open_for_resume(dir)?;
    check_data(&mut rd, config, allow_changed_data)?;
    let state = Checkpoint::load(rd.paths())?;
    finish(config, ds, device, rd, Some(state), on_epoch)
}

/// Refuse a recording that changed since the run in `rd` was fitted, or with `allow_changed`
/// go on, printing the warning the manifest now records.
fn check_data(rd: &mut RunDir, config: &Config, allow_changed: bool) -> Result<()> {
    if let Some(w) = rd.check_data(config, allow_changed)? {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Fit and write everything; marks the manifest complete last, or failed with the error.
fn finish(
    config: &Config,
    ds: &Dataset,
    device: &Device,
    mut rd: RunDir,
    state: Option<Checkpoint>,
    on_epoch: OnEpoch,
) -> Result<RunOutcome> {
    let written =
        fit_and_write(config, ds, device, &mut rd, state, on_epoch).and_then(|mut outcome| {
            // The report is drawn from the run directory's files alone; `complete` is the last write,
            // so a run marked complete has every file, and a run stopped before can be resumed.
            outcome.report = crate::report::write_report_of_finishing_run(rd.path())?;
            rd.complete()?;
            Ok(outcome)
        });
    written.inspect_err(|e| {
        let _ = rd.fail(e);
    })
}

/// The units table: every model unit (recorded neurons first, then hidden units with a null
/// `neuron_id`), with its population and sign.
fn unit_rows(ds: &Dataset, fitted: &Fitted) -> Vec<UnitRow> {
    let ids = crate::evaluate::neuron_ids(ds);
    let net = &fitted.network;
    net.units
        .units
        .iter()
        .enumerate()
        .map(|(i, p)| UnitRow {
            unit: i as u32,
            neuron_id: ids.get(i).cloned().flatten(),
            area: p.area.clone(),
            layer: p.layer.clone(),
            cell_type: p.cell_type.clone(),
            sign: net.signs[i].to_string(),
            population: p.label(),
        })
        .collect()
}

/// The split table: every frame with its time and split.
fn split_rows(ds: &Dataset) -> Vec<SplitRow> {
    (0..ds.recording.n_frames())
        .map(|f| SplitRow {
            frame: f as u32,
            time_s: ds.recording.timestamps_s[f],
            split: if ds.split.is_train[f] {
                "train"
            } else {
                "validation"
            }
            .into(),
        })
        .collect()
}

/// Write the fitted weights: the dense fit under the blocks' support (all ones without a table),
/// and the final fit under its mask.
fn write_weights(rd: &RunDir, fitted: &Fitted) -> Result<()> {
    let signs: Vec<f32> = fitted.network.signs.iter().map(|s| s.value()).collect();
    if let Some(d) = &fitted.dense {
        let support = fitted
            .network
            .blocks
            .as_ref()
            .map(|b| b.support())
            .unwrap_or_else(|| Array2::ones(fitted.mask.dim()));
        weights::save(&rd.paths().weights(Weights::Dense), d, &support, &signs)?;
    }
    weights::save(
        &rd.paths().weights(Weights::Final),
        &fitted.params,
        &fitted.mask,
        &signs,
    )
}

fn density(w: &Array2<f32>) -> f64 {
    w.iter().filter(|v| **v != 0.0).count() as f64 / w.len().max(1) as f64
}

fn fit_and_write(
    config: &Config,
    ds: &Dataset,
    device: &Device,
    rd: &mut RunDir,
    state: Option<Checkpoint>,
    on_epoch: OnEpoch,
) -> Result<RunOutcome> {
    rd.write_config(config)?;
    rd.write_table(&split_rows(ds))?;
    let mut saver = CheckpointWriter::new(rd.paths(), &config.training.checkpoint);
    let fitted = crate::train::fit(config, ds, device, state, on_epoch, |st| saver.offer(st));
    rd.update(|m| {
        m.checkpoints_written += saver.written;
        m.checkpoint_bytes_written += saver.bytes;
    })?;
    let out = fitted?;
    let fitted = &out.fitted;
    rd.write_table(&unit_rows(ds, fitted))?;
    write_weights(rd, fitted)?;
    rd.write_table(&out.history)?;
    let evaluation = write_evaluation(rd, config, ds, fitted)?;
    let analyses = analyse(config, ds, fitted)?;
    analyses.write(rd)?;
    let calcium_decays_ms = fitted.network.learned_calcium_ms(&fitted.params);
    let taus_ms = fitted.network.learned_tau_ms(&fitted.params);
    rd.seal_final_weights()?;
    rd.update(|m| {
        m.analysis_wall_s = analyses.wall_s();
        m.wall_s_per_phase = out.phase_seconds.iter().cloned().collect();
        m.training_retries = out.retries.clone();
        m.warm_start = out.warm_start.clone();
        m.calcium_decay_ms = calcium_decays_ms
            .iter()
            .map(|(g, _, to)| (g.clone(), *to as f64))
            .collect();
        m.tau_ms = taus_ms
            .iter()
            .map(|(g, _, to)| (g.clone(), *to as f64))
            .collect();
    })?;
    let ensemble = if config.ensemble.enabled() {
        let e = crate::ensemble::run(config, ds, fitted, rd)?;
        rd.update(|m| {
            m.analysis_wall_s.insert("ensemble".into(), e.wall_s);
        })?;
        Some(e)
    } else {
        None
    };
    let epochs = out.history.len();
    Ok(RunOutcome {
        dir: rd.path().to_path_buf(),
        epochs,
        seconds_per_epoch: out.history.iter().map(|h| h.seconds).sum::<f64>()
            / epochs.max(1) as f64,
        density: density(&fitted.params.w_rec),
        warm_start: out.warm_start.clone(),
        calcium_decays_ms,
        taus_ms,
        inferred_shares: analyses
            .inferred_inputs
            .iter()
            .filter(|r| r.split == "train")
            .map(|r| (r.area.clone(), r.inferred_share))
            .collect(),
        headline: evaluation.headline,
        analysis_seconds: analyses.seconds.clone(),
        ensemble,
        report: ReportSummary::default(),
    })
}

/// `fitrnn analyse`: recompute the tables of the complete run in `dir` from its saved config,
/// data and weights (units, split, metrics and predictions, and every analysis), on `device`, and
/// write its report again (a changed recording is
/// refused unless `allow_changed_data`). Returns the analysis step
/// times and the report.
pub fn reanalyse(
    dir: &Path,
    config: &Config,
    ds: &Dataset,
    device: &Device,
    allow_changed_data: bool,
) -> Result<(Vec<(&'static str, f64)>, ReportSummary)> {
    let mut rd = RunDir::open_complete(dir, "analyse")?;
    check_data(&mut rd, config, allow_changed_data)?;
    let fitted = rd.load_fitted(config, ds, device)?;
    // Every table the weights and the recording determine, so that `analyse` can repair any of
    // them: units, split, the evaluation and the analyses (the history records the training).
    rd.write_table(&unit_rows(ds, &fitted))?;
    rd.write_table(&split_rows(ds))?;
    write_evaluation(&rd, config, ds, &fitted)?;
    let analyses = analyse(config, ds, &fitted)?;
    analyses.write(&rd)?;
    let report = crate::report::write_report(dir)?;
    Ok((analyses.seconds, report))
}

/// Evaluate `fitted` on `ds` and write `metrics.parquet` and `predictions.h5` into `rd`.
fn write_evaluation(
    rd: &RunDir,
    config: &Config,
    ds: &Dataset,
    fitted: &Fitted,
) -> Result<crate::evaluate::Evaluation> {
    let evaluation = evaluate(config, ds, fitted)?;
    rd.write_table(&evaluation.metrics)?;
    if let Some(p) = &evaluation.predictions {
        p.write(&rd.paths().predictions())?;
    }
    Ok(evaluation)
}

/// Wall time of each analysis step, s.
pub type AnalysisSeconds = Vec<(&'static str, f64)>;

/// `fitrnn analyse --allow-failed` on a failed run in `dir`: the best parameters of the phase its
/// last checkpoint was in (its current parameters when the phase had no validation loss yet) are
/// written as the run's weights and analysed, and the manifest and the report say so; the run
/// stays `failed`. Returns what was analysed, the analysis step times and the report.
pub fn reanalyse_failed(
    dir: &Path,
    config: &Config,
    ds: &Dataset,
    device: &Device,
    allow_changed_data: bool,
) -> Result<(String, AnalysisSeconds, ReportSummary)> {
    let mut rd = RunDir::open_failed(dir)?;
    check_data(&mut rd, config, allow_changed_data)?;
    let (fitted, what, history) = rd.fitted_from_checkpoint(config, ds, device)?;
    rd.write_table(&unit_rows(ds, &fitted))?;
    write_weights(&rd, &fitted)?;
    rd.write_table(&history)?;
    rd.update(|m| m.analysed_from_checkpoint = Some(what.clone()))?;
    write_evaluation(&rd, config, ds, &fitted)?;
    let analyses = analyse(config, ds, &fitted)?;
    analyses.write(&rd)?;
    let report = crate::report::write_report_of_failed_run(dir)?;
    Ok((what, analyses.seconds, report))
}

/// The self-check (and any ensemble member not run yet) of the complete run in `dir`, with its own
/// resolved `config` (whose `ensemble` section says how many refits), on `device`: writes the
/// ensemble tables and the config that describes them, and the report again.
pub fn selfcheck(
    dir: &Path,
    config: &Config,
    ds: &Dataset,
    device: &Device,
    allow_changed_data: bool,
) -> Result<(crate::ensemble::EnsembleOutcome, ReportSummary)> {
    let mut rd = RunDir::open_complete(dir, "self-check")?;
    check_data(&mut rd, config, allow_changed_data)?;
    let fitted = rd.load_fitted(config, ds, device)?;
    let outcome = crate::ensemble::run(config, ds, &fitted, &rd)?;
    rd.write_config(config)?;
    let report = crate::report::write_report(dir)?;
    Ok((outcome, report))
}
