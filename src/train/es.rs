//! A gradient-estimating evolution strategy (`training.gradient: es`), forward passes only:
//!
//! ```text
//! ε_k ~ N(0, I) over every trainable parameter, k = 1..K   (antithetic pairs: θ ± σ ε_k)
//! L±_k = loss(θ ± σ ε_k)                                     (in parallel over perturbations)
//! u = centred ranks of the 2K losses, in [−½, ½]              (fitness shaping: only the order counts)
//! ĝ = Σ_k (u+_k − u−_k) ε_k / (2Kσ)                          (points uphill in the loss, like ∇L)
//! ```
//!
//! `ĝ` goes to the configured optimiser in place of the backpropagated gradient, and Dale's
//! projection and the mask follow as after any step. The recurrent perturbations are masked, so no
//! pruned connection is ever tried. Because only losses are needed, the perturbations can be ranked
//! by a loss backpropagation cannot use: `training.es.loss: events` ranks them by how many frames
//! × traces the prediction puts on the wrong side of an event threshold.

use crate::config::EsLoss;
use crate::error::Result;
use crate::model::{Params, Rnn};
use candle_core::{backprop::GradStore, Tensor, Var};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Centred ranks of `values`: the smallest gets −½, the largest +½ (ties keep their order).
pub fn centred_ranks(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut u = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        u[i] = if n > 1 {
            rank as f64 / (n - 1) as f64 - 0.5
        } else {
            0.0
        };
    }
    u
}

/// What one estimate needs: antithetic `pairs`, scale `sigma`, and the seed of its perturbations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EsSpec {
    /// Antithetic pairs (half the configured population).
    pub pairs: usize,
    /// Perturbation scale σ.
    pub sigma: f64,
    /// Seed of this step's perturbations (the run's seed mixed with the step number).
    pub seed: u64,
    /// What the perturbations are ranked by.
    pub loss: crate::config::EsLoss,
    /// `loss: events`: the event threshold.
    pub level: f64,
}

/// The fields of `p` in a fixed order, so that a copy's fields line up with the original's.
fn fields(p: &Params) -> [&Var; 9] {
    [
        &p.w_rec,
        &p.w_in,
        &p.b,
        &p.gain,
        &p.offset,
        &p.x0,
        &p.calcium_log_tau,
        &p.log_tau,
        &p.latent,
    ]
}

/// The evolution strategy's estimate of the gradient of `rnn`'s training loss at `params` on the
/// batch `y [T, batch, n_rec]`, `u [T, batch, n_inputs]` (with `noise`, as the loss sees it), for
/// the variables in `trainable` (the optimiser's); `mask [n, n]` keeps pruned connections out of
/// the perturbations of `W_rec`.
#[allow(clippy::too_many_arguments)]
pub fn gradient(
    rnn: &Rnn,
    params: &Params,
    trainable: &[Var],
    y: &Tensor,
    u: &Tensor,
    noise: Option<&Tensor>,
    mask: &Tensor,
    spec: EsSpec,
) -> Result<GradStore> {
    let ids: Vec<_> = trainable.iter().map(|v| v.as_tensor().id()).collect();
    let perturbed: Vec<usize> = fields(params)
        .iter()
        .enumerate()
        .filter(|(_, v)| ids.contains(&v.as_tensor().id()) && v.elem_count() > 0)
        .map(|(k, _)| k)
        .collect();
    let base: Vec<Tensor> = fields(params)
        .iter()
        .map(|v| v.as_tensor().detach())
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
    let draws: Vec<Vec<Tensor>> = (0..spec.pairs)
        .map(|_| {
            perturbed
                .iter()
                .map(|&k| {
                    let b = &base[k];
                    let data: Vec<f32> = (0..b.elem_count())
                        .map(|_| StandardNormal.sample(&mut rng))
                        .collect();
                    let eps = Tensor::from_vec(data, b.shape(), b.device())?;
                    Ok(if k == 0 { eps.mul(mask)? } else { eps })
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let losses: Vec<f64> = (0..2 * spec.pairs)
        .into_par_iter()
        .map(|j| {
            let scale = if j % 2 == 0 { spec.sigma } else { -spec.sigma };
            let copy = params.snapshot()?;
            for (e, &k) in perturbed.iter().enumerate() {
                fields(&copy)[k].set(&(&base[k] + (&draws[j / 2][e] * scale)?)?)?;
            }
            let l = match spec.loss {
                EsLoss::Mse => f64::from(rnn.loss_with(&copy, y, u, noise)?.to_scalar::<f32>()?),
                EsLoss::Events => rnn.events_mismatch(&copy, y, u, noise, spec.level)?,
            };
            // A perturbation that blows up is the worst, not a failure.
            Ok(if l.is_finite() { l } else { f64::INFINITY })
        })
        .collect::<Result<_>>()?;
    let ranks = centred_ranks(&losses);
    let mut grads = GradStore::default();
    for (e, &k) in perturbed.iter().enumerate() {
        let mut g = base[k].zeros_like()?;
        for (p, eps) in draws.iter().enumerate() {
            let w = (ranks[2 * p] - ranks[2 * p + 1]) / (2.0 * spec.pairs as f64 * spec.sigma);
            g = (g + (&eps[e] * w)?)?;
        }
        grads.insert(fields(params)[k].as_tensor(), g);
    }
    Ok(grads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_ranks_span_minus_a_half_to_a_half_in_order() {
        let u = centred_ranks(&[3.0, -1.0, 10.0, 0.5]);
        for (a, b) in u.iter().zip([1.0 / 6.0, -0.5, 0.5, -1.0 / 6.0]) {
            assert!((a - b).abs() < 1e-12, "{u:?}");
        }
        assert_eq!(centred_ranks(&[2.0]), vec![0.0]);
    }
}
