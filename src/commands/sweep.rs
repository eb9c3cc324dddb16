//! `fitrnn sweep`: independent fits of one config over seeds and conditions through the job
//! runner, `--jobs` at a time (each its own process with one CPU thread), with the throughput in
//! fits per hour and `sweep.parquet`.

use crate::cli::SweepArgs;
use crate::error::{Error, Result};
use crate::jobs::sweep::{self, Condition};
use crate::jobs::{fitrnn_binary, Local};
use std::fmt::Write as _;

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
    let seeds = parse_seeds(&args.seeds)?;
    let conditions = parse_conditions(&args.conditions)?;
    let parallel = args.jobs.max(1);
    // One fit at a time gets every core; several share them, one thread each.
    let threads = if parallel == 1 { 0 } else { 1 };
    let specs = sweep::specs(
        &args.config,
        &args.out,
        &seeds,
        &conditions,
        &args.set,
        threads,
    );
    let backend = Local {
        binary: fitrnn_binary()?,
        parallel,
    };
    let o = sweep::run(&backend, &specs, &seeds, &conditions, &args.out)?;
    let done = o.rows.iter().filter(|r| r.status == "done").count();
    let skipped = o.rows.iter().filter(|r| r.status == "skipped").count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} of {} fits in {:.1} s with {} at a time ({} thread{} each): {:.0} fits per hour{}",
        done + skipped,
        o.rows.len(),
        o.wall_s,
        o.parallel,
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
    for c in &conditions {
        let _ = writeln!(
            s,
            "  {}: {}/seed_*",
            c.name,
            args.out.join(&c.name).display()
        );
    }
    let _ = writeln!(s, "wrote {}", o.table.display());
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
