//! What both simulators share around their units' own dynamics: the clock (frames, steps,
//! warm-up), the inputs as the network receives them, the recurrent drive, the GCaMP-like kernel,
//! the frame loop, and what an integration accumulates per frame.

use super::config::{per_type, ObservationSpec, SimConfig};
use super::network::Network;
use super::stimulus::{Session, INPUT_NAMES};
use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

/// Steps of the 2 s warm-up that precedes the recording (so that the file does not start in a
/// transient), for a step of `dt_s` seconds.
pub(super) fn warmup_steps(dt_s: f64) -> usize {
    (2.0 / dt_s) as usize
}

/// The simulation's clock: frames, substeps per frame and the step.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    /// Frame interval, s.
    pub frame_s: f64,
    /// Simulation steps per frame.
    pub substeps: usize,
    /// Simulation step, s.
    pub dt_s: f64,
    /// Recorded frames.
    pub n_frames: usize,
}

impl Clock {
    /// The clock of `cfg`: `observation.sim_dt_ms` rounded so that a frame holds whole steps.
    pub fn of(cfg: &SimConfig) -> Clock {
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

    /// Steps of warm-up plus recording.
    pub fn total_steps(&self) -> usize {
        warmup_steps(self.dt_s) + self.n_frames * self.substeps
    }

    /// The recorded step of simulation step `step` (`None` during the warm-up).
    pub fn recorded_step(&self, step: usize) -> Option<usize> {
        step.checked_sub(warmup_steps(self.dt_s))
    }
}

/// The session's inputs at each step: raw (as written to `/inputs`) and as the network receives
/// them (running speed z-scored with the stimulus' mean and sd).
#[derive(Debug, Clone, Copy)]
pub(super) struct InputScale {
    run_mean: f32,
    run_std: f32,
}

impl InputScale {
    /// The scaling of `cfg.stimulus`' running speed.
    pub fn of(cfg: &SimConfig) -> InputScale {
        InputScale {
            run_mean: cfg.stimulus.running_mean_cm_s as f32,
            run_std: cfg.stimulus.running_std_cm_s.max(1e-6) as f32,
        }
    }

    /// `(raw, network)` inputs at recorded step `rec_step`; during the warm-up (`None`) no
    /// flashes and the mean running speed.
    pub fn at(&self, session: &Session, rec_step: Option<usize>) -> ([f32; 4], [f32; 4]) {
        let u = rec_step
            .map(|s| session.inputs[s])
            .unwrap_or([0.0, 0.0, 0.0, self.run_mean]);
        let u_net = [u[0], u[1], u[2], (u[3] - self.run_mean) / self.run_std];
        (u, u_net)
    }
}

/// Each row's nonzero `(pre, weight)` pairs of a sparse `W[post, pre]` (a few % of entries).
pub(super) fn sparse_rows(w: &Array2<f32>) -> Vec<Vec<(usize, f32)>> {
    w.outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, w)| **w != 0.0)
                .map(|(j, w)| (j, *w))
                .collect()
        })
        .collect()
}

/// What an integration produced: the indicator signal per frame, the inputs per frame, and the
/// rate statistics of every unit.
pub(super) struct Integrated {
    /// The kernel's calcium (rate units; or the rate itself without an indicator) averaged within
    /// each frame, `[n_frames, n_units]`.
    pub calcium: Array2<f32>,
    /// Inputs averaged within each frame, `[n_frames, n_inputs]`.
    pub inputs: Array2<f32>,
    /// Sum of each unit's rate over the recorded steps.
    pub rate_sum: Vec<f64>,
    /// Recorded steps each unit was active.
    pub active_steps: Vec<u32>,
    /// Each unit's rate averaged within each frame, `[n_frames, n_units]` (when asked to save it).
    pub rates: Option<Array2<f32>>,
}

impl Integrated {
    /// Empty accumulators for `n_units` units over `clock`'s frames.
    pub fn new(clock: &Clock, n_units: usize, save_rates: bool) -> Integrated {
        let n_frames = clock.n_frames;
        Integrated {
            calcium: Array2::<f32>::zeros((n_frames, n_units)),
            inputs: Array2::<f32>::zeros((n_frames, INPUT_NAMES.len())),
            rate_sum: vec![0f64; n_units],
            active_steps: vec![0u32; n_units],
            rates: save_rates.then(|| Array2::<f32>::zeros((n_frames, n_units))),
        }
    }

