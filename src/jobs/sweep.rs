//! A sweep: one config fitted for every seed × condition, each into its own run directory
//! `OUT/<condition>/seed_<seed>`, through the job runner; `sweep.parquet` has one row per fit.

use super::{failures, run_fits, Backend, FitSpec, Outcome};
use crate::error::{Error, Result};
use crate::rundir::tables::{self, table, MetricRow, Table};
use crate::rundir::RunPaths;
use std::path::{Path, PathBuf};

/// One condition of a sweep: its name and its config overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Name, used as the folder of its runs.
    pub name: String,
    /// Overrides (`section.key=value`).
    pub overrides: Vec<String>,
}

table! {
    /// One row of `sweep.parquet`: one fit of a sweep.
    SweepRow = "sweep" {
        /// The condition's name.
        condition: String,
        /// The seed.
        seed: u64,
        /// Its run directory.
        run_dir: String,
        /// `done`, `skipped` (finished before with the same config) or `failed`.
        status: String,
        /// Wall time of the fit, s (0 when skipped).
        wall_s: f64,
        /// The scheduler's id of its task (Slurm: `JOB_TASK`, for `sacct` or `scontrol`); empty
        /// when it ran here or was skipped.
        job: String,
        /// Its log.
        log: String,
        /// Pooled validation pVar, free-running (NaN when unavailable).
        pvar_free_running: f64,
        /// Pooled validation pVar, teacher-forced (NaN when unavailable).
        pvar_teacher_forced: f64,
    }
}

/// The fits of a sweep: every condition (in order) × every seed, each with `threads` threads and
/// `common` overrides before the condition's own.
pub fn specs(
    config: &Path,
    out: &Path,
    seeds: &[u64],
    conditions: &[Condition],
    common: &[String],
    threads: usize,
) -> Vec<FitSpec> {
    conditions
        .iter()
        .flat_map(|c| {
            seeds.iter().map(move |&seed| {
                let mut overrides = common.to_vec();
                overrides.extend(c.overrides.iter().cloned());
                overrides.push(format!("seed={seed}"));
                FitSpec {
                    name: format!("{}/seed_{seed}", c.name),
                    config: config.to_path_buf(),
                    overrides,
                    out: out.join(&c.name).join(format!("seed_{seed}")),
                    threads,
                }
            })
        })
        .collect()
}

/// The pooled validation pVar of `mode` in a finished run (NaN when unavailable).
fn pooled_pvar(metrics: &[MetricRow], mode: &str) -> f64 {
    metrics
        .iter()
        .find(|m| m.split == "validation" && m.mode == mode && m.population == "all")
        .map(|m| m.pvar)
        .unwrap_or(f64::NAN)
}

/// What a sweep asked for, written as `OUT/sweep.json` so that `fitrnn sweep --collect OUT`
/// can find its fits again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// The run config every fit starts from (absolute).
    pub config: PathBuf,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// Each condition's name and overrides, in order.
    pub conditions: Vec<(String, Vec<String>)>,
    /// Overrides for every fit.
    pub common: Vec<String>,
    /// Threads per fit.
    pub threads: usize,
}

impl Request {
    /// The conditions as [`Condition`]s.
    pub fn conditions(&self) -> Vec<Condition> {
        self.conditions
            .iter()
            .map(|(name, overrides)| Condition {
                name: name.clone(),
                overrides: overrides.clone(),
            })
            .collect()
    }

    /// The fits, with their run directories under `out`.
    pub fn specs(&self, out: &Path) -> Vec<FitSpec> {
        specs(
            &self.config,
            out,
            &self.seeds,
            &self.conditions(),
            &self.common,
            self.threads,
        )
    }

