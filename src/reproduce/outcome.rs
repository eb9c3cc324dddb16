//! What a reproduction returns: its target and size, the rows of `reproduction.parquet`, and its
//! figure.

use crate::rundir::tables;

/// The published results fitrnn reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Shao et al. 2025: chain motifs give an inhibition-dominated network a positive outlier
    /// eigenvalue where the motif formula predicts it.
    ShaoMotifs,
    /// Li, Cornford et al. 2023: normalised SVD entropy of ColEI networks over size × inhibitory
    /// fraction, against recurrent DANN and standard RNNs, at initialisation.
    LiNse,
    /// Li, Cornford et al. 2023: the spectrum transplant; singular values matter more than the
    /// sign constraint, in task mode on row-wise sequential MNIST.
    LiTransplant,
    /// Cornford et al. 2024: exponentiated gradients give log-normal weights; a data fit with
    /// AdamW-EG against AdamW from the same start.
    CornfordEg,
    /// Balwani et al. 2025, Fig 2: Dale's backprop against conventional and rectified backprop on
    /// the flip-flop and wave tasks, in task mode.
    BalwaniFig2,
    /// Balwani et al. 2025, Fig 3: top-prob pruning loses less than random pruning at high
    /// sparsity, before retraining; on a data fit.
    BalwaniFig3,
    /// Liu et al. 2024: starts of low rank learn richly, starts of high rank lazily; in task
    /// mode on perceptual decision making.
    #[value(name = "liu-richlazy")]
    LiuRichLazy,
}

impl Target {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Target::ShaoMotifs => "shao-motifs",
            Target::LiNse => "li-nse",
            Target::LiTransplant => "li-transplant",
            Target::CornfordEg => "cornford-eg",
            Target::BalwaniFig2 => "balwani-fig2",
            Target::BalwaniFig3 => "balwani-fig3",
            Target::LiuRichLazy => "liu-richlazy",
        }
    }
}

/// How large a reproduction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// Seconds: for the test suite (the qualitative result only).
    Tiny,
    /// The default: the paper's design at smaller sizes and fewer seeds (documented per target).
    Reduced,
    /// The paper's sizes.
    Full,
}

impl Size {
    /// The name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Size::Tiny => "tiny",
            Size::Reduced => "reduced",
            Size::Full => "full",
        }
    }
}

tables::table! {
    /// `reproduction.parquet`: one row per reproduced quantity and condition.
    ReproductionRow = "reproduction" {
        /// The target (`shao-motifs`, `li-nse`).
        target: String,
        /// What is compared (e.g. `chain_outlier`, `nse`).
        quantity: String,
        /// The condition it is compared in (e.g. `tau_chn=0.10`, `colei n=200 i=0.50`).
        condition: String,
        /// The paper's number (or its theory's prediction); NaN where it gives none.
        paper: f64,
        /// fitrnn's number.
        ours: f64,
        /// What must hold for the result to be reproduced (empty for rows that only report).
        criterion: String,
        /// Whether ours meets the criterion (null for rows that only report).
        holds: Option<bool>,
    }
}

/// A reproduction's result: its rows and its figure (PNG bytes).
pub struct Outcome {
    /// The rows of `reproduction.parquet`.
    pub rows: Vec<ReproductionRow>,
    /// The figure, encoded as PNG.
    pub figure: Vec<u8>,
    /// Sentences that say what was run (sizes, seeds) and what the rows mean.
    pub notes: Vec<String>,
}

/// A row that must meet `criterion`.
pub(super) fn check(
    target: Target,
    quantity: &str,
    condition: String,
    paper: f64,
    ours: f64,
    criterion: &str,
    holds: bool,
) -> ReproductionRow {
    ReproductionRow {
        criterion: criterion.into(),
        holds: Some(holds),
        ..report(target, quantity, condition, paper, ours)
    }
}

/// A row that only reports.
pub(super) fn report(
    target: Target,
    quantity: &str,
    condition: String,
    paper: f64,
    ours: f64,
) -> ReproductionRow {
    ReproductionRow {
        target: target.name().into(),
        quantity: quantity.into(),
        condition,
        paper,
        ours,
        criterion: String::new(),
        holds: None,
    }
}

/// Run `job(condition, seed)` for every condition in `0..conditions` and every seed in
/// `first_seed..first_seed + seeds`, in parallel, and return each condition's results in seed
/// order (`[conditions][seeds]`).
pub(super) fn per_condition<T: Send>(
    conditions: usize,
    first_seed: u64,
    seeds: u64,
    job: impl Fn(usize, u64) -> crate::error::Result<T> + Sync,
) -> crate::error::Result<Vec<Vec<T>>> {
    use rayon::prelude::*;
    let jobs: Vec<(usize, u64)> = (0..conditions)
        .flat_map(|c| (0..seeds).map(move |s| (c, first_seed.wrapping_add(s))))
        .collect();
    let mut results: Vec<T> = one_thread_per_job(|| {
        jobs.par_iter()
            .map(|&(c, s)| job(c, s))
            .collect::<crate::error::Result<Vec<T>>>()
    })?;
    let mut grouped = Vec::with_capacity(conditions);
    for _ in 0..conditions {
        let rest = results.split_off((seeds as usize).min(results.len()));
        grouped.push(std::mem::replace(&mut results, rest));
    }
    Ok(grouped)
}

/// The mean of `values` (NaN when empty).
pub(super) fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// Run `work`, whose parallel jobs each do tensor maths, with the tensor maths on one thread per
/// job: the jobs already fill the cores, and splitting every small product across threads as well
/// spends most of the time waking and parking threads.
pub(super) fn one_thread_per_job<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    let jobs = rayon::current_num_threads();
    let before = std::env::var_os("RAYON_NUM_THREADS");
    // candle sizes each product's threads from this variable when it computes the product.
    std::env::set_var("RAYON_NUM_THREADS", "1");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build();
    let out = match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    };
    match before {
        Some(v) => std::env::set_var("RAYON_NUM_THREADS", v),
        None => std::env::remove_var("RAYON_NUM_THREADS"),
    }
    out
}
