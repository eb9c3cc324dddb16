//! The calcium observation model: the readout reads the rate through an exponential indicator
//! decay. Checked against an explicit recursion on the rate model's sources, against the rate
//! model when the decay is instantaneous, and its autograd gradients against finite differences.

use candle_core::{Device, Tensor, Var};
use fitrnn::model::{Activation, InitialState, ReadoutInput};
use fitrnn::model::{Calcium, Drive, Params, Rnn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn uniform(shape: &[usize], lo: f32, hi: f32, rng: &mut ChaCha8Rng) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

struct Net {
    rnn: Rnn,
    rate: Rnn,
    p: Params,
    y: Tensor,
    u: Tensor,
    beta: Vec<f32>,
}

fn net(beta: Vec<f32>) -> Net {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let rng = &mut rng;
    let (n, n_rec, batch, t_len) = (8, 5, 2, 9);
    let rate = Rnn {
        n_units: n,
        n_rec,
        alpha: uniform(&[1, n], 0.3, 0.9, rng),
        tau: None,
        forcing: 0.0,
        activation: Activation::Softplus,
        initial_state: InitialState::Data,
        readout: None,
        readout_input: ReadoutInput::Rate,
        calcium: None,
        latent: None,
        nonnegative_inputs: false,
    };
    // One indicator group per recorded unit, with τ set so that exp(−dt/τ) = β.
    let dt_ms = 100.0;
    let mut rnn = rate.clone();
    rnn.calcium = Some(Calcium {
        dt_ms,
        groups: Tensor::eye(n_rec, candle_core::DType::F32, &Device::Cpu).unwrap(),
    });
    let log_tau: Vec<f32> = beta
        .iter()
        .map(|&b| {
            if b > 0.0 {
                (-dt_ms / (b as f64).ln()).ln() as f32
            } else {
                (1e-6f64).ln() as f32
            }
        })
        .collect();
    let var = |t: Tensor| Var::from_tensor(&t).unwrap();
    let p = Params {
        w_rec: var(uniform(&[n, n], -0.4, 0.4, rng)),
        w_in: var(uniform(&[n, 1], -0.5, 0.5, rng)),
        b: var(uniform(&[1, n], -0.2, 0.2, rng)),
        gain: var(uniform(&[1, n_rec], 0.5, 1.5, rng)),
        offset: var(uniform(&[1, n_rec], -0.1, 0.1, rng)),
        x0: var(Tensor::zeros((1, n), candle_core::DType::F32, &Device::Cpu).unwrap()),
        calcium_log_tau: var(Tensor::from_slice(&log_tau, (1, n_rec), &Device::Cpu).unwrap()),
        log_tau: Params::fixed_tau(&candle_core::Device::Cpu).unwrap(),
        latent: Params::no_latent(&candle_core::Device::Cpu).unwrap(),
    };
    let y = (uniform(&[t_len, batch, n_rec], 0.1, 0.8, rng)
        .broadcast_mul(p.gain.as_tensor())
        .unwrap()
        .broadcast_add(p.offset.as_tensor()))
    .unwrap()
    .detach();
    let u = uniform(&[t_len, batch, 1], -1.0, 1.0, rng);
    Net {
        rnn,
        rate,
        p,
        y,
        u,
        beta,
    }
}

fn values(t: &Tensor) -> Vec<Vec<f32>> {
    t.to_vec2::<f32>().unwrap()
}

#[test]
fn the_readout_follows_the_indicator_recursion() {
    let beta = vec![0.0, 0.3, 0.6, 0.85, 0.95];
    let m = net(beta.clone());
    for drive in [Drive::FreeRunning, Drive::TeacherForced(3)] {
        let cal = m.rnn.forward(&m.p, &m.y, &m.u, drive).unwrap();
        let rate = m.rate.forward(&m.p, &m.y, &m.u, drive).unwrap();
        let g = values(m.p.gain.as_tensor())[0].clone();
        let off = values(m.p.offset.as_tensor())[0].clone();
        // The rate model's outputs give the sources s(t) = (ŷ − offset) / gain; the indicator starts
        // at the first frame's source and is reset with the state under teacher forcing.
        let y0 = values(&m.y.get(0).unwrap());
        let mut c: Vec<Vec<f32>> = y0
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(i, v)| (v - off[i]) / g[i])
                    .collect()
            })
            .collect();
        for (t, (yc, yr)) in cal.iter().zip(&rate).enumerate() {
            if let Drive::TeacherForced(k) = drive {
                if t > 0 && t % k == 0 {
                    let yt = values(&m.y.get(t).unwrap());
                    c = yt
                        .iter()
                        .map(|row| {
                            row.iter()
                                .enumerate()
                                .map(|(i, v)| (v - off[i]) / g[i])
                                .collect()
                        })
                        .collect();
                }
            }
            let (yc, yr) = (values(yc), values(yr));
            for b in 0..yc.len() {
                for i in 0..g.len() {
                    let s = (yr[b][i] - off[i]) / g[i];
                    c[b][i] = m.beta[i] * c[b][i] + (1.0 - m.beta[i]) * s;
                    let want = g[i] * c[b][i] + off[i];
                    assert!(
                        (yc[b][i] - want).abs() < 1e-5,
                        "{drive:?} t {t} unit {i}: {} vs {want}",
                        yc[b][i]
                    );
                    if beta[i] == 0.0 {
                        assert!(
                            (yc[b][i] - yr[b][i]).abs() < 1e-6,
                            "β = 0 is the rate model"
                        );
                    }
                }
            }
        }
    }
}

