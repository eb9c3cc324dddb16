//! The Slurm backend: every job of a call becomes one task of one job array (`sbatch --array`,
//! throttled with `%`), written as a script a user can read and resubmit; the call waits with
//! `squeue`, or returns once submitted. Each task writes its exit status beside the script, so
//! no accounting database (`sacct`) is needed; a task that ends without one was killed (by
//! `scancel`, its time limit or its node), and its fit's log says so.
//!
//! Everything goes through Slurm's own commands (`sbatch`, `squeue`, `scancel`): fitrnn adds no
//! scheduler or server of its own.

use super::resources::{slurm_time, Resources};
use super::{Backend, Job, JobResult, Outcome};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Run jobs as one Slurm job array.
#[derive(Debug, Clone)]
pub struct Slurm {
    /// The `fitrnn` binary, as the compute nodes see it (a shared file system).
    pub binary: PathBuf,
    /// Where the array script, `submission.json`, the tasks' exit statuses and Slurm's own output
    /// go (on the shared file system).
    pub dir: PathBuf,
    /// The job's name in `squeue`.
    pub name: String,
    /// What each task asks for (estimated; `options` may replace any of it).
    pub resources: Resources,
    /// `sbatch` long options without dashes (`partition`, `account`, `time`, ...).
    pub options: BTreeMap<String, String>,
    /// Shell lines run before each fit (`module load ...`).
    pub setup: Vec<String>,
    /// The most tasks running at once (`--array=...%N`; 0: no limit).
    pub max_parallel: usize,
    /// Wait for every task (else return once submitted, each job [`Outcome::Submitted`]).
    pub wait: bool,
    /// How often the queue is asked while waiting.
    pub poll: Duration,
}

/// What was submitted, written as `submission.json` in the backend's folder: what `--collect` and
/// `--cancel` read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Submission {
    /// Slurm's job id of the array.
    pub job_id: String,
    /// The array script.
    pub script: PathBuf,
    /// One entry per array task, in task order.
    pub tasks: Vec<Task>,
}

/// One array task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Task {
    /// The job's name.
    pub name: String,
    /// The fit's log.
    pub log: PathBuf,
    /// Where the task writes `EXIT_CODE WALL_S` when its fit ends.
    pub status: PathBuf,
}

/// A task's state in the queue, or how it ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskState {
    /// In the queue (`PENDING`, `RUNNING`, ...: Slurm's word).
    Queued(String),
    /// Ended with this outcome and wall time, s.
    Ended(Outcome, f64),
}

/// The file names in a backend's folder.
pub fn submission_file(dir: &Path) -> PathBuf {
    dir.join("submission.json")
}

fn script_file(dir: &Path) -> PathBuf {
    dir.join("array.sh")
}

fn status_file(dir: &Path, task: usize) -> PathBuf {
    dir.join("status").join(format!("task_{task}"))
}

