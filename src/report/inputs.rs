//! The run directory as the report reads it: manifest, tidy tables, predictions and weights. A
//! missing or unreadable input is a [`Need`] error (a sentence saying what is missing), so that the
//! figure or section that needs it is skipped with a note instead of failing the report.

use crate::error::{Error, Result};
use ndarray::Array2;
use polars::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// An input that may be missing: `Err` holds the reason, shown in the report.
pub type Need<T> = std::result::Result<T, String>;

/// The tables the report reads (`tables/<name>.parquet`).
pub const TABLES: [&str; 9] = [
    "history",
    "metrics",
    "units",
    "interactions",
    "currents",
    "perturbations",
    "spectrum",
    "diagnostics",
    "split",
];

/// One tidy table, with column accessors whose errors name the table and column.
pub struct Table {
    name: String,
    df: DataFrame,
}

impl Table {
    /// Wrap `df`, read from `tables/<name>.parquet`.
    pub fn new(name: &str, df: DataFrame) -> Table {
        Table {
            name: name.to_string(),
            df,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.df.height()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.df.height() == 0
    }

    fn column(&self, col: &str) -> Need<&Column> {
        self.df
            .column(col)
            .map_err(|_| format!("tables/{}.parquet has no column `{col}`", self.name))
    }

    /// A string column (null → `None`).
    pub fn strs(&self, col: &str) -> Need<Vec<Option<&str>>> {
        let c = self.column(col)?;
        let ca = c
            .str()
            .map_err(|_| format!("tables/{}.parquet: column `{col}` is not text", self.name))?;
        Ok(ca.iter().collect())
    }

    /// A string column with nulls as empty strings.
    pub fn texts(&self, col: &str) -> Need<Vec<&str>> {
        Ok(self
            .strs(col)?
            .into_iter()
            .map(|s| s.unwrap_or(""))
            .collect())
    }

    /// A numeric column as f64 (null → NaN).
    pub fn f64s(&self, col: &str) -> Need<Vec<f64>> {
        let c = self.column(col)?;
        let cast = c.cast(&DataType::Float64).map_err(|_| {
            format!(
                "tables/{}.parquet: column `{col}` is not numeric",
                self.name
            )
        })?;
        let ca = cast.f64().map_err(|_| {
            format!(
                "tables/{}.parquet: column `{col}` is not numeric",
                self.name
            )
        })?;
        Ok(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }
}

/// The predictions of the free-running model on the validation frames (`predictions.h5`).
pub struct Predictions {
    /// Model output `[frames, neurons]`, normalised units.
    pub model: Array2<f32>,
    /// Recorded data `[frames, neurons]`, normalised units.
    pub data: Array2<f32>,
    /// Frame index of each row (windows are concatenated, so frames may jump).
    pub frame: Vec<i64>,
    /// Time of each row in seconds.
    pub time_s: Vec<f64>,
    /// Neuron id of each column.
    pub neuron_id: Vec<String>,
}

/// Everything the report reads from a finished run directory.
pub struct RunFiles {
    /// The run directory.
    pub dir: PathBuf,
    /// `manifest.json`.
    pub manifest: Value,
    tables: HashMap<&'static str, Need<Table>>,
}

impl RunFiles {
    /// Read the manifest and tables of `dir`; refuses a run whose status is not `complete`.
    pub fn open(dir: &Path) -> Result<RunFiles> {
        let manifest = crate::rundir::read_complete_manifest(dir, "write a report for")?;
        let tables = TABLES
            .iter()
            .map(|&name| (name, read_table(dir, name)))
            .collect();
        Ok(RunFiles {
            dir: dir.to_path_buf(),
            manifest,
            tables,
        })
    }

    /// The table `tables/<name>.parquet`, or why it is unavailable.
    pub fn table(&self, name: &str) -> Need<&Table> {
        match self.tables.get(name) {
            Some(Ok(t)) => Ok(t),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("tables/{name}.parquet is not read by the report")),
        }
    }

    /// `predictions.h5`.
    pub fn predictions(&self) -> Need<Predictions> {
        let path = self.dir.join("predictions.h5");
        if !path.is_file() {
            return Err("predictions.h5 is missing".into());
        }
        read_predictions(&path).map_err(|e| e.to_string())
    }

    /// The final recurrent weights `W[post, pre]` from `model/final.safetensors`.
    pub fn final_weights(&self) -> Need<Array2<f32>> {
        let path = self.dir.join("model/final.safetensors");
        if !path.is_file() {
            return Err("model/final.safetensors is missing".into());
        }
        crate::rundir::weights::TensorFile::open(&path)
            .and_then(|t| t.array2("w_rec"))
            .map_err(|e| e.to_string())
    }
}

fn read_table(dir: &Path, name: &str) -> Need<Table> {
    let path = dir.join("tables").join(format!("{name}.parquet"));
    if !path.is_file() {
        return Err(format!("tables/{name}.parquet is missing"));
    }
    let df = crate::rundir::tables::read_parquet(&path)
        .map_err(|e| format!("tables/{name}.parquet could not be read: {e}"))?;
    Ok(Table::new(name, df))
}

fn read_predictions(path: &Path) -> Result<Predictions> {
    use crate::data::h5util::{dataset, read_f32_2d, read_f64_1d, read_i64_1d, read_strings};
    let file = hdf5::File::open(path).map_err(|e| Error::hdf5(path, "/", e))?;
    let fix = "write the run again with this version of fitrnn";
    let model = read_f32_2d(
        path,
        &dataset(path, &file, "model", fix)?,
        "[frames, neurons]",
    )?;
    let data = read_f32_2d(
        path,
        &dataset(path, &file, "data", fix)?,
        "[frames, neurons]",
    )?;
    let frame_ds = dataset(path, &file, "frame", fix)?;
    let frame = read_i64_1d(path, &frame_ds)?
        .ok_or_else(|| Error::data(path, "/frame", "expected integers", fix))?;
    let time_s = read_f64_1d(path, &dataset(path, &file, "time_s", fix)?, "[frames]")?;
    let neuron_id = read_strings(path, &dataset(path, &file, "neuron_id", fix)?, "[neurons]")?;
    let (frames, neurons) = model.dim();
    if data.dim() != model.dim()
        || frame.len() != frames
        || time_s.len() != frames
        || neuron_id.len() != neurons
    {
        return Err(Error::data(
            path,
            "/",
            format!(
                "inconsistent shapes: model {:?}, data {:?}, frame {}, time_s {}, neuron_id {}",
                model.dim(),
                data.dim(),
                frame.len(),
                time_s.len(),
                neuron_id.len()
            ),
            fix,
        ));
    }
    Ok(Predictions {
        model,
        data,
        frame,
        time_s,
        neuron_id,
    })
}
