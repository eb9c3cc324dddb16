//! The `fitrnn` binary: parse arguments, run, print the result or one clear error line.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = fitrnn::cli::Cli::parse();
    match fitrnn::commands::dispatch(cli) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
