//! From a selected recording to what a fit consumes: resampled, normalised traces, model inputs,
//! the training / validation split and the training windows (design §3.3).
//!
//! Normalisation statistics come from training frames only, so nothing about the validation data
//! leaks into the fit. Windows never cross a split boundary or a gap left by dropped frames.

mod deconvolve;
mod split;

pub use deconvolve::deconvolve;

pub use split::{FrameSplit, Window};

use crate::config::{Config, ModelMode, Normalisation, SplitBy};
use crate::data::select::{neuron_signs, select_neurons};
use crate::data::{Recording, Sign};
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use ndarray::{Array2, Axis};
use std::path::Path;

/// Everything a fit needs from the data.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The selected (and possibly resampled) recording, in unit order.
    pub recording: Recording,
    /// Sign of each neuron, `[n_neurons]`.
    pub signs: Vec<Sign>,
    /// Normalised traces `[n_frames, n_neurons]`: `(raw − offset) / scale` per neuron.
    pub y: Array2<f32>,
    /// Model inputs `[n_frames, n_inputs]` in `input_names` order, z-scored on training frames.
    pub u: Array2<f32>,
    /// Names of the model inputs (the config's `model.inputs`).
    pub input_names: Vec<String>,
    /// Per neuron `(offset, scale)` with `y = (raw − offset) / scale`.
    pub normalisation: Vec<(f32, f32)>,
    /// Which frames train and which validate.
    pub split: FrameSplit,
    /// Training windows (frame ranges).
    pub train_windows: Vec<Window>,
    /// The training windows the evaluation and the analyses score: `train_windows`, or, where
    /// `data.windows.stride_s` makes them overlap, the training frames in side-by-side windows of
    /// the same length, so that no frame counts twice and the cost does not grow with the overlap.
    pub train_scored: Vec<Window>,
    /// Validation windows (frame ranges), all of the configured length: the validation loss
    /// scores them in one batch.
    pub validation_windows: Vec<Window>,
    /// Every validation frame in windows: the validation windows and, where a run of validation
    /// frames does not end on a whole window, one shorter window over its last frames (at least
    /// 2). The evaluation's validation metrics and predictions score these.
    pub validation_scored: Vec<Window>,
    /// What each column of `y` is: a recorded neuron (`mode: neurons`) or a population average
    /// (`mode: populations`).
    pub targets: Vec<Target>,
}

/// One fitted trace: a neuron, or a population's average.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Neuron id, or the population label for population averages.
    pub label: String,
    /// Population label `area/layer/cell_type`.
    pub population: String,
    /// Cell type (sets the sign of the units that carry it).
    pub cell_type: String,
    /// True for a recorded neuron, false for a population average.
    pub is_neuron: bool,
}

/// The stride `stride_s` (s) in frames at `rate_hz`: a stride shorter than half a frame is refused
/// (it would round up to one frame, one window per frame, silently and slowly).
fn stride_frames(stride_s: f64, rate_hz: f64, config_path: &Path) -> Result<usize> {
    let frames = (stride_s * rate_hz).round();
    if frames < 1.0 {
        let hz = format!("{rate_hz:.3}");
        return Err(Error::config(
            config_path,
            "data.windows.stride_s",
            format!(
                "{stride_s} s is shorter than a frame ({:.4} s at {} Hz)",
                1.0 / rate_hz,
                hz.trim_end_matches('0').trim_end_matches('.')
            ),
            "use at least one frame interval; unset, the stride is the window length (no overlap)",
        ));
    }
    Ok(frames as usize)
}

