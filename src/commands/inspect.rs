//! `fitrnn inspect FILE [--json]`: what a recording holds, and the config snippet to fit it.

use crate::cli::InspectArgs;
use crate::data::celltypes::default_sign_map;
use crate::data::load::{detect, DataFormat};
use crate::data::nwb::{self, NwbOptions, NwbTraces};
use crate::data::session::{self, Plane};
use crate::data::summary::{population_counts, trials_per_condition};
use crate::data::{read_recording, ReadOptions, Recording, Sign};
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Run `fitrnn inspect`.
pub fn inspect(args: &InspectArgs) -> Result<String> {
    let v = describe(args)?;
    if args.json {
        return Ok(serde_json::to_string(&v).expect("JSON") + "\n");
    }
    Ok(render(&v))
}

fn traces_kind(s: &str) -> Result<NwbTraces> {
    match s {
        "dff" => Ok(NwbTraces::Dff),
        "events" => Ok(NwbTraces::Events),
        "fluorescence" => Ok(NwbTraces::Fluorescence),
        other => Err(Error::Unsupported {
            problem: format!("--traces {other} is not a kind of traces"),
            fix: "use --traces dff, events or fluorescence".into(),
        }),
    }
}

fn counts(values: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in values {
        *m.entry(v.clone()).or_insert(0) += 1;
    }
    m
}

/// Everything `inspect` reports, as JSON.
pub fn describe(args: &InspectArgs) -> Result<Value> {
    let path = &args.file;
    let format = detect(path, DataFormat::Auto)?;
    let opts = NwbOptions {
        traces: traces_kind(&args.traces)?,
        roi_labels: args.roi_labels.clone(),
        ..NwbOptions::default()
    };
    let (rec, planes, file_meta) = match format {
        DataFormat::Nwb => {
            let f = nwb::read_nwb(path, &opts, Default::default())?;
            let planes_json: Vec<Value> = f
                .planes
                .iter()
                .map(|p| {
                    let r = &p.recording;
                    json!({
                        "series": p.series.path,
                        "traces": p.series.container.type_name(),
                        "imaging_plane": p.plane.path,
                        "area": p.plane.location,
                        "indicator": p.plane.indicator,
                        "depth_um": p.plane.depth_um.or_else(|| {
                            // Per-ROI depths: the plane's median.
                            r.neurons.depth_um.as_ref().map(|d| {
                                let mut d = d.clone();
                                d.sort_by(f64::total_cmp);
                                d[d.len() / 2]
                            })
                        }),
                        "imaging_rate_hz_stored": p.plane.imaging_rate_hz,
                        "frame_rate_hz": r.frame_rate_hz,
                        "n_frames": r.n_frames(),
                        "n_rois_in_file": p.n_rois_in_file,
                        "n_neurons": r.n_neurons(),
                        "start_s": r.timestamps_s[0],
                        "stop_s": r.timestamps_s[r.n_frames() - 1],
                    })
                })
                .collect();
            let other: Vec<Value> = f
                .all_series
                .iter()
                .filter(|s| !f.planes.iter().any(|p| p.series.path == s.path))
                .map(|s| json!({"series": s.path, "traces": s.container.type_name()}))
                .collect();
            let meta = json!({
                "identifier": f.info.identifier,
                "session_type": f.info.session_type,
                "genotype": f.info.genotype,
                "cre_line": f.info.cre_line,
                "allen": f.info.allen,
                "other_series": other,
            });
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let joined = session::combine(
                f.planes
                    .into_iter()
                    .map(|p| Plane {
                        label: format!("{name}:{}", p.series.path),
                        recording: p.recording,
                    })
                    .collect(),
                None,
            )?;
            (joined, planes_json, meta)
        }
        _ => {
            let r = read_recording(path, &ReadOptions::default())?;
            (r, vec![], json!({}))
        }
    };
    let n = &rec.neurons;
    let pops: Vec<Value> = population_counts(&rec, &default_sign_map())
        .into_iter()
        .map(|p| json!({"area": p.area, "layer": p.layer, "cell_type": p.cell_type, "neurons": p.neurons}))
        .collect();
    let depth = n.depth_um.as_ref().map(|d| {
        let lo = d.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = d.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        json!([lo, hi])
    });
    Ok(json!({
        "path": path.display().to_string(),
        "format": match format { DataFormat::Nwb => "nwb", _ => "contract" },
        "kind": rec.kind,
        "n_neurons": rec.n_neurons(),
        "n_frames": rec.n_frames(),
        "frame_rate_hz": rec.frame_rate_hz,
        "duration_s": rec.duration_s(),
        "areas": counts(&n.area),
        "layers": counts(&n.layer),
        "cell_types": counts(&n.cell_type),
        "depth_um_range": depth,
        "populations": pops,
        "planes": planes,
        "trials": trials_per_condition(&rec),
        "inputs": rec.inputs.as_ref().map(|i| i.names.clone()).unwrap_or_default(),
        "has_ground_truth": rec.ground_truth.is_some(),
        "file": file_meta,
        "notes": rec.notes,
        "config_snippet": snippet(&rec, path, format, &opts),
    }))
}

