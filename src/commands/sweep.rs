//! `fitrnn sweep`: independent fits of one config over seeds and conditions through the job
//! runner, `--jobs` at a time (each its own process with one CPU thread), with the throughput in
//! fits per hour and `sweep.parquet`.

use crate::cli::SweepArgs;
use crate::config::{BackendKind, Config};
use crate::error::{Error, Result};
use crate::jobs::sweep::{self, Condition, Request};
use crate::jobs::{slurm, with_slurm_opts, BackendChoice};
use std::fmt::Write as _;
use std::path::Path;

fn bad(problem: String, fix: &str) -> Error {
    Error::Unsupported {
        problem,
        fix: fix.into(),
    }
}

/// Parse `0,1,5` or `0-7` (or a mix, `0-3,9`).
pub fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    let fix = "write seeds as a list (0,1,2) or a range (0-7)";
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |x: &str| {
            x.trim()
                .parse::<u64>()
                .map_err(|_| bad(format!("--seeds: `{x}` is not a seed"), fix))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if b < a {
                    return Err(bad(format!("--seeds: empty range {part}"), fix));
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    if out.is_empty() {
        return Err(bad("--seeds lists no seed".into(), fix));
    }
    Ok(out)
}

/// Parse `NAME=KEY=VALUE;KEY=VALUE` conditions (one condition `base` without any).
fn parse_conditions(args: &[String]) -> Result<Vec<Condition>> {
    let mut conditions: Vec<Condition> = Vec::new();
    for c in args {
        let Some((name, sets)) = c.split_once('=') else {
            return Err(bad(
                format!("--condition {c}: no `=` after the name"),
                "write --condition NAME=KEY=VALUE;KEY=VALUE",
            ));
        };
        if conditions.iter().any(|x| x.name == name) {
            return Err(bad(
                format!("--condition {name} is given twice"),
                "give each condition one name",
            ));
        }
        conditions.push(Condition {
            name: name.to_string(),
            overrides: sets
                .split(';')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        });
    }
    if conditions.is_empty() {
        conditions.push(Condition {
            name: "base".into(),
            overrides: vec![],
        });
    }
    Ok(conditions)
}

/// Run `fitrnn sweep`.
pub fn sweep(args: &SweepArgs) -> Result<String> {
    if let Some(dir) = &args.cancel {
        return cancel(dir);
    }
    if let Some(dir) = &args.collect {
        return collect(dir);
    }
    let (Some(config), Some(out)) = (&args.config, &args.out) else {
        return Err(bad(
            "fitrnn sweep needs --config and --out".into(),
            "see fitrnn sweep --help",
        ));
    };
    let seeds = parse_seeds(&args.seeds)?;
    let conditions = parse_conditions(&args.conditions)?;
    let kind = args.backend.backend;
    if args.no_wait && kind != BackendKind::Slurm {
        return Err(bad(
            "--no-wait needs --backend slurm (local fits run while the command runs)".into(),
            "drop --no-wait, or add --backend slurm",
        ));
    }
    let slurm = match kind {
        BackendKind::Slurm => with_slurm_opts(
            Config::load(config, &args.set)?.slurm,
            &args.backend.slurm_opts,
        )?,
        BackendKind::Local => Default::default(),
    };
    let choice = BackendChoice {
        kind,
        parallel: args.jobs.unwrap_or(match kind {
            BackendKind::Local => 1,
            BackendKind::Slurm => 0,
        }),
        slurm,
        wait: !args.no_wait,
        dir: out.join("slurm"),
        name: "fitrnn-sweep".into(),
    };
    let threads = choice.threads();
    let request = Request {
        config: std::path::absolute(config).unwrap_or_else(|_| config.clone()),
        seeds: seeds.clone(),
        conditions: conditions
            .iter()
            .map(|c| (c.name.clone(), c.overrides.clone()))
            .collect(),
        common: args.set.clone(),
        threads,
    };
    let specs = request.specs(out);
    for s in &specs {
        s.check()?;
    }
    request.write(out)?;
    let backend = choice.backend(&specs)?;
    let o = sweep::run(backend.as_ref(), &specs, &seeds, &conditions, out)?;
    if args.no_wait {
        let submitted = o.rows.iter().filter(|r| r.status == "submitted").count();
        return Ok(format!(
            "submitted {submitted} of {} fits ({} finished before); follow them with squeue, gather them with\n  fitrnn sweep --collect {}\n",
            o.rows.len(),
            o.rows.len() - submitted,
            out.display()
        ));
    }
    Ok(summary(&o, &conditions, out, threads, kind))
}

/// What a finished sweep prints.
fn summary(
    o: &sweep::SweepOutcome,
    conditions: &[Condition],
    out: &Path,
    threads: usize,
    kind: BackendKind,
) -> String {
    let done = o.rows.iter().filter(|r| r.status == "done").count();
    let skipped = o.rows.iter().filter(|r| r.status == "skipped").count();
    let mut s = String::new();
    let at_a_time = match kind {
        BackendKind::Local => format!("{} at a time", o.parallel),
        BackendKind::Slurm => "on Slurm".to_string(),
    };
    let _ = writeln!(
        s,
        "{} of {} fits in {:.1} s {at_a_time} ({} thread{} each): {:.0} fits per hour{}",
        done + skipped,
        o.rows.len(),
        o.wall_s,
        if threads == 0 {
            "all".to_string()
        } else {
            threads.to_string()
        },
        if threads == 1 { "" } else { "s" },
        done as f64 / o.wall_s.max(1e-9) * 3600.0,
        if skipped > 0 {
            format!(" ({skipped} finished before with the same config, not run again)")
        } else {
            String::new()
        }
    );
    for c in conditions {
        let _ = writeln!(s, "  {}: {}/seed_*", c.name, out.join(&c.name).display());
    }
    let _ = writeln!(s, "wrote {}", o.table.display());
    s
}

/// `fitrnn sweep --collect DIR`: every fit's state now, into `DIR/sweep.parquet`.
fn collect(dir: &Path) -> Result<String> {
    let request = Request::read(dir)?;
    let specs = request.specs(dir);
    let conditions = request.conditions();
    let submission = slurm::read_submission(&dir.join("slurm"))?;
    let states = match &submission {
        Some(s) => slurm::states(s)?,
        None => vec![],
    };
    let status: Vec<sweep::FitStatus> = specs
        .iter()
        .map(|spec| {
            let task = submission
                .as_ref()
                .and_then(|s| s.tasks.iter().position(|t| t.name == spec.name));
            let job = match (&submission, task) {
                (Some(s), Some(k)) => format!("{}_{k}", s.job_id),
                _ => String::new(),
            };
            let finished = spec.is_finished();
            let (word, wall): (String, f64) = match task.and_then(|k| states.get(k)) {
                Some(slurm::TaskState::Queued(word)) => (word.to_lowercase(), 0.0),
                Some(slurm::TaskState::Ended(_, wall)) if finished => ("done".into(), *wall),
                _ if finished => ("done".into(), 0.0),
                Some(slurm::TaskState::Ended(_, wall)) => ("failed".into(), *wall),
                None if spec.is_resumable() => ("interrupted".into(), 0.0),
                None => ("not run".into(), 0.0),
            };
            (word, wall, job)
        })
        .collect();
    let rows = sweep::rows(&specs, &request.seeds, &conditions, &status);
    let table = sweep::write_table(dir, &rows)?;
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &rows {
        *counts.entry(r.status.as_str()).or_default() += 1;
    }
    let mut s = format!(
        "{} fits: {}\n",
        rows.len(),
        counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for r in rows.iter().filter(|r| r.status == "failed") {
        let _ = writeln!(
            s,
            "  failed: {}/seed_{} (see {})",
            r.condition, r.seed, r.log
        );
    }
    if rows.iter().any(|r| r.status != "done") {
        let _ = writeln!(
            s,
            "run the same fitrnn sweep command again to resubmit the fits that are not done (interrupted ones resume from their checkpoint)"
        );
    }
    let _ = writeln!(s, "wrote {}", table.display());
    Ok(s)
}

/// `fitrnn sweep --cancel DIR`.
fn cancel(dir: &Path) -> Result<String> {
    match slurm::cancel(&dir.join("slurm"))? {
        Some(id) => Ok(format!(
            "cancelled Slurm job {id}; fits it interrupted resume from their checkpoints when the sweep runs again\n"
        )),
        None => Err(bad(
            format!("{} holds no Slurm submission", dir.display()),
            "give the output folder of a sweep run with --backend slurm",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_seeds;

    #[test]
    fn seeds_parse_as_lists_and_ranges() {
        assert_eq!(parse_seeds("0-3,9").unwrap(), vec![0, 1, 2, 3, 9]);
        assert_eq!(parse_seeds("5").unwrap(), vec![5]);
        assert!(parse_seeds("3-1").is_err());
        assert!(parse_seeds("a").is_err());
    }
}