impl Dataset {
    /// Read, select and check the recording `config` names and build its dataset: the NaN policy,
    /// the selection and sign map, the named inputs, the window length against the recording, the
    /// split, the mask table and the population sizes. `config_path` is named in errors.
    pub fn from_config(config: &Config, config_path: &Path) -> Result<Dataset> {
        let d = &config.data;
        let rec = crate::data::load::load(d.path.files(), &d.load_options())?;
        let rec = select_neurons(&rec, &d.select, &d.cell_types, config_path)?;
        let names: Vec<String> = rec
            .inputs
            .as_ref()
            .map(|i| i.names.clone())
            .unwrap_or_default();
        for name in &config.model.inputs {
            if !names.contains(name) {
                return Err(Error::config(
                    config_path,
                    "model.inputs",
                    format!(
                        "input `{name}` is not in {} (it has: {})",
                        d.path.display(),
                        if names.is_empty() {
                            "no /inputs".into()
                        } else {
                            names.join(", ")
                        }
                    ),
                    crate::error::suggest(name, &names, "input"),
                ));
            }
        }
        if d.windows.length_s > rec.duration_s() {
            return Err(Error::config(
                config_path,
                "data.windows.length_s",
                format!(
                    "{} s is longer than the recording ({:.1} s)",
                    d.windows.length_s,
                    rec.duration_s()
                ),
                "use a shorter window",
            ));
        }
        if d.split.by == SplitBy::Trials && rec.trials.is_none() {
            return Err(Error::config(
                config_path,
                "data.split.by",
                format!("`trials` needs /trials, which {} lacks", d.path.display()),
                "use `by: time`, or add a trial table to the recording",
            ));
        }
        if let Some(t) = &config.constraints.mask.table {
            crate::connectivity::ProbabilityTable::read(t)?
                .with_pathways(&config.constraints.mask.inter_area)?;
        }
        if config.model.mode == ModelMode::Populations {
            if let Some(ct) = rec.neurons.cell_type.iter().find(|t| {
                config
                    .model
                    .units_per_population
                    .get(*t)
                    .copied()
                    .unwrap_or(0)
                    == 0
            }) {
                return Err(Error::config(
                    config_path,
                    "model.units_per_population",
                    format!("no units for cell type `{ct}`, which the recording holds"),
                    format!("add `{ct}: N` under model.units_per_population, or leave the cell type out with data.select.cell_types"),
                ));
            }
        }
        Dataset::build(config, rec, config_path)
    }

    /// Windows stacked as `[T, batch, channels]` tensors on `device`: traces `y` `[T, batch,
    /// n_traces]` and inputs `u` `[T, batch, n_inputs]`.
    pub fn batch(&self, windows: &[Window], device: &Device) -> Result<(Tensor, Tensor)> {
        let t_len = windows[0].len;
        let (n, d) = (self.y.ncols(), self.u.ncols());
        let mut y: Vec<f32> = Vec::with_capacity(t_len * windows.len() * n);
        let mut u: Vec<f32> = Vec::with_capacity(t_len * windows.len() * d);
        for t in 0..t_len {
            for w in windows {
                y.extend(self.y.row(w.start + t).iter());
                u.extend(self.u.row(w.start + t).iter());
            }
        }
        let yt = Tensor::from_vec(y, (t_len, windows.len(), n), device)?;
        let ut = Tensor::from_vec(u, (t_len, windows.len(), d), device)?;
        Ok((yt, ut))
    }

