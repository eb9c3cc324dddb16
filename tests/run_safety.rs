//! A run never deletes a user's files, never shares its directory with another writer, and a kill
//! at any write leaves a run that is either resumable to the uninterrupted weights or plainly
//! unfinished, never `complete` with a file missing.

use crate::common;

use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A small, quick fit of `epochs` (dense, fine-tune) writing a checkpoint after every epoch into
/// `dir/out`; returns the config's path.
fn config(dir: &Path, epochs: (usize, usize)) -> PathBuf {
    let data = dir.join("small.h5");
    if !data.exists() {
        common::simulate_small(dir, 40.0, 0.1);
    }
    let text = format!(
        "seed: 11\ndevice: cpu\nthreads: 1\ndata:\n  path: {}\n  windows: {{length_s: 3}}\n\
         model:\n  tau_ms: {{default: 400}}\n  inputs: [image_flash]\n\
         constraints:\n  mask: {{table: {}, realisation: topprob}}\n\
         training:\n  dense_epochs: {}\n  finetune_epochs: {}\n  lr: 0.01\n  batch_size: 3\n\
         \x20 checkpoint: {{every_epochs: 1}}\n\
         analysis: {{perturbations: [], spectra: final}}\n\
         output: {{dir: out, overwrite: true}}\n",
        data.display(),
        common::celltype_table().display(),
        epochs.0,
        epochs.1
    );
    common::write(dir, "run.yaml", &text)
}

/// Run the fit of `cfg`, killed at `point` (`<file>:<n>:<before|after>`, see `FITRNN_KILL_AT`).
fn fit_killed_at(cfg: &Path, point: &str) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("fitrnn"))
        .arg("--config")
        .arg(cfg)
        .env("FITRNN_KILL_AT", point)
        .output()
        .unwrap()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn final_weights(dir: &Path) -> Vec<Vec<f32>> {
    let w = fitrnn::rundir::weights::load(&dir.join("model/final.safetensors")).unwrap();
    ["w_rec", "w_in", "b", "gain", "offset", "mask"]
        .iter()
        .map(|k| w[*k].flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect()
}

/// The files a complete run of [`config`] must have.
const COMPLETE_FILES: [&str; 7] = [
    "config.resolved.yaml",
    "model/final.safetensors",
    "model/checkpoint.safetensors",
    "tables/metrics.parquet",
    "tables/interactions.parquet",
    "predictions.h5",
    "report.html",
];

#[test]
fn overwrite_never_replaces_a_directory_that_is_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (1, 1));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(dir.path().join("small.h5"), out.join("recording.h5")).unwrap();
    std::fs::write(out.join("notes.txt"), "lab notes").unwrap();
    let before = common::snapshot_tree(&out);
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(
            predicates::str::contains("not a fitrnn run directory")
                .and(predicates::str::contains("notes.txt"))
                .and(predicates::str::contains("recording.h5")),
        );
    assert_eq!(common::snapshot_tree(&out), before, "nothing was touched");
    // Nor a manifest some other tool wrote.
    std::fs::remove_file(out.join("notes.txt")).unwrap();
    std::fs::remove_file(out.join("recording.h5")).unwrap();
    std::fs::write(out.join("manifest.json"), "{\"status\": \"complete\"}").unwrap();
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a fitrnn run directory"));
    assert!(out.join("manifest.json").exists());
}

#[test]
fn an_empty_path_override_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (1, 1));
    for key in ["output.dir", "data.path", "constraints.mask.table"] {
        common::fitrnn()
            .arg("--config")
            .arg(&cfg)
            .args(["--set", &format!("{key}=")])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(format!(
                "`{key}` is a path and the value is empty"
            )));
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_second_writer_is_refused_while_a_fit_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (400, 1));
    let out = dir.path().join("out");
    let mut first = Command::new(assert_cmd::cargo::cargo_bin("fitrnn"))
        .arg("--config")
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !out.join("model/checkpoint.safetensors").exists() {
        assert!(
            start.elapsed().as_secs() < 120,
            "the first fit never checkpointed"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let second = common::fitrnn().arg("--config").arg(&cfg).assert().code(2);
    let resume = common::fitrnn().arg("--resume").arg(&out).assert().code(2);
    first.kill().unwrap();
    first.wait().unwrap();
    for refused in [second, resume] {
        let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
        assert!(
            stderr.contains("another fitrnn process is writing"),
            "{stderr}"
        );
    }
    assert_eq!(
        manifest(&out)["status"],
        "running",
        "the first run was not replaced"
    );
}

#[test]
fn a_replaced_run_stays_on_disk_until_its_replacement_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (2, 1));
    let out = dir.path().join("out");
    let previous = dir.path().join("out.previous");
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    let first = final_weights(&out);
    // The replacement is killed after its first checkpoint: the complete run waits aside.
    fit_killed_at(&cfg, "checkpoint.safetensors:1:after");
    assert_eq!(manifest(&out)["status"], "running");
    assert_eq!(manifest(&previous)["status"], "complete");
    assert_eq!(final_weights(&previous), first);
    // A completed replacement removes it.
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    assert!(!previous.exists());
    assert_eq!(manifest(&out)["status"], "complete");
    assert_eq!(final_weights(&out), first, "same seed, same weights");
}

