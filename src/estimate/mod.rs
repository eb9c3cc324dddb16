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
//! is convex: a ridge penalty, and with [`SignRule::Bounds`] Dale's signs as bounds (an excitatory column
//! ≥ 0, an inhibitory column ≤ 0) and the mask's zeros fixed at 0, solved to machine precision by
//! projected Newton steps ([`qp::box_qp`]) on its normal equations; with
//! [`SignRule::BoundsEarlyStopped`], a fixed number of accelerated projected-gradient steps from
//! the projected ridge solution instead (what the warm start uses: early stopping regularises);
//! with [`SignRule::ProjectAfter`], the ridge solution with wrong-signed weights set to 0 (the
//! simple reference).
//!
//! Cost: a unit's problem involves only its free coefficients (`q` of the `p = n + d + 1`: the
//! mask's zeros are left out, except by early stopping, which starts from the ridge solution of
//! all `p`), so its normal matrix is one product of its active frames, `T_a · q²` multiply-adds,
//! each Newton iteration one Cholesky factorisation, `q³ / 3`, and each gradient step `q²`.
//! Units whose active frames coincide (every unit, with `active_quantile: None`) share one normal
//! matrix of all `p` columns, formed once with both cores. Units run in parallel.
//!
//! It uses the fluctuations that carry the connectivity, as CORNN (Dinc et al. 2023) does, and
//! needs every presynaptic unit recorded: it is the estimator to beat where every neuron is
//! recorded, and a start for the fit elsewhere.

pub mod qp;

use crate::data::Sign;
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatRef, Par, Side};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Accelerated projected-gradient steps of the warm start's one-step problems
/// ([`SignRule::BoundsEarlyStopped`]), from the projected ridge solution. Stopped there, not run
/// to the bounded optimum: early stopping regularises the slow directions of the ill-conditioned
/// normal matrices (condition numbers near 10⁵), and on the recovery study's recordings (rate and
/// adaptive simulators, every neuron recorded, 15 min, 4 seeds) the fits it starts recover
/// population input shares with ρ 0.45-0.48, against 0.37-0.40 from the bounded optimum
/// ([`SignRule::Bounds`]).
pub const EARLY_STOP_STEPS: usize = 300;

/// How Dale's signs enter the one-step problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignRule {
    /// Bounds of the convex problem: an excitatory column ≥ 0, an inhibitory column ≤ 0, solved
    /// to convergence.
    Bounds,
    /// The same bounds, with a fixed number of accelerated projected-gradient steps from the
    /// projected ridge solution of every coefficient (the mask's zeros included in the ridge):
    /// early stopping as regularisation ([`qp::projected_gradient`]).
    BoundsEarlyStopped(usize),
    /// The unconstrained ridge solution, with wrong-signed weights set to 0 afterwards (the
    /// simple reference).
    ProjectAfter,
    /// No sign constraint (networks without Dale's law).
    Free,
}

/// How the one-step problems are posed and solved.
#[derive(Debug, Clone)]
pub struct OneStepOptions {
    /// A unit is active at frame t when its trace exceeds this quantile of its own values (at t
    /// and at t+1); `None`: every frame pair (units that are never silent, such as tanh units).
    pub active_quantile: Option<f64>,
    /// Ridge penalty, relative to the mean diagonal of each unit's normal matrix.
    pub ridge: f64,
    /// How Dale's signs enter (the mask's zeros and the diagonal are always fixed at 0).
    pub signs: SignRule,
    /// Connections allowed, `[post, pre]` (0 = fixed at 0); `None`: all but the diagonal.
    pub mask: Option<Array2<f32>>,
    /// Most Newton iterations per problem (`SignRule::Bounds`); it stops earlier once the projected
    /// gradient is below [`qp::TOLERANCE`].
    pub max_iterations: usize,
    /// Which frame pairs `(t, t+1)` may be used, `[T]` (`false` across a gap or a split
    /// boundary); `None`: every pair.
    pub pairs: Option<Vec<bool>>,
    /// Inputs each unit may read, `[post, input]` (0 = fixed at 0); `None`: all.
    pub input_mask: Option<Array2<f32>>,
}

