//! The leaky rate RNN fitted to recordings (design §3), one step per frame:
//!
//! ```text
//! x(t+1) = (1 − α) ⊙ x(t) + α ⊙ (W_rec r(t) + W_in u(t) + b)      α = dt / τ per unit
//!                                          (τ fixed, or learned per cell type: [`LearnedTau`])
//! r(t)   = φ(x(t))
//! ŷ_i(t) = g_i · r_i(t) + c_i                                      recorded unit i, g_i ≥ 0
//! ```
//!
//! With the calcium observation model the readout reads the rate through an indicator-like
//! exponential decay, `ĉ_i(t) = β_i ĉ_i(t−1) + (1 − β_i) r_i(t)`, `ŷ_i = g_i ĉ_i + c_i`,
//! `β_i = exp(−dt / τ_decay)` per cell type; gradients then come from candle's autograd.
//!
//! `W_rec` is `W[post, pre]` (`[n_units, n_units]`), so with row-vector states `[batch, n_units]` the
//! recurrent input is `r · W_recᵀ`. The recurrent weight (and its transpose) is built once per
//! forward pass, never once per time step, and no gradient-tracked tensor is sliced inside the time
//! loop (candle's backward for slicing would make BPTT quadratic in the window length).

pub mod activation;
mod bptt;
pub(crate) mod fused;
pub mod latent;
mod params;
pub mod products;
pub mod sparse;

pub use activation::Activation;
use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var};
pub use latent::LatentDrive;
pub use params::{to_array2, ParamsCpu};
use serde::{Deserialize, Serialize};

/// Initial state of a window (`model.initial_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialState {
    /// Set recorded units from the window's first frame through the inverse readout.
    #[default]
    Data,
    /// Start from x = 0.
    Zero,
    /// One trainable initial state shared by all windows (fitted on training windows).
    Learned,
}

/// What a population readout reads (`model.readout_input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadoutInput {
    /// φ(x).
    #[default]
    Rate,
    /// tanh(x) before rectification.
    Unrectified,
}

/// What the readout compares with the data (`model.observation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// The rate itself, through the readout's gain and offset.
    #[default]
    Rate,
    /// The rate filtered by an exponential indicator decay, then gain and offset.
    Calcium,
}

/// Trainable parameters. Shapes: `w_rec [n, n]` (`W[post, pre]`), `w_in [n, n_inputs]`,
/// `b [1, n]`, `gain [1, n_rec]`, `offset [1, n_rec]`. Recorded units are the first `n_rec`.
#[derive(Debug, Clone)]
pub struct Params {
    /// Recurrent weights `W[post, pre]`.
    pub w_rec: Var,
    /// Input weights `[n, n_inputs]`.
    pub w_in: Var,
    /// Bias `[1, n]`.
    pub b: Var,
    /// Readout gain `[1, n_rec]`, kept ≥ 0.
    pub gain: Var,
    /// Readout offset `[1, n_rec]`.
    pub offset: Var,
    /// Learned initial state `[1, n]` (`initial_state: learned`; zeros otherwise).
    pub x0: Var,
    /// Calcium observation: `ln τ_decay` (τ in ms) per indicator group (cell type),
    /// `[1, n_groups]`; empty (`[1, 0]`) for the rate readout.
    pub calcium_log_tau: Var,
    /// Learned membrane time constants (`model.learn_tau`): `ln τ` (τ in ms) per cell type,
    /// `[1, n_types]`; empty (`[1, 0]`) when the time constants are fixed.
    pub log_tau: Var,
    /// Knots of the inferred inputs (`model.latent_inputs`), `[n_knots, n_channels]`; empty
    /// (`[0, 0]`) without them.
    pub latent: Var,
}

impl Params {
    /// An empty `calcium_log_tau` (`[1, 0]`) for a model that reads rates.
    pub fn no_calcium(device: &Device) -> Result<Var> {
        Var::zeros((1, 0), DType::F32, device)
    }

    /// An empty `log_tau` (`[1, 0]`) for a model whose time constants are fixed.
    pub fn fixed_tau(device: &Device) -> Result<Var> {
        Var::zeros((1, 0), DType::F32, device)
    }

    /// Empty knots (`[0, 0]`) for a model without inferred inputs.
    pub fn no_latent(device: &Device) -> Result<Var> {
        Var::zeros((0, 0), DType::F32, device)
    }

