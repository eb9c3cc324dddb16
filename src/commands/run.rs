//! `fitrnn --config FILE`: validate, fit (dense → prune → fine-tune), evaluate, and write the run
//! directory (design §6).

use crate::cli::RunArgs;
use crate::config::Config;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::model::Drive;
use crate::rundir::tables::write_parquet;
use crate::rundir::{data_manifest, unix_now, RunDir};
use crate::train::metrics::{quality, Quality};
use crate::train::{fit, predict, FitOutput, FitState};
use candle_core::Device;
use ndarray::Array2;
use polars::prelude::*;
use serde_json::json;
use std::fmt::Write;
use std::path::Path;

/// Run the pipeline described by `args.config`.
pub fn run(args: &RunArgs) -> Result<String> {
    if let Some(dir) = &args.resume {
        return resume(dir, args.threads);
    }
    let Some(path) = &args.config else {
        return Err(Error::Unsupported {
            problem: "no config given".into(),
            fix: "fitrnn --config configs/mouse_v1.yaml".into(),
        });
    };
    let mut config = Config::load(path, &args.set)?;
    if let Some(t) = args.threads {
        config.threads = t;
    }
    crate::device::set_threads(config.threads);
    let device = config.device_choice.open()?;
    let (ds, text) = super::check::check_config(&config, path)?;
    let out = config.output.dir.clone();
    let manifest = json!({
        "fitrnn_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("FITRNN_GIT_COMMIT"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "config": path.display().to_string(),
        "seed": config.seed,
        "device": format!("{device:?}"),
        "threads": candle_core::utils::get_num_threads(),
        "started_unix_s": unix_now(),
        "data": data_manifest(config.data.path.files())?,
    });
    let rd = RunDir::create(&out, config.output.overwrite, manifest)?;
    finish(&config, &ds, &device, rd, None, text)
}

