//! Recurrent weight matrices of the architectures Li, Cornford et al. 2023 compare, drawn as their
//! code initialises them (Pingsheng-Kevin/learning_better_dale_neurips, `lib/init_policies.py`):
//!
//! - **standard RNN**: `W ~ U(−1/√n, 1/√n)`, no sign constraint;
//! - **ColEI** (column E/I): `W = W⁺ D`, `D = diag(+1 for the n_E excitatory columns, −1 for the
//!   last n_I)`, `W⁺` exponential with scales that balance each unit's expected E and I input, the
//!   diagonal zeroed, then scaled to a spectral radius (1.5 in the paper);
//! - **recurrent DANN**: `W = W_EE − W_EI W_IE` over `n_E` excitatory units with `n_I`
//!   feed-forward interneurons, all parts ≥ 0, `W_IE`'s rows the mean row of `W_EE` and `W_EI`'s
//!   rows summing to 1, so every column of `W` has mean 0.
//!
//! `W[post, pre]` throughout: a presynaptic column carries the sign.

use ndarray::{Array1, Array2, Axis};
use rand::Rng;
use rand_distr::{Distribution, Exp};

/// Excitatory and inhibitory unit counts of an `n`-unit ColEI network with inhibitory fraction
/// `i_fraction` (at least one of each).
pub fn ei_split(n: usize, i_fraction: f64) -> (usize, usize) {
    let n_i = ((n as f64 * i_fraction).round() as usize).clamp(1, n.saturating_sub(1).max(1));
    (n - n_i, n_i)
}

/// Exponential draws with mean `scale` (PyTorch's `exponential_(1/scale)`).
fn exponential<R: Rng>(rows: usize, cols: usize, scale: f64, rng: &mut R) -> Array2<f64> {
    let exp = Exp::new(1.0 / scale).expect("a positive, finite scale");
    Array2::from_shape_fn((rows, cols), |_| exp.sample(rng))
}

/// A standard RNN's recurrent weights, `[n, n]`: uniform on ±1/√n (PyTorch's default).
pub fn standard<R: Rng>(n: usize, rng: &mut R) -> Array2<f64> {
    let bound = 1.0 / (n as f64).sqrt();
    Array2::from_shape_fn((n, n), |_| (2.0 * rng.random::<f64>() - 1.0) * bound)
}

/// ColEI's exponential scales `(σ_E, σ_I)` for `n_e` excitatory and `n_i` inhibitory units:
/// `σ_E = (((2π − 1)/2π)(n_E + n_E²/n_I))^−½` and `σ_I = (n_E/n_I) σ_E`, so that a unit's expected
/// excitatory and inhibitory input balance (each count taken as at least 1).
pub fn colei_scales(n_e: usize, n_i: usize) -> (f64, f64) {
    let (ne, ni) = (n_e.max(1) as f64, n_i.max(1) as f64);
    let two_pi = 2.0 * std::f64::consts::PI;
    let sigma_e = (1.0 / (((two_pi - 1.0) / two_pi) * (ne + ne * ne / ni))).sqrt();
    (sigma_e, (ne / ni) * sigma_e)
}

/// A ColEI network's recurrent weights, `[n, n]`, excitatory columns first: `W⁺_E ~ Exp(σ_E)`,
/// `W⁺_I ~ Exp(σ_I)` with `σ_E = (((2π − 1)/2π)(n_E + n_E²/n_I))^−½` and `σ_I = (n_E/n_I) σ_E`,
/// zero diagonal, inhibitory columns negated, scaled to spectral radius `radius` (none when 0 or
/// the matrix has no non-zero eigenvalue).
pub fn colei<R: Rng>(
    n: usize,
    i_fraction: f64,
    radius: f64,
    rng: &mut R,
) -> crate::error::Result<Array2<f64>> {
    let (n_e, n_i) = ei_split(n, i_fraction);
    let (sigma_e, sigma_i) = colei_scales(n_e, n_i);
    let e = exponential(n, n_e, sigma_e, rng);
    let i = exponential(n, n_i, sigma_i, rng);
    let mut w = ndarray::concatenate![Axis(1), e, -i];
    w.diag_mut().fill(0.0);
    scale_to_radius(w, radius)
}

/// The three non-negative parts of a DANN layer (shapes of a recurrent layer; for an input
/// layer `[n_out, n_in]`, `[n_out, n_I]` and `[n_I, n_in]`).
#[derive(Debug, Clone)]
pub struct Dann {
    /// Excitatory → excitatory, `[n_E, n_E]`.
    pub w_ee: Array2<f64>,
    /// Inhibitory → excitatory, `[n_E, n_I]`; each row sums to 1 at initialisation.
    pub w_ei: Array2<f64>,
    /// Excitatory → inhibitory, `[n_I, n_E]`; each row is `W_EE`'s mean row at initialisation.
    pub w_ie: Array2<f64>,
}

