//! The text and tables of the report, each built from the run's files: provenance, data summary,
//! fit metrics, strongest interactions, diagnostics and perturbation effects. A section whose
//! input is missing becomes a note.

use super::figures::blocks::covers;
use super::html::{duration, escape, key_values, note, num, table, utc};
use super::inputs::{Need, RunFiles};
use serde_json::Value;

/// A section's HTML, or a note saying why it is missing.
pub fn or_note(built: Need<String>, what: &str) -> String {
    built.unwrap_or_else(|reason| note(&format!("{what} not available: {reason}.")))
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn seconds(v: &Value) -> String {
    v.as_f64().map(duration).unwrap_or_else(|| "–".into())
}

/// Provenance from `manifest.json`: version, commit, seed, device, data, times, config.
pub fn provenance(run: &RunFiles) -> String {
    let m = &run.manifest;
    let when = |k: &str| m[k].as_f64().map(utc).unwrap_or_else(|| "–".into());
    let mut rows = vec![
        ("fitrnn version", text(&m["fitrnn_version"])),
        ("git commit", text(&m["git_commit"])),
        ("seed", text(&m["seed"])),
        ("device", text(&m["device"])),
        ("threads", text(&m["threads"])),
        ("data file", text(&m["data"]["path"])),
        ("data sha256", text(&m["data"]["sha256"])),
        ("config", text(&m["config"])),
        ("started", when("started_unix_s")),
        ("finished", when("finished_unix_s")),
    ];
    if let Some(resumed) = m["resumed_unix_s"].as_f64() {
        rows.push(("resumed", utc(resumed)));
    }
    if let Some(phases) = m["wall_s_per_phase"].as_object() {
        for (phase, s) in phases {
            rows.push(("wall time", format!("{phase}: {}", seconds(s))));
        }
    }
    if !m["analysis_wall_s"]["total"].is_null() {
        rows.push((
            "wall time",
            format!("analysis: {}", seconds(&m["analysis_wall_s"]["total"])),
        ));
    }
    if let Some(cmd) = m["command_line"].as_array() {
        let words: Vec<String> = cmd.iter().map(text).collect();
        rows.push(("command line", words.join(" ")));
    }
    key_values(&rows)
}

/// Units per area, layer, cell type and sign, and frames per split.
pub fn data_summary(run: &RunFiles) -> Need<String> {
    let u = run.table("units")?;
    let (area, layer, ct, sign) = (
        u.texts("area")?,
        u.texts("layer")?,
        u.texts("cell_type")?,
        u.texts("sign")?,
    );
    let ids = u.strs("neuron_id")?;
    type Population<'a> = (&'a str, &'a str, &'a str, &'a str);
    let mut groups: Vec<(Population, usize)> = Vec::new();
    for i in 0..u.len() {
        let key = (area[i], layer[i], ct[i], sign[i]);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => groups.push((key, 1)),
        }
    }
    let count = |s: &str| sign.iter().filter(|x| **x == s).count();
    let hidden = ids.iter().filter(|x| x.is_none()).count();
    let mut html = format!(
        "<p>{} units: {} excitatory (E), {} inhibitory (I); {} recorded neurons{}.</p>\n",
        u.len(),
        count("E"),
        count("I"),
        u.len() - hidden,
        if hidden > 0 {
            format!(", {hidden} hidden units")
        } else {
            String::new()
        }
    );
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|((a, l, c, s), n)| {
            vec![
                a.to_string(),
                l.to_string(),
                c.to_string(),
                s.to_string(),
                n.to_string(),
            ]
        })
        .collect();
    html += &table(&["area", "layer", "cell type", "sign", "#units"], &rows);
    html += &or_note(frames_per_split(run), "Frames per split");
    Ok(html)
}

fn frames_per_split(run: &RunFiles) -> Need<String> {
    let s = run.table("split")?;
    let (split, time) = (s.texts("split")?, s.f64s("time_s")?);
    let mut rows: Vec<(String, usize, f64, f64)> = Vec::new();
    for (sp, t) in split.iter().zip(&time) {
        match rows.iter_mut().find(|r| r.0 == *sp) {
            Some(r) => {
                r.1 += 1;
                r.2 = r.2.min(*t);
                r.3 = r.3.max(*t);
            }
            None => rows.push((sp.to_string(), 1, *t, *t)),
        }
    }
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(sp, n, a, b)| vec![sp, n.to_string(), format!("{a:.1}–{b:.1}")])
        .collect();
    Ok(table(&["split", "#frames", "time span (s)"], &rows))
}

