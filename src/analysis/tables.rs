//! The analysis tables of a finished fit (tidy, one row per observation): `interactions`,
//! `spectrum`, `diagnostics`, `currents` and `perturbations` under `tables/`, and the current time
//! courses in `currents.h5`.

use super::blocks::{block_interactions, blocks_of, Level};
use super::currents::Decomposition;
use super::diagnostics::{metrics, submatrix, Spectrum};
use super::jacobian::{jacobian, mean_state, saturated_fraction};
use crate::config::SpectraStages;
use crate::error::{Error, Result};
use crate::rundir::tables::write_parquet;
use crate::train::{FitOutput, FreeRun};
use ndarray::Array2;
use polars::prelude::*;
use std::path::Path;

/// The weight matrices of a fit by stage: `init`, `dense` (after the dense phase), `pruned` (dense
/// weights under the final mask: where fine-tuning starts) and `final`.
pub fn stages(f: &FitOutput) -> Vec<(&'static str, Array2<f32>)> {
    let mut s = vec![("init", f.w_init.clone())];
    if let Some(d) = &f.dense {
        s.push(("dense", d.w_rec.clone()));
        if f.history.iter().any(|h| h.phase == "finetune") {
            s.push(("pruned", &d.w_rec * &f.mask));
        }
    }
    s.push(("final", f.fin.w_rec.clone()));
    s
}

fn levels_of(names: &[String]) -> Vec<Level> {
    names
        .iter()
        .map(|n| Level::parse(n).expect("validated levels"))
        .collect()
}

/// `currents.parquet` (time-averaged CURBD currents per level and split, from the free-running
/// simulations `runs` of the final model, one per split) and `currents.h5` (the time courses of the
/// first validation-or-training run: `/{level}/current` `[time, target, source]` with
/// `/{level}/targets`, `/{level}/sources`, `/{level}/source_block`, `/{level}/source_sign`, and
/// `/frame`, `/window` `[time]`).
pub fn write_currents(
    dir: &Path,
    f: &FitOutput,
    levels: &[Level],
    runs: &[(&str, &FreeRun)],
) -> Result<()> {
    let units = &f.setup.units.units;
    let (mut lv, mut sp, mut src, mut tgt, mut sign, mut mean, mut abs) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut courses = Vec::new();
    let course_split = runs
        .iter()
        .find(|r| r.0 == "validation")
        .or(runs.first())
        .map(|r| r.0);
    for &level in levels {
        for (split, run) in runs {
            let d =
                Decomposition::new(units, &f.setup.signs, level, &f.fin.w_rec, run.rates.view());
            for row in d.rows() {
                lv.push(level.name());
                sp.push(*split);
                src.push(row.source);
                tgt.push(row.target);
                sign.push(row.source_sign.to_string());
                mean.push(row.mean_current);
                abs.push(row.mean_abs_current);
            }
            if Some(*split) == course_split {
                courses.push((level, d));
            }
        }
    }
    let df = df!(
        "level" => lv, "split" => sp, "source" => src, "target" => tgt, "source_sign" => sign,
        "mean_current" => mean, "mean_abs_current" => abs,
    )?;
    write_parquet(&dir.join("tables/currents.parquet"), df)?;
    match (
        course_split,
        runs.iter().find(|r| Some(r.0) == course_split),
    ) {
        (Some(split), Some((_, run))) => {
            write_current_courses(&dir.join("currents.h5"), split, run, &courses)
        }
        _ => Ok(()),
    }
}

