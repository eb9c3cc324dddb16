//! The fitrnn-recording/1 contract: round trips through fitrnn's writer, and files written by h5py
//! in every string flavour, float32/float64 and gzip (tests/fixtures/make_recording_fixtures.py).

use crate::common;

use fitrnn::data::{
    read_recording, write_recording, GroundTruth, Inputs, NanPolicy, NeuronIds, NeuronTable,
    ReadOptions, Recording, Trials,
};
use ndarray::Array2;

fn sample_recording() -> Recording {
    let traces = Array2::from_shape_fn((50, 4), |(t, n)| (t as f32 * 0.1).sin() * (n as f32 + 1.0));
    Recording {
        path: Default::default(),
        traces,
        kind: "dff".into(),
        timestamps_s: (0..50).map(|t| 2.0 + t as f64 / 11.0).collect(),
        frame_rate_hz: 11.0,
        neurons: NeuronTable {
            id: NeuronIds::Text(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
            area: vec!["VISp".into(), "VISp".into(), "VISl".into(), "VISl".into()],
            layer: vec!["L2/3".into(), "L4".into(), "L2/3".into(), "L5".into()],
            cell_type: vec!["Slc17a7".into(), "Sst".into(), "Vip".into(), "Pvalb".into()],
            depth_um: Some(vec![150.0, 300.0, 160.0, 420.0]),
        },
        inputs: Some(Inputs {
            names: vec!["image_flash".into(), "running_speed".into()],
            values: Array2::from_shape_fn((50, 2), |(t, k)| (t * (k + 1)) as f32),
        }),
        trials: Some(Trials {
            start_s: vec![2.0, 3.0],
            stop_s: vec![2.75, 3.75],
            condition: vec!["change".into(), "omission".into()],
        }),
        ground_truth: Some(GroundTruth {
            w_rec: Array2::from_shape_fn(
                (5, 5),
                |(i, j)| if i == j { 0.0 } else { (i + j) as f32 * 0.1 },
            ),
            w_in: Array2::ones((5, 2)),
            tau_ms: vec![100.0; 5],
            area: vec!["VISp".into(); 5],
            layer: vec!["L2/3".into(); 5],
            cell_type: vec!["Slc17a7".into(); 5],
            recorded_index: vec![0, 1, 2, 3, -1],
            spectral_radius: 0.5,
            rates: None,
        }),
        dropped_frames: vec![],
        notes: vec![],
    }
}

#[test]
fn round_trip_keeps_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rt.h5");
    let rec = sample_recording();
    write_recording(&rec, &path).unwrap();
    assert!(
        !fitrnn::atomic::partial_path(&path).exists(),
        "no partial file left behind"
    );
    let back = read_recording(&path, &ReadOptions::default()).unwrap();
    assert_eq!(back.traces, rec.traces);
    assert_eq!(back.timestamps_s, rec.timestamps_s);
    assert!((back.frame_rate_hz - 11.0).abs() < 1e-9);
    assert_eq!(back.neurons, rec.neurons);
    assert_eq!(back.inputs, rec.inputs);
    assert_eq!(back.trials, rec.trials);
    assert_eq!(back.ground_truth, rec.ground_truth);
    assert_eq!(back.kind, "dff");
}

/// Arrays held column-major in memory (a transposed or column-selected array, as a subsample of
/// neurons makes) are written as the same values; they were refused by the HDF5 writer.
#[test]
fn column_major_arrays_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cm.h5");
    let mut rec = sample_recording();
    let traces = rec.traces.clone();
    let column_major = |a: &ndarray::Array2<f32>| {
        use ndarray::ShapeBuilder;
        let mut cm = ndarray::Array2::<f32>::zeros(a.raw_dim().f());
        cm.assign(a);
        cm
    };
    rec.traces = column_major(&traces);
    assert!(!rec.traces.is_standard_layout() && rec.traces == traces);
    if let Some(i) = rec.inputs.as_mut() {
        i.values = column_major(&i.values);
    }
    write_recording(&rec, &path).unwrap();
    let back = read_recording(&path, &ReadOptions::default()).unwrap();
    assert_eq!(back.traces, traces);
    assert_eq!(back.inputs, rec.inputs);
}

