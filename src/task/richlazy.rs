//! How much a trained network changed from its start: Liu et al. 2024's "network change" metrics
//! (`Helena-Yuhan-Liu/BioRNN_RichLazy`), on a fixed probe set of test examples:
//!
//! - **weight change**: `‖W_f − W_0‖_F` of the recurrent weights (and relative to `‖W_0‖_F`);
//! - **representation alignment**: `K = H Hᵀ` over probe trials, `H` the rates at the last step;
//!   `RA = ⟨K_0, K_f⟩_F / (‖K_0‖ ‖K_f‖)`;
//! - **tangent-kernel alignment**: the empirical tangent kernel restricted to the recurrent
//!   weights, `K(a, b) = ⟨∂f_a/∂W, ∂f_b/∂W⟩` over every scored (step, trial, output) entry `f`;
//!   `KA` as `RA`;
//! - **sign similarity**: the fraction of last-step rates whose sign is unchanged.
//!
//! Higher alignments and a smaller weight change mean lazier learning.

use super::model::{tensor3, TaskNet};
use super::tasks::TaskData;
use crate::error::Result;
use candle_core::{Device, Tensor};
use ndarray::Array2;

/// The metrics, by name, in the order of the module's list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkChange {
    /// `‖W_f − W_0‖_F`.
    pub weight_change: f64,
    /// `‖W_f − W_0‖_F / ‖W_0‖_F`.
    pub weight_change_relative: f64,
    /// Representation alignment.
    pub representation_alignment: f64,
    /// Tangent-kernel alignment.
    pub tangent_kernel_alignment: f64,
    /// Fraction of probe rates whose sign did not change.
    pub sign_similarity: f64,
}

impl NetworkChange {
    /// `(name, value)` pairs, for tables.
    pub fn named(&self) -> [(&'static str, f64); 5] {
        [
            ("weight_change", self.weight_change),
            ("weight_change_relative", self.weight_change_relative),
            ("representation_alignment", self.representation_alignment),
            ("tangent_kernel_alignment", self.tangent_kernel_alignment),
            ("sign_similarity", self.sign_similarity),
        ]
    }
}

/// `⟨a, b⟩_F / (‖a‖ ‖b‖)`.
fn alignment(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let dot: f64 = a.iter().zip(b.iter()).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb).max(f64::MIN_POSITIVE)
}

/// Rates at the last step of the probe, `[trials, n]`.
fn last_rates(net: &TaskNet, x: &Tensor, from: usize) -> Result<Array2<f64>> {
    let (_, rate) = net.run(&net.w()?.detach(), x, from)?;
    Ok(crate::model::to_array2(&rate)?.mapv(f64::from))
}

/// The empirical tangent kernel of `net` over the recurrent weights, `[entries, entries]`.
fn tangent_kernel(net: &TaskNet, x: &Tensor, from: usize) -> Result<Array2<f64>> {
    let w = candle_core::Var::from_tensor(&net.w()?.detach())?;
    let (out, _) = net.run(w.as_tensor(), x, from)?;
    let flat = out.flatten_all()?;
    let entries = flat.elem_count();
    let mut jac: Vec<Vec<f32>> = Vec::with_capacity(entries);
    for e in 0..entries {
        let grads = flat.get(e)?.backward()?;
        let g = match grads.get(w.as_tensor()) {
            Some(g) => g.flatten_all()?.to_vec1::<f32>()?,
            None => vec![0.0; w.elem_count()],
        };
        jac.push(g);
    }
    Ok(Array2::from_shape_fn((entries, entries), |(a, b)| {
        jac[a]
            .iter()
            .zip(&jac[b])
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum()
    }))
}

/// The change from `initial` to `trained` on the first `trials` examples of `probe`.
pub fn network_change(
    initial: &TaskNet,
    trained: &TaskNet,
    probe: &TaskData,
    trials: usize,
    device: &Device,
) -> Result<NetworkChange> {
    let idx: Vec<usize> = (0..trials.min(probe.len())).collect();
    let (x, _) = probe.batch(&idx);
    let x = tensor3(&x, device)?;
    let from = probe.scored_from;
    let w0 = crate::model::to_array2(&initial.w()?)?.mapv(f64::from);
    let wf = crate::model::to_array2(&trained.w()?)?.mapv(f64::from);
    let norm = |a: &Array2<f64>| a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let change = norm(&(&wf - &w0));
    let (h0, hf) = (
        last_rates(initial, &x, from)?,
        last_rates(trained, &x, from)?,
    );
    let kernel = |h: &Array2<f64>| h.dot(&h.t());
    let same_sign = h0
        .iter()
        .zip(hf.iter())
        .filter(|(a, b)| a.signum() == b.signum() && (**a == 0.0) == (**b == 0.0))
        .count();
    Ok(NetworkChange {
        weight_change: change,
        weight_change_relative: change / norm(&w0).max(f64::MIN_POSITIVE),
        representation_alignment: alignment(&kernel(&h0), &kernel(&hf)),
        tangent_kernel_alignment: alignment(
            &tangent_kernel(initial, &x, from)?,
            &tangent_kernel(trained, &x, from)?,
        ),
        sign_similarity: same_sign as f64 / h0.len().max(1) as f64,
    })
}
