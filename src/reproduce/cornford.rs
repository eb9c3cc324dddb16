//! `cornford-eg`: Cornford et al. 2024's claim that learning with exponentiated gradients (EG)
//! gives log-normal weights (bioRxiv 10.1101/2024.10.25.620272; code: linclab/EG_optimiser),
//! tested on a data fit and on Dale networks trained on flip-flop.
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

/// AdamW-EG's learning rate on the flip-flop task, as a multiple of AdamW's.
const TASK_EG_LR_FACTOR: f64 = 10.0;
/// Weight decay of both task runs (the EG optimiser's default).
const TASK_WEIGHT_DECAY: f64 = 0.01;

/// The flip-flop part: Dale networks as `balwani-fig2` trains them at `size`, with AdamW and with
/// AdamW-EG from the same start. Returns, per seed, the starting, AdamW and AdamW-EG recurrent
/// weights and the two runs' final test MSE.
#[allow(clippy::type_complexity)]
fn flip_flop_runs(size: Size, seed: u64) -> Result<Vec<([Array2<f32>; 3], [f64; 2])>> {
    let (_, seeds) = super::balwani_fig2::dale_flip_flop(size, seed, &[])?;
    let runs = super::outcome::per_condition(1, seed, seeds, |_, s| {
        let parse = |extra: &[String]| {
            super::balwani_fig2::dale_flip_flop(size, s, extra).map(|(cfg, _)| cfg)
        };
        let lr = parse(&[])?.training.lr;
        let train = |optimiser: &str, rate: f64| {
            let cfg = parse(&[
                format!("training.optimiser={optimiser}"),
                format!("training.lr={rate}"),
                format!("training.weight_decay={TASK_WEIGHT_DECAY}"),
            ])?;
            let fit = crate::task::train(&cfg, &candle_core::Device::Cpu, |_| {})?;
            let start = fit.initial.iter().find(|(n, _)| n == "w_rec");
            let start = start.map(|(_, w)| w.clone()).unwrap_or_default();
            let mse = fit.history.last().map_or(f64::NAN, |e| e.test_loss);
            Ok::<_, crate::Error>((start, crate::model::to_array2(&fit.net.w()?)?, mse))
        };
        let (w0, add, mse_add) = train("adamw", lr)?;
        let (_, eg, mse_eg) = train("adamw_eg", lr * TASK_EG_LR_FACTOR)?;
        let mse = [mse_add, mse_eg];
        Ok(([w0, add, eg], mse))
    })?;
    Ok(runs.into_iter().flatten().collect())
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
    let mut rows = vec![
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
    let task = flip_flop_runs(size, seed)?;
    let pooled = |k: usize| -> Vec<f64> {
        task.iter()
            .flat_map(|(w, _)| log_magnitudes(&w[k]))
            .collect()
    };
    // Each seed's own distance (the seeds' scales differ), averaged.
    let task_ks = |k: usize| super::outcome::mean(task.iter().map(|(w, _)| ks(&w[k])));
    let (t0, t_add, t_eg) = (task_ks(0), task_ks(1), task_ks(2));
    let task_cond = format!("flip-flop, {} seed(s)", task.len());
    for (q, v) in [
        ("flip_flop_ks_log_w_start", t0),
        ("flip_flop_ks_log_w_adamw", t_add),
        ("flip_flop_ks_log_w_adamw_eg", t_eg),
        (
            "flip_flop_test_mse_adamw",
            super::outcome::mean(task.iter().map(|(_, m)| m[0])),
        ),
        (
            "flip_flop_test_mse_adamw_eg",
            super::outcome::mean(task.iter().map(|(_, m)| m[1])),
        ),
    ] {
        rows.push(report(target, q, task_cond.clone(), f64::NAN, v));
    }
    rows.push(check(
        target,
        "flip_flop_ks_log_w_adamw_eg_minus_adamw",
        task_cond,
        f64::NAN,
        t_eg - t_add,
        "on flip-flop too, EG's weights are closer to log-normal than AdamW's",
        t_eg < t_add,
    ));
    let plot = super::figures::Histograms {
        title:
            "ln |w| of the recurrent weights, standardised: the data fit (thick), flip-flop (thin)"
                .into(),
        series: vec![
            (format!("start (KS {k0:.3})"), log_magnitudes(&w0)),
            (format!("AdamW (KS {k_add:.3})"), log_magnitudes(&additive)),
            (format!("AdamW-EG (KS {k_eg:.3})"), log_magnitudes(&eg)),
            (format!("flip-flop start (KS {t0:.3})"), pooled(0)),
            (format!("flip-flop AdamW (KS {t_add:.3})"), pooled(1)),
            (format!("flip-flop AdamW-EG (KS {t_eg:.3})"), pooled(2)),
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
            format!(
                "flip-flop: Dale networks trained as balwani-fig2 trains them at this size, from one start per seed with AdamW and with AdamW-EG at {TASK_EG_LR_FACTOR} times its learning rate, weight decay {TASK_WEIGHT_DECAY} for both; KS per seed, averaged"
            ),
        ],
    })
}