/// The pooled validation metrics per mode.
pub fn metrics(run: &RunFiles) -> Need<String> {
    let m = run.table("metrics")?;
    let (id, split, mode) = (m.strs("neuron_id")?, m.texts("split")?, m.texts("mode")?);
    let (r2, pvar, r) = (m.f64s("r2")?, m.f64s("pvar")?, m.f64s("pearson_r")?);
    let rows: Vec<Vec<String>> = (0..m.len())
        .filter(|&i| id[i].is_none() && split[i] == "validation")
        .map(|i| {
            vec![
                mode[i].replace('_', " "),
                num(pvar[i]),
                num(r2[i]),
                num(r[i]),
            ]
        })
        .collect();
    if rows.is_empty() {
        return Err("tables/metrics.parquet has no pooled validation rows".into());
    }
    Ok(format!(
        "<p>Pooled over all neurons on the validation frames. <em>free running</em>: the model driven \
         only by the task inputs; <em>teacher forced</em>: one-step predictions from the recorded state; \
         <em>train mean baseline</em>: predicting each neuron's training mean.</p>\n{}",
        table(&["mode", "#explained variance (pvar)", "#r²", "#Pearson r"], &rows)
    ))
}

/// Validation free-running fit per population: neurons, median r², best neuron.
pub fn fit_by_population(run: &RunFiles) -> Need<String> {
    let m = run.table("metrics")?;
    let (id, pop) = (m.strs("neuron_id")?, m.texts("population")?);
    let (split, mode, r2) = (m.texts("split")?, m.texts("mode")?, m.f64s("r2")?);
    let mut groups: Vec<(&str, Vec<(f64, &str)>)> = Vec::new();
    for i in 0..m.len() {
        let Some(neuron) = id[i] else { continue };
        if split[i] != "validation" || mode[i] != "free_running" || !r2[i].is_finite() {
            continue;
        }
        match groups.iter_mut().find(|g| g.0 == pop[i]) {
            Some(g) => g.1.push((r2[i], neuron)),
            None => groups.push((pop[i], vec![(r2[i], neuron)])),
        }
    }
    if groups.is_empty() {
        return Err("tables/metrics.parquet has no per-neuron validation rows".into());
    }
    let rows: Vec<Vec<String>> = groups
        .iter_mut()
        .map(|(p, v)| {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            let median = if v.len() % 2 == 1 {
                v[v.len() / 2].0
            } else {
                0.5 * (v[v.len() / 2 - 1].0 + v[v.len() / 2].0)
            };
            let best = v[v.len() - 1];
            vec![
                p.to_string(),
                v.len().to_string(),
                num(median),
                format!("{} ({})", best.1, num(best.0)),
            ]
        })
        .collect();
    Ok(format!(
        "<p>Free-running r² of single neurons on the validation frames, per population.</p>\n{}",
        table(
            &["population", "#neurons", "#median r²", "best neuron (r²)"],
            &rows
        )
    ))
}

/// The ten strongest final area/layer interactions by |mean weight|.
pub fn top_interactions(run: &RunFiles) -> Need<String> {
    let t = run.table("interactions")?;
    let (lv, stage, pre, post) = (
        t.texts("level")?,
        t.texts("stage")?,
        t.texts("pre")?,
        t.texts("post")?,
    );
    let (mean_w, density) = (t.f64s("mean_w")?, t.f64s("density")?);
    let (nz, np) = (t.f64s("n_nonzero")?, t.f64s("n_possible")?);
    let mut rows: Vec<usize> = (0..t.len())
        .filter(|&i| lv[i] == "area_layer" && stage[i] == "final" && mean_w[i].is_finite())
        .collect();
    if rows.is_empty() {
        return Err("tables/interactions.parquet has no final area_layer rows".into());
    }
    rows.sort_by(|&a, &b| mean_w[b].abs().total_cmp(&mean_w[a].abs()));
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .take(10)
        .map(|i| {
            vec![
                pre[i].to_string(),
                post[i].to_string(),
                num(mean_w[i]),
                if mean_w[i] >= 0.0 {
                    "excitatory".into()
                } else {
                    "inhibitory".into()
                },
                format!("{:.0} / {:.0}", nz[i], np[i]),
                num(density[i]),
            ]
        })
        .collect();
    Ok(table(
        &[
            "from (pre)",
            "to (post)",
            "#mean weight",
            "net effect",
            "#non-zero / possible",
            "#density",
        ],
        &rows,
    ))
}

