//! `fitrnn analyse RUN_DIR`: recompute the analysis tables of a finished run from its saved config,
//! data, weights and checkpoint, without refitting.

use crate::config::Config;
use crate::error::Result;
use crate::rundir::weights::TensorFile;
use crate::train::{FitOutput, FitState, ParamsCpu, Setup};
use candle_core::Device;
use ndarray::Array2;
use std::path::Path;

fn params(path: &Path) -> Result<(ParamsCpu, Array2<f32>)> {
    let t = TensorFile::open(path)?;
    Ok((t.params("")?, t.array2("mask")?))
}

/// Run `fitrnn analyse` on `dir`.
pub fn analyse(dir: &Path) -> Result<String> {
    crate::rundir::read_complete_manifest(dir, "analyse")?;
    let cfg_path = dir.join("config.resolved.yaml");
    let config = Config::load(&cfg_path, &[])?;
    let device = Device::Cpu;
    let (ds, _) = super::check::check_config(&config, &cfg_path)?;
    let setup = Setup::new(&config, &ds, &device)?;
    let (fin, mask) = params(&dir.join("model/final.safetensors"))?;
    let dense_path = dir.join("model/dense.safetensors");
    let dense = if dense_path.is_file() {
        Some(params(&dense_path)?.0)
    } else {
        None
    };
    let state = FitState::load(&dir.join("model"))?;
    let fitted = FitOutput {
        setup,
        w_init: state.w_init,
        dense,
        fin,
        mask,
        history: state.history,
        phase_seconds: state.phase_seconds,
    };
    let times = crate::analysis::tables::write_run_analyses(dir, &fitted, &ds, &config, &device)?;
    let seconds: f64 = times.iter().map(|t| t.1).sum();
    let steps: Vec<String> = times.iter().map(|(k, v)| format!("{k} {v:.2} s")).collect();
    let report = crate::report::write_report(dir)?;
    Ok(format!(
        "analysed {} in {seconds:.2} s ({}): tables/interactions, currents, perturbations, spectrum, diagnostics; currents.h5\n{report}\n",
        dir.display(),
        steps.join(", ")
    ))
}
