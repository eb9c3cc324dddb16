//! `--backend slurm` against a real Slurm cluster: the one-node cluster of
//! `scripts/slurm-test-cluster.sh` (munged, slurmctld and slurmd on localhost), which
//! `scripts/test.sh` starts and announces with `FITRNN_TEST_SLURM=1` and `SLURM_CONF`. Without it
//! these tests print that they did not run.

use crate::common;
use fitrnn::jobs::sweep::SweepRow;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Whether the test cluster is up; panics when it was announced but does not answer.
fn cluster() -> bool {
    if std::env::var("FITRNN_TEST_SLURM").as_deref() != Ok("1") {
        eprintln!("not run: no test cluster (bash scripts/slurm-test-cluster.sh start, then FITRNN_TEST_SLURM=1)");
        return false;
    }
    let up = std::process::Command::new("sinfo")
        .args(["--noheader", "--format=%T"])
        .output()
        .expect("sinfo runs");
    let states = String::from_utf8_lossy(&up.stdout).to_string();
    assert!(
        up.status.success()
            && (states.contains("idle") || states.contains("mix") || states.contains("alloc")),
        "FITRNN_TEST_SLURM=1 but the cluster is not up: {states} {}",
        String::from_utf8_lossy(&up.stderr)
    );
    true
}

/// `fitrnn sweep` of the demo config with short training into `out`, on `backend`.
fn sweep(out: &Path, backend: &str, seeds: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut c = common::fitrnn();
    c.current_dir(common::root())
        .env("FITRNN_SLURM_POLL_S", "0.5")
        .args([
            "sweep",
            "--config",
            "configs/mouse_v1.yaml",
            "--seeds",
            seeds,
        ])
        .args(["--backend", backend, "--jobs", "2"])
        .args([
            "--set",
            "training.dense_epochs=2",
            "--set",
            "training.finetune_epochs=1",
        ])
        .args(common::NO_ENSEMBLE)
        .args(extra)
        .arg("--out")
        .arg(out);
    c
}

fn rows(out: &Path) -> Vec<SweepRow> {
    fitrnn::rundir::tables::read(&out.join("sweep.parquet")).unwrap()
}

fn weights(run: &Path) -> Vec<u8> {
    std::fs::read(run.join("model/final.safetensors")).unwrap()
}

#[test]
fn a_sweep_on_slurm_gives_the_weights_and_table_of_the_same_sweep_run_here() {
    if !cluster() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let conditions = [
        "--condition",
        "fast=training.lr=0.01",
        "--condition",
        "slow=training.lr=0.001",
    ];
    let (on_slurm, here) = (tmp.path().join("slurm"), tmp.path().join("local"));
    sweep(&on_slurm, "slurm", "0-1", &conditions)
        .assert()
        .success()
        .stdout(contains("4 of 4 fits"))
        .stderr(contains("submitted Slurm job"));
    sweep(&here, "local", "0-1", &conditions).assert().success();
    let (a, b) = (rows(&on_slurm), rows(&here));
    assert_eq!(a.len(), 4);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((x.status.as_str(), y.status.as_str()), ("done", "done"));
        assert_eq!((&x.condition, x.seed), (&y.condition, y.seed));
        let (job, task) = x.job.split_once('_').unwrap_or_default();
        assert!(
            job.parse::<u64>().is_ok() && task.parse::<u64>().is_ok(),
            "job id {:?}",
            x.job
        );
        assert_eq!(y.job, "", "a local fit has no scheduler id");
        assert_eq!(x.pvar_free_running, y.pvar_free_running, "{x:?} vs {y:?}");
        let run = |root: &Path| root.join(&x.condition).join(format!("seed_{}", x.seed));
        assert!(
            weights(&run(&on_slurm)) == weights(&run(&here)),
            "{}/seed_{}: weights differ",
            x.condition,
            x.seed
        );
    }
    // The array script is kept for reading and resubmitting, with the estimated request.
    let script = std::fs::read_to_string(on_slurm.join("slurm/array.sh")).unwrap();
    for line in [
        "#SBATCH --array=0-3%2",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --mem=1024M",
    ] {
        assert!(script.contains(line), "no {line} in\n{script}");
    }
    // Nothing finished is redone.
    sweep(&on_slurm, "slurm", "0-1", &conditions)
        .assert()
        .success()
        .stdout(contains("4 finished before"));
}

