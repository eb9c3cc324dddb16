//! One module per subcommand; each takes parsed arguments and returns text for stdout.

pub mod analyse;
pub mod bench;
pub mod check;
pub mod compare;
pub mod dataset;
pub mod inspect;
pub mod reproduce;
pub mod run;
pub mod selfcheck;
pub mod simulate;
pub mod sweep;
pub mod task;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};

/// Dispatch a parsed command line. Returns what to print on stdout.
pub fn dispatch(cli: Cli) -> Result<String> {
    match cli.command {
        Some(Command::Run(args)) => run::run(&args),
        Some(Command::Check(args)) => check::check(&args),
        Some(Command::Simulate(args)) => simulate::simulate(&args),
        Some(Command::Analyse(args)) => analyse::analyse(&args),
        Some(Command::Selfcheck(args)) => selfcheck::selfcheck(&args),
        Some(Command::Compare(args)) => compare::compare(&args),
        Some(Command::Bench(args)) => bench::bench(&args),
        Some(Command::Sweep(args)) => sweep::sweep(&args),
        Some(Command::Inspect(args)) => inspect::inspect(&args),
        Some(Command::Dataset(args)) => dataset::dataset(&args),
        Some(Command::Reproduce(args)) => reproduce::reproduce(&args),
        Some(Command::Task(args)) => task::task(&args),
        Some(Command::Recovery(args)) => crate::recovery::run(
            &args.config,
            &args.out,
            args.backend.backend,
            &args.backend.slurm_opts,
            !args.no_wait,
        ),
        None => {
            if cli.run.config.is_some() || cli.run.resume.is_some() {
                run::run(&cli.run)
            } else {
                Err(Error::Unsupported {
                    problem: "nothing to do: give a config (fitrnn --config configs/mouse_v1.yaml) or a command".into(),
                    fix: "see `fitrnn --help`".into(),
                })
            }
        }
    }
}
