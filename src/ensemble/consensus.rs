//! The consensus of an ensemble: every block value of every member, summarised per (level, pre,
//! post, metric) as the fit's value and the interval the members span.

use crate::analysis::block_values::RunTables;
use crate::analysis::blocks::Level;
use crate::error::Result;
use crate::rundir::tables::InteractionEnsembleRow;
use crate::stats::quantile;
use std::collections::BTreeMap;
use std::path::Path;

/// `(level, pre, post, metric)`.
pub type Key = (String, String, String, String);

/// Metrics summarised, in table order.
pub const METRICS: [&str; 4] = ["mean_w", "mean_abs_w", "mean_current", "input_share"];

/// Every block value of one run directory at `levels`: the final stage's `mean_w` and
/// `mean_abs_w`, and on the held-out split (training when nothing is held out) the net
/// `mean_current` (summed over the source's signs) and the `input_share`.
pub fn block_values(dir: &Path, levels: &[Level]) -> Result<BTreeMap<Key, f64>> {
    let mut out = BTreeMap::new();
    let run = RunTables::read(dir)?;
    for &level in levels {
        let key = |pre: &str, post: &str, metric: &str| {
            (
                level.name().to_string(),
                pre.to_string(),
                post.to_string(),
                metric.to_string(),
            )
        };
        for ((pre, post), v) in run.blocks(level) {
            out.insert(key(&pre, &post, "mean_w"), v.mean_w);
            out.insert(key(&pre, &post, "mean_abs_w"), v.mean_abs_w);
            out.insert(key(&pre, &post, "input_share"), v.input_share);
            out.insert(key(&pre, &post, "mean_current"), 0.0);
        }
        for r in run.currents(level) {
            *out.entry(key(&r.source, &r.target, "mean_current"))
                .or_default() += r.mean_current;
        }
    }
    Ok(out)
}

/// Members below which the interval is the members' range: a 95 % percentile interval needs at
/// least 40 draws to differ from the range.
pub const MIN_PERCENTILE_MEMBERS: usize = 40;

/// The 95 % interval of `values`: the 2.5 % and 97.5 % quantiles, or the range below
/// [`MIN_PERCENTILE_MEMBERS`] values (so that the fit, one of them, always lies inside).
pub fn interval(values: &[f64]) -> (f64, f64) {
    let finite = values.iter().filter(|v| v.is_finite()).count();
    if finite >= MIN_PERCENTILE_MEMBERS {
        (quantile(values, 0.025), quantile(values, 0.975))
    } else {
        (quantile(values, 0.0), quantile(values, 1.0))
    }
}

/// What the members say of one value: the 95 % [`interval`] over their values, how many are
/// finite, and whether the interval settles the sign (excludes 0).
pub fn spread(values: &[f64]) -> (f64, f64, u32, bool) {
    let (lo, hi) = interval(values);
    let n = values.iter().filter(|v| v.is_finite()).count() as u32;
    (lo, hi, n, lo > 0.0 || hi < 0.0)
}

/// Consensus rows from the fit's values `fit` and every member's (the fit among them): the
/// estimate is the fit's value, the interval [`interval`] over the members, and a sign is
/// determined when the interval excludes 0. `identifiable` comes from the self-check (`None`
/// without one).
pub fn rows(
    fit: &BTreeMap<Key, f64>,
    members: &[BTreeMap<Key, f64>],
    identifiable: &BTreeMap<Key, bool>,
) -> Vec<InteractionEnsembleRow> {
    fit.iter()
        .map(|(k, &estimate)| {
            let values: Vec<f64> = members.iter().filter_map(|m| m.get(k).copied()).collect();
            let (lo, hi, n_members, sign_determined) = spread(&values);
            InteractionEnsembleRow {
                level: k.0.clone(),
                pre: k.1.clone(),
                post: k.2.clone(),
                metric: k.3.clone(),
                estimate,
                ci_low: lo,
                ci_high: hi,
                n_members,
                sign_determined,
                identifiable: identifiable.get(k).copied(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pre: &str, metric: &str) -> Key {
        ("area".into(), pre.into(), "VISl".into(), metric.into())
    }

    #[test]
    fn intervals_span_the_members_and_signs_need_an_interval_without_zero() {
        let member = |a: f64, b: f64| {
            BTreeMap::from([(key("VISp", "mean_w"), a), (key("VISl", "mean_w"), b)])
        };
        let members = vec![member(0.2, -0.1), member(0.4, 0.3), member(0.3, 0.1)];
        let fit = members[0].clone();
        let flags = BTreeMap::from([(key("VISp", "mean_w"), true)]);
        let r = rows(&fit, &members, &flags);
        let visp = r.iter().find(|r| r.pre == "VISp").unwrap();
        // Three members: the interval is their range.
        assert_eq!((visp.ci_low, visp.ci_high), (0.2, 0.4));
        assert!(visp.sign_determined && visp.identifiable == Some(true));
        assert_eq!((visp.estimate, visp.n_members), (0.2, 3));
        let visl = r.iter().find(|r| r.pre == "VISl").unwrap();
        assert!(!visl.sign_determined && visl.identifiable.is_none());
    }

    #[test]
    fn forty_members_or_more_give_percentiles() {
        let v: Vec<f64> = (0..41).map(f64::from).collect();
        // numpy.percentile(range(41), [2.5, 97.5]) = [1.0, 39.0]
        assert_eq!(interval(&v), (1.0, 39.0));
        assert_eq!(interval(&v[..39]), (0.0, 38.0));
    }
}
