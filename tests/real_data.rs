//! The shipped real-data configs run from a fresh clone (with fewer epochs), and their metrics
//! carry both baselines for every neuron.

use crate::common;

use polars::prelude::*;

fn run_config(config: &str, extra: &[&str]) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = common::fitrnn()
        .current_dir(common::root())
        .args(["--config", config])
        .args(extra)
        .arg("--set")
        .arg(format!("output.dir={}", tmp.path().join("run").display()))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    (tmp, text)
}

fn modes(run: &std::path::Path) -> Vec<(String, String, f64)> {
    let df = ParquetReader::new(std::fs::File::open(run.join("tables/metrics.parquet")).unwrap())
        .finish()
        .unwrap();
    let split = df.column("split").unwrap().str().unwrap().clone();
    let mode = df.column("mode").unwrap().str().unwrap().clone();
    let id = df.column("neuron_id").unwrap().str().unwrap().clone();
    let r2 = df.column("r2").unwrap().f64().unwrap().clone();
    (0..df.height())
        .filter(|&i| split.get(i) == Some("validation") && id.get(i).is_some())
        .map(|i| {
            (
                mode.get(i).unwrap().to_string(),
                id.get(i).unwrap().to_string(),
                r2.get(i).unwrap_or(f64::NAN),
            )
        })
        .collect()
}

#[test]
fn allen_visual_coding_excerpt_config_fits_with_both_baselines() {
    let (tmp, text) = run_config(
        "configs/allen_vc_excerpt.yaml",
        &["--set", "training.dense_epochs=3"],
    );
    for line in [
        "validation  free_running",
        "ar1_free_running",
        "ar1_teacher_forced",
        "train_mean",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    let rows = modes(&tmp.path().join("run"));
    for m in [
        "free_running",
        "teacher_forced",
        "train_mean_baseline",
        "ar1_free_running",
        "ar1_teacher_forced",
    ] {
        let n = rows.iter().filter(|r| r.0 == m).count();
        assert_eq!(n, 74, "{m}: one row per recorded neuron");
    }
    // The VAR's one-step prediction is better than each neuron's mean on held-out frames.
    let pooled = |m: &str| rows.iter().filter(|r| r.0 == m).map(|r| r.2).sum::<f64>() / 74.0;
    assert!(pooled("ar1_teacher_forced") > pooled("train_mean_baseline"));
}

#[test]
fn allen_visual_behavior_worked_example_config_fits() {
    let (tmp, text) = run_config(
        "configs/allen_vbo_sst_example.yaml",
        &["--set", "training.dense_epochs=2"],
    );
    assert!(text.contains("ar1_teacher_forced"), "{text}");
    let rows = modes(&tmp.path().join("run"));
    assert_eq!(rows.iter().filter(|r| r.0 == "free_running").count(), 3);
}
