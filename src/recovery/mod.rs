//! The ground-truth recovery study (`fitrnn recovery`): simulated recordings whose connectivity is
//! known, from two simulators of different form, fitted by several methods under several
//! recording conditions, each inference scored against the truth. Every cell (simulator ×
//! condition × recording seed × method) is a full simulate → fit → analyse run; fits run in
//! parallel (one per core) and a rerun skips the finished ones.
//!
//! Scores are honest about what the data must decide: strengths are ranked only over the blocks
//! that truly exist (the prior's zeros are not credited), signs are scored separately, the input
//! share (each source's share of a target's recurrent input) is scale-free, and every method is
//! read beside `prior_only`, which keeps the prior's densities and Dale's signs and draws the
//! magnitudes at random.

mod config;
pub mod estimates;
pub mod figure;
pub mod report;

pub use config::{Baseline, Condition, Method, RecoveryConfig};
pub use report::Row;

use crate::analysis::blocks::Level;
use crate::connectivity::ProbabilityTable;
use crate::data::{read_recording, write_recording, ReadOptions, SignMap};
use crate::error::{Error, Result};
use crate::jobs::{with_slurm_opts, BackendChoice, FitSpec};
use crate::rundir::tables::{Table, UnitRow};
use crate::rundir::{RunPaths, Weights};
use crate::simulate::{simulate, SimConfig};
use config::sets;
use estimates::{BlockValue, Blocks};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The scores of one method's blocks against the true blocks. Strength and sign scores run over
/// the blocks that truly exist (true `mean_abs_w > 0`; input shares over true shares > 0); the
/// all-block rank correlation (which credits the zeros the fit and the truth share through the
/// prior) is kept for comparison only, and the inter-area pathway AUC scores existence. The share
/// of each target's recurrent input that comes from other areas (mean over targets) is given for
/// the method and for the truth: drive that the recording does not hold, explained as
/// connectivity between areas, inflates it.
pub fn score(inferred: &Blocks, truth: &Blocks) -> Vec<(String, f64)> {
    let finite = |k: &(String, String)| {
        inferred
            .get(k)
            .is_some_and(|v| v.mean_w.is_finite() && v.mean_abs_w.is_finite())
    };
    let keys: Vec<&(String, String)> = truth.keys().filter(|k| finite(k)).collect();
    let existing: Vec<&(String, String)> = keys
        .iter()
        .copied()
        .filter(|k| truth[*k].mean_abs_w > 0.0)
        .collect();
    let col = |set: &[&(String, String)], m: &Blocks, f: fn(&BlockValue) -> f64| -> Vec<f64> {
        set.iter().map(|k| f(&m[*k])).collect()
    };
    let share_keys: Vec<&(String, String)> = existing
        .iter()
        .copied()
        .filter(|k| truth[*k].input_share > 0.0 && inferred[*k].input_share.is_finite())
        .collect();
    // The area is the first field of a block label at every level (`VISp/L4/Sst`, `VISp/L4`, `VISp`).
    let area = |label: &str| label.split('/').next().unwrap_or("").to_string();
    let inter: Vec<&(String, String)> = keys
        .iter()
        .copied()
        .filter(|k| area(&k.0) != area(&k.1))
        .collect();
    let inter_existing: Vec<&(String, String)> = inter
        .iter()
        .copied()
        .filter(|k| truth[*k].input_share > 0.0 && inferred[*k].input_share.is_finite())
        .collect();
    vec![
        (
            "existing_rho_mean_abs_w".into(),
            crate::stats::spearman(
                &col(&existing, inferred, |v| v.mean_abs_w),
                &col(&existing, truth, |v| v.mean_abs_w),
            ),
        ),
        (
            "existing_rho_input_share".into(),
            crate::stats::spearman(
                &col(&share_keys, inferred, |v| v.input_share),
                &col(&share_keys, truth, |v| v.input_share),
            ),
        ),
        (
            "existing_rho_mean_w".into(),
            crate::stats::spearman(
                &col(&existing, inferred, |v| v.mean_w),
                &col(&existing, truth, |v| v.mean_w),
            ),
        ),
        (
            "existing_sign_accuracy".into(),
            crate::stats::sign_accuracy(
                &col(&existing, inferred, |v| v.mean_w),
                &col(&existing, truth, |v| v.mean_w),
            ),
        ),
        (
            "all_rho_mean_abs_w".into(),
            crate::stats::spearman(
                &col(&keys, inferred, |v| v.mean_abs_w),
                &col(&keys, truth, |v| v.mean_abs_w),
            ),
        ),
        (
            "pathway_auc".into(),
            crate::stats::auc(
                &col(&inter, inferred, |v| v.mean_abs_w),
                &inter
                    .iter()
                    .map(|k| truth[*k].mean_abs_w > 0.0)
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "pathway_rho_input_share".into(),
            crate::stats::spearman(
                &col(&inter_existing, inferred, |v| v.input_share),
                &col(&inter_existing, truth, |v| v.input_share),
            ),
        ),
        ("between_area_share".into(), between_area_share(inferred)),
        ("true_between_area_share".into(), between_area_share(truth)),
        ("n_existing".into(), existing.len() as f64),
    ]
}

/// The share of each target block's recurrent input that comes from blocks of other areas
/// (`Σ input_share` over sources in another area), averaged over the targets that receive any;
/// NaN without targets. Keys are `(pre, post)` labels whose first field is the area.
pub fn between_area_share(blocks: &Blocks) -> f64 {
    let area = |label: &str| label.split('/').next().unwrap_or("").to_string();
    let mut per_target: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for ((pre, post), v) in blocks {
        if !v.input_share.is_finite() {
            continue;
        }
        let e = per_target.entry(post.as_str()).or_default();
        e.1 += v.input_share;
        if area(pre) != area(post) {
            e.0 += v.input_share;
        }
    }
    let shares: Vec<f64> = per_target
        .values()
        .filter(|(_, total)| *total > 0.0)
        .map(|(between, _)| *between)
        .collect();
    if shares.is_empty() {
        f64::NAN
    } else {
        shares.iter().sum::<f64>() / shares.len() as f64
    }
}

/// Levels scored.
pub const LEVELS: [Level; 3] = [Level::Population, Level::AreaLayer, Level::Area];

/// Pearson r of inferred and true weights over the connections that truly exist between recorded
/// units (`w` is `W[post, pre]` over the units `sim` maps to simulated units; `None`: hidden).
fn existing_weight_correlation(
    w: &ndarray::Array2<f32>,
    sim: &[Option<usize>],
    gt: &crate::data::GroundTruth,
) -> f64 {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..w.nrows() {
        for j in 0..w.ncols() {
            if let (Some(si), Some(sj)) = (sim[i], sim[j]) {
                if i != j && gt.w_rec[[si, sj]] != 0.0 {
                    a.push(w[[i, j]] as f64);
                    b.push(gt.w_rec[[si, sj]] as f64);
                }
            }
        }
    }
    crate::stats::pearson(&a, &b)
}

/// The simulated unit of every recorded trace column.
fn simulated_unit_of_columns(gt: &crate::data::GroundTruth, n_neurons: usize) -> Vec<usize> {
    let mut sim_of_col = vec![usize::MAX; n_neurons];
    for (s, &c) in gt.recorded_index.iter().enumerate() {
        if c >= 0 {
            sim_of_col[c as usize] = s;
        }
    }
    sim_of_col
}

/// Unit-level agreement of a fitted run's `W[post, pre]` with the truth over the connections that
/// exist between recorded units (hidden units are left out).
fn fitted_unit_correlation(run_dir: &Path, rec: &crate::data::Recording) -> Result<f64> {
    let gt = rec.ground_truth.as_ref().expect("simulated");
    let paths = RunPaths::new(run_dir);
    let t = crate::rundir::weights::TensorFile::open(&paths.weights(Weights::Final))?;
    let w = t.array2("w_rec")?;
    let units: Vec<UnitRow> = crate::rundir::tables::read(&paths.table(UnitRow::NAME))?;
    // fitted unit → trace column → simulated unit.
    let col_of: BTreeMap<String, usize> = (0..rec.n_neurons())
        .map(|c| (rec.neurons.id.label(c), c))
        .collect();
    let sim_of_col = simulated_unit_of_columns(gt, rec.n_neurons());
    let sim: Vec<Option<usize>> = units
        .iter()
        .map(|u| {
            u.neuron_id
                .as_ref()
                .and_then(|id| col_of.get(id))
                .map(|&c| sim_of_col[c])
        })
        .collect();
    Ok(existing_weight_correlation(&w, &sim, gt))
}

/// Where each piece of the study lives under `out`.
struct Paths<'a> {
    out: &'a Path,
}

