//! Builders for what tests need over and over: run directories written through fitrnn's own
//! manifest and row types (so a test's fake run has exactly the schema of a real one).

use fitrnn::rundir::tables::{self, CurrentRow, InteractionRow, Table};
use fitrnn::rundir::{Manifest, RunPaths, Status};
use std::path::{Path, PathBuf};

/// A run directory with a manifest and the tables a test fills in; everything else is absent.
pub struct RunDirBuilder {
    paths: RunPaths,
    manifest: Manifest,
    interactions: Vec<InteractionRow>,
    currents: Vec<CurrentRow>,
}

impl RunDirBuilder {
    /// A complete run at `dir`, with no tables yet.
    pub fn new(dir: &Path) -> Self {
        let manifest: Manifest =
            serde_json::from_str(r#"{"status": "complete"}"#).expect("a minimal manifest");
        RunDirBuilder {
            paths: RunPaths::new(dir),
            manifest,
            interactions: vec![],
            currents: vec![],
        }
    }

    /// Set the run's status.
    pub fn status(mut self, status: Status) -> Self {
        self.manifest.status = status;
        self
    }

    /// A block of `interactions.parquet` with its signed and absolute mean weight (`n_pre` =
    /// `n_post` = 10, fully connected).
    pub fn interaction(
        mut self,
        (level, stage): (&str, &str),
        (pre, post): (&str, &str),
        mean_w: f64,
        mean_abs_w: f64,
    ) -> Self {
        self.interactions.push(InteractionRow {
            level: level.into(),
            stage: stage.into(),
            pre: pre.into(),
            post: post.into(),
            n_pre: 10,
            n_post: 10,
            n_possible: 100,
            n_nonzero: 100,
            density: 1.0,
            mean_w,
            mean_abs_w,
            sum_w: 100.0 * mean_w,
            mean_w_ci_low: f64::NAN,
            mean_w_ci_high: f64::NAN,
            sign_determined: None,
            identifiable: None,
        });
        self
    }

    /// A row of `currents.parquet` with its mean current (|current| the same).
    pub fn current(
        mut self,
        (level, split): (&str, &str),
        (source, target, source_sign): (&str, &str, &str),
        mean_current: f64,
    ) -> Self {
        self.currents.push(CurrentRow {
            level: level.into(),
            split: split.into(),
            source: source.into(),
            target: target.into(),
            source_sign: source_sign.into(),
            mean_current,
            mean_abs_current: mean_current.abs(),
            mean_current_ci_low: f64::NAN,
            mean_current_ci_high: f64::NAN,
            identifiable: None,
        });
        self
    }

    /// The last current added gets the interval `(low, high)` and the self-check flag
    /// `identifiable`, as an ensemble writes them.
    pub fn with_interval(mut self, (low, high): (f64, f64), identifiable: Option<bool>) -> Self {
        let last = self.currents.last_mut().expect("a current to annotate");
        last.mean_current_ci_low = low;
        last.mean_current_ci_high = high;
        last.identifiable = identifiable;
        self
    }

    /// Write the manifest and every table given; returns the run directory.
    pub fn write(self) -> PathBuf {
        std::fs::create_dir_all(self.paths.tables_dir()).unwrap();
        self.manifest.write(&self.paths.manifest()).unwrap();
        if !self.interactions.is_empty() {
            tables::write(&self.paths.table(InteractionRow::NAME), &self.interactions).unwrap();
        }
        if !self.currents.is_empty() {
            tables::write(&self.paths.table(CurrentRow::NAME), &self.currents).unwrap();
        }
        self.paths.root().to_path_buf()
    }
}

/// Standard-normal draws times `scale`, as an f32 tensor of `shape` on `device`.
pub fn randn(
    shape: &[usize],
    scale: f64,
    rng: &mut rand_chacha::ChaCha8Rng,
    device: &candle_core::Device,
) -> candle_core::Tensor {
    use rand::Rng;
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| (rng.sample::<f64, _>(rand_distr::StandardNormal) * scale) as f32)
        .collect();
    candle_core::Tensor::from_vec(v, shape, device).unwrap()
}

/// Uniform draws in `[lo, hi)`, as an f32 tensor of `shape` on `device`.
pub fn uniform(
    shape: &[usize],
    lo: f32,
    hi: f32,
    rng: &mut rand_chacha::ChaCha8Rng,
    device: &candle_core::Device,
) -> candle_core::Tensor {
    use rand::Rng;
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
    candle_core::Tensor::from_vec(v, shape, device).unwrap()
}

