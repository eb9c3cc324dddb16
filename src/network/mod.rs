//! A network's structure, built from a config and a dataset: the population and sign of every unit
//! (recorded neurons, hidden units, or population units), the probability blocks of its mask, the
//! RNN ([`Rnn`]: leaks, nonlinearity, readout, observation model), and how its mask and weights are
//! initialised (drawn on the CPU from the seed, then moved to the device). [`Fitted`] is a network
//! with its fitted parameters: what the analyses, the evaluation and the report read.

mod fitted;

pub use fitted::{Fitted, FreeRun};

use crate::config::{Config, InitKind, MaskRealisation, ModelMode, Readout};
use crate::connectivity::{Population, ProbabilityTable, UnitPopulations};
use crate::constraints::init::{balanced_dale, colei_dale, uniform_dale};
use crate::constraints::Blocks;
use crate::data::Sign;
use crate::dataset::Dataset;
use crate::error::Result;
use crate::model::{to_array2, Calcium, LatentDrive, LearnedTau, ParamsCpu, Rnn};
use candle_core::{Device, Tensor};
use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The fixed structure of a network.
#[derive(Debug, Clone)]
pub struct Network {
    /// Population of every unit, in unit order.
    pub units: UnitPopulations,
    /// Sign of every unit.
    pub signs: Vec<Sign>,
    /// `[1, n]` of ±1 on the device, one per presynaptic column.
    pub sign_row: Tensor,
    /// Block probabilities, when the config names a table.
    pub blocks: Option<Blocks>,
    /// The network's structure.
    pub rnn: Rnn,
    /// Fixed readout offsets of a frozen random readout (`mode: populations`).
    pub readout_offset: Option<Vec<f32>>,
    /// Measured input channels (measured inputs, then traces when they are inputs too); the
    /// inferred inputs ([`Network::latent_areas`]) follow them in `W_in`.
    pub n_inputs: usize,
    /// The area of each inferred input channel (`model.latent_inputs`), in channel order;
    /// empty without them.
    pub latent_areas: Vec<String>,
    /// Calcium observation: the indicator groups (cell types) and their initial `ln τ_decay` (ms).
    pub calcium_groups: Vec<(String, f32)>,
    /// Learned time constants (`model.learn_tau`): the cell types and their initial `ln τ` (ms);
    /// empty when the time constants are fixed.
    pub tau_groups: Vec<(String, f32)>,
}

/// The sorted distinct `labels` (groups) and the one-hot `[n_groups, n_labels]` matrix (row-major)
/// that puts each label in its group.
fn one_hot_groups<'a>(labels: impl Iterator<Item = &'a str> + Clone) -> (Vec<String>, Vec<f32>) {
    let mut groups: Vec<String> = labels.clone().map(str::to_string).collect();
    groups.sort();
    groups.dedup();
    let n = labels.clone().count();
    let mut onehot = vec![0f32; groups.len() * n];
    for (j, l) in labels.enumerate() {
        let g = groups.iter().position(|x| x == l).expect("listed");
        onehot[g * n + j] = 1.0;
    }
    (groups, onehot)
}

/// The calcium readout, its group (cell type) names and their initial `ln τ_decay`.
type CalciumSetup = (Calcium, Vec<String>, Vec<f32>);

/// The calcium observation of `cfg` over the targets of `ds`: one group per cell type among the
/// targets (sorted), each starting at its `calcium_decay_ms`.
fn calcium_readout(
    cfg: &Config,
    ds: &Dataset,
    dt_ms: f64,
    device: &Device,
) -> Result<Option<CalciumSetup>> {
    if cfg.model.observation != crate::model::Observation::Calcium {
        return Ok(None);
    }
    let (groups, onehot) = one_hot_groups(ds.targets.iter().map(|t| t.cell_type.as_str()));
    let n_t = ds.targets.len();
    let log_tau: Vec<f32> = groups
        .iter()
        .map(|g| {
            let tau = cfg
                .model
                .calcium_decay_ms
                .get(g)
                .or_else(|| cfg.model.calcium_decay_ms.get("default"))
                .copied()
                .unwrap_or(500.0);
            tau.ln() as f32
        })
        .collect();
    let c = Calcium {
        dt_ms,
        groups: Tensor::from_slice(&onehot, (groups.len(), n_t), device)?,
    };
    Ok(Some((c, groups, log_tau)))
}

