//! The one-step warm start (`training.warm_start: one_step`): the recorded units' recurrent and
//! input weights and biases start from the convex one-step estimate ([`crate::estimate`]) on the
//! training frames, instead of from the initialisation; BPTT then fine-tunes them as usual.
//!
//! The readout starts at gain 1 and an offset at each trace's 1st percentile on the training
//! frames, so that a trace reads as a non-negative rate `r = y − offset`, and the state as
//! `φ⁻¹(r)`. Each recorded unit's problem uses the training frames where it is active (above its
//! median rate, at t and t+1) and only pairs of frames inside one training window, with Dale's
//! signs and the mask's zeros as bounds: [`STEPS`] accelerated projected-gradient steps from the
//! ridge solution of every coefficient, projected. Weights from and onto hidden units keep their
//! initialisation: the one-step problem only sees recorded units. With the calcium observation,
//! the traces are read as rates for this start (the indicator's decay is then learned by BPTT).
//!
//! With inferred inputs (`model.latent_inputs`) the start infers them too, by alternating
//! ([`DRIVE_ROUNDS`] rounds): each area's drive grows by the mean one-step residual of its active
//! units, averaged onto the knots of the training frames, and the one-step problem is solved
//! again with each unit reading its own area's drive as one more input. The first channel of
//! every area starts from that drive; any further channels keep their initialisation.

use crate::dataset::Dataset;
use crate::error::Result;
use crate::estimate::{
    active_pair, leak_corrected_update, one_step_states, OneStepOptions, SignRule,
};
use crate::model::{LatentDrive, ParamsCpu};
use crate::network::Network;
pub use crate::rundir::manifest::WarmStartSummary;
use candle_core::{Device, Tensor};
use ndarray::{s, Array2};

