//! A gradient-estimating evolution strategy (`training.optimiser: es`), forward passes only:
//!
//! ```text
//! ε_k ~ N(0, I) over every parameter, k = 1..K          (antithetic pairs: θ ± σ ε_k)
//! L±_k = loss(θ ± σ ε_k)                                  (in parallel over perturbations)
//! u = centred ranks of the 2K losses, in [−½, ½]           (fitness shaping: only the order counts)
//! ĝ = Σ_k (u+_k − u−_k) ε_k / (2Kσ)                       (points uphill in the loss, like ∇L)
//! ```
//!
//! `ĝ` goes to Adam in place of the backpropagated gradient, and the projection follows as after
//! any step. Because only losses are needed, any loss a forward pass computes can be trained,
//! including ones backpropagation cannot use.

use super::model::TaskNet;
use super::tasks::LossKind;
use crate::error::Result;
use crate::train::es::centred_ranks;
use candle_core::{backprop::GradStore, Tensor, Var};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// `net` with every parameter replaced by `base + scale · eps` (fresh variables, so perturbed
/// copies can run side by side).
fn perturbed(net: &TaskNet, base: &[Tensor], eps: &[Tensor], scale: f64) -> Result<TaskNet> {
    let mut copy = net.clone();
    for (k, (_, var)) in copy.params.iter_mut().enumerate() {
        *var = Var::from_tensor(&(&base[k] + (&eps[k] * scale)?)?)?;
    }
    Ok(copy)
}

/// The evolution strategy's estimate of the gradient of the loss of `net` on the batch
/// `x [steps, batch, n_in]`, `y` (scored from `scored.0` by `scored.1`), with `pairs`
/// antithetic pairs at scale `sigma`, the perturbations drawn from `rng`.
#[allow(clippy::too_many_arguments)]
pub fn gradient<R: Rng>(
    net: &TaskNet,
    x: &Tensor,
    y: &Tensor,
    scored: (usize, LossKind),
    pairs: usize,
    sigma: f64,
    rng: &mut R,
) -> Result<GradStore> {
    let base: Vec<Tensor> = net
        .params
        .iter()
        .map(|(_, v)| v.as_tensor().detach())
        .collect();
    let device = x.device().clone();
    let draws: Vec<Vec<Tensor>> = (0..pairs)
        .map(|_| {
            base.iter()
                .map(|b| {
                    let data: Vec<f32> = (0..b.elem_count())
                        .map(|_| StandardNormal.sample(rng))
                        .collect();
                    Ok(Tensor::from_vec(data, b.shape(), &device)?)
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let losses: Vec<f64> = (0..2 * pairs)
        .into_par_iter()
        .map(|j| {
            let sign = if j % 2 == 0 { sigma } else { -sigma };
            let copy = perturbed(net, &base, &draws[j / 2], sign)?;
            let l = copy.loss(x, y, scored.0, scored.1)?.to_scalar::<f32>()?;
            // A perturbation that blows up is the worst, not a failure.
            Ok(if l.is_finite() {
                l as f64
            } else {
                f64::INFINITY
            })
        })
        .collect::<Result<_>>()?;
    let u = centred_ranks(&losses);
    let mut grads = GradStore::default();
    for (k, (_, var)) in net.params.iter().enumerate() {
        let mut g = base[k].zeros_like()?;
        for (p, eps) in draws.iter().enumerate() {
            let w = (u[2 * p] - u[2 * p + 1]) / (2.0 * pairs as f64 * sigma);
            g = (g + (&eps[k] * w)?)?;
        }
        grads.insert(var.as_tensor(), g);
    }
    Ok(grads)
}