fn write_current_courses(
    path: &Path,
    split: &str,
    run: &FreeRun,
    courses: &[(Level, Decomposition)],
) -> Result<()> {
    use hdf5::types::VarLenUnicode;
    let tmp = crate::data::contract::partial_path(path);
    let h = |e: hdf5::Error| Error::hdf5(path, "/", e);
    let strings = |v: &[String]| -> Vec<VarLenUnicode> {
        v.iter()
            .map(|s| s.parse().expect("labels hold no NUL"))
            .collect()
    };
    {
        let file = hdf5::File::create(&tmp).map_err(h)?;
        let split_attr: VarLenUnicode = split.parse().expect("no NUL");
        file.new_attr::<VarLenUnicode>()
            .create("split")
            .and_then(|a| a.write_scalar(&split_attr))
            .map_err(h)?;
        file.new_dataset_builder()
            .with_data(&run.frame)
            .create("frame")
            .map_err(h)?;
        file.new_dataset_builder()
            .with_data(&run.window)
            .create("window")
            .map_err(h)?;
        for (level, d) in courses {
            let g = file.create_group(level.name()).map_err(h)?;
            g.new_dataset_builder()
                .with_data(&d.course)
                .create("current")
                .map_err(h)?;
            g.new_dataset_builder()
                .with_data(&strings(&d.labels))
                .create("targets")
                .map_err(h)?;
            g.new_dataset_builder()
                .with_data(&strings(&d.source_labels()))
                .create("sources")
                .map_err(h)?;
            let blocks: Vec<String> = d
                .sources
                .iter()
                .map(|(b, _)| d.labels[*b].clone())
                .collect();
            g.new_dataset_builder()
                .with_data(&strings(&blocks))
                .create("source_block")
                .map_err(h)?;
            let signs: Vec<String> = d.sources.iter().map(|(_, s)| s.to_string()).collect();
            g.new_dataset_builder()
                .with_data(&strings(&signs))
                .create("source_sign")
                .map_err(h)?;
        }
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "renaming the finished file", e))
}

/// `interactions.parquet`: block statistics of the dense and final weights at every level.
pub fn write_interactions(dir: &Path, f: &FitOutput, levels: &[Level]) -> Result<()> {
    let units = &f.setup.units.units;
    let (mut lv, mut st, mut pre, mut post) = (vec![], vec![], vec![], vec![]);
    let (mut n_pre, mut n_post, mut n_possible, mut n_nonzero) = (vec![], vec![], vec![], vec![]);
    let (mut density, mut mean_w, mut mean_abs, mut sum_w) = (vec![], vec![], vec![], vec![]);
    for (stage, w) in stages(f)
        .iter()
        .filter(|(s, _)| *s == "dense" || *s == "final")
    {
        for &level in levels {
            for r in block_interactions(units, w, level) {
                lv.push(level.name());
                st.push(*stage);
                pre.push(r.pre);
                post.push(r.post);
                n_pre.push(r.n_pre as u32);
                n_post.push(r.n_post as u32);
                n_possible.push(r.n_possible as u32);
                n_nonzero.push(r.n_nonzero as u32);
                density.push(r.density);
                mean_w.push(r.mean_w);
                mean_abs.push(r.mean_abs_w);
                sum_w.push(r.sum_w);
            }
        }
    }
    let df = df!(
        "level" => lv, "stage" => st, "pre" => pre, "post" => post,
        "n_pre" => n_pre, "n_post" => n_post, "n_possible" => n_possible, "n_nonzero" => n_nonzero,
        "density" => density, "mean_w" => mean_w, "mean_abs_w" => mean_abs, "sum_w" => sum_w,
    )?;
    write_parquet(&dir.join("tables/interactions.parquet"), df)
}

/// Rows of `spectrum.parquet` and `diagnostics.parquet`.
#[derive(Default)]
struct SpectralTables {
    s_stage: Vec<&'static str>,
    s_matrix: Vec<&'static str>,
    s_kind: Vec<&'static str>,
    s_idx: Vec<u32>,
    s_re: Vec<f64>,
    s_im: Vec<f64>,
    d_stage: Vec<&'static str>,
    d_scope: Vec<String>,
    d_metric: Vec<&'static str>,
    d_value: Vec<f64>,
}

