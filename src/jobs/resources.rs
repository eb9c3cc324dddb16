//! What one fit needs from a cluster node, estimated from its config and its recording before it
//! runs: CPUs (its thread count), memory, a time limit and a GPU. A scheduler kills a task that
//! exceeds its memory or time, so both estimates are generous and each states how it was made;
//! `slurm.sbatch` (`mem`, `time`) or `--slurm-opt` replace them.

use crate::config::Config;
use crate::dataset::Dataset;
use std::collections::BTreeMap;

/// One task's request.
#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    /// CPUs (the fit's thread count; at least 1).
    pub cpus: usize,
    /// Memory, MiB.
    pub mem_mib: u64,
    /// Time limit, minutes.
    pub time_min: u64,
    /// Whether the fit runs on a CUDA device.
    pub gpu: bool,
    /// How the numbers were made, one line each (written into the job script).
    pub basis: Vec<String>,
}

/// Floating-point throughput assumed per CPU for the time limit, FLOP/s: a fifth of what the
/// training step reaches on one core of the 2-core development machine, so slow or shared nodes
/// finish inside the limit.
const ASSUMED_FLOPS_PER_CPU: f64 = 4e9;

/// The request of a fit of `cfg` on `ds` with `cpus` threads.
pub fn estimate(cfg: &Config, ds: &Dataset, cpus: usize) -> Resources {
    let cpus = cpus.max(1);
    let n = crate::network::planned_units(cfg, ds) as f64;
    let frames = ds.y.nrows() as f64;
    let traces = ds.y.ncols() as f64 + ds.u.ncols() as f64;
    let window = ds.train_windows.first().map_or(0, |w| w.len) as f64;
    let batch = cfg.training.batch_size as f64;
    // Fits per task: the fit, and its ensemble members and self-check refits (subsampled ones
    // too) when it has any.
    let fits = if cfg.ensemble.enabled() {
        (cfg.ensemble.members() + cfg.ensemble.selfcheck + cfg.ensemble.subsample) as f64
    } else {
        1.0
    };
    // Recording: raw, normalised, windows and the analyses' copies; weights: the ten copies a
    // fit keeps (see network::require_model_memory); activations: states, rates and their
    // gradients over a batch of windows; plus the program itself.
    let bytes = frames * traces * 4.0 * 6.0
        + n * n * 4.0 * 10.0
        + batch * window * n * 4.0 * 8.0
        + 512.0 * 1024.0 * 1024.0;
    let mem_mib = round_up((bytes * 1.5 / 1024.0 / 1024.0) as u64, 256).max(1024);
    let epochs = (cfg.training.dense_epochs + cfg.training.finetune_epochs) as f64;
    let train_frames = ds.split.is_train.iter().filter(|&&t| t).count() as f64;
    // Forward and backward: about 3 products of the n × n weights per frame, 2 n² FLOP each.
    let flops = fits * epochs * train_frames * 3.0 * 2.0 * n * n;
    let fit_min = flops / (ASSUMED_FLOPS_PER_CPU * cpus as f64) / 60.0;
    let time_min = round_up((3.0 * fit_min + 15.0 * fits).ceil() as u64, 5).clamp(30, 7 * 24 * 60);
    Resources {
        cpus,
        mem_mib,
        time_min,
        gpu: cfg.device.starts_with("cuda"),
        basis: vec![
            format!(
                "memory: {frames} frames × {traces} traces, {n} units, batch {batch} × {window} frames, × 1.5"
            ),
            format!(
                "time: {fits} fit(s) × {epochs} epochs × {train_frames} training frames at {:.0} GFLOP/s per CPU, × 3 + 15 min per fit",
                ASSUMED_FLOPS_PER_CPU / 1e9
            ),
        ],
    }
}

fn round_up(x: u64, step: u64) -> u64 {
    x.div_ceil(step) * step
}

/// The request that covers every one of `requests` (a job array asks the same of every task).
pub fn covering(requests: &[Resources]) -> Option<Resources> {
    let first = requests.first()?.clone();
    Some(requests.iter().skip(1).fold(first, |a, r| Resources {
        cpus: a.cpus.max(r.cpus),
        mem_mib: a.mem_mib.max(r.mem_mib),
        time_min: a.time_min.max(r.time_min),
        gpu: a.gpu || r.gpu,
        basis: if r.mem_mib > a.mem_mib || r.time_min > a.time_min {
            r.basis.clone()
        } else {
            a.basis
        },
    }))
}

/// The request covering `configs` (each with its config file), reading each distinct recording
/// selection once. A fit whose recording cannot be read here is left out of the estimate (its
/// task fails with the reason in its log, as it would locally); when none can be read, the
/// request is a default of 4 GiB and 4 hours, saying so.
pub fn estimate_all(configs: &[(Config, std::path::PathBuf)], cpus: usize) -> Resources {
    let mut datasets: BTreeMap<String, Option<Dataset>> = BTreeMap::new();
    let mut requests = Vec::new();
    for (cfg, path) in configs {
        let key = serde_yaml::to_string(&(&cfg.data, &cfg.model)).unwrap_or_default();
        let ds = datasets
            .entry(key)
            .or_insert_with(|| Dataset::from_config(cfg, path).ok());
        if let Some(ds) = ds {
            requests.push(estimate(cfg, ds, cpus));
        }
    }
    covering(&requests).unwrap_or_else(|| Resources {
        cpus: cpus.max(1),
        mem_mib: 4096,
        time_min: 240,
        gpu: configs.iter().any(|(c, _)| c.device.starts_with("cuda")),
        basis: vec![
            "memory and time: defaults (no recording could be read to estimate them)".into(),
        ],
    })
}

/// `minutes` as Slurm's `D-HH:MM:00`.
pub fn slurm_time(minutes: u64) -> String {
    format!(
        "{}-{:02}:{:02}:00",
        minutes / (24 * 60),
        minutes / 60 % 24,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_covering_request_is_the_largest_of_each_and_times_are_slurm_formatted() {
        let r = |cpus, mem_mib, time_min, gpu| Resources {
            cpus,
            mem_mib,
            time_min,
            gpu,
            basis: vec![],
        };
        let c = covering(&[r(1, 2048, 30, false), r(2, 1024, 90, true)]).unwrap();
        assert_eq!((c.cpus, c.mem_mib, c.time_min, c.gpu), (2, 2048, 90, true));
        assert_eq!(slurm_time(30), "0-00:30:00");
        assert_eq!(slurm_time(24 * 60 + 125), "1-02:05:00");
    }

    #[test]
    fn the_demo_fit_asks_for_a_gigabyte_and_half_an_hour_and_more_for_an_ensemble() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/mouse_v1.yaml");
        let plain = Config::load(
            &path,
            &[
                "ensemble.seeds=0".into(),
                "ensemble.selfcheck=0".into(),
                "ensemble.subsample=0".into(),
            ],
        )
        .unwrap();
        let ds = Dataset::from_config(&plain, &path).unwrap();
        let one = estimate(&plain, &ds, 1);
        assert_eq!((one.cpus, one.mem_mib, one.gpu), (1, 1024, false));
        assert!((30..=60).contains(&one.time_min), "{one:?}");
        let full = Config::load(&path, &[]).unwrap();
        let with_ensemble = estimate(&full, &ds, 1);
        assert!(with_ensemble.time_min > one.time_min, "{with_ensemble:?}");
    }
}
