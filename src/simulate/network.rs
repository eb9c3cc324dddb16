//! The ground-truth circuit: units ordered area → layer → cell type, a Dale's-law recurrent matrix
//! `W[post, pre]` drawn block by block from connection probabilities, and input weights.

use super::config::{per_type, SimConfig};
use super::stimulus::INPUT_NAMES;
use crate::connectivity::{Pattern, Population, ProbabilityTable};
use crate::data::Sign;
use crate::error::{Error, Result};
use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

/// The simulated circuit.
#[derive(Debug, Clone)]
pub struct Network {
    /// Population of each unit, in unit order.
    pub units: Vec<Population>,
    /// Sign of each unit (of its outgoing column of `w_rec`).
    pub signs: Vec<Sign>,
    /// `W[post, pre]`, `[n_units, n_units]`, scaled to the requested spectral radius.
    pub w_rec: Array2<f32>,
    /// `[n_units, n_inputs]` over [`INPUT_NAMES`].
    pub w_in: Array2<f32>,
    /// Rate time constant per unit, ms.
    pub tau_ms: Vec<f32>,
    /// Constant drive per unit.
    pub bias: Vec<f32>,
    /// Spectral radius of `w_rec`.
    pub spectral_radius: f64,
}

/// Cell types in unit order: `cell_type_order` if given, else excitatory types then inhibitory,
/// each alphabetically.
pub fn cell_type_order(cfg: &SimConfig) -> Vec<String> {
    let n = &cfg.network;
    if !n.cell_type_order.is_empty() {
        return n.cell_type_order.clone();
    }
    let mut e: Vec<String> = n
        .cell_types
        .iter()
        .filter(|(_, s)| **s == Sign::E)
        .map(|(t, _)| t.clone())
        .collect();
    let i: Vec<String> = n
        .cell_types
        .iter()
        .filter(|(_, s)| **s == Sign::I)
        .map(|(t, _)| t.clone())
        .collect();
    e.extend(i);
    e
}

/// Units per population after scaling: `round(size · scale)`, at least 1 when the size is > 0.
pub fn population_size(size: f64, scale: f64) -> usize {
    if size <= 0.0 {
        0
    } else {
        ((size * scale).round() as usize).max(1)
    }
}

/// The strength factor of every (post, pre) population block, `[n_pops, n_pops]`: `exp(σ z)` with
/// `σ = network.weights.block_log_std` and `z` standard normal, from a stream of its own (so that a
/// config without block factors draws exactly the weights it always did); all ones when σ = 0.
pub fn block_strengths(cfg: &SimConfig, n_pops: usize) -> Array2<f64> {
    let sigma = cfg.network.weights.block_log_std;
    if sigma <= 0.0 {
        return Array2::ones((n_pops, n_pops));
    }
    use rand::SeedableRng;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x000b_10c5_7e46_7415);
    let normal = rand_distr::StandardNormal;
    Array2::from_shape_fn((n_pops, n_pops), |_| {
        let z: f64 = normal.sample(&mut rng);
        (sigma * z).exp()
    })
}

/// Build the circuit from `cfg` and the probability table, drawing from `rng`.
pub fn build_network(
    cfg: &SimConfig,
    table: &ProbabilityTable,
    rng: &mut ChaCha8Rng,
) -> Result<Network> {
    let n = &cfg.network;
    let types = cell_type_order(cfg);
    let mut units = Vec::new();
    for area in &n.areas {
        for layer in &n.layers {
            for t in &types {
                let size = n.population_sizes[area].get(t).copied().unwrap_or(0.0);
                for _ in 0..population_size(size, n.scale) {
                    units.push(Population::new(area, layer, t));
                }
            }
        }
    }
    let nu = units.len();
    let signs: Vec<Sign> = units.iter().map(|u| n.cell_types[&u.cell_type]).collect();
    let lognormal = LogNormal::new(n.weights.log_mean, n.weights.log_std)
        .map_err(|e| Error::bug("simulating the weights", e.to_string()))?;

    // Probabilities per (post population, pre population), looked up once per block.
    let mut w = Array2::<f32>::zeros((nu, nu));
    let mut prob_cache: std::collections::HashMap<(usize, usize), f64> = Default::default();
    let pop_index: Vec<usize> = {
        let mut labels: Vec<&Population> = Vec::new();
        units
            .iter()
            .map(|u| match labels.iter().position(|l| *l == u) {
                Some(k) => k,
                None => {
                    labels.push(u);
                    labels.len() - 1
                }
            })
            .collect()
    };
    let block_factor = block_strengths(cfg, pop_index.iter().max().map_or(0, |m| m + 1));
    for i in 0..nu {
        for j in 0..nu {
            let p = *prob_cache
                .entry((pop_index[i], pop_index[j]))
                .or_insert_with(|| table.probability(&units[j], &units[i]));
            let u: f64 = rng.random();
            if i == j || u >= p {
                continue;
            }
            let mag = lognormal.sample(rng)
                * block_factor[[pop_index[i], pop_index[j]]]
                * if signs[j] == Sign::I {
                    n.weights.inhibitory_gain
                } else {
                    1.0
                };
            w[[i, j]] = (mag * signs[j].value() as f64) as f32;
        }
    }
    let rho0 = crate::linalg::spectral_radius(&w)?;
    if rho0 <= 0.0 {
        return Err(Error::Unsupported {
            problem: "the simulated recurrent matrix is nilpotent or empty (spectral radius 0)"
                .into(),
            fix: "raise the connection probabilities or network.scale".into(),
        });
    }
    w.mapv_inplace(|x| (x as f64 * n.spectral_radius / rho0) as f32);
    let spectral_radius = crate::linalg::spectral_radius(&w)?;

    let mut w_in = Array2::<f32>::zeros((nu, INPUT_NAMES.len()));
    let jitter = LogNormal::new(0.0, 0.3).expect("valid");
    for (k, name) in INPUT_NAMES.iter().enumerate() {
        for target in n.input_targets.get(*name).map(Vec::as_slice).unwrap_or(&[]) {
            let pat = Pattern::parse(&target.post).expect("validated");
            for (i, u) in units.iter().enumerate() {
                if pat.matches(u) {
                    w_in[[i, k]] += (target.weight * jitter.sample(rng)) as f32;
                }
            }
        }
    }
    let tau_ms = units
        .iter()
        .map(|u| per_type(&n.tau_ms, &u.cell_type).unwrap_or(100.0) as f32)
        .collect();
    let bias = units
        .iter()
        .map(|u| per_type(&n.baseline_drive, &u.cell_type).unwrap_or(0.0) as f32)
        .collect();
    Ok(Network {
        units,
        signs,
        w_rec: w,
        w_in,
        tau_ms,
        bias,
        spectral_radius,
    })
}