/// A small rate RNN and random parameters for model tests: `n` units of which the first
/// `n_rec` are read out one to one (or a population readout onto `populations` traces), leaks
/// U(0.2, 1), and parameters drawn in a fixed order from the seed's stream.
#[derive(Debug, Clone)]
pub struct NetBuilder {
    /// Units.
    pub n: usize,
    /// Recorded units (read one to one) when `populations` is `None`.
    pub n_rec: usize,
    /// Input channels.
    pub inputs: usize,
    /// φ.
    pub activation: fitrnn::model::Activation,
    /// How a window's state starts.
    pub initial_state: fitrnn::model::InitialState,
    /// What the readout reads.
    pub readout_input: fitrnn::model::ReadoutInput,
    /// A random population readout onto this many traces, instead of one to one.
    pub populations: Option<usize>,
    /// Learned time constants in this many groups (unit i in group i mod k, 100-ms frames,
    /// τ U(100, 500) ms), instead of fixed leaks.
    pub learned_tau: Option<usize>,
    /// Generalized teacher forcing of the training loss (γ).
    pub forcing: f64,
    /// Inferred inputs: this many channels (rounded up to even) after the measured `inputs`,
    /// on 8 knots 3 frames apart (values N(0, 1)); even units read the first half, odd units
    /// the second (two "areas"); penalty 0.05.
    pub latent: Option<usize>,
}

impl NetBuilder {
    /// `n` units, all recorded, softplus, learned initial state, no inputs.
    pub fn new(n: usize) -> Self {
        NetBuilder {
            n,
            n_rec: n,
            inputs: 0,
            activation: fitrnn::model::Activation::Softplus,
            initial_state: fitrnn::model::InitialState::Learned,
            readout_input: fitrnn::model::ReadoutInput::Rate,
            populations: None,
            learned_tau: None,
            forcing: 0.0,
            latent: None,
        }
    }

    /// Traces read out: `populations`, else `n_rec`.
    pub fn n_out(&self) -> usize {
        self.populations.unwrap_or(self.n_rec)
    }

    /// The network and its parameters on `device`, drawn from `rng`: the population readout
    /// N(0, 0.5²) (if any) and the leaks, then `W_rec` N(0, 0.4²), `W_in` N(0, 0.5²), `b`
    /// N(0, 0.2²), gain U(0.5, 1.5), offset N(0, 0.1²) and `x0` N(0, 0.5²).
    pub fn build(
        &self,
        rng: &mut rand_chacha::ChaCha8Rng,
        device: &candle_core::Device,
    ) -> (fitrnn::model::Rnn, fitrnn::model::Params) {
        use candle_core::Var;
        let n = self.n;
        let readout = self.populations.map(|k| randn(&[n, k], 0.5, rng, device));
        let rnn = fitrnn::model::Rnn {
            n_units: n,
            n_rec: self.n_rec,
            alpha: uniform(&[1, n], 0.2, 1.0, rng, device),
            tau: None,
            forcing: self.forcing,
            activation: self.activation,
            initial_state: self.initial_state,
            readout,
            readout_input: self.readout_input,
            calcium: None,
            latent: None,
            nonnegative_inputs: false,
        };
        let var = |t: candle_core::Tensor| Var::from_tensor(&t).unwrap();
        let n_out = self.n_out();
        let p = fitrnn::model::Params {
            w_rec: var(randn(&[n, n], 0.4, rng, device)),
            w_in: var(randn(&[n, self.inputs], 0.5, rng, device)),
            b: var(randn(&[1, n], 0.2, rng, device)),
            gain: var(uniform(&[1, n_out], 0.5, 1.5, rng, device)),
            offset: var(randn(&[1, n_out], 0.1, rng, device)),
            x0: var(randn(&[1, n], 0.5, rng, device)),
            calcium_log_tau: fitrnn::model::Params::no_calcium(device).unwrap(),
            log_tau: fitrnn::model::Params::fixed_tau(device).unwrap(),
            latent: fitrnn::model::Params::no_latent(device).unwrap(),
        };
        // Drawn last, so that the other parameters do not depend on it.
        let (mut rnn, mut p) = (rnn, p);
        if let Some(k) = self.learned_tau {
            let mut onehot = vec![0f32; k * n];
            for i in 0..n {
                onehot[(i % k) * n + i] = 1.0;
            }
            rnn.tau = Some(fitrnn::model::LearnedTau {
                dt_ms: 100.0,
                groups: candle_core::Tensor::from_vec(onehot, (k, n), device).unwrap(),
            });
            p.log_tau = var(uniform(&[1, k], 100f32.ln(), 500f32.ln(), rng, device));
        }
        if let Some(k) = self.latent {
            // Two "areas": even units read the first half of the channels, odd units the rest.
            let per_area = k.div_ceil(2);
            let area_of: Vec<usize> = (0..n).map(|i| i % 2).collect();
            let mask =
                fitrnn::model::LatentDrive::mask_for(&area_of, self.inputs, per_area, device)
                    .unwrap();
            let channels = 2 * per_area;
            let drive = fitrnn::model::LatentDrive {
                n_measured: self.inputs,
                n_channels: channels,
                frames_per_knot: 3.0,
                n_knots: 8,
                input_mask: mask.clone(),
                l2: 0.05,
            };
            let w_lat = randn(&[n, channels], 0.5, rng, device);
            let w_in = candle_core::Tensor::cat(&[p.w_in.as_tensor(), &w_lat], 1)
                .unwrap()
                .mul(&mask)
                .unwrap();
            p.w_in = var(w_in);
            p.latent = var(randn(&[drive.n_knots, channels], 1.0, rng, device));
            rnn.latent = Some(drive);
        }
        (rnn, p)
    }
}
