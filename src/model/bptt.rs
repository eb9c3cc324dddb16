//! The training loss and its gradients by hand-written backpropagation through time: the same
//! numbers as candle's autograd on [`Rnn::loss_with`] (tested), in far fewer tensor operations.
//!
//! Forward, for t = 0..T−2 (rates stored, inputs projected for all frames in one product):
//! `r_t = φ(x_t)`, `a_t = W r_t + W_in u_t + b`, `x_{t+1} = (1 − α) x_t + α a_t [+ noise_t]`,
//! `ŷ_t = g ⊙ readout(x_{t+1}) + c`; loss `L = mean((ŷ − y[1..])²)`. With generalized teacher
//! forcing (γ), `x_{t+1} ← x_{t+1} + γ_i (x̂_{t+1} − x_{t+1})` on recorded units after the
//! prediction is read, so the backward sweep passes `(1 − γ)` of each state's gradient back.
//!
//! Backward: the readout's gradient for every frame at once, then one sweep back in time that
//! carries `∂L/∂x_t` and stores `δ_t = ∂L/∂a_t = α ⊙ ∂L/∂x_{t+1}`. The weight gradients are then
//! single matrix products over all frames and windows: `∂L/∂W = Δᵀ R` (`[N, B·T] × [B·T, N]`,
//! `W[post, pre]`), `∂L/∂W_in = Δᵀ U`, `∂L/∂b = Σ Δ`, instead of one N×N product per time step.

use super::fused;
use super::products::matmul;
use super::sparse::{sddmm, spmm, transpose, Pattern};
use super::{Activation, InitialState, Params, ReadoutInput, Rnn};
use candle_core::{backprop::GradStore, DType, Result, Tensor};

/// Masks at most this dense use the sparse products on the CPU (for networks of at least
/// [`SPARSE_MIN_UNITS`] units): measured on 2 cores, the dense products win at density 0.3
/// (B 200) and for small networks, where the per-step overhead of the sparse path dominates.
pub const SPARSE_MAX_DENSITY: f64 = 0.15;

/// Smallest network that uses the sparse products.
pub const SPARSE_MIN_UNITS: usize = 1000;

/// The weights on a mask's pattern, for the sparse products.
struct SparseW {
    pattern: Pattern,
    rows: Vec<f32>,
    cols: Vec<f32>,
}

impl SparseW {
    /// The sparse form of `w` under `mask` when the mask is sparse enough and both live on the
    /// CPU; `None` otherwise (dense products).
    fn new(w: &Tensor, mask: Option<&Tensor>, force_dense: bool) -> Result<Option<SparseW>> {
        let Some(mask) = mask else { return Ok(None) };
        if force_dense || !w.device().is_cpu() {
            return Ok(None);
        }
        let n = w.dim(0)?;
        if n < SPARSE_MIN_UNITS {
            return Ok(None);
        }
        // The density first (one reduction, no copy): dense masks never build a pattern.
        let nnz = mask
            .ne(0f32)?
            .to_dtype(DType::F32)?
            .sum_all()?
            .to_scalar::<f32>()? as f64;
        if nnz / (n * n) as f64 > SPARSE_MAX_DENSITY {
            return Ok(None);
        }
        let pattern = Pattern::from_mask(&mask.flatten_all()?.to_vec1::<f32>()?, n);
        let wv = w.flatten_all()?.to_vec1::<f32>()?;
        Ok(Some(SparseW {
            rows: pattern.gather_rows(&wv),
            cols: pattern.gather_cols(&wv),
            pattern,
        }))
    }

    /// `x Wᵀ` (`transposed = false`: `a[b, i] = Σ_j W[i, j] x[b, j]`) or `x W` for `x` `[batch, n]`.
    fn apply(&self, x: &Tensor, transposed: bool) -> Result<Tensor> {
        let (batch, n) = x.dims2()?;
        let xt = transpose(&x.flatten_all()?.to_vec1::<f32>()?, batch, n);
        let mut out = vec![0f32; n * batch];
        let p = &self.pattern;
        if transposed {
            spmm(&p.col_ptr, &p.row_idx, &self.cols, &xt, batch, &mut out);
        } else {
            spmm(&p.row_ptr, &p.col_idx, &self.rows, &xt, batch, &mut out);
        }
        Tensor::from_vec(transpose(&out, n, batch), (batch, n), x.device())
    }
}