/// Wait until `file` exists (a fit has written its first checkpoint).
fn wait_for(file: &Path, limit: Duration) {
    let t0 = Instant::now();
    while !file.is_file() {
        assert!(t0.elapsed() < limit, "{} did not appear", file.display());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_cancelled_fit_resumes_on_resubmission_and_a_failing_one_is_reported_with_its_log() {
    if !cluster() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let cells = [
        "--set",
        "training.dense_epochs=6",
        "--set",
        "training.checkpoint.every_s=0",
        "--condition",
        "ok=seed=0",
        "--condition",
        "bad=data.path=/no/such/recording.h5",
    ];
    sweep(&out, "slurm", "7", &[&cells[..], &["--no-wait"]].concat())
        .assert()
        .success()
        .stdout(contains("sweep --collect"));
    let ok: PathBuf = out.join("ok/seed_7");
    wait_for(
        &ok.join("model/checkpoint.safetensors"),
        Duration::from_secs(120),
    );
    common::fitrnn()
        .args(["sweep", "--cancel"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("cancelled Slurm job"));
    // Once the queue is empty, --collect says what happened to each.
    let t0 = Instant::now();
    loop {
        common::fitrnn()
            .args(["sweep", "--collect"])
            .arg(&out)
            .assert()
            .success();
        let states: Vec<String> = rows(&out).into_iter().map(|r| r.status).collect();
        if states.iter().all(|s| s == "failed" || s == "done") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{states:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let collected = rows(&out);
    let status = |cond: &str| {
        collected
            .iter()
            .find(|r| r.condition == cond)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status("ok"), "failed", "{collected:?}");
    assert_eq!(status("bad"), "failed", "{collected:?}");
    let killed_log = std::fs::read_to_string(out.join("ok/seed_7.log")).unwrap();
    assert!(killed_log.contains("ended by signal 15"), "{killed_log}");
    let manifest = std::fs::read_to_string(ok.join("manifest.json")).unwrap();
    assert!(!manifest.contains("\"complete\""), "{manifest}");
    // The same command again: the cancelled fit resumes from its checkpoint, the failing one
    // fails again and is named with its log.
    sweep(&out, "slurm", "7", &cells)
        .assert()
        .code(1)
        .stderr(contains("bad/seed_7").and(contains("seed_7.log")));
    let resumed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ok.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(resumed["status"], "complete");
    assert!(resumed["resumed_unix_s"].is_number(), "{resumed}");
    let bad_log = std::fs::read_to_string(out.join("bad/seed_7.log")).unwrap();
    assert!(bad_log.contains("/no/such/recording.h5"), "{bad_log}");
    // Resumed, it ends with the weights of an uninterrupted fit.
    let here = tmp.path().join("here");
    sweep(&here, "local", "7", &cells[..6]).assert().success();
    assert!(
        weights(&ok) == weights(&here.join("ok/seed_7")),
        "the resumed fit's weights differ"
    );
}

#[test]
fn the_recovery_study_runs_its_fits_on_slurm_and_scores_them() {
    if !cluster() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = common::small_study_config(
        tmp.path(),
        "[0]",
        &[
            "{name: dale_topprob}",
            "{name: prior_only, baseline: prior_only}",
        ],
    );
    let out = tmp.path().join("study");
    common::fitrnn()
        .env("FITRNN_SLURM_POLL_S", "0.5")
        .args(["recovery", "--backend", "slurm", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("submitted Slurm job"));
    let script = std::fs::read_to_string(out.join("slurm/array.sh")).unwrap();
    assert!(script.contains("#SBATCH --array=0-0"), "{script}");
    let md = std::fs::read_to_string(out.join("recovery.md")).unwrap();
    assert!(
        md.contains("dale_topprob") && md.contains("prior_only"),
        "{md}"
    );
    let manifest = out.join("runs/rate/default/dale_topprob/seed_0/manifest.json");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    assert_eq!(m["status"], "complete");
}
