//! The self-check: a parametric bootstrap on the user's own recording. Recordings are simulated
//! from the fitted network (the recording's length, inputs and recorded neurons, with process and
//! observation noise estimated from the fit's one-step residuals), refitted with the same config,
//! and each refit is scored against the fitted network as the truth. A block is **identifiable**
//! when the refits recover its input share and its sign; a user reads which of their numbers data
//! like theirs can support.

use crate::analysis::block_values::{from_weights, Blocks, RunTables};
use crate::analysis::blocks::Level;
use crate::data::Recording;
use crate::dataset::{Dataset, Window};
use crate::error::{Error, Result};
use crate::model::Drive;
use crate::network::Fitted;
use crate::rundir::tables::SelfcheckRow;
use crate::rundir::{RunPaths, Weights};
use candle_core::Tensor;
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::BTreeMap;
use std::path::Path;

/// A block is identifiable when the refits' median input share is within this fraction of the
/// fitted network's ...
pub const MAX_REL_ERROR: f64 = 0.5;
/// ... and at least this fraction of the refits give its net sign.
pub const MIN_SIGN_AGREEMENT: f64 = 0.8;
/// The spectrum is determined when the refits' median of a leading eigenvalue's modulus is within
/// this fraction of the fitted network's, and every refit agrees with the fit on whether it
/// exceeds 1 (a mode that grows, or one that decays).
pub const MAX_SPECTRAL_SHIFT: f64 = 0.1;
/// Leading eigenvalues (by modulus) the spectral rows compare: the spectral radius and the next two.
pub const LEADING_EIGENVALUES: usize = 3;

/// The noise a simulated recording gets, split evenly (in variance) between the two places it can
/// enter: private noise on each unit's state update, and noise on each recorded trace.
#[derive(Debug, Clone)]
pub struct NoiseLevels {
    /// Standard deviation of the noise added to each unit's state per frame, `[n_units]` (hidden
    /// units get the recorded units' median).
    pub process: Vec<f32>,
    /// Standard deviation of the noise on each recorded trace, `[n_rec]` (normalised units).
    pub observation: Vec<f32>,
}

/// Noise levels from the fit's one-step-ahead residuals on the training windows: residual SD `s`
/// per trace gives observation noise `s/√2` and process noise `s/√2` divided by the readout gain.
pub fn noise_levels(f: &Fitted, ds: &Dataset) -> Result<NoiseLevels> {
    let (pred, data, _) = f.predict(ds, &ds.train_scored, Drive::TeacherForced(1))?;
    let resid = &data - &pred;
    let sd: Vec<f32> = resid
        .axis_iter(Axis(1))
        .map(|c| {
            let m = c.mean().unwrap_or(0.0);
            (c.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / c.len().max(1) as f32).sqrt()
        })
        .collect();
    let half = std::f32::consts::FRAC_1_SQRT_2;
    let observation: Vec<f32> = sd.iter().map(|s| s * half).collect();
    let mut process: Vec<f32> = sd
        .iter()
        .zip(&f.params.gain)
        .map(|(s, g)| s * half / g.abs().max(1e-3))
        .collect();
    let mut sorted = process.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    process.resize(f.network.signs.len(), median);
    Ok(NoiseLevels {
        process,
        observation,
    })
}