/// `s` quoted for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A Slurm command, with stdin closed; its output or an error naming the command and the fix.
fn slurm_command(program: &str, args: &[String]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Unsupported {
            problem: format!("cannot run {program}: {e}"),
            fix: "run fitrnn where Slurm's commands are on the PATH (a login node), or use --backend local".into(),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Unsupported {
            problem: format!(
                "{program} {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            fix: "check the Slurm options (--slurm-opt, the config's slurm: section) and that the cluster is up (sinfo)".into(),
        })
    }
}

impl Slurm {
    /// The `#SBATCH` options of the array of `n` tasks: fitrnn's own, the estimates, then the
    /// user's options over them.
    fn sbatch_options(&self, n: usize) -> BTreeMap<String, String> {
        let mut o = BTreeMap::new();
        o.insert("cpus-per-task".into(), self.resources.cpus.to_string());
        o.insert("mem".into(), format!("{}M", self.resources.mem_mib));
        o.insert("time".into(), slurm_time(self.resources.time_min));
        if self.resources.gpu {
            o.insert("gres".into(), "gpu:1".into());
        }
        o.extend(self.options.clone());
        let throttle = if self.max_parallel > 0 && self.max_parallel < n {
            format!("%{}", self.max_parallel)
        } else {
            String::new()
        };
        o.insert("array".into(), format!("0-{}{throttle}", n - 1));
        o.insert("job-name".into(), self.name.clone());
        o.insert(
            "output".into(),
            self.dir.join("slurm-%A_%a.out").display().to_string(),
        );
        o
    }

    /// The array script for `jobs`, run from `workdir`.
    pub fn script(&self, jobs: &[Job], workdir: &Path) -> String {
        let mut s = String::from("#!/bin/bash\n");
        s.push_str(&format!(
            "# {} fit(s) as one Slurm job array, written by fitrnn {} (commit {}).\n# Resubmit with: sbatch {}\n",
            jobs.len(),
            env!("CARGO_PKG_VERSION"),
            env!("FITRNN_GIT_COMMIT"),
            script_file(&self.dir).display()
        ));
        for line in &self.resources.basis {
            s.push_str(&format!("# estimated {line}\n"));
        }
        for (k, v) in self.sbatch_options(jobs.len()) {
            s.push_str(&format!("#SBATCH --{k}={v}\n"));
        }
        s.push_str(&format!("#SBATCH --chdir={}\n\n", workdir.display()));
        for line in &self.setup {
            s.push_str(line);
            s.push('\n');
        }
        s.push_str("case \"$SLURM_ARRAY_TASK_ID\" in\n");
        for (k, job) in jobs.iter().enumerate() {
            let args: Vec<String> = job.args.iter().map(|a| quote(a)).collect();
            s.push_str(&format!(
                "  {k}) log={}; args=({}) ;;  # {}\n",
                quote(&job.log.display().to_string()),
                args.join(" "),
                job.name.replace('\n', " ")
            ));
        }
        s.push_str("  *) echo \"no fit for task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n");
        s.push_str(&format!(
            "status={}/task_$SLURM_ARRAY_TASK_ID\nrm -f \"$status\"\nstart=$SECONDS\n",
            quote(&self.dir.join("status").display().to_string()),
        ));
        // A handler (not an ignore, which the fit would inherit) lets the script outlive the
        // SIGTERM of scancel or a time limit, note it in the fit's log and leave a status.
        s.push_str("trap 'true' TERM\n");
        s.push_str(&format!(
            "{} \"${{args[@]}}\" > \"$log\" 2>&1\ncode=$?\n",
            quote(&self.binary.display().to_string())
        ));
        s.push_str(concat!(
            "if [ \"$code\" -gt 128 ]; then\n",
            "  echo \"fitrnn: Slurm task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} ended by signal $((code - 128)) after $((SECONDS - start)) s (cancelled, out of time or preempted); its last checkpoint is kept and the next submission resumes from it\" >> \"$log\"\n",
            "fi\n",
            "echo \"$code $((SECONDS - start))\" > \"$status.tmp\" && mv \"$status.tmp\" \"$status\"\n",
            "exit $code\n",
        ));
        s
    }

    /// Write the script and submit it; returns what was submitted.
    fn submit(&self, jobs: &[Job]) -> Result<Submission> {
        refuse_if_queued(&self.dir)?;
        let status_dir = self.dir.join("status");
        if status_dir.exists() {
            std::fs::remove_dir_all(&status_dir)
                .map_err(|e| Error::io(&status_dir, "clearing", e))?;
        }
        std::fs::create_dir_all(&status_dir).map_err(|e| Error::io(&status_dir, "creating", e))?;
        let workdir =
            std::env::current_dir().map_err(|e| Error::io(Path::new("."), "reading", e))?;
        let script = script_file(&self.dir);
        crate::atomic::write_bytes(&script, self.script(jobs, &workdir).as_bytes())?;
        let out = slurm_command(
            "sbatch",
            &["--parsable".into(), script.display().to_string()],
        )?;
        let job_id = out.trim().split(';').next().unwrap_or_default().to_string();
        if job_id.is_empty() || !job_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::Unsupported {
                problem: format!("sbatch answered `{}`, not a job id", out.trim()),
                fix: "check the cluster (sinfo) and submit the script by hand to see why".into(),
            });
        }
        let submission = Submission {
            job_id,
            script,
            tasks: jobs
                .iter()
                .enumerate()
                .map(|(k, j)| Task {
                    name: j.name.clone(),
                    log: j.log.clone(),
                    status: status_file(&self.dir, k),
                })
                .collect(),
        };
        let json = serde_json::to_vec_pretty(&submission)
            .map_err(|e| Error::internal("writing submission.json", e))?;
        crate::atomic::write_bytes(&submission_file(&self.dir), &json)?;
        Ok(submission)
    }
}