/// `(group, initial ms, learned ms)` from the groups with their initial `ln τ` and the learned
/// `ln τ` per group.
fn learned_ms(groups: &[(String, f32)], learned: &[f32]) -> Vec<(String, f32, f32)> {
    groups
        .iter()
        .zip(learned)
        .map(|((g, l0), l)| (g.clone(), l0.exp(), l.exp()))
        .collect()
}

/// The configured time constant of `cell_type` in ms (`model.tau_ms`, then its `default`).
fn configured_tau_ms(cfg: &Config, cell_type: &str) -> f64 {
    cfg.model
        .tau_ms
        .get(cell_type)
        .or_else(|| cfg.model.tau_ms.get("default"))
        .copied()
        .unwrap_or(100.0)
}

/// Learned time constants and their cell types with initial `ln τ` (ms).
type TauSetup = (LearnedTau, Vec<(String, f32)>);

/// Learned time constants for `units` (`model.learn_tau`): one group per cell type (sorted),
/// each starting at its configured τ, raised to one frame where it is shorter. `None` when the
/// time constants are fixed.
fn learned_tau(
    cfg: &Config,
    units: &UnitPopulations,
    dt_ms: f64,
    device: &Device,
) -> Result<Option<TauSetup>> {
    if !cfg.model.learn_tau {
        return Ok(None);
    }
    let (types, onehot) = one_hot_groups(units.units.iter().map(|u| u.cell_type.as_str()));
    let n = units.units.len();
    let groups = types
        .into_iter()
        .map(|t| {
            let tau = configured_tau_ms(cfg, &t).max(dt_ms);
            (t, tau.ln() as f32)
        })
        .collect();
    let tau = LearnedTau {
        dt_ms,
        groups: Tensor::from_slice(&onehot, (onehot.len() / n.max(1), n), device)?,
    };
    Ok(Some((tau, groups)))
}

/// The inferred inputs of `cfg` (`model.latent_inputs`) for `units` over the frames of `ds`,
/// with the area of each channel; `None` when the config asks for none.
fn latent_drive(
    cfg: &Config,
    ds: &Dataset,
    units: &UnitPopulations,
    device: &Device,
) -> Result<Option<(LatentDrive, Vec<String>)>> {
    let spec = &cfg.model.latent_inputs;
    if spec.per_area == 0 {
        return Ok(None);
    }
    let mut areas: Vec<String> = Vec::new();
    let area_of: Vec<usize> = units
        .units
        .iter()
        .map(|u| match areas.iter().position(|a| *a == u.area) {
            Some(k) => k,
            None => {
                areas.push(u.area.clone());
                areas.len() - 1
            }
        })
        .collect();
    let n_measured = ds.u.ncols();
    let frames_per_knot = (spec.knot_s * ds.recording.frame_rate_hz).max(1.0);
    let drive = LatentDrive {
        n_measured,
        n_channels: areas.len() * spec.per_area,
        frames_per_knot,
        n_knots: LatentDrive::knots_for(ds.y.nrows(), frames_per_knot),
        input_mask: LatentDrive::mask_for(&area_of, n_measured, spec.per_area, device)?,
        l2: spec.l2,
    };
    let channel_areas = areas
        .iter()
        .flat_map(|a| std::iter::repeat_n(a.clone(), spec.per_area))
        .collect();
    Ok(Some((drive, channel_areas)))
}

