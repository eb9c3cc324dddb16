//! The trainer: gradients against finite differences, Dale invariants through training (and their
//! violation by the unconstrained baseline), determinism, learning beyond a trivial baseline, and a
//! complete run directory.

use crate::common;

use candle_core::{DType, Device, Tensor, Var};
use fitrnn::config::Config;
use fitrnn::constraints::sign_violations;
use fitrnn::data::select::select_neurons;
use fitrnn::data::{read_recording, ReadOptions};
use fitrnn::dataset::Dataset;
use fitrnn::model::{Activation, InitialState, ReadoutInput};
use fitrnn::model::{Params, Rnn};
use fitrnn::train::fit;
use predicates::prelude::PredicateBooleanExt;
use std::path::{Path, PathBuf};

fn var(shape: (usize, usize), f: impl Fn(usize, usize) -> f64) -> Var {
    let v: Vec<f64> = (0..shape.0 * shape.1)
        .map(|k| f(k / shape.1, k % shape.1))
        .collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu).unwrap()).unwrap()
}

/// Central differences in float64 against candle's autograd, for every parameter, every
/// activation and both initial states.
#[test]
fn gradients_match_finite_differences() {
    let (n, d, t_len, b) = (5, 2, 6, 3);
    for act in [Activation::Softplus, Activation::Tanh, Activation::TanhRelu] {
        for init in [
            InitialState::Data,
            InitialState::Zero,
            InitialState::Learned,
        ] {
            let p = Params {
                w_rec: var((n, n), |i, j| {
                    0.3 * ((i * 3 + j * 5) % 7) as f64 / 7.0 - 0.1
                }),
                w_in: var((n, d), |i, j| 0.2 * ((i + 2 * j) % 5) as f64 / 5.0 - 0.05),
                b: var((1, n), |_, j| 0.05 * j as f64),
                gain: var((1, n), |_, j| 0.8 + 0.1 * j as f64),
                offset: var((1, n), |_, j| -0.02 * j as f64),
                x0: var((1, n), |_, j| 0.1 * j as f64 - 0.15),
                calcium_log_tau: Params::no_calcium(&candle_core::Device::Cpu).unwrap(),
                log_tau: Params::fixed_tau(&candle_core::Device::Cpu).unwrap(),
                latent: Params::no_latent(&candle_core::Device::Cpu).unwrap(),
            };
            let alpha = Tensor::from_vec(
                (0..n).map(|j| 0.3 + 0.1 * j as f64).collect(),
                (1, n),
                &Device::Cpu,
            )
            .unwrap();
            let rnn = Rnn {
                n_units: n,
                n_rec: n,
                alpha,
                tau: None,
                forcing: 0.0,
                activation: act,
                initial_state: init,
                readout: None,
                readout_input: ReadoutInput::Rate,
                calcium: None,
                latent: None,
                nonnegative_inputs: false,
            };
            let y = Tensor::from_vec(
                (0..t_len * b * n)
                    .map(|k| 0.2 + 0.3 * ((k * 7919) % 13) as f64 / 13.0)
                    .collect(),
                (t_len, b, n),
                &Device::Cpu,
            )
            .unwrap();
            let u = Tensor::from_vec(
                (0..t_len * b * d).map(|k| ((k % 4) as f64) / 4.0).collect(),
                (t_len, b, d),
                &Device::Cpu,
            )
            .unwrap();
            let loss = rnn.loss(&p, &y, &u).unwrap();
            let grads = loss.backward().unwrap();
            let vars = [
                ("w_rec", &p.w_rec),
                ("w_in", &p.w_in),
                ("b", &p.b),
                ("gain", &p.gain),
                ("offset", &p.offset),
                ("x0", &p.x0),
            ];
            let mut worst: f64 = 0.0;
            for (name, v) in vars {
                let Some(g) = grads.get(v.as_tensor()) else {
                    assert!(
                        name == "x0" && init != InitialState::Learned,
                        "{name} has no gradient"
                    );
                    continue;
                };
                let g = g.flatten_all().unwrap().to_vec1::<f64>().unwrap();
                let base = v
                    .as_tensor()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap();
                let shape = v.as_tensor().dims2().unwrap();
                for k in 0..base.len() {
                    let eps = 1e-6;
                    let eval = |delta: f64| {
                        let mut w = base.clone();
                        w[k] += delta;
                        v.set(&Tensor::from_vec(w, shape, &Device::Cpu).unwrap())
                            .unwrap();
                        rnn.loss(&p, &y, &u).unwrap().to_scalar::<f64>().unwrap()
                    };
                    let fd = (eval(eps) - eval(-eps)) / (2.0 * eps);
                    v.set(&Tensor::from_vec(base.clone(), shape, &Device::Cpu).unwrap())
                        .unwrap();
                    let err = (fd - g[k]).abs() / (fd.abs().max(g[k].abs()).max(1e-4));
                    worst = worst.max(err);
                    assert!(
                        err < 1e-5,
                        "{act:?}/{init:?} {name}[{k}]: autograd {} vs finite difference {fd}",
                        g[k]
                    );
                }
            }
            eprintln!("{act:?}/{init:?}: worst relative gradient error {worst:.2e}");
        }
    }
    let _ = DType::F64;
}

