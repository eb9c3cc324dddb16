//! Reading 2-photon recordings straight from NWB 2.x files (pynwb, AllenSDK Visual Behavior
//! Ophys, Visual Coding 2P in NWB 2), with the HDF5 library alone.
//!
//! Containers are found by `neurodata_type`, not by name ([`series`]); each `RoiResponseSeries`
//! (one per imaging plane) becomes one [`Recording`] whose neurons carry area, layer and cell
//! type resolved by [`metadata`]; trials and measured inputs come from `/intervals` and the
//! behaviour modules ([`intervals`]). Planes of one file, or of several files recorded together,
//! are put on one clock by [`crate::data::session`]. The layouts and their sources are described in
//! `data/README.md`.

pub mod intervals;
pub mod labels;
pub mod metadata;
pub mod options;
pub mod series;

pub use metadata::{FileInfo, PlaneInfo};
pub use options::{NwbColumns, NwbOptions, NwbTraces, NwbTrials};

use crate::data::contract::{apply_nan_policy, open_hdf5};
use crate::data::{NanPolicy, Recording};
use crate::error::{Error, Result};
use ndarray::Axis;
use series::SeriesRef;
use std::path::Path;

/// One imaging plane read from an NWB file.
#[derive(Debug, Clone)]
pub struct NwbPlane {
    /// The plane's traces and metadata.
    pub recording: Recording,
    /// The series it was read from.
    pub series: SeriesRef,
    /// The imaging plane's metadata.
    pub plane: PlaneInfo,
    /// ROIs in the series before invalid ones were left out.
    pub n_rois_in_file: usize,
    /// HDF5 path of the `PlaneSegmentation` its ROIs are rows of.
    pub segmentation: String,
    /// The rows of that table its columns are (every ROI of the series, before any is left out).
    pub roi_rows: Vec<usize>,
}

/// What an NWB file holds.
#[derive(Debug, Clone)]
pub struct NwbFile {
    /// File-level metadata.
    pub info: FileInfo,
    /// The planes read, in path order.
    pub planes: Vec<NwbPlane>,
    /// Every series in the file (the ones read and the others), for summaries.
    pub all_series: Vec<SeriesRef>,
}

/// True when the open file is NWB 2.x (root attribute `nwb_version` or type `NWBFile`).
pub fn is_nwb(root: &hdf5::Group) -> bool {
    let names = root.attr_names().unwrap_or_default();
    names.iter().any(|n| n == "nwb_version")
        || crate::data::h5util::string_attr(Path::new(""), root, "neurodata_type")
            .ok()
            .flatten()
            .is_some_and(|t| t == "NWBFile")
}

/// True when the file at `path` is an NWB 2.x file (errors opening it are left to the reader).
pub fn path_is_nwb(path: &Path) -> bool {
    open_hdf5(path).is_ok_and(|f| is_nwb(&f))
}

