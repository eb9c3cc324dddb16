//! Builders for what tests need over and over: run directories written through fitrnn's own
//! manifest and row types (so a test's fake run has exactly the schema of a real one).

use fitrnn::rundir::tables::{self, CurrentRow, InteractionRow, Table};
use fitrnn::rundir::{Manifest, RunPaths, Status};
use std::path::{Path, PathBuf};

/// A run directory with a manifest and the tables a test fills in; everything else is absent.
pub struct RunDirBuilder {
    paths: RunPaths,
    manifest: Manifest,
    interactions: Vec<InteractionRow>,
    currents: Vec<CurrentRow>,
}

impl RunDirBuilder {
    /// A complete run at `dir`, with no tables yet.
    pub fn new(dir: &Path) -> Self {
        let manifest: Manifest =
            serde_json::from_str(r#"{"status": "complete"}"#).expect("a minimal manifest");
        RunDirBuilder {
            paths: RunPaths::new(dir),
            manifest,
            interactions: vec![],
            currents: vec![],
        }
    }

    /// Set the run's status.
    pub fn status(mut self, status: Status) -> Self {
        self.manifest.status = status;
        self
    }

    /// A block of `interactions.parquet` with its signed and absolute mean weight (`n_pre` =
    /// `n_post` = 10, fully connected).
    pub fn interaction(
        mut self,
        (level, stage): (&str, &str),
        (pre, post): (&str, &str),
        mean_w: f64,
        mean_abs_w: f64,
    ) -> Self {
        self.interactions.push(InteractionRow {
            level: level.into(),
            stage: stage.into(),
            pre: pre.into(),
            post: post.into(),
            n_pre: 10,
            n_post: 10,
            n_possible: 100,
            n_nonzero: 100,
            density: 1.0,
            mean_w,
            mean_abs_w,
            sum_w: 100.0 * mean_w,
        });
        self
    }

    /// A row of `currents.parquet` with its mean current (|current| the same).
    pub fn current(
        mut self,
        (level, split): (&str, &str),
        (source, target, source_sign): (&str, &str, &str),
        mean_current: f64,
    ) -> Self {
        self.currents.push(CurrentRow {
            level: level.into(),
            split: split.into(),
            source: source.into(),
            target: target.into(),
            source_sign: source_sign.into(),
            mean_current,
            mean_abs_current: mean_current.abs(),
        });
        self
    }

    /// Write the manifest and every table given; returns the run directory.
    pub fn write(self) -> PathBuf {
        std::fs::create_dir_all(self.paths.tables_dir()).unwrap();
        self.manifest.write(&self.paths.manifest()).unwrap();
        if !self.interactions.is_empty() {
            tables::write(&self.paths.table(InteractionRow::NAME), &self.interactions).unwrap();
        }
        if !self.currents.is_empty() {
            tables::write(&self.paths.table(CurrentRow::NAME), &self.currents).unwrap();
        }
        self.paths.root().to_path_buf()
    }
}
