//! The hand-written backward (the one the trainer uses) against candle's autograd on the same loss
//! (the slow reference): same loss and same gradients for every parameter, across nonlinearities,
//! readouts, initial states, inputs, training noise, learned time constants and teacher forcing.

use crate::common;
use candle_core::{Device, Tensor, Var};
use fitrnn::model::{Activation, InitialState, ReadoutInput};
use fitrnn::model::{Params, Rnn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Case {
    activation: Activation,
    initial_state: InitialState,
    readout_input: ReadoutInput,
    /// `None`: n_rec recorded units read one to one; `Some(k)`: a population readout onto k traces.
    populations: Option<usize>,
    n_rec: usize,
    inputs: usize,
    noise: bool,
    /// Learned time constants in this many groups.
    learned_tau: Option<usize>,
    /// Generalized teacher forcing (γ) of the loss.
    forcing: f64,
}

fn randn(shape: &[usize], scale: f64, rng: &mut ChaCha8Rng) -> Tensor {
    common::randn(shape, scale, rng, &Device::Cpu)
}

fn uniform(shape: &[usize], lo: f32, hi: f32, rng: &mut ChaCha8Rng) -> Tensor {
    common::uniform(shape, lo, hi, rng, &Device::Cpu)
}

/// Returns the largest gradient difference relative to the largest reference entry, on `device`.
fn check(case: &Case, seed: u64, device: &Device) -> f32 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rng = &mut rng;
    let (batch, t_len) = (3, 7);
    let net = common::NetBuilder {
        n_rec: case.n_rec,
        inputs: case.inputs,
        activation: case.activation,
        initial_state: case.initial_state,
        readout_input: case.readout_input,
        populations: case.populations,
        learned_tau: case.learned_tau,
        forcing: case.forcing,
        ..common::NetBuilder::new(12)
    };
    let (n, n_out) = (net.n, net.n_out());
    let (rnn, p) = net.build(rng, device);
    // Data in the readout's range so that the inverse readout is not clipped.
    let y = (common::uniform(&[t_len, batch, n_out], 0.05, 0.6, rng, device)
        .broadcast_mul(p.gain.as_tensor())
        .unwrap()
        .broadcast_add(p.offset.as_tensor()))
    .unwrap()
    .detach();
    let u = common::randn(&[t_len, batch, case.inputs], 1.0, rng, device);
    let noise = case
        .noise
        .then(|| common::randn(&[t_len, batch, n], 0.05, rng, device));

    let (loss, grads) = rnn.loss_and_grads(&p, &y, &u, noise.as_ref()).unwrap();
    let reference = rnn.loss_with(&p, &y, &u, noise.as_ref()).unwrap();
    let ref_grads = reference.backward().unwrap();
    let ref_loss = reference.to_scalar::<f32>().unwrap();
    assert!(
        ((loss - ref_loss) / ref_loss).abs() < 1e-5,
        "{}: loss {loss} vs autograd {ref_loss}",
        label(case)
    );
    let mut worst = 0f32;
    for (name, v) in [
        ("w_rec", &p.w_rec),
        ("w_in", &p.w_in),
        ("b", &p.b),
        ("gain", &p.gain),
        ("offset", &p.offset),
        ("x0", &p.x0),
        ("log_tau", &p.log_tau),
    ] {
        let Some(ours) = grads.get(v.as_tensor()) else {
            assert_eq!(
                v.elem_count(),
                0,
                "{name}: only an empty W_in or fixed time constants have no gradient"
            );
            continue;
        };
        let theirs = match ref_grads.get(v.as_tensor()) {
            Some(g) => g.clone(),
            None => v.as_tensor().zeros_like().unwrap(),
        };
        assert_eq!(ours.dims(), theirs.dims(), "{name}");
        if ours.elem_count() == 0 {
            continue; // no inputs: W_in is [n, 0]
        }
        let scale = theirs
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let diff = (ours - &theirs)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        worst = worst.max(diff / scale.max(1e-6));
        assert!(
            diff <= 2e-5 * scale.max(1e-6),
            "{}: ∂L/∂{name} differs by {diff:.2e} (largest entry {scale:.2e})",
            label(case)
        );
    }
    worst
}

fn label(c: &Case) -> String {
    format!(
        "{:?}/{:?}/{:?}/pop {:?}/n_rec {}/inputs {}/noise {}/learned tau {:?}/forcing {}",
        c.activation,
        c.initial_state,
        c.readout_input,
        c.populations,
        c.n_rec,
        c.inputs,
        c.noise,
        c.learned_tau,
        c.forcing
    )
}

