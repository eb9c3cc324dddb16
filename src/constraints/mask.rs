//! Blocks of `W[post, pre]` between populations, their connection probabilities, and masks.

use crate::connectivity::{Population, ProbabilityTable};
use ndarray::Array2;
use rand::Rng;

/// The population of every unit, in unit order, with the index ranges of each population.
#[derive(Debug, Clone)]
pub struct UnitPopulations {
    /// Population per unit.
    pub units: Vec<Population>,
    /// Distinct populations in order of first appearance.
    pub populations: Vec<Population>,
    /// Units of each population (indices into `units`).
    pub members: Vec<Vec<usize>>,
}

impl UnitPopulations {
    /// Group `units` by population.
    pub fn new(units: Vec<Population>) -> Self {
        let mut populations: Vec<Population> = Vec::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (i, u) in units.iter().enumerate() {
            match populations.iter().position(|p| p == u) {
                Some(k) => members[k].push(i),
                None => {
                    populations.push(u.clone());
                    members.push(vec![i]);
                }
            }
        }
        UnitPopulations {
            units,
            populations,
            members,
        }
    }
    /// Number of units.
    pub fn len(&self) -> usize {
        self.units.len()
    }
    /// True when there are no units.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

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
