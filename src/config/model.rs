//! `model:` the RNN (design §3): units, time constants, nonlinearity, inputs, readout and the
//! observation model. The model's own vocabulary ([`Activation`], [`InitialState`],
//! [`ReadoutInput`], [`Observation`]) lives in [`crate::model`].

use crate::error::{Error, Result};
use crate::model::{Activation, InitialState, Observation, ReadoutInput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// `model:` the RNN (design §3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// How `W_rec` is parameterised: `standard` (one signed matrix under `constraints.dale`) or
    /// `colei` (Li, Cornford et al. 2023's column E/I network: ColEI's initialisation and input
    /// weights ≥ 0; Dale's projection is ColEI's clamped update); `dann` is refused.
    #[serde(default)]
    pub architecture: Architecture,
    /// One unit per recorded neuron, or per-population units fitted to population averages.
    #[serde(default)]
    pub mode: ModelMode,
    /// Hidden (unrecorded) units added per cell type in every (area, layer) (`mode: neurons`).
    #[serde(default)]
    pub hidden_units: BTreeMap<String, usize>,
    /// Units per population, by cell type (`mode: populations`).
    #[serde(default)]
    pub units_per_population: BTreeMap<String, usize>,
    /// Time constant per cell type in ms; `default` applies to types not listed.
    #[serde(default = "default_tau_ms")]
    pub tau_ms: BTreeMap<String, f64>,
    /// Learn one time constant per cell type, starting from `tau_ms` (bounded between one frame
    /// and 10 s); the learned values are in the manifest's `tau_ms` and the report.
    #[serde(default)]
    pub learn_tau: bool,
    /// Nonlinearity φ.
    #[serde(default)]
    pub activation: Activation,
    /// Measured inputs from the recording's `/inputs`, by name.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Learn a bias per unit.
    #[serde(default = "yes")]
    pub bias: bool,
    /// Standard deviation of private white noise added to each unit's input during training
    /// (`x ← x + α·σ·ξ` every step; never during evaluation).
    #[serde(default)]
    pub noise_std: f64,
    /// Initial state of each window: `data` (recorded units from the first frame through the
    /// inverse readout) or `zero`.
    #[serde(default)]
    pub initial_state: InitialState,
    /// Readout of population traces (`mode: populations`): `mean` of the population's units
    /// (trainable gain and offset) or `frozen_random` (a fixed random linear readout, Balwani et al.).
    #[serde(default)]
    pub readout: Readout,
    /// What the readout reads: `rate` (φ(x)) or `unrectified` (tanh(x), as Balwani et al.'s
    /// readouts read the tanh output before rectification).
    #[serde(default)]
    pub readout_input: ReadoutInput,
    /// Also feed the recorded traces at frame t as inputs to the step t → t+1 (one-step-ahead
    /// prediction, as in Balwani et al.).
    #[serde(default)]
    pub traces_as_inputs: bool,
    /// What the readout compares with the data: `rate` (`ŷ = g·r + c`) or `calcium`
    /// (`ŷ = g·(k * r) + c`, the rate filtered by an indicator-like exponential decay per cell
    /// type, `calcium_decay_ms`), because dF/F is a slow, filtered image of the rate.
    #[serde(default)]
    pub observation: Observation,
    /// Indicator decay time constant per cell type in ms (`observation: calcium`); `default`
    /// applies to types not listed (GCaMP6f: 400–600 ms).
    #[serde(default = "default_calcium_decay_ms")]
    pub calcium_decay_ms: BTreeMap<String, f64>,
    /// Inferred inputs for drive the recording does not measure (off unless `per_area` > 0).
    #[serde(default)]
    pub latent_inputs: LatentInputs,
}

/// `model.latent_inputs`: input channels per area whose time course is learned with the weights,
/// so that drive from outside the recording (other areas, neuromodulation, arousal) is not
/// explained as connectivity between the recorded areas. Each channel is a smooth signal,
/// linear between knots every `knot_s` seconds, with an L2 penalty on its values; only the units
/// of its own area read it (their weights are learned, like `W_in`). Knots on held-out frames
/// get no gradient from the data and stay at 0, so validation scores the network without the
/// drive it cannot see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatentInputs {
    /// Channels per recorded area; 0 (default) adds none.
    #[serde(default)]
    pub per_area: usize,
    /// Spacing of the knots, s: the shortest time scale the inferred drive can follow.
    #[serde(default = "default_knot_s")]
    pub knot_s: f64,
    /// Weight of the penalty `l2 · Σ z² / n_knots` on the knots' values `z`, in units of the
    /// training loss.
    #[serde(default = "default_latent_l2")]
    pub l2: f64,
}

fn default_knot_s() -> f64 {
    1.0
}

fn default_latent_l2() -> f64 {
    0.01
}

impl Default for LatentInputs {
    fn default() -> Self {
        Self {
            per_area: 0,
            knot_s: default_knot_s(),
            l2: default_latent_l2(),
        }
    }
}

fn default_calcium_decay_ms() -> BTreeMap<String, f64> {
    BTreeMap::from([("default".to_string(), 500.0)])
}

