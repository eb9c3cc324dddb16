//! Trials and measured inputs from an NWB file's `/intervals` tables and behaviour modules:
//! Allen stimulus presentations (image flashes, changes, omissions), a generic `/intervals/trials`
//! table, and running speed.

use super::options::{NwbOptions, NwbTrials};
use crate::data::h5util::{self, join};
use crate::data::{Inputs, Trials};
use crate::error::{Error, Result};
use hdf5::Group;
use ndarray::Array2;
use std::path::Path;

/// Trials, inputs and notes read from a file, on the frames of one plane.
#[derive(Debug, Clone, Default)]
pub struct Stimulus {
    /// Trials inside the recording.
    pub trials: Option<Trials>,
    /// Inputs `[n_frames, n_inputs]`: `image`, `change`, `omission` (1 while the flash is on) and
    /// `running_speed` (cm/s, interpolated) when the file has them.
    pub inputs: Option<Inputs>,
    /// What the reader did (tables used, trials outside the recording left out).
    pub notes: Vec<String>,
}

/// One stimulus event.
struct Event {
    start: f64,
    stop: f64,
    condition: String,
}

/// Read trials and inputs for frames at `t` (seconds) sampled at `rate_hz`.
pub fn read_stimulus(
    file: &Path,
    root: &Group,
    t: &[f64],
    rate_hz: f64,
    opts: &NwbOptions,
) -> Result<Stimulus> {
    let mut out = Stimulus::default();
    let presentations = match opts.trials {
        NwbTrials::Auto | NwbTrials::Presentations => presentation_events(file, root)?,
        _ => None,
    };
    if opts.trials == NwbTrials::Presentations && presentations.is_none() {
        return Err(Error::data(
            file,
            "/intervals",
            "no stimulus presentation table with `is_change` or `omitted` columns",
            "use data.nwb.trials: trials (for /intervals/trials), or none",
        ));
    }
    let mut events = None;
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<Vec<f32>> = Vec::new();
    if let Some((tables, ev)) = presentations {
        out.notes.push(format!(
            "trials: one per stimulus flash from {} (conditions change / omission / image)",
            tables.join(", ")
        ));
        for (name, cond) in [
            ("image", "image"),
            ("change", "change"),
            ("omission", "omission"),
        ] {
            let mut col = vec![0f32; t.len()];
            for e in ev
                .iter()
                .filter(|e| e.condition == cond || (name == "image" && e.condition == "change"))
            {
                let a = t.partition_point(|&x| x < e.start);
                let b = t.partition_point(|&x| x < e.stop.max(e.start + 0.5 / rate_hz));
                for v in &mut col[a..b] {
                    *v = 1.0;
                }
            }
            names.push(name.into());
            columns.push(col);
        }
        events = Some(ev);
    } else if matches!(opts.trials, NwbTrials::Auto | NwbTrials::Trials) {
        if let Ok(g) = root.group("intervals/trials") {
            events = Some(trial_events(file, &g, &opts.trial_condition)?);
            out.notes.push(format!(
                "trials: /intervals/trials (condition column `{}`)",
                opts.trial_condition
            ));
        } else if opts.trials == NwbTrials::Trials {
            return Err(Error::data(
                file,
                "/intervals/trials",
                "is missing",
                "use data.nwb.trials: none, or add a trials table",
            ));
        }
    }
    if let Some(ev) = events {
        let (t0, t1) = (t[0], t[t.len() - 1] + 1.0 / rate_hz);
        let inside: Vec<&Event> = ev
            .iter()
            .filter(|e| e.start >= t0 && e.stop <= t1)
            .collect();
        if inside.len() < ev.len() {
            out.notes.push(format!(
                "trials: left out {} of {} that are not wholly inside the imaging ({t0:.2}–{t1:.2} s)",
                ev.len() - inside.len(),
                ev.len()
            ));
        }
        if !inside.is_empty() {
            out.trials = Some(Trials {
                start_s: inside.iter().map(|e| e.start).collect(),
                stop_s: inside.iter().map(|e| e.stop).collect(),
                condition: inside.iter().map(|e| e.condition.clone()).collect(),
            });
        }
    }
    if let Some(speed) = running_speed(file, root, t)? {
        names.push("running_speed".into());
        columns.push(speed);
    }
    if !names.is_empty() {
        let values = Array2::from_shape_fn((t.len(), names.len()), |(f, k)| columns[k][f]);
        out.inputs = Some(Inputs { names, values });
    }
    Ok(out)
}