/// The array tasks of `job_id` still in the queue, with Slurm's state word.
pub fn queued(job_id: &str) -> Result<BTreeMap<usize, String>> {
    let args = ["--noheader", "--array", "--jobs", job_id, "--format=%K %T"].map(String::from);
    let out = match slurm_command("squeue", &args) {
        Ok(out) => out,
        // A job that left the queue long ago is no longer known at all.
        Err(e) if e.to_string().contains("Invalid job id") => String::new(),
        Err(e) => return Err(e),
    };
    let mut tasks = BTreeMap::new();
    for line in out.lines() {
        let mut parts = line.split_whitespace();
        let (Some(ids), Some(state)) = (parts.next(), parts.next()) else {
            continue;
        };
        for k in task_ids(ids) {
            tasks.insert(k, state.to_string());
        }
    }
    Ok(tasks)
}

/// Array task ids as `squeue` prints them: `3`, or a pending range `[0-7%2]`, `[1,4-5]`.
fn task_ids(s: &str) -> Vec<usize> {
    let inner = s.trim_start_matches('[').trim_end_matches(']');
    let inner = inner.split('%').next().unwrap_or_default();
    let mut out = Vec::new();
    for part in inner.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<usize>().ok()),
        }
    }
    out
}

/// How task `k` of `submission` stands now, with `queue` from [`queued`]; `None` while it has
/// left the queue but its status file is not visible yet.
fn task_state(
    submission: &Submission,
    k: usize,
    queue: &BTreeMap<usize, String>,
) -> Option<TaskState> {
    if let Some(state) = queue.get(&k) {
        return Some(TaskState::Queued(state.clone()));
    }
    let text = std::fs::read_to_string(&submission.tasks[k].status).ok()?;
    let mut parts = text.split_whitespace();
    let code = parts.next()?.parse::<i32>().ok()?;
    let wall = parts
        .next()
        .and_then(|w| w.parse::<f64>().ok())
        .unwrap_or(0.0);
    let outcome = if code == 0 {
        Outcome::Done
    } else {
        Outcome::Failed(Some(code))
    };
    Some(TaskState::Ended(outcome, wall))
}

/// Every task's state now; a task out of the queue without a status file ended without its fit
/// ending (killed).
pub fn states(submission: &Submission) -> Result<Vec<TaskState>> {
    let queue = queued(&submission.job_id)?;
    Ok((0..submission.tasks.len())
        .map(|k| {
            task_state(submission, k, &queue)
                .unwrap_or(TaskState::Ended(Outcome::Failed(None), 0.0))
        })
        .collect())
}

/// The submission recorded in `dir`, if any.
pub fn read_submission(dir: &Path) -> Result<Option<Submission>> {
    let path = submission_file(dir);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read(&path).map_err(|e| Error::io(&path, "reading", e))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Error::Unsupported {
            problem: format!("{} is not a submission fitrnn wrote: {e}", path.display()),
            fix: "remove it if no job of that folder is queued (squeue), then run again".into(),
        })
}

/// Refuse to submit again into `dir` while its previous array still has tasks queued: they would
/// write the same run directories.
fn refuse_if_queued(dir: &Path) -> Result<()> {
    let Some(previous) = read_submission(dir)? else {
        return Ok(());
    };
    let queue = queued(&previous.job_id)?;
    if queue.is_empty() {
        return Ok(());
    }
    Err(Error::Unsupported {
        problem: format!(
            "Slurm job {} from an earlier submission in {} still has {} task(s) queued or running",
            previous.job_id,
            dir.display(),
            queue.len()
        ),
        fix: format!(
            "wait for it (squeue -j {}), or cancel it first (scancel {}, or fitrnn sweep --cancel DIR)",
            previous.job_id, previous.job_id
        ),
    })
}

