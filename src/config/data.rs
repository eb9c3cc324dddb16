//! `data:` which recording, which neurons, normalisation, windows and the train/validation split.

use crate::data::celltypes::default_sign_map;
use crate::data::load::{DataFormat, LoadOptions};
use crate::data::nwb::NwbOptions;
use crate::data::select::Selection;
use crate::data::{NanPolicy, SignMap};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `data:` which recording, which neurons, normalisation, windows and the train/validation split.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The recording, relative to the config file: one file (fitrnn-recording/1 or NWB), or a
    /// list of files whose planes were imaged together and are fitted as one network.
    pub path: DataPaths,
    /// File format: `auto` (by content), `contract` or `nwb`.
    #[serde(default)]
    pub format: DataFormat,
    /// How NWB files are read (traces, metadata columns, layers, Cre lines, trials).
    #[serde(default)]
    pub nwb: NwbOptions,
    /// Common clock (Hz) for planes with different clocks; default the slowest plane's rate.
    #[serde(default)]
    pub align_hz: Option<f64>,
    /// Which neurons to keep (empty lists keep everything).
    #[serde(default)]
    pub select: Selection,
    /// Cell type → `E` or `I`. Every kept neuron's cell type must appear here.
    #[serde(default = "default_sign_map")]
    pub cell_types: SignMap,
    /// Per-neuron normalisation of the traces before fitting.
    #[serde(default)]
    pub normalisation: Normalisation,
    /// Percentile used as each neuron's baseline by `normalisation: baseline`.
    #[serde(default = "default_baseline_percentile")]
    pub baseline_percentile: f64,
    /// Resample the traces to this rate (Hz) before fitting; unset keeps the recorded rate.
    #[serde(default)]
    pub resample_hz: Option<f64>,
    /// Deconvolve each calcium trace into an estimate of its rate before normalisation (after
    /// resampling); unset fits the traces as recorded.
    #[serde(default)]
    pub deconvolve: Option<DeconvolveConfig>,
    /// What to do with frames holding NaN or Inf.
    #[serde(default)]
    pub nan_policy: NanPolicy,
    /// How the session is cut into training windows.
    #[serde(default)]
    pub windows: WindowsConfig,
    /// Which data are held out for validation.
    #[serde(default)]
    pub split: SplitConfig,
}

/// `data.deconvolve`: how the traces are deconvolved before normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeconvolveConfig {
    /// The indicator's decay time constant per cell type, ms (`default` for the others); e.g.
    /// GCaMP6f about 400 ms, GCaMP6s about 1200 ms in cortex.
    pub decay_ms: BTreeMap<String, f64>,
    /// Gaussian smoothing of the estimate, σ in frames (0: none).
    #[serde(default = "default_smooth_frames")]
    pub smooth_frames: f64,
}

fn default_smooth_frames() -> f64 {
    1.5
}

impl DeconvolveConfig {
    /// The widest smoothing accepted, σ in frames: wider smooths away every fluctuation a fit
    /// could learn from (and the kernel would outgrow any recording).
    pub const MAX_SMOOTH_FRAMES: f64 = 50.0;

    /// Every decay a time and the smoothing a width; `file` is named in errors.
    fn validate(&self, file: &Path) -> Result<()> {
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(file, key, problem, fix));
        for (t, ms) in &self.decay_ms {
            if !(ms.is_finite() && *ms > 0.0) {
                return bad(
                    &format!("data.deconvolve.decay_ms.{t}"),
                    format!("{ms} ms is not a decay time"),
                    "use the indicator's decay time constant in ms (e.g. 400 for GCaMP6f)",
                );
            }
        }
        if !(self.smooth_frames.is_finite()
            && (0.0..=Self::MAX_SMOOTH_FRAMES).contains(&self.smooth_frames))
        {
            return bad(
                "data.deconvolve.smooth_frames",
                format!("{} frames is not a smoothing width fitrnn takes", self.smooth_frames),
                &format!(
                    "use a Gaussian σ from 0 (no smoothing) to {} frames; 1-3 keeps the fluctuations that carry the connectivity",
                    Self::MAX_SMOOTH_FRAMES
                ),
            );
        }
        Ok(())
    }

    /// The decay of `cell_type`, ms: its own entry, else `default`; `None` without either.
    pub fn decay_of(&self, cell_type: &str) -> Option<f64> {
        self.decay_ms
            .get(cell_type)
            .or_else(|| self.decay_ms.get("default"))
            .copied()
    }
}

impl DataConfig {
    /// The options the loader needs.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            format: self.format,
            nwb: self.nwb.clone(),
            nan_policy: self.nan_policy,
            align_hz: self.align_hz,
        }
    }
}

/// `data.path`: one file, or several planes imaged at the same time (YAML string or list).
#[derive(Debug, Clone, PartialEq)]
pub struct DataPaths(pub Vec<PathBuf>);