/// `fitrnn --resume RUN_DIR`: reload the run's resolved config and data, check the data did not
/// change, and continue from the last checkpoint.
fn resume(dir: &Path, threads: Option<usize>) -> Result<String> {
    let rd = RunDir::open_for_resume(dir)?;
    let cfg_path = dir.join("config.resolved.yaml");
    let mut config = Config::load(&cfg_path, &[])?;
    if let Some(t) = threads {
        config.threads = t;
    }
    crate::device::set_threads(config.threads);
    let device = config.device_choice.open()?;
    let (ds, text) = super::check::check_config(&config, &cfg_path)?;
    let sha = data_manifest(config.data.path.files())?["sha256"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if rd.manifest()["data"]["sha256"]
        .as_str()
        .is_some_and(|s| s != sha)
    {
        return Err(Error::data(
            config.data.path.first(),
            "/",
            "the recording changed since the run started (its sha256 differs from the manifest's)",
            "resume with the original file, or start a new run",
        ));
    }
    let state = FitState::load(&dir.join("model"))?;
    finish(&config, &ds, &device, rd, Some(state), text)
}

/// Fit and write everything; marks the manifest complete, or failed with the error.
fn finish(
    config: &Config,
    ds: &Dataset,
    device: &Device,
    mut rd: RunDir,
    state: Option<FitState>,
    mut text: String,
) -> Result<String> {
    match execute(config, ds, device, &mut rd, state) {
        Ok(summary) => {
            rd.set("finished_unix_s", json!(unix_now()))?;
            rd.set("status", json!("complete"))?;
            text.push_str(&summary);
            // The report is drawn from the finished run directory alone.
            let report = crate::report::write_report(&rd.path)?;
            let _ = writeln!(text, "\n{report}");
            let _ = writeln!(text, "wrote {}", rd.path.display());
            Ok(text)
        }
        Err(e) => {
            let _ = rd.fail(&e);
            Err(e)
        }
    }
}

fn execute(
    cfg: &Config,
    ds: &Dataset,
    device: &Device,
    rd: &mut RunDir,
    state: Option<FitState>,
) -> Result<String> {
    let dir = rd.path.clone();
    let yaml =
        serde_yaml::to_string(cfg).map_err(|e| Error::internal("serialising the config", e))?;
    crate::rundir::write_atomic(&dir.join("config.resolved.yaml"), yaml.as_bytes())?;
    write_split(&dir.join("tables/split.parquet"), ds)?;

    let bars = std::cell::RefCell::new(None::<(String, indicatif::ProgressBar)>);
    let model_dir = dir.join("model");
    let fitted = fit(
        cfg,
        ds,
        device,
        state,
        |phase, epoch, epochs, row| {
            let mut b = bars.borrow_mut();
            if b.as_ref().is_none_or(|(p, _)| p != phase) {
                if let Some((_, old)) = b.take() {
                    old.finish_and_clear();
                }
                *b = Some((
                    phase.to_string(),
                    crate::progress::bar(epochs as u64, phase),
                ));
            }
            let (_, bar) = b.as_ref().expect("set");
            bar.set_position(epoch as u64);
            let msg = format!(
                "{phase} {epoch}/{epochs} loss {:.4} val {:.4}",
                row.train_loss, row.val_loss
            );
            if bar.is_hidden() {
                if epoch == 1 || epoch == epochs || epoch % 10 == 0 {
                    eprintln!("{msg}");
                }
            } else {
                bar.set_message(msg);
            }
        },
        |st| st.save(&model_dir),
    );
    if let Some((_, b)) = bars.borrow_mut().take() {
        b.finish_and_clear();
    }
    let fitted = fitted?;
    write_units(&dir.join("tables/units.parquet"), ds, &fitted.setup)?;
    let signs: Vec<f32> = fitted.setup.signs.iter().map(|s| s.value()).collect();
    if let Some(d) = &fitted.dense {
        crate::rundir::weights::save(
            &dir.join("model/dense.safetensors"),
            d,
            &fitted
                .setup
                .blocks
                .as_ref()
                .map(|b| b.support())
                .unwrap_or_else(|| Array2::ones(fitted.mask.dim())),
            &signs,
        )?;
    }
    crate::rundir::weights::save(
        &dir.join("model/final.safetensors"),
        &fitted.fin,
        &fitted.mask,
        &signs,
    )?;
    write_history(&dir.join("tables/history.parquet"), &fitted)?;
    let headline = evaluate(cfg, ds, device, &fitted, &dir)?;
    let times = crate::analysis::tables::write_run_analyses(&dir, &fitted, ds, cfg, device)?;
    rd.set("analysis_wall_s", analysis_times(&times))?;
    let phases: serde_json::Map<String, serde_json::Value> = fitted
        .phase_seconds
        .iter()
        .map(|(p, s)| (p.clone(), json!(s)))
        .collect();
    rd.set("wall_s_per_phase", serde_json::Value::Object(phases))?;
    let epochs = fitted.history.len().max(1);
    let per_epoch = fitted.history.iter().map(|h| h.seconds).sum::<f64>() / epochs as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nfit         {} epochs, {:.2} s per epoch; density of W {:.3}",
        fitted.history.len(),
        per_epoch,
        density(&fitted.fin.w_rec)
    );
    if !fitted.setup.calcium_groups.is_empty() {
        // The learned indicator decays (ms), also recorded in the manifest.
        let decays: Vec<(&String, f32, f32)> = fitted
            .setup
            .calcium_groups
            .iter()
            .zip(&fitted.fin.calcium_log_tau)
            .map(|((g, l0), l)| (g, l0.exp(), l.exp()))
            .collect();
        let text: Vec<String> = decays
            .iter()
            .map(|(g, from, to)| format!("{g} {to:.0} ms (from {from:.0})"))
            .collect();
        let _ = writeln!(
            s,
            "calcium     learned indicator decay: {}",
            text.join(", ")
        );
        let manifest: serde_json::Map<String, serde_json::Value> = decays
            .iter()
            .map(|(g, _, to)| ((*g).clone(), json!(*to as f64)))
            .collect();
        rd.set("calcium_decay_ms", serde_json::Value::Object(manifest))?;
    }
    s.push_str(&headline);
    Ok(s)
}

/// `{step: seconds, ..., "total": seconds}` for the manifest.
pub fn analysis_times(times: &[(&str, f64)]) -> serde_json::Value {
    let mut m: serde_json::Map<String, serde_json::Value> = times
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    m.insert(
        "total".into(),
        json!(times.iter().map(|t| t.1).sum::<f64>()),
    );
    serde_json::Value::Object(m)
}

fn density(w: &Array2<f32>) -> f64 {
    w.iter().filter(|v| **v != 0.0).count() as f64 / w.len().max(1) as f64
}

/// Neuron id of every fitted trace (`None` for population averages).
fn neuron_ids(ds: &Dataset) -> Vec<Option<String>> {
    ds.targets
        .iter()
        .map(|t| t.is_neuron.then(|| t.label.clone()))
        .collect()
}

/// units.parquet: every model unit (recorded neurons first, then hidden units with a null
/// neuron_id), with its population and sign.
fn write_units(path: &Path, ds: &Dataset, setup: &crate::train::Setup) -> Result<()> {
    let ids = neuron_ids(ds);
    let u = &setup.units.units;
    let df = df!(
        "unit" => (0..u.len() as u32).collect::<Vec<_>>(),
        "neuron_id" => (0..u.len()).map(|i| ids.get(i).cloned().flatten()).collect::<Vec<_>>(),
        "area" => u.iter().map(|p| p.area.clone()).collect::<Vec<_>>(),
        "layer" => u.iter().map(|p| p.layer.clone()).collect::<Vec<_>>(),
        "cell_type" => u.iter().map(|p| p.cell_type.clone()).collect::<Vec<_>>(),
        "sign" => setup.signs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "population" => u.iter().map(|p| p.label()).collect::<Vec<_>>(),
    )?;
    write_parquet(path, df)
}