/// Simulate a recording like `ds`'s from the fitted network with `noise` and `seed`: the same
/// frames, inputs and neurons, the first frame taken from the data and every later one from the
/// network. Returns the recording (raw units, to be written to `path`) and the rates of every
/// unit that drive each update, `[frames − 1, n_units]`.
pub fn simulate_recording(
    f: &Fitted,
    ds: &Dataset,
    noise: &NoiseLevels,
    seed: u64,
    path: &Path,
) -> Result<(Recording, Array2<f32>)> {
    let device = f.device();
    let p = f.device_params()?;
    let frames = ds.y.nrows();
    let n = f.network.signs.len();
    let whole = Window {
        start: 0,
        len: frames,
    };
    let (y, u) = f.batch(ds, &[whole], &p)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |sd: f32| sd * Distribution::<f32>::sample(&StandardNormal, &mut rng);
    let z: Vec<f32> = (0..frames * n)
        .map(|k| draw(noise.process[k % n]))
        .collect();
    let z = Tensor::from_vec(z, (frames, 1, n), &device)?;
    let (out, rates) = f.network.rnn.simulate(&p, &y, &u, &z)?;
    let n_rec = ds.y.ncols();
    let mut traces = Array2::<f32>::zeros((frames, n_rec));
    traces.row_mut(0).assign(&ds.y.row(0));
    for (t, o) in out.iter().enumerate() {
        let o = o.flatten_all()?.to_vec1::<f32>()?;
        for i in 0..n_rec {
            traces[[t + 1, i]] = o[i] + draw(noise.observation[i]);
        }
    }
    for (mut col, &(off, sc)) in traces.axis_iter_mut(Axis(1)).zip(&ds.normalisation) {
        col.mapv_inplace(|v| v * sc + off);
    }
    let mut r = Array2::<f32>::zeros((rates.len(), n));
    for (t, rt) in rates.iter().enumerate() {
        let rt = rt.flatten_all()?.to_vec1::<f32>()?;
        r.row_mut(t).assign(&ndarray::ArrayView1::from(&rt));
    }
    if traces.iter().chain(r.iter()).any(|v| !v.is_finite()) {
        return Err(Error::Unsupported {
            problem: "the self-check's simulation of the fitted network diverged (non-finite rates): the fitted network is unstable when run on its own for the whole recording".into(),
            fix: "inspect the spectrum section of the report; set ensemble.selfcheck: 0 to skip the self-check".into(),
        });
    }
    let mut rec = ds.recording.clone();
    rec.path = path.to_path_buf();
    rec.traces = traces;
    rec.ground_truth = None;
    rec.notes = vec![format!(
        "simulated from a fitted network for its self-check (seed {seed})"
    )];
    Ok((rec, r))
}

/// The fitted network's blocks at each level: the truth every refit is scored against, with
/// input shares from the rates of one simulation.
pub fn truth(f: &Fitted, rates: &Array2<f32>, levels: &[Level]) -> BTreeMap<Level, Blocks> {
    let units = &f.network.units.units;
    levels
        .iter()
        .map(|&l| {
            let b = from_weights(
                units,
                &f.network.signs,
                &f.params.w_rec,
                Some(rates.view()),
                l,
            );
            (l, b)
        })
        .collect()
}

/// The blocks of each refit's run directory at each level.
pub fn refits(dirs: &[&Path], levels: &[Level]) -> Result<Vec<BTreeMap<Level, Blocks>>> {
    dirs.iter()
        .map(|d| {
            let run = RunTables::read(d)?;
            Ok(levels.iter().map(|&l| (l, run.blocks(l))).collect())
        })
        .collect()
}

/// One row of a block's metric from the truth and the refits' values.
fn row(
    level: &str,
    pre: &str,
    post: &str,
    metric: &str,
    truth: f64,
    refit: &[f64],
) -> SelfcheckRow {
    let q = |p| crate::stats::quantile(refit, p);
    let (med, lo, hi) = (q(0.5), q(0.0), q(1.0));
    SelfcheckRow {
        level: level.into(),
        pre: pre.into(),
        post: post.into(),
        metric: metric.into(),
        truth,
        refit_median: med,
        refit_low: lo,
        refit_high: hi,
        n_refits: refit.iter().filter(|v| v.is_finite()).count() as u32,
        rel_error: (med - truth).abs() / truth.abs(),
        sign_agreement: f64::NAN,
        identifiable: None,
    }
}

