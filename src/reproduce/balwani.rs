//! `balwani-fig3`: Balwani et al. 2025's top-prob pruning against random pruning, error before
//! retraining against connection probability (their top-prob-pruning notebooks and the errors
//! they saved, `errors_list_*.npy`), on a data fit and on their flip-flop task.
//!
//! - **Data fit.** The run config's recording is fitted once (dense phase only); its recurrent
//!   weights are pruned to keep a fraction `p` of their non-zero entries, by top-prob (keep
//!   probability ∝ |w|, `constraints::prune::keep_probabilities`) or uniformly at random, without
//!   retraining, and the pruned network's free-running mean squared error on the held-out frames
//!   is measured (mean over several mask draws). The paper's numbers are for its tasks and are not
//!   comparable with a data fit's, so that row checks the direction it reports.
//! - **Flip-flop.** Dale networks trained as `balwani-fig2` trains them are pruned the paper's
//!   way (a fraction `p` of all recurrent entries kept; entries Dale's backprop already zeroed
//!   count as pruned) and scored by test MSE, beside the paper's mean of 5 runs at each `p`.

use super::outcome::{check, mean, per_condition, report, Outcome, Size, Target};
use crate::constraints::prune::{draw_kept, PruneMethod};
use crate::dataset::Dataset;
use crate::error::Result;
use crate::model::Drive;
use crate::network::Fitted;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use std::path::Path;

/// The paper's connection probabilities (Fig 3).
const PAPER_GRID: [f64; 15] = [
    0.0, 0.010, 0.086, 0.162, 0.238, 0.315, 0.391, 0.467, 0.543, 0.619, 0.695, 0.772, 0.848, 0.924,
    1.0,
];
/// High sparsity: the probabilities at or below this are where top-prob must not lose.
const HIGH_SPARSITY: f64 = 0.5;

/// Kept fractions, mask draws per fraction and dense epochs per run size.
fn design(size: Size) -> (Vec<f64>, u64, usize) {
    match size {
        Size::Tiny => (vec![0.086, 0.238, 0.467, 1.0], 2, 30),
        Size::Reduced => (PAPER_GRID.to_vec(), 3, 60),
        Size::Full => (PAPER_GRID.to_vec(), 5, 200),
    }
}

/// The paper's flip-flop test MSE before retraining (Fig 3; mean of its 5 runs) at
/// [`PAPER_GRID`]: random, then top-prob.
const PAPER_FLIP_FLOP: [[f64; 15]; 2] = [
    [
        0.626, 0.624, 0.597, 0.580, 0.567, 0.551, 0.599, 0.512, 0.494, 0.418, 0.462, 0.340, 0.199,
        0.081, 0.001,
    ],
    [
        0.626, 0.616, 0.703, 0.585, 0.594, 0.430, 0.238, 0.095, 0.003, 0.002, 0.002, 0.001, 0.001,
        0.001, 0.001,
    ],
];

/// `w` with an expected `kept(non-zero count)` of its non-zero entries kept by `method` (one
/// Bernoulli draw each).
fn prune<R: Rng>(
    w: &Array2<f32>,
    kept: impl FnOnce(usize) -> f64,
    method: PruneMethod,
    rng: &mut R,
) -> Array2<f32> {
    let cells = w.indexed_iter().map(|(ij, _)| ij);
    let mut out = Array2::<f32>::zeros(w.dim());
    for ij in draw_kept(w, cells, kept, method, rng) {
        out[ij] = w[ij];
    }
    out
}

/// Free-running mean squared error of `f` on the held-out frames of `ds` (what the fit was
/// trained on; its one-step-ahead error is not: see the README).
fn validation_mse(f: &Fitted, ds: &Dataset) -> Result<f64> {
    let (pred, data, _) = f.predict(ds, &ds.validation_windows, Drive::FreeRunning)?;
    let n = pred.len().max(1) as f64;
    Ok(pred
        .iter()
        .zip(data.iter())
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / n)
}

/// Test MSE of trained Dale flip-flop networks (Balwani et al.'s Fig 2 network, as
/// `balwani-fig2` trains it at `size`) pruned to keep a fraction `p` of all recurrent entries (the
/// paper's convention: entries Dale's backprop already set to 0 count as pruned), by top-prob
/// and at random, not retrained; `[method][grid point]`, the mean over seeds and mask draws.
fn flip_flop_errors(size: Size, seed: u64, grid: &[f64], draws: u64) -> Result<[Vec<f64>; 2]> {
    let (_, seeds) = super::balwani_fig2::dale_flip_flop(size, seed, &[])?;
    let per_seed = per_condition(1, seed, seeds, |_, s| {
        let (cfg, _) = super::balwani_fig2::dale_flip_flop(size, s, &[])?;
        let device = candle_core::Device::Cpu;
        let fit = crate::task::train(&cfg, &device, |_| {})?;
        let w = fit.net.param("w")?;
        let dense = crate::model::to_array2(w.as_tensor())?;
        let entries = dense.len() as f64;
        let mut errors = [vec![0.0; grid.len()], vec![0.0; grid.len()]];
        for (g, &p) in grid.iter().enumerate() {
            for (m, method) in [PruneMethod::TopProb, PruneMethod::Random]
                .into_iter()
                .enumerate()
            {
                for k in 0..draws {
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(s.wrapping_add(1000 + k));
                    let kept = |nonzero: usize| (p * entries).min(nonzero as f64);
                    let pruned = prune(&dense, kept, method, &mut rng);
                    let values: Vec<f32> = pruned.iter().copied().collect();
                    w.set(&candle_core::Tensor::from_vec(
                        values,
                        pruned.dim(),
                        &device,
                    )?)?;
                    let (mse, _) = crate::task::evaluate(&fit.net, &fit.test, 200, &device)?;
                    errors[m][g] += mse / draws as f64;
                }
            }
        }
        Ok(errors)
    })?;
    let runs = &per_seed[0];
    let mean_of = |m: usize, g: usize| mean(runs.iter().map(|e| e[m][g]));
    Ok([0, 1].map(|m| (0..grid.len()).map(|g| mean_of(m, g)).collect()))
}

