//! NWB files as most labs make them: Suite2p output converted by neuroconv
//! (tests/fixtures/make_neuroconv_fixtures.py, neuroconv 0.10.2). Their Fluorescence container
//! holds the cells' fluorescence, the neuropil and the deconvolved activity over the same ROIs,
//! Suite2p's `iscell` classification, and no area, layer or cell type per ROI.

use crate::common;
use fitrnn::data::nwb::{read_nwb, NwbOptions, NwbTraces};
use fitrnn::data::NeuronIds;
use predicates::str::contains;
use serde_json::Value;

fn nwb() -> std::path::PathBuf {
    common::fixture("neuroconv/suite2p_neuroconv.nwb")
}

fn labels() -> std::path::PathBuf {
    common::fixture("neuroconv/suite2p_roi_labels.csv")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(common::fixture("neuroconv/expected.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["suite2p_neuroconv.nwb"].clone()
}

fn fluorescence() -> NwbOptions {
    NwbOptions {
        traces: NwbTraces::Fluorescence,
        ..NwbOptions::default()
    }
}

#[test]
fn the_cells_fluorescence_is_read_once_without_neuropil_deconvolved_or_non_cells() {
    let e = expected();
    let f = read_nwb(&nwb(), &fluorescence(), Default::default()).unwrap();
    // One plane: the neuropil and deconvolved series over the same ROIs are not planes.
    assert_eq!(f.planes.len(), 1);
    let rec = &f.planes[0].recording;
    assert_eq!(f.planes[0].series.name, "RoiResponseSeries");
    assert_eq!(rec.n_neurons() as u64, e["n_cells"].as_u64().unwrap());
    assert_eq!(rec.n_frames() as u64, e["n_frames"].as_u64().unwrap());
    assert!((rec.frame_rate_hz - e["rate_hz"].as_f64().unwrap()).abs() < 1e-9);
    let NeuronIds::Int(ids) = &rec.neurons.id else {
        panic!("integer ROI ids")
    };
    assert_eq!(
        ids,
        &(0..20).collect::<Vec<i64>>(),
        "Suite2p's non-cells (ids 20-23) left out"
    );
    let notes = rec.notes.join("\n");
    for want in [
        "left out 4 of 24 ROIs Suite2p classified as not cells",
        "Neuropil: left out",
        "Deconvolved: left out",
    ] {
        assert!(notes.contains(want), "{want} in {notes}");
    }
}

#[test]
fn roi_labels_give_each_roi_its_area_layer_and_cell_type() {
    let e = expected();
    let opts = NwbOptions {
        roi_labels: Some(labels()),
        ..fluorescence()
    };
    let f = read_nwb(&nwb(), &opts, Default::default()).unwrap();
    let n = &f.planes[0].recording.neurons;
    let want = |key: &str| -> Vec<String> {
        e[key].as_array().unwrap()[..20]
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(n.area, want("area"));
    assert_eq!(n.layer, want("layer"));
    assert_eq!(n.cell_type, want("cell_type"));
    let notes = f.planes[0].recording.notes.join("\n");
    assert!(
        !notes.contains("`unknown`"),
        "the gaps the labels filled: {notes}"
    );
}

#[test]
fn two_series_of_the_same_rois_are_refused_as_two_planes() {
    let opts = NwbOptions {
        series: vec!["RoiResponseSeries".into(), "Neuropil".into()],
        ..fluorescence()
    };
    let err = read_nwb(&nwb(), &opts, Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("two measures of the same neurons"), "{err}");
    assert!(
        err.contains("data.nwb.series: [RoiResponseSeries]"),
        "{err}"
    );
}

#[test]
fn a_labels_file_missing_rois_is_refused_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let partial = tmp.path().join("labels.csv");
    let text = std::fs::read_to_string(labels()).unwrap();
    let kept: Vec<&str> = text.lines().take(19).collect(); // header + ROIs 0-17
    std::fs::write(&partial, kept.join("\n")).unwrap();
    let opts = NwbOptions {
        roi_labels: Some(partial),
        ..fluorescence()
    };
    let err = read_nwb(&nwb(), &opts, Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 of the 20 ROIs") && err.contains("ROI ids 18, 19"),
        "{err}"
    );
}

#[test]
fn a_run_config_names_the_labels_relative_to_itself() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(nwb(), tmp.path().join("session.nwb")).unwrap();
    std::fs::copy(labels(), tmp.path().join("rois.csv")).unwrap();
    let cfg = common::write(
        tmp.path(),
        "run.yaml",
        "data:\n  path: session.nwb\n  nwb: {traces: fluorescence, roi_labels: rois.csv}\n  windows: {length_s: 3.0}\n",
    );
    common::fitrnn()
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .success()
        .stdout(contains("VISl"))
        .stdout(contains("Pvalb"));
    std::fs::remove_file(tmp.path().join("rois.csv")).unwrap();
    common::fitrnn()
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(contains("rois.csv"))
        .stderr(contains("does not exist"));
}

/// One file listed twice (or through a link) in data.path is refused: its neurons would be
/// fitted twice, as two planes.
#[test]
fn one_file_listed_twice_is_refused_not_fitted_as_two_planes() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = common::root().join("data/mouse_v1_demo.h5");
    let link = tmp.path().join("alias.h5");
    std::os::unix::fs::symlink(&demo, &link).unwrap();
    for second in [&demo, &link] {
        let paths = vec![demo.clone(), second.clone()];
        let err = fitrnn::data::load::load(&paths, &Default::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("names one file twice") && err.contains("list each plane's file once"),
            "{err}"
        );
    }
}

/// Suite2p's deconvolved activity, named in data.nwb.series, is read as the one plane instead of
/// the cells' fluorescence (as the README's Suite2p section says).
#[test]
fn the_deconvolved_series_is_read_when_named() {
    let opts = NwbOptions {
        series: vec!["Deconvolved".into()],
        ..fluorescence()
    };
    let f = read_nwb(&nwb(), &opts, Default::default()).unwrap();
    assert_eq!(f.planes.len(), 1);
    assert_eq!(f.planes[0].series.name, "Deconvolved");
    assert_eq!(f.planes[0].recording.n_neurons(), 20, "the cells only");
}
