//! Task mode (`fitrnn task --config FILE`): train a standard, ColEI or recurrent DANN network
//! (Li, Cornford et al. 2023), with or without Dale's law, on the papers' benchmark tasks
//! generated from their definitions, and write a run directory like a data fit's:
//!
//! ```text
//! manifest.json, config.resolved.yaml
//! model/initial.safetensors, model/final.safetensors   w_rec [n, n] (W[post, pre]), w_in, sign,
//!                                                      b, w_out, b_out (and a DANN's parts)
//! tables/history.parquet       phase `task`, epoch, step, train_loss, val_loss (= test loss), lr
//! tables/task_history.parquet  per epoch: test loss, NSE and spectral radius of W
//! tables/spectrum.parquet      eigenvalues and singular values of W, stages `init` and `final`
//! tables/diagnostics.parquet   test loss, NSE and spectral radius, stages `init` and `final`;
//!                              at `final` also how far training moved the network
//!                              ([`richlazy::NetworkChange`])
//! tables/units.parquet         each unit's sign (E / I; `–` without a sign rule)
//! figures/, report.html        the report's figures that these tables make
//! ```

pub mod config;
pub mod es;
pub mod model;
pub mod richlazy;
pub mod tasks;
mod train;

pub use config::{Architecture, EsConfig, SignConstraint, TaskConfig, TaskInit, TaskName};
pub use model::TaskNet;
pub use train::{
    evaluate, optimiser, spectral, step, stream, train, StepError, TaskEpoch, TaskFit,
};

use crate::analysis::diagnostics::Spectrum;
use crate::analysis::tables::SpectralRows;
use crate::error::Result;
use crate::rundir::tables::{HistoryRow, UnitRow};
use crate::rundir::Manifest;
use crate::rundir::RunDir;
use candle_core::Device;
use std::path::Path;

/// Train `cfg` (read from `config_path`) on `device` and write its run directory; returns the
/// fit and the directory's path.
pub fn run(
    cfg: &TaskConfig,
    config_path: &Path,
    command_line: Vec<String>,
    device: &Device,
    mut on_epoch: impl FnMut(&TaskEpoch),
) -> Result<TaskFit> {
    let dir = cfg.output.dir.clone().unwrap_or_default();
    let manifest = Manifest {
        fitrnn_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("FITRNN_GIT_COMMIT").into(),
        command_line,
        config: config_path.display().to_string(),
        seed: cfg.seed,
        device: crate::device::choice_of(device).name(),
        threads: candle_core::utils::get_num_threads(),
        started_unix_s: crate::rundir::manifest::unix_now(),
        task: Some(cfg.task.name.name().into()),
        ..Manifest::default()
    };
    let mut rd = RunDir::create(&dir, cfg.output.overwrite, manifest)?;
    rd.write_config(cfg)?;
    let t0 = std::time::Instant::now();
    let fit = match train(cfg, device, |e| on_epoch(e)) {
        Ok(f) => f,
        Err(e) => {
            rd.fail(&e)?;
            return Err(e);
        }
    };
    let seconds = t0.elapsed().as_secs_f64();
    write_outputs(&rd, &fit)?;
    rd.update(|m| {
        m.wall_s_per_phase.insert("task".into(), seconds);
    })?;
    rd.seal_final_weights()?;
    crate::report::write_report_of_finishing_run(rd.path())?;
    rd.complete()?;
    Ok(fit)
}

fn write_outputs(rd: &RunDir, fit: &TaskFit) -> Result<()> {
    use crate::rundir::Weights;
    let paths = rd.paths();
    let initial = paths.model_dir().join("initial.safetensors");
    crate::rundir::weights::write_arrays(&initial, &fit.initial)?;
    crate::rundir::weights::write_arrays(&paths.weights(Weights::Final), &fit.net.arrays()?)?;
    let history: Vec<HistoryRow> = fit.history[1..]
        .iter()
        .map(|e| HistoryRow {
            phase: "task".into(),
            epoch: e.epoch,
            step: e.step,
            train_loss: e.train_loss,
            val_loss: e.test_loss,
            lr: f64::NAN,
            seconds: e.seconds,
        })
        .collect();
    rd.write_table(&history)?;
    rd.write_table(&fit.history)?;
    let w_init = &fit
        .initial
        .iter()
        .find(|(n, _)| n == "w_rec")
        .expect("the initial weights hold w_rec")
        .1;
    let w_final = crate::model::to_array2(&fit.net.w()?)?;
    let mut spectral = SpectralRows::default();
    spectral.spectrum("init", "w_rec", &Spectrum::of(w_init)?);
    spectral.spectrum("final", "w_rec", &Spectrum::of(&w_final)?);
    let last = fit.history.last().expect("epoch 0 is always there");
    for (stage, e) in [("init", &fit.history[0]), ("final", last)] {
        for (metric, value) in [
            ("test_loss", e.test_loss),
            ("test_error_percent", e.test_error),
            ("normalised_svd_entropy", e.nse),
            ("spectral_radius", e.spectral_radius),
        ] {
            // No error rate for a task that is not classification.
            if value.is_finite() {
                spectral.diagnostic(stage, "all", metric, value);
            }
        }
    }
    for (metric, value) in fit.change.named() {
        spectral.diagnostic("final", "all", metric, value);
    }
    rd.write_table(&spectral.spectrum)?;
    rd.write_table(&spectral.diagnostics)?;
    let units: Vec<UnitRow> = fit
        .net
        .signs
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let sign = match *s {
                x if x > 0.0 => "E",
                x if x < 0.0 => "I",
                _ => "–",
            };
            UnitRow {
                unit: j as u32,
                neuron_id: None,
                area: "network".into(),
                layer: "-".into(),
                cell_type: sign.into(),
                sign: sign.into(),
                population: format!("network/-/{sign}"),
            }
        })
        .collect();
    rd.write_table(&units)?;
    Ok(())
}