impl Dann {
    /// The effective recurrent weights `W_EE − W_EI W_IE`, `[n_E, n_E]`.
    pub fn effective(&self) -> Array2<f64> {
        &self.w_ee - &self.w_ei.dot(&self.w_ie)
    }
}

/// A recurrent DANN layer of `n_e` excitatory units with `n_i` interneurons, initialised as
/// `EiRNNCell_W_InitPolicy(numerator = 1/3)`: `W_EE ~ Exp(σ)` with
/// `σ = √(n_E/(n_E − 1) · (1/3) / n_E)`, `W_IE` = the mean row of `W_EE` in every row, and
/// `W_EI ~ Exp(σ √(n_E/n_I))` with its rows normalised to sum to 1.
pub fn dann<R: Rng>(n_e: usize, n_i: usize, rng: &mut R) -> Dann {
    dann_layer(n_e, n_e, n_i, rng)
}

/// A DANN layer from `n_in` excitatory inputs to `n_out` units through `n_i` interneurons, by the
/// scheme of [`dann`] over the inputs (`EiRNNCell_U_InitPolicy` for a recurrent DANN's input
/// weights `U = U_EX − U_EI U_IX`): `w_ee` is `[n_out, n_in]`, `w_ie` `[n_i, n_in]`, `w_ei`
/// `[n_out, n_i]`; every column of the effective matrix has mean 0.
pub fn dann_layer<R: Rng>(n_out: usize, n_in: usize, n_i: usize, rng: &mut R) -> Dann {
    let d = n_in as f64;
    let sigma = (d / (d - 1.0).max(1.0) * (1.0 / 3.0) / d).sqrt();
    let w_ee = exponential(n_out, n_in, sigma, rng);
    let mean_row: Array1<f64> = w_ee.mean_axis(Axis(0)).expect("n_out > 0");
    let w_ie = Array2::from_shape_fn((n_i, n_in), |(_, j)| mean_row[j]);
    let mut w_ei = exponential(n_out, n_i, sigma * (d / n_i as f64).sqrt(), rng);
    for mut row in w_ei.rows_mut() {
        let s = row.sum();
        row /= s;
    }
    Dann { w_ee, w_ei, w_ie }
}

/// Input weights of a ColEI network's first layer, `[n, n_in]`: all positive, `Exp(√(1/n_in))`
/// (`ColumnEi_FirstCell_U_InitPolicy`).
pub fn colei_input<R: Rng>(n: usize, n_in: usize, rng: &mut R) -> Array2<f64> {
    exponential(n, n_in, (1.0 / n_in.max(1) as f64).sqrt(), rng)
}

/// Interneurons of a DANN layer of `n_e` units: one in ten, at least one (the paper's default).
pub fn dann_interneurons(n_e: usize) -> usize {
    n_e.div_ceil(10).max(1)
}

/// Li, Cornford et al. 2023's spectrum transplant (§2.4): the singular vectors of `vectors` with
/// the singular values of `spectrum` (both `[n, n]`), `U_v diag(σ_s) V_vᵀ`.
pub fn spectrum_transplant(
    vectors: &Array2<f64>,
    spectrum: &Array2<f64>,
) -> crate::error::Result<Array2<f64>> {
    let (u, _, v) = crate::linalg::svd(vectors)?;
    let (_, s, _) = crate::linalg::svd(spectrum)?;
    let scaled = Array2::from_shape_fn(u.dim(), |(i, k)| {
        u[[i, k]] * s.get(k).copied().unwrap_or(0.0)
    });
    Ok(scaled.dot(&v.t()))
}

/// Liu et al. 2024's low-rank start, `[n, n]`: `W₀ = gain · N(0, 1) / √n`, its top `rank`
/// singular components kept, rescaled to `W₀`'s Frobenius norm.
pub fn low_rank<R: Rng>(
    n: usize,
    rank: usize,
    gain: f64,
    rng: &mut R,
) -> crate::error::Result<Array2<f64>> {
    let w0 = Array2::from_shape_fn((n, n), |_| {
        let z: f64 = rand_distr::StandardNormal.sample(rng);
        gain * z / (n as f64).sqrt()
    });
    let (u, s, v) = crate::linalg::svd(&w0)?;
    let r = rank.min(n);
    let kept = Array2::from_shape_fn((n, r), |(i, k)| u[[i, k]] * s[k])
        .dot(&v.slice(ndarray::s![.., ..r]).t());
    let norm = |a: &Array2<f64>| a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let scale = norm(&w0) / norm(&kept).max(f64::MIN_POSITIVE);
    Ok(kept * scale)
}

