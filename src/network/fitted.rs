//! A fitted model: a [`Network`] with its fitted parameters and the stages of its weights, and what
//! can be done with it without the trainer: predictions on windows of a dataset and free-running
//! simulations (for evaluation, currents, spectra and perturbations).

use super::Network;
use crate::dataset::{Dataset, Window};
use crate::error::Result;
use crate::model::{Drive, Params, ParamsCpu};
use candle_core::{Device, Tensor};
use ndarray::Array2;

/// A network and its fitted parameters: what `train::fit` produces and what
/// `rundir::RunDir::load_fitted` reads back from a run directory.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// Units, signs, probability blocks and the RNN's structure (on its device).
    pub network: Network,
    /// The final parameters (best checkpoint of the last phase).
    pub params: ParamsCpu,
    /// The final connectivity mask (0/1), `[n, n]`.
    pub mask: Array2<f32>,
    /// The initial recurrent weights `W[post, pre]`, `[n, n]`.
    pub w_init: Array2<f32>,
    /// The parameters after the dense phase (best checkpoint), when it ran.
    pub dense: Option<ParamsCpu>,
    /// Whether a fine-tuning phase followed the dense phase (so the `pruned` stage exists).
    pub finetuned: bool,
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

impl Fitted {
    /// The device the network's tensors live on.
    pub fn device(&self) -> Device {
        self.network.sign_row.device().clone()
    }

    /// The weight matrices by stage: `init`, `dense` (after the dense phase), `pruned` (dense
    /// weights under the final mask: where fine-tuning starts) and `final`.
    pub fn stages(&self) -> Vec<(&'static str, Array2<f32>)> {
        let mut s = vec![("init", self.w_init.clone())];
        if let Some(d) = &self.dense {
            s.push(("dense", d.w_rec.clone()));
            if self.finetuned {
                s.push(("pruned", &d.w_rec * &self.mask));
            }
        }
        s.push(("final", self.params.w_rec.clone()));
        s
    }

    /// The parameters of `stage` (`dense`, or `final` for every other stage).
    pub fn params_of(&self, stage: &str) -> &ParamsCpu {
        match (stage, &self.dense) {
            ("dense", Some(d)) => d,
            _ => &self.params,
        }
    }

    /// The final parameters on the network's device.
    pub fn device_params(&self) -> Result<Params> {
        self.params.to_params(&self.device())
    }

    /// `windows` of `ds` stacked as the network takes them (see [`Dataset::batch`]), with the
    /// inferred inputs of `p` appended to the measured ones (see [`crate::model::Rnn::with_latent`]).
    pub fn batch(&self, ds: &Dataset, windows: &[Window], p: &Params) -> Result<(Tensor, Tensor)> {
        let (y, u) = ds.batch(windows, &self.device())?;
        let starts: Vec<usize> = windows.iter().map(|w| w.start).collect();
        let u = self.network.rnn.with_latent(p, &u, &starts)?;
        Ok((y, u))
    }

    /// Predictions and data on `windows` (`[frames, n_traces]` each, frames 1.. of every window in
    /// order) with the frame index of each row, driven as `drive` says.
    pub fn predict(
        &self,
        ds: &Dataset,
        windows: &[Window],
        drive: Drive,
    ) -> Result<(Array2<f32>, Array2<f32>, Vec<usize>)> {
        let device = self.device();
        let p = self.params.to_params(&device)?;
        let n = ds.y.ncols();
        let mut pred = Vec::new();
        let mut frames = Vec::new();
        for w in windows {
            let (y, u) = self.batch(ds, std::slice::from_ref(w), &p)?;
            let out = self.network.rnn.forward(&p, &y, &u, drive)?;
            for (t, o) in out.iter().enumerate() {
                pred.extend(o.flatten_all()?.to_vec1::<f32>()?);
                frames.push(w.start + t + 1);
            }
        }
        let pred = Array2::from_shape_vec((frames.len(), n), pred).expect("one row of n per frame");
        let data = ds.y.select(ndarray::Axis(0), &frames);
        Ok((pred, data, frames))
    }

    /// Simulate the model with parameters `params` freely on `windows` (states set from each
    /// window's first frame as in training, then no data): see [`FreeRun`].
    pub fn free_run(
        &self,
        params: &ParamsCpu,
        ds: &Dataset,
        windows: &[Window],
    ) -> Result<FreeRun> {
        let device = self.device();
        let p = params.to_params(&device)?;
        let n = self.network.signs.len();
        let steps = windows
            .first()
            .map(|w| w.len.saturating_sub(1))
            .unwrap_or(0);
        let samples = windows.len() * steps;
        let mut states = Array2::<f32>::zeros((samples, n));
        let mut rates = Array2::<f32>::zeros((samples, n));
        let mut base = 0;
        for chunk in windows.chunks(64) {
            let (y, u) = self.batch(ds, chunk, &p)?;
            let (xs, rs) = self.network.rnn.states_and_rates(&p, &y, &u)?;
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
}
