//! `fitrnn bench --one-step`: the one-step estimate ([`crate::estimate`]) in the setting of CORNN
//! (Dinc et al. 2023), a fully observed random rate network, timed and scored against its own
//! weights. CORNN's model is `r(t+1) = (1 − α) r(t) + α tanh(W r(t) + W_in u(t))`, α = 0.1,
//! driven by its inputs (`σ ξ(t)`, a private Gaussian term inside the tanh, is 0 here: with
//! σ = 0.3 the weight correlation falls to 0.70 at N 500, T 10,000). The target of unit i at pair
//! t is `atanh(d_i(t))`, `d = (r(t+1) − (1 − α) r(t)) / α` clipped into ±[`CLIP`], regressed on
//! `[r(t), u(t), 1]` on every pair; the diagonal is not a weight (CORNN's default).
//!
//! Two networks: `random` (`W ~ N(0, g²/N)`, g = [`GAIN`], no sign constraint; CORNN's setting)
//! and `dale` (80 % excitatory columns, |N(0, g²/N)| magnitudes with inhibitory columns 4× as
//! strong, Dale's signs as bounds of the estimate; what fitrnn adds).

use crate::data::Sign;
use crate::estimate::{solve, OneStepOptions, SignRule};
use ndarray::Array2;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use std::time::Instant;

/// Leak α of CORNN's networks.
pub const ALPHA: f64 = 0.1;
/// Gain g of the random weights (`W ~ N(0, g²/N)`).
pub const GAIN: f64 = 1.5;
/// Private noise σ inside the tanh (0: CORNN's input-driven networks).
pub const NOISE: f64 = 0.0;
/// Targets `d` are clipped into ±CLIP before `atanh` (a tighter clip biases the saturated
/// frames: 0.99 gives weight r 0.73 at N 500).
pub const CLIP: f64 = 1.0 - 1e-6;
/// Inputs `u ~ N(0, 1)` with weights `N(0, 1/d)`.
pub const INPUTS: usize = 5;

/// One network's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OneStepBench {
    /// `random` or `dale`.
    pub network: &'static str,
    /// Units N.
    pub units: usize,
    /// Frames T.
    pub frames: usize,
    /// Wall time of the estimate (targets, normal matrices and solves), s.
    pub seconds: f64,
    /// Pearson correlation of the estimated and true off-diagonal weights.
    pub weight_r: f64,
    /// Largest number of solver iterations of a unit (0 without sign bounds).
    pub iterations_max: usize,
}

/// The true weights `[n, n]` (zero diagonal) and signs of `network`.
fn weights(network: &str, n: usize, rng: &mut rand_chacha::ChaCha8Rng) -> (Array2<f64>, Vec<Sign>) {
    let normal = Normal::new(0.0, GAIN / (n as f64).sqrt()).expect("positive sd");
    let dale = network == "dale";
    let signs: Vec<Sign> = (0..n)
        .map(|j| if dale && j % 5 == 4 { Sign::I } else { Sign::E })
        .collect();
    let w = Array2::from_shape_fn((n, n), |(i, j)| {
        let v: f64 = normal.sample(rng);
        match (i == j, dale, signs[j]) {
            (true, _, _) => 0.0,
            (false, false, _) => v,
            (false, true, Sign::E) => v.abs(),
            (false, true, Sign::I) => -4.0 * v.abs(),
        }
    });
    (w, signs)
}

/// Simulate `network` for `frames` frames and time the estimate.
pub fn run(network: &'static str, n: usize, frames: usize, seed: u64) -> OneStepBench {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (w, signs) = weights(network, n, &mut rng);
    let unit = Normal::new(0.0, 1.0).expect("unit sd");
    let w_in = Array2::from_shape_fn((n, INPUTS), |_| {
        unit.sample(&mut rng) / (INPUTS as f64).sqrt()
    });
    let u = Array2::from_shape_fn((frames, INPUTS), |_| unit.sample(&mut rng) as f32);
    let mut r = Array2::<f32>::zeros((frames, n));
    let mut now = vec![0f64; n];
    for t in 0..frames {
        for i in 0..n {
            r[[t, i]] = now[i] as f32;
        }
        let drive: Vec<f64> = (0..n)
            .map(|i| {
                let rec: f64 = (0..n).map(|j| w[[i, j]] * now[j]).sum();
                let ext: f64 = (0..INPUTS).map(|k| w_in[[i, k]] * u[[t, k]] as f64).sum();
                rec + ext + NOISE * unit.sample(&mut rng)
            })
            .collect();
        for i in 0..n {
            now[i] = (1.0 - ALPHA) * now[i] + ALPHA * drive[i].tanh();
        }
    }
    let started = Instant::now();
    let targets = Array2::from_shape_fn((frames - 1, n), |(t, i)| {
        let d = (r[[t + 1, i]] as f64 - (1.0 - ALPHA) * r[[t, i]] as f64) / ALPHA;
        d.clamp(-CLIP, CLIP).atanh()
    });
    let o = OneStepOptions {
        active_quantile: None,
        ridge: 1e-4,
        signs: if network == "dale" {
            SignRule::BoundsEarlyStopped(crate::estimate::EARLY_STOP_STEPS)
        } else {
            SignRule::Free
        },
        ..OneStepOptions::default()
    };
    let est = solve(targets.view(), r.view(), u.view(), &signs, &o);
    let seconds = started.elapsed().as_secs_f64();
    let (fit, truth): (Vec<f64>, Vec<f64>) = w
        .indexed_iter()
        .filter(|((i, j), _)| i != j)
        .map(|((i, j), &v)| (est.w_rec[[i, j]] as f64, v))
        .unzip();
    OneStepBench {
        network,
        units: n,
        frames,
        seconds,
        weight_r: crate::stats::pearson(&fit, &truth),
        iterations_max: est.iterations.iter().copied().max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_networks_are_recovered_at_a_small_size() {
        for network in ["random", "dale"] {
            let b = run(network, 40, 4000, 0);
            assert!(b.weight_r > 0.99, "{b:?}");
        }
    }
}
