//! The ground-truth recovery study (`fitrnn recovery`): simulated recordings whose connectivity is
//! known, fitted by several methods under several recording conditions, each inference scored
//! against the truth. Every cell (condition × recording seed × method) is a full simulate → fit →
//! analyse run; cells run in parallel (one fit per core) and a rerun skips the finished ones.

mod config;
pub mod estimates;
pub mod figure;
pub mod metrics;
pub mod report;

pub use config::{Baseline, Condition, Method, RecoveryConfig};
pub use report::Row;

use crate::analysis::blocks::Level;
use crate::data::{read_recording, write_recording, ReadOptions};
use crate::error::{Error, Result};
use crate::jobs::{fitrnn_binary, FitSpec, Local};
use crate::rundir::tables::{Table, UnitRow};
use crate::rundir::{RunPaths, Weights};
use crate::simulate::{simulate, SimConfig};
use config::sets;
use estimates::Blocks;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Score one method's blocks against the truth at one level.
pub fn score(inferred: &Blocks, truth: &Blocks, level: Level) -> Vec<(String, f64)> {
    let keys: Vec<&(String, String)> = truth
        .keys()
        .filter(|k| {
            inferred
                .get(*k)
                .is_some_and(|v| v.0.is_finite() && v.1.is_finite())
        })
        .collect();
    let col = |m: &Blocks, f: fn(&(f64, f64)) -> f64| -> Vec<f64> {
        keys.iter().map(|k| f(&m[*k])).collect()
    };
    let (iw, tw) = (col(inferred, |v| v.0), col(truth, |v| v.0));
    let (ia, ta) = (col(inferred, |v| v.1), col(truth, |v| v.1));
    // The area is the first field of a block label at every level (`VISp/L4/Sst`, `VISp/L4`, `VISp`).
    let area = |label: &str| label.split('/').next().unwrap_or("").to_string();
    let inter: Vec<usize> = (0..keys.len())
        .filter(|&i| area(&keys[i].0) != area(&keys[i].1))
        .collect();
    let pathway_auc = metrics::auc(
        &inter.iter().map(|&i| ia[i]).collect::<Vec<_>>(),
        &inter.iter().map(|&i| ta[i] > 0.0).collect::<Vec<_>>(),
    );
    let _ = level;
    vec![
        ("spearman_mean_w".into(), metrics::spearman(&iw, &tw)),
        ("spearman_mean_abs_w".into(), metrics::spearman(&ia, &ta)),
        ("sign_accuracy".into(), metrics::sign_accuracy(&iw, &tw)),
        ("pathway_auc".into(), pathway_auc),
        ("n_blocks".into(), keys.len() as f64),
    ]
}

/// Levels scored.
pub const LEVELS: [Level; 3] = [Level::Population, Level::AreaLayer, Level::Area];

/// Unit-level agreement of a fitted `W[post, pre]` with the true one, over the entries the fitted
/// mask allows (off-diagonal), for recordings where every simulated unit is a fitted unit.
fn unit_correlation(run_dir: &Path, rec: &crate::data::Recording) -> Result<Option<f64>> {
    let gt = rec.ground_truth.as_ref().expect("simulated");
    if gt.recorded_index.iter().any(|&r| r < 0) {
        return Ok(None);
    }
    let paths = RunPaths::new(run_dir);
    let t = crate::rundir::weights::TensorFile::open(&paths.weights(Weights::Final))?;
    let w = t.array2("w_rec")?;
    let mask = t.array2("mask").ok();
    let units: Vec<UnitRow> = crate::rundir::tables::read(&paths.table(UnitRow::NAME))?;
    let ids: Vec<String> = units
        .into_iter()
        .map(|u| u.neuron_id.unwrap_or_default())
        .collect();
    // fitted unit → trace column → simulated unit.
    let col_of: BTreeMap<String, usize> = (0..rec.n_neurons())
        .map(|c| (rec.neurons.id.label(c), c))
        .collect();
    let mut sim_of_col = vec![usize::MAX; rec.n_neurons()];
    for (s, &c) in gt.recorded_index.iter().enumerate() {
        sim_of_col[c as usize] = s;
    }
    let sim: Vec<Option<usize>> = ids
        .iter()
        .map(|id| col_of.get(id).map(|&c| sim_of_col[c]))
        .collect();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..w.nrows() {
        for j in 0..w.ncols() {
            if i == j || mask.as_ref().is_some_and(|m| m[[i, j]] == 0.0) {
                continue;
            }
            if let (Some(si), Some(sj)) = (sim[i], sim[j]) {
                a.push(w[[i, j]] as f64);
                b.push(gt.w_rec[[si, sj]] as f64);
            }
        }
    }
    Ok(Some(metrics::pearson(&a, &b)))
}