/// Read every plane of the kind `opts.traces` asks for from the NWB file at `path`.
pub fn read_nwb(path: &Path, opts: &NwbOptions, nan_policy: NanPolicy) -> Result<NwbFile> {
    let file = open_hdf5(path)?;
    let root: &hdf5::Group = &file;
    if !is_nwb(root) {
        return Err(Error::data(
            path,
            "/",
            "is not an NWB file (no root attribute nwb_version)",
            "give an NWB 2.x file written by pynwb or AllenSDK, or set data.format: contract for a fitrnn-recording/1 file",
        ));
    }
    let info = metadata::file_info(path, root)?;
    let all_series = series::find_series(path, root)?;
    let chosen: Vec<&SeriesRef> = all_series
        .iter()
        .filter(|s| s.container.matches(opts.traces))
        .filter(|s| opts.series.is_empty() || opts.series.contains(&s.name))
        .collect();
    if chosen.is_empty() {
        let found = if all_series.is_empty() {
            "no RoiResponseSeries at all".to_string()
        } else {
            all_series
                .iter()
                .map(|s| format!("{} ({})", s.path, s.container.type_name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let wanted = match opts.traces {
            NwbTraces::Dff => "DfOverF",
            NwbTraces::Events => "OphysEventDetection",
            NwbTraces::Fluorescence => "Fluorescence",
        };
        let series_note = if opts.series.is_empty() {
            String::new()
        } else {
            format!(" named {}", opts.series.join(", "))
        };
        return Err(Error::data(
            path,
            "/processing",
            format!("no {wanted} series{series_note} under /processing/*/ (found: {found})"),
            "choose the traces with data.nwb.traces (dff, events, fluorescence) and data.nwb.series",
        ));
    }
    let (chosen, skipped) = leave_out_background(chosen, opts);
    let labels = opts
        .roi_labels
        .as_deref()
        .map(labels::RoiLabels::read)
        .transpose()?;
    let mut planes = Vec::new();
    for s in chosen {
        planes.push(read_plane(
            path,
            root,
            s,
            opts,
            labels.as_ref(),
            &info,
            nan_policy,
        )?);
    }
    refuse_shared_rois(path, &planes)?;
    if let Some(first) = planes.first_mut() {
        first.recording.notes.extend(skipped);
    }
    Ok(NwbFile {
        info,
        planes,
        all_series,
    })
}

/// Words in a series name that mark traces other than the cells' own signal: Suite2p's neuropil
/// and deconvolved activity, which converters such as neuroconv store beside the cells'
/// fluorescence, over the same ROIs.
const BACKGROUND: [(&str, &str); 3] = [
    ("neuropil", "the neuropil around each ROI, not its cell"),
    ("deconvolved", "deconvolved activity, not fluorescence"),
    ("spks", "deconvolved activity, not fluorescence"),
];

/// What a series' name says it holds when it is not the cells' signal.
fn background(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    BACKGROUND
        .iter()
        .find(|(word, _)| lower.contains(word))
        .map(|(_, what)| *what)
}

/// Leave out the neuropil and deconvolved series the user did not name (when others remain),
/// with a note for each.
fn leave_out_background<'a>(
    chosen: Vec<&'a SeriesRef>,
    opts: &NwbOptions,
) -> (Vec<&'a SeriesRef>, Vec<String>) {
    if !opts.series.is_empty() || chosen.iter().all(|s| background(&s.name).is_some()) {
        return (chosen, Vec::new());
    }
    let mut notes = Vec::new();
    let kept = chosen
        .into_iter()
        .filter(|s| match background(&s.name) {
            Some(what) => {
                notes.push(format!(
                    "{}: left out, it holds {what} (name it in data.nwb.series to read it instead)",
                    s.path
                ));
                false
            }
            None => true,
        })
        .collect();
    (kept, notes)
}

/// Two series that hold traces of the same ROIs are two measures of one plane, not two planes:
/// reading both would count every neuron twice.
fn refuse_shared_rois(path: &Path, planes: &[NwbPlane]) -> Result<()> {
    for (k, a) in planes.iter().enumerate() {
        for b in &planes[k + 1..] {
            let shared = a.segmentation == b.segmentation
                && a.roi_rows.iter().any(|r| b.roi_rows.contains(r));
            if shared {
                let suggest = [a, b]
                    .into_iter()
                    .find(|p| background(&p.series.name).is_none())
                    .unwrap_or(a);
                return Err(Error::data(
                    path,
                    &a.segmentation,
                    format!(
                        "{} and {} both hold traces of ROIs of this plane segmentation: they are two measures of the same neurons, not two imaging planes",
                        a.series.path, b.series.path
                    ),
                    format!(
                        "name the one to fit, e.g. data.nwb.series: [{}]",
                        suggest.series.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn read_plane(
    path: &Path,
    root: &hdf5::Group,
    s: &SeriesRef,
    opts: &NwbOptions,
    labels: Option<&labels::RoiLabels>,
    info: &FileInfo,
    nan_policy: NanPolicy,
) -> Result<NwbPlane> {
    let sd = series::read_series(path, root, s)?;
    let plane = metadata::plane_info(path, &sd.table, info)?;
    let (neurons, keep, mut notes) = metadata::neuron_table(path, &sd, opts, labels, info, &plane)?;
    let n_rois_in_file = sd.roi_rows.len();
    let (segmentation, roi_rows) = (sd.table.name(), sd.roi_rows.clone());
    let mut traces = sd.traces.select(Axis(1), &keep);
    let mut timestamps_s = sd.timestamps_s;
    let rate = sd.frame_rate_hz;
    if let Some(stored) = plane.imaging_rate_hz {
        if (stored - rate).abs() > 0.01 * rate {
            notes.push(format!(
                "{}: frame rate {rate:.3} Hz from the timestamps (the imaging plane stores {stored} Hz)",
                s.path
            ));
        }
    }
    let stim = intervals::read_stimulus(path, root, &timestamps_s, rate, opts)?;
    notes.extend(stim.notes);
    let mut inputs = stim.inputs;
    let dropped_frames = apply_nan_policy(
        path,
        &format!("{}/data", s.path),
        nan_policy,
        &mut traces,
        &mut timestamps_s,
        inputs.as_mut(),
        &neurons,
    )?;
    Ok(NwbPlane {
        recording: Recording {
            path: path.to_path_buf(),
            traces,
            kind: opts.traces.kind().into(),
            timestamps_s,
            frame_rate_hz: rate,
            neurons,
            inputs,
            trials: stim.trials,
            ground_truth: None,
            dropped_frames,
            notes,
        },
        series: s.clone(),
        plane,
        n_rois_in_file,
        segmentation,
        roi_rows,
    })
}
