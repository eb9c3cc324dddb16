//! Trial-aligned population datasets (Balwani et al. 2025's data pipeline; methods §1.6):
//! from many experiments, each population's mean dF/F around trial events, pooled across
//! experiments per condition, resampled into averages of trials drawn with replacement and
//! smoothed in time. The result is a `fitrnn-recording/1` file for `model.mode: populations`:
//! one column per population, one block of frames per sample (blocks separated by a gap so no
//! training window crosses two), one trial per block with its condition, and an input
//! `event_<condition>` that is 1 on the event frame.

pub mod resample;
pub mod windows;

use crate::config::load_yaml;
use crate::data::load::{read_planes, DataFormat, LoadOptions};
use crate::data::nwb::NwbOptions;
use crate::data::{write_recording, Inputs, NeuronIds, NeuronTable, Recording, Trials};
use crate::error::{Error, Result};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use windows::{Pooled, WindowClock};

/// Frames left empty between two samples' blocks (more than 1.5 frame periods, so windows stop).
const GAP_FRAMES: usize = 2;

/// The `fitrnn dataset` config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Seed of the resampling.
    #[serde(default)]
    pub seed: u64,
    /// Experiment files (NWB or fitrnn-recording/1), relative to the config file. Each plane of
    /// each file contributes its populations' trials.
    pub experiments: Vec<PathBuf>,
    /// File format of the experiments.
    #[serde(default)]
    pub format: DataFormat,
    /// How NWB files are read (as a run config's `data.nwb`).
    #[serde(default)]
    pub nwb: NwbOptions,
    /// Trial conditions to align on (trial start = event time), e.g. `[change, omission]`.
    pub conditions: Vec<String>,
    /// Window around each event, seconds: `[start, stop]`, e.g. `[-0.75, 0.75]`.
    #[serde(default = "default_window")]
    pub window_s: [f64; 2],
    /// Output frame rate, Hz (Balwani et al.: the mesoscope's ≈ 10.7 Hz, 16 frames per 1.5 s).
    pub frame_rate_hz: f64,
    /// Samples per population and condition.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Trials averaged in each sample, drawn with replacement.
    #[serde(default = "default_per_sample")]
    pub trials_per_sample: usize,
    /// Gaussian smoothing along time, σ in frames (0: none).
    #[serde(default = "default_sigma")]
    pub smooth_sigma_frames: f64,
    /// Populations with fewer pooled trials than this in a condition are left out (with a note).
    #[serde(default = "default_min_trials")]
    pub min_trials: usize,
}

fn default_window() -> [f64; 2] {
    [-0.75, 0.75]
}
fn default_samples() -> usize {
    2000
}
fn default_per_sample() -> usize {
    100
}
fn default_sigma() -> f64 {
    1.0
}
fn default_min_trials() -> usize {
    10
}

impl DatasetConfig {
    /// Load and check a dataset config; experiment paths resolve relative to it.
    pub fn load(path: &Path) -> Result<DatasetConfig> {
        let mut cfg: DatasetConfig = load_yaml(path, &[], &[])?;
        let base = path.parent().unwrap_or(Path::new("."));
        for e in cfg.experiments.iter_mut() {
            if e.is_relative() {
                *e = base.join(&*e);
            }
        }
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(path, key, problem, fix));
        if cfg.experiments.is_empty() {
            return bad(
                "experiments",
                "no experiment files".into(),
                "list NWB or contract files",
            );
        }
        if cfg.conditions.is_empty() {
            return bad(
                "conditions",
                "no conditions".into(),
                "e.g. conditions: [change, omission]",
            );
        }
        if cfg.window_s[1].partial_cmp(&cfg.window_s[0]) != Some(std::cmp::Ordering::Greater) {
            return bad(
                "window_s",
                format!("{:?} is empty", cfg.window_s),
                "give [start, stop] with start < stop",
            );
        }
        if !(cfg.frame_rate_hz.is_finite() && cfg.frame_rate_hz > 0.0) {
            return bad(
                "frame_rate_hz",
                format!("{} Hz", cfg.frame_rate_hz),
                "give a positive rate",
            );
        }
        if cfg.samples == 0 || cfg.trials_per_sample == 0 {
            return bad(
                "samples",
                "samples and trials_per_sample must be ≥ 1".into(),
                "e.g. samples: 2000, trials_per_sample: 100",
            );
        }
        if cfg.smooth_sigma_frames < 0.0 {
            return bad(
                "smooth_sigma_frames",
                "negative".into(),
                "use 0 for no smoothing",
            );
        }
        if cfg.clock().n_frames() < 2 {
            return bad(
                "window_s",
                "the window holds fewer than 2 frames at frame_rate_hz".into(),
                "widen the window",
            );
        }
        Ok(cfg)
    }

    /// The output clock of one window.
    pub fn clock(&self) -> WindowClock {
        WindowClock {
            start_s: self.window_s[0],
            stop_s: self.window_s[1],
            rate_hz: self.frame_rate_hz,
        }
    }
}

