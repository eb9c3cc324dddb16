//! The README's run command on the shipped data, end to end through the binary.

mod common;

use fitrnn::data::{read_recording, ReadOptions};
use predicates::str::contains;

#[test]
fn default_config_runs_on_the_shipped_demo_recording() {
    let root = common::root();
    let rec = read_recording(&root.join("data/mouse_v1_demo.h5"), &ReadOptions::default()).unwrap();
    let out = common::fitrnn()
        .current_dir(&root)
        .args(["--config", "configs/mouse_v1.yaml"])
        .assert()
        .success()
        .stdout(contains("ok: config and data are valid"));
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let want = format!("{} frames × {} neurons", rec.n_frames(), rec.n_neurons());
    assert!(
        stdout.contains(&want),
        "summary must report {want}:\n{stdout}"
    );
    // Every population of the demo is listed with its sign.
    for line in ["VISp  L2/3   Slc17a7    E", "VISl  L5     Vip        I"] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
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
