//! Perturbation effects with intervals: each effect of the fit (the relative change of a target's
//! mean rate when a group is silenced or driven, `tables/perturbations.parquet`) beside the same
//! effect in every ensemble member, and whether the self-check's refits reproduce it.
//!
//! The refits' effects are computed by each refit on its own simulated recording, whose inputs
//! and length are the user's; the fit's effect on the user's recording stands in for the fitted
//! network's effect on the simulated ones (the same inputs drive both).

use super::consensus::spread;
use super::selfcheck::{MAX_REL_ERROR, MIN_SIGN_AGREEMENT};
use crate::error::Result;
use crate::rundir::tables::{self, PerturbationEnsembleRow, PerturbationRow, Table};
use crate::rundir::RunPaths;
use std::collections::BTreeMap;
use std::path::Path;

/// `(kind, perturbed, magnitude as written, target)`.
pub type Key = (String, String, String, String);

/// Every perturbation effect (`delta_rel`) of the run directory `dir`.
pub fn effects(dir: &Path) -> Result<BTreeMap<Key, f64>> {
    let rows: Vec<PerturbationRow> =
        tables::read(&RunPaths::new(dir).table(PerturbationRow::NAME))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.kind, r.perturbed, format!("{}", r.magnitude), r.target),
                r.delta_rel,
            )
        })
        .collect())
}

/// Whether `refits` reproduce the effect `truth`: their median within [`MAX_REL_ERROR`] of it
/// and its sign in at least [`MIN_SIGN_AGREEMENT`] of them; `None` for an effect that is 0 or
/// not finite, or without refits.
fn reproduced(truth: f64, refits: &[f64]) -> Option<bool> {
    if refits.is_empty() || !truth.is_finite() || truth == 0.0 {
        return None;
    }
    let median = crate::stats::quantile(refits, 0.5);
    let agree = refits
        .iter()
        .filter(|v| v.signum() == truth.signum() && **v != 0.0)
        .count() as f64
        / refits.len() as f64;
    Some((median - truth).abs() <= MAX_REL_ERROR * truth.abs() && agree >= MIN_SIGN_AGREEMENT)
}

/// One row per effect of the fit: its value, the interval over `members` (the fit among them),
/// and the refits' median and verdict (`refits` empty: no self-check).
pub fn rows(
    fit: &BTreeMap<Key, f64>,
    members: &[BTreeMap<Key, f64>],
    refits: &[BTreeMap<Key, f64>],
) -> Vec<PerturbationEnsembleRow> {
    fit.iter()
        .map(|(k, &estimate)| {
            let values: Vec<f64> = members.iter().filter_map(|m| m.get(k).copied()).collect();
            let (lo, hi, n_members, sign_determined) = spread(&values);
            let refit: Vec<f64> = refits
                .iter()
                .filter_map(|m| m.get(k).copied())
                .filter(|v| v.is_finite())
                .collect();
            PerturbationEnsembleRow {
                perturbed: k.1.clone(),
                kind: k.0.clone(),
                magnitude: k.2.parse().unwrap_or(f64::NAN),
                target: k.3.clone(),
                estimate,
                ci_low: lo,
                ci_high: hi,
                n_members,
                sign_determined,
                refit_median: if refit.is_empty() {
                    f64::NAN
                } else {
                    crate::stats::quantile(&refit, 0.5)
                },
                identifiable: reproduced(estimate, &refit),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(target: &str) -> Key {
        (
            "silence".into(),
            "VISp/*/*".into(),
            "1".into(),
            target.into(),
        )
    }

    #[test]
    fn effects_get_the_members_range_and_the_refits_verdict() {
        let run =
            |a: f64, b: f64| BTreeMap::from([(key("VISl/L4/Pvalb"), a), (key("VISl/L5/Sst"), b)]);
        let members = vec![run(-0.4, 0.05), run(-0.3, -0.02), run(-0.5, 0.01)];
        // The refits reproduce the first effect (median −0.35, every sign right) but not the
        // second (median −0.01: the opposite sign).
        let refits = vec![run(-0.35, -0.01), run(-0.3, 0.02), run(-0.45, -0.03)];
        let r = rows(&members[0], &members, &refits);
        let pv = r.iter().find(|r| r.target == "VISl/L4/Pvalb").unwrap();
        assert_eq!((pv.ci_low, pv.ci_high, pv.n_members), (-0.5, -0.3, 3));
        assert!(pv.sign_determined);
        assert_eq!((pv.refit_median, pv.identifiable), (-0.35, Some(true)));
        assert_eq!(pv.magnitude, 1.0);
        let sst = r.iter().find(|r| r.target == "VISl/L5/Sst").unwrap();
        assert!(!sst.sign_determined);
        assert_eq!(sst.identifiable, Some(false));
        // Without a self-check nothing is flagged.
        let r = rows(&members[0], &members, &[]);
        assert!(r
            .iter()
            .all(|r| r.identifiable.is_none() && r.refit_median.is_nan()));
    }

    #[test]
    fn a_refit_median_off_by_more_than_half_is_not_reproduced() {
        assert_eq!(reproduced(-0.2, &[-0.31, -0.35, -0.4]), Some(false));
        assert_eq!(reproduced(-0.2, &[-0.29, -0.25, -0.1]), Some(true));
        assert_eq!(reproduced(0.0, &[0.1]), None);
        assert_eq!(reproduced(f64::NAN, &[0.1]), None);
    }
}
