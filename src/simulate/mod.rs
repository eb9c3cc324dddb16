//! `fitrnn simulate`: recordings with a known answer.
//!
//! A Dale's-law rate network of (area, layer, cell type) populations (connection probabilities from
//! a table, log-normal magnitudes, inter-area feed-forward and feedback pathways) is driven by a
//! Visual-Behavior-like stimulus, running speed and private noise:
//! `τ dx/dt = −x + W r + W_in u + b + noise`, `r = max(x, 0)`, integrated with Euler steps of
//! `sim_dt_ms`. Rates are imaged through a GCaMP-like kernel (rise `rise_ms`, decay per cell type),
//! averaged within each frame, scaled by a per-neuron gain and corrupted by Gaussian noise. The file
//! carries the full ground truth (`/ground_truth`), including units left unrecorded.

pub mod config;
pub mod network;
pub mod stimulus;

pub use config::SimConfig;
pub use network::{build_network, Network};

use crate::connectivity::ProbabilityTable;
use crate::data::{GroundTruth, Inputs, NeuronIds, NeuronTable, Recording, Trials};
use crate::error::Result;
use config::per_type;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal, StandardNormal};
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

/// Steps of the 2 s warm-up that precedes the recording.
fn warmup_steps(dt_s: f64) -> usize {
    (2.0 / dt_s) as usize
}

/// The simulation's clock: frames, Euler substeps per frame and the step, s.
#[derive(Debug, Clone, Copy)]
struct Clock {
    frame_s: f64,
    substeps: usize,
    dt_s: f64,
    n_frames: usize,
}

impl Clock {
    fn of(cfg: &SimConfig) -> Clock {
        let obs = &cfg.observation;
        let frame_s = 1.0 / obs.frame_rate_hz;
        let substeps = ((frame_s * 1000.0 / obs.sim_dt_ms).round() as usize).max(1);
        Clock {
            frame_s,
            substeps,
            dt_s: frame_s / substeps as f64,
            n_frames: (cfg.stimulus.duration_s * obs.frame_rate_hz).floor() as usize,
        }
    }
}

/// What the integration produced: the indicator signal per frame, the inputs per frame, and the
/// rate statistics of every unit.
struct Integrated {
    /// Indicator signal (or the rate itself without an indicator) averaged within each frame,
    /// `[n_frames, n_units]`.
    calcium: Array2<f32>,
    /// Inputs averaged within each frame, `[n_frames, n_inputs]`.
    inputs: Array2<f32>,
    /// Sum of each unit's rate over the recorded steps.
    rate_sum: Vec<f64>,
    /// Recorded steps each unit was active.
    active_steps: Vec<u32>,
    /// Each unit's rate averaged within each frame, `[n_frames, n_units]` (when asked to save it).
    rates: Option<Array2<f32>>,
}

