//! Fitting the RNN to a [`Dataset`]: phases dense → prune → fine-tune, Dale's backprop (projection
//! after every optimiser step), invariant checks after every step, early stopping with the best
//! checkpoint kept, and evaluation on both splits.

mod checkpoint;
pub mod metrics;
pub mod optim;
mod setup;

use crate::config::{Config, Dale, MaskRealisation, ModelMode, Readout, Schedule};
use crate::constraints::prune::{prune_mask, PruneMethod};
use crate::dataset::{Dataset, Window};
use crate::error::{Error, Result};
use crate::model::{Activation, Drive, InitialState, Params, Rnn};
use candle_core::{Device, Tensor, Var};
pub use checkpoint::FitState;
use ndarray::Array2;
pub use optim::{Optim, OptimConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
pub use setup::Setup;

/// One row of `history.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// `dense` or `finetune`.
    pub phase: String,
    /// Epoch within the phase (from 1).
    pub epoch: usize,
    /// Optimiser steps so far in the phase.
    pub step: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Free-running validation loss (NaN when there is no validation data).
    pub val_loss: f64,
    /// Learning rate used in the epoch.
    pub lr: f64,
    /// Wall time of the epoch, s.
    pub seconds: f64,
}

/// Everything a fit produces.
#[derive(Debug, Clone)]
pub struct FitOutput {
    /// The set-up (units, signs, blocks) the fit used.
    pub setup: Setup,
    /// Initial recurrent weights `W[post, pre]`.
    pub w_init: Array2<f32>,
    /// Parameters after the dense phase (best checkpoint), if it ran.
    pub dense: Option<ParamsCpu>,
    /// Final parameters (best checkpoint of the last phase).
    pub fin: ParamsCpu,
    /// Final connectivity mask (0/1), `[n, n]`.
    pub mask: Array2<f32>,
    /// Per-epoch history.
    pub history: Vec<HistoryRow>,
    /// Wall time per phase, s.
    pub phase_seconds: Vec<(String, f64)>,
}

/// Parameters copied to the CPU as plain arrays (shapes as in [`Params`]).
#[derive(Debug, Clone)]
pub struct ParamsCpu {
    /// `W[post, pre]`, `[n, n]`.
    pub w_rec: Array2<f32>,
    /// `[n, n_inputs]`.
    pub w_in: Array2<f32>,
    /// `[n]`.
    pub b: Vec<f32>,
    /// `[n_rec]`.
    pub gain: Vec<f32>,
    /// `[n_rec]`.
    pub offset: Vec<f32>,
    /// `[n]`, the learned initial state (zeros unless `initial_state: learned`).
    pub x0: Vec<f32>,
    /// `[n_groups]`, `ln τ_decay` (ms) of the calcium observation per cell type; empty for rates.
    pub calcium_log_tau: Vec<f32>,
}

fn to_array2(t: &Tensor) -> Result<Array2<f32>> {
    let (r, c) = t.dims2()?;
    let v = t.flatten_all().and_then(|t| t.to_vec1::<f32>())?;
    Ok(Array2::from_shape_vec((r, c), v).expect("shape matches"))
}

fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(Error::from)
}

impl ParamsCpu {
    /// Copy `p` to the CPU.
    pub fn from_params(p: &Params) -> Result<Self> {
        Ok(ParamsCpu {
            w_rec: to_array2(p.w_rec.as_tensor())?,
            w_in: to_array2(p.w_in.as_tensor())?,
            b: to_vec(p.b.as_tensor())?,
            gain: to_vec(p.gain.as_tensor())?,
            offset: to_vec(p.offset.as_tensor())?,
            x0: to_vec(p.x0.as_tensor())?,
            calcium_log_tau: to_vec(p.calcium_log_tau.as_tensor())?,
        })
    }

