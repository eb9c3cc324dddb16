//! One entry point from the config's `data.path` (one file or a list of simultaneously recorded
//! planes) to a [`Recording`]: the format is recognised by content (`data.format: auto`), NWB
//! files contribute one plane per series, and the planes are joined on one clock.

use super::contract::{open_hdf5, read_recording, ReadOptions};
use super::nwb::{self, NwbOptions};
use super::session::{self, Plane};
use super::{NanPolicy, Recording};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file format of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// Recognise it by content: root attribute `schema` (contract) or `nwb_version` (NWB).
    #[default]
    Auto,
    /// fitrnn's own `fitrnn-recording/1` HDF5 layout (`data/README.md`).
    Contract,
    /// NWB 2.x (pynwb, AllenSDK).
    Nwb,
}

/// How to read recordings.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// File format.
    pub format: DataFormat,
    /// NWB options.
    pub nwb: NwbOptions,
    /// Non-finite frames policy.
    pub nan_policy: NanPolicy,
    /// Common clock for several planes (default: the slowest plane's rate).
    pub align_hz: Option<f64>,
}

/// The format of the file at `path` (for `auto`, by content: NWB when the root has
/// `nwb_version`, else the contract).
pub fn detect(path: &Path, format: DataFormat) -> Result<DataFormat> {
    if format != DataFormat::Auto {
        return Ok(format);
    }
    let file = open_hdf5(path)?;
    let root: &hdf5::Group = &file;
    if root
        .attr_names()
        .unwrap_or_default()
        .iter()
        .any(|n| n == "schema")
    {
        return Ok(DataFormat::Contract);
    }
    if nwb::is_nwb(root) {
        return Ok(DataFormat::Nwb);
    }
    // Neither: the contract reader says what is missing and how to fix it.
    Ok(DataFormat::Contract)
}

/// The planes of one file, each labelled for messages.
pub fn read_planes(path: &Path, opts: &LoadOptions) -> Result<Vec<Plane>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match detect(path, opts.format)? {
        DataFormat::Nwb => Ok(nwb::read_nwb(path, &opts.nwb, opts.nan_policy)?
            .planes
            .into_iter()
            .map(|p| Plane {
                label: format!("{name}:{}", p.series.path),
                recording: p.recording,
            })
            .collect()),
        _ => Ok(vec![Plane {
            label: name,
            recording: read_recording(
                path,
                &ReadOptions {
                    nan_policy: opts.nan_policy,
                },
            )?,
        }]),
    }
}

/// Refuse a list of files that names one file twice (the same path, or two paths to one file
/// through a link): its neurons would be fitted twice, as if imaged twice.
fn refuse_repeated_files(paths: &[PathBuf]) -> Result<()> {
    let mut seen: Vec<(PathBuf, &PathBuf)> = Vec::new();
    for p in paths {
        let real = p.canonicalize().unwrap_or_else(|_| p.clone());
        if let Some((_, first)) = seen.iter().find(|(r, _)| *r == real) {
            return Err(Error::Unsupported {
                problem: format!(
                    "data.path names one file twice: {} and {} are the same file, so its neurons would be fitted as two planes",
                    first.display(),
                    p.display()
                ),
                fix: "list each plane's file once in data.path".into(),
            });
        }
        seen.push((real, p));
    }
    Ok(())
}

/// Read every file in `paths` and join all their planes into one recording.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Recording> {
    refuse_repeated_files(paths)?;
    let mut planes = Vec::new();
    for p in paths {
        planes.extend(read_planes(p, opts)?);
    }
    let mut rec = session::combine(planes, opts.align_hz)?;
    if paths.len() > 1 {
        rec.notes.insert(
            0,
            format!(
                "{} files imaged together: {}",
                paths.len(),
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    Ok(rec)
}
