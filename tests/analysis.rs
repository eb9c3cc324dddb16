//! Spectral and motif statistics against numpy (tests/fixtures/make_spectral_fixtures.py), Shao et
//! al.'s outlier prediction against numerically computed eigenvalues, and block interactions.

use crate::common;

use fitrnn::analysis::blocks::{block_interactions, Level};
use fitrnn::analysis::motifs::{motifs, predicted_outliers};
use fitrnn::connectivity::Population;
use fitrnn::linalg::{eigenvalues, normalised_svd_entropy, singular_values};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn load(name: &str) -> std::collections::HashMap<String, candle_core::Tensor> {
    candle_core::safetensors::load(
        common::fixture(&format!("spectral/{name}.safetensors")),
        &candle_core::Device::Cpu,
    )
    .unwrap()
}

fn f64s(t: &candle_core::Tensor) -> Vec<f64> {
    t.to_dtype(candle_core::DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
}

#[test]
fn spectra_entropy_and_motifs_match_numpy() {
    for name in ["small_6", "dale_500"] {
        let t = load(name);
        let (n, _) = t["w"].dims2().unwrap();
        let w = Array2::from_shape_vec(
            (n, n),
            t["w"].flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        )
        .unwrap();
        // Eigenvalues, sorted like np.sort_complex (real part, then imaginary part).
        let mut ev = eigenvalues(&w).unwrap();
        ev.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let (re, im) = (f64s(&t["eig_re"]), f64s(&t["eig_im"]));
        let scale = re
            .iter()
            .zip(&im)
            .map(|(a, b)| a.hypot(*b))
            .fold(0.0, f64::max);
        let mut worst: f64 = 0.0;
        for (k, (a, b)) in ev.iter().enumerate() {
            let err = (a - re[k]).hypot(b - im[k]) / scale;
            worst = worst.max(err);
        }
        assert!(worst < 1e-9, "{name}: eigenvalues differ from numpy by {worst:.1e} (relative to the spectral radius)");
        let sv = singular_values(&w).unwrap();
        let want = f64s(&t["singular_values"]);
        let sv_err = sv
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
            / want[0];
        assert!(
            sv_err < 1e-10,
            "{name}: singular values differ by {sv_err:.1e}"
        );
        let nse = normalised_svd_entropy(&sv);
        assert!(
            (nse - f64s(&t["nse"])[0]).abs() < 1e-12,
            "{name}: NSE {nse}"
        );
        let m = motifs(&w);
        let want = f64s(&t["motifs"]);
        for (k, (got, label)) in [
            (m.reciprocal, "reciprocal"),
            (m.convergent, "convergent"),
            (m.divergent, "divergent"),
            (m.chain, "chain"),
        ]
        .into_iter()
        .enumerate()
        {
            assert!(
                (got - want[k]).abs() < 1e-9,
                "{name}: {label} {got} vs numpy {}",
                want[k]
            );
        }
        eprintln!("{name}: eigenvalue error {worst:.1e}, singular value error {sv_err:.1e}, NSE {nse:.6}, motifs {:?}", want);
    }
}

/// Shao et al.'s method-1 generator: mean `j0`, variance `g²/N`, motifs with |τ_chn| = √(τ_con τ_div).
fn motif_matrix(
    n: usize,
    j0: f64,
    g: f64,
    t_con: f64,
    t_div: f64,
    t_rec: f64,
    rng: &mut ChaCha8Rng,
) -> Array2<f32> {
    let mut draw = || -> f64 { StandardNormal.sample(&mut *rng) };
    let eta: Vec<f64> = (0..n).map(|_| draw()).collect();
    let mu: Vec<f64> = (0..n * n).map(|_| draw()).collect();
    let nu: Vec<f64> = (0..n * n).map(|_| draw()).collect();
    let zeta: Vec<f64> = (0..n * n).map(|_| draw()).collect();
    let (sc, sd, sr) = (t_con.sqrt(), t_div.sqrt(), (t_rec.abs() / 2.0).sqrt());
    let rest = (1.0 - 2.0 * t_con - 2.0 * t_div - t_rec.abs()).sqrt();
    Array2::from_shape_fn((n, n), |(i, j)| {
        let x = sc * eta[i] + sd * eta[j] - sc * mu[i * n + j]
            + sd * mu[j * n + i]
            + t_rec.signum() * sr * nu[i * n + j]
            + sr * nu[j * n + i]
            + rest * zeta[i * n + j];
        (j0 + g / (n as f64).sqrt() * x) as f32
    })
}

#[test]
fn chain_motifs_predict_the_outlier_eigenvalues() {
    // Inhibition-dominated (N J0 = −3), chain motifs τ_chn = √(0.1 · 0.1) = 0.1: the prediction is
    // λ+ ≈ 3.7 (a positive outlier created by chains) and λ− ≈ −6.7, far outside the bulk
    // (radius ≈ g (1 − τ_div − τ_con − 2τ_chn) / √(1 − τ_div − τ_con) ≈ 0.34).
    let n = 1000;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let w = motif_matrix(n, -3.0 / n as f64, 0.5, 0.1, 0.1, 0.0, &mut rng);
    let m = motifs(&w);
    assert!(
        (m.chain - 0.1).abs() < 0.01 && (m.convergent - 0.1).abs() < 0.01,
        "{m:?}"
    );
    let [(plus, _), (minus, _)] = predicted_outliers(&m, n);
    let ev = eigenvalues(&w).unwrap();
    let max_re = ev.iter().map(|e| e.0).fold(f64::MIN, f64::max);
    let min_re = ev.iter().map(|e| e.0).fold(f64::MAX, f64::min);
    eprintln!("predicted λ+ {plus:.3}, λ− {minus:.3}; measured {max_re:.3}, {min_re:.3}");
    // Tolerance: the estimated motif statistics carry sampling error of order 1/√N relative, and the
    // bulk (radius ≈ 0.34) perturbs the outliers by about radius² / |λ|: together well under 5 %.
    assert!(
        plus > 0.0,
        "chains create a positive outlier in an inhibition-dominated network"
    );
    assert!(
        (max_re - plus).abs() < 0.05 * plus.abs(),
        "λ+ {max_re} vs predicted {plus}"
    );
    assert!(
        (min_re - minus).abs() < 0.05 * minus.abs(),
        "λ− {min_re} vs predicted {minus}"
    );
}

#[test]
fn block_interactions_add_up_at_every_level() {
    let mut units = Vec::new();
    for area in ["VISp", "VISl"] {
        for layer in ["L2/3", "L5"] {
            for t in ["Slc17a7", "Slc17a7", "Sst"] {
                units.push(Population::new(area, layer, t));
            }
        }
    }
    let n = units.len();
    let w = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 5) as f32 - 2.0);
    let total: f64 = w.iter().map(|&v| v as f64).sum();
    for (level, blocks) in [
        (Level::Population, 8),
        (Level::AreaLayer, 4),
        (Level::Area, 2),
    ] {
        let rows = block_interactions(&units, &w, level);
        assert_eq!(rows.len(), blocks * blocks, "{level:?}");
        let sum: f64 = rows.iter().map(|r| r.sum_w).sum();
        assert!(
            (sum - total).abs() < 1e-9,
            "{level:?}: blocks sum to {sum}, matrix to {total}"
        );
        assert_eq!(rows.iter().map(|r| r.n_possible).sum::<usize>(), n * n);
        for r in &rows {
            assert!((r.mean_w * r.n_possible as f64 - r.sum_w).abs() < 1e-9);
            assert!(r.mean_abs_w >= r.mean_w.abs());
        }
    }
}

