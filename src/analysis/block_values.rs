//! One value per (pre, post) block of a network, as the recovery study, the self-check and
//! ensembles compare them: the signed mean weight, the mean |weight|, and the input share (the pre
//! block's share of the post block's recurrent input, from mean |current|; scale-free).

use super::blocks::{block_interactions, Level};
use super::currents::Decomposition;
use crate::connectivity::Population;
use crate::data::Sign;
use crate::error::Result;
use crate::rundir::tables::{self, CurrentRow, InteractionRow, Table};
use crate::rundir::RunPaths;
use ndarray::{Array2, ArrayView2};
use std::collections::BTreeMap;
use std::path::Path;

/// What is scored and summarised of one (pre, post) block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockValue {
    /// Signed strength: the block's mean weight (or the baseline's signed value).
    pub mean_w: f64,
    /// Magnitude: the block's mean |weight|.
    pub mean_abs_w: f64,
    /// The pre block's share of the post block's recurrent input: its mean |current| over the
    /// sum over every pre block (scale-free; NaN when not known).
    pub input_share: f64,
}

/// `(pre, post)` block label → its value.
pub type Blocks = BTreeMap<(String, String), BlockValue>;

/// Each source's share of each target's recurrent input, from `(source, target, mean |current|)`
/// rows (summed over the source's signs), normalised per target.
pub fn input_shares<'a>(
    rows: impl Iterator<Item = (&'a str, &'a str, f64)>,
) -> BTreeMap<(String, String), f64> {
    let mut by_pair: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut by_target: BTreeMap<String, f64> = BTreeMap::new();
    for (source, target, abs) in rows {
        *by_pair
            .entry((source.to_string(), target.to_string()))
            .or_default() += abs;
        *by_target.entry(target.to_string()).or_default() += abs;
    }
    by_pair
        .into_iter()
        .map(|((s, t), v)| {
            let total = by_target[&t];
            let share = if total > 0.0 { v / total } else { f64::NAN };
            ((s, t), share)
        })
        .collect()
}

/// Block values from the block statistics of `w` (`W[post, pre]`) over `units` with their `signs`,
/// and the input shares of the currents that `rates` (`[time, n]`; `None`: none) drive through it.
pub fn from_weights(
    units: &[Population],
    signs: &[Sign],
    w: &Array2<f32>,
    rates: Option<ArrayView2<f32>>,
    level: Level,
) -> Blocks {
    let shares = rates.map(|r| {
        let d = Decomposition::new(units, signs, level, w, r);
        let rows = d.rows();
        input_shares(
            rows.iter()
                .map(|r| (r.source.as_str(), r.target.as_str(), r.mean_abs_current)),
        )
    });
    block_interactions(units, w, level)
        .into_iter()
        .map(|r| {
            let share = shares
                .as_ref()
                .and_then(|s| s.get(&(r.pre.clone(), r.post.clone())).copied())
                .unwrap_or(f64::NAN);
            (
                (r.pre, r.post),
                BlockValue {
                    mean_w: r.mean_w,
                    mean_abs_w: r.mean_abs_w,
                    input_share: share,
                },
            )
        })
        .collect()
}

/// The tables of a fitted run that its block values come from, read once for every level.
#[derive(Debug, Clone)]
pub struct RunTables {
    interactions: Vec<InteractionRow>,
    currents: Vec<CurrentRow>,
}

impl RunTables {
    /// Read `tables/interactions.parquet` and `tables/currents.parquet` of `run_dir`.
    pub fn read(run_dir: &Path) -> Result<RunTables> {
        let paths = RunPaths::new(run_dir);
        Ok(RunTables {
            interactions: tables::read(&paths.table(InteractionRow::NAME))?,
            currents: tables::read(&paths.table(CurrentRow::NAME))?,
        })
    }

    /// The currents' split the values come from: validation, or training when nothing was held
    /// out.
    fn split(&self) -> &'static str {
        if self.currents.iter().any(|r| r.split == "validation") {
            "validation"
        } else {
            "train"
        }
    }

    /// The current rows of `level` on [`RunTables::split`].
    pub fn currents(&self, level: Level) -> impl Iterator<Item = &CurrentRow> {
        let split = self.split();
        self.currents
            .iter()
            .filter(move |r| r.level == level.name() && r.split == split)
    }

    /// The final-stage blocks at `level`, with input shares from the currents.
    pub fn blocks(&self, level: Level) -> Blocks {
        let shares = input_shares(
            self.currents(level)
                .map(|r| (r.source.as_str(), r.target.as_str(), r.mean_abs_current)),
        );
        self.interactions
            .iter()
            .filter(|r| r.level == level.name() && r.stage == "final")
            .map(|r| {
                let key = (r.pre.clone(), r.post.clone());
                let share = shares.get(&key).copied().unwrap_or(f64::NAN);
                (
                    key,
                    BlockValue {
                        mean_w: r.mean_w,
                        mean_abs_w: r.mean_abs_w,
                        input_share: share,
                    },
                )
            })
            .collect()
    }
}
