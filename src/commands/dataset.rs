//! `fitrnn dataset --config FILE --out FILE`: trial-averaged population datasets.

use crate::cli::DatasetArgs;
use crate::error::Result;

/// Run `fitrnn dataset`.
pub fn dataset(args: &DatasetArgs) -> Result<String> {
    crate::trial_average::build_and_write(&args.config, &args.out)
}
