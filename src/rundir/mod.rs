//! The run directory (design §6): manifest, resolved config, weights, tidy tables, predictions.
//! Every file is written under a temporary name and renamed when complete; the manifest says
//! `running` while the run is in progress and `complete` or `failed` (with the error) at the end.

pub mod tables;
pub mod weights;

use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// An open run directory.
#[derive(Debug)]
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
    manifest: Value,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl RunDir {
    /// Create `path` (refusing a non-empty directory unless `overwrite`), with `model/` and
    /// `tables/`, and write a manifest with status `running`.
    pub fn create(path: &Path, overwrite: bool, manifest: Value) -> Result<RunDir> {
        if path.exists()
            && std::fs::read_dir(path)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            if !overwrite {
                return Err(Error::Unsupported {
                    problem: format!("the run directory {} already exists and is not empty", path.display()),
                    fix: "choose another output.dir (e.g. --set output.dir=runs/new) or set output.overwrite: true".into(),
                });
            }
            std::fs::remove_dir_all(path)
                .map_err(|e| Error::io(path, "removing the old run directory", e))?;
        }
        for sub in ["model", "tables"] {
            std::fs::create_dir_all(path.join(sub))
                .map_err(|e| Error::io(path, "creating the run directory", e))?;
        }
        let mut rd = RunDir {
            path: path.to_path_buf(),
            manifest,
        };
        rd.set("status", json!("running"))?;
        Ok(rd)
    }

    /// Open an existing run directory to resume it: refuses a run whose manifest says `complete`.
    pub fn open_for_resume(path: &Path) -> Result<RunDir> {
        let manifest = read_manifest(path)?;
        if manifest["status"] == "complete" {
            return Err(Error::Unsupported {
                problem: format!("the run in {} is already complete", path.display()),
                fix: "nothing to resume; start a new run with fitrnn --config".into(),
            });
        }
        if !path.join("model/checkpoint.json").is_file() {
            return Err(Error::Unsupported {
                problem: format!(
                    "{} has no checkpoint (the run stopped before its first epoch ended)",
                    path.display()
                ),
                fix: "start the run again with fitrnn --config".into(),
            });
        }
        let mut rd = RunDir {
            path: path.to_path_buf(),
            manifest,
        };
        rd.set("resumed_unix_s", json!(unix_now()))?;
        rd.set("status", json!("running"))?;
        Ok(rd)
    }

    /// The manifest as it stands.
    pub fn manifest(&self) -> &Value {
        &self.manifest
    }

    /// Set a manifest field and rewrite `manifest.json`.
    pub fn set(&mut self, key: &str, value: Value) -> Result<()> {
        self.manifest[key] = value;
        let text = serde_json::to_string_pretty(&self.manifest).expect("JSON values serialise");
        write_atomic(&self.path.join("manifest.json"), text.as_bytes())
    }

    /// Mark the run failed with `err`.
    pub fn fail(&mut self, err: &Error) -> Result<()> {
        self.set("error", json!(err.to_string()))?;
        self.set("finished_unix_s", json!(unix_now()))?;
        self.set("status", json!("failed"))
    }
}

/// The manifest of the run directory `dir`.
pub fn read_manifest(dir: &Path) -> Result<Value> {
    let mpath = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath)
        .map_err(|e| Error::io(&mpath, "reading the run manifest", e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::data(
            &mpath,
            "/",
            format!("not a run manifest: {e}"),
            "give a run directory written by fitrnn",
        )
    })
}

/// The manifest of the run directory `dir`, refusing a run that is not complete: `what` says what
/// the caller was about to do (e.g. "analyse"), for the message.
pub fn read_complete_manifest(dir: &Path, what: &str) -> Result<Value> {
    let manifest = read_manifest(dir)?;
    let status = manifest["status"].as_str().unwrap_or("unknown");
    if status != "complete" {
        return Err(Error::Unsupported {
            problem: format!(
                "cannot {what} the run in {}: its status is `{status}`, not `complete`",
                dir.display()
            ),
            fix: if status == "failed" {
                "look at `error` in its manifest.json, fix the cause and run the fit again".into()
            } else {
                format!(
                    "finish the run first with fitrnn --resume {}",
                    dir.display()
                )
            },
        });
    }
    Ok(manifest)
}

/// Write `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = crate::data::contract::partial_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, "writing", e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "renaming the finished file", e))
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "reading for its checksum", e))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// The data entry of a manifest: `path` and `sha256` of the recording; for several files
/// (planes imaged together) `path` lists them, `files` gives each file's sha256 and `sha256` is
/// the sha256 of those hashes joined by newlines.
pub fn data_manifest(paths: &[std::path::PathBuf]) -> Result<serde_json::Value> {
    use sha2::{Digest, Sha256};
    let shas = paths
        .iter()
        .map(|p| sha256_file(p))
        .collect::<Result<Vec<_>>>()?;
    let joined = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() == 1 {
        return Ok(serde_json::json!({"path": joined, "sha256": shas[0]}));
    }
    let files: Vec<_> = paths
        .iter()
        .zip(&shas)
        .map(|(p, s)| serde_json::json!({"path": p.display().to_string(), "sha256": s}))
        .collect();
    Ok(serde_json::json!({
        "path": joined,
        "sha256": format!("{:x}", Sha256::digest(shas.join("\n").as_bytes())),
        "files": files,
    }))
}
