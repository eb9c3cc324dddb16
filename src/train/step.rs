//! One training step (forward, MSE, backward, optional gradient clipping, optimiser update, then
//! Dale's projection and the mask) and the invariants checked after it.

use super::Optim;
use crate::config::Dale;
use crate::error::{Error, Result};
use crate::model::{Activation, Params, Rnn};
use crate::network::Network;
use candle_core::{Device, Tensor, Var};
use rand_chacha::ChaCha8Rng;

/// How a training step gets its gradients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backward {
    /// Hand-written backpropagation through time ([`Rnn::loss_and_grads_masked`]): what the
    /// trainer uses; sparse recurrent products on the CPU when the mask is sparse.
    Bptt,
    /// The same with dense products whatever the mask.
    BpttDense,
    /// candle's autograd on [`Rnn::loss_with`]: the slow reference the tests compare against.
    Autograd,
    /// An evolution strategy's estimate from forward passes alone (`training.gradient: es`).
    Es(super::es::EsSpec),
}

/// One training step on a batch: forward, MSE loss, backward, optional clipping of the global
/// gradient norm, one optimiser step, then Dale's projection and the mask on `W_rec` (gain ≥ 0).
/// `noise` (`[T, batch, n]`, scaled) is private noise added to the state updates, or `None`.
/// `y` is `[T, batch, n_rec]`, `u` `[T, batch, n_inputs]`, `sign_row` `[1, n]`, `mask` `[n, n]`.
/// `backward` chooses how the gradients are computed (the trainer uses [`Backward::Bptt`]).
/// Returns the loss of the forward pass (before the update). The optimiser's moments are never
/// reset by the projection.
#[allow(clippy::too_many_arguments)]
pub fn train_step(
    rnn: &Rnn,
    params: &Params,
    opt: &mut Optim,
    y: &Tensor,
    u: &Tensor,
    sign_row: &Tensor,
    mask: &Tensor,
    dale: Dale,
    grad_clip: Option<f64>,
    noise: Option<&Tensor>,
    backward: Backward,
) -> Result<f64> {
    // The hand-written backward covers the rate readout; the calcium observation uses autograd.
    let backward = if rnn.calcium.is_some() {
        Backward::Autograd
    } else {
        backward
    };
    let (lv, mut grads) = match backward {
        Backward::Bptt | Backward::BpttDense => {
            let dense = backward == Backward::BpttDense;
            let (l, g) = rnn.loss_and_grads_masked(params, y, u, noise, Some(mask), dense)?;
            (l as f64, g)
        }
        Backward::Autograd => {
            let loss = rnn.loss_with(params, y, u, noise)?;
            let l = loss.to_scalar::<f32>()? as f64;
            (l, loss.backward()?)
        }
        Backward::Es(spec) => {
            let l = rnn.loss_with(params, y, u, noise)?.to_scalar::<f32>()? as f64;
            let g = super::es::gradient(rnn, params, &opt.vars, y, u, noise, mask, spec)?;
            (l, g)
        }
    };
    if !matches!(backward, Backward::Es(_)) {
        // The estimate perturbs the knots themselves; backpropagation reaches the drive they make.
        rnn.pass_to_knots(params, u, &mut grads)?;
    }
    if !lv.is_finite() {
        // No update from a non-finite loss: the caller rolls back, and the parameters that gave
        // it stay in place to be diagnosed.
        return Ok(lv);
    }
    if let Some(clip) = grad_clip {
        clip_gradients(&mut grads, &opt.vars, clip)?;
    }
    opt.step(&grads)?;
    project(rnn, params, sign_row, dale, mask)?;
    Ok(lv)
}