    /// The variables the optimiser updates: `W_rec` first (the EG optimisers act on it), then
    /// `W_in`, the readout's gain and offset unless it is frozen, `b` when the model has a bias, and
    /// the initial state when it is learned.
    pub fn trainable(&self, bias: bool, readout: bool, x0: bool) -> Vec<Var> {
        let mut v = vec![self.w_rec.clone(), self.w_in.clone()];
        if readout {
            v.push(self.gain.clone());
            v.push(self.offset.clone());
        }
        if bias {
            v.push(self.b.clone());
        }
        if x0 {
            v.push(self.x0.clone());
        }
        // The indicator decay is learned whenever the readout has one.
        if self.calcium_log_tau.elem_count() > 0 {
            v.push(self.calcium_log_tau.clone());
        }
        // So are the time constants when they are learned.
        if self.log_tau.elem_count() > 0 {
            v.push(self.log_tau.clone());
        }
        // And the inferred inputs' knots when the model has them.
        if self.latent.elem_count() > 0 {
            v.push(self.latent.clone());
        }
        v
    }

    /// A deep copy (for checkpoints).
    pub fn snapshot(&self) -> Result<Params> {
        let c = |v: &Var| Var::from_tensor(&v.as_tensor().copy()?);
        Ok(Params {
            w_rec: c(&self.w_rec)?,
            w_in: c(&self.w_in)?,
            b: c(&self.b)?,
            gain: c(&self.gain)?,
            offset: c(&self.offset)?,
            x0: c(&self.x0)?,
            calcium_log_tau: c(&self.calcium_log_tau)?,
            log_tau: c(&self.log_tau)?,
            latent: c(&self.latent)?,
        })
    }

    /// Overwrite these parameters' values with `other`'s.
    pub fn assign(&self, other: &Params) -> Result<()> {
        self.w_rec.set(other.w_rec.as_tensor())?;
        self.w_in.set(other.w_in.as_tensor())?;
        self.b.set(other.b.as_tensor())?;
        self.gain.set(other.gain.as_tensor())?;
        self.offset.set(other.offset.as_tensor())?;
        self.x0.set(other.x0.as_tensor())?;
        self.calcium_log_tau
            .set(other.calcium_log_tau.as_tensor())?;
        self.log_tau.set(other.log_tau.as_tensor())?;
        self.latent.set(other.latent.as_tensor())
    }
}

/// Fixed structure of the network.
#[derive(Debug, Clone)]
pub struct Rnn {
    /// Number of units.
    pub n_units: usize,
    /// Number of recorded units (the first `n_rec` units).
    pub n_rec: usize,
    /// Leak `α = dt / τ` per unit, `[1, n]`, from the configured time constants; with learned
    /// time constants use [`Rnn::alpha_of`], which reads them from the parameters.
    pub alpha: Tensor,
    /// Learned time constants (`model.learn_tau`); `None` keeps `alpha` fixed.
    pub tau: Option<LearnedTau>,
    /// Generalized teacher forcing of the training loss (`training.teacher_forcing`, γ): at
    /// every step after the first, each recorded unit's state is pulled towards the state its
    /// trace implies, `x ← (1 − γ) x + γ x̂(y)`, with `x̂` from the readout held fixed (no
    /// gradient flows through it); 0 trains free-running.
    pub forcing: f64,
    /// Nonlinearity φ.
    pub activation: Activation,
    /// How each window's state starts.
    pub initial_state: InitialState,
    /// Population readout `Rᵀ` `[n_units, n_targets]` (`mode: populations`); `None` reads the
    /// first `n_rec` units one to one.
    pub readout: Option<Tensor>,
    /// What the readout reads.
    pub readout_input: ReadoutInput,
    /// Calcium observation (`observation: calcium`); `None` reads rates.
    pub calcium: Option<Calcium>,
    /// Inferred inputs (`model.latent_inputs`), appended to the measured inputs by
    /// [`Rnn::with_latent`]; `None` without them.
    pub latent: Option<LatentDrive>,
    /// Keep every input weight ≥ 0 after each step (`model.architecture: colei`: Li, Cornford
    /// et al.'s ColEI network reads its inputs through excitatory weights only).
    pub nonnegative_inputs: bool,
}