/// Run the reproduction at `size` on the recording and model of the run config `config`.
pub fn run(size: Size, seed: u64, config: &Path) -> Result<Outcome> {
    let target = Target::BalwaniFig3;
    let (grid, draws, epochs) = design(size);
    let overrides = [
        format!("training.dense_epochs={epochs}"),
        format!("seed={seed}"),
    ];
    let (ds, mut f) = super::datafit::dense_fit(config, &overrides)?;
    let dense_w = f.params.w_rec.clone();
    let mut rows = Vec::new();
    let mut curves: Vec<(String, Vec<(f64, f64)>)> = vec![
        ("top-prob".into(), Vec::new()),
        ("random".into(), Vec::new()),
    ];
    let mut margins = Vec::new();
    for &p in &grid {
        let mut mean = [0.0; 2];
        for (m, method) in [PruneMethod::TopProb, PruneMethod::Random]
            .into_iter()
            .enumerate()
        {
            for k in 0..draws {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.wrapping_add(1000 + k));
                f.params.w_rec = prune(&dense_w, |nonzero| p * nonzero as f64, method, &mut rng);
                mean[m] += validation_mse(&f, &ds)? / draws as f64;
            }
            curves[m].1.push((p, mean[m]));
        }
        for (m, name) in ["topprob", "random"].iter().enumerate() {
            rows.push(report(
                target,
                &format!("validation_mse_{name}"),
                format!("p={p:.3}"),
                f64::NAN,
                mean[m],
            ));
        }
        if p > 0.0 && p <= HIGH_SPARSITY {
            margins.push(mean[0] - mean[1]);
        }
    }
    let mean_margin = margins.iter().sum::<f64>() / margins.len().max(1) as f64;
    rows.push(check(
        target,
        "validation_mse_topprob_minus_random",
        format!("mean over 0 < p ≤ {HIGH_SPARSITY}"),
        f64::NAN,
        mean_margin,
        "top-prob's error at most random's at high sparsity (the paper: flip-flop 0.384 against 0.504, max over sparsity)",
        mean_margin <= 0.0,
    ));
    let flip_flop = flip_flop_errors(size, seed, &grid, draws)?;
    let mut differences = (Vec::new(), Vec::new());
    for (g, &p) in grid.iter().enumerate() {
        let at = PAPER_GRID.iter().position(|q| (q - p).abs() < 1e-9);
        let paper = |m: usize| at.map_or(f64::NAN, |i| PAPER_FLIP_FLOP[1 - m][i]);
        for (m, name) in ["topprob", "random"].iter().enumerate() {
            rows.push(report(
                target,
                &format!("flip_flop_test_mse_{name}"),
                format!("p={p:.3}"),
                paper(m),
                flip_flop[m][g],
            ));
        }
        if p > 0.0 && p < 1.0 {
            differences.0.push(paper(0) - paper(1));
            differences.1.push(flip_flop[0][g] - flip_flop[1][g]);
        }
    }
    let (paper_margin, our_margin) = (mean(differences.0), mean(differences.1));
    rows.push(check(
        target,
        "flip_flop_test_mse_topprob_minus_random",
        "mean over 0 < p < 1".into(),
        paper_margin,
        our_margin,
        "on flip-flop, the Dale network pruned by top-prob loses less than pruned at random",
        our_margin < 0.0,
    ));
    for (m, name) in ["top-prob", "random"].iter().enumerate() {
        curves.push((
            format!("flip-flop {name}"),
            grid.iter()
                .zip(&flip_flop[m])
                .map(|(p, e)| (*p, *e))
                .collect(),
        ));
        curves.push((
            format!("flip-flop {name}, Balwani et al."),
            PAPER_GRID
                .iter()
                .zip(&PAPER_FLIP_FLOP[1 - m])
                .map(|(p, e)| (*p, *e))
                .collect(),
        ));
    }
    let plot = super::figures::Curves {
        title: "Error of pruned networks before retraining: a data fit and Dale flip-flop networks"
            .into(),
        x_label: "fraction of the dense fit's non-zero weights kept".into(),
        y_label: "MSE (data fit: held-out frames, free-running; flip-flop: test examples)".into(),
        curves,
    };
    Ok(Outcome {
        rows,
        figure: crate::report::render::png(&plot, "balwani-fig3 figure")?,
        notes: vec![
            format!(
                "{} fitted once ({epochs} dense epochs), pruned to each kept fraction by top-prob and at random ({draws} mask draws each), not retrained",
                config.display()
            ),
            "the paper's errors are for its tasks and are not comparable with a data fit's: the check is the direction it reports".into(),
            format!(
                "flip-flop: {} Dale network(s) trained as balwani-fig2 trains them at this size, each pruned to keep a fraction p of all recurrent entries ({draws} mask draws each), test MSE beside the paper's mean of 5 runs (128 units)",
                super::balwani_fig2::design(size).1
            ),
        ],
    })
}
