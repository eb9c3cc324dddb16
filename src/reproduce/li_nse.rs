//! `li-nse`: Li, Cornford et al. 2023's normalised SVD entropy (NSE) at initialisation
//! (NeurIPS 2023; code: Pingsheng-Kevin/learning_better_dale_neurips, `SVD_entropy_analysis.ipynb`
//! and `Entropy_predictive.ipynb`).
//!
//! The paper's heat map draws ColEI networks (spectral radius 1.5, seed 0) over network size
//! N ∈ linspace(100, 1000, 10) × inhibitory fraction ∈ linspace(1 %, 50 %, 10), and finds the NSE
//! rising with both; its other finding at initialisation is that ColEI spectra are multimodal and
//! dispersed where standard RNN and recurrent DANN spectra are unimodal and clustered (higher NSE).
//! Its figures give no NSE values in numbers, so each row here checks the direction it reports.
//! Its NSE–error relation trains networks on sequential MNIST (`li_nse_error`).

use super::outcome::{check, report, Outcome, Size, Target};
use crate::constraints::architectures::{colei, dann, dann_interneurons, standard};
use crate::error::Result;
use crate::report::heatmap::{Axis, HeatMap};
use ndarray::Array2;
use rand::SeedableRng;
use std::path::Path;

/// ColEI's spectral radius in the paper's heat map.
const RADIUS: f64 = 1.5;
/// The inhibitory fraction ColEI is compared with the other architectures at (the paper's default
/// E:I of 9:1).
const DEFAULT_I: f64 = 0.1;

/// Sizes, inhibitory fractions and seeds per run size.
fn design(size: Size) -> (Vec<usize>, Vec<f64>, u64) {
    let linspace = |a: f64, b: f64, k: usize| -> Vec<f64> {
        (0..k)
            .map(|i| a + (b - a) * i as f64 / (k - 1) as f64)
            .collect()
    };
    match size {
        Size::Tiny => (vec![50, 150], vec![0.01, 0.1, 0.5], 1),
        Size::Reduced => (
            vec![100, 200, 300, 400, 500],
            vec![0.01, 0.05, 0.1, 0.2, 0.3, 0.5],
            3,
        ),
        Size::Full => (
            linspace(100.0, 1000.0, 10)
                .iter()
                .map(|n| n.round() as usize)
                .collect(),
            linspace(0.01, 0.5, 10),
            5,
        ),
    }
}

/// NSE of `w`.
fn nse(w: &Array2<f64>) -> Result<f64> {
    let s = crate::linalg::singular_values(&w.mapv(|v| v as f32))?;
    Ok(crate::linalg::normalised_svd_entropy(&s))
}

/// Mean NSE over `seeds` draws of `draw(rng)`.
fn mean_nse(
    seed: u64,
    seeds: u64,
    mut draw: impl FnMut(&mut rand_chacha::ChaCha8Rng) -> Result<Array2<f64>>,
) -> Result<f64> {
    let mut total = 0.0;
    for k in 0..seeds {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.wrapping_add(k));
        total += nse(&draw(&mut rng)?)?;
    }
    Ok(total / seeds as f64)
}