/// The calcium observation: the readout reads `c(t) = β ⊙ c(t−1) + (1 − β) ⊙ s(t)` instead of the
/// source `s(t)`, with `β = exp(−dt / τ)` per target and `τ = exp(Params::calcium_log_tau)` per
/// group (cell type).
#[derive(Debug, Clone)]
pub struct Calcium {
    /// Frame period in ms.
    pub dt_ms: f64,
    /// Group of each target, one-hot `[n_groups, n_targets]`.
    pub groups: Tensor,
}

impl Calcium {
    /// `β` per target, `[1, n_targets]`, from the parameters.
    pub fn beta(&self, p: &Params) -> Result<Tensor> {
        let tau = p.calcium_log_tau.as_tensor().exp()?.matmul(&self.groups)?;
        (tau.recip()? * (-self.dt_ms))?.exp()
    }
}

/// Learned membrane time constants: `α = dt / τ` per unit with `τ = exp(Params::log_tau)` per
/// group (cell type), kept within [`LearnedTau::bounds_ms`] by the trainer's projection.
#[derive(Debug, Clone)]
pub struct LearnedTau {
    /// Frame period in ms.
    pub dt_ms: f64,
    /// Group of each unit, one-hot `[n_groups, n_units]`.
    pub groups: Tensor,
}

impl LearnedTau {
    /// Longest time constant a unit may learn, ms.
    pub const MAX_MS: f64 = 10_000.0;

    /// `α` per unit, `[1, n_units]`, from the parameters (differentiable in `log_tau`).
    pub fn alpha(&self, p: &Params) -> Result<Tensor> {
        self.alpha_of_log_tau(p.log_tau.as_tensor())
    }

    /// `α` per unit, `[1, n_units]`, from `ln τ` per group (`[1, n_groups]`, τ in ms).
    pub fn alpha_of_log_tau(&self, log_tau: &Tensor) -> Result<Tensor> {
        (log_tau.neg()?.exp()? * self.dt_ms)?.matmul(&self.groups)
    }

    /// The range of τ in ms a unit may take: one frame (α = 1) to [`LearnedTau::MAX_MS`].
    pub fn bounds_ms(&self) -> (f64, f64) {
        (self.dt_ms, Self::MAX_MS.max(self.dt_ms))
    }
}

/// An in-silico perturbation applied at every step of a free-running simulation:
/// outgoing rates are multiplied by `keep` (`[1, n]`; 1 − magnitude for silenced units, 1 elsewhere)
/// and `drive` (`[1, n]`) is added to every unit's input.
#[derive(Debug, Clone)]
pub struct Perturbation {
    /// Factor on each unit's outgoing rate, `[1, n]`.
    pub keep: Tensor,
    /// Extra input per unit, `[1, n]`.
    pub drive: Tensor,
}

/// How the state is set from data during a forward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Drive {
    /// State set from the first frame only, then the network runs on its own (free-running).
    FreeRunning,
    /// State reset from the data every `k` frames (teacher-forced; `k = 1` is one-step-ahead);
    /// needs one unit per recorded trace (`mode: neurons`).
    TeacherForced(usize),
    /// Generalized teacher forcing with γ (see [`Rnn::forcing`]): the recorded units' states
    /// are pulled by γ towards the data at every step, through a readout without gradient.
    Blended(f64),
}

impl Rnn {
    /// Leak `α = dt / τ` per unit, `[1, n]`: the fixed `alpha`, or the learned time constants
    /// of `p`.
    pub fn alpha_of(&self, p: &Params) -> Result<Tensor> {
        match &self.tau {
            Some(t) => t.alpha(p),
            None => Ok(self.alpha.clone()),
        }
    }

    /// The inputs `u` (`[T, batch, n_measured]`) of windows starting at frames `starts`, with the
    /// inferred inputs of `p` appended (`[T, batch, n_measured + n_channels]`, differentiable in
    /// [`Params::latent`]); `u` itself without inferred inputs. Every forward pass and loss takes
    /// inputs in this form.
    pub fn with_latent(&self, p: &Params, u: &Tensor, starts: &[usize]) -> Result<Tensor> {
        match &self.latent {
            None => Ok(u.clone()),
            Some(l) => {
                let z = l.values(p.latent.as_tensor(), starts, u.dim(0)?)?;
                Tensor::cat(&[u, &z], 2)
            }
        }
    }

