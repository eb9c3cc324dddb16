//! The README's run command on the shipped data, end to end through the binary.

use crate::common;

use fitrnn::data::{read_recording, ReadOptions};
use polars::prelude::*;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use std::path::Path;

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

#[test]
fn default_run_learns_beyond_the_mean_baseline_and_writes_the_run_directory() {
    // The README's run command, from the repository root, with the run directory moved out of the
    // repository's runs/ (which belongs to the user): target/tmp/mouse_v1, which the notebooks
    // read in CI.
    let root = common::root();
    let out_dir = common::test_run_dir("mouse_v1");
    let users_runs = common::snapshot_tree(&root.join("runs"));
    let rec = read_recording(&root.join("data/mouse_v1_demo.h5"), &ReadOptions::default()).unwrap();
    let out = common::fitrnn()
        .current_dir(&root)
        .args(["--config", "configs/mouse_v1.yaml"])
        .arg("--set")
        .arg(format!("output.dir={}", out_dir.display()))
        .assert()
        .success()
        .stdout(
            contains("ok: config and data are valid")
                .and(contains("wrote"))
                .and(contains("report: ")),
        );
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let want = format!("{} frames × {} neurons", rec.n_frames(), rec.n_neurons());
    assert!(
        stdout.contains(&want),
        "summary must report {want}:\n{stdout}"
    );
    for line in [
        "VISp  L2/3   Slc17a7    E",
        "VISl  L5     Vip        I",
        "validation  free_running",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    assert_eq!(
        common::snapshot_tree(&root.join("runs")),
        users_runs,
        "the test must not touch the repository's runs/"
    );
    for f in [
        "manifest.json",
        "config.resolved.yaml",
        "model/dense.safetensors",
        "model/final.safetensors",
        "tables/units.parquet",
        "tables/split.parquet",
        "tables/history.parquet",
        "tables/metrics.parquet",
        "predictions.h5",
        "currents.h5",
        "report.html",
        "figures/loss.png",
        "figures/traces.png",
        "figures/weights.png",
        "figures/weights.svg",
        "figures/interactions_area_layer.png",
        "figures/interactions_population.png",
        "figures/eigenvalues.png",
        "figures/singular_values.png",
        "figures/currents.png",
        "figures/perturbations.png",
        "figures/determined_area_layer.png",
        "figures/determined_population.png",
        "tables/interactions_ensemble.parquet",
        "tables/ensemble_members.parquet",
        "tables/selfcheck.parquet",
    ] {
        assert!(out_dir.join(f).is_file(), "missing {f}");
    }
    check_ensemble(&out_dir, &stdout);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["status"], "complete");
    assert_eq!(manifest["data"]["sha256"].as_str().unwrap().len(), 64);
    assert!(manifest["git_commit"].is_string() && manifest["seed"].is_u64());
    // The default checkpoint policy (every 60 s and at each of the 2 phase ends) writes a few
    // checkpoints, not one per epoch.
    let fit_s: f64 = manifest["wall_s_per_phase"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    let written = manifest["checkpoints_written"].as_u64().unwrap();
    assert!(
        written as f64 <= 2.0 + fit_s / 60.0 + 2.0,
        "{written} checkpoints in a fit of {fit_s:.0} s"
    );
    let checkpoint = std::fs::metadata(out_dir.join("model/checkpoint.safetensors"))
        .unwrap()
        .len();
    // A checkpoint holds at most the current, best and dense parameters with the moments.
    let bytes = manifest["checkpoint_bytes_written"].as_u64().unwrap();
    assert!(
        bytes >= checkpoint && bytes <= 2 * written * checkpoint,
        "{bytes} bytes in {written} checkpoints of about {checkpoint}"
    );
    assert!(manifest["run_dir_bytes"].as_u64().unwrap() > checkpoint);

    let metrics = read_parquet(&out_dir.join("tables/metrics.parquet"));
    let names: Vec<String> = metrics
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "neuron_id",
            "population",
            "split",
            "mode",
            "r2",
            "pvar",
            "pearson_r"
        ]
    );
    let pooled = |mode: &str| -> f64 {
        let (split, m, pop, pvar) = (
            metrics.column("split").unwrap().str().unwrap(),
            metrics.column("mode").unwrap().str().unwrap(),
            metrics.column("population").unwrap().str().unwrap(),
            metrics.column("pvar").unwrap().f64().unwrap(),
        );
        (0..metrics.height())
            .find(|&i| {
                split.get(i) == Some("validation")
                    && m.get(i) == Some(mode)
                    && pop.get(i) == Some("all")
            })
            .and_then(|i| pvar.get(i))
            .unwrap()
    };
    let (fit_pvar, base_pvar, tf_pvar) = (
        pooled("free_running"),
        pooled("train_mean_baseline"),
        pooled("teacher_forced"),
    );
    eprintln!("validation pVar: free-running {fit_pvar:.3}, teacher-forced {tf_pvar:.3}, training-mean baseline {base_pvar:.3}");
    assert!(
        fit_pvar > base_pvar + 0.1,
        "free-running pVar {fit_pvar:.3} vs baseline {base_pvar:.3}"
    );
    assert!(tf_pvar > fit_pvar);

    let units = read_parquet(&out_dir.join("tables/units.parquet"));
    assert_eq!(units.height(), 222);
    let history = read_parquet(&out_dir.join("tables/history.parquet"));
    assert_eq!(history.height(), 60);
    let w = fitrnn::rundir::weights::load(&out_dir.join("model/final.safetensors")).unwrap();
    let (w_rec, sign) = (
        w["w_rec"].to_vec2::<f32>().unwrap(),
        w["sign"].to_vec1::<f32>().unwrap(),
    );
    for row in &w_rec {
        for (j, v) in row.iter().enumerate() {
            assert!(sign[j] * v >= 0.0);
        }
    }
    check_analysis_tables(&out_dir, &rec);
}

