//! The config's sections (`data`, `model`, `constraints`, `training`, `analysis`, `output`) and
//! their value checks. Units are in the key names where they could be ambiguous (`_s`, `_ms`, `_hz`).

use super::Config;
use crate::data::celltypes::default_sign_map;
use crate::data::load::{DataFormat, LoadOptions};
use crate::data::nwb::NwbOptions;
use crate::data::{NanPolicy, SignMap};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `data:` which recording, which neurons, normalisation, windows and the train/validation split.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The recording, relative to the config file: one file (fitrnn-recording/1 or NWB), or a
    /// list of files whose planes were imaged together and are fitted as one network.
    pub path: DataPaths,
    /// File format: `auto` (by content), `contract` or `nwb`.
    #[serde(default)]
    pub format: DataFormat,
    /// How NWB files are read (traces, metadata columns, layers, Cre lines, trials).
    #[serde(default)]
    pub nwb: NwbOptions,
    /// Common clock (Hz) for planes with different clocks; default the slowest plane's rate.
    #[serde(default)]
    pub align_hz: Option<f64>,
    /// Which neurons to keep (empty lists keep everything).
    #[serde(default)]
    pub select: Selection,
    /// Cell type → `E` or `I`. Every kept neuron's cell type must appear here.
    #[serde(default = "default_sign_map")]
    pub cell_types: SignMap,
    /// Per-neuron normalisation of the traces before fitting.
    #[serde(default)]
    pub normalisation: Normalisation,
    /// Percentile used as each neuron's baseline by `normalisation: baseline`.
    #[serde(default = "default_baseline_percentile")]
    pub baseline_percentile: f64,
    /// Resample the traces to this rate (Hz) before fitting; unset keeps the recorded rate.
    #[serde(default)]
    pub resample_hz: Option<f64>,
    /// What to do with frames holding NaN or Inf.
    #[serde(default)]
    pub nan_policy: NanPolicy,
    /// How the session is cut into training windows.
    #[serde(default)]
    pub windows: WindowsConfig,
    /// Which data are held out for validation.
    #[serde(default)]
    pub split: SplitConfig,
}

impl DataConfig {
    /// The options the loader needs.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            format: self.format,
            nwb: self.nwb.clone(),
            nan_policy: self.nan_policy,
            align_hz: self.align_hz,
        }
    }
}

/// `data.path`: one file, or several planes imaged at the same time (YAML string or list).
#[derive(Debug, Clone, PartialEq)]
pub struct DataPaths(pub Vec<PathBuf>);

impl DataPaths {
    /// The files, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.0
    }
    /// The first file (the only one for a single recording).
    pub fn first(&self) -> &Path {
        &self.0[0]
    }
    /// The files for messages, comma-separated.
    pub fn display(&self) -> String {
        self.0
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl From<PathBuf> for DataPaths {
    fn from(p: PathBuf) -> Self {
        DataPaths(vec![p])
    }
}

impl Serialize for DataPaths {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.0.len() == 1 {
            self.0[0].serialize(s)
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for DataPaths {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(PathBuf),
            Many(Vec<PathBuf>),
        }
        match OneOrMany::deserialize(d)? {
            OneOrMany::One(p) => Ok(DataPaths(vec![p])),
            OneOrMany::Many(v) if !v.is_empty() => Ok(DataPaths(v)),
            OneOrMany::Many(_) => Err(serde::de::Error::custom(
                "data.path is an empty list: give one file, or a list of planes",
            )),
        }
    }
}

fn default_baseline_percentile() -> f64 {
    8.0
}

/// Neuron selection by metadata; each list keeps neurons whose value is listed (empty = all).
/// The list order also sets the unit order (area → layer → cell type).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// Areas to keep, e.g. `[VISp, VISl]`.
    #[serde(default)]
    pub areas: Vec<String>,
    /// Layers to keep, e.g. `[L2/3, L4, L5]`.
    #[serde(default)]
    pub layers: Vec<String>,
    /// Cell types to keep, e.g. `[Slc17a7, Sst, Vip]`.
    #[serde(default)]
    pub cell_types: Vec<String>,
}

/// Per-neuron normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Use the traces as recorded.
    None,
    /// Subtract each neuron's mean and divide by its standard deviation (training frames only).
    #[default]
    Zscore,
    /// Subtract each neuron's `baseline_percentile` percentile (training frames only).
    Baseline,
}

