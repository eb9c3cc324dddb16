//! One job runner for everything that runs many fits (`fitrnn sweep`, `fitrnn recovery`, the
//! benchmark's scaling cells, ensembles): a list of jobs, each one run of the `fitrnn` binary in
//! its own process with its own thread count, run by a [`Backend`] with a progress bar. Fits that
//! already finished with the same resolved config are skipped, so a rerun only does what is left;
//! the results come back as rows of a table.
//!
//! The child is always the `fitrnn` binary found by [`fitrnn_binary`] (never whatever executable
//! happens to be running), and the backend is a small trait, so that a cluster scheduler can run
//! the same jobs without touching the commands that make them.

mod binary;
mod choice;
mod local;
pub mod resources;
pub mod slurm;
pub mod sweep;

pub use binary::fitrnn_binary;
pub use choice::{with_slurm_opts, BackendChoice};
pub use local::Local;
pub use slurm::Slurm;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::rundir::{RunPaths, Status};
use std::path::PathBuf;

/// One run of the `fitrnn` binary.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job's name in progress, tables and messages (e.g. `fast/seed_3`).
    pub name: String,
    /// The arguments after the binary.
    pub args: Vec<String>,
    /// Where its standard output and error go.
    pub log: PathBuf,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It ran and exited 0.
    Done,
    /// It was not run: its fit had finished before with the same resolved config.
    Skipped,
    /// It ran and failed (exit code, or `None` when killed by a signal or not started).
    Failed(Option<i32>),
    /// It was handed to a scheduler that runs it later (`--no-wait`).
    Submitted,
}

/// One finished job.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// How it ended.
    pub outcome: Outcome,
    /// Its wall time, s (0 when skipped).
    pub wall_s: f64,
    /// What it printed on standard output (its log holds both streams).
    pub stdout: String,
    /// The scheduler's id of the job (Slurm: `JOB_TASK`); empty when it ran here.
    pub scheduler_id: String,
}

/// Runs jobs somewhere: on this machine ([`Local`]), or on a cluster.
pub trait Backend {
    /// How many jobs run at once (for messages).
    fn parallel(&self) -> usize;
    /// Run every job of `jobs`, calling `done(k, result)` as job `k` finishes (in any order).
    fn run(&self, jobs: &[Job], done: &mut (dyn FnMut(usize, JobResult) + Send)) -> Result<()>;
}

/// One fit: a config, its overrides, its run directory and its thread count.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSpec {
    /// The fit's name in progress, tables and messages.
    pub name: String,
    /// The run config.
    pub config: PathBuf,
    /// Overrides on top of it (`section.key=value`).
    pub overrides: Vec<String>,
    /// Its run directory.
    pub out: PathBuf,
    /// CPU threads of its tensor maths (0 = all cores).
    pub threads: usize,
}

impl FitSpec {
    /// Every override the child gets: the spec's own, then its run directory (replacing an
    /// unfinished or different earlier run there) and its threads.
    pub fn all_overrides(&self) -> Vec<String> {
        let mut sets = self.overrides.clone();
        sets.push(format!("output.dir={}", self.out.display()));
        sets.push("output.overwrite=true".into());
        sets.push(format!("threads={}", self.threads));
        sets
    }

    /// The child's command line after the binary: a new fit, or `--resume` of an interrupted
    /// fit of exactly this config in its run directory (killed mid-fit, e.g. by a scheduler), which
    /// ends with the same weights.
    pub fn job(&self) -> Job {
        let args = if self.is_resumable() {
            vec![
                "--resume".to_string(),
                self.out.display().to_string(),
                "--threads".into(),
                self.threads.to_string(),
            ]
        } else {
            let mut args = vec!["--config".to_string(), self.config.display().to_string()];
            for s in self.all_overrides() {
                args.push("--set".into());
                args.push(s);
            }
            args
        };
        Job {
            name: self.name.clone(),
            args,
            log: self.out.with_extension("log"),
        }
    }