/// A small simulated recording and a run config over it, in `dir`.
fn small_setup(dir: &Path, extra: &str) -> (PathBuf, Config) {
    let data = common::simulate_small(dir, 90.0, 0.1);
    let table = common::celltype_table();
    let text = format!(
        "seed: 3\ndevice: cpu\ndata:\n  path: {}\n  windows: {{length_s: 4}}\n  split: {{validation_fraction: 0.25}}\n\
         model:\n  tau_ms: {{default: 400}}\n  inputs: [image_flash, omission]\n\
         constraints:\n  mask:\n    table: {}\n    realisation: topprob\n\
         training:\n  dense_epochs: 25\n  finetune_epochs: 15\n  lr: 0.01\n  batch_size: 2\n{extra}",
        data.display(),
        table.display()
    );
    let cfg_path = common::write(dir, "run.yaml", &text);
    let cfg = Config::load(&cfg_path, &[]).unwrap();
    (cfg_path, cfg)
}

/// The best training loss of a fit is below its first.
fn assert_loss_decreased(history: &[fitrnn::rundir::tables::HistoryRow], what: &str) {
    let first = history.first().unwrap().train_loss;
    let best = history
        .iter()
        .map(|h| h.train_loss)
        .fold(f64::INFINITY, f64::min);
    assert!(
        best < first,
        "{what}: the loss decreases ({first} → {best})"
    );
}

fn dataset(cfg: &Config, cfg_path: &Path) -> Dataset {
    let rec = read_recording(cfg.data.path.first(), &ReadOptions::default()).unwrap();
    let rec = select_neurons(&rec, &cfg.data.select, &cfg.data.cell_types, cfg_path).unwrap();
    Dataset::build(cfg, rec, cfg_path).unwrap()
}

