//! Unrecorded external drive (`network.hidden_drive`): per area an Ornstein–Uhlenbeck signal,
//! part shared by all areas and part the area's own, added to the input of every unit of the
//! area. Nothing of it is written to `/inputs`, so a fit sees its effect on the traces but never
//! the signal itself.

use super::config::SimConfig;
use super::network::Network;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, StandardNormal};

/// The signals and each unit's weight on its area's signal.
pub(super) struct HiddenSignal {
    /// The shared signal `g` (index 0) and each area's own `e_a` (index 1 + a), rate units.
    ou: Vec<f64>,
    /// `(√s, √(1 − s))`: how the shared and the own signal mix into an area's drive.
    mix: (f64, f64),
    /// Area index of each unit, `[n_units]`.
    area_of: Vec<usize>,
    /// Weight of each unit on its area's signal, `[n_units]`.
    weight: Vec<f32>,
    /// `exp(−dt / timescale)`: how much of a signal one step keeps.
    keep: f64,
    /// Standard deviation of the innovation per step, so each signal stays at `std`.
    innovation: f64,
    rng: ChaCha8Rng,
}

impl HiddenSignal {
    /// The hidden drive of `cfg` for `net`, stepped every `dt_s` seconds; `None` without one.
    /// Draws from a stream of its own, so a config without hidden drive simulates exactly what
    /// it always did. Every signal starts from its stationary distribution.
    pub fn new(cfg: &SimConfig, net: &Network, dt_s: f64) -> Option<HiddenSignal> {
        let spec = cfg.network.hidden_drive.as_ref()?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x41dd_e9d7_1e5a_0001);
        let areas = &cfg.network.areas;
        let area_of: Vec<usize> = net
            .units
            .iter()
            .map(|u| areas.iter().position(|a| *a == u.area).unwrap_or(0))
            .collect();
        let jitter = LogNormal::new(0.0, 0.3).expect("valid");
        let weight = area_of
            .iter()
            .map(|_| (spec.weight * jitter.sample(&mut rng)) as f32)
            .collect();
        let keep = (-dt_s / spec.timescale_s).exp();
        let ou = (0..=areas.len())
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                spec.std * z
            })
            .collect();
        let s = spec.shared_fraction;
        Some(HiddenSignal {
            ou,
            mix: (s.sqrt(), (1.0 - s).sqrt()),
            area_of,
            weight,
            keep,
            innovation: spec.std * (1.0 - keep * keep).sqrt(),
            rng,
        })
    }

    /// Advance every signal one step and add each area's drive, weighted, to its units' `drive`.
    pub fn step_into(&mut self, drive: &mut [f32]) {
        for v in &mut self.ou {
            let z: f64 = StandardNormal.sample(&mut self.rng);
            *v = *v * self.keep + self.innovation * z;
        }
        let shared = self.mix.0 * self.ou[0];
        for (i, d) in drive.iter_mut().enumerate() {
            let own = self.mix.1 * self.ou[1 + self.area_of[i]];
            *d += self.weight[i] * (shared + own) as f32;
        }
    }
}
