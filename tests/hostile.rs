//! No input reaches a panic, an abort or a hang: every command on a corpus of hostile files,
//! configs and run directories ends with a clean exit code (0, 1 or 2) and no "panicked".

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Run `fitrnn args` and assert it ended cleanly within a minute; returns its exit code.
fn ends_cleanly(args: &[&std::ffi::OsStr], what: &str) -> i32 {
    let out = common::fitrnn()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "{what}: exit {code:?} (killed or a bug):\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: panic:\n{stderr}");
    code.unwrap()
}

/// Hostile files: every fixture recording and NWB file (valid and broken), an empty file, random
/// bytes, a directory and a named pipe.
fn hostile_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["recordings", "nwb"] {
        for e in std::fs::read_dir(common::fixture(sub)).unwrap().flatten() {
            let p = e.path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("h5" | "nwb")) {
                files.push(p);
            }
        }
    }
    files.sort();
    let empty = common::write(dir, "empty.h5", "");
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let random = dir.join("random.h5");
    std::fs::write(&random, noise).unwrap();
    let fifo = dir.join("pipe.h5");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    files.extend([empty, random, dir.to_path_buf(), fifo]);
    files
}

#[test]
fn every_file_command_ends_cleanly_on_hostile_files() {
    let dir = tempfile::tempdir().unwrap();
    for f in hostile_files(dir.path()) {
        let name = f.display().to_string();
        for cmd in [
            vec!["check", "--data"],
            vec!["inspect"],
            vec!["inspect", "--json"],
        ] {
            let mut args: Vec<&std::ffi::OsStr> = cmd.iter().map(|s| s.as_ref()).collect();
            args.push(f.as_os_str());
            ends_cleanly(&args, &format!("{} {name}", cmd.join(" ")));
        }
    }
}

/// Config texts a user (or a broken editor) could produce; each names the shipped demo recording.
fn hostile_configs(data: &Path) -> Vec<(&'static str, String)> {
    let d = data.display();
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    vec![
        ("empty", String::new()),
        ("binary", "\u{0}\u{1}\u{2}\u{fffd}".into()),
        ("duplicate keys", format!("data: {{path: {d}}}\ndata: {{path: {d}}}\n")),
        ("two documents", format!("data: {{path: {d}}}\n---\nseed: 1\n")),
        ("alias bomb", format!("data: {{path: {d}}}\n{bomb}")),
        ("deep nesting", format!("data: {{path: {d}}}\nseed: {}{}\n", "[".repeat(5000), "]".repeat(5000))),
        ("negative epochs", format!("data: {{path: {d}}}\ntraining: {{dense_epochs: -1}}\n")),
        ("huge seed", format!("data: {{path: {d}}}\nseed: 1e400\n")),
        ("nan lr", format!("data: {{path: {d}}}\ntraining: {{lr: .nan}}\n")),
        ("infinite window", format!("data: {{path: {d}, windows: {{length_s: .inf}}}}\n")),
        ("zero batch", format!("data: {{path: {d}}}\ntraining: {{batch_size: 0}}\n")),
        ("list as path", format!("data: {{path: [[{d}]]}}\n")),
        ("huge hidden units", format!("data: {{path: {d}}}\nmodel: {{hidden_units: {{Pvalb: 18446744073709551615}}}}\n")),
        ("huge threads", format!("data: {{path: {d}}}\nthreads: 100000\ntraining: {{dense_epochs: 0, finetune_epochs: 0}}\n")),
        ("long label", format!("data: {{path: {d}, cell_types: {{{}: E}}}}\n", "x".repeat(70_000))),
        ("missing data", "seed: 1\n".into()),
    ]
}

#[test]
fn check_ends_cleanly_on_hostile_configs() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::root().join("data/mouse_v1_demo.h5");
    for (what, text) in hostile_configs(&data) {
        let cfg = common::write(dir.path(), "hostile.yaml", &text);
        ends_cleanly(
            &["check".as_ref(), "--config".as_ref(), cfg.as_os_str()],
            what,
        );
    }
}

#[test]
fn run_directory_commands_end_cleanly_on_hostile_run_directories() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty_run");
    std::fs::create_dir_all(&empty).unwrap();
    let garbage = dir.path().join("garbage_run");
    std::fs::create_dir_all(garbage.join("model")).unwrap();
    std::fs::write(garbage.join("manifest.json"), "{not json").unwrap();
    std::fs::write(garbage.join("config.resolved.yaml"), "data: [").unwrap();
    std::fs::write(garbage.join("model/checkpoint.safetensors"), "0000").unwrap();
    let running = dir.path().join("running_run");
    std::fs::create_dir_all(running.join("model")).unwrap();
    std::fs::write(
        running.join("manifest.json"),
        "{\"fitrnn_version\": \"0.1.0\", \"status\": \"running\"}",
    )
    .unwrap();
    std::fs::write(running.join("model/checkpoint.safetensors"), [255u8; 64]).unwrap();
    let missing = dir.path().join("missing_run");
    for run in [&empty, &garbage, &running, &missing] {
        let r = run.as_os_str();
        let name = run.display().to_string();
        assert_eq!(ends_cleanly(&["--resume".as_ref(), r], &name), 2, "{name}");
        assert_eq!(ends_cleanly(&["analyse".as_ref(), r], &name), 2, "{name}");
        assert_eq!(ends_cleanly(&["selfcheck".as_ref(), r], &name), 2, "{name}");
        let out = dir.path().join("cmp");
        let group_a = format!("A={}", run.display());
        let group_b = format!("B={}", empty.display());
        ends_cleanly(
            &[
                "compare".as_ref(),
                "--group".as_ref(),
                group_a.as_ref(),
                "--group".as_ref(),
                group_b.as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            &name,
        );
    }
}

/// Hold an exclusive lock on `path` (as a program writing it does) for `seconds`.
fn lock_for(path: &Path, seconds: f64) -> std::process::Child {
    let child = std::process::Command::new("flock")
        .args(["-x"])
        .arg(path)
        .args(["sleep", &seconds.to_string()])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child
}

#[test]
fn a_recording_another_program_holds_open_is_waited_for_then_named_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("rec.h5");
    std::fs::copy(
        common::fixture("recordings/valid_vlen_utf8_f32_gzip.h5"),
        &data,
    )
    .unwrap();
    // Held past the 3-s wait: a clear error, no HDF5 error stack.
    let mut held = lock_for(&data, 4.5);
    let out = common::fitrnn().arg("inspect").arg(&data).assert().code(2);
    held.wait().unwrap();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("locked by another program") && stderr.contains("close the file"),
        "{stderr}"
    );
    assert!(!stderr.contains("H5F"), "no HDF5 error stack: {stderr}");
    // Released within the wait (a writer finishing, or a child that inherited its handle).
    let mut brief = lock_for(&data, 1.0);
    common::fitrnn()
        .arg("inspect")
        .arg(&data)
        .assert()
        .success();
    brief.wait().unwrap();
}
