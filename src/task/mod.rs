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

use crate::error::Result;
use crate::rundir::tables::{DiagnosticRow, HistoryRow, SpectrumRow, UnitRow};
use crate::rundir::Manifest;
use crate::rundir::RunDir;
use candle_core::{Device, Tensor};
use ndarray::Array2;
use std::collections::HashMap;
use std::path::Path;

crate::rundir::tables::table! {
    /// `task_history.parquet`: one row per epoch of a task run (epoch 0: before training).
    TaskHistoryRow = "task_history" {
        /// Epoch (0 = the initial network).
        epoch: u32,
        /// Optimiser steps so far.
        step: u32,
        /// Mean training loss over the epoch's batches (NaN at epoch 0).
        train_loss: f64,
        /// Loss on the test examples (mean squared error; cross-entropy for `smnist_5k`).
        test_loss: f64,
        /// Misclassified test examples, % (NaN for tasks that are not classification).
        test_error: f64,
        /// Normalised SVD entropy of the effective recurrent weights.
        nse: f64,
        /// Their spectral radius.
        spectral_radius: f64,
        /// Wall time of the epoch, s.
        seconds: f64,
    }
}

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

fn write_weights(path: &Path, arrays: &[(String, Array2<f32>)]) -> Result<()> {
    let mut m = HashMap::new();
    for (name, a) in arrays {
        let t = Tensor::from_slice(
            a.as_standard_layout().as_slice().expect("standard layout"),
            a.dim(),
            &Device::Cpu,
        )?;
        m.insert(name.clone(), t);
    }
    crate::rundir::weights::write(path, &m, None)
}

/// Eigenvalues and singular values of `w` at `stage`.
fn spectrum_rows(stage: &str, w: &Array2<f32>) -> Result<Vec<SpectrumRow>> {
    let mut eig = crate::linalg::eigenvalues(w)?;
    eig.sort_by(|a, b| {
        (b.0.hypot(b.1))
            .partial_cmp(&a.0.hypot(a.1))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let row = |kind: &str, index: usize, re: f64, im: f64| SpectrumRow {
        stage: stage.into(),
        matrix: "w_rec".into(),
        kind: kind.into(),
        index: index as u32,
        re,
        im,
    };
    let mut rows: Vec<SpectrumRow> = eig
        .iter()
        .enumerate()
        .map(|(k, (re, im))| row("eigenvalue", k, *re, *im))
        .collect();
    for (k, s) in crate::linalg::singular_values(w)?.iter().enumerate() {
        rows.push(row("singular_value", k, *s, 0.0));
    }
    Ok(rows)
}

fn write_outputs(rd: &RunDir, fit: &TaskFit) -> Result<()> {
    use crate::rundir::Weights;
    let paths = rd.paths();
    write_weights(&paths.model_dir().join("initial.safetensors"), &fit.initial)?;
    write_weights(&paths.weights(Weights::Final), &fit.net.arrays()?)?;
    let history: Vec<HistoryRow> = fit.history[1..]
        .iter()
        .map(|e| HistoryRow {
            phase: "task".into(),
            epoch: e.epoch as u32,
            step: e.step as u32,
            train_loss: e.train_loss,
            val_loss: e.test_loss,
            lr: f64::NAN,
            seconds: e.seconds,
        })
        .collect();
    rd.write_table(&history)?;
    let task_history: Vec<TaskHistoryRow> = fit
        .history
        .iter()
        .map(|e| TaskHistoryRow {
            epoch: e.epoch as u32,
            step: e.step as u32,
            train_loss: e.train_loss,
            test_loss: e.test_loss,
            test_error: e.test_error,
            nse: e.nse,
            spectral_radius: e.spectral_radius,
            seconds: e.seconds,
        })
        .collect();
    rd.write_table(&task_history)?;
    let w_init = &fit
        .initial
        .iter()
        .find(|(n, _)| n == "w_rec")
        .expect("the initial weights hold w_rec")
        .1;
    let w_final = crate::model::to_array2(&fit.net.w()?)?;
    let mut spectrum = spectrum_rows("init", w_init)?;
    spectrum.extend(spectrum_rows("final", &w_final)?);
    rd.write_table(&spectrum)?;
    let mut diagnostics = Vec::new();
    for (stage, e) in [
        ("init", &fit.history[0]),
        ("final", fit.history.last().expect("epoch 0")),
    ] {
        for (metric, value) in [
            ("test_loss", e.test_loss),
            ("test_error_percent", e.test_error),
            ("normalised_svd_entropy", e.nse),
            ("spectral_radius", e.spectral_radius),
        ] {
            if !value.is_finite() {
                continue; // no error rate for a task that is not classification
            }
            diagnostics.push(DiagnosticRow {
                stage: stage.into(),
                scope: "all".into(),
                metric: metric.into(),
                value,
            });
        }
    }
    for (metric, value) in fit.change.named() {
        diagnostics.push(DiagnosticRow {
            stage: "final".into(),
            scope: "all".into(),
            metric: metric.into(),
            value,
        });
    }
    rd.write_table(&diagnostics)?;
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
