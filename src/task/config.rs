//! `fitrnn task --config FILE`: the task, the network and its training, as YAML.
//!
//! ```yaml
//! task: {name: flip_flop}              # flip_flop | adding | wave | smnist_5k
//! model: {architecture: standard, units: 128, constraint: dale}
//! training: {epochs: 100, batch_size: 200, lr: 0.001}
//! output: {dir: runs/task_flip_flop}
//! seed: 0
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

pub use crate::config::{Architecture, EsConfig};
use std::path::{Path, PathBuf};

/// A task run's config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// What the network learns.
    pub task: TaskSpec,
    /// The network.
    #[serde(default)]
    pub model: TaskModel,
    /// How it learns.
    #[serde(default)]
    pub training: TaskTraining,
    /// Where the run directory goes.
    #[serde(default)]
    pub output: TaskOutput,
    /// Seed of the data, the initial weights and the batch order.
    #[serde(default)]
    pub seed: u64,
}

/// `task:` one of the papers' benchmark tasks, generated from its definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Which task.
    pub name: TaskName,
    /// Time steps per example (default: 50 flip-flop, 20 adding, 100 wave, 8 perceptual
    /// decision).
    #[serde(default)]
    pub steps: Option<usize>,
    /// Training examples, drawn once from the seed (default 6000 flip-flop, 10000 adding,
    /// 1000 wave, 10000 perceptual decision).
    #[serde(default)]
    pub train_examples: Option<usize>,
    /// Test examples, drawn from a stream independent of the training examples (default 1000).
    #[serde(default)]
    pub test_examples: Option<usize>,
    /// Flip-flop: probability of a pulse per step and channel (Balwani et al.: 0.05).
    #[serde(default = "default_pulse_probability")]
    pub pulse_probability: f64,
    /// Flip-flop: independent memory channels (Balwani et al.: 1).
    #[serde(default = "default_channels")]
    pub channels: usize,
    /// `smnist_5k`: the digits file (default `data/mnist_5k.h5`, relative to the current folder).
    #[serde(default)]
    pub digits: Option<PathBuf>,
}

/// The benchmark tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskName {
    /// Balwani et al.'s flip-flop: ±1 pulses at random steps; the output holds the sign of the
    /// last pulse (MSE at every step, through `tanh`).
    FlipFlop,
    /// The adding problem (Li, Cornford et al.'s `adding.py` at length 20): two inputs, a value in
    /// [0, 1) and a marker on two steps; the output at the last step is the sum of the two marked
    /// values.
    Adding,
    /// Balwani et al.'s wave reconstruction: one-step-ahead prediction of two sinusoids, one read
    /// out from the excitatory units and one from the inhibitory ones.
    Wave,
    /// Row-wise sequential MNIST on the 5,000-digit subset fitrnn ships (`data/mnist_5k.h5`): 28
    /// steps of 28 pixels, 10 outputs, cross-entropy at the last step; 4,000 training and 1,000
    /// test digits.
    #[serde(rename = "smnist_5k")]
    Smnist5k,
    /// Perceptual decision making (neurogym's `PerceptualDecisionMaking`, as Liu et al. 2024 time
    /// it: 700 ms of stimulus and 100 ms of decision at 100 ms steps): a fixation input and two
    /// noisy evidence inputs; three outputs (fixate, choice 1, choice 2), cross-entropy at every
    /// step.
    PerceptualDecision,
}

impl TaskName {
    /// The name as configs write it.
    pub fn name(self) -> &'static str {
        match self {
            TaskName::FlipFlop => "flip_flop",
            TaskName::Adding => "adding",
            TaskName::Wave => "wave",
            TaskName::Smnist5k => "smnist_5k",
            TaskName::PerceptualDecision => "perceptual_decision",
        }
    }
}

