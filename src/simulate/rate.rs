//! The rate simulator's units, of the form fitrnn fits: `τ dx/dt = −x + drive + noise`,
//! `r = max(x, 0)`, Euler steps, one time constant per cell type (`network.tau_ms`).

use super::frames::Units;
use super::network::Network;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Rectified-linear rate units: state `x` and rate `r`, `[n_units]` each, rate units.
pub(super) struct RateUnits {
    /// `dt / τ` per unit.
    alpha: Vec<f32>,
    /// Standard deviation of each step's noise on `x`: `private_noise · √(2 dt / τ)`.
    noise_scale: Vec<f32>,
    x: Vec<f32>,
    r: Vec<f32>,
}

impl RateUnits {
    /// `net`'s units at rest, for a step of `dt_s` seconds and the input noise `private_noise`
    /// (rate units · √s).
    pub fn new(net: &Network, dt_s: f64, private_noise: f64) -> RateUnits {
        let nu = net.units.len();
        let alpha: Vec<f32> = net
            .tau_ms
            .iter()
            .map(|t| (dt_s * 1000.0 / *t as f64) as f32)
            .collect();
        let noise_scale = alpha
            .iter()
            .map(|a| (private_noise * (2.0 * *a as f64).sqrt()) as f32)
            .collect();
        RateUnits {
            alpha,
            noise_scale,
            x: vec![0f32; nu],
            r: vec![0f32; nu],
        }
    }
}

impl Units for RateUnits {
    fn rates(&self) -> &[f32] {
        &self.r
    }

    fn step(&mut self, drive: &[f32], rng: &mut ChaCha8Rng) {
        for (i, d) in drive.iter().enumerate() {
            let xi: f32 = StandardNormal.sample(rng);
            self.x[i] += self.alpha[i] * (d - self.x[i]) + self.noise_scale[i] * xi;
            self.r[i] = self.x[i].max(0.0);
        }
    }
}