#[test]
fn dale_holds_through_training_and_breaks_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, cfg) = small_setup(dir.path(), "");
    let ds = dataset(&cfg, &cfg_path);
    let out = fit(&cfg, &ds, &Device::Cpu, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    let steps: usize = out
        .history
        .iter()
        .filter(|h| h.phase == "dense")
        .map(|h| h.step as usize)
        .max()
        .unwrap()
        + out
            .history
            .iter()
            .filter(|h| h.phase == "finetune")
            .map(|h| h.step as usize)
            .max()
            .unwrap();
    assert!(
        steps >= 200,
        "{steps} optimiser steps, each followed by the invariant check"
    );
    assert_eq!(
        sign_violations(&out.fitted.params.w_rec, &out.fitted.network.signs),
        0
    );
    for ((i, j), &w) in out.fitted.params.w_rec.indexed_iter() {
        assert!(
            w == 0.0 || out.fitted.mask[[i, j]] == 1.0,
            "weight outside the mask at [{i}, {j}]"
        );
    }
    assert!(out.fitted.params.gain.iter().all(|&g| g >= 0.0));
    // Pruning left the block densities near the table's (top-prob), far below the dense support.
    let kept =
        out.fitted.mask.iter().filter(|&&m| m == 1.0).count() as f64 / out.fitted.mask.len() as f64;
    let support = out.fitted.network.blocks.as_ref().unwrap().support();
    let dense = support.iter().filter(|&&m| m == 1.0).count() as f64 / support.len() as f64;
    assert!(
        kept < 0.5 * dense,
        "pruned density {kept:.3} vs support {dense:.3}"
    );
    assert!(out
        .history
        .iter()
        .all(|h| h.train_loss.is_finite() && h.val_loss.is_finite()));

    let mut free = cfg.clone();
    free.constraints.dale = fitrnn::config::Dale::None;
    let out = fit(&free, &ds, &Device::Cpu, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    let v = sign_violations(&out.fitted.params.w_rec, &out.fitted.network.signs);
    assert!(
        v > 0,
        "the unconstrained baseline has weights of the wrong sign ({v})"
    );
}

crate::device_test!(
    same_seed_gives_identical_weights,
    same_seed_gives_identical_weights_cuda,
    |device| same_seed_same_weights(device)
);

/// Two fits with one seed on `device` are identical; another seed differs.
fn same_seed_same_weights(device: &Device) {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, mut cfg) = small_setup(dir.path(), "");
    cfg.training.dense_epochs = 4;
    cfg.training.finetune_epochs = 2;
    let ds = dataset(&cfg, &cfg_path);
    let a = fit(&cfg, &ds, device, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    let b = fit(&cfg, &ds, device, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    assert_eq!(a.fitted.params.w_rec, b.fitted.params.w_rec);
    assert_eq!(a.fitted.params.w_in, b.fitted.params.w_in);
    assert_eq!(a.fitted.mask, b.fitted.mask);
    assert_eq!(
        a.history.iter().map(|h| h.train_loss).collect::<Vec<_>>(),
        b.history.iter().map(|h| h.train_loss).collect::<Vec<_>>()
    );
    cfg.seed += 1;
    let c = fit(&cfg, &ds, device, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    assert_ne!(a.fitted.params.w_rec, c.fitted.params.w_rec);
}

/// `fitrnn --config CFG --set K=V ... --set output.dir=OUT`, not yet run.
fn fit_into(cfg: &Path, out: &Path, sets: &[&str]) -> assert_cmd::Command {
    let mut cmd = common::fitrnn();
    cmd.arg("--config").arg(cfg);
    for s in sets {
        cmd.args(["--set", s]);
    }
    cmd.arg("--set")
        .arg(format!("output.dir={}", out.display()));
    cmd
}

#[test]
fn a_diverging_fit_names_the_step_and_the_learning_rate_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, _) = small_setup(dir.path(), "");
    let out = dir.path().join("out");
    fit_into(
        &cfg_path,
        &out,
        &["training.lr=1e30", "model.activation=relu"],
    )
    .assert()
    .code(1)
    .stderr(
        predicates::str::contains("phase dense, epoch 1, step ")
            .and(predicates::str::contains("after the update ("))
            .and(predicates::str::contains("'s input from unit "))
            .and(predicates::str::contains("training.lr is 1e30"))
            .and(predicates::str::contains("Fix: lower training.lr"))
            .and(predicates::str::contains("rolled back 3 times"))
            .and(predicates::str::contains("down to 1.25e29")),
    );
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"failed\""), "{manifest}");
}

