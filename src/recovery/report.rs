//! `recovery.parquet` (one row per recording × method × condition × level × metric) and
//! `recovery.md` (mean ± SD over recordings, conditions × methods, per metric and level).

use super::config::RecoveryConfig;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::Path;

crate::rundir::tables::table! {
    /// One row of `recovery.parquet` (and of the cell files, as JSON).
    #[derive(Serialize, Deserialize)]
    Row = "recovery" {
        /// Simulator name (`rate`, `adaptive`).
        simulator: String,
        /// Recording seed.
        seed: u64,
        /// Condition name.
        condition: String,
        /// Method name.
        method: String,
        /// `population`, `area_layer`, `area` or `unit`.
        level: String,
        /// Metric name.
        metric: String,
        /// Its value (NaN when undefined; `null` in the cell files).
        #[serde(with = "nan_as_null")]
        value: f64,
    }
}

/// JSON has no NaN: undefined metrics are written as `null` and read back as NaN.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// Write both tables.
pub fn write_tables(out: &Path, cfg: &RecoveryConfig, rows: &[Row]) -> Result<()> {
    crate::rundir::tables::write(&out.join("recovery.parquet"), rows)?;
    crate::atomic::write_bytes(&out.join("recovery.md"), markdown(cfg, rows).as_bytes())
}

/// Mean and SD of the finite values, and how many there are.
pub fn mean_sd(v: &[f64]) -> (f64, f64, usize) {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, 0);
    }
    let m = v.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    (m, sd, n)
}

/// `mean ± SD` over recordings, with `(n = k)` when fewer than `expected` recordings have a value
/// (a failed fit, or a metric undefined for some recordings).
fn cell(
    rows: &[Row],
    key: (&str, &str, &str),
    level: &str,
    metric: &str,
    expected: usize,
) -> String {
    let (sim, cond, method) = key;
    let v: Vec<f64> = rows
        .iter()
        .filter(|r| {
            r.simulator == sim
                && r.condition == cond
                && r.method == method
                && r.level == level
                && r.metric == metric
        })
        .map(|r| r.value)
        .collect();
    let (m, sd, n) = mean_sd(&v);
    let text = match n {
        0 => return "–".into(),
        1 => format!("{m:.2}"),
        _ => format!("{m:.2} ± {sd:.2}"),
    };
    if n < expected {
        format!("{text} (n = {n})")
    } else {
        text
    }
}

/// The tables of `recovery.md`, in reading order: `(level, metric, title)`.
const TABLES: [(&str, &str, &str); 11] = [
    (
        "population",
        "existing_rho_input_share",
        "Spearman ρ of each source's share of a target's recurrent input, population blocks that exist",
    ),
    (
        "population",
        "existing_rho_mean_abs_w",
        "Spearman ρ of block mean |w|, population blocks that exist",
    ),
    (
        "population",
        "existing_sign_accuracy",
        "Fraction of existing population blocks whose net sign is right",
    ),
    (
        "area_layer",
        "existing_rho_input_share",
        "Spearman ρ of input shares, area-layer blocks that exist",
    ),
    (
        "area_layer",
        "existing_rho_mean_w",
        "Spearman ρ of signed block mean w, area-layer blocks that exist",
    ),
    (
        "area_layer",
        "pathway_auc",
        "Existence: AUC of present inter-area pathways against absent ones (area-layer mean |w|)",
    ),
    (
        "area",
        "between_area_share",
        "Share of each area's recurrent input that comes from other areas (mean over areas; the truth's is the next table)",
    ),
    (
        "area",
        "true_between_area_share",
        "The same share in the truth",
    ),
    (
        "area",
        "pathway_rho_input_share",
        "Spearman ρ of the input shares of the pathways between areas that exist",
    ),
    (
        "unit",
        "existing_w_correlation",
        "Unit level: Pearson r of inferred and true W[post, pre] over the connections that exist between recorded neurons",
    ),
    (
        "population",
        "all_rho_mean_abs_w",
        "For comparison only: Spearman ρ of block mean |w| over all blocks, which credits the zeros the prior gives fit and truth alike",
    ),
];

/// The Markdown summary: for every simulator, one table per metric (conditions × methods).
pub fn markdown(cfg: &RecoveryConfig, rows: &[Row]) -> String {
    let mut s = String::from("# Recovery of true interactions\n\n");
    let _ = writeln!(
        s,
        "Mean ± SD over {} simulated recordings (seeds {:?}). Rows: recording conditions; columns: methods. \
         Strengths are scored only over the blocks that truly exist; `prior_only` is what the prior's \
         densities and Dale's signs score with random magnitudes.\n",
        cfg.seeds.len(),
        cfg.seeds
    );
    let methods: Vec<&str> = cfg.methods.iter().map(|m| m.name.as_str()).collect();
    for sim in &cfg.simulators {
        let _ = writeln!(s, "# Simulator `{}`\n", sim.name);
        let _ = writeln!(
            s,
            "![population level](recovery_{0}_population.png)\n\n![area-layer level](recovery_{0}_area_layer.png)\n",
            sim.name
        );
        for (level, metric, title) in TABLES {
            let _ = writeln!(s, "## {title}\n");
            let _ = writeln!(s, "| condition | {} |", methods.join(" | "));
            let _ = writeln!(s, "|---|{}", "---|".repeat(methods.len()));
            for c in &cfg.conditions {
                let cells: Vec<String> = methods
                    .iter()
                    .map(|m| {
                        cell(
                            rows,
                            (&sim.name, &c.name, m),
                            level,
                            metric,
                            cfg.seeds.len(),
                        )
                    })
                    .collect();
                let _ = writeln!(s, "| {} | {} |", c.name, cells.join(" | "));
            }
            let _ = writeln!(s);
        }
    }
    s
}

/// A short text for the terminal: per simulator, the population-level Spearman ρ of input shares
/// over the blocks that exist.
pub fn summary_text(cfg: &RecoveryConfig, rows: &[Row]) -> String {
    let mut s = String::new();
    let w = cfg
        .conditions
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(9)
        .clamp(9, 60);
    for sim in &cfg.simulators {
        let _ = writeln!(
            s,
            "{}: population-level Spearman ρ of input shares over the blocks that exist (mean ± SD over recordings)",
            sim.name
        );
        let _ = write!(s, "  {:w$}", "condition");
        for m in &cfg.methods {
            let _ = write!(s, "  {:>16}", m.name);
        }
        let _ = writeln!(s);
        for c in &cfg.conditions {
            let _ = write!(s, "  {:w$}", c.name);
            for m in &cfg.methods {
                let _ = write!(
                    s,
                    "  {:>16}",
                    cell(
                        rows,
                        (&sim.name, &c.name, &m.name),
                        "population",
                        "existing_rho_input_share",
                        cfg.seeds.len()
                    )
                );
            }
            let _ = writeln!(s);
        }
    }
    s
}
