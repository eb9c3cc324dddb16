//! Training a [`TaskNet`] on a task: shuffled batches, autograd, the optional DANN correction and
//! gradient clipping, an Adam or SGD step, then the architecture's projection and a check of the
//! sign rule after every step. After every epoch: the test loss and the recurrent weights'
//! normalised SVD entropy and spectral radius.

use super::config::{TaskConfig, TaskOptimiser, TaskTraining};
use super::model::{tensor3, TaskNet};
use super::tasks::{generate, LossKind, Split, TaskData};
use crate::config::Optimiser;
use crate::error::{Error, Result};
use crate::train::{Optim, OptimConfig};
use candle_core::Device;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Random streams of a task run (one seed, independent streams).
const STREAM_TRAIN: u64 = 1;
const STREAM_TEST: u64 = 2;
const STREAM_INIT: u64 = 3;
const STREAM_ORDER: u64 = 4;
const STREAM_ES: u64 = 5;

/// A stream of the run's seed.
pub fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

crate::rundir::tables::table! {
    /// One epoch of a task run; the rows of `task_history.parquet` (epoch 0: before training).
    TaskEpoch = "task_history" {
        /// Epoch (from 1; 0 is the network before training).
        epoch: u32,
        /// Optimiser steps so far.
        step: u32,
        /// Mean training loss over the epoch's batches (NaN at epoch 0).
        train_loss: f64,
        /// Loss on the test examples (mean squared error; cross-entropy for classification).
        test_loss: f64,
        /// Misclassified test examples, % (NaN for tasks that are not classification).
        test_error: f64,
        /// Normalised SVD entropy of the effective recurrent weights.
        nse: f64,
        /// Their spectral radius.
        spectral_radius: f64,
        /// Wall time of the epoch, s.
        seconds: f64,
    }
}

/// What a task run produces.
#[derive(Debug, Clone)]
pub struct TaskFit {
    /// The trained network.
    pub net: TaskNet,
    /// Its parameters before training (name, array).
    pub initial: Vec<(String, Array2<f32>)>,
    /// One row per epoch, from epoch 0.
    pub history: Vec<TaskEpoch>,
    /// The test examples (for scoring and figures).
    pub test: TaskData,
    /// How far training moved the network from its start (Liu et al. 2024's metrics).
    pub change: super::richlazy::NetworkChange,
}

/// Normalised SVD entropy and spectral radius of `w`.
pub fn spectral(w: &Array2<f32>) -> Result<(f64, f64)> {
    let sv = crate::linalg::singular_values(w)?;
    Ok((
        crate::linalg::normalised_svd_entropy(&sv),
        crate::linalg::spectral_radius(w)?,
    ))
}

/// Loss over `data` in batches of `batch`, and for classification the examples whose output at
/// the last step picks the wrong class, % (NaN otherwise).
pub fn evaluate(
    net: &TaskNet,
    data: &TaskData,
    batch: usize,
    device: &Device,
) -> Result<(f64, f64)> {
    let idx: Vec<usize> = (0..data.len()).collect();
    let (mut total, mut wrong, mut scored) = (0.0, 0usize, 0usize);
    for chunk in idx.chunks(batch.max(1)) {
        let (x, y) = data.batch(chunk);
        let (x, y) = (tensor3(&x, device)?, tensor3(&y, device)?);
        let z = net.forward(&x, data.scored_from)?;
        let l = super::model::score(&z, &y, data.loss)?.to_scalar::<f32>()? as f64;
        total += l * chunk.len() as f64;
        if data.loss == LossKind::CrossEntropy {
            // The choice at the last step (the digit, the decision), once per example.
            let last = z.dim(0)? - 1;
            let (w, n) =
                super::model::misclassified(&z.narrow(0, last, 1)?, &y.narrow(0, last, 1)?)?;
            wrong += w;
            scored += n;
        }
    }
    let error = if scored > 0 {
        100.0 * wrong as f64 / scored as f64
    } else {
        f64::NAN
    };
    Ok((total / data.len() as f64, error))
}

/// Train the network `cfg` describes on its task, on `device`; `on_epoch` sees every row.
pub fn train(
    cfg: &TaskConfig,
    device: &Device,
    mut on_epoch: impl FnMut(&TaskEpoch),
) -> Result<TaskFit> {
    let train = generate(
        cfg,
        Split::Train,
        cfg.task.train_examples.unwrap_or(1),
        &mut stream(cfg.seed, STREAM_TRAIN),
    )?;
    let test = generate(
        cfg,
        Split::Test,
        cfg.task.test_examples.unwrap_or(1),
        &mut stream(cfg.seed, STREAM_TEST),
    )?;
    let net = TaskNet::new(
        cfg,
        train.n_inputs(),
        train.n_outputs(),
        device,
        &mut stream(cfg.seed, STREAM_INIT),
    )?;
    let initial = net.arrays()?;
    let initial_net = net.snapshot()?;
    let t = &cfg.training;
    let mut opt = optimiser(&net, t)?;
    let mut order_rng = stream(cfg.seed, STREAM_ORDER);
    let mut es_rng = stream(cfg.seed, STREAM_ES);
    let mut history = Vec::with_capacity(t.epochs + 1);
    let row0 = epoch_row(&net, &test, 0, 0, f64::NAN, 0.0, t.batch_size, device)?;
    on_epoch(&row0);
    history.push(row0);
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in 1..=t.epochs {
        let t0 = std::time::Instant::now();
        order.shuffle(&mut order_rng);
        let mut sum = 0.0;
        let mut batches = 0usize;
        for chunk in order.chunks(t.batch_size) {
            let (x, y) = train.batch(chunk);
            let value = step(
                &net,
                &mut opt,
                t,
                &x,
                &y,
                (train.scored_from, train.loss),
                device,
                &mut es_rng,
            )
            .map_err(|e| match e {
                StepError::NonFinite(v) => diverged(epoch, opt.step + 1, v, t.lr),
                StepError::Other(e) => e,
            })?;
            sum += value;
            batches += 1;
        }
        let row = epoch_row(
            &net,
            &test,
            epoch,
            opt.step,
            sum / batches as f64,
            t0.elapsed().as_secs_f64(),
            t.batch_size,
            device,
        )?;
        on_epoch(&row);
        history.push(row);
    }
    let change =
        super::richlazy::network_change(&initial_net, &net, &test, probe_trials(&test), device)?;
    Ok(TaskFit {
        net,
        initial,
        history,
        test,
        change,
    })
}

