//! The state of a fit at an epoch boundary, saved so an interrupted run resumes exactly:
//! parameters, optimiser moments, best parameters of the phase, mask, the random stream's position,
//! the window order and the history. Stored as one file, `model/checkpoint.safetensors`: the
//! tensors, with everything else as JSON in its metadata under [`METADATA_KEY`], written
//! atomically, so a checkpoint on disk is always one whole epoch boundary (runs written by fitrnn
//! 0.1 kept the JSON in `model/checkpoint.json`, which is still read).

use super::paths::RunPaths;
use super::tables::HistoryRow;
use crate::error::{Error, Result};
use crate::model::ParamsCpu;
use candle_core::{Device, Tensor};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The metadata key of the checkpoint's JSON (counters, window order, history).
pub const METADATA_KEY: &str = "fitrnn.checkpoint";

/// Optimiser moments of one variable: its shape, first and second moments (flattened).
pub type OptimSlot = (Vec<usize>, Vec<f32>, Vec<f32>);

/// Where a fit stands.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Index of the current phase (0 = dense, 1 = finetune; 2 = done).
    pub phase: usize,
    /// Whether the current phase's start (pruning) has happened.
    pub started: bool,
    /// Epochs completed in the current phase.
    pub epoch: usize,
    /// Optimiser steps in the current phase.
    pub step: usize,
    /// Epochs since the best validation loss of the phase.
    pub since_best: usize,
    /// Early stopping ended the phase.
    pub stopped: bool,
    /// Best score and parameters of the current phase.
    pub best: Option<(f64, ParamsCpu)>,
    /// Current parameters.
    pub params: ParamsCpu,
    /// Optimiser steps taken and moments `(m, v)` per variable, with shapes.
    pub opt_step: usize,
    /// Optimiser moments per variable.
    pub opt_slots: Vec<OptimSlot>,
    /// Current mask.
    pub mask: Array2<f32>,
    /// Initial `W_rec`.
    pub w_init: Array2<f32>,
    /// Parameters after the dense phase.
    pub dense: Option<ParamsCpu>,
    /// Training-window order (shuffled in place every epoch).
    pub order: Vec<usize>,
    /// Position of the ChaCha8 random stream.
    pub rng_word_pos: u128,
    /// History so far.
    pub history: Vec<HistoryRow>,
    /// Wall time per phase so far, s.
    pub phase_seconds: Vec<(String, f64)>,
    /// The factor on the scheduled learning rate (halved at every retry after a non-finite loss).
    pub lr_scale: f64,
    /// Every retry after a non-finite loss: where it happened and what went wrong.
    pub retries: Vec<String>,
    /// What the warm start did (none without one).
    pub warm_start: Option<super::manifest::WarmStartSummary>,
}

/// A history row as JSON (a NaN validation loss becomes null).
#[derive(Serialize, Deserialize)]
struct HistoryJson {
    phase: String,
    epoch: u32,
    step: u32,
    train_loss: f64,
    val_loss: Option<f64>,
    lr: f64,
    seconds: f64,
}

#[derive(Serialize, Deserialize)]
struct Scalars {
    phase: usize,
    started: bool,
    epoch: usize,
    step: usize,
    since_best: usize,
    stopped: bool,
    best_score: Option<f64>,
    opt_step: usize,
    n_slots: usize,
    order: Vec<usize>,
    rng_word_pos: String,
    history: Vec<HistoryJson>,
    phase_seconds: Vec<(String, f64)>,
    has_dense: bool,
    #[serde(default = "one")]
    lr_scale: f64,
    #[serde(default)]
    retries: Vec<String>,
    #[serde(default)]
    warm_start: Option<super::manifest::WarmStartSummary>,
}

fn one() -> f64 {
    1.0
}

impl Checkpoint {
    /// The state before the first epoch.
    pub fn fresh(
        params: ParamsCpu,
        mask: Array2<f32>,
        w_init: Array2<f32>,
        n_windows: usize,
    ) -> Self {
        Checkpoint {
            phase: 0,
            started: false,
            epoch: 0,
            step: 0,
            since_best: 0,
            stopped: false,
            best: None,
            params,
            opt_step: 0,
            opt_slots: vec![],
            mask,
            w_init,
            dense: None,
            order: (0..n_windows).collect(),
            rng_word_pos: 0,
            history: vec![],
            phase_seconds: vec![],
            lr_scale: 1.0,
            retries: vec![],
            warm_start: None,
        }
    }

