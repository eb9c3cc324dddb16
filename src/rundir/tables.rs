//! Tidy Parquet tables (polars), one row per observation, keyed by neuron and population so users
//! join them without knowing the unit order.

use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::Path;

/// Write `df` to `path` as Parquet (atomically).
pub fn write_parquet(path: &Path, mut df: DataFrame) -> Result<()> {
    let tmp = crate::data::contract::partial_path(path);
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "creating", e))?;
    ParquetWriter::new(file)
        .finish(&mut df)
        .map_err(|e| Error::internal(format!("{}: writing Parquet", path.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "renaming the finished file", e))
}

/// Read the Parquet table at `path` (one of a run's `tables/*.parquet`): a missing file is an I/O
/// error naming it, an unreadable one a data error that says how to write it again.
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "opening", e))?;
    ParquetReader::new(file).finish().map_err(|e| Error::Data {
        file: path.to_path_buf(),
        location: "/".into(),
        problem: format!("not a readable Parquet table: {e}"),
        fix: "re-create it with fitrnn analyse RUN_DIR".into(),
    })
}
