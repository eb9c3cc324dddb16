//! Which backend a many-fit command runs its fits on, from its `--backend`, `--slurm-opt` and the
//! config's `slurm:` section, and how many threads each fit gets there.

use super::resources;
use super::{Backend, FitSpec, Local, Slurm};
use crate::config::{check_slurm_option, BackendKind, SlurmConfig};
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::time::Duration;

/// A many-fit command's choice of backend.
#[derive(Debug, Clone)]
pub struct BackendChoice {
    /// `local` or `slurm`.
    pub kind: BackendKind,
    /// Local: fits at the same time; Slurm: the most tasks running at once (0: no limit).
    pub parallel: usize,
    /// Slurm's options and setup lines (the config's, then the command line's over them).
    pub slurm: SlurmConfig,
    /// Slurm: wait for the tasks (else return once submitted).
    pub wait: bool,
    /// Slurm: the folder of the array script, `submission.json` and the tasks' statuses.
    pub dir: PathBuf,
    /// Slurm: the job's name in `squeue`.
    pub name: String,
}

/// Add `KEY=VALUE` options from the command line to `slurm`'s `sbatch` options.
pub fn with_slurm_opts(mut slurm: SlurmConfig, opts: &[String]) -> Result<SlurmConfig> {
    for o in opts {
        let Some((k, v)) = o.split_once('=') else {
            return Err(Error::Unsupported {
                problem: format!("--slurm-opt {o}: no `=`"),
                fix: "write --slurm-opt KEY=VALUE, e.g. --slurm-opt partition=gpu".into(),
            });
        };
        let k = k.trim().trim_start_matches("--");
        check_slurm_option(k, v).map_err(|problem| Error::Unsupported {
            problem: format!("--slurm-opt {o}: {problem}"),
            fix: "give sbatch's long options without dashes, e.g. --slurm-opt partition=gpu".into(),
        })?;
        slurm.sbatch.insert(k.to_string(), v.trim().to_string());
    }
    Ok(slurm)
}

impl BackendChoice {
    /// CPU threads of each fit: local, the cores shared among the fits at the same time (all of
    /// them for one fit at a time: 0); Slurm, the tasks' `cpus-per-task` (default 1).
    pub fn threads(&self) -> usize {
        match self.kind {
            BackendKind::Local => {
                if self.parallel <= 1 {
                    0
                } else {
                    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                    (cores / self.parallel).max(1)
                }
            }
            BackendKind::Slurm => self
                .slurm
                .sbatch
                .get("cpus-per-task")
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1),
        }
    }

    /// The backend for `specs` (whose configs give Slurm's estimates of memory and time).
    pub fn backend(&self, specs: &[FitSpec]) -> Result<Box<dyn Backend>> {
        let binary = super::fitrnn_binary()?;
        match self.kind {
            BackendKind::Local => Ok(Box::new(Local {
                binary,
                parallel: self.parallel.max(1),
            })),
            BackendKind::Slurm => {
                let configs = specs
                    .iter()
                    .filter(|s| !s.is_finished())
                    .map(|s| Ok((s.check()?, s.config.clone())))
                    .collect::<Result<Vec<_>>>()?;
                let resources = resources::estimate_all(&configs, self.threads());
                Ok(Box::new(Slurm {
                    binary: std::path::absolute(&binary).unwrap_or(binary),
                    dir: std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone()),
                    name: self.name.clone(),
                    resources,
                    options: self.slurm.sbatch.clone(),
                    setup: self.slurm.setup.clone(),
                    max_parallel: self.parallel,
                    wait: self.wait,
                    poll: poll_interval(),
                }))
            }
        }
    }
}

/// How often a waiting command asks `squeue`: `$FITRNN_SLURM_POLL_S` seconds (default 10).
fn poll_interval() -> Duration {
    let s = std::env::var("FITRNN_SLURM_POLL_S")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(10.0);
    Duration::from_secs_f64(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_options_go_over_the_configs_and_bad_ones_are_refused() {
        let mut cfg = SlurmConfig::default();
        cfg.sbatch.insert("partition".into(), "cpu".into());
        let s = with_slurm_opts(cfg, &["partition=gpu".into(), "--qos=long".into()]).unwrap();
        assert_eq!(s.sbatch["partition"], "gpu");
        assert_eq!(s.sbatch["qos"], "long");
        assert!(with_slurm_opts(SlurmConfig::default(), &["array=0-9".into()]).is_err());
        assert!(with_slurm_opts(SlurmConfig::default(), &["partition".into()]).is_err());
    }
}
