//! `fitrnn simulate`: write a recording with a known answer.

use crate::cli::SimulateArgs;
use crate::data::{summary, write_recording};
use crate::error::{Error, Result};
use crate::simulate::{simulate as run_sim, SimConfig};
use std::fmt::Write;

/// Run `fitrnn simulate`.
pub fn simulate(args: &SimulateArgs) -> Result<String> {
    let cfg = SimConfig::load(&args.config, &args.set)?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::Unsupported {
                problem: format!(
                    "{}: the output folder {} does not exist",
                    args.out.display(),
                    dir.display()
                ),
                fix: format!("create it first (mkdir -p {})", dir.display()),
            });
        }
    }
    let (mut rec, report) = run_sim(&cfg)?;
    rec.path = args.out.clone();
    write_recording(&rec, &args.out)?;
    let mut s = summary::render(&rec, &cfg.network.cell_types, "");
    let _ = writeln!(
        s,
        "network     {} units, {} recorded, density {:.3}, spectral radius {:.3}",
        report.n_units, report.n_recorded, report.density, report.spectral_radius
    );
    let _ = writeln!(
        s,
        "activity    mean rate E {:.3}, I {:.3}; {:.0} % of units active ≥ 10 % of the time",
        report.mean_rate_e,
        report.mean_rate_i,
        100.0 * report.fraction_active
    );
    let _ = writeln!(s, "\nwrote {} (seed {})", args.out.display(), cfg.seed);
    Ok(s)
}
