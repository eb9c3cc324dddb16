//! In-silico perturbations of a fitted model: silence (scale outgoing rates by 1 − magnitude) or
//! drive (add input to) the units matching a pattern, run the model free on the validation windows,
//! and compare every population's mean rate with the unperturbed run.

use crate::config::{PerturbationKind, PerturbationSpec};
use crate::connectivity::{Pattern, Population};
use crate::dataset::{Dataset, Window};
use crate::error::Result;
use crate::model::Perturbation;
use crate::network::Fitted;
use crate::rundir::tables::PerturbationRow;
use candle_core::Tensor;

/// The default list: silence each population, then each area, fully.
pub fn default_perturbations(units: &[Population]) -> Vec<PerturbationSpec> {
    let mut out: Vec<PerturbationSpec> = Vec::new();
    let mut push = |target: String| {
        if !out.iter().any(|p| p.target == target) {
            out.push(PerturbationSpec {
                kind: PerturbationKind::Silence,
                target,
                magnitude: 1.0,
            });
        }
    };
    for u in units {
        push(u.label());
    }
    for u in units {
        push(format!("{}/*/*", u.area));
    }
    out
}

/// Mean effective rate per population over `windows`, with an optional perturbation.
fn population_rates(
    f: &Fitted,
    ds: &Dataset,
    windows: &[Window],
    pert: Option<&Perturbation>,
) -> Result<Vec<f64>> {
    let device = f.device();
    let p = f.params.to_params(&device)?;
    let n = f.network.signs.len();
    let mut sum = vec![0f64; n];
    let mut count = 0usize;
    for chunk in windows.chunks(64) {
        let (y, u) = f.batch(ds, chunk, &p)?;
        let rates = match pert {
            Some(pt) => f.network.rnn.perturbed_rates(&p, &y, &u, pt),
            None => f.network.rnn.rates(&p, &y, &u),
        }?;
        for r in rates {
            let s = r.sum(0).and_then(|t| t.to_vec1::<f32>())?;
            for (a, b) in sum.iter_mut().zip(s) {
                *a += b as f64;
            }
            count += r.dim(0)?;
        }
    }
    let pops = &f.network.units;
    Ok(pops
        .members
        .iter()
        .map(|m| m.iter().map(|&i| sum[i]).sum::<f64>() / (m.len() * count.max(1)) as f64)
        .collect())
}

/// Run every perturbation in `specs` (or the defaults when empty) on `windows`.
pub fn perturbations(
    f: &Fitted,
    ds: &Dataset,
    windows: &[Window],
    specs: &[PerturbationSpec],
) -> Result<Vec<PerturbationRow>> {
    let device = f.device();
    let units = &f.network.units.units;
    let specs = if specs.is_empty() {
        default_perturbations(units)
    } else {
        specs.to_vec()
    };
    let base = population_rates(f, ds, windows, None)?;
    let n = units.len();
    let mut rows = Vec::new();
    for spec in &specs {
        let pat = Pattern::parse(&spec.target).expect("validated pattern");
        let hit: Vec<bool> = units.iter().map(|u| pat.matches(u)).collect();
        let keep: Vec<f32> = hit
            .iter()
            .map(|&h| {
                if h && spec.kind == PerturbationKind::Silence {
                    (1.0 - spec.magnitude) as f32
                } else {
                    1.0
                }
            })
            .collect();
        let drive: Vec<f32> = hit
            .iter()
            .map(|&h| {
                if h && spec.kind == PerturbationKind::Drive {
                    spec.magnitude as f32
                } else {
                    0.0
                }
            })
            .collect();
        let pert = Perturbation {
            keep: Tensor::from_slice(&keep, (1, n), &device)?,
            drive: Tensor::from_slice(&drive, (1, n), &device)?,
        };
        let after = population_rates(f, ds, windows, Some(&pert))?;
        for (k, pop) in f.network.units.populations.iter().enumerate() {
            let delta = after[k] - base[k];
            rows.push(PerturbationRow {
                perturbed: spec.target.clone(),
                kind: match spec.kind {
                    PerturbationKind::Silence => "silence",
                    PerturbationKind::Drive => "drive",
                }
                .into(),
                magnitude: spec.magnitude,
                target: pop.label(),
                baseline_mean_rate: base[k],
                perturbed_mean_rate: after[k],
                delta,
                delta_rel: if base[k] != 0.0 {
                    delta / base[k].abs()
                } else {
                    f64::NAN
                },
                delta_rel_ci_low: f64::NAN,
                delta_rel_ci_high: f64::NAN,
                sign_determined: None,
                identifiable: None,
            });
        }
    }
    Ok(rows)
}
