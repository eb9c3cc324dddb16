//! The run configuration (`configs/*.yaml`): every section the pipeline needs, with defaults.
//!
//! A config is read in two steps, as the command line is in ripgrep: [`RawConfig`] is the YAML as
//! written (serde, unknown keys refused with the closest valid one, `--set` overrides applied), and
//! [`Config`] is the resolved config the pipeline runs on: paths absolute, the output directory
//! decided, the device parsed, every value checked section by section. The resolved config is
//! exactly what gets written to the run directory as `config.resolved.yaml`. Units are in the key
//! names where they could be ambiguous (`_s`, `_ms`, `_hz`).

mod analysis;
mod constraints;
mod data;
mod ensemble;
mod load;
mod model;
mod slurm;
mod training;

pub use analysis::{AnalysisConfig, PerturbationKind, PerturbationSpec, SpectraStages};
pub use constraints::{ConstraintsConfig, Dale, InitConfig, InitKind, MaskConfig, MaskRealisation};
pub use data::{
    DataConfig, DataPaths, DeconvolveConfig, Normalisation, SplitBy, SplitConfig, WindowsConfig,
};
pub use ensemble::{BackendKind, EnsembleConfig};
pub use load::{load_yaml, parse_yaml};
pub use model::{Architecture, ModelConfig, ModelMode, Readout};
pub use slurm::{check_option as check_slurm_option, SlurmConfig};
pub use training::{
    CheckpointPolicy, EsConfig, EsLoss, GradientKind, Optimiser, Schedule, TrainingConfig,
    WarmStart,
};

use crate::device::DeviceChoice;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Config keys holding paths; overridden from the command line they resolve against the shell's
/// current directory, otherwise against the config file's directory.
pub const PATH_KEYS: &[&str] = &["data.path", "output.dir", "constraints.mask.table"];

/// A config as written in its YAML file (after `--set` overrides), before anything is resolved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
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
    pub output: RawOutput,
    /// Extra fits that give every interaction an interval and say whether the data determine it.
    #[serde(default)]
    pub ensemble: EnsembleConfig,
    /// How fits run on a Slurm cluster (`--backend slurm`); never changes a fit's numbers.
    #[serde(default)]
    pub slurm: SlurmConfig,
}

/// `output:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// Run directory, relative to the config file; default `runs/<config name>` beside it.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Replace an existing run directory instead of refusing.
    #[serde(default)]
    pub overwrite: bool,
}

/// A complete, validated run configuration with absolute paths: what the pipeline runs on and what
/// `config.resolved.yaml` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Seed for every random draw (masks, initial weights, batches). Same seed → same numbers.
    pub seed: u64,
    /// The device as written (`auto`, `cpu`, `cuda` or `cuda:N`); [`Config::device_choice`] is
    /// what it resolved to on this machine.
    pub device: String,
    /// CPU threads for tensor maths; 0 = all cores.
    pub threads: usize,
    /// Which recording, which neurons, how to normalise and split it (absolute paths).
    pub data: DataConfig,
    /// The RNN.
    pub model: ModelConfig,
    /// Dale's law, connectivity mask (absolute table path) and initialisation.
    pub constraints: ConstraintsConfig,
    /// Phases, optimiser and schedule.
    pub training: TrainingConfig,
    /// Which analyses to run after the fit.
    pub analysis: AnalysisConfig,
    /// Where the run directory goes.
    pub output: OutputConfig,
    /// Extra fits for intervals and the self-check.
    pub ensemble: EnsembleConfig,
    /// How fits run on a Slurm cluster; never changes a fit's numbers.
    pub slurm: SlurmConfig,
    /// The device `device` names, on this machine and build.
    #[serde(skip)]
    pub device_choice: DeviceChoice,
}

/// `output:` resolved: the run directory is always named.
#[derive(Debug, Clone, Serialize)]
pub struct OutputConfig {
    /// Run directory (absolute).
    pub dir: PathBuf,
    /// Replace an existing run directory instead of refusing.
    pub overwrite: bool,
}

fn default_device() -> String {
    "auto".into()
}