/// Training windows cut from the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsConfig {
    /// Window length in seconds (truncated BPTT length).
    #[serde(default = "default_window_s")]
    pub length_s: f64,
    /// Step between window starts in seconds; defaults to the length (no overlap).
    #[serde(default)]
    pub stride_s: Option<f64>,
}

fn default_window_s() -> f64 {
    10.0
}

impl Default for WindowsConfig {
    fn default() -> Self {
        Self {
            length_s: default_window_s(),
            stride_s: None,
        }
    }
}

/// How data are split between training and validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// `time`: contiguous held-out blocks; `trials`: whole held-out trials.
    #[serde(default)]
    pub by: SplitBy,
    /// Fraction of the data held out for validation.
    #[serde(default = "default_val_fraction")]
    pub validation_fraction: f64,
    /// Number of contiguous validation blocks (`by: time`), spread evenly over the session.
    #[serde(default = "one")]
    pub blocks: usize,
}

fn default_val_fraction() -> f64 {
    0.2
}
fn one() -> usize {
    1
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            by: SplitBy::Time,
            validation_fraction: default_val_fraction(),
            blocks: 1,
        }
    }
}

/// Split unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// Contiguous blocks of frames.
    #[default]
    Time,
    /// Whole trials from `/trials`.
    Trials,
}

/// `model:` the RNN (design §3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
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
}

/// What the readout compares with the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// The rate itself, through the readout's gain and offset.
    #[default]
    Rate,
    /// The rate filtered by an exponential indicator decay, then gain and offset.
    Calcium,
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

/// What the readout reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadoutInput {
    /// φ(x).
    #[default]
    Rate,
    /// tanh(x) before rectification.
    Unrectified,
}

/// Initial state of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialState {
    /// Set recorded units from the window's first frame through the inverse readout.
    #[default]
    Data,
    /// Start from x = 0.
    Zero,
    /// One trainable initial state shared by all windows (fitted on training windows).
    Learned,
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
            mode: ModelMode::Neurons,
            hidden_units: BTreeMap::new(),
            units_per_population: BTreeMap::new(),
            tau_ms: default_tau_ms(),
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

/// Nonlinearity φ(x).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// tanh(x).
    Tanh,
    /// log(1 + eˣ).
    #[default]
    Softplus,
    /// max(tanh(x), 0), Balwani et al.'s rectified tanh.
    TanhRelu,
}

/// `constraints:` Dale's law, connectivity mask and initialisation (design §4).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsConfig {
    /// `projection` (Dale's backprop) or `none` (unconstrained baseline).
    #[serde(default)]
    pub dale: Dale,
    /// Connectivity mask from a probability table.
    #[serde(default)]
    pub mask: MaskConfig,
    /// Initial recurrent weights.
    #[serde(default)]
    pub init: InitConfig,
}

/// Initial recurrent weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// `balanced` (E and I input cancel per unit) or `uniform` (Balwani et al.'s U(0, 1/√N)).
    #[serde(default)]
    pub kind: InitKind,
    /// Spectral radius of the initial `W_rec` (`balanced` only).
    #[serde(default = "default_init_rho")]
    pub spectral_radius: f64,
}

fn default_init_rho() -> f64 {
    0.9
}

impl Default for InitConfig {
    fn default() -> Self {
        Self {
            kind: InitKind::Balanced,
            spectral_radius: default_init_rho(),
        }
    }
}

/// Initialisation scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitKind {
    /// Balanced E/I magnitudes scaled to a spectral radius.
    #[default]
    Balanced,
    /// Balwani et al. 2025: U(0, 1/√N) for E columns, U(−1/√N, 0) for I columns.
    Uniform,
}

/// How Dale's law is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dale {
    /// Project wrong-signed weights to 0 after every step.
    #[default]
    Projection,
    /// No sign constraint.
    None,
}

/// Connectivity mask.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskConfig {
    /// Probability table (tidy CSV), relative to the config file; unset = dense.
    #[serde(default)]
    pub table: Option<PathBuf>,
    /// How the mask is realised from the probabilities.
    #[serde(default)]
    pub realisation: MaskRealisation,
    /// Inter-area pathways: `{pre: VISp/L2/3/Slc17a7, post: VISl/L4/*, probability: 0.3}`.
    #[serde(default)]
    pub inter_area: Vec<Pathway>,
}

