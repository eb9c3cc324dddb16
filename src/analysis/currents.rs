//! Current decomposition (Perich et al. 2021, CURBD): the recurrent input to target unit i from a
//! source block S is `I_{i←S}(t) = Σ_{j∈S} W[i, j] r_j(t)` (`W[post, pre]`). Sources are blocks at a
//! level split by the sign of their units (E or I), so the excitatory and inhibitory parts of a
//! mixed block are reported apart. Summing `I_{i←S}` over all sources gives the unit's total
//! recurrent input `Σ_j W[i, j] r_j(t)` exactly.

use super::blocks::{blocks_of, Level};
use crate::connectivity::Population;
use crate::data::Sign;
use ndarray::{Array2, ArrayView2};

/// Time-averaged current from one source to one target block.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentRow {
    /// Source block label.
    pub source: String,
    /// Sign of the source units.
    pub source_sign: Sign,
    /// Target block label.
    pub target: String,
    /// Mean of `I_{i←S}(t)` over the target's units and all time steps.
    pub mean_current: f64,
    /// Mean of `|I_{i←S}(t)|` over the target's units and all time steps.
    pub mean_abs_current: f64,
}

/// Accumulates currents over batches of rates.
#[derive(Debug, Clone)]
pub struct CurrentAccumulator {
    labels: Vec<String>,
    block: Vec<usize>,
    /// Sources: (block, sign) and their units.
    sources: Vec<(usize, Sign, Vec<usize>)>,
    sum: Array2<f64>,
    sum_abs: Array2<f64>,
    steps: usize,
}

impl CurrentAccumulator {
    /// A fresh accumulator for `units` (with their `signs`) at `level`.
    pub fn new(units: &[Population], signs: &[Sign], level: Level) -> Self {
        let (labels, block) = blocks_of(units, level);
        let mut sources: Vec<(usize, Sign, Vec<usize>)> = Vec::new();
        for (j, (&b, &s)) in block.iter().zip(signs).enumerate() {
            match sources.iter_mut().find(|x| x.0 == b && x.1 == s) {
                Some(x) => x.2.push(j),
                None => sources.push((b, s, vec![j])),
            }
        }
        let k = labels.len();
        CurrentAccumulator {
            sum: Array2::zeros((sources.len(), k)),
            sum_abs: Array2::zeros((sources.len(), k)),
            labels,
            block,
            sources,
            steps: 0,
        }
    }

    /// Add the currents of rates `r` (`[samples, n]`, one row per time step and window) under
    /// `w` (`W[post, pre]`, `[n, n]`).
    pub fn add(&mut self, w: &Array2<f32>, r: ArrayView2<f32>) {
        let n = w.nrows();
        let k = self.labels.len();
        let mut counts = vec![0usize; k];
        for &b in &self.block {
            counts[b] += 1;
        }
        for (s, (_, _, members)) in self.sources.iter().enumerate() {
            for row in r.rows() {
                for i in 0..n {
                    let c: f64 = members
                        .iter()
                        .map(|&j| w[[i, j]] as f64 * row[j] as f64)
                        .sum();
                    let t = self.block[i];
                    self.sum[[s, t]] += c / counts[t] as f64;
                    self.sum_abs[[s, t]] += c.abs() / counts[t] as f64;
                }
            }
        }
        self.steps += r.nrows();
    }

    /// The time-averaged currents, one row per (source, target).
    pub fn rows(&self) -> Vec<CurrentRow> {
        let steps = self.steps.max(1) as f64;
        let mut out = Vec::new();
        for (s, (b, sign, _)) in self.sources.iter().enumerate() {
            for (t, target) in self.labels.iter().enumerate() {
                out.push(CurrentRow {
                    source: self.labels[*b].clone(),
                    source_sign: *sign,
                    target: target.clone(),
                    mean_current: self.sum[[s, t]] / steps,
                    mean_abs_current: self.sum_abs[[s, t]] / steps,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_sum_to_the_total_recurrent_input() {
        let units: Vec<Population> = ["Slc17a7", "Slc17a7", "Sst", "Vip"]
            .iter()
            .map(|t| Population::new("VISp", "L2/3", t))
            .collect();
        let signs = [Sign::E, Sign::E, Sign::I, Sign::I];
        let w = ndarray::array![
            [0.0f32, 0.5, -1.0, -0.2],
            [0.3, 0.0, -0.4, 0.0],
            [0.2, 0.1, 0.0, -0.3],
            [0.6, 0.0, -0.5, 0.0]
        ];
        let r = ndarray::array![[1.0f32, 0.5, 2.0, 0.0], [0.2, 0.0, 1.0, 3.0]];
        let mut acc = CurrentAccumulator::new(&units, &signs, Level::AreaLayer);
        acc.add(&w, r.view());
        let rows = acc.rows();
        assert_eq!(
            rows.len(),
            2,
            "one E and one I source in the single area-layer block"
        );
        let total: f64 = rows.iter().map(|x| x.mean_current).sum();
        // Mean over units and time of Σ_j W[i, j] r_j(t).
        let direct = r.dot(&w.t()).iter().map(|&v| v as f64).sum::<f64>() / 8.0;
        // `direct` is summed in f32 by ndarray; the decomposition in f64.
        assert!((total - direct).abs() < 1e-6, "{total} vs {direct}");
        let inh = rows.iter().find(|x| x.source_sign == Sign::I).unwrap();
        assert!(inh.mean_current < 0.0);
    }
}
