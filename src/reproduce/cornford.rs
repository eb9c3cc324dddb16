//! `cornford-eg`: Cornford et al. 2024's claim that learning with exponentiated gradients (EG)
//! gives log-normal weights (bioRxiv 10.1101/2024.10.25.620272; code: linclab/EG_optimiser),
//! tested on a data fit.
//!
//! The same recording, network and starting weights are fitted twice for the same number of
//! dense-phase epochs: with AdamW (additive steps) and with AdamW-EG (`w ← w ⊙ exp(−η sign(w) ⊙
//! m̂/√v̂)`, additive steps in `ln |w|`). EG needs a larger learning rate to move the weights as far
//! (the authors' README says so): its rate is [`EG_LR_FACTOR`] times AdamW's, and the table gives
//! the median relative change of each run's weights so the two can be compared. How far each
//! run's weights are from log-normal is the Kolmogorov–Smirnov distance of `ln |w|` (non-zero
//! recurrent weights after the dense phase) to the normal with the same mean and SD; the starting
//! weights' distance is the reference.

use super::outcome::{check, report, Outcome, Size, Target};
use crate::error::Result;
use ndarray::Array2;
use std::path::Path;

/// AdamW's learning rate.
const LR: f64 = 0.01;
/// AdamW-EG's learning rate, as a multiple of AdamW's.
const EG_LR_FACTOR: f64 = 30.0;

/// Dense-phase epochs per run size.
fn epochs(size: Size) -> usize {
    match size {
        Size::Tiny => 40,
        Size::Reduced => 200,
        Size::Full => 1000,
    }
}

/// `ln |w|` of the non-zero entries of `w`.
fn log_magnitudes(w: &Array2<f32>) -> Vec<f64> {
    w.iter()
        .filter(|v| **v != 0.0)
        .map(|v| f64::from(v.abs()).ln())
        .collect()
}

/// The median of `|w − w0| / |w0|` over the entries non-zero in `w0`.
fn median_relative_change(w0: &Array2<f32>, w: &Array2<f32>) -> f64 {
    let change: Vec<f64> = w0
        .iter()
        .zip(w.iter())
        .filter(|(a, _)| **a != 0.0)
        .map(|(a, b)| f64::from((b - a).abs() / a.abs()))
        .collect();
    crate::stats::quantile(&change, 0.5)
}

/// One fit of `config` with `optimiser` at `lr` for `epochs` dense epochs: the starting and the
/// dense-phase recurrent weights.
fn fit(
    config: &Path,
    optimiser: &str,
    lr: f64,
    epochs: usize,
    seed: u64,
) -> Result<(Array2<f32>, Array2<f32>)> {
    let overrides = [
        format!("training.optimiser={optimiser}"),
        format!("training.lr={lr}"),
        format!("training.dense_epochs={epochs}"),
        format!("seed={seed}"),
    ];
    let (_, f) = super::datafit::dense_fit(config, &overrides)?;
    Ok((f.w_init, f.params.w_rec))
}

/// Run the reproduction at `size` on the recording and model of the run config `config`.
pub fn run(size: Size, seed: u64, config: &Path) -> Result<Outcome> {
    let target = Target::CornfordEg;
    let e = epochs(size);
    let (w0, additive) = fit(config, "adamw", LR, e, seed)?;
    let (_, eg) = fit(config, "adamw_eg", LR * EG_LR_FACTOR, e, seed)?;
    let ks = |w: &Array2<f32>| crate::stats::ks_normal(&log_magnitudes(w));
    let (k0, k_add, k_eg) = (ks(&w0), ks(&additive), ks(&eg));
    let cond = format!("{e} epochs");
    let rows = vec![
        report(target, "ks_log_w_start", cond.clone(), f64::NAN, k0),
        report(target, "ks_log_w_adamw", cond.clone(), f64::NAN, k_add),
        report(target, "ks_log_w_adamw_eg", cond.clone(), f64::NAN, k_eg),
        report(
            target,
            "median_relative_change_adamw",
            cond.clone(),
            f64::NAN,
            median_relative_change(&w0, &additive),
        ),
        report(
            target,
            "median_relative_change_adamw_eg",
            cond.clone(),
            f64::NAN,
            median_relative_change(&w0, &eg),
        ),
        check(
            target,
            "ks_log_w_adamw_eg_minus_adamw",
            cond.clone(),
            f64::NAN,
            k_eg - k_add,
            "EG's weights closer to log-normal than AdamW's (smaller KS distance)",
            k_eg < k_add,
        ),
        check(
            target,
            "ks_log_w_adamw_eg_minus_start",
            cond,
            f64::NAN,
            k_eg - k0,
            "EG moves the weights towards log-normal from where they started",
            k_eg < k0,
        ),
    ];
    let plot = super::figures::Histograms {
        title: "ln |w| of the recurrent weights, standardised".into(),
        series: vec![
            (format!("start (KS {k0:.3})"), log_magnitudes(&w0)),
            (format!("AdamW (KS {k_add:.3})"), log_magnitudes(&additive)),
            (format!("AdamW-EG (KS {k_eg:.3})"), log_magnitudes(&eg)),
        ],
    };
    Ok(Outcome {
        rows,
        figure: crate::report::render::png(&plot, "cornford-eg figure")?,
        notes: vec![
            format!(
                "{} fitted twice from the same start for {e} dense epochs: AdamW at lr {LR}, AdamW-EG at lr {}",
                config.display(),
                LR * EG_LR_FACTOR
            ),
            "KS = Kolmogorov–Smirnov distance of ln |w| (non-zero weights) to the normal with its mean and SD; the paper gives no numbers".into(),
        ],
    })
}