/// After an optimiser step: Dale's projection and the mask on `W_rec`, gain ≥ 0, input weights ≥ 0
/// for ColEI, and learned time constants within their bounds.
pub(super) fn project(
    rnn: &Rnn,
    p: &Params,
    sign_row: &Tensor,
    dale: Dale,
    mask: &Tensor,
) -> Result<()> {
    let w = p.w_rec.as_tensor();
    let w = match dale {
        Dale::Projection => crate::constraints::project_dale_tensor(w, sign_row, Some(mask)),
        Dale::None => w.mul(mask),
    }?;
    p.w_rec.set(&w)?;
    let g = p.gain.as_tensor().relu()?;
    p.gain.set(&g)?;
    if let Some(latent) = &rnn.latent {
        // Each inferred channel reaches only the units of its own area.
        p.w_in.set(&p.w_in.as_tensor().mul(&latent.input_mask)?)?;
    }
    if rnn.nonnegative_inputs {
        p.w_in.set(&p.w_in.as_tensor().relu()?)?;
    }
    if let Some(tau) = &rnn.tau {
        let (lo, hi) = tau.bounds_ms();
        let l = p.log_tau.as_tensor().clamp(lo.ln(), hi.ln())?;
        p.log_tau.set(&l)?;
    }
    Ok(())
}

/// The invariants promised after every step. A non-finite loss or `W_rec` is a divergence (a
/// setting to change, named with the learning rate `lr` and diagnosed on the step's `batch`: what
/// left the finite numbers first, and in which units); a weight against Dale's law or outside the
/// mask after the projection is a bug in fitrnn.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_invariants(
    p: &Params,
    s: &Network,
    batch: (&Tensor, &Tensor),
    dale: Dale,
    mask: &Tensor,
    loss: f64,
    lr: f64,
    place: &str,
) -> Result<()> {
    let diverged = |what: String, fix: &str| {
        Err(Error::Diverged {
            place: place.to_string(),
            what,
            lr,
            fix: fix.to_string(),
        })
    };
    if !loss.is_finite() {
        // Unbounded rates (softplus, relu) in units no trace constrains can run away.
        let unbounded = matches!(s.rnn.activation, Activation::Softplus | Activation::Relu);
        let fix = if unbounded && s.rnn.n_units > s.rnn.n_rec && s.rnn.readout.is_none() {
            "hidden units with an unbounded nonlinearity can run away: a smaller training.grad_clip such as 0.1, or model.activation: tanh, keeps them bounded"
        } else {
            "lower training.lr, or set training.grad_clip"
        };
        let (y, u) = batch;
        return diverged(
            format!(
                "the training loss became {loss} ({})",
                diagnose(p, s, y, u)?
            ),
            fix,
        );
    }
    let w = p.w_rec.as_tensor();
    let scalar = |t: candle_core::Result<Tensor>| -> Result<f64> {
        Ok(t.and_then(|t| t.to_dtype(candle_core::DType::F64))
            .and_then(|t| t.to_scalar::<f64>())?)
    };
    let nonfinite = scalar(w.sqr().and_then(|t| t.sum_all()))?;
    if !nonfinite.is_finite() {
        let values = w.flatten_all()?.to_vec1::<f32>()?;
        let n = s.rnn.n_units.max(1);
        let what = match non_finite_units(&values, n, s) {
            Some(at) => format!("W_rec holds NaN or Inf after the update ({at})"),
            None => {
                // Finite, but too large to square: name the largest weight.
                let (k, v) = values
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                    .map(|(k, v)| (k, *v))
                    .unwrap_or((0, 0.0));
                let name = |i: usize| {
                    s.units
                        .units
                        .get(i)
                        .map_or(format!("unit {i}"), |p| format!("unit {i} ({})", p.label()))
                };
                format!(
                    "W_rec's weights overflow after the update (the largest, {v:.1e}, is {}'s input from {})",
                    name(k / n),
                    name(k % n)
                )
            }
        };
        return diverged(what, "lower training.lr, or set training.grad_clip");
    }
    if dale == Dale::Projection {
        let wrong = scalar(
            w.broadcast_mul(&s.sign_row)
                .and_then(|t| t.lt(0f64))
                .and_then(|t| t.to_dtype(candle_core::DType::F32))
                .and_then(|t| t.sum_all()),
        )?;
        if wrong > 0.0 {
            return Err(Error::bug(
                place,
                format!("{wrong} weights break Dale's law after the projection"),
            ));
        }
    }
    let outside = scalar(
        w.mul(&(mask.neg().and_then(|m| m + 1.0))?)
            .and_then(|t| t.abs())
            .and_then(|t| t.sum_all()),
    )?;
    if outside > 0.0 {
        return Err(Error::bug(
            place,
            format!("weights outside the mask after the projection (total |w| {outside})"),
        ));
    }
    Ok(())
}

