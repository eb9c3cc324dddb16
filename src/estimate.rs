//! The one-step estimate of a leaky rate network from its recorded traces: for every postsynaptic
//! unit i, a regression of its leak-corrected update on every unit's trace, the inputs and 1,
//!
//! ```text
//! d_i(t) = (y_i(t+1) − (1 − α_i) y_i(t)) / α_i  ≈  Σ_j W[i, j] y_j(t) + Σ_k W_in[i, k] u_k(t) + b_i
//! ```
//!
//! on the frames where unit i is **active** (above its `active_quantile` at t and at t+1): a
//! rectified unit's state is hidden while it is silent, so silent frames say nothing about its
//! input (a regression on all frames recovers nothing on rectified networks). Each unit's problem
//! is convex: a ridge penalty, and with `constrained` Dale's signs as bounds (an excitatory column
//! ≥ 0, an inhibitory column ≤ 0), the mask's zeros and the diagonal fixed at 0, solved by
//! accelerated projected gradient (FISTA) on its normal equations; without it, the unconstrained
//! ridge solution is projected onto Dale's signs afterwards (the simple reference).
//!
//! It uses the fluctuations that carry the connectivity, as CORNN (Dinc et al. 2023) does, and
//! needs every presynaptic unit recorded: it is the estimator to beat where every neuron is
//! recorded, and a start for the fit elsewhere.

use crate::data::Sign;
use faer::Mat;
use ndarray::{Array2, ArrayView2};

/// How the one-step problems are posed and solved.
#[derive(Debug, Clone)]
pub struct OneStepOptions {
    /// A unit is active at frame t when its trace exceeds this quantile of its own values (at t
    /// and at t+1).
    pub active_quantile: f64,
    /// Ridge penalty, relative to the mean diagonal of each unit's normal matrix.
    pub ridge: f64,
    /// Dale's signs and the mask as bounds of the convex problem (else: projection afterwards).
    pub constrained: bool,
    /// Connections allowed, `[post, pre]` (0 = fixed at 0); `None`: all but the diagonal.
    pub mask: Option<Array2<f32>>,
    /// Iterations of the accelerated projected gradient (`constrained`).
    pub iterations: usize,
    /// Which frame pairs `(t, t+1)` may be used, `[T]` (`false` across a gap or a split
    /// boundary); `None`: every pair.
    pub pairs: Option<Vec<bool>>,
    /// Inputs each unit may read, `[post, input]` (0 = fixed at 0); `None`: all.
    pub input_mask: Option<Array2<f32>>,
}

impl Default for OneStepOptions {
    fn default() -> Self {
        OneStepOptions {
            active_quantile: 0.5,
            ridge: 1e-3,
            constrained: false,
            mask: None,
            iterations: 300,
            pairs: None,
            input_mask: None,
        }
    }
}

/// The one-step estimate.
#[derive(Debug, Clone)]
pub struct OneStep {
    /// `W[post, pre]`, `[n, n]`.
    pub w_rec: Array2<f32>,
    /// `[n, d]`.
    pub w_in: Array2<f32>,
    /// `[n]`.
    pub b: Vec<f32>,
    /// Active frames used for each unit, `[n]`.
    pub active_frames: Vec<usize>,
}

/// The bounds of unit `i`'s coefficients `[W[i, ·], W_in[i, ·], b_i]`: `(lower, upper)`.
fn bounds(i: usize, signs: &[Sign], d: usize, o: &OneStepOptions) -> (Vec<f64>, Vec<f64>) {
    let n = signs.len();
    let mut lo = vec![f64::NEG_INFINITY; n + d + 1];
    let mut hi = vec![f64::INFINITY; n + d + 1];
    for j in 0..n {
        let allowed = j != i && o.mask.as_ref().is_none_or(|m| m[[i, j]] != 0.0);
        if !allowed {
            lo[j] = 0.0;
            hi[j] = 0.0;
        } else if o.constrained {
            match signs[j] {
                Sign::E => lo[j] = 0.0,
                Sign::I => hi[j] = 0.0,
            }
        }
    }
    if let Some(m) = &o.input_mask {
        for k in 0..d {
            if m[[i, k]] == 0.0 {
                lo[n + k] = 0.0;
                hi[n + k] = 0.0;
            }
        }
    }
    (lo, hi)
}

