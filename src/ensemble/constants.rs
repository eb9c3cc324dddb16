//! Intervals on the values a fit learns besides its weights: the time constants
//! (`model.learn_tau`) and indicator decays (`observation: calcium`) per cell type, from each
//! member's manifest, and the inferred inputs' share of each area's input
//! (`model.latent_inputs`), from each member's `inferred_inputs.parquet`.

use super::consensus::spread;
use super::members::Member;
use crate::error::Result;
use crate::rundir::tables::{self, ConstantEnsembleRow, InferredInputRow};
use std::collections::BTreeMap;

/// `(quantity, group) → value` of one run directory.
fn learned(dir: &std::path::Path) -> Result<BTreeMap<(String, String), f64>> {
    let m = crate::rundir::read_manifest(dir)?;
    let mut out = BTreeMap::new();
    for (quantity, map) in [
        ("tau_ms", &m.tau_ms),
        ("calcium_decay_ms", &m.calcium_decay_ms),
    ] {
        for (group, v) in map {
            out.insert((quantity.to_string(), group.clone()), *v);
        }
    }
    let inferred = dir.join("tables/inferred_inputs.parquet");
    if inferred.is_file() {
        let rows: Vec<InferredInputRow> = tables::read(&inferred)?;
        for r in rows.iter().filter(|r| r.split == "train") {
            out.insert(("inferred_share".into(), r.area.clone()), r.inferred_share);
        }
    }
    Ok(out)
}

/// One row per value the fit (member 0) learned, with the interval over every member's value;
/// empty when the fit learned none.
pub fn rows(ms: &[Member]) -> Result<Vec<ConstantEnsembleRow>> {
    let values = ms
        .iter()
        .map(|m| learned(&m.dir))
        .collect::<Result<Vec<_>>>()?;
    let Some(fit) = values.first() else {
        return Ok(Vec::new());
    };
    Ok(fit
        .iter()
        .map(|((quantity, group), &estimate)| {
            let key = (quantity.clone(), group.clone());
            let all: Vec<f64> = values.iter().filter_map(|v| v.get(&key).copied()).collect();
            let (lo, hi, n_members, _) = spread(&all);
            ConstantEnsembleRow {
                quantity: quantity.clone(),
                group: group.clone(),
                estimate,
                ci_low: lo,
                ci_high: hi,
                n_members,
            }
        })
        .collect())
}
