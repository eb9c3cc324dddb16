//! The adaptive simulator: a ground truth whose form differs from the fitted model's, so that a
//! recovery study does not merely score a model against its own kind.
//!
//! - **Units**: `τ_i dx/dt = −x + W r + W_in u + b + noise − a`, `τ_a da/dt = −a + g_a r`,
//!   `r = r_max tanh([x]₊ / r_max)`, Euler steps. Spike-frequency adaptation `a` (strength `g_a`
//!   and `τ_a` per cell type, `dynamics.adaptation_*`) is a self-current, not a connection: the
//!   true `W` is unchanged. Each unit's `τ_i` is its cell type's `network.tau_ms` times a
//!   log-normal factor (`dynamics.tau_log_std`), and is what `/ground_truth/tau_ms` holds.
//! - **Indicator**: the same GCaMP-like kernel gives the calcium `c` (rate units) averaged within
//!   each frame, then a Hill nonlinearity `F = g c^n / (c^n + K^n)` (`dynamics.hill_n`; `K` per
//!   neuron, log-normal around `dynamics.hill_k`; `g` per neuron around `dynamics.dff_max`), then
//!   Gaussian noise (`observation.noise_std`) and shot noise of sd `dynamics.shot_noise · √F`.
//!   With `observation.indicator: false` the rates are recorded as the rate simulator records them.
//!
//! The per-unit time constants, the `K`s and the shot noise come from streams of their own, so
//! that the network, the session, the recorded units and the neurons' depths are those the rate
//! simulator draws at the same seed.

use super::config::{per_type, DynamicsSpec, ObservationSpec, SimConfig};
use super::frames::Units;
use super::network::Network;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal, StandardNormal};

/// Seed offsets of the adaptive simulator's own streams (time constants, indicator).
const TAU_STREAM: u64 = 0x7a0d_a971_0e5e_0001;
const INDICATOR_STREAM: u64 = 0x7a0d_a971_0e5e_0002;

/// Each unit's time constant, `[n_units]`, ms: its cell type's `network.tau_ms` times
/// `exp(σ z)` (`σ = dynamics.tau_log_std`, `z` standard normal from a stream of its own), at
/// least two steps of `dt_ms` so that the Euler steps stay stable.
pub(super) fn unit_taus(cfg: &SimConfig, net: &Network, dt_ms: f64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ TAU_STREAM);
    let factor = LogNormal::new(0.0, cfg.dynamics.tau_log_std).expect("tau_log_std validated");
    net.tau_ms
        .iter()
        .map(|t| (*t as f64 * factor.sample(&mut rng)).max(2.0 * dt_ms) as f32)
        .collect()
}

/// Saturating, adapting rate units: state `x`, adaptation `a` and rate `r`, `[n_units]` each,
/// rate units.
pub(super) struct AdaptiveUnits {
    /// `dt / τ_i` per unit.
    alpha: Vec<f32>,
    /// Standard deviation of each step's noise on `x`: `private_noise · √(2 dt / τ_i)`.
    noise_scale: Vec<f32>,
    /// `dt / τ_a` per unit.
    alpha_a: Vec<f32>,
    /// Adaptation strength `g_a` per unit.
    gain_a: Vec<f32>,
    /// Rate ceiling, rate units.
    r_max: f32,
    x: Vec<f32>,
    a: Vec<f32>,
    r: Vec<f32>,
}

