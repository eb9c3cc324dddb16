//! `fitrnn check`: validate a config and its data, or a recording alone, and print a summary.

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::data::celltypes::default_sign_map;
use crate::data::summary;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use std::fmt::Write;

/// Run `fitrnn check`.
pub fn check(args: &CheckArgs) -> Result<String> {
    match (&args.config, &args.data) {
        (Some(cfg), _) => {
            let config = Config::load(cfg, &args.set)?;
            Ok(check_config(&config, cfg)?.1)
        }
        (None, Some(data)) => check_data(data),
        (None, None) => Err(Error::Unsupported {
            problem: "give --config FILE or --data FILE".into(),
            fix: "see `fitrnn check --help`".into(),
        }),
    }
}

/// Validate a recording alone with the default cell-type map.
pub fn check_data(path: &std::path::Path) -> Result<String> {
    let format = crate::data::load::detect(path, Default::default())?;
    let rec = crate::data::load::load(&[path.to_path_buf()], &Default::default())?;
    let signs = default_sign_map();
    if let Some(i) = (0..rec.n_neurons()).find(|&i| !signs.contains_key(&rec.neurons.cell_type[i]))
    {
        return Err(Error::data(
            path,
            "/neurons/cell_type",
            format!(
                "cell type `{}` (neuron {}) is not in the default E/I map",
                rec.neurons.cell_type[i],
                rec.neurons.id.label(i)
            ),
            format!(
                "check it with a run config whose data.cell_types gives its sign (fitrnn check --config FILE): {}",
                crate::data::celltypes::missing_sign_fix(&rec.neurons.cell_type[i], &signs, "data.cell_types")
            ),
        ));
    }
    let note = if rec.neurons.cell_type.iter().any(|t| t == "unknown") {
        " (default map; cell type `unknown` counted as E)"
    } else {
        " (default map)"
    };
    let mut s = summary::render(&rec, &signs, note);
    s.push_str(&constant_note(&rec));
    let layout = match format {
        crate::data::load::DataFormat::Nwb => "NWB 2.x",
        _ => crate::data::SCHEMA,
    };
    let _ = writeln!(s, "\nok: {} follows {layout}", path.display());
    Ok(s)
}

/// Validate a loaded config against its recording ([`Dataset::from_config`]) and describe it.
/// Returns the dataset and the summary text.
pub fn check_config(config: &Config, config_path: &std::path::Path) -> Result<(Dataset, String)> {
    let ds = Dataset::from_config(config, config_path)?;
    crate::network::require_model_memory(crate::network::planned_units(config, &ds))?;
    let text = summary(config, config_path, &ds);
    Ok((ds, text))
}

/// What `fitrnn check --config` prints: the config, the output, the recording and the split.
pub fn summary(config: &Config, config_path: &std::path::Path, ds: &Dataset) -> String {
    let d = &config.data;
    let rec = &ds.recording;
    let n_train = ds.split.is_train.iter().filter(|&&t| t).count();
    let mut s = String::new();
    let _ = writeln!(s, "config      {}", config_path.display());
    let _ = writeln!(s, "output      {}", config.output.dir.display());
    s.push_str(&summary::render(rec, &d.cell_types, " (data.cell_types)"));
    let win = ds.train_windows.first().map(|w| w.len).unwrap_or(0);
    let _ = writeln!(
        s,
        "split       {n_train} training frames in {} windows of {win} frames; {} validation frames in {} windows (by {}, normalisation {})",
        ds.train_windows.len(),
        rec.n_frames() - n_train,
        ds.validation_windows.len(),
        format!("{:?}", d.split.by).to_lowercase(),
        format!("{:?}", d.normalisation).to_lowercase()
    );
    s.push_str(&constant_note(rec));
    let held_out = rec.n_frames() - n_train;
    let whole: usize = ds.validation_windows.iter().map(|w| w.len).sum();
    let scored: usize = ds.validation_scored.iter().map(|w| w.len).sum();
    if held_out == 0 {
        let _ = writeln!(
            s,
            "note        no validation frames (validation_fraction: 0): every metric is on the training data"
        );
    } else if scored < held_out {
        let _ = writeln!(
            s,
            "note        {} of the {held_out} validation frames are not scored (runs of a single held-out frame)",
            held_out - scored
        );
    } else if whole < held_out {
        let _ = writeln!(
            s,
            "note        {} of the {held_out} validation frames lie outside whole validation windows: the metrics score them in a shorter last window; the validation loss (which picks the best epoch) uses whole windows",
            held_out - whole
        );
    }
    let _ = writeln!(s, "\nok: config and data are valid");
    s
}

/// The note naming the neurons whose trace never changes (empty when there are none).
fn constant_note(rec: &crate::data::Recording) -> String {
    let constant = constant_neurons(rec);
    if constant.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = constant
        .iter()
        .take(5)
        .map(|&i| rec.neurons.id.label(i))
        .collect();
    format!(
        "note        {} neuron(s) never change (ids {}{}): they carry no signal to fit; leave them out with data.select or by removing them from the file\n",
        constant.len(),
        shown.join(", "),
        if constant.len() > shown.len() { ", ..." } else { "" }
    )
}

/// The neurons whose trace never changes over the recording (a dead ROI, or a column of zeros).
fn constant_neurons(rec: &crate::data::Recording) -> Vec<usize> {
    rec.traces
        .columns()
        .into_iter()
        .enumerate()
        .filter(|(_, col)| {
            let first = col[0];
            col.iter().all(|&v| v == first)
        })
        .map(|(i, _)| i)
        .collect()
}
