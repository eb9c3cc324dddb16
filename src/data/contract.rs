//! The `fitrnn-recording/1` HDF5 contract: reading with full validation, and writing.
//!
//! Layout (all documented with a runnable h5py example in `data/README.md`):
//! `/traces [n_frames, n_neurons]` (attr `kind`), `/timestamps [n_frames]` s or root attr
//! `frame_rate_hz`, `/neurons/{id,area,layer,cell_type[,depth_um]}`, optional
//! `/inputs/{values [n_frames, n_inputs], names}`, `/trials/{start_time,stop_time,condition}`,
//! `/ground_truth/...` and root attr `schema = "fitrnn-recording/1"`.

use super::h5util::{self, dataset, join, read_f32_2d, read_f64_1d, read_strings};
use super::{GroundTruth, Inputs, NeuronIds, NeuronTable, Recording, Trials};
use crate::error::{Error, Result};
use hdf5::types::VarLenUnicode;
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The schema string this version reads and writes.
pub const SCHEMA: &str = "fitrnn-recording/1";
const SCHEMA_PREFIX: &str = "fitrnn-recording/";
const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// What to do with frames that contain NaN or ±Inf in `/traces` or `/inputs/values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NanPolicy {
    /// Stop with an error naming the first bad frame and neuron (default).
    #[default]
    Error,
    /// Remove every frame that has a non-finite value; the summary says how many.
    DropFrames,
}

/// Options for [`read_recording`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Policy for non-finite values.
    pub nan_policy: NanPolicy,
}

/// Read and validate a contract file. Every violation is an [`Error::Data`] naming the file, the
/// dataset, what was expected, what was found and the fix.
pub fn read_recording(path: &Path, opts: &ReadOptions) -> Result<Recording> {
    let file = open_hdf5(path)?;
    let root: &hdf5::Group = &file;
    check_schema(path, &file)?;

    let traces_ds = dataset(
        path,
        root,
        "traces",
        "write the calcium traces as /traces with shape [n_frames, n_neurons] (data/README.md)",
    )?;
    let mut traces = read_f32_2d(path, &traces_ds, "[n_frames, n_neurons]")?;
    let (n_frames, n_neurons) = traces.dim();
    if n_frames < 2 || n_neurons == 0 {
        return Err(Error::data(
            path,
            "/traces",
            format!(
                "expected at least 2 frames and 1 neuron, found shape [{n_frames}, {n_neurons}]"
            ),
            "check that /traces is stored time × neurons",
        ));
    }
    let kind = h5util::string_attr(path, &traces_ds, "kind")?.unwrap_or_else(|| "dff".into());
    refuse_transposed(path, root, n_frames, n_neurons)?;

    let (mut timestamps_s, frame_rate_hz) = read_time(path, root, n_frames)?;
    let neurons = read_neurons(path, root, n_neurons)?;
    let mut inputs = read_inputs(path, root, n_frames)?;
    let trials = read_trials(path, root, &timestamps_s, frame_rate_hz)?;
    let ground_truth = read_ground_truth(path, root, n_neurons)?;

    let dropped_frames = apply_nan_policy(
        path,
        "/traces",
        opts.nan_policy,
        &mut traces,
        &mut timestamps_s,
        inputs.as_mut(),
        &neurons,
    )?;

    Ok(Recording {
        path: path.to_path_buf(),
        traces,
        kind,
        timestamps_s,
        frame_rate_hz,
        neurons,
        inputs,
        trials,
        ground_truth,
        dropped_frames,
        notes: vec![],
    })
}

