//! Cutting each plane's population-mean trace around trial events onto a fixed output clock.

use crate::data::{interp, Recording};
use std::collections::BTreeMap;

/// Trial traces pooled by `(condition, population)`: each trace has `n_frames` values.
pub type Pooled = BTreeMap<(String, String), Vec<Vec<f64>>>;

/// The output clock of a window: `n = round((stop − start) · rate)` frames at
/// `start + j / rate` seconds from the event, `j = 0..n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowClock {
    /// Window start relative to the event, s (e.g. −0.75).
    pub start_s: f64,
    /// Window stop relative to the event, s (e.g. +0.75).
    pub stop_s: f64,
    /// Output frame rate, Hz.
    pub rate_hz: f64,
}

impl WindowClock {
    /// Frames per window.
    pub fn n_frames(&self) -> usize {
        ((self.stop_s - self.start_s) * self.rate_hz).round() as usize
    }
    /// Offsets from the event in seconds, `[n_frames]`.
    pub fn offsets_s(&self) -> Vec<f64> {
        (0..self.n_frames())
            .map(|j| self.start_s + j as f64 / self.rate_hz)
            .collect()
    }
    /// The frame nearest the event (offset 0), clamped into the window.
    pub fn event_frame(&self) -> usize {
        ((-self.start_s * self.rate_hz).round().max(0.0) as usize).min(self.n_frames() - 1)
    }
}

/// Add `rec`'s trials whose condition is in `conditions` to `pooled`: for every population in
/// the plane, the mean over its neurons' raw traces, linearly interpolated at
/// `trial start + offsets`. Trials whose window leaves the imaged interval are skipped. Returns
/// how many trials were skipped.
pub fn add_plane(
    rec: &Recording,
    conditions: &[String],
    clock: &WindowClock,
    pooled: &mut Pooled,
) -> usize {
    let Some(trials) = &rec.trials else {
        return 0;
    };
    let t = &rec.timestamps_s;
    let mut pops: Vec<(String, Vec<usize>)> = Vec::new();
    for i in 0..rec.n_neurons() {
        let p = rec.neurons.population(i);
        match pops.iter_mut().find(|(q, _)| *q == p) {
            Some((_, m)) => m.push(i),
            None => pops.push((p, vec![i])),
        }
    }
    let means: Vec<Vec<f64>> = pops
        .iter()
        .map(|(_, members)| {
            (0..rec.n_frames())
                .map(|f| {
                    members
                        .iter()
                        .map(|&i| rec.traces[[f, i]] as f64)
                        .sum::<f64>()
                        / members.len() as f64
                })
                .collect()
        })
        .collect();
    let offsets = clock.offsets_s();
    let mut skipped = 0;
    for k in 0..trials.start_s.len() {
        let cond = &trials.condition[k];
        if !conditions.contains(cond) {
            continue;
        }
        let at: Vec<f64> = offsets.iter().map(|o| trials.start_s[k] + o).collect();
        if at[0] < t[0] || at[at.len() - 1] > t[t.len() - 1] {
            skipped += 1;
            continue;
        }
        for ((pop, _), mean) in pops.iter().zip(&means) {
            let trace = at.iter().map(|&x| interp::linear(t, mean, x)).collect();
            pooled
                .entry((cond.clone(), pop.clone()))
                .or_default()
                .push(trace);
        }
    }
    skipped
}