    /// Upload to `device` as trainable variables.
    pub fn to_params(&self, device: &Device) -> Result<Params> {
        let m = |a: &Array2<f32>| {
            Tensor::from_slice(a.as_slice().expect("standard layout"), a.dim(), device)
                .and_then(|t| Var::from_tensor(&t))
        };
        let v = |x: &Vec<f32>| {
            Tensor::from_slice(x, (1, x.len()), device).and_then(|t| Var::from_tensor(&t))
        };
        Ok(Params {
            w_rec: m(&self.w_rec)?,
            w_in: m(&self.w_in)?,
            b: v(&self.b)?,
            gain: v(&self.gain)?,
            offset: v(&self.offset)?,
            x0: v(&self.x0)?,
            calcium_log_tau: v(&self.calcium_log_tau)?,
        })
    }
}

/// Windows stacked as `[T, batch, channels]` tensors on `device`.
pub fn batch_tensors(
    ds: &Dataset,
    windows: &[Window],
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let t_len = windows[0].len;
    let (n, d) = (ds.y.ncols(), ds.u.ncols());
    let mut y: Vec<f32> = Vec::with_capacity(t_len * windows.len() * n);
    let mut u: Vec<f32> = Vec::with_capacity(t_len * windows.len() * d);
    for t in 0..t_len {
        for w in windows {
            y.extend(ds.y.row(w.start + t).iter());
            u.extend(ds.u.row(w.start + t).iter());
        }
    }
    let yt = Tensor::from_vec(y, (t_len, windows.len(), n), device)?;
    let ut = Tensor::from_vec(u, (t_len, windows.len(), d), device)?;
    Ok((yt, ut))
}

/// Free-running loss over `windows` (no parameter update).
fn eval_loss(
    rnn: &Rnn,
    p: &Params,
    ds: &Dataset,
    windows: &[Window],
    device: &Device,
) -> Result<f64> {
    if windows.is_empty() {
        return Ok(f64::NAN);
    }
    let (y, u) = batch_tensors(ds, windows, device)?;
    let l = rnn.loss(p, &y.detach(), &u.detach())?;
    l.to_scalar::<f32>().map(|v| v as f64).map_err(Error::from)
}

/// A fresh optimiser for `params` as the config asks (EG acts on `W_rec`, the first variable).
pub fn new_optimiser(cfg: &Config, params: &Params) -> Result<Optim> {
    let t = &cfg.training;
    let vars = params.trainable(
        cfg.model.bias,
        cfg.model.mode != ModelMode::Populations || cfg.model.readout == Readout::Mean,
        cfg.model.initial_state == InitialState::Learned,
    );
    let eg = (0..vars.len()).map(|k| k == 0).collect();
    Optim::new(
        OptimConfig {
            kind: t.optimiser,
            lr: t.lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: t.weight_decay,
            momentum: t.momentum,
        },
        vars,
        eg,
    )
}

/// Learning rate for `epoch` (0-based) of a phase; PyTorch's StepLR and CosineAnnealingLR (which
/// keeps following the cosine past `t_max`, rising again).
fn lr_at(cfg: &Config, epoch: usize) -> f64 {
    let lr = cfg.training.lr;
    match &cfg.training.schedule {
        Schedule::Constant => lr,
        Schedule::Step { step_size, gamma } => lr * gamma.powi((epoch / step_size) as i32),
        Schedule::Cosine { t_max, eta_min } => {
            eta_min
                + (lr - eta_min)
                    * (1.0 + (std::f64::consts::PI * epoch as f64 / *t_max as f64).cos())
                    / 2.0
        }
    }
}

/// How a training step gets its gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backward {
    /// Hand-written backpropagation through time ([`Rnn::loss_and_grads_masked`]): what the
    /// trainer uses; sparse recurrent products on the CPU when the mask is sparse.
    Bptt,
    /// The same with dense products whatever the mask.
    BpttDense,
    /// candle's autograd on [`Rnn::loss_with`]: the slow reference the tests compare against.
    Autograd,
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
    };
    if let Some(clip) = grad_clip {
        clip_gradients(&mut grads, &opt.vars, clip)?;
    }
    opt.step(&grads)?;
    project(params, sign_row, dale, mask)?;
    Ok(lv)
}