/// Run the reproduction at `size`.
pub fn run(size: Size, seed: u64, digits: &Path) -> Result<Outcome> {
    let (ns, fractions, seeds) = design(size);
    let target = Target::LiNse;
    // grid[f][n]: ColEI's mean NSE.
    let mut grid = Array2::<f64>::zeros((fractions.len(), ns.len()));
    let mut rows = Vec::new();
    for (a, &f) in fractions.iter().enumerate() {
        for (b, &n) in ns.iter().enumerate() {
            grid[[a, b]] = mean_nse(seed, seeds, |rng| colei(n, f, RADIUS, rng))?;
            rows.push(report(
                target,
                "nse_colei",
                format!("n={n} i={f:.3}"),
                f64::NAN,
                grid[[a, b]],
            ));
        }
    }
    // The smallest rise from the first to the last entry along `axis` (0: fractions, 1: sizes).
    let smallest_rise = |axis: usize| {
        let ax = ndarray::Axis(axis);
        let last = grid.len_of(ax) - 1;
        (&grid.index_axis(ax, last) - &grid.index_axis(ax, 0)).fold(f64::INFINITY, |m, &v| m.min(v))
    };
    let (along_n, along_i) = (smallest_rise(1), smallest_rise(0));
    rows.push(check(
        target,
        "nse_colei_largest_minus_smallest_n",
        format!("n={}→{}, every i", ns[0], ns[ns.len() - 1]),
        f64::NAN,
        along_n,
        "NSE rises with N at every inhibitory fraction",
        along_n > 0.0,
    ));
    rows.push(check(
        target,
        "nse_colei_largest_minus_smallest_i",
        format!(
            "i={}→{}, every n",
            fractions[0],
            fractions[fractions.len() - 1]
        ),
        f64::NAN,
        along_i,
        "NSE rises with the inhibitory fraction at every N",
        along_i > 0.0,
    ));
    // The paper's two sMNIST networks: small and balanced against large with few I units.
    let small_balanced = mean_nse(seed, seeds, |rng| colei(200, 0.5, RADIUS, rng))?;
    let large_few_i = mean_nse(seed, seeds, |rng| colei(1000, 0.01, RADIUS, rng))?;
    rows.push(check(
        target,
        "nse_colei_n200_i50_minus_n1000_i1",
        "n=200 i=0.5 vs n=1000 i=0.01".into(),
        f64::NAN,
        small_balanced - large_few_i,
        "the paper's high-NSE network (2.52 % sMNIST error) above its low-NSE one (3.64 %)",
        small_balanced > large_few_i,
    ));
    // Each architecture against ColEI at the default inhibitory fraction: (n, colei, dann, standard).
    let mut by_n = Vec::new();
    for (b, &n) in ns.iter().enumerate() {
        let c = match fractions.iter().position(|&f| f == DEFAULT_I) {
            Some(a) => grid[[a, b]],
            None => mean_nse(seed, seeds, |rng| colei(n, DEFAULT_I, RADIUS, rng))?,
        };
        let d = mean_nse(seed, seeds, |rng| {
            Ok(dann(n, dann_interneurons(n), rng).effective())
        })?;
        let s = mean_nse(seed, seeds, |rng| Ok(standard(n, rng)))?;
        for (arch, v) in [("dann", d), ("standard", s)] {
            rows.push(report(
                target,
                &format!("nse_{arch}"),
                format!("n={n}"),
                f64::NAN,
                v,
            ));
        }
        by_n.push((c, d, s));
    }
    for (arch, pick) in [
        (
            "dann",
            (|t: &(f64, f64, f64)| t.1) as fn(&(f64, f64, f64)) -> f64,
        ),
        ("standard", |t| t.2),
    ] {
        let margin = by_n
            .iter()
            .map(|t| pick(t) - t.0)
            .fold(f64::INFINITY, f64::min);
        rows.push(check(
            target,
            &format!("nse_{arch}_minus_colei"),
            format!("smallest over n, i={DEFAULT_I}"),
            f64::NAN,
            margin,
            "a more clustered spectrum (higher NSE) than ColEI's at every N",
            margin > 0.0,
        ));
    }
    let (trained, trained_note) = super::li_nse_error::rows(size, seed, digits)?;
    rows.extend(trained);
    Ok(Outcome {
        rows,
        figure: crate::report::render::png(&heat_map(&grid, &ns, &fractions), "li-nse figure")?,
        notes: vec![
            format!(
                "ColEI at spectral radius {RADIUS}: N ∈ {ns:?} × inhibitory fraction ∈ [{}]; mean of {seeds} seed(s) from {seed}",
                fractions
                    .iter()
                    .map(|f| format!("{f:.3}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("DANN: N excitatory units with N/10 interneurons; standard RNN: U(±1/√N); both against ColEI at i = {DEFAULT_I}"),
            "the paper gives no NSE values in numbers: each check is a direction it reports".into(),
            trained_note,
        ],
    })
}

/// ColEI's NSE over inhibitory fraction (rows, top = smallest) × N (columns).
fn heat_map(grid: &Array2<f64>, ns: &[usize], fractions: &[f64]) -> HeatMap {
    let x: Vec<String> = ns.iter().map(|n| n.to_string()).collect();
    let y: Vec<String> = fractions
        .iter()
        .map(|f| format!("{:.0} %", 100.0 * f))
        .collect();
    // White at the grid's mean NSE, saturated at its extremes: NSE takes values of one sign.
    let mean = grid.mean().unwrap_or(0.0);
    let spread = grid.iter().map(|v| (v - mean).abs()).fold(1e-6, f64::max);
    HeatMap {
        centre: mean,
        ..HeatMap::grid(
            "Normalised SVD entropy of ColEI networks at initialisation",
            Axis::categories("network size N", &x),
            Axis::categories("inhibitory fraction", &y),
            grid.mapv(|v| v as f32),
            spread,
            "NSE",
        )
    }
}
