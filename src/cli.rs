//! Command-line interface (clap derive). The doc comments are the `--help` text.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Version string: crate version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("FITRNN_GIT_COMMIT"),
    ")"
);

/// Fit Dale's-law recurrent networks to 2-photon calcium recordings, and report how the recorded
/// areas and cell types interact.
///
/// Run the whole pipeline with `fitrnn --config configs/mouse_v1.yaml`. Exit codes: 0 success,
/// 1 a run that failed while computing (or a full disk), 2 bad input (config, data or arguments),
/// 70 a bug in fitrnn.
#[derive(Debug, Parser)]
#[command(name = "fitrnn", version = VERSION, about, long_about = None, propagate_version = true, help_expected = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of a pipeline run (also accepted without the `run` subcommand).
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// The run's YAML config (e.g. configs/mouse_v1.yaml); paths inside resolve relative to it.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override a config value, e.g. `--set training.lr=0.0005` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// CPU threads for tensor maths (overrides the config's `threads`; 0 = all cores). Set before
    /// any tensor operation; the same seed, device and threads give the same numbers.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Continue an interrupted run from its last checkpoint (its own config.resolved.yaml is used);
    /// ends with the same weights as an uninterrupted run.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "set"])]
    pub resume: Option<PathBuf>,
    /// With --resume: go on although the recording's sha256 differs from the one the run was fitted on (a warning
    /// is recorded in the manifest).
    #[arg(long)]
    pub allow_changed_data: bool,
    /// Where the ensemble's extra fits and the self-check's refits run: `local` or `slurm` (one
    /// job array; the fit itself runs here). Overrides the config's `ensemble.backend`.
    #[arg(long, value_enum, conflicts_with = "resume")]
    pub backend: Option<crate::config::BackendKind>,
    /// An sbatch option for every task with --backend slurm, e.g. `partition=gpu` (repeatable;
    /// over the config's `slurm.sbatch`).
    #[arg(
        long = "slurm-opt",
        value_name = "KEY=VALUE",
        conflicts_with = "resume"
    )]
    pub slurm_opts: Vec<String>,
}

/// fitrnn's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline on a config (the default when only --config is given).
    Run(RunArgs),
    /// Validate a config and its data, or a recording file alone, and print a summary.
    Check(CheckArgs),
    /// Simulate a recording whose true connectivity is known (written with /ground_truth).
    Simulate(SimulateArgs),
    /// Re-run the evaluation and the analyses (metrics, interactions, currents, spectra, diagnostics) on a finished run and write its report again.
    Analyse(AnalyseArgs),
    /// Self-check a finished run: simulate recordings like the user's from the fitted network,
    /// refit them, and flag which block interactions the data determine (selfcheck.parquet, the
    /// `identifiable` column of interactions_ensemble.parquet, the report).
    Selfcheck(SelfcheckArgs),
    /// Contrast block interactions and currents between groups of finished runs (conditions ×
    /// seeds): differences with bootstrap intervals and permutation p-values.
    Compare(CompareArgs),
    /// Time the training step on the benchmark workloads (celltype, neurons, large), or check a
    /// 10-step trajectory against exported reference tensors (--from).
    Bench(BenchArgs),
    /// Fit one config for several seeds (and conditions), several fits at a time, one thread each.
    Sweep(SweepArgs),
    /// Show what a recording (fitrnn-recording/1 or NWB) holds: planes, ROIs per area, depth and
    /// Cre line, frames, rate, trials; and the config snippet to fit it.
    Inspect(InspectArgs),
    /// Build a trial-averaged population dataset from many experiments (Balwani et al.'s
    /// pipeline) and write it as a fitrnn-recording/1 file for `model.mode: populations`.
    Dataset(DatasetArgs),
    /// Ground-truth recovery study: simulated recordings × conditions × methods, each inference
    /// scored against the true block interactions (resumable; one fit per core).
    Recovery(RecoveryArgs),
    /// Train a standard, ColEI or recurrent DANN network on one of the papers' benchmark tasks
    /// (flip-flop, adding, wave) and write a run directory with its spectra and report.
    Task(TaskArgs),
    /// Recompute a published result fitrnn's methods come from and print it beside the paper's
    /// numbers (`shao-motifs`, `li-nse`, `li-transplant`, `cornford-eg`, `balwani-fig2`, `balwani-fig3`), with a figure and a table.
    Reproduce(ReproduceArgs),
}