impl SpectralTables {
    fn spectrum(&mut self, stage: &'static str, matrix: &'static str, sp: &Spectrum) {
        let ev = sp.eigenvalues.iter().map(|e| ("eigenvalue", e.0, e.1));
        let sv = sp
            .singular_values
            .iter()
            .map(|s| ("singular_value", *s, 0.0));
        for (kind, items) in [
            ("eigenvalue", ev.collect::<Vec<_>>()),
            ("singular_value", sv.collect()),
        ] {
            for (k, (_, re, im)) in items.into_iter().enumerate() {
                self.s_stage.push(stage);
                self.s_matrix.push(matrix);
                self.s_kind.push(kind);
                self.s_idx.push(k as u32);
                self.s_re.push(re);
                self.s_im.push(im);
            }
        }
    }

    fn diagnostic(&mut self, stage: &'static str, scope: &str, metric: &'static str, value: f64) {
        self.d_stage.push(stage);
        self.d_scope.push(scope.to_string());
        self.d_metric.push(metric);
        self.d_value.push(value);
    }

    fn write(self, dir: &Path) -> Result<()> {
        let df = df!("stage" => self.s_stage, "matrix" => self.s_matrix, "kind" => self.s_kind,
            "index" => self.s_idx, "re" => self.s_re, "im" => self.s_im)?;
        write_parquet(&dir.join("tables/spectrum.parquet"), df)?;
        let df = df!("stage" => self.d_stage, "scope" => self.d_scope, "metric" => self.d_metric,
            "value" => self.d_value)?;
        write_parquet(&dir.join("tables/diagnostics.parquet"), df)
    }
}

