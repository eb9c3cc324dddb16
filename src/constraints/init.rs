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
    scaled_to_radius(w, rho)
}

/// Li, Cornford et al. 2023's ColEI initialisation under the recording's signs: magnitudes
/// `Exp(σ_E)` on excitatory and `Exp(σ_I)` on inhibitory columns with
/// `σ_E = √(1 / ((2π − 1)/(2π) · (n_E + n_E²/n_I)))` and `σ_I = (n_E/n_I) σ_E` (so that a unit's
/// expected excitatory and inhibitory input balance in the full network), times `support` (0/1),
/// a zero diagonal, and the whole matrix scaled to spectral radius `rho`. With only one sign
/// present every column takes `σ_E` computed as if `n_I` were 1.
pub fn colei_dale<R: Rng>(
    signs: &[Sign],
    support: &Array2<f32>,
    rho: f64,
    rng: &mut R,
) -> crate::error::Result<Array2<f32>> {
    let n = signs.len();
    let n_i = signs.iter().filter(|s| **s == Sign::I).count();
    let (sigma_e, sigma_i) = super::architectures::colei_scales(n - n_i, n_i);
    let w = Array2::from_shape_fn((n, n), |(i, j)| {
        let sigma = match signs[j] {
            Sign::E => sigma_e,
            Sign::I => sigma_i,
        };
        // Exponential by inversion: −σ ln(1 − U).
        let magnitude = -sigma * (1.0 - rng.random::<f64>()).ln();
        if i == j {
            0.0
        } else {
            signs[j].value() * magnitude as f32
        }
    }) * support;
    scaled_to_radius(w, rho)
}

/// `w` scaled so that its largest |eigenvalue| is `rho` (unchanged without a non-zero one).
fn scaled_to_radius(mut w: Array2<f32>, rho: f64) -> crate::error::Result<Array2<f32>> {
    let r = crate::linalg::spectral_radius(&w)?;
    if r > 0.0 {
        w.mapv_inplace(|v| (v as f64 * rho / r) as f32);
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn colei_start_balances_its_columns_and_keeps_signs_diagonal_and_radius() {
        // 160 excitatory and 40 inhibitory units, interleaved as a recording's are.
        let signs: Vec<Sign> = (0..200)
            .map(|k| if k % 5 == 2 { Sign::I } else { Sign::E })
            .collect();
        let support = Array2::<f32>::ones((200, 200));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let w = colei_dale(&signs, &support, 1.5, &mut rng).unwrap();
        assert!(w.diag().iter().all(|v| *v == 0.0));
        assert_eq!(crate::constraints::sign_violations(&w, &signs), 0);
        let radius = crate::linalg::spectral_radius(&w).unwrap();
        assert!((radius - 1.5).abs() < 1e-4, "{radius}");
        // Each unit's summed excitatory and inhibitory input balance in expectation
        // (σ_I = (n_E / n_I) σ_E): over all rows, within a few per cent.
        let (mut e, mut i) = (0.0f64, 0.0f64);
        for ((_, j), v) in w.indexed_iter() {
            match signs[j] {
                Sign::E => e += f64::from(*v),
                Sign::I => i -= f64::from(*v),
            }
        }
        assert!((e / i - 1.0).abs() < 0.05, "E {e} against I {i}");
    }
}