/// Cancel every queued task of the submission in `dir`; returns its job id (`None`: nothing was
/// submitted there).
pub fn cancel(dir: &Path) -> Result<Option<String>> {
    let Some(s) = read_submission(dir)? else {
        return Ok(None);
    };
    slurm_command("scancel", std::slice::from_ref(&s.job_id))?;
    Ok(Some(s.job_id))
}

/// Add to a killed task's fit log why Slurm ended it, from Slurm's own output of the task.
fn note_kill(dir: &Path, job_id: &str, k: usize, log: &Path) {
    let slurm_out = dir.join(format!("slurm-{job_id}_{k}.out"));
    let why = std::fs::read_to_string(&slurm_out)
        .ok()
        .and_then(|t| {
            t.lines()
                .rev()
                .find(|l| l.contains("***"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            "no exit status: the task was cancelled, ran out of time or lost its node".into()
        });
    let line = format!("\nfitrnn: Slurm task {job_id}_{k} ended before its fit did: {why}\n");
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

impl Backend for Slurm {
    fn parallel(&self) -> usize {
        self.max_parallel.max(1)
    }

    fn run(&self, jobs: &[Job], done: &mut (dyn FnMut(usize, JobResult) + Send)) -> Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, "creating", e))?;
        let submission = self.submit(jobs)?;
        eprintln!(
            "submitted Slurm job {} ({} task{}; script {})",
            submission.job_id,
            jobs.len(),
            if jobs.len() == 1 { "" } else { "s" },
            submission.script.display()
        );
        if !self.wait {
            for k in 0..jobs.len() {
                done(
                    k,
                    JobResult {
                        outcome: Outcome::Submitted,
                        wall_s: 0.0,
                        stdout: String::new(),
                        scheduler_id: format!("{}_{k}", submission.job_id),
                    },
                );
            }
            return Ok(());
        }
        let mut open: BTreeSet<usize> = (0..jobs.len()).collect();
        // When each task was first seen out of the queue without a status file.
        let mut missing_since: BTreeMap<usize, Instant> = BTreeMap::new();
        let grace = Duration::from_secs(20).max(self.poll * 3);
        let mut failed_polls = 0;
        while !open.is_empty() {
            let queue = match queued(&submission.job_id) {
                Ok(q) => {
                    failed_polls = 0;
                    q
                }
                Err(e) if failed_polls < 10 => {
                    failed_polls += 1;
                    eprintln!("warning: {e} (asking again)");
                    std::thread::sleep(self.poll);
                    continue;
                }
                Err(e) => return Err(e),
            };
            for k in open.clone() {
                let ended = match task_state(&submission, k, &queue) {
                    Some(TaskState::Queued(_)) => None,
                    Some(TaskState::Ended(outcome, wall)) => Some((outcome, wall)),
                    None => {
                        let since = *missing_since.entry(k).or_insert_with(Instant::now);
                        (since.elapsed() >= grace).then(|| {
                            note_kill(&self.dir, &submission.job_id, k, &jobs[k].log);
                            (Outcome::Failed(None), 0.0)
                        })
                    }
                };
                if let Some((outcome, wall_s)) = ended {
                    open.remove(&k);
                    let stdout = std::fs::read_to_string(&jobs[k].log).unwrap_or_default();
                    done(
                        k,
                        JobResult {
                            outcome,
                            wall_s,
                            stdout,
                            scheduler_id: format!("{}_{k}", submission.job_id),
                        },
                    );
                }
            }
            if !open.is_empty() {
                std::thread::sleep(self.poll);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(dir: &Path) -> Slurm {
        Slurm {
            binary: PathBuf::from("/opt/fitrnn/bin/fitrnn"),
            dir: dir.to_path_buf(),
            name: "fitrnn-sweep".into(),
            resources: Resources {
                cpus: 2,
                mem_mib: 2048,
                time_min: 90,
                gpu: true,
                basis: vec!["memory: a guess".into()],
            },
            options: [
                ("partition".to_string(), "gpu".to_string()),
                ("time".to_string(), "4:00:00".to_string()),
            ]
            .into_iter()
            .collect(),
            setup: vec!["module load hdf5".into()],
            max_parallel: 2,
            wait: true,
            poll: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_array_script_asks_for_the_estimates_under_the_users_options_and_quotes_every_argument() {
        let jobs = vec![
            Job {
                name: "base/seed_0".into(),
                args: vec![
                    "--config".into(),
                    "/c/it's.yaml".into(),
                    "--set".into(),
                    "seed=0".into(),
                ],
                log: PathBuf::from("/out/base/seed_0.log"),
            },
            Job {
                name: "base/seed_1".into(),
                args: vec!["--set".into(), "seed=1".into()],
                log: PathBuf::from("/out/base/seed_1.log"),
            },
            Job {
                name: "base/seed_2".into(),
                args: vec![],
                log: PathBuf::from("/out/base/seed_2.log"),
            },
        ];
        let s = backend(Path::new("/out/slurm")).script(&jobs, Path::new("/home/u"));
        for line in [
            "#SBATCH --array=0-2%2",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --mem=2048M",
            "#SBATCH --time=4:00:00",
            "#SBATCH --partition=gpu",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --job-name=fitrnn-sweep",
            "#SBATCH --output=/out/slurm/slurm-%A_%a.out",
            "#SBATCH --chdir=/home/u",
            "module load hdf5",
            "# estimated memory: a guess",
        ] {
            assert!(s.lines().any(|l| l == line), "no `{line}` in\n{s}");
        }
        assert!(
            !s.contains("--time=0-01:30:00"),
            "the user's time replaces the estimate"
        );
        assert!(s.contains(r"'/c/it'\''s.yaml'"), "{s}");
        assert!(
            s.contains("  1) log='/out/base/seed_1.log'; args=('--set' 'seed=1') ;;"),
            "{s}"
        );
        assert!(
            s.contains("'/opt/fitrnn/bin/fitrnn' \"${args[@]}\" > \"$log\" 2>&1"),
            "{s}"
        );
    }

    #[test]
    fn squeue_task_ids_single_and_pending_ranges() {
        assert_eq!(task_ids("3"), vec![3]);
        assert_eq!(task_ids("[0-3%2]"), vec![0, 1, 2, 3]);
        assert_eq!(task_ids("[1,4-5]"), vec![1, 4, 5]);
        assert_eq!(task_ids("N/A"), Vec::<usize>::new());
    }

    #[test]
    fn a_task_out_of_the_queue_is_read_from_its_status_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = Submission {
            job_id: "7".into(),
            script: dir.path().join("array.sh"),
            tasks: (0..3)
                .map(|k| Task {
                    name: format!("t{k}"),
                    log: dir.path().join(format!("t{k}.log")),
                    status: status_file(dir.path(), k),
                })
                .collect(),
        };
        std::fs::create_dir_all(dir.path().join("status")).unwrap();
        std::fs::write(&s.tasks[0].status, "0 12\n").unwrap();
        std::fs::write(&s.tasks[1].status, "2 3\n").unwrap();
        let queue: BTreeMap<usize, String> = [(2, "RUNNING".to_string())].into_iter().collect();
        assert_eq!(
            task_state(&s, 0, &queue),
            Some(TaskState::Ended(Outcome::Done, 12.0))
        );
        assert_eq!(
            task_state(&s, 1, &queue),
            Some(TaskState::Ended(Outcome::Failed(Some(2)), 3.0))
        );
        assert_eq!(
            task_state(&s, 2, &queue),
            Some(TaskState::Queued("RUNNING".into()))
        );
        assert_eq!(task_state(&s, 2, &BTreeMap::new()), None);
    }
}
