//! `fitrnn selfcheck RUN_DIR`: the self-check of a finished run (see [`crate::ensemble`]), on the
//! device the run used; finished refits and ensemble members are kept.

use crate::cli::SelfcheckArgs;
use crate::config::Config;
use crate::error::Result;
use crate::rundir::paths::RunPaths;

/// Run `fitrnn selfcheck`.
pub fn selfcheck(args: &SelfcheckArgs) -> Result<String> {
    let dir = &args.run_dir;
    let manifest = crate::rundir::read_complete_manifest(dir, "self-check")?;
    let cfg_path = RunPaths::new(dir).config();
    let before = Config::load(&cfg_path, &[])?;
    let refits = args.refits.unwrap_or(if before.ensemble.selfcheck > 0 {
        before.ensemble.selfcheck
    } else {
        2
    });
    if refits == 0 {
        return Err(crate::error::Error::Unsupported {
            problem: "--refits 0 runs no self-check: nothing would say which blocks the data determine".into(),
            fix: "use --refits 2 or more (each refit is one fit of a recording simulated from the run)".into(),
        });
    }
    let mut sets = vec![format!("ensemble.selfcheck={refits}")];
    if let Some(j) = args.jobs {
        sets.push(format!("ensemble.jobs={j}"));
    }
    let config = super::run::with_backend(
        Config::load(&cfg_path, &sets)?,
        args.backend,
        &args.slurm_opts,
    )?;
    let device = manifest.device_choice().open()?;
    let (ds, _) = super::check::check_config(&config, &cfg_path)?;
    let (e, report) =
        crate::pipeline::selfcheck(dir, &config, &ds, &device, args.allow_changed_data)?;
    Ok(format!(
        "self-checked {}: {}\n{report}\n",
        dir.display(),
        super::run::ensemble_line(&e)
    ))
}