    /// Build the dataset for `cfg` from `rec`, which must already be selected
    /// ([`crate::data::select::select_neurons`]). `config_path` is named in errors.
    pub fn build(cfg: &Config, rec: Recording, config_path: &Path) -> Result<Dataset> {
        let d = &cfg.data;
        let rec = match d.resample_hz {
            Some(hz) => {
                check_resample_rate(&rec, hz, config_path)?;
                resample(&rec, hz)
            }
            None => rec,
        };
        let rec = match &d.deconvolve {
            Some(how) => deconvolve(&rec, how, config_path)?,
            None => rec,
        };
        let mut rec = rec;
        let unknown = per_type_keys_without_neurons(cfg, &rec, config_path)?;
        rec.notes.extend(unknown);
        let signs = neuron_signs(&rec, &d.cell_types);
        let split = FrameSplit::new(&rec, &d.split, config_path)?;
        let win = (d.windows.length_s * rec.frame_rate_hz).round().max(2.0) as usize;
        let stride = match d.windows.stride_s {
            Some(s) => stride_frames(s, rec.frame_rate_hz, config_path)?,
            None => win,
        };
        let mut train_windows = split.windows(&rec, true, win, stride);
        if let Some(seed) = d.windows.bootstrap {
            train_windows = bootstrap(&train_windows, seed);
        }
        let train_scored = if stride < win {
            split.windows(&rec, true, win, win)
        } else {
            train_windows.clone()
        };
        let validation_windows = split.windows(&rec, false, win, win);
        let validation_scored = split.windows_covering(&rec, false, win);
        if validation_windows.is_empty() || train_windows.is_empty() {
            refuse_stretches_shorter_than_a_window(&rec, win, d.windows.length_s, config_path)?;
        }
        if d.split.validation_fraction > 0.0 && validation_windows.is_empty() {
            let held_out = split.is_train.iter().filter(|t| !**t).count();
            return Err(Error::config(
                config_path,
                "data.split.validation_fraction",
                format!(
                    "the {held_out} held-out frames hold no validation window of {} s ({win} frames), so nothing would be validated",
                    d.windows.length_s
                ),
                "raise validation_fraction, use fewer data.split.blocks, or shorten data.windows.length_s (validation_fraction: 0 fits without validation)",
            ));
        }
        if train_windows.is_empty() {
            return Err(Error::config(
                config_path,
                "data.windows.length_s",
                format!(
                    "no training window of {} s ({win} frames) fits between the validation blocks and gaps of {}",
                    d.windows.length_s,
                    rec.path.display()
                ),
                "use shorter windows or fewer validation blocks",
            ));
        }
        let train_idx: Vec<usize> = (0..rec.n_frames()).filter(|&f| split.is_train[f]).collect();
        let raw_train = rec.traces.select(Axis(0), &train_idx);
        let normalisation: Vec<(f32, f32)> = raw_train
            .axis_iter(Axis(1))
            .map(|col| {
                neuron_normalisation(
                    col.as_slice_memory_order()
                        .map(|s| s.to_vec())
                        .unwrap_or_else(|| col.to_vec()),
                    d.normalisation,
                    d.baseline_percentile,
                )
            })
            .collect();
        let mut y = rec.traces.clone();
        for (mut col, &(off, sc)) in y.axis_iter_mut(Axis(1)).zip(&normalisation) {
            col.mapv_inplace(|v| (v - off) / sc);
        }
        let input_names = cfg.model.inputs.clone();
        let mut u = Array2::<f32>::zeros((rec.n_frames(), input_names.len()));
        if let Some(inp) = &rec.inputs {
            for (k, name) in input_names.iter().enumerate() {
                let Some(c) = inp.names.iter().position(|n| n == name) else {
                    continue;
                };
                let col = inp.values.column(c);
                let train: Vec<f32> = train_idx.iter().map(|&f| col[f]).collect();
                let (off, sc) = neuron_normalisation(train, Normalisation::Zscore, 0.0);
                for f in 0..rec.n_frames() {
                    u[[f, k]] = (col[f] - off) / sc;
                }
            }
        }
        let nt = &rec.neurons;
        let mut targets: Vec<Target> = (0..nt.len())
            .map(|i| Target {
                label: nt.id.label(i),
                population: nt.population(i),
                cell_type: nt.cell_type[i].clone(),
                is_neuron: true,
            })
            .collect();
        let mut signs = signs;
        if cfg.model.mode == ModelMode::Populations {
            // Average the normalised traces of each population (in unit order).
            let mut pops: Vec<(String, String, Vec<usize>)> = Vec::new();
            for (i, t) in targets.iter().enumerate() {
                match pops.iter_mut().find(|p| p.0 == t.population) {
                    Some(p) => p.2.push(i),
                    None => pops.push((t.population.clone(), t.cell_type.clone(), vec![i])),
                }
            }
            let mut avg = Array2::<f32>::zeros((y.nrows(), pops.len()));
            for (k, (_, _, members)) in pops.iter().enumerate() {
                for f in 0..y.nrows() {
                    avg[[f, k]] =
                        members.iter().map(|&i| y[[f, i]]).sum::<f32>() / members.len() as f32;
                }
            }
            y = avg;
            signs = pops.iter().map(|p| signs[p.2[0]]).collect();
            targets = pops
                .into_iter()
                .map(|(label, cell_type, _)| Target {
                    population: label.clone(),
                    label,
                    cell_type,
                    is_neuron: false,
                })
                .collect();
        }
        let (u, input_names) = if cfg.model.traces_as_inputs {
            // One-step-ahead prediction: the traces at frame t are inputs to the step t → t+1.
            let mut both = Array2::<f32>::zeros((u.nrows(), u.ncols() + y.ncols()));
            both.slice_mut(ndarray::s![.., ..u.ncols()]).assign(&u);
            both.slice_mut(ndarray::s![.., u.ncols()..]).assign(&y);
            let mut names = input_names;
            names.extend(targets.iter().map(|t| format!("trace:{}", t.label)));
            (both, names)
        } else {
            (u, input_names)
        };
        Ok(Dataset {
            recording: rec,
            signs,
            y,
            u,
            input_names,
            normalisation,
            split,
            train_windows,
            validation_windows,
            train_scored,
            validation_scored,
            targets,
        })
    }
}