impl Network {
    /// Build the structure for `cfg` over the neurons of `ds`.
    pub fn new(cfg: &Config, ds: &Dataset, device: &Device) -> Result<Network> {
        require_model_memory(planned_units(cfg, ds))?;
        if cfg.model.mode == ModelMode::Populations {
            return Self::new_populations(cfg, ds, device);
        }
        let nt = &ds.recording.neurons;
        let mut pops: Vec<Population> = (0..nt.len())
            .map(|i| Population::new(&nt.area[i], &nt.layer[i], &nt.cell_type[i]))
            .collect();
        let mut signs = ds.signs.clone();
        let n_rec = pops.len();
        // Hidden units: for every recorded (area, layer), `hidden_units[type]` units of each type,
        // appended after the recorded units in area → layer → cell type order.
        let mut area_layers: Vec<(String, String)> = Vec::new();
        for p in &pops {
            let al = (p.area.clone(), p.layer.clone());
            if !area_layers.contains(&al) {
                area_layers.push(al);
            }
        }
        for (area, layer) in &area_layers {
            for (cell_type, &count) in &cfg.model.hidden_units {
                let sign = cfg.data.cell_types.get(cell_type).copied().ok_or_else(|| {
                    crate::error::Error::bug(
                        "building the network",
                        format!("model.hidden_units: cell type `{cell_type}` passed validation without a sign in data.cell_types"),
                    )
                })?;
                for _ in 0..count {
                    pops.push(Population::new(area, layer, cell_type));
                    signs.push(sign);
                }
            }
        }
        Self::assemble(cfg, ds, device, pops, signs, n_rec, None)
    }

    /// `mode: populations`: `units_per_population[cell_type]` units for every fitted population,
    /// read out by the mean of the population's units or a frozen random readout.
    fn new_populations(cfg: &Config, ds: &Dataset, device: &Device) -> Result<Network> {
        let mut pops = Vec::new();
        let mut signs = Vec::new();
        let mut members = Vec::new();
        for (k, t) in ds.targets.iter().enumerate() {
            let n = cfg
                .model
                .units_per_population
                .get(&t.cell_type)
                .copied()
                .unwrap_or(0);
            if n == 0 {
                return Err(crate::error::Error::Unsupported {
                    problem: format!(
                        "model.units_per_population has no units for cell type `{}` (population {})",
                        t.cell_type, t.population
                    ),
                    fix: format!("add `{}: N` under model.units_per_population", t.cell_type),
                });
            }
            let p = Population::from_label(&t.population)
                .expect("population labels are area/layer/cell_type");
            let first = pops.len();
            for _ in 0..n {
                pops.push(p.clone());
                signs.push(ds.signs[k]);
            }
            members.push((first, n));
        }
        // The readout is drawn from its own stream (seed + 1), independent of the weights.
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(cfg.seed.wrapping_add(1));
        let (n, p) = (pops.len(), ds.targets.len());
        let mut rt = Array2::<f32>::zeros((n, p));
        let mut offsets = vec![0f32; p];
        for (k, &(first, count)) in members.iter().enumerate() {
            let bound = 1.0 / (count as f64).sqrt();
            for j in first..first + count {
                rt[[j, k]] = match cfg.model.readout {
                    Readout::Mean => 1.0 / count as f32,
                    Readout::FrozenRandom => (rng.random::<f64>() * 2.0 * bound - bound) as f32,
                };
            }
            if cfg.model.readout == Readout::FrozenRandom {
                offsets[k] = (rng.random::<f64>() * 2.0 * bound - bound) as f32;
            }
        }
        let rt_t = Tensor::from_slice(rt.as_slice().expect("standard layout"), (n, p), device)?;
        let mut setup = Self::assemble(cfg, ds, device, pops, signs, p, Some(rt_t))?;
        setup.readout_offset = Some(offsets);
        Ok(setup)
    }