#[test]
fn silencing_removes_exactly_the_outgoing_currents_and_magnitude_zero_changes_nothing() {
    use candle_core::{Device, Tensor, Var};
    use fitrnn::model::{Activation, InitialState, ReadoutInput};
    use fitrnn::model::{Params, Perturbation, Rnn};
    let (n, d, t_len, b) = (6, 2, 5, 3);
    let dev = Device::Cpu;
    let var = |r: usize, c: usize, f: &dyn Fn(usize, usize) -> f32| {
        let v: Vec<f32> = (0..r * c).map(|k| f(k / c, k % c)).collect();
        Var::from_tensor(&Tensor::from_vec(v, (r, c), &dev).unwrap()).unwrap()
    };
    let p = Params {
        w_rec: var(n, n, &|i, j| ((i * 5 + j * 3) % 7) as f32 * 0.1 - 0.3),
        w_in: var(n, d, &|i, j| ((i + j) % 3) as f32 * 0.2),
        b: var(1, n, &|_, j| 0.1 * j as f32),
        gain: var(1, n, &|_, _| 1.0),
        offset: var(1, n, &|_, _| 0.0),
        x0: var(1, n, &|_, j| 0.2 * j as f32 - 0.3),
        calcium_log_tau: Params::no_calcium(&candle_core::Device::Cpu).unwrap(),
        log_tau: Params::fixed_tau(&candle_core::Device::Cpu).unwrap(),
        latent: Params::no_latent(&candle_core::Device::Cpu).unwrap(),
    };
    let rnn = Rnn {
        n_units: n,
        n_rec: n,
        alpha: Tensor::full(0.5f32, (1, n), &dev).unwrap(),
        tau: None,
        forcing: 0.0,
        latent: None,
        nonnegative_inputs: false,
        activation: Activation::Softplus,
        initial_state: InitialState::Learned,
        readout: None,
        readout_input: ReadoutInput::Rate,
        calcium: None,
    };
    let y = Tensor::zeros((t_len, b, n), candle_core::DType::F32, &dev).unwrap();
    let u = Tensor::from_vec(
        (0..t_len * b * d)
            .map(|k| (k % 5) as f32 * 0.3)
            .collect::<Vec<f32>>(),
        (t_len, b, d),
        &dev,
    )
    .unwrap();
    let pert = |keep: Vec<f32>| Perturbation {
        keep: Tensor::from_vec(keep, (1, n), &dev).unwrap(),
        drive: Tensor::zeros((1, n), candle_core::DType::F32, &dev).unwrap(),
    };
    let rows = |ts: Vec<Tensor>| -> Vec<Vec<Vec<f32>>> {
        ts.iter().map(|t| t.to_vec2::<f32>().unwrap()).collect()
    };
    let base = rows(rnn.rates(&p, &y, &u).unwrap());
    // Magnitude 0: identical rates at every step.
    let same = rows(
        rnn.perturbed_rates(&p, &y, &u, &pert(vec![1.0; n]))
            .unwrap(),
    );
    assert_eq!(same, base);
    // Silence units 1 and 4: at the first step their outgoing rates are 0 and the others' unchanged,
    // so the recurrent input W·r loses exactly Σ_{j∈S} W[i, j] r_j.
    let silenced = [1usize, 4];
    let keep: Vec<f32> = (0..n)
        .map(|j| if silenced.contains(&j) { 0.0 } else { 1.0 })
        .collect();
    let pr = rows(rnn.perturbed_rates(&p, &y, &u, &pert(keep)).unwrap());
    let w = p.w_rec.as_tensor().to_vec2::<f32>().unwrap();
    for bi in 0..b {
        for (i, wi) in w.iter().enumerate() {
            let total: f32 = (0..n).map(|j| wi[j] * base[0][bi][j]).sum();
            let removed: f32 = silenced.iter().map(|&j| wi[j] * base[0][bi][j]).sum();
            let after: f32 = (0..n).map(|j| wi[j] * pr[0][bi][j]).sum();
            assert!(
                (after - (total - removed)).abs() < 1e-6,
                "unit {i}: {after} vs {}",
                total - removed
            );
        }
        for j in 0..n {
            let want = if silenced.contains(&j) {
                0.0
            } else {
                base[0][bi][j]
            };
            assert_eq!(pr[0][bi][j], want);
        }
    }
    // Later steps do change: the perturbation propagates through the network.
    assert_ne!(pr[2], base[2]);
}
