//! `fitrnn --config FILE`: the pipeline. This version validates the config and data and prints
//! the summary; fitting is not part of this release.

use crate::cli::RunArgs;
use crate::config::Config;
use crate::error::{Error, Result};

/// Run the pipeline described by `args.config`.
pub fn run(args: &RunArgs) -> Result<String> {
    let Some(path) = &args.config else {
        return Err(Error::Unsupported {
            problem: "no config given".into(),
            fix: "fitrnn --config configs/mouse_v1.yaml".into(),
        });
    };
    let config = Config::load(path, &args.set)?;
    let (_rec, mut text) = super::check::check_config(&config, path)?;
    text.push_str(
        "fit: not available in this release of fitrnn (config and data validated only)\n",
    );
    Ok(text)
}