/// `model:` the recurrent network.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskModel {
    /// How `W_rec` is built.
    #[serde(default)]
    pub architecture: Architecture,
    /// Recurrent units (for `dann`: the excitatory units; `interneurons` more are feed-forward).
    #[serde(default = "default_units")]
    pub units: usize,
    /// Fraction of inhibitory units (`standard` with a constraint, and `colei`); excitatory
    /// units come first.
    #[serde(default = "default_i_fraction")]
    pub i_fraction: f64,
    /// `dann`: feed-forward inhibitory interneurons (default one per 10 units, at least 1).
    #[serde(default)]
    pub interneurons: Option<usize>,
    /// `standard` only: `none` (no sign constraint), `dale` (Dale's backprop: wrong-signed weights
    /// set to 0 after every step), `rectified` (Balwani et al.'s baseline: `W ← [W]⁺ · sign`
    /// after every step, which zeroes the inhibitory columns) or `frozen_sign` (every weight keeps
    /// the sign it starts with). `colei` and `dann` keep Dale's law
    /// by construction.
    #[serde(default)]
    pub constraint: SignConstraint,
    /// `standard`: how `W` starts: `default` (see `constraint`), `colei` (a ColEI matrix, then
    /// trained without its sign rule), or a spectrum transplant (Li, Cornford et al. 2023, §2.4):
    /// `colei_vectors_rnn_spectrum` (a ColEI matrix's singular vectors with a standard matrix's
    /// singular values) or `rnn_vectors_colei_spectrum` (the reverse).
    #[serde(default)]
    pub init: TaskInit,
    /// `init: low_rank`: the rank kept (default: the number of units, i.e. full rank).
    #[serde(default)]
    pub init_rank: Option<usize>,
    /// `colei` (and the ColEI matrices of `init`): spectral radius of the initial `W_rec` (Li,
    /// Cornford et al.: 1.5).
    #[serde(default = "default_radius")]
    pub spectral_radius: f64,
    /// Nonlinearity φ: `tanh_relu` (Balwani et al.'s rectified tanh), `tanh`, `relu`
    /// (Li, Cornford et al.) or `softplus`.
    #[serde(default)]
    pub activation: Option<crate::model::Activation>,
    /// Leak `α = dt / τ` (1: the discrete RNN both papers use).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// What the readout reads: `rate` (φ(x)) or `unrectified` (tanh(x), Balwani et al.'s).
    #[serde(default)]
    pub readout_input: Option<crate::model::ReadoutInput>,
}

/// How a `standard` network's `W` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskInit {
    /// `U(±1/√n)`, or Balwani et al.'s signed uniform under `dale` or `rectified`.
    #[default]
    Default,
    /// A ColEI matrix (exponential magnitudes, column signs, spectral radius `spectral_radius`).
    Colei,
    /// The singular vectors of a ColEI matrix with the singular values of a `U(±1/√n)` matrix.
    ColeiVectorsRnnSpectrum,
    /// The singular vectors of a `U(±1/√n)` matrix with the singular values of a ColEI matrix.
    RnnVectorsColeiSpectrum,
    /// Liu et al. 2024's low-rank start: `1.25 · N(0, 1)/√n`, truncated to its top `init_rank`
    /// singular components, rescaled to the full matrix's Frobenius norm.
    LowRank,
}

/// Sign constraint of a `standard` network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignConstraint {
    /// None: Balwani et al.'s "conventional" network.
    #[default]
    None,
    /// Dale's backprop.
    Dale,
    /// Balwani et al.'s "rectified" baseline.
    Rectified,
    /// Every weight keeps the sign it starts with (Li, Cornford et al.'s `WClampMixin`:
    /// `W ← sign₀ · max(W · sign₀, 10⁻⁹)` after every step; weights that start at 0 stay 0).
    FrozenSign,
}

/// `training:` plain first-order training, as the papers train.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTraining {
    /// Passes over the training examples.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Examples per batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// `adam` (Balwani et al.), `sgd` (Li, Cornford et al.; momentum 0 unless set), `es` (Adam
    /// on an evolution strategy's gradient estimate, forward passes only; see `es`), `adamw`, or
    /// Cornford et al. 2024's exponentiated gradients `adamw_eg` and `sgd_eg`.
    #[serde(default)]
    pub optimiser: TaskOptimiser,
    /// Learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// SGD momentum.
    #[serde(default)]
    pub momentum: f64,
    /// Weight decay λ: decoupled for `adamw` and `adamw_eg` (`w ← w (1 − η λ)`), added to the
    /// gradient for `sgd` (`g ← g + λ w`) and `sgd_eg` (`g ← g + λ sign(w)`); refused with `adam`
    /// and `es`, which have none.
    #[serde(default)]
    pub weight_decay: f64,
    /// Clip the global gradient norm to this value (unset: no clipping).
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// `optimiser: es`: perturbations per step and their scale.
    #[serde(default)]
    pub es: EsConfig,
    /// `dann`: divide the inhibitory parameters' gradients as Cornford et al. 2021's corrected
    /// SGD does (`∇W_IE /= √n_E`, `∇W_EI /= n_E`, `∇U_IX /= √n_E`, `∇U_EI /= n_in`), before
    /// clipping. Default: on for `dann`.
    #[serde(default)]
    pub fisher_correction: Option<bool>,
}