/// `spectrum.parquet` and `diagnostics.parquet`: for every stage, the metrics of `W_rec` (scope
/// `all`, and the recurrent sub-network of each block with at least two units at every level),
/// with spectra for the stages that `spectra` selects; for those of them in `runs` (a free-running
/// simulation of that stage's parameters), the spectrum of the Jacobian at the mean state, its
/// spectral radius and the fraction of saturated units.
pub fn write_spectra(
    dir: &Path,
    f: &FitOutput,
    levels: &[Level],
    runs: &[(&'static str, &FreeRun)],
    spectra: SpectraStages,
) -> Result<()> {
    let units = &f.setup.units.units;
    let signs = &f.setup.signs;
    let mut t = SpectralTables::default();
    for (stage, w) in stages(f) {
        let with_spectra = spectra.includes(stage, w.nrows());
        let sp = if with_spectra {
            Some(Spectrum::of(&w)?)
        } else {
            None
        };
        if let Some(sp) = &sp {
            t.spectrum(stage, "w_rec", sp);
        }
        for (metric, value) in metrics(&w, signs, sp.as_ref()) {
            t.diagnostic(stage, "all", metric, value);
        }
        for &level in levels {
            let (labels, block) = blocks_of(units, level);
            for (b, label) in labels.iter().enumerate() {
                let members: Vec<usize> = (0..block.len()).filter(|&i| block[i] == b).collect();
                if members.len() < 2 {
                    continue;
                }
                let sub = submatrix(&w, &members);
                let sub_signs: Vec<_> = members.iter().map(|&i| signs[i]).collect();
                let sp = if with_spectra {
                    Some(Spectrum::of(&sub)?)
                } else {
                    None
                };
                for (metric, value) in metrics(&sub, &sub_signs, sp.as_ref()) {
                    t.diagnostic(stage, label, metric, value);
                }
            }
        }
        if let Some((_, run)) = runs.iter().find(|r| r.0 == stage && with_spectra) {
            let params = if stage == "final" {
                &f.fin
            } else {
                f.dense.as_ref().unwrap_or(&f.fin)
            };
            let alpha = f
                .setup
                .rnn
                .alpha
                .flatten_all()
                .and_then(|a| a.to_vec1::<f32>())?;
            let act = f.setup.rnn.activation;
            let j = jacobian(&params.w_rec, &alpha, &mean_state(run.states.view()), act);
            let sp = Spectrum::of(&j)?;
            t.spectrum(stage, "jacobian", &sp);
            t.diagnostic(stage, "all", "jacobian_spectral_radius", sp.radius());
            t.diagnostic(
                stage,
                "all",
                "saturated_fraction",
                saturated_fraction(run.states.view(), act),
            );
        }
    }
    t.write(dir)
}

/// `perturbations.parquet`: every perturbation × target population, on the validation windows
/// (training windows when nothing is held out).
pub fn write_perturbations(dir: &Path, rows: &[super::perturb::PerturbRow]) -> Result<()> {
    let df = df!(
        "perturbed" => rows.iter().map(|r| r.perturbed.clone()).collect::<Vec<_>>(),
        "kind" => rows.iter().map(|r| r.kind).collect::<Vec<_>>(),
        "magnitude" => rows.iter().map(|r| r.magnitude).collect::<Vec<_>>(),
        "target" => rows.iter().map(|r| r.target.clone()).collect::<Vec<_>>(),
        "baseline_mean_rate" => rows.iter().map(|r| r.baseline_mean_rate).collect::<Vec<_>>(),
        "perturbed_mean_rate" => rows.iter().map(|r| r.perturbed_mean_rate).collect::<Vec<_>>(),
        "delta" => rows.iter().map(|r| r.delta).collect::<Vec<_>>(),
        "delta_rel" => rows.iter().map(|r| r.delta_rel).collect::<Vec<_>>(),
    )?;
    write_parquet(&dir.join("tables/perturbations.parquet"), df)
}

/// Every analysis of a fitted run, written into `dir`: interactions, spectrum, diagnostics,
/// currents (both splits, time courses in `currents.h5`) and perturbations. Returns the wall time
/// of each step in seconds.
pub fn write_run_analyses(
    dir: &Path,
    f: &FitOutput,
    ds: &crate::dataset::Dataset,
    cfg: &crate::config::Config,
    device: &candle_core::Device,
) -> Result<Vec<(&'static str, f64)>> {
    let mut clock = std::time::Instant::now();
    let mut times = Vec::new();
    let mut lap = |name: &'static str| {
        times.push((name, clock.elapsed().as_secs_f64()));
        clock = std::time::Instant::now();
    };
    let levels = levels_of(&cfg.analysis.levels);
    write_interactions(dir, f, &levels)?;
    lap("interactions");
    let held_out = if ds.validation_windows.is_empty() {
        &ds.train_windows
    } else {
        &ds.validation_windows
    };
    let mut final_runs = Vec::new();
    for (split, windows) in [
        ("train", &ds.train_windows),
        ("validation", &ds.validation_windows),
    ] {
        if !windows.is_empty() {
            final_runs.push((
                split,
                crate::train::free_running(f, &f.fin, ds, windows, device)?,
            ));
        }
    }
    let final_held_out = if ds.validation_windows.is_empty() {
        0
    } else {
        final_runs.len() - 1
    };
    let dense_run = match &f.dense {
        Some(d) if !held_out.is_empty() => {
            Some(crate::train::free_running(f, d, ds, held_out, device)?)
        }
        _ => None,
    };
    lap("simulations");
    let mut spectral_runs: Vec<(&'static str, &FreeRun)> = Vec::new();
    if let Some(r) = &dense_run {
        spectral_runs.push(("dense", r));
    }
    if let Some((_, r)) = final_runs.get(final_held_out) {
        spectral_runs.push(("final", r));
    }
    write_spectra(dir, f, &levels, &spectral_runs, cfg.analysis.spectra)?;
    lap("spectra_and_diagnostics");
    let runs: Vec<(&str, &FreeRun)> = final_runs.iter().map(|(s, r)| (*s, r)).collect();
    write_currents(dir, f, &levels, &runs)?;
    lap("currents");
    let rows = super::perturb::perturbations(f, ds, held_out, device, &cfg.analysis.perturbations)?;
    write_perturbations(dir, &rows)?;
    lap("perturbations");
    Ok(times)
}