/// Open an HDF5 file, with distinct messages for a missing file and for a file that is not HDF5.
pub(crate) fn open_hdf5(path: &Path) -> Result<hdf5::File> {
    crate::error::require_regular_file(path, "the recording")?;
    let mut head = [0u8; 8];
    match std::fs::File::open(path) {
        Err(e) => {
            return Err(Error::io(path, "opening the recording", e));
        }
        Ok(mut f) => {
            use std::io::Read;
            let n = f.read(&mut head).unwrap_or(0);
            // HDF5 files may carry a user block (512, 1024, ... bytes) before the signature;
            // let the library decide in that case and only short-cut the obvious non-HDF5 file.
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if (n < 8 || &head != HDF5_MAGIC) && len < 512 {
                return Err(Error::data(
                    path,
                    "/",
                    "not an HDF5 file (no HDF5 signature)",
                    "give a .h5 file in the fitrnn-recording/1 layout (data/README.md)",
                ));
            }
        }
    }
    // Another program holding the file open for writing (an h5py session, a writer still at work,
    // or a child process that inherited its handle) locks it for a moment or for good: wait a
    // little, then say so.
    let mut waited = 0;
    loop {
        match hdf5::File::open(path) {
            Ok(f) => return Ok(f),
            Err(e) if e.to_string().contains("unable to lock file") && waited < LOCK_WAIT_TRIES => {
                waited += 1;
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            Err(e) if e.to_string().contains("unable to lock file") => {
                return Err(Error::data(
                    path,
                    "/",
                    "is locked by another program that has it open for writing (an h5py or HDFView session, or a writer that has not finished); waited 3 s",
                    "close the file in the other program (or let its writer finish) and run again",
                ))
            }
            Err(e) => {
                return Err(Error::data(
                    path,
                    "/",
                    format!("cannot be opened as HDF5 ({e})"),
                    "check that the file is a complete, uncorrupted HDF5 file",
                ))
            }
        }
    }
}

/// Tries, 250 ms apart, to open a file another program has locked before giving up (3 s).
const LOCK_WAIT_TRIES: usize = 12;

fn check_schema(path: &Path, file: &hdf5::File) -> Result<()> {
    match h5util::string_attr(path, file, "schema")? {
        Some(s) if s == SCHEMA => Ok(()),
        Some(s) if s.starts_with(SCHEMA_PREFIX) => Err(Error::data(
            path,
            "/ attribute schema",
            format!("unknown schema version '{s}'; this fitrnn reads '{SCHEMA}'"),
            "write the file following data/README.md, or use the fitrnn version that wrote it",
        )),
        Some(s) => Err(Error::data(
            path,
            "/ attribute schema",
            format!("expected '{SCHEMA}', found '{s}'"),
            format!(
                "set f.attrs['schema'] = '{SCHEMA}' after writing the layout in data/README.md"
            ),
        )),
        None => {
            let nwb = h5util::string_attr(path, file, "nwb_version")?.is_some();
            let fix = if nwb {
                "this is an NWB file: read it with data.format: nwb (or auto), or fitrnn check --data FILE"
                    .to_string()
            } else {
                format!(
                    "set f.attrs['schema'] = '{SCHEMA}' after writing the layout in data/README.md (NWB files are recognised by their root attribute nwb_version)"
                )
            };
            Err(Error::data(
                path,
                "/ attribute schema",
                format!("missing; expected '{SCHEMA}'"),
                fix,
            ))
        }
    }
}

/// The length of the 1-D dataset at `name` under `root`, when there is one.
fn length_of(root: &hdf5::Group, name: &str) -> Option<usize> {
    root.dataset(name)
        .ok()
        .map(|d| d.shape())
        .filter(|s| s.len() == 1)
        .map(|s| s[0])
}

/// Refuse `/traces` stored neurons × time, recognised by `/neurons` having as many rows as
/// `/traces` has rows (or `/timestamps` as many entries as it has columns) but not as many as the
/// other way round.
fn refuse_transposed(path: &Path, root: &hdf5::Group, rows: usize, cols: usize) -> Result<()> {
    if rows == cols {
        return Ok(());
    }
    let neurons = length_of(root, "neurons/id");
    let times = length_of(root, "timestamps");
    let by_neurons = neurons == Some(rows);
    let by_times = times == Some(cols);
    if !(by_neurons || by_times) || neurons == Some(cols) || times == Some(rows) {
        return Ok(());
    }
    let evidence = match (by_neurons, by_times) {
        (true, true) => format!("/neurons/id has {rows} rows and /timestamps {cols} entries"),
        (true, false) => format!("/neurons/id has {rows} rows"),
        _ => format!("/timestamps has {cols} entries"),
    };
    Err(Error::data(
        path,
        "/traces",
        format!("has shape [{rows}, {cols}] and looks transposed: {evidence}"),
        "store /traces as time × neurons, shape [n_frames, n_neurons] (in numpy: traces.T)",
    ))
}

fn read_time(path: &Path, root: &hdf5::Group, n_frames: usize) -> Result<(Vec<f64>, f64)> {
    let attr_rate = h5util::f64_attr(path, root, "frame_rate_hz")?;
    if root.link_exists("timestamps") {
        let ds = dataset(path, root, "timestamps", "")?;
        let t = read_f64_1d(path, &ds, "[n_frames]")?;
        if t.len() != n_frames {
            return Err(Error::data(
                path,
                "/timestamps",
                format!(
                    "has {} entries but /traces has {n_frames} frames (rows); they must match",
                    t.len()
                ),
                "write one timestamp in seconds per frame",
            ));
        }
        if let Some(i) = t.iter().position(|v| !v.is_finite()) {
            return Err(Error::data(
                path,
                "/timestamps",
                format!("frame {i} has a non-finite time ({})", t[i]),
                "write finite times in seconds",
            ));
        }
        if let Some(i) = (1..t.len()).find(|&i| t[i] <= t[i - 1]) {
            return Err(Error::data(
                path,
                "/timestamps",
                format!(
                    "times must strictly increase, but frame {i} (t = {} s) is not after frame {} (t = {} s)",
                    t[i],
                    i - 1,
                    t[i - 1]
                ),
                "sort the frames by time and remove duplicated frames",
            ));
        }
        let mut d: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        d.sort_by(|a, b| a.total_cmp(b));
        let rate = 1.0 / d[d.len() / 2];
        check_rate(path, "/timestamps", rate, "write /timestamps in seconds")?;
        Ok((t, rate))
    } else if let Some(rate) = attr_rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(Error::data(
                path,
                "/ attribute frame_rate_hz",
                format!("expected a positive frame rate in Hz, found {rate}"),
                "set f.attrs['frame_rate_hz'] to the imaging rate, e.g. 30.0",
            ));
        }
        check_rate(
            path,
            "/ attribute frame_rate_hz",
            rate,
            "set f.attrs['frame_rate_hz'] to the imaging rate in Hz, e.g. 30.0",
        )?;
        Ok(((0..n_frames).map(|i| i as f64 / rate).collect(), rate))
    } else {
        Err(Error::data(
            path,
            "/timestamps",
            "no frame times: neither /timestamps nor the root attribute frame_rate_hz is present",
            "write /timestamps (float64 seconds, one per frame) or f.attrs['frame_rate_hz']",
        ))
    }
}

