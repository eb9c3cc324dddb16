//! Task mode (`fitrnn task`): the networks' loss, gradients and one optimiser step with the
//! projection against PyTorch autograd (`tests/fixtures/make_task_fixtures.py`), Dale's law kept
//! through training by every architecture, and the run directory a task run writes.

use crate::common;

use fitrnn::task::{self, TaskConfig, TaskNet};
use std::collections::HashMap;
use std::path::Path;

fn tensors(case: &str) -> HashMap<String, ndarray::ArrayD<f32>> {
    let path = common::fixture(&format!("task/{case}.safetensors"));
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let v: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let a = ndarray::ArrayD::from_shape_vec(view.shape().to_vec(), v).unwrap();
            (name, a)
        })
        .collect()
}

/// The task config of a fixture case (its JSON), as a YAML config.
fn case_config(case: &serde_json::Value) -> TaskConfig {
    let s = |k: &str| case[k].as_str().unwrap().to_string();
    let u = |k: &str| case[k].as_u64().unwrap();
    let arch = s("architecture");
    let (n, n_i) = (u("n"), u("n_i"));
    let shape = if arch == "dann" {
        format!("interneurons: {n_i}")
    } else {
        format!("i_fraction: {}", n_i as f64 / n as f64)
    };
    let constraint = if arch == "standard" {
        format!("constraint: {}", s("constraint"))
    } else {
        String::new()
    };
    let clip = case["clip"]
        .as_f64()
        .map(|c| format!("grad_clip: {c}"))
        .unwrap_or_default();
    let text = format!(
        "task: {{name: {task}, steps: {steps}}}\n\
         model: {{architecture: {arch}, units: {n}, {shape}, activation: {act}, \
         readout_input: {read}, alpha: {alpha} {c1}}}\n\
         training: {{optimiser: {opt}, lr: {lr}, fisher_correction: {fisher} {c2}}}\n",
        task = s("task"),
        steps = u("T"),
        act = s("activation"),
        read = s("readout_input"),
        alpha = case["alpha"].as_f64().unwrap(),
        c1 = if constraint.is_empty() {
            String::new()
        } else {
            format!(", {constraint}")
        },
        opt = s("optimiser"),
        lr = case["lr"].as_f64().unwrap(),
        fisher = case["fisher"].as_bool().unwrap(),
        c2 = if clip.is_empty() {
            String::new()
        } else {
            format!(", {clip}")
        },
    );
    TaskConfig::parse(Path::new("fixture.yaml"), &text, &[]).unwrap()
}

fn to3(a: &ndarray::ArrayD<f32>) -> ndarray::Array3<f32> {
    a.clone().into_dimensionality().unwrap()
}

fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tol: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: sizes");
    let scale = theirs.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    for (k, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= tol * scale,
            "{what}[{k}]: ours {a}, PyTorch {b} (scale {scale})"
        );
    }
}