impl Config {
    /// Load `path`, apply `overrides` (`section.key=value`), then resolve and validate.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Config> {
        let raw: RawConfig = load_yaml(path, overrides, PATH_KEYS)?;
        raw.resolve(path)
    }

    /// Parse config `text` as if read from `path` (paths resolve against its folder), with
    /// `overrides`, then resolve and validate.
    pub fn parse(path: &Path, text: &str, overrides: &[String]) -> Result<Config> {
        let raw: RawConfig = parse_yaml(path, text, overrides, PATH_KEYS)?;
        raw.resolve(path)
    }

    /// Checks between sections (each section checks its own values).
    fn validate(&self, file: &Path) -> Result<()> {
        self.data.validate(file)?;
        self.model.validate(file)?;
        self.constraints.validate(file)?;
        for t in self.model.hidden_units.keys() {
            if !self.data.cell_types.contains_key(t) {
                return Err(Error::config(
                    file,
                    format!("model.hidden_units.{t}"),
                    format!("cell type `{t}` has no sign in data.cell_types"),
                    format!("add `{t}: E` or `{t}: I` under data.cell_types"),
                ));
            }
        }
        self.training.validate(file)?;
        if self.model.architecture == Architecture::Colei {
            if self.constraints.dale == Dale::None {
                return Err(Error::config(
                    file,
                    "constraints.dale",
                    "`none` with model.architecture: colei, whose every column keeps its cell type's sign",
                    "use dale: projection (ColEI's clamped update), or architecture: standard for the unconstrained baseline",
                ));
            }
            if self.constraints.init.kind != InitKind::Balanced {
                return Err(Error::config(
                    file,
                    "constraints.init.kind",
                    "set with model.architecture: colei, which has its own initialisation",
                    "remove constraints.init.kind (colei keeps only its spectral_radius)",
                ));
            }
        }
        if self.training.warm_start == WarmStart::OneStep
            && self.model.mode == ModelMode::Populations
        {
            return Err(Error::config(
                file,
                "training.warm_start",
                "`one_step` estimates each recorded neuron's inputs, and population units have no recorded neuron",
                "use warm_start: none with mode: populations",
            ));
        }
        if self.training.warm_start == WarmStart::OneStep && self.constraints.dale == Dale::None {
            return Err(Error::config(
                file,
                "training.warm_start",
                "`one_step` needs Dale's signs as bounds: without them the estimate of a rectified network runs away (free-running pVar −4.5 after 8 epochs on a 4-minute recording)",
                "use warm_start: none with dale: none",
            ));
        }
        if self.data.deconvolve.is_some()
            && self.model.observation == crate::model::Observation::Calcium
        {
            return Err(Error::config(
                file,
                "data.deconvolve",
                "the traces would pass through the indicator twice: deconvolved here, and integrated again by the calcium readout",
                "remove data.deconvolve, or use model.observation: rate",
            ));
        }
        if self.training.teacher_forcing > 0.0 {
            let refuse = |problem: &str| {
                Err(Error::config(
                    file,
                    "training.teacher_forcing",
                    problem.to_string(),
                    "use teacher_forcing: 0 (free-running) for this model",
                ))
            };
            if self.model.mode == ModelMode::Populations {
                return refuse("teacher forcing pulls each recorded neuron's unit towards its trace, and population units have no recorded neuron");
            }
            if self.model.observation == crate::model::Observation::Calcium {
                return refuse("teacher forcing needs a unit's state from one frame of its trace, and the calcium readout cannot give it (the indicator integrates over many frames)");
            }
        }
        self.ensemble.validate(file, self.data.split.folds())?;
        self.slurm.validate(file)?;
        if (self.ensemble.selfcheck > 0 || self.ensemble.subsample > 0)
            && (self.model.mode == ModelMode::Populations || self.model.traces_as_inputs)
        {
            let key = if self.ensemble.selfcheck > 0 {
                "ensemble.selfcheck"
            } else {
                "ensemble.subsample"
            };
            return Err(Error::config(
                file,
                key,
                "the self-check simulates recorded neurons from the fitted network, which needs mode: neurons and traces that are not also inputs",
                "set ensemble.selfcheck: 0 and ensemble.subsample: 0 for this model",
            ));
        }
        self.analysis.validate(file)
    }
}

impl RawConfig {
    /// Make paths absolute (relative to the config file's directory), decide the output directory
    /// and the device, and check every value.
    pub fn resolve(mut self, config_path: &Path) -> Result<Config> {
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
        let empty = |key: &str| {
            Error::config(
                config_path,
                key,
                "the path is empty",
                "give a path, or leave the key out to use its default",
            )
        };
        if self
            .output
            .dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            return Err(empty("output.dir"));
        }
        if self.data.path.0.iter().any(|p| p.as_os_str().is_empty()) {
            return Err(empty("data.path"));
        }
        if let Some(t) = &self.constraints.mask.table {
            if t.as_os_str().is_empty() {
                return Err(empty("constraints.mask.table"));
            }
        }
        for p in self.data.path.0.iter_mut() {
            *p = abs(p);
        }
        if let Some(t) = self.constraints.mask.table.as_mut() {
            *t = abs(t);
        }
        if let Some(t) = self.data.nwb.roi_labels.as_mut() {
            if t.as_os_str().is_empty() {
                return Err(empty("data.nwb.roi_labels"));
            }
            *t = abs(t);
        }
        let stem = config_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        let dir = abs(self
            .output
            .dir
            .as_deref()
            .unwrap_or(&PathBuf::from("runs").join(stem)));
        let device_choice = DeviceChoice::parse(&self.device)
            .map_err(|b| Error::config(config_path, "device", b.problem, b.fix))?;
        let config = Config {
            seed: self.seed,
            device: self.device,
            threads: self.threads,
            data: self.data,
            model: self.model,
            constraints: self.constraints,
            training: self.training,
            analysis: self.analysis,
            output: OutputConfig {
                dir,
                overwrite: self.output.overwrite,
            },
            ensemble: self.ensemble,
            slurm: self.slurm,
            device_choice,
        };
        config.validate(config_path)?;
        Ok(config)
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
