//! Recordings: calcium traces with per-neuron area, layer and cell type.
//!
//! Data are time × neurons (`[n_frames, n_neurons]`), times in seconds, rates in Hz. The on-disk
//! format is the `fitrnn-recording/1` HDF5 contract documented in `data/README.md`
//! ([`contract`] reads and writes it); [`celltypes`] maps cell types to excitatory / inhibitory.

pub mod celltypes;
pub mod contract;
pub(crate) mod h5util;
pub mod interp;
pub mod load;
pub mod nwb;
pub mod select;
pub mod session;
pub mod summary;

use ndarray::Array2;
use std::path::PathBuf;

pub use celltypes::{Sign, SignMap};
pub use contract::{read_recording, write_recording, NanPolicy, ReadOptions, SCHEMA};

/// sha256 of a file, hex: the provenance of a recording, recorded in run manifests and dataset
/// sidecars.
pub fn sha256_file(path: &std::path::Path) -> crate::error::Result<String> {
    use sha2::{Digest, Sha256};
    crate::error::require_regular_file(path, "a data file")?;
    let read_err = |e| crate::error::Error::io(path, "reading for its checksum", e);
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(read_err)?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// One recording session held in memory.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The file it was read from (or will be written to).
    pub path: PathBuf,
    /// Calcium traces, `[n_frames, n_neurons]` (dF/F, events, ... as `kind` says).
    pub traces: Array2<f32>,
    /// What the traces are: `dff`, `events`, ...
    pub kind: String,
    /// Frame times in seconds, `[n_frames]`, strictly increasing.
    pub timestamps_s: Vec<f64>,
    /// Frame rate in Hz (from the timestamps' median interval when they are present).
    pub frame_rate_hz: f64,
    /// Per-neuron metadata, `[n_neurons]` rows.
    pub neurons: NeuronTable,
    /// Measured covariates (stimulus, running, ...), if any.
    pub inputs: Option<Inputs>,
    /// Trial table, if any.
    pub trials: Option<Trials>,
    /// The simulator's known answer, if the file was simulated.
    pub ground_truth: Option<GroundTruth>,
    /// Frames removed on reading (NaN policy `drop_frames`), as indices into the file's frames.
    pub dropped_frames: Vec<usize>,
    /// What the reader did that a user should know (ROIs left out, clocks aligned, trials
    /// outside the imaging), printed in summaries.
    pub notes: Vec<String>,
}

impl Recording {
    /// The pauses in the frame clock: `(frame, seconds)` for every frame that follows the one
    /// before it by more than 1.5 frame periods (joined sessions, frames dropped for NaN).
    /// Training and validation windows never cross one.
    pub fn gaps(&self) -> Vec<(usize, f64)> {
        let limit = 1.5 / self.frame_rate_hz;
        let t = &self.timestamps_s;
        (1..t.len())
            .filter(|&f| t[f] - t[f - 1] > limit)
            .map(|f| (f, t[f] - t[f - 1]))
            .collect()
    }

    /// The stretches of frames between pauses in the frame clock ([`Recording::gaps`]), in order:
    /// `start..end` frame ranges that cover every frame once.
    pub fn stretches(&self) -> Vec<std::ops::Range<usize>> {
        let mut bounds: Vec<usize> = vec![0];
        bounds.extend(self.gaps().iter().map(|g| g.0));
        bounds.push(self.n_frames());
        bounds.windows(2).map(|b| b[0]..b[1]).collect()
    }

    /// Number of frames (rows of `traces`).
    pub fn n_frames(&self) -> usize {
        self.traces.nrows()
    }
    /// Number of neurons (columns of `traces`).
    pub fn n_neurons(&self) -> usize {
        self.traces.ncols()
    }
    /// Recording duration in seconds (last − first timestamp plus one frame).
    pub fn duration_s(&self) -> f64 {
        match (self.timestamps_s.first(), self.timestamps_s.last()) {
            (Some(a), Some(b)) => b - a + 1.0 / self.frame_rate_hz,
            _ => 0.0,
        }
    }
}

/// Neuron identifiers as stored in the file: integers or strings.
#[derive(Debug, Clone, PartialEq)]
pub enum NeuronIds {
    /// Integer ids (e.g. Allen cell specimen ids).
    Int(Vec<i64>),
    /// String ids (e.g. `roi_001`).
    Text(Vec<String>),
}

