//! `fitrnn simulate`: recordings with a known answer.
//!
//! A Dale's-law rate network of (area, layer, cell type) populations (connection probabilities from
//! a table, log-normal magnitudes, inter-area feed-forward and feedback pathways) is driven by a
//! Visual-Behavior-like stimulus, running speed and private noise. Two simulators share the
//! network, the stimulus and the frame loop (`frames`) and differ in their units and indicator
//! (`dynamics.kind`):
//!
//! - `rate` (default; module `rate`): `τ dx/dt = −x + W r + W_in u + b + noise`, `r = max(x, 0)`,
//!   integrated with Euler steps of `sim_dt_ms`. Rates are imaged through a GCaMP-like kernel
//!   (rise `rise_ms`, decay per cell type), averaged within each frame, scaled by a per-neuron gain
//!   and corrupted by Gaussian noise: the form fitrnn fits.
//! - `adaptive` (module `adaptive`): saturating units with spike-frequency adaptation and per-unit time
//!   constants, imaged through the same kernel and a saturating (Hill) indicator with shot noise.
//!
//! The file carries the full ground truth (`/ground_truth`), including units left unrecorded.

mod adaptive;
pub mod config;
mod frames;
mod hidden;
pub mod network;
mod rate;
pub mod stimulus;

pub use config::{DynamicsKind, SimConfig};
pub use network::{build_network, Network};

use crate::connectivity::ProbabilityTable;
use crate::data::{GroundTruth, Inputs, NeuronIds, NeuronTable, Recording, Trials};
use crate::error::Result;
use frames::{Clock, Integrated};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use stimulus::INPUT_NAMES;

/// What the simulation produced besides the recording, for the command's report.
#[derive(Debug, Clone)]
pub struct SimReport {
    /// Simulated units.
    pub n_units: usize,
    /// Recorded units (columns of `/traces`).
    pub n_recorded: usize,
    /// Spectral radius of the true `W[post, pre]`.
    pub spectral_radius: f64,
    /// Mean rate of excitatory and inhibitory units (rate units).
    pub mean_rate_e: f64,
    /// Mean rate of inhibitory units.
    pub mean_rate_i: f64,
    /// Fraction of units whose rate was positive at least 10 % of the time.
    pub fraction_active: f64,
    /// Fraction of nonzero entries of `W`.
    pub density: f64,
}

/// Which units are recorded: a random `fraction` (at least one) of each population, in unit
/// order.
fn recorded_units(net: &Network, fraction: f64, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let nu = net.units.len();
    let mut recorded = vec![false; nu];
    let mut start = 0;
    while start < nu {
        let end = (start..nu)
            .find(|&k| net.units[k] != net.units[start])
            .unwrap_or(nu);
        let mut members: Vec<usize> = (start..end).collect();
        members.shuffle(rng);
        let k = ((members.len() as f64 * fraction).round() as usize).max(1);
        for &m in &members[..k.min(members.len())] {
            recorded[m] = true;
        }
        start = end;
    }
    (0..nu).filter(|&i| recorded[i]).collect()
}

/// The recorded traces `[n_frames, recorded]`: each recorded unit's indicator signal times a
/// log-normal gain, plus Gaussian noise.
fn observe(
    obs: &config::ObservationSpec,
    calcium: &Array2<f32>,
    rec_units: &[usize],
    rng: &mut ChaCha8Rng,
) -> Array2<f32> {
    let n_frames = calcium.nrows();
    let gain_dist = LogNormal::new(0.0, 0.2).expect("valid");
    let noise = Normal::new(0.0, obs.noise_std as f32).expect("noise_std validated ≥ 0");
    let mut traces = Array2::<f32>::zeros((n_frames, rec_units.len()));
    for (col, &i) in rec_units.iter().enumerate() {
        let gain = (obs.amplitude * gain_dist.sample(rng)) as f32;
        for f in 0..n_frames {
            traces[[f, col]] = gain * calcium[[f, i]] + noise.sample(rng);
        }
    }
    traces
}

/// The recorded neurons' metadata, with a depth drawn within ±40 µm of the layer's centre.
fn neuron_table(net: &Network, rec_units: &[usize], rng: &mut ChaCha8Rng) -> NeuronTable {
    let depth_of = |layer: &str| match layer {
        "L2/3" => 175.0,
        "L4" => 300.0,
        "L5" => 425.0,
        _ => 0.0,
    };
    let field = |f: fn(&crate::connectivity::Population) -> &String| -> Vec<String> {
        rec_units
            .iter()
            .map(|&i| f(&net.units[i]).clone())
            .collect()
    };
    NeuronTable {
        id: NeuronIds::Int(rec_units.iter().map(|&i| i as i64).collect()),
        area: field(|u| &u.area),
        layer: field(|u| &u.layer),
        cell_type: field(|u| &u.cell_type),
        depth_um: Some(
            rec_units
                .iter()
                .map(|&i| depth_of(&net.units[i].layer) + rng.random_range(-40.0..40.0))
                .collect(),
        ),
    }
}

/// One trial per flash that ends within the recording.
fn trials(cfg: &SimConfig, session: &stimulus::Session, clock: &Clock) -> Trials {
    let period = cfg.stimulus.flash_on_s + cfg.stimulus.flash_off_s;
    let end_s = clock.n_frames as f64 * clock.frame_s;
    let flashes: Vec<_> = session
        .flashes
        .iter()
        .filter(|f| f.onset_s + period <= end_s)
        .collect();
    Trials {
        start_s: flashes.iter().map(|f| f.onset_s).collect(),
        stop_s: flashes.iter().map(|f| f.onset_s + period).collect(),
        condition: flashes
            .iter()
            .map(|f| f.kind.condition().to_string())
            .collect(),
    }
}