/// The default run's ensemble: every block an interval from 4 members, the self-check's flags
/// on the blocks the fit has, and the report leading with them.
fn check_ensemble(out_dir: &Path, stdout: &str) {
    use fitrnn::rundir::tables::{self, InteractionEnsembleRow, SelfcheckRow};
    assert!(stdout.contains("ensemble    4 members"), "{stdout}");
    let ens: Vec<InteractionEnsembleRow> =
        tables::read(&out_dir.join("tables/interactions_ensemble.parquet")).unwrap();
    let metrics: std::collections::BTreeSet<&str> = ens.iter().map(|r| r.metric.as_str()).collect();
    assert_eq!(
        metrics.into_iter().collect::<Vec<_>>(),
        ["input_share", "mean_abs_w", "mean_current", "mean_w"]
    );
    let existing: Vec<_> = ens
        .iter()
        .filter(|r| r.level == "population" && r.metric == "mean_w" && r.estimate != 0.0)
        .collect();
    assert!(existing
        .iter()
        .all(|r| r.n_members == 4 && r.identifiable.is_some()));
    let flagged = existing
        .iter()
        .filter(|r| r.identifiable == Some(true))
        .count();
    assert!(
        flagged > 0 && flagged < existing.len(),
        "{flagged} of {} blocks identifiable: the self-check tells them apart",
        existing.len()
    );
    let check: Vec<SelfcheckRow> = tables::read(&out_dir.join("tables/selfcheck.parquet")).unwrap();
    assert!(check
        .iter()
        .any(|r| r.level == "network" && r.metric == "spectral_radius" && r.n_refits == 2));
    flagged_blocks_recover_better(out_dir, &ens);
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    let first_h2 = html.find("<h2>").map(|i| &html[i..i + 40]).unwrap_or("");
    assert!(
        first_h2.starts_with("<h2>What the data determine"),
        "{first_h2}"
    );
    assert!(html.contains("are determined by the data"));
    // Every interaction the report lists carries an interval and a verdict: the strongest
    // area/layer interactions and the largest perturbation effects too.
    for heading in [
        "Strongest area/layer interactions",
        "Largest effects on other populations",
    ] {
        let at = html.find(heading).unwrap_or_else(|| panic!("{heading}"));
        let section = &html[at..at + html[at..].find("</table>").unwrap()];
        assert!(
            section.contains("95 % interval") && section.contains("determined"),
            "{heading}: {section}"
        );
        assert!(!section.contains("No ensemble ran"), "{heading}");
    }
    check_perturbation_intervals(out_dir);
}