impl Default for OneStepOptions {
    fn default() -> Self {
        OneStepOptions {
            active_quantile: Some(0.5),
            ridge: 1e-3,
            signs: SignRule::ProjectAfter,
            mask: None,
            max_iterations: 100,
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
    /// The coefficient of each unit's own trace, `[n]`: a nuisance regressor, not a weight
    /// (`w_rec`'s diagonal is 0; see [`solve`]).
    pub self_terms: Vec<f32>,
    /// Active frames used for each unit, `[n]`.
    pub active_frames: Vec<usize>,
    /// Solver iterations each unit's problem took, `[n]` (0 without sign bounds, or for a unit
    /// with too few active frames, whose weights stay 0).
    pub iterations: Vec<usize>,
    /// Units whose problem reached the iteration limit before the tolerance.
    pub unconverged: usize,
}

/// The bounds of unit `i`'s coefficients `[W[i, ·], W_in[i, ·], b_i]`: `(lower, upper)`. The
/// diagonal `W[i, i]` is the unit's own trace as a free nuisance regressor (see [`solve`]).
fn bounds(i: usize, signs: &[Sign], d: usize, o: &OneStepOptions) -> (Vec<f64>, Vec<f64>) {
    let n = signs.len();
    let mut lo = vec![f64::NEG_INFINITY; n + d + 1];
    let mut hi = vec![f64::INFINITY; n + d + 1];
    for j in 0..n {
        let allowed = o.mask.as_ref().is_none_or(|m| m[[i, j]] != 0.0);
        if j == i {
            continue;
        } else if !allowed {
            lo[j] = 0.0;
            hi[j] = 0.0;
        } else if matches!(o.signs, SignRule::Bounds | SignRule::BoundsEarlyStopped(_)) {
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

/// Whether a unit with rates `now` at t and `next` at t + 1 is active over the pair: above its
/// threshold `theta` at both frames (below it, a linear-threshold unit's state is hidden behind
/// the rectification).
pub fn active_pair(now: f32, next: f32, theta: f32) -> bool {
    now > theta && next > theta
}

/// The activity threshold of a unit whose trace is `column`: its `active_quantile`, or −∞ (every
/// frame active) without one.
pub fn activity_threshold(column: &[f32], o: &OneStepOptions) -> f32 {
    match o.active_quantile {
        Some(q) => crate::stats::quantile(column, q),
        None => f32::NEG_INFINITY,
    }
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
    let pairs = y.nrows().saturating_sub(1);
    let targets = Array2::from_shape_fn((pairs, y.ncols()), |(t, i)| {
        leak_corrected_update(x[[t, i]], x[[t + 1, i]], alpha[i])
    });
    solve(targets.view(), y, u, signs, o)
}

/// The one-step problems posed on given targets `[T − 1, n]`: unit i's target at pair t is
/// regressed on `[y(t), u(t), 1]` over its active pairs (`y` `[T, n]`, `u` `[T, d]`).
///
/// Unit i's own trace `y_i(t)` is one of the regressors, free of bounds, and its coefficient is
/// dropped from the estimate (the model has no self-connections): it absorbs what the assumed
/// leak gets wrong, since with the wrong α the leak-corrected update carries a term in the
/// unit's own state. Left out, the other units' weights absorb it instead: on the recovery
/// study's recordings (τ assumed 400 ms, true 80-150 ms), the input-share ρ of the one-step
/// estimate falls from 0.52 to 0.43.
pub fn solve(
    targets: ArrayView2<f64>,
    y: ArrayView2<f32>,
    u: ArrayView2<f32>,
    signs: &[Sign],
    o: &OneStepOptions,
) -> OneStep {
    let (frames, n) = y.dim();
    let d = u.ncols();
    let p = n + d + 1;
    let pairs = frames.saturating_sub(1);
    let z = Mat::<f64>::from_fn(pairs, p, |t, c| match c {
        c if c < n => y[[t, c]] as f64,
        c if c < n + d => u[[t, c - n]] as f64,
        _ => 1.0,
    });
    let usable = |t: usize| o.pairs.as_ref().is_none_or(|p| p[t]);
    let rows: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let col: Vec<f32> = y.column(i).to_vec();
            let theta = activity_threshold(&col, o);
            (0..pairs)
                .filter(|&t| usable(t) && active_pair(col[t], col[t + 1], theta))
                .collect()
        })
        .collect();
    // Units with the same active pairs share one normal matrix (ordered by first unit).
    let mut by_rows: BTreeMap<&[usize], Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_rows.entry(r.as_slice()).or_default().push(i);
    }
    let mut groups: Vec<(&[usize], Vec<usize>)> = by_rows.into_iter().collect();
    groups.sort_by_key(|(_, units)| units[0]);
    // One group (e.g. every frame active) uses both cores inside its products instead.
    let par = if groups.len() == 1 {
        Par::rayon(0)
    } else {
        Par::Seq
    };
    let solved: Vec<Vec<UnitSolution>> = groups
        .par_iter()
        .map(|(active, units)| solve_group(&z, &targets, active, units, signs, d, o, par))
        .collect();
    let mut est = OneStep {
        w_rec: Array2::zeros((n, n)),
        w_in: Array2::zeros((n, d)),
        b: vec![0.0; n],
        self_terms: vec![0.0; n],
        active_frames: rows.iter().map(Vec::len).collect(),
        iterations: vec![0; n],
        unconverged: 0,
    };
    for s in solved.into_iter().flatten() {
        let i = s.unit;
        for (j, &v) in s.theta[..n].iter().enumerate() {
            est.w_rec[[i, j]] = if j == i { 0.0 } else { v as f32 };
        }
        est.self_terms[i] = s.theta[i] as f32;
        for (k, &v) in s.theta[n..n + d].iter().enumerate() {
            est.w_in[[i, k]] = v as f32;
        }
        est.b[i] = s.theta[n + d] as f32;
        est.iterations[i] = s.iterations;
        est.unconverged += usize::from(!s.converged);
    }
    est
}

/// One unit's solution.
struct UnitSolution {
    unit: usize,
    /// `[W[i, ·], W_in[i, ·], b_i]`.
    theta: Vec<f64>,
    iterations: usize,
    converged: bool,
}

/// Solve the problems of `units`, which share the active pairs `active` (all coefficients 0 for
/// too few active pairs).
/// Each problem is posed on its unit's free coefficients alone (the mask's zeros and masked
/// inputs are left out of its normal matrix; its own trace stays in, as the nuisance regressor):
/// one unit's normal matrix is formed on those columns only, a shared one once on all columns.
#[allow(clippy::too_many_arguments)]
fn solve_group(
    z: &Mat<f64>,
    targets: &ArrayView2<f64>,
    active: &[usize],
    units: &[usize],
    signs: &[Sign],
    d: usize,
    o: &OneStepOptions,
    par: Par,
) -> Vec<UnitSolution> {
    let p = z.ncols();
    if active.len() < p.min(8) {
        let zero = |unit| UnitSolution {
            unit,
            theta: vec![0.0; p],
            iterations: 0,
            converged: true,
        };
        return units.iter().map(|&i| zero(i)).collect();
    }
    let scale = 1.0 / active.len() as f64;
    // The normal matrix `Zₐᵀ Zₐ / Tₐ` of the columns `cols` and the right-hand side of unit `i`.
    let normal = |cols: &[usize], par: Par| {
        let za = Mat::<f64>::from_fn(active.len(), cols.len(), |r, c| z[(active[r], cols[c])]);
        let mut h = Mat::<f64>::zeros(cols.len(), cols.len());
        matmul(
            h.as_mut(),
            Accum::Replace,
            za.transpose(),
            za.as_ref(),
            scale,
            par,
        );
        // The right-hand sides of all units at once: `Zₐᵀ D` `[cols, k]`.
        let d = Mat::<f64>::from_fn(active.len(), units.len(), |r, c| {
            targets[[active[r], units[c]]]
        });
        let mut g = Mat::<f64>::zeros(cols.len(), units.len());
        matmul(
            g.as_mut(),
            Accum::Replace,
            za.transpose(),
            d.as_ref(),
            scale,
            par,
        );
        let rhs = |c: usize| -> Vec<f64> { (0..cols.len()).map(|r| g[(r, c)]).collect() };
        (h, (0..units.len()).map(rhs).collect::<Vec<_>>())
    };
    // Early stopping starts from the ridge solution of every coefficient, so its problem keeps
    // them all (the fixed ones held at 0 by their bounds).
    let early = matches!(o.signs, SignRule::BoundsEarlyStopped(_));
    let solve_unit = |h: MatRef<f64>, g: &[f64], i: usize, cols: &[usize]| {
        let (mut lo, mut hi) = bounds(i, signs, d, o);
        if early {
            // The self term is in the ridge start only: freed during the steps, it costs the
            // recovery study 0.05-0.08 of population input-share ρ.
            lo[i] = 0.0;
            hi[i] = 0.0;
        }
        let lo: Vec<f64> = cols.iter().map(|&j| lo[j]).collect();
        let hi: Vec<f64> = cols.iter().map(|&j| hi[j]).collect();
        let (theta, iterations, converged) = unit_problem(h, g, &lo, &hi, cols, signs, o);
        let mut full = vec![0.0; p];
        for (c, &j) in cols.iter().enumerate() {
            full[j] = theta[c];
        }
        UnitSolution {
            unit: i,
            theta: full,
            iterations,
            converged,
        }
    };
    let free_cols = |i: usize| -> Vec<usize> {
        let (lo, hi) = bounds(i, signs, d, o);
        (0..p).filter(|&j| early || lo[j] < hi[j]).collect()
    };
    if let [i] = units {
        let cols = free_cols(*i);
        let (h, g) = normal(&cols, par);
        return vec![solve_unit(h.as_ref(), &g[0], *i, &cols)];
    }
    let all: Vec<usize> = (0..p).collect();
    let (h, g) = normal(&all, par);
    if o.signs == SignRule::Free && units.iter().all(|&i| free_cols(i) == all) {
        return shared_ridge(h, &g, units, o);
    }
    units
        .par_iter()
        .zip(g.par_iter())
        .map(|(&i, g)| {
            let cols = free_cols(i);
            let hs = Mat::<f64>::from_fn(cols.len(), cols.len(), |r, c| h[(cols[r], cols[c])]);
            let gs: Vec<f64> = cols.iter().map(|&j| g[j]).collect();
            solve_unit(hs.as_ref(), &gs, i, &cols)
        })
        .collect()
}

/// `h + λ I` with `λ = ridge ·` the mean diagonal of the normal matrix `h` `[q, q]`.
fn with_ridge(h: MatRef<f64>, ridge: f64) -> Mat<f64> {
    let q = h.nrows();
    let mean_diag = (0..q).map(|c| h[(c, c)]).sum::<f64>() / q.max(1) as f64;
    let lambda = ridge * mean_diag.max(1e-12);
    Mat::<f64>::from_fn(q, q, |r, c| h[(r, c)] + if r == c { lambda } else { 0.0 })
}

/// The ridge solutions of `units` that share one normal matrix `h` `[p, p]` and every
/// coefficient (no bounds, nothing fixed): one factorisation for all right-hand sides `g`.
fn shared_ridge(
    h: Mat<f64>,
    g: &[Vec<f64>],
    units: &[usize],
    o: &OneStepOptions,
) -> Vec<UnitSolution> {
    let p = h.nrows();
    let h = with_ridge(h.as_ref(), o.ridge);
    let mut rhs = Mat::<f64>::from_fn(p, units.len(), |r, c| g[c][r]);
    match h.llt(Side::Lower) {
        Ok(llt) => llt.solve_in_place(rhs.as_mut()),
        Err(_) => rhs.fill(0.0),
    }
    units
        .iter()
        .enumerate()
        .map(|(c, &unit)| UnitSolution {
            unit,
            theta: (0..p).map(|r| rhs[(r, c)]).collect(),
            iterations: 0,
            converged: true,
        })
        .collect()
}

/// One unit's problem on its free coefficients `cols` (indices into `[W[i, ·], W_in[i, ·], b_i]`):
/// normal matrix `h`, right-hand side `g`, bounds `lo`, `hi`; the ridge penalty is `o.ridge` times
/// the mean diagonal of `h`. Returns the coefficients, the solver's iterations and whether it
/// converged.
fn unit_problem(
    h: MatRef<f64>,
    g: &[f64],
    lo: &[f64],
    hi: &[f64],
    cols: &[usize],
    signs: &[Sign],
    o: &OneStepOptions,
) -> (Vec<f64>, usize, bool) {
    let q = cols.len();
    if q == 0 {
        return (vec![], 0, true);
    }
    let h = with_ridge(h, o.ridge);
    // The unconstrained ridge solution: the answer without bounds, the start with them.
    let free = match h.llt(Side::Lower) {
        Ok(llt) => {
            let mut s = Mat::<f64>::from_fn(q, 1, |r, _| g[r]);
            llt.solve_in_place(s.as_mut());
            (0..q).map(|r| s[(r, 0)]).collect()
        }
        Err(_) => vec![0.0; q],
    };
    if let SignRule::BoundsEarlyStopped(steps) = o.signs {
        let theta = qp::projected_gradient(h.as_ref(), g, lo, hi, &free, steps);
        return (theta, steps, true);
    }
    if o.signs == SignRule::Bounds {
        let (theta, report) = qp::box_qp(h.as_ref(), g, lo, hi, &free, o.max_iterations);
        return (theta, report.iterations, report.converged);
    }
    if o.signs == SignRule::Free {
        return (free, 0, true);
    }
    // Projection afterwards: wrong-signed recurrent weights set to 0.
    let n = signs.len();
    let theta = cols
        .iter()
        .zip(free)
        .map(|(&j, v)| {
            if j < n && v * (signs[j].value() as f64) < 0.0 {
                0.0
            } else {
                v
            }
        })
        .collect();
    (theta, 0, true)
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
        for rule in [SignRule::ProjectAfter, SignRule::Bounds] {
            let o = OneStepOptions {
                active_quantile: Some(0.0),
                ridge: 0.0,
                signs: rule,
                ..OneStepOptions::default()
            };
            let est = one_step(y.view(), u.view(), &alpha, &signs, &o);
            let diff = &est.w_rec - &w;
            let max = diff.iter().fold(0f32, |m, v| m.max(v.abs()));
            let mean = diff.iter().map(|v| v.abs()).sum::<f32>() / diff.len() as f32;
            // Weights are 0.05–0.15; at 4 000 frames the largest error is 0.08, at 50 000 0.02.
            assert!(
                max < 0.04 && mean < 0.01,
                "{rule:?}: |Ŵ − W| max {max}, mean {mean}"
            );
            for ((i, j), &v) in est.w_rec.indexed_iter() {
                assert!(signs[j].value() * v >= 0.0, "Dale at [{i}, {j}]");
                assert!(i != j || v == 0.0, "no autapse");
            }
        }
        // A mask's zeros are kept exactly.
        let mask = Array2::from_shape_fn((12, 12), |(i, j)| f32::from((i + j) % 3 != 0));
        let o = OneStepOptions {
            active_quantile: Some(0.0),
            signs: SignRule::Bounds,
            mask: Some(mask.clone()),
            ..OneStepOptions::default()
        };
        let est = one_step(y.view(), u.view(), &alpha, &signs, &o);
        for ((i, j), &v) in est.w_rec.indexed_iter() {
            assert!(mask[[i, j]] != 0.0 || v == 0.0, "masked [{i}, {j}] = {v}");
        }
    }

    #[test]
    fn a_noiseless_linear_network_driven_by_inputs_is_recovered_to_1e_3() {
        // x(t+1) = ½ x + ½ (W x + W_in u + 1), every unit with its own random input: the
        // one-step relation holds exactly, so the estimate is W up to rounding of the f32 traces.
        let (n, frames) = (12, 3000);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let (w, _, alpha, signs) = linear_network(n, 1);
        let u = Array2::from_shape_fn((frames, n), |_| normal.sample(&mut rng) as f32);
        let mut y = Array2::<f32>::zeros((frames, n));
        let mut x = vec![5.0f32; n];
        for t in 0..frames {
            for i in 0..n {
                y[[t, i]] = x[i];
            }
            x = (0..n)
                .map(|i| {
                    let input: f32 =
                        (0..n).map(|j| w[[i, j]] * x[j]).sum::<f32>() + u[[t, i]] + 1.0;
                    0.5 * x[i] + 0.5 * input
                })
                .collect();
        }
        for rule in [SignRule::ProjectAfter, SignRule::Bounds, SignRule::Free] {
            let o = OneStepOptions {
                active_quantile: None,
                ridge: 0.0,
                signs: rule,
                ..OneStepOptions::default()
            };
            let est = one_step(y.view(), u.view(), &alpha, &signs, &o);
            let max = (&est.w_rec - &w).iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(max < 1e-3, "{rule:?}: |Ŵ − W| max {max}");
            assert_eq!(est.unconverged, 0);
            // Every unit shares the same frames: one normal matrix for all.
            assert!(est.active_frames.iter().all(|&a| a == frames - 1));
        }
    }
}