    fn assemble(
        cfg: &Config,
        ds: &Dataset,
        device: &Device,
        pops: Vec<Population>,
        signs: Vec<Sign>,
        n_rec: usize,
        readout: Option<Tensor>,
    ) -> Result<Network> {
        let units = UnitPopulations::new(pops);
        let n = signs.len();
        let s: Vec<f32> = signs.iter().map(|s| s.value()).collect();
        let sign_row = Tensor::from_slice(&s, (1, n), device)?;
        let blocks = match &cfg.constraints.mask.table {
            Some(t) => Some(Blocks::new(
                units.clone(),
                &ProbabilityTable::read(t)?.with_pathways(&cfg.constraints.mask.inter_area)?,
            )),
            None => None,
        };
        let dt_ms = 1000.0 / ds.recording.frame_rate_hz;
        let alpha: Vec<f32> = units
            .units
            .iter()
            .map(|u| (dt_ms / configured_tau_ms(cfg, &u.cell_type)).min(1.0) as f32)
            .collect();
        let calcium = calcium_readout(cfg, ds, dt_ms, device)?;
        let tau = learned_tau(cfg, &units, dt_ms, device)?;
        let latent = latent_drive(cfg, ds, &units, device)?;
        let rnn = Rnn {
            n_units: n,
            n_rec,
            alpha: Tensor::from_slice(&alpha, (1, n), device)?,
            tau: tau.as_ref().map(|(t, _)| t.clone()),
            forcing: cfg.training.teacher_forcing,
            activation: cfg.model.activation,
            initial_state: cfg.model.initial_state,
            readout,
            readout_input: cfg.model.readout_input,
            calcium: calcium.as_ref().map(|(c, _, _)| c.clone()),
            latent: latent.as_ref().map(|(l, _)| l.clone()),
            nonnegative_inputs: cfg.model.architecture == crate::config::Architecture::Colei,
        };
        Ok(Network {
            units,
            signs,
            sign_row,
            blocks,
            rnn,
            readout_offset: None,
            n_inputs: ds.u.ncols(),
            latent_areas: latent.map(|(_, a)| a).unwrap_or_default(),
            calcium_groups: calcium
                .map(|(_, g, l)| g.into_iter().zip(l).collect())
                .unwrap_or_default(),
            tau_groups: tau.map(|(_, g)| g).unwrap_or_default(),
        })
    }

    /// Leak `α = dt / τ` per unit under the parameters `p` (`[n]`): the learned time constants
    /// of `p` (`model.learn_tau`), or the configured ones.
    pub fn alpha_values(&self, p: &ParamsCpu) -> Result<Vec<f32>> {
        let alpha = match &self.rnn.tau {
            Some(t) => t.alpha_of_log_tau(&Tensor::from_slice(
                &p.log_tau,
                (1, p.log_tau.len()),
                t.groups.device(),
            )?)?,
            None => self.rnn.alpha.clone(),
        };
        Ok(alpha.flatten_all()?.to_vec1::<f32>()?)
    }

    /// The areas that have inferred inputs, in channel order, and for every unit the index of its
    /// area among them (`None` for a unit whose area has none, or without inferred inputs).
    pub fn latent_area_index(&self) -> (Vec<String>, Vec<Option<usize>>) {
        let mut areas = self.latent_areas.clone();
        areas.dedup();
        let index = self
            .units
            .units
            .iter()
            .map(|u| areas.iter().position(|a| *a == u.area))
            .collect();
        (areas, index)
    }

    /// The learned time constants of `p` per cell type, `(cell type, initial ms, learned ms)`;
    /// empty when they are fixed.
    pub fn learned_tau_ms(&self, p: &ParamsCpu) -> Vec<(String, f32, f32)> {
        learned_ms(&self.tau_groups, &p.log_tau)
    }

    /// The learned indicator decays of `p` per cell type, `(cell type, initial ms, learned ms)`;
    /// empty for a rate readout.
    pub fn learned_calcium_ms(&self, p: &ParamsCpu) -> Vec<(String, f32, f32)> {
        learned_ms(&self.calcium_groups, &p.calcium_log_tau)
    }