crate::device_test!(
    hand_written_backward_matches_autograd,
    hand_written_backward_matches_autograd_cuda,
    |device| all_variants_match(device)
);

/// The 168 model variants, each the hand-written backward against autograd on `device`.
fn all_variants_match(device: &Device) {
    let mut seed = 0;
    let mut cases = 0;
    let mut worst = 0f32;
    for activation in [
        Activation::Relu,
        Activation::Tanh,
        Activation::TanhRelu,
        Activation::Softplus,
    ] {
        for initial_state in [
            InitialState::Zero,
            InitialState::Learned,
            InitialState::Data,
        ] {
            for (populations, n_rec) in [(None, 12), (None, 9), (Some(4), 12)] {
                if populations.is_some() && initial_state == InitialState::Data {
                    continue; // population fits cannot start from data (a config error)
                }
                for readout_input in [ReadoutInput::Rate, ReadoutInput::Unrectified] {
                    if populations.is_none() && readout_input == ReadoutInput::Unrectified {
                        continue;
                    }
                    // Teacher forcing pulls recorded units towards their traces: not for
                    // population readouts.
                    let forced: &[_] = if populations.is_none() {
                        &[(3, true, Some(3), 0.6), (0, false, None, 1.0)]
                    } else {
                        &[]
                    };
                    for &(inputs, noise, learned_tau, forcing) in [
                        (0, false, None, 0.0),
                        (3, true, None, 0.0),
                        (3, true, Some(3), 0.0),
                    ]
                    .iter()
                    .chain(forced)
                    {
                        seed += 1;
                        cases += 1;
                        worst = worst.max(check(
                            &Case {
                                activation,
                                initial_state,
                                readout_input,
                                populations,
                                n_rec,
                                inputs,
                                noise,
                                learned_tau,
                                forcing,
                            },
                            seed,
                            device,
                        ));
                    }
                }
            }
        }
    }
    // 4 nonlinearities × (2 initial states × 4 readouts + data start × 2 readouts) × 3 drives
    // (no inputs; inputs and noise; the same with learned time constants), and 2 teacher-forced
    // drives (γ 0.6 with learned time constants, γ 1) for the 6 one-to-one readouts of each.
    assert_eq!(cases, 120 + 4 * 6 * 2);
    eprintln!("largest relative gradient difference over {cases} cases: {worst:.1e}");
}

#[test]
fn sparse_products_give_the_dense_gradients_on_the_mask() {
    // 1,200 units, 10 % mask: above the size and below the density at which the CPU path
    // switches to the sparse products.
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let rng = &mut rng;
    let (n, batch, t_len, d) = (1200, 3, 6, 4);
    let mask_v: Vec<f32> = (0..n * n)
        .map(|k| f32::from(k % (n + 1) != 0 && rng.random::<f64>() < 0.1))
        .collect();
    let mask = Tensor::from_vec(mask_v.clone(), (n, n), &Device::Cpu).unwrap();
    let w = (randn(&[n, n], 0.05, rng) * &mask).unwrap();
    let var = |t: Tensor| Var::from_tensor(&t).unwrap();
    let p = Params {
        w_rec: var(w),
        w_in: var(randn(&[n, d], 0.5, rng)),
        b: var(randn(&[1, n], 0.2, rng)),
        gain: var(uniform(&[1, n], 0.5, 1.5, rng)),
        offset: var(randn(&[1, n], 0.1, rng)),
        x0: var(randn(&[1, n], 0.5, rng)),
        calcium_log_tau: Params::no_calcium(&candle_core::Device::Cpu).unwrap(),
        log_tau: Params::fixed_tau(&candle_core::Device::Cpu).unwrap(),
        latent: Params::no_latent(&candle_core::Device::Cpu).unwrap(),
    };
    let rnn = Rnn {
        n_units: n,
        n_rec: n,
        alpha: uniform(&[1, n], 0.2, 1.0, rng),
        tau: None,
        forcing: 0.0,
        activation: Activation::Softplus,
        initial_state: InitialState::Learned,
        readout: None,
        readout_input: ReadoutInput::Rate,
        calcium: None,
        latent: None,
        nonnegative_inputs: false,
    };
    let y = uniform(&[t_len, batch, n], 0.0, 1.0, rng);
    let u = randn(&[t_len, batch, d], 1.0, rng);
    let (l_s, g_s) = rnn
        .loss_and_grads_masked(&p, &y, &u, None, Some(&mask), false)
        .unwrap();
    let (l_d, g_d) = rnn
        .loss_and_grads_masked(&p, &y, &u, None, Some(&mask), true)
        .unwrap();
    assert!(((l_s - l_d) / l_d).abs() < 1e-6, "{l_s} vs {l_d}");
    let flat = |g: &candle_core::backprop::GradStore, v: &Var| -> Vec<f32> {
        g.get(v.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    let (ws, wd) = (flat(&g_s, &p.w_rec), flat(&g_d, &p.w_rec));
    let scale = wd.iter().fold(0f32, |m, v| m.max(v.abs()));
    for k in 0..n * n {
        if mask_v[k] != 0.0 {
            assert!((ws[k] - wd[k]).abs() <= 1e-5 * scale, "entry {k}");
        } else {
            assert_eq!(ws[k], 0.0, "no gradient off the mask");
        }
    }
    for v in [&p.w_in, &p.b, &p.gain, &p.offset, &p.x0] {
        let (a, b) = (flat(&g_s, v), flat(&g_d, v));
        let scale = b.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-5 * scale));
    }
}

