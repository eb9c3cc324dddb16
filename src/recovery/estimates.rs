//! Block interactions from every source the study compares: the simulator's true `W[post, pre]`
//! (with the true currents when the recording saved the true rates), a fitted run's tables, the
//! prior alone (the prior's densities and Dale's signs with random magnitudes), and three
//! estimates from the recorded traces alone (pairwise correlation, a ridge VAR(1) between block
//! means, and a one-step ridge per neuron on the frames where it is active).

use crate::analysis::block_values::from_weights;
pub use crate::analysis::block_values::{input_shares, BlockValue, Blocks, RunTables};
use crate::analysis::blocks::{blocks_of, Level};
use crate::connectivity::{Population, ProbabilityTable};
use crate::data::{GroundTruth, Recording, Sign, SignMap};
use crate::dataset::Window;
use crate::evaluate::{fit_var1, training_pairs};
use ndarray::Array2;
use std::collections::BTreeMap;

/// The simulated units' populations and signs.
fn true_units(gt: &GroundTruth, signs: &SignMap) -> (Vec<Population>, Vec<Sign>) {
    let units: Vec<Population> = (0..gt.area.len())
        .map(|i| Population::new(&gt.area[i], &gt.layer[i], &gt.cell_type[i]))
        .collect();
    let s = units
        .iter()
        .map(|u| signs.get(&u.cell_type).copied().unwrap_or(Sign::E))
        .collect();
    (units, s)
}

/// The true blocks over all simulated units: `mean_w` and `mean_abs_w` of the true weights, and
/// the input shares of the true currents when the recording saved the true rates.
pub fn truth(gt: &GroundTruth, signs: &SignMap, level: Level) -> Blocks {
    let (units, s) = true_units(gt, signs);
    from_weights(
        &units,
        &s,
        &gt.w_rec,
        gt.rates.as_ref().map(|r| r.view()),
        level,
    )
}

/// The true blocks over the recorded units only (`recorded_index` ≥ 0): the true weights among
/// them and, when the recording saved the true rates, their true currents. What a perfect
/// estimate of the recorded sub-network would report.
pub fn true_recorded(gt: &GroundTruth, signs: &SignMap, level: Level) -> Blocks {
    let (units, s) = true_units(gt, signs);
    let kept: Vec<usize> = (0..units.len())
        .filter(|&i| gt.recorded_index[i] >= 0)
        .collect();
    let w = gt
        .w_rec
        .select(ndarray::Axis(0), &kept)
        .select(ndarray::Axis(1), &kept);
    let rates = gt.rates.as_ref().map(|r| r.select(ndarray::Axis(1), &kept));
    from_weights(
        &kept.iter().map(|&i| units[i].clone()).collect::<Vec<_>>(),
        &kept.iter().map(|&i| s[i]).collect::<Vec<_>>(),
        &w,
        rates.as_ref().map(|r| r.view()),
        level,
    )
}

/// What the prior alone gives: a network over the simulated units with each connection drawn at
/// its prior probability, log-normal magnitudes (σ 0.6 of log |w|, the same law for every block)
/// and Dale's signs; input shares with every unit equally active. The reference every method is
/// read against: what a fit scores without learning a strength from the data.
pub fn prior_only(
    gt: &GroundTruth,
    signs: &SignMap,
    table: &ProbabilityTable,
    level: Level,
    seed: u64,
) -> Blocks {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, LogNormal};
    let (units, s) = true_units(gt, signs);
    let n = units.len();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let magnitude = LogNormal::new(0.0, 0.6).expect("valid");
    let mut probability: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let (labels, pop) = blocks_of(&units, Level::Population);
    let _ = labels;
    let w = Array2::from_shape_fn((n, n), |(i, j)| {
        let p = *probability
            .entry((pop[i], pop[j]))
            .or_insert_with(|| table.probability(&units[j], &units[i]));
        if i == j || rng.random::<f64>() >= p {
            0.0
        } else {
            (magnitude.sample(&mut rng) * s[j].value() as f64) as f32
        }
    });
    let flat = Array2::<f32>::ones((1, n));
    from_weights(&units, &s, &w, Some(flat.view()), level)
}

/// The recorded neurons' populations.
fn populations(rec: &Recording) -> Vec<Population> {
    let n = &rec.neurons;
    (0..n.len())
        .map(|i| Population::new(&n.area[i], &n.layer[i], &n.cell_type[i]))
        .collect()
}

/// Each column to zero mean and unit (population) standard deviation; constant columns become 0.
fn zscore_columns(a: &mut Array2<f64>) {
    let t = a.nrows() as f64;
    for mut c in a.columns_mut() {
        let m = c.sum() / t;
        let sd = (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / t).sqrt();
        c.mapv_inplace(|v| if sd > 0.0 { (v - m) / sd } else { 0.0 });
    }
}

/// Block values from a signed value per (pre, post) block: the value, its magnitude, and its
/// magnitude normalised over each post block as the input share.
fn from_values(values: BTreeMap<(String, String), f64>) -> Blocks {
    let shares = input_shares(
        values
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|((pre, post), v)| (pre.as_str(), post.as_str(), v.abs())),
    );
    values
        .into_iter()
        .map(|(k, v)| {
            let share = shares.get(&k).copied().unwrap_or(f64::NAN);
            (
                k,
                BlockValue {
                    mean_w: v,
                    mean_abs_w: v.abs(),
                    input_share: share,
                },
            )
        })
        .collect()
}