    /// The knots' gradient, with inferred inputs, into `grads` (nothing without them): the
    /// hand-written BPTT leaves `∂L/∂u` there, which is passed back through the knots'
    /// interpolation (`u` built from [`Params::latent`] by [`Rnn::with_latent`]); autograd has
    /// already reached the knots. Then the penalty's gradient is added.
    pub fn pass_to_knots(&self, p: &Params, u: &Tensor, grads: &mut GradStore) -> Result<()> {
        let Some(latent) = &self.latent else {
            return Ok(());
        };
        let knots = p.latent.as_tensor();
        if let Some(d_u) = grads.remove(u) {
            if grads.get(knots).is_none() {
                let through = (u * d_u.detach())?.sum_all()?.backward()?;
                if let Some(d) = through.get(knots) {
                    grads.insert(knots, d.clone());
                }
            }
        }
        let penalty = latent.penalty_grad(&knots.detach())?;
        let total = match grads.remove(knots) {
            Some(g) => (g + penalty)?,
            None => penalty,
        };
        grads.insert(knots, total);
        Ok(())
    }

    /// The state that reproduces data frame `y` (`[batch, n_rec]`) through the readout; hidden
    /// units (if any) start at 0. Returns `[batch, n_units]`.
    pub fn state_from_data(&self, p: &Params, y: &Tensor) -> Result<Tensor> {
        self.state_from_readout(p.gain.as_tensor(), p.offset.as_tensor(), y)
    }

    /// [`Rnn::state_from_data`] for a readout `gain`, `offset` (`[1, n_rec]` each).
    pub fn state_from_readout(&self, gain: &Tensor, offset: &Tensor, y: &Tensor) -> Result<Tensor> {
        let g = gain.clamp(1e-3f32, f32::MAX)?;
        let r = y.broadcast_sub(offset)?.broadcast_div(&g)?;
        let x_rec = self.activation.phi_inverse(&r)?;
        if self.n_units == self.n_rec {
            Ok(x_rec)
        } else {
            let hidden = Tensor::zeros(
                (y.dim(0)?, self.n_units - self.n_rec),
                y.dtype(),
                y.device(),
            )?;
            Tensor::cat(&[&x_rec, &hidden], 1)
        }
    }

    /// Run windows forward. `y` is `[T, batch, n_rec]` (data, used for the initial state and
    /// teacher forcing), `u` is `[T, batch, n_inputs]` (may have 0 inputs). Returns the predictions
    /// for frames `1..T`, each `[batch, n_rec]`.
    pub fn forward(&self, p: &Params, y: &Tensor, u: &Tensor, drive: Drive) -> Result<Vec<Tensor>> {
        self.forward_with(p, y, u, drive, None)
    }

    /// [`Rnn::forward`] with private noise: `noise` is `[T, batch, n_units]`, already scaled, and
    /// `noise[t]` is added to the state update t → t+1 (training only).
    pub fn forward_with(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
        drive: Drive,
        noise: Option<&Tensor>,
    ) -> Result<Vec<Tensor>> {
        Ok(self.run(p, y, u, drive, noise, false, None)?.0)
    }

    /// Free-running rates `φ(x(t))` `[batch, n_units]` that drive each update t → t+1
    /// (t = 0..T−2), for current decomposition and other analyses.
    pub fn rates(&self, p: &Params, y: &Tensor, u: &Tensor) -> Result<Vec<Tensor>> {
        Ok(self.run(p, y, u, Drive::FreeRunning, None, true, None)?.1)
    }

