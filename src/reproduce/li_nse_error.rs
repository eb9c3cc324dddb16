//! The second half of `li-nse`: Li, Cornford et al. 2023's finding that a ColEI network's
//! normalised SVD entropy at initialisation predicts how well it learns (their
//! `Entropy_predictive.ipynb`, which regresses final test error on NSE, and their E:I-ratio
//! experiment `seq_mnist_inhib_test.py`: 100 units, 1 %, 10 % and 50 % inhibitory).
//!
//! ColEI networks (spectral radius 1.5) are trained in task mode on row-wise MNIST
//! (`smnist_5k`), as `li-transplant` trains them (Adam at 1e-3, clip 10, 4,000 training digits),
//! at several inhibitory fractions; each network's NSE at initialisation is set beside its final
//! test error. The paper gives the relation in figures, so the criteria check its direction.

use super::outcome::{check, mean, per_condition, report, Size, Target};
use crate::error::Result;
use crate::reproduce::ReproductionRow;
use crate::task::TaskConfig;
use std::path::Path;

/// (units, inhibitory fractions, training digits, epochs, seeds) per run size; `None` at the
/// tiny size, where the networks train too briefly to part (a 100-unit ColEI network at 50 %
/// inhibitory learns slower at first than one at 1 % and overtakes it within 10 epochs).
fn design(size: Size) -> Option<(usize, Vec<f64>, usize, usize, u64)> {
    match size {
        Size::Tiny => None,
        Size::Reduced => Some((100, vec![0.01, 0.1, 0.5], 4000, 10, 3)),
        Size::Full => Some((100, vec![0.01, 0.05, 0.1, 0.2, 0.3, 0.5], 4000, 20, 5)),
    }
}

/// (NSE at initialisation, final test error %) of one trained network.
fn train(base: &str, i_fraction: f64, seed: u64, digits: &Path) -> Result<(f64, f64)> {
    let cfg = TaskConfig::parse(
        Path::new("li-nse"),
        base,
        &[
            format!("model.i_fraction={i_fraction}"),
            format!("seed={seed}"),
            format!("task.digits={}", digits.display()),
        ],
    )?;
    let fit = crate::task::train(&cfg, &candle_core::Device::Cpu, |_| {})?;
    let first = fit.history.first().map_or(f64::NAN, |e| e.nse);
    let last = fit.history.last().map_or(f64::NAN, |e| e.test_error);
    Ok((first, last))
}

/// The rows of the NSE–error relation at `size` from `seed`, and a note on what ran (empty at
/// the tiny size).
pub(super) fn rows(size: Size, seed: u64, digits: &Path) -> Result<(Vec<ReproductionRow>, String)> {
    let target = Target::LiNse;
    let Some((units, fractions, digits_n, epochs, seeds)) = design(size) else {
        return Ok((
            Vec::new(),
            "the NSE–error relation needs trained networks: run at the reduced or full size".into(),
        ));
    };
    let base = format!(
        "task: {{name: smnist_5k, train_examples: {digits_n}, test_examples: 1000}}\n\
         model: {{architecture: colei, units: {units}, spectral_radius: 1.5}}\n\
         training: {{epochs: {epochs}, batch_size: 32, optimiser: adam, lr: 0.001, grad_clip: 10}}\n"
    );
    let runs = per_condition(fractions.len(), seed, seeds, |f, s| {
        train(&base, fractions[f], s, digits)
    })?;
    let mut rows = Vec::new();
    for (f, fraction) in fractions.iter().enumerate() {
        let condition = format!("colei n={units} i={fraction:.3}");
        let nse = mean(runs[f].iter().map(|r| r.0));
        let error = mean(runs[f].iter().map(|r| r.1));
        rows.push(report(
            target,
            "nse_at_init",
            condition.clone(),
            f64::NAN,
            nse,
        ));
        rows.push(report(
            target,
            "test_error_percent",
            condition,
            f64::NAN,
            error,
        ));
    }
    let (nses, errors): (Vec<f64>, Vec<f64>) = runs.iter().flatten().copied().unzip();
    let rho = crate::stats::spearman(&nses, &errors);
    rows.push(check(
        target,
        "spearman_rho_nse_test_error",
        format!("{} trained ColEI networks", nses.len()),
        f64::NAN,
        rho,
        "the higher a network's NSE at initialisation, the lower its test error after training (ρ ≤ −0.5)",
        rho <= -0.5,
    ));
    let last = fractions.len() - 1;
    let (few, many) = (
        mean(runs[0].iter().map(|r| r.1)),
        mean(runs[last].iter().map(|r| r.1)),
    );
    rows.push(check(
        target,
        "test_error_most_minus_fewest_inhibitory",
        format!("i={} − i={}", fractions[last], fractions[0]),
        f64::NAN,
        many - few,
        "more inhibitory units (a higher NSE) learn better: lower test error",
        many < few,
    ));
    let note = format!(
        "NSE–error: ColEI, {units} ReLU units, inhibitory fractions {fractions:?}, {seeds} seeds each, {epochs} epochs of Adam (lr 0.001, batch 32, clip 10) on {digits_n} training and 1,000 test digits of {}; the paper trains on MNIST's 60,000 digits with SGD",
        digits.display()
    );
    Ok((rows, note))
}