/// `perturbations_ensemble.parquet`: every effect of the fit with the 4 members' interval around
/// it and the 2 refits' verdict on each effect that is not 0.
fn check_perturbation_intervals(out_dir: &Path) {
    use fitrnn::rundir::tables::{self, PerturbationEnsembleRow, PerturbationRow};
    let effects: Vec<PerturbationRow> =
        tables::read(&out_dir.join("tables/perturbations.parquet")).unwrap();
    let rows: Vec<PerturbationEnsembleRow> =
        tables::read(&out_dir.join("tables/perturbations_ensemble.parquet")).unwrap();
    assert_eq!(rows.len(), effects.len(), "one row per effect of the fit");
    for r in rows.iter().filter(|r| r.estimate.is_finite()) {
        assert!(
            r.ci_low <= r.estimate && r.estimate <= r.ci_high && r.n_members == 4,
            "{r:?}"
        );
        assert_eq!(r.identifiable.is_some(), r.estimate != 0.0, "{r:?}");
    }
    let verdicts: Vec<bool> = rows.iter().filter_map(|r| r.identifiable).collect();
    assert!(
        verdicts.iter().any(|&v| v) && verdicts.iter().any(|&v| !v),
        "the refits tell reproduced effects from the others"
    );
}

/// The demo is simulated, so the self-check's flags can be checked against the truth: the blocks
/// it calls identifiable rank with the true block magnitudes better than the others.
fn flagged_blocks_recover_better(
    out_dir: &Path,
    ens: &[fitrnn::rundir::tables::InteractionEnsembleRow],
) {
    use fitrnn::analysis::blocks::Level;
    let root = common::root();
    let rec = read_recording(&root.join("data/mouse_v1_demo.h5"), &ReadOptions::default()).unwrap();
    let cfg = fitrnn::config::Config::load(&out_dir.join("config.resolved.yaml"), &[]).unwrap();
    let truth = fitrnn::recovery::estimates::truth(
        rec.ground_truth.as_ref().unwrap(),
        &cfg.data.cell_types,
        Level::Population,
    );
    let rho = |flag: bool| {
        let (fit, tru): (Vec<f64>, Vec<f64>) = ens
            .iter()
            .filter(|r| r.level == "population" && r.metric == "mean_abs_w" && r.estimate > 0.0)
            .filter(|r| r.identifiable == Some(flag))
            .filter_map(|r| {
                let t = truth.get(&(r.pre.clone(), r.post.clone()))?.mean_abs_w;
                (t > 0.0).then_some((r.estimate, t))
            })
            .unzip();
        fitrnn::stats::spearman(&fit, &tru)
    };
    let (yes, no) = (rho(true), rho(false));
    assert!(
        yes > no,
        "existing-block magnitude ρ: identifiable {yes:.2}, not identifiable {no:.2}"
    );
}

