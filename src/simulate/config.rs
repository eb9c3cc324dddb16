//! `configs/simulate_*.yaml`: the ground-truth network, its drive and how it is imaged.

use crate::connectivity::Pathway;
use crate::data::SignMap;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Input channels written to `/inputs`, in this order.
pub const INPUT_NAMES: [&str; 4] = ["image_flash", "image_change", "omission", "running_speed"];

/// A complete simulator configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Seed for every random draw; the same seed writes the same file on any machine.
    #[serde(default)]
    pub seed: u64,
    /// The simulated circuit.
    pub network: NetworkSpec,
    /// Visual-Behavior-like stimulus and running.
    #[serde(default)]
    pub stimulus: StimulusSpec,
    /// Rates → dF/F.
    #[serde(default)]
    pub observation: ObservationSpec,
    /// The units' dynamics and, for `adaptive`, its indicator (default: `rate`, the form fitrnn
    /// fits).
    #[serde(default)]
    pub dynamics: DynamicsSpec,
}

/// The simulated circuit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Areas, in unit order.
    pub areas: Vec<String>,
    /// Layers, in unit order.
    pub layers: Vec<String>,
    /// Cell type → `E` / `I`, in unit order.
    pub cell_types: SignMap,
    /// Unit order of cell types (defaults to the order of `population_sizes`' first area).
    #[serde(default)]
    pub cell_type_order: Vec<String>,
    /// Units per layer for each area and cell type, before `scale` (Allen VB median neurons per plane).
    pub population_sizes: BTreeMap<String, BTreeMap<String, f64>>,
    /// Multiplies every population size (rounded, at least 1).
    #[serde(default = "one_f")]
    pub scale: f64,
    /// Fraction of each population that is recorded; the rest stay unobserved.
    #[serde(default = "one_f")]
    pub recorded_fraction: f64,
    /// Within-area probability table (tidy or Balwani format), relative to the config file.
    pub connectivity: PathBuf,
    /// Inter-area pathways.
    #[serde(default)]
    pub inter_area: Vec<Pathway>,
    /// log-normal magnitudes: mean and sd of log|w| before scaling.
    #[serde(default)]
    pub weights: WeightSpec,
    /// The recurrent matrix is scaled to this spectral radius (< 1: stable linear dynamics).
    #[serde(default = "default_rho")]
    pub spectral_radius: f64,
    /// Rate time constant per cell type, ms.
    pub tau_ms: BTreeMap<String, f64>,
    /// Constant drive per cell type (sets spontaneous rates).
    #[serde(default)]
    pub baseline_drive: BTreeMap<String, f64>,
    /// Private noise: standard deviation of the white noise on each unit's input (rate units · √s).
    #[serde(default = "default_private_noise")]
    pub private_noise: f64,
    /// Input weights: `input name → [{post: pattern, weight: w}]`.
    #[serde(default)]
    pub input_targets: BTreeMap<String, Vec<InputTarget>>,
    /// Unrecorded external drive, one independent slow signal per area (not written to
    /// `/inputs`): what a fit must not explain as connectivity between areas. Absent: none.
    #[serde(default)]
    pub hidden_drive: Option<HiddenDrive>,
}

/// Unrecorded external drive: per area an Ornstein–Uhlenbeck signal
/// `h_a(t) = √s · g(t) + √(1 − s) · e_a(t)` with `s = shared_fraction`, where `g` is shared by all
/// areas and each `e_a` is the area's own (each with stationary standard deviation `std` and
/// correlation time `timescale_s`), added to the input of every unit of the area with weight
/// `weight` times a log-normal factor (sd 0.3 of its log). A shared part correlates the areas
/// without any connection between them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenDrive {
    /// Stationary standard deviation of each area's signal (rate units).
    pub std: f64,
    /// Correlation time of the signal, s.
    pub timescale_s: f64,
    /// Mean weight of the signal onto each unit of its area.
    #[serde(default = "one_f")]
    pub weight: f64,
    /// Fraction of each area's signal variance that all areas share (0: independent areas).
    #[serde(default)]
    pub shared_fraction: f64,
}

fn one_f() -> f64 {
    1.0
}
fn default_rho() -> f64 {
    0.8
}
fn default_private_noise() -> f64 {
    0.3
}