/// Frame rates fitrnn accepts, Hz: wide enough for any imaging or binned data, narrow enough to
/// catch times written in the wrong unit.
const FRAME_RATE_HZ: (f64, f64) = (1e-3, 1e5);

/// Refuse a frame rate outside [`FRAME_RATE_HZ`] (`at` says where it came from).
fn check_rate(path: &Path, at: &str, rate: f64, fix: &str) -> Result<()> {
    if (FRAME_RATE_HZ.0..=FRAME_RATE_HZ.1).contains(&rate) {
        return Ok(());
    }
    Err(Error::data(
        path,
        at,
        format!(
            "the frame rate is {rate:e} Hz, outside the {:e}–{:e} Hz any recording has (times in the wrong unit?)",
            FRAME_RATE_HZ.0, FRAME_RATE_HZ.1
        ),
        fix,
    ))
}

/// Refuse a neuron id that appears twice, naming both columns.
fn check_unique_ids(path: &Path, id: &NeuronIds) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for i in 0..id.len() {
        if let Some(first) = seen.insert(id.label(i), i) {
            return Err(Error::data(
                path,
                "/neurons/id",
                format!(
                    "neuron id {} appears twice, for columns {first} and {i} of /traces",
                    id.label(i)
                ),
                "give every neuron its own id (e.g. its ROI index, or plane and ROI for several planes)",
            ));
        }
    }
    Ok(())
}