fn column_names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// interactions / spectrum / diagnostics: schemas, invariants, and the population-level block
/// weights against the simulator's true W.
fn check_analysis_tables(out_dir: &Path, rec: &fitrnn::data::Recording) {
    let inter = read_parquet(&out_dir.join("tables/interactions.parquet"));
    assert_eq!(
        column_names(&inter),
        [
            "level",
            "stage",
            "pre",
            "post",
            "n_pre",
            "n_post",
            "n_possible",
            "n_nonzero",
            "density",
            "mean_w",
            "mean_abs_w",
            "sum_w",
            "mean_w_ci_low",
            "mean_w_ci_high",
            "sign_determined",
            "identifiable"
        ]
    );
    let spectrum = read_parquet(&out_dir.join("tables/spectrum.parquet"));
    assert_eq!(
        column_names(&spectrum),
        ["stage", "matrix", "kind", "index", "re", "im"]
    );
    assert_eq!(
        spectrum.height(),
        (4 + 2) * 2 * 222,
        "W_rec at init, dense, pruned, final and the Jacobian at dense and final, × eigenvalues \
         and singular values"
    );
    let jac_radius = {
        let (st, mx, kd) = (
            spectrum.column("stage").unwrap().str().unwrap(),
            spectrum.column("matrix").unwrap().str().unwrap(),
            spectrum.column("kind").unwrap().str().unwrap(),
        );
        let (re, im) = (
            spectrum.column("re").unwrap().f64().unwrap(),
            spectrum.column("im").unwrap().f64().unwrap(),
        );
        (0..spectrum.height())
            .filter(|&i| {
                st.get(i) == Some("final")
                    && mx.get(i) == Some("jacobian")
                    && kd.get(i) == Some("eigenvalue")
            })
            .map(|i| re.get(i).unwrap().hypot(im.get(i).unwrap()))
            .fold(0.0, f64::max)
    };
    let diag = read_parquet(&out_dir.join("tables/diagnostics.parquet"));
    assert_eq!(column_names(&diag), ["stage", "scope", "metric", "value"]);
    let (metric, value) = (
        diag.column("metric").unwrap().str().unwrap(),
        diag.column("value").unwrap().f64().unwrap(),
    );
    let (d_stage, d_scope) = (
        diag.column("stage").unwrap().str().unwrap(),
        diag.column("scope").unwrap().str().unwrap(),
    );
    let get = |stage: &str, scope: &str, m: &str| {
        (0..diag.height())
            .find(|&i| {
                d_stage.get(i) == Some(stage)
                    && d_scope.get(i) == Some(scope)
                    && metric.get(i) == Some(m)
            })
            .and_then(|i| value.get(i))
    };
    let jr =
        get("final", "all", "jacobian_spectral_radius").expect("Jacobian radius of the final fit");
    assert!(
        (jr - jac_radius).abs() < 1e-12,
        "{jr} vs spectrum {jac_radius}"
    );
    assert!(
        jr > 0.0 && jr < 1.5,
        "a fitted leaky network near stability: {jr}"
    );
    let sat = get("final", "all", "saturated_fraction").unwrap();
    assert!((0.0..=1.0).contains(&sat));
    // Per-block scopes: every area-layer block's own sub-network, e.g. VISp/L4, at every stage.
    for stage in ["init", "dense", "pruned", "final"] {
        let d = get(stage, "VISp/L4", "density").expect("VISp/L4 scope");
        assert!((0.0..=1.0).contains(&d));
        assert!(get(stage, "VISl/L5/Vip", "spectral_radius").is_some());
    }
    for i in 0..diag.height() {
        if metric.get(i) == Some("sign_violations") {
            assert_eq!(value.get(i), Some(0.0), "Dale's law holds at every stage");
        }
        if metric.get(i) == Some("normalised_svd_entropy") {
            // Undefined (NaN) only for a block whose weights were all pruned away.
            let h = value.get(i).unwrap();
            let (stage, scope) = (d_stage.get(i).unwrap(), d_scope.get(i).unwrap());
            if h.is_nan() {
                assert_ne!(scope, "all");
                assert_eq!(get(stage, scope, "density"), Some(0.0), "{stage} {scope}");
            } else {
                assert!((0.0..=1.0).contains(&h), "{stage} {scope}: {h}");
            }
        }
    }
    // Currents: E sources push up and I sources down (rates ≥ 0 under softplus, Dale's law).
    let cur = read_parquet(&out_dir.join("tables/currents.parquet"));
    assert_eq!(
        column_names(&cur),
        [
            "level",
            "split",
            "source",
            "target",
            "source_sign",
            "mean_current",
            "mean_abs_current",
            "mean_current_ci_low",
            "mean_current_ci_high",
            "identifiable"
        ]
    );
    let (sg, mc, ma) = (
        cur.column("source_sign").unwrap().str().unwrap(),
        cur.column("mean_current").unwrap().f64().unwrap(),
        cur.column("mean_abs_current").unwrap().f64().unwrap(),
    );
    assert!(cur.height() > 0);
    for i in 0..cur.height() {
        let (c, a) = (mc.get(i).unwrap(), ma.get(i).unwrap());
        match sg.get(i) {
            Some("E") => assert!(c >= 0.0 && (a - c).abs() < 1e-9),
            Some("I") => assert!(c <= 0.0 && (a + c).abs() < 1e-9),
            other => panic!("source_sign {other:?}"),
        }
    }
    // currents.h5: the time courses of the validation split average to the table's means.
    let h5 = hdf5::File::open(out_dir.join("currents.h5")).unwrap();
    let course = h5
        .dataset("area_layer/current")
        .unwrap()
        .read::<f32, ndarray::Ix3>()
        .unwrap();
    let strings = |p: &str| -> Vec<String> {
        h5.dataset(p)
            .unwrap()
            .read_raw::<hdf5::types::VarLenUnicode>()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let (targets, blocks, signs) = (
        strings("area_layer/targets"),
        strings("area_layer/source_block"),
        strings("area_layer/source_sign"),
    );
    let frames = h5.dataset("frame").unwrap().read_raw::<u64>().unwrap();
    assert_eq!(course.dim(), (frames.len(), targets.len(), blocks.len()));
    assert_eq!(targets.len(), 6, "VISp, VISl × L2/3, L4, L5");
    let (lvl, spl, src, tgt) = (
        cur.column("level").unwrap().str().unwrap(),
        cur.column("split").unwrap().str().unwrap(),
        cur.column("source").unwrap().str().unwrap(),
        cur.column("target").unwrap().str().unwrap(),
    );
    let mut checked = 0;
    for i in 0..cur.height() {
        if lvl.get(i) != Some("area_layer") || spl.get(i) != Some("validation") {
            continue;
        }
        let t = targets
            .iter()
            .position(|x| Some(x.as_str()) == tgt.get(i))
            .unwrap();
        let s = (0..blocks.len())
            .find(|&k| {
                Some(blocks[k].as_str()) == src.get(i) && Some(signs[k].as_str()) == sg.get(i)
            })
            .unwrap();
        let mean = course
            .slice(ndarray::s![.., t, s])
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>()
            / frames.len() as f64;
        assert!((mean - mc.get(i).unwrap()).abs() < 1e-5 * (1.0 + mean.abs()));
        checked += 1;
    }
    assert_eq!(checked, targets.len() * blocks.len());
    // Perturbations: by default every population and area is silenced in turn; a silenced
    // population's own effective rate is 0 and nothing becomes negative (softplus rates).
    let pt = read_parquet(&out_dir.join("tables/perturbations.parquet"));
    assert_eq!(
        column_names(&pt),
        [
            "perturbed",
            "kind",
            "magnitude",
            "target",
            "baseline_mean_rate",
            "perturbed_mean_rate",
            "delta",
            "delta_rel",
            "delta_rel_ci_low",
            "delta_rel_ci_high",
            "sign_determined",
            "identifiable"
        ]
    );
    assert_eq!(pt.height(), (24 + 2) * 24);
    let (pp, tg, after) = (
        pt.column("perturbed").unwrap().str().unwrap(),
        pt.column("target").unwrap().str().unwrap(),
        pt.column("perturbed_mean_rate").unwrap().f64().unwrap(),
    );
    for i in 0..pt.height() {
        let a = after.get(i).unwrap();
        assert!(a >= 0.0);
        if pp.get(i) == tg.get(i) {
            assert_eq!(a, 0.0, "{:?} silenced", pp.get(i));
        }
    }
    // Population-level mean_w of the final fit against the true W's block means.
    let gt = rec.ground_truth.as_ref().unwrap();
    let units: Vec<fitrnn::connectivity::Population> = (0..gt.area.len())
        .map(|i| fitrnn::connectivity::Population::new(&gt.area[i], &gt.layer[i], &gt.cell_type[i]))
        .collect();
    let truth = fitrnn::analysis::blocks::block_interactions(
        &units,
        &gt.w_rec,
        fitrnn::analysis::blocks::Level::Population,
    );
    let (lv, st, pre, post, mw) = (
        inter.column("level").unwrap().str().unwrap(),
        inter.column("stage").unwrap().str().unwrap(),
        inter.column("pre").unwrap().str().unwrap(),
        inter.column("post").unwrap().str().unwrap(),
        inter.column("mean_w").unwrap().f64().unwrap(),
    );
    let (mut fitted, mut true_w, mut exists) = (vec![], vec![], vec![]);
    for i in 0..inter.height() {
        if lv.get(i) == Some("population") && st.get(i) == Some("final") {
            let t = truth
                .iter()
                .find(|r| {
                    Some(r.pre.as_str()) == pre.get(i) && Some(r.post.as_str()) == post.get(i)
                })
                .unwrap();
            fitted.push(mw.get(i).unwrap());
            true_w.push(t.mean_w);
            exists.push(t.mean_abs_w > 0.0);
        }
    }
    assert_eq!(fitted.len(), 24 * 24);
    // Only the blocks that truly exist: the prior's zeros, shared by fit and simulation, are not
    // credited (over all 576 blocks the same fit scores 0.90).
    let pick = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(&exists)
            .filter(|(_, e)| **e)
            .map(|(x, _)| *x)
            .collect()
    };
    let rho = fitrnn::stats::spearman(&pick(&fitted), &pick(&true_w));
    eprintln!("existing population blocks: Spearman(fitted mean_w, true mean_w) = {rho:.3}");
    // Measured 0.79 (210 blocks); Dale's law gives the signs, so this is mostly sign and scale.
    assert!(
        rho > 0.6,
        "existing block interactions rank like the truth: Spearman {rho:.3}"
    );
}

#[test]
fn demo_recording_is_regenerated_exactly_by_the_documented_command() {
    let root = common::root();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.h5");
    common::fitrnn()
        .current_dir(&root)
        .args([
            "simulate",
            "--config",
            "configs/simulate_mouse_v1.yaml",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let shipped = std::fs::read(root.join("data/mouse_v1_demo.h5")).unwrap();
    assert!(
        std::fs::read(&out).unwrap() == shipped,
        "data/mouse_v1_demo.h5 is out of date: regenerate it (data/README.md)"
    );
}
