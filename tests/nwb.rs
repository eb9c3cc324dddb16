//! NWB input: pynwb-written and Allen-like files (tests/fixtures/make_nwb_fixtures.py, pynwb 4.2.0)
//! read with the right neurons, clocks and metadata; malformed files refused with their specific
//! message; planes at different rates joined on one clock; the trial-aligned averaging against a
//! numpy reference; the same data as contract and as NWB giving identical fits.

use crate::common;

use fitrnn::data::load::{load, read_planes, LoadOptions};
use fitrnn::data::nwb::{read_nwb, NwbOptions, NwbTraces};
use fitrnn::data::{NanPolicy, NeuronIds};
use fitrnn::trial_average::resample::gaussian_filter1d;
use fitrnn::trial_average::windows::{add_plane, Pooled, WindowClock};
use predicates::str::contains;
use serde_json::Value;

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(common::fixture("nwb/expected.json")).unwrap())
        .unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn ints(ids: &NeuronIds) -> Vec<i64> {
    match ids {
        NeuronIds::Int(v) => v.clone(),
        NeuronIds::Text(_) => panic!("expected integer ids"),
    }
}

/// Check one plane against its entry in expected.json.
fn check_plane(rec: &fitrnn::data::Recording, e: &Value, ids_key: &str) {
    assert_eq!(rec.n_neurons() as u64, e["n_neurons"].as_u64().unwrap());
    assert_eq!(rec.n_frames() as u64, e["n_frames"].as_u64().unwrap());
    let rate = e["frame_rate_hz"].as_f64().unwrap();
    assert!(
        (rec.frame_rate_hz - rate).abs() < 1e-9 * rate,
        "{} vs {rate}",
        rec.frame_rate_hz
    );
    assert_eq!(rec.neurons.area, strings(&e["areas"]));
    assert_eq!(rec.neurons.layer, strings(&e["layers"]));
    assert_eq!(rec.neurons.cell_type, strings(&e["cell_types"]));
    let depth: Vec<f64> = e["depth_um"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(rec.neurons.depth_um.as_ref().unwrap(), &depth);
    let ids: Vec<i64> = e[ids_key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert_eq!(ints(&rec.neurons.id), ids);
    assert!((rec.timestamps_s[0] - e["first_timestamp"].as_f64().unwrap()).abs() < 1e-9);
    assert!(
        (rec.timestamps_s[rec.n_frames() - 1] - e["last_timestamp"].as_f64().unwrap()).abs() < 1e-9
    );
    for (k, v) in e["traces_first_row"].as_array().unwrap().iter().enumerate() {
        assert!(
            (rec.traces[[0, k]] as f64 - v.as_f64().unwrap()).abs() < 1e-6,
            "column {k}"
        );
    }
}

#[test]
fn pynwb_planes_load_with_their_metadata_and_clocks() {
    let e = expected();
    let f = read_nwb(
        &common::fixture("nwb/pynwb_two_planes.nwb"),
        &NwbOptions::default(),
        NanPolicy::Error,
    )
    .unwrap();
    // DfOverF only: the Fluorescence decoy (dF/F + 100) is not read.
    assert_eq!(f.planes.len(), 2);
    for want in e["pynwb_two_planes.nwb"]["planes"].as_array().unwrap() {
        let p = f
            .planes
            .iter()
            .find(|p| p.series.path == want["series"].as_str().unwrap())
            .unwrap();
        check_plane(&p.recording, want, "ids");
        let t = p.recording.trials.as_ref().unwrap();
        assert_eq!(t.start_s, vec![1.0, 2.5, 4.0, 5.5, 7.0, 8.5]);
        assert_eq!(
            t.condition,
            strings(&e["pynwb_two_planes.nwb"]["trials"]["condition"])
        );
    }
    let single = read_nwb(
        &common::fixture("nwb/pynwb_single_plane.nwb"),
        &NwbOptions::default(),
        NanPolicy::Error,
    )
    .unwrap();
    check_plane(
        &single.planes[0].recording,
        &e["pynwb_single_plane.nwb"],
        "ids",
    );
}

#[test]
fn allen_files_drop_invalid_rois_derive_the_rate_and_map_the_cre_line() {
    let e = expected();
    for name in ["allen_vbo_like.nwb", "allen_vbo_like_plane2.nwb"] {
        let f = read_nwb(
            &common::fixture(&format!("nwb/{name}")),
            &NwbOptions::default(),
            NanPolicy::Error,
        )
        .unwrap();
        assert_eq!(
            f.planes.len(),
            1,
            "{name}: dF/F only (not events, not corrected fluorescence)"
        );
        let p = &f.planes[0];
        // Neuron ids are the cell specimen ids of the valid ROIs.
        check_plane(&p.recording, &e[name], "cell_specimen_ids");
        assert_eq!(
            p.plane.imaging_rate_hz,
            Some(11.0),
            "the stored, rounded rate"
        );
        assert!(f.info.allen);
        let want = &e[name]["stimulus"];
        let t = p.recording.trials.as_ref().unwrap();
        for cond in ["change", "omission", "image"] {
            let n = t.condition.iter().filter(|c| *c == cond).count() as u64;
            assert_eq!(n, want[cond].as_u64().unwrap(), "{name}: {cond} trials");
        }
        let changes: Vec<f64> = (0..t.start_s.len())
            .filter(|&i| t.condition[i] == "change")
            .map(|i| t.start_s[i])
            .collect();
        let want_changes: Vec<f64> = want["change_times"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(changes, want_changes);
        let inputs = p.recording.inputs.as_ref().unwrap();
        assert_eq!(
            inputs.names,
            vec!["image", "change", "omission", "running_speed"]
        );
        // Every change flash is on for at least one frame, and changes are images too.
        let col = |n: &str| inputs.names.iter().position(|x| x == n).unwrap();
        let (ci, ii) = (col("change"), col("image"));
        assert!(inputs.values.column(ci).iter().sum::<f32>() >= 30.0);
        for f in 0..p.recording.n_frames() {
            assert!(inputs.values[[f, ci]] <= inputs.values[[f, ii]]);
        }
    }
    // Events: Allen's OphysEventDetection over the valid ROIs.
    let ev = read_nwb(
        &common::fixture("nwb/allen_vbo_like.nwb"),
        &NwbOptions {
            traces: NwbTraces::Events,
            ..NwbOptions::default()
        },
        NanPolicy::Error,
    )
    .unwrap();
    assert_eq!(ev.planes[0].recording.kind, "events");
    assert_eq!(ev.planes[0].recording.n_neurons(), 6);
    assert!(ev.planes[0].recording.traces.iter().all(|&v| v >= 0.0));
}

/// `fitrnn check --data FILE` fails with exit code 2 and one line holding every fragment.
fn refused(name: &str, fragments: &[&str]) {
    let out = common::fitrnn()
        .args(["check", "--data"])
        .arg(common::fixture(&format!("nwb/{name}")))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "{name}: one line:\n{stderr}"
    );
    assert!(stderr.contains(name), "{name}: names the file:\n{stderr}");
    for f in fragments {
        assert!(stderr.contains(f), "{name}: expected `{f}` in:\n{stderr}");
    }
}

#[test]
fn malformed_nwb_files_fail_with_their_specific_message() {
    refused(
        "bad_no_traces.nwb",
        &["/processing", "no DfOverF series", "data.nwb.traces"],
    );
    refused(
        "bad_roi_count.nwb",
        &[
            "RoiResponseSeries/rois",
            "lists 19 ROIs but `data` has 20 columns",
        ],
    );
    refused(
        "bad_duplicate_roi_id.nwb",
        &[
            "PlaneSegmentation/id",
            "ROI id 3 appears twice",
            "rows 3 and 7",
        ],
    );
    refused(
        "bad_no_rois.nwb",
        &[
            "RoiResponseSeries/rois",
            "required dataset is missing",
            "create_roi_table_region",
        ],
    );
    refused(
        "bad_rois_out_of_range.nwb",
        &["rois", "entry 5 is row 57", "has 20 rows"],
    );
    refused(
        "bad_timestamps.nwb",
        &[
            "RoiResponseSeries/timestamps",
            "strictly increase",
            "frame 100",
        ],
    );
    refused(
        "bad_nan.nwb",
        &[
            "RoiResponseSeries/data",
            "NaN",
            "frame 50",
            "nan_policy: drop_frames",
        ],
    );
    refused(
        "bad_unknown_cre.nwb",
        &[
            "/general/subject/genotype",
            "Foo-IRES-Cre",
            "data.nwb.cre_lines",
        ],
    );
    refused("not_nwb.h5", &["attribute schema", "nwb_version"]);
}

#[test]
fn planes_at_different_rates_are_resampled_onto_one_clock() {
    let rec = load(
        &[common::fixture("nwb/pynwb_two_planes.nwb")],
        &LoadOptions::default(),
    )
    .unwrap();
    // The slower plane's clock (15 Hz from 0.02 s) over the interval both planes cover.
    assert_eq!(rec.n_neurons(), 10);
    assert_eq!(rec.n_frames(), 150);
    assert!((rec.frame_rate_hz - 15.0).abs() < 1e-12);
    let planes = read_planes(
        &common::fixture("nwb/pynwb_two_planes.nwb"),
        &LoadOptions::default(),
    )
    .unwrap();
    let visl = planes
        .iter()
        .position(|p| p.label.ends_with("VISl"))
        .unwrap();
    let visl_cols = if visl == 0 { 0..4 } else { 6..10 };
    for (k, &t) in rec.timestamps_s.iter().enumerate() {
        assert!((t - (0.02 + k as f64 / 15.0)).abs() < 1e-12);
        // The VISl plane is on this clock already: its values are unchanged.
        for (c, col) in visl_cols.clone().enumerate() {
            assert!((rec.traces[[k, col]] - planes[visl].recording.traces[[k, c]]).abs() < 1e-6);
        }
        // The VISp plane (30 Hz, sin(2π·0.5·t + i) + 0.1 i) is interpolated between its samples.
        for i in 0..6 {
            let col = if visl == 0 { 4 + i } else { i };
            let want = (2.0 * std::f64::consts::PI * 0.5 * t + i as f64).sin() + 0.1 * i as f64;
            assert!(
                (rec.traces[[k, col]] as f64 - want).abs() < 3e-3,
                "t {t} ROI {i}"
            );
        }
    }
    // Ids repeat across the planes (0..5 and 0..3), so they are prefixed with the plane.
    assert!(matches!(rec.neurons.id, NeuronIds::Text(_)));
    // Two files imaged at different times are refused with the way out.
    let mut late = planes[0].clone();
    for t in late.recording.timestamps_s.iter_mut() {
        *t += 1000.0;
    }
    let err = fitrnn::data::session::combine(vec![planes[1].clone(), late], None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not imaged at the same time") && err.contains("fitrnn dataset"),
        "{err}"
    );
}

#[test]
fn simultaneous_allen_planes_join_into_one_recording() {
    let paths = [
        common::fixture("nwb/allen_vbo_like.nwb"),
        common::fixture("nwb/allen_vbo_like_plane2.nwb"),
    ];
    let rec = load(&paths, &LoadOptions::default()).unwrap();
    assert_eq!(rec.n_neurons(), 11);
    assert_eq!(rec.neurons.area.iter().filter(|a| *a == "VISp").count(), 5);
    // Plane 2 starts 23 ms later: the common clock starts there.
    assert!((rec.timestamps_s[0] - 5.024824006838515).abs() < 1e-9);
    assert!(rec.trials.is_some() && rec.inputs.as_ref().unwrap().names.len() == 4);
}

#[test]
fn trial_aligned_windows_match_the_numpy_reference() {
    let f = hdf5::File::open(common::fixture("nwb/trial_average_reference.h5")).unwrap();
    let clock = WindowClock {
        start_s: f.attr("window_start_s").unwrap().read_scalar().unwrap(),
        stop_s: f.attr("window_stop_s").unwrap().read_scalar().unwrap(),
        rate_hz: f.attr("r_out").unwrap().read_scalar().unwrap(),
    };
    assert_eq!(clock.n_frames(), 16);
    let conditions = vec!["change".to_string(), "omission".to_string()];
    let mut pooled = Pooled::new();
    for name in ["allen_vbo_like.nwb", "allen_vbo_like_plane2.nwb"] {
        for p in read_planes(
            &common::fixture(&format!("nwb/{name}")),
            &LoadOptions::default(),
        )
        .unwrap()
        {
            assert_eq!(add_plane(&p.recording, &conditions, &clock, &mut pooled), 0);
        }
    }
    let n_trials = f.dataset("n_trials").unwrap().read_2d::<i64>().unwrap();
    let mean = f.dataset("mean").unwrap().read_dyn::<f64>().unwrap();
    let first = f.dataset("first_trial").unwrap().read_dyn::<f64>().unwrap();
    let pops = ["VISl/L2/3/Sst", "VISp/L4/Sst"];
    for (ci, c) in conditions.iter().enumerate() {
        for (pi, p) in pops.iter().enumerate() {
            let trials = &pooled[&(c.clone(), p.to_string())];
            assert_eq!(trials.len() as i64, n_trials[[ci, pi]], "{c} {p}");
            for j in 0..16 {
                let m = trials.iter().map(|t| t[j]).sum::<f64>() / trials.len() as f64;
                assert!((m - mean[[ci, pi, j]]).abs() < 1e-9, "{c} {p} frame {j}");
                assert!((trials[0][j] - first[[ci, pi, j]]).abs() < 1e-9);
            }
        }
    }
    let x = f.dataset("smooth_input").unwrap().read_2d::<f64>().unwrap();
    let y = f
        .dataset("smooth_output")
        .unwrap()
        .read_2d::<f64>()
        .unwrap();
    for r in 0..x.nrows() {
        let s = gaussian_filter1d(&x.row(r).to_vec(), 1.0);
        for (a, b) in s.iter().zip(y.row(r)) {
            assert!((a - b).abs() < 1e-12, "scipy gaussian_filter1d row {r}");
        }
    }
}

#[test]
fn dataset_command_writes_a_population_recording_that_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = common::write(
        tmp.path(),
        "dataset.yaml",
        &format!(
            "seed: 3\nexperiments: [{}, {}]\nconditions: [change, omission]\nwindow_s: [-0.75, 0.75]\n\
             frame_rate_hz: 10.7\nsamples: 50\ntrials_per_sample: 20\nsmooth_sigma_frames: 1.0\n",
            common::fixture("nwb/allen_vbo_like.nwb").display(),
            common::fixture("nwb/allen_vbo_like_plane2.nwb").display()
        ),
    );
    let out = tmp.path().join("changes.h5");
    common::fitrnn()
        .args(["dataset", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains(
            "2 populations × 2 conditions × 50 samples of 16 frames",
        ));
    let rec = fitrnn::data::read_recording(&out, &Default::default()).unwrap();
    assert_eq!(rec.n_neurons(), 2);
    assert_eq!(rec.n_frames(), 2 * 50 * 16);
    let trials = rec.trials.as_ref().unwrap();
    assert_eq!(
        trials.condition.iter().filter(|c| *c == "omission").count(),
        50
    );
    // The event input is 1 once per sample, on frame round(0.75 · 10.7) = 8 of its block.
    let inp = rec.inputs.as_ref().unwrap();
    assert_eq!(inp.names, vec!["event_change", "event_omission"]);
    assert_eq!(inp.values.sum(), 100.0);
    assert_eq!(inp.values[[8, 0]], 1.0);
    let side: Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(side["frames_per_sample"], 16);
    // Same seed, same bytes.
    let out2 = tmp.path().join("again.h5");
    common::fitrnn()
        .args(["dataset", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out2)
        .assert()
        .success();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
    // It fits in population mode: one window per sample, whole samples held out.
    let run = common::write(
        tmp.path(),
        "fit.yaml",
        &format!(
            concat!(
                "data:\n",
                "  path: {}\n",
                "  cell_types: {{Sst: I}}\n",
                "  normalisation: none\n",
                "  windows: {{length_s: 1.49}}\n",
                "  split: {{by: trials, validation_fraction: 0.2}}\n",
                "model: {{mode: populations, units_per_population: {{Sst: 6}}, initial_state: zero,",
                " inputs: [event_change, event_omission], tau_ms: {{default: 200}}}}\n",
                "constraints: {{dale: projection}}\n",
                "training: {{dense_epochs: 3, finetune_epochs: 0, lr: 0.01, batch_size: 16}}\n",
                "output: {{dir: {}}}\n"
            ),
            out.display(),
            tmp.path().join("run").display()
        ),
    );
    let fit = common::fitrnn()
        .arg("--config")
        .arg(&run)
        .args(["--threads", "1"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&fit.get_output().stdout).to_string();
    assert!(
        text.contains("80 training windows") || text.contains("windows of 16 frames"),
        "{text}"
    );
    assert!(
        text.contains("validation  free_running") && !text.contains("NaN"),
        "{text}"
    );
}

/// Final weights of a quick fit of `data` (contract or NWB).
fn quick_fit(dir: &std::path::Path, data: &std::path::Path, name: &str) -> Vec<u8> {
    let cfg = common::write(
        dir,
        &format!("{name}.yaml"),
        &format!(
            "seed: 5\ndata:\n  path: {}\n  cell_types: {{Slc17a7: E, Sst: I}}\n  windows: {{length_s: 4}}\n\
             model: {{tau_ms: {{default: 300}}}}\nconstraints: {{dale: projection}}\n\
             training: {{dense_epochs: 3, finetune_epochs: 0, lr: 0.01, batch_size: 4}}\n\
             output: {{dir: {}}}\n",
            data.display(),
            dir.join(name).display()
        ),
    );
    common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .args(["--threads", "1"])
        .assert()
        .success();
    std::fs::read(dir.join(name).join("model/final.safetensors")).unwrap()
}

#[test]
fn the_same_data_as_contract_and_as_nwb_give_identical_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let a = quick_fit(
        tmp.path(),
        &common::fixture("nwb/pynwb_single_plane_contract.h5"),
        "contract",
    );
    let b = quick_fit(
        tmp.path(),
        &common::fixture("nwb/pynwb_single_plane.nwb"),
        "nwb",
    );
    assert_eq!(a, b, "final weights differ");
}

#[test]
fn inspect_json_reports_counts_for_scripts() {
    let out = common::fitrnn()
        .args(["inspect", "--json"])
        .arg(common::fixture("nwb/allen_vbo_like.nwb"))
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["n_neurons"], 6);
    assert_eq!(v["n_frames"], 2000);
    assert!((v["frame_rate_hz"].as_f64().unwrap() - 10.698596071523383).abs() < 1e-9);
    assert_eq!(v["areas"]["VISl"], 6);
    assert_eq!(v["cell_types"]["Sst"], 6);
    assert_eq!(v["planes"][0]["n_rois_in_file"], 8);
    assert_eq!(v["trials"]["change"], 30);
    // The snippet is a valid start of a run config: `fitrnn check` accepts it.
    let snippet = v["config_snippet"].as_str().unwrap();
    assert!(snippet.contains("format: nwb") && snippet.contains("Sst: I"));
    let tmp = tempfile::tempdir().unwrap();
    let cfg = common::write(tmp.path(), "from_inspect.yaml", snippet);
    common::fitrnn()
        .current_dir(common::root())
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .success()
        .stdout(contains("ok: config and data are valid"));
    let text = common::fitrnn()
        .arg("inspect")
        .arg(common::fixture("nwb/pynwb_two_planes.nwb"))
        .assert()
        .success();
    let s = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    assert!(
        s.contains("planes      2") && s.contains("aligned 2 planes"),
        "{s}"
    );
}

#[test]
fn two_allen_planes_fit_as_one_network_with_their_stimulus_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = common::write(
        tmp.path(),
        "allen.yaml",
        &format!(
            concat!(
                "data:\n",
                "  path: [{}, {}]\n",
                "  cell_types: {{Sst: I, Slc17a7: E}}\n",
                "  windows: {{length_s: 9}}\n",
                "model: {{hidden_units: {{Slc17a7: 4}}, inputs: [image, change, omission, running_speed]}}\n",
                "training: {{dense_epochs: 2, finetune_epochs: 0}}\n",
                "output: {{dir: {}}}\n"
            ),
            common::fixture("nwb/allen_vbo_like.nwb").display(),
            common::fixture("nwb/allen_vbo_like_plane2.nwb").display(),
            tmp.path().join("run").display()
        ),
    );
    let out = common::fitrnn()
        .arg("--config")
        .arg(&cfg)
        .args(["--threads", "1"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("2 files imaged together") && text.contains("aligned 2 planes"),
        "{text}"
    );
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("run/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["status"], "complete");
    assert_eq!(
        m["data"]["files"].as_array().unwrap().len(),
        2,
        "each file's sha256 is recorded"
    );
    let units = std::fs::read_to_string(tmp.path().join("run/config.resolved.yaml")).unwrap();
    assert!(units.contains("allen_vbo_like_plane2.nwb"));
}
