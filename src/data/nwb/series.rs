//! Finding the `RoiResponseSeries` of an NWB file by `neurodata_type`, and reading one: its traces
//! `[n_frames, n_rois]`, its clock, and the rows of the `PlaneSegmentation` it covers.

use super::options::NwbTraces;
use crate::data::h5util::{self, join, read_f32_2d, read_f64_1d};
use crate::error::{Error, Result};
use hdf5::{Group, Location};
use ndarray::Array2;
use std::path::Path;

/// Which container a series sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Inside a `DfOverF` container.
    Dff,
    /// Inside a `Fluorescence` container.
    Fluorescence,
    /// Allen's `OphysEventDetection` (a `RoiResponseSeries` subtype).
    Events,
}

impl Container {
    /// True when this container holds the traces `want` asks for.
    pub fn matches(self, want: NwbTraces) -> bool {
        matches!(
            (self, want),
            (Container::Dff, NwbTraces::Dff)
                | (Container::Fluorescence, NwbTraces::Fluorescence)
                | (Container::Events, NwbTraces::Events)
        )
    }
    /// The NWB type name, for messages.
    pub fn type_name(self) -> &'static str {
        match self {
            Container::Dff => "DfOverF",
            Container::Fluorescence => "Fluorescence",
            Container::Events => "OphysEventDetection",
        }
    }
}

/// A `RoiResponseSeries` found in the file.
#[derive(Debug, Clone)]
pub struct SeriesRef {
    /// HDF5 path of the series group, e.g. `/processing/ophys/dff/traces`.
    pub path: String,
    /// The series' name (last path component).
    pub name: String,
    /// Its container.
    pub container: Container,
}

/// The `neurodata_type` attribute of an object, if any.
pub fn neurodata_type(file: &Path, loc: &Location) -> Result<Option<String>> {
    h5util::string_attr(file, loc, "neurodata_type")
}

fn subgroups(g: &Group) -> Vec<(String, Group)> {
    let mut names = g.member_names().unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter_map(|n| g.group(&n).ok().map(|sub| (n, sub)))
        .collect()
}

/// A series: a group with `data` (its `rois`, which every `RoiResponseSeries` must have, is
/// checked when it is read, so a series without one is named rather than passed over).
fn is_series(g: &Group) -> bool {
    g.link_exists("data")
}