/// Log-normal weight magnitudes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightSpec {
    /// Mean of log|w|.
    #[serde(default)]
    pub log_mean: f64,
    /// Standard deviation of log|w|.
    #[serde(default = "default_log_std")]
    pub log_std: f64,
    /// Multiplier on inhibitory magnitudes (inhibitory synapses are stronger and fewer).
    #[serde(default = "default_inh_gain")]
    pub inhibitory_gain: f64,
    /// Standard deviation of log of a strength factor drawn once per (post, pre) population
    /// block and applied to every weight of the block: block strengths that vary independently
    /// of the connection probabilities, as the data (not the prior) must decide. 0 (default):
    /// every block draws from the same magnitudes.
    #[serde(default)]
    pub block_log_std: f64,
}

fn default_log_std() -> f64 {
    0.6
}
fn default_inh_gain() -> f64 {
    3.0
}

impl Default for WeightSpec {
    fn default() -> Self {
        Self {
            log_mean: 0.0,
            log_std: default_log_std(),
            inhibitory_gain: default_inh_gain(),
            block_log_std: 0.0,
        }
    }
}

/// One target of an input channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputTarget {
    /// Population pattern, e.g. `VISp/L4/*`.
    pub post: String,
    /// Mean weight onto each unit of the matched populations.
    pub weight: f64,
}

/// Visual Behavior change-detection stimulus.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StimulusSpec {
    /// Length of the session, s.
    pub duration_s: f64,
    /// Image flash duration, s.
    pub flash_on_s: f64,
    /// Grey screen between flashes, s.
    pub flash_off_s: f64,
    /// Number of distinct images.
    pub n_images: usize,
    /// Flashes between image changes: drawn uniformly from [min, max].
    pub change_every_flashes: [usize; 2],
    /// Probability that a non-change flash is omitted.
    pub omission_probability: f64,
    /// Mean running speed, cm/s.
    pub running_mean_cm_s: f64,
    /// Standard deviation of running speed, cm/s.
    pub running_std_cm_s: f64,
    /// Correlation time of running speed, s.
    pub running_timescale_s: f64,
}

impl Default for StimulusSpec {
    fn default() -> Self {
        Self {
            duration_s: 300.0,
            flash_on_s: 0.25,
            flash_off_s: 0.5,
            n_images: 8,
            change_every_flashes: [4, 11],
            omission_probability: 0.05,
            running_mean_cm_s: 10.0,
            running_std_cm_s: 8.0,
            running_timescale_s: 5.0,
        }
    }
}

/// Rates → dF/F through a GCaMP-like kernel, sampled at the imaging rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationSpec {
    /// Imaging rate, Hz (Visual Behavior multiscope ≈ 11 Hz).
    pub frame_rate_hz: f64,
    /// Simulation step, ms (rounded so a frame holds a whole number of steps).
    pub sim_dt_ms: f64,
    /// Indicator rise time constant, ms.
    pub rise_ms: f64,
    /// Indicator decay time constant per cell type, ms.
    pub decay_ms: BTreeMap<String, f64>,
    /// dF/F per unit rate (each neuron's gain is this times a log-normal factor with sd 0.2).
    pub amplitude: f64,
    /// Standard deviation of additive Gaussian noise on dF/F.
    pub noise_std: f64,
    /// Also save every unit's true rate averaged within each frame (`/ground_truth/rates`), from
    /// which the recovery study computes the true currents.
    #[serde(default)]
    pub save_rates: bool,
    /// Image the rates through the indicator (default); `false` records each neuron's rate itself
    /// (averaged within the frame, times its gain, plus the noise), as an electrophysiology-like
    /// or perfectly deconvolved recording would.
    #[serde(default = "yes")]
    pub indicator: bool,
}

fn yes() -> bool {
    true
}

impl Default for ObservationSpec {
    fn default() -> Self {
        Self {
            frame_rate_hz: 11.0,
            sim_dt_ms: 10.0,
            rise_ms: 50.0,
            decay_ms: BTreeMap::from([("default".into(), 500.0)]),
            amplitude: 0.5,
            noise_std: 0.05,
            save_rates: false,
            indicator: true,
        }
    }
}

