//! `fitrnn analyse RUN_DIR`: recompute the analysis tables of a finished run from its saved config,
//! data, weights and checkpoint, without refitting.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::rundir::weights;
use crate::train::{FitOutput, FitState, ParamsCpu, Setup};
use candle_core::{Device, Tensor};
use ndarray::Array2;
use std::path::Path;

fn arr(t: &Tensor, path: &Path) -> Result<Array2<f32>> {
    let bad = |e: candle_core::Error| Error::data(path, "tensor", e.to_string(), "re-run the fit");
    let (r, c) = t.dims2().map_err(bad)?;
    Ok(Array2::from_shape_vec(
        (r, c),
        t.flatten_all().and_then(|x| x.to_vec1()).map_err(bad)?,
    )
    .expect("shape"))
}

fn params(path: &Path) -> Result<(ParamsCpu, Array2<f32>)> {
    let t = weights::load(path)?;
    let get = |k: &str| {
        t.get(k).ok_or_else(|| {
            Error::data(
                path,
                k,
                "missing tensor",
                "re-run the fit; the weights file is incomplete",
            )
        })
    };
    let vec = |k: &str| -> Result<Vec<f32>> {
        get(k)?
            .to_vec1::<f32>()
            .map_err(|e| Error::data(path, k, e.to_string(), "re-run the fit"))
    };
    Ok((
        ParamsCpu {
            w_rec: arr(get("w_rec")?, path)?,
            w_in: arr(get("w_in")?, path)?,
            b: vec("b")?,
            gain: vec("gain")?,
            offset: vec("offset")?,
            x0: vec("x0")?,
        },
        arr(get("mask")?, path)?,
    ))
}

/// Run `fitrnn analyse` on `dir`.
pub fn analyse(dir: &Path) -> Result<String> {
    let mpath = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath)
        .map_err(|e| Error::io(&mpath, "reading the run manifest", e))?;
    let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::data(
            &mpath,
            "/",
            format!("not a run manifest: {e}"),
            "give a run directory written by fitrnn",
        )
    })?;
    if manifest["status"] != "complete" {
        return Err(Error::Unsupported {
            problem: format!(
                "the run in {} is not complete (status {})",
                dir.display(),
                manifest["status"]
            ),
            fix: format!("finish it first with fitrnn --resume {}", dir.display()),
        });
    }
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
    let seconds = crate::analysis::tables::write_run_analyses(dir, &fitted, &ds, &config, &device)?;
    Ok(format!(
        "analysed {} in {seconds:.2} s: tables/interactions, currents, perturbations, spectrum, diagnostics\n",
        dir.display()
    ))
}
