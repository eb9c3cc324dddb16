//! Optimisers with their state in the open (so a run can be checkpointed and resumed exactly):
//! Adam / AdamW (PyTorch's formulas), SGD with momentum, and the exponentiated-gradient variants of
//! Cornford et al. 2024 (`linclab/EG_optimiser`) for the sign-constrained recurrent weights:
//!
//! ```text
//! SGD-EG:   buf ← μ·buf + (g + λ·sign(w));      w ← w ⊙ exp(−η · sign(w) ⊙ buf)
//! AdamW-EG: w ← w·(1 − η·λ);  m, v as Adam;     w ← w ⊙ exp(−(η/bc1) · sign(w) ⊙ m / (√v/√bc2 + ε))
//! ```
//!
//! EG keeps every weight's sign and keeps zeros at zero, so it is applied to `W_rec` only; the
//! unconstrained parameters (`W_in`, bias, readout) take the matching additive step (SGD with
//! momentum for SGD-EG, AdamW for AdamW-EG).

use super::cerr;
use crate::config::Optimiser;
use crate::error::Result;
use candle_core::{backprop::GradStore, Tensor, Var};

/// Hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct OptimConfig {
    /// Which update.
    pub kind: Optimiser,
    /// Learning rate η.
    pub lr: f64,
    /// Adam β1, β2.
    pub betas: (f64, f64),
    /// Adam ε.
    pub eps: f64,
    /// Weight decay λ (decoupled for AdamW / AdamW-EG; EG form for SGD-EG; ignored for Adam).
    pub weight_decay: f64,
    /// SGD momentum μ.
    pub momentum: f64,
}

/// Per-parameter state: Adam's first and second moments, or SGD's momentum buffer in `m`.
#[derive(Debug, Clone)]
pub struct Slot {
    /// First moment / momentum buffer.
    pub m: Tensor,
    /// Second moment (Adam only; zeros otherwise).
    pub v: Tensor,
}

/// An optimiser over a list of variables; `eg[k]` marks the variables updated multiplicatively.
#[derive(Debug)]
pub struct Optim {
    /// Hyper-parameters (the learning rate may be changed by a schedule).
    pub cfg: OptimConfig,
    /// The variables, in a fixed order.
    pub vars: Vec<Var>,
    /// Which variables take the EG update (for SGD-EG / AdamW-EG).
    pub eg: Vec<bool>,
    /// State per variable.
    pub slots: Vec<Slot>,
    /// Steps taken (Adam's bias correction uses it, from 1).
    pub step: usize,
}

impl Optim {
    /// A fresh optimiser (zero moments).
    pub fn new(cfg: OptimConfig, vars: Vec<Var>, eg: Vec<bool>) -> Result<Optim> {
        let slots = vars
            .iter()
            .map(|v| {
                let z = v.as_tensor().zeros_like().map_err(cerr)?;
                Ok(Slot { m: z.clone(), v: z })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Optim {
            cfg,
            vars,
            eg,
            slots,
            step: 0,
        })
    }

    /// Apply one update from `grads`.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let c = self.cfg;
        let t = self.step as i32;
        for (k, var) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            if var.elem_count() == 0 {
                continue; // e.g. W_in of a model without inputs
            }
            let w = var.as_tensor();
            let eg = self.eg[k] && matches!(c.kind, Optimiser::SgdEg | Optimiser::AdamwEg);
            let slot = &mut self.slots[k];
            let new = match c.kind {
                Optimiser::Adam | Optimiser::Adamw | Optimiser::AdamwEg => {
                    let (b1, b2) = c.betas;
                    slot.m = ((&slot.m * b1).map_err(cerr)? + (g * (1.0 - b1)).map_err(cerr)?)
                        .map_err(cerr)?;
                    slot.v = ((&slot.v * b2).map_err(cerr)?
                        + (g.sqr().map_err(cerr)? * (1.0 - b2)).map_err(cerr)?)
                    .map_err(cerr)?;
                    let bc1 = 1.0 - b1.powi(t);
                    let bc2 = 1.0 - b2.powi(t);
                    let denom = ((slot.v.sqrt().map_err(cerr)? / bc2.sqrt()).map_err(cerr)?
                        + c.eps)
                        .map_err(cerr)?;
                    let dir = ((&slot.m / denom).map_err(cerr)? * (c.lr / bc1)).map_err(cerr)?;
                    let decayed = if c.kind == Optimiser::Adam || c.weight_decay == 0.0 {
                        w.clone()
                    } else {
                        (w * (1.0 - c.lr * c.weight_decay)).map_err(cerr)?
                    };
                    if eg {
                        let s = decayed.sign().map_err(cerr)?;
                        (&decayed
                            * (s * &dir)
                                .and_then(|x| x.neg())
                                .and_then(|x| x.exp())
                                .map_err(cerr)?)
                        .map_err(cerr)?
                    } else {
                        (decayed - dir).map_err(cerr)?
                    }
                }
                Optimiser::Sgd | Optimiser::SgdEg => {
                    let s = w.sign().map_err(cerr)?;
                    let g = if eg && c.weight_decay != 0.0 {
                        (g + (&s * c.weight_decay).map_err(cerr)?).map_err(cerr)?
                    } else if !eg && c.weight_decay != 0.0 {
                        (g + (w * c.weight_decay).map_err(cerr)?).map_err(cerr)?
                    } else {
                        g.clone()
                    };
                    // PyTorch's buffer: the first step takes the gradient itself.
                    slot.m = if self.step == 1 || c.momentum == 0.0 {
                        g
                    } else {
                        ((&slot.m * c.momentum).map_err(cerr)? + g).map_err(cerr)?
                    };
                    let dir = (&slot.m * c.lr).map_err(cerr)?;
                    if eg {
                        (w * (s * dir)
                            .and_then(|x| x.neg())
                            .and_then(|x| x.exp())
                            .map_err(cerr)?)
                        .map_err(cerr)?
                    } else {
                        (w - dir).map_err(cerr)?
                    }
                }
            };
            var.set(&new).map_err(cerr)?;
        }
        Ok(())
    }
}
