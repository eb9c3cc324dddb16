//! The dataset stage: split, windows, normalisation from training frames only, resampling.

use fitrnn::config::Config;
use fitrnn::data::{NeuronIds, NeuronTable, Recording, Trials};
use fitrnn::dataset::{resample, Dataset};
use ndarray::Array2;
use std::path::Path;

fn recording(n_frames: usize, rate: f64) -> Recording {
    // Neuron 0: a ramp; neuron 1: a sine; the last 20 % carry a large offset.
    let traces = Array2::from_shape_fn((n_frames, 2), |(t, n)| {
        let base = if n == 0 {
            t as f32 * 0.01
        } else {
            (t as f32 * 0.3).sin()
        };
        base + if t >= n_frames * 8 / 10 { 5.0 } else { 0.0 }
    });
    Recording {
        path: "mem.h5".into(),
        traces,
        kind: "dff".into(),
        timestamps_s: (0..n_frames).map(|t| t as f64 / rate).collect(),
        frame_rate_hz: rate,
        neurons: NeuronTable {
            id: NeuronIds::Int(vec![0, 1]),
            area: vec!["VISp".into(); 2],
            layer: vec!["L2/3".into(); 2],
            cell_type: vec!["Slc17a7".into(), "Sst".into()],
            depth_um: None,
        },
        inputs: None,
        trials: Some(Trials {
            start_s: (0..20).map(|k| k as f64 * 4.0).collect(),
            stop_s: (0..20).map(|k| k as f64 * 4.0 + 2.0).collect(),
            condition: (0..20)
                .map(|k| {
                    if k % 2 == 0 {
                        "change".into()
                    } else {
                        "omission".into()
                    }
                })
                .collect(),
        }),
        ground_truth: None,
        dropped_frames: vec![],
        notes: vec![],
    }
}

fn config(extra: &str) -> Config {
    let text = format!("data:\n  path: mem.h5\n  windows: {{length_s: 2.0}}\n{extra}");
    Config::parse(Path::new("t.yaml"), &text, &[]).unwrap()
}

#[test]
fn time_split_holds_out_the_end_of_each_block_and_windows_stay_inside() {
    let rec = recording(1000, 10.0);
    let cfg = config("  split: {by: time, validation_fraction: 0.2, blocks: 2}\n");
    let ds = Dataset::build(&cfg, rec, Path::new("t.yaml")).unwrap();
    let val: Vec<usize> = (0..1000).filter(|&f| !ds.split.is_train[f]).collect();
    assert_eq!(val.len(), 200);
    assert_eq!((val[0], val[99], val[100], val[199]), (400, 499, 900, 999));
    for w in &ds.train_windows {
        assert_eq!(w.len, 20);
        assert!(
            (w.start..w.start + w.len).all(|f| ds.split.is_train[f]),
            "{w:?} crosses the split"
        );
    }
    for w in &ds.validation_windows {
        assert!(
            (w.start..w.start + w.len).all(|f| !ds.split.is_train[f]),
            "{w:?}"
        );
    }
    assert_eq!(
        ds.train_windows.len(),
        40,
        "2 × 400 training frames in windows of 20"
    );
    assert_eq!(ds.validation_windows.len(), 10);
}

#[test]
fn zscore_statistics_come_from_training_frames_only() {
    let rec = recording(1000, 10.0);
    let cfg = config("  normalisation: zscore\n  split: {by: time, validation_fraction: 0.2}\n");
    let ds = Dataset::build(&cfg, rec, Path::new("t.yaml")).unwrap();
    for n in 0..2 {
        let train: Vec<f64> = (0..800).map(|f| ds.y[[f, n]] as f64).collect();
        let mean = train.iter().sum::<f64>() / 800.0;
        let sd = (train.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 800.0).sqrt();
        assert!(
            mean.abs() < 1e-4 && (sd - 1.0).abs() < 1e-4,
            "neuron {n}: mean {mean}, sd {sd}"
        );
        // The validation offset of +5 is not normalised away: no leakage.
        let val_mean = (800..1000).map(|f| ds.y[[f, n]] as f64).sum::<f64>() / 200.0;
        assert!(val_mean > 1.0, "neuron {n}: validation mean {val_mean}");
    }
}

#[test]
fn baseline_normalisation_subtracts_the_training_percentile() {
    let rec = recording(1000, 10.0);
    let cfg = config("  normalisation: baseline\n  baseline_percentile: 0\n");
    let ds = Dataset::build(&cfg, rec.clone(), Path::new("t.yaml")).unwrap();
    assert_eq!(ds.normalisation[0], (0.0, 1.0), "ramp starts at 0");
    assert_eq!(ds.y[[10, 0]], rec.traces[[10, 0]]);
}