impl Paths<'_> {
    fn recording(&self, sim: &str, cond: &str, seed: u64) -> PathBuf {
        self.out
            .join("recordings")
            .join(sim)
            .join(cond)
            .join(format!("seed_{seed}.h5"))
    }
    fn run(&self, c: &Cell) -> PathBuf {
        self.out
            .join("runs")
            .join(&c.sim.name)
            .join(&c.cond.name)
            .join(&c.method.name)
            .join(format!("seed_{}", c.seed))
    }
    fn cell(&self, c: &Cell) -> PathBuf {
        self.out
            .join("cells")
            .join(&c.sim.name)
            .join(&c.cond.name)
            .join(&c.method.name)
            .join(format!("seed_{}.json", c.seed))
    }
    fn recording_of(&self, c: &Cell) -> PathBuf {
        self.recording(&c.sim.name, &c.cond.name, c.seed)
    }
}

/// Make the recording of one (simulator, condition, seed), unless it exists.
fn ensure_recording(
    cfg: &RecoveryConfig,
    sim: &Condition,
    cond: &Condition,
    seed: u64,
    path: &Path,
) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    let mut set = cfg.simulator_overrides(sim, cond);
    set.push(format!("seed={seed}"));
    let sim_cfg = SimConfig::load(&cfg.simulate, &set)?;
    let (mut rec, _) = simulate(&sim_cfg)?;
    rec.path = path.to_path_buf();
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, "creating", e))?;
    }
    write_recording(&rec, path)
}