/// `fitrnn task`.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// Task config (e.g. configs/task_flip_flop.yaml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Override a config value, e.g. `--set model.architecture=colei` or `--set seed=3`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device: `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// CPU threads (0 = every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// `fitrnn reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The published result.
    #[arg(value_enum, value_name = "NAME")]
    pub target: crate::reproduce::Target,
    /// How large: `tiny` (seconds, for checks), `reduced` (the default; sizes per target in the
    /// README) or `full` (the paper's sizes).
    #[arg(long, value_enum, default_value = "reduced", conflicts_with = "full")]
    pub size: crate::reproduce::Size,
    /// The paper's sizes (the same as `--size full`).
    #[arg(long)]
    pub full: bool,
    /// First random seed (seeds `seed`, `seed + 1`, ... are averaged).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The run config whose recording and model `cornford-eg` and `balwani-fig3` fit (its ensemble
    /// is not run).
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        default_value = "configs/mouse_v1.yaml"
    )]
    pub config: PathBuf,
    /// Output folder (default `reproductions/NAME`); its reproduction files are replaced, nothing
    /// else in it is touched.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `fitrnn recovery`.
#[derive(Debug, Args)]
pub struct RecoveryArgs {
    /// Study config (e.g. configs/recovery.yaml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Output folder: recordings/, runs/, cells/, recovery.parquet, recovery.md. Rerunning with the
    /// same folder skips finished cells.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// With --backend slurm: return once the fits are submitted; run the command again after
    /// they end to score them.
    #[arg(long)]
    pub no_wait: bool,
}

/// `fitrnn inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The recording file (.h5 in the fitrnn-recording/1 layout, or .nwb).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print one JSON object (n_neurons, n_frames, frame_rate_hz, areas, cell_types, ...) instead
    /// of text.
    #[arg(long)]
    pub json: bool,
    /// Which NWB traces to read: dff, events or fluorescence.
    #[arg(long, default_value = "dff", value_name = "KIND")]
    pub traces: String,
    /// A CSV file with area, layer, cell type or depth per ROI id for an NWB file that lacks them
    /// (`roi_id,area,layer,cell_type`; the config key is data.nwb.roi_labels).
    #[arg(long, value_name = "CSV")]
    pub roi_labels: Option<PathBuf>,
}

/// `fitrnn dataset`.
#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// Dataset config (e.g. configs/dataset_vbo_changes.yaml): experiments, events, window,
    /// resampling.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Where to write the dataset (fitrnn-recording/1 HDF5).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
}

/// Where a many-fit command runs its fits.
#[derive(Debug, Args, Clone, Default)]
pub struct BackendArgs {
    /// Where the fits run: `local` (child processes on this machine) or `slurm` (one Slurm job
    /// array, one task per fit, submitted with sbatch and waited for with squeue).
    #[arg(long, value_enum, default_value = "local")]
    pub backend: crate::config::BackendKind,
    /// An sbatch option for every task with --backend slurm, e.g. `partition=gpu`,
    /// `time=04:00:00`, `mem=8G` (repeatable; over the config's `slurm.sbatch`).
    #[arg(long = "slurm-opt", value_name = "KEY=VALUE")]
    pub slurm_opts: Vec<String>,
}

/// `fitrnn sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The run config every fit starts from.
    #[arg(long, short = 'c', value_name = "FILE", required_unless_present_any = ["collect", "cancel"])]
    pub config: Option<PathBuf>,
    /// Seeds, e.g. `0,1,2,3` or `0-7`.
    #[arg(long, default_value = "0-3", value_name = "LIST")]
    pub seeds: String,
    /// A condition: NAME=KEY=VALUE[;KEY=VALUE...] (config overrides); repeat for each. Without
    /// any, one condition named `base`.
    #[arg(long = "condition", value_name = "NAME=KEY=VALUE;...")]
    pub conditions: Vec<String>,
    /// Overrides for every fit, as in `fitrnn --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Fits run at the same time (local: default 1, which runs them one after another with all
    /// threads, more share the cores one thread each; slurm: the array's `%` throttle, default
    /// none).
    #[arg(long, visible_alias = "max-parallel", value_name = "N")]
    pub jobs: Option<usize>,
    /// Output folder: one run directory per condition and seed, DIR/NAME/seed_S.
    #[arg(long, short = 'o', value_name = "DIR", required_unless_present_any = ["collect", "cancel"])]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// With --backend slurm: return once the job array is submitted (gather the results later
    /// with --collect DIR).
    #[arg(long)]
    pub no_wait: bool,
    /// Gather the results of the sweep in DIR (submitted earlier) into DIR/sweep.parquet, with
    /// each fit's state: done, pending, running or failed.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "out", "cancel"])]
    pub collect: Option<PathBuf>,
    /// Cancel the Slurm tasks of the sweep in DIR that have not finished (scancel).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "out"])]
    pub cancel: Option<PathBuf>,
}

/// Which benchmark workload(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchWorkload {
    /// Balwani et al.'s 1,440-unit cell-type RNN.
    Celltype,
    /// A 500-unit single-neuron fit over 200 frames.
    Neurons,
    /// 5,000 units.
    Large,
    /// All three.
    All,
}

/// How gradients are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchBackward {
    /// The hand-written backward the trainer uses (sparse products for sparse masks on the CPU).
    Bptt,
    /// The hand-written backward with dense products.
    BpttDense,
    /// candle's autograd (the slow reference).
    Autograd,
}

