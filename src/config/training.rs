//! `training:` phases, optimiser and learning-rate schedule (design §5).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

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
    /// Where the recorded units' weights start: `none` (the initialisation) or `one_step` (the
    /// convex one-step estimate from the training frames where each unit is active, with Dale's
    /// signs and the mask as bounds; see `src/estimate.rs`).
    #[serde(default)]
    pub warm_start: WarmStart,
    /// Generalized teacher forcing of the training loss, γ in [0, 1]: at every step each recorded
    /// unit's state is pulled towards the state its trace implies, `x ← (1 − γ) x + γ x̂(y)`,
    /// before the network runs on (0: free-running; 1: one-step-ahead prediction). The
    /// validation loss uses the same objective; the evaluation's metrics do not.
    #[serde(default)]
    pub teacher_forcing: f64,
    /// When the fit's state is saved for `--resume`.
    #[serde(default)]
    pub checkpoint: CheckpointPolicy,
    /// `bptt` (default) or `es`: the optimiser steps on an evolution strategy's gradient estimate
    /// (antithetic perturbations of every trainable parameter, centred ranks of their losses;
    /// forward passes only), set by `es`.
    #[serde(default)]
    pub gradient: GradientKind,
    /// `gradient: es`: perturbations per step and their scale.
    #[serde(default)]
    pub es: EsConfig,
}

/// `training.checkpoint`: when the fit's state is written to `model/checkpoint.safetensors`.
/// A checkpoint is written at the end of every phase, and in between when either limit is reached;
/// a killed fit loses at most the work since the last one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointPolicy {
    /// Wall time between checkpoints within a phase, s.
    #[serde(default = "default_checkpoint_s")]
    pub every_s: f64,
    /// Epochs between checkpoints within a phase (none: time alone decides).
    #[serde(default)]
    pub every_epochs: Option<usize>,
}

fn default_checkpoint_s() -> f64 {
    60.0
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            every_s: default_checkpoint_s(),
            every_epochs: None,
        }
    }
}

/// The start of the recorded units' weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarmStart {
    /// The initialisation (`constraints.init`).
    #[default]
    None,
    /// The convex one-step estimate.
    OneStep,
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
            warm_start: WarmStart::None,
            teacher_forcing: 0.0,
            checkpoint: CheckpointPolicy::default(),
            gradient: GradientKind::Bptt,
            es: EsConfig::default(),
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

impl TrainingConfig {
    /// Value checks that serde cannot express; `file` is the config, named in errors.
    pub(super) fn validate(&self, file: &Path) -> Result<()> {
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(file, key, problem, fix));
        self.es.validate(file)?;
        if self.es.loss != EsLoss::Mse && self.gradient != GradientKind::Es {
            return bad(
                "training.es.loss",
                "`events` has no gradient for backpropagation".into(),
                "set training.gradient: es, or remove training.es.loss",
            );
        }
        if self.checkpoint.every_s.is_nan() || self.checkpoint.every_s < 0.0 {
            return bad(
                "training.checkpoint.every_s",
                format!("{}", self.checkpoint.every_s),
                "use seconds ≥ 0 (0 writes a checkpoint after every epoch)",
            );
        }
        if self.checkpoint.every_epochs == Some(0) {
            return bad(
                "training.checkpoint.every_epochs",
                "0".into(),
                "use 1 or more, or leave it out",
            );
        }
        if self.weight_decay < 0.0 || !self.weight_decay.is_finite() {
            return bad(
                "training.weight_decay",
                format!("{}", self.weight_decay),
                "use a value ≥ 0",
            );
        }
        if let Schedule::Step { step_size, gamma } = &self.schedule {
            if *step_size == 0 || !(gamma.is_finite() && *gamma > 0.0) {
                return bad(
                    "training.schedule",
                    format!("step_size {step_size}, gamma {gamma}"),
                    "use step_size ≥ 1 and gamma > 0",
                );
            }
        }
        if let Schedule::Cosine { t_max, eta_min } = &self.schedule {
            if *t_max == 0 || eta_min.is_nan() || *eta_min < 0.0 {
                return bad(
                    "training.schedule",
                    format!("t_max {t_max}, eta_min {eta_min}"),
                    "use t_max ≥ 1 and eta_min ≥ 0",
                );
            }
        }
        if !(0.0..=1.0).contains(&self.teacher_forcing) {
            return bad(
                "training.teacher_forcing",
                format!("{}", self.teacher_forcing),
                "use a fraction between 0 (free-running) and 1 (one-step-ahead)",
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(
                "training.lr",
                format!("{} is not a learning rate", self.lr),
                "use a positive value such as 0.001",
            );
        }
        if self.batch_size == 0 {
            return bad(
                "training.batch_size",
                "0".into(),
                "use at least 1 window per batch",
            );
        }
        if let Some(c) = self.grad_clip {
            if !(c.is_finite() && c > 0.0) {
                return bad(
                    "training.grad_clip",
                    format!("{c}"),
                    "use a positive norm, or remove the key",
                );
            }
        }
        Ok(())
    }
}

/// `training.es`: the evolution strategy's settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsConfig {
    /// Perturbations per step (antithetic pairs: an even number ≥ 2).
    #[serde(default = "default_population")]
    pub population: usize,
    /// Perturbation scale σ, in units of the parameters.
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// What a data fit's strategy ranks its perturbations by: `mse` (the training loss) or
    /// `events` (the fraction of frames × traces where prediction and trace disagree on lying
    /// above `level`: a count backpropagation cannot train on). Task mode uses its task's loss.
    #[serde(default)]
    pub loss: EsLoss,
    /// `loss: events`: the event threshold, in the normalised traces' units (SDs above the mean
    /// with the default z-scoring).
    #[serde(default = "default_level")]
    pub level: f64,
}

/// What the evolution strategy of a data fit ranks its perturbations by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EsLoss {
    /// The training loss (mean squared error).
    #[default]
    Mse,
    /// The fraction of frames × traces on the wrong side of `level`.
    Events,
}

fn default_level() -> f64 {
    1.0
}

fn default_population() -> usize {
    32
}
fn default_sigma() -> f64 {
    0.02
}

impl Default for EsConfig {
    fn default() -> Self {
        EsConfig {
            population: default_population(),
            sigma: default_sigma(),
            loss: EsLoss::Mse,
            level: default_level(),
        }
    }
}

impl EsConfig {
    /// Value checks; `file` is the config, named in errors.
    pub fn validate(&self, file: &Path) -> Result<()> {
        if self.population < 2 || self.population % 2 == 1 {
            return Err(Error::config(
                file,
                "training.es.population",
                format!("{}", self.population),
                "use an even number of perturbations, at least 2 (they come in ± pairs)",
            ));
        }
        if !(self.sigma.is_finite() && self.sigma > 0.0) {
            return Err(Error::config(
                file,
                "training.es.sigma",
                format!("{}", self.sigma),
                "use a positive perturbation scale, e.g. 0.02",
            ));
        }
        if !self.level.is_finite() {
            return Err(Error::config(
                file,
                "training.es.level",
                format!("{}", self.level),
                "use a finite threshold, e.g. 1 (SD above the mean)",
            ));
        }
        Ok(())
    }
}

/// How the training gradient is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradientKind {
    /// Backpropagation through time.
    #[default]
    Bptt,
    /// An evolution strategy's estimate from forward passes alone (`training.es`).
    Es,
}
