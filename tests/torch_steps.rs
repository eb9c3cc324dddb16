//! fitrnn's model against PyTorch autograd (tests/fixtures/make_torch_steps.py): the loss, the
//! gradient of every parameter, and one step of Adam, AdamW-EG and SGD-EG followed by Dale's
//! projection and the mask, for five networks: leaky softplus with data-initialised state; relu
//! with hidden units and zero initial state; Balwani et al.'s α = 1 rectified tanh without bias;
//! population mode with a frozen random readout of the unrectified tanh; and a learned initial
//! state with private noise on every update.

use crate::common;

use candle_core::{Device, Tensor, Var};
use fitrnn::config::{Dale, Optimiser};
use fitrnn::model::{Activation, InitialState, ReadoutInput};
use fitrnn::model::{Params, Rnn};
use fitrnn::train::{train_step, Backward, Optim, OptimConfig};
use std::collections::HashMap;

/// Largest |a − b| relative to the largest |b| (with a floor so all-zero tensors compare absolutely).
fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs())) as f64;
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() as f64)
        .fold(0.0, f64::max)
        / scale
}

struct Case {
    t: HashMap<String, Tensor>,
    meta: serde_json::Value,
}

impl Case {
    fn load(name: &str) -> Case {
        let dir = common::fixture("torch_steps");
        let t =
            candle_core::safetensors::load(dir.join(format!("{name}.safetensors")), &Device::Cpu)
                .unwrap();
        let meta = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        Case { t, meta }
    }
    fn params(&self) -> Params {
        let v = |k: &str| Var::from_tensor(&self.t[&format!("init_{k}")].copy().unwrap()).unwrap();
        Params {
            w_rec: v("w_rec"),
            w_in: v("w_in"),
            b: v("b"),
            gain: v("gain"),
            offset: v("offset"),
            x0: v("x0"),
            calcium_log_tau: Params::no_calcium(&candle_core::Device::Cpu).unwrap(),
            log_tau: Params::fixed_tau(&candle_core::Device::Cpu).unwrap(),
            latent: Params::no_latent(&candle_core::Device::Cpu).unwrap(),
        }
    }
    fn rnn(&self) -> Rnn {
        let act = match self.meta["activation"].as_str().unwrap() {
            "relu" => Activation::Relu,
            "softplus" => Activation::Softplus,
            "tanh_relu" => Activation::TanhRelu,
            other => panic!("{other}"),
        };
        let init = match self.meta["initial_state"].as_str().unwrap() {
            "data" => InitialState::Data,
            "learned" => InitialState::Learned,
            _ => InitialState::Zero,
        };
        Rnn {
            n_units: self.meta["n"].as_u64().unwrap() as usize,
            n_rec: self.meta["n_rec"].as_u64().unwrap() as usize,
            alpha: self.t["alpha"].clone(),
            tau: None,
            forcing: 0.0,
            activation: act,
            initial_state: init,
            readout: self.t.get("readout_t").cloned(),
            readout_input: if self.populations() {
                ReadoutInput::Unrectified
            } else {
                ReadoutInput::Rate
            },
            calcium: None,
            latent: None,
            nonnegative_inputs: false,
        }
    }
    fn bias(&self) -> bool {
        self.meta["bias"].as_bool().unwrap()
    }
    fn populations(&self) -> bool {
        self.meta["kind"] == "populations"
    }
    fn learned(&self) -> bool {
        self.meta["initial_state"] == "learned"
    }
    fn noise(&self) -> Option<&Tensor> {
        self.t.get("noise")
    }
    fn trainable(&self, p: &Params) -> Vec<Var> {
        p.trainable(self.bias(), !self.populations(), self.learned())
    }
}

const CASES: [&str; 5] = [
    "leaky_softplus_data_init",
    "hidden_relu_zero_init",
    "alpha1_tanh_relu_data_init",
    "populations_frozen_readout",
    "learned_init_noise",
];
const NAMES: [&str; 6] = ["w_rec", "w_in", "gain", "offset", "b", "x0"];

fn var_of<'a>(p: &'a Params, k: &str) -> &'a Var {
    match k {
        "w_rec" => &p.w_rec,
        "w_in" => &p.w_in,
        "gain" => &p.gain,
        "offset" => &p.offset,
        "x0" => &p.x0,
        _ => &p.b,
    }
}

#[test]
fn loss_and_gradients_match_pytorch_autograd() {
    for name in CASES {
        let c = Case::load(name);
        let (p, rnn) = (c.params(), c.rnn());
        let loss = rnn.loss_with(&p, &c.t["y"], &c.t["u"], c.noise()).unwrap();
        let lv = loss.to_scalar::<f32>().unwrap() as f64;
        let want = c.meta["loss"].as_f64().unwrap();
        assert!(
            (lv - want).abs() / want < 1e-5,
            "{name}: loss {lv} vs PyTorch {want}"
        );
        let grads = loss.backward().unwrap();
        for k in NAMES
            .iter()
            .filter(|k| c.t.contains_key(&format!("grad_{k}")))
        {
            let g = grads.get(var_of(&p, k).as_tensor()).unwrap();
            let e = rel_err(g, &c.t[&format!("grad_{k}")]);
            eprintln!("{name}: grad {k} max relative error {e:.1e}");
            assert!(
                e < 1e-4,
                "{name}: gradient of {k} differs from PyTorch by {e:.2e}"
            );
        }
    }
}

#[test]
fn one_optimiser_step_with_projection_matches_pytorch() {
    for name in CASES {
        let c = Case::load(name);
        for (opt_name, kind) in [
            ("adam", Optimiser::Adam),
            ("adamw_eg", Optimiser::AdamwEg),
            ("sgd_eg", Optimiser::SgdEg),
        ] {
            let hp = &c.meta["hyper_parameters"][opt_name];
            let cfg = OptimConfig {
                kind,
                lr: hp["lr"].as_f64().unwrap(),
                betas: (0.9, 0.999),
                eps: 1e-8,
                weight_decay: hp["wd"].as_f64().unwrap(),
                momentum: 0.9,
            };
            let (p, rnn) = (c.params(), c.rnn());
            let vars = c.trainable(&p);
            let eg = (0..vars.len()).map(|k| k == 0).collect();
            let mut opt = Optim::new(cfg, vars, eg).unwrap();
            train_step(
                &rnn,
                &p,
                &mut opt,
                &c.t["y"],
                &c.t["u"],
                &c.t["sign"],
                &c.t["mask"],
                Dale::Projection,
                None,
                c.noise(),
                Backward::Bptt,
            )
            .unwrap();
            for k in NAMES
                .iter()
                .filter(|k| c.t.contains_key(&format!("{opt_name}_{k}")))
            {
                let e = rel_err(var_of(&p, k).as_tensor(), &c.t[&format!("{opt_name}_{k}")]);
                assert!(
                    e < 1e-5,
                    "{name}/{opt_name}: {k} after one step differs from PyTorch by {e:.2e}"
                );
            }
        }
    }
}
