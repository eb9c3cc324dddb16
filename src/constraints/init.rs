//! Initial recurrent weights `W[post, pre]` under Dale's law.

use crate::data::Sign;
use ndarray::Array2;
use rand::Rng;

/// Balwani et al. 2025's initialisation: `W[:, j] ~ U(0, 1/√N)` for excitatory columns and
/// `U(−1/√N, 0)` for inhibitory ones, times `support` (0/1).
pub fn uniform_dale<R: Rng>(signs: &[Sign], support: &Array2<f32>, rng: &mut R) -> Array2<f32> {
    let n = signs.len();
    let bound = 1.0 / (n as f64).sqrt();
    Array2::from_shape_fn((n, n), |(_, j)| {
        signs[j].value() * (rng.random::<f64>() * bound) as f32
    }) * support
}

/// Balanced E/I initialisation: magnitudes `U(0, 1)` on `support`, inhibitory columns scaled per
/// post unit so that each unit's expected excitatory and inhibitory input cancel
/// (`Σ_E E|w| = Σ_I E|w|` row by row), then the whole matrix scaled to spectral radius `rho`.
/// Rows with only one kind of input keep their magnitudes.
pub fn balanced_dale<R: Rng>(
    signs: &[Sign],
    support: &Array2<f32>,
    rho: f64,
    rng: &mut R,
) -> crate::error::Result<Array2<f32>> {
    let n = signs.len();
    let mut w = Array2::from_shape_fn((n, n), |_| rng.random::<f64>() as f32) * support;
    for i in 0..n {
        let (mut e, mut inh) = (0.0f64, 0.0f64);
        for j in 0..n {
            if support[[i, j]] != 0.0 {
                match signs[j] {
                    Sign::E => e += 0.5,
                    Sign::I => inh += 0.5,
                }
            }
        }
        let ratio = if inh > 0.0 && e > 0.0 {
            (e / inh) as f32
        } else {
            1.0
        };
        for j in 0..n {
            w[[i, j]] *= signs[j].value() * if signs[j] == Sign::I { ratio } else { 1.0 };
        }
    }
    let r = crate::linalg::spectral_radius(&w)?;
    if r > 0.0 {
        w.mapv_inplace(|v| (v as f64 * rho / r) as f32);
    }
    Ok(w)
}