impl AdaptiveUnits {
    /// `net`'s units at rest (its `tau_ms` already per unit, see [`unit_taus`]), for a step of
    /// `dt_s` seconds.
    pub fn new(cfg: &SimConfig, net: &Network, dt_s: f64) -> AdaptiveUnits {
        let d = &cfg.dynamics;
        let dt_ms = dt_s * 1000.0;
        let nu = net.units.len();
        let alpha: Vec<f32> = net
            .tau_ms
            .iter()
            .map(|t| (dt_ms / *t as f64) as f32)
            .collect();
        let noise_scale = alpha
            .iter()
            .map(|a| (cfg.network.private_noise * (2.0 * *a as f64).sqrt()) as f32)
            .collect();
        let of_type = |map, default| -> Vec<f64> {
            net.units
                .iter()
                .map(|u| per_type(map, &u.cell_type).unwrap_or(default))
                .collect()
        };
        AdaptiveUnits {
            alpha,
            noise_scale,
            alpha_a: of_type(&d.adaptation_tau_ms, 300.0)
                .iter()
                .map(|t| (dt_ms / t.max(2.0 * dt_ms)) as f32)
                .collect(),
            gain_a: of_type(&d.adaptation_gain, 0.0)
                .iter()
                .map(|g| *g as f32)
                .collect(),
            r_max: d.r_max as f32,
            x: vec![0f32; nu],
            a: vec![0f32; nu],
            r: vec![0f32; nu],
        }
    }
}

impl Units for AdaptiveUnits {
    fn rates(&self) -> &[f32] {
        &self.r
    }

    fn step(&mut self, drive: &[f32], rng: &mut ChaCha8Rng) {
        for (i, d) in drive.iter().enumerate() {
            let xi: f32 = StandardNormal.sample(rng);
            self.x[i] += self.alpha[i] * (d - self.a[i] - self.x[i]) + self.noise_scale[i] * xi;
            self.r[i] = self.r_max * (self.x[i].max(0.0) / self.r_max).tanh();
            self.a[i] += self.alpha_a[i] * (self.gain_a[i] * self.r[i] - self.a[i]);
        }
    }
}

/// The Hill indicator's dF/F of calcium `c` (rate units, ≥ 0) for saturated dF/F `g`, Hill
/// coefficient `n` and half-saturation `k_n = K^n`.
fn hill(c: f32, g: f32, n: f32, k_n: f32) -> f32 {
    let c_n = c.max(0.0).powf(n);
    g * c_n / (c_n + k_n)
}

/// The recorded traces `[n_frames, recorded]` through the Hill indicator: each recorded unit's
/// frame-averaged calcium `calcium[:, unit]` (`[n_frames, n_units]`, rate units) →
/// `g c^n / (c^n + K^n)`, plus Gaussian noise (`obs.noise_std`) and shot noise
/// (`dyn_.shot_noise · √F`). The gains and the Gaussian noise are drawn from `rng` as the rate
/// simulator draws them; `K` and the shot noise from the indicator's own stream of `seed`.
pub(super) fn observe(
    obs: &ObservationSpec,
    dyn_: &DynamicsSpec,
    seed: u64,
    calcium: &Array2<f32>,
    rec_units: &[usize],
    rng: &mut ChaCha8Rng,
) -> Array2<f32> {
    let mut own = ChaCha8Rng::seed_from_u64(seed ^ INDICATOR_STREAM);
    let n_frames = calcium.nrows();
    let gain_dist = LogNormal::new(0.0, 0.2).expect("valid");
    let k_dist = LogNormal::new(dyn_.hill_k.ln(), dyn_.hill_k_log_std).expect("hill_k validated");
    let noise = Normal::new(0.0, obs.noise_std as f32).expect("noise_std validated ≥ 0");
    let (n, shot) = (dyn_.hill_n as f32, dyn_.shot_noise as f32);
    let mut traces = Array2::<f32>::zeros((n_frames, rec_units.len()));
    for (col, &i) in rec_units.iter().enumerate() {
        let g = (dyn_.dff_max * gain_dist.sample(rng)) as f32;
        let k_n = (k_dist.sample(&mut own) as f32).powf(n);
        for f in 0..n_frames {
            let clean = hill(calcium[[f, i]], g, n, k_n);
            let z: f32 = StandardNormal.sample(&mut own);
            traces[[f, col]] = clean + noise.sample(rng) + shot * clean.sqrt() * z;
        }
    }
    traces
}