/// The task optimisers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOptimiser {
    /// Adam, PyTorch's defaults.
    #[default]
    Adam,
    /// SGD.
    Sgd,
    /// Adam on the gradient an evolution strategy estimates from forward passes alone.
    Es,
    /// AdamW (decoupled weight decay, `training.weight_decay`).
    Adamw,
    /// AdamW with exponentiated gradients on every weight matrix (Cornford et al. 2024:
    /// `w ← w ⊙ exp(−η sign(w) ⊙ m̂/(√v̂ + ε))`, so no weight changes sign); biases additive.
    AdamwEg,
    /// SGD (with `momentum`) with exponentiated gradients on every weight matrix; biases additive.
    SgdEg,
}

/// `output:` the run directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskOutput {
    /// Run directory (default `runs/task_<name>`), relative to the current directory.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Replace an existing task run there.
    #[serde(default)]
    pub overwrite: bool,
}

fn default_pulse_probability() -> f64 {
    0.05
}
fn default_channels() -> usize {
    1
}
fn default_units() -> usize {
    128
}
fn default_i_fraction() -> f64 {
    0.2
}
fn default_radius() -> f64 {
    1.5
}
fn default_alpha() -> f64 {
    1.0
}
fn default_epochs() -> usize {
    100
}
fn default_batch() -> usize {
    200
}
fn default_lr() -> f64 {
    1e-3
}

impl Default for TaskModel {
    fn default() -> Self {
        TaskModel {
            architecture: Architecture::Standard,
            units: default_units(),
            i_fraction: default_i_fraction(),
            interneurons: None,
            constraint: SignConstraint::None,
            init: TaskInit::Default,
            init_rank: None,
            spectral_radius: default_radius(),
            activation: None,
            alpha: default_alpha(),
            readout_input: None,
        }
    }
}

impl Default for TaskTraining {
    fn default() -> Self {
        TaskTraining {
            epochs: default_epochs(),
            batch_size: default_batch(),
            optimiser: TaskOptimiser::Adam,
            lr: default_lr(),
            momentum: 0.0,
            weight_decay: 0.0,
            grad_clip: None,
            es: EsConfig::default(),
            fisher_correction: None,
        }
    }
}

impl TaskConfig {
    /// Load `path` with `--set` overrides, fill the task's defaults and check the values.
    pub fn load(path: &Path, overrides: &[String]) -> Result<TaskConfig> {
        let c: TaskConfig =
            crate::config::load_yaml(path, overrides, &["output.dir", "task.digits"])?;
        c.resolved(path)
    }

    /// Parse `text` as if read from `path`.
    pub fn parse(path: &Path, text: &str, overrides: &[String]) -> Result<TaskConfig> {
        let c: TaskConfig = crate::config::parse_yaml(path, text, overrides, &["output.dir"])?;
        c.resolved(path)
    }

