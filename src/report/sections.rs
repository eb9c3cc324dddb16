//! The text and tables of the report, each built from the run's files: provenance, data summary,
//! fit metrics, strongest interactions, diagnostics and perturbation effects. A section whose
//! input is missing becomes a note.

use super::figures::blocks::covers;
use super::html::{duration, escape, key_values, note, num, table, utc};
use super::inputs::{Need, RunFiles};
use crate::rundir::paths::table_file;

/// A section's HTML, or a note saying why it is missing.
pub fn or_note(built: Need<String>, what: &str) -> String {
    built.unwrap_or_else(|reason| note(&format!("{what} not available: {reason}.")))
}

/// Provenance from `manifest.json`: version, commit, seed, device, data, times, config.
pub fn provenance(run: &RunFiles) -> String {
    let m = &run.manifest;
    let when = |t: Option<f64>| t.map(utc).unwrap_or_else(|| "–".into());
    let mut rows = vec![
        ("fitrnn version", m.fitrnn_version.clone()),
        ("git commit", m.git_commit.clone()),
        ("seed", m.seed.to_string()),
        ("device", m.device.clone()),
        ("threads", m.threads.to_string()),
        ("data file", m.data.path.clone()),
        ("data sha256", m.data.sha256.clone()),
        ("config", m.config.clone()),
        ("started", utc(m.started_unix_s)),
        ("finished", when(m.finished_unix_s)),
    ];
    if let Some(resumed) = m.resumed_unix_s {
        rows.push(("resumed", utc(resumed)));
    }
    for (phase, s) in &m.wall_s_per_phase {
        rows.push(("wall time", format!("{phase}: {}", duration(*s))));
    }
    if let Some(total) = m.analysis_wall_s.get("total") {
        rows.push(("wall time", format!("analysis: {}", duration(*total))));
    }
    if !m.command_line.is_empty() {
        rows.push(("command line", m.command_line.join(" ")));
    }
    key_values(&rows)
}

