//! Blocks of `W[post, pre]` between populations, their connection probabilities, and masks.

use crate::connectivity::{ProbabilityTable, UnitPopulations};
use ndarray::Array2;
use rand::Rng;

/// Connection probability of every (post population, pre population) block.
#[derive(Debug, Clone)]
pub struct Blocks {
    /// The units and their populations.
    pub units: UnitPopulations,
    /// `prob[[post_pop, pre_pop]]`.
    pub prob: Array2<f64>,
}

impl Blocks {
    /// Look up every block's probability in `table`.
    pub fn new(units: UnitPopulations, table: &ProbabilityTable) -> Self {
        let k = units.populations.len();
        let prob = Array2::from_shape_fn((k, k), |(post, pre)| {
            table.probability(&units.populations[pre], &units.populations[post])
        });
        Blocks { units, prob }
    }

    /// Iterate over blocks as (post units, pre units, probability).
    pub fn iter(&self) -> impl Iterator<Item = (&[usize], &[usize], f64)> + '_ {
        let k = self.units.populations.len();
        (0..k).flat_map(move |post| {
            (0..k).map(move |pre| {
                (
                    self.units.members[post].as_slice(),
                    self.units.members[pre].as_slice(),
                    self.prob[[post, pre]],
                )
            })
        })
    }

    /// 0/1 mask `[n, n]` that allows every block with probability > 0 (the dense phase's support).
    pub fn support(&self) -> Array2<f32> {
        let n = self.units.len();
        let mut m = Array2::zeros((n, n));
        for (post, pre, p) in self.iter() {
            if p > 0.0 {
                for &i in post {
                    for &j in pre {
                        m[[i, j]] = 1.0;
                    }
                }
            }
        }
        m
    }

    /// 0/1 mask `[n, n]` with each entry drawn independently at its block's probability
    /// (`realisation: bernoulli`). Entries are drawn in row-major order, one uniform each.
    pub fn bernoulli<R: Rng>(&self, rng: &mut R) -> Array2<f32> {
        let n = self.units.len();
        let mut p_unit = Array2::<f64>::zeros((n, n));
        for (post, pre, p) in self.iter() {
            for &i in post {
                for &j in pre {
                    p_unit[[i, j]] = p;
                }
            }
        }
        p_unit.mapv(|p| (rng.random::<f64>() < p) as u8 as f32)
    }
}
