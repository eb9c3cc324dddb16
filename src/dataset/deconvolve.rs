//! Indicator deconvolution (`data.deconvolve`): each neuron's calcium trace turned back into an
//! estimate of the rate that drove it, by inverting a first-order indicator and smoothing.
//!
//! The indicator is taken as `c(t + 1) = β c(t) + (1 − β) s(t)` with `β = exp(−Δt / τ_decay)`
//! per cell type, so the rate over the interval after frame `t` is
//! `ŝ(t) = (c(t + 1) − β c(t)) / (1 − β)`. The inverse multiplies the imaging noise by about
//! `1 / (1 − β)` (7 at 11 Hz with a 600-ms decay), so the estimate is smoothed with a Gaussian
//! of `smooth_frames` frames (σ). Segments between gaps in the frame clock are deconvolved apart;
//! a segment's last frame repeats the frame before it. NaN stays NaN (and makes its neighbours'
//! differences NaN); the smoothing averages the finite frames in reach.

use crate::config::DeconvolveConfig;
use crate::data::Recording;
use crate::error::{Error, Result};
use ndarray::{Array1, ArrayView1};
use std::path::Path;

/// `rec` with every trace deconvolved by `cfg`; an error naming `config_path` where a neuron's
/// cell type has no decay.
pub fn deconvolve(
    rec: &Recording,
    cfg: &DeconvolveConfig,
    config_path: &Path,
) -> Result<Recording> {
    if let Some(t) = rec
        .neurons
        .cell_type
        .iter()
        .find(|t| cfg.decay_of(t).is_none())
    {
        return Err(Error::config(
            config_path,
            "data.deconvolve.decay_ms",
            format!("no decay for cell type {t} of {}", rec.path.display()),
            "give every cell type a decay, or a `default` (e.g. decay_ms: {default: 500})",
        ));
    }
    let mut out = rec.clone();
    let dt_ms = 1000.0 / rec.frame_rate_hz;
    let stretches = rec.stretches();
    for (j, mut col) in out.traces.columns_mut().into_iter().enumerate() {
        let decay = cfg
            .decay_of(&rec.neurons.cell_type[j])
            .expect("checked above");
        let beta = (-dt_ms / decay).exp();
        for stretch in &stretches {
            let part = col.slice(ndarray::s![stretch.clone()]).to_owned();
            let rate = smooth(inverse(part.view(), beta).view(), cfg.smooth_frames);
            col.slice_mut(ndarray::s![stretch.clone()]).assign(&rate);
        }
    }
    out.notes.push(format!(
        "traces deconvolved (first-order indicator, decay {}; Gaussian σ {} frames)",
        cfg.decay_ms
            .iter()
            .map(|(t, ms)| format!("{t} {ms} ms"))
            .collect::<Vec<_>>()
            .join(", "),
        cfg.smooth_frames
    ));
    Ok(out)
}

/// `ŝ(t) = (c(t + 1) − β c(t)) / (1 − β)` over one segment `c`, the last frame repeating the one
/// before it (a one-frame segment keeps its value).
pub fn inverse(c: ArrayView1<f32>, beta: f64) -> Array1<f32> {
    let n = c.len();
    if n < 2 {
        return c.to_owned();
    }
    let (b, gain) = (beta as f32, 1.0 / (1.0 - beta) as f32);
    let mut s = Array1::<f32>::zeros(n);
    for t in 0..n - 1 {
        s[t] = (c[t + 1] - b * c[t]) * gain;
    }
    s[n - 1] = s[n - 2];
    s
}

/// `x` convolved with a normalised Gaussian of σ `sigma` frames (cut at 3σ), each output the
/// weighted mean of the finite frames in reach (NaN where none is); `sigma` 0 returns `x`.
pub fn smooth(x: ArrayView1<f32>, sigma: f64) -> Array1<f32> {
    if sigma <= 0.0 {
        return x.to_owned();
    }
    let reach = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f64> = (-reach..=reach)
        .map(|k| (-0.5 * (k as f64 / sigma).powi(2)).exp())
        .collect();
    let n = x.len() as isize;
    Array1::from_iter((0..n).map(|t| {
        let (mut sum, mut weight) = (0.0f64, 0.0f64);
        for (i, k) in (-reach..=reach).enumerate() {
            let u = t + k;
            if (0..n).contains(&u) && x[u as usize].is_finite() {
                sum += kernel[i] * x[u as usize] as f64;
                weight += kernel[i];
            }
        }
        if weight > 0.0 {
            (sum / weight) as f32
        } else {
            f32::NAN
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_inverse_recovers_the_rate_a_first_order_indicator_integrated() {
        // c(t + 1) = β c(t) + (1 − β) s(t), from c(0) = 0.
        let beta = (-1000.0f64 / 11.0 / 600.0).exp();
        let s = [0.0f32, 1.0, 3.0, 0.5, 0.0, 2.0, 1.0];
        let mut c = vec![0.0f32];
        for &r in &s[..s.len() - 1] {
            let last = *c.last().unwrap();
            c.push(beta as f32 * last + (1.0 - beta) as f32 * r);
        }
        let got = inverse(Array1::from(c).view(), beta);
        for t in 0..s.len() - 1 {
            assert!((got[t] - s[t]).abs() < 1e-4, "{t}: {} vs {}", got[t], s[t]);
        }
        assert_eq!(got[s.len() - 1], got[s.len() - 2]);
    }

    #[test]
    fn smoothing_keeps_constants_and_skips_nan() {
        let x = array![2.0f32, 2.0, f32::NAN, 2.0, 2.0];
        let y = smooth(x.view(), 1.5);
        assert!(y.iter().all(|v| (v - 2.0).abs() < 1e-6), "{y}");
        // numpy: g = exp(-0.5 * (arange(-3, 4) / 1.0)**2); (g / g.sum())[3] (centre weight)
        let mut impulse = Array1::<f32>::zeros(13);
        impulse[6] = 1.0;
        let y = smooth(impulse.view(), 1.0);
        assert!((y[6] - 0.399_050_27).abs() < 1e-6, "{}", y[6]);
        assert!((y.sum() - 1.0).abs() < 1e-6);
        assert!(smooth(x.view(), 0.0)[2].is_nan());
    }
}
