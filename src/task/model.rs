//! The network a task trains: the leaky rate RNN of design §3.2 with a linear readout,
//!
//! ```text
//! x(t) = (1 − α) x(t−1) + α (W r(t−1) + U u(t) + b)      x(0) = 0
//! r(t) = φ(x(t))
//! z(t) = W_out ρ(t) + b_out     (then tanh for flip-flop)    ρ = r, or tanh(x) (`unrectified`)
//! ```
//!
//! with `W[post, pre]` built from the architecture's parameters once per forward pass:
//! `standard` and `colei` hold `W` itself (for `colei` the projection after every step keeps the
//! columns' signs, which is `W = W⁺ D` with `W⁺` clamped ≥ 0); `dann` holds
//! `W_EE, W_EI, W_IE, U_EX, U_EI, U_IX ≥ 0` and builds `W = W_EE − W_EI W_IE`,
//! `U = U_EX − U_EI U_IX`. Gradients come from candle's autograd.

use super::config::{Architecture, SignConstraint, TaskConfig, TaskInit, TaskName};
use super::tasks::LossKind;
use crate::constraints::architectures::{self, ei_split};
use crate::error::{Error, Result};
use crate::model::{Activation, ReadoutInput};
use candle_core::{DType, Device, Tensor, Var};
use ndarray::{Array1, Array2, Array3};
use rand::Rng;

/// The parameters of the network, by name, in a fixed order (`w` or the DANN parts first).
#[derive(Debug, Clone)]
pub struct TaskNet {
    /// How `W` is built.
    pub architecture: Architecture,
    /// The sign rule of a `standard` network.
    pub constraint: SignConstraint,
    /// `(name, variable)`: `w, u` (standard, colei) or `w_ee, w_ei, w_ie, u_ex, u_ei, u_ix`
    /// (dann), then `b [1, n]`, `w_out [n_out, n]`, `b_out [1, n_out]`.
    pub params: Vec<(&'static str, Var)>,
    /// Sign of each unit's outgoing weights (+1 excitatory, −1 inhibitory; all +1 for a DANN's
    /// units, 0 for an unconstrained network), `[n]`.
    pub signs: Vec<f32>,
    /// Which units each output reads, `[n_out, n]` (0 / 1).
    pub out_mask: Tensor,
    /// `frozen_sign`: the sign of every initial weight, `[n, n]` (−1, 0, +1).
    pub frozen: Option<Tensor>,
    /// Recurrent units.
    pub n_units: usize,
    /// Nonlinearity φ.
    pub activation: Activation,
    /// What the readout reads.
    pub readout_input: ReadoutInput,
    /// Leak α.
    pub alpha: f64,
    /// `tanh` on the output (flip-flop).
    pub output_tanh: bool,
}

fn var(a: &Array2<f64>, device: &Device) -> Result<Var> {
    let (r, c) = a.dim();
    let data: Vec<f32> = a.iter().map(|v| *v as f32).collect();
    Ok(Var::from_tensor(&Tensor::from_vec(data, (r, c), device)?)?)
}

fn uniform<R: Rng>(rows: usize, cols: usize, lo: f64, hi: f64, rng: &mut R) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |_| lo + (hi - lo) * rng.random::<f64>())
}

