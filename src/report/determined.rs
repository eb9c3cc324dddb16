//! The report's first section: how many interactions the data determine, with their intervals,
//! and how far the self-check's refits moved the spectrum.

use crate::report::html::{escape, num, table};
use crate::report::inputs::{Need, RunFiles};
use crate::rundir::paths::table_file;
use crate::rundir::tables::{InteractionEnsembleRow, SelfcheckRow};

/// Blocks listed in the interval table.
const LISTED: usize = 15;

/// Blocks the fit has (non-zero estimate) at `level` for `metric`.
fn existing<'a>(
    rows: &'a [InteractionEnsembleRow],
    level: &str,
    metric: &str,
) -> Vec<&'a InteractionEnsembleRow> {
    rows.iter()
        .filter(|r| r.level == level && r.metric == metric && r.estimate != 0.0)
        .collect()
}

/// One sentence per level: blocks the fit has, how many the self-check determined, and how well
/// the refits recovered the input shares of those and of the others.
fn sentence(ens: &[InteractionEnsembleRow], check: Option<&[SelfcheckRow]>, level: &str) -> String {
    let blocks = existing(ens, level, "mean_w");
    let n_members = blocks.first().map(|r| r.n_members).unwrap_or(0);
    let Some(check) = check else {
        return format!(
            "{} {level} blocks have non-zero weights; intervals come from {n_members} ensemble members. \
             No self-check ran, so nothing here says which strengths the data determine \
             (set <code>ensemble.selfcheck</code>).",
            blocks.len()
        );
    };
    let determined = blocks
        .iter()
        .filter(|r| r.identifiable == Some(true))
        .count();
    let median_error = |flag: bool| {
        let mut e: Vec<f64> = check
            .iter()
            .filter(|r| r.level == level && r.metric == "input_share")
            .filter(|r| r.identifiable == Some(flag) && r.rel_error.is_finite())
            .map(|r| r.rel_error)
            .collect();
        e.sort_by(f64::total_cmp);
        e.get(e.len() / 2).copied()
    };
    let refits = check.first().map(|r| r.n_refits).unwrap_or(0);
    let err = |flag| median_error(flag).map_or("–".into(), |e| format!("{:.0} %", 100.0 * e));
    format!(
        "Of the {} {level} blocks the fit has, <b>{determined} are determined by the data</b>: \
         refits of {refits} recordings simulated from the fitted network recovered their share of \
         their targets' input (median error {}) and their sign. For the other {}, the refits were \
         off by a median {}; their strengths come from the model and its prior, not from the data. \
         Intervals: {n_members} ensemble members.",
        blocks.len(),
        err(true),
        blocks.len() - determined,
        err(false)
    )
}

/// The area/layer blocks of the fit with their intervals, strongest first.
fn interval_table(ens: &[InteractionEnsembleRow]) -> String {
    let mut blocks = existing(ens, "area_layer", "mean_w");
    blocks.sort_by(|a, b| b.estimate.abs().total_cmp(&a.estimate.abs()));
    let share = |r: &InteractionEnsembleRow| {
        ens.iter()
            .find(|s| {
                s.level == r.level
                    && s.pre == r.pre
                    && s.post == r.post
                    && s.metric == "input_share"
            })
            .map_or("–".into(), |s| {
                format!(
                    "{} [{}, {}]",
                    num(s.estimate),
                    num(s.ci_low),
                    num(s.ci_high)
                )
            })
    };
    let rows: Vec<Vec<String>> = blocks
        .iter()
        .take(LISTED)
        .map(|r| {
            vec![
                r.pre.clone(),
                r.post.clone(),
                format!(
                    "{} [{}, {}]",
                    num(r.estimate),
                    num(r.ci_low),
                    num(r.ci_high)
                ),
                share(r),
                match r.identifiable {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "not checked".into(),
                },
            ]
        })
        .collect();
    table(
        &[
            "from (pre)",
            "to (post)",
            "mean weight [95 % interval]",
            "input share [95 % interval]",
            "determined",
        ],
        &rows,
    )
}