/// One cell of the study: a simulator, a condition, a recording seed and a method.
#[derive(Debug, Clone, Copy)]
struct Cell<'a> {
    sim: &'a Condition,
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
        overrides.push(format!("data.path={}", paths.recording_of(self).display()));
        overrides.push(format!("seed={}", self.seed));
        Some(FitSpec {
            name: format!(
                "{} / {} / {} seed {}",
                self.sim.name, self.cond.name, self.method.name, self.seed
            ),
            config: cfg.fit.clone(),
            overrides,
            out: paths.run(self),
            threads: 1,
        })
    }
}

/// What scoring needs besides a cell's files: the simulator's sign map and prior table (for the
/// truth and `prior_only`), and the run config (whose time constants `one_step` uses).
struct Context {
    signs: SignMap,
    table: ProbabilityTable,
    fit: PathBuf,
}

impl Context {
    fn of(cfg: &RecoveryConfig, sim: &Condition, cond: &Condition) -> Result<Context> {
        let sim_cfg = SimConfig::load(&cfg.simulate, &cfg.simulator_overrides(sim, cond))?;
        let table = ProbabilityTable::read(&sim_cfg.network.connectivity)?
            .with_pathways(&sim_cfg.network.inter_area)?;
        Ok(Context {
            signs: sim_cfg.network.cell_types.clone(),
            table,
            fit: cfg.fit.clone(),
        })
    }