    /// Check the config with every override, as the child will read it (fast; a typo fails here
    /// before any fit starts, naming the fit).
    pub fn check(&self) -> Result<Config> {
        Config::load(&self.config, &self.all_overrides()).map_err(|e| Error::Unsupported {
            problem: format!("{}: {e}", self.name),
            fix: "fix the override or the config".into(),
        })
    }

    /// Whether its run directory holds a complete run of exactly this fit.
    pub fn is_finished(&self) -> bool {
        let complete =
            crate::rundir::read_manifest(&self.out).is_ok_and(|m| m.status == Status::Complete);
        complete && self.same_fit_in_run_dir()
    }

    /// Whether its run directory holds an interrupted run of exactly this fit, with a checkpoint.
    pub fn is_resumable(&self) -> bool {
        crate::rundir::resumable(&self.out).is_ok() && self.same_fit_in_run_dir()
    }

    /// Whether the config written in its run directory is this fit's: the same resolved config,
    /// apart from where fits run (`slurm:`, `ensemble.backend`), which never changes a number.
    fn same_fit_in_run_dir(&self) -> bool {
        let written = RunPaths::new(&self.out).config();
        match (self.check(), Config::load(&written, &[])) {
            (Ok(a), Ok(b)) => fit_identity(&a) == fit_identity(&b),
            _ => false,
        }
    }
}

/// `cfg` as YAML without what never changes a fit's numbers (where its extra fits run).
fn fit_identity(cfg: &Config) -> Option<String> {
    let mut c = cfg.clone();
    c.slurm = Default::default();
    c.ensemble.backend = Default::default();
    serde_yaml::to_string(&c).ok()
}

/// Run `jobs` on `backend` with a progress bar labelled `what`; `skip[k]` marks jobs that need not
/// run. Returns one result per job, in the order given.
pub fn run_jobs(
    backend: &dyn Backend,
    jobs: &[Job],
    skip: &[bool],
    what: &str,
) -> Result<Vec<JobResult>> {
    let bar = crate::progress::bar(jobs.len() as u64, what);
    let mut results: Vec<Option<JobResult>> = vec![None; jobs.len()];
    let todo: Vec<usize> = (0..jobs.len()).filter(|&k| !skip[k]).collect();
    for (k, r) in results.iter_mut().enumerate() {
        if skip[k] {
            *r = Some(JobResult {
                outcome: Outcome::Skipped,
                wall_s: 0.0,
                stdout: String::new(),
                scheduler_id: String::new(),
            });
            bar.inc(1);
        }
    }
    let to_run: Vec<Job> = todo.iter().map(|&k| jobs[k].clone()).collect();
    backend.run(&to_run, &mut |i, result| {
        results[todo[i]] = Some(result);
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    results
        .into_iter()
        .enumerate()
        .map(|(k, r)| {
            r.ok_or_else(|| {
                Error::bug(
                    "running jobs",
                    format!("job {} reported no result", jobs[k].name),
                )
            })
        })
        .collect()
}

/// Run every fit of `specs` not finished before (same resolved config, complete), on `backend`.
pub fn run_fits(backend: &dyn Backend, specs: &[FitSpec], what: &str) -> Result<Vec<JobResult>> {
    let jobs: Vec<Job> = specs.iter().map(FitSpec::job).collect();
    let skip: Vec<bool> = specs.iter().map(FitSpec::is_finished).collect();
    for s in specs {
        if let Some(parent) = s.out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "creating", e))?;
        }
    }
    run_jobs(backend, &jobs, &skip, what)
}

/// The failed jobs as messages naming each one's log, for [`Error::ChildrenFailed`].
pub fn failures(jobs: &[Job], results: &[JobResult]) -> Vec<String> {
    jobs.iter()
        .zip(results)
        .filter_map(|(j, r)| match r.outcome {
            Outcome::Failed(code) => Some(format!(
                "{}{} (see {})",
                j.name,
                code.map(|c| format!(", exit {c}")).unwrap_or_default(),
                j.log.display()
            )),
            _ => None,
        })
        .collect()
}