impl TaskNet {
    /// A freshly initialised network for `cfg` with `n_in` inputs and `n_out` outputs, drawn
    /// from `rng` (on the CPU, then moved to `device`).
    pub fn new<R: Rng>(
        cfg: &TaskConfig,
        n_in: usize,
        n_out: usize,
        device: &Device,
        rng: &mut R,
    ) -> Result<TaskNet> {
        let m = &cfg.model;
        let n = m.units;
        let (n_e, _) = ei_split(n, m.i_fraction);
        let bound = 1.0 / (n as f64).sqrt();
        let mut signs: Vec<f32> = (0..n).map(|j| if j < n_e { 1.0 } else { -1.0 }).collect();
        let mut params: Vec<(&'static str, Var)> = Vec::new();
        let mut frozen = None;
        match m.architecture {
            Architecture::Standard => {
                let w = match (m.init, m.constraint) {
                    (TaskInit::Colei, _) => {
                        architectures::colei(n, m.i_fraction, m.spectral_radius, rng)?
                    }
                    (TaskInit::ColeiVectorsRnnSpectrum, _) => {
                        let rnn = architectures::standard(n, rng);
                        let colei = architectures::colei(n, m.i_fraction, m.spectral_radius, rng)?;
                        architectures::spectrum_transplant(&colei, &rnn)?
                    }
                    (TaskInit::RnnVectorsColeiSpectrum, _) => {
                        let rnn = architectures::standard(n, rng);
                        let colei = architectures::colei(n, m.i_fraction, m.spectral_radius, rng)?;
                        architectures::spectrum_transplant(&rnn, &colei)?
                    }
                    (TaskInit::LowRank, _) => {
                        architectures::low_rank(n, m.init_rank.unwrap_or(n), 1.25, rng)?
                    }
                    (TaskInit::Default, SignConstraint::None | SignConstraint::FrozenSign) => {
                        architectures::standard(n, rng)
                    }
                    // Balwani et al.: U(0, 1/√n) on excitatory columns, U(−1/√n, 0) on
                    // inhibitory ones.
                    (TaskInit::Default, SignConstraint::Dale | SignConstraint::Rectified) => {
                        let mut w = uniform(n, n, 0.0, bound, rng);
                        for (j, mut col) in w.columns_mut().into_iter().enumerate() {
                            col *= signs[j] as f64;
                        }
                        w
                    }
                };
                if matches!(
                    m.constraint,
                    SignConstraint::None | SignConstraint::FrozenSign
                ) {
                    signs.fill(0.0);
                }
                if m.constraint == SignConstraint::FrozenSign {
                    let s: Vec<f32> = w
                        .iter()
                        .map(|v| v.signum() as f32 * (*v != 0.0) as u8 as f32)
                        .collect();
                    frozen = Some(Tensor::from_vec(s, (n, n), device)?);
                }
                params.push(("w", var(&w, device)?));
                params.push(("u", var(&uniform(n, n_in, -bound, bound, rng), device)?));
            }
            Architecture::Colei => {
                let w = architectures::colei(n, m.i_fraction, m.spectral_radius, rng)?;
                params.push(("w", var(&w, device)?));
                params.push(("u", var(&architectures::colei_input(n, n_in, rng), device)?));
            }
            Architecture::Dann => {
                signs = vec![1.0; n];
                let n_i = m.interneurons.unwrap_or(1);
                let rec = architectures::dann(n, n_i, rng);
                let inp = architectures::dann_layer(n, n_in, n_i, rng);
                for (name, a) in [
                    ("w_ee", &rec.w_ee),
                    ("w_ei", &rec.w_ei),
                    ("w_ie", &rec.w_ie),
                    ("u_ex", &inp.w_ee),
                    ("u_ei", &inp.w_ei),
                    ("u_ix", &inp.w_ie),
                ] {
                    params.push((name, var(a, device)?));
                }
            }
        }
        let b = match m.architecture {
            Architecture::Standard => uniform(1, n, -bound, bound, rng),
            _ => Array2::zeros((1, n)),
        };
        params.push(("b", var(&b, device)?));
        let out_mask = output_mask(cfg.task.name, n_out, &signs, n_e);
        let read_bound = |k: usize| 1.0 / out_mask.row(k).sum().max(1.0).sqrt();
        let mut w_out = Array2::zeros((n_out, n));
        let mut b_out = Array2::zeros((1, n_out));
        for k in 0..n_out {
            let r = read_bound(k);
            for j in 0..n {
                w_out[[k, j]] = (-r + 2.0 * r * rng.random::<f64>()) * out_mask[[k, j]];
            }
            b_out[[0, k]] = -r + 2.0 * r * rng.random::<f64>();
        }
        params.push(("w_out", var(&w_out, device)?));
        params.push(("b_out", var(&b_out, device)?));
        let mask: Vec<f32> = out_mask.iter().map(|v| *v as f32).collect();
        Ok(TaskNet {
            architecture: m.architecture,
            constraint: m.constraint,
            params,
            signs,
            out_mask: Tensor::from_vec(mask, (n_out, n), device)?,
            frozen,
            n_units: n,
            activation: m.activation.unwrap_or(Activation::Tanh),
            readout_input: m.readout_input.unwrap_or_default(),
            alpha: m.alpha,
            output_tanh: cfg.task.name == TaskName::FlipFlop,
        })
    }

    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Result<&Var> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| Error::internal("task network", format!("no parameter `{name}`")))
    }

    /// The variables the optimiser updates, in `params` order.
    pub fn vars(&self) -> Vec<Var> {
        self.params.iter().map(|(_, v)| v.clone()).collect()
    }

    /// The effective recurrent weights `W[post, pre]`, `[n, n]`.
    pub fn w(&self) -> Result<Tensor> {
        Ok(match self.architecture {
            Architecture::Dann => {
                let ee = self.param("w_ee")?.as_tensor();
                let ei = self.param("w_ei")?.as_tensor();
                let ie = self.param("w_ie")?.as_tensor();
                (ee - ei.matmul(ie)?)?
            }
            _ => self.param("w")?.as_tensor().clone(),
        })
    }

    /// The effective input weights, `[n, n_in]`.
    pub fn u(&self) -> Result<Tensor> {
        Ok(match self.architecture {
            Architecture::Dann => {
                let ex = self.param("u_ex")?.as_tensor();
                let ei = self.param("u_ei")?.as_tensor();
                let ix = self.param("u_ix")?.as_tensor();
                (ex - ei.matmul(ix)?)?
            }
            _ => self.param("u")?.as_tensor().clone(),
        })
    }

    /// Outputs `[steps − from, batch, n_out]` for inputs `x [steps, batch, n_in]`, reading out
    /// the steps from `from` on.
    pub fn forward(&self, x: &Tensor, from: usize) -> Result<Tensor> {
        Ok(self.run(&self.w()?, x, from)?.0)
    }

    /// The forward pass with the recurrent weights `w [n, n]` given (so that gradients with
    /// respect to the effective `W` can be taken): the outputs `[steps − from, batch, n_out]`
    /// and the rates of the last step, `[batch, n]`.
    pub fn run(&self, w: &Tensor, x: &Tensor, from: usize) -> Result<(Tensor, Tensor)> {
        let (steps, batch, _) = x.dims3()?;
        let w_t = w.t()?;
        let u_t = self.u()?.t()?;
        let b = self.param("b")?.as_tensor();
        let w_out_t = (self.param("w_out")?.as_tensor() * &self.out_mask)?.t()?;
        let b_out = self.param("b_out")?.as_tensor();
        let mut state = Tensor::zeros((batch, self.n_units), DType::F32, x.device())?;
        let mut rate = self.activation.phi(&state)?;
        let mut outs = Vec::with_capacity(steps - from);
        for t in 0..steps {
            let drive = rate
                .matmul(&w_t)?
                .add(&x.get(t)?.matmul(&u_t)?)?
                .broadcast_add(b)?;
            state = if self.alpha == 1.0 {
                drive
            } else {
                ((&state * (1.0 - self.alpha))? + (drive * self.alpha)?)?
            };
            rate = self.activation.phi(&state)?;
            if t >= from {
                let read = match self.readout_input {
                    ReadoutInput::Rate => rate.clone(),
                    ReadoutInput::Unrectified => state.tanh()?,
                };
                let z = read.matmul(&w_out_t)?.broadcast_add(b_out)?;
                outs.push(if self.output_tanh { z.tanh()? } else { z });
            }
        }
        Ok((Tensor::stack(&outs, 0)?, rate))
    }

    /// A deep copy: new variables holding the current values.
    pub fn snapshot(&self) -> Result<TaskNet> {
        let mut copy = self.clone();
        for (_, var) in copy.params.iter_mut() {
            *var = Var::from_tensor(&var.as_tensor().copy()?)?;
        }
        Ok(copy)
    }

    /// The loss of the outputs against `y [steps − from, batch, n_out]`: the mean squared
    /// error, or the mean over scored steps and examples of the cross-entropy of the outputs'
    /// softmax against the (one-hot) target.
    pub fn loss(&self, x: &Tensor, y: &Tensor, from: usize, kind: LossKind) -> Result<Tensor> {
        score(&self.forward(x, from)?, y, kind)
    }

    /// Divide the DANN's inhibitory gradients as Cornford et al. 2021's corrected SGD does:
    /// `∇W_IE /= √n_E`, `∇W_EI /= n_E`, `∇U_IX /= √n_E`, `∇U_EI /= n_in`.
    pub fn fisher_correct(&self, grads: &mut candle_core::backprop::GradStore) -> Result<()> {
        if self.architecture != Architecture::Dann {
            return Ok(());
        }
        let ne = self.n_units as f64;
        let n_in = self.param("u_ex")?.dims()[1] as f64;
        for (name, by) in [
            ("w_ie", ne.sqrt()),
            ("w_ei", ne),
            ("u_ix", ne.sqrt()),
            ("u_ei", n_in),
        ] {
            let v = self.param(name)?.as_tensor();
            if let Some(g) = grads.get(v) {
                let scaled = (g / by)?;
                grads.insert(v, scaled);
            }
        }
        Ok(())
    }

    /// Restore the constraint after an optimiser step: Dale's backprop (`standard` + `dale`,
    /// and `colei`: a weight whose sign disagrees with its column's is set to 0), Balwani et
    /// al.'s rectification (`W ← [W]⁺ · sign`), `colei`'s input weights ≥ 0, every DANN part ≥ 0.
    pub fn project(&self) -> Result<()> {
        let device = self.param("b")?.device().clone();
        let n = self.n_units;
        let signs = Tensor::from_vec(self.signs.clone(), (1, n), &device)?;
        let relu = |name: &str| -> Result<()> {
            let v = self.param(name)?;
            Ok(v.set(&v.as_tensor().relu()?)?)
        };
        match (self.architecture, self.constraint) {
            (Architecture::Standard, SignConstraint::None) => {}
            (Architecture::Standard, SignConstraint::FrozenSign) => {
                let w = self.param("w")?;
                let s = self.frozen.as_ref().ok_or_else(|| {
                    Error::internal("task network", "frozen_sign without the initial signs")
                })?;
                w.set(&w.as_tensor().mul(s)?.maximum(1e-9)?.mul(s)?)?;
            }
            (Architecture::Standard, SignConstraint::Rectified) => {
                let w = self.param("w")?;
                w.set(&w.as_tensor().relu()?.broadcast_mul(&signs)?)?;
            }
            (Architecture::Standard, SignConstraint::Dale) | (Architecture::Colei, _) => {
                let w = self.param("w")?;
                let keep = w.as_tensor().broadcast_mul(&signs)?.gt(0f32)?;
                w.set(&w.as_tensor().mul(&keep.to_dtype(DType::F32)?)?)?;
                if self.architecture == Architecture::Colei {
                    relu("u")?;
                }
            }
            (Architecture::Dann, _) => {
                for name in ["w_ee", "w_ei", "w_ie", "u_ex", "u_ei", "u_ix"] {
                    relu(name)?;
                }
            }
        }
        Ok(())
    }

    /// Count the weights that break the network's sign rule (0 after every projection), and
    /// whether every parameter is finite.
    pub fn violations(&self) -> Result<(usize, bool)> {
        let mut bad = 0usize;
        let mut finite = true;
        for (name, v) in &self.params {
            let a = crate::model::to_array2(v.as_tensor())?;
            finite &= a.iter().all(|x| x.is_finite());
            let sign_of_column = |j: usize| self.signs[j];
            bad += match (self.architecture, self.constraint, *name) {
                (Architecture::Dann, _, n) if n.starts_with("w_") && n != "w_out" => {
                    a.iter().filter(|x| **x < 0.0).count()
                }
                (Architecture::Dann, _, n) if n.starts_with("u_") => {
                    a.iter().filter(|x| **x < 0.0).count()
                }
                (Architecture::Colei, _, "u") => a.iter().filter(|x| **x < 0.0).count(),
                (Architecture::Standard, SignConstraint::None, _) => 0,
                (_, SignConstraint::FrozenSign, "w") => {
                    let s = crate::model::to_array2(self.frozen.as_ref().expect("set at init"))?;
                    a.iter()
                        .zip(s.iter())
                        .filter(|(w, s)| **w * **s < 0.0 || (**s == 0.0 && **w != 0.0))
                        .count()
                }
                (_, _, "w") => a
                    .indexed_iter()
                    .filter(|((_, j), x)| sign_of_column(*j) * **x < 0.0)
                    .count(),
                _ => 0,
            };
        }
        Ok((bad, finite))
    }

    /// Every parameter and the effective `W`, `U` and the unit signs, as CPU arrays by name
    /// (the weights file).
    pub fn arrays(&self) -> Result<Vec<(String, Array2<f32>)>> {
        let mut out: Vec<(String, Array2<f32>)> = Vec::new();
        out.push(("w_rec".into(), crate::model::to_array2(&self.w()?)?));
        out.push(("w_in".into(), crate::model::to_array2(&self.u()?)?));
        out.push((
            "sign".into(),
            Array1::from(self.signs.clone()).insert_axis(ndarray::Axis(0)),
        ));
        for (name, v) in &self.params {
            if !matches!(*name, "w" | "u") {
                out.push((name.to_string(), crate::model::to_array2(v.as_tensor())?));
            }
        }
        Ok(out)
    }
}