/// The simulation's summary: sizes, spectral radius, mean rates, activity and density.
fn sim_report(net: &Network, run: &Integrated, clock: &Clock, n_recorded: usize) -> SimReport {
    let nu = net.units.len();
    let steps = (clock.n_frames * clock.substeps) as f64;
    let mean_of = |want: crate::data::Sign| {
        let v: Vec<f64> = (0..nu)
            .filter(|&i| net.signs[i] == want)
            .map(|i| run.rate_sum[i] / steps)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    SimReport {
        n_units: nu,
        n_recorded,
        spectral_radius: net.spectral_radius,
        mean_rate_e: mean_of(crate::data::Sign::E),
        mean_rate_i: mean_of(crate::data::Sign::I),
        fraction_active: run
            .active_steps
            .iter()
            .filter(|&&a| a as f64 >= 0.1 * steps)
            .count() as f64
            / nu as f64,
        density: net.w_rec.iter().filter(|w| **w != 0.0).count() as f64 / (nu * nu) as f64,
    }
}

/// The true network as the recording stores it; `rec_units` map simulated units to columns.
fn ground_truth(net: &Network, rec_units: &[usize], rates: Option<Array2<f32>>) -> GroundTruth {
    let mut recorded_index = vec![-1i64; net.units.len()];
    for (col, &i) in rec_units.iter().enumerate() {
        recorded_index[i] = col as i64;
    }
    GroundTruth {
        w_rec: net.w_rec.clone(),
        w_in: net.w_in.clone(),
        tau_ms: net.tau_ms.clone(),
        area: net.units.iter().map(|u| u.area.clone()).collect(),
        layer: net.units.iter().map(|u| u.layer.clone()).collect(),
        cell_type: net.units.iter().map(|u| u.cell_type.clone()).collect(),
        recorded_index,
        spectral_radius: net.spectral_radius,
        rates,
    }
}

/// Integrate `net` with the units of `cfg.dynamics.kind`; the adaptive units first give `net`
/// their own time constants (so that the ground truth holds them).
fn run_dynamics(
    cfg: &SimConfig,
    net: &mut Network,
    clock: &Clock,
    session: &stimulus::Session,
    rng: &mut ChaCha8Rng,
) -> Integrated {
    match cfg.dynamics.kind {
        DynamicsKind::Rate => {
            let mut units = rate::RateUnits::new(net, clock.dt_s, cfg.network.private_noise);
            frames::integrate(cfg, net, clock, session, &mut units, rng)
        }
        DynamicsKind::Adaptive => {
            net.tau_ms = adaptive::unit_taus(cfg, net, clock.dt_s * 1000.0);
            let mut units = adaptive::AdaptiveUnits::new(cfg, net, clock.dt_s);
            frames::integrate(cfg, net, clock, session, &mut units, rng)
        }
    }
}

/// The recorded traces `[n_frames, recorded]` from the frame-averaged `calcium`
/// (`[n_frames, n_units]`): through the Hill indicator for `adaptive` with the indicator on, else
/// linearly (see [`observe`]).
fn record_traces(
    cfg: &SimConfig,
    calcium: &Array2<f32>,
    rec_units: &[usize],
    rng: &mut ChaCha8Rng,
) -> Array2<f32> {
    let obs = &cfg.observation;
    match cfg.dynamics.kind {
        DynamicsKind::Adaptive if obs.indicator => {
            adaptive::observe(obs, &cfg.dynamics, cfg.seed, calcium, rec_units, rng)
        }
        _ => observe(obs, calcium, rec_units, rng),
    }
}

/// Simulate the recording described by `cfg` with the units of `cfg.dynamics.kind`.
/// Deterministic for `cfg.seed`: the network, the session, the dynamics' noise, the recorded
/// subset, the observation and the depths are drawn from one random stream, in that order (the
/// adaptive simulator's own draws come from streams of their own, so both simulators share the
/// network, session, recorded units and depths of a seed).
pub fn simulate(cfg: &SimConfig) -> Result<(Recording, SimReport)> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let table = ProbabilityTable::read(&cfg.network.connectivity)?
        .with_pathways(&cfg.network.inter_area)?;
    let mut net = build_network(cfg, &table, &mut rng)?;
    let clock = Clock::of(cfg);
    let session = stimulus::draw_session(
        &cfg.stimulus,
        clock.n_frames * clock.substeps,
        clock.dt_s,
        &mut rng,
    );
    let run = run_dynamics(cfg, &mut net, &clock, &session, &mut rng);
    let rec_units = recorded_units(&net, cfg.network.recorded_fraction, &mut rng);
    let traces = record_traces(cfg, &run.calcium, &rec_units, &mut rng);
    let neurons = neuron_table(&net, &rec_units, &mut rng);
    let report = sim_report(&net, &run, &clock, rec_units.len());
    let recording = Recording {
        path: Default::default(),
        traces,
        kind: "dff".into(),
        timestamps_s: (0..clock.n_frames)
            .map(|f| f as f64 * clock.frame_s)
            .collect(),
        frame_rate_hz: cfg.observation.frame_rate_hz,
        neurons,
        inputs: Some(Inputs {
            names: INPUT_NAMES.iter().map(|s| s.to_string()).collect(),
            values: run.inputs,
        }),
        trials: Some(trials(cfg, &session, &clock)),
        ground_truth: Some(ground_truth(&net, &rec_units, run.rates)),
        dropped_frames: vec![],
        notes: vec![],
    };
    Ok((recording, report))
}