/// Which simulator integrates the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DynamicsKind {
    /// `τ dx/dt = −x + W r + W_in u + b + noise`, `r = max(x, 0)`, one τ per cell type, imaged
    /// through a linear indicator: the form fitrnn fits.
    #[default]
    Rate,
    /// Saturating units with spike-frequency adaptation and per-unit time constants, imaged
    /// through a saturating (Hill) indicator with shot noise (`src/simulate/adaptive.rs`).
    Adaptive,
}

/// The units' dynamics. Every key but `kind` is read by `kind: adaptive` only:
/// `τ_i dx/dt = −x + W r + W_in u + b + noise − a`, `τ_a da/dt = −a + g_a r`,
/// `r = r_max tanh([x]₊ / r_max)`, and dF/F `= g c^n / (c^n + K^n)` plus noise, with `c` the
/// kernel's calcium (rate units). Maps by cell type fall back to their `default` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicsSpec {
    /// `rate` (default) or `adaptive`.
    #[serde(default)]
    pub kind: DynamicsKind,
    /// Standard deviation of log of each unit's factor on its cell type's `network.tau_ms`
    /// (median 1): heterogeneous time constants.
    #[serde(default = "default_tau_log_std")]
    pub tau_log_std: f64,
    /// Adaptation strength `g_a` per cell type (dimensionless: the adaptation current per unit
    /// rate at steady state); 0 disables adaptation for that type.
    #[serde(default = "default_adaptation_gain")]
    pub adaptation_gain: BTreeMap<String, f64>,
    /// Adaptation time constant `τ_a` per cell type, ms.
    #[serde(default = "default_adaptation_tau_ms")]
    pub adaptation_tau_ms: BTreeMap<String, f64>,
    /// Rate ceiling `r_max` of `r = r_max tanh([x]₊ / r_max)` (slope 1 at 0), rate units.
    #[serde(default = "default_r_max")]
    pub r_max: f64,
    /// Hill coefficient `n` of the indicator (GCaMP6 ≈ 2–2.5).
    #[serde(default = "default_hill_n")]
    pub hill_n: f64,
    /// Median half-saturating calcium `K` over neurons, rate units (the kernel's calcium of a unit
    /// firing steadily at rate `K`).
    #[serde(default = "default_hill_k")]
    pub hill_k: f64,
    /// Standard deviation of log `K` over neurons.
    #[serde(default = "default_hill_k_log_std")]
    pub hill_k_log_std: f64,
    /// dF/F of a saturated indicator `g`, median over neurons (each neuron: times a log-normal
    /// factor with sd 0.2); takes the place of `observation.amplitude` when the indicator is on.
    #[serde(default = "default_dff_max")]
    pub dff_max: f64,
    /// Shot noise: standard deviation `s √F` on a frame of dF/F `F`, besides the Gaussian
    /// `observation.noise_std`.
    #[serde(default = "default_shot_noise")]
    pub shot_noise: f64,
}

fn default_tau_log_std() -> f64 {
    0.3
}
fn default_adaptation_gain() -> BTreeMap<String, f64> {
    BTreeMap::from([
        ("Slc17a7".into(), 0.5),
        ("Sst".into(), 0.3),
        ("default".into(), 0.0),
    ])
}
fn default_adaptation_tau_ms() -> BTreeMap<String, f64> {
    BTreeMap::from([
        ("Slc17a7".into(), 400.0),
        ("Sst".into(), 300.0),
        ("default".into(), 300.0),
    ])
}
fn default_r_max() -> f64 {
    5.0
}
fn default_hill_n() -> f64 {
    2.0
}
fn default_hill_k() -> f64 {
    0.5
}
fn default_hill_k_log_std() -> f64 {
    0.3
}
fn default_dff_max() -> f64 {
    1.0
}
fn default_shot_noise() -> f64 {
    0.05
}

impl Default for DynamicsSpec {
    fn default() -> Self {
        Self {
            kind: DynamicsKind::Rate,
            tau_log_std: default_tau_log_std(),
            adaptation_gain: default_adaptation_gain(),
            adaptation_tau_ms: default_adaptation_tau_ms(),
            r_max: default_r_max(),
            hill_n: default_hill_n(),
            hill_k: default_hill_k(),
            hill_k_log_std: default_hill_k_log_std(),
            dff_max: default_dff_max(),
            shot_noise: default_shot_noise(),
        }
    }
}

/// Look up a per-cell-type value with a `default` entry as fallback.
pub fn per_type(map: &BTreeMap<String, f64>, cell_type: &str) -> Option<f64> {
    map.get(cell_type).or_else(|| map.get("default")).copied()
}