#[test]
fn a_fit_whose_loss_goes_non_finite_rolls_back_and_halves_the_learning_rate() {
    // The demo at lr 0.3 diverges in its first epoch; at a quarter or an eighth of it, it trains.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = |out: &Path| {
        common::fitrnn()
            .arg("--config")
            .arg(common::root().join("configs/mouse_v1.yaml"))
            .args(common::NO_ENSEMBLE)
            .args([
                "--set",
                "training.lr=0.3",
                "--set",
                "training.dense_epochs=3",
                "--set",
                "training.finetune_epochs=1",
                "--set",
                "training.checkpoint.every_s=0",
            ])
            .arg("--set")
            .arg(format!("output.dir={}", out.display()))
            .assert()
            .success();
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        m
    };
    let m = run(&out);
    let retries = m["training_retries"].as_array().unwrap();
    assert!((1..=3).contains(&retries.len()), "{retries:?}");
    assert!(retries[0]
        .as_str()
        .unwrap()
        .contains("at learning rate 0.3; rolled back"));
    let history = read_history(&out);
    let lr0 = history[0].1;
    assert!(
        (lr0 - 0.3 / 2f64.powi(retries.len() as i32)).abs() < 1e-12,
        "the first epoch ran at the halved rate, {lr0}"
    );
    assert!(history.iter().all(|h| h.0.is_finite()));
    // The same seed retries the same way.
    let again = dir.path().join("again");
    assert_eq!(run(&again)["training_retries"], m["training_retries"]);
    let w = |d: &Path| {
        fitrnn::rundir::weights::load(&d.join("model/final.safetensors")).unwrap()["w_rec"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert_eq!(w(&out), w(&again));
}

/// `(train_loss, lr)` per epoch of a run's history table.
fn read_history(dir: &Path) -> Vec<(f64, f64)> {
    let rows: Vec<fitrnn::rundir::tables::HistoryRow> =
        fitrnn::rundir::tables::read(&dir.join("tables/history.parquet")).unwrap();
    rows.iter().map(|r| (r.train_loss, r.lr)).collect()
}

#[test]
fn existing_run_directory_is_not_overwritten_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, _) = small_setup(dir.path(), "output:\n  dir: out\n");
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("out/keep.txt"), "earlier results").unwrap();
    common::fitrnn()
        .arg("--config")
        .arg(&cfg_path)
        .assert()
        .code(2)
        .stderr(
            predicates::str::contains("already exists")
                .and(predicates::str::contains("output.overwrite")),
        );
    assert!(dir.path().join("out/keep.txt").exists());
}

#[test]
fn exponentiated_gradients_keep_every_sign_and_hidden_units_train() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, mut cfg) = small_setup(dir.path(), "");
    cfg.training.dense_epochs = 15;
    cfg.training.finetune_epochs = 10;
    cfg.model.hidden_units = [("Pvalb".to_string(), 1)].into_iter().collect();
    let ds = dataset(&cfg, &cfg_path);
    for (opt, lr) in [
        (fitrnn::config::Optimiser::SgdEg, 0.5),
        (fitrnn::config::Optimiser::AdamwEg, 0.02),
    ] {
        cfg.training.optimiser = opt;
        cfg.training.lr = lr;
        let out = fit(&cfg, &ds, &Device::Cpu, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
        let steps: usize = ["dense", "finetune"]
            .iter()
            .map(|p| {
                out.history
                    .iter()
                    .filter(|h| h.phase == *p)
                    .map(|h| h.step as usize)
                    .max()
                    .unwrap_or(0)
            })
            .sum();
        assert!(steps >= 200, "{opt:?}: {steps} steps, each checked");
        let n_rec = ds.y.ncols();
        assert!(
            out.fitted.network.signs.len() > n_rec,
            "hidden units were added"
        );
        assert_eq!(
            sign_violations(&out.fitted.params.w_rec, &out.fitted.network.signs),
            0,
            "{opt:?}"
        );
        // EG never creates weights: every nonzero final weight was nonzero at initialisation.
        for ((i, j), &w) in out.fitted.params.w_rec.indexed_iter() {
            if w != 0.0 {
                assert!(
                    out.fitted.w_init[[i, j]] != 0.0,
                    "{opt:?}: weight [{i}, {j}] appeared from zero"
                );
            }
        }
        assert!(out.history.iter().all(|h| h.train_loss.is_finite()));
        assert_loss_decreased(&out.history, &format!("{opt:?}"));
    }
}

