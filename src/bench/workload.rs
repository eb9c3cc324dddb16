//! The three benchmark workloads (`celltype`, `neurons`, `large`, and their small variants) as
//! fitrnn models: the same [`Rnn`], [`Params`], optimiser and training step the trainer uses.
//!
//! The spec indexes time as `u [B, T, D_in]` driving updates 1..T and outputs read after each
//! update; fitrnn predicts frames 1..T of a window from frame 0, with frame k's input driving the
//! update k → k+1. So a workload becomes windows of T + 1 frames: inputs at frames 0..T−1 (the last
//! frame's input is unused), targets at frames 1..T (frame 0's data is unused: zero initial state).

use crate::error::{Error, Result};
use crate::model::{Activation, InitialState, ReadoutInput};
use crate::model::{Params, Rnn};

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::collections::HashMap;
use std::path::Path;

/// Which workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Balwani et al.'s cell-type RNN: 1,440 units, 18 populations, B 200, T 15.
    Celltype,
    /// Single-neuron fit: 500 units (400 recorded), B 16, T 200.
    Neurons,
    /// Scale test: 5,000 units, all recorded, B 8, T 100.
    Large,
}

impl Kind {
    /// The workload's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Celltype => "celltype",
            Kind::Neurons => "neurons",
            Kind::Large => "large",
        }
    }
}

/// Sizes of one workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Units.
    pub n: usize,
    /// Inputs.
    pub d_in: usize,
    /// Sequences per batch.
    pub b: usize,
    /// Predicted time steps.
    pub t: usize,
    /// Predicted traces.
    pub n_out: usize,
    /// Connection probability of the mask.
    pub p_conn: f64,
}

impl Shape {
    /// The spec's sizes (full or `small`).
    pub fn of(kind: Kind, small: bool) -> Shape {
        let (n, d_in, b, t, n_out, p_conn) = match (kind, small) {
            (Kind::Celltype, false) => (1440, 18, 200, 15, 18, 0.3),
            (Kind::Celltype, true) => (90, 18, 8, 15, 18, 0.3),
            (Kind::Neurons, false) => (500, 8, 16, 200, 400, 0.2),
            (Kind::Neurons, true) => (50, 8, 4, 30, 40, 0.2),
            (Kind::Large, false) => (5000, 16, 8, 100, 5000, 0.1),
            (Kind::Large, true) => (100, 16, 2, 20, 100, 0.1),
        };
        Shape {
            n,
            d_in,
            b,
            t,
            n_out,
            p_conn,
        }
    }

    /// Matmul GFLOP of one training step by the spec's formula (forward × 3; the first recurrent
    /// product, on a zero state, not counted).
    pub fn gflop(&self, kind: Kind) -> f64 {
        let (n, b, t, d) = (
            self.n as f64,
            self.b as f64,
            self.t as f64,
            self.d_in as f64,
        );
        let fwd = (t - 1.0) * 2.0 * b * n * n
            + t * 2.0 * b * n * d
            + if kind == Kind::Celltype {
                t * 2.0 * b * n
            } else {
                0.0
            };
        3.0 * fwd / 1e9
    }
}

/// A workload ready to train: model, parameters, data, signs and mask.
#[derive(Debug)]
pub struct Workload {
    /// Which workload.
    pub kind: Kind,
    /// Its sizes.
    pub shape: Shape,
    /// The model structure.
    pub rnn: Rnn,
    /// Parameters.
    pub params: Params,
    /// Trainable parameters, in optimiser order.
    pub trainable: Vec<Var>,
    /// Targets `[T + 1, B, n_out]` (frame 0 unused).
    pub y: Tensor,
    /// Inputs `[T + 1, B, D_in]` (frame T unused).
    pub u: Tensor,
    /// Signs as a row `[1, N]`.
    pub sign_row: Tensor,
    /// Mask `[N, N]`.
    pub mask: Tensor,
}

fn t(v: Vec<f32>, shape: &[usize], dev: &Device) -> Result<Tensor> {
    Tensor::from_vec(v, shape, dev).map_err(Error::from)
}

/// The initial tensors of a workload, named as in the spec's export format.
pub type Tensors = HashMap<String, Tensor>;

/// Draw a workload's initial tensors from `seed` following the spec (its distributions, not
/// PyTorch's generator).
pub fn draw(kind: Kind, small: bool, seed: u64) -> Result<Tensors> {
    draw_shape(kind, Shape::of(kind, small), seed)
}

