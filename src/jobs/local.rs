//! The local backend: jobs run as child processes of this machine, `parallel` at a time.

use super::{Backend, Job, JobResult, Outcome};
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::Mutex;

/// Run jobs here, `parallel` at a time, with the `fitrnn` binary at `binary`.
#[derive(Debug, Clone)]
pub struct Local {
    /// The `fitrnn` binary (see [`super::fitrnn_binary`]).
    pub binary: PathBuf,
    /// Jobs at the same time (at least 1).
    pub parallel: usize,
}

impl Local {
    /// Run one job: its stdout and stderr go to its log (and stdout is returned too).
    fn run_one(&self, job: &Job) -> JobResult {
        let t0 = std::time::Instant::now();
        let output = std::process::Command::new(&self.binary)
            .args(&job.args)
            .stdin(std::process::Stdio::null())
            .output();
        let (outcome, stdout, log) = match output {
            Ok(out) => {
                let mut log = out.stdout.clone();
                log.extend_from_slice(&out.stderr);
                let outcome = if out.status.success() {
                    Outcome::Done
                } else {
                    Outcome::Failed(out.status.code())
                };
                (
                    outcome,
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    log,
                )
            }
            Err(e) => (
                Outcome::Failed(None),
                String::new(),
                format!("could not start {}: {e}\n", self.binary.display()).into_bytes(),
            ),
        };
        // A log that cannot be written must not hide the job's own outcome.
        let _ = crate::atomic::write_bytes(&job.log, &log);
        JobResult {
            outcome,
            wall_s: t0.elapsed().as_secs_f64(),
            stdout,
            scheduler_id: String::new(),
        }
    }
}

impl Backend for Local {
    fn parallel(&self) -> usize {
        self.parallel.max(1)
    }

    fn run(&self, jobs: &[Job], done: &mut (dyn FnMut(usize, JobResult) + Send)) -> Result<()> {
        if !self.binary.is_file() {
            return Err(Error::Unsupported {
                problem: format!("{} is not the fitrnn binary", self.binary.display()),
                fix: "build fitrnn (cargo build --release), or set FITRNN_BIN".into(),
            });
        }
        let next = Mutex::new(0usize);
        let done = Mutex::new(done);
        std::thread::scope(|scope| {
            for _ in 0..self.parallel().min(jobs.len()) {
                scope.spawn(|| loop {
                    let k = {
                        let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                        let k = *n;
                        *n += 1;
                        k
                    };
                    let Some(job) = jobs.get(k) else {
                        break;
                    };
                    let result = self.run_one(job);
                    (done.lock().unwrap_or_else(|e| e.into_inner()))(k, result);
                });
            }
        });
        Ok(())
    }
}