/// The `data:` section that fits this file.
fn snippet(
    rec: &Recording,
    path: &std::path::Path,
    format: DataFormat,
    opts: &NwbOptions,
) -> String {
    let n = &rec.neurons;
    let uniq = |v: &Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for x in v {
            if !out.contains(x) {
                out.push(x.clone());
            }
        }
        out
    };
    let signs = default_sign_map();
    let mut s = String::from("data:\n");
    let _ = writeln!(s, "  path: {}", path.display());
    if format == DataFormat::Nwb {
        let _ = writeln!(s, "  format: nwb");
        let mut nwb = Vec::new();
        if opts.traces != NwbTraces::Dff {
            nwb.push(format!("traces: {}", opts.traces.kind()));
        }
        if let Some(l) = &opts.roi_labels {
            nwb.push(format!("roi_labels: {}", l.display()));
        }
        if !nwb.is_empty() {
            let _ = writeln!(s, "  nwb: {{{}}}", nwb.join(", "));
        }
    }
    let list = |v: Vec<String>| format!("[{}]", v.join(", "));
    let _ = writeln!(s, "  select:");
    let _ = writeln!(s, "    areas: {}", list(uniq(&n.area)));
    let _ = writeln!(s, "    layers: {}", list(uniq(&n.layer)));
    let _ = writeln!(s, "    cell_types: {}", list(uniq(&n.cell_type)));
    let types: Vec<String> = uniq(&n.cell_type)
        .into_iter()
        .map(|t| match signs.get(&t) {
            Some(Sign::I) => format!("{t}: I"),
            Some(Sign::E) if t != "unknown" => format!("{t}: E"),
            _ => format!("{t}: E  # unknown cell type: say whether it is E or I"),
        })
        .collect();
    let _ = writeln!(s, "  cell_types:");
    for t in types {
        let _ = writeln!(s, "    {t}");
    }
    let win = (rec.duration_s() / 20.0).clamp(1.0, 10.0);
    let _ = writeln!(s, "  windows: {{length_s: {win:.1}}}");
    // Held-out contiguous time blocks suit any file; `by: trials` suits long trials, not Allen's
    // 0.75 s flashes (no training window would fit between held-out flashes).
    let _ = writeln!(
        s,
        "  split: {{by: time, validation_fraction: 0.2, blocks: 1}}"
    );
    s
}

fn render(v: &Value) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "file        {} ({})",
        v["path"].as_str().unwrap_or(""),
        v["format"].as_str().unwrap_or("")
    );
    let f = &v["file"];
    for (key, label) in [
        ("identifier", "identifier"),
        ("session_type", "session"),
        ("genotype", "genotype"),
        ("cre_line", "cre line"),
    ] {
        if let Some(x) = f[key].as_str() {
            let _ = writeln!(s, "{label:<12}{x}");
        }
    }
    let _ = writeln!(
        s,
        "traces      {} frames × {} neurons ({}), {:.3} Hz, {:.1} s",
        v["n_frames"],
        v["n_neurons"],
        v["kind"].as_str().unwrap_or(""),
        v["frame_rate_hz"].as_f64().unwrap_or(0.0),
        v["duration_s"].as_f64().unwrap_or(0.0)
    );
    if let Some(planes) = v["planes"].as_array().filter(|p| !p.is_empty()) {
        let _ = writeln!(s, "planes      {}", planes.len());
        for p in planes {
            let _ = writeln!(
                s,
                "  {}  area {}  depth {}  {} of {} ROIs  {} frames  {:.3} Hz (stored {})  {}",
                p["series"].as_str().unwrap_or(""),
                p["area"].as_str().unwrap_or("?"),
                p["depth_um"]
                    .as_f64()
                    .map(|d| format!("{d} µm"))
                    .unwrap_or("?".into()),
                p["n_neurons"],
                p["n_rois_in_file"],
                p["n_frames"],
                p["frame_rate_hz"].as_f64().unwrap_or(0.0),
                p["imaging_rate_hz_stored"]
                    .as_f64()
                    .map(|r| format!("{r} Hz"))
                    .unwrap_or("none".into()),
                p["indicator"].as_str().unwrap_or(""),
            );
        }
    }
    if let Some(other) = f["other_series"].as_array().filter(|o| !o.is_empty()) {
        let names: Vec<String> = other
            .iter()
            .map(|o| {
                format!(
                    "{} ({})",
                    o["series"].as_str().unwrap_or(""),
                    o["traces"].as_str().unwrap_or("")
                )
            })
            .collect();
        let _ = writeln!(s, "also        {}", names.join(", "));
    }
    let pops: Vec<[String; 4]> = v["populations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            [
                p["area"].as_str().unwrap_or("").to_string(),
                p["layer"].as_str().unwrap_or("").to_string(),
                p["cell_type"].as_str().unwrap_or("").to_string(),
                p["neurons"].to_string(),
            ]
        })
        .collect();
    let head = ["area", "layer", "cell_type", "neurons"];
    let w: Vec<usize> = (0..4)
        .map(|k| {
            pops.iter()
                .map(|r| r[k].chars().count())
                .max()
                .unwrap_or(0)
                .max(head[k].len())
                .min(60) // a padding width above u16::MAX would panic
        })
        .collect();
    let _ = writeln!(s);
    let head = head.map(str::to_string);
    for r in std::iter::once(&head).chain(&pops) {
        let _ = writeln!(
            s,
            "  {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        );
    }
    let trials: Vec<String> = v["trials"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(
        s,
        "\ntrials      {}",
        if trials.is_empty() {
            "none".into()
        } else {
            trials.join(", ")
        }
    );
    let inputs: Vec<&str> = v["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str())
        .collect();
    let _ = writeln!(
        s,
        "inputs      {}",
        if inputs.is_empty() {
            "none".into()
        } else {
            inputs.join(", ")
        }
    );
    for n in v["notes"].as_array().into_iter().flatten() {
        let _ = writeln!(s, "note        {}", n.as_str().unwrap_or(""));
    }
    let _ = writeln!(
        s,
        "\nTo fit it, start a run config with:\n\n{}",
        v["config_snippet"].as_str().unwrap_or("")
    );
    s
}
