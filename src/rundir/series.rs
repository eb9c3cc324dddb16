//! The run's time series in HDF5: `predictions.h5` (the free-running model and the data on the
//! validation frames) and `currents.h5` (CURBD current time courses), each written atomically.

use crate::error::{Error, Result};
use hdf5::types::VarLenUnicode;
use ndarray::{Array2, Array3};
use std::path::Path;

/// `predictions.h5`: the free-running model and the recorded data on the validation frames,
/// `[frames, traces]` in normalised units, with each row's frame, time and each column's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Model output `[frames, traces]`.
    pub model: Array2<f32>,
    /// Recorded data `[frames, traces]`.
    pub data: Array2<f32>,
    /// Frame index of each row (windows are concatenated, so frames may jump).
    pub frame: Vec<u64>,
    /// Time of each row, s.
    pub time_s: Vec<f64>,
    /// Neuron id (or population label) of each column.
    pub neuron_id: Vec<String>,
}

/// Text as HDF5 variable-length UTF-8 (labels never hold NUL: it ends C strings).
fn unicode(values: &[String]) -> Vec<VarLenUnicode> {
    values
        .iter()
        .map(|s| {
            s.replace('\0', "")
                .parse()
                .expect("text without NUL is valid HDF5 text")
        })
        .collect()
}

impl Predictions {
    /// Write to `path`, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let h = |e: hdf5::Error| Error::hdf5(path, "/", e);
        crate::atomic::write_with(path, |tmp| {
            let f = hdf5::File::create(tmp).map_err(h)?;
            f.new_dataset_builder()
                .with_data(&self.model)
                .create("model")
                .map_err(h)?;
            f.new_dataset_builder()
                .with_data(&self.data)
                .create("data")
                .map_err(h)?;
            f.new_dataset_builder()
                .with_data(&self.frame)
                .create("frame")
                .map_err(h)?;
            f.new_dataset_builder()
                .with_data(&self.time_s)
                .create("time_s")
                .map_err(h)?;
            f.new_dataset_builder()
                .with_data(&unicode(&self.neuron_id))
                .create("neuron_id")
                .map_err(h)?;
            Ok(())
        })
    }

    /// Read `path`, checking that the shapes agree.
    pub fn read(path: &Path) -> Result<Predictions> {
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
            || frame.iter().any(|&f| f < 0)
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
            frame: frame.into_iter().map(|f| f as u64).collect(),
            time_s,
            neuron_id,
        })
    }
}

/// The current time courses of one level: `I_{i←S}(t)` averaged over each target block's units.
#[derive(Debug, Clone)]
pub struct LevelCourses {
    /// `population`, `area_layer` or `area`.
    pub level: String,
    /// `[time, target, source]`.
    pub current: Array3<f32>,
    /// Target block labels.
    pub targets: Vec<String>,
    /// Source labels (`block (E)` / `block (I)`).
    pub sources: Vec<String>,
    /// The block of each source.
    pub source_block: Vec<String>,
    /// `E` or `I` for each source.
    pub source_sign: Vec<String>,
}

/// `currents.h5`: the current time courses of one split's free-running simulation.
#[derive(Debug, Clone)]
pub struct CurrentCourses {
    /// The split simulated (`validation`, or `train` when nothing is held out).
    pub split: String,
    /// The frame whose rates drive each time step, `[time]`.
    pub frame: Vec<u64>,
    /// The window of each time step, `[time]`.
    pub window: Vec<u32>,
    /// One entry per level.
    pub levels: Vec<LevelCourses>,
}

impl CurrentCourses {
    /// Write to `path`, atomically: `/{level}/current [time, target, source]` with
    /// `/{level}/targets`, `/sources`, `/source_block`, `/source_sign`, and `/frame`, `/window`
    /// `[time]`; the split in the root attribute `split`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let h = |e: hdf5::Error| Error::hdf5(path, "/", e);
        crate::atomic::write_with(path, |tmp| {
            let file = hdf5::File::create(tmp).map_err(h)?;
            let split: VarLenUnicode = unicode(std::slice::from_ref(&self.split))
                .pop()
                .expect("one value");
            file.new_attr::<VarLenUnicode>()
                .create("split")
                .and_then(|a| a.write_scalar(&split))
                .map_err(h)?;
            file.new_dataset_builder()
                .with_data(&self.frame)
                .create("frame")
                .map_err(h)?;
            file.new_dataset_builder()
                .with_data(&self.window)
                .create("window")
                .map_err(h)?;
            for l in &self.levels {
                let g = file.create_group(&l.level).map_err(h)?;
                g.new_dataset_builder()
                    .with_data(&l.current)
                    .create("current")
                    .map_err(h)?;
                for (name, values) in [
                    ("targets", &l.targets),
                    ("sources", &l.sources),
                    ("source_block", &l.source_block),
                    ("source_sign", &l.source_sign),
                ] {
                    g.new_dataset_builder()
                        .with_data(&unicode(values))
                        .create(name)
                        .map_err(h)?;
                }
            }
            Ok(())
        })
    }
}
