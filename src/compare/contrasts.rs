//! The contrasts themselves: each run's comparable block quantities, groups of runs, and the
//! difference of group means per block with its bootstrap interval, permutation p-value and
//! FDR-adjusted p (`contrasts.parquet`).

use super::stats::{benjamini_hochberg, contrast, Plans};
use crate::error::Result;
use crate::rundir::paths::RunPaths;
use crate::rundir::tables::{self, table, CurrentRow, InteractionRow, Table};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What is compared: `(quantity, level, pre or source, post or target, source sign)`.
pub type Key = (String, String, String, String, Option<String>);

/// One run's comparable quantities.
#[derive(Debug, Clone)]
pub struct RunValues {
    /// The run directory.
    pub dir: PathBuf,
    /// Value per key.
    pub values: BTreeMap<Key, f64>,
    /// Block labels per level in the run's unit order (area → layer → cell type).
    pub order: BTreeMap<String, Vec<String>>,
}

/// Read the final block interactions and the validation currents (training currents when the
/// run held nothing out) of the complete run in `dir`.
pub fn load_run(dir: &Path) -> Result<RunValues> {
    let manifest = crate::rundir::read_complete_manifest(dir, "compare")?;
    crate::rundir::refuse_task_run(&manifest, dir, "compare")?;
    let paths = RunPaths::new(dir);
    let mut values = BTreeMap::new();
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let interactions: Vec<InteractionRow> = tables::read(&paths.table(InteractionRow::NAME))?;
    for r in interactions.iter().filter(|r| r.stage == "final") {
        let labels = order.entry(r.level.clone()).or_default();
        for l in [&r.pre, &r.post] {
            if !labels.iter().any(|x| x == l) {
                labels.push(l.clone());
            }
        }
        let key = |q: &str| {
            (
                q.to_string(),
                r.level.clone(),
                r.pre.clone(),
                r.post.clone(),
                None,
            )
        };
        values.insert(key("mean_abs_w"), r.mean_abs_w);
        values.insert(key("mean_w"), r.mean_w);
    }
    let currents: Vec<CurrentRow> = tables::read(&paths.table(CurrentRow::NAME))?;
    let split = if currents.iter().any(|r| r.split == "validation") {
        "validation"
    } else {
        "train"
    };
    for r in currents.iter().filter(|r| r.split == split) {
        values.insert(
            (
                "mean_current".into(),
                r.level.clone(),
                r.source.clone(),
                r.target.clone(),
                Some(r.source_sign.clone()),
            ),
            r.mean_current,
        );
    }
    Ok(RunValues {
        dir: dir.to_path_buf(),
        values,
        order,
    })
}

/// A named group of runs.
#[derive(Debug, Clone)]
pub struct Group {
    /// The condition's name.
    pub name: String,
    /// Its runs.
    pub runs: Vec<RunValues>,
}

/// Resampling settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Most relabellings for the permutation test (exact when all fit).
    pub permutations: usize,
    /// Seed of the resampling.
    pub seed: u64,
}

table! {
    /// One row of `contrasts.parquet`: one quantity of one block, contrasted between two groups.
    ContrastRow = "contrasts" {
        /// Reference group (A): the difference is B − A.
        group_a: String,
        /// Compared group (B).
        group_b: String,
        /// `mean_abs_w`, `mean_w` or `mean_current`.
        quantity: String,
        /// `population`, `area_layer` or `area`.
        level: String,
        /// Presynaptic block (source block for currents).
        pre: String,
        /// Postsynaptic block (target block for currents).
        post: String,
        /// `E` or `I` for currents; null for weights.
        source_sign: Option<String>,
        /// Runs in A.
        n_a: u32,
        /// Runs in B.
        n_b: u32,
        /// Mean over A's runs.
        mean_a: f64,
        /// Mean over B's runs.
        mean_b: f64,
        /// `mean_b − mean_a`.
        difference: f64,
        /// Lower end of the percentile bootstrap 95 % interval of the difference.
        ci_low: f64,
        /// Upper end.
        ci_high: f64,
        /// Two-sided permutation p-value.
        p_value: f64,
        /// Benjamini–Hochberg adjusted p within (pair, quantity, level), over the blocks that
        /// vary across runs (NaN for a block identical in every run).
        p_fdr: f64,
        /// Whether the permutation test enumerated every relabelling.
        exact_test: bool,
    }
}

/// Contrast every pair of groups (later against earlier, in the order given) on every key that
/// all their runs share. Returns the rows and the number of keys left out because some run lacks
/// them.
pub fn contrasts(groups: &[Group], s: Settings) -> (Vec<ContrastRow>, usize) {
    let mut rows = Vec::new();
    let mut left_out = 0;
    for (ia, a) in groups.iter().enumerate() {
        for b in &groups[ia + 1..] {
            let plans = Plans::new(
                a.runs.len(),
                b.runs.len(),
                s.bootstrap,
                s.permutations,
                s.seed,
            );
            let all: Vec<&RunValues> = a.runs.iter().chain(&b.runs).collect();
            let mut pair_rows: Vec<ContrastRow> = Vec::new();
            let mut constant: Vec<bool> = Vec::new();
            for key in all[0].values.keys() {
                let v: Option<Vec<f64>> = all.iter().map(|r| r.values.get(key).copied()).collect();
                let Some(v) = v else {
                    left_out += 1;
                    continue;
                };
                constant.push(v.iter().all(|x| *x == v[0]));
                let (va, vb) = v.split_at(a.runs.len());
                let c = contrast(va, vb, &plans);
                pair_rows.push(ContrastRow {
                    group_a: a.name.clone(),
                    group_b: b.name.clone(),
                    quantity: key.0.clone(),
                    level: key.1.clone(),
                    pre: key.2.clone(),
                    post: key.3.clone(),
                    source_sign: key.4.clone(),
                    n_a: va.len() as u32,
                    n_b: vb.len() as u32,
                    mean_a: c.mean_a,
                    mean_b: c.mean_b,
                    difference: c.difference,
                    ci_low: c.ci_low,
                    ci_high: c.ci_high,
                    p_value: c.p_value,
                    p_fdr: f64::NAN,
                    exact_test: plans.exact,
                });
            }
            // BH within each (quantity, level) family, over the keys that vary at all: a block
            // that is identical in every run (e.g. one the mask forbids, always 0) cannot differ
            // and would only dilute the correction; its p_fdr stays NaN.
            let mut families: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
            for (i, r) in pair_rows.iter().enumerate() {
                if !constant[i] {
                    families
                        .entry((r.quantity.clone(), r.level.clone()))
                        .or_default()
                        .push(i);
                }
            }
            for idx in families.values() {
                let p: Vec<f64> = idx.iter().map(|&i| pair_rows[i].p_value).collect();
                for (k, q) in benjamini_hochberg(&p).into_iter().enumerate() {
                    pair_rows[idx[k]].p_fdr = q;
                }
            }
            rows.extend(pair_rows);
        }
    }
    (rows, left_out)
}
