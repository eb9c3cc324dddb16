//! Training-speed benchmarks: the workloads of the benchmark spec trained with the trainer's own
//! step ([`crate::train::train_step`]: forward, MSE, backward, Adam, Dale projection, mask),
//! timed step by step, and their 10-step trajectories for checking against the PyTorch reference.

pub mod one_step;
pub mod workload;

use crate::config::{Dale, Optimiser};
use crate::error::{Error, Result};
use crate::train::{train_step, Backward, Optim, OptimConfig};
use serde::Serialize;
use std::time::Instant;
pub use workload::{Kind, Shape, Tensors, Workload};

/// Adam as the spec fixes it: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.
pub fn adam() -> OptimConfig {
    OptimConfig {
        kind: Optimiser::Adam,
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        momentum: 0.0,
    }
}

/// One training step of `w` with `opt`; returns the loss of its forward pass.
pub fn step(w: &Workload, opt: &mut Optim, backward: Backward) -> Result<f64> {
    train_step(
        &w.rnn,
        &w.params,
        opt,
        &w.y,
        &w.u,
        &w.sign_row,
        &w.mask,
        Dale::Projection,
        None,
        None,
        backward,
    )
}

/// A 10-step (or `steps`-step) trajectory, as the spec's export records it.
#[derive(Debug, Clone, Serialize)]
pub struct Trajectory {
    /// Loss of the forward pass of each step (step k uses the parameters after k − 1 updates).
    pub losses: Vec<f64>,
    /// Σ|W_rec| after each update (projection and mask included), summed in f64.
    pub sum_abs_w_rec: Vec<f64>,
    /// Forward-only loss after the last update.
    pub loss_after: f64,
}

fn sum_abs(w: &Workload) -> Result<f64> {
    let v = w
        .params
        .w_rec
        .as_tensor()
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())?;
    Ok(v.iter().map(|x| x.abs() as f64).sum())
}

/// Train `w` for `steps` steps and record the trajectory.
pub fn trajectory(w: &Workload, steps: usize, backward: Backward) -> Result<Trajectory> {
    let mut opt = Optim::new(adam(), w.trainable.clone(), vec![false; w.trainable.len()])?;
    let mut losses = Vec::new();
    let mut sums = Vec::new();
    for _ in 0..steps {
        losses.push(step(w, &mut opt, backward)?);
        sums.push(sum_abs(w)?);
    }
    let loss_after = w
        .rnn
        .loss(&w.params, &w.y, &w.u)
        .and_then(|l| l.to_scalar::<f32>())? as f64;
    Ok(Trajectory {
        losses,
        sum_abs_w_rec: sums,
        loss_after,
    })
}

/// One benchmark result, with the field names of the PyTorch reference's JSON lines.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// Workload name.
    pub workload: &'static str,
    /// Small variant.
    pub small: bool,
    /// `cpu` or `cuda`.
    pub device: String,
    /// CPU threads (0 = all cores).
    pub threads: usize,
    /// `fitrnn <version>`.
    pub implementation: String,
    /// How gradients were computed (`bptt` or `autograd`).
    pub backward: &'static str,
    /// Units.
    #[serde(rename = "N")]
    pub n: usize,
    /// Batch.
    #[serde(rename = "B")]
    pub b: usize,
    /// Time steps.
    #[serde(rename = "T")]
    pub t: usize,
    /// Inputs.
    #[serde(rename = "D_in")]
    pub d_in: usize,
    /// Outputs.
    pub n_out: usize,
    /// Seed of the drawn tensors.
    pub seed: u64,
    /// Untimed steps.
    pub warmup: usize,
    /// Timed steps.
    pub steps: usize,
    /// Median ms per timed step.
    pub ms_median: f64,
    /// Fastest step, ms.
    pub ms_min: f64,
    /// Slowest step, ms.
    pub ms_max: f64,
    /// Wall time of the warm-up steps, s.
    pub warmup_s: f64,
    /// Loss of step 1.
    pub loss_first: f64,
    /// Loss of the last step.
    pub loss_last: f64,
    /// Matmul GFLOP per step (spec formula).
    pub gflop_per_step: f64,
    /// GFLOP/s at the median step time.
    pub gflops: f64,
    /// Peak resident memory of the process, MiB (Linux; 0 elsewhere).
    pub peak_rss_mib: f64,
    /// Size of one checkpoint of this workload (parameters, best and dense copies, optimiser
    /// moments), MiB: what a fit writes every time its checkpoint policy fires.
    pub checkpoint_mib: f64,
    /// Wall time to write that checkpoint, ms.
    pub checkpoint_ms: f64,
}

