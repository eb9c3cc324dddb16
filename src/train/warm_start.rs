//! The one-step warm start (`training.warm_start: one_step`): the recorded units' recurrent and
//! input weights and biases start from the convex one-step estimate ([`crate::estimate`]) on the
//! training frames, instead of from the initialisation; BPTT then fine-tunes them as usual.
//!
//! The readout starts at gain 1 and an offset at each trace's 1st percentile on the training
//! frames, so that a trace reads as a non-negative rate `r = y − offset`, and the state as
//! `φ⁻¹(r)`. Each recorded unit's problem uses the training frames where it is active (above its
//! median rate, at t and t+1) and only pairs of frames inside one training window, with Dale's
//! signs and the mask's zeros as bounds. Weights from and onto hidden units keep their
//! initialisation: the one-step problem only sees recorded units. With the calcium observation,
//! the traces are read as rates for this start (the indicator's decay is then learned by BPTT).

use crate::dataset::Dataset;
use crate::error::Result;
use crate::estimate::{one_step_states, OneStepOptions};
use crate::model::ParamsCpu;
use crate::network::Network;
use candle_core::{Device, Tensor};
use ndarray::{s, Array2};

/// What the warm start did, for the run's log.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmStartSummary {
    /// Recorded units estimated.
    pub units: usize,
    /// Median number of active frames per unit.
    pub median_active_frames: usize,
    /// The factor the estimated recurrent weights were scaled by to bring their spectral radius
    /// down to [`MAX_RADIUS`] (1 when it was already below).
    pub scaled_by: f64,
}

/// The largest spectral radius of the estimated recurrent weights kept as they are.
pub const MAX_RADIUS: f64 = 1.0;

/// Replace the recorded block of `params` (and its readout) with the one-step estimate from the
/// training windows of `ds`, under `mask` (`[n, n]`, 0 = fixed at 0) and Dale's signs when
/// `dale` is set. Recurrent weights whose spectral radius exceeds [`MAX_RADIUS`] are scaled down
/// to it: a one-step estimate without Dale's bounds can be unstable when run freely (2.3 on a
/// 4-minute recording fitted dense and unconstrained), and a start that explodes teaches nothing.
pub fn one_step(
    ds: &Dataset,
    network: &Network,
    mask: &Array2<f32>,
    dale: bool,
    params: &mut ParamsCpu,
) -> Result<WarmStartSummary> {
    let n_rec = network.rnn.n_rec;
    let frames = ds.y.nrows();
    let mut usable = vec![false; frames];
    for w in &ds.train_windows {
        usable[w.start..w.start + w.len.saturating_sub(1)].fill(true);
    }
    let train: Vec<usize> = (0..frames).filter(|&t| ds.split.is_train[t]).collect();
    let offsets: Vec<f32> = (0..n_rec)
        .map(|i| {
            let column: Vec<f32> = train.iter().map(|&t| ds.y[[t, i]]).collect();
            let q = crate::stats::quantile(&column, 0.01);
            if q.is_nan() {
                0.0
            } else {
                q
            }
        })
        .collect();
    let rates = Array2::from_shape_fn((frames, n_rec), |(t, i)| {
        (ds.y[[t, i]] - offsets[i]).max(0.0)
    });
    let states = {
        let r = Tensor::from_slice(
            rates.as_slice().expect("standard layout"),
            rates.dim(),
            &Device::Cpu,
        )?;
        let x = network.rnn.activation.phi_inverse(&r)?;
        crate::model::to_array2(&x)?
    };
    let alpha: Vec<f64> = network
        .rnn
        .alpha
        .flatten_all()?
        .to_vec1::<f32>()?
        .iter()
        .take(n_rec)
        .map(|&a| a as f64)
        .collect();
    let signs = &network.signs[..n_rec];
    let options = OneStepOptions {
        constrained: dale,
        mask: Some(mask.slice(s![..n_rec, ..n_rec]).to_owned()),
        pairs: Some(usable),
        ..OneStepOptions::default()
    };
    let est = one_step_states(
        states.view(),
        rates.view(),
        ds.u.view(),
        &alpha,
        signs,
        &options,
    );
    let radius = crate::linalg::spectral_radius(&est.w_rec)?;
    let scaled_by = if radius > MAX_RADIUS {
        MAX_RADIUS / radius
    } else {
        1.0
    };
    params
        .w_rec
        .slice_mut(s![..n_rec, ..n_rec])
        .assign(&(&est.w_rec * scaled_by as f32));
    params.w_in.slice_mut(s![..n_rec, ..]).assign(&est.w_in);
    params.b[..n_rec].copy_from_slice(&est.b);
    params.gain = vec![1.0; n_rec];
    params.offset = offsets;
    let mut active = est.active_frames.clone();
    active.sort_unstable();
    Ok(WarmStartSummary {
        units: n_rec,
        median_active_frames: active.get(active.len() / 2).copied().unwrap_or(0),
        scaled_by,
    })
}