    /// The time constants of the run config with `method`'s overrides.
    fn tau_ms(&self, method: &Method) -> Result<BTreeMap<String, f64>> {
        Ok(crate::config::Config::load(&self.fit, &sets(&method.set))?
            .model
            .tau_ms)
    }
}

/// Score one cell: its rows.
fn evaluate(c: &Cell, rec_path: &Path, run: &Path, ctx: &Context) -> Result<Vec<Row>> {
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
            simulator: c.sim.name.clone(),
            seed: c.seed,
            condition: c.cond.name.clone(),
            method: c.method.name.clone(),
            level: level.into(),
            metric,
            value,
        })
    };
    // The one-step estimate is computed once and aggregated at every level and the unit level.
    let one_step = match c.method.baseline.and_then(Baseline::one_step_rule) {
        Some(rule) => {
            let signs = estimates::neuron_signs(&rec, &ctx.signs);
            let w = estimates::one_step_weights(&rec, &signs, &ctx.tau_ms(c.method)?, rule);
            Some((signs, w))
        }
        None => None,
    };
    // A fit's tables are read once for every level.
    let fit_tables = match c.method.baseline {
        None => Some(estimates::RunTables::read(run)?),
        Some(_) => None,
    };
    for level in LEVELS {
        let truth = estimates::truth(gt, &ctx.signs, level);
        let inferred = match c.method.baseline {
            Some(Baseline::Correlation) => estimates::correlation(&rec, level),
            Some(Baseline::RidgeVar) => estimates::ridge_var(&rec, level),
            Some(Baseline::OneStep | Baseline::OneStepBounded | Baseline::OneStepEarly) => {
                let Some((signs, w)) = &one_step else {
                    return Err(Error::bug("recovery", "one-step weights not computed"));
                };
                estimates::one_step(&rec, signs, w, level)
            }
            Some(Baseline::PriorOnly) => {
                estimates::prior_only(gt, &ctx.signs, &ctx.table, level, c.seed)
            }
            Some(Baseline::TrueRecorded) => estimates::true_recorded(gt, &ctx.signs, level),
            None => match &fit_tables {
                Some(t) => t.blocks(level),
                None => return Err(Error::bug("recovery", "fit tables not read")),
            },
        };
        for (metric, value) in score(&inferred, &truth) {
            push(level.name(), metric, value);
        }
    }
    let unit = match c.method.baseline {
        None => Some(fitted_unit_correlation(run, &rec)?),
        Some(Baseline::OneStep | Baseline::OneStepBounded | Baseline::OneStepEarly) => {
            one_step.as_ref().map(|(_, w)| {
                let sim: Vec<Option<usize>> = simulated_unit_of_columns(gt, rec.n_neurons())
                    .into_iter()
                    .map(Some)
                    .collect();
                existing_weight_correlation(w, &sim, gt)
            })
        }
        _ => None,
    };
    if let Some(r) = unit {
        push("unit", "existing_w_correlation".into(), r);
    }
    Ok(rows)
}

/// Make every recording not made yet, `workers` at a time (in this process).
fn make_recordings(cfg: &RecoveryConfig, paths: &Paths, workers: usize) -> Vec<String> {
    let mut tasks: Vec<(&Condition, &Condition, u64)> = Vec::new();
    for sim in &cfg.simulators {
        for cond in &cfg.conditions {
            for &seed in &cfg.seeds {
                tasks.push((sim, cond, seed));
            }
        }
    }
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
                let Some(&(sim, cond, seed)) = tasks.get(k) else {
                    break;
                };
                let path = paths.recording(&sim.name, &cond.name, seed);
                if let Err(e) = ensure_recording(cfg, sim, cond, seed, &path) {
                    failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!(
                            "{} / {} seed {seed}: simulating: {e}",
                            sim.name, cond.name
                        ));
                }
            });
        }
    });
    failures.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Score every cell whose recording exists and whose fit (if any) finished, unless scored
