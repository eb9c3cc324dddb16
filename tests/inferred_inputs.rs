//! Inferred inputs (`model.latent_inputs`) on recordings whose areas share drive the recording
//! does not hold (`network.hidden_drive` of the simulator): a fit explains less of the shared drive
//! as connectivity between areas when it may infer it, saves the inferred drive and reports it.

use crate::common;
use fitrnn::rundir::tables::{self, CurrentRow, InferredInputRow};
use std::path::{Path, PathBuf};

/// The shipped three-area simulator config.
fn three_areas() -> PathBuf {
    common::root().join("configs/simulate_three_areas.yaml")
}

/// The share of each area's recurrent input (mean |current|, training frames) that comes from
/// other areas, averaged over areas, from a run's `currents.parquet`.
fn between_area_share(run: &Path) -> f64 {
    let rows: Vec<CurrentRow> = tables::read(&run.join("tables/currents.parquet")).unwrap();
    let rows: Vec<&CurrentRow> = rows
        .iter()
        .filter(|r| r.level == "area" && r.split == "train")
        .collect();
    let targets = ["VISp", "VISl", "VISal"];
    targets
        .iter()
        .map(|t| {
            let into: Vec<&&CurrentRow> = rows.iter().filter(|r| r.target == *t).collect();
            let total: f64 = into.iter().map(|r| r.mean_abs_current).sum();
            let between: f64 = into
                .iter()
                .filter(|r| r.source != *t)
                .map(|r| r.mean_abs_current)
                .sum();
            between / total
        })
        .sum::<f64>()
        / targets.len() as f64
}

#[test]
fn inferred_inputs_take_shared_drive_off_the_pathways_between_areas() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("three.h5");
    common::fitrnn()
        .args(["simulate", "--config"])
        .arg(three_areas())
        .args(["--set", "stimulus.duration_s=300", "--out"])
        .arg(&data)
        .assert()
        .success();
    let fit = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut cmd = common::fitrnn();
        cmd.arg("--config")
            .arg(common::root().join("configs/recovery_hidden_fit.yaml"))
            .args(common::NO_ENSEMBLE);
        for s in [
            format!("data.path={}", data.display()),
            format!("output.dir={}", out.display()),
            "threads=1".into(),
            "training.dense_epochs=8".into(),
            "training.finetune_epochs=0".into(),
        ]
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        {
            cmd.args(["--set", s]);
        }
        cmd.assert().success();
        out
    };
    let base = fit("base", &[]);
    let latent = fit("latent", &["model.latent_inputs.per_area=1"]);
    let (b, l) = (between_area_share(&base), between_area_share(&latent));
    eprintln!("share of input between areas: {l:.3} with inferred inputs, {b:.3} without");
    // Measured: 0.092 with inferred inputs, 0.120 without (the truth's is about 0.03).
    assert!(
        l < 0.9 * b,
        "share of input between areas: {l:.3} with inferred inputs, {b:.3} without"
    );

    // The knots are saved with the weights, one channel per area, and the drive is reported.
    let w = fitrnn::rundir::weights::load(&latent.join("model/final.safetensors")).unwrap();
    let knots = w["latent"].dims2().unwrap();
    assert_eq!(knots.1, 3);
    // 3,300 frames at 11 Hz, a knot every second: knots at 0, 1, …, 300 s.
    assert_eq!(knots.0, 301);
    assert!(!base.join("tables/inferred_inputs.parquet").exists());
    let drive: Vec<InferredInputRow> =
        tables::read(&latent.join("tables/inferred_inputs.parquet")).unwrap();
    assert_eq!(drive.len(), 6, "3 areas × 2 splits");
    for r in &drive {
        assert!(r.inferred_share > 0.0 && r.inferred_share < 1.0, "{r:?}");
    }
    let report = std::fs::read_to_string(latent.join("report.html")).unwrap();
    assert!(report.contains("Inferred inputs: share of each area"));
    // `analyse` recomputes the same currents from the saved weights and knots.
    let before = std::fs::read(latent.join("tables/currents.parquet")).unwrap();
    common::fitrnn()
        .arg("analyse")
        .arg(&latent)
        .assert()
        .success();
    let after: Vec<CurrentRow> = tables::read(&latent.join("tables/currents.parquet")).unwrap();
    let before: Vec<CurrentRow> = {
        let p = dir.path().join("before.parquet");
        std::fs::write(&p, before).unwrap();
        tables::read(&p).unwrap()
    };
    // Debug text, so that the NaN intervals of a run without an ensemble compare equal.
    assert_eq!(format!("{before:?}"), format!("{after:?}"));
}
