//! How an NWB file's contents become fitrnn's neuron table (config section `data.nwb`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options for reading NWB 2.x files (`data.nwb` in a run config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NwbOptions {
    /// Which traces to read: `dff` (a `DfOverF` container), `events` (Allen's
    /// `OphysEventDetection`) or `fluorescence` (a `Fluorescence` container).
    #[serde(default)]
    pub traces: NwbTraces,
    /// Names of the `RoiResponseSeries` to read (empty: every series of the chosen kind, one per
    /// imaging plane).
    #[serde(default)]
    pub series: Vec<String>,
    /// Names of the per-ROI columns of the `PlaneSegmentation` table that hold metadata.
    #[serde(default)]
    pub columns: NwbColumns,
    /// Layer from imaging depth: the first entry whose `below_um` exceeds the depth names the
    /// layer (Balwani et al.: L2/3 < 250 µm ≤ L4 < 370 µm ≤ L5).
    #[serde(default = "default_layers")]
    pub layers: Vec<LayerBound>,
    /// Cell type from the Cre line (the first part of `/general/subject/genotype`, as AllenSDK
    /// parses it), used when the segmentation table has no cell-type column.
    #[serde(default = "default_cre_lines")]
    pub cre_lines: BTreeMap<String, String>,
    /// Leave out ROIs whose `valid_roi` column is false (AllenSDK does the same on load), or, in
    /// files without one, whose `iscell` column is 0 (Suite2p's classification, as neuroconv
    /// writes it).
    #[serde(default = "yes")]
    pub exclude_invalid_rois: bool,
    /// A CSV file with area, layer, cell type or depth per ROI id, for files that do not carry
    /// them (relative to the config; see [`super::labels`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roi_labels: Option<std::path::PathBuf>,
    /// Where trials come from: `auto` (stimulus presentations with image changes and omissions
    /// if the file has them, else `/intervals/trials`), `presentations`, `trials` or `none`.
    #[serde(default)]
    pub trials: NwbTrials,
    /// Column of `/intervals/trials` that names each trial's condition (absent: `all`).
    #[serde(default = "default_condition")]
    pub trial_condition: String,
}

impl Default for NwbOptions {
    fn default() -> Self {
        Self {
            traces: NwbTraces::default(),
            series: vec![],
            columns: NwbColumns::default(),
            layers: default_layers(),
            cre_lines: default_cre_lines(),
            exclude_invalid_rois: true,
            roi_labels: None,
            trials: NwbTrials::default(),
            trial_condition: default_condition(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_condition() -> String {
    "condition".into()
}

/// Which traces of an NWB file to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NwbTraces {
    /// dF/F: the `RoiResponseSeries` inside a `DfOverF` container.
    #[default]
    Dff,
    /// Detected events: Allen's `OphysEventDetection` series (`/processing/ophys/event_detection`).
    Events,
    /// Fluorescence: the `RoiResponseSeries` inside a `Fluorescence` container.
    Fluorescence,
}

impl NwbTraces {
    /// The trace kind recorded in [`crate::data::Recording::kind`].
    pub fn kind(self) -> &'static str {
        match self {
            NwbTraces::Dff => "dff",
            NwbTraces::Events => "events",
            NwbTraces::Fluorescence => "fluorescence",
        }
    }
}

/// Where an NWB file's trials come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NwbTrials {
    /// Stimulus presentations if present, else `/intervals/trials`, else none.
    #[default]
    Auto,
    /// Allen stimulus presentations (`/intervals/*_presentations`): one trial per flash,
    /// condition `change`, `omission` or `image`.
    Presentations,
    /// `/intervals/trials`, with the condition from `trial_condition`.
    Trials,
    /// No trials.
    None,
}

/// Per-ROI column names in the `PlaneSegmentation` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NwbColumns {
    /// Cell type (strings); absent: from the Cre line.
    #[serde(default = "default_cell_type_col")]
    pub cell_type: String,
    /// Imaging depth in µm (numbers); absent: Allen's `imaging_depth`, or the plane description.
    #[serde(default = "default_depth_col")]
    pub depth_um: String,
    /// Layer (strings); absent: from the depth.
    #[serde(default = "default_layer_col")]
    pub layer: String,
    /// Area (strings); absent: the imaging plane's `location`.
    #[serde(default = "default_area_col")]
    pub area: String,
}

impl Default for NwbColumns {
    fn default() -> Self {
        Self {
            cell_type: default_cell_type_col(),
            depth_um: default_depth_col(),
            layer: default_layer_col(),
            area: default_area_col(),
        }
    }
}

fn default_cell_type_col() -> String {
    "cell_type".into()
}
fn default_depth_col() -> String {
    "depth_um".into()
}
fn default_layer_col() -> String {
    "layer".into()
}
fn default_area_col() -> String {
    "area".into()
}

/// One row of the depth → layer table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerBound {
    /// Layer name, e.g. `L2/3`.
    pub layer: String,
    /// Depths strictly below this (µm) belong to the layer (unless an earlier row took them);
    /// omit for the deepest layer.
    #[serde(default)]
    pub below_um: Option<f64>,
}

/// Balwani et al. 2025's layers: L2/3 < 250 µm ≤ L4 < 370 µm ≤ L5.
pub fn default_layers() -> Vec<LayerBound> {
    vec![
        LayerBound {
            layer: "L2/3".into(),
            below_um: Some(250.0),
        },
        LayerBound {
            layer: "L4".into(),
            below_um: Some(370.0),
        },
        LayerBound {
            layer: "L5".into(),
            below_um: None,
        },
    ]
}

/// The Cre lines of the Allen Visual Behavior and Visual Coding releases and their cell types.
pub fn default_cre_lines() -> BTreeMap<String, String> {
    [
        ("Slc17a7-IRES2-Cre", "Slc17a7"),
        ("Sst-IRES-Cre", "Sst"),
        ("Vip-IRES-Cre", "Vip"),
        ("Pvalb-IRES-Cre", "Pvalb"),
        ("Emx1-IRES-Cre", "Emx1"),
        ("Cux2-CreERT2", "Cux2"),
        ("Rorb-IRES2-Cre", "Rorb"),
        ("Scnn1a-Tg3-Cre", "Scnn1a"),
        ("Nr5a1-Cre", "Nr5a1"),
        ("Rbp4-Cre_KL100", "Rbp4"),
        ("Fezf2-CreER", "Fezf2"),
        ("Tlx3-Cre_PL56", "Tlx3"),
        ("Ntsr1-Cre_GN220", "Ntsr1"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

/// The layer of a neuron at `depth_um` under `table`, or `None` when no row covers it.
pub fn layer_of_depth(table: &[LayerBound], depth_um: f64) -> Option<&str> {
    table
        .iter()
        .find(|b| b.below_um.is_none_or(|lim| depth_um < lim))
        .map(|b| b.layer.as_str())
}