#[test]
fn integer_ids_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.h5");
    let mut rec = sample_recording();
    rec.neurons.id = NeuronIds::Int(vec![1_086_489_847, 7, 8, 9]);
    rec.ground_truth = None;
    write_recording(&rec, &path).unwrap();
    let back = read_recording(&path, &ReadOptions::default()).unwrap();
    assert_eq!(back.neurons.id, rec.neurons.id);
    assert!(back.ground_truth.is_none());
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(common::fixture("recordings/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn reads_every_h5py_flavour() {
    let exp = expected();
    let files = [
        "valid_vlen_utf8_f32_gzip.h5",
        "valid_fixed_ascii_f64.h5",
        "valid_vlen_ascii_f32.h5",
        "valid_int32_ids_minimal.h5",
    ];
    for name in files {
        let e = &exp[name];
        assert!(e.is_object(), "expected.json describes {name}");
        let rec = read_recording(
            &common::fixture(&format!("recordings/{name}")),
            &ReadOptions::default(),
        )
        .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(
            rec.n_frames() as u64,
            e["n_frames"].as_u64().unwrap(),
            "{name} frames"
        );
        assert_eq!(
            rec.n_neurons() as u64,
            e["n_neurons"].as_u64().unwrap(),
            "{name} neurons"
        );
        let ids: Vec<String> = (0..rec.n_neurons())
            .map(|i| rec.neurons.id.label(i))
            .collect();
        assert_eq!(ids, strings(&e["neuron_ids"]), "{name} ids");
        assert_eq!(rec.neurons.area, strings(&e["areas"]), "{name} areas");
        assert_eq!(rec.neurons.layer, strings(&e["layers"]), "{name} layers");
        assert_eq!(
            rec.neurons.cell_type,
            strings(&e["cell_types"]),
            "{name} cell types"
        );
        let rate = e["frame_rate_hz"].as_f64().unwrap();
        assert!(
            (rec.frame_rate_hz - rate).abs() < 1e-6 * rate,
            "{name} rate {} vs {rate}",
            rec.frame_rate_hz
        );
        let sum: f64 = rec.traces.iter().map(|&v| v as f64).sum();
        let want = e["trace_sum"].as_f64().unwrap();
        // f64 files are read as f32: allow f32 rounding of every value.
        let tol = 1e-6 * rec.traces.iter().map(|v| v.abs() as f64).sum::<f64>() + 1e-9;
        assert!(
            (sum - want).abs() <= tol,
            "{name} trace sum {sum} vs {want}"
        );
        let names = rec
            .inputs
            .as_ref()
            .map(|i| i.names.clone())
            .unwrap_or_default();
        assert_eq!(names, strings(&e["input_names"]), "{name} inputs");
        let counts = fitrnn::data::summary::trials_per_condition(&rec);
        let want_counts = e["trials_per_condition"].as_object().unwrap();
        assert_eq!(counts.len(), want_counts.len(), "{name} conditions");
        for (c, n) in want_counts {
            assert_eq!(
                counts.get(c).copied().unwrap_or(0) as u64,
                n.as_u64().unwrap(),
                "{name} {c}"
            );
        }
    }
}

#[test]
fn drop_frames_policy_removes_exactly_the_nan_frames() {
    let exp = expected();
    let path = common::fixture("recordings/bad_nan_traces.h5");
    let err = read_recording(&path, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("NaN"), "{err}");
    let rec = read_recording(
        &path,
        &ReadOptions {
            nan_policy: NanPolicy::DropFrames,
        },
    )
    .unwrap();
    let want: Vec<usize> = exp["bad_nan_traces.h5"]["nan_frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(rec.dropped_frames, want);
    assert!(rec.traces.iter().all(|v| v.is_finite()));
    assert_eq!(rec.timestamps_s.len(), rec.n_frames());
}

#[test]
fn the_readme_example_is_the_committed_script_and_its_output_is_valid() {
    let root = common::root();
    let readme = std::fs::read_to_string(root.join("data/README.md")).unwrap();
    let script = std::fs::read_to_string(root.join("data/examples/write_recording.py")).unwrap();
    assert!(
        readme.contains(&script),
        "data/README.md must show data/examples/write_recording.py verbatim"
    );
    // tests/fixtures/recordings/readme_example.h5 is that script's output.
    let rec = read_recording(
        &common::fixture("recordings/readme_example.h5"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(rec.traces.dim(), (600, 5));
    assert_eq!(
        rec.neurons.cell_type,
        ["Slc17a7", "Sst", "Vip", "Slc17a7", "Pvalb"]
    );
    assert_eq!(rec.inputs.unwrap().names, ["running_speed"]);
    assert!((rec.frame_rate_hz - 11.0).abs() < 1e-9);
}

#[test]
fn shipped_allen_excerpt_has_the_documented_shape() {
    let rec = read_recording(
        &common::root().join("data/allen_vc2p_exp552195520_excerpt.h5"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(rec.traces.dim(), (6001, 74));
    assert_eq!(rec.frame_rate_hz, 30.0);
    assert!(rec.traces.iter().all(|v| v.is_finite()));
    let max = rec.traces.iter().cloned().fold(f32::MIN, f32::max);
    assert!((max - 4.14).abs() < 0.01, "dF/F peak {max} (source: 4.14)");
}