fn read_neurons(path: &Path, root: &hdf5::Group, n_neurons: usize) -> Result<NeuronTable> {
    if !root.link_exists("neurons") {
        return Err(Error::data(
            path,
            "/neurons",
            "required group is missing",
            "write /neurons/id, /neurons/area, /neurons/layer and /neurons/cell_type, one row per column of /traces",
        ));
    }
    let g = root
        .group("neurons")
        .map_err(|e| Error::hdf5(path, "/neurons", e))?;
    let check_len = |name: &str, len: usize| -> Result<()> {
        if len != n_neurons {
            return Err(Error::data(
                path,
                format!("/neurons/{name}"),
                format!(
                    "has {len} rows but /traces has {n_neurons} columns (neurons); they must match"
                ),
                "write one row per neuron, in the order of the columns of /traces",
            ));
        }
        Ok(())
    };
    let fix = |n: &str| format!("write /neurons/{n} with one entry per neuron (data/README.md)");
    let id_ds = dataset(path, &g, "id", &fix("id"))?;
    let id = match h5util::read_i64_1d(path, &id_ds)? {
        Some(v) => NeuronIds::Int(v),
        None => NeuronIds::Text(read_strings(path, &id_ds, "[n_neurons]")?),
    };
    check_len("id", id.len())?;
    check_unique_ids(path, &id)?;
    let mut cols = Vec::new();
    for name in ["area", "layer", "cell_type"] {
        let ds = dataset(path, &g, name, &fix(name))?;
        let v = read_strings(path, &ds, "[n_neurons]")?;
        check_len(name, v.len())?;
        if let Some(i) = v.iter().position(|s| s.is_empty()) {
            return Err(Error::data(
                path,
                format!("/neurons/{name}"),
                format!("neuron {} has an empty {name}", id.label(i)),
                format!(
                    "write a label for every neuron (use 'unknown' when the {name} is not known)"
                ),
            ));
        }
        cols.push(v);
    }
    let depth_um = if g.link_exists("depth_um") {
        let ds = dataset(path, &g, "depth_um", "")?;
        let d = read_f64_1d(path, &ds, "[n_neurons]")?;
        check_len("depth_um", d.len())?;
        Some(d)
    } else {
        None
    };
    let cell_type = cols.pop().unwrap_or_default();
    let layer = cols.pop().unwrap_or_default();
    let area = cols.pop().unwrap_or_default();
    Ok(NeuronTable {
        id,
        area,
        layer,
        cell_type,
        depth_um,
    })
}