/// Where each piece of the study lives under `out`.
struct Paths<'a> {
    out: &'a Path,
}

impl Paths<'_> {
    fn recording(&self, cond: &str, seed: u64) -> PathBuf {
        self.out
            .join("recordings")
            .join(cond)
            .join(format!("seed_{seed}.h5"))
    }
    fn run(&self, cond: &str, method: &str, seed: u64) -> PathBuf {
        self.out
            .join("runs")
            .join(cond)
            .join(method)
            .join(format!("seed_{seed}"))
    }
    fn cell(&self, cond: &str, method: &str, seed: u64) -> PathBuf {
        self.out
            .join("cells")
            .join(cond)
            .join(method)
            .join(format!("seed_{seed}.json"))
    }
}

/// Make the recording of one (condition, seed), unless it exists.
fn ensure_recording(cfg: &RecoveryConfig, cond: &Condition, seed: u64, path: &Path) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    let mut set = sets(&cfg.defaults);
    set.extend(sets(&cond.set));
    set.push(format!("seed={seed}"));
    let sim = SimConfig::load(&cfg.simulate, &set)?;
    let (mut rec, _) = simulate(&sim)?;
    rec.path = path.to_path_buf();
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, "creating", e))?;
    }
    write_recording(&rec, path)
}

/// One cell of the study: a condition, a recording seed and a method.
#[derive(Debug, Clone, Copy)]
struct Cell<'a> {
    cond: &'a Condition,
    seed: u64,
    method: &'a Method,
}

impl Cell<'_> {
    /// The fit of a fitted method (`None` for a baseline): the method's overrides on the study's
    /// run config, on this cell's recording, with the recording's seed, one CPU thread.
    fn fit(&self, cfg: &RecoveryConfig, paths: &Paths) -> Option<FitSpec> {
        if self.method.baseline.is_some() {
            return None;
        }
        let mut overrides = sets(&self.method.set);
        overrides.push(format!(
            "data.path={}",
            paths.recording(&self.cond.name, self.seed).display()
        ));
        overrides.push(format!("seed={}", self.seed));
        Some(FitSpec {
            name: format!(
                "{} / {} seed {}",
                self.cond.name, self.method.name, self.seed
            ),
            config: cfg.fit.clone(),
            overrides,
            out: paths.run(&self.cond.name, &self.method.name, self.seed),
            threads: 1,
        })
    }
}

/// Score one cell: its rows.
fn evaluate(cond: &str, m: &Method, seed: u64, rec_path: &Path, run: &Path) -> Result<Vec<Row>> {
    let rec = read_recording(rec_path, &ReadOptions::default())?;
    let gt = rec.ground_truth.as_ref().ok_or_else(|| {
        Error::data(
            rec_path,
            "/ground_truth",
            "missing: a recovery study scores against a simulated recording's truth",
            "delete the recording so that the study simulates it again",
        )
    })?;
    let mut rows = Vec::new();
    let mut push = |level: &str, metric: String, value: f64| {
        rows.push(Row {
            seed,
            condition: cond.into(),
            method: m.name.clone(),
            level: level.into(),
            metric,
            value,
        })
    };
    for level in LEVELS {
        let truth = estimates::truth(gt, level);
        let inferred = match m.baseline {
            Some(Baseline::Correlation) => estimates::correlation(&rec, level),
            Some(Baseline::RidgeVar) => estimates::ridge_var(&rec, level),
            None => estimates::fitted(run, level)?,
        };
        for (metric, value) in score(&inferred, &truth, level) {
            push(level.name(), metric, value);
        }
    }
    if m.baseline.is_none() {
        if let Some(r) = unit_correlation(run, &rec)? {
            push("unit", "w_correlation".into(), r);
        }
    }
    Ok(rows)
}

/// Make every recording not made yet, `workers` at a time (in this process).
fn make_recordings(cfg: &RecoveryConfig, paths: &Paths, workers: usize) -> Vec<String> {
    let tasks: Vec<(&Condition, u64)> = cfg
        .conditions
        .iter()
        .flat_map(|c| cfg.seeds.iter().map(move |&s| (c, s)))
        .collect();
    let next = Mutex::new(0usize);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1).min(tasks.len()) {
            scope.spawn(|| loop {
                let k = {
                    let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                    *n += 1;
                    *n - 1
                };
                let Some(&(cond, seed)) = tasks.get(k) else {
                    break;
                };
                let path = paths.recording(&cond.name, seed);
                if let Err(e) = ensure_recording(cfg, cond, seed, &path) {
                    failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("{} seed {seed}: simulating: {e}", cond.name));
                }
            });
        }
    });
    failures.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Score every cell whose recording exists and whose fit (if any) finished, unless scored