/// The time constants the fit learned (`model.learn_tau`) and the indicator decays of a calcium
/// readout, per cell type, from the manifest, and the share of each area's input that the fit
/// gives to inferred inputs (`model.latent_inputs`); empty when nothing was learned.
pub fn learned_constants(run: &RunFiles) -> String {
    let m = &run.manifest;
    let intervals = run.constants_ensemble().unwrap_or(&[]);
    // The members' 95 % interval of a value, where the ensemble gave one.
    let interval = |quantity: &str, group: &str, unit: &str, digits: usize| {
        intervals
            .iter()
            .find(|r| r.quantity == quantity && r.group == group && r.n_members > 1)
            .map(|r| {
                format!(
                    " ({:.digits$}–{:.digits$}{unit} over {} members)",
                    r.ci_low, r.ci_high, r.n_members
                )
            })
            .unwrap_or_default()
    };
    let list = |quantity: &str, map: &std::collections::BTreeMap<String, f64>| {
        map.iter()
            .map(|(t, ms)| {
                format!(
                    "{} {:.0} ms{}",
                    escape(t),
                    ms,
                    interval(quantity, t, " ms", 0)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = String::new();
    if !m.tau_ms.is_empty() {
        s += &format!(
            "<p>Learned time constants per cell type: {}.</p>\n",
            list("tau_ms", &m.tau_ms)
        );
    }
    if !m.calcium_decay_ms.is_empty() {
        s += &format!(
            "<p>Learned indicator decay per cell type: {}.</p>\n",
            list("calcium_decay_ms", &m.calcium_decay_ms)
        );
    }
    if let Ok(rows) = run.inferred_inputs() {
        let shares: Vec<String> = rows
            .iter()
            .filter(|r| r.split == "train")
            .map(|r| {
                format!(
                    "{} {:.2}{}",
                    escape(&r.area),
                    r.inferred_share,
                    interval("inferred_share", &r.area, "", 2)
                )
            })
            .collect();
        s += &format!(
            "<p>Inferred inputs: share of each area's input that comes from drive the recording does not hold (training frames): {}. The interactions and currents in this report are net of it.</p>\n",
            shares.join(", ")
        );
    }
    s
}

/// Units per area, layer, cell type and sign, and frames per split.
pub fn data_summary(run: &RunFiles) -> Need<String> {
    let units = run.units()?;
    type Population<'a> = (&'a str, &'a str, &'a str, &'a str);
    let mut groups: Vec<(Population, usize)> = Vec::new();
    for u in units {
        let key = (
            u.area.as_str(),
            u.layer.as_str(),
            u.cell_type.as_str(),
            u.sign.as_str(),
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => groups.push((key, 1)),
        }
    }
    let count = |s: &str| units.iter().filter(|u| u.sign == s).count();
    let hidden = units.iter().filter(|u| u.neuron_id.is_none()).count();
    let mut html = format!(
        "<p>{} units: {} excitatory (E), {} inhibitory (I); {} recorded neurons{}.</p>\n",
        units.len(),
        count("E"),
        count("I"),
        units.len() - hidden,
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
    let mut rows: Vec<(String, usize, f64, f64)> = Vec::new();
    for f in run.split()? {
        let t = f.time_s;
        match rows.iter_mut().find(|r| r.0 == f.split) {
            Some(r) => {
                r.1 += 1;
                r.2 = r.2.min(t);
                r.3 = r.3.max(t);
            }
            None => rows.push((f.split.clone(), 1, t, t)),
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
    let rows: Vec<Vec<String>> = run
        .metrics()?
        .iter()
        .filter(|m| m.neuron_id.is_none() && m.split == "validation")
        .map(|m| {
            vec![
                m.mode.replace('_', " "),
                num(m.pvar),
                num(m.r2),
                num(m.pearson_r),
            ]
        })
        .collect();
    if rows.is_empty() {
        return Err(format!(
            "{} has no pooled validation rows",
            table_file("metrics")
        ));
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
    let mut groups: Vec<(&str, Vec<(f64, &str)>)> = Vec::new();
    for m in run.metrics()? {
        let Some(neuron) = m.neuron_id.as_deref() else {
            continue;
        };
        if m.split != "validation" || m.mode != "free_running" || !m.r2.is_finite() {
            continue;
        }
        match groups.iter_mut().find(|g| g.0 == m.population) {
            Some(g) => g.1.push((m.r2, neuron)),
            None => groups.push((&m.population, vec![(m.r2, neuron)])),
        }
    }
    if groups.is_empty() {
        return Err(format!(
            "{} has no per-neuron validation rows",
            table_file("metrics")
        ));
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

/// `[low, high]` of an interval, or `–` without one.
fn interval_text(ci: Option<(f64, f64)>) -> String {
    ci.map_or("–".into(), |(lo, hi)| {
        format!("[{}, {}]", num(lo), num(hi))
    })
}

/// Whether the data determine a value: `yes` / `no` from the self-check, `not checked` without
/// one, and `–` without an ensemble.
fn determined_text(flag: Option<Option<bool>>) -> String {
    match flag {
        Some(Some(true)) => "yes".into(),
        Some(Some(false)) => "no".into(),
        Some(None) => "not checked".into(),
        None => "–".into(),
    }
}

/// The note under a table whose rows lack intervals because the run had no ensemble.
const NO_ENSEMBLE: &str =
    "<p class=\"note\">No ensemble ran, so these values have no interval and \
    nothing says whether the data determine them (set <code>ensemble.seeds</code>, \
    <code>ensemble.bootstrap</code> and <code>ensemble.selfcheck</code>).</p>\n";

/// The ten strongest final area/layer interactions by |mean weight|, each with its interval over
/// the ensemble and whether the self-check determined it.
pub fn top_interactions(run: &RunFiles) -> Need<String> {
    let mut rows: Vec<_> = run
        .interactions()?
        .iter()
        .filter(|r| r.level == "area_layer" && r.stage == "final" && r.mean_w.is_finite())
        .collect();
    if rows.is_empty() {
        return Err(format!(
            "{} has no final area_layer rows",
            table_file("interactions")
        ));
    }
    let ensemble = run.ensemble().ok();
    let consensus = |pre: &str, post: &str| {
        ensemble.and_then(|e| {
            e.iter().find(|c| {
                c.level == "area_layer" && c.metric == "mean_w" && c.pre == pre && c.post == post
            })
        })
    };
    rows.sort_by(|a, b| b.mean_w.abs().total_cmp(&a.mean_w.abs()));
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .take(10)
        .map(|r| {
            let c = consensus(&r.pre, &r.post);
            vec![
                r.pre.clone(),
                r.post.clone(),
                num(r.mean_w),
                interval_text(c.map(|c| (c.ci_low, c.ci_high))),
                determined_text(ensemble.map(|_| c.and_then(|c| c.identifiable))),
                if r.mean_w >= 0.0 {
                    "excitatory".into()
                } else {
                    "inhibitory".into()
                },
                format!("{} / {}", r.n_nonzero, r.n_possible),
                num(r.density),
            ]
        })
        .collect();
    let t = table(
        &[
            "from (pre)",
            "to (post)",
            "#mean weight",
            "95 % interval",
            "determined",
            "net effect",
            "#non-zero / possible",
            "#density",
        ],
        &rows,
    );
    Ok(if ensemble.is_some() {
        t
    } else {
        t + NO_ENSEMBLE
    })
}

/// Whole-network diagnostics (scope `all`), one column per stage.
pub fn diagnostics(run: &RunFiles) -> Need<String> {
    let all: Vec<_> = run
        .diagnostics()?
        .iter()
        .filter(|d| d.scope == "all")
        .collect();
    if all.is_empty() {
        return Err(format!(
            "{} has no rows with scope `all`",
            table_file("diagnostics")
        ));
    }
    let mut stages: Vec<&str> = Vec::new();
    let mut metrics: Vec<&str> = Vec::new();
    for d in &all {
        if !stages.contains(&d.stage.as_str()) {
            stages.push(&d.stage);
        }
        if !metrics.contains(&d.metric.as_str()) {
            metrics.push(&d.metric);
        }
    }
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .map(|m| {
            let mut row = vec![m.replace('_', " ")];
            for s in &stages {
                let v = all
                    .iter()
                    .find(|d| d.stage == *s && d.metric == *m)
                    .map(|d| d.value);
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

/// The ten largest perturbation effects on other populations, by |relative change|, each with
/// its interval over the ensemble and whether the self-check's refits reproduced it.
pub fn perturbation_effects(run: &RunFiles) -> Need<String> {
    let mut rows: Vec<_> = run
        .perturbations()?
        .iter()
        .filter(|r| r.delta_rel.is_finite() && !covers(&r.perturbed, &r.target))
        .collect();
    if rows.is_empty() {
        return Err(format!(
            "{} has no effects on other populations",
            table_file("perturbations")
        ));
    }
    let ensemble = run.perturbations_ensemble().ok();
    let consensus = |r: &crate::rundir::tables::PerturbationRow| {
        ensemble.and_then(|e| {
            e.iter().find(|c| {
                c.kind == r.kind
                    && c.perturbed == r.perturbed
                    && c.magnitude == r.magnitude
                    && c.target == r.target
            })
        })
    };
    let pct = |v: f64| format!("{:+.1} %", 100.0 * v);
    rows.sort_by(|a, b| b.delta_rel.abs().total_cmp(&a.delta_rel.abs()));
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .take(10)
        .map(|r| {
            let c = consensus(r);
            vec![
                format!("{} {}", r.kind, r.perturbed),
                num(r.magnitude),
                r.target.clone(),
                num(r.baseline_mean_rate),
                num(r.perturbed_mean_rate),
                pct(r.delta_rel),
                c.map_or("–".into(), |c| {
                    format!("[{}, {}]", pct(c.ci_low), pct(c.ci_high))
                }),
                determined_text(ensemble.map(|_| c.and_then(|c| c.identifiable))),
            ]
        })
        .collect();
    let t = table(
        &[
            "perturbation",
            "#magnitude",
            "target",
            "#baseline rate",
            "#perturbed rate",
            "#change",
            "95 % interval",
            "determined",
        ],
        &rows,
    );
    Ok(if ensemble.is_some() {
        t
    } else {
        t + NO_ENSEMBLE
    })
}

/// The run's name for the title: the directory's name.
pub fn run_name(run: &RunFiles) -> String {
    let dir = run.dir.canonicalize().unwrap_or_else(|_| run.dir.clone());
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// For a failed fit analysed from its last checkpoint: what failed and what the page shows.
pub fn failed_note(run: &RunFiles) -> String {
    let m = &run.manifest;
    if m.status != crate::rundir::Status::Failed {
        return String::new();
    }
    note(&format!(
        "This fit failed ({}). The page analyses {}, not a finished fit: read it to see how far \
         the fit got, not as a result.",
        m.error.as_deref().unwrap_or("no error recorded"),
        m.analysed_from_checkpoint
            .as_deref()
            .unwrap_or("whatever its run directory holds")
    ))
}

/// The lead line under the title.
pub fn lead(run: &RunFiles) -> String {
    let m = &run.manifest;
    format!(
        "<p class=\"lead\">Run directory <code>{}</code> · fitted with fitrnn {} (commit {}) · seed {}</p>\n",
        escape(&run.dir.display().to_string()),
        escape(&m.fitrnn_version),
        escape(&m.git_commit),
        m.seed
    )
}