/// before; returns the failures.
fn score_cells(cfg: &RecoveryConfig, cells: &[Cell], paths: &Paths) -> Vec<String> {
    let mut failures = Vec::new();
    let mut contexts: BTreeMap<(String, String), Context> = BTreeMap::new();
    for c in cells {
        let cell = paths.cell(c);
        let rec = paths.recording_of(c);
        let run = paths.run(c);
        let fitted = c.method.baseline.is_some()
            || crate::rundir::read_complete_manifest(&run, "score").is_ok();
        if cell.is_file() || !rec.is_file() || !fitted {
            continue;
        }
        let key = (c.sim.name.clone(), c.cond.name.clone());
        if !contexts.contains_key(&key) {
            match Context::of(cfg, c.sim, c.cond) {
                Ok(ctx) => {
                    contexts.insert(key.clone(), ctx);
                }
                Err(e) => {
                    failures.push(format!("{} / {}: {e}", c.sim.name, c.cond.name));
                    continue;
                }
            }
        }
        let result = evaluate(c, &rec, &run, &contexts[&key]).and_then(|rows| {
            if let Some(d) = cell.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d, "creating", e))?;
            }
            let json = serde_json::to_string(&rows)
                .map_err(|e| Error::internal("writing a recovery cell", e))?;
            crate::atomic::write_bytes(&cell, json.as_bytes())
        });
        if let Err(e) = result {
            failures.push(format!(
                "{} / {} / {} seed {}: {e}",
                c.sim.name, c.cond.name, c.method.name, c.seed
            ));
        }
    }
    failures
}

/// Every finished cell of this config (including those from earlier runs).
fn collect_rows(cells: &[Cell], paths: &Paths) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for c in cells {
        let cell = paths.cell(c);
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
    Ok(rows)
}

/// Every cell of the study: simulator × condition × seed × method.
fn cells(cfg: &RecoveryConfig) -> Vec<Cell<'_>> {
    let mut cells = Vec::new();
    for sim in &cfg.simulators {
        for cond in &cfg.conditions {
            for &seed in &cfg.seeds {
                for method in &cfg.methods {
                    cells.push(Cell {
                        sim,
                        cond,
                        seed,
                        method,
                    });
                }
            }
        }
    }
    cells
}

