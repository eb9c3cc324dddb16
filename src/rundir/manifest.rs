//! `manifest.json`: how a run was made (version, commit, command line, seed, device, threads, the
//! data file and its sha256), where it stands (`running`, `complete`, `failed` with the error) and
//! what it took (wall time per phase and per analysis step).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the one-step warm start did, for the run's log and manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WarmStartSummary {
    /// Recorded units estimated.
    pub units: usize,
    /// Median number of active frame pairs per unit.
    pub median_active_frames: usize,
    /// Projected-gradient steps per unit from the projected ridge solution (0 without Dale's
    /// signs, where the projected ridge solution is the start).
    pub steps: usize,
    /// The factor the estimated recurrent weights were scaled by to bring their spectral radius
    /// down to 1 (1 when it was already below).
    pub scaled_by: f64,
    /// Wall time of the warm start, s.
    pub seconds: f64,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fitting or writing.
    #[default]
    Running,
    /// Every output is written.
    Complete,
    /// Stopped with an error (`error` in the manifest says which).
    Failed,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Running => "running",
            Status::Complete => "complete",
            Status::Failed => "failed",
        })
    }
}

/// One input file and its sha256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    /// The file.
    pub path: String,
    /// Its sha256, hex.
    pub sha256: String,
}

/// The recording a run fitted: `path` and `sha256` of the file; for several files (planes imaged
/// together) `path` lists them, `files` gives each file's sha256 and `sha256` is the sha256 of those
/// hashes joined by newlines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataEntry {
    /// The file, or the files comma-separated.
    pub path: String,
    /// sha256 of the file (or of the files' hashes).
    pub sha256: String,
    /// Each file of a multi-file recording.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<DataFile>,
}

impl DataEntry {
    /// Hash the recording's `paths`.
    pub fn of(paths: &[PathBuf]) -> Result<DataEntry> {
        use sha2::{Digest, Sha256};
        let shas = paths
            .iter()
            .map(|p| crate::data::sha256_file(p))
            .collect::<Result<Vec<_>>>()?;
        let path = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if paths.len() == 1 {
            return Ok(DataEntry {
                path,
                sha256: shas[0].clone(),
                files: vec![],
            });
        }
        Ok(DataEntry {
            path,
            sha256: format!("{:x}", Sha256::digest(shas.join("\n").as_bytes())),
            files: paths
                .iter()
                .zip(&shas)
                .map(|(p, s)| DataFile {
                    path: p.display().to_string(),
                    sha256: s.clone(),
                })
                .collect(),
        })
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `manifest.json`. Every field but `status` may be missing from a manifest written by an older
/// version (it reads as empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// fitrnn's version.
    #[serde(default)]
    pub fitrnn_version: String,
    /// The git commit fitrnn was built from (`-dirty` with uncommitted changes).
    #[serde(default)]
    pub git_commit: String,
    /// The command line of the run.
    #[serde(default)]
    pub command_line: Vec<String>,
    /// The config file the run started from.
    #[serde(default)]
    pub config: String,
    /// The seed.
    #[serde(default)]
    pub seed: u64,
    /// The device: `cpu` or `cuda:N`.
    #[serde(default)]
    pub device: String,
    /// CPU threads of the tensor maths.
    #[serde(default)]
    pub threads: usize,
    /// When the run started, s since the Unix epoch.
    #[serde(default)]
    pub started_unix_s: f64,
    /// The recording.
    #[serde(default)]
    pub data: DataEntry,
    /// Where the run stands.
    pub status: Status,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was last resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_unix_s: Option<f64>,
    /// When it finished (or failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_unix_s: Option<f64>,
    /// Wall time of each training phase, s.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub wall_s_per_phase: BTreeMap<String, f64>,
    /// Wall time of each analysis step and their `total`, s.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub analysis_wall_s: BTreeMap<String, f64>,
    /// The learned indicator decay per cell type, ms (`observation: calcium`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calcium_decay_ms: BTreeMap<String, f64>,
    /// The learned membrane time constant per cell type, ms (`model.learn_tau`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tau_ms: BTreeMap<String, f64>,
    /// Checkpoints written (over every resume).
    #[serde(default)]
    pub checkpoints_written: u64,
    /// Bytes written in checkpoints (over every resume); the fit wrote about this plus
    /// `run_dir_bytes` in all.
    #[serde(default)]
    pub checkpoint_bytes_written: u64,
    /// sha256 of `config.resolved.yaml` as the run last wrote it; `analyse`, `selfcheck` and
    /// `--resume` refuse an edited config (unless `--allow-changed-data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
    /// sha256 of `model/final.safetensors` as the run wrote it; `analyse` and `selfcheck` refuse
    /// weights that differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_weights_sha256: Option<String>,
    /// Every roll-back after a non-finite training loss (each halved the learning rate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training_retries: Vec<String>,
    /// What the one-step warm start did (`training.warm_start: one_step`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<WarmStartSummary>,
    /// What the user was warned about and chose to go on with (e.g. a changed recording).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For a failed fit analysed with `analyse --allow-failed`: which parameters of its last
    /// checkpoint were analysed (the weights files then hold them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysed_from_checkpoint: Option<String>,
    /// The task a `fitrnn task` run trained on (such a run has no recording; `analyse`,
    /// `selfcheck` and `--resume` refuse it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Size of the run directory when the run completed, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir_bytes: Option<u64>,
}

impl Manifest {
    /// The device the run used, as a [`crate::device::DeviceChoice`]; manifests written before
    /// devices were named `cpu` / `cuda:N` said `Cpu` or `Cuda(...)`.
    pub fn device_choice(&self) -> crate::device::DeviceChoice {
        use crate::device::DeviceChoice;
        match self.device.as_str() {
            d if d.starts_with("cuda") => DeviceChoice::parse(d).unwrap_or(DeviceChoice::Cuda(0)),
            d if d.starts_with("Cuda") => DeviceChoice::Cuda(0),
            _ => DeviceChoice::Cpu,
        }
    }

    /// Read the manifest at `path`.
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(path, "reading the run manifest", e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::data(
                path,
                "/",
                format!("not a run manifest: {e}"),
                "give a run directory written by fitrnn",
            )
        })
    }

    /// Write it to `path`, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::internal("writing the manifest", e))?;
        crate::atomic::write_bytes(path, text.as_bytes())
    }
}