/// The gradient of the inferred inputs' knots and of their input weights, through the
/// hand-written backward and [`Rnn::pass_to_knots`], against autograd through the knots'
/// interpolation; with measured inputs or none, free-running or teacher-forced, with noise.
#[test]
fn inferred_inputs_get_the_autograd_gradients() {
    let device = &Device::Cpu;
    let mut cases = 0;
    for (seed, (inputs, forcing, activation)) in [
        (0, 0.0, Activation::Softplus),
        (3, 0.0, Activation::Relu),
        (2, 0.6, Activation::Tanh),
    ]
    .into_iter()
    .enumerate()
    {
        let mut rng = ChaCha8Rng::seed_from_u64(500 + seed as u64);
        let rng = &mut rng;
        let (batch, t_len) = (3, 9);
        let net = common::NetBuilder {
            inputs,
            activation,
            forcing,
            initial_state: InitialState::Data,
            latent: Some(4),
            ..common::NetBuilder::new(10)
        };
        let (rnn, p) = net.build(rng, device);
        let y = (common::uniform(&[t_len, batch, 10], 0.05, 0.6, rng, device)
            .broadcast_mul(p.gain.as_tensor())
            .unwrap()
            .broadcast_add(p.offset.as_tensor()))
        .unwrap()
        .detach();
        let u = common::randn(&[t_len, batch, inputs], 1.0, rng, device);
        let noise = common::randn(&[t_len, batch, 10], 0.05, rng, device);
        // Windows starting on and between knots.
        let starts = [0, 4, 9];
        let u_full = rnn.with_latent(&p, &u, &starts).unwrap();
        assert_eq!(u_full.dims(), &[t_len, batch, inputs + 4]);

        let (_, mut ours) = rnn.loss_and_grads(&p, &y, &u_full, Some(&noise)).unwrap();
        rnn.pass_to_knots(&p, &u_full, &mut ours).unwrap();
        let mut theirs = rnn
            .loss_with(&p, &y, &u_full, Some(&noise))
            .unwrap()
            .backward()
            .unwrap();
        rnn.pass_to_knots(&p, &u_full, &mut theirs).unwrap();
        for (name, v) in [("latent", &p.latent), ("w_in", &p.w_in)] {
            let a = ours.get(v.as_tensor()).expect(name);
            let b = theirs.get(v.as_tensor()).expect(name);
            let scale = b
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            let diff = (a - b)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(scale > 0.0, "{name}: a gradient to compare");
            assert!(
                diff <= 2e-5 * scale,
                "inputs {inputs}, forcing {forcing}: ∂L/∂{name} differs by {diff:.2e} (largest {scale:.2e})"
            );
        }
        // The knots no window reaches get the penalty's gradient alone: 2 · l2 · z / n_knots.
        let g = ours
            .get(p.latent.as_tensor())
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let z = p.latent.as_tensor().to_vec2::<f32>().unwrap();
        let last = rnn.latent.as_ref().unwrap().n_knots - 1;
        // Frames reach 9 + 8 = 17, between knots 5 and 6: knot 7 is never read.
        for (gk, zk) in g[last].iter().zip(&z[last]) {
            assert!((gk - 2.0 * 0.05 * zk / 8.0).abs() < 1e-6);
        }
        cases += 1;
    }
    assert_eq!(cases, 3);
}