/// Trials pooled from every experiment, with notes on what was skipped.
pub fn pool_trials(cfg: &DatasetConfig) -> Result<(Pooled, Vec<String>)> {
    let opts = LoadOptions {
        format: cfg.format,
        nwb: cfg.nwb.clone(),
        ..LoadOptions::default()
    };
    let mut pooled = Pooled::new();
    let mut notes = Vec::new();
    let clock = cfg.clock();
    for path in &cfg.experiments {
        for plane in read_planes(path, &opts)? {
            if plane.recording.trials.is_none() {
                notes.push(format!("{}: no trials; skipped", plane.label));
                continue;
            }
            let skipped =
                windows::add_plane(&plane.recording, &cfg.conditions, &clock, &mut pooled);
            if skipped > 0 {
                notes.push(format!(
                    "{}: {skipped} trial(s) whose window leaves the imaging were skipped",
                    plane.label
                ));
            }
        }
    }
    Ok((pooled, notes))
}

/// Build the dataset recording from pooled trials.
pub fn build(
    cfg: &DatasetConfig,
    pooled: &Pooled,
    notes: &mut Vec<String>,
    out: &Path,
) -> Result<Recording> {
    let clock = cfg.clock();
    let n = clock.n_frames();
    // Populations that have enough trials in every condition, sorted by label.
    let mut pops: Vec<String> = pooled.keys().map(|(_, p)| p.clone()).collect();
    pops.sort();
    pops.dedup();
    pops.retain(|p| {
        let ok = cfg.conditions.iter().all(|c| {
            pooled
                .get(&(c.clone(), p.clone()))
                .is_some_and(|t| t.len() >= cfg.min_trials)
        });
        if !ok {
            notes.push(format!(
                "population {p} left out: fewer than {} trials in some condition ({})",
                cfg.min_trials,
                cfg.conditions
                    .iter()
                    .map(|c| format!(
                        "{c} {}",
                        pooled.get(&(c.clone(), p.clone())).map_or(0, Vec::len)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        ok
    });
    if pops.is_empty() {
        return Err(Error::data(
            &cfg.experiments[0],
            "trials",
            format!(
                "no population has {} or more trials in every condition ({})",
                cfg.min_trials,
                cfg.conditions.join(", ")
            ),
            "check the condition names (fitrnn inspect FILE lists each file's trials), add experiments, or lower min_trials",
        ));
    }
    let block = n + GAP_FRAMES;
    let n_blocks = cfg.conditions.len() * cfg.samples;
    let n_frames = n_blocks * n;
    let mut traces = Array2::<f32>::zeros((n_frames, pops.len()));
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    for (ci, c) in cfg.conditions.iter().enumerate() {
        for (pi, p) in pops.iter().enumerate() {
            let trials = &pooled[&(c.clone(), p.clone())];
            let samples = resample::bootstrap_means(
                trials,
                cfg.samples,
                cfg.trials_per_sample,
                cfg.smooth_sigma_frames,
                &mut rng,
            );
            for (si, s) in samples.iter().enumerate() {
                let row0 = (ci * cfg.samples + si) * n;
                for (j, v) in s.iter().enumerate() {
                    traces[[row0 + j, pi]] = *v as f32;
                }
            }
        }
    }
    let dt = 1.0 / cfg.frame_rate_hz;
    let timestamps_s: Vec<f64> = (0..n_frames)
        .map(|f| ((f / n) * block + f % n) as f64 * dt)
        .collect();
    let mut trials = Trials {
        start_s: vec![],
        stop_s: vec![],
        condition: vec![],
    };
    let mut values = Array2::<f32>::zeros((n_frames, cfg.conditions.len()));
    for b in 0..n_blocks {
        let ci = b / cfg.samples;
        trials.start_s.push(timestamps_s[b * n]);
        trials.stop_s.push(timestamps_s[b * n + n - 1] + dt);
        trials.condition.push(cfg.conditions[ci].clone());
        values[[b * n + clock.event_frame(), ci]] = 1.0;
    }
    // Labels are area/layer/cell_type, and layers may contain '/' (L2/3): split from both ends.
    let field = |p: &String, k: usize| -> String {
        let first = p.find('/').unwrap_or(0);
        let last = p.rfind('/').unwrap_or(p.len());
        match k {
            0 => p[..first].to_string(),
            1 => p[first + 1..last].to_string(),
            _ => p[last + 1..].to_string(),
        }
    };
    Ok(Recording {
        path: out.to_path_buf(),
        traces,
        kind: "dff".into(),
        timestamps_s,
        frame_rate_hz: cfg.frame_rate_hz,
        neurons: NeuronTable {
            id: NeuronIds::Text(pops.clone()),
            area: pops.iter().map(|p| field(p, 0)).collect(),
            layer: pops.iter().map(|p| field(p, 1)).collect(),
            cell_type: pops.iter().map(|p| field(p, 2)).collect(),
            depth_um: None,
        },
        inputs: Some(Inputs {
            names: cfg
                .conditions
                .iter()
                .map(|c| format!("event_{c}"))
                .collect(),
            values,
        }),
        trials: Some(trials),
        ground_truth: None,
        dropped_frames: vec![],
        notes: notes.clone(),
    })
}

/// `fitrnn dataset`: pool, resample, write the file and a JSON sidecar (config, trial counts,
/// input files with sha256, version), and return a summary.
pub fn build_and_write(config: &Path, out: &Path) -> Result<String> {
    let cfg = DatasetConfig::load(config)?;
    let (pooled, mut notes) = pool_trials(&cfg)?;
    let rec = build(&cfg, &pooled, &mut notes, out)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(dir, "creating the output folder", e))?;
    }
    write_recording(&rec, out)?;
    let counts: Vec<serde_json::Value> = pooled
        .iter()
        .map(|((c, p), t)| serde_json::json!({"condition": c, "population": p, "trials": t.len()}))
        .collect();
    let experiments: Vec<serde_json::Value> = cfg
        .experiments
        .iter()
        .map(|e| {
            Ok(serde_json::json!({
                "path": e.display().to_string(),
                "sha256": crate::data::sha256_file(e)?,
            }))
        })
        .collect::<Result<_>>()?;
    let sidecar = serde_json::json!({
        "fitrnn_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("FITRNN_GIT_COMMIT"),
        "config": cfg,
        "experiments": experiments,
        "trials": counts,
        "populations": rec.neurons.id.len(),
        "frames_per_sample": cfg.clock().n_frames(),
        "notes": notes,
    });
    let side = out.with_extension("json");
    crate::atomic::write_bytes(
        &side,
        serde_json::to_string_pretty(&sidecar)
            .expect("JSON")
            .as_bytes(),
    )?;

    let mut s = String::new();
    let _ = writeln!(
        s,
        "dataset     {} populations × {} conditions × {} samples of {} frames ({:.2} s at {} Hz)",
        rec.n_neurons(),
        cfg.conditions.len(),
        cfg.samples,
        cfg.clock().n_frames(),
        cfg.window_s[1] - cfg.window_s[0],
        cfg.frame_rate_hz
    );
    let _ = writeln!(s, "\n  population  {}", cfg.conditions.join("  "));
    for p in (0..rec.n_neurons()).map(|i| rec.neurons.id.label(i)) {
        let row: Vec<String> = cfg
            .conditions
            .iter()
            .map(|c| {
                pooled
                    .get(&(c.clone(), p.clone()))
                    .map_or(0, Vec::len)
                    .to_string()
            })
            .collect();
        let _ = writeln!(s, "  {p}  {} trials", row.join("  "));
    }
    for n in &notes {
        let _ = writeln!(s, "note        {n}");
    }
    let _ = writeln!(s, "\nwrote {} and {}", out.display(), side.display());
    Ok(s)
}
