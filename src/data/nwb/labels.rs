//! Area, layer, cell type and depth per ROI from a CSV file beside an NWB file
//! (`data.nwb.roi_labels`): what a lab keeps outside the file, for NWB files that do not carry it
//! (Suite2p or CaImAn output converted by neuroconv has no area, layer or cell type per ROI).
//!
//! One row per ROI: `roi_id` (the `id` of the ROI in its `PlaneSegmentation`), any of `area`,
//! `layer`, `cell_type`, `depth_um`, and optionally `series` (the name or path of the
//! `RoiResponseSeries` a row belongs to, for files with several planes; empty: every plane).
//! A value here replaces the file's; an empty cell keeps it.

use crate::error::{Error, Result};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The columns a labels file may give besides `roi_id` and `series`.
const LABELS: [&str; 4] = ["area", "layer", "cell_type", "depth_um"];

/// One ROI's labels (None: keep the file's value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    /// Brain area.
    pub area: Option<String>,
    /// Cortical layer.
    pub layer: Option<String>,
    /// Cell type.
    pub cell_type: Option<String>,
    /// Imaging depth, µm.
    pub depth_um: Option<f64>,
}

/// A labels file, read.
#[derive(Debug, Clone)]
pub struct RoiLabels {
    /// The file.
    pub path: PathBuf,
    /// `(series, roi_id) → labels`; series `""` applies to every plane.
    rows: BTreeMap<(String, i64), Labels>,
    /// Whether the file has a `layer` column (without one, a depth given here sets the layer).
    pub has_layer: bool,
}

fn bad(path: &Path, at: String, problem: String) -> Error {
    Error::data(
        path,
        at,
        problem,
        "write a header `roi_id,area,layer,cell_type` (any of area, layer, cell_type, depth_um; optionally series) and one row per ROI",
    )
}

impl RoiLabels {
    /// Read the CSV file at `path`.
    pub fn read(path: &Path) -> Result<RoiLabels> {
        if !path.is_file() {
            return Err(Error::data(
                path,
                "data.nwb.roi_labels",
                "the ROI labels file does not exist or is not a file",
                "give the path of a CSV file, relative to the config",
            ));
        }
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(|e| {
                bad(
                    path,
                    "the CSV".into(),
                    format!("cannot be read as CSV: {e}"),
                )
            })?;
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let text = |name: &str| -> Result<Option<Vec<Option<String>>>> {
            if !names.iter().any(|c| c == name) {
                return Ok(None);
            }
            let col = df
                .column(name)
                .and_then(|c| c.str().cloned())
                .map_err(|e| bad(path, format!("column {name}"), e.to_string()))?;
            Ok(Some(
                col.iter()
                    .map(|v| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from))
                    .collect(),
            ))
        };
        let Some(ids) = text("roi_id")? else {
            return Err(bad(
                path,
                "the header".into(),
                format!("has no roi_id column (columns: {})", names.join(", ")),
            ));
        };
        if !LABELS.iter().any(|l| names.iter().any(|c| c == l)) {
            return Err(bad(
                path,
                "the header".into(),
                format!(
                    "has none of {} (columns: {})",
                    LABELS.join(", "),
                    names.join(", ")
                ),
            ));
        }
        let series = text("series")?;
        let area = text("area")?;
        let layer = text("layer")?;
        let cell_type = text("cell_type")?;
        let depth = text("depth_um")?;
        let mut rows = BTreeMap::new();
        for (k, id) in ids.iter().enumerate() {
            let line = format!("line {}", k + 2);
            let id: i64 = id.as_deref().and_then(|v| v.parse().ok()).ok_or_else(|| {
                bad(
                    path,
                    line.clone(),
                    format!("roi_id {id:?} is not an integer"),
                )
            })?;
            let get = |c: &Option<Vec<Option<String>>>| c.as_ref().and_then(|v| v[k].clone());
            let depth_um = match get(&depth) {
                None => None,
                Some(v) => Some(v.parse::<f64>().ok().filter(|d| d.is_finite()).ok_or_else(
                    || {
                        bad(
                            path,
                            line.clone(),
                            format!("depth_um {v:?} is not a number of µm"),
                        )
                    },
                )?),
            };
            let key = (get(&series).unwrap_or_default(), id);
            let labels = Labels {
                area: get(&area),
                layer: get(&layer),
                cell_type: get(&cell_type),
                depth_um,
            };
            if rows.insert(key.clone(), labels).is_some() {
                return Err(bad(
                    path,
                    line,
                    format!("ROI {} of series {:?} has a second row", key.1, key.0),
                ));
            }
        }
        Ok(RoiLabels {
            path: path.to_path_buf(),
            rows,
            has_layer: layer.is_some(),
        })
    }

    /// The labels of ROI `id` of the series at `series_path` (named `series_name`): its own row,
    /// or the row that names no series.
    pub fn get(&self, series_name: &str, series_path: &str, id: i64) -> Option<&Labels> {
        [series_name, series_path, ""]
            .iter()
            .find_map(|s| self.rows.get(&(s.to_string(), id)))
    }
}