/// Accelerated projected-gradient steps of the warm start's one-step problems (see
/// [`crate::estimate::EARLY_STOP_STEPS`]).
pub const STEPS: usize = crate::estimate::EARLY_STOP_STEPS;

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
    let started = std::time::Instant::now();
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
        signs: if dale {
            SignRule::BoundsEarlyStopped(STEPS)
        } else {
            SignRule::ProjectAfter
        },
        mask: Some(mask.slice(s![..n_rec, ..n_rec]).to_owned()),
        pairs: Some(usable),
        ..OneStepOptions::default()
    };
    let est = match &network.rnn.latent {
        None => one_step_states(
            states.view(),
            rates.view(),
            ds.u.view(),
            &alpha,
            signs,
            &options,
        ),
        Some(latent) => {
            let frames_used = FramePairs {
                states: &states,
                rates: &rates,
                alpha: &alpha,
                usable: options.pairs.clone().unwrap_or_default(),
            };
            let (drive, slope, est) =
                infer_drive(ds, network, latent, &frames_used, signs, &options);
            set_drive(network, latent, &drive, &slope, ds.u.ncols(), params);
            est
        }
    };
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
    // The measured inputs' columns (the inferred inputs' are set above).
    let d = ds.u.ncols();
    params
        .w_in
        .slice_mut(s![..n_rec, ..d])
        .assign(&est.w_in.slice(s![.., ..d]));
    params.b[..n_rec].copy_from_slice(&est.b);
    params.gain = vec![1.0; n_rec];
    params.offset = offsets;
    let median = |v: &[usize]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    Ok(WarmStartSummary {
        units: n_rec,
        median_active_frames: median(&est.active_frames),
        steps: est.iterations.iter().copied().max().unwrap_or(0),
        scaled_by,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The recorded units' states and rates `[frames, n_rec]`, leaks and the frame pairs the one-step
/// problem may use.
struct FramePairs<'a> {
    states: &'a Array2<f32>,
    rates: &'a Array2<f32>,
    alpha: &'a [f64],
    usable: Vec<bool>,
}

/// Rounds of the alternating inference of each area's drive in the warm start.
pub const DRIVE_ROUNDS: usize = 3;

/// The drive of every recorded area on the knots of `latent` (`[n_knots, n_areas]`, 0 on knots no
/// training frame reaches), each recorded unit's weight on its area's drive (`[n_rec]`), and the
/// one-step estimate with each unit reading its own area's drive as one more input (its inputs:
/// the measured ones, then one column per area). By [`DRIVE_ROUNDS`] rounds of alternation from
/// no drive: the drive grows by what the estimate leaves of the updates of each area's active
/// units (averaged onto the knots with hat weights, per unit of the area's mean weight on it),
/// then the one-step problem is solved again.
fn infer_drive(
    ds: &Dataset,
    network: &Network,
    latent: &LatentDrive,
    pairs: &FramePairs,
    signs: &[crate::data::Sign],
    options: &OneStepOptions,
) -> (Array2<f32>, Vec<f32>, crate::estimate::OneStep) {
    let n_rec = network.rnn.n_rec;
    let (areas, index) = network.latent_area_index();
    // Every recorded unit's area has inferred inputs (one set per recorded area).
    let area_of: Vec<usize> = index[..n_rec].iter().map(|a| a.unwrap_or(0)).collect();
    let (frames, d) = (ds.u.nrows(), ds.u.ncols());
    let mut input_mask = Array2::<f32>::zeros((n_rec, d + areas.len()));
    for (i, &a) in area_of.iter().enumerate() {
        input_mask.slice_mut(s![i, ..d]).fill(1.0);
        input_mask[[i, d + a]] = 1.0;
    }
    let options = OneStepOptions {
        input_mask: Some(input_mask),
        ..options.clone()
    };
    let thresholds: Vec<f32> = (0..n_rec)
        .map(|i| {
            let col: Vec<f32> = pairs.rates.column(i).to_vec();
            crate::estimate::activity_threshold(&col, &options)
        })
        .collect();
    let mut drive = Array2::<f32>::zeros((latent.n_knots, areas.len()));
    let mut u = ndarray::concatenate![
        ndarray::Axis(1),
        ds.u,
        Array2::<f32>::zeros((frames, areas.len()))
    ];
    let solve = |u: &Array2<f32>| {
        one_step_states(
            pairs.states.view(),
            pairs.rates.view(),
            u.view(),
            pairs.alpha,
            signs,
            &options,
        )
    };
    // The first round's estimate reads no drive (its column is 0 everywhere).
    let mut est = solve(&u);
    for round in 0..DRIVE_ROUNDS {
        let pred = pairs.rates.dot(&est.w_rec.t()) + u.dot(&est.w_in.t());
        let mut sum = Array2::<f64>::zeros((latent.n_knots, areas.len()));
        let mut weight = Array2::<f64>::zeros((latent.n_knots, areas.len()));
        for t in 0..frames.saturating_sub(1) {
            if !pairs.usable.get(t).copied().unwrap_or(false) {
                continue;
            }
            let (k, w) = latent.locate(t);
            let w = w as f64;
            for i in 0..n_rec {
                if !active_pair(pairs.rates[[t, i]], pairs.rates[[t + 1, i]], thresholds[i]) {
                    continue;
                }
                let target = leak_corrected_update(
                    pairs.states[[t, i]],
                    pairs.states[[t + 1, i]],
                    pairs.alpha[i],
                );
                let r = target - pred[[t, i]] as f64 - est.b[i] as f64;
                let a = area_of[i];
                sum[[k, a]] += (1.0 - w) * r;
                weight[[k, a]] += 1.0 - w;
                sum[[k + 1, a]] += w * r;
                weight[[k + 1, a]] += w;
            }
        }
        for a in 0..areas.len() {
            // The area's mean weight on its drive (1 before any drive is read), kept from 0.
            let per_unit = if round == 0 {
                1.0
            } else {
                let own: Vec<f64> = (0..n_rec)
                    .filter(|&i| area_of[i] == a)
                    .map(|i| est.w_in[[i, d + a]] as f64)
                    .collect();
                let m = own.iter().sum::<f64>() / own.len().max(1) as f64;
                if m.abs() < 0.1 {
                    0.1f64.copysign(m)
                } else {
                    m
                }
            };
            for k in 0..latent.n_knots {
                if weight[[k, a]] > 0.0 {
                    drive[[k, a]] += (sum[[k, a]] / weight[[k, a]] / per_unit) as f32;
                }
            }
        }
        for t in 0..frames {
            u.slice_mut(s![t, d..]).assign(&latent.at(drive.view(), t));
        }
        est = solve(&u);
    }
    let slope = (0..n_rec).map(|i| est.w_in[[i, d + area_of[i]]]).collect();
    (drive, slope, est)
}

/// Start the first channel of every area at its inferred `drive` (`[n_knots, n_areas]`) and each
/// recorded unit's weight on it at its `slope` (`[n_rec]`); `d` measured inputs come first.
fn set_drive(
    network: &Network,
    latent: &LatentDrive,
    drive: &Array2<f32>,
    slope: &[f32],
    d: usize,
    params: &mut ParamsCpu,
) {
    let per_area = latent.n_channels / drive.ncols().max(1);
    for a in 0..drive.ncols() {
        params
            .latent
            .column_mut(a * per_area)
            .assign(&drive.column(a));
    }
    for (i, &s) in slope.iter().enumerate() {
        // Unit i reads only its own area's first channel.
        for c in (0..latent.n_channels).step_by(per_area.max(1)) {
            if network.latent_areas[c] == network.units.units[i].area {
                params.w_in[[i, d + c]] = s;
            }
        }
    }
}