#[test]
fn windows_do_not_cross_gaps_left_by_dropped_frames() {
    let mut rec = recording(400, 10.0);
    // Frames 95..105 were dropped: remove them and keep the original clock.
    let keep: Vec<usize> = (0..400).filter(|f| !(95..105).contains(f)).collect();
    rec.traces = rec.traces.select(ndarray::Axis(0), &keep);
    rec.timestamps_s = keep.iter().map(|&f| f as f64 / 10.0).collect();
    rec.trials = None;
    let cfg = config("  split: {validation_fraction: 0.0}\n");
    let ds = Dataset::build(&cfg, rec, Path::new("t.yaml")).unwrap();
    for w in &ds.train_windows {
        assert!(
            !(w.start < 95 && w.start + w.len > 95),
            "{w:?} spans the gap"
        );
    }
    assert_eq!(
        ds.train_windows.len(),
        4 + 14,
        "95 frames → 4 windows, 295 → 14"
    );
}

#[test]
fn trial_split_holds_out_whole_trials_of_every_condition() {
    let rec = recording(1000, 10.0);
    let cfg = config("  split: {by: trials, validation_fraction: 0.25}\n");
    let ds = Dataset::build(&cfg, rec.clone(), Path::new("t.yaml")).unwrap();
    let tr = rec.trials.as_ref().unwrap();
    let held: Vec<&String> = ds
        .split
        .validation_trials
        .iter()
        .map(|&i| &tr.condition[i])
        .collect();
    assert!(held.iter().any(|c| *c == "change") && held.iter().any(|c| *c == "omission"));
    assert_eq!(
        ds.split.validation_trials.len(),
        6,
        "every 4th of 10 trials per condition, from the last"
    );
    for &i in &ds.split.validation_trials {
        for (f, t) in rec.timestamps_s.iter().enumerate() {
            if *t >= tr.start_s[i] && *t < tr.stop_s[i] {
                assert!(!ds.split.is_train[f]);
            }
        }
    }
}

#[test]
fn resampling_a_linear_signal_is_exact() {
    let rec = recording(300, 30.0);
    let r = resample(&rec, 10.0);
    assert_eq!(r.n_frames(), 100, "299/30 s at 10 Hz → 100 frames");
    for k in 0..r.n_frames() {
        let t = r.timestamps_s[k];
        let want = (t * 30.0 * 0.01) as f32; // neuron 0 is 0.01 per original frame, before the offset
        if t * 30.0 < 239.0 {
            assert!((r.traces[[k, 0]] - want).abs() < 1e-5, "t = {t}");
        }
    }
    assert_eq!(r.frame_rate_hz, 10.0);
}

#[test]
fn no_window_crosses_a_pause_between_joined_sessions() {
    // Two sessions of 500 frames at 10 Hz joined with 600 s between them.
    let mut rec = recording(1000, 10.0);
    for t in rec.timestamps_s.iter_mut().skip(500) {
        *t += 600.0;
    }
    assert_eq!(rec.gaps().len(), 1);
    let (frame, seconds) = rec.gaps()[0];
    assert_eq!(frame, 500);
    assert!((seconds - 600.1).abs() < 1e-9);
    let summary = fitrnn::data::summary::render(&rec, &Default::default(), "");
    assert!(
        summary.contains("gaps        1 pause(s)")
            && summary.contains("600.10 s, before frame 500"),
        "{summary}"
    );
    // Resampling invents nothing inside the pause, and keeps it.
    let slow = resample(&rec, 5.0);
    assert!(slow
        .timestamps_s
        .iter()
        .all(|&t| t <= 49.9 + 1e-9 || t >= 650.0 - 1e-9));
    assert_eq!(slow.n_frames(), 250 + 250);
    assert_eq!(slow.gaps().len(), 1);
    // Windows of 2 s (20 frames) every 15 frames: frames 495..515 would cross the pause.
    let text = "data:\n  path: mem.h5\n  windows: {length_s: 2.0, stride_s: 1.5}\n";
    let cfg = Config::parse(Path::new("t.yaml"), text, &[]).unwrap();
    let ds = Dataset::build(&cfg, rec, Path::new("t.yaml")).unwrap();
    for w in ds.train_windows.iter().chain(&ds.validation_windows) {
        assert!(
            w.start + w.len <= 500 || w.start >= 500,
            "{w:?} crosses the pause before frame 500"
        );
    }
    assert!(
        ds.train_windows.iter().any(|w| w.start == 500),
        "the second session starts a window"
    );
}

