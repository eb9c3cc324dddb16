//! Current decomposition (Perich et al. 2021, CURBD): the recurrent input to target unit i from a
//! source block S is `I_{i←S}(t) = Σ_{j∈S} W[i, j] r_j(t)` (`W[post, pre]`). Sources are blocks at a
//! level split by the sign of their units (E or I), so the excitatory and inhibitory parts of a
//! mixed block are reported apart. Summing `I_{i←S}` over all sources gives the unit's total
//! recurrent input `Σ_j W[i, j] r_j(t)` exactly.

use super::blocks::{blocks_of, Level};
use crate::connectivity::Population;
use crate::data::Sign;
use ndarray::{Array2, Array3, ArrayView2, Axis};

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

/// The current decomposition of one simulation at one level.
#[derive(Debug, Clone)]
pub struct Decomposition {
    /// Block labels at the level (targets, and the blocks sources belong to).
    pub labels: Vec<String>,
    /// Sources: (index into `labels`, sign of its units).
    pub sources: Vec<(usize, Sign)>,
    /// `[time, target, source]`: `I_{i←S}(t)` averaged over the units i of each target block.
    pub course: Array3<f32>,
    /// Mean over units and time of `I_{i←S}(t)`, `[target, source]` (in f64).
    pub mean: Array2<f64>,
    /// Mean over units and time of `|I_{i←S}(t)|`, `[target, source]`.
    pub mean_abs: Array2<f64>,
}

impl Decomposition {
    /// Decompose the recurrent input of `units` (with their `signs`) at `level`, for rates `r`
    /// (`[time, n]`) under `w` (`W[post, pre]`, `[n, n]`). One matrix product per source block.
    pub fn new(
        units: &[Population],
        signs: &[Sign],
        level: Level,
        w: &Array2<f32>,
        r: ArrayView2<f32>,
    ) -> Self {
        let (labels, block) = blocks_of(units, level);
        let mut sources: Vec<(usize, Sign, Vec<usize>)> = Vec::new();
        for (j, (&b, &s)) in block.iter().zip(signs).enumerate() {
            match sources.iter_mut().find(|x| x.0 == b && x.1 == s) {
                Some(x) => x.2.push(j),
                None => sources.push((b, s, vec![j])),
            }
        }
        let k = labels.len();
        let steps = r.nrows();
        let mut counts = vec![0usize; k];
        for &b in &block {
            counts[b] += 1;
        }
        let mut course = Array3::<f32>::zeros((steps, k, sources.len()));
        let mut mean = Array2::<f64>::zeros((k, sources.len()));
        let mut mean_abs = Array2::<f64>::zeros((k, sources.len()));
        for (s, (_, _, members)) in sources.iter().enumerate() {
            // I[t, i] = Σ_{j∈S} r_j(t) W[i, j]
            let current = r
                .select(Axis(1), members)
                .dot(&w.select(Axis(1), members).t());
            for (t, row) in current.rows().into_iter().enumerate() {
                let mut sum = vec![0f64; k];
                for (i, &c) in row.iter().enumerate() {
                    sum[block[i]] += c as f64;
                    mean_abs[[block[i], s]] += (c as f64).abs();
                }
                for (b, v) in sum.iter().enumerate() {
                    course[[t, b, s]] = (v / counts[b] as f64) as f32;
                    mean[[b, s]] += v;
                }
            }
        }
        for b in 0..k {
            for s in 0..sources.len() {
                mean[[b, s]] /= (counts[b] * steps.max(1)) as f64;
                mean_abs[[b, s]] /= (counts[b] * steps.max(1)) as f64;
            }
        }
        Decomposition {
            labels,
            sources: sources.into_iter().map(|(b, s, _)| (b, s)).collect(),
            course,
            mean,
            mean_abs,
        }
    }

    /// The time-averaged currents, one row per (source, target).
    pub fn rows(&self) -> Vec<CurrentRow> {
        let mut out = Vec::new();
        for (s, (b, sign)) in self.sources.iter().enumerate() {
            for (t, target) in self.labels.iter().enumerate() {
                out.push(CurrentRow {
                    source: self.labels[*b].clone(),
                    source_sign: *sign,
                    target: target.clone(),
                    mean_current: self.mean[[t, s]],
                    mean_abs_current: self.mean_abs[[t, s]],
                });
            }
        }
        out
    }

    /// Source labels of the time course's last axis, e.g. `VISp/L2/3 (E)`.
    pub fn source_labels(&self) -> Vec<String> {
        self.sources
            .iter()
            .map(|(b, s)| format!("{} ({s})", self.labels[*b]))
            .collect()
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
        let d = Decomposition::new(&units, &signs, Level::AreaLayer, &w, r.view());
        let rows = d.rows();
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
        // Per time step too: the sources of the time course sum to the block's mean total input.
        let total_t = r.dot(&w.t());
        for t in 0..2 {
            let per_t: f32 = d.course.slice(ndarray::s![t, 0, ..]).sum();
            let direct_t = total_t.row(t).sum() / 4.0;
            assert!((per_t - direct_t).abs() < 1e-6, "{per_t} vs {direct_t}");
        }
        let inh = rows.iter().find(|x| x.source_sign == Sign::I).unwrap();
        assert!(inh.mean_current < 0.0);
    }
}
