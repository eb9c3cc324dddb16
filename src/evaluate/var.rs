//! A ridge VAR(1) with inputs, `y(t+1) = A y(t) + B u(t) + c`, with `A[post, pre]`: the linear
//! autoregressive baseline of a fit, and the Granger-style interaction estimate of the recovery
//! study.

use crate::dataset::Window;
use ndarray::Array2;

/// A fitted VAR(1).
#[derive(Debug, Clone)]
pub struct Var1 {
    /// `A[post, pre]`, `[n, n]`.
    pub a: Array2<f64>,
    /// Input weights `[n, n_inputs]`.
    pub b: Array2<f64>,
    /// Offsets `[n]`.
    pub c: Vec<f64>,
    /// The ridge penalty chosen, as a multiple of the number of training pairs.
    pub alpha: f64,
}

/// Frames `t` such that `t` and `t + 1` both lie in one of `windows` (each pair once).
pub fn training_pairs(windows: &[Window]) -> Vec<usize> {
    let mut t: Vec<usize> = windows
        .iter()
        .flat_map(|w| w.start..w.start + w.len.saturating_sub(1))
        .collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// Penalties tried, as multiples of the number of training pairs.
pub const ALPHAS: [f64; 7] = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];

/// Centered cross-products over `pairs` of the regressors `[y(t), u(t)]` and targets `y(t+1)`.
struct Moments {
    xtx: Array2<f64>,
    xty: Array2<f64>,
    mean_x: Vec<f64>,
    mean_y: Vec<f64>,
}

fn regressor(y: &Array2<f32>, u: &Array2<f32>, t: usize, k: usize) -> f64 {
    let n = y.ncols();
    if k < n {
        y[[t, k]] as f64
    } else {
        u[[t, k - n]] as f64
    }
}

fn moments(y: &Array2<f32>, u: &Array2<f32>, pairs: &[usize]) -> Moments {
    let (n, m) = (y.ncols(), u.ncols());
    let p = n + m;
    let len = pairs.len().max(1) as f64;
    let mut mean_x = vec![0.0; p];
    let mut mean_y = vec![0.0; n];
    for &t in pairs {
        for (k, mx) in mean_x.iter_mut().enumerate() {
            *mx += regressor(y, u, t, k) / len;
        }
        for (i, my) in mean_y.iter_mut().enumerate() {
            *my += y[[t + 1, i]] as f64 / len;
        }
    }
    let mut x = Array2::<f64>::zeros((pairs.len(), p));
    let mut yy = Array2::<f64>::zeros((pairs.len(), n));
    for (r, &t) in pairs.iter().enumerate() {
        for k in 0..p {
            x[[r, k]] = regressor(y, u, t, k) - mean_x[k];
        }
        for i in 0..n {
            yy[[r, i]] = y[[t + 1, i]] as f64 - mean_y[i];
        }
    }
    Moments {
        xtx: x.t().dot(&x),
        xty: x.t().dot(&yy),
        mean_x,
        mean_y,
    }
}

fn fit_with(mo: &Moments, n: usize, lambda: f64, alpha: f64) -> Option<Var1> {
    let coef = crate::linalg::ridge_solve(&mo.xtx, &mo.xty, lambda)?; // [p, n]
    let p = coef.nrows();
    let a = Array2::from_shape_fn((n, n), |(i, j)| coef[[j, i]]);
    let b = Array2::from_shape_fn((n, p - n), |(i, k)| coef[[n + k, i]]);
    let c = (0..n)
        .map(|i| mo.mean_y[i] - (0..p).map(|k| coef[[k, i]] * mo.mean_x[k]).sum::<f64>())
        .collect();
    Some(Var1 { a, b, c, alpha })
}

/// Fit on the pairs `(t, t+1)` for `t` in `pairs`. The penalty is chosen from [`ALPHAS`] by the
/// one-step error on the last fifth of the pairs (in time order) after fitting on the rest, then
/// the model is refitted on all pairs. `None` when there are too few pairs.
pub fn fit_var1(y: &Array2<f32>, u: &Array2<f32>, pairs: &[usize]) -> Option<Var1> {
    let n = y.ncols();
    if pairs.len() < 10 {
        return None;
    }
    let cut = pairs.len() * 4 / 5;
    let (inner, held) = pairs.split_at(cut);
    let mo_inner = moments(y, u, inner);
    let mut best = (f64::INFINITY, ALPHAS[ALPHAS.len() - 1]);
    for &alpha in &ALPHAS {
        let Some(m) = fit_with(&mo_inner, n, alpha * inner.len() as f64, alpha) else {
            continue;
        };
        let err: f64 = held
            .iter()
            .map(|&t| {
                let next = m.step(&y.row(t).mapv(|v| v as f64).to_vec(), u, t);
                next.iter()
                    .enumerate()
                    .map(|(i, v)| (v - y[[t + 1, i]] as f64).powi(2))
                    .sum::<f64>()
            })
            .sum();
        if err < best.0 {
            best = (err, alpha);
        }
    }
    fit_with(
        &moments(y, u, pairs),
        n,
        best.1 * pairs.len() as f64,
        best.1,
    )
}