/// Which units each output reads: wave's first output reads the excitatory units and its second
/// the inhibitory ones (Balwani et al.); every other output reads every unit.
fn output_mask(task: TaskName, n_out: usize, signs: &[f32], n_e: usize) -> Array2<f64> {
    let n = signs.len();
    Array2::from_shape_fn((n_out, n), |(k, j)| match (task, k) {
        (TaskName::Wave, 0) => (j < n_e) as u8 as f64,
        (TaskName::Wave, 1) => (j >= n_e) as u8 as f64,
        _ => 1.0,
    })
}

/// The loss of outputs `z [steps, batch, n_out]` against `y` (same shape): the mean squared
/// error, or the mean over steps and examples of the cross-entropy of `z`'s softmax against the
/// (one-hot) target.
pub fn score(z: &Tensor, y: &Tensor, kind: LossKind) -> Result<Tensor> {
    Ok(match kind {
        LossKind::Mse => z.sub(y)?.sqr()?.mean_all()?,
        LossKind::CrossEntropy => {
            let (steps, batch, _) = z.dims3()?;
            let max = z.max_keepdim(2)?.detach();
            let shifted = z.broadcast_sub(&max)?;
            let log_norm = shifted.exp()?.sum_keepdim(2)?.log()?;
            let log_p = shifted.broadcast_sub(&log_norm)?;
            (log_p.mul(y)?.sum_all()? / -((steps * batch) as f64))?
        }
    })
}

/// Misclassified entries of outputs `z [steps, batch, n_out]`: the largest output against the
/// target's largest entry at every step and example; returns (wrong, scored).
pub fn misclassified(z: &Tensor, y: &Tensor) -> Result<(usize, usize)> {
    let guess: Vec<u32> = z.argmax(2)?.flatten_all()?.to_vec1()?;
    let truth: Vec<u32> = y.argmax(2)?.flatten_all()?.to_vec1()?;
    let wrong = guess.iter().zip(&truth).filter(|(a, b)| a != b).count();
    Ok((wrong, truth.len()))
}

/// A time-major `[steps, batch, channels]` array as a tensor on `device`.
pub fn tensor3(a: &Array3<f32>, device: &Device) -> Result<Tensor> {
    let data: Vec<f32> = a.iter().copied().collect();
    Ok(Tensor::from_vec(data, a.dim(), device)?)
}
