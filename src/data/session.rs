//! Several imaging planes recorded at the same time (the planes of one mesoscope session, or of
//! one NWB file) joined into one recording: aligned on their timestamps, resampled to a common
//! clock when their clocks differ, and fitted as one network.

use super::{interp, Inputs, NeuronIds, NeuronTable, Recording, Trials};
use crate::error::{Error, Result};
use ndarray::{concatenate, Array2, Axis};

/// One plane and the label that names it in messages and, when ids collide, in neuron ids.
#[derive(Debug, Clone)]
pub struct Plane {
    /// e.g. `plane_VISp.nwb:/processing/ophys/dff/traces`.
    pub label: String,
    /// Its traces and metadata.
    pub recording: Recording,
}

/// Join `planes` into one recording.
///
/// Planes with identical timestamps are joined as they are. Otherwise the traces and inputs are
/// linearly interpolated onto a regular clock at `rate_hz` (default: the slowest plane's rate, so
/// that no plane is upsampled) over the interval every plane covers. Trials come from the first
/// plane that has them, restricted to that interval; inputs are taken by name from the first plane
/// that has each. Neuron ids that repeat across planes are prefixed with the plane's number.
pub fn combine(mut planes: Vec<Plane>, rate_hz: Option<f64>) -> Result<Recording> {
    if planes.len() == 1 {
        return Ok(planes.pop().expect("one plane").recording);
    }
    let first = &planes[0].recording;
    if let Some(p) = planes.iter().find(|p| p.recording.kind != first.kind) {
        return Err(Error::data(
            &p.recording.path,
            &p.label,
            format!(
                "holds `{}` traces but {} holds `{}`",
                p.recording.kind, planes[0].label, first.kind
            ),
            "fit planes with the same kind of traces (data.nwb.traces)",
        ));
    }
    let same_clock = planes.iter().all(|p| {
        p.recording.timestamps_s.len() == first.timestamps_s.len()
            && p.recording
                .timestamps_s
                .iter()
                .zip(&first.timestamps_s)
                .all(|(a, b)| (a - b).abs() < 1e-9)
    });
    // Planes on one clock are joined as they are, unless a common rate was asked for.
    let direct = same_clock && rate_hz.is_none();
    let mut notes: Vec<String> = Vec::new();
    for n in planes.iter().flat_map(|p| p.recording.notes.iter()) {
        if !notes.contains(n) {
            notes.push(n.clone());
        }
    }
    let (t, hz) = if direct {
        (first.timestamps_s.clone(), first.frame_rate_hz)
    } else {
        let t0 = planes
            .iter()
            .map(|p| p.recording.timestamps_s[0])
            .fold(f64::NEG_INFINITY, f64::max);
        let t1 = planes
            .iter()
            .map(|p| *p.recording.timestamps_s.last().expect("frames"))
            .fold(f64::INFINITY, f64::min);
        let hz = rate_hz.unwrap_or_else(|| {
            planes
                .iter()
                .map(|p| p.recording.frame_rate_hz)
                .fold(f64::INFINITY, f64::min)
        });
        if t1 - t0 < 2.0 / hz {
            let spans = planes
                .iter()
                .map(|p| {
                    format!(
                        "{} spans {:.2}–{:.2} s",
                        p.label,
                        p.recording.timestamps_s[0],
                        p.recording.timestamps_s.last().expect("frames")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Error::data(
                &planes[0].recording.path,
                "timestamps",
                format!("the planes were not imaged at the same time: {spans}"),
                "list in data.path only planes recorded together; to pool experiments from different sessions or mice, build a trial-averaged dataset with `fitrnn dataset`",
            ));
        }
        let n = ((t1 - t0) * hz + 1e-9).floor() as usize + 1;
        let t: Vec<f64> = (0..n).map(|k| t0 + k as f64 / hz).collect();
        notes.push(format!(
            "aligned {} planes on a common clock: {hz:.3} Hz from {t0:.3} to {:.3} s ({n} frames; plane rates {})",
            planes.len(),
            t[n - 1],
            planes
                .iter()
                .map(|p| format!("{:.3}", p.recording.frame_rate_hz))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        (t, hz)
    };
    let resampled: Vec<Array2<f32>> = planes
        .iter()
        .map(|p| {
            if direct {
                p.recording.traces.clone()
            } else {
                interp::columns(&p.recording.timestamps_s, &p.recording.traces, &t)
            }
        })
        .collect();
    let views: Vec<_> = resampled.iter().map(|a| a.view()).collect();
    let traces = concatenate(Axis(1), &views).expect("same number of frames");

    let neurons = join_neurons(&planes, &mut notes);
    let inputs = join_inputs(&planes, &t, direct);
    let trials = planes
        .iter()
        .find_map(|p| p.recording.trials.clone())
        .map(|tr| {
            let end = t[t.len() - 1] + 1.0 / hz;
            let keep: Vec<usize> = (0..tr.start_s.len())
                .filter(|&i| tr.start_s[i] >= t[0] && tr.stop_s[i] <= end)
                .collect();
            Trials {
                start_s: keep.iter().map(|&i| tr.start_s[i]).collect(),
                stop_s: keep.iter().map(|&i| tr.stop_s[i]).collect(),
                condition: keep.iter().map(|&i| tr.condition[i].clone()).collect(),
            }
        });
    if planes
        .iter()
        .any(|p| !p.recording.dropped_frames.is_empty())
    {
        notes.push(
            "frames dropped for NaN in a plane were bridged by interpolation when aligning planes"
                .into(),
        );
    }
    let first = &planes[0].recording;
    Ok(Recording {
        path: first.path.clone(),
        traces,
        kind: first.kind.clone(),
        timestamps_s: t,
        frame_rate_hz: hz,
        neurons,
        inputs,
        trials: trials.filter(|t| !t.start_s.is_empty()),
        ground_truth: None,
        dropped_frames: vec![],
        notes,
    })
}

fn join_neurons(planes: &[Plane], notes: &mut Vec<String>) -> NeuronTable {
    let labels: Vec<String> = planes
        .iter()
        .flat_map(|p| {
            let id = &p.recording.neurons.id;
            (0..id.len()).map(|i| id.label(i)).collect::<Vec<_>>()
        })
        .collect();
    let mut sorted = labels.clone();
    sorted.sort();
    sorted.dedup();
    let all_int = planes
        .iter()
        .all(|p| matches!(p.recording.neurons.id, NeuronIds::Int(_)));
    let id = if sorted.len() == labels.len() && all_int {
        NeuronIds::Int(
            planes
                .iter()
                .flat_map(|p| match &p.recording.neurons.id {
                    NeuronIds::Int(v) => v.clone(),
                    NeuronIds::Text(_) => unreachable!("checked all_int"),
                })
                .collect(),
        )
    } else if sorted.len() == labels.len() {
        NeuronIds::Text(labels)
    } else {
        notes.push("neuron ids repeat across planes: ids are written `plane<k>:<id>`".into());
        NeuronIds::Text(
            planes
                .iter()
                .enumerate()
                .flat_map(|(k, p)| {
                    let id = &p.recording.neurons.id;
                    (0..id.len())
                        .map(move |i| format!("plane{k}:{}", id.label(i)))
                        .collect::<Vec<_>>()
                })
                .collect(),
        )
    };
    let cat = |f: &dyn Fn(&NeuronTable) -> &Vec<String>| -> Vec<String> {
        planes
            .iter()
            .flat_map(|p| f(&p.recording.neurons).clone())
            .collect()
    };
    let depth_um = planes
        .iter()
        .all(|p| p.recording.neurons.depth_um.is_some())
        .then(|| {
            planes
                .iter()
                .flat_map(|p| p.recording.neurons.depth_um.clone().expect("checked"))
                .collect()
        });
    NeuronTable {
        id,
        area: cat(&|n| &n.area),
        layer: cat(&|n| &n.layer),
        cell_type: cat(&|n| &n.cell_type),
        depth_um,
    }
}

fn join_inputs(planes: &[Plane], t: &[f64], same_clock: bool) -> Option<Inputs> {
    let mut names: Vec<String> = Vec::new();
    let mut cols: Vec<Vec<f32>> = Vec::new();
    for p in planes {
        let Some(inp) = &p.recording.inputs else {
            continue;
        };
        let values = if same_clock {
            inp.values.clone()
        } else {
            interp::columns(&p.recording.timestamps_s, &inp.values, t)
        };
        for (k, name) in inp.names.iter().enumerate() {
            if !names.contains(name) {
                names.push(name.clone());
                cols.push(values.column(k).to_vec());
            }
        }
    }
    (!names.is_empty()).then(|| Inputs {
        values: Array2::from_shape_fn((t.len(), names.len()), |(f, k)| cols[k][f]),
        names,
    })
}
