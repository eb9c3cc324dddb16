//! `fitrnn sweep`: seeds × conditions as independent runs, several at a time.

use crate::common;

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

#[test]
fn sweep_fits_every_seed_and_condition_into_its_own_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    common::fitrnn()
        .current_dir(common::root())
        .args([
            "sweep",
            "--config",
            "configs/mouse_v1.yaml",
            "--seeds",
            "3-4",
            "--jobs",
            "2",
        ])
        .args([
            "--set",
            "training.dense_epochs=2",
            "--set",
            "training.finetune_epochs=1",
        ])
        .args(common::NO_ENSEMBLE)
        .args([
            "--condition",
            "fast=training.lr=0.01",
            "--condition",
            "slow=training.lr=0.001",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("4 of 4 fits").and(contains("fits per hour")));
    for cond in ["fast", "slow"] {
        for seed in [3u64, 4] {
            let dir = out.join(cond).join(format!("seed_{seed}"));
            let m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                    .unwrap();
            assert_eq!(m["status"], "complete");
            assert_eq!(m["seed"], seed);
            assert_eq!(
                m["threads"], 1,
                "one thread per fit when several run at once"
            );
            let cfg = std::fs::read_to_string(dir.join("config.resolved.yaml")).unwrap();
            let lr = if cond == "fast" {
                "lr: 0.01"
            } else {
                "lr: 0.001"
            };
            assert!(cfg.contains(lr), "{cond}: {lr} in\n{cfg}");
        }
    }
    // A bad override is refused before any fit starts.
    common::fitrnn()
        .current_dir(common::root())
        .args(["sweep", "--config", "configs/mouse_v1.yaml", "--seeds", "0"])
        .args(["--condition", "typo=training.lrr=0.1", "--out"])
        .arg(tmp.path().join("bad"))
        .assert()
        .code(2)
        .stderr(contains("typo").and(contains("lr")));
    assert!(!tmp.path().join("bad").exists());
}

#[test]
fn a_rerun_skips_finished_fits_and_the_table_has_one_row_per_fit() {
    use fitrnn::jobs::sweep::SweepRow;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let sweep = |extra: &[&str]| {
        common::fitrnn()
            .current_dir(common::root())
            .args([
                "sweep",
                "--config",
                "configs/mouse_v1.yaml",
                "--seeds",
                "0-1",
            ])
            .args(["--jobs", "2", "--set", "training.dense_epochs=1"])
            .args(["--set", "training.finetune_epochs=1"])
            .args(common::NO_ENSEMBLE)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .assert()
            .success()
    };
    sweep(&[]);
    let first: Vec<SweepRow> = fitrnn::rundir::tables::read(&out.join("sweep.parquet")).unwrap();
    assert_eq!(first.len(), 2);
    assert!(first
        .iter()
        .all(|r| r.status == "done" && r.condition == "base"));
    assert!(first.iter().all(|r| r.pvar_free_running.is_finite()));
    let weights = out.join("base/seed_0/model/final.safetensors");
    let written = std::fs::metadata(&weights).unwrap().modified().unwrap();
    sweep(&[]).stdout(contains(
        "2 finished before with the same config, not run again",
    ));
    let again: Vec<SweepRow> = fitrnn::rundir::tables::read(&out.join("sweep.parquet")).unwrap();
    assert!(again.iter().all(|r| r.status == "skipped"), "{again:?}");
    assert_eq!(
        std::fs::metadata(&weights).unwrap().modified().unwrap(),
        written,
        "a finished fit is not redone"
    );
    // A changed config is fitted again, not skipped.
    sweep(&["--set", "training.lr=0.02"]);
    let changed: Vec<SweepRow> = fitrnn::rundir::tables::read(&out.join("sweep.parquet")).unwrap();
    assert!(changed.iter().all(|r| r.status == "done"), "{changed:?}");
}

#[test]
fn the_job_runner_runs_the_fitrnn_binary_from_a_library_caller() {
    use fitrnn::jobs::{fitrnn_binary, run_jobs, Job, Local, Outcome};
    let tmp = tempfile::tempdir().unwrap();
    let job = |name: &str, args: &[&str]| Job {
        name: name.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        log: tmp.path().join(format!("{name}.log")),
    };
    let jobs = [
        job("version", &["--version"]),
        job("bad", &["check", "--data", "/no/such/file.h5"]),
        job("skipped", &["--version"]),
    ];
    // This test runs inside the test harness, not inside fitrnn: the runner must still find it.
    let backend = Local {
        binary: fitrnn_binary().unwrap(),
        parallel: 2,
    };
    let results = run_jobs(&backend, &jobs, &[false, false, true], "jobs").unwrap();
    assert_eq!(results[0].outcome, Outcome::Done);
    assert!(
        results[0].stdout.starts_with("fitrnn "),
        "{:?}",
        results[0].stdout
    );
    assert_eq!(results[1].outcome, Outcome::Failed(Some(2)));
    let log = std::fs::read_to_string(tmp.path().join("bad.log")).unwrap();
    assert!(log.contains("/no/such/file.h5"), "{log}");
    assert_eq!(results[2].outcome, Outcome::Skipped);
    assert!(!tmp.path().join("skipped.log").exists());
}
