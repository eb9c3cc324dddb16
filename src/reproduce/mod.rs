//! `fitrnn reproduce NAME`: the published results fitrnn's methods come from, recomputed here
//! and printed beside the papers' numbers, so a user can tell whether these parts are right.
//!
//! Each target runs at a documented reduced size by default (`--size tiny` for checks, `--size
//! full` or `--full` at the paper's size), and writes into its output folder:
//!
//! ```text
//! reproduction.parquet   target, quantity, condition, paper, ours, criterion, holds
//! <target>.png           the figure
//! provenance.json        target, size, seed, fitrnn version and commit, wall time
//! ```
//!
//! `paper` is NaN where the paper gives no number (then `criterion` states the qualitative result
//! that must hold); `holds` says whether ours meets it (null for rows that only report).

mod balwani;
mod balwani_fig2;
mod cornford;
mod datafit;
mod figures;
mod li_nse;
mod li_nse_error;
mod li_transplant;
mod liu_richlazy;
mod outcome;
mod shao;

pub use outcome::{Outcome, ReproductionRow, Size, Target};

use crate::error::{Error, Result};
use crate::rundir::tables::{self, Table};
use std::fmt::Write as _;
use std::path::Path;

/// Run `target` at `size` with `seed` (targets that fit data use the run config `config`),
/// write its outputs into `out` (created if missing; files of an earlier reproduction there are
/// replaced, a user's file of the same name is refused, nothing else is touched) and return the
/// text to print.
pub fn run(target: Target, size: Size, seed: u64, config: &Path, out: &Path) -> Result<String> {
    let figure = format!("{}.png", target.name());
    let table = format!("{}.parquet", ReproductionRow::NAME);
    crate::atomic::check_own_folder(
        out,
        |n| n == figure || n == table || n == "provenance.json",
        "provenance.json",
        "fitrnn reproduce",
    )?;
    let t0 = std::time::Instant::now();
    let outcome = match target {
        Target::ShaoMotifs => shao::run(size, seed)?,
        Target::LiNse => li_nse::run(size, seed, Path::new("data/mnist_5k.h5"))?,
        Target::LiTransplant => li_transplant::run(size, seed, Path::new("data/mnist_5k.h5"))?,
        Target::CornfordEg => cornford::run(size, seed, config)?,
        Target::BalwaniFig2 => balwani_fig2::run(size, seed)?,
        Target::BalwaniFig3 => balwani::run(size, seed, config)?,
        Target::LiuRichLazy => liu_richlazy::run(size, seed)?,
    };
    let wall_s = t0.elapsed().as_secs_f64();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "creating", e))?;
    crate::atomic::write_bytes(&out.join(&figure), &outcome.figure)?;
    tables::write(&out.join(&table), &outcome.rows)?;
    let provenance = serde_json::json!({
        "target": target.name(),
        "size": size.name(),
        "seed": seed,
        "fitrnn_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("FITRNN_GIT_COMMIT"),
        "wall_s": wall_s,
    });
    crate::atomic::write_bytes(
        &out.join("provenance.json"),
        serde_json::to_string_pretty(&provenance)
            .map_err(|e| Error::internal("writing provenance.json", e))?
            .as_bytes(),
    )?;
    Ok(summary(target, size, &outcome, wall_s, out, &figure))
}

/// The printed result: notes, one line per row, and how many criteria hold.
fn summary(
    target: Target,
    size: Size,
    o: &Outcome,
    wall_s: f64,
    out: &Path,
    figure: &str,
) -> String {
    let mut s = format!("{} ({} size, {wall_s:.1} s)\n", target.name(), size.name());
    for n in &o.notes {
        let _ = writeln!(s, "  {n}");
    }
    // Columns as wide as their longest entry, so long names keep the table aligned.
    let width = |f: fn(&ReproductionRow) -> usize, least: usize| {
        o.rows.iter().map(f).max().unwrap_or(0).max(least)
    };
    let wq = width(|r| r.quantity.chars().count(), 8);
    let wc = width(|r| r.condition.chars().count(), 9);
    let _ = writeln!(
        s,
        "\n  {:<wq$} {:<wc$} {:>10} {:>10}  result",
        "quantity", "condition", "paper", "ours"
    );
    for r in &o.rows {
        let paper = if r.paper.is_nan() {
            "–".to_string()
        } else {
            format!("{:.4}", r.paper)
        };
        let verdict = match r.holds {
            Some(true) => format!("holds: {}", r.criterion),
            Some(false) => format!("DOES NOT HOLD: {}", r.criterion),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "  {:<wq$} {:<wc$} {:>10} {:>10.4}  {verdict}",
            r.quantity, r.condition, paper, r.ours
        );
    }
    let checks: Vec<bool> = o.rows.iter().filter_map(|r| r.holds).collect();
    let held = checks.iter().filter(|h| **h).count();
    let _ = writeln!(
        s,
        "\n{held} of {} criteria hold; wrote {}/{}.parquet, {figure}, provenance.json",
        checks.len(),
        out.display(),
        ReproductionRow::NAME
    );
    s
}