    /// Write it as `out/sweep.json`.
    pub fn write(&self, out: &Path) -> Result<()> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, "creating", e))?;
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal("writing sweep.json", e))?;
        crate::atomic::write_bytes(&out.join("sweep.json"), &json)
    }

    /// Read `out/sweep.json`.
    pub fn read(out: &Path) -> Result<Request> {
        let path = out.join("sweep.json");
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, "reading", e))?;
        serde_json::from_slice(&text).map_err(|e| Error::Unsupported {
            problem: format!(
                "{} is not a sweep request fitrnn wrote: {e}",
                path.display()
            ),
            fix: "give the output folder of a fitrnn sweep".into(),
        })
    }
}

/// What a sweep did.
#[derive(Debug)]
pub struct SweepOutcome {
    /// One row per fit (also in `sweep.parquet`).
    pub rows: Vec<SweepRow>,
    /// Fits run at the same time.
    pub parallel: usize,
    /// Wall time, s.
    pub wall_s: f64,
    /// `OUT/sweep.parquet`.
    pub table: PathBuf,
}

/// A sweep row's status word for a job's outcome.
pub fn status_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::Skipped => "skipped",
        Outcome::Failed(_) => "failed",
        Outcome::Submitted => "submitted",
    }
}

/// How one fit of a sweep stands: its status word, wall time (s) and scheduler id.
pub type FitStatus = (String, f64, String);

/// One row per fit of `specs` (every condition × every seed, in order), with each fit's status,
/// wall time and scheduler id.
pub fn rows(
    specs: &[FitSpec],
    seeds: &[u64],
    conditions: &[Condition],
    status: &[FitStatus],
) -> Vec<SweepRow> {
    let keys = conditions
        .iter()
        .flat_map(|c| seeds.iter().map(move |&seed| (c.name.clone(), seed)));
    keys.zip(specs)
        .zip(status)
        .map(|(((condition, seed), spec), (status, wall_s, job))| {
            let metrics: Vec<MetricRow> =
                tables::read(&RunPaths::new(&spec.out).table(MetricRow::NAME)).unwrap_or_default();
            SweepRow {
                condition,
                seed,
                run_dir: spec.out.display().to_string(),
                status: status.clone(),
                wall_s: *wall_s,
                job: job.clone(),
                log: spec.out.with_extension("log").display().to_string(),
                pvar_free_running: pooled_pvar(&metrics, "free_running"),
                pvar_teacher_forced: pooled_pvar(&metrics, "teacher_forced"),
            }
        })
        .collect()
}

/// Write `out/sweep.parquet`; returns its path.
pub fn write_table(out: &Path, rows: &[SweepRow]) -> Result<PathBuf> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "creating", e))?;
    let table = out.join(format!("{}.parquet", SweepRow::NAME));
    tables::write(&table, rows)?;
    Ok(table)
}

/// Check every fit's config, run the fits not finished before, and write `OUT/sweep.parquet`.
/// Fails (after writing the table) when any fit failed, naming each one's log.
pub fn run(
    backend: &dyn Backend,
    specs: &[FitSpec],
    seeds: &[u64],
    conditions: &[Condition],
    out: &Path,
) -> Result<SweepOutcome> {
    for s in specs {
        s.check()?;
    }
    let t0 = std::time::Instant::now();
    let jobs: Vec<_> = specs.iter().map(FitSpec::job).collect();
    let results = run_fits(backend, specs, "fits")?;
    let wall_s = t0.elapsed().as_secs_f64();
    let status: Vec<FitStatus> = results
        .iter()
        .map(|r| {
            (
                status_word(&r.outcome).to_string(),
                r.wall_s,
                r.scheduler_id.clone(),
            )
        })
        .collect();
    let rows = rows(specs, seeds, conditions, &status);
    let table = write_table(out, &rows)?;
    let failed = failures(&jobs, &results);
    let outcome = SweepOutcome {
        rows,
        parallel: backend.parallel(),
        wall_s,
        table,
    };
    if !failed.is_empty() {
        return Err(Error::ChildrenFailed {
            summary: format!(
                "{} of {} fits finished; the others are listed in {}; ",
                outcome.rows.len() - failed.len(),
                outcome.rows.len(),
                outcome.table.display()
            ),
            failed,
        });
    }
    Ok(outcome)
}
