//! A run never deletes a user's files and never shares its directory with another writer.

use crate::common;

use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A small, quick fit of `epochs` (dense, fine-tune) into `dir/out`; returns the config's path.
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
         analysis: {{perturbations: [], spectra: final}}\n\
         output: {{dir: out, overwrite: true}}\n",
        data.display(),
        common::celltype_table().display(),
        epochs.0,
        epochs.1
    );
    common::write(dir, "run.yaml", &text)
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

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