/// Integrate the network's dynamics and the GCaMP-like indicator through a 2 s warm-up and the
/// session, with private noise drawn from `rng` (one draw per unit and step).
fn integrate(
    cfg: &SimConfig,
    net: &Network,
    clock: &Clock,
    session: &stimulus::Session,
    rng: &mut ChaCha8Rng,
) -> Integrated {
    let obs = &cfg.observation;
    let (dt_s, substeps, n_frames) = (clock.dt_s, clock.substeps, clock.n_frames);
    let nu = net.units.len();
    let alpha: Vec<f32> = net
        .tau_ms
        .iter()
        .map(|t| (dt_s * 1000.0 / *t as f64) as f32)
        .collect();
    let noise_scale: Vec<f32> = alpha
        .iter()
        .map(|a| (cfg.network.private_noise * (2.0 * *a as f64).sqrt()) as f32)
        .collect();
    let a_rise = (dt_s * 1000.0 / obs.rise_ms) as f32;
    let a_decay: Vec<f32> = net
        .units
        .iter()
        .map(|u| (dt_s * 1000.0 / per_type(&obs.decay_ms, &u.cell_type).unwrap_or(500.0)) as f32)
        .collect();
    let (run_mean, run_std) = (
        cfg.stimulus.running_mean_cm_s as f32,
        cfg.stimulus.running_std_cm_s.max(1e-6) as f32,
    );
    // W is sparse (a few % of entries): keep each row's nonzero (pre, weight) pairs.
    let sparse_rows: Vec<Vec<(usize, f32)>> = net
        .w_rec
        .outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, w)| **w != 0.0)
                .map(|(j, w)| (j, *w))
                .collect()
        })
        .collect();
    // Warm-up of 2 s without recording, so the file does not start in a transient.
    let warmup = warmup_steps(dt_s);
    let total_steps = warmup + n_frames * substeps;
    let bar = crate::progress::bar(total_steps as u64, "simulating");
    let mut x = vec![0f32; nu];
    let mut r = vec![0f32; nu];
    let mut drive = vec![0f32; nu];
    let (mut c_rise, mut c_decay) = (vec![0f32; nu], vec![0f32; nu]);
    let mut out = Integrated {
        calcium: Array2::<f32>::zeros((n_frames, nu)),
        inputs: Array2::<f32>::zeros((n_frames, INPUT_NAMES.len())),
        rate_sum: vec![0f64; nu],
        active_steps: vec![0u32; nu],
        rates: obs.save_rates.then(|| Array2::<f32>::zeros((n_frames, nu))),
    };
    for step in 0..total_steps {
        if step % 4096 == 0 {
            bar.set_position(step as u64);
        }
        let rec_step = step.checked_sub(warmup);
        let u = rec_step
            .map(|s| session.inputs[s])
            .unwrap_or([0.0, 0.0, 0.0, run_mean]);
        let u_net = [u[0], u[1], u[2], (u[3] - run_mean) / run_std];
        for (i, d) in drive.iter_mut().enumerate() {
            let mut acc = net.bias[i];
            for &(j, w) in &sparse_rows[i] {
                acc += w * r[j];
            }
            for (k, uk) in u_net.iter().enumerate() {
                acc += net.w_in[[i, k]] * uk;
            }
            *d = acc;
        }
        for i in 0..nu {
            let xi: f32 = StandardNormal.sample(rng);
            x[i] += alpha[i] * (drive[i] - x[i]) + noise_scale[i] * xi;
            r[i] = x[i].max(0.0);
            c_rise[i] += a_rise * (r[i] - c_rise[i]);
            c_decay[i] += a_decay[i] * (c_rise[i] - c_decay[i]);
        }
        if let Some(s) = rec_step {
            let f = s / substeps;
            let inv = 1.0 / substeps as f32;
            for i in 0..nu {
                let signal = if obs.indicator { c_decay[i] } else { r[i] };
                out.calcium[[f, i]] += signal * inv;
                out.rate_sum[i] += r[i] as f64;
                out.active_steps[i] += (r[i] > 0.0) as u32;
            }
            if let Some(rates) = out.rates.as_mut() {
                for i in 0..nu {
                    rates[[f, i]] += r[i] * inv;
                }
            }
            for (k, uk) in u.iter().enumerate() {
                out.inputs[[f, k]] += uk * inv;
            }
        }
    }
    bar.finish_and_clear();
    out
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

/// Simulate the recording described by `cfg`. Deterministic for `cfg.seed`: the network, the
/// session, the dynamics' noise, the recorded subset, the observation and the depths are drawn
/// from one random stream, in that order.
pub fn simulate(cfg: &SimConfig) -> Result<(Recording, SimReport)> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let table = ProbabilityTable::read(&cfg.network.connectivity)?
        .with_pathways(&cfg.network.inter_area)?;
    let net = build_network(cfg, &table, &mut rng)?;
    let clock = Clock::of(cfg);
    let session = stimulus::draw_session(
        &cfg.stimulus,
        clock.n_frames * clock.substeps,
        clock.dt_s,
        &mut rng,
    );
    let run = integrate(cfg, &net, &clock, &session, &mut rng);
    let rec_units = recorded_units(&net, cfg.network.recorded_fraction, &mut rng);
    let traces = observe(&cfg.observation, &run.calcium, &rec_units, &mut rng);
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