/// Write one checkpoint of `w` as a fit would (current, best and dense parameters, the mask, the
/// initial weights and both Adam moments of every trainable variable) into a temporary run
/// directory; returns its size in MiB and the time it took in ms.
pub fn checkpoint_cost(w: &Workload) -> Result<(f64, f64)> {
    use crate::rundir::checkpoint::Checkpoint;
    use crate::rundir::RunPaths;
    let params = crate::model::ParamsCpu::from_params(&w.params)?;
    let mask = crate::model::to_array2(&w.mask)?;
    let mut st = Checkpoint::fresh(params.clone(), mask, params.w_rec.clone(), w.shape.b);
    st.best = Some((0.0, params.clone()));
    st.dense = Some(params);
    st.opt_slots = w
        .trainable
        .iter()
        .map(|v| {
            let n = v.as_tensor().elem_count();
            (v.as_tensor().dims().to_vec(), vec![0f32; n], vec![0f32; n])
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("fitrnn-bench-checkpoint-{}", std::process::id()));
    let paths = RunPaths::new(&dir);
    let t0 = Instant::now();
    let saved = st.save(&paths);
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let bytes = std::fs::metadata(paths.checkpoint()).map(|m| m.len());
    let _ = std::fs::remove_dir_all(&dir);
    saved?;
    let bytes = bytes.map_err(|e| Error::io(&paths.checkpoint(), "measuring the checkpoint", e))?;
    Ok((bytes as f64 / (1024.0 * 1024.0), ms))
}

/// Peak resident set size of this process in MiB, from /proc (0 where unavailable).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Time `steps` training steps of `w` after `warmup` untimed ones (each step timed on its own;
/// on CUDA the device is synchronised before and after).
pub fn run(
    w: &Workload,
    warmup: usize,
    steps: usize,
    backward: Backward,
) -> Result<(Vec<f64>, f64, f64, f64)> {
    let mut opt = Optim::new(adam(), w.trainable.clone(), vec![false; w.trainable.len()])?;
    let dev = w.y.device().clone();
    let sync = || dev.synchronize().map_err(crate::Error::from);
    let t0 = Instant::now();
    let mut first = f64::NAN;
    let mut last = f64::NAN;
    for k in 0..warmup {
        let l = step(w, &mut opt, backward)?;
        if k == 0 {
            first = l;
        }
        last = l;
    }
    sync()?;
    let warmup_s = t0.elapsed().as_secs_f64();
    let mut ms = Vec::with_capacity(steps);
    for k in 0..steps {
        sync()?;
        let t = Instant::now();
        let l = step(w, &mut opt, backward)?;
        sync()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if warmup == 0 && k == 0 {
            first = l;
        }
        last = l;
    }
    Ok((ms, warmup_s, first, last))
}

/// Median, min and max of `v`.
pub fn summary(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    (med, s[0], s[n - 1])
}

/// How a workload is measured: steps, warm-up and the settings recorded beside the times.
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    /// Untimed steps first.
    pub warmup: usize,
    /// Timed steps.
    pub steps: usize,
    /// How gradients are computed.
    pub backward: Backward,
    /// The small variant.
    pub small: bool,
    /// CPU threads (0 = all cores), as asked.
    pub threads: usize,
    /// Seed of the drawn tensors.
    pub seed: u64,
}

/// Time `w` (of `kind`) as `m` says, with the result in the reference script's field names.
pub fn measure(w: &Workload, kind: Kind, m: Measure) -> Result<BenchResult> {
    let (ms, warmup_s, first, last) = run(w, m.warmup, m.steps, m.backward)?;
    let (med, min, max) = summary(&ms);
    let gflop = w.shape.gflop(kind);
    let (checkpoint_mib, checkpoint_ms) = checkpoint_cost(w)?;
    Ok(BenchResult {
        workload: kind.name(),
        small: m.small,
        device: if w.y.device().is_cuda() {
            "cuda".into()
        } else {
            "cpu".into()
        },
        threads: m.threads,
        implementation: format!("fitrnn {}", env!("CARGO_PKG_VERSION")),
        backward: match m.backward {
            Backward::Bptt => "bptt",
            Backward::BpttDense => "bptt-dense",
            Backward::Autograd => "autograd",
            Backward::Es(_) => "es",
        },
        n: w.shape.n,
        b: w.shape.b,
        t: w.shape.t,
        d_in: w.shape.d_in,
        n_out: w.shape.n_out,
        seed: m.seed,
        warmup: m.warmup,
        steps: m.steps,
        ms_median: med,
        ms_min: min,
        ms_max: max,
        warmup_s,
        loss_first: first,
        loss_last: last,
        gflop_per_step: gflop,
        gflops: gflop / (med / 1e3),
        peak_rss_mib: peak_rss_mib(),
        checkpoint_mib,
        checkpoint_ms,
    })
}

/// One check of a trajectory against the reference: `(what, ours, relative error, within
/// tolerance)`.
pub type Check = (String, f64, f64, bool);

/// The spec's tolerances: relative error of losses 1 and 2 within 1e-4, later ones 1e-3.
pub fn check_trajectory(kind: Kind, got: &Trajectory, reference: &serde_json::Value) -> Vec<Check> {
    let mut out = Vec::new();
    let mut push = |name: &str, ours: f64, key: &str, tol: f64| {
        if let Some(r) = reference[key].as_f64() {
            let rel = (ours - r).abs() / r.abs().max(1e-30);
            out.push((format!("{} {name}", kind.name()), ours, rel, rel <= tol));
        }
    };
    push("loss_step1", got.losses[0], "loss_step1", 1e-4);
    push("loss_step2", got.losses[1], "loss_step2", 1e-4);
    push("loss_step10", got.losses[9], "loss_step10", 1e-3);
    push(
        "loss_after_step10",
        got.loss_after,
        "loss_after_step10",
        1e-3,
    );
    push(
        "sum_abs_w_rec_step10",
        got.sum_abs_w_rec[9],
        "sum_abs_w_rec_step10",
        1e-3,
    );
    out
}
