//! Condition contrasts across runs (Balwani et al. 2025, done with uncertainty): for two or more
//! groups of finished runs (conditions × seeds), per level and block the difference of group means
//! of `mean_abs_w` and `mean_w` (final weights) and of `mean_current` (validation split, by source
//! sign), with a bootstrap 95 % interval over runs and a permutation p-value.

pub mod figures;
pub mod stats;

use crate::error::{Error, Result};
use crate::rundir::tables::{read_parquet, write_parquet};
use polars::prelude::*;
use stats::{benjamini_hochberg, contrast, Plans};
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

fn strs<'a>(df: &'a DataFrame, path: &Path, col: &str) -> Result<&'a StringChunked> {
    df.column(col)
        .and_then(|c| c.str())
        .map_err(|e| Error::Data {
            file: path.to_path_buf(),
            location: col.into(),
            problem: format!("missing or not a string column: {e}"),
            fix: "re-create the table with fitrnn analyse RUN_DIR".into(),
        })
}

fn f64s<'a>(df: &'a DataFrame, path: &Path, col: &str) -> Result<&'a Float64Chunked> {
    df.column(col)
        .and_then(|c| c.f64())
        .map_err(|e| Error::Data {
            file: path.to_path_buf(),
            location: col.into(),
            problem: format!("missing or not a float column: {e}"),
            fix: "re-create the table with fitrnn analyse RUN_DIR".into(),
        })
}

/// Read the final block interactions and the validation currents (training currents when the
/// run held nothing out) of the complete run in `dir`.
pub fn load_run(dir: &Path) -> Result<RunValues> {
    crate::rundir::read_complete_manifest(dir, "compare")?;
    let mut values = BTreeMap::new();
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let p = dir.join("tables/interactions.parquet");
    let df = read_parquet(&p)?;
    let (lv, st, pre, post) = (
        strs(&df, &p, "level")?,
        strs(&df, &p, "stage")?,
        strs(&df, &p, "pre")?,
        strs(&df, &p, "post")?,
    );
    let (mw, ma) = (f64s(&df, &p, "mean_w")?, f64s(&df, &p, "mean_abs_w")?);
    for i in 0..df.height() {
        if st.get(i) != Some("final") {
            continue;
        }
        let labels = order
            .entry(lv.get(i).unwrap_or_default().to_string())
            .or_default();
        for l in [pre.get(i), post.get(i)].into_iter().flatten() {
            if !labels.iter().any(|x| x == l) {
                labels.push(l.to_string());
            }
        }
        let key = |q: &str| {
            (
                q.to_string(),
                lv.get(i).unwrap_or_default().to_string(),
                pre.get(i).unwrap_or_default().to_string(),
                post.get(i).unwrap_or_default().to_string(),
                None,
            )
        };
        values.insert(key("mean_abs_w"), ma.get(i).unwrap_or(f64::NAN));
        values.insert(key("mean_w"), mw.get(i).unwrap_or(f64::NAN));
    }
    let p = dir.join("tables/currents.parquet");
    let df = read_parquet(&p)?;
    let (lv, sp, src, tgt, sg) = (
        strs(&df, &p, "level")?,
        strs(&df, &p, "split")?,
        strs(&df, &p, "source")?,
        strs(&df, &p, "target")?,
        strs(&df, &p, "source_sign")?,
    );
    let mc = f64s(&df, &p, "mean_current")?;
    let has_validation = (0..df.height()).any(|i| sp.get(i) == Some("validation"));
    let split = if has_validation {
        "validation"
    } else {
        "train"
    };
    for i in 0..df.height() {
        if sp.get(i) != Some(split) {
            continue;
        }
        values.insert(
            (
                "mean_current".into(),
                lv.get(i).unwrap_or_default().to_string(),
                src.get(i).unwrap_or_default().to_string(),
                tgt.get(i).unwrap_or_default().to_string(),
                sg.get(i).map(str::to_string),
            ),
            mc.get(i).unwrap_or(f64::NAN),
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

/// One row of `contrasts.parquet`.
#[derive(Debug, Clone)]
pub struct ContrastRow {
    /// Reference group (A) and compared group (B): the difference is B − A.
    pub group_a: String,
    /// Compared group.
    pub group_b: String,
    /// The key.
    pub key: Key,
    /// Runs in A and B.
    pub n_a: usize,
    /// Runs in B.
    pub n_b: usize,
    /// The statistics.
    pub c: stats::Contrast,
    /// Benjamini–Hochberg adjusted p within (pair, quantity, level), over the blocks that vary
    /// across runs (NaN for a block identical in every run).
    pub p_fdr: f64,
    /// Whether the permutation test enumerated every relabelling.
    pub exact: bool,
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
                pair_rows.push(ContrastRow {
                    group_a: a.name.clone(),
                    group_b: b.name.clone(),
                    key: key.clone(),
                    n_a: va.len(),
                    n_b: vb.len(),
                    c: contrast(va, vb, &plans),
                    p_fdr: f64::NAN,
                    exact: plans.exact,
                });
            }
            // BH within each (quantity, level) family, over the keys that vary at all: a block
            // that is identical in every run (e.g. one the mask forbids, always 0) cannot differ
            // and would only dilute the correction; its p_fdr stays NaN.
            let mut families: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
            for (i, r) in pair_rows.iter().enumerate() {
                if !constant[i] {
                    families
                        .entry((r.key.0.clone(), r.key.1.clone()))
                        .or_default()
                        .push(i);
                }
            }
            for idx in families.values() {
                let p: Vec<f64> = idx.iter().map(|&i| pair_rows[i].c.p_value).collect();
                for (k, q) in benjamini_hochberg(&p).into_iter().enumerate() {
                    pair_rows[idx[k]].p_fdr = q;
                }
            }
            rows.extend(pair_rows);
        }
    }
    (rows, left_out)
}

/// Write `contrasts.parquet` to `path`.
pub fn write_contrasts(path: &Path, rows: &[ContrastRow]) -> Result<()> {
    let col = |f: &dyn Fn(&ContrastRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let df = df!(
        "group_a" => rows.iter().map(|r| r.group_a.clone()).collect::<Vec<_>>(),
        "group_b" => rows.iter().map(|r| r.group_b.clone()).collect::<Vec<_>>(),
        "quantity" => rows.iter().map(|r| r.key.0.clone()).collect::<Vec<_>>(),
        "level" => rows.iter().map(|r| r.key.1.clone()).collect::<Vec<_>>(),
        "pre" => rows.iter().map(|r| r.key.2.clone()).collect::<Vec<_>>(),
        "post" => rows.iter().map(|r| r.key.3.clone()).collect::<Vec<_>>(),
        "source_sign" => rows.iter().map(|r| r.key.4.clone()).collect::<Vec<_>>(),
        "n_a" => rows.iter().map(|r| r.n_a as u32).collect::<Vec<_>>(),
        "n_b" => rows.iter().map(|r| r.n_b as u32).collect::<Vec<_>>(),
        "mean_a" => col(&|r| r.c.mean_a),
        "mean_b" => col(&|r| r.c.mean_b),
        "difference" => col(&|r| r.c.difference),
        "ci_low" => col(&|r| r.c.ci_low),
        "ci_high" => col(&|r| r.c.ci_high),
        "p_value" => col(&|r| r.c.p_value),
        "p_fdr" => col(&|r| r.p_fdr),
        "exact_test" => rows.iter().map(|r| r.exact).collect::<Vec<_>>(),
    )?;
    write_parquet(path, df)
}