#[test]
fn every_architectures_loss_gradients_and_step_match_pytorch() {
    let device = candle_core::Device::Cpu;
    for case_name in [
        "standard_dale_flip_flop",
        "standard_none_adding",
        "colei_wave",
        "colei_smnist_5k",
        "dann_adding",
    ] {
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(common::fixture(&format!("task/{case_name}.json"))).unwrap(),
        )
        .unwrap();
        let t = tensors(case_name);
        let cfg = case_config(&json);
        let (d, k) = (
            json["d"].as_u64().unwrap() as usize,
            json["k"].as_u64().unwrap() as usize,
        );
        let from = json["scored_from"].as_u64().unwrap() as usize;
        let kind = if json["task"] == "smnist_5k" {
            task::tasks::LossKind::CrossEntropy
        } else {
            task::tasks::LossKind::Mse
        };
        let net = TaskNet::new(&cfg, d, k, &device, &mut task::stream(0, 3)).unwrap();
        assert_eq!(net.signs, t["sign"].iter().copied().collect::<Vec<_>>());
        let mask = fitrnn::model::to_array2(&net.out_mask).unwrap();
        assert_eq!(
            mask.iter().copied().collect::<Vec<_>>(),
            t["out_mask"].iter().copied().collect::<Vec<_>>()
        );
        for (name, var) in &net.params {
            let p = &t[&format!("param.{name}")];
            assert_eq!(var.dims(), p.shape(), "{case_name}: shape of {name}");
            let v =
                candle_core::Tensor::from_slice(p.as_slice().unwrap(), p.shape(), &device).unwrap();
            var.set(&v).unwrap();
        }
        let (x, y) = (to3(&t["x"]), to3(&t["y"]));
        let xt = task::model::tensor3(&x, &device).unwrap();
        let yt = task::model::tensor3(&y, &device).unwrap();
        let loss = net.loss(&xt, &yt, from, kind).unwrap();
        let ours = loss.to_scalar::<f32>().unwrap();
        assert_close(
            &format!("{case_name} loss"),
            &[ours],
            &[t["loss"][[0]]],
            1e-5,
        );
        let grads = loss.backward().unwrap();
        for (name, var) in &net.params {
            let g = grads.get(var.as_tensor()).unwrap();
            let g: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
            let theirs: Vec<f32> = t[&format!("grad.{name}")].iter().copied().collect();
            assert_close(&format!("{case_name} grad {name}"), &g, &theirs, 1e-5);
        }
        let mut opt = task::optimiser(&net, &cfg.training).unwrap();
        let value = task::step(
            &net,
            &mut opt,
            &cfg.training,
            &x,
            &y,
            (from, kind),
            &device,
            &mut task::stream(0, 5),
        )
        .unwrap();
        assert_close(
            &format!("{case_name} step loss"),
            &[value as f32],
            &[ours],
            1e-6,
        );
        for (name, var) in &net.params {
            let after: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            let theirs: Vec<f32> = t[&format!("after.{name}")].iter().copied().collect();
            assert_close(
                &format!("{case_name} after step {name}"),
                &after,
                &theirs,
                1e-5,
            );
        }
    }
}

fn small(arch: &str, extra: &str) -> TaskConfig {
    let text = format!(
        "task: {{name: flip_flop, steps: 20, train_examples: 64, test_examples: 32, pulse_probability: 0.2}}\n\
         model: {{architecture: {arch}, units: 20 {extra}}}\n\
         training: {{epochs: 3, batch_size: 16, lr: 0.02}}\n"
    );
    TaskConfig::parse(Path::new("small.yaml"), &text, &[]).unwrap()
}

#[test]
fn colei_and_dann_keep_dales_law_through_training_and_learn() {
    let device = candle_core::Device::Cpu;
    for (arch, extra) in [
        ("colei", ""),
        ("dann", ""),
        ("standard", ", constraint: dale"),
        ("standard", ", constraint: rectified"),
    ] {
        let cfg = small(arch, extra);
        let fit = task::train(&cfg, &device, |_| {}).unwrap();
        let net = &fit.net;
        let w = fitrnn::model::to_array2(&net.w().unwrap()).unwrap();
        if arch == "dann" {
            for (name, var) in &net.params {
                if name.starts_with("w_") && *name != "w_out" || name.starts_with("u_") {
                    let a = fitrnn::model::to_array2(var.as_tensor()).unwrap();
                    assert!(
                        a.iter().all(|v| *v >= 0.0),
                        "dann: {name} has a negative entry"
                    );
                }
            }
            // Every unit is excitatory, its interneurons' inhibition enters through W_EI W_IE.
            assert!(net.signs.iter().all(|s| *s == 1.0));
        } else {
            for ((_, j), v) in w.indexed_iter() {
                assert!(
                    net.signs[j] * v >= 0.0,
                    "{arch}{extra}: W[., {j}] = {v} breaks its sign"
                );
            }
        }
        if extra.contains("rectified") {
            // Balwani et al.'s rectified baseline collapses the inhibitory columns: what is left
            // there is only what the last step pushed past zero.
            let n_e = net.signs.iter().filter(|s| **s > 0.0).count();
            let mean_abs = |cols: std::ops::Range<usize>| -> f32 {
                let k = cols.len() * w.nrows();
                cols.map(|j| w.column(j).iter().map(|v| v.abs()).sum::<f32>())
                    .sum::<f32>()
                    / k as f32
            };
            let (e, i) = (mean_abs(0..n_e), mean_abs(n_e..w.ncols()));
            assert!(
                i < 0.1 * e,
                "rectified: mean |w| {i} in I columns, {e} in E columns"
            );
        }
        let (first, last) = (&fit.history[0], fit.history.last().unwrap());
        assert_eq!(fit.history.len(), 4);
        assert!(
            last.test_loss < first.test_loss,
            "{arch}{extra}: test loss {} → {}",
            first.test_loss,
            last.test_loss
        );
    }
}