impl DataPaths {
    /// The files, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.0
    }
    /// The first file (the only one for a single recording).
    pub fn first(&self) -> &Path {
        &self.0[0]
    }
    /// The files for messages, comma-separated.
    pub fn display(&self) -> String {
        self.0
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl From<PathBuf> for DataPaths {
    fn from(p: PathBuf) -> Self {
        DataPaths(vec![p])
    }
}

impl Serialize for DataPaths {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.0.len() == 1 {
            self.0[0].serialize(s)
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for DataPaths {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        use serde_yaml::Value;
        let what = |v: &Value| match v {
            Value::Null => "nothing",
            Value::Bool(_) => "a true/false value",
            Value::Number(_) => "a number",
            Value::String(_) => "a path",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping (key: value)",
            Value::Tagged(_) => "a tagged value",
        };
        let expected =
            "data.path must be a file path, or a list of file paths (the planes imaged together)";
        match Value::deserialize(d)? {
            Value::String(p) => Ok(DataPaths(vec![PathBuf::from(p)])),
            Value::Sequence(items) if items.is_empty() => Err(D::Error::custom(
                "data.path is an empty list: give one file, or a list of planes",
            )),
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(k, v)| match v {
                    Value::String(p) => Ok(PathBuf::from(p)),
                    other => Err(D::Error::custom(format!(
                        "{expected}; entry {k} of the list is {}",
                        what(other)
                    ))),
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(DataPaths),
            other => Err(D::Error::custom(format!(
                "{expected}, not {}",
                what(&other)
            ))),
        }
    }
}

fn default_baseline_percentile() -> f64 {
    8.0
}

/// Per-neuron normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Use the traces as recorded.
    None,
    /// Subtract each neuron's mean and divide by its standard deviation (training frames only).
    #[default]
    Zscore,
    /// Subtract each neuron's `baseline_percentile` percentile (training frames only).
    Baseline,
}

/// Training windows cut from the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsConfig {
    /// Window length in seconds (truncated BPTT length).
    #[serde(default = "default_window_s")]
    pub length_s: f64,
    /// Step between window starts in seconds; defaults to the length (no overlap).
    #[serde(default)]
    pub stride_s: Option<f64>,
    /// Train on a block bootstrap of the training windows: as many windows, drawn with
    /// replacement with this seed (ensembles use it; unset = every window once).
    #[serde(default)]
    pub bootstrap: Option<u64>,
}

fn default_window_s() -> f64 {
    10.0
}

impl Default for WindowsConfig {
    fn default() -> Self {
        Self {
            length_s: default_window_s(),
            stride_s: None,
            bootstrap: None,
        }
    }
}

/// How data are split between training and validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// `time`: contiguous held-out blocks; `trials`: whole held-out trials.
    #[serde(default)]
    pub by: SplitBy,
    /// Fraction of the data held out for validation.
    #[serde(default = "default_val_fraction")]
    pub validation_fraction: f64,
    /// Number of contiguous validation blocks (`by: time`), spread evenly over the session.
    #[serde(default = "one")]
    pub blocks: usize,
    /// Which cross-validation fold is held out, 0 ≤ fold < round(1 / validation_fraction): fold 0
    /// holds out the end of each block (or every k-th trial from the last), fold k the part k
    /// places earlier. Ensembles fit every fold.
    #[serde(default)]
    pub fold: usize,
}

fn default_val_fraction() -> f64 {
    0.2
}
fn one() -> usize {
    1
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            by: SplitBy::Time,
            validation_fraction: default_val_fraction(),
            blocks: 1,
            fold: 0,
        }
    }
}

impl SplitConfig {
    /// The number of cross-validation folds, `round(1 / validation_fraction)` (1 without
    /// validation).
    pub fn folds(&self) -> usize {
        if self.validation_fraction > 0.0 {
            (1.0 / self.validation_fraction).round().max(1.0) as usize
        } else {
            1
        }
    }
}

/// Split unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// Contiguous blocks of frames.
    #[default]
    Time,
    /// Whole trials from `/trials`.
    Trials,
}

impl DataConfig {
    /// Value checks that serde cannot express; `file` is the config, named in errors.
    pub(super) fn validate(&self, file: &Path) -> Result<()> {
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(file, key, problem, fix));
        if !(0.0..=100.0).contains(&self.baseline_percentile) {
            return bad(
                "data.baseline_percentile",
                format!("{} is not a percentile", self.baseline_percentile),
                "use a value between 0 and 100 (e.g. 8)",
            );
        }
        if let Some(r) = self.resample_hz {
            if !(r.is_finite() && r > 0.0) {
                return bad(
                    "data.resample_hz",
                    format!("{r} Hz is not a rate"),
                    "use a positive rate in Hz, or remove the key",
                );
            }
        }
        if !(self.windows.length_s.is_finite() && self.windows.length_s > 0.0) {
            return bad(
                "data.windows.length_s",
                format!("{} s is not a window length", self.windows.length_s),
                "use a positive number of seconds",
            );
        }
        if let Some(s) = self.windows.stride_s {
            if !(s.is_finite() && s > 0.0) {
                return bad(
                    "data.windows.stride_s",
                    format!("{s} s is not a stride"),
                    "use a positive number of seconds",
                );
            }
        }
        if let Some(d) = &self.deconvolve {
            d.validate(file)?;
        }
        let vf = self.split.validation_fraction;
        if !(vf.is_finite() && (0.0..1.0).contains(&vf)) {
            return bad(
                "data.split.validation_fraction",
                format!("{vf} is not a fraction in [0, 1)"),
                "use e.g. 0.2 to hold out a fifth of the data",
            );
        }
        if self.split.blocks == 0 {
            return bad("data.split.blocks", "0 blocks".into(), "use at least 1");
        }
        let folds = self.split.folds();
        if self.split.fold >= folds {
            return bad(
                "data.split.fold",
                format!(
                    "fold {} of {folds} (validation_fraction {} makes {folds} folds)",
                    self.split.fold, self.split.validation_fraction
                ),
                "use a fold from 0 to the number of folds − 1",
            );
        }
        Ok(())
    }
}