/// After an optimiser step: Dale's projection and the mask on `W_rec`, gain ≥ 0.
fn project(p: &Params, sign_row: &Tensor, dale: Dale, mask: &Tensor) -> Result<()> {
    let w = p.w_rec.as_tensor();
    let w = match dale {
        Dale::Projection => crate::constraints::project_dale_tensor(w, sign_row, Some(mask)),
        Dale::None => w.mul(mask),
    }?;
    p.w_rec.set(&w)?;
    let g = p.gain.as_tensor().relu()?;
    p.gain.set(&g).map_err(Error::from)
}

/// The invariants promised after every step. A non-finite loss or `W_rec` is a divergence (a
/// setting to change, named with the learning rate `lr`); a weight against Dale's law or outside
/// the mask after the projection is a bug in fitrnn.
fn check_invariants(
    p: &Params,
    s: &Setup,
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
        return diverged(format!("the training loss became {loss}"), fix);
    }
    let w = p.w_rec.as_tensor();
    let scalar = |t: candle_core::Result<Tensor>| -> Result<f64> {
        Ok(t.and_then(|t| t.to_dtype(candle_core::DType::F64))
            .and_then(|t| t.to_scalar::<f64>())?)
    };
    let nonfinite = scalar(w.sqr().and_then(|t| t.sum_all()))?;
    if !nonfinite.is_finite() {
        return diverged(
            "W_rec holds NaN or Inf".into(),
            "lower training.lr, or set training.grad_clip",
        );
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

/// Private noise for one batch, `[T, batch, n]`, scaled by `α · noise_std` per unit and drawn on the
/// CPU from the run's random stream (so runs are reproducible on every device); `None` without noise.
fn training_noise(
    cfg: &Config,
    setup: &Setup,
    t_len: usize,
    batch: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<Option<Tensor>> {
    let sigma = cfg.model.noise_std;
    if sigma <= 0.0 {
        return Ok(None);
    }
    use rand_distr::{Distribution, StandardNormal};
    let alpha = setup
        .rnn
        .alpha
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

/// The phases, in order, with their epoch counts.
fn phases(cfg: &Config) -> [(&'static str, usize); 2] {
    [
        ("dense", cfg.training.dense_epochs),
        ("finetune", cfg.training.finetune_epochs),
    ]
}

/// Fit the model described by `cfg` to `ds` on `device`, from scratch or from `resume`.
/// `on_epoch` is called after every epoch (for progress display) with the phase, epoch, epochs in
/// the phase and the history row; `on_checkpoint` after every epoch and at every phase end with
/// the state to save (an error from it stops the fit). Resuming from any saved state ends with the
/// same weights as an uninterrupted fit.
pub fn fit(
    cfg: &Config,
    ds: &Dataset,
    device: &Device,
    resume: Option<FitState>,
    mut on_epoch: impl FnMut(&str, usize, usize, &HistoryRow),
    mut on_checkpoint: impl FnMut(&FitState) -> Result<()>,
) -> Result<FitOutput> {
    let setup = Setup::new(cfg, ds, device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut st = match resume {
        Some(st) => {
            rng.set_word_pos(st.rng_word_pos);
            st
        }
        None => {
            let (mask, w_init, params) = setup.initial(cfg, &mut rng)?;
            FitState::fresh(params, mask, w_init, ds.train_windows.len())
        }
    };
    let params = st.params.to_params(device)?;
    let rnn = setup.rnn.clone();
    let dale = cfg.constraints.dale;
    let realisation = cfg.constraints.mask.realisation;
    let all_phases = phases(cfg);
    while st.phase < all_phases.len() {
        let (phase, epochs) = all_phases[st.phase];
        let start = std::time::Instant::now();
        let base_seconds = st.seconds_of(phase);
        let mut opt = new_optimiser(cfg, &params)?;
        if !st.started {
            if phase == "finetune"
                && matches!(
                    realisation,
                    MaskRealisation::Topprob | MaskRealisation::Random
                )
            {
                let method = if realisation == MaskRealisation::Topprob {
                    PruneMethod::TopProb
                } else {
                    PruneMethod::Random
                };
                let blocks = setup
                    .blocks
                    .as_ref()
                    .expect("validated: a mask realisation needs a table");
                let w = to_array2(params.w_rec.as_tensor())?;
                st.mask = prune_mask(&w, blocks, method, &mut rng);
            }
            st.started = true;
        } else {
            st.restore_optimiser(&mut opt, device)?;
        }
        let mask_t = Tensor::from_slice(
            st.mask.as_slice().expect("standard layout"),
            st.mask.dim(),
            device,
        )?;
        project(&params, &setup.sign_row, dale, &mask_t)?;
        while st.epoch < epochs && !st.stopped {
            let t0 = std::time::Instant::now();
            let lr = lr_at(cfg, st.epoch);
            opt.cfg.lr = lr;
            st.order.shuffle(&mut rng);
            let mut losses = Vec::new();
            for chunk in st.order.chunks(cfg.training.batch_size) {
                let wins: Vec<Window> = chunk.iter().map(|&i| ds.train_windows[i]).collect();
                let (y, u) = batch_tensors(ds, &wins, device)?;
                let noise = training_noise(cfg, &setup, y.dim(0)?, wins.len(), &mut rng, device)?;
                let lv = train_step(
                    &rnn,
                    &params,
                    &mut opt,
                    &y,
                    &u,
                    &setup.sign_row,
                    &mask_t,
                    dale,
                    cfg.training.grad_clip,
                    noise.as_ref(),
                    Backward::Bptt,
                )?;
                st.step += 1;
                let place = format!("phase {phase}, epoch {}, step {}", st.epoch + 1, st.step);
                check_invariants(&params, &setup, dale, &mask_t, lv, lr, &place)?;
                losses.push(lv);
            }
            st.epoch += 1;
            let val_loss = eval_loss(&rnn, &params, ds, &ds.validation_windows, device)?;
            let train_loss = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
            let row = HistoryRow {
                phase: phase.into(),
                epoch: st.epoch,
                step: st.step,
                train_loss,
                val_loss,
                lr,
                seconds: t0.elapsed().as_secs_f64(),
            };
            on_epoch(phase, st.epoch, epochs, &row);
            st.history.push(row);
            // Keep the best checkpoint by validation loss (training loss when nothing is held out).
            let score = if val_loss.is_finite() {
                val_loss
            } else {
                train_loss
            };
            if st.best.as_ref().is_none_or(|(b, _)| score < *b) {
                st.best = Some((score, ParamsCpu::from_params(&params)?));
                st.since_best = 0;
            } else {
                st.since_best += 1;
                st.stopped = cfg.training.patience.is_some_and(|p| st.since_best >= p);
            }
            st.params = ParamsCpu::from_params(&params)?;
            st.save_optimiser(&opt)?;
            st.rng_word_pos = rng.get_word_pos();
            st.set_seconds(phase, base_seconds + start.elapsed().as_secs_f64());
            on_checkpoint(&st)?;
        }
        // Phase end: keep its best checkpoint, then move to the next phase.
        if let Some((_, b)) = st.best.take() {
            let best = b.to_params(device)?;
            params.assign(&best)?;
        }
        st.params = ParamsCpu::from_params(&params)?;
        if phase == "dense" && epochs > 0 {
            st.dense = Some(st.params.clone());
        }
        st.next_phase();
        st.rng_word_pos = rng.get_word_pos();
        on_checkpoint(&st)?;
    }
    Ok(FitOutput {
        setup,
        w_init: st.w_init.clone(),
        dense: st.dense.clone(),
        fin: st.params.clone(),
        mask: st.mask.clone(),
        history: st.history.clone(),
        phase_seconds: st.phase_seconds.clone(),
    })
}

/// Scale all gradients so that their global L2 norm is at most `max_norm`.
fn clip_gradients(
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

/// Predictions and data on `windows` (`[frames, n_rec]` each, frames 1.. of every window in order)
/// with the frame index of each row.
pub fn predict(
    rnn: &Rnn,
    p: &Params,
    ds: &Dataset,
    windows: &[Window],
    drive: Drive,
    device: &Device,
) -> Result<(Array2<f32>, Array2<f32>, Vec<usize>)> {
    let n = ds.y.ncols();
    let mut pred = Vec::new();
    let mut frames = Vec::new();
    for w in windows {
        let (y, u) = batch_tensors(ds, std::slice::from_ref(w), device)?;
        let out = rnn.forward(p, &y, &u, drive)?;
        for (t, o) in out.iter().enumerate() {
            pred.extend(to_vec(o)?);
            frames.push(w.start + t + 1);
        }
    }
    let pred = Array2::from_shape_vec((frames.len(), n), pred).expect("shape");
    let data = ds.y.select(ndarray::Axis(0), &frames);
    Ok((pred, data, frames))
}

/// A free-running simulation of a fitted model on a set of windows, window-major: row
/// `k = window · steps + step` holds the state and rate that drive update `step → step + 1` of
/// that window.
#[derive(Debug, Clone)]
pub struct FreeRun {
    /// States `x(t)`, `[samples, n_units]`.
    pub states: Array2<f32>,
    /// Rates `φ(x(t))`, `[samples, n_units]`.
    pub rates: Array2<f32>,
    /// Window index of each sample (into the windows given), `[samples]`.
    pub window: Vec<u32>,
    /// Recording frame of each sample, `[samples]`.
    pub frame: Vec<u64>,
}

/// Simulate the model with parameters `params` freely on `windows` (states set from each
/// window's first frame as in training, then no data): see [`FreeRun`].
pub fn free_running(
    f: &FitOutput,
    params: &ParamsCpu,
    ds: &Dataset,
    windows: &[Window],
    device: &Device,
) -> Result<FreeRun> {
    let p = params.to_params(device)?;
    let n = f.setup.signs.len();
    let steps = windows
        .first()
        .map(|w| w.len.saturating_sub(1))
        .unwrap_or(0);
    let samples = windows.len() * steps;
    let mut states = Array2::<f32>::zeros((samples, n));
    let mut rates = Array2::<f32>::zeros((samples, n));
    let mut base = 0;
    for chunk in windows.chunks(64) {
        let (y, u) = batch_tensors(ds, chunk, device)?;
        let (xs, rs) = f.setup.rnn.states_and_rates(&p, &y, &u)?;
        for (t, (x, r)) in xs.iter().zip(&rs).enumerate() {
            let x = x.to_vec2::<f32>()?;
            let r = r.to_vec2::<f32>()?;
            for (b, (xb, rb)) in x.iter().zip(&r).enumerate() {
                let row = (base + b) * steps + t;
                states.row_mut(row).assign(&ndarray::ArrayView1::from(xb));
                rates.row_mut(row).assign(&ndarray::ArrayView1::from(rb));
            }
        }
        base += chunk.len();
    }
    let window = (0..samples).map(|k| (k / steps.max(1)) as u32).collect();
    let frame = (0..samples)
        .map(|k| (windows[k / steps.max(1)].start + k % steps.max(1)) as u64)
        .collect();
    Ok(FreeRun {
        states,
        rates,
        window,
        frame,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg_with(schedule: &str) -> Config {
        let text = format!("data: {{path: x.h5}}\ntraining: {{lr: 0.001, schedule: {schedule}}}\n");
        Config::parse(std::path::Path::new("t.yaml"), &text, &[]).unwrap()
    }

    #[test]
    fn schedules_follow_pytorch() {
        let c = cfg_with("{kind: cosine, t_max: 10, eta_min: 0.0001}");
        assert!((lr_at(&c, 0) - 1e-3).abs() < 1e-15);
        assert!((lr_at(&c, 5) - 0.00055).abs() < 1e-12);
        assert!((lr_at(&c, 10) - 1e-4).abs() < 1e-15);
        assert!((lr_at(&c, 20) - 1e-3).abs() < 1e-12, "periodic past t_max");
        let s = cfg_with("{kind: step, step_size: 3, gamma: 0.5}");
        assert_eq!(
            [lr_at(&s, 0), lr_at(&s, 2), lr_at(&s, 3), lr_at(&s, 7)],
            [1e-3, 1e-3, 5e-4, 2.5e-4]
        );
        assert_eq!(lr_at(&cfg_with("{kind: constant}"), 9), 1e-3);
    }
}