impl SimConfig {
    /// Load, apply overrides and check a simulator config; resolves the connectivity path.
    pub fn load(path: &Path, overrides: &[String]) -> Result<SimConfig> {
        let mut c: SimConfig =
            crate::config::load_yaml(path, overrides, &["network.connectivity"])?;
        let base = path.parent().unwrap_or(Path::new("."));
        if c.network.connectivity.is_relative() {
            c.network.connectivity =
                crate::config::normalise_path(&base.join(&c.network.connectivity));
        }
        c.validate(path)?;
        Ok(c)
    }

    fn validate(&self, file: &Path) -> Result<()> {
        let bad = |k: &str, p: String, fix: &str| Err(Error::config(file, k, p, fix));
        let n = &self.network;
        let w = &n.weights;
        if !(w.log_mean.is_finite()
            && w.log_std.is_finite()
            && w.log_std >= 0.0
            && w.block_log_std.is_finite()
            && w.block_log_std >= 0.0)
        {
            return bad(
                "network.weights",
                format!(
                    "log_mean {}, log_std {}, block_log_std {}",
                    w.log_mean, w.log_std, w.block_log_std
                ),
                "use a finite log_mean and a log_std and block_log_std ≥ 0",
            );
        }
        if let Some(h) = &n.hidden_drive {
            if !(nonneg(h.std, false)
                && nonneg(h.timescale_s, true)
                && h.weight.is_finite()
                && (0.0..=1.0).contains(&h.shared_fraction))
            {
                return bad(
                    "network.hidden_drive",
                    format!(
                        "std {}, timescale_s {}, weight {}, shared_fraction {}",
                        h.std, h.timescale_s, h.weight, h.shared_fraction
                    ),
                    "use a std ≥ 0, a timescale_s > 0, a finite weight and a shared_fraction in [0, 1]",
                );
            }
        }
        if n.areas.is_empty() || n.layers.is_empty() || n.cell_types.is_empty() {
            return bad(
                "network",
                "areas, layers and cell_types must be non-empty".into(),
                "list at least one of each",
            );
        }
        for a in &n.areas {
            let Some(sizes) = n.population_sizes.get(a) else {
                return bad(
                    "network.population_sizes",
                    format!("no sizes for area `{a}`"),
                    "add a mapping cell type → units per layer for it",
                );
            };
            for t in n.cell_types.keys() {
                if !sizes.contains_key(t) {
                    return bad(
                        &format!("network.population_sizes.{a}"),
                        format!("no size for cell type `{t}`"),
                        "add it (0 leaves the population out)",
                    );
                }
            }
        }
        for t in n.cell_types.keys() {
            if per_type(&n.tau_ms, t).is_none() {
                return bad(
                    "network.tau_ms",
                    format!("no time constant for `{t}`"),
                    "add it or a `default` entry",
                );
            }
            if per_type(&self.observation.decay_ms, t).is_none() {
                return bad(
                    "observation.decay_ms",
                    format!("no decay for `{t}`"),
                    "add it or a `default` entry",
                );
            }
        }
        if !(n.scale > 0.0 && n.scale.is_finite()) {
            return bad(
                "network.scale",
                format!("{}", n.scale),
                "use a positive factor",
            );
        }
        if !(0.0..=1.0).contains(&n.recorded_fraction) || n.recorded_fraction == 0.0 {
            return bad(
                "network.recorded_fraction",
                format!("{}", n.recorded_fraction),
                "use a fraction in (0, 1]",
            );
        }
        if !(n.spectral_radius > 0.0 && n.spectral_radius.is_finite()) {
            return bad(
                "network.spectral_radius",
                format!("{}", n.spectral_radius),
                "use a positive number (< 1 keeps the network stable)",
            );
        }
        let s = &self.stimulus;
        if s.duration_s <= 0.0 || s.flash_on_s <= 0.0 || s.flash_off_s < 0.0 {
            return bad(
                "stimulus",
                "durations must be positive".into(),
                "check duration_s, flash_on_s, flash_off_s",
            );
        }
        let [lo, hi] = s.change_every_flashes;
        if lo == 0 || hi < lo {
            return bad(
                "stimulus.change_every_flashes",
                format!("[{lo}, {hi}]"),
                "use [min, max] with 1 ≤ min ≤ max",
            );
        }
        if !(0.0..1.0).contains(&s.omission_probability) {
            return bad(
                "stimulus.omission_probability",
                format!("{}", s.omission_probability),
                "use a probability in [0, 1)",
            );
        }
        let o = &self.observation;
        if o.frame_rate_hz <= 0.0 || o.sim_dt_ms <= 0.0 || o.rise_ms <= 0.0 || o.noise_std < 0.0 {
            return bad(
                "observation",
                "rates, steps and time constants must be positive".into(),
                "check frame_rate_hz, sim_dt_ms, rise_ms, noise_std",
            );
        }
        self.validate_dynamics(file)?;
        for (name, targets) in &n.input_targets {
            if !INPUT_NAMES.contains(&name.as_str()) {
                return bad(
                    "network.input_targets",
                    format!("unknown input `{name}`"),
                    &crate::error::suggest(
                        name,
                        &INPUT_NAMES
                            .iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>(),
                        "input",
                    ),
                );
            }
            for t in targets {
                if crate::connectivity::Pattern::parse(&t.post).is_none() {
                    return bad(
                        &format!("network.input_targets.{name}"),
                        format!("`{}` is not a population pattern", t.post),
                        "write e.g. VISp/L4/*",
                    );
                }
            }
        }
        Ok(())
    }
}

