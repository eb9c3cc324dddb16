//! The analysis tables of a finished fit: `interactions.parquet`, `spectrum.parquet` and
//! `diagnostics.parquet` (tidy, one row per observation).

use super::blocks::{block_interactions, Level};
use super::motifs::{motifs, predicted_outliers};
use super::spectral::{eigenvalues, normalised_svd_entropy, singular_values};
use crate::constraints::sign_violations;
use crate::error::Result;
use crate::rundir::tables::{perr, write_parquet};
use crate::train::FitOutput;
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

/// `currents.parquet`: time-averaged CURBD currents per level and split, from the free-running
/// rates of the final model on each split's windows. `rates` holds, per split, the rates
/// `[samples, n_units]` (one row per time step and window).
pub fn write_currents(
    dir: &Path,
    f: &FitOutput,
    levels: &[String],
    rates: &[(&str, Array2<f32>)],
) -> Result<()> {
    let units = &f.setup.units.units;
    let (mut lv, mut sp, mut src, mut tgt, mut sign, mut mean, mut abs) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for name in levels {
        let level = Level::parse(name).expect("validated levels");
        for (split, r) in rates {
            let mut acc = super::currents::CurrentAccumulator::new(units, &f.setup.signs, level);
            acc.add(&f.fin.w_rec, r.view());
            for row in acc.rows() {
                lv.push(level.name());
                sp.push(*split);
                src.push(row.source);
                tgt.push(row.target);
                sign.push(row.source_sign.to_string());
                mean.push(row.mean_current);
                abs.push(row.mean_abs_current);
            }
        }
    }
    let df = df!(
        "level" => lv, "split" => sp, "source" => src, "target" => tgt, "source_sign" => sign,
        "mean_current" => mean, "mean_abs_current" => abs,
    )
    .map_err(perr)?;
    write_parquet(&dir.join("tables/currents.parquet"), df)
}

/// Write the three tables into `dir/tables/`. `levels` are the config's analysis levels.
pub fn write_all(dir: &Path, f: &FitOutput, levels: &[String]) -> Result<()> {
    let units = &f.setup.units.units;
    let all = stages(f);

    // interactions.parquet: dense and final, every level.
    let (mut lv, mut st, mut pre, mut post) = (vec![], vec![], vec![], vec![]);
    let (mut n_pre, mut n_post, mut n_possible, mut n_nonzero) = (vec![], vec![], vec![], vec![]);
    let (mut density, mut mean_w, mut mean_abs, mut sum_w) = (vec![], vec![], vec![], vec![]);
    for (stage, w) in all.iter().filter(|(s, _)| *s == "dense" || *s == "final") {
        for name in levels {
            let level = Level::parse(name).expect("validated levels");
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
    )
    .map_err(perr)?;
    write_parquet(&dir.join("tables/interactions.parquet"), df)?;

    // spectrum.parquet and diagnostics.parquet.
    let (mut s_stage, mut s_kind, mut s_idx, mut s_re, mut s_im) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut d_stage, mut d_metric, mut d_value) = (vec![], vec![], vec![]);
    let n = f.setup.signs.len();
    for (stage, w) in &all {
        let mut ev = eigenvalues(w)?;
        ev.sort_by(|a, b| b.0.hypot(b.1).total_cmp(&a.0.hypot(a.1)));
        let sv = singular_values(w)?;
        for (k, (re, im)) in ev.iter().enumerate() {
            s_stage.push(*stage);
            s_kind.push("eigenvalue");
            s_idx.push(k as u32);
            s_re.push(*re);
            s_im.push(*im);
        }
        for (k, s) in sv.iter().enumerate() {
            s_stage.push(*stage);
            s_kind.push("singular_value");
            s_idx.push(k as u32);
            s_re.push(*s);
            s_im.push(0.0);
        }
        let m = motifs(w);
        let [(plus, plus_im), (minus, _)] = predicted_outliers(&m, n);
        let metrics = [
            (
                "spectral_radius",
                ev.first().map(|e| e.0.hypot(e.1)).unwrap_or(0.0),
            ),
            ("normalised_svd_entropy", normalised_svd_entropy(&sv)),
            ("largest_singular_value", sv.first().copied().unwrap_or(0.0)),
            (
                "density",
                w.iter().filter(|v| **v != 0.0).count() as f64 / w.len().max(1) as f64,
            ),
            ("sign_violations", sign_violations(w, &f.setup.signs) as f64),
            ("motif_reciprocal", m.reciprocal),
            ("motif_convergent", m.convergent),
            ("motif_divergent", m.divergent),
            ("motif_chain", m.chain),
            ("predicted_outlier_plus_re", plus),
            ("predicted_outlier_minus_re", minus),
            ("predicted_outlier_abs_im", plus_im.abs()),
            (
                "largest_real_eigenvalue",
                ev.iter().map(|e| e.0).fold(f64::MIN, f64::max),
            ),
            (
                "smallest_real_eigenvalue",
                ev.iter().map(|e| e.0).fold(f64::MAX, f64::min),
            ),
        ];
        for (metric, value) in metrics {
            d_stage.push(*stage);
            d_metric.push(metric);
            d_value.push(value);
        }
    }
    let df = df!("stage" => s_stage, "matrix" => vec!["w_rec"; s_kind.len()], "kind" => s_kind, "index" => s_idx, "re" => s_re, "im" => s_im)
        .map_err(perr)?;
    write_parquet(&dir.join("tables/spectrum.parquet"), df)?;
    let df = df!("stage" => d_stage.clone(), "scope" => vec!["all"; d_stage.len()], "metric" => d_metric, "value" => d_value).map_err(perr)?;
    write_parquet(&dir.join("tables/diagnostics.parquet"), df)
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
    )
    .map_err(perr)?;
    write_parquet(&dir.join("tables/perturbations.parquet"), df)
}

/// Every analysis of a fitted run, written into `dir/tables/`: interactions, spectrum,
/// diagnostics, currents (both splits) and perturbations. Returns the wall time in seconds.
pub fn write_run_analyses(
    dir: &Path,
    f: &FitOutput,
    ds: &crate::dataset::Dataset,
    cfg: &crate::config::Config,
    device: &candle_core::Device,
) -> Result<f64> {
    let t0 = std::time::Instant::now();
    let levels = &cfg.analysis.levels;
    write_all(dir, f, levels)?;
    let mut rates = Vec::new();
    for (split, windows) in [
        ("train", &ds.train_windows),
        ("validation", &ds.validation_windows),
    ] {
        if !windows.is_empty() {
            rates.push((
                split,
                crate::train::free_running_rates(f, ds, windows, device)?,
            ));
        }
    }
    write_currents(dir, f, levels, &rates)?;
    let windows = if ds.validation_windows.is_empty() {
        &ds.train_windows
    } else {
        &ds.validation_windows
    };
    let rows = super::perturb::perturbations(f, ds, windows, device, &cfg.analysis.perturbations)?;
    write_perturbations(dir, &rows)?;
    Ok(t0.elapsed().as_secs_f64())
}