/// Minimise `½ θᵀ H θ − gᵀ θ` within the box `[lo, hi]` by FISTA from `start`.
fn box_qp(
    h: &Mat<f64>,
    g: &[f64],
    lo: &[f64],
    hi: &[f64],
    start: Vec<f64>,
    iters: usize,
) -> Vec<f64> {
    let p = g.len();
    let clamp = |v: &mut [f64]| {
        for k in 0..p {
            v[k] = v[k].clamp(lo[k], hi[k]);
        }
    };
    // Step 1/L from the largest eigenvalue of H (power iteration).
    let mut v = vec![1.0 / (p as f64).sqrt(); p];
    let mut l = 1.0;
    for _ in 0..30 {
        let hv: Vec<f64> = (0..p)
            .map(|r| (0..p).map(|c| h[(r, c)] * v[c]).sum())
            .collect();
        l = hv.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        v = hv.iter().map(|x| x / l).collect();
    }
    let step = 1.0 / (1.01 * l);
    let mut x = start;
    clamp(&mut x);
    let mut y = x.clone();
    let mut t = 1.0f64;
    for _ in 0..iters {
        let grad: Vec<f64> = (0..p)
            .map(|r| (0..p).map(|c| h[(r, c)] * y[c]).sum::<f64>() - g[r])
            .collect();
        let mut next: Vec<f64> = (0..p).map(|k| y[k] - step * grad[k]).collect();
        clamp(&mut next);
        let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
        let mom = (t - 1.0) / t_next;
        y = (0..p).map(|k| next[k] + mom * (next[k] - x[k])).collect();
        x = next;
        t = t_next;
    }
    x
}

/// Whether a unit with rates `now` at t and `next` at t + 1 is active over the pair: above its
/// threshold `theta` at both frames (below it, a linear-threshold unit's state is hidden behind
/// the rectification).
pub fn active_pair(now: f32, next: f32, theta: f32) -> bool {
    now > theta && next > theta
}

/// The leak-corrected update of a state: `(x(t+1) − (1 − α) x(t)) / α`, what the recurrent,
/// input and bias terms must explain in one step of `x ← (1 − α) x + α (W r + W_in u + b)`.
pub fn leak_corrected_update(now: f32, next: f32, alpha: f64) -> f64 {
    (next as f64 - (1.0 - alpha) * now as f64) / alpha
}

/// Estimate `W_rec`, `W_in` and `b` from traces `y` `[T, n]` (in rate units, the state of a
/// linear-threshold unit while it is active) and inputs `u` `[T, d]`, with leaks `alpha` `[n]`
/// (α = dt/τ) and the units' signs `[n]`.
pub fn one_step(
    y: ArrayView2<f32>,
    u: ArrayView2<f32>,
    alpha: &[f64],
    signs: &[Sign],
    o: &OneStepOptions,
) -> OneStep {
    one_step_states(y, y, u, alpha, signs, o)
}