    /// Move to the start of the next phase.
    pub fn next_phase(&mut self) {
        self.phase += 1;
        self.started = false;
        self.epoch = 0;
        self.step = 0;
        self.since_best = 0;
        self.stopped = false;
        self.best = None;
        self.opt_step = 0;
        self.opt_slots.clear();
    }

    /// Wall time spent in `phase` so far, s.
    pub fn seconds_of(&self, phase: &str) -> f64 {
        self.phase_seconds
            .iter()
            .find(|(p, _)| p == phase)
            .map(|(_, s)| *s)
            .unwrap_or(0.0)
    }

    /// Set the wall time spent in `phase`, s.
    pub fn set_seconds(&mut self, phase: &str, seconds: f64) {
        match self.phase_seconds.iter_mut().find(|(p, _)| p == phase) {
            Some((_, s)) => *s = seconds,
            None => self.phase_seconds.push((phase.to_string(), seconds)),
        }
    }

    /// Write to the run's `model/checkpoint.safetensors`, atomically.
    pub fn save(&self, paths: &RunPaths) -> Result<()> {
        let mut t: HashMap<String, Tensor> = HashMap::new();
        let cpu = Device::Cpu;
        let arr = |a: &Array2<f32>| {
            Tensor::from_slice(a.as_slice().expect("standard layout"), a.dim(), &cpu)
                .map_err(Error::from)
        };
        let vec = |v: &[f32]| Tensor::from_slice(v, v.len(), &cpu).map_err(Error::from);
        let mut put = |prefix: &str, p: &ParamsCpu| -> Result<()> {
            t.insert(format!("{prefix}.w_rec"), arr(&p.w_rec)?);
            t.insert(format!("{prefix}.w_in"), arr(&p.w_in)?);
            t.insert(format!("{prefix}.b"), vec(&p.b)?);
            t.insert(format!("{prefix}.gain"), vec(&p.gain)?);
            t.insert(format!("{prefix}.offset"), vec(&p.offset)?);
            t.insert(format!("{prefix}.x0"), vec(&p.x0)?);
            if !p.calcium_log_tau.is_empty() {
                t.insert(
                    format!("{prefix}.calcium_log_tau"),
                    vec(&p.calcium_log_tau)?,
                );
            }
            if !p.log_tau.is_empty() {
                t.insert(format!("{prefix}.log_tau"), vec(&p.log_tau)?);
            }
            if !p.latent.is_empty() {
                t.insert(format!("{prefix}.latent"), arr(&p.latent)?);
            }
            Ok(())
        };
        put("params", &self.params)?;
        if let Some((_, b)) = &self.best {
            put("best", b)?;
        }
        if let Some(d) = &self.dense {
            put("dense", d)?;
        }
        t.insert("mask".into(), arr(&self.mask)?);
        t.insert("w_init".into(), arr(&self.w_init)?);
        for (k, (shape, m, v)) in self.opt_slots.iter().enumerate() {
            t.insert(
                format!("opt.{k}.m"),
                Tensor::from_slice(m, shape.as_slice(), &cpu)?,
            );
            t.insert(
                format!("opt.{k}.v"),
                Tensor::from_slice(v, shape.as_slice(), &cpu)?,
            );
        }
        let dir = paths.model_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "creating", e))?;
        let metadata = HashMap::from([(METADATA_KEY.to_string(), self.scalars_json()?)]);
        super::weights::write(&paths.checkpoint(), &t, Some(metadata))
    }

    /// Everything but the tensors, as JSON.
    fn scalars_json(&self) -> Result<String> {
        let scalars = Scalars {
            phase: self.phase,
            started: self.started,
            epoch: self.epoch,
            step: self.step,
            since_best: self.since_best,
            stopped: self.stopped,
            best_score: self.best.as_ref().map(|b| b.0),
            opt_step: self.opt_step,
            n_slots: self.opt_slots.len(),
            order: self.order.clone(),
            rng_word_pos: self.rng_word_pos.to_string(),
            history: self
                .history
                .iter()
                .map(|h| HistoryJson {
                    phase: h.phase.clone(),
                    epoch: h.epoch,
                    step: h.step,
                    train_loss: h.train_loss,
                    val_loss: h.val_loss.is_finite().then_some(h.val_loss),
                    lr: h.lr,
                    seconds: h.seconds,
                })
                .collect(),
            phase_seconds: self.phase_seconds.clone(),
            has_dense: self.dense.is_some(),
            lr_scale: self.lr_scale,
            retries: self.retries.clone(),
            warm_start: self.warm_start.clone(),
        };
        serde_json::to_string(&scalars).map_err(|e| Error::internal("writing the checkpoint", e))
    }

    /// Read a state written by [`Checkpoint::save`].
    pub fn load(paths: &RunPaths) -> Result<Checkpoint> {
        let t = super::weights::TensorFile::open(&paths.checkpoint())?;
        let (json_path, text) = match t.metadata(METADATA_KEY) {
            Some(text) => (paths.checkpoint(), text.to_string()),
            None => {
                let legacy = paths.legacy_checkpoint_json();
                let text = std::fs::read_to_string(&legacy)
                    .map_err(|e| Error::io(&legacy, "reading the checkpoint", e))?;
                (legacy, text)
            }
        };
        let s: Scalars = serde_json::from_str(&text).map_err(|e| {
            Error::data(
                &json_path,
                METADATA_KEY,
                format!("not a fitrnn checkpoint: {e}"),
                "resume only run directories written by fitrnn",
            )
        })?;
        let mut opt_slots = Vec::new();
        for k in 0..s.n_slots {
            let (shape, m) = t.flat(&format!("opt.{k}.m"))?;
            opt_slots.push((shape, m, t.flat(&format!("opt.{k}.v"))?.1));
        }
        Ok(Checkpoint {
            phase: s.phase,
            started: s.started,
            epoch: s.epoch,
            step: s.step,
            since_best: s.since_best,
            stopped: s.stopped,
            best: match s.best_score {
                Some(score) => Some((score, t.params("best.")?)),
                None => None,
            },
            params: t.params("params.")?,
            opt_step: s.opt_step,
            opt_slots,
            mask: t.array2("mask")?,
            w_init: t.array2("w_init")?,
            dense: if s.has_dense {
                Some(t.params("dense.")?)
            } else {
                None
            },
            order: s.order,
            rng_word_pos: s.rng_word_pos.parse().map_err(|_| {
                Error::data(
                    &json_path,
                    "rng_word_pos",
                    "not an integer",
                    "start the run again",
                )
            })?,
            history: s
                .history
                .into_iter()
                .map(|h| HistoryRow {
                    phase: h.phase,
                    epoch: h.epoch,
                    step: h.step,
                    train_loss: h.train_loss,
                    val_loss: h.val_loss.unwrap_or(f64::NAN),
                    lr: h.lr,
                    seconds: h.seconds,
                })
                .collect(),
            phase_seconds: s.phase_seconds,
            lr_scale: s.lr_scale,
            retries: s.retries,
            warm_start: s.warm_start,
        })
    }
}