#[test]
fn exponentiated_gradients_never_change_a_weights_sign() {
    let device = candle_core::Device::Cpu;
    let text = "training: {optimiser: adamw_eg, lr: 0.1, weight_decay: 0.01}";
    for (arch, extra) in [("standard", ", constraint: dale"), ("standard", "")] {
        let mut cfg = small(arch, extra);
        let eg: TaskConfig = TaskConfig::parse(
            Path::new("eg.yaml"),
            &format!("task: {{name: flip_flop}}\n{text}\n"),
            &[],
        )
        .unwrap();
        cfg.training.optimiser = eg.training.optimiser;
        cfg.training.lr = eg.training.lr;
        cfg.training.weight_decay = eg.training.weight_decay;
        let fit = task::train(&cfg, &device, |_| {}).unwrap();
        let start = &fit.initial.iter().find(|(n, _)| n == "w_rec").unwrap().1;
        let end = fitrnn::model::to_array2(&fit.net.w().unwrap()).unwrap();
        let moved = start.iter().zip(end.iter()).filter(|(a, b)| a != b).count();
        assert!(
            moved > start.len() / 2,
            "{arch}{extra}: {moved} weights moved"
        );
        for (a, b) in start.iter().zip(end.iter()) {
            // Multiplicative steps: the sign is kept and a weight never reaches 0 (so Dale's
            // projection has nothing to do).
            assert!(
                a.signum() == b.signum() && *b != 0.0,
                "{arch}{extra}: {a} → {b}"
            );
        }
        let last = fit.history.last().unwrap();
        assert!(last.test_loss < fit.history[0].test_loss, "{arch}{extra}");
    }
    let bad = TaskConfig::parse(
        Path::new("eg.yaml"),
        "task: {name: flip_flop}\ntraining: {optimiser: adamw_eg, weight_decay: -1}\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("training.weight_decay"), "{bad}");
}

#[test]
fn the_same_seed_gives_the_same_task_run() {
    let device = candle_core::Device::Cpu;
    let cfg = small("colei", "");
    let a = task::train(&cfg, &device, |_| {}).unwrap();
    let b = task::train(&cfg, &device, |_| {}).unwrap();
    let strip = |h: &[task::TaskEpoch]| {
        h.iter()
            .map(|e| {
                (
                    e.train_loss.to_bits(),
                    e.test_loss.to_bits(),
                    e.nse.to_bits(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a.history), strip(&b.history));
}

#[test]
fn fitrnn_task_writes_a_run_directory_with_spectra_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let out = dir.join("run");
    let cfg = common::write(
        dir,
        "task.yaml",
        "task: {name: adding, steps: 10, train_examples: 64, test_examples: 32}\n\
         model: {architecture: dann, units: 16}\n\
         training: {epochs: 2, batch_size: 32, optimiser: sgd, lr: 0.05, grad_clip: 3}\n",
    );
    let assert = common::fitrnn()
        .args(["task", "--config"])
        .arg(&cfg)
        .arg("--set")
        .arg(format!("output.dir={}", out.display()))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(text.contains("test loss"), "{text}");
    for f in [
        "manifest.json",
        "config.resolved.yaml",
        "model/initial.safetensors",
        "model/final.safetensors",
        "tables/history.parquet",
        "tables/task_history.parquet",
        "tables/spectrum.parquet",
        "tables/diagnostics.parquet",
        "tables/units.parquet",
        "figures/loss.png",
        "figures/singular_values.png",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} is missing");
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "complete");
    assert_eq!(m["task"], "adding");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report.contains("adding</b> task"),
        "the report says it is a task run"
    );
    assert!(
        !report.contains("not available"),
        "no empty data sections in a task report"
    );
    let resolved = std::fs::read_to_string(out.join("config.resolved.yaml")).unwrap();
    assert!(resolved.contains("interneurons: 2"), "{resolved}");
    assert!(resolved.contains("fisher_correction: true"), "{resolved}");
    // The rerun refuses to overwrite, and `analyse` refuses a task run with a reason.
    common::fitrnn()
        .args(["task", "--config"])
        .arg(&cfg)
        .arg("--set")
        .arg(format!("output.dir={}", out.display()))
        .assert()
        .failure();
    let refused = common::fitrnn().arg("analyse").arg(&out).assert().failure();
    let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(err.contains("task"), "{err}");
}

#[test]
fn task_configs_refuse_what_cannot_work_and_name_the_key() {
    for (text, key) in [
        (
            "task: {name: wave}\nmodel: {architecture: dann}\n",
            "model.architecture",
        ),
        (
            "task: {name: flip_flop}\nmodel: {architecture: colei, constraint: dale}\n",
            "model.constraint",
        ),
        (
            "task: {name: flip_flop}\ntraining: {fisher_correction: true}\n",
            "training.fisher_correction",
        ),
        ("task: {name: flip_flop, steps: 1}\n", "task.steps"),
        (
            "task: {name: flip_flop}\nmodel: {i_fraction: 1.5}\n",
            "model.i_fraction",
        ),
        (
            "task: {name: flip_flop}\ntraining: {lr: -1}\n",
            "training.lr",
        ),
        ("task: {name: flip_flopp}\n", "task.name"),
        (
            "task: {name: flip_flop, test_examples: 0}\n",
            "task.test_examples",
        ),
        // Adam has no weight decay: refused, not ignored.
        (
            "task: {name: flip_flop}\ntraining: {weight_decay: 0.1}\n",
            "training.weight_decay",
        ),
        (
            "task: {name: flip_flop}\ntraining: {optimiser: es, es: {loss: events}}\n",
            "training.es.loss",
        ),
        (
            "task: {name: adding, digits: data/mnist_5k.h5}\n",
            "task.digits",
        ),
        // Values are named as the config writes them.
        (
            "task: {name: flip_flop}\nmodel: {architecture: dann, constraint: frozen_sign}\n",
            "`frozen_sign` is for the standard architecture",
        ),
        (
            "task: {name: flip_flop}\nmodel: {init: low_rank, constraint: dale}\n",
            "a `low_rank` start has no column signs for `dale`",
        ),
    ] {
        let err = TaskConfig::parse(Path::new("bad.yaml"), text, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{text}: {err}");
        assert!(err.contains("bad.yaml"), "{err}");
    }
    // A task config given where a data fit's is needed says which it is.
    let out = common::fitrnn()
        .current_dir(common::root())
        .args(["check", "--config", "configs/task_flip_flop.yaml"])
        .assert()
        .code(2);
    let said = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        said.contains("a task-mode config") && said.contains("fitrnn task"),
        "{said}"
    );
}

#[test]
fn row_wise_mnist_reads_the_shipped_digits_into_disjoint_balanced_splits() {
    let path = common::root().join("data/mnist_5k.h5");
    let mut rng = task::stream(0, 1);
    let train = task::tasks::smnist(&path, task::tasks::Split::Train, 4000, &mut rng).unwrap();
    let test = task::tasks::smnist(&path, task::tasks::Split::Test, 1000, &mut rng).unwrap();
    assert_eq!(train.inputs.shape(), &[4000, 28, 28]);
    assert_eq!(test.targets.shape(), &[1000, 28, 10]);
    assert_eq!(train.scored_from, 27);
    let counts = |d: &task::tasks::TaskData| {
        let mut c = [0usize; 10];
        for e in 0..d.len() {
            let row = d.targets.slice(ndarray::s![e, 27, ..]);
            assert_eq!(row.sum(), 1.0, "one-hot");
            c[row.iter().position(|v| *v == 1.0).unwrap()] += 1;
            // Only the last step is a target.
            assert_eq!(d.targets.slice(ndarray::s![e, ..27, ..]).sum(), 0.0);
        }
        c
    };
    assert_eq!(counts(&train), [400; 10]);
    assert_eq!(counts(&test), [100; 10]);
    assert!(train.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
    // No test image is a training image.
    let key = |d: &task::tasks::TaskData, e: usize| -> Vec<u32> {
        d.inputs
            .slice(ndarray::s![e, .., ..])
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    let seen: std::collections::HashSet<Vec<u32>> =
        (0..train.len()).map(|e| key(&train, e)).collect();
    let shared = (0..test.len())
        .filter(|e| seen.contains(&key(&test, *e)))
        .count();
    assert!(shared <= 2, "{shared} test digits are also training digits");
    let err = task::tasks::smnist(&path, task::tasks::Split::Test, 1001, &mut rng).unwrap_err();
    assert!(err.to_string().contains("1001"), "{err}");
}

#[test]
fn a_small_network_learns_row_wise_mnist_above_chance() {
    let text = format!(
        "task: {{name: smnist_5k, train_examples: 1000, test_examples: 200, digits: {}}}\n\
         model: {{units: 48}}\n\
         training: {{epochs: 3, batch_size: 25, lr: 0.005}}\n",
        common::root().join("data/mnist_5k.h5").display()
    );
    let cfg = TaskConfig::parse(Path::new("smnist.yaml"), &text, &[]).unwrap();
    let fit = task::train(&cfg, &candle_core::Device::Cpu, |_| {}).unwrap();
    let (first, last) = (&fit.history[0], fit.history.last().unwrap());
    assert!(first.test_error > 70.0, "untrained: {}", first.test_error);
    assert!(
        last.test_error < 50.0,
        "after 3 epochs: {} % wrong",
        last.test_error
    );
    assert!(last.test_loss < first.test_loss);
}

#[test]
fn frozen_signs_stay_frozen_and_transplants_start_from_the_other_spectrum() {
    let device = candle_core::Device::Cpu;
    let text = "task: {name: flip_flop, steps: 15, train_examples: 64, test_examples: 16}\n\
                model: {units: 24, i_fraction: 0.25, init: rnn_vectors_colei_spectrum, constraint: frozen_sign}\n\
                training: {epochs: 2, batch_size: 16, lr: 0.05}\n";
    let cfg = TaskConfig::parse(Path::new("t.yaml"), text, &[]).unwrap();
    let fit = task::train(&cfg, &device, |_| {}).unwrap();
    let w0 = &fit.initial.iter().find(|(n, _)| n == "w_rec").unwrap().1;
    let w = fitrnn::model::to_array2(&fit.net.w().unwrap()).unwrap();
    for (a, b) in w0.iter().zip(w.iter()) {
        assert!(
            a.signum() == b.signum() && (*a == 0.0) == (*b == 0.0),
            "{a} → {b}"
        );
    }
    assert!(*w0 != w, "training moved the weights");
    // The start holds a ColEI matrix's singular values: dispersed, so a lower entropy than a
    // standard matrix's.
    let colei_start = fit.history[0].nse;
    let plain = TaskConfig::parse(
        Path::new("t.yaml"),
        &text.replace(
            "init: rnn_vectors_colei_spectrum, constraint: frozen_sign",
            "init: default",
        ),
        &[],
    )
    .unwrap();
    let plain = task::train(&plain, &device, |_| {}).unwrap();
    assert!(
        colei_start < plain.history[0].nse - 0.05,
        "{colei_start} against {}",
        plain.history[0].nse
    );
    // A transplanted start has no column signs for Dale's backprop to keep.
    let err = TaskConfig::parse(
        Path::new("t.yaml"),
        &text.replace("frozen_sign", "dale"),
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("model.init"), "{err}");
}

#[test]
fn the_evolution_strategys_gradient_points_along_the_true_gradient() {
    let device = candle_core::Device::Cpu;
    let text = "task: {name: adding, steps: 6, train_examples: 16, test_examples: 4}\n\
                model: {units: 6, activation: tanh}\n\
                training: {optimiser: es, es: {population: 4000, sigma: 0.001}}\n";
    let cfg = TaskConfig::parse(Path::new("es.yaml"), text, &[]).unwrap();
    let mut rng = task::stream(3, 1);
    let data = task::tasks::generate(&cfg, task::tasks::Split::Train, 16, &mut rng).unwrap();
    let net = TaskNet::new(&cfg, 2, 1, &device, &mut task::stream(3, 3)).unwrap();
    let idx: Vec<usize> = (0..16).collect();
    let (x, y) = data.batch(&idx);
    let (x, y) = (
        task::model::tensor3(&x, &device).unwrap(),
        task::model::tensor3(&y, &device).unwrap(),
    );
    let scored = (data.scored_from, data.loss);
    let exact = net
        .loss(&x, &y, scored.0, scored.1)
        .unwrap()
        .backward()
        .unwrap();
    let es =
        task::es::gradient(&net, &x, &y, scored, 2000, 0.001, &mut task::stream(3, 5)).unwrap();
    let vars: Vec<candle_core::Var> = net.params.iter().map(|(_, v)| v.clone()).collect();
    let cosine = common::gradient_cosine(&exact, &es, &vars);
    eprintln!("ES against autograd: cosine {cosine:.3}");
    // 60 parameters, 2,000 antithetic pairs: the estimate's direction is the gradient's.
    assert!(cosine > 0.8, "cosine {cosine}");
}

#[test]
fn a_network_trained_by_the_evolution_strategy_learns() {
    let text = "task: {name: flip_flop, steps: 20, train_examples: 64, test_examples: 32, pulse_probability: 0.2}\n\
                model: {units: 12}\n\
                training: {epochs: 6, batch_size: 16, lr: 0.02, optimiser: es, es: {population: 16, sigma: 0.05}}\n";
    let cfg = TaskConfig::parse(Path::new("es.yaml"), text, &[]).unwrap();
    let fit = task::train(&cfg, &candle_core::Device::Cpu, |_| {}).unwrap();
    let (first, last) = (&fit.history[0], fit.history.last().unwrap());
    assert!(
        last.test_loss < 0.8 * first.test_loss,
        "{} → {}",
        first.test_loss,
        last.test_loss
    );
}

#[test]
fn network_change_is_nil_for_an_untrained_network_and_measured_after_training() {
    let device = candle_core::Device::Cpu;
    let text = "task: {name: flip_flop, steps: 15, train_examples: 64, test_examples: 16, pulse_probability: 0.2}\n\
                model: {units: 16, init: low_rank, init_rank: 4, activation: tanh}\n\
                training: {epochs: 3, batch_size: 16, lr: 0.02}\n";
    let cfg = TaskConfig::parse(Path::new("rl.yaml"), text, &[]).unwrap();
    let fit = task::train(&cfg, &device, |_| {}).unwrap();
    let same = task::richlazy::network_change(
        &fit.net,
        &fit.net.snapshot().unwrap(),
        &fit.test,
        8,
        &device,
    )
    .unwrap();
    assert_eq!(same.weight_change, 0.0);
    assert!((same.representation_alignment - 1.0).abs() < 1e-9);
    assert!((same.tangent_kernel_alignment - 1.0).abs() < 1e-9);
    assert_eq!(same.sign_similarity, 1.0);
    let c = fit.change;
    assert!(c.weight_change > 0.0 && c.weight_change_relative > 0.0);
    for v in [
        c.representation_alignment,
        c.tangent_kernel_alignment,
        c.sign_similarity,
    ] {
        assert!(v.is_finite() && v <= 1.0 + 1e-9, "{c:?}");
    }
    assert!(
        c.tangent_kernel_alignment < 1.0 - 1e-6,
        "training changed the tangent kernel: {c:?}"
    );
    // The low-rank start holds rank 4.
    let w0 = &fit.initial.iter().find(|(n, _)| n == "w_rec").unwrap().1;
    let sv = fitrnn::linalg::singular_values(w0).unwrap();
    assert!(sv[3] > 1e-3 && sv[4] < 1e-4 * sv[0], "{sv:?}");
}
