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
