//! The linearised dynamics of a fitted network around its mean state (design §8):
//! `J = (1 − α) I + α W_rec diag(φ'(x*))`, i.e. `J[i, j] = (1 − α_i) δ_ij + α_i W[i, j] φ'(x*_j)`
//! (`W[post, pre]`), where `x*` is the state averaged over a free-running simulation. Its
//! eigenvalues tell whether small perturbations of that state grow (|λ| > 1) or decay.

use crate::model::Activation;
use ndarray::{Array2, ArrayView2, Axis};

/// The mean state `x*` `[n]` of `states` `[samples, n]`.
pub fn mean_state(states: ArrayView2<f32>) -> Vec<f32> {
    states
        .mean_axis(Axis(0))
        .map(|m| m.to_vec())
        .unwrap_or_else(|| vec![0.0; states.ncols()])
}

/// The Jacobian `[n, n]` of one update `x(t) → x(t+1)` at the state `x_star` `[n]`, for leaks
/// `alpha` `[n]` and recurrent weights `w` (`W[post, pre]`).
pub fn jacobian(w: &Array2<f32>, alpha: &[f32], x_star: &[f32], a: Activation) -> Array2<f32> {
    let d: Vec<f32> = x_star.iter().map(|&x| a.phi_prime_of_state(x)).collect();
    let mut j = Array2::from_shape_fn(w.dim(), |(i, k)| alpha[i] * w[[i, k]] * d[k]);
    for i in 0..j.nrows() {
        j[[i, i]] += 1.0 - alpha[i];
    }
    j
}

/// The fraction of units whose gain `φ'(x(t))`, averaged over `states` `[samples, n]`, is below
/// 0.05: units that sit flat (silent relu units, saturated tanh units) and pass almost no signal
/// or gradient.
pub fn saturated_fraction(states: ArrayView2<f32>, a: Activation) -> f64 {
    let (samples, n) = states.dim();
    if samples == 0 || n == 0 {
        return 0.0;
    }
    let flat = states
        .axis_iter(Axis(1))
        .filter(|col| {
            col.iter()
                .map(|&x| a.phi_prime_of_state(x) as f64)
                .sum::<f64>()
                / (samples as f64)
                < 0.05
        })
        .count();
    flat as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        let phi = |x: f32, a| match a {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::TanhRelu => x.tanh().max(0.0),
            Activation::Softplus => (1.0 + x.exp()).ln(),
        };
        for a in [
            Activation::Relu,
            Activation::Tanh,
            Activation::TanhRelu,
            Activation::Softplus,
        ] {
            for x in [-1.3f32, -0.2, 0.4, 2.1] {
                let h = 1e-3;
                let fd = (phi(x + h, a) - phi(x - h, a)) / (2.0 * h);
                assert!((fd - a.phi_prime_of_state(x)).abs() < 1e-3, "{a:?} at {x}");
            }
        }
    }

    #[test]
    fn jacobian_of_a_linear_region_is_the_leaky_update() {
        // relu units all active: J = (1 − α) I + α W.
        let w = ndarray::array![[0.0f32, 0.5], [-0.3, 0.2]];
        let j = jacobian(&w, &[0.5, 0.25], &[1.0, 2.0], Activation::Relu);
        let expected = ndarray::array![[0.5f32, 0.25], [-0.075, 0.8]];
        assert!((j - expected).iter().all(|d| d.abs() < 1e-7));
        // A silent presynaptic unit removes its column but keeps the leak.
        let j = jacobian(&w, &[0.5, 0.25], &[1.0, -2.0], Activation::Relu);
        assert_eq!(j[[0, 1]], 0.0);
        assert_eq!(j[[1, 1]], 0.75);
    }

    #[test]
    fn saturated_units_are_counted() {
        let states = ndarray::array![[1.0f32, -1.0, 5.0], [2.0, -3.0, 6.0]];
        assert_eq!(
            saturated_fraction(states.view(), Activation::Relu),
            1.0 / 3.0
        );
        assert_eq!(
            saturated_fraction(states.view(), Activation::Tanh),
            1.0 / 3.0
        );
    }
}