/// Score the refits against the truth, block by block: rows for `input_share`, `mean_w` and
/// `mean_abs_w`, and whether each block the fitted network has is identifiable (its input share
/// within [`MAX_REL_ERROR`] and its sign in at least [`MIN_SIGN_AGREEMENT`] of the refits).
pub fn score(
    truth: &BTreeMap<Level, Blocks>,
    refits: &[BTreeMap<Level, Blocks>],
) -> Vec<SelfcheckRow> {
    let mut rows = Vec::new();
    for (level, blocks) in truth {
        for ((pre, post), t) in blocks {
            let values = |get: fn(&crate::analysis::block_values::BlockValue) -> f64| -> Vec<f64> {
                refits
                    .iter()
                    .map(|r| {
                        r[level]
                            .get(&(pre.clone(), post.clone()))
                            .map(get)
                            .unwrap_or(f64::NAN)
                    })
                    .collect()
            };
            let (share, w, abs) = (
                values(|v| v.input_share),
                values(|v| v.mean_w),
                values(|v| v.mean_abs_w),
            );
            let agree = w
                .iter()
                .filter(|v| v.signum() == t.mean_w.signum() && **v != 0.0)
                .count() as f64
                / w.len().max(1) as f64;
            let mut group = vec![
                row(
                    level.name(),
                    pre,
                    post,
                    "input_share",
                    t.input_share,
                    &share,
                ),
                row(level.name(), pre, post, "mean_w", t.mean_w, &w),
                row(level.name(), pre, post, "mean_abs_w", t.mean_abs_w, &abs),
            ];
            let exists = t.mean_abs_w > 0.0;
            let flag =
                exists.then(|| group[0].rel_error <= MAX_REL_ERROR && agree >= MIN_SIGN_AGREEMENT);
            for r in &mut group {
                r.sign_agreement = if exists { agree } else { f64::NAN };
                r.identifiable = flag;
            }
            rows.extend(group);
        }
    }
    rows
}

/// `rec` keeping `fraction` of each population's neurons (at least one, drawn with `seed`), in
/// their order: a recording of part of the circuit.
pub fn subsample(rec: &Recording, fraction: f64, seed: u64) -> Recording {
    use rand::seq::SliceRandom;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut by_population: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for i in 0..rec.n_neurons() {
        by_population
            .entry(rec.neurons.population(i))
            .or_default()
            .push(i);
    }
    let mut keep: Vec<usize> = Vec::new();
    for members in by_population.values_mut() {
        members.shuffle(&mut rng);
        let n = ((fraction * members.len() as f64).round() as usize).clamp(1, members.len());
        keep.extend_from_slice(&members[..n]);
    }
    keep.sort_unstable();
    let mut out = rec.clone();
    out.neurons = rec.neurons.select(&keep);
    out.traces = rec.traces.select(Axis(1), &keep);
    out.notes.push(format!(
        "subsampled: {} of {} neurons ({:.0} % of each population, at least one)",
        keep.len(),
        rec.n_neurons(),
        100.0 * fraction
    ));
    out
}

/// The leading eigenvalues of the fitted network beside its refits' (`level` = `network`, `pre`
/// = `all`): the refits of `refit_dirs`. One row per metric of [`spectral_metrics`].
pub fn spectral_rows(f: &Fitted, refit_dirs: &[&Path]) -> Result<Vec<SelfcheckRow>> {
    spectral_rows_of(f, refit_dirs, "all", "all")
}

/// The leading eigenvalues of the fitted network beside the refits of subsampled recordings that
/// kept `fraction` of the neurons (`pre` = `subsample`, `post` = the fraction).
pub fn subsample_rows(
    f: &Fitted,
    refit_dirs: &[&Path],
    fraction: f64,
) -> Result<Vec<SelfcheckRow>> {
    spectral_rows_of(f, refit_dirs, "subsample", &format!("{fraction}"))
}

/// The spectral rows' metrics, largest modulus first: `spectral_radius`, `eigenvalue_2`,
/// `eigenvalue_3` (moduli).
pub fn spectral_metrics() -> Vec<String> {
    (1..=LEADING_EIGENVALUES)
        .map(|k| match k {
            1 => "spectral_radius".to_string(),
            k => format!("eigenvalue_{k}"),
        })
        .collect()
}

/// The moduli of the [`LEADING_EIGENVALUES`] largest eigenvalues of `w`, largest first, a
/// complex-conjugate pair counted once (one mode; NaN where `w` has fewer).
pub fn leading_moduli(w: &Array2<f32>) -> Result<Vec<f64>> {
    let mut m: Vec<f64> = crate::linalg::eigenvalues(w)?
        .iter()
        .filter(|(re, im)| *im >= -1e-9 * re.hypot(*im).max(1.0))
        .map(|(re, im)| re.hypot(*im))
        .collect();
    m.sort_by(|a, b| b.total_cmp(a));
    m.resize(LEADING_EIGENVALUES, f64::NAN);
    Ok(m)
}