/// Probe trials for the network-change metrics: at most 32, and few enough that the tangent
/// kernel has at most 256 entries (scored steps × trials × outputs).
fn probe_trials(test: &TaskData) -> usize {
    let per_trial = (test.steps() - test.scored_from) * test.n_outputs();
    (256 / per_trial.max(1)).clamp(1, 32).min(test.len())
}

/// The optimiser `training` names over every parameter of `net` (Adam with PyTorch's defaults,
/// SGD with its momentum, AdamW, or the exponentiated-gradient updates on every weight matrix).
pub fn optimiser(net: &TaskNet, training: &TaskTraining) -> Result<Optim> {
    Optim::new(
        OptimConfig {
            kind: match training.optimiser {
                TaskOptimiser::Adam | TaskOptimiser::Es => Optimiser::Adam,
                TaskOptimiser::Sgd => Optimiser::Sgd,
                TaskOptimiser::Adamw => Optimiser::Adamw,
                TaskOptimiser::AdamwEg => Optimiser::AdamwEg,
                TaskOptimiser::SgdEg => Optimiser::SgdEg,
            },
            lr: training.lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: training.weight_decay,
            momentum: training.momentum,
        },
        net.vars(),
        net.params
            .iter()
            .map(|(name, _)| !matches!(*name, "b" | "b_out"))
            .collect(),
    )
}

/// Why a training step failed.
#[derive(Debug)]
pub enum StepError {
    /// The loss was not finite (the value).
    NonFinite(f64),
    /// Anything else.
    Other(Error),
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        StepError::Other(e)
    }
}

impl From<candle_core::Error> for StepError {
    fn from(e: candle_core::Error) -> Self {
        StepError::Other(e.into())
    }
}

/// One training step on the batch `x [steps, batch, n_in]`, `y [steps − from, batch, n_out]`
/// (`scored` = `(from, loss kind)`):
/// loss, backward, the DANN correction (when `training` asks), clipping, the optimiser's update,
/// the projection and the check of the sign rule; with `optimiser: es` the gradient is the
/// evolution strategy's estimate (its perturbations drawn from `rng`). Returns the loss before
/// the update.
#[allow(clippy::too_many_arguments)]
pub fn step(
    net: &TaskNet,
    opt: &mut Optim,
    training: &TaskTraining,
    x: &ndarray::Array3<f32>,
    y: &ndarray::Array3<f32>,
    scored: (usize, LossKind),
    device: &Device,
    rng: &mut ChaCha8Rng,
) -> std::result::Result<f64, StepError> {
    let (x, y) = (tensor3(x, device)?, tensor3(y, device)?);
    let loss = net.loss(&x, &y, scored.0, scored.1)?;
    let value = loss.to_scalar::<f32>()? as f64;
    if !value.is_finite() {
        return Err(StepError::NonFinite(value));
    }
    let mut grads = if training.optimiser == TaskOptimiser::Es {
        let es = training.es;
        super::es::gradient(net, &x, &y, scored, es.population / 2, es.sigma, rng)?
    } else {
        loss.backward()?
    };
    if training.fisher_correction == Some(true) {
        net.fisher_correct(&mut grads)?;
    }
    if let Some(clip) = training.grad_clip {
        crate::train::clip_gradients(&mut grads, &opt.vars, clip)?;
    }
    opt.step(&grads)?;
    net.project()?;
    let (bad, finite) = net.violations()?;
    if !finite {
        // The step overflowed: a divergence, not a bug.
        return Err(StepError::NonFinite(f64::NAN));
    }
    if bad > 0 {
        return Err(StepError::Other(Error::internal(
            "task training",
            format!("after step {}: {bad} weights break the sign rule", opt.step),
        )));
    }
    Ok(value)
}

#[allow(clippy::too_many_arguments)]
fn epoch_row(
    net: &TaskNet,
    test: &TaskData,
    epoch: usize,
    step: usize,
    train_loss: f64,
    seconds: f64,
    batch: usize,
    device: &Device,
) -> Result<TaskEpoch> {
    let (nse, spectral_radius) = spectral(&crate::model::to_array2(&net.w()?)?)?;
    let (test_loss, test_error) = evaluate(net, test, batch, device)?;
    Ok(TaskEpoch {
        epoch: epoch as u32,
        step: step as u32,
        train_loss,
        test_loss,
        test_error,
        nse,
        spectral_radius,
        seconds,
    })
}

fn diverged(epoch: usize, step: usize, value: f64, lr: f64) -> Error {
    Error::Diverged {
        place: format!("task training, epoch {epoch}, step {step}"),
        what: if value.is_nan() {
            "the loss or the parameters became non-finite".into()
        } else {
            format!("the loss became {value}")
        },
        lr,
        fix: "lower training.lr, or set training.grad_clip (e.g. 1)".into(),
    }
}
