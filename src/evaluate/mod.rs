//! How well a fitted model predicts, beside what needs no RNN (design §3.3): fit quality per trace
//! and pooled ([`quality`]) on both splits, free-running and teacher-forced, against two baselines
//! fitted on the same training frames: each trace's training mean, and a ridge-regularised linear
//! autoregressive model (VAR(1) with the inputs, [`var`]) run the same two ways.

pub mod quality;
pub mod var;

pub use quality::{quality, Quality};
pub use var::{fit_var1, fit_var1_alpha, training_pairs, Var1};

use crate::config::{Config, ModelMode};
use crate::dataset::{Dataset, Window};
use crate::error::Result;
use crate::model::Drive;
use crate::network::Fitted;
use crate::rundir::series::Predictions;
use crate::rundir::tables::MetricRow;
use ndarray::Array2;

/// What a validation headline line reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictor {
    /// The fitted network, free-running or teacher-forced (`mode`).
    Network,
    /// Each trace's training mean.
    TrainMean,
    /// The ridge VAR(1) baseline with its penalty α.
    Var1 {
        /// The ridge penalty chosen on held-out training pairs.
        alpha: f64,
    },
}

/// The pooled and per-trace fit of one predictor and mode on the validation split.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    /// The `mode` of `metrics.parquet` (`free_running`, `train_mean_baseline`, ...).
    pub mode: String,
    /// Which predictor.
    pub predictor: Predictor,
    /// Pooled quality.
    pub pooled: Quality,
    /// R² of every trace.
    pub r2: Vec<f64>,
}

/// Everything the evaluation produces.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The rows of `metrics.parquet`.
    pub metrics: Vec<MetricRow>,
    /// The free-running predictions on the validation frames (`None` when nothing is held out).
    pub predictions: Option<Predictions>,
    /// The validation headline: the network's modes with the training mean after the
    /// free-running one, then the VAR(1) baseline's modes.
    pub headline: Vec<Headline>,
}

/// Columns of an `[frames, n]` array as per-trace vectors.
fn columns(a: &Array2<f32>) -> Vec<Vec<f32>> {
    a.columns().into_iter().map(|c| c.to_vec()).collect()
}

/// Neuron id of every fitted trace (`None` for population averages).
pub fn neuron_ids(ds: &Dataset) -> Vec<Option<String>> {
    ds.targets
        .iter()
        .map(|t| t.is_neuron.then(|| t.label.clone()))
        .collect()
}

/// Collects the metric rows and the validation headline.
struct Rows<'a> {
    ds: &'a Dataset,
    ids: Vec<Option<String>>,
    metrics: Vec<MetricRow>,
    headline: Vec<Headline>,
}

impl Rows<'_> {
    /// The per-trace and pooled rows of `pred` against `data` on `split` as `mode`; on the
    /// validation split also a headline entry for `predictor`.
    fn add(
        &mut self,
        split: &str,
        mode: &str,
        predictor: Predictor,
        pred: &Array2<f32>,
        data: &Array2<f32>,
    ) -> Headline {
        let (per, pooled) = quality(&columns(pred), &columns(data));
        for (i, q) in per.iter().enumerate() {
            self.metrics.push(row(
                self.ids[i].clone(),
                &self.ds.targets[i].population,
                split,
                mode,
                q,
            ));
        }
        self.metrics.push(row(None, "all", split, mode, &pooled));
        Headline {
            mode: mode.into(),
            predictor,
            pooled,
            r2: per.iter().map(|q| q.r2).collect(),
        }
    }
}

fn row(id: Option<String>, population: &str, split: &str, mode: &str, q: &Quality) -> MetricRow {
    MetricRow {
        neuron_id: id,
        population: population.into(),
        split: split.into(),
        mode: mode.into(),
        r2: q.r2,
        pvar: q.pvar,
        pearson_r: q.pearson_r,
    }
}

/// Each trace's mean over the training frames.
fn training_means(ds: &Dataset) -> Vec<f32> {
    let train_frames: Vec<usize> = (0..ds.recording.n_frames())
        .filter(|&i| ds.split.is_train[i])
        .collect();
    (0..ds.y.ncols())
        .map(|n| {
            train_frames
                .iter()
                .map(|&t| ds.y[[t, n]] as f64)
                .sum::<f64>() as f32
                / train_frames.len().max(1) as f32
        })
        .collect()
}

/// Metrics on both splits, free-running and teacher-forced (teacher forcing resets the state
/// through the inverse readout, which population units do not have: population fits report
/// free-running metrics only), plus the training-mean and VAR(1) baselines, and the free-running
/// validation predictions.
pub fn evaluate(cfg: &Config, ds: &Dataset, fitted: &Fitted) -> Result<Evaluation> {
    let train_mean = training_means(ds);
    let mut rows = Rows {
        ds,
        ids: neuron_ids(ds),
        metrics: Vec::new(),
        headline: Vec::new(),
    };
    let mut var_headline = Vec::new();
    let mut predictions = None;
    // The linear baseline: a ridge VAR(1) on the same normalised traces and inputs, fitted on the
    // training windows' consecutive frames.
    let var = fit_var1(&ds.y, &ds.u, &training_pairs(&ds.train_windows));
    let splits: [(&str, &Vec<Window>); 2] = [
        ("train", &ds.train_scored),
        ("validation", &ds.validation_scored),
    ];
    for (split, windows) in splits {
        if windows.is_empty() {
            continue;
        }
        let mut modes = vec![("free_running", Drive::FreeRunning)];
        if cfg.model.mode == ModelMode::Neurons {
            modes.push((
                "teacher_forced",
                Drive::TeacherForced(cfg.analysis.teacher_forcing_every),
            ));
        }
        let validation = split == "validation";
        for (mode, drive) in modes {
            let (pred, data, frames) = fitted.predict(ds, windows, drive)?;
            if let Some(var) = &var {
                let every = match drive {
                    Drive::TeacherForced(k) => Some(k),
                    Drive::FreeRunning | Drive::Blended(_) => None,
                };
                let var_mode = match every {
                    Some(_) => "ar1_teacher_forced",
                    None => "ar1_free_running",
                };
                let var_pred = var.predict(&ds.y, &ds.u, windows, every);
                let alpha = var.alpha;
                let h = rows.add(split, var_mode, Predictor::Var1 { alpha }, &var_pred, &data);
                if validation {
                    var_headline.push(h);
                }
            }
            let h = rows.add(split, mode, Predictor::Network, &pred, &data);
            if validation {
                rows.headline.push(h);
                if mode == "free_running" {
                    predictions = Some(Predictions {
                        model: pred.clone(),
                        data: data.clone(),
                        frame: frames.iter().map(|&f| f as u64).collect(),
                        time_s: frames
                            .iter()
                            .map(|&f| ds.recording.timestamps_s[f])
                            .collect(),
                        neuron_id: ds.targets.iter().map(|t| t.label.clone()).collect(),
                    });
                }
            }
            if mode == "free_running" {
                let base = Array2::from_shape_fn(data.dim(), |(_, n)| train_mean[n]);
                let h = rows.add(
                    split,
                    "train_mean_baseline",
                    Predictor::TrainMean,
                    &base,
                    &data,
                );
                if validation {
                    rows.headline.push(h);
                }
            }
        }
    }
    rows.headline.extend(var_headline);
    Ok(Evaluation {
        metrics: rows.metrics,
        predictions,
        headline: rows.headline,
    })
}