fn f64_column(file: &Path, g: &Group, name: &str) -> Result<Vec<f64>> {
    let ds = h5util::dataset(
        file,
        g,
        name,
        "a TimeIntervals table needs start_time and stop_time",
    )?;
    h5util::read_f64_1d(file, &ds, "[n_rows]")
}

fn bool_column(file: &Path, g: &Group, name: &str, n: usize) -> Result<Vec<bool>> {
    if !g.link_exists(name) {
        return Ok(vec![false; n]);
    }
    let ds = g
        .dataset(name)
        .map_err(|e| Error::hdf5(file, join(g, name), e))?;
    let v = h5util::read_bool_1d(file, &ds)?;
    if v.len() != n {
        return Err(Error::data(
            file,
            ds.name(),
            format!("has {} rows, but start_time has {n}", v.len()),
            "every column of an interval table has one value per row",
        ));
    }
    Ok(v)
}

/// Allen's `/intervals/*_presentations` tables with `is_change` / `omitted`: one event per row,
/// sorted by start time. Returns the table names used and the events.
fn presentation_events(file: &Path, root: &Group) -> Result<Option<(Vec<String>, Vec<Event>)>> {
    let Ok(intervals) = root.group("intervals") else {
        return Ok(None);
    };
    let mut names = intervals.member_names().unwrap_or_default();
    names.sort();
    let mut used = Vec::new();
    let mut events = Vec::new();
    for name in names {
        let Ok(g) = intervals.group(&name) else {
            continue;
        };
        if !name.ends_with("_presentations")
            || !(g.link_exists("is_change") || g.link_exists("omitted"))
        {
            continue;
        }
        let start = f64_column(file, &g, "start_time")?;
        let stop = f64_column(file, &g, "stop_time")?;
        let n = start.len();
        let change = bool_column(file, &g, "is_change", n)?;
        let omitted = bool_column(file, &g, "omitted", n)?;
        for i in 0..n {
            let condition = if omitted[i] {
                "omission"
            } else if change[i] {
                "change"
            } else {
                "image"
            };
            // Omitted flashes have no stop frame in the stimulus log; AllenSDK fills 0.25 s.
            let stop_i = if stop[i].is_finite() {
                stop[i]
            } else {
                start[i] + 0.25
            };
            if start[i].is_finite() {
                events.push(Event {
                    start: start[i],
                    stop: stop_i,
                    condition: condition.into(),
                });
            }
        }
        used.push(g.name());
    }
    if used.is_empty() {
        return Ok(None);
    }
    events.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(Some((used, events)))
}

/// A generic `/intervals/trials` table.
fn trial_events(file: &Path, g: &Group, condition_col: &str) -> Result<Vec<Event>> {
    let start = f64_column(file, g, "start_time")?;
    let stop = f64_column(file, g, "stop_time")?;
    let condition = if g.link_exists(condition_col) {
        let ds = g
            .dataset(condition_col)
            .map_err(|e| Error::hdf5(file, join(g, condition_col), e))?;
        h5util::read_strings(file, &ds, "[n_trials]")?
    } else {
        vec!["all".to_string(); start.len()]
    };
    if stop.len() != start.len() || condition.len() != start.len() {
        return Err(Error::data(
            file,
            g.name(),
            "start_time, stop_time and the condition column differ in length",
            "every column of the trials table has one value per trial",
        ));
    }
    Ok((0..start.len())
        .map(|i| Event {
            start: start[i],
            stop: stop[i],
            condition: condition[i].clone(),
        })
        .collect())
}

/// `/processing/running/speed` (cm/s) linearly interpolated at the frame times.
fn running_speed(file: &Path, root: &Group, t: &[f64]) -> Result<Option<Vec<f32>>> {
    let Ok(g) = root.group("processing/running/speed") else {
        return Ok(None);
    };
    let data = h5util::read_f64_1d(
        file,
        &h5util::dataset(file, &g, "data", "a TimeSeries needs data")?,
        "[n]",
    )?;
    let ts = h5util::read_f64_1d(
        file,
        &h5util::dataset(file, &g, "timestamps", "running speed needs timestamps")?,
        "[n]",
    )?;
    if ts.len() != data.len() || ts.len() < 2 {
        return Err(Error::data(
            file,
            g.name(),
            format!("{} values but {} timestamps", data.len(), ts.len()),
            "one timestamp per running-speed sample",
        ));
    }
    Ok(Some(
        t.iter()
            .map(|&x| crate::data::interp::linear(&ts, &data, x) as f32)
            .collect(),
    ))
}