impl Rnn {
    /// The free-running training loss (as [`Rnn::loss_with`]) and the gradients of every
    /// parameter in `p` (`w_rec`, `w_in`, `b`, `gain`, `offset`, `x0`, and `log_tau` when the
    /// time constants are learned), by hand-written BPTT. With inferred inputs
    /// ([`Rnn::latent`]) the gradient of the inputs `u` themselves is in the store too (keyed by
    /// `u`, `[T, batch, n_inputs]`, 0 on the last frame), for the caller to pass on to the knots.
    /// `y` is `[T, batch, n_targets]`, `u` `[T, batch, n_inputs]`, `noise` `[T, batch, n_units]`.
    pub fn loss_and_grads(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
        noise: Option<&Tensor>,
    ) -> Result<(f32, GradStore)> {
        self.loss_and_grads_masked(p, y, u, noise, None, false)
    }

    /// [`Rnn::loss_and_grads`] for weights that are zero outside `mask` (`[n, n]`, 0/1): on the
    /// CPU, with a mask at most [`SPARSE_MAX_DENSITY`] dense (and at least [`SPARSE_MIN_UNITS`]
    /// units), the recurrent products use only
    /// the mask's entries and `∂L/∂W_rec` is formed on the mask alone (0 elsewhere). Set
    /// `force_dense` to use dense products regardless.
    pub fn loss_and_grads_masked(
        &self,
        p: &Params,
        y: &Tensor,
        u: &Tensor,
        noise: Option<&Tensor>,
        mask: Option<&Tensor>,
        force_dense: bool,
    ) -> Result<(f32, GradStore)> {
        let (t_len, batch, n_out) = y.dims3()?;
        let steps = t_len.saturating_sub(1);
        let n = self.n_units;
        // Detached views of the parameters: nothing here is recorded for autograd, so no graph
        // outlives the step (or reaches the optimiser's moments through the gradients).
        let w = &p.w_rec.as_tensor().detach();
        let w_in = &p.w_in.as_tensor().detach();
        let b = p.b.as_tensor().detach();
        let g = &p.gain.as_tensor().detach();
        let offset = p.offset.as_tensor().detach();
        let u_key = u.clone();
        let y = &y.detach();
        let u = &u.detach();
        let d_in = w_in.dim(1)?;
        let alpha = &self.alpha_of(p)?.detach();
        let keep = (alpha.neg()? + 1.0)?;
        let dev = y.device();

        // Initial state.
        let x0 = match self.initial_state {
            InitialState::Data => self.state_from_readout(g, &offset, &y.get(0)?)?,
            InitialState::Zero => Tensor::zeros((batch, n), DType::F32, dev)?,
            InitialState::Learned => {
                p.x0.as_tensor()
                    .detach()
                    .broadcast_as((batch, n))?
                    .contiguous()?
            }
        };
        let zero_start = self.initial_state == InitialState::Zero
            && matches!(self.activation, Activation::Relu | Activation::TanhRelu);

        // Input drive W_in u_t + b for every frame at once: [steps, batch, n].
        let drive = if d_in > 0 && steps > 0 {
            matmul(
                &u.narrow(0, 0, steps)?.reshape((steps * batch, d_in))?,
                &w_in.t()?,
            )?
            .broadcast_add(&b)?
            .reshape((steps, batch, n))?
        } else {
            b.broadcast_as((steps, batch, n))?.contiguous()?
        };

        // Forward sweep. Each state's nonlinearity is evaluated once: its rate drives the next
        // update and its readout source (the rate itself, or tanh(x) for an unrectified readout,
        // shared with φ = relu∘tanh) is kept for the readout.
        let sparse = SparseW::new(w, mask, force_dense)?;
        let w_t = if sparse.is_some() {
            w.clone()
        } else {
            w.t()?.contiguous()?
        };
        let mut rs: Vec<Tensor> = Vec::with_capacity(steps);
        let mut sources: Vec<Tensor> = Vec::with_capacity(steps);
        // Each update x_{t+1} − x_t (before any forcing of x_{t+1}), kept only when the time
        // constants are learned: their gradient needs it.
        let mut updates: Vec<Tensor> = Vec::new();
        let learn_tau = self.tau.is_some();
        // Generalized teacher forcing: the states every frame implies ([T, batch, n], through the
        // readout without gradient) and the pull towards them ([1, n]: γ on recorded units).
        let forcing = if self.forcing > 0.0 {
            let target = self
                .state_from_readout(g, &offset, &y.reshape((t_len * batch, n_out))?)?
                .reshape((t_len, batch, n))?;
            Some((target, self.forcing_weights(self.forcing, dev)?))
        } else {
            None
        };
        let mut x = x0;
        let mut r = self.activation.phi(&x)?;
        for t in 0..steps {
            let rec = if t == 0 && zero_start {
                // r_0 = φ(0) = 0: the first recurrent product is exactly zero.
                None
            } else {
                Some(match &sparse {
                    Some(s) => s.apply(&r, false)?,
                    None => matmul(&r, &w_t)?,
                })
            };
            let nz = match noise {
                Some(nz) => Some(nz.get(t)?),
                None => None,
            };
            let (next, src_next, r_next) = fused::forward_step(
                &x,
                rec.as_ref(),
                &drive.get(t)?,
                alpha,
                &keep,
                nz.as_ref(),
                self.activation,
                self.readout_input,
            )?;
            if learn_tau {
                updates.push((&next - &x)?);
            }
            // The prediction reads x_{t+1} as the network left it; the network runs on from the
            // forced state.
            let (next, r_next) = match &forcing {
                Some((target, pull)) if t + 1 < steps => {
                    let forced = (&next + (target.get(t + 1)? - &next)?.broadcast_mul(pull)?)?;
                    let r = self.activation.phi(&forced)?;
                    (forced, r)
                }
                _ => (next, r_next),
            };
            rs.push(std::mem::replace(&mut r, r_next));
            sources.push(src_next);
            x = next;
        }
        if steps == 0 {
            return Ok((0.0, GradStore::default()));
        }

        // Readout of every frame at once: [steps·batch, n] → ŷ [steps·batch, n_out].
        let src = Tensor::stack(&sources, 0)?.reshape((steps * batch, n))?;
        drop(sources);
        let z = match &self.readout {
            Some(rt) => matmul(&src, rt)?,
            None if n == self.n_rec => src.clone(),
            None => src.narrow(1, 0, self.n_rec)?,
        };
        let target = y.narrow(0, 1, steps)?.reshape((steps * batch, n_out))?;
        let err = z.broadcast_mul(g)?.broadcast_add(&offset)?.sub(&target)?;
        let count = (steps * batch * n_out) as f64;
        let loss = (err.sqr()?.sum_all()?.to_scalar::<f32>()? as f64 / count) as f32;

        // Backward through the readout.
        let d_pred = (err * (2.0 / count))?;
        let d_gain = fused::sum_rows(&d_pred.mul(&z)?)?;
        let d_offset = fused::sum_rows(&d_pred)?;
        let d_z = d_pred.broadcast_mul(g)?;
        let d_src = match &self.readout {
            Some(rt) => matmul(&d_z, &rt.t()?)?,
            None if n == self.n_rec => d_z,
            None => d_z.pad_with_zeros(1, 0, n - self.n_rec)?,
        };
        let src_prime = match self.readout_input {
            ReadoutInput::Rate => self.activation.phi_prime_from_rate(&src)?,
            ReadoutInput::Unrectified => (src.sqr()?.neg()? + 1.0)?,
        };
        let d_x_readout = d_src.mul(&src_prime)?.reshape((steps, batch, n))?;

        // Backward sweep in time.
        let r_all = Tensor::stack(&rs, 0)?; // [steps, batch, n]
        let mut deltas: Vec<Tensor> = Vec::with_capacity(steps);
        let mut carry: Option<Tensor> = None; // ∂L/∂x_{t+1} through later frames
        for t in (0..steps).rev() {
            let (d_x_next, delta) =
                fused::backward_delta(&d_x_readout.get(t)?, carry.as_ref(), alpha)?;
            let back = if t == 0 && zero_start {
                None
            } else {
                Some(match &sparse {
                    Some(s) => s.apply(&delta, true)?,
                    None => matmul(&delta, w)?,
                })
            };
            let d_x =
                fused::backward_carry(&d_x_next, &keep, back.as_ref(), &rs[t], self.activation)?;
            // Forcing x_t ← x_t + pull ⊙ (x̂_t − x_t) passes (1 − pull) of the gradient back.
            carry = Some(match &forcing {
                Some((_, pull)) if t > 0 => d_x.broadcast_mul(&(pull.neg()? + 1.0)?)?,
                _ => d_x,
            });
            deltas.push(delta);
        }
        deltas.reverse();
        let d_x0 = carry.expect("steps > 0");

        // Weight gradients: one product over all frames and windows each.
        let delta_all = Tensor::stack(&deltas, 0)?.reshape((steps * batch, n))?;
        let delta_t = delta_all.t()?;
        let r_flat = r_all.reshape((steps * batch, n))?;
        let d_w = match &sparse {
            Some(s) => {
                let k = steps * batch;
                let d = transpose(&delta_all.flatten_all()?.to_vec1::<f32>()?, k, n);
                let r = transpose(&r_flat.flatten_all()?.to_vec1::<f32>()?, k, n);
                Tensor::from_vec(sddmm(&s.pattern, &d, &r, k), (n, n), dev)?
            }
            None => matmul(&delta_t, &r_flat)?,
        };
        let d_b = fused::sum_rows(&delta_all)?;
        let d_w_in = if d_in > 0 {
            Some(matmul(
                &delta_t,
                &u.narrow(0, 0, steps)?.reshape((steps * batch, d_in))?,
            )?)
        } else {
            None // nothing to learn: W_in is [n, 0]
        };

        let mut grads = GradStore::default();
        if self.latent.is_some() && d_in > 0 {
            // ∂L/∂u_t = δ_t W_in for the frames that drive an update; the last frame drives none.
            let d_u = matmul(&delta_all, w_in)?
                .reshape((steps, batch, d_in))?
                .pad_with_zeros(0, 0, t_len - steps)?;
            grads.insert(&u_key, d_u);
        }
        if let Some(tau) = &self.tau {
            // x_{t+1} − x_t − noise_t = α ⊙ (a_t − x_t), and δ_t = α ⊙ ∂L/∂x_{t+1}, so
            // ∂L/∂α = Σ ∂L/∂x_{t+1} ⊙ (a_t − x_t) = Σ δ_t ⊙ (x_{t+1} − x_t − noise_t) / α²;
            // with α = dt·exp(−ln τ) per group, ∂L/∂ln τ_g = −Σ_{i∈g} α_i ∂L/∂α_i.
            let mut step = Tensor::stack(&updates, 0)?;
            if let Some(nz) = noise {
                step = (step - nz.detach().narrow(0, 0, steps)?)?;
            }
            let per_unit = fused::sum_rows(&delta_all.mul(&step.reshape((steps * batch, n))?)?)?;
            let d_log_tau = per_unit
                .broadcast_div(alpha)?
                .neg()?
                .matmul(&tau.groups.t()?)?;
            grads.insert(p.log_tau.as_tensor(), d_log_tau);
        }
        let (mut d_gain, mut d_offset) = (d_gain, d_offset);
        let mut d_x0_param = p.x0.as_tensor().zeros_like()?;
        match self.initial_state {
            InitialState::Zero => {}
            InitialState::Learned => d_x0_param = d_x0.sum_keepdim(0)?,
            InitialState::Data => {
                // x_rec = φ⁻¹(ρ), ρ = (y_0 − c) / max(g, 1e-3); hidden units start at 0.
                let g_c = g.clamp(1e-3f32, f32::MAX)?;
                let dev_y = y.get(0)?.broadcast_sub(&offset)?;
                let rho = dev_y.broadcast_div(&g_c)?;
                let d_rho = d_x0
                    .narrow(1, 0, self.n_rec)?
                    .mul(&self.activation.phi_inverse_prime(&rho)?)?;
                let d_c = d_rho.broadcast_div(&g_c)?.neg()?.sum_keepdim(0)?;
                let g_free = g.gt(1e-3f32)?.to_dtype(DType::F32)?;
                let d_g = d_rho
                    .mul(&rho)?
                    .broadcast_div(&g_c)?
                    .neg()?
                    .sum_keepdim(0)?
                    .mul(&g_free)?;
                d_offset = (d_offset + d_c)?;
                d_gain = (d_gain + d_g)?;
            }
        }
        grads.insert(p.w_rec.as_tensor(), d_w);
        if let Some(d) = d_w_in {
            grads.insert(p.w_in.as_tensor(), d);
        }
        grads.insert(p.b.as_tensor(), d_b);
        grads.insert(p.gain.as_tensor(), d_gain);
        grads.insert(p.offset.as_tensor(), d_offset);
        grads.insert(p.x0.as_tensor(), d_x0_param);
        Ok((loss, grads))
    }
}
