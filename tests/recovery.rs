//! The ground-truth recovery study: a small sweep end to end, and the ridge VAR baseline against
//! a numpy reference.

use crate::common;

use fitrnn::dataset::Window;
use fitrnn::evaluate::{fit_var1_alpha, training_pairs};
use polars::prelude::*;

#[test]
fn ridge_var_matches_the_numpy_closed_form() {
    let f = hdf5::File::open(common::fixture("var/ridge_var.h5")).unwrap();
    let y = f.dataset("y").unwrap().read_2d::<f32>().unwrap();
    let u = f.dataset("u").unwrap().read_2d::<f32>().unwrap();
    let alpha: f64 = f.attr("alpha").unwrap().read_scalar().unwrap();
    let pairs = training_pairs(&[Window {
        start: 0,
        len: y.nrows(),
    }]);
    assert_eq!(pairs.len(), y.nrows() - 1);
    let m = fit_var1_alpha(&y, &u, &pairs, alpha).unwrap();
    let a = f.dataset("a").unwrap().read_2d::<f64>().unwrap();
    let b = f.dataset("b").unwrap().read_2d::<f64>().unwrap();
    let c = f.dataset("c").unwrap().read_raw::<f64>().unwrap();
    for ((i, j), v) in a.indexed_iter() {
        assert!(
            (m.a[[i, j]] - v).abs() < 1e-9,
            "A[{i},{j}] {} vs {v}",
            m.a[[i, j]]
        );
    }
    for ((i, j), v) in b.indexed_iter() {
        assert!((m.b[[i, j]] - v).abs() < 1e-9, "B[{i},{j}]");
    }
    for (i, v) in c.iter().enumerate() {
        assert!((m.c[i] - v).abs() < 1e-9, "c[{i}]");
    }
}

fn column_f64(df: &DataFrame, name: &str) -> Vec<f64> {
    let c = df.column(name).unwrap().f64().unwrap().clone();
    (0..c.len()).map(|i| c.get(i).unwrap_or(f64::NAN)).collect()
}

fn column_str(df: &DataFrame, name: &str) -> Vec<String> {
    let c = df.column(name).unwrap().str().unwrap().clone();
    (0..c.len())
        .map(|i| c.get(i).unwrap_or_default().to_string())
        .collect()
}