#[test]
fn a_stride_shorter_than_a_frame_is_refused_not_rounded_up() {
    // At 10 Hz, 1 ns would become one window per frame: slow, and not what was asked.
    let parse = |stride: &str| {
        let text =
            format!("data:\n  path: mem.h5\n  windows: {{length_s: 2.0, stride_s: {stride}}}\n");
        Config::parse(Path::new("t.yaml"), &text, &[]).unwrap()
    };
    let cfg = parse("1.0e-9");
    let err = Dataset::build(&cfg, recording(1000, 10.0), Path::new("t.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data.windows.stride_s")
            && err.contains("shorter than a frame (0.1000 s at 10 Hz)"),
        "{err}"
    );
    // One frame is a stride.
    let cfg = parse("0.1");
    let ds = Dataset::build(&cfg, recording(1000, 10.0), Path::new("t.yaml")).unwrap();
    let starts: Vec<usize> = ds.train_windows.iter().take(3).map(|w| w.start).collect();
    assert_eq!(starts, [0, 1, 2]);
    // The evaluation and the analyses score the training frames side by side: no frame twice,
    // and no more work for the overlap.
    let scored: Vec<usize> = ds.train_scored.iter().take(3).map(|w| w.start).collect();
    assert_eq!(scored, [0, 20, 40]);
    assert!(
        ds.train_scored.len() * 20 <= 1000 && ds.train_windows.len() > 10 * ds.train_scored.len()
    );
    // Without a stride they are the training windows.
    let ds = Dataset::build(&parse("2.0"), recording(1000, 10.0), Path::new("t.yaml")).unwrap();
    assert_eq!(ds.train_scored, ds.train_windows);
}

#[test]
fn every_validation_frame_is_scored_when_the_blocks_do_not_end_on_a_whole_window() {
    // 2 blocks of 500 frames, 15 % held out: validation runs of 75 frames, windows of 20.
    let rec = recording(1000, 10.0);
    let cfg = config("  split: {by: time, validation_fraction: 0.15, blocks: 2}\n");
    let ds = Dataset::build(&cfg, rec, Path::new("t.yaml")).unwrap();
    let val: Vec<usize> = (0..1000).filter(|&f| !ds.split.is_train[f]).collect();
    assert_eq!(val.len(), 150);
    // The loss's windows are whole: 3 per run, 15 frames of each run left out.
    assert_eq!(ds.validation_windows.len(), 6);
    assert!(ds.validation_windows.iter().all(|w| w.len == 20));
    // The scored windows cover every validation frame once: 3 whole and one of 15 per run.
    let mut covered: Vec<usize> = ds
        .validation_scored
        .iter()
        .flat_map(|w| w.start..w.start + w.len)
        .collect();
    covered.sort();
    assert_eq!(covered, val);
    let lens: Vec<usize> = ds.validation_scored.iter().map(|w| w.len).collect();
    assert_eq!(lens, [20, 20, 20, 15, 20, 20, 20, 15]);
}

/// The simulator's indicator integrates the true rates; deconvolving its dF/F with its decays
/// gives traces that follow the true rates more closely than the dF/F itself.
#[test]
fn deconvolution_brings_the_traces_closer_to_the_rates_the_indicator_integrated() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::common::simulate_small_with(
        tmp.path(),
        240.0,
        0.1,
        &["observation.save_rates=true"],
    );
    let rec = fitrnn::data::read_recording(&data, &Default::default()).unwrap();
    let gt = rec.ground_truth.clone().unwrap();
    let rates = gt.rates.clone().unwrap();
    let build = |extra: &str| {
        let text = format!(
            "data:\n  path: {}\n  windows: {{length_s: 2.0}}\n  normalisation: none\n{extra}",
            data.display()
        );
        let cfg = Config::parse(Path::new("t.yaml"), &text, &[]).unwrap();
        Dataset::build(&cfg, rec.clone(), Path::new("t.yaml")).unwrap()
    };
    let raw = build("");
    // The simulator's decays (configs/simulate_mouse_v1.yaml).
    let dec = build(
        "  deconvolve: {decay_ms: {Slc17a7: 600, Pvalb: 400, default: 500}, smooth_frames: 1.5}\n",
    );
    let mean_r = |ds: &Dataset| {
        let mut sum = 0.0;
        for c in 0..ds.y.ncols() {
            let sim = gt
                .recorded_index
                .iter()
                .position(|&k| k == c as i64)
                .unwrap();
            let (a, b): (Vec<f64>, Vec<f64>) = (0..ds.y.nrows())
                .map(|t| (ds.y[[t, c]] as f64, rates[[t, sim]] as f64))
                .unzip();
            sum += fitrnn::stats::pearson(&a, &b);
        }
        sum / ds.y.ncols() as f64
    };
    let (r_raw, r_dec) = (mean_r(&raw), mean_r(&dec));
    // Measured 0.35 → 0.72 here (0.37 → 0.73 on a 15-minute recording of the full network).
    assert!(
        r_dec > r_raw + 0.2,
        "dF/F r {r_raw:.2}, deconvolved r {r_dec:.2}"
    );
    assert!(dec
        .recording
        .notes
        .iter()
        .any(|n| n.contains("deconvolved")));
}