/// Writes the checkpoints of one fit as `training.checkpoint` asks: at every phase end, and within
/// a phase once `every_s` seconds or `every_epochs` epochs have passed since the last one. Counts
/// what it wrote.
#[derive(Debug)]
pub struct CheckpointWriter {
    paths: RunPaths,
    policy: crate::config::CheckpointPolicy,
    last: std::time::Instant,
    epochs_since: usize,
    /// Checkpoints written.
    pub written: u64,
    /// Bytes written in checkpoints.
    pub bytes: u64,
}

impl CheckpointWriter {
    /// A writer into the run at `paths` with `policy`, whose clock starts now.
    pub fn new(paths: &RunPaths, policy: &crate::config::CheckpointPolicy) -> Self {
        CheckpointWriter {
            paths: paths.clone(),
            policy: policy.clone(),
            last: std::time::Instant::now(),
            epochs_since: 0,
            written: 0,
            bytes: 0,
        }
    }

    /// Offered the state after an epoch or at a phase end (a state whose phase has not started):
    /// save it if the policy says so.
    pub fn offer(&mut self, st: &Checkpoint) -> Result<()> {
        self.epochs_since += 1;
        let phase_end = !st.started;
        let due = phase_end
            || self.last.elapsed().as_secs_f64() >= self.policy.every_s
            || self
                .policy
                .every_epochs
                .is_some_and(|n| self.epochs_since >= n);
        if !due {
            return Ok(());
        }
        st.save(&self.paths)?;
        self.written += 1;
        self.bytes += std::fs::metadata(self.paths.checkpoint())
            .map(|m| m.len())
            .unwrap_or(0);
        self.last = std::time::Instant::now();
        self.epochs_since = 0;
        Ok(())
    }
}