/// Fit on all `pairs` with the penalty `alpha · len(pairs)` (no selection): the closed form
/// `[A B]ᵀ = (XᵀX + λI)⁻¹ XᵀY` on centered regressors `X = [y(t), u(t)]` and targets `Y = y(t+1)`,
/// with `c = mean(Y) − [A B] mean(X)`.
pub fn fit_var1_alpha(
    y: &Array2<f32>,
    u: &Array2<f32>,
    pairs: &[usize],
    alpha: f64,
) -> Option<Var1> {
    fit_with(
        &moments(y, u, pairs),
        y.ncols(),
        alpha * pairs.len() as f64,
        alpha,
    )
}

impl Var1 {
    /// One step from state `x` with the inputs of frame `t`.
    pub fn step(&self, x: &[f64], u: &Array2<f32>, t: usize) -> Vec<f64> {
        let n = self.a.nrows();
        (0..n)
            .map(|i| {
                let mut v = self.c[i];
                for (j, xj) in x.iter().enumerate() {
                    v += self.a[[i, j]] * xj;
                }
                for k in 0..self.b.ncols() {
                    v += self.b[[i, k]] * u[[t, k]] as f64;
                }
                v
            })
            .collect()
    }

    /// Predictions for frames `start + 1 .. start + len` of each window, in window order
    /// (`[frames, n]`), as the RNN's `predict`: started from the data at the window's first frame,
    /// then free-running, or reset to the data every `teacher_every` frames.
    pub fn predict(
        &self,
        y: &Array2<f32>,
        u: &Array2<f32>,
        windows: &[Window],
        teacher_every: Option<usize>,
    ) -> Array2<f32> {
        let n = y.ncols();
        let mut out = Vec::new();
        for w in windows {
            let mut x: Vec<f64> = y.row(w.start).iter().map(|&v| v as f64).collect();
            for t in 0..w.len.saturating_sub(1) {
                if let Some(k) = teacher_every {
                    if t > 0 && t % k.max(1) == 0 {
                        x = y.row(w.start + t).iter().map(|&v| v as f64).collect();
                    }
                }
                x = self.step(&x, u, w.start + t);
                out.extend(x.iter().map(|&v| v as f32));
            }
        }
        Array2::from_shape_vec((out.len() / n.max(1), n), out).expect("shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn recovers_a_known_var_from_simulated_data() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let a_true = ndarray::array![[0.8, -0.3], [0.2, 0.5]];
        let t_len = 4000;
        let mut y = Array2::<f32>::zeros((t_len, 2));
        for t in 0..t_len - 1 {
            for i in 0..2 {
                let mut v = 0.1 * (i as f64 + 1.0);
                for j in 0..2 {
                    v += a_true[[i, j]] * y[[t, j]] as f64;
                }
                y[[t + 1, i]] = (v + rng.random_range(-0.5..0.5)) as f32;
            }
        }
        let u = Array2::<f32>::zeros((t_len, 0));
        let w = [Window {
            start: 0,
            len: t_len,
        }];
        let m = fit_var1(&y, &u, &training_pairs(&w)).unwrap();
        for i in 0..2 {
            for j in 0..2 {
                assert!((m.a[[i, j]] - a_true[[i, j]]).abs() < 0.05, "{:?}", m.a);
            }
        }
        assert!((m.c[0] - 0.1).abs() < 0.05 && (m.c[1] - 0.2).abs() < 0.05);
        // Teacher forcing every frame is one-step-ahead prediction.
        let p = m.predict(&y, &u, &w[..], Some(1));
        let one = m.step(&[y[[5, 0]] as f64, y[[5, 1]] as f64], &u, 5);
        assert!((p[[5, 0]] as f64 - one[0]).abs() < 1e-5);
    }
}