    /// The mask the dense phase starts with and the initial parameters.
    /// Mask: the blocks' support (probability > 0), or a Bernoulli draw for
    /// `realisation: bernoulli`, or all ones without a table.
    pub fn initial(
        &self,
        cfg: &Config,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Array2<f32>, Array2<f32>, ParamsCpu)> {
        let n = self.signs.len();
        let mask = match (&self.blocks, cfg.constraints.mask.realisation) {
            (Some(b), MaskRealisation::Bernoulli) => b.bernoulli(rng),
            (Some(b), _) => b.support(),
            (None, _) => Array2::ones((n, n)),
        };
        let colei = cfg.model.architecture == crate::config::Architecture::Colei;
        let mut w = match cfg.constraints.init.kind {
            _ if colei => colei_dale(
                &self.signs,
                &mask,
                cfg.constraints.init.spectral_radius,
                rng,
            )?,
            InitKind::Balanced => balanced_dale(
                &self.signs,
                &mask,
                cfg.constraints.init.spectral_radius,
                rng,
            )?,
            InitKind::Uniform => uniform_dale(&self.signs, &mask, rng),
        };
        if cfg.constraints.dale == crate::config::Dale::None {
            // The unconstrained baseline starts from the same magnitudes with random signs.
            w.mapv_inplace(|v| if rng.random::<bool>() { v } else { -v });
        }
        let d = self.n_inputs;
        let scale = 0.1 / (d.max(1) as f64).sqrt();
        let mut w_in = Array2::from_shape_fn((n, d), |_| {
            let z: f64 = StandardNormal.sample(rng);
            // ColEI reads its inputs through excitatory weights only.
            (if colei { z.abs() } else { z } * scale) as f32
        });
        let mut latent = Array2::zeros((0, 0));
        if let Some(l) = &self.rnn.latent {
            // The inferred channels start at 0, read by their own area's units with weights drawn
            // after the measured ones (so a config without them draws what it always did).
            let mask = to_array2(&l.input_mask)?;
            let lat = Array2::from_shape_fn((n, l.n_channels), |(i, k)| {
                let z: f64 = StandardNormal.sample(rng);
                (z * 0.1) as f32 * mask[[i, d + k]]
            });
            w_in = ndarray::concatenate![ndarray::Axis(1), w_in, lat]
                .as_standard_layout()
                .into_owned();
            latent = Array2::zeros((l.n_knots, l.n_channels));
        }
        let params = ParamsCpu {
            w_rec: w.clone(),
            w_in,
            b: vec![0.0; n],
            gain: vec![1.0; self.rnn.n_rec],
            offset: self
                .readout_offset
                .clone()
                .unwrap_or_else(|| vec![0.0; self.rnn.n_rec]),
            x0: vec![0.0; n],
            calcium_log_tau: self.calcium_groups.iter().map(|g| g.1).collect(),
            log_tau: self.tau_groups.iter().map(|g| g.1).collect(),
            latent,
        };
        Ok((mask, w, params))
    }
}

/// The units the network for `cfg` and `ds` will have, counted before anything is allocated:
/// the recorded neurons plus `hidden_units` per recorded area and layer, or
/// `units_per_population` per fitted population.
pub fn planned_units(cfg: &Config, ds: &Dataset) -> u128 {
    let per_type = |map: &std::collections::BTreeMap<String, usize>, t: &str| {
        map.get(t).copied().unwrap_or(0) as u128
    };
    if cfg.model.mode == ModelMode::Populations {
        return ds
            .targets
            .iter()
            .map(|t| per_type(&cfg.model.units_per_population, &t.cell_type))
            .sum();
    }
    let nt = &ds.recording.neurons;
    let mut area_layers: Vec<(&str, &str)> = (0..nt.len())
        .map(|i| (nt.area[i].as_str(), nt.layer[i].as_str()))
        .collect();
    area_layers.sort();
    area_layers.dedup();
    let hidden: u128 = cfg.model.hidden_units.values().map(|&c| c as u128).sum();
    nt.len() as u128 + area_layers.len() as u128 * hidden
}

/// Refuse a network of `n_units` whose recurrent weights, with the copies a fit keeps of them
/// (gradient, two optimiser moments, mask, best, dense and initial weights, the checkpoint being
/// written), cannot fit in this machine's memory.
pub fn require_model_memory(n_units: u128) -> Result<()> {
    const COPIES: u128 = 10;
    crate::memory::require(
        n_units * n_units * 4 * COPIES,
        &format!("a network of {n_units} units"),
        "use fewer model.hidden_units (or model.units_per_population)",
    )
}