fn spectral_rows_of(
    f: &Fitted,
    refit_dirs: &[&Path],
    pre: &str,
    post: &str,
) -> Result<Vec<SelfcheckRow>> {
    let truth = leading_moduli(&f.params.w_rec)?;
    let refit = refit_dirs
        .iter()
        .map(|d| {
            let file = crate::rundir::weights::TensorFile::open(
                &RunPaths::new(d).weights(Weights::Final),
            )?;
            leading_moduli(&file.array2("w_rec")?)
        })
        .collect::<Result<Vec<Vec<f64>>>>()?;
    Ok(spectral_metrics()
        .iter()
        .enumerate()
        .map(|(k, metric)| {
            let values: Vec<f64> = refit.iter().map(|r| r[k]).collect();
            spectral_row(pre, post, metric, truth[k], &values)
        })
        .collect())
}

/// One spectral row: the refits' median, range and error against the fit's `truth`, with
/// `sign_agreement` the share of refits on the fit's side of 1 and `identifiable` whether the
/// spectrum is determined ([`MAX_SPECTRAL_SHIFT`], every refit on that side).
pub fn spectral_row(
    pre: &str,
    post: &str,
    metric: &str,
    truth: f64,
    refit: &[f64],
) -> SelfcheckRow {
    let mut r = row("network", pre, post, metric, truth, refit);
    let finite: Vec<f64> = refit.iter().copied().filter(|v| v.is_finite()).collect();
    if truth.is_finite() && !finite.is_empty() {
        let same_side = finite
            .iter()
            .filter(|v| (**v > 1.0) == (truth > 1.0))
            .count();
        r.sign_agreement = same_side as f64 / finite.len() as f64;
        r.identifiable = Some(r.rel_error <= MAX_SPECTRAL_SHIFT && same_side == finite.len());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spectrum_is_determined_only_within_the_shift_and_on_the_fits_side_of_one() {
        // Within 10 % and every refit below 1 like the fit: determined.
        let r = spectral_row("all", "all", "spectral_radius", 0.8, &[0.78, 0.85, 0.75]);
        assert_eq!((r.identifiable, r.sign_agreement), (Some(true), 1.0));
        assert!((r.rel_error - 0.025).abs() < 1e-12);
        // Within 10 %, but one refit says the mode grows where the fit's decays.
        let r = spectral_row("all", "all", "spectral_radius", 0.97, &[0.95, 1.02, 0.96]);
        assert_eq!(r.identifiable, Some(false));
        assert!((r.sign_agreement - 2.0 / 3.0).abs() < 1e-12);
        // The demo's case: a fit above 1, refits 15 % lower.
        let r = spectral_row("subsample", "0.5", "spectral_radius", 1.017, &[0.86]);
        assert_eq!((r.identifiable, r.sign_agreement), (Some(false), 0.0));
        // No finite refit: nothing to say.
        let r = spectral_row("all", "all", "eigenvalue_3", 0.5, &[f64::NAN]);
        assert_eq!(r.identifiable, None);
    }

    #[test]
    fn leading_moduli_are_sorted_and_padded() {
        // Eigenvalues 0.5 ± 0.5i (modulus 0.707), 0.9 and -0.2.
        let w = ndarray::array![
            [0.5f32, -0.5, 0.0, 0.0],
            [0.5, 0.5, 0.0, 0.0],
            [0.0, 0.0, 0.9, 0.0],
            [0.0, 0.0, 0.0, -0.2]
        ];
        let m = leading_moduli(&w).unwrap();
        assert_eq!(m.len(), LEADING_EIGENVALUES);
        // The conjugate pair is one mode.
        assert!((m[0] - 0.9).abs() < 1e-6 && (m[1] - 0.5f64.hypot(0.5)).abs() < 1e-6);
        assert!((m[2] - 0.2).abs() < 1e-6);
        let m = leading_moduli(&ndarray::array![[0.3f32]]).unwrap();
        assert!((m[0] - 0.3).abs() < 1e-6 && m[1].is_nan() && m[2].is_nan());
    }
}