/// Up to five unit indices of `v` (`[.., n]`, flattened row-major) whose entries are not finite,
/// as `unit i (population)`, and how many entries are.
fn non_finite_units(v: &[f32], n: usize, s: &Network) -> Option<String> {
    let bad: Vec<usize> = v
        .iter()
        .enumerate()
        .filter(|(_, x)| !x.is_finite())
        .map(|(k, _)| k)
        .collect();
    if bad.is_empty() {
        return None;
    }
    let mut units: Vec<usize> = bad.iter().map(|k| k % n.max(1)).collect();
    units.sort_unstable();
    units.dedup();
    let named: Vec<String> = units
        .iter()
        .take(5)
        .map(|&i| match s.units.units.get(i) {
            Some(pop) => format!("unit {i} ({})", pop.label()),
            None => format!("column {i}"),
        })
        .collect();
    Some(format!(
        "{} entries, first in {}{}",
        bad.len(),
        named.join(", "),
        if units.len() > 5 { ", ..." } else { "" }
    ))
}

/// What went non-finite first when the loss of a batch (`y` `[T, batch, n_rec]`, `u` `[T, batch,
/// n_inputs]`) is not finite under the parameters `p`: a parameter tensor, the state the first
/// frame implies, or the first time step at which the network's state left the finite numbers,
/// with the units.
pub(super) fn diagnose(p: &Params, s: &Network, y: &Tensor, u: &Tensor) -> Result<String> {
    let flat = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.flatten_all()?.to_vec1::<f32>()?) };
    for (name, v) in [
        ("W_rec", &p.w_rec),
        ("W_in", &p.w_in),
        ("the bias", &p.b),
        ("the readout gain", &p.gain),
        ("the readout offset", &p.offset),
    ] {
        let n = v.as_tensor().dims().last().copied().unwrap_or(1);
        if let Some(at) = non_finite_units(&flat(v.as_tensor())?, n, s) {
            return Ok(format!("{name} is not finite: {at}"));
        }
    }
    let (states, _) = s.rnn.states_and_rates(p, y, u)?;
    for (t, x) in states.iter().enumerate() {
        if let Some(at) = non_finite_units(&flat(x)?, s.rnn.n_units, s) {
            return Ok(if t == 0 {
                format!("the state the first frame implies is not finite: {at}; a trace at or below its readout offset has no state under a softplus or tanh readout")
            } else {
                format!("the network's state first left the finite numbers at step {t} of a window: {at}")
            });
        }
    }
    Ok("parameters and free-running states are finite; the loss itself overflowed".into())
}

/// Private noise for one batch, `[T, batch, n]`, scaled by `α · noise_std` per unit and drawn on the
/// CPU from the run's random stream (so runs are reproducible on every device); `None` without noise.
pub(super) fn training_noise(
    sigma: f64,
    network: &Network,
    params: &Params,
    t_len: usize,
    batch: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<Option<Tensor>> {
    if sigma <= 0.0 {
        return Ok(None);
    }
    use rand_distr::{Distribution, StandardNormal};
    let alpha = network
        .rnn
        .alpha_of(params)?
        .flatten_all()
        .and_then(|a| a.to_vec1::<f32>())?;
    let n = alpha.len();
    let mut v = Vec::with_capacity(t_len * batch * n);
    for _ in 0..t_len * batch {
        for a in &alpha {
            let z: f64 = StandardNormal.sample(rng);
            v.push((z * sigma) as f32 * a);
        }
    }
    Tensor::from_vec(v, (t_len, batch, n), device)
        .map(Some)
        .map_err(Error::from)
}

/// Scale all gradients so that their global L2 norm is at most `max_norm`.
/// Scale every gradient of `vars` so that their global norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`).
pub fn clip_gradients(
    grads: &mut candle_core::backprop::GradStore,
    vars: &[Var],
    max_norm: f64,
) -> Result<()> {
    let mut total = 0.0;
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            total += g
                .sqr()
                .and_then(|t| t.sum_all())
                .and_then(|t| t.to_scalar::<f32>())? as f64;
        }
    }
    let norm = total.sqrt();
    if norm > max_norm {
        let s = max_norm / norm;
        for v in vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                let scaled = (g * s)?;
                grads.insert(v.as_tensor(), scaled);
            }
        }
    }
    Ok(())
}