#[test]
fn population_mode_with_a_frozen_readout_fits_population_averages() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, _) = small_setup(dir.path(), "");
    let text = std::fs::read_to_string(&cfg_path).unwrap().replace(
        "model:\n  tau_ms: {default: 400}\n",
        "model:\n  mode: populations\n  units_per_population: {Slc17a7: 6, Pvalb: 2, Sst: 2, Vip: 2}\n  \
         initial_state: zero\n  readout: frozen_random\n  readout_input: unrectified\n  activation: tanh_relu\n  \
         traces_as_inputs: true\n  bias: false\n  tau_ms: {default: 1}\n",
    );
    std::fs::write(&cfg_path, text).unwrap();
    let mut cfg = Config::load(&cfg_path, &[]).unwrap();
    cfg.training.dense_epochs = 8;
    cfg.training.finetune_epochs = 4;
    let ds = dataset(&cfg, &cfg_path);
    assert_eq!(ds.targets.len(), 24, "2 areas × 3 layers × 4 types");
    assert!(ds.targets.iter().all(|t| !t.is_neuron));
    assert_eq!(
        ds.u.ncols(),
        2 + 24,
        "two measured inputs and the 24 traces"
    );
    let out = fit(&cfg, &ds, &Device::Cpu, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    assert_eq!(out.fitted.network.signs.len(), 6 * (6 + 2 + 2 + 2));
    assert_eq!(
        sign_violations(&out.fitted.params.w_rec, &out.fitted.network.signs),
        0
    );
    // The frozen readout never moves: gains stay 1 and offsets stay at their draws.
    assert!(out.fitted.params.gain.iter().all(|&g| g == 1.0));
    assert_eq!(
        Some(out.fitted.params.offset.clone()),
        out.fitted.network.readout_offset
    );
    assert_loss_decreased(&out.history, "population mode");
}

#[test]
fn nan_in_the_data_stops_a_run_before_it_creates_anything() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::fixture("recordings/bad_nan_traces.h5");
    let cfg = common::write(
        dir.path(),
        "run.yaml",
        &format!(
            "data:\n  path: {}\n  windows: {{length_s: 0.5}}\noutput: {{dir: out}}\n",
            data.display()
        ),
    );
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("NaN").and(predicates::str::contains("nan_policy")));
    assert!(
        !dir.path().join("out").exists(),
        "no run directory for invalid data"
    );
    // With drop_frames the same file fits.
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .args([
            "--set",
            "data.nan_policy=drop_frames",
            "--set",
            "training.dense_epochs=2",
            "--set",
            "training.finetune_epochs=0",
            "--threads",
            "1",
        ])
        .assert()
        .success();
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["status"], "complete");
    assert_eq!(m["threads"], 1);
}

#[test]
fn a_dead_roi_at_the_readout_offset_trains_without_nan() {
    // A constant trace of exact zeros with `normalisation: none`: the state taken from the data
    // sits at the softplus inverse's clip, whose derivative used to be ∞ · 0 = NaN.
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = small_setup(dir.path(), "");
    let mut rec = read_recording(cfg.data.path.first(), &ReadOptions::default()).unwrap();
    rec.traces.column_mut(0).fill(0.0);
    let dead = dir.path().join("dead.h5");
    rec.path = dead.clone();
    fitrnn::data::write_recording(&rec, &dead).unwrap();
    let text = std::fs::read_to_string(dir.path().join("run.yaml"))
        .unwrap()
        .replace(
            &cfg.data.path.first().display().to_string(),
            &dead.display().to_string(),
        )
        .replace("  windows:", "  normalisation: none\n  windows:")
        .replace("dense_epochs: 25", "dense_epochs: 3")
        .replace("finetune_epochs: 15", "finetune_epochs: 2");
    let cfg_path = common::write(dir.path(), "dead.yaml", &text);
    let cfg = Config::load(&cfg_path, &[]).unwrap();
    assert_eq!(cfg.data.normalisation, fitrnn::config::Normalisation::None);
    let ds = dataset(&cfg, &cfg_path);
    assert!(ds.y.column(0).iter().all(|v| *v == 0.0));
    let out = fit(&cfg, &ds, &Device::Cpu, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    assert!(out.history.iter().all(|h| h.train_loss.is_finite()));
    // `check` names it.
    let id = ds.recording.neurons.id.label(0);
    common::fitrnn()
        .args(["check", "--config"])
        .arg(&cfg_path)
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "1 neuron(s) never change (ids {id})"
        )));
    // ... and so does `check --data`, which reads the recording alone.
    common::fitrnn()
        .args(["check", "--data"])
        .arg(&dead)
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "1 neuron(s) never change (ids {id})"
        )));
}

