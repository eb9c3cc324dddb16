//! `shao-motifs`: Shao et al. 2025's chain-motif outlier (PRX Life 3, 023008; arXiv 2411.06802).
//!
//! Random matrices with mean entry `J0 < 0` (inhibition dominates), entry variance `g²/N` and
//! second-order motifs are drawn by the method-1 construction of HChoiLab/DMFT-second-order-motifs
//! (`CreateJ`, valid when `|τ_chn| = √(τ_con τ_div)`):
//!
//! ```text
//! J_ij = J0 + g/√N ( s√τ_con η_i + √τ_div η_j − s√τ_con μ_ij + √τ_div μ_ji
//!                    + sgn(τ_rec)√(|τ_rec|/2) ν_ij + √(|τ_rec|/2) ν_ji
//!                    + √(1 − 2τ_con − 2τ_div − |τ_rec|) ζ_ij )
//! ```
//!
//! with η, μ, ν, ζ standard normal, and `s = sgn(τ_chn)`. The theory predicts two outliers
//! `λ± = ½ [N J0 ± √(N² J0² + 4 g² ((N − 1) τ_chn + τ_rec))]`: with `J0 < 0` and `τ_chn > 0`, `λ+`
//! is positive and, for strong enough chains, above 1 (the network is unstable although
//! inhibition dominates). The bulk reaches `R = g (1 − τ_div − τ_con + τ_rec − 2τ_chn) /
//! √(1 − τ_div − τ_con)` along the real axis. Each matrix is also scored with fitrnn's motif
//! estimator (`analysis::motifs`), whose predicted outlier is reported beside the theory's.

use super::figures::EigenScatter;
use super::outcome::{check, report, Outcome, Size, Target};
use crate::analysis::motifs::{motifs, predicted_outliers};
use crate::error::Result;
use ndarray::Array2;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// `N · J0`: the summed mean input, strongly inhibitory.
const MEAN_INPUT: f64 = -5.0;
/// Entry scale g.
const G: f64 = 1.0;
/// The largest accepted relative error of the chain outlier against the prediction.
const TOLERANCE: f64 = 0.10;

/// Motif statistics of one generated matrix (τ_con = τ_div = τ_chn = `tau`, no reciprocal motifs).
#[derive(Debug, Clone, Copy)]
struct Case {
    n: usize,
    tau: f64,
}

/// Sizes and chain strengths per run size, and the seeds averaged.
fn design(size: Size) -> (usize, Vec<f64>, u64) {
    match size {
        Size::Tiny => (150, vec![0.1, 0.2], 1),
        Size::Reduced => (500, vec![0.025, 0.05, 0.1, 0.15, 0.2], 3),
        Size::Full => (1000, vec![0.025, 0.05, 0.1, 0.15, 0.2], 5),
    }
}

/// Draw `J` for `case` (method 1, chain sign +).
fn create_j<R: rand::Rng>(case: Case, rng: &mut R) -> Array2<f64> {
    let n = case.n;
    let nf = n as f64;
    let j0 = MEAN_INPUT / nf;
    let (tc, td) = (case.tau, case.tau);
    let rest = (1.0 - 2.0 * tc - 2.0 * td).max(0.0).sqrt();
    let mut normal = || -> f64 { StandardNormal.sample(rng) };
    let eta: Vec<f64> = (0..n).map(|_| normal()).collect();
    let mu = Array2::from_shape_fn((n, n), |_| normal());
    let zeta = Array2::from_shape_fn((n, n), |_| normal());
    let scale = G / nf.sqrt();
    Array2::from_shape_fn((n, n), |(i, j)| {
        j0 + scale
            * (tc.sqrt() * eta[i] + td.sqrt() * eta[j] - tc.sqrt() * mu[[i, j]]
                + td.sqrt() * mu[[j, i]]
                + rest * zeta[[i, j]])
    })
}

/// The theory's outliers `(λ+, λ−)` and bulk edge `R` for `case`.
fn theory(case: Case) -> (f64, f64, f64) {
    let nf = case.n as f64;
    let a = MEAN_INPUT;
    let disc = a * a + 4.0 * G * G * (nf - 1.0) * case.tau;
    let s = disc.sqrt();
    let (tc, td, tr, tch) = (case.tau, case.tau, 0.0, case.tau);
    let r = G * (1.0 - td - tc + tr - 2.0 * tch) / (1.0 - td - tc).sqrt();
    ((a + s) / 2.0, (a - s) / 2.0, r)
}