#[test]
fn deconvolution_without_a_decay_for_a_cell_type_names_the_key_and_the_type() {
    let cfg = config("  deconvolve: {decay_ms: {Slc17a7: 600}}\n");
    let err = Dataset::build(&cfg, recording(200, 10.0), Path::new("t.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data.deconvolve.decay_ms") && err.contains("Sst"),
        "{err}"
    );
    let err = Config::parse(
        Path::new("t.yaml"),
        "data:\n  path: mem.h5\n  deconvolve: {decay_ms: {default: -5}}\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("data.deconvolve.decay_ms.default"), "{err}");
    let err = Config::parse(
        Path::new("t.yaml"),
        "data:\n  path: mem.h5\n  deconvolve: {decay_ms: {default: 500}}\nmodel:\n  observation: calcium\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("through the indicator twice")
            && err.contains("model.observation: rate")
            && !err.contains("observation: rates"),
        "{err}"
    );
    // A smoothing wider than any recording is refused, not allocated.
    let err = Config::parse(
        Path::new("t.yaml"),
        "data:\n  path: mem.h5\n  deconvolve: {decay_ms: {default: 500}, smooth_frames: 1e9}\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("data.deconvolve.smooth_frames"), "{err}");
}

#[test]
fn a_resampling_rate_that_invents_frames_or_leaves_none_is_refused() {
    for (hz, says) in [(1e6, "more than 10×"), (1e-6, "leaves 1 frame")] {
        let cfg = config(&format!("  resample_hz: {hz}\n"));
        let err = Dataset::build(&cfg, recording(1000, 10.0), Path::new("t.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data.resample_hz") && err.contains(says),
            "{hz} Hz: {err}"
        );
    }
    let cfg = config("  resample_hz: 5\n");
    assert!(Dataset::build(&cfg, recording(1000, 10.0), Path::new("t.yaml")).is_ok());
}

/// When every stretch between pauses is shorter than a window, the error names the pauses and
/// the longest window that fits, not the validation fraction.
#[test]
fn windows_longer_than_every_stretch_between_pauses_are_refused_naming_the_pauses() {
    // 1000 frames at 10 Hz with a 20-s pause after every 100 frames.
    let mut rec = recording(1000, 10.0);
    for (k, t) in rec.timestamps_s.iter_mut().enumerate() {
        *t += (k / 100) as f64 * 20.0;
    }
    let cfg = Config::parse(
        Path::new("t.yaml"),
        "data:\n  path: mem.h5\n  windows: {length_s: 11.0}\n",
        &[],
    )
    .unwrap();
    let err = Dataset::build(&cfg, rec, Path::new("t.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data.windows.length_s")
            && err.contains("9 pauses")
            && err.contains("at most 100 frames")
            && err.contains("at most 10.00 s"),
        "{err}"
    );
}

/// A per-cell-type key in another letter case is a typo that would silently give its neurons the
/// `default`: refused. A key no neuron has is noted (one config may serve several recordings).
#[test]
fn per_type_keys_in_another_case_are_refused_and_absent_types_are_noted() {
    for (extra, key, fix) in [
        (
            "model:\n  tau_ms: {sst: 80, default: 400}\n",
            "model.tau_ms.sst",
            "write `Sst`",
        ),
        (
            "  deconvolve: {decay_ms: {default: 500, slc17a7: 600}}\n",
            "data.deconvolve.decay_ms.slc17a7",
            "write `Slc17a7`",
        ),
    ] {
        let err = Dataset::build(&config(extra), recording(200, 10.0), Path::new("t.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key) && err.contains(fix), "{err}");
    }
    let ok = config("model:\n  tau_ms: {Vip: 120, Sst: 80}\n");
    let ds = Dataset::build(&ok, recording(200, 10.0), Path::new("t.yaml")).unwrap();
    assert!(
        ds.recording
            .notes
            .iter()
            .any(|n| n == "model.tau_ms names Vip, which no neuron of this recording has"),
        "{:?}",
        ds.recording.notes
    );
}