    /// Every default made explicit (so `config.resolved.yaml` says what ran), then checked.
    fn resolved(mut self, file: &Path) -> Result<TaskConfig> {
        let t = &mut self.task;
        let (steps, train) = match t.name {
            TaskName::FlipFlop => (50, 6000),
            TaskName::Adding => (20, 10_000),
            TaskName::Wave => (100, 1000),
            TaskName::Smnist5k => (28, 4000),
            TaskName::PerceptualDecision => (8, 10_000),
        };
        if t.name == TaskName::Smnist5k {
            t.digits
                .get_or_insert_with(|| PathBuf::from("data/mnist_5k.h5"));
        }
        t.steps.get_or_insert(steps);
        t.train_examples.get_or_insert(train);
        t.test_examples.get_or_insert(1000);
        let m = &mut self.model;
        let rectified_tanh = matches!(
            (m.architecture, m.constraint),
            (Architecture::Standard, SignConstraint::Dale)
        );
        m.activation.get_or_insert(match m.architecture {
            Architecture::Standard if rectified_tanh => crate::model::Activation::TanhRelu,
            Architecture::Standard => crate::model::Activation::Tanh,
            _ => crate::model::Activation::Relu,
        });
        m.readout_input.get_or_insert(if rectified_tanh {
            crate::model::ReadoutInput::Unrectified
        } else {
            crate::model::ReadoutInput::Rate
        });
        if m.architecture == Architecture::Dann {
            m.interneurons
                .get_or_insert(crate::constraints::architectures::dann_interneurons(
                    m.units,
                ));
        }
        self.training
            .fisher_correction
            .get_or_insert(m.architecture == Architecture::Dann);
        if self.output.dir.is_none() {
            self.output.dir = Some(PathBuf::from(format!("runs/task_{}", t.name.name())));
        }
        self.validate(file)?;
        Ok(self)
    }