fn read_inputs(path: &Path, root: &hdf5::Group, n_frames: usize) -> Result<Option<Inputs>> {
    if !root.link_exists("inputs") {
        return Ok(None);
    }
    let g = root
        .group("inputs")
        .map_err(|e| Error::hdf5(path, "/inputs", e))?;
    let vds = dataset(
        path,
        &g,
        "values",
        "write /inputs/values [n_frames, n_inputs] and /inputs/names [n_inputs], or remove /inputs",
    )?;
    let values = read_f32_2d(path, &vds, "[n_frames, n_inputs]")?;
    if values.nrows() != n_frames {
        return Err(Error::data(
            path,
            "/inputs/values",
            format!(
                "has {} rows (frames) but /traces has {n_frames}; they must match",
                values.nrows()
            ),
            "sample every input at the imaging frames, one row per frame",
        ));
    }
    let nds = dataset(
        path,
        &g,
        "names",
        "write /inputs/names, one name per column of /inputs/values",
    )?;
    let names = read_strings(path, &nds, "[n_inputs]")?;
    if names.len() != values.ncols() {
        return Err(Error::data(
            path,
            "/inputs/names",
            format!(
                "has {} names but /inputs/values has {} columns; they must match",
                names.len(),
                values.ncols()
            ),
            "write one name per input column",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(d) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(Error::data(
            path,
            "/inputs/names",
            format!("the name '{d}' appears twice"),
            "give every input a distinct name",
        ));
    }
    Ok(Some(Inputs { names, values }))
}

fn read_trials(path: &Path, root: &hdf5::Group, t: &[f64], rate: f64) -> Result<Option<Trials>> {
    if !root.link_exists("trials") {
        return Ok(None);
    }
    let g = root
        .group("trials")
        .map_err(|e| Error::hdf5(path, "/trials", e))?;
    let fix = "write /trials/start_time, /trials/stop_time (seconds) and /trials/condition, one row per trial";
    let start_s = read_f64_1d(path, &dataset(path, &g, "start_time", fix)?, "[n_trials]")?;
    let stop_s = read_f64_1d(path, &dataset(path, &g, "stop_time", fix)?, "[n_trials]")?;
    let condition = if g.link_exists("condition") {
        read_strings(path, &dataset(path, &g, "condition", fix)?, "[n_trials]")?
    } else {
        vec!["all".to_string(); start_s.len()]
    };
    for (name, len) in [("stop_time", stop_s.len()), ("condition", condition.len())] {
        if len != start_s.len() {
            return Err(Error::data(
                path,
                join(&g, name),
                format!(
                    "has {len} rows but /trials/start_time has {}; they must match",
                    start_s.len()
                ),
                fix,
            ));
        }
    }
    let (lo, hi) = (t[0] - 0.5 / rate, t[t.len() - 1] + 1.0 / rate + 1e-9);
    for i in 0..start_s.len() {
        let (a, b) = (start_s[i], stop_s[i]);
        if !(a.is_finite() && b.is_finite()) || b <= a {
            return Err(Error::data(
                path,
                "/trials/stop_time",
                format!("trial {i} stops at {b} s, not after its start at {a} s"),
                "each trial's stop_time must be later than its start_time",
            ));
        }
        if a < lo || b > hi {
            return Err(Error::data(
                path,
                "/trials",
                format!(
                    "trial {i} runs from {a:.3} s to {b:.3} s, outside the recording ({:.3} s to {:.3} s)",
                    t[0],
                    t[t.len() - 1] + 1.0 / rate
                ),
                "trial times must use the same clock as /timestamps (or frame / frame_rate_hz)",
            ));
        }
    }
    Ok(Some(Trials {
        start_s,
        stop_s,
        condition,
    }))
}

fn read_ground_truth(
    path: &Path,
    root: &hdf5::Group,
    n_neurons: usize,
) -> Result<Option<GroundTruth>> {
    if !root.link_exists("ground_truth") {
        return Ok(None);
    }
    let g = root
        .group("ground_truth")
        .map_err(|e| Error::hdf5(path, "/ground_truth", e))?;
    let fix =
        "ground truth is written by `fitrnn simulate`; remove /ground_truth from hand-made files";
    let w_rec = read_f32_2d(path, &dataset(path, &g, "w_rec", fix)?, "[n_sim, n_sim]")?;
    let n_sim = w_rec.nrows();
    if w_rec.ncols() != n_sim {
        return Err(Error::data(
            path,
            "/ground_truth/w_rec",
            format!("must be square [post, pre], found {:?}", w_rec.dim()),
            fix,
        ));
    }
    let w_in = read_f32_2d(path, &dataset(path, &g, "w_in", fix)?, "[n_sim, n_inputs]")?;
    let tau_ms: Vec<f32> = read_f64_1d(path, &dataset(path, &g, "tau_ms", fix)?, "[n_sim]")?
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let strs = |n: &str| read_strings(path, &dataset(path, &g, n, fix)?, "[n_sim]");
    let (area, layer, cell_type) = (strs("area")?, strs("layer")?, strs("cell_type")?);
    let ri_ds = dataset(path, &g, "recorded_index", fix)?;
    let recorded_index = h5util::read_i64_1d(path, &ri_ds)?.ok_or_else(|| {
        Error::data(
            path,
            "/ground_truth/recorded_index",
            "expected integers",
            fix,
        )
    })?;
    for (name, len) in [
        ("w_in", w_in.nrows()),
        ("tau_ms", tau_ms.len()),
        ("area", area.len()),
        ("layer", layer.len()),
        ("cell_type", cell_type.len()),
        ("recorded_index", recorded_index.len()),
    ] {
        if len != n_sim {
            return Err(Error::data(
                path,
                format!("/ground_truth/{name}"),
                format!("has {len} rows but w_rec has {n_sim} units"),
                fix,
            ));
        }
    }
    if let Some(&bad) = recorded_index
        .iter()
        .find(|&&r| r < -1 || r >= n_neurons as i64)
    {
        return Err(Error::data(
            path,
            "/ground_truth/recorded_index",
            format!("entry {bad} is not −1 (unobserved) or a column of /traces (0..{n_neurons})"),
            fix,
        ));
    }
    let spectral_radius = h5util::f64_attr(path, &g, "spectral_radius")?.unwrap_or(f64::NAN);
    let rates = if g.link_exists("rates") {
        let r = read_f32_2d(path, &dataset(path, &g, "rates", fix)?, "[n_frames, n_sim]")?;
        if r.ncols() != n_sim {
            return Err(Error::data(
                path,
                "/ground_truth/rates",
                format!("has {} columns but w_rec has {n_sim} units", r.ncols()),
                fix,
            ));
        }
        Some(r)
    } else {
        None
    };
    Ok(Some(GroundTruth {
        w_rec,
        w_in,
        tau_ms,
        area,
        layer,
        cell_type,
        recorded_index,
        spectral_radius,
        rates,
    }))
}

/// (frame, column, is_input) for every non-finite value, in frame order.
/// Apply the NaN policy to traces (at `traces_loc` in `path`) and inputs: an error naming the
/// first bad frame, or the frames removed (indices into the file's frames).
pub(crate) fn apply_nan_policy(
    path: &Path,
    traces_loc: &str,
    policy: NanPolicy,
    traces: &mut Array2<f32>,
    timestamps_s: &mut Vec<f64>,
    inputs: Option<&mut Inputs>,
    neurons: &NeuronTable,
) -> Result<Vec<usize>> {
    let bad = non_finite_frames(traces, inputs.as_deref());
    let n_frames = traces.nrows();
    let mut dropped_frames = Vec::new();
    if let Some(&(frame, col, in_inputs)) = bad.first() {
        match policy {
            NanPolicy::Error => {
                let (loc, what) = if in_inputs {
                    ("/inputs/values", format!("input {col}"))
                } else {
                    (
                        traces_loc,
                        format!("neuron {} (column {col})", neurons.id.label(col)),
                    )
                };
                let n_bad = bad
                    .iter()
                    .map(|b| b.0)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                return Err(Error::data(
                    path,
                    loc,
                    format!(
                        "{n_bad} frame(s) contain NaN or Inf; the first is frame {frame} (t = {:.3} s), {what}",
                        timestamps_s[frame]
                    ),
                    "clean the traces, or set data.nan_policy: drop_frames to remove those frames",
                ));
            }
            NanPolicy::DropFrames => {
                let drop: std::collections::BTreeSet<usize> = bad.iter().map(|b| b.0).collect();
                let keep: Vec<usize> = (0..n_frames).filter(|f| !drop.contains(f)).collect();
                if keep.len() < 2 {
                    return Err(Error::data(
                        path,
                        traces_loc,
                        format!("{} of {n_frames} frames contain NaN or Inf; fewer than 2 frames remain", drop.len()),
                        "check the traces: nearly every frame has a missing value",
                    ));
                }
                *traces = traces.select(Axis(0), &keep);
                *timestamps_s = keep.iter().map(|&f| timestamps_s[f]).collect();
                if let Some(inp) = inputs {
                    inp.values = inp.values.select(Axis(0), &keep);
                }
                dropped_frames = drop.into_iter().collect();
            }
        }
    }

    Ok(dropped_frames)
}

fn non_finite_frames(traces: &Array2<f32>, inputs: Option<&Inputs>) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    for (f, row) in traces.outer_iter().enumerate() {
        if let Some(c) = row.iter().position(|v| !v.is_finite()) {
            out.push((f, c, false));
        } else if let Some(inp) = inputs {
            if let Some(c) = inp.values.row(f).iter().position(|v| !v.is_finite()) {
                out.push((f, c, true));
            }
        }
    }
    out
}

/// Write `rec` as a `fitrnn-recording/1` file at `path`, atomically: the file appears under its
/// name only once it is complete. Traces are chunked and gzip-compressed; strings are UTF-8.
pub fn write_recording(rec: &Recording, path: &Path) -> Result<()> {
    crate::atomic::write_with(path, |tmp| write_to(rec, tmp))
}

fn write_to(rec: &Recording, path: &Path) -> Result<()> {
    let h = |loc: &str| {
        let loc = loc.to_string();
        move |e: hdf5::Error| Error::hdf5(path, loc.clone(), e)
    };
    // No object modification times, so the same recording always gives the same bytes.
    let f = hdf5::File::with_options()
        .with_fcpl(|p| p.obj_track_times(false))
        .create(path)
        .map_err(h("/"))?;
    put_str_attr(&f, "schema", SCHEMA).map_err(h("/"))?;
    f.new_attr::<f64>()
        .create("frame_rate_hz")
        .and_then(|a| a.write_scalar(&rec.frame_rate_hz))
        .map_err(h("/"))?;

    let (nf, nn) = rec.traces.dim();
    let ds = f
        .new_dataset_builder()
        .chunk((nf.min(1024), nn.max(1)))
        .shuffle()
        .deflate(4)
        .with_data(&rec.traces.as_standard_layout())
        .create("traces")
        .map_err(h("/traces"))?;
    put_str_attr(&ds, "kind", &rec.kind).map_err(h("/traces"))?;
    f.new_dataset_builder()
        .with_data(&rec.timestamps_s)
        .create("timestamps")
        .map_err(h("/timestamps"))?;

    let g = new_group(&f, "neurons").map_err(h("/neurons"))?;
    match &rec.neurons.id {
        NeuronIds::Int(v) => g
            .new_dataset_builder()
            .with_data(v)
            .create("id")
            .map(|_| ()),
        NeuronIds::Text(v) => put_strings(&g, "id", v),
    }
    .map_err(h("/neurons/id"))?;
    put_strings(&g, "area", &rec.neurons.area).map_err(h("/neurons/area"))?;
    put_strings(&g, "layer", &rec.neurons.layer).map_err(h("/neurons/layer"))?;
    put_strings(&g, "cell_type", &rec.neurons.cell_type).map_err(h("/neurons/cell_type"))?;
    if let Some(d) = &rec.neurons.depth_um {
        g.new_dataset_builder()
            .with_data(d)
            .create("depth_um")
            .map_err(h("/neurons/depth_um"))?;
    }

    if let Some(inp) = &rec.inputs {
        let g = new_group(&f, "inputs").map_err(h("/inputs"))?;
        g.new_dataset_builder()
            .chunk((nf.min(1024), inp.values.ncols().max(1)))
            .deflate(4)
            .with_data(&inp.values.as_standard_layout())
            .create("values")
            .map_err(h("/inputs/values"))?;
        put_strings(&g, "names", &inp.names).map_err(h("/inputs/names"))?;
    }
    if let Some(tr) = &rec.trials {
        let g = new_group(&f, "trials").map_err(h("/trials"))?;
        g.new_dataset_builder()
            .with_data(&tr.start_s)
            .create("start_time")
            .map_err(h("/trials/start_time"))?;
        g.new_dataset_builder()
            .with_data(&tr.stop_s)
            .create("stop_time")
            .map_err(h("/trials/stop_time"))?;
        put_strings(&g, "condition", &tr.condition).map_err(h("/trials/condition"))?;
    }
    if let Some(gt) = &rec.ground_truth {
        let g = new_group(&f, "ground_truth").map_err(h("/ground_truth"))?;
        let n = gt.w_rec.nrows();
        g.new_dataset_builder()
            .chunk((n.clamp(1, 256), n.clamp(1, 256)))
            .deflate(4)
            .with_data(&gt.w_rec.as_standard_layout())
            .create("w_rec")
            .map_err(h("/ground_truth/w_rec"))?;
        put_str_attr(&g, "w_rec_layout", "[post, pre]").map_err(h("/ground_truth"))?;
        g.new_dataset_builder()
            .with_data(&gt.w_in.as_standard_layout())
            .create("w_in")
            .map_err(h("/ground_truth/w_in"))?;
        let tau: Vec<f64> = gt.tau_ms.iter().map(|&v| v as f64).collect();
        g.new_dataset_builder()
            .with_data(&tau)
            .create("tau_ms")
            .map_err(h("/ground_truth/tau_ms"))?;
        put_strings(&g, "area", &gt.area).map_err(h("/ground_truth/area"))?;
        put_strings(&g, "layer", &gt.layer).map_err(h("/ground_truth/layer"))?;
        put_strings(&g, "cell_type", &gt.cell_type).map_err(h("/ground_truth/cell_type"))?;
        g.new_dataset_builder()
            .with_data(&gt.recorded_index)
            .create("recorded_index")
            .map_err(h("/ground_truth/recorded_index"))?;
        g.new_attr::<f64>()
            .create("spectral_radius")
            .and_then(|a| a.write_scalar(&gt.spectral_radius))
            .map_err(h("/ground_truth"))?;
        if let Some(r) = &gt.rates {
            let (frames, n) = r.dim();
            g.new_dataset_builder()
                .chunk((frames.clamp(1, 1024), n.clamp(1, 256)))
                .deflate(4)
                .with_data(&r.as_standard_layout())
                .create("rates")
                .map_err(h("/ground_truth/rates"))?;
        }
    }
    f.flush().map_err(h("/"))?;
    Ok(())
}

fn new_group(f: &hdf5::File, name: &str) -> hdf5::Result<hdf5::Group> {
    f.create_group_builder().obj_track_times(false).create(name)
}

fn vlen(s: &str) -> VarLenUnicode {
    // VarLenUnicode::from_str only fails on interior NUL bytes, which labels never contain.
    s.replace('\0', "").parse().expect("NUL bytes removed")
}

fn put_strings(g: &hdf5::Group, name: &str, v: &[String]) -> hdf5::Result<()> {
    let data: Vec<VarLenUnicode> = v.iter().map(|s| vlen(s)).collect();
    g.new_dataset_builder()
        .with_data(&data)
        .create(name)
        .map(|_| ())
}

fn put_str_attr(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&vlen(value))
}
