//! `liu-richlazy`: Liu et al. 2024 ("How connectivity structure shapes rich and lazy learning in
//! neural circuits"; their `BioRNN_RichLazy/main.py`): the rank of the initial recurrent weights
//! decides how far learning moves the network. Starts of low rank learn richly (the weights, the
//! representation and the tangent kernel change much); starts of high rank learn lazily.
//!
//! As their code does: a ReLU network with α = 1, started from `1.25 · randn / √N` truncated to
//! rank r and rescaled to the full matrix's Frobenius norm (`model.init: low_rank`), trained by
//! SGD (lr 0.003, momentum 0.9, batch 32, 10,000 updates at reduced and full size) on neurogym's
//! perceptual decision making at their timing (task `perceptual_decision`); the network-change
//! metrics compare the trained network with its start on a fixed probe of test trials
//! (`task::richlazy`). The paper reports the direction in figures, not numbers, so every row here
//! reports ours and the criteria check that direction.

use super::outcome::{check, mean, per_condition, report, Outcome, Size, Target};
use crate::error::Result;
use crate::task::richlazy::NetworkChange;
use crate::task::TaskConfig;
use std::path::Path;

/// (units, ranks, training trials, epochs, seeds) per run size. At 10,000 trials and batch 32,
/// 32 epochs are the paper's 10,000 updates.
fn design(size: Size) -> (usize, Vec<usize>, usize, usize, u64) {
    match size {
        Size::Tiny => (30, vec![1, 30], 3000, 20, 2),
        Size::Reduced => (100, vec![1, 30, 100], 10_000, 32, 3),
        Size::Full => (300, vec![1, 30, 100, 300], 10_000, 32, 5),
    }
}

/// Train one network from a start of rank `rank`; returns its network change and test error (%).
fn train(base: &str, rank: usize, seed: u64) -> Result<(NetworkChange, f64)> {
    let cfg = TaskConfig::parse(
        Path::new("liu-richlazy"),
        base,
        &[format!("model.init_rank={rank}"), format!("seed={seed}")],
    )?;
    let fit = crate::task::train(&cfg, &candle_core::Device::Cpu, |_| {})?;
    let error = fit.history.last().map_or(f64::NAN, |e| e.test_error);
    Ok((fit.change, error))
}

/// Run the reproduction at `size` from `seed`.
pub fn run(size: Size, seed: u64) -> Result<Outcome> {
    let target = Target::LiuRichLazy;
    let (units, ranks, trials, epochs, seeds) = design(size);
    let base = format!(
        "task: {{name: perceptual_decision, train_examples: {trials}, test_examples: 500}}\n\
         model: {{units: {units}, activation: relu, alpha: 1.0, init: low_rank}}\n\
         training: {{epochs: {epochs}, batch_size: 32, optimiser: sgd, lr: 0.003, momentum: 0.9}}\n"
    );
    let runs = per_condition(ranks.len(), seed, seeds, |r, s| train(&base, ranks[r], s))?;
    let metric = |r: usize, name: &str| -> f64 {
        mean(runs[r].iter().map(|(change, _)| {
            change
                .named()
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(f64::NAN, |(_, v)| *v)
        }))
    };
    let mut rows = Vec::new();
    for (r, rank) in ranks.iter().enumerate() {
        for (name, _) in runs[r][0].0.named() {
            rows.push(report(
                target,
                name,
                format!("rank {rank}"),
                f64::NAN,
                metric(r, name),
            ));
        }
        rows.push(report(
            target,
            "test_error_percent",
            format!("rank {rank}"),
            f64::NAN,
            mean(runs[r].iter().map(|(_, e)| *e)),
        ));
    }
    let (low, high) = (0, ranks.len() - 1);
    let span = format!("rank {} vs {}", ranks[high], ranks[low]);
    // (metric, lazier when higher, criterion, checked at the tiny size: the weight change needs
    // more updates than the tiny size gives to part, so there it is reported only)
    for (name, lazier_is_higher, says, at_tiny) in [
        (
            "tangent_kernel_alignment",
            true,
            "the full-rank start learns more lazily: its tangent kernel moves less (higher alignment) than the rank-1 start's",
            true,
        ),
        (
            "representation_alignment",
            true,
            "the full-rank start's representation moves less (higher alignment) than the rank-1 start's",
            true,
        ),
        (
            "weight_change_relative",
            false,
            "the full-rank start's weights move less, relative to their norm, than the rank-1 start's",
            false,
        ),
    ] {
        let (h, l) = (metric(high, name), metric(low, name));
        if size == Size::Tiny && !at_tiny {
            rows.push(report(
                target,
                &format!("{name}_difference"),
                span.clone(),
                f64::NAN,
                h - l,
            ));
            continue;
        }
        rows.push(check(
            target,
            &format!("{name}_difference"),
            span.clone(),
            f64::NAN,
            h - l,
            says,
            if lazier_is_higher { h > l } else { h < l },
        ));
    }
    let x = |r: usize| (ranks[r] as f64).log10();
    let curves = [
        "tangent_kernel_alignment",
        "representation_alignment",
        "sign_similarity",
        "weight_change_relative",
    ]
    .iter()
    .map(|name| {
        let points = (0..ranks.len()).map(|r| (x(r), metric(r, name))).collect();
        (name.replace('_', " "), points)
    })
    .collect();
    let plot = super::figures::Curves {
        title: "Rich and lazy learning: how far training moves the network, by initial rank".into(),
        x_label: "log10 rank of the initial recurrent weights".into(),
        y_label: "alignment with the start, sign similarity, relative weight change".into(),
        curves,
    };
    Ok(Outcome {
        rows,
        figure: crate::report::render::png(&plot, "liu-richlazy figure")?,
        notes: vec![
            format!(
                "{seeds} seeds per rank from seed {seed}; {units} ReLU units (α 1), ranks {ranks:?}, {trials} training trials of perceptual decision making, {epochs} epochs of SGD (lr 0.003, momentum 0.9, batch 32)"
            ),
            "paper: the direction in its figures (N = 300, ranks 1, 30, 100, 300, neurogym tasks generated afresh every update, 320 probe trials, no biases); ours has a bias per unit, draws a fixed set of training trials, and probes on the first test trials, as many as keep the tangent kernel at 256 entries".into(),
        ],
    })
}
