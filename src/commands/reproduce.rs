//! `fitrnn reproduce NAME`: recompute a published result and write it beside the paper's.

use crate::cli::ReproduceArgs;
use crate::error::Result;
use crate::reproduce::{self, Size};
use std::path::PathBuf;

/// Run `fitrnn reproduce`.
pub fn reproduce(args: &ReproduceArgs) -> Result<String> {
    let size = if args.full { Size::Full } else { args.size };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reproductions").join(args.target.name()));
    reproduce::run(args.target, size, args.seed, &args.config, &out)
}
