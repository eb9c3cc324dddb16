//! Inferred inputs (`model.latent_inputs`): input channels whose time course is learned with the
//! weights, for drive the recording does not measure. Each channel is linear between knots
//! `frames_per_knot` frames apart, so a window reads
//!
//! ```text
//! z(f) = (1 − w) · Z[k] + w · Z[k + 1]      k = ⌊f / frames_per_knot⌋, w = f / frames_per_knot − k
//! ```
//!
//! for its frames f, with `Z` the knots `[n_knots, n_channels]` (a trainable parameter,
//! [`super::Params::latent`]). The channels follow the measured inputs in `u`, and only the units
//! of a channel's own area read it ([`LatentDrive::input_mask`]).

use candle_core::{DType, Device, Result, Tensor};

/// The inferred inputs' layout: how many, on which knots, read by which units.
#[derive(Debug, Clone)]
pub struct LatentDrive {
    /// Measured input channels, which come first in `u`.
    pub n_measured: usize,
    /// Inferred channels, appended after the measured ones.
    pub n_channels: usize,
    /// Frames between two knots (> 0).
    pub frames_per_knot: f64,
    /// Knots, enough to cover every frame of the recording (≥ 2).
    pub n_knots: usize,
    /// Which unit reads which input: `[n_units, n_measured + n_channels]`, 1 on every measured
    /// column and on the channels of the unit's own area, 0 elsewhere.
    pub input_mask: Tensor,
    /// Weight of the penalty `l2 · Σ Z² / n_knots`.
    pub l2: f64,
}

impl LatentDrive {
    /// Knots that cover `n_frames` frames `frames_per_knot` apart (at least 2).
    pub fn knots_for(n_frames: usize, frames_per_knot: f64) -> usize {
        let last = n_frames.saturating_sub(1) as f64 / frames_per_knot;
        (last.ceil() as usize + 1).max(2)
    }

    /// The knot below frame `f` and the weight of the knot above it.
    pub fn locate(&self, f: usize) -> (usize, f32) {
        let pos = f as f64 / self.frames_per_knot;
        let k = (pos.floor() as usize).min(self.n_knots - 2);
        (k, (pos - k as f64).clamp(0.0, 1.0) as f32)
    }

    /// The values at frame `f` of every column of `knots` (`[n_knots, columns]`, on the host).
    pub fn at(&self, knots: ndarray::ArrayView2<f32>, f: usize) -> ndarray::Array1<f32> {
        let (k, w) = self.locate(f);
        &knots.row(k) * (1.0 - w) + &knots.row(k + 1) * w
    }

    /// The channels' values at frames `starts[b] + t` for `t < t_len`: `[t_len, batch,
    /// n_channels]`, differentiable in `knots` (`[n_knots, n_channels]`).
    pub fn values(&self, knots: &Tensor, starts: &[usize], t_len: usize) -> Result<Tensor> {
        let rows = t_len * starts.len();
        let (mut lo, mut hi, mut w) = (
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
        );
        for t in 0..t_len {
            for &s in starts {
                let (k, wk) = self.locate(s + t);
                lo.push(k as u32);
                hi.push(k as u32 + 1);
                w.push(wk);
            }
        }
        let dev = knots.device();
        let lo = Tensor::from_vec(lo, rows, dev)?;
        let hi = Tensor::from_vec(hi, rows, dev)?;
        let w = Tensor::from_vec(w, (rows, 1), dev)?;
        let below = knots.index_select(&lo, 0)?;
        let above = knots.index_select(&hi, 0)?;
        let z = (below.broadcast_mul(&(w.neg()? + 1.0)?)? + above.broadcast_mul(&w)?)?;
        z.reshape((t_len, starts.len(), self.n_channels))
    }

    /// The mask of inputs each unit reads: measured inputs for all, channel `a · per_area + k`
    /// for the units of area `a` (`area_of[i]`: the area index of unit i).
    pub fn mask_for(
        area_of: &[usize],
        n_measured: usize,
        per_area: usize,
        device: &Device,
    ) -> Result<Tensor> {
        let n_areas = area_of.iter().max().map_or(0, |m| m + 1);
        let d = n_measured + n_areas * per_area;
        let mut m = vec![0f32; area_of.len() * d];
        for (i, &a) in area_of.iter().enumerate() {
            m[i * d..i * d + n_measured].fill(1.0);
            m[i * d + n_measured + a * per_area..i * d + n_measured + (a + 1) * per_area].fill(1.0);
        }
        Tensor::from_vec(m, (area_of.len(), d), device)
    }

    /// The penalty's gradient `2 · l2 · Z / n_knots` for the knots `z`.
    pub fn penalty_grad(&self, z: &Tensor) -> Result<Tensor> {
        z * (2.0 * self.l2 / self.n_knots as f64)
    }

    /// Zero knots `[n_knots, n_channels]`.
    pub fn zeros(&self, device: &Device) -> Result<Tensor> {
        Tensor::zeros((self.n_knots, self.n_channels), DType::F32, device)
    }
}