/// A block bootstrap of `windows`: as many windows, drawn with replacement with `seed`.
fn bootstrap(windows: &[Window], seed: u64) -> Vec<Window> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..windows.len())
        .map(|_| windows[rng.random_range(0..windows.len())])
        .collect()
}

/// `(offset, scale)` for one neuron's training values.
/// Refuse windows of `win` frames (`length_s` s) longer than every stretch of `rec` between
/// pauses in its frame clock, naming the pauses, since no window may cross one.
fn refuse_stretches_shorter_than_a_window(
    rec: &Recording,
    win: usize,
    length_s: f64,
    config_path: &Path,
) -> Result<()> {
    let gaps = rec.gaps();
    if gaps.is_empty() {
        return Ok(());
    }
    let longest = rec.stretches().iter().map(|r| r.len()).max().unwrap_or(0);
    if longest >= win {
        return Ok(());
    }
    Err(Error::config(
        config_path,
        "data.windows.length_s",
        format!(
            "{} pauses in the frame clock of {} cut it into stretches of at most {longest} frames, shorter than one window of {length_s} s ({win} frames), and no window crosses a pause",
            gaps.len(),
            rec.path.display()
        ),
        format!(
            "use windows of at most {:.2} s (the longest stretch), or check /timestamps for pauses that should not be there",
            longest as f64 / rec.frame_rate_hz
        ),
    ))
}

/// Check the per-cell-type maps of `cfg` (`model.tau_ms`, `model.calcium_decay_ms`,
/// `data.deconvolve.decay_ms`) against the cell types of `rec`: a key that differs from one of
/// them only in letter case is a typo that would silently fall back to `default`, and is refused;
/// a key no neuron has is returned as a note (a config may serve recordings with other types).
fn per_type_keys_without_neurons(
    cfg: &Config,
    rec: &Recording,
    config_path: &Path,
) -> Result<Vec<String>> {
    let types: std::collections::BTreeSet<&str> =
        rec.neurons.cell_type.iter().map(String::as_str).collect();
    let mut maps: Vec<(&str, Vec<&String>)> = vec![
        ("model.tau_ms", cfg.model.tau_ms.keys().collect()),
        (
            "model.calcium_decay_ms",
            cfg.model.calcium_decay_ms.keys().collect(),
        ),
    ];
    if let Some(dc) = &cfg.data.deconvolve {
        maps.push(("data.deconvolve.decay_ms", dc.decay_ms.keys().collect()));
    }
    let mut notes = Vec::new();
    for (key, names) in maps {
        for name in names.into_iter().filter(|n| *n != "default") {
            if types.contains(name.as_str()) {
                continue;
            }
            if let Some(t) = types.iter().find(|t| t.eq_ignore_ascii_case(name)) {
                return Err(Error::config(
                    config_path,
                    format!("{key}.{name}"),
                    format!(
                        "`{name}` is no cell type of {}, which has `{t}`; cell types match exactly, letter case included, so its neurons would get the `default`",
                        rec.path.display()
                    ),
                    format!("write `{t}` under {key}"),
                ));
            }
            notes.push(format!(
                "{key} names {name}, which no neuron of this recording has"
            ));
        }
    }
    Ok(notes)
}

