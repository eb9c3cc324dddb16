//! The data fit the reproductions on recordings start from: a run config's recording and model,
//! fitted in the dense phase only (no pruning, no ensemble, nothing written).

use crate::config::Config;
use crate::dataset::Dataset;
use crate::error::Result;
use crate::network::Fitted;
use std::path::Path;

/// Fit the run config at `config` with `overrides` (plus `training.finetune_epochs=0`) and return
/// the dataset and the fit with its dense-phase parameters, and the recurrent weights it started
/// from (`fitted.w_init`, after the warm start).
pub fn dense_fit(config: &Path, overrides: &[String]) -> Result<(Dataset, Fitted)> {
    let mut all = overrides.to_vec();
    all.push("training.finetune_epochs=0".into());
    let cfg = Config::load(config, &all)?;
    crate::device::set_threads(cfg.threads);
    let device = cfg.device_choice.open()?;
    let ds = Dataset::from_config(&cfg, config)?;
    let mut f = crate::train::fit(&cfg, &ds, &device, None, |_, _, _, _| {}, |_| Ok(()))?.fitted;
    if let Some(dense) = f.dense.take() {
        f.params = dense;
    }
    Ok((ds, f))
}
