//! `fitrnn sweep`: independent fits of one config over seeds and conditions, `--jobs` at a time
//! (each its own process with one CPU thread), with the throughput in fits per hour.

use crate::cli::SweepArgs;
use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

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

/// One fit to run.
#[derive(Debug, Clone)]
struct Job {
    condition: String,
    seed: u64,
    sets: Vec<String>,
    dir: PathBuf,
}

/// Run `fitrnn sweep`.
pub fn sweep(args: &SweepArgs) -> Result<String> {
    let seeds = parse_seeds(&args.seeds)?;
    let mut conditions: Vec<(String, Vec<String>)> = Vec::new();
    for c in &args.conditions {
        let Some((name, sets)) = c.split_once('=') else {
            return Err(bad(
                format!("--condition {c}: no `=` after the name"),
                "write --condition NAME=KEY=VALUE;KEY=VALUE",
            ));
        };
        if conditions.iter().any(|x| x.0 == name) {
            return Err(bad(
                format!("--condition {name} is given twice"),
                "give each condition one name",
            ));
        }
        conditions.push((
            name.to_string(),
            sets.split(';')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        ));
    }
    if conditions.is_empty() {
        conditions.push(("base".into(), vec![]));
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::io(&args.config, "finding the fitrnn executable", e))?;
    let jobs: Vec<Job> = conditions
        .iter()
        .flat_map(|(name, sets)| {
            seeds.iter().map(move |&seed| Job {
                condition: name.clone(),
                seed,
                sets: sets.clone(),
                dir: args.out.join(name).join(format!("seed_{seed}")),
            })
        })
        .collect();
    // Validate every condition's config once before starting (fast, and errors name the key).
    for (name, sets) in &conditions {
        let mut all = args.set.clone();
        all.extend(sets.iter().cloned());
        crate::config::Config::load(&args.config, &all).map_err(|e| Error::Unsupported {
            problem: format!("condition {name}: {e}"),
            fix: "fix the override".into(),
        })?;
    }
    let workers = args.jobs.max(1);
    let threads = if workers == 1 { 0 } else { 1 };
    let queue = Arc::new(Mutex::new(jobs.clone()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let bar = crate::progress::bar(jobs.len() as u64, "fits");
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (queue, failures, bar, exe) =
                (queue.clone(), failures.clone(), bar.clone(), exe.clone());
            scope.spawn(move || loop {
                let Some(job) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let _ = std::fs::create_dir_all(job.dir.parent().unwrap_or(&job.dir));
                let log = job.dir.with_extension("log");
                let mut cmd = std::process::Command::new(&exe);
                cmd.arg("--config").arg(&args.config);
                for s in args.set.iter().chain(&job.sets) {
                    cmd.args(["--set", s]);
                }
                cmd.args(["--set", &format!("seed={}", job.seed)])
                    .args(["--set", &format!("output.dir={}", job.dir.display())])
                    .args(["--set", "output.overwrite=true"])
                    .args(["--threads", &threads.to_string()]);
                let ok = match cmd.output() {
                    Ok(out) => {
                        let mut text = out.stdout.clone();
                        text.extend_from_slice(&out.stderr);
                        let _ = std::fs::write(&log, text);
                        out.status.success()
                    }
                    Err(_) => false,
                };
                if !ok {
                    failures.lock().expect("failures").push(format!(
                        "{} seed {} (see {})",
                        job.condition,
                        job.seed,
                        log.display()
                    ));
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let wall = t0.elapsed().as_secs_f64();
    let failures = failures.lock().expect("failures").clone();
    let done = jobs.len() - failures.len();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{done} of {} fits in {wall:.1} s with {workers} at a time ({} thread{} each): {:.0} fits per hour",
        jobs.len(),
        if threads == 0 { "all".to_string() } else { threads.to_string() },
        if threads == 1 { "" } else { "s" },
        done as f64 / wall * 3600.0
    );
    for (name, _) in &conditions {
        let _ = writeln!(s, "  {name}: {}/seed_*", args.out.join(name).display());
    }
    if !failures.is_empty() {
        return Err(Error::ChildrenFailed {
            summary: s,
            failed: failures,
        });
    }
    Ok(s)
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