/// Run the study: make the recordings, fit every method on them through the job runner (one fit
/// per core; finished fits are kept), score every cell, then collect the tables and figures. A
/// rerun redoes only what is missing.
///
/// With `backend` Slurm, the fits run as one job array (`slurm_opts` its sbatch options; at most
/// the study's `jobs` tasks at once when it is not 0); with `wait` false the command returns once
/// they are submitted, and running it again after they end scores them.
pub fn run(
    config: &Path,
    out: &Path,
    backend: crate::config::BackendKind,
    slurm_opts: &[String],
    wait: bool,
) -> Result<String> {
    if !wait && backend == crate::config::BackendKind::Local {
        return Err(Error::Unsupported {
            problem: "--no-wait needs --backend slurm (local fits run while the command runs)"
                .into(),
            fix: "drop --no-wait, or add --backend slurm".into(),
        });
    }
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
    let cells = cells(&cfg);
    // Fits of cells already scored, or whose recording could not be made, are not needed.
    let specs: Vec<FitSpec> = cells
        .iter()
        .filter(|c| !paths.cell(c).is_file() && paths.recording_of(c).is_file())
        .filter_map(|c| c.fit(&cfg, &paths))
        .collect();
    let choice = BackendChoice {
        kind: backend,
        parallel: match backend {
            crate::config::BackendKind::Local => workers,
            crate::config::BackendKind::Slurm => cfg.jobs,
        },
        slurm: with_slurm_opts(Default::default(), slurm_opts)?,
        wait,
        dir: out.join("slurm"),
        name: "fitrnn-recovery".into(),
    };
    let results = crate::jobs::run_fits(choice.backend(&specs)?.as_ref(), &specs, "fits")?;
    if !wait {
        let submitted = results
            .iter()
            .filter(|r| r.outcome == crate::jobs::Outcome::Submitted)
            .count();
        return Ok(format!(
            "submitted {submitted} fits of the study; when they have ended (squeue), run the same command again without --no-wait to score them\n"
        ));
    }
    let jobs: Vec<_> = specs.iter().map(FitSpec::job).collect();
    failures.extend(crate::jobs::failures(&jobs, &results));
    failures.extend(score_cells(&cfg, &cells, &paths));
    let wall = t0.elapsed().as_secs_f64();
    let rows = collect_rows(&cells, &paths)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(values: &[(&str, &str, f64, f64, f64)]) -> Blocks {
        values
            .iter()
            .map(|&(pre, post, mean_w, mean_abs_w, input_share)| {
                (
                    (pre.to_string(), post.to_string()),
                    BlockValue {
                        mean_w,
                        mean_abs_w,
                        input_share,
                    },
                )
            })
            .collect()
    }

    /// A hand-made truth and fit: four blocks exist, two are absent (one of which the fit fills).
    /// Expected values from scipy.stats.spearmanr over the listed blocks.
    #[test]
    fn scores_count_only_existing_blocks_and_match_hand_computed_values() {
        let truth = blocks(&[
            ("VISp/a", "VISp/a", 0.3, 0.3, 0.6),
            ("VISp/b", "VISp/a", -0.2, 0.2, 0.4),
            ("VISp/a", "VISp/b", 0.1, 0.1, 1.0),
            ("VISp/a", "VISl/c", 0.4, 0.4, 1.0),
            ("VISl/c", "VISp/a", 0.0, 0.0, 0.0),
            ("VISp/b", "VISp/b", 0.0, 0.0, 0.0),
        ]);
        let fit = blocks(&[
            ("VISp/a", "VISp/a", 0.1, 0.1, 0.3),
            ("VISp/b", "VISp/a", -0.3, 0.3, 0.5),
            ("VISp/a", "VISp/b", 0.2, 0.2, 0.9),
            ("VISp/a", "VISl/c", 0.2, 0.2, 0.7),
            ("VISl/c", "VISp/a", 0.05, 0.05, 0.2),
            ("VISp/b", "VISp/b", 0.0, 0.0, 0.0),
        ]);
        let s: BTreeMap<String, f64> = score(&fit, &truth).into_iter().collect();
        let close = |k: &str, v: f64| {
            assert!((s[k] - v).abs() < 1e-12, "{k}: {} vs {v}", s[k]);
        };
        close("n_existing", 4.0);
        // spearmanr([0.2, 0.1, 0.2, 0.3], [0.4, 0.3, 0.1, 0.2]) over the four existing blocks
        close("existing_rho_mean_abs_w", -0.316227766016838);
        close("existing_rho_input_share", 0.7378647873726218);
        close("existing_rho_mean_w", 0.632455532033676);
        close("existing_sign_accuracy", 1.0);
        // Over all six blocks, the shared zero lifts the rank correlation.
        close("all_rho_mean_abs_w", 0.6176470588235294);
        // The one inter-area pathway that exists outranks the one that does not.
        close("pathway_auc", 1.0);
        // Input from other areas: truth (0 + 0 + 1) / 3 over the targets VISp/a, VISp/b, VISl/c;
        // the fit puts 0.2 of VISp/a's input on the absent VISl/c → VISp/a: (0.2 + 0 + 0.7) / 3.
        close("true_between_area_share", 1.0 / 3.0);
        close("between_area_share", 0.3);
        // One pathway between areas exists: no rank correlation to give.
        assert!(s["pathway_rho_input_share"].is_nan());
    }
}