/// Realisation of a probability mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskRealisation {
    /// Train dense, then keep weights with probability ∝ |w| per block.
    Topprob,
    /// Draw each block at its probability before training.
    Bernoulli,
    /// Uniform pruning after dense training (baseline).
    Random,
    /// No mask (the default when no table is given).
    #[default]
    Dense,
}

/// One inter-area pathway: populations matched by `area/layer/cell_type` patterns (`*` = any).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pathway {
    /// Presynaptic population pattern, e.g. `VISp/L2/3/Slc17a7`.
    pub pre: String,
    /// Postsynaptic population pattern, e.g. `VISl/L4/*`.
    pub post: String,
    /// Connection probability in [0, 1].
    pub probability: f64,
}

/// `training:` phases, optimiser and schedule (design §5).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Epochs of the dense phase.
    #[serde(default = "default_epochs")]
    pub dense_epochs: usize,
    /// Epochs of fine-tuning after pruning.
    #[serde(default = "default_epochs")]
    pub finetune_epochs: usize,
    /// Optimiser.
    #[serde(default)]
    pub optimiser: Optimiser,
    /// Learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Windows per batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Clip the global gradient norm to this value (unset = no clipping).
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// Weight decay: decoupled for `adamw` / `adamw_eg`, L2 for `sgd`, EG form `λ·sign(w)` for
    /// `sgd_eg`; ignored by `adam`.
    #[serde(default)]
    pub weight_decay: f64,
    /// Momentum of `sgd` and `sgd_eg`.
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Learning-rate schedule, stepped once per epoch.
    #[serde(default)]
    pub schedule: Schedule,
    /// Stop a phase after this many epochs without a lower validation loss (unset = never).
    /// The best checkpoint of each phase is kept either way.
    #[serde(default)]
    pub patience: Option<usize>,
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Constant learning rate.
    #[default]
    Constant,
    /// Multiply the rate by `gamma` every `step_size` epochs (PyTorch's StepLR).
    Step {
        /// Epochs between decays.
        step_size: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// Cosine annealing with period `t_max` epochs down to `eta_min` (PyTorch's CosineAnnealingLR).
    Cosine {
        /// Half-period in epochs.
        t_max: usize,
        /// Minimum learning rate.
        eta_min: f64,
    },
}

fn default_momentum() -> f64 {
    0.9
}

fn default_epochs() -> usize {
    50
}
fn default_lr() -> f64 {
    1e-3
}
fn default_batch() -> usize {
    16
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            dense_epochs: default_epochs(),
            finetune_epochs: default_epochs(),
            optimiser: Optimiser::Adam,
            lr: default_lr(),
            batch_size: default_batch(),
            grad_clip: None,
            weight_decay: 0.0,
            momentum: default_momentum(),
            schedule: Schedule::Constant,
            patience: None,
        }
    }
}

/// Optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimiser {
    /// Adam.
    #[default]
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
    /// SGD with momentum.
    Sgd,
    /// Exponentiated-gradient SGD (Cornford et al. 2024).
    SgdEg,
    /// Exponentiated-gradient AdamW (Cornford et al. 2024).
    AdamwEg,
}

/// `analysis:` what to compute after the fit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Block levels for interaction tables.
    #[serde(default = "default_levels")]
    pub levels: Vec<String>,
    /// Teacher-forced metrics reset the state from data every this many frames (1 = one step ahead).
    #[serde(default = "one")]
    pub teacher_forcing_every: usize,
    /// In-silico perturbations; empty = silence each population, then each area, in turn.
    #[serde(default)]
    pub perturbations: Vec<PerturbationSpec>,
    /// Which stages get full spectra (eigen- and singular values, O(N³) each): `all` (init, dense,
    /// pruned, final), `final`, or `auto` (all up to 2,048 units, final above).
    #[serde(default)]
    pub spectra: SpectraStages,
}

/// Stages whose weight (and Jacobian) spectra are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpectraStages {
    /// All stages up to 2,048 units, the final stage only above.
    #[default]
    Auto,
    /// Init, dense, pruned and final.
    All,
    /// The final stage only.
    Final,
}

impl SpectraStages {
    /// Whether `stage` gets spectra in a network of `n` units.
    pub fn includes(self, stage: &str, n: usize) -> bool {
        match self {
            SpectraStages::All => true,
            SpectraStages::Final => stage == "final",
            SpectraStages::Auto => n <= 2048 || stage == "final",
        }
    }
}