/// `true` for a finite number ≥ 0 (> 0 with `strict`).
fn nonneg(v: f64, strict: bool) -> bool {
    v.is_finite() && (v > 0.0 || (!strict && v == 0.0))
}

impl SimConfig {
    /// Check `dynamics`: every cell type has an adaptation gain (≥ 0) and time constant (> 0),
    /// and every scalar is in range.
    fn validate_dynamics(&self, file: &Path) -> Result<()> {
        let bad = |k: &str, p: String, fix: &str| Err(Error::config(file, k, p, fix));
        let d = &self.dynamics;
        for t in self.network.cell_types.keys() {
            match per_type(&d.adaptation_gain, t) {
                Some(g) if nonneg(g, false) => {}
                Some(g) => {
                    return bad(
                        &format!("dynamics.adaptation_gain.{t}"),
                        format!("{g}"),
                        "use a gain ≥ 0 (0: no adaptation)",
                    )
                }
                None => {
                    return bad(
                        "dynamics.adaptation_gain",
                        format!("no gain for `{t}`"),
                        "add it or a `default` entry (e.g. default: 0)",
                    )
                }
            }
            match per_type(&d.adaptation_tau_ms, t) {
                Some(v) if nonneg(v, true) => {}
                Some(v) => {
                    return bad(
                        &format!("dynamics.adaptation_tau_ms.{t}"),
                        format!("{v}"),
                        "use a time constant > 0 ms",
                    )
                }
                None => {
                    return bad(
                        "dynamics.adaptation_tau_ms",
                        format!("no time constant for `{t}`"),
                        "add it or a `default` entry (e.g. default: 300)",
                    )
                }
            }
        }
        let positive = [
            ("r_max", d.r_max, "use a rate ceiling > 0 (e.g. 5)"),
            ("hill_n", d.hill_n, "use a Hill coefficient > 0 (e.g. 2)"),
            (
                "hill_k",
                d.hill_k,
                "use a half-saturating calcium > 0 (e.g. 0.5)",
            ),
            ("dff_max", d.dff_max, "use a saturated dF/F > 0 (e.g. 1)"),
        ];
        let nonnegative = [
            (
                "tau_log_std",
                d.tau_log_std,
                "use a spread ≥ 0 (0: one τ per cell type)",
            ),
            (
                "hill_k_log_std",
                d.hill_k_log_std,
                "use a spread ≥ 0 (0: one K for all)",
            ),
            (
                "shot_noise",
                d.shot_noise,
                "use a noise ≥ 0 (0: Gaussian noise only)",
            ),
        ];
        for (key, v, fix) in positive {
            if !nonneg(v, true) {
                return bad(&format!("dynamics.{key}"), format!("{v}"), fix);
            }
        }
        for (key, v, fix) in nonnegative {
            if !nonneg(v, false) {
                return bad(&format!("dynamics.{key}"), format!("{v}"), fix);
            }
        }
        Ok(())
    }
}