#[test]
fn small_sweep_scores_existing_blocks_beside_the_prior_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = common::small_study_config(
        tmp.path(),
        "[0, 1]",
        &[
            "{name: dale_topprob}",
            "{name: correlation, baseline: correlation}",
            "{name: prior_only, baseline: prior_only}",
            "{name: true_recorded, baseline: true_recorded}",
            "{name: bounded, baseline: one_step_bounded}",
        ],
    );
    let out = tmp.path().join("study");
    common::fitrnn()
        .args(["recovery", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let df = ParquetReader::new(std::fs::File::open(out.join("recovery.parquet")).unwrap())
        .finish()
        .unwrap();
    // 2 recordings × (dale: 3 levels × 10 metrics + the unit-level correlation; correlation,
    // prior_only and true_recorded: 30 each; the bounded one-step estimate: 31).
    assert_eq!(df.height(), 2 * (31 + 30 + 30 + 30 + 31));
    let (method, level, metric, value) = (
        column_str(&df, "method"),
        column_str(&df, "level"),
        column_str(&df, "metric"),
        column_f64(&df, "value"),
    );
    let seeds: Vec<u64> = {
        let c = df.column("seed").unwrap().u64().unwrap().clone();
        (0..c.len()).map(|i| c.get(i).unwrap()).collect()
    };
    let pick = |m: &str, s: u64, lv: &str, me: &str| -> f64 {
        (0..df.height())
            .find(|&i| method[i] == m && seeds[i] == s && level[i] == lv && metric[i] == me)
            .map(|i| value[i])
            .unwrap()
    };
    for s in [0, 1] {
        // The bounded one-step estimate keeps Dale's signs exactly.
        let bounded_sign = pick("bounded", s, "population", "existing_sign_accuracy");
        assert!(
            bounded_sign > 0.8,
            "seed {s}: bounded sign accuracy {bounded_sign}"
        );
        // The zeros of the prior are never credited: existing blocks only, about 150 of them.
        let n = pick("dale_topprob", s, "population", "n_existing");
        assert!(n > 50.0 && n < 576.0, "seed {s}: {n} existing blocks");
        // Dale's law gives the signs to the fit and to the prior alone.
        let sign = pick("dale_topprob", s, "population", "existing_sign_accuracy");
        assert!(sign > 0.8, "seed {s}: sign accuracy {sign}");
        let (fit, prior, corr) = (
            pick("dale_topprob", s, "area_layer", "existing_rho_input_share"),
            pick("prior_only", s, "area_layer", "existing_rho_input_share"),
            pick("correlation", s, "area_layer", "existing_rho_input_share"),
        );
        assert!(
            fit > prior && fit > corr,
            "seed {s}: area-layer input share: fit {fit}, prior only {prior}, correlation {corr}"
        );
        // Every neuron is recorded: the recorded neurons' true weights are the truth.
        let ceiling = pick("true_recorded", s, "population", "existing_rho_input_share");
        assert_eq!(ceiling, 1.0, "seed {s}");
    }
    let md = std::fs::read_to_string(out.join("recovery.md")).unwrap();
    assert!(md.contains("prior_only") && md.contains("dale_topprob"));
    // A rerun skips every finished cell: the fits are not redone.
    let manifest = out.join("runs/rate/default/dale_topprob/seed_0/manifest.json");
    let before = std::fs::metadata(&manifest).unwrap().modified().unwrap();
    common::fitrnn()
        .args(["recovery", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        std::fs::metadata(&manifest).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn shipped_study_configs_load_and_every_fit_method_validates() {
    for name in [
        "configs/recovery.yaml",
        "configs/recovery_length.yaml",
        "configs/recovery_training.yaml",
        "configs/recovery_deconvolve.yaml",
        "configs/recovery_length_half.yaml",
        "configs/recovery_hidden_drive.yaml",
    ] {
        let path = common::root().join(name);
        let cfg = fitrnn::recovery::RecoveryConfig::load(&path).unwrap();
        for m in cfg.methods.iter().filter(|m| m.baseline.is_none()) {
            let sets: Vec<String> = m
                .set
                .iter()
                .map(|(k, v)| format!("{k}={}", serde_yaml::to_string(v).unwrap().trim_end()))
                .collect();
            fitrnn::config::Config::load(&cfg.fit, &sets)
                .unwrap_or_else(|e| panic!("{name}: method {}: {e}", m.name));
        }
    }
}

/// `true_recorded` keeps only the recorded neurons: with every neuron recorded it is the truth,
/// and with half of them its block values move away from the truth's, so its scores (the ceiling
/// partial observation sets) fall below 1.
#[test]
fn the_recorded_neurons_truth_is_the_truth_only_when_every_neuron_is_recorded() {
    use fitrnn::analysis::blocks::Level;
    use fitrnn::recovery::estimates::{true_recorded, truth};
    let tmp = tempfile::tempdir().unwrap();
    let data = common::simulate_small_with(tmp.path(), 60.0, 0.2, &["observation.save_rates=true"]);
    let rec = fitrnn::data::read_recording(&data, &Default::default()).unwrap();
    let mut gt = rec.ground_truth.unwrap();
    let signs = fitrnn::data::celltypes::default_sign_map();
    let all = truth(&gt, &signs, Level::Population);
    assert_eq!(true_recorded(&gt, &signs, Level::Population), all);
    // Forget every other neuron.
    for (k, i) in gt.recorded_index.iter_mut().enumerate() {
        if k % 2 == 1 {
            *i = -1;
        }
    }
    let half = true_recorded(&gt, &signs, Level::Population);
    let scores: std::collections::BTreeMap<String, f64> =
        fitrnn::recovery::score(&half, &all).into_iter().collect();
    let rho = scores["existing_rho_input_share"];
    assert!(
        rho < 0.95 && rho > 0.0,
        "input share ρ of half the neurons: {rho}"
    );
}
