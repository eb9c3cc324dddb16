//! The parameters of a network as plain CPU arrays: what weights files and checkpoints store, what
//! analyses read, and what is uploaded to a device as trainable variables ([`Params`]).

use super::Params;
use crate::error::Result;
use candle_core::{Device, Tensor, Var};
use ndarray::Array2;

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
    /// `[n_types]`, `ln τ` (ms) per cell type when the time constants are learned; empty when
    /// they are fixed.
    pub log_tau: Vec<f32>,
    /// `[n_knots, n_channels]`, the inferred inputs' knots (`[0, 0]` without them).
    pub latent: Array2<f32>,
}

/// A 2-D f32 tensor as an array (copied to the CPU).
pub fn to_array2(t: &Tensor) -> Result<Array2<f32>> {
    let (r, c) = t.dims2()?;
    let v = t.flatten_all().and_then(|t| t.to_vec1::<f32>())?;
    Ok(Array2::from_shape_vec((r, c), v).expect("dims2 matches the element count"))
}

fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(crate::Error::from)
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
            log_tau: to_vec(p.log_tau.as_tensor())?,
            latent: to_array2(p.latent.as_tensor())?,
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
            log_tau: v(&self.log_tau)?,
            latent: m(&self.latent)?,
        })
    }
}