/// Pairwise-correlation baseline: for each block, the mean Pearson correlation between its
/// post neurons' and pre neurons' traces (distinct neurons only). Symmetric by construction.
pub fn correlation(rec: &Recording, level: Level) -> Blocks {
    let units = populations(rec);
    let (labels, idx) = blocks_of(&units, level);
    let n = rec.n_neurons();
    // z-scored columns, so a correlation is a mean of products.
    let t = rec.n_frames() as f64;
    let mut z = rec.traces.mapv(|v| v as f64);
    zscore_columns(&mut z);
    let corr = z.t().dot(&z) / t;
    let k = labels.len();
    let (mut sum, mut cnt) = (vec![0.0; k * k], vec![0usize; k * k]);
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let cell = idx[j] * k + idx[i];
                sum[cell] += corr[[i, j]];
                cnt[cell] += 1;
            }
        }
    }
    let mut out = BTreeMap::new();
    for pre in 0..k {
        for post in 0..k {
            let c = pre * k + post;
            let v = if cnt[c] > 0 {
                sum[c] / cnt[c] as f64
            } else {
                f64::NAN
            };
            out.insert((labels[pre].clone(), labels[post].clone()), v);
        }
    }
    from_values(out)
}

/// Ridge VAR(1) (Granger-style) baseline: block-mean traces (z-scored) with the recording's inputs
/// (z-scored) as exogenous regressors; the block value is the coefficient `A[post, pre]`.
pub fn ridge_var(rec: &Recording, level: Level) -> Blocks {
    let units = populations(rec);
    let (labels, idx) = blocks_of(&units, level);
    let k = labels.len();
    let frames = rec.n_frames();
    // z-scored in f64 like the correlation baseline, then back to f32 for the ridge fit.
    let zscore = |a: &mut Array2<f32>| {
        let mut z = a.mapv(|v| v as f64);
        zscore_columns(&mut z);
        *a = z.mapv(|v| v as f32);
    };
    let mut y = Array2::<f32>::zeros((frames, k));
    let mut size = vec![0usize; k];
    for &b in &idx {
        size[b] += 1;
    }
    for f in 0..frames {
        for (i, &b) in idx.iter().enumerate() {
            y[[f, b]] += rec.traces[[f, i]] / size[b] as f32;
        }
    }
    zscore(&mut y);
    let mut u = rec
        .inputs
        .as_ref()
        .map(|i| i.values.clone())
        .unwrap_or_else(|| Array2::zeros((frames, 0)));
    zscore(&mut u);
    let pairs = training_pairs(&[Window {
        start: 0,
        len: frames,
    }]);
    let mut out = BTreeMap::new();
    let Some(m) = fit_var1(&y, &u, &pairs) else {
        return Blocks::new();
    };
    for pre in 0..k {
        for post in 0..k {
            out.insert(
                (labels[pre].clone(), labels[post].clone()),
                m.a[[post, pre]],
            );
        }
    }
    from_values(out)
}

/// Each recorded neuron's sign from its cell type (excitatory when the map lacks it), `[n]`.
pub fn neuron_signs(rec: &Recording, signs: &SignMap) -> Vec<Sign> {
    rec.neurons
        .cell_type
        .iter()
        .map(|t| signs.get(t).copied().unwrap_or(Sign::E))
        .collect()
}

/// The blocks at `level` of the one-step estimate `w` (`W[post, pre]` over the recorded neurons,
/// from [`one_step_weights`]), with input shares from the rectified traces.
pub fn one_step(rec: &Recording, signs: &[Sign], w: &Array2<f32>, level: Level) -> Blocks {
    let rates = rec.traces.mapv(|v| v.max(0.0));
    from_weights(&populations(rec), signs, w, Some(rates.view()), level)
}

/// The one-step reference: `W[post, pre]` between the recorded neurons from a ridge regression of
/// each neuron's leak-corrected update on every neuron's trace, the inputs and 1, on the frames
/// where that neuron is active (see [`crate::estimate::one_step`]), with Dale's signs as `rule`
/// says. Computed once per recording; [`one_step`] aggregates it per level.
pub fn one_step_weights(
    rec: &Recording,
    signs: &[Sign],
    tau_ms: &BTreeMap<String, f64>,
    rule: crate::estimate::SignRule,
) -> Array2<f32> {
    let dt_ms = 1000.0 / rec.frame_rate_hz;
    let alpha: Vec<f64> = rec
        .neurons
        .cell_type
        .iter()
        .map(|t| {
            let tau = tau_ms
                .get(t)
                .or_else(|| tau_ms.get("default"))
                .copied()
                .unwrap_or(100.0);
            (dt_ms / tau).min(1.0)
        })
        .collect();
    let inputs = rec
        .inputs
        .as_ref()
        .map(|i| i.values.clone())
        .unwrap_or_else(|| Array2::zeros((rec.n_frames(), 0)));
    crate::estimate::one_step(
        rec.traces.view(),
        inputs.view(),
        &alpha,
        signs,
        &crate::estimate::OneStepOptions {
            signs: rule,
            ..crate::estimate::OneStepOptions::default()
        },
    )
    .w_rec
}