/// [`one_step`] for a unit whose rate is a nonlinearity of its state: the updates are those of the
/// states `x` `[T, n]` (e.g. φ⁻¹ of the rates), the regressors and the activity those of the rates
/// `r` `[T, n]`.
pub fn one_step_states(
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    u: ArrayView2<f32>,
    alpha: &[f64],
    signs: &[Sign],
    o: &OneStepOptions,
) -> OneStep {
    let (frames, n) = y.dim();
    let d = u.ncols();
    let p = n + d + 1;
    let z = Mat::<f64>::from_fn(frames.saturating_sub(1), p, |t, c| match c {
        c if c < n => y[[t, c]] as f64,
        c if c < n + d => u[[t, c - n]] as f64,
        _ => 1.0,
    });
    let mut w_rec = Array2::<f32>::zeros((n, n));
    let mut w_in = Array2::<f32>::zeros((n, d));
    let mut b = vec![0f32; n];
    let mut active_frames = vec![0usize; n];
    for i in 0..n {
        let col: Vec<f32> = y.column(i).to_vec();
        let state: Vec<f32> = x.column(i).to_vec();
        let theta = crate::stats::quantile(&col, o.active_quantile);
        let usable = |t: usize| o.pairs.as_ref().is_none_or(|p| p[t]);
        let active: Vec<usize> = (0..frames.saturating_sub(1))
            .filter(|&t| usable(t) && active_pair(col[t], col[t + 1], theta))
            .collect();
        active_frames[i] = active.len();
        if active.len() < p.min(8) {
            continue;
        }
        let za = Mat::<f64>::from_fn(active.len(), p, |r, c| z[(active[r], c)]);
        let target: Vec<f64> = active
            .iter()
            .map(|&t| leak_corrected_update(state[t], state[t + 1], alpha[i]))
            .collect();
        let scale = 1.0 / active.len() as f64;
        let mut h = za.transpose() * &za;
        let mean_diag = (0..p).map(|k| h[(k, k)]).sum::<f64>() / p as f64 * scale;
        let lambda = o.ridge * mean_diag.max(1e-12);
        for r in 0..p {
            for c in 0..p {
                h[(r, c)] *= scale;
            }
            h[(r, r)] += lambda;
        }
        let g: Vec<f64> = (0..p)
            .map(|c| {
                (0..active.len())
                    .map(|r| za[(r, c)] * target[r])
                    .sum::<f64>()
                    * scale
            })
            .collect();
        let (lo, hi) = bounds(i, signs, d, o);
        // The unconstrained ridge solution: the answer without bounds, the start with them.
        let hx = Array2::from_shape_fn((p, p), |(r, c)| h[(r, c)]);
        let gx = Array2::from_shape_fn((p, 1), |(r, _)| g[r]);
        let free: Vec<f64> = crate::linalg::ridge_solve(&hx, &gx, 0.0)
            .map(|s| s.column(0).to_vec())
            .unwrap_or_else(|| vec![0.0; p]);
        let theta = if o.constrained {
            box_qp(&h, &g, &lo, &hi, free, o.iterations)
        } else {
            // Projection afterwards: disallowed and wrong-signed weights set to 0.
            (0..p)
                .map(|k| {
                    let disallowed = k < n + d && lo[k] == 0.0 && hi[k] == 0.0;
                    let wrong_sign = k < n && free[k] * (signs[k].value() as f64) < 0.0;
                    if disallowed || wrong_sign {
                        0.0
                    } else {
                        free[k]
                    }
                })
                .collect()
        };
        for j in 0..n {
            w_rec[[i, j]] = theta[j] as f32;
        }
        for k in 0..d {
            w_in[[i, k]] = theta[n + k] as f32;
        }
        b[i] = theta[n + d] as f32;
    }
    OneStep {
        w_rec,
        w_in,
        b,
        active_frames,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// A leaky linear network driven by noise (the fluctuations that carry the connectivity), never
    /// rectified, so every frame is informative; the estimate's error shrinks as 1/√T.
    fn linear_network(n: usize, frames: usize) -> (Array2<f32>, Array2<f32>, Vec<f64>, Vec<Sign>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let signs: Vec<Sign> = (0..n)
            .map(|j| if j % 4 == 3 { Sign::I } else { Sign::E })
            .collect();
        let w = Array2::from_shape_fn((n, n), |(i, j)| {
            if i == j || (i * 7 + j * 3) % 5 == 0 {
                0.0
            } else {
                (0.05 + 0.1 * ((i * 13 + j * 5) % 7) as f32 / 7.0) * signs[j].value()
            }
        });
        let alpha = vec![0.5; n];
        let mut y = Array2::<f32>::zeros((frames, n));
        let mut x = vec![5.0f32; n];
        for t in 0..frames {
            for i in 0..n {
                y[[t, i]] = x[i];
            }
            let next: Vec<f32> = (0..n)
                .map(|i| {
                    let input: f32 = (0..n).map(|j| w[[i, j]] * x[j]).sum::<f32>()
                        + 2.0
                        + normal.sample(&mut rng) as f32;
                    0.5 * x[i] + 0.5 * input
                })
                .collect();
            x = next;
        }
        (w, y, alpha, signs)
    }

    #[test]
    fn a_noise_driven_linear_network_is_recovered_and_the_constraints_hold_exactly() {
        let frames = 50_000;
        let (w, y, alpha, signs) = linear_network(12, frames);
        let u = Array2::<f32>::zeros((frames, 0));
        for constrained in [false, true] {
            let o = OneStepOptions {
                active_quantile: 0.0,
                ridge: 0.0,
                constrained,
                ..OneStepOptions::default()
            };
            let est = one_step(y.view(), u.view(), &alpha, &signs, &o);
            let diff = &est.w_rec - &w;
            let max = diff.iter().fold(0f32, |m, v| m.max(v.abs()));
            let mean = diff.iter().map(|v| v.abs()).sum::<f32>() / diff.len() as f32;
            // Weights are 0.05–0.15; at 4 000 frames the largest error is 0.08, at 50 000 0.02.
            assert!(
                max < 0.04 && mean < 0.01,
                "constrained {constrained}: |Ŵ − W| max {max}, mean {mean}"
            );
            for ((i, j), &v) in est.w_rec.indexed_iter() {
                assert!(signs[j].value() * v >= 0.0, "Dale at [{i}, {j}]");
                assert!(i != j || v == 0.0, "no autapse");
            }
        }
        // A mask's zeros are kept exactly.
        let mask = Array2::from_shape_fn((12, 12), |(i, j)| f32::from((i + j) % 3 != 0));
        let o = OneStepOptions {
            active_quantile: 0.0,
            constrained: true,
            mask: Some(mask.clone()),
            ..OneStepOptions::default()
        };
        let est = one_step(y.view(), u.view(), &alpha, &signs, &o);
        for ((i, j), &v) in est.w_rec.indexed_iter() {
            assert!(mask[[i, j]] != 0.0 || v == 0.0, "masked [{i}, {j}] = {v}");
        }
    }
}