/// [`draw`] for any sizes (`celltype` needs N a multiple of 90; the leaky workloads record the
/// first `n_out` units).
pub fn draw_shape(kind: Kind, s: Shape, seed: u64) -> Result<Tensors> {
    let dev = Device::Cpu;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = s.n;
    let (sign, population) = signs_and_populations(kind, n);
    let mut mask = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            if i != j && rng.random::<f64>() < s.p_conn {
                mask[i * n + j] = 1.0;
            }
        }
    }
    let n_e = sign.iter().filter(|&&x| x > 0.0).count() as f32;
    let n_i = n as f32 - n_e;
    let mut w = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let m = match kind {
                Kind::Celltype => rng.random::<f32>() / (n as f32).sqrt(),
                _ => {
                    let k = if sign[j] > 0.0 { 1.0 } else { n_e / n_i };
                    k * rng.random::<f32>() / (s.p_conn as f32 * n as f32)
                }
            };
            w[i * n + j] = sign[j] * m * mask[i * n + j];
        }
    }
    let bound = 1.0 / (s.d_in as f32).sqrt();
    let w_in: Vec<f32> = (0..n * s.d_in)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    let mut out = Tensors::new();
    out.insert("w_rec".into(), t(w, &[n, n], &dev)?);
    out.insert("w_in".into(), t(w_in, &[n, s.d_in], &dev)?);
    out.insert("mask".into(), t(mask, &[n, n], &dev)?);
    out.insert("sign".into(), t(sign.clone(), &[n], &dev)?);
    if kind == Kind::Celltype {
        let p = 18;
        let mut size = vec![0usize; p];
        for &q in &population {
            size[q] += 1;
        }
        let mut readout = vec![0f32; p * n];
        for (j, &q) in population.iter().enumerate() {
            let bnd = 1.0 / (size[q] as f32).sqrt();
            readout[q * n + j] = rng.random_range(-bnd..bnd);
        }
        let c: Vec<f32> = (0..p)
            .map(|q| {
                let bnd = 1.0 / (size[q] as f32).sqrt();
                rng.random_range(-bnd..bnd)
            })
            .collect();
        out.insert("readout_matrix".into(), t(readout, &[p, n], &dev)?);
        out.insert("readout_c".into(), t(c, &[p], &dev)?);
    } else {
        out.insert("b".into(), t(vec![0.0; n], &[n], &dev)?);
        out.insert("readout_g".into(), t(vec![1.0; s.n_out], &[s.n_out], &dev)?);
        out.insert("readout_c".into(), t(vec![0.0; s.n_out], &[s.n_out], &dev)?);
    }
    let inputs: Vec<f32> = (0..s.b * s.t * s.d_in)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect();
    let targets: Vec<f32> = (0..s.b * s.t * s.n_out).map(|_| rng.random()).collect();
    out.insert("inputs".into(), t(inputs, &[s.b, s.t, s.d_in], &dev)?);
    out.insert("targets".into(), t(targets, &[s.b, s.t, s.n_out], &dev)?);
    Ok(out)
}

/// Signs (+1 / −1) and, for `celltype`, population indices of the units.
fn signs_and_populations(kind: Kind, n: usize) -> (Vec<f32>, Vec<usize>) {
    match kind {
        Kind::Celltype => {
            let per = n / 6; // 2 areas × 3 layers, each [E, I, I] in 12 : 2 : 1 proportions
            let (e, i1) = (per * 12 / 15, per * 2 / 15);
            let mut sign = Vec::with_capacity(n);
            let mut pop = Vec::with_capacity(n);
            for al in 0..6 {
                for k in 0..per {
                    let ty = if k < e {
                        0
                    } else if k < e + i1 {
                        1
                    } else {
                        2
                    };
                    sign.push(if ty == 0 { 1.0 } else { -1.0 });
                    pop.push(al * 3 + ty);
                }
            }
            (sign, pop)
        }
        _ => (
            (0..n)
                .map(|i| if i % 5 == 4 { -1.0 } else { 1.0 })
                .collect(),
            vec![0; n],
        ),
    }
}

/// Load a workload's initial tensors from `dir/<name>.safetensors` (the spec's export format).
pub fn load(kind: Kind, dir: &Path) -> Result<Tensors> {
    let path = dir.join(format!("{}.safetensors", kind.name()));
    candle_core::safetensors::load(&path, &Device::Cpu).map_err(|e| Error::Data {
        file: path.clone(),
        location: "/".into(),
        problem: format!("cannot read the exported tensors: {e}"),
        fix: "export them with bench/torch_bench.py --export DIR".into(),
    })
}

