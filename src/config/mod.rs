//! The run configuration (`configs/*.yaml`): every section the pipeline needs, with defaults.
//!
//! [`Config::load`] reads the YAML, applies `--set` overrides, rejects unknown keys (naming the
//! closest valid one), validates values and resolves paths relative to the config file. What it
//! returns is exactly what gets written to the run directory as `config.resolved.yaml`.

mod load;
mod sections;

pub use load::{load_yaml, parse_yaml, suggest};
pub use sections::*;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Config keys holding paths; overridden from the command line they resolve against the shell's
/// current directory, otherwise against the config file's directory.
pub const PATH_KEYS: &[&str] = &["data.path", "output.dir", "constraints.mask.table"];

/// A complete, validated run configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Seed for every random draw (masks, initial weights, batches). Same seed → same numbers.
    #[serde(default)]
    pub seed: u64,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "default_device")]
    pub device: String,
    /// CPU threads for tensor maths; 0 = all cores.
    #[serde(default)]
    pub threads: usize,
    /// Which recording, which neurons, how to normalise and split it.
    pub data: DataConfig,
    /// The RNN.
    #[serde(default)]
    pub model: ModelConfig,
    /// Dale's law, connectivity mask and initialisation.
    #[serde(default)]
    pub constraints: ConstraintsConfig,
    /// Phases, optimiser and schedule.
    #[serde(default)]
    pub training: TrainingConfig,
    /// Which analyses to run after the fit.
    #[serde(default)]
    pub analysis: AnalysisConfig,
    /// Where the run directory goes.
    #[serde(default)]
    pub output: OutputConfig,
}

fn default_device() -> String {
    "auto".into()
}

/// The compute device a config asks for, after checking it against this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// CUDA device with this ordinal.
    Cuda(usize),
}

impl Config {
    /// Load `path`, apply `overrides` (`section.key=value`), validate and resolve paths.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Config> {
        let mut cfg: Config = load_yaml(path, overrides, PATH_KEYS)?;
        cfg.resolve(path)?;
        Ok(cfg)
    }

    /// Make paths absolute (relative to the config file's directory) and check every value.
    pub fn resolve(&mut self, config_path: &Path) -> Result<()> {
        let base = config_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        // Absolute, so the resolved config written beside a run stays valid from any directory
        // (fitrnn --resume and fitrnn analyse read it back).
        let base = std::path::absolute(&base).unwrap_or(base);
        let abs = |p: &Path| -> PathBuf {
            let joined = if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            };
            normalise_path(&joined)
        };
        for p in self.data.path.0.iter_mut() {
            *p = abs(p);
        }
        if let Some(t) = self.constraints.mask.table.as_mut() {
            *t = abs(t);
        }
        let stem = config_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        self.output.dir = abs(self
            .output
            .dir
            .as_deref()
            .unwrap_or(&PathBuf::from("runs").join(stem)))
        .into();
        self.device_choice(config_path)?;
        sections::validate(self, config_path)
    }

    /// The device to run on. `auto` picks CUDA device 0 when this build has CUDA and a GPU is
    /// present, else the CPU; `cuda` on a build without the `cuda` feature is an error.
    pub fn device_choice(&self, config_path: &Path) -> Result<DeviceChoice> {
        let d = self.device.trim();
        let parsed = match d {
            "auto" => {
                if cfg!(feature = "cuda") && crate::device::cuda_available() {
                    DeviceChoice::Cuda(0)
                } else {
                    DeviceChoice::Cpu
                }
            }
            "cpu" => DeviceChoice::Cpu,
            "cuda" => DeviceChoice::Cuda(0),
            s if s.starts_with("cuda:") => match s[5..].parse::<usize>() {
                Ok(n) => DeviceChoice::Cuda(n),
                Err(_) => {
                    return Err(Error::config(
                        config_path,
                        "device",
                        format!("`{s}` is not a device"),
                        "use auto, cpu, cuda or cuda:N with N a GPU number (cuda:0)",
                    ))
                }
            },
            other => {
                return Err(Error::config(
                    config_path,
                    "device",
                    format!("unknown device `{other}`"),
                    suggest(
                        other,
                        &["auto".into(), "cpu".into(), "cuda".into(), "cuda:0".into()],
                        "value",
                    ),
                ))
            }
        };
        if matches!(parsed, DeviceChoice::Cuda(_)) && !cfg!(feature = "cuda") {
            return Err(Error::config(
                config_path,
                "device",
                format!("`{d}` asks for a GPU, but this fitrnn was built without CUDA support"),
                "rebuild with `cargo install --path . --features cuda` (needs the CUDA toolkit), or use device: cpu",
            ));
        }
        Ok(parsed)
    }
}

/// Remove `.` and `..` components lexically (without touching the file system).
pub fn normalise_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