/// `model.learn_tau`: fitted to rates simulated with time constants of 150 ms (Slc17a7), 80 ms
/// (Pvalb) and 120 ms (Sst, Vip), a fit that starts every type at 400 ms learns time constants
/// near the truth, keeps them per cell type, writes them to the manifest, and saves them with the
/// weights so that `analyse` rebuilds the same network.
#[test]
fn learned_time_constants_move_from_a_wrong_start_to_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let data =
        common::simulate_small_with(dir.path(), 300.0, 0.1, &["observation.indicator=false"]);
    let out = dir.path().join("run");
    let text = format!(
        "seed: 3\ndevice: cpu\nthreads: 1\ndata:\n  path: {}\n  windows: {{length_s: 4}}\n  split: {{validation_fraction: 0.25}}\n\
         model:\n  tau_ms: {{default: 400}}\n  learn_tau: true\n  inputs: [image_flash, image_change, omission, running_speed]\n\
         constraints:\n  mask:\n    table: {}\n    realisation: topprob\n\
         training:\n  dense_epochs: 25\n  finetune_epochs: 15\n  lr: 0.01\n  batch_size: 2\noutput: {{dir: {}}}\n",
        data.display(),
        common::celltype_table().display(),
        out.display()
    );
    let cfg = common::write(dir.path(), "run.yaml", &text);
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success()
        .stdout(predicates::str::contains("learned time constants: Pvalb"));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let tau = |t: &str| manifest["tau_ms"][t].as_f64().unwrap();
    assert!(
        (tau("Slc17a7") - 150.0).abs() < 0.25 * 150.0,
        "excitatory τ {} ms, truth 150",
        tau("Slc17a7")
    );
    for t in ["Pvalb", "Sst", "Vip"] {
        assert!(
            tau(t) < 0.6 * 400.0,
            "{t}: τ {} ms moved from 400 towards the truth (80-120)",
            tau(t)
        );
    }
    let weights = fitrnn::rundir::weights::load(&out.join("model/final.safetensors")).unwrap();
    let log_tau = weights["log_tau"].to_vec1::<f32>().unwrap();
    assert_eq!(log_tau.len(), 4, "one time constant per cell type");
    assert!((log_tau[1].exp() as f64 - tau("Slc17a7")).abs() < 1e-3 * tau("Slc17a7"));
    // `analyse` reads the learned time constants back: the Jacobian uses them, and it finishes;
    // the report lists them.
    common::fitrnn().arg("analyse").arg(&out).assert().success();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains(&format!(
            "Learned time constants per cell type: Pvalb {:.0} ms",
            tau("Pvalb")
        )),
        "the report lists the learned time constants"
    );
}