/// before; returns the failures.
fn score_cells(cells: &[Cell], paths: &Paths) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cells {
        let (cond, m, seed) = (&c.cond.name, c.method, c.seed);
        let cell = paths.cell(cond, &m.name, seed);
        let rec = paths.recording(cond, seed);
        let run = paths.run(cond, &m.name, seed);
        let fitted =
            m.baseline.is_some() || crate::rundir::read_complete_manifest(&run, "score").is_ok();
        if cell.is_file() || !rec.is_file() || !fitted {
            continue;
        }
        let result = evaluate(cond, m, seed, &rec, &run).and_then(|rows| {
            if let Some(d) = cell.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d, "creating", e))?;
            }
            let json = serde_json::to_string(&rows)
                .map_err(|e| Error::internal("writing a recovery cell", e))?;
            crate::atomic::write_bytes(&cell, json.as_bytes())
        });
        if let Err(e) = result {
            failures.push(format!("{cond} / {} seed {seed}: {e}", m.name));
        }
    }
    failures
}

/// Every finished cell of this config (including those from earlier runs).
fn collect_rows(cfg: &RecoveryConfig, paths: &Paths) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for c in &cfg.conditions {
        for m in &cfg.methods {
            for &s in &cfg.seeds {
                let cell = paths.cell(&c.name, &m.name, s);
                if let Ok(text) = std::fs::read_to_string(&cell) {
                    let r: Vec<Row> = serde_json::from_str(&text).map_err(|e| {
                        Error::data(
                            &cell,
                            "/",
                            format!("not a recovery cell: {e}"),
                            "delete it so that the study scores the cell again",
                        )
                    })?;
                    rows.extend(r);
                }
            }
        }
    }
    Ok(rows)
}

/// Run the study: make the recordings, fit every method on them through the job runner (one fit
/// per core; finished fits are kept), score every cell, then collect the tables and figures. A
/// rerun redoes only what is missing.
pub fn run(config: &Path, out: &Path) -> Result<String> {
    let cfg = RecoveryConfig::load(config)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "creating the output folder", e))?;
    crate::atomic::write_bytes(
        &out.join("recovery.resolved.yaml"),
        serde_yaml::to_string(&cfg)
            .map_err(|e| Error::internal("writing the study config", e))?
            .as_bytes(),
    )?;
    let paths = Paths { out };
    let workers = if cfg.jobs == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        cfg.jobs
    };
    let t0 = std::time::Instant::now();
    let mut failures = make_recordings(&cfg, &paths, workers);
    let mut cells: Vec<Cell> = Vec::new();
    for cond in &cfg.conditions {
        for &seed in &cfg.seeds {
            for method in &cfg.methods {
                cells.push(Cell { cond, seed, method });
            }
        }
    }
    // Fits of cells already scored, or whose recording could not be made, are not needed.
    let specs: Vec<FitSpec> = cells
        .iter()
        .filter(|c| !paths.cell(&c.cond.name, &c.method.name, c.seed).is_file())
        .filter(|c| paths.recording(&c.cond.name, c.seed).is_file())
        .filter_map(|c| c.fit(&cfg, &paths))
        .collect();
    let backend = Local {
        binary: fitrnn_binary()?,
        parallel: workers,
    };
    let results = crate::jobs::run_fits(&backend, &specs, "fits")?;
    let jobs: Vec<_> = specs.iter().map(FitSpec::job).collect();
    failures.extend(crate::jobs::failures(&jobs, &results));
    failures.extend(score_cells(&cells, &paths));
    let wall = t0.elapsed().as_secs_f64();
    let rows = collect_rows(&cfg, &paths)?;
    report::write_tables(out, &cfg, &rows)?;
    let figures = figure::write(out, &cfg, &rows)?;
    let mut s = report::summary_text(&cfg, &rows);
    s.push_str(&format!(
        "\n{} cells in {wall:.0} s with {workers} at a time; wrote {}/recovery.parquet, recovery.md, {}\n",
        cells.len(),
        out.display(),
        figures.join(", ")
    ));
    if !failures.is_empty() {
        s.push_str("the other cells are in the tables; ");
        return Err(Error::ChildrenFailed {
            summary: s,
            failed: failures,
        });
    }
    Ok(s)
}