/// The most a recording may be upsampled, × its frame rate: more invents frames the indicator
/// never sampled (and multiplies the memory a fit needs).
pub const MAX_UPSAMPLING: f64 = 10.0;

/// Refuse a `data.resample_hz` that leaves fewer than 2 frames in the recording or upsamples it
/// by more than [`MAX_UPSAMPLING`]; `config_path` is named in errors.
fn check_resample_rate(rec: &Recording, hz: f64, config_path: &Path) -> Result<()> {
    let frames = (rec.duration_s() * hz).floor() + 1.0;
    let problem = if hz > MAX_UPSAMPLING * rec.frame_rate_hz {
        format!(
            "{hz} Hz is more than {MAX_UPSAMPLING}× the recorded {:.3} Hz of {}",
            rec.frame_rate_hz,
            rec.path.display()
        )
    } else if frames < 2.0 {
        format!(
            "{hz} Hz leaves {frames} frame of the {:.1} s of {}",
            rec.duration_s(),
            rec.path.display()
        )
    } else {
        return Ok(());
    };
    Err(Error::config(
        config_path,
        "data.resample_hz",
        problem,
        format!(
            "use a rate between 2 frames per recording and {MAX_UPSAMPLING}× the recorded rate (e.g. {:.1}), or remove the key",
            rec.frame_rate_hz
        ),
    ))
}

fn neuron_normalisation(mut v: Vec<f32>, how: Normalisation, percentile: f64) -> (f32, f32) {
    let n = v.len().max(1) as f64;
    match how {
        Normalisation::None => (0.0, 1.0),
        Normalisation::Zscore => {
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
            let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
            let sd = var.sqrt();
            // A constant neuron keeps scale 1 rather than dividing by zero.
            (mean as f32, if sd > 1e-12 { sd as f32 } else { 1.0 })
        }
        Normalisation::Baseline => {
            v.sort_by(|a, b| a.total_cmp(b));
            let pos = (percentile / 100.0 * (v.len().saturating_sub(1)) as f64).round() as usize;
            (v.get(pos).copied().unwrap_or(0.0), 1.0)
        }
    }
}

/// Linear interpolation of traces and inputs onto a regular clock at `hz`, within each stretch of
/// the recording between pauses in its clock ([`Recording::gaps`]): each stretch gets its own
/// grid from its first to its last timestamp, so nothing is invented across a pause, and the pause
/// stays in the new timestamps (windows still break there). Trials keep their times (seconds).
pub fn resample(rec: &Recording, hz: f64) -> Recording {
    let t = &rec.timestamps_s;
    let mut new_t: Vec<f64> = Vec::new();
    let mut traces: Vec<Array2<f32>> = Vec::new();
    let mut inputs: Vec<Array2<f32>> = Vec::new();
    for stretch in rec.stretches() {
        let (a, b) = (stretch.start, stretch.end);
        let (t0, t1) = (t[a], t[b - 1]);
        let n_new = ((t1 - t0) * hz).floor() as usize + 1;
        let seg_t: Vec<f64> = (0..n_new).map(|k| t0 + k as f64 / hz).collect();
        let interp = |v: &Array2<f32>| {
            let part = v.slice(ndarray::s![a..b, ..]).to_owned();
            crate::data::interp::columns(&t[a..b], &part, &seg_t)
        };
        traces.push(interp(&rec.traces));
        if let Some(inp) = &rec.inputs {
            inputs.push(interp(&inp.values));
        }
        new_t.extend(seg_t);
    }
    let stack = |parts: &[Array2<f32>]| {
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views).expect("segments share their columns")
    };
    let mut out = rec.clone();
    out.traces = stack(&traces);
    if let Some(inp) = out.inputs.as_mut() {
        inp.values = stack(&inputs);
    }
    out.timestamps_s = new_t;
    out.frame_rate_hz = hz;
    out.dropped_frames = vec![];
    out
}