/// `w` scaled so that its largest |eigenvalue| is `radius` (unchanged when `radius` is 0 or `w`
/// has no non-zero eigenvalue).
fn scale_to_radius(w: Array2<f64>, radius: f64) -> crate::error::Result<Array2<f64>> {
    if radius <= 0.0 {
        return Ok(w);
    }
    let rho = crate::linalg::spectral_radius(&w.mapv(|v| v as f32))?;
    Ok(if rho > 0.0 { w * (radius / rho) } else { w })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn colei_columns_keep_their_sign_and_the_radius() {
        let w = colei(200, 0.1, 1.5, &mut rng()).unwrap();
        let (n_e, n_i) = ei_split(200, 0.1);
        assert_eq!((n_e, n_i), (180, 20));
        assert!(w
            .columns()
            .into_iter()
            .take(n_e)
            .all(|c| c.iter().all(|&v| v >= 0.0)));
        assert!(w
            .columns()
            .into_iter()
            .skip(n_e)
            .all(|c| c.iter().all(|&v| v <= 0.0)));
        assert!(w.diag().iter().all(|&v| v == 0.0));
        let rho = crate::linalg::spectral_radius(&w.mapv(|v| v as f32)).unwrap();
        assert!((rho - 1.5).abs() < 1e-4, "{rho}");
    }

    #[test]
    fn colei_balances_each_units_expected_input() {
        // E[Σ_E w] = n_E σ_E and E[Σ_I w] = n_I σ_I = n_E σ_E: the row sums centre on 0.
        let w = colei(400, 0.2, 0.0, &mut rng()).unwrap();
        let mean_row_sum = w.sum_axis(Axis(1)).mean().unwrap();
        let mean_abs = w.mapv(f64::abs).sum_axis(Axis(1)).mean().unwrap();
        assert!(
            mean_row_sum.abs() < 0.05 * mean_abs,
            "{mean_row_sum} vs {mean_abs}"
        );
    }

    #[test]
    fn dann_parts_are_non_negative_and_its_columns_centre_on_zero() {
        let d = dann(100, dann_interneurons(100), &mut rng());
        assert_eq!(d.w_ei.dim(), (100, 10));
        assert!(d
            .w_ee
            .iter()
            .chain(&d.w_ei)
            .chain(&d.w_ie)
            .all(|&v| v >= 0.0));
        for row in d.w_ei.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        let w = d.effective();
        for col in w.columns() {
            assert!(col.mean().unwrap().abs() < 1e-12);
        }
    }

    #[test]
    fn standard_draws_stay_within_the_bound() {
        let w = standard(100, &mut rng());
        assert!(w.iter().all(|&v| v.abs() <= 0.1));
        assert!(w.iter().any(|&v| v < -0.09) && w.iter().any(|&v| v > 0.09));
    }

    #[test]
    fn a_transplant_has_one_matrix_s_singular_vectors_and_the_other_s_singular_values() {
        let mut r = rng();
        let rnn = standard(40, &mut r);
        let c = colei(40, 0.1, 1.5, &mut r).unwrap();
        let t = spectrum_transplant(&rnn, &c).unwrap();
        let sv = |w: &Array2<f64>| crate::linalg::singular_values(&w.mapv(|v| v as f32)).unwrap();
        for (a, b) in sv(&t).iter().zip(sv(&c)) {
            assert!((a - b).abs() < 1e-4 * b.max(1.0), "{a} against {b}");
        }
        // Transplanting a matrix's own spectrum gives the matrix back.
        let same = spectrum_transplant(&rnn, &rnn).unwrap();
        let err = (&same - &rnn).iter().fold(0f64, |m, v| m.max(v.abs()));
        assert!(err < 1e-10, "{err}");
        // ColEI's singular values are dispersed, the standard matrix's are not: the transplant's
        // normalised SVD entropy is ColEI's.
        let h = |w: &Array2<f64>| crate::linalg::normalised_svd_entropy(&sv(w));
        assert!((h(&t) - h(&c)).abs() < 1e-6 && h(&c) < h(&rnn));
    }

    #[test]
    fn a_low_rank_start_has_its_rank_and_the_full_matrix_s_norm() {
        let w = low_rank(30, 3, 1.25, &mut rng()).unwrap();
        let full = low_rank(30, 30, 1.25, &mut rng()).unwrap();
        let sv = crate::linalg::singular_values(&w.mapv(|v| v as f32)).unwrap();
        assert!(sv[2] > 0.1 && sv[3] < 1e-5 * sv[0], "{:?}", &sv[..5]);
        let norm = |a: &Array2<f64>| a.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm(&w) - norm(&full)).abs() < 1e-9 * norm(&full));
        // Full rank keeps the draw: its norm is near 1.25 · √n.
        assert!((norm(&full) / (1.25 * 30f64.sqrt()) - 1.0).abs() < 0.1);
    }
}
