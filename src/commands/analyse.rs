//! `fitrnn analyse RUN_DIR`: recompute the evaluation and analysis tables of a finished run from its
//! saved config, data and weights, without refitting, on the device the run used (or `--device`).

use crate::cli::AnalyseArgs;
use crate::config::Config;
use crate::device::DeviceChoice;
use crate::error::{Error, Result};
use crate::rundir::paths::RunPaths;

/// Run `fitrnn analyse`.
pub fn analyse(args: &AnalyseArgs) -> Result<String> {
    let dir = &args.run_dir;
    let failed = args.allow_failed
        && crate::rundir::read_manifest(dir)?.status == crate::rundir::Status::Failed;
    let manifest = if failed {
        crate::rundir::read_manifest(dir)?
    } else {
        crate::rundir::read_complete_manifest(dir, "analyse")?
    };
    crate::rundir::refuse_task_run(&manifest, dir, "analyse")?;
    let cfg_path = RunPaths::new(dir).config();
    let config = Config::load(&cfg_path, &[])?;
    let choice = match &args.device {
        Some(d) => DeviceChoice::parse(d).map_err(|b| Error::Unsupported {
            problem: format!("--device: {}", b.problem),
            fix: b.fix,
        })?,
        None => manifest.device_choice(),
    };
    let device = choice.open()?;
    let (ds, _) = super::check::check_config(&config, &cfg_path)?;
    let (times, report) = if failed {
        let (what, times, report) =
            crate::pipeline::reanalyse_failed(dir, &config, &ds, &device, args.allow_changed_data)?;
        eprintln!(
            "warning: {} is a failed fit; analysing {what}",
            dir.display()
        );
        (times, report)
    } else {
        crate::pipeline::reanalyse(dir, &config, &ds, &device, args.allow_changed_data)?
    };
    let seconds: f64 = times.iter().map(|t| t.1).sum();
    let steps: Vec<String> = times.iter().map(|(k, v)| format!("{k} {v:.2} s")).collect();
    Ok(format!(
        "analysed {} on {} in {seconds:.2} s ({}): tables/interactions, currents, perturbations, spectrum, diagnostics; currents.h5\n{report}\n",
        dir.display(),
        choice.name(),
        steps.join(", ")
    ))
}
