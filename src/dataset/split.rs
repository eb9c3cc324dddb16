//! Training / validation split over frames, and windows cut from contiguous runs.

use crate::config::{SplitBy, SplitConfig};
use crate::data::Recording;
use crate::error::{Error, Result};
use std::path::Path;

/// A window of consecutive frames `[start, start + len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First frame.
    pub start: usize,
    /// Number of frames.
    pub len: usize,
}

/// Per-frame assignment to training or validation.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSplit {
    /// `true` for training frames, `[n_frames]`.
    pub is_train: Vec<bool>,
    /// Indices of validation trials (`by: trials`), else empty.
    pub validation_trials: Vec<usize>,
}

impl FrameSplit {
    /// Split `rec` as `cfg` asks.
    /// - `by: time`: the session is cut into `blocks` equal segments and a run of
    ///   `validation_fraction` of each segment is held out: its end for fold 0, the run `fold`
    ///   places earlier otherwise.
    /// - `by: trials`: within each condition every k-th trial (k = round(1 / fraction)), starting
    ///   `fold` trials before the last, is held out; frames outside trials train.
    pub fn new(rec: &Recording, cfg: &SplitConfig, config_path: &Path) -> Result<FrameSplit> {
        let n = rec.n_frames();
        let mut is_train = vec![true; n];
        let mut validation_trials = Vec::new();
        if cfg.validation_fraction > 0.0 {
            match cfg.by {
                SplitBy::Time => {
                    let seg = n as f64 / cfg.blocks as f64;
                    for b in 0..cfg.blocks {
                        let len = (seg * cfg.validation_fraction).round() as usize;
                        // Fold k holds out the run k places before the block's end.
                        let end = ((b + 1) as f64 * seg).round() as usize
                            - (cfg.fold * len).min(seg as usize);
                        for f in is_train.iter_mut().take(end).skip(end.saturating_sub(len)) {
                            *f = false;
                        }
                    }
                }
                SplitBy::Trials => {
                    let trials = rec.trials.as_ref().ok_or_else(|| {
                        Error::config(
                            config_path,
                            "data.split.by",
                            "`trials` needs /trials in the recording",
                            "use `by: time`",
                        )
                    })?;
                    let k = (1.0 / cfg.validation_fraction).round().max(1.0) as usize;
                    let mut conditions: Vec<&String> = trials.condition.iter().collect();
                    conditions.sort();
                    conditions.dedup();
                    for c in conditions {
                        let ids: Vec<usize> = (0..trials.condition.len())
                            .filter(|&i| &trials.condition[i] == c)
                            .collect();
                        validation_trials
                            .extend(ids.iter().rev().skip(cfg.fold).step_by(k).copied());
                    }
                    validation_trials.sort();
                    for &i in &validation_trials {
                        for (f, t) in rec.timestamps_s.iter().enumerate() {
                            if *t >= trials.start_s[i] && *t < trials.stop_s[i] {
                                is_train[f] = false;
                            }
                        }
                    }
                }
            }
        }
        if !is_train.iter().any(|&t| t) {
            return Err(Error::config(
                config_path,
                "data.split",
                "no training frames remain",
                "lower validation_fraction",
            ));
        }
        Ok(FrameSplit {
            is_train,
            validation_trials,
        })
    }

    /// Windows of `len` frames every `stride` frames inside contiguous runs of training
    /// (`train = true`) or validation frames; a run also ends at a pause in the clock
    /// ([`Recording::gaps`]: joined sessions, frames dropped for NaN).
    pub fn windows(&self, rec: &Recording, train: bool, len: usize, stride: usize) -> Vec<Window> {
        self.windows_in_runs(rec, train, len, stride, false)
    }

    /// [`FrameSplit::windows`] side by side (stride `len`), plus one shorter window over the last
    /// frames of each run that do not fill a whole window (when they are at least 2): every frame
    /// of the runs is in a window.
    pub fn windows_covering(&self, rec: &Recording, train: bool, len: usize) -> Vec<Window> {
        self.windows_in_runs(rec, train, len, len, true)
    }

    fn windows_in_runs(
        &self,
        rec: &Recording,
        train: bool,
        len: usize,
        stride: usize,
        cover_tail: bool,
    ) -> Vec<Window> {
        let after_gap: std::collections::HashSet<usize> = rec.gaps().iter().map(|g| g.0).collect();
        let mut out = Vec::new();
        let mut start = None;
        for f in 0..=self.is_train.len() {
            let inside = f < self.is_train.len()
                && self.is_train[f] == train
                && start.is_none_or(|_| !after_gap.contains(&f));
            match (inside, start) {
                (true, None) => start = Some(f),
                (false, Some(s)) => {
                    let mut w = s;
                    while w + len <= f {
                        out.push(Window { start: w, len });
                        w += stride;
                    }
                    if cover_tail && f >= w + 2 {
                        out.push(Window {
                            start: w,
                            len: f - w,
                        });
                    }
                    start = if f < self.is_train.len() && self.is_train[f] == train {
                        Some(f)
                    } else {
                        None
                    };
                }
                _ => {}
            }
        }
        out
    }
}