/// A fit that fails after its first checkpoint keeps it: `analyse` refuses the failed run and
/// names `--allow-failed`, which analyses the checkpoint's best parameters, writes every table and
/// a report that opens by saying the fit failed, and leaves the run `failed`.
#[test]
fn a_failed_fit_is_analysed_from_its_last_checkpoint_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, _) = small_setup(dir.path(), "");
    let out = dir.path().join("out");
    // The learning rate grows a million-fold every epoch: epoch 1 trains, epoch 2 diverges, and
    // the error names what left the finite numbers first and where.
    fit_into(
        &cfg_path,
        &out,
        &[
            "training.schedule={kind: step, step_size: 1, gamma: 1000000}",
            "training.checkpoint.every_s=0",
            "model.activation=relu",
        ],
    )
    .assert()
    .code(1)
    .stderr(predicates::str::contains(
        "the training loss became NaN (the network's state first left the finite numbers at step ",
    ));
    assert!(out.join("model/checkpoint.safetensors").is_file());
    common::fitrnn()
        .arg("analyse")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("analyse --allow-failed"));
    common::fitrnn()
        .arg("analyse")
        .arg(&out)
        .arg("--allow-failed")
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "is a failed fit; analysing the best parameters of its last checkpoint (phase dense",
        ));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "failed");
    assert!(manifest["analysed_from_checkpoint"]
        .as_str()
        .unwrap()
        .contains("validation loss"));
    for table in [
        "interactions",
        "metrics",
        "history",
        "units",
        "perturbations",
    ] {
        assert!(
            out.join(format!("tables/{table}.parquet")).is_file(),
            "{table}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("This fit failed (phase dense, epoch 2"));
    assert!(html.contains("not a finished fit"));
    // A finished run has nothing to fail from.
    let ok = dir.path().join("ok");
    fit_into(
        &cfg_path,
        &ok,
        &["training.dense_epochs=1", "training.finetune_epochs=0"],
    )
    .assert()
    .success();
    common::fitrnn()
        .arg("analyse")
        .arg(&ok)
        .arg("--allow-failed")
        .assert()
        .success();
}

#[test]
fn a_colei_fit_keeps_its_inputs_excitatory_and_dales_law_and_learns() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, _) = small_setup(dir.path(), "");
    let cfg = Config::load(
        &cfg_path,
        &[
            "model.architecture=colei".into(),
            "constraints.init.spectral_radius=1.5".into(),
            "training.dense_epochs=10".into(),
            "training.finetune_epochs=5".into(),
        ],
    )
    .unwrap();
    let ds = dataset(&cfg, &cfg_path);
    let out = fit(&cfg, &ds, &Device::Cpu, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    let f = &out.fitted;
    // ColEI's start: a zero diagonal, every column with its cell type's sign, radius 1.5.
    assert!(f.w_init.diag().iter().all(|v| *v == 0.0));
    assert_eq!(sign_violations(&f.w_init, &f.network.signs), 0);
    let radius = fitrnn::linalg::spectral_radius(&f.w_init).unwrap();
    assert!((radius - 1.5).abs() < 1e-3, "{radius}");
    // Through training: Dale's law on W_rec, and input weights ≥ 0 (some of them learned).
    assert_eq!(sign_violations(&f.params.w_rec, &f.network.signs), 0);
    assert!(f.params.w_in.iter().all(|v| *v >= 0.0));
    assert!(f.params.w_in.iter().any(|v| *v > 0.0));
    assert_loss_decreased(&out.history, "colei");
    // A recurrent DANN has no unit for a recorded inhibitory neuron; ColEI keeps Dale's law.
    for (set, key) in [
        ("model.architecture=dann", "model.architecture"),
        ("constraints.dale=none", "constraints.dale"),
        ("constraints.init.kind=uniform", "constraints.init.kind"),
    ] {
        let sets = if set.starts_with("model.architecture") {
            vec![set.to_string()]
        } else {
            vec!["model.architecture=colei".to_string(), set.to_string()]
        };
        let err = Config::load(&cfg_path, &sets).unwrap_err().to_string();
        assert!(err.contains(key), "{set}: {err}");
    }
}

#[test]
fn the_evolution_strategys_estimate_points_along_the_backpropagated_gradient() {
    let device = Device::Cpu;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(11);
    let net = common::NetBuilder {
        inputs: 2,
        ..common::NetBuilder::new(6)
    };
    let (rnn, p) = net.build(&mut rng, &device);
    let y = common::randn(&[12, 3, 6], 1.0, &mut rng, &device);
    let u = common::randn(&[12, 3, 2], 1.0, &mut rng, &device);
    let mask = Tensor::ones((6, 6), DType::F32, &device).unwrap();
    let vars = p.trainable(true, true, true);
    let exact = rnn.loss_with(&p, &y, &u, None).unwrap().backward().unwrap();
    let spec = fitrnn::train::es::EsSpec {
        pairs: 2000,
        sigma: 0.01,
        seed: 4,
        loss: fitrnn::config::EsLoss::Mse,
        level: 1.0,
    };
    let estimate = fitrnn::train::es::gradient(&rnn, &p, &vars, &y, &u, None, &mask, spec).unwrap();
    let cosine = common::gradient_cosine(&exact, &estimate, &vars);
    // Centred ranks change the estimate's length, not its direction.
    assert!(cosine > 0.8, "cosine {cosine}");
    // A masked connection is never perturbed, so it gets no gradient.
    let mut half = vec![1f32; 36];
    half[..18].fill(0.0);
    let mask = Tensor::from_vec(half, (6, 6), &device).unwrap();
    let spec = fitrnn::train::es::EsSpec { pairs: 8, ..spec };
    let masked = fitrnn::train::es::gradient(&rnn, &p, &vars, &y, &u, None, &mask, spec).unwrap();
    let g = masked
        .get(p.w_rec.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(g[..18].iter().all(|v| *v == 0.0) && g[18..].iter().any(|v| *v != 0.0));
}

#[test]
fn a_fit_by_the_evolution_strategy_keeps_dales_law_learns_and_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, _) = small_setup(dir.path(), "");
    let sets: Vec<String> = [
        "training.gradient=es",
        "training.es.population=16",
        "training.lr=0.003",
        "training.dense_epochs=6",
        "training.finetune_epochs=4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let cfg = Config::load(&cfg_path, &sets).unwrap();
    let ds = dataset(&cfg, &cfg_path);
    let run = || fit(&cfg, &ds, &Device::Cpu, None, |_, _, _, _| {}, |_| Ok(())).unwrap();
    let (a, b) = (run(), run());
    assert_eq!(
        sign_violations(&a.fitted.params.w_rec, &a.fitted.network.signs),
        0
    );
    assert_loss_decreased(&a.history, "es");
    assert_eq!(
        a.fitted.params.w_rec, b.fitted.params.w_rec,
        "same seed, same fit"
    );
    for (set, key) in [
        ("training.es.population=3", "training.es.population"),
        // An event count has no gradient: refused with backpropagation.
        ("training.es.loss=events", "training.es.loss"),
    ] {
        let err = Config::load(&cfg_path, &[set.into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{err}");
    }
}

#[test]
fn the_evolution_strategy_trains_on_an_event_count_that_has_no_gradient() {
    let device = Device::Cpu;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(12);
    let net = common::NetBuilder {
        inputs: 2,
        ..common::NetBuilder::new(6)
    };
    let (rnn, p) = net.build(&mut rng, &device);
    let y = common::randn(&[12, 4, 6], 1.0, &mut rng, &device);
    let u = common::randn(&[12, 4, 2], 1.0, &mut rng, &device);
    let mask = Tensor::ones((6, 6), DType::F32, &device).unwrap();
    let sign_row = Tensor::ones((1, 6), DType::F32, &device).unwrap();
    let level = 0.5;
    let before = rnn.events_mismatch(&p, &y, &u, None, level).unwrap();
    let mut opt = fitrnn::train::Optim::new(
        fitrnn::train::OptimConfig {
            kind: fitrnn::config::Optimiser::Adam,
            lr: 0.03,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
        },
        p.trainable(true, true, true),
        vec![false; 6],
    )
    .unwrap();
    for step in 0..80u64 {
        let spec = fitrnn::train::es::EsSpec {
            pairs: 16,
            sigma: 0.05,
            seed: step,
            loss: fitrnn::config::EsLoss::Events,
            level,
        };
        fitrnn::train::train_step(
            &rnn,
            &p,
            &mut opt,
            &y,
            &u,
            &sign_row,
            &mask,
            fitrnn::config::Dale::None,
            None,
            None,
            fitrnn::train::Backward::Es(spec),
        )
        .unwrap();
    }
    let after = rnn.events_mismatch(&p, &y, &u, None, level).unwrap();
    // Every frame × trace on the right side of the threshold would score 0.
    assert!(
        after < 0.8 * before,
        "events on the wrong side: {before:.3} → {after:.3}"
    );
}