/// Where a run of [`config`] can be killed: every write of a checkpoint and of the manifest, just
/// before and just after its rename.
fn kill_points(checkpoints: usize, manifest_writes: usize) -> Vec<String> {
    let mut points = Vec::new();
    for (file, n) in [
        ("checkpoint.safetensors", checkpoints),
        ("manifest.json", manifest_writes),
    ] {
        for k in 1..=n {
            for when in ["before", "after"] {
                points.push(format!("{file}:{k}:{when}"));
            }
        }
    }
    points
}

#[test]
fn a_kill_at_any_checkpoint_or_manifest_write_resumes_to_the_uninterrupted_weights() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (3, 2));
    let out = dir.path().join("out");
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    let reference = final_weights(&out);
    let m = manifest(&out);
    // 3 + 1 (phase end) + 2 + 1 checkpoints.
    assert_eq!(m["checkpoints_written"], 7);
    // The points cover every such write: one more of either is never reached.
    for beyond in ["checkpoint.safetensors:8:before", "manifest.json:6:before"] {
        std::fs::remove_dir_all(&out).unwrap();
        let run = fit_killed_at(&cfg, beyond);
        assert!(run.status.success(), "{beyond} is a write of the run");
    }
    let points = kill_points(7, 5);
    for point in &points {
        std::fs::remove_dir_all(&out).unwrap();
        let killed = fit_killed_at(&cfg, point);
        assert!(
            !killed.status.success(),
            "{point}: the kill point was reached"
        );
        let status = std::fs::read_to_string(out.join("manifest.json"))
            .ok()
            .map(|t| serde_json::from_str::<serde_json::Value>(&t).unwrap()["status"].clone());
        if status == Some("complete".into()) {
            for f in COMPLETE_FILES {
                assert!(out.join(f).exists(), "{point}: complete without {f}");
            }
            assert_eq!(final_weights(&out), reference, "{point}");
            continue;
        }
        let resumed = common::fitrnn().arg("--resume").arg(&out).assert();
        let code = resumed.get_output().status.code();
        if code == Some(0) {
            assert_eq!(manifest(&out)["status"], "complete", "{point}");
            assert_eq!(
                final_weights(&out),
                reference,
                "{point}: resumed weights differ"
            );
        } else {
            // Killed before anything could be resumed: said so, and a new run starts over it.
            let stderr = String::from_utf8_lossy(&resumed.get_output().stderr).into_owned();
            assert_eq!(code, Some(2), "{point}: {stderr}");
            assert!(
                stderr.contains("no checkpoint") || stderr.contains("manifest"),
                "{point}: {stderr}"
            );
            common::fitrnn()
                .arg("--config")
                .arg(&cfg)
                .assert()
                .success();
            assert_eq!(final_weights(&out), reference, "{point}");
        }
    }
}

