//! Resuming an interrupted fit ends with exactly the weights of an uninterrupted one.

use crate::common;

use candle_core::Device;
use fitrnn::config::Config;
use fitrnn::data::select::select_neurons;
use fitrnn::data::{read_recording, ReadOptions};
use fitrnn::dataset::Dataset;
use fitrnn::rundir::checkpoint::Checkpoint;
use fitrnn::rundir::RunPaths;
use fitrnn::train::fit;
use std::path::{Path, PathBuf};

fn setup(dir: &Path, epochs: (usize, usize)) -> (PathBuf, Config, Dataset) {
    let data = common::simulate_small(dir, 60.0, 0.1);
    let table = common::celltype_table();
    let text = format!(
        "seed: 5\ndevice: cpu\ndata:\n  path: {}\n  windows: {{length_s: 3}}\n\
         model:\n  tau_ms: {{default: 400}}\n  inputs: [image_flash]\n\
         constraints:\n  mask: {{table: {}, realisation: topprob}}\n\
         training:\n  dense_epochs: {}\n  finetune_epochs: {}\n  lr: 0.01\n  batch_size: 3\n\
         \x20 checkpoint: {{every_epochs: 1}}\n\
         output: {{dir: out}}\n",
        data.display(),
        table.display(),
        epochs.0,
        epochs.1
    );
    let path = common::write(dir, "run.yaml", &text);
    let cfg = Config::load(&path, &[]).unwrap();
    let rec = read_recording(cfg.data.path.first(), &ReadOptions::default()).unwrap();
    let rec = select_neurons(&rec, &cfg.data.select, &cfg.data.cell_types, &path).unwrap();
    let ds = Dataset::build(&cfg, rec, &path).unwrap();
    (path, cfg, ds)
}

#[test]
fn resuming_from_any_checkpoint_gives_the_uninterrupted_weights() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg, ds) = setup(dir.path(), (6, 4));
    let full = fit(&cfg, &ds, &Device::Cpu, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    // 6 + 1 (phase end) + 4 + 1 checkpoints; stop after the 3rd (mid dense), the 7th (dense end)
    // and the 9th (mid fine-tune).
    for stop_after in [3usize, 7, 9] {
        let ck = tempfile::tempdir().unwrap();
        let mut n = 0;
        let err = fit(
            &cfg,
            &ds,
            &Device::Cpu,
            None,
            |_, _, _, _| {},
            |st| {
                st.save(&RunPaths::new(ck.path()))?;
                n += 1;
                if n == stop_after {
                    return Err(fitrnn::Error::internal("the test", "interrupted"));
                }
                Ok(())
            },
        );
        assert!(err.is_err());
        let state = Checkpoint::load(&RunPaths::new(ck.path())).unwrap();
        let resumed = fit(
            &cfg,
            &ds,
            &Device::Cpu,
            Some(state),
            |_, _, _, _| {},
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(
            resumed.fitted.params.w_rec, full.fitted.params.w_rec,
            "stopped after checkpoint {stop_after}"
        );
        assert_eq!(resumed.fitted.params.w_in, full.fitted.params.w_in);
        assert_eq!(resumed.fitted.params.gain, full.fitted.params.gain);
        assert_eq!(resumed.fitted.mask, full.fitted.mask);
        let losses = |h: &[fitrnn::rundir::tables::HistoryRow]| {
            h.iter().map(|r| r.train_loss).collect::<Vec<_>>()
        };
        assert_eq!(losses(&resumed.history), losses(&full.history));
    }
}

#[test]
fn a_killed_run_resumes_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, _, _) = setup(dir.path(), (150, 20));
    let bin = assert_cmd::cargo::cargo_bin("fitrnn");
    let mut child = std::process::Command::new(&bin)
        .arg("--config")
        .arg(&cfg_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = dir.path().join("out");
    let start = std::time::Instant::now();
    loop {
        let epochs_done = Checkpoint::load(&RunPaths::new(&out))
            .map(|c| c.epoch)
            .unwrap_or(0);
        if epochs_done >= 3 {
            break;
        }
        assert!(start.elapsed().as_secs() < 120, "no checkpoint appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["status"], "running",
        "the killed run never finished"
    );
    common::fitrnn()
        .arg("--resume")
        .arg(&out)
        .assert()
        .success();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "complete");
    assert!(manifest["resumed_unix_s"].is_number());
    // The same run without interruption, in another directory.
    let other = dir.path().join("uninterrupted");
    common::fitrnn()
        .arg("--config")
        .arg(&cfg_path)
        .arg("--set")
        .arg(format!("output.dir={}", other.display()))
        .assert()
        .success();
    let a = fitrnn::rundir::weights::load(&out.join("model/final.safetensors")).unwrap();
    let b = fitrnn::rundir::weights::load(&other.join("model/final.safetensors")).unwrap();
    for k in ["w_rec", "w_in", "gain", "offset", "mask"] {
        let (x, y) = (
            a[k].flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            b[k].flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        assert_eq!(x, y, "{k} differs after resuming");
    }
    // Resuming a complete run is refused.
    common::fitrnn()
        .arg("--resume")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("already complete"));
}
