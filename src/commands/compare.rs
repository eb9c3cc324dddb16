//! `fitrnn compare RUN_DIR... --group NAME=RUN,RUN... --out DIR`: condition contrasts across runs.

use crate::cli::CompareArgs;
use crate::compare::Settings;
use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn bad(problem: String, fix: &str) -> Error {
    Error::Unsupported {
        problem,
        fix: fix.into(),
    }
}

/// Parse `NAME=RUN,RUN` arguments into names and run directories.
fn parse_groups(args: &[String]) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let fix =
        "write each group as --group NAME=RUN_DIR,RUN_DIR (e.g. --group familiar=runs/f1,runs/f2)";
    let mut out: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for a in args {
        let Some((name, runs)) = a.split_once('=') else {
            return Err(bad(
                format!("--group {a}: no `=` between the name and its runs"),
                fix,
            ));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(bad(format!("--group {a}: the group has no name"), fix));
        }
        if out.iter().any(|g| g.0 == name) {
            return Err(bad(
                format!("--group {name} is given twice"),
                "give each condition one --group",
            ));
        }
        let runs: Vec<PathBuf> = runs
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(PathBuf::from)
            .collect();
        if runs.is_empty() {
            return Err(bad(format!("--group {name} lists no runs"), fix));
        }
        out.push((name.to_string(), runs));
    }
    if out.len() < 2 {
        return Err(bad(
            format!("{} group given; a contrast needs at least two", out.len()),
            "add a --group for each condition, e.g. --group A=runs/a1,runs/a2 --group B=runs/b1,runs/b2",
        ));
    }
    Ok(out)
}

fn same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The most bootstrap resamples or permutations `compare` runs.
const MAX_RESAMPLES: usize = 100_000;

/// Run `fitrnn compare`.
pub fn compare(args: &CompareArgs) -> Result<String> {
    let parsed = parse_groups(&args.groups)?;
    let all: Vec<(&str, &PathBuf)> = parsed
        .iter()
        .flat_map(|(g, runs)| runs.iter().map(move |r| (g.as_str(), r)))
        .collect();
    for (i, (g, r)) in all.iter().enumerate() {
        if let Some((h, _)) = all[..i].iter().find(|(_, q)| same(q, r)) {
            return Err(bad(
                format!(
                    "{} is listed in group {h} and again in group {g}",
                    r.display()
                ),
                "each run belongs to exactly one condition",
            ));
        }
    }
    for r in &args.runs {
        if !all.iter().any(|(_, q)| same(q, r)) {
            return Err(bad(
                format!("{} is not in any --group", r.display()),
                "add it to a group, or leave it off the command line",
            ));
        }
    }
    if args.bootstrap < 100 {
        return Err(bad(
            format!(
                "--bootstrap {} is too few for a 95 % interval",
                args.bootstrap
            ),
            "use at least 1000 (default 2000)",
        ));
    }
    if args.bootstrap > MAX_RESAMPLES {
        return Err(bad(
            format!(
                "--bootstrap {} is more resamples than an interval needs",
                args.bootstrap
            ),
            "use 2000 to 100000",
        ));
    }
    if !(100..=MAX_RESAMPLES).contains(&args.permutations) {
        return Err(bad(
            format!(
                "--permutations {} cannot give a useful p-value (the smallest p is 1 / (permutations + 1), and the test is exact anyway when all relabellings fit)",
                args.permutations
            ),
            "use 1000 to 100000 (default 10000)",
        ));
    }
    let settings = Settings {
        bootstrap: args.bootstrap,
        permutations: args.permutations,
        seed: args.seed,
    };
    let o = crate::compare::run(&parsed, settings, &args.out)?;
    let (groups, rows, left_out) = (&o.groups, &o.rows, o.left_out);
    let mut s = String::new();
    for (ia, a) in groups.iter().enumerate() {
        for b in &groups[ia + 1..] {
            let pair: Vec<_> = rows
                .iter()
                .filter(|r| r.group_a == a.name && r.group_b == b.name)
                .collect();
            let exact = pair.first().map(|r| r.exact_test).unwrap_or(false);
            let _ = writeln!(
                s,
                "{} − {} ({} vs {} runs, {} permutation test): {} contrasts, {} with FDR-adjusted p < 0.05",
                b.name,
                a.name,
                b.runs.len(),
                a.runs.len(),
                if exact { "exact" } else { "Monte Carlo" },
                pair.len(),
                pair.iter().filter(|r| r.p_fdr < 0.05).count()
            );
            let mut top: Vec<_> = pair
                .iter()
                .filter(|r| r.quantity == "mean_abs_w" && r.level == "area_layer")
                .collect();
            top.sort_by(|x, y| y.difference.abs().total_cmp(&x.difference.abs()));
            if !top.is_empty() {
                let _ = writeln!(
                    s,
                    "  largest area-layer differences in mean |w| (pre → post):"
                );
            }
            for r in top.iter().take(5) {
                let _ = writeln!(
                    s,
                    "    {:>12} → {:<12} {:+.4}  95% CI [{:+.4}, {:+.4}]  p {:.3}",
                    r.pre, r.post, r.difference, r.ci_low, r.ci_high, r.p_value
                );
            }
            if a.runs.len().min(b.runs.len()) < 4 {
                let _ = writeln!(
                    s,
                    "  note: with fewer than 4 runs per group the bootstrap interval is too narrow; \
                     trust the permutation p-value"
                );
            }
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            s,
            "{left_out} block comparisons skipped: not every run has that block"
        );
    }
    let _ = writeln!(
        s,
        "wrote {} and {} heat maps",
        o.table.display(),
        o.heat_maps.len()
    );
    Ok(s)
}