    /// Free-running states `x(t)` and rates `φ(x(t))`, each `[batch, n_units]`, for t = 0..T−2
    /// (the state and rate that drive each update t → t+1).
    pub fn states_and_rates(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
    ) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        let (_, rates, states) = self.run(p, y, u, Drive::FreeRunning, None, true, None)?;
        Ok((states, rates))
    }

    /// A free-running simulation with private noise, as a recording of the model would be made:
    /// `noise` `[T, batch, n_units]` (already scaled) is added to each update t → t+1. Returns the
    /// predictions for frames `1..T` (`[batch, n_targets]` each) and the rates `φ(x(t))` that
    /// drive each update (`[batch, n_units]` each, t = 0..T−2).
    pub fn simulate(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
        noise: &Tensor,
    ) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        let (out, rates, _) = self.run(p, y, u, Drive::FreeRunning, Some(noise), true, None)?;
        Ok((out, rates))
    }

    /// Free-running rates under a perturbation (see [`Perturbation`]); the rates returned are the
    /// effective outgoing rates (silenced units scaled by `keep`).
    pub fn perturbed_rates(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
        pert: &Perturbation,
    ) -> Result<Vec<Tensor>> {
        Ok(self
            .run(p, y, u, Drive::FreeRunning, None, true, Some(pert))?
            .1)
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
        drive: Drive,
        noise: Option<&Tensor>,
        keep_rates: bool,
        pert: Option<&Perturbation>,
    ) -> Result<(Vec<Tensor>, Vec<Tensor>, Vec<Tensor>)> {
        let t_len = y.dim(0)?;
        let w_t = p.w_rec.as_tensor().t()?;
        let win_t = p.w_in.as_tensor().t()?;
        let has_inputs = p.w_in.as_tensor().dim(1)? > 0;
        let alpha = self.alpha_of(p)?;
        let one_minus_alpha = (alpha.neg()? + 1.0)?;
        let mut x = match self.initial_state {
            InitialState::Data => self.state_from_data(p, &y.get(0)?)?,
            InitialState::Zero => Tensor::zeros((y.dim(1)?, self.n_units), y.dtype(), y.device())?,
            InitialState::Learned => {
                p.x0.as_tensor()
                    .broadcast_as((y.dim(1)?, self.n_units))?
                    .contiguous()?
            }
        };
        let mut out = Vec::with_capacity(t_len.saturating_sub(1));
        let (mut rates, mut states) = (Vec::new(), Vec::new());
        // (β, 1 − β) once per forward pass, outside the time loop.
        let beta = match &self.calcium {
            Some(c) => {
                let b = c.beta(p)?;
                let keep = (b.neg()? + 1.0)?;
                Some((b, keep))
            }
            None => None,
        };
        // The indicator starts at the level its first readout source implies (for a data-initialised
        // state that reproduces the first frame).
        let mut cal = match &beta {
            Some(_) => Some(self.source(&x)?),
            None => None,
        };
        // How far teacher forcing pulls each unit, built once per forward pass.
        let pull = match drive {
            Drive::Blended(gamma) => Some(self.forcing_weights(gamma, y.device())?),
            _ => None,
        };
        for t in 0..t_len.saturating_sub(1) {
            match drive {
                Drive::TeacherForced(k) if t > 0 && t % k.max(1) == 0 => {
                    x = self.state_from_data(p, &y.get(t)?)?;
                    if cal.is_some() {
                        cal = Some(self.source(&x)?);
                    }
                }
                Drive::Blended(_) if t > 0 => {
                    let target = self.forcing_target(p, &y.get(t)?)?;
                    let pull = pull.as_ref().expect("set for a blended drive");
                    x = (&x + (target - &x)?.broadcast_mul(pull)?)?;
                }
                _ => {}
            }
            let mut r = self.activation.phi(&x)?;
            if let Some(pt) = pert {
                r = r.broadcast_mul(&pt.keep)?;
            }
            if keep_rates {
                rates.push(r.clone());
                states.push(x.clone());
            }
            let mut total = r.matmul(&w_t)?.broadcast_add(p.b.as_tensor())?;
            if let Some(pt) = pert {
                total = total.broadcast_add(&pt.drive)?;
            }
            if has_inputs {
                total = (total + u.get(t)?.matmul(&win_t)?)?;
            }
            x = (x.broadcast_mul(&one_minus_alpha)? + total.broadcast_mul(&alpha)?)?;
            if let Some(nz) = noise {
                x = (x + nz.get(t)?)?;
            }
            match (&beta, cal.take()) {
                (Some((beta, one_minus_beta)), Some(c)) => {
                    let next = (c.broadcast_mul(beta)?
                        + self.source(&x)?.broadcast_mul(one_minus_beta)?)?;
                    out.push(self.affine(p, &next)?);
                    cal = Some(next);
                }
                _ => out.push(self.read_out(p, &x)?),
            }
        }
        Ok((out, rates, states))
    }

    /// The state a frame `y` (`[batch, n_rec]`) implies through the readout, held fixed (no
    /// gradient through the readout): what generalized teacher forcing pulls towards.
    pub fn forcing_target(&self, p: &Params, y: &Tensor) -> Result<Tensor> {
        self.state_from_readout(
            &p.gain.as_tensor().detach(),
            &p.offset.as_tensor().detach(),
            y,
        )
    }

    /// How far each unit is pulled towards the data, `[1, n_units]`: γ on recorded units, 0 on
    /// hidden ones.
    pub fn forcing_weights(&self, gamma: f64, device: &Device) -> Result<Tensor> {
        let w: Vec<f32> = (0..self.n_units)
            .map(|i| if i < self.n_rec { gamma as f32 } else { 0.0 })
            .collect();
        Tensor::from_vec(w, (1, self.n_units), device)
    }

    /// The drive of the training loss: blended when [`Rnn::forcing`] is above 0.
    fn training_drive(&self) -> Drive {
        if self.forcing > 0.0 {
            Drive::Blended(self.forcing)
        } else {
            Drive::FreeRunning
        }
    }

    /// Predictions `[batch, n_targets]` from the state `x` `[batch, n_units]`.
    pub fn read_out(&self, p: &Params, x: &Tensor) -> Result<Tensor> {
        self.affine(p, &self.source(x)?)
    }

    /// What the readout reads, before gain and offset: `[batch, n_targets]` (the recorded units'
    /// rates, or the population readout).
    pub fn source(&self, x: &Tensor) -> Result<Tensor> {
        let src = match self.readout_input {
            ReadoutInput::Rate => self.activation.phi(x)?,
            ReadoutInput::Unrectified => x.tanh()?,
        };
        match &self.readout {
            Some(rt) => src.matmul(rt),
            None if self.n_units == self.n_rec => Ok(src),
            None => src.narrow(1, 0, self.n_rec),
        }
    }

    /// The readout's gain and offset applied to a source `[batch, n_targets]`.
    fn affine(&self, p: &Params, src: &Tensor) -> Result<Tensor> {
        src.broadcast_mul(p.gain.as_tensor())?
            .broadcast_add(p.offset.as_tensor())
    }

    /// Mean squared error of `forward`'s predictions against `y[1..]`, averaged over frames,
    /// windows and neurons: free-running, or with the training's teacher forcing
    /// ([`Rnn::forcing`]).
    pub fn loss(&self, p: &Params, y: &Tensor, u: &Tensor) -> Result<Tensor> {
        self.loss_with(p, y, u, None)
    }

    /// [`Rnn::loss`] with private noise (see [`Rnn::forward_with`]).
    pub fn loss_with(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
        noise: Option<&Tensor>,
    ) -> Result<Tensor> {
        let preds = self.forward_with(p, y, u, self.training_drive(), noise)?;
        let n = preds.len();
        let mut total: Option<Tensor> = None;
        for (t, pred) in preds.iter().enumerate() {
            let e = (pred - y.get(t + 1)?)?.sqr()?.mean_all()?;
            total = Some(match total {
                Some(acc) => (acc + e)?,
                None => e,
            });
        }
        match total {
            Some(t) => t / n as f64,
            None => Tensor::zeros((), DType::F32, &Device::Cpu),
        }
    }

    /// The fraction of frames × traces where the prediction and the trace disagree on lying
    /// above `level` (in the normalised traces' units: SDs above the mean after z-scoring), over
    /// frames 1..T, as the training drives the network. A count of events: it has no gradient,
    /// so only the evolution strategy (`training.es.loss: events`) can train on it.
    pub fn events_mismatch(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
        noise: Option<&Tensor>,
        level: f64,
    ) -> Result<f64> {
        let preds = self.forward_with(p, y, u, self.training_drive(), noise)?;
        let (mut wrong, mut total) = (0.0f64, 0usize);
        for (t, pred) in preds.iter().enumerate() {
            let above = pred.ge(level)?.to_dtype(DType::F32)?;
            let truth = y.get(t + 1)?.ge(level)?.to_dtype(DType::F32)?;
            wrong += f64::from((above - truth)?.abs()?.sum_all()?.to_scalar::<f32>()?);
            total += pred.elem_count();
        }
        Ok(wrong / total.max(1) as f64)
    }
}