fn get<'a>(ts: &'a Tensors, k: &str) -> Result<&'a Tensor> {
    ts.get(k).ok_or_else(|| Error::Unsupported {
        problem: format!("the exported workload tensors lack `{k}`"),
        fix: "export them again with bench/torch_bench.py --export DIR".into(),
    })
}

impl Workload {
    /// Build the fitrnn model of `kind` from its initial tensors, on `device`.
    pub fn new(kind: Kind, ts: &Tensors, device: &Device) -> Result<Workload> {
        let w_rec = get(ts, "w_rec")?;
        let (n, _) = w_rec.dims2()?;
        let inputs = get(ts, "inputs")?;
        let targets = get(ts, "targets")?;
        let (b, t_len, d_in) = inputs.dims3()?;
        let n_out = targets.dim(2)?;
        let to = |x: &Tensor| x.to_device(device).map_err(Error::from);
        let var = |x: &Tensor| Var::from_tensor(&to(x)?).map_err(Error::from);
        let row = |x: &Tensor| -> Result<Tensor> { to(&x.reshape((1, x.elem_count()))?) };
        // [B, T, ·] → [T + 1, B, ·]: inputs gain an unused last frame, targets an unused first.
        let frames = |x: &Tensor, pad_front: bool| -> Result<Tensor> {
            let x = x.transpose(0, 1)?;
            let zero = x.get(0).and_then(|f| f.zeros_like())?;
            let zero = zero.unsqueeze(0)?;
            let parts = if pad_front { [&zero, &x] } else { [&x, &zero] };
            to(&Tensor::cat(&parts, 0)?)
        };
        let zeros_row = |k: usize| Tensor::zeros((1, k), DType::F32, device).map_err(Error::from);
        let ones_row = |k: usize| Tensor::ones((1, k), DType::F32, device).map_err(Error::from);
        let (rnn, params, trainable) = match kind {
            Kind::Celltype => {
                let rm = get(ts, "readout_matrix")?;
                let rnn = Rnn {
                    n_units: n,
                    n_rec: n,
                    alpha: ones_row(n)?,
                    tau: None,
                    forcing: 0.0,
                    latent: None,
                    nonnegative_inputs: false,
                    activation: Activation::TanhRelu,
                    initial_state: InitialState::Zero,
                    readout: Some(to(&rm.t().and_then(|x| x.contiguous())?)?),
                    readout_input: ReadoutInput::Unrectified,
                    calcium: None,
                };
                let params = Params {
                    w_rec: var(w_rec)?,
                    w_in: var(get(ts, "w_in")?)?,
                    b: Var::from_tensor(&zeros_row(n)?)?,
                    gain: Var::from_tensor(&ones_row(n_out)?)?,
                    offset: Var::from_tensor(&row(get(ts, "readout_c")?)?)?,
                    x0: Var::from_tensor(&zeros_row(n)?)?,
                    calcium_log_tau: Params::no_calcium(device)?,
                    log_tau: Params::fixed_tau(device)?,
                    latent: Params::no_latent(device)?,
                };
                let tr = params.trainable(false, false, false);
                (rnn, params, tr)
            }
            Kind::Neurons | Kind::Large => {
                let rnn = Rnn {
                    n_units: n,
                    n_rec: n_out,
                    alpha: (ones_row(n)? * 0.5)?,
                    tau: None,
                    forcing: 0.0,
                    latent: None,
                    nonnegative_inputs: false,
                    activation: Activation::Relu,
                    initial_state: InitialState::Zero,
                    readout: None,
                    readout_input: ReadoutInput::Rate,
                    calcium: None,
                };
                let params = Params {
                    w_rec: var(w_rec)?,
                    w_in: var(get(ts, "w_in")?)?,
                    b: Var::from_tensor(&row(get(ts, "b")?)?)?,
                    gain: Var::from_tensor(&row(get(ts, "readout_g")?)?)?,
                    offset: Var::from_tensor(&row(get(ts, "readout_c")?)?)?,
                    x0: Var::from_tensor(&zeros_row(n)?)?,
                    calcium_log_tau: Params::no_calcium(device)?,
                    log_tau: Params::fixed_tau(device)?,
                    latent: Params::no_latent(device)?,
                };
                let tr = params.trainable(true, true, false);
                (rnn, params, tr)
            }
        };
        Ok(Workload {
            kind,
            shape: Shape {
                n,
                d_in,
                b,
                t: t_len,
                n_out,
                p_conn: 0.0,
            },
            rnn,
            params,
            trainable,
            y: frames(targets, true)?,
            u: frames(inputs, false)?,
            sign_row: row(get(ts, "sign")?)?,
            mask: to(get(ts, "mask")?)?,
        })
    }
}