fn write_split(path: &Path, ds: &Dataset) -> Result<()> {
    let nf = ds.recording.n_frames();
    let df = df!(
        "frame" => (0..nf as u32).collect::<Vec<_>>(),
        "time_s" => ds.recording.timestamps_s.clone(),
        "split" => ds.split.is_train.iter().map(|&t| if t { "train" } else { "validation" }).collect::<Vec<_>>(),
    )?;
    write_parquet(path, df)
}

fn write_history(path: &Path, f: &FitOutput) -> Result<()> {
    let h = &f.history;
    let df = df!(
        "phase" => h.iter().map(|r| r.phase.clone()).collect::<Vec<_>>(),
        "epoch" => h.iter().map(|r| r.epoch as u32).collect::<Vec<_>>(),
        "step" => h.iter().map(|r| r.step as u32).collect::<Vec<_>>(),
        "train_loss" => h.iter().map(|r| r.train_loss).collect::<Vec<_>>(),
        "val_loss" => h.iter().map(|r| r.val_loss).collect::<Vec<_>>(),
        "lr" => h.iter().map(|r| r.lr).collect::<Vec<_>>(),
        "seconds" => h.iter().map(|r| r.seconds).collect::<Vec<_>>(),
    )?;
    write_parquet(path, df)
}

/// Median and interquartile range of the finite values, as `0.123 (IQR 0.045 to 0.210)` (NaN when
/// there are none); quantiles by linear interpolation, as numpy's default.
fn median_iqr(v: impl Iterator<Item = f64>) -> String {
    let mut v: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return "NaN".into();
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    format!("{:.3} (IQR {:.3} to {:.3})", q(0.5), q(0.25), q(0.75))
}

/// Columns of an `[frames, n]` array as per-neuron vectors.
fn columns(a: &Array2<f32>) -> Vec<Vec<f32>> {
    a.columns().into_iter().map(|c| c.to_vec()).collect()
}

