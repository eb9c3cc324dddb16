//! Condition contrasts across runs (Balwani et al. 2025, done with uncertainty): for two or more
//! groups of finished runs (conditions × seeds), per level and block the difference of group means
//! of `mean_abs_w` and `mean_w` (final weights) and of `mean_current` (validation split, by source
//! sign), with a bootstrap 95 % interval over runs and a permutation p-value.

mod contrasts;
pub mod figures;
pub mod stats;

pub use contrasts::{contrasts, load_run, ContrastRow, Group, Key, RunValues, Settings};

use crate::error::{Error, Result};
use crate::rundir::tables::{self, Table};
use std::path::{Path, PathBuf};

/// What [`run`] did.
#[derive(Debug)]
pub struct CompareOutcome {
    /// The groups and their runs' values.
    pub groups: Vec<Group>,
    /// Every contrast (also in `contrasts.parquet`).
    pub rows: Vec<ContrastRow>,
    /// Block comparisons left out because some run lacks the block.
    pub left_out: usize,
    /// `OUT/contrasts.parquet`.
    pub table: PathBuf,
    /// The heat maps written.
    pub heat_maps: Vec<PathBuf>,
}

/// Contrast the named groups of run directories (`(name, runs)`, at least two) with `settings`,
/// and write `contrasts.parquet`, `compare.json` and the heat maps into `out`.
pub fn run(
    named: &[(String, Vec<PathBuf>)],
    settings: Settings,
    out: &Path,
) -> Result<CompareOutcome> {
    let mut groups = Vec::new();
    for (name, runs) in named {
        let runs = runs
            .iter()
            .map(|r| load_run(r))
            .collect::<Result<Vec<_>>>()?;
        groups.push(Group {
            name: name.clone(),
            runs,
        });
    }
    let (rows, left_out) = contrasts(&groups, settings);
    if rows.is_empty() {
        return Err(Error::Unsupported {
            problem: format!(
                "the runs share no interaction block, so there is nothing to contrast ({left_out} blocks are missing from some run)"
            ),
            fix: "compare runs fitted with the same areas, layers and cell types (see tables/interactions.parquet of each)".into(),
        });
    }
    let table_name = format!("{}.parquet", ContrastRow::NAME);
    crate::atomic::check_own_folder(
        out,
        |n| {
            n == table_name
                || n == "compare.json"
                || n.starts_with("contrast_") && n.ends_with(".png")
        },
        "compare.json",
        "fitrnn compare",
    )?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "creating the folder", e))?;
    let table = out.join(table_name);
    tables::write(&table, &rows)?;
    let heat_maps = figures::write_heat_maps(out, &rows, &groups[0].runs[0].order)?;
    let summary = serde_json::json!({
        "fitrnn_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("FITRNN_GIT_COMMIT"),
        "groups": named.iter().map(|(g, runs)| serde_json::json!({
            "name": g,
            "runs": runs.iter().map(|r| r.canonicalize().unwrap_or(r.clone()).display().to_string()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "bootstrap": settings.bootstrap,
        "max_permutations": settings.permutations,
        "seed": settings.seed,
        "rows": rows.len(),
        "keys_missing_in_some_run": left_out,
    });
    let text = serde_json::to_string_pretty(&summary)
        .map_err(|e| Error::internal("writing compare.json", e))?;
    crate::atomic::write_bytes(&out.join("compare.json"), text.as_bytes())?;
    Ok(CompareOutcome {
        groups,
        rows,
        left_out,
        table,
        heat_maps,
    })
}
