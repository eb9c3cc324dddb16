//! Currents with intervals: each time-averaged current of the fit (`mean_current` of
//! `tables/currents.parquet`, per level, split, source, target and source sign) beside the same
//! current in every ensemble member, and the self-check's flag of its (source, target) block.

use super::consensus::{self, spread};
use crate::error::Result;
use crate::rundir::tables::{self, CurrentEnsembleRow, CurrentRow, Table};
use crate::rundir::RunPaths;
use std::collections::BTreeMap;
use std::path::Path;

/// `(level, split, source, target, source sign)`.
pub type Key = (String, String, String, String, String);

/// Every `mean_current` of the run directory `dir`.
pub fn currents(dir: &Path) -> Result<BTreeMap<Key, f64>> {
    let rows: Vec<CurrentRow> = tables::read(&RunPaths::new(dir).table(CurrentRow::NAME))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.level, r.split, r.source, r.target, r.source_sign),
                r.mean_current,
            )
        })
        .collect())
}

/// One row per current of the fit `fit`: its value, the interval over `members` (the fit among
/// them), and the self-check's flag of its block in `flags` (keyed as the consensus is; absent:
/// null).
pub fn rows(
    fit: &BTreeMap<Key, f64>,
    members: &[BTreeMap<Key, f64>],
    flags: &BTreeMap<consensus::Key, bool>,
) -> Vec<CurrentEnsembleRow> {
    fit.iter()
        .map(|(k, &estimate)| {
            let values: Vec<f64> = members.iter().filter_map(|m| m.get(k).copied()).collect();
            let (ci_low, ci_high, n_members, _) = spread(&values);
            let block = (k.0.clone(), k.2.clone(), k.3.clone(), "mean_current".into());
            CurrentEnsembleRow {
                level: k.0.clone(),
                split: k.1.clone(),
                source: k.2.clone(),
                target: k.3.clone(),
                source_sign: k.4.clone(),
                estimate,
                ci_low,
                ci_high,
                n_members,
                identifiable: flags.get(&block).copied(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sign: &str) -> Key {
        (
            "area".into(),
            "validation".into(),
            "VISp".into(),
            "VISl".into(),
            sign.into(),
        )
    }

    #[test]
    fn each_current_gets_its_members_range_and_its_blocks_flag() {
        let member = |e: f64, i: f64| BTreeMap::from([(key("E"), e), (key("I"), i)]);
        let members = vec![member(0.3, -0.1), member(0.5, -0.2), member(0.2, -0.15)];
        let flags = BTreeMap::from([(
            (
                "area".to_string(),
                "VISp".to_string(),
                "VISl".to_string(),
                "mean_current".to_string(),
            ),
            true,
        )]);
        let r = rows(&members[0], &members, &flags);
        let e = r.iter().find(|r| r.source_sign == "E").unwrap();
        assert_eq!(
            (e.estimate, e.ci_low, e.ci_high, e.n_members),
            (0.3, 0.2, 0.5, 3)
        );
        assert_eq!(e.identifiable, Some(true));
        let i = r.iter().find(|r| r.source_sign == "I").unwrap();
        assert_eq!((i.ci_low, i.ci_high), (-0.2, -0.1));
        assert!(rows(&members[0], &members, &BTreeMap::new())
            .iter()
            .all(|r| r.identifiable.is_none()));
    }
}