/// One in-silico perturbation of the fitted model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PerturbationSpec {
    /// `silence` (outgoing rates × (1 − magnitude)) or `drive` (+ magnitude to the units' input).
    pub kind: PerturbationKind,
    /// Units to perturb, an `area/layer/cell_type` pattern (`*` = any), e.g. `VISp/*/Sst`.
    pub target: String,
    /// Fraction silenced (0..1) or drive strength (input units).
    #[serde(default = "one_f64")]
    pub magnitude: f64,
}

fn one_f64() -> f64 {
    1.0
}

/// Perturbation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerturbationKind {
    /// Scale the units' outgoing rates by 1 − magnitude.
    Silence,
    /// Add magnitude to the units' input.
    Drive,
}

fn default_levels() -> Vec<String> {
    vec!["population".into(), "area_layer".into(), "area".into()]
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            levels: default_levels(),
            teacher_forcing_every: 1,
            perturbations: vec![],
            spectra: SpectraStages::Auto,
        }
    }
}

/// `output:` the run directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Run directory, relative to the config file; default `runs/<config name>` beside it.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Replace an existing run directory instead of refusing.
    #[serde(default)]
    pub overwrite: bool,
}

/// Value checks that serde cannot express.
pub(super) fn validate(cfg: &Config, file: &Path) -> Result<()> {
    let bad = |key: &str, problem: String, fix: &str| Err(Error::config(file, key, problem, fix));
    let d = &cfg.data;
    if !(0.0..=100.0).contains(&d.baseline_percentile) {
        return bad(
            "data.baseline_percentile",
            format!("{} is not a percentile", d.baseline_percentile),
            "use a value between 0 and 100 (e.g. 8)",
        );
    }
    if let Some(r) = d.resample_hz {
        if !(r.is_finite() && r > 0.0) {
            return bad(
                "data.resample_hz",
                format!("{r} Hz is not a rate"),
                "use a positive rate in Hz, or remove the key",
            );
        }
    }
    if !(d.windows.length_s.is_finite() && d.windows.length_s > 0.0) {
        return bad(
            "data.windows.length_s",
            format!("{} s is not a window length", d.windows.length_s),
            "use a positive number of seconds",
        );
    }
    if let Some(s) = d.windows.stride_s {
        if !(s.is_finite() && s > 0.0) {
            return bad(
                "data.windows.stride_s",
                format!("{s} s is not a stride"),
                "use a positive number of seconds",
            );
        }
    }
    let vf = d.split.validation_fraction;
    if !(vf.is_finite() && (0.0..1.0).contains(&vf)) {
        return bad(
            "data.split.validation_fraction",
            format!("{vf} is not a fraction in [0, 1)"),
            "use e.g. 0.2 to hold out a fifth of the data",
        );
    }
    if d.split.blocks == 0 {
        return bad("data.split.blocks", "0 blocks".into(), "use at least 1");
    }
    for (t, tau) in &cfg.model.tau_ms {
        if !(tau.is_finite() && *tau > 0.0) {
            return bad(
                &format!("model.tau_ms.{t}"),
                format!("{tau} ms is not a time constant"),
                "use a positive time in ms",
            );
        }
    }
    if cfg.model.noise_std < 0.0 || !cfg.model.noise_std.is_finite() {
        return bad(
            "model.noise_std",
            format!("{}", cfg.model.noise_std),
            "use a standard deviation ≥ 0",
        );
    }
    for (i, p) in cfg.constraints.mask.inter_area.iter().enumerate() {
        if !(0.0..=1.0).contains(&p.probability) {
            return bad(
                &format!("constraints.mask.inter_area[{i}].probability"),
                format!("{} is not a probability", p.probability),
                "use a value between 0 and 1",
            );
        }
        for (k, pat) in [("pre", &p.pre), ("post", &p.post)] {
            if pat.matches('/').count() < 2 {
                return bad(
                    &format!("constraints.mask.inter_area[{i}].{k}"),
                    format!("`{pat}` is not an area/layer/cell_type pattern"),
                    "write e.g. VISp/L2/3/Slc17a7 or VISl/L4/*",
                );
            }
        }
    }
    if cfg.model.mode == ModelMode::Populations {
        if cfg.model.units_per_population.is_empty() {
            return bad(
                "model.units_per_population",
                "`mode: populations` needs units per cell type".into(),
                "add e.g. units_per_population: {Slc17a7: 192, Sst: 32, Vip: 16}",
            );
        }
        if cfg.model.initial_state == InitialState::Data {
            return bad(
                "model.initial_state",
                "`data` needs one unit per recorded neuron; population units have no inverse readout".into(),
                "use initial_state: zero with mode: populations",
            );
        }
        if !cfg.model.hidden_units.is_empty() {
            return bad(
                "model.hidden_units",
                "hidden units belong to `mode: neurons`".into(),
                "size populations with units_per_population instead",
            );
        }
    } else if !cfg.model.units_per_population.is_empty() || cfg.model.readout != Readout::Mean {
        return bad(
            "model.units_per_population",
            "units_per_population and readout apply to `mode: populations`".into(),
            "set mode: populations, or remove them",
        );
    }
    for (t, ms) in &cfg.model.calcium_decay_ms {
        if !(ms.is_finite() && *ms > 0.0) {
            return bad(
                &format!("model.calcium_decay_ms.{t}"),
                format!("{ms} ms is not a positive decay time"),
                "give the indicator's decay in ms, e.g. 500 for GCaMP6f",
            );
        }
    }
    for t in cfg.model.hidden_units.keys() {
        if !cfg.data.cell_types.contains_key(t) {
            return bad(
                &format!("model.hidden_units.{t}"),
                format!("cell type `{t}` has no sign in data.cell_types"),
                &format!("add `{t}: E` or `{t}: I` under data.cell_types"),
            );
        }
    }
    if cfg.constraints.mask.table.is_none()
        && cfg.constraints.mask.realisation != MaskRealisation::Dense
    {
        return bad(
            "constraints.mask.realisation",
            format!("`{:?}` needs a probability table", cfg.constraints.mask.realisation).to_lowercase(),
            "set constraints.mask.table (e.g. data/connectivity/mouse_v1_celltype.csv) or realisation: dense",
        );
    }
    if cfg.training.weight_decay < 0.0 || !cfg.training.weight_decay.is_finite() {
        return bad(
            "training.weight_decay",
            format!("{}", cfg.training.weight_decay),
            "use a value ≥ 0",
        );
    }
    if let Schedule::Step { step_size, gamma } = &cfg.training.schedule {
        if *step_size == 0 || !(gamma.is_finite() && *gamma > 0.0) {
            return bad(
                "training.schedule",
                format!("step_size {step_size}, gamma {gamma}"),
                "use step_size ≥ 1 and gamma > 0",
            );
        }
    }
    if let Schedule::Cosine { t_max, eta_min } = &cfg.training.schedule {
        if *t_max == 0 || eta_min.is_nan() || *eta_min < 0.0 {
            return bad(
                "training.schedule",
                format!("t_max {t_max}, eta_min {eta_min}"),
                "use t_max ≥ 1 and eta_min ≥ 0",
            );
        }
    }
    for (i, p) in cfg.analysis.perturbations.iter().enumerate() {
        if crate::connectivity::Pattern::parse(&p.target).is_none() {
            return bad(
                &format!("analysis.perturbations[{i}].target"),
                format!("`{}` is not an area/layer/cell_type pattern", p.target),
                "write e.g. VISp/L2/3/Sst or VISl/*/*",
            );
        }
        if p.kind == PerturbationKind::Silence && !(0.0..=1.0).contains(&p.magnitude) {
            return bad(
                &format!("analysis.perturbations[{i}].magnitude"),
                format!("{} is not a fraction", p.magnitude),
                "silencing takes a magnitude in [0, 1] (1 = fully silenced)",
            );
        }
    }
    if cfg.analysis.teacher_forcing_every == 0 {
        return bad(
            "analysis.teacher_forcing_every",
            "0".into(),
            "use 1 (one step ahead) or more",
        );
    }
    let t = &cfg.training;
    if !(t.lr.is_finite() && t.lr > 0.0) {
        return bad(
            "training.lr",
            format!("{} is not a learning rate", t.lr),
            "use a positive value such as 0.001",
        );
    }
    if t.batch_size == 0 {
        return bad(
            "training.batch_size",
            "0".into(),
            "use at least 1 window per batch",
        );
    }
    if let Some(c) = t.grad_clip {
        if !(c.is_finite() && c > 0.0) {
            return bad(
                "training.grad_clip",
                format!("{c}"),
                "use a positive norm, or remove the key",
            );
        }
    }
    for l in &cfg.analysis.levels {
        if !["population", "area_layer", "area"].contains(&l.as_str()) {
            return bad(
                "analysis.levels",
                format!("unknown level `{l}`"),
                &super::suggest(l, &default_levels(), "value"),
            );
        }
    }
    Ok(())
}
