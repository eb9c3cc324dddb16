//! Per-ROI metadata of an NWB plane: ids, area, depth, layer and cell type, from the
//! `PlaneSegmentation` columns, the `ImagingPlane`, Allen's `/general/metadata` and the subject's
//! genotype (Cre line).

use super::options::{layer_of_depth, NwbOptions};
use super::series::SeriesData;
use crate::data::h5util::{self, join};
use crate::data::{NeuronIds, NeuronTable};
use crate::error::{Error, Result};
use hdf5::Group;
use std::path::Path;

/// What the file says about the imaging plane of one series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaneInfo {
    /// HDF5 path of the `ImagingPlane`, when the segmentation links to one.
    pub path: Option<String>,
    /// `location` (the area, e.g. `VISp`).
    pub location: Option<String>,
    /// `indicator`, e.g. `GCaMP6f`.
    pub indicator: Option<String>,
    /// `imaging_rate` in Hz as stored (Allen rounds it to an integer).
    pub imaging_rate_hz: Option<f64>,
    /// `description` (Allen: "(512, 512) field of view in VISl at depth 175 um").
    pub description: Option<String>,
    /// Imaging depth in µm from Allen's metadata or the description.
    pub depth_um: Option<f64>,
}

/// File-level metadata: the subject's Cre line and Allen's experiment metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileInfo {
    /// `/general/subject/genotype`.
    pub genotype: Option<String>,
    /// The Cre line parsed from the genotype as AllenSDK does (`split(';')[0]`, `/wt` removed).
    pub cre_line: Option<String>,
    /// `/general/metadata` attribute `imaging_depth` (Allen), µm.
    pub allen_imaging_depth_um: Option<f64>,
    /// `/general/metadata` attribute `session_type`, else `/session_description`.
    pub session_type: Option<String>,
    /// `/identifier`.
    pub identifier: Option<String>,
    /// True when `/general/metadata` is Allen's `OphysBehaviorMetadata`.
    pub allen: bool,
}

/// Read the file-level metadata.
pub fn file_info(file: &Path, root: &Group) -> Result<FileInfo> {
    let mut info = FileInfo {
        identifier: h5util::scalar_string(file, root, "identifier")?,
        ..FileInfo::default()
    };
    if let Ok(subject) = root.group("general/subject") {
        info.genotype = h5util::scalar_string(file, &subject, "genotype")?;
        info.cre_line = info.genotype.as_deref().and_then(cre_line_of);
    }
    if let Ok(meta) = root.group("general/metadata") {
        let ty = h5util::string_attr(file, &meta, "neurodata_type")?.unwrap_or_default();
        info.allen = ty == "OphysBehaviorMetadata" || ty == "OphysEyeTrackingRigMetadata";
        info.allen_imaging_depth_um = number_attr(&meta, "imaging_depth");
        info.session_type = h5util::string_attr(file, &meta, "session_type").unwrap_or(None);
    }
    if info.session_type.is_none() {
        info.session_type = h5util::scalar_string(file, root, "session_description")?;
    }
    Ok(info)
}

/// Integer or float attribute as f64 (Allen writes `imaging_depth` as an int).
fn number_attr(loc: &hdf5::Location, name: &str) -> Option<f64> {
    let a = loc.attr(name).ok()?;
    a.read_scalar::<f64>()
        .ok()
        .or_else(|| a.read_scalar::<i64>().ok().map(|v| v as f64))
}

/// AllenSDK's `parse_cre_line`: the first `;`-separated part of the genotype without `/wt`
/// (`Sst-IRES-Cre/wt;Ai148(...)/wt` → `Sst-IRES-Cre`); `None` when it names no Cre driver.
pub fn cre_line_of(genotype: &str) -> Option<String> {
    let first = genotype.split(';').next()?.replace("/wt", "");
    let first = first.trim();
    (first.contains("Cre")).then(|| first.to_string())
}

/// The imaging depth in a plane description such as "... at depth 175 um" or "175 microns".
pub fn depth_from_text(text: &str) -> Option<f64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let unit = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if i > 0 && matches!(unit.as_str(), "um" | "µm" | "microns" | "micron" | "μm") {
            if let Ok(v) = words[i - 1].parse::<f64>() {
                return Some(v);
            }
        }
    }
    None
}