/// The section's text: a sentence per level and the interval table.
pub fn summary(run: &RunFiles) -> Need<String> {
    let ens = run.ensemble().map_err(|e| {
        format!("{e}: this run had no ensemble (set ensemble.seeds, ensemble.bootstrap or ensemble.selfcheck)")
    })?;
    // Block rows, not only the spectral ones of a subsample check, make a self-check.
    let check = run
        .selfcheck()
        .ok()
        .filter(|rows| rows.iter().any(|r| r.level != "network"));
    let mut s = String::new();
    for level in ["area_layer", "population"] {
        s += &format!("<p>{}</p>\n", sentence(ens, check, level));
    }
    s += &format!(
        "<h3>Area/layer blocks, strongest first</h3>\n{}",
        interval_table(ens)
    );
    Ok(s)
}

/// The table of leading eigenvalue moduli: the fit's, and the refits' median and range with the
/// verdict, for the full (`all`) and the subsampled refits.
fn eigenvalue_table(rows: &[&SelfcheckRow]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                if r.pre == "subsample" {
                    "partly observed".into()
                } else {
                    "whole recording".into()
                },
                r.metric.replace('_', " "),
                num(r.truth),
                format!(
                    "{} [{}, {}]",
                    num(r.refit_median),
                    num(r.refit_low),
                    num(r.refit_high)
                ),
                format!("{:.0} %", 100.0 * r.rel_error),
                r.verdict().into(),
            ]
        })
        .collect();
    table(
        &[
            "refits of",
            "eigenvalue (modulus)",
            "#fit",
            "refits: median [range]",
            "#off by",
            "verdict",
        ],
        &body,
    )
}

/// The self-check's leading eigenvalues beside the fitted network's, how far fitting a subsample
/// of the network moved them, and whether data like these determine the spectrum.
pub fn spectral_shift(run: &RunFiles) -> Need<String> {
    let rows = run.selfcheck()?;
    let network: Vec<&SelfcheckRow> = rows.iter().filter(|r| r.level == "network").collect();
    let spectral = |pre: &str| {
        network
            .iter()
            .copied()
            .find(|r| r.metric == "spectral_radius" && r.pre == pre)
    };
    let (full, part) = (spectral("all"), spectral("subsample"));
    if full.is_none() && part.is_none() {
        return Err(format!(
            "{} has no spectral radius row",
            table_file("selfcheck")
        ));
    }
    // The rule of `ensemble::selfcheck::MAX_SPECTRAL_SHIFT` (a test holds the two together).
    let rule = "<p>An eigenvalue is determined when the refits' median is within 10 % of the fitted value, \
                and every refit is on the same side of 1 as the fit: it agrees on whether the mode \
                grows or decays.</p>\n";
    let mut s = String::new();
    if let Some(r) = full {
        s += &format!(
            "<p>Self-check: refitting {} recordings simulated from this network gave a spectral radius of \
             {} (range {} to {}) against the fitted network's {}, a {} change: the spectral radius is \
             <b>{}</b> by data like these. A refit that moves the spectrum this much says the \
             eigenvalues above are only as precise as that.</p>\n",
            r.n_refits,
            num(r.refit_median),
            num(r.refit_low),
            num(r.refit_high),
            num(r.truth),
            escape(&format!("{:.0} %", 100.0 * r.rel_error)),
            r.verdict(),
        );
    }
    if let Some(r) = part {
        let kept = r
            .post
            .parse::<f64>()
            .map_or("part".into(), |f| format!("{:.0} %", 100.0 * f));
        s += &format!(
            "<p>Partial observation: refitting {} recordings simulated from this network that keep \
             {} of each population's neurons, as a recording keeps part of a circuit, gave a spectral \
             radius of {} (range {} to {}) against {}: {} {} ({}). The spectrum of a fit depends on \
             how much of the circuit was recorded (fitting part of a network can inflate its \
             eigenvalues and invent slow modes, or shrink them), so read the spectrum above with \
             that shift in mind.</p>\n",
            r.n_refits,
            escape(&kept),
            num(r.refit_median),
            num(r.refit_low),
            num(r.refit_high),
            num(r.truth),
            escape(&format!("{:.0} %", 100.0 * r.rel_error)),
            if r.refit_median > r.truth { "higher" } else { "lower" },
            r.verdict(),
        );
    }
    s += &eigenvalue_table(&network);
    s += rule;
    Ok(s)
}