/// Metrics on both splits, free-running and teacher-forced, plus the training-mean baseline;
/// writes metrics.parquet and predictions.h5, returns the headline text.
fn evaluate(
    cfg: &Config,
    ds: &Dataset,
    device: &Device,
    f: &FitOutput,
    dir: &Path,
) -> Result<String> {
    let p = f.fin.to_params(device)?;
    let rnn = &f.setup.rnn;
    let ids = neuron_ids(ds);
    let train_frames: Vec<usize> = (0..ds.recording.n_frames())
        .filter(|&i| ds.split.is_train[i])
        .collect();
    let train_mean: Vec<f32> = (0..ds.y.ncols())
        .map(|n| {
            train_frames
                .iter()
                .map(|&t| ds.y[[t, n]] as f64)
                .sum::<f64>() as f32
                / train_frames.len().max(1) as f32
        })
        .collect();
    let mut rows: Vec<(Option<String>, String, &str, &str, Quality)> = Vec::new();
    let mut headline = String::new();
    // The linear baseline: a ridge VAR(1) on the same normalised traces and inputs, fitted on the
    // training windows' consecutive frames.
    let ar = crate::baselines::fit_var1(
        &ds.y,
        &ds.u,
        &crate::baselines::training_pairs(&ds.train_windows),
    );
    let mut ar_lines: Vec<String> = Vec::new();
    for (split, windows) in [
        ("train", &ds.train_windows),
        ("validation", &ds.validation_windows),
    ] {
        if windows.is_empty() {
            continue;
        }
        // Teacher forcing resets the state through the inverse readout, which population units
        // do not have: population fits report free-running metrics only.
        let mut modes = vec![("free_running", Drive::FreeRunning)];
        if cfg.model.mode == crate::config::ModelMode::Neurons {
            modes.push((
                "teacher_forced",
                Drive::TeacherForced(cfg.analysis.teacher_forcing_every),
            ));
        }
        for (mode, drive) in modes {
            let (pred, data, frames) = predict(rnn, &p, ds, windows, drive, device)?;
            if let Some(ar) = &ar {
                let every = match drive {
                    Drive::TeacherForced(k) => Some(k),
                    _ => None,
                };
                let ar_pred = ar.predict(&ds.y, &ds.u, windows, every);
                let (per_b, pooled_b) = quality(&columns(&ar_pred), &columns(&data));
                let ar_mode = if every.is_some() {
                    "ar1_teacher_forced"
                } else {
                    "ar1_free_running"
                };
                for (i, q) in per_b.iter().enumerate() {
                    rows.push((
                        ids[i].clone(),
                        ds.targets[i].population.clone(),
                        split,
                        ar_mode,
                        *q,
                    ));
                }
                rows.push((None, "all".into(), split, ar_mode, pooled_b));
                if split == "validation" {
                    ar_lines.push(format!(
                        "baseline    {ar_mode:<18} pVar {:.3}, median R² {} (ridge VAR(1), α = {})",
                        pooled_b.pvar,
                        median_iqr(per_b.iter().map(|q| q.r2)),
                        ar.alpha
                    ));
                }
            }
            let (per, pooled) = quality(&columns(&pred), &columns(&data));
            for (i, q) in per.iter().enumerate() {
                rows.push((
                    ids[i].clone(),
                    ds.targets[i].population.clone(),
                    split,
                    mode,
                    *q,
                ));
            }
            rows.push((None, "all".into(), split, mode, pooled));
            if split == "validation" {
                let _ = writeln!(
                    headline,
                    "validation  {mode:<18} pVar {:.3}, mean R² {:.3}, median R² {}, mean r {:.3}",
                    pooled.pvar,
                    pooled.r2,
                    median_iqr(per.iter().map(|q| q.r2)),
                    pooled.pearson_r
                );
                if mode == "free_running" {
                    write_predictions(&dir.join("predictions.h5"), ds, &pred, &data, &frames)?;
                }
            }
            if mode == "free_running" {
                let base = Array2::from_shape_fn(data.dim(), |(_, n)| train_mean[n]);
                let (per_b, pooled_b) = quality(&columns(&base), &columns(&data));
                for (i, q) in per_b.iter().enumerate() {
                    rows.push((
                        ids[i].clone(),
                        ds.targets[i].population.clone(),
                        split,
                        "train_mean_baseline",
                        *q,
                    ));
                }
                rows.push((None, "all".into(), split, "train_mean_baseline", pooled_b));
                if split == "validation" {
                    let _ = writeln!(
                        headline,
                        "baseline    {:<18} pVar {:.3}, median R² {} (each neuron's training mean)",
                        "train_mean",
                        pooled_b.pvar,
                        median_iqr(per_b.iter().map(|q| q.r2))
                    );
                }
            }
        }
    }
    for l in ar_lines {
        let _ = writeln!(headline, "{l}");
    }
    let df = df!(
        "neuron_id" => rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        "population" => rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        "split" => rows.iter().map(|r| r.2.to_string()).collect::<Vec<_>>(),
        "mode" => rows.iter().map(|r| r.3.to_string()).collect::<Vec<_>>(),
        "r2" => rows.iter().map(|r| r.4.r2).collect::<Vec<_>>(),
        "pvar" => rows.iter().map(|r| r.4.pvar).collect::<Vec<_>>(),
        "pearson_r" => rows.iter().map(|r| r.4.pearson_r).collect::<Vec<_>>(),
    )?;
    write_parquet(&dir.join("tables/metrics.parquet"), df)?;
    Ok(headline)
}

/// predictions.h5: `/model` and `/data` `[frames, n_neurons]` (normalised units, free-running on the
/// validation split), `/frame`, `/time_s`, `/neurons/id`.
fn write_predictions(
    path: &Path,
    ds: &Dataset,
    pred: &Array2<f32>,
    data: &Array2<f32>,
    frames: &[usize],
) -> Result<()> {
    let tmp = crate::data::contract::partial_path(path);
    let h = |e: hdf5::Error| Error::hdf5(path, "/", e);
    {
        let f = hdf5::File::create(&tmp).map_err(h)?;
        f.new_dataset_builder()
            .with_data(pred)
            .create("model")
            .map_err(h)?;
        f.new_dataset_builder()
            .with_data(data)
            .create("data")
            .map_err(h)?;
        let fr: Vec<u64> = frames.iter().map(|&x| x as u64).collect();
        f.new_dataset_builder()
            .with_data(&fr)
            .create("frame")
            .map_err(h)?;
        let t: Vec<f64> = frames
            .iter()
            .map(|&x| ds.recording.timestamps_s[x])
            .collect();
        f.new_dataset_builder()
            .with_data(&t)
            .create("time_s")
            .map_err(h)?;
        let ids: Vec<hdf5::types::VarLenUnicode> = ds
            .targets
            .iter()
            .map(|t| &t.label)
            .map(|s| s.parse().expect("no NUL"))
            .collect();
        f.new_dataset_builder()
            .with_data(&ids)
            .create("neuron_id")
            .map_err(h)?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "renaming the finished file", e))
}