/// The `ImagingPlane` linked from the segmentation table.
pub fn plane_info(file: &Path, table: &Group, info: &FileInfo) -> Result<PlaneInfo> {
    let mut p = PlaneInfo::default();
    if let Ok(plane) = table.group("imaging_plane") {
        p.path = Some(plane.name());
        p.location = h5util::scalar_string(file, &plane, "location")?;
        p.indicator = h5util::scalar_string(file, &plane, "indicator")?;
        p.imaging_rate_hz = h5util::scalar_f64(file, &plane, "imaging_rate")?;
        p.description = h5util::scalar_string(file, &plane, "description")?;
    }
    p.depth_um = info
        .allen_imaging_depth_um
        .or_else(|| p.description.as_deref().and_then(depth_from_text));
    Ok(p)
}

/// A per-ROI column of the segmentation table, if present (a plain dataset with one value per row).
fn column(table: &Group, name: &str, n_rows: usize) -> Option<hdf5::Dataset> {
    if name.is_empty() || !table.link_exists(name) || table.link_exists(&format!("{name}_index")) {
        return None;
    }
    let ds = table.dataset(name).ok()?;
    (ds.ndim() == 1 && ds.size() == n_rows).then_some(ds)
}

/// The neuron table of one series, the columns of its traces to keep (Allen's invalid ROIs left
/// out) and notes for the summary.
pub fn neuron_table(
    file: &Path,
    sd: &SeriesData,
    opts: &NwbOptions,
    labels: Option<&super::labels::RoiLabels>,
    info: &FileInfo,
    plane: &PlaneInfo,
) -> Result<(NeuronTable, Vec<usize>, Vec<String>)> {
    let table = &sd.table;
    let tpath = table.name();
    let id_ds = table
        .dataset("id")
        .map_err(|e| Error::hdf5(file, join(table, "id"), e))?;
    let n_rows = id_ds.size();
    let all_ids = h5util::read_i64_1d(file, &id_ds)?.ok_or_else(|| {
        Error::data(
            file,
            id_ds.name(),
            "expected integer ROI ids",
            "the segmentation table's id column holds integers (pynwb writes them)",
        )
    })?;
    let mut notes = Vec::new();

    let mut keep: Vec<usize> = (0..sd.roi_rows.len()).collect();
    if opts.exclude_invalid_rois {
        // Allen's `valid_roi`, or Suite2p's cell classification as neuroconv writes it.
        let flag = [
            ("valid_roi", "marked invalid", "false"),
            ("iscell", "Suite2p classified as not cells", "0"),
        ]
        .into_iter()
        .find_map(|(name, why, value)| {
            column(table, name, n_rows).map(|ds| (ds, name, why, value))
        });
        if let Some((ds, name, why, value)) = flag {
            let valid = h5util::read_bool_1d(file, &ds)?;
            keep.retain(|&c| valid[sd.roi_rows[c]]);
            let left_out = sd.roi_rows.len() - keep.len();
            if left_out > 0 {
                notes.push(format!(
                    "{}: left out {left_out} of {} ROIs {why} ({tpath}/{name} = {value})",
                    sd.series.path,
                    sd.roi_rows.len()
                ));
            }
            if keep.is_empty() {
                return Err(Error::data(
                    file,
                    format!("{tpath}/{name}"),
                    format!("every ROI of this plane is {why}"),
                    "set data.nwb.exclude_invalid_rois: false to read them anyway",
                ));
            }
        }
    }
    let rows: Vec<usize> = keep.iter().map(|&c| sd.roi_rows[c]).collect();
    let n = rows.len();

    let strings = |name: &str| -> Result<Option<Vec<String>>> {
        match column(table, name, n_rows) {
            Some(ds) if h5util::is_string(&ds) => {
                let all = h5util::read_strings(file, &ds, "[n_rois]")?;
                Ok(Some(rows.iter().map(|&r| all[r].clone()).collect()))
            }
            Some(ds) => Err(Error::data(
                file,
                ds.name(),
                "expected strings",
                "store the column as strings, or name another column in data.nwb.columns",
            )),
            None => Ok(None),
        }
    };

    let mut area = match strings(&opts.columns.area)? {
        Some(a) => a,
        None => match plane.location.as_deref().filter(|s| !s.is_empty()) {
            Some(loc) => vec![loc.to_string(); n],
            None => {
                notes.push(format!(
                    "{}: no area column and no imaging plane location; area `unknown`",
                    sd.series.path
                ));
                vec!["unknown".into(); n]
            }
        },
    };

    let mut depth_um: Option<Vec<f64>> = match column(table, &opts.columns.depth_um, n_rows) {
        Some(ds) if h5util::is_number(&ds) => {
            let all = h5util::read_f64_1d(file, &ds, "[n_rois]")?;
            Some(rows.iter().map(|&r| all[r]).collect())
        }
        Some(ds) => {
            return Err(Error::data(
                file,
                ds.name(),
                "expected depths in µm (numbers)",
                "store depth as float64, or name another column in data.nwb.columns.depth_um",
            ))
        }
        None => plane.depth_um.map(|d| vec![d; n]),
    };

    let mut layer = match strings(&opts.columns.layer)? {
        Some(l) => l,
        None => match &depth_um {
            Some(d) => d
                .iter()
                .map(|&z| {
                    layer_of_depth(&opts.layers, z)
                        .map(str::to_string)
                        .ok_or_else(|| {
                            Error::data(
                                file,
                                format!("{tpath} (depth {z} µm)"),
                                format!("no row of data.nwb.layers covers a depth of {z} µm"),
                                "leave below_um out of the deepest layer in data.nwb.layers",
                            )
                        })
                })
                .collect::<Result<Vec<_>>>()?,
            None => {
                notes.push(format!(
                    "{}: no depth (no `{}` column, no Allen imaging_depth, none in the plane description); layer `unknown`",
                    sd.series.path, opts.columns.depth_um
                ));
                vec!["unknown".into(); n]
            }
        },
    };

    let mut cell_type = match strings(&opts.columns.cell_type)? {
        Some(c) => c,
        None => match &info.cre_line {
            Some(cre) => match opts.cre_lines.get(cre) {
                Some(t) => vec![t.clone(); n],
                None => {
                    return Err(Error::data(
                        file,
                        "/general/subject/genotype",
                        format!(
                        "Cre line `{cre}` (genotype `{}`) is not in data.nwb.cre_lines (known: {})",
                        info.genotype.as_deref().unwrap_or(""),
                        opts.cre_lines
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                        format!(
                            "add it to the run config, e.g. data.nwb.cre_lines: {{{cre}: Sst}}"
                        ),
                    ))
                }
            },
            None => {
                notes.push(format!(
                    "{}: no `{}` column and no Cre line in the genotype; cell type `unknown`",
                    sd.series.path, opts.columns.cell_type
                ));
                vec!["unknown".into(); n]
            }
        },
    };

    // Allen files: the cell specimen id names a cell across sessions; the table id is the ROI id.
    let mut ids: Vec<i64> = rows.iter().map(|&r| all_ids[r]).collect();
    if let Some(labels) = labels {
        let cols = super::labels::Columns {
            area: &mut area,
            layer: &mut layer,
            cell_type: &mut cell_type,
            depth_um: &mut depth_um,
        };
        notes.push(labels.apply(&sd.series.name, &sd.series.path, &ids, cols, &opts.layers)?);
        // The file's gaps the labels filled are no longer worth a note.
        for (values, gap) in [
            (&area, "area `unknown`"),
            (&layer, "layer `unknown`"),
            (&cell_type, "cell type `unknown`"),
        ] {
            if !values.iter().any(|v| v == "unknown") {
                notes.retain(|n| !n.ends_with(gap));
            }
        }
    }
    if let Some(ds) = column(table, "cell_specimen_id", n_rows) {
        if let Some(cs) = h5util::read_i64_1d(file, &ds)? {
            let kept: Vec<i64> = rows.iter().map(|&r| cs[r]).collect();
            if kept.iter().all(|&v| v >= 0) && first_repeat(&kept).is_none() {
                ids = kept;
                notes.push(format!(
                    "{}: neuron ids are Allen cell_specimen_id ({tpath}/cell_specimen_id)",
                    sd.series.path
                ));
            } else {
                notes.push(format!(
                    "{}: neuron ids are ROI ids ({tpath}/id): some kept ROIs have no cell_specimen_id, or share one",
                    sd.series.path
                ));
            }
        }
    }
    if let Some((a, b)) = first_repeat(&ids) {
        return Err(Error::data(
            file,
            format!("{tpath}/id"),
            format!(
                "ROI id {} appears twice, for rows {} and {} of the table",
                ids[a], rows[a], rows[b]
            ),
            "give every ROI of the plane segmentation its own id (pynwb numbers them 0, 1, 2, ... by default)",
        ));
    }
    Ok((
        NeuronTable {
            id: NeuronIds::Int(ids),
            area,
            layer,
            cell_type,
            depth_um,
        },
        keep,
        notes,
    ))
}

/// The positions of the first value of `v` that occurs twice, if any.
fn first_repeat(v: &[i64]) -> Option<(usize, usize)> {
    let mut seen = std::collections::HashMap::new();
    v.iter()
        .enumerate()
        .find_map(|(i, x)| seen.insert(*x, i).map(|first| (first, i)))
}