    /// Add recorded step `rec_step`'s rates `r`, indicator signal and raw inputs `u`, each with
    /// weight `1 / substeps` into its frame.
    pub fn record(&mut self, clock: &Clock, rec_step: usize, r: &[f32], signal: &[f32], u: &[f32]) {
        let f = rec_step / clock.substeps;
        let inv = 1.0 / clock.substeps as f32;
        for i in 0..r.len() {
            self.calcium[[f, i]] += signal[i] * inv;
            self.rate_sum[i] += r[i] as f64;
            self.active_steps[i] += (r[i] > 0.0) as u32;
        }
        if let Some(rates) = self.rates.as_mut() {
            for i in 0..r.len() {
                rates[[f, i]] += r[i] * inv;
            }
        }
        for (k, uk) in u.iter().enumerate() {
            self.inputs[[f, k]] += uk * inv;
        }
    }
}

/// A population's own dynamics: what differs between the simulators. The frame loop computes
/// every unit's drive `b + W r + W_in u` from the rates of the previous step and hands it over.
pub(super) trait Units {
    /// Each unit's rate after the last step, `[n_units]`, rate units.
    fn rates(&self) -> &[f32];
    /// Advance one step of the clock's `dt_s` under `drive` (`[n_units]`, rate units), drawing
    /// exactly one standard normal per unit, in unit order, from `rng` (so that every simulator
    /// leaves the shared stream at the same place).
    fn step(&mut self, drive: &[f32], rng: &mut ChaCha8Rng);
}

/// The GCaMP-like kernel: a rise (`observation.rise_ms`) then a decay per cell type
/// (`observation.decay_ms`), each a first-order filter of the rate, in rate units.
struct Kernel {
    a_rise: f32,
    a_decay: Vec<f32>,
    c_rise: Vec<f32>,
    /// The indicator's calcium per unit, `[n_units]`, rate units.
    c_decay: Vec<f32>,
}

impl Kernel {
    /// The kernel of every unit of `net` for a step of `dt_s` seconds, at rest.
    fn new(obs: &ObservationSpec, net: &Network, dt_s: f64) -> Kernel {
        let nu = net.units.len();
        Kernel {
            a_rise: (dt_s * 1000.0 / obs.rise_ms) as f32,
            a_decay: net
                .units
                .iter()
                .map(|u| {
                    (dt_s * 1000.0 / per_type(&obs.decay_ms, &u.cell_type).unwrap_or(500.0)) as f32
                })
                .collect(),
            c_rise: vec![0f32; nu],
            c_decay: vec![0f32; nu],
        }
    }

    /// One step of both filters driven by the rates `r`.
    fn step(&mut self, r: &[f32]) {
        for (i, ri) in r.iter().enumerate() {
            self.c_rise[i] += self.a_rise * (ri - self.c_rise[i]);
            self.c_decay[i] += self.a_decay[i] * (self.c_rise[i] - self.c_decay[i]);
        }
    }
}

/// Each unit's drive `b + W r + W_in u_net` into `drive`, `[n_units]`.
fn drive_into(drive: &mut [f32], net: &Network, rows: &[Vec<(usize, f32)>], r: &[f32], u: &[f32]) {
    for (i, d) in drive.iter_mut().enumerate() {
        let mut acc = net.bias[i];
        for &(j, w) in &rows[i] {
            acc += w * r[j];
        }
        for (k, uk) in u.iter().enumerate() {
            acc += net.w_in[[i, k]] * uk;
        }
        *d = acc;
    }
}

/// Integrate `units` in `net` and the GCaMP-like kernel through the 2 s warm-up and the session,
/// accumulating per frame the kernel's calcium (or, with `observation.indicator: false`, the rate
/// itself), the inputs and each unit's rate statistics. The private noise comes from `rng`.
pub(super) fn integrate(
    cfg: &SimConfig,
    net: &Network,
    clock: &Clock,
    session: &Session,
    units: &mut impl Units,
    rng: &mut ChaCha8Rng,
) -> Integrated {
    let obs = &cfg.observation;
    let nu = net.units.len();
    let scale = InputScale::of(cfg);
    let rows = sparse_rows(&net.w_rec);
    let mut kernel = Kernel::new(obs, net, clock.dt_s);
    let mut drive = vec![0f32; nu];
    let mut hidden = super::hidden::HiddenSignal::new(cfg, net, clock.dt_s);
    let mut out = Integrated::new(clock, nu, obs.save_rates);
    let total_steps = clock.total_steps();
    let bar = crate::progress::bar(total_steps as u64, "simulating");
    for step in 0..total_steps {
        if step % 4096 == 0 {
            bar.set_position(step as u64);
        }
        let rec_step = clock.recorded_step(step);
        let (u, u_net) = scale.at(session, rec_step);
        drive_into(&mut drive, net, &rows, units.rates(), &u_net);
        if let Some(h) = hidden.as_mut() {
            h.step_into(&mut drive);
        }
        units.step(&drive, rng);
        kernel.step(units.rates());
        if let Some(s) = rec_step {
            let signal = if obs.indicator {
                &kernel.c_decay
            } else {
                units.rates()
            };
            out.record(clock, s, units.rates(), signal, &u);
        }
    }
    bar.finish_and_clear();
    out
}