/// Readout of population traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// Mean of the population's units, with a trainable gain and offset.
    #[default]
    Mean,
    /// Fixed random weights U(−1/√n_p, 1/√n_p) on the population's units and a fixed offset.
    FrozenRandom,
}

fn yes() -> bool {
    true
}

fn default_tau_ms() -> BTreeMap<String, f64> {
    BTreeMap::from([("default".to_string(), 100.0)])
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            architecture: Architecture::Standard,
            mode: ModelMode::Neurons,
            hidden_units: BTreeMap::new(),
            units_per_population: BTreeMap::new(),
            tau_ms: default_tau_ms(),
            learn_tau: false,
            activation: Activation::Softplus,
            inputs: vec![],
            bias: true,
            noise_std: 0.0,
            initial_state: InitialState::Data,
            readout: Readout::Mean,
            readout_input: ReadoutInput::Rate,
            traces_as_inputs: false,
            observation: Observation::Rate,
            calcium_decay_ms: default_calcium_decay_ms(),
            latent_inputs: LatentInputs::default(),
        }
    }
}

/// Model mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelMode {
    /// One unit per recorded neuron (+ hidden units).
    #[default]
    Neurons,
    /// Population-averaged traces, several units per population.
    Populations,
}

impl ModelConfig {
    /// Value checks that serde cannot express; `file` is the config, named in errors.
    pub(super) fn validate(&self, file: &Path) -> Result<()> {
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(file, key, problem, fix));
        if self.architecture == Architecture::Dann {
            return bad(
                "model.architecture",
                "`dann` has no unit for a recorded inhibitory neuron: its inhibition is a hidden population of interneurons acting within the time step (W_EE − W_EI W_IE)".into(),
                "fit recordings with standard or colei; train DANNs on tasks with `fitrnn task`",
            );
        }
        for (t, tau) in &self.tau_ms {
            if !(tau.is_finite() && *tau > 0.0) {
                return bad(
                    &format!("model.tau_ms.{t}"),
                    format!("{tau} ms is not a time constant"),
                    "use a positive time in ms",
                );
            }
        }
        if self.noise_std < 0.0 || !self.noise_std.is_finite() {
            return bad(
                "model.noise_std",
                format!("{}", self.noise_std),
                "use a standard deviation ≥ 0",
            );
        }
        if self.mode == ModelMode::Populations {
            if self.units_per_population.is_empty() {
                return bad(
                    "model.units_per_population",
                    "`mode: populations` needs units per cell type".into(),
                    "add e.g. units_per_population: {Slc17a7: 192, Sst: 32, Vip: 16}",
                );
            }
            if self.initial_state == InitialState::Data {
                return bad(
                    "model.initial_state",
                    "`data` needs one unit per recorded neuron; population units have no inverse readout".into(),
                    "use initial_state: zero with mode: populations",
                );
            }
            if !self.hidden_units.is_empty() {
                return bad(
                    "model.hidden_units",
                    "hidden units belong to `mode: neurons`".into(),
                    "size populations with units_per_population instead",
                );
            }
        } else if !self.units_per_population.is_empty() || self.readout != Readout::Mean {
            return bad(
                "model.units_per_population",
                "units_per_population and readout apply to `mode: populations`".into(),
                "set mode: populations, or remove them",
            );
        }
        let latent = &self.latent_inputs;
        if !(latent.knot_s.is_finite() && latent.knot_s > 0.0) {
            return bad(
                "model.latent_inputs.knot_s",
                format!("{} s is not a spacing", latent.knot_s),
                "use a positive time in s, e.g. 1.0",
            );
        }
        if !(latent.l2.is_finite() && latent.l2 >= 0.0) {
            return bad(
                "model.latent_inputs.l2",
                format!("{}", latent.l2),
                "use a penalty ≥ 0, e.g. 0.01",
            );
        }
        for (t, ms) in &self.calcium_decay_ms {
            if !(ms.is_finite() && *ms > 0.0) {
                return bad(
                    &format!("model.calcium_decay_ms.{t}"),
                    format!("{ms} ms is not a positive decay time"),
                    "give the indicator's decay in ms, e.g. 500 for GCaMP6f",
                );
            }
        }
        Ok(())
    }
}

/// How the recurrent weights are parameterised (Li, Cornford et al. 2023).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// One signed matrix: in task mode `U(±1/√n)` (or Balwani et al.'s signed uniform under a
    /// constraint); in a data fit the initialisation `constraints.init` names.
    #[default]
    Standard,
    /// Column E/I: `W = W⁺ D`, `W⁺ ≥ 0` exponential with a zero diagonal, scaled to a spectral
    /// radius; input weights `≥ 0`.
    Colei,
    /// Recurrent DANN: `W = W_EE − W_EI W_IE`, `U = U_EX − U_EI U_IX`, every part ≥ 0 (task
    /// mode only: its inhibition is a hidden interneuron population, so a recording's inhibitory
    /// neurons have no unit in it).
    Dann,
}
