//! The run directory (design §6), owned here: where every file lives ([`paths`]), the typed
//! manifest ([`manifest`]), the tidy tables as row types with one writer and one reader each
//! ([`tables`]), weights ([`weights`]), checkpoints ([`checkpoint`]) and time series ([`series`]).
//! Every file is written under a temporary name and renamed when complete; the manifest says
//! `running` while the run is in progress and `complete` or `failed` (with the error) at the end.

pub mod checkpoint;
pub mod claim;
pub mod manifest;
pub mod paths;
pub mod series;
pub mod tables;
pub mod weights;

pub use manifest::{unix_now, DataEntry, Manifest, Status};
pub use paths::{RunPaths, Weights};

use crate::config::Config;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::network::{Fitted, Network};
use candle_core::Device;
use std::path::Path;
use tables::Table;

/// An open run directory: its paths and its manifest as last written.
#[derive(Debug)]
pub struct RunDir {
    paths: RunPaths,
    manifest: Manifest,
    _lock: claim::RunLock,
}

impl RunDir {
    /// Create the run directory `path` and write `manifest` with status `running`, holding the
    /// directory's lock. An existing non-empty `path` is refused, or with `overwrite` replaced if
    /// it is a fitrnn run that no process is writing (see [`claim`]).
    pub fn create(path: &Path, overwrite: bool, mut manifest: Manifest) -> Result<RunDir> {
        claim::make_room(path, overwrite)?;
        std::fs::create_dir_all(path)
            .map_err(|e| Error::io(path, "creating the run directory", e))?;
        let lock = claim::lock(path)?;
        let paths = RunPaths::new(path);
        if paths.manifest().exists() {
            return Err(Error::Unsupported {
                problem: format!(
                    "another fitrnn process started a run in {} at the same time",
                    path.display()
                ),
                fix: "give each fit its own output.dir".into(),
            });
        }
        for dir in [paths.model_dir(), paths.tables_dir()] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(&dir, "creating the run directory", e))?;
        }
        manifest.status = Status::Running;
        manifest.write(&paths.manifest())?;
        Ok(RunDir {
            paths,
            manifest,
            _lock: lock,
        })
    }

    /// Open an existing run directory to resume it: refuses a run whose manifest says `complete`
    /// or that has no checkpoint yet (see [`resumable`]); marks it `running` again.
    pub fn open_for_resume(path: &Path) -> Result<RunDir> {
        let manifest = resumable(path)?;
        let paths = RunPaths::new(path);
        let lock = claim::lock(path)?;
        let mut rd = RunDir {
            paths,
            manifest,
            _lock: lock,
        };
        rd.update(|m| {
            m.resumed_unix_s = Some(unix_now());
            m.status = Status::Running;
        })?;
        Ok(rd)
    }

    /// Open a complete run directory (to analyse, report or compare it): `what` says what the
    /// caller is about to do, for the message.
    pub fn open_complete(path: &Path, what: &str) -> Result<RunDir> {
        let manifest = read_complete_manifest(path, what)?;
        refuse_task_run(&manifest, path, what)?;
        let lock = claim::lock(path)?;
        Ok(RunDir {
            paths: RunPaths::new(path),
            manifest,
            _lock: lock,
        })
    }

    /// Open the failed run in `path` (to analyse its last checkpoint), holding its lock; refuses a
    /// run that did not fail.
    pub fn open_failed(path: &Path) -> Result<RunDir> {
        let manifest = read_manifest(path)?;
        if manifest.status != Status::Failed {
            return Err(Error::Unsupported {
                problem: format!(
                    "--allow-failed analyses a failed run, and the run in {} is `{}`",
                    path.display(),
                    manifest.status
                ),
                fix: "leave out --allow-failed".into(),
            });
        }
        let lock = claim::lock(path)?;
        Ok(RunDir {
            paths: RunPaths::new(path),
            manifest,
            _lock: lock,
        })
    }

    /// The fit a failed run's last checkpoint holds: the best parameters of the phase it was in
    /// (its current parameters when no validation loss was scored yet), with what they are and
    /// the training history up to the checkpoint.
    pub fn fitted_from_checkpoint(
        &self,
        config: &Config,
        ds: &Dataset,
        device: &Device,
    ) -> Result<(Fitted, String, Vec<tables::HistoryRow>)> {
        if !self.paths.checkpoint().is_file() {
            return Err(Error::Unsupported {
                problem: format!(
                    "the fit in {} failed before its first checkpoint: there are no parameters to analyse",
                    self.path().display()
                ),
                fix: "fix the cause named in its manifest.json `error` and run the fit again".into(),
            });
        }
        let network = Network::new(config, ds, device)?;
        let state = checkpoint::Checkpoint::load(&self.paths)?;
        let phase = if state.phase == 0 {
            "dense"
        } else {
            "finetune"
        };
        let (params, what) = match &state.best {
            Some((loss, p)) => (
                p.clone(),
                format!(
                    "the best parameters of its last checkpoint (phase {phase}, validation loss {loss:.4}, after epoch {})",
                    state.epoch
                ),
            ),
            None => (
                state.params.clone(),
                format!(
                    "the parameters of its last checkpoint (phase {phase}, epoch {})",
                    state.epoch
                ),
            ),
        };
        let n = network.signs.len();
        if params.w_rec.dim() != (n, n) {
            return Err(Error::data(
                &self.paths.checkpoint(),
                "params.w_rec",
                format!(
                    "the checkpoint's weights are {:?} but the run's config and data make a network of {n} units",
                    params.w_rec.dim()
                ),
                "analyse the run with the config and recording it was fitted with",
            ));
        }
        let fitted = Fitted {
            network,
            params,
            mask: state.mask,
            w_init: state.w_init,
            dense: state.dense,
            finetuned: state.history.iter().any(|h| h.phase == "finetune"),
        };
        Ok((fitted, what, state.history))
    }

    /// Where its files live.
    pub fn paths(&self) -> &RunPaths {
        &self.paths
    }

    /// The run directory.
    pub fn path(&self) -> &Path {
        self.paths.root()
    }

    /// The manifest as it stands.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Change the manifest and rewrite `manifest.json` (atomically).
    pub fn update(&mut self, change: impl FnOnce(&mut Manifest)) -> Result<()> {
        change(&mut self.manifest);
        self.manifest.write(&self.paths.manifest())
    }

    /// Mark the run failed with `err`.
    pub fn fail(&mut self, err: &Error) -> Result<()> {
        self.update(|m| {
            m.error = Some(err.to_string());
            m.finished_unix_s = Some(unix_now());
            m.status = Status::Failed;
        })
    }

    /// Mark the run complete (the last write of a run), then remove the earlier run it replaced.
    pub fn complete(&mut self) -> Result<()> {
        let size = dir_bytes(self.path());
        self.update(|m| {
            m.finished_unix_s = Some(unix_now());
            m.run_dir_bytes = Some(size);
            m.status = Status::Complete;
        })?;
        // The run is complete either way; an earlier run left aside is only disk space.
        let _ = claim::forget_previous(self.path());
        Ok(())
    }

    /// Check that `config`'s recording is the one the run was fitted on (the manifest's sha256).
    /// A changed recording is refused, or with `allow_changed` accepted with a warning that is
    /// recorded in the manifest and returned for the user.
    pub fn check_data(&mut self, config: &Config, allow_changed: bool) -> Result<Option<String>> {
        let config_warning = self.check_config_file(allow_changed)?;
        let now = DataEntry::of(config.data.path.files())?;
        if now.sha256 == self.manifest.data.sha256 {
            return Ok(config_warning);
        }
        if !allow_changed {
            return Err(Error::data(
                config.data.path.first(),
                "/",
                "the recording changed since the run was fitted (its sha256 differs from the manifest's)",
                "use the original file, start a new run, or pass --allow-changed-data to go on with this one",
            ));
        }
        let warning = format!(
            "{}: the recording changed since the run was fitted (sha256 {} then, {} now); went on with --allow-changed-data",
            now.path, self.manifest.data.sha256, now.sha256
        );
        let w = warning.clone();
        self.update(|m| m.warnings.push(w))?;
        Ok(Some(match config_warning {
            Some(c) => format!("{c}\nwarning: {warning}"),
            None => warning,
        }))
    }

    /// Check that `config.resolved.yaml` is the one the run wrote (the manifest's
    /// `config_sha256`; runs written before it was recorded are not checked): an edited config
    /// would analyse the weights as another model. Refused, or with `allow_changed` accepted
    /// with a warning recorded in the manifest and returned.
    fn check_config_file(&mut self, allow_changed: bool) -> Result<Option<String>> {
        let Some(sealed) = self.manifest.config_sha256.clone() else {
            return Ok(None);
        };
        let path = self.paths.config();
        if crate::data::sha256_file(&path)? == sealed {
            return Ok(None);
        }
        if !allow_changed {
            return Err(Error::data(
                &path,
                "/",
                "the resolved config changed since the run wrote it (its sha256 differs from the manifest's config_sha256), so the weights would be read as another model",
                "restore the run's own config.resolved.yaml, fit again with the new config, or pass --allow-changed-data to go on with the edited one",
            ));
        }
        let warning = format!(
            "{}: the resolved config changed since the run wrote it; went on with --allow-changed-data",
            path.display()
        );
        let w = warning.clone();
        self.update(|m| m.warnings.push(w))?;
        Ok(Some(warning))
    }

    /// Record the sha256 of the final weights just written, so they are recognised later.
    pub fn seal_final_weights(&mut self) -> Result<()> {
        let sha = crate::data::sha256_file(&self.paths.weights(Weights::Final))?;
        self.manifest.final_weights_sha256 = Some(sha);
        Ok(())
    }

    /// Write the resolved config, and record its sha256 in the manifest so that an edited
    /// config is recognised later.
    pub fn write_config<C: serde::Serialize>(&mut self, config: &C) -> Result<()> {
        use sha2::{Digest, Sha256};
        let yaml = serde_yaml::to_string(config)
            .map_err(|e| Error::internal("serialising the config", e))?;
        crate::atomic::write_bytes(&self.paths.config(), yaml.as_bytes())?;
        let sha = format!("{:x}", Sha256::digest(yaml.as_bytes()));
        self.update(|m| m.config_sha256 = Some(sha))
    }

    /// Write the rows of table `T` to `tables/<T::NAME>.parquet`.
    pub fn write_table<T: Table>(&self, rows: &[T]) -> Result<()> {
        // `fitrnn analyse` rebuilds the tables of a run whose tables/ folder was removed.
        let dir = self.paths.tables_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "creating the folder", e))?;
        tables::write(&self.paths.table(T::NAME), rows)
    }

    /// The fitted model of this run, for `ds` (its own dataset, built from `config`) on `device`:
    /// the network rebuilt from `config`, the final and dense weights, and the initial weights and
    /// phases from the checkpoint.
    pub fn load_fitted(&self, config: &Config, ds: &Dataset, device: &Device) -> Result<Fitted> {
        let network = Network::new(config, ds, device)?;
        let final_path = self.paths.weights(Weights::Final);
        if let Some(sealed) = &self.manifest.final_weights_sha256 {
            if crate::data::sha256_file(&final_path)? != *sealed {
                return Err(Error::data(
                    &final_path,
                    "/",
                    "these are not the weights this run wrote (their sha256 differs from the manifest's final_weights_sha256)",
                    "restore the run's own model/final.safetensors, or fit again",
                ));
            }
        }
        let fin = weights::TensorFile::open(&final_path)?;
        let params = fin.params("")?;
        let mask = fin.array2("mask")?;
        let n = network.signs.len();
        if params.w_rec.dim() != (n, n) || mask.dim() != (n, n) {
            return Err(Error::data(
                &self.paths.weights(Weights::Final),
                "w_rec",
                format!(
                    "the weights are {:?} but the run's config and data make a network of {n} units",
                    params.w_rec.dim()
                ),
                "analyse the run with the config and recording it was fitted with",
            ));
        }
        let dense_path = self.paths.weights(Weights::Dense);
        let dense = if dense_path.is_file() {
            Some(weights::TensorFile::open(&dense_path)?.params("")?)
        } else {
            None
        };
        let state = checkpoint::Checkpoint::load(&self.paths)?;
        Ok(Fitted {
            network,
            params,
            mask,
            w_init: state.w_init,
            dense,
            finetuned: state.history.iter().any(|h| h.phase == "finetune"),
        })
    }
}