/// Every `RoiResponseSeries` under `/processing/*/`: inside `DfOverF` and `Fluorescence`
/// containers, and Allen's `OphysEventDetection` directly in a module. Sorted by path.
pub fn find_series(file: &Path, root: &Group) -> Result<Vec<SeriesRef>> {
    let mut out = Vec::new();
    let Ok(processing) = root.group("processing") else {
        return Ok(out);
    };
    for (_, module) in subgroups(&processing) {
        for (cname, child) in subgroups(&module) {
            let ty = neurodata_type(file, &child)?.unwrap_or_default();
            let container = match ty.as_str() {
                "DfOverF" => Some(Container::Dff),
                "Fluorescence" => Some(Container::Fluorescence),
                _ => None,
            };
            if let Some(container) = container {
                for (sname, series) in subgroups(&child) {
                    if is_series(&series) {
                        out.push(SeriesRef {
                            path: series.name(),
                            name: sname,
                            container,
                        });
                    }
                }
            } else if is_series(&child)
                && (ty == "OphysEventDetection" || (ty.is_empty() && cname == "event_detection"))
            {
                out.push(SeriesRef {
                    path: child.name(),
                    name: cname,
                    container: Container::Events,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// One series read from the file, before its metadata is resolved.
#[derive(Debug, Clone)]
pub struct SeriesData {
    /// Where it was found.
    pub series: SeriesRef,
    /// Traces `[n_frames, n_rois]`, after NWB's `conversion` and `offset`.
    pub traces: Array2<f32>,
    /// Frame times in seconds, `[n_frames]`, strictly increasing.
    pub timestamps_s: Vec<f64>,
    /// Frame rate in Hz: `1 / median(diff(timestamps))`, or the `starting_time` rate.
    pub frame_rate_hz: f64,
    /// Row of the segmentation table for each column of `traces`.
    pub roi_rows: Vec<usize>,
    /// The `PlaneSegmentation` group the `rois` region points into.
    pub table: Group,
}

/// Read the series at `s`: data, clock and ROI rows, with every check the contract reader makes.
pub fn read_series(file: &Path, root: &Group, s: &SeriesRef) -> Result<SeriesData> {
    let g = root
        .group(&s.path)
        .map_err(|e| Error::hdf5(file, &s.path, e))?;
    let data_ds = g
        .dataset("data")
        .map_err(|e| Error::hdf5(file, join(&g, "data"), e))?;
    let mut traces = if data_ds.ndim() == 1 {
        let v = read_f64_1d(file, &data_ds, "[n_frames]")?;
        Array2::from_shape_fn((v.len(), 1), |(t, _)| v[t] as f32)
    } else {
        read_f32_2d(
            file,
            &data_ds,
            "[n_frames, n_rois] (NWB stores time on axis 0)",
        )?
    };
    let conversion = h5util::f64_attr(file, &data_ds, "conversion")?.unwrap_or(1.0);
    let offset = h5util::f64_attr(file, &data_ds, "offset")?.unwrap_or(0.0);
    if conversion != 1.0 || offset != 0.0 {
        traces.mapv_inplace(|v| (v as f64 * conversion + offset) as f32);
    }
    let (n_frames, n_rois) = traces.dim();
    if n_frames < 2 || n_rois == 0 {
        return Err(Error::data(
            file,
            data_ds.name(),
            format!("expected at least 2 frames and 1 ROI, found shape [{n_frames}, {n_rois}]"),
            "check that the series holds traces stored time × ROIs",
        ));
    }
    let (timestamps_s, frame_rate_hz) = read_clock(file, &g, n_frames)?;
    let (roi_rows, table) = read_rois(file, root, &g, n_rois)?;
    Ok(SeriesData {
        series: s.clone(),
        traces,
        timestamps_s,
        frame_rate_hz,
        roi_rows,
        table,
    })
}

/// The series' clock: `timestamps`, or `starting_time` with its `rate` attribute.
fn read_clock(file: &Path, g: &Group, n_frames: usize) -> Result<(Vec<f64>, f64)> {
    if g.link_exists("timestamps") {
        let ds = g
            .dataset("timestamps")
            .map_err(|e| Error::hdf5(file, join(g, "timestamps"), e))?;
        let t = read_f64_1d(file, &ds, "[n_frames]")?;
        let loc = ds.name();
        if t.len() != n_frames {
            return Err(Error::data(
                file,
                loc,
                format!(
                    "has {} timestamps but `data` has {n_frames} frames",
                    t.len()
                ),
                "write one timestamp per frame (axis 0 of data)",
            ));
        }
        if let Some(k) = t.iter().position(|v| !v.is_finite()) {
            return Err(Error::data(
                file,
                loc,
                format!("timestamp {k} is {}", t[k]),
                "every frame needs a finite time in seconds",
            ));
        }
        if let Some(k) = (1..t.len()).find(|&k| t[k] <= t[k - 1]) {
            return Err(Error::data(
                file,
                loc,
                format!(
                    "timestamps must strictly increase, but frame {k} is at {:.6} s after frame {} at {:.6} s",
                    t[k],
                    k - 1,
                    t[k - 1]
                ),
                "fix the frame times (a repeated or reordered frame), or rewrite them from the acquisition clock",
            ));
        }
        let mut d: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        d.sort_by(f64::total_cmp);
        let rate = 1.0 / d[d.len() / 2];
        return Ok((t, rate));
    }
    if g.link_exists("starting_time") {
        let ds = g
            .dataset("starting_time")
            .map_err(|e| Error::hdf5(file, join(g, "starting_time"), e))?;
        let t0 = h5util::scalar_f64(file, g, "starting_time")?.unwrap_or(0.0);
        let rate = h5util::f64_attr(file, &ds, "rate")?.ok_or_else(|| {
            Error::data(
                file,
                ds.name(),
                "has no `rate` attribute",
                "NWB requires `rate` (Hz) on starting_time; or store timestamps",
            )
        })?;
        if !(rate.is_finite() && rate > 0.0 && t0.is_finite()) {
            return Err(Error::data(
                file,
                ds.name(),
                format!("starting_time {t0} s at rate {rate} Hz is not a valid clock"),
                "store a positive rate in Hz",
            ));
        }
        let t = (0..n_frames).map(|k| t0 + k as f64 / rate).collect();
        return Ok((t, rate));
    }
    Err(Error::data(
        file,
        g.name(),
        "has neither `timestamps` nor `starting_time`",
        "NWB series need one of them (pynwb: timestamps=... or starting_time=..., rate=...)",
    ))
}

/// The `rois` region: row indices into the `PlaneSegmentation` its `table` attribute references.
fn read_rois(file: &Path, root: &Group, g: &Group, n_rois: usize) -> Result<(Vec<usize>, Group)> {
    let ds = h5util::dataset(
        file,
        g,
        "rois",
        "every RoiResponseSeries names the PlaneSegmentation rows its columns are (pynwb: RoiResponseSeries(..., rois=plane_segmentation.create_roi_table_region(...)))",
    )?;
    let loc = ds.name();
    let rows = h5util::read_i64_1d(file, &ds)?.ok_or_else(|| {
        Error::data(
            file,
            &loc,
            "expected integer row indices into a PlaneSegmentation",
            "write rois as a DynamicTableRegion (pynwb: plane_segmentation.create_roi_table_region)",
        )
    })?;
    if rows.len() != n_rois {
        return Err(Error::data(
            file,
            &loc,
            format!("lists {} ROIs but `data` has {n_rois} columns", rows.len()),
            "the ROI region must name one segmentation row per column of data",
        ));
    }
    let table = plane_segmentation(file, root, &ds)?;
    let n_rows = table
        .dataset("id")
        .map_err(|e| Error::hdf5(file, join(&table, "id"), e))?
        .size();
    let mut out = Vec::with_capacity(rows.len());
    for (i, &r) in rows.iter().enumerate() {
        if r < 0 || r as usize >= n_rows {
            return Err(Error::data(
                file,
                &loc,
                format!(
                    "entry {i} is row {r}, but the segmentation table {} has {n_rows} rows",
                    table.name()
                ),
                "rois must hold row indices (0-based) into the referenced PlaneSegmentation",
            ));
        }
        out.push(r as usize);
    }
    Ok((out, table))
}

/// The group the `table` object reference of `rois` points to.
fn plane_segmentation(file: &Path, root: &Group, rois: &hdf5::Dataset) -> Result<Group> {
    let loc = format!("{} attribute table", rois.name());
    let attr = rois.attr("table").map_err(|_| {
        Error::data(
            file,
            &loc,
            "is missing: the ROI region does not say which PlaneSegmentation it indexes",
            "write rois with pynwb's create_roi_table_region, which sets it",
        )
    })?;
    let r: hdf5::ObjectReference1 = attr.read_scalar().map_err(|e| Error::hdf5(file, &loc, e))?;
    match root.dereference(&r) {
        Ok(hdf5::ReferencedObject::Group(g)) => Ok(g),
        Ok(_) => Err(Error::data(
            file,
            &loc,
            "points to a dataset, not a PlaneSegmentation group",
            "the reference must point to the segmentation table",
        )),
        Err(e) => Err(Error::hdf5(file, &loc, e)),
    }
}