/// Whole-network diagnostics (scope `all`), one column per stage.
pub fn diagnostics(run: &RunFiles) -> Need<String> {
    let d = run.table("diagnostics")?;
    let (stage, scope, metric, value) = (
        d.texts("stage")?,
        d.texts("scope")?,
        d.texts("metric")?,
        d.f64s("value")?,
    );
    let all: Vec<usize> = (0..d.len()).filter(|&i| scope[i] == "all").collect();
    if all.is_empty() {
        return Err("tables/diagnostics.parquet has no rows with scope `all`".into());
    }
    let mut stages: Vec<&str> = Vec::new();
    let mut metrics: Vec<&str> = Vec::new();
    for &i in &all {
        if !stages.contains(&stage[i]) {
            stages.push(stage[i]);
        }
        if !metrics.contains(&metric[i]) {
            metrics.push(metric[i]);
        }
    }
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .map(|m| {
            let mut row = vec![m.replace('_', " ")];
            for s in &stages {
                let v = all
                    .iter()
                    .find(|&&i| stage[i] == *s && metric[i] == *m)
                    .map(|&i| value[i]);
                row.push(v.map(num).unwrap_or_else(|| "–".into()));
            }
            row
        })
        .collect();
    let header: Vec<String> = std::iter::once("metric".to_string())
        .chain(stages.iter().map(|s| format!("#{s}")))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    Ok(table(&header, &rows))
}

/// The ten largest perturbation effects on other populations, by |relative change|.
pub fn perturbation_effects(run: &RunFiles) -> Need<String> {
    let t = run.table("perturbations")?;
    let (perturbed, kind, target) = (t.texts("perturbed")?, t.texts("kind")?, t.texts("target")?);
    let (magnitude, base, after, rel) = (
        t.f64s("magnitude")?,
        t.f64s("baseline_mean_rate")?,
        t.f64s("perturbed_mean_rate")?,
        t.f64s("delta_rel")?,
    );
    let mut rows: Vec<usize> = (0..t.len())
        .filter(|&i| rel[i].is_finite() && !covers(perturbed[i], target[i]))
        .collect();
    if rows.is_empty() {
        return Err("tables/perturbations.parquet has no effects on other populations".into());
    }
    rows.sort_by(|&a, &b| rel[b].abs().total_cmp(&rel[a].abs()));
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .take(10)
        .map(|i| {
            vec![
                format!("{} {}", kind[i], perturbed[i]),
                num(magnitude[i]),
                target[i].to_string(),
                num(base[i]),
                num(after[i]),
                format!("{:+.1} %", 100.0 * rel[i]),
            ]
        })
        .collect();
    Ok(table(
        &[
            "perturbation",
            "#magnitude",
            "target",
            "#baseline rate",
            "#perturbed rate",
            "#change",
        ],
        &rows,
    ))
}

/// The run's name for the title: the directory's name.
pub fn run_name(run: &RunFiles) -> String {
    let dir = run.dir.canonicalize().unwrap_or_else(|_| run.dir.clone());
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// The lead line under the title.
pub fn lead(run: &RunFiles) -> String {
    let m = &run.manifest;
    format!(
        "<p class=\"lead\">Run directory <code>{}</code> · fitted with fitrnn {} (commit {}) · seed {}</p>\n",
        escape(&run.dir.display().to_string()),
        escape(&text(&m["fitrnn_version"])),
        escape(&text(&m["git_commit"])),
        escape(&text(&m["seed"]))
    )
}