/// The manifest of the run in `dir` if it can be resumed: refuses a directory without a manifest,
/// a complete run and a run that stopped before its first checkpoint, each saying what to do.
pub fn resumable(dir: &Path) -> Result<Manifest> {
    let paths = RunPaths::new(dir);
    if !paths.manifest().is_file() {
        return Err(Error::Unsupported {
            problem: format!(
                "{} holds no manifest.json: it is not a fitrnn run, or its run stopped before it began",
                dir.display()
            ),
            fix: "start the run with fitrnn --config".into(),
        });
    }
    let manifest = Manifest::read(&paths.manifest())?;
    refuse_task_run(&manifest, dir, "resume")?;
    if manifest.status == Status::Complete {
        return Err(Error::Unsupported {
            problem: format!("the run in {} is already complete", dir.display()),
            fix: "nothing to resume; start a new run with fitrnn --config".into(),
        });
    }
    if !paths.checkpoint().is_file() {
        return Err(Error::Unsupported {
            problem: format!(
                "{} has no checkpoint (the run stopped before its first checkpoint)",
                dir.display()
            ),
            fix: "start the run again with fitrnn --config".into(),
        });
    }
    Ok(manifest)
}

/// The bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Refuse to `what` (e.g. "analyse") the run `m` of `dir` when `fitrnn task` wrote it: a task
/// run has no recording to analyse, resume or compare against.
pub fn refuse_task_run(m: &Manifest, dir: &Path, what: &str) -> Result<()> {
    match &m.task {
        Some(task) => Err(Error::Unsupported {
            problem: format!(
                "cannot {what} {}: `fitrnn task` trained it on the {task} task, and it has no recording",
                dir.display()
            ),
            fix: "read its tables, figures and report.html directly, or train it again with fitrnn task".into(),
        }),
        None => Ok(()),
    }
}

/// The manifest of the run directory `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    Manifest::read(&RunPaths::new(dir).manifest())
}

/// The manifest of the run directory `dir`, refusing a run that is not complete: `what` says what
/// the caller was about to do (e.g. "analyse"), for the message.
pub fn read_complete_manifest(dir: &Path, what: &str) -> Result<Manifest> {
    let manifest = read_manifest(dir)?;
    if manifest.status != Status::Complete {
        let status = manifest.status;
        return Err(Error::Unsupported {
            problem: format!(
                "cannot {what} the run in {}: its status is `{status}`, not `complete`",
                dir.display()
            ),
            fix: if status == Status::Failed {
                format!(
                    "look at `error` in its manifest.json, fix the cause and run the fit again (or see how far it got with fitrnn analyse --allow-failed {})",
                    dir.display()
                )
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