/// `fitrnn bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Workload(s) to run.
    #[arg(long, value_enum, default_value = "all")]
    pub workload: BenchWorkload,
    /// The small variants (seconds in total; for checks, not for timing).
    #[arg(long)]
    pub small: bool,
    /// Device: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// CPU threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Timed steps (default 20; 3 for large).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Untimed warm-up steps (default 3; 1 for large).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Seed of the drawn tensors.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// One JSON line per workload instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Start from the tensors exported in DIR (<workload>.safetensors), train 10 steps and print the
    /// trajectory; with DIR/<workload>.json present, check it within the spec's tolerances.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// Gradients by the hand-written backward (default) or by autograd.
    #[arg(long, value_enum, default_value = "bptt")]
    pub backward: BenchBackward,
    /// Resize the `neurons` workload: units (all recorded).
    #[arg(long, value_name = "N", requires = "frames")]
    pub units: Option<usize>,
    /// Resize the `neurons` workload: time steps per sequence.
    #[arg(long, value_name = "T", requires = "units")]
    pub frames: Option<usize>,
    /// Resize the `neurons` workload: sequences per batch.
    #[arg(long, value_name = "B", default_value_t = 16)]
    pub batch: usize,
    /// How cost grows: ms per step and peak memory of the `neurons` model for N ∈ {256, 512,
    /// 1024, 2048, 4096} × T ∈ {50, 200, 800} (B 16; each cell in its own process), with fitted
    /// exponents. Several minutes.
    #[arg(long)]
    pub scaling: bool,
    /// Time the convex one-step estimate (the warm start) in CORNN's setting instead: a fully
    /// observed random tanh rate network and a Dale's-law one, N 500 × T 10,000 (or --units,
    /// --frames), printing seconds and the correlation of the estimated with the true weights.
    #[arg(long, conflicts_with_all = ["scaling", "from"])]
    pub one_step: bool,
}

/// `fitrnn compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run directories to compare; each must also be listed in exactly one --group (a check
    /// against typos when runs are listed by a shell glob). Optional.
    #[arg(value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
    /// A condition and its runs: NAME=RUN_DIR,RUN_DIR,... Repeat for each condition (at least
    /// two); later groups are contrasted against earlier ones (difference = later − earlier).
    #[arg(long = "group", value_name = "NAME=RUN,RUN", required = true)]
    pub groups: Vec<String>,
    /// Output folder for contrasts.parquet, compare.json and the heat maps.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Bootstrap resamples of runs within each group for the 95 % intervals.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub bootstrap: usize,
    /// Most relabellings in the permutation test; when all relabellings fit, the test is exact.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub permutations: usize,
    /// Seed of the resampling.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
}

/// `fitrnn analyse`.
#[derive(Debug, Args)]
pub struct AnalyseArgs {
    /// A complete run directory written by `fitrnn --config`.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Device for the analyses: cpu, cuda or cuda:N (default: the device the run used).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
    /// Go on although the recording's sha256 differs from the one the run was fitted on (a warning
    /// is recorded in the manifest).
    #[arg(long)]
    pub allow_changed_data: bool,
    /// Analyse a failed fit from its last checkpoint (the best parameters of the phase it reached):
    /// the run stays `failed`, and its manifest and report say what was analysed.
    #[arg(long)]
    pub allow_failed: bool,
}

/// `fitrnn selfcheck`.
#[derive(Debug, Args)]
pub struct SelfcheckArgs {
    /// A complete run directory written by `fitrnn --config` (mode: neurons).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Recordings to simulate and refit (default: the run's ensemble.selfcheck, or 2).
    #[arg(long, value_name = "N")]
    pub refits: Option<usize>,
    /// Fits at the same time, one thread each (default: the run's ensemble.jobs; 0 = one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Where the refits run: `local` or `slurm` (overrides the run's `ensemble.backend`).
    #[arg(long, value_enum)]
    pub backend: Option<crate::config::BackendKind>,
    /// An sbatch option for every refit with --backend slurm, e.g. `partition=gpu` (repeatable).
    #[arg(long = "slurm-opt", value_name = "KEY=VALUE")]
    pub slurm_opts: Vec<String>,
    /// Go on although the recording's sha256 differs from the one the run was fitted on (a warning
    /// is recorded in the manifest).
    #[arg(long)]
    pub allow_changed_data: bool,
}

/// `fitrnn check`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["config", "data"])))]
pub struct CheckArgs {
    /// Check this run config and the recording it names (with its selection and sign map).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check this recording file alone against the fitrnn-recording/1 contract, with the default
    /// cell-type → E/I map.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Override a config value (with --config), e.g. `--set data.nan_policy=drop_frames`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// `fitrnn simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Simulator config (e.g. configs/simulate_mouse_v1.yaml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Where to write the recording (fitrnn-recording/1 HDF5 with /ground_truth).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Override a simulator config value, e.g. `--set seed=3` or `--set network.scale=0.5`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}