    fn validate(&self, file: &Path) -> Result<()> {
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(file, key, problem, fix));
        let t = &self.task;
        let m = &self.model;
        let tr = &self.training;
        if t.digits.is_some() && t.name != TaskName::Smnist5k {
            return bad(
                "task.digits",
                format!("set for `{}`, which draws its examples", t.name.name()),
                "remove task.digits (it is for smnist_5k)",
            );
        }
        let steps = t.steps.unwrap_or(0);
        if steps < 2 {
            return bad("task.steps", format!("{steps}"), "use at least 2 steps");
        }
        for (key, n) in [
            ("task.train_examples", t.train_examples),
            ("task.test_examples", t.test_examples),
        ] {
            if n == Some(0) {
                return bad(key, "0".into(), "use at least 1 example");
            }
        }
        if !(t.pulse_probability > 0.0 && t.pulse_probability <= 1.0) {
            return bad(
                "task.pulse_probability",
                format!("{}", t.pulse_probability),
                "use a probability in (0, 1]",
            );
        }
        if t.channels == 0 {
            return bad("task.channels", "0".into(), "use at least 1 channel");
        }
        if m.units < 2 {
            return bad(
                "model.units",
                format!("{}", m.units),
                "use at least 2 units",
            );
        }
        if !(m.i_fraction > 0.0 && m.i_fraction < 1.0) {
            return bad(
                "model.i_fraction",
                format!("{}", m.i_fraction),
                "use a fraction strictly between 0 and 1",
            );
        }
        if m.interneurons == Some(0) {
            return bad("model.interneurons", "0".into(), "use at least 1");
        }
        if m.architecture != Architecture::Standard && m.constraint != SignConstraint::None {
            return bad(
                "model.constraint",
                format!(
                    "`{}` is for the standard architecture; `{}` keeps Dale's law by construction",
                    yaml_name(&m.constraint),
                    yaml_name(&m.architecture)
                ),
                "remove model.constraint",
            );
        }
        if m.init_rank.is_some_and(|r| r == 0 || r > m.units) {
            return bad(
                "model.init_rank",
                format!("{} for {} units", m.init_rank.unwrap_or(0), m.units),
                "use a rank from 1 to the number of units",
            );
        }
        if m.init_rank.is_some() && m.init != TaskInit::LowRank {
            return bad(
                "model.init_rank",
                "set without model.init: low_rank".into(),
                "add model.init: low_rank, or remove model.init_rank",
            );
        }
        if m.architecture != Architecture::Standard && m.init != TaskInit::Default {
            return bad(
                "model.init",
                format!(
                    "`{}` with `{}`",
                    yaml_name(&m.init),
                    yaml_name(&m.architecture)
                ),
                "model.init is for the standard architecture; remove it",
            );
        }
        if m.init != TaskInit::Default
            && matches!(
                m.constraint,
                SignConstraint::Dale | SignConstraint::Rectified
            )
        {
            return bad(
                "model.init",
                format!(
                    "a `{}` start has no column signs for `{}` to keep",
                    yaml_name(&m.init),
                    yaml_name(&m.constraint)
                ),
                "use constraint none or frozen_sign with it",
            );
        }
        if !(m.spectral_radius.is_finite() && m.spectral_radius >= 0.0) {
            return bad(
                "model.spectral_radius",
                format!("{}", m.spectral_radius),
                "use a radius ≥ 0 (0 keeps the drawn scale)",
            );
        }
        if !(m.alpha > 0.0 && m.alpha <= 1.0) {
            return bad(
                "model.alpha",
                format!("{}", m.alpha),
                "use a leak in (0, 1]",
            );
        }
        if t.name == TaskName::Smnist5k {
            if steps != 28 {
                return bad(
                    "task.steps",
                    format!("{steps}"),
                    "row-wise MNIST has 28 steps (one per row); remove task.steps",
                );
            }
            if t.train_examples.unwrap_or(0) > 4000 || t.test_examples.unwrap_or(0) > 1000 {
                return bad(
                    "task.train_examples",
                    format!(
                        "{} training and {} test digits",
                        t.train_examples.unwrap_or(0),
                        t.test_examples.unwrap_or(0)
                    ),
                    "the 5,000-digit subset splits into at most 4,000 training and 1,000 test digits",
                );
            }
        }
        if t.name == TaskName::Wave && m.architecture == Architecture::Dann {
            return bad(
                "model.architecture",
                "wave reads one output from the excitatory units and one from the inhibitory units, and a DANN's units are all excitatory".into(),
                "use `standard` or `colei` for wave",
            );
        }
        if tr.epochs == 0 || tr.batch_size == 0 {
            return bad(
                "training.epochs",
                format!("epochs {}, batch_size {}", tr.epochs, tr.batch_size),
                "use at least 1 epoch and 1 example per batch",
            );
        }
        if !(tr.lr.is_finite() && tr.lr > 0.0) {
            return bad(
                "training.lr",
                format!("{}", tr.lr),
                "use a positive learning rate",
            );
        }
        if !(tr.momentum.is_finite() && (0.0..1.0).contains(&tr.momentum)) {
            return bad(
                "training.momentum",
                format!("{}", tr.momentum),
                "use a momentum in [0, 1)",
            );
        }
        if !(tr.weight_decay.is_finite() && tr.weight_decay >= 0.0) {
            return bad(
                "training.weight_decay",
                format!("{}", tr.weight_decay),
                "use a decay of 0 or more",
            );
        }
        if tr.weight_decay > 0.0 && matches!(tr.optimiser, TaskOptimiser::Adam | TaskOptimiser::Es)
        {
            return bad(
                "training.weight_decay",
                format!(
                    "{} with `{}`, which has no weight decay",
                    tr.weight_decay,
                    yaml_name(&tr.optimiser)
                ),
                "use optimiser: adamw (decoupled decay), or remove training.weight_decay",
            );
        }
        if let Some(c) = tr.grad_clip.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return bad(
                "training.grad_clip",
                format!("{c}"),
                "use a positive norm, or remove it",
            );
        }
        tr.es.validate(file)?;
        if tr.es.loss != crate::config::EsLoss::Mse {
            return bad(
                "training.es.loss",
                format!(
                    "`{}` in task mode, which ranks by its task's loss",
                    yaml_name(&tr.es.loss)
                ),
                "remove training.es.loss (it is for data fits)",
            );
        }
        if tr.fisher_correction == Some(true) && m.architecture != Architecture::Dann {
            return bad(
                "training.fisher_correction",
                "the correction acts on a DANN's inhibitory parameters".into(),
                "remove it, or use model.architecture: dann",
            );
        }
        if self
            .output
            .dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            return bad("output.dir", "an empty path".into(), "name a run directory");
        }
        Ok(())
    }

    /// Time steps per example.
    pub fn steps(&self) -> usize {
        self.task.steps.unwrap_or(2)
    }
}

/// How a config value is written in YAML (e.g. `frozen_sign`), for messages.
fn yaml_name<T: Serialize>(value: &T) -> String {
    serde_yaml::to_string(value)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
