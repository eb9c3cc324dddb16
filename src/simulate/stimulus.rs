//! A Visual-Behavior-like change-detection session: images flashed `flash_on_s` on /
//! `flash_off_s` grey, an image change every few flashes, ~5 % omitted flashes, and running speed.

use super::config::StimulusSpec;
pub use super::config::INPUT_NAMES;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// What happened at one flash slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    /// The same image as before.
    Repeat,
    /// A new image (the change the mouse should report).
    Change,
    /// The flash was omitted (grey screen stays).
    Omission,
}

impl FlashKind {
    /// Trial condition label.
    pub fn condition(self) -> &'static str {
        match self {
            FlashKind::Repeat => "flash",
            FlashKind::Change => "change",
            FlashKind::Omission => "omission",
        }
    }
}

/// One flash slot.
#[derive(Debug, Clone, Copy)]
pub struct Flash {
    /// Onset, s.
    pub onset_s: f64,
    /// Kind of slot.
    pub kind: FlashKind,
    /// Image shown (the last image for an omission).
    pub image: usize,
}

/// The session's events and running speed at simulation resolution.
#[derive(Debug, Clone)]
pub struct Session {
    /// Flash slots in time order.
    pub flashes: Vec<Flash>,
    /// Input values per simulation step, `[n_steps][INPUT_NAMES.len()]`, natural units
    /// (flash/change/omission are 0/1 indicators, running speed in cm/s).
    pub inputs: Vec<[f32; 4]>,
}

/// Draw the session: `n_steps` steps of `dt_s` seconds.
pub fn draw_session(
    spec: &StimulusSpec,
    n_steps: usize,
    dt_s: f64,
    rng: &mut ChaCha8Rng,
) -> Session {
    let period = spec.flash_on_s + spec.flash_off_s;
    let duration = n_steps as f64 * dt_s;
    let [lo, hi] = spec.change_every_flashes;
    let mut flashes = Vec::new();
    let mut image = rng.random_range(0..spec.n_images.max(1));
    let mut until_change = rng.random_range(lo..=hi);
    let mut t = 0.0;
    while t + spec.flash_on_s <= duration {
        until_change -= 1;
        let kind = if until_change == 0 {
            until_change = rng.random_range(lo..=hi);
            if spec.n_images > 1 {
                let next = rng.random_range(0..spec.n_images - 1);
                image = if next >= image { next + 1 } else { next };
            }
            FlashKind::Change
        } else if rng.random::<f64>() < spec.omission_probability {
            FlashKind::Omission
        } else {
            FlashKind::Repeat
        };
        flashes.push(Flash {
            onset_s: t,
            kind,
            image,
        });
        t += period;
    }
    // Running speed: an Ornstein-Uhlenbeck process, clipped at 0 (mice do not run backwards).
    let theta = dt_s / spec.running_timescale_s.max(dt_s);
    let mut v = spec.running_mean_cm_s;
    let mut inputs = vec![[0f32; 4]; n_steps];
    let mut fi = 0;
    for (k, row) in inputs.iter_mut().enumerate() {
        let tk = k as f64 * dt_s;
        while fi + 1 < flashes.len() && flashes[fi + 1].onset_s <= tk {
            fi += 1;
        }
        if let Some(f) = flashes.get(fi) {
            if tk >= f.onset_s && tk < f.onset_s + spec.flash_on_s {
                match f.kind {
                    FlashKind::Repeat => row[0] = 1.0,
                    FlashKind::Change => {
                        row[0] = 1.0;
                        row[1] = 1.0;
                    }
                    FlashKind::Omission => row[2] = 1.0,
                }
            }
        }
        let z: f64 = StandardNormal.sample(rng);
        v +=
            theta * (spec.running_mean_cm_s - v) + spec.running_std_cm_s * (2.0 * theta).sqrt() * z;
        row[3] = v.max(0.0) as f32;
    }
    Session { flashes, inputs }
}