/// Central difference of the loss in entry `[i][j]` of the 2-D parameter `var` (restored after).
fn loss_slope(m: &Net, var: &Var, i: usize, j: usize, eps: f32) -> f32 {
    let v0 = var.as_tensor().copy().unwrap();
    let at = |d: f32| {
        let mut v = v0.to_vec2::<f32>().unwrap();
        v[i][j] += d;
        var.set(&Tensor::new(v, &Device::Cpu).unwrap()).unwrap();
        m.rnn
            .loss(&m.p, &m.y, &m.u)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    let fd = (at(eps) - at(-eps)) / (2.0 * eps);
    var.set(&v0).unwrap();
    fd
}

#[test]
fn autograd_gradients_match_finite_differences() {
    let m = net(vec![0.5, 0.7, 0.8, 0.9, 0.6]);
    let loss = m.rnn.loss(&m.p, &m.y, &m.u).unwrap();
    let grads = loss.backward().unwrap();
    let g = grads
        .get(m.p.w_rec.as_tensor())
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let eps = 1e-2f32;
    let mut worst = 0f32;
    for (i, j) in [(0, 1), (2, 5), (4, 4), (6, 0), (1, 7)] {
        let fd = loss_slope(&m, &m.p.w_rec, i, j, eps);
        worst = worst.max((fd - g[i][j]).abs() / g[i][j].abs().max(1e-3));
    }
    assert!(worst < 2e-2, "W_rec: relative error {worst}");
    // The indicator decay is a parameter: its gradient matches finite differences too.
    let gt = grads
        .get(m.p.calcium_log_tau.as_tensor())
        .unwrap()
        .to_vec2::<f32>()
        .unwrap()[0]
        .clone();
    let mut worst = 0f32;
    for (k, &gk) in gt.iter().enumerate() {
        let fd = loss_slope(&m, &m.p.calcium_log_tau, 0, k, eps);
        worst = worst.max((fd - gk).abs() / gk.abs().max(1e-3));
    }
    assert!(worst < 3e-2, "ln τ: relative error {worst}");
}

#[test]
fn a_calcium_fit_learns_and_saves_one_decay_per_cell_type() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert_cmd::Command::cargo_bin("fitrnn")
        .unwrap()
        .current_dir(&root)
        .args(["--config", "configs/mouse_v1.yaml"])
        .args(crate::common::NO_ENSEMBLE)
        .args(["--set", "model.observation=calcium"])
        .args([
            "--set",
            "training.dense_epochs=3",
            "--set",
            "training.finetune_epochs=1",
        ])
        .arg("--set")
        .arg(format!("output.dir={}", out.display()))
        .assert()
        .success()
        .stdout(predicates::str::contains("learned indicator decay: Pvalb"));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let decays = m["calcium_decay_ms"].as_object().unwrap();
    assert_eq!(decays.len(), 4, "Pvalb, Slc17a7, Sst, Vip");
    assert!(decays.values().all(|v| v.as_f64().unwrap() > 1.0));
    assert!(
        decays
            .values()
            .any(|v| (v.as_f64().unwrap() - 500.0).abs() > 1.0),
        "the decay is learned: {decays:?}"
    );
    let w =
        candle_core::safetensors::load(out.join("model/final.safetensors"), &Device::Cpu).unwrap();
    let log_tau = w["calcium_log_tau"].to_vec1::<f32>().unwrap();
    assert_eq!(log_tau.len(), 4);
    // The analyses re-read the fitted model with its decay.
    assert_cmd::Command::cargo_bin("fitrnn")
        .unwrap()
        .arg("analyse")
        .arg(&out)
        .assert()
        .success();
}
