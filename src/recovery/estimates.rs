//! Block interactions from every source the study compares: the simulator's true `W[post, pre]`,
//! a fitted run's `interactions.parquet`, and two baselines computed from the recorded traces
//! (pairwise correlation, and a ridge VAR(1) between block-mean traces).

use crate::analysis::blocks::{block_interactions, blocks_of, Level};
use crate::connectivity::Population;
use crate::data::{GroundTruth, Recording};
use crate::dataset::Window;
use crate::error::Result;
use crate::evaluate::{fit_var1, training_pairs};
use ndarray::Array2;
use std::collections::BTreeMap;
use std::path::Path;

/// `(pre, post)` block label → (signed strength, magnitude).
pub type Blocks = BTreeMap<(String, String), (f64, f64)>;

/// The true blocks: `mean_w` and `mean_abs_w` of the simulated network over all its units.
pub fn truth(gt: &GroundTruth, level: Level) -> Blocks {
    let units: Vec<Population> = (0..gt.area.len())
        .map(|i| Population::new(&gt.area[i], &gt.layer[i], &gt.cell_type[i]))
        .collect();
    block_interactions(&units, &gt.w_rec, level)
        .into_iter()
        .map(|r| ((r.pre, r.post), (r.mean_w, r.mean_abs_w)))
        .collect()
}

/// A fitted run's final-stage blocks at `level`, from its `tables/interactions.parquet` (read
/// as `fitrnn compare` reads it).
pub fn fitted(run_dir: &Path, level: Level) -> Result<Blocks> {
    let v = crate::compare::load_run(run_dir)?;
    let mut out = Blocks::new();
    for ((q, lv, pre, post, _), value) in &v.values {
        if lv != level.name() || (q != "mean_w" && q != "mean_abs_w") {
            continue;
        }
        let e = out
            .entry((pre.clone(), post.clone()))
            .or_insert((f64::NAN, f64::NAN));
        if q == "mean_w" {
            e.0 = *value;
        } else {
            e.1 = *value;
        }
    }
    Ok(out)
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
    let mut out = Blocks::new();
    for pre in 0..k {
        for post in 0..k {
            let c = pre * k + post;
            let v = if cnt[c] > 0 {
                sum[c] / cnt[c] as f64
            } else {
                f64::NAN
            };
            out.insert((labels[pre].clone(), labels[post].clone()), (v, v.abs()));
        }
    }
    out
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
    let mut out = Blocks::new();
    let Some(m) = fit_var1(&y, &u, &pairs) else {
        return out;
    };
    for pre in 0..k {
        for post in 0..k {
            let a = m.a[[post, pre]];
            out.insert((labels[pre].clone(), labels[post].clone()), (a, a.abs()));
        }
    }
    out
}