/// The neuron table's columns of one plane, as [`RoiLabels::apply`] fills them.
pub struct Columns<'a> {
    /// Area per kept ROI.
    pub area: &'a mut Vec<String>,
    /// Layer per kept ROI.
    pub layer: &'a mut Vec<String>,
    /// Cell type per kept ROI.
    pub cell_type: &'a mut Vec<String>,
    /// Depth per kept ROI, µm, if known.
    pub depth_um: &'a mut Option<Vec<f64>>,
}

impl RoiLabels {
    /// Put the labels of the kept ROIs `ids` of the series at `series_path` into `cols`: every
    /// ROI needs a row (its own series' or one that names none). A depth given here sets the layer
    /// through `layers` when the file has no `layer` column. Returns a note for the summary.
    pub fn apply(
        &self,
        series_name: &str,
        series_path: &str,
        ids: &[i64],
        cols: Columns<'_>,
        layers: &[super::options::LayerBound],
    ) -> Result<String> {
        let missing: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|&id| self.get(series_name, series_path, id).is_none())
            .collect();
        if !missing.is_empty() {
            let shown: Vec<String> = missing.iter().take(8).map(i64::to_string).collect();
            return Err(Error::data(
                &self.path,
                "roi_id",
                format!(
                    "{} of the {} ROIs of {series_path} have no row: ROI ids {}{}",
                    missing.len(),
                    ids.len(),
                    shown.join(", "),
                    if missing.len() > shown.len() { ", ..." } else { "" }
                ),
                "add a row per ROI (roi_id is the ROI's id in its PlaneSegmentation; `fitrnn inspect` lists them)",
            ));
        }
        for (k, &id) in ids.iter().enumerate() {
            let l = self
                .get(series_name, series_path, id)
                .expect("checked above");
            if let Some(v) = &l.area {
                cols.area[k] = v.clone();
            }
            if let Some(v) = &l.cell_type {
                cols.cell_type[k] = v.clone();
            }
            if let Some(d) = l.depth_um {
                cols.depth_um
                    .get_or_insert_with(|| vec![f64::NAN; ids.len()])[k] = d;
                if !self.has_layer {
                    if let Some(layer) = super::options::layer_of_depth(layers, d) {
                        cols.layer[k] = layer.to_string();
                    }
                }
            }
            if let Some(v) = &l.layer {
                cols.layer[k] = v.clone();
            }
        }
        Ok(format!(
            "{series_path}: area, layer, cell type and depth of its {} ROIs from {} where it gives them",
            ids.len(),
            self.path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.csv");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn rows_are_found_by_series_and_id_with_empty_cells_kept_from_the_file() {
        let (_d, p) = write(
            "roi_id,series,area,layer,cell_type\n0,,VISp,L2/3,Sst\n1,,VISl,,Vip\n1,plane2,VISal,L4,Pvalb\n",
        );
        let l = RoiLabels::read(&p).unwrap();
        assert_eq!(
            l.get("any", "/p/any", 0).unwrap().cell_type.as_deref(),
            Some("Sst")
        );
        assert_eq!(l.get("any", "/p/any", 1).unwrap().layer, None);
        assert_eq!(
            l.get("plane2", "/p/plane2", 1).unwrap().area.as_deref(),
            Some("VISal")
        );
        assert!(l.get("any", "/p/any", 7).is_none());
        assert!(l.has_layer);
    }

    #[test]
    fn a_file_without_ids_or_labels_or_with_a_repeat_is_refused_with_its_line() {
        for (text, want) in [
            ("id,area\n0,VISp\n", "no roi_id column"),
            ("roi_id,notes\n0,x\n", "has none of area"),
            ("roi_id,area\n0,VISp\n0,VISl\n", "line 3"),
            ("roi_id,area\nzero,VISp\n", "not an integer"),
            ("roi_id,depth_um\n0,deep\n", "not a number of µm"),
        ] {
            let (_d, p) = write(text);
            let e = RoiLabels::read(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
