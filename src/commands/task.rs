//! `fitrnn task`: train a network on a benchmark task and write its run directory.

use crate::cli::TaskArgs;
use crate::error::Result;
use crate::task::{TaskConfig, TaskEpoch};
use std::fmt::Write;

/// Run `fitrnn task`.
pub fn task(args: &TaskArgs) -> Result<String> {
    let cfg = TaskConfig::load(&args.config, &args.set)?;
    crate::device::set_threads(args.threads);
    let device = crate::device::open(&args.device)?;
    let epochs = cfg.training.epochs;
    let bar = crate::progress::bar(epochs as u64, "task");
    let on_epoch = |e: &TaskEpoch| {
        // Epoch 0 is the untrained network: no training loss yet.
        let train = if e.epoch == 0 {
            "–".to_string()
        } else {
            format!("{:.4}", e.train_loss)
        };
        let msg = format!(
            "epoch {}/{epochs} loss {train} test {:.4} NSE {:.3}",
            e.epoch, e.test_loss, e.nse
        );
        bar.set_position(e.epoch as u64);
        if bar.is_hidden() {
            if e.epoch <= 1 || e.epoch as usize == epochs || e.epoch.is_multiple_of(10) {
                eprintln!("{msg}");
            }
        } else {
            bar.set_message(msg);
        }
    };
    let fit = crate::task::run(
        &cfg,
        &args.config,
        std::env::args().collect(),
        &device,
        on_epoch,
    )?;
    bar.finish_and_clear();
    let first = &fit.history[0];
    let last = fit.history.last().expect("epoch 0 is always there");
    let seconds: f64 = fit.history.iter().map(|e| e.seconds).sum();
    let m = &cfg.model;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "task        {} ({} steps, {} training / {} test examples)",
        cfg.task.name.name(),
        cfg.steps(),
        cfg.task.train_examples.unwrap_or(0),
        cfg.task.test_examples.unwrap_or(0)
    );
    let _ = writeln!(
        s,
        "network     {:?}, {} units, constraint {:?}, {:?}",
        m.architecture,
        m.units,
        m.constraint,
        m.activation.unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "test loss   {:.5} → {:.5} after {} epochs ({} steps, {:.1} s)",
        first.test_loss, last.test_loss, last.epoch, last.step, seconds
    );
    if last.test_error.is_finite() {
        let _ = writeln!(
            s,
            "test error  {:.2} % → {:.2} % of the test examples misclassified",
            first.test_error, last.test_error
        );
    }
    let _ = writeln!(
        s,
        "spectrum    NSE {:.3} → {:.3}, spectral radius {:.3} → {:.3}",
        first.nse, last.nse, first.spectral_radius, last.spectral_radius
    );
    let _ = writeln!(
        s,
        "\nwrote {} (seed {})",
        cfg.output.dir.clone().unwrap_or_default().display(),
        cfg.seed
    );
    Ok(s)
}