impl NeuronIds {
    /// Number of ids.
    pub fn len(&self) -> usize {
        match self {
            NeuronIds::Int(v) => v.len(),
            NeuronIds::Text(v) => v.len(),
        }
    }
    /// True when there are no ids.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Id `i` as text.
    pub fn label(&self, i: usize) -> String {
        match self {
            NeuronIds::Int(v) => v[i].to_string(),
            NeuronIds::Text(v) => v[i].clone(),
        }
    }
    /// Keep only the ids at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> NeuronIds {
        match self {
            NeuronIds::Int(v) => NeuronIds::Int(idx.iter().map(|&i| v[i]).collect()),
            NeuronIds::Text(v) => NeuronIds::Text(idx.iter().map(|&i| v[i].clone()).collect()),
        }
    }
}

/// Per-neuron metadata; every column has `n_neurons` rows, in the order of the traces' columns.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronTable {
    /// Neuron ids.
    pub id: NeuronIds,
    /// Brain area, e.g. `VISp`.
    pub area: Vec<String>,
    /// Cortical layer, e.g. `L2/3`.
    pub layer: Vec<String>,
    /// Cell type, e.g. `Slc17a7`, `Sst`, `Vip`, `Pvalb`, `unknown`.
    pub cell_type: Vec<String>,
    /// Imaging depth in µm, if known.
    pub depth_um: Option<Vec<f64>>,
}

impl NeuronTable {
    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.area.len()
    }
    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.area.is_empty()
    }
    /// Population label of neuron `i`: `area/layer/cell_type`, e.g. `VISp/L2/3/Sst`.
    pub fn population(&self, i: usize) -> String {
        population_label(&self.area[i], &self.layer[i], &self.cell_type[i])
    }
    /// Keep only the rows at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> NeuronTable {
        let pick = |v: &Vec<String>| idx.iter().map(|&i| v[i].clone()).collect();
        NeuronTable {
            id: self.id.select(idx),
            area: pick(&self.area),
            layer: pick(&self.layer),
            cell_type: pick(&self.cell_type),
            depth_um: self
                .depth_um
                .as_ref()
                .map(|d| idx.iter().map(|&i| d[i]).collect()),
        }
    }
}

/// The population label `area/layer/cell_type` used in tables and configs (e.g. `VISp/L2/3/Sst`).
pub fn population_label(area: &str, layer: &str, cell_type: &str) -> String {
    format!("{area}/{layer}/{cell_type}")
}

/// Measured covariates aligned with the frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// Input names, `[n_inputs]` (e.g. `image_flash`, `running_speed`).
    pub names: Vec<String>,
    /// Values, `[n_frames, n_inputs]`, in the input's own units.
    pub values: Array2<f32>,
}

/// Trial table: one row per trial, times in seconds on the recording's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Trials {
    /// Trial start times in seconds.
    pub start_s: Vec<f64>,
    /// Trial stop times in seconds.
    pub stop_s: Vec<f64>,
    /// Condition label per trial (e.g. `change`, `omission`).
    pub condition: Vec<String>,
}

/// The known answer written by `fitrnn simulate`: the full simulated network, including units that
/// were not recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// Recurrent weights `W[post, pre]`, `[n_sim, n_sim]`; column j carries unit j's sign.
    pub w_rec: Array2<f32>,
    /// Input weights `[n_sim, n_inputs]` over the recording's `/inputs` channels.
    pub w_in: Array2<f32>,
    /// Membrane / rate time constant per simulated unit, in ms.
    pub tau_ms: Vec<f32>,
    /// Area of each simulated unit.
    pub area: Vec<String>,
    /// Layer of each simulated unit.
    pub layer: Vec<String>,
    /// Cell type of each simulated unit.
    pub cell_type: Vec<String>,
    /// Column of `/traces` that records each simulated unit, or −1 when it is unobserved.
    pub recorded_index: Vec<i64>,
    /// Spectral radius of `w_rec` (largest |eigenvalue|).
    pub spectral_radius: f64,
    /// The true rate of every simulated unit averaged within each frame, `[n_frames, n_sim]`,
    /// when the simulator saved it (`observation.save_rates`): what true currents are computed
    /// from.
    pub rates: Option<Array2<f32>>,
}