#[test]
fn weights_are_as_readable_as_every_other_output() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (1, 1));
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    use std::os::unix::fs::PermissionsExt;
    let mode = |rel: &str| {
        std::fs::metadata(dir.path().join("out").join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let table = mode("tables/metrics.parquet");
    for weights in [
        "model/final.safetensors",
        "model/dense.safetensors",
        "model/checkpoint.safetensors",
    ] {
        assert_eq!(mode(weights), table, "{weights}");
    }
}

#[test]
fn analyse_refuses_a_changed_recording_and_weights_the_run_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (1, 1));
    let out = dir.path().join("out");
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    let other = dir.path().join("other");
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .args(["--set", "seed=12", "--set"])
        .arg(format!("output.dir={}", other.display()))
        .assert()
        .success();
    // Weights from another run.
    let own = out.join("model/final.safetensors");
    let kept = std::fs::read(&own).unwrap();
    std::fs::copy(other.join("model/final.safetensors"), &own).unwrap();
    common::fitrnn()
        .arg("analyse")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not the weights this run wrote"));
    std::fs::write(&own, kept).unwrap();
    common::fitrnn().arg("analyse").arg(&out).assert().success();
    // A recording that changed since the fit.
    common::simulate_small(dir.path(), 41.0, 0.1);
    for command in ["analyse", "selfcheck"] {
        common::fitrnn()
            .arg(command)
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("the recording changed"));
    }
    assert!(manifest(&out).get("warnings").is_none());
    common::fitrnn()
        .args(["analyse", "--allow-changed-data"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicates::str::contains("warning:"));
    let warnings = manifest(&out)["warnings"].as_array().unwrap().clone();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0]
        .as_str()
        .unwrap()
        .contains("--allow-changed-data"));
}

/// A small tmpfs mounted at a folder for the life of the value (needs root; `None` elsewhere).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| SmallDisk(at.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_run_naming_the_file_never_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), (2, 1));
    let Some(disk) = SmallDisk::mount(&tmp.path().join("disk"), "384k") else {
        eprintln!("not run: mounting a small tmpfs needs root");
        return;
    };
    let out = disk.0.join("out");
    let run = common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .arg("--set")
        .arg(format!("output.dir={}", out.display()))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    assert!(
        stderr.contains("No space left on device") && stderr.contains(&out.display().to_string()),
        "the message names the file that could not be written:\n{stderr}"
    );
    assert!(
        !stderr.contains(".partial"),
        "the file the user knows, not its temporary twin:\n{stderr}"
    );
    assert!(
        stderr.contains("free space on that file system"),
        "what to do about it:\n{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{stderr}");
    if out.join("manifest.json").is_file() {
        assert_ne!(manifest(&out)["status"], "complete");
    }
}

#[test]
fn analyse_writes_again_every_table_the_weights_determine_and_says_which_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (1, 1));
    let out = dir.path().join("out");
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    let tables = out.join("tables");
    let kept: Vec<(String, Vec<u8>)> = ["units", "split", "metrics", "interactions"]
        .iter()
        .map(|t| {
            let p = tables.join(format!("{t}.parquet"));
            (t.to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    for (t, _) in &kept {
        std::fs::remove_file(tables.join(format!("{t}.parquet"))).unwrap();
    }
    common::fitrnn().arg("analyse").arg(&out).assert().success();
    for (t, bytes) in &kept {
        let again = std::fs::read(tables.join(format!("{t}.parquet"))).unwrap();
        assert!(again == *bytes, "{t}.parquet is written again as it was");
    }
    // The training history cannot be rebuilt from the weights: the report says so.
    std::fs::write(tables.join("history.parquet"), b"not parquet").unwrap();
    common::fitrnn().arg("analyse").arg(&out).assert().success();
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report.contains("only a new fit writes it again"),
        "the report's advice for history.parquet"
    );
    // Without its tables/ folder at all, analyse writes the folder again.
    std::fs::remove_dir_all(&tables).unwrap();
    common::fitrnn().arg("analyse").arg(&out).assert().success();
    assert!(tables.join("interactions.parquet").is_file());
}

/// An edited config.resolved.yaml would analyse the weights as another model: analyse refuses
/// it, and goes on with --allow-changed-data only with a warning kept in the manifest.
#[test]
fn analyse_refuses_a_config_edited_after_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), (1, 1));
    let out = dir.path().join("out");
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    assert!(manifest(&out)["config_sha256"].is_string());
    common::fitrnn().arg("analyse").arg(&out).assert().success();
    let resolved = out.join("config.resolved.yaml");
    let text = std::fs::read_to_string(&resolved).unwrap();
    assert!(text.contains("activation: softplus"));
    std::fs::write(
        &resolved,
        text.replace("activation: softplus", "activation: relu"),
    )
    .unwrap();
    common::fitrnn()
        .arg("analyse")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains("the resolved config changed"));
    common::fitrnn()
        .args(["analyse", "--allow-changed-data"])
        .arg(&out)
        .assert()
        .success();
    let warnings = manifest(&out)["warnings"].to_string();
    assert!(warnings.contains("resolved config changed"), "{warnings}");
}