/// What one matrix gives.
struct Measured {
    /// The eigenvalue with the largest real part (its real part).
    top: f64,
    /// The largest real part of the bulk (every eigenvalue but the two outliers).
    bulk_edge: f64,
    /// `λ+` predicted from the matrix's own motif statistics (fitrnn's estimator).
    estimated: f64,
    /// All eigenvalues `(re, im)`, largest real part first.
    eigenvalues: Vec<(f64, f64)>,
}

fn measure(j: &Array2<f64>) -> Result<Measured> {
    let w = j.mapv(|v| v as f32);
    let mut ev = crate::linalg::eigenvalues(&w)?;
    ev.sort_by(|a, b| b.0.total_cmp(&a.0));
    // The bulk: drop the largest and the smallest real part (the two outliers).
    let bulk_edge = ev[1..ev.len() - 1]
        .iter()
        .map(|z| z.0)
        .fold(f64::MIN, f64::max);
    let estimated = predicted_outliers(&motifs(&w), j.nrows())[0].0;
    Ok(Measured {
        top: ev[0].0,
        bulk_edge,
        estimated,
        eigenvalues: ev,
    })
}

/// Run the reproduction at `size`.
pub fn run(size: Size, seed: u64) -> Result<Outcome> {
    let (n, taus, seeds) = design(size);
    let target = Target::ShaoMotifs;
    let mut rows = Vec::new();
    let mut last = None;
    for &tau in &taus {
        let case = Case { n, tau };
        let (plus, minus, r) = theory(case);
        let mut sum = (0.0, 0.0, 0.0);
        for k in 0..seeds {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.wrapping_add(k));
            let m = measure(&create_j(case, &mut rng))?;
            sum = (sum.0 + m.top, sum.1 + m.bulk_edge, sum.2 + m.estimated);
            last = Some((tau, m.eigenvalues, plus, minus, r));
        }
        let s = seeds as f64;
        let (top, bulk, est) = (sum.0 / s, sum.1 / s, sum.2 / s);
        let cond = format!("tau_chn={tau:.3}");
        let rel = (top - plus).abs() / plus.abs();
        rows.push(check(
            target,
            "chain_outlier",
            cond.clone(),
            plus,
            top,
            "within 10 % of the predicted λ+",
            rel <= TOLERANCE,
        ));
        rows.push(report(
            target,
            "chain_outlier_from_estimated_motifs",
            cond.clone(),
            plus,
            est,
        ));
        rows.push(report(target, "bulk_edge_real_axis", cond.clone(), r, bulk));
        if tau == *taus.last().expect("a chain strength") {
            rows.push(check(
                target,
                "positive_outlier_with_negative_mean",
                cond,
                f64::NAN,
                top,
                "above 1 although the mean weight is negative",
                top > 1.0 && MEAN_INPUT < 0.0,
            ));
        }
    }
    let (tau, ev, plus, minus, r) = last.expect("at least one case");
    let plot = EigenScatter {
        title: format!("Chain motifs (τ_chn = {tau}), N = {n}, N·J0 = {MEAN_INPUT}"),
        points: ev,
        predicted: vec![plus, minus],
        bulk_radius: r,
    };
    Ok(Outcome {
        rows,
        figure: crate::report::render::png(&plot, "shao-motifs figure")?,
        notes: vec![
            format!(
                "{n} units, N·J0 = {MEAN_INPUT}, g = {G}, τ_con = τ_div = τ_chn, no reciprocal motifs; mean of {seeds} seed(s) from {seed}"
            ),
            "paper = the theory's prediction (Shao et al. 2025 as implemented in HChoiLab/DMFT-second-order-motifs; the paper's own numbers are not available to us)".into(),
            "the paradoxical response is not reproduced: the condition with motifs is not available to us".into(),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_matrices_have_the_asked_mean_variance_and_motifs() {
        let case = Case { n: 300, tau: 0.15 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let j = create_j(case, &mut rng);
        let m = motifs(&j.mapv(|v| v as f32));
        // The sample mean of η moves N·J0 by about 0.8 (one SD) at this size.
        assert!(
            (m.mean * 300.0 - MEAN_INPUT).abs() < 2.0,
            "{}",
            m.mean * 300.0
        );
        assert!((m.g - G).abs() < 0.05, "{}", m.g);
        for (what, got, want) in [
            ("convergent", m.convergent, 0.15),
            ("divergent", m.divergent, 0.15),
            ("chain", m.chain, 0.15),
            ("reciprocal", m.reciprocal, 0.0),
        ] {
            assert!((got - want).abs() < 0.03, "{what}: {got}");
        }
    }
}
