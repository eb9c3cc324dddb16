//! `fitrnn --config FILE` and `fitrnn --resume RUN_DIR`: read the config and the data, run the
//! pipeline with a progress bar per phase, and print the summary and headline numbers.

use crate::cli::RunArgs;
use crate::config::Config;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::evaluate::{Headline, Predictor};
use crate::pipeline::RunOutcome;
use crate::rundir::paths::RunPaths;
use crate::rundir::tables::HistoryRow;
use std::fmt::Write;
use std::path::Path;

/// Run the pipeline described by `args.config`, or resume `args.resume`.
pub fn run(args: &RunArgs) -> Result<String> {
    if let Some(dir) = &args.resume {
        return resume(dir, args.threads, args.allow_changed_data);
    }
    let Some(path) = &args.config else {
        return Err(Error::Unsupported {
            problem: "no config given".into(),
            fix: "fitrnn --config configs/mouse_v1.yaml".into(),
        });
    };
    let config = with_backend(
        with_threads(Config::load(path, &args.set)?, args.threads),
        args.backend,
        &args.slurm_opts,
    )?;
    let (ds, device, mut text) = prepare(&config, path)?;
    let outcome =
        with_progress(|on_epoch| crate::pipeline::run(&config, path, &ds, &device, on_epoch))?;
    text.push_str(&render(&outcome));
    Ok(text)
}

/// `config` with the command line's choice of where its extra fits run.
pub fn with_backend(
    mut config: Config,
    backend: Option<crate::config::BackendKind>,
    slurm_opts: &[String],
) -> Result<Config> {
    if let Some(b) = backend {
        config.ensemble.backend = b;
    }
    config.slurm = crate::jobs::with_slurm_opts(config.slurm, slurm_opts)?;
    Ok(config)
}

fn with_threads(mut config: Config, threads: Option<usize>) -> Config {
    if let Some(t) = threads {
        config.threads = t;
    }
    config
}

/// Set the config's thread count (before any tensor operation), open its device and build its
/// dataset; returns the dataset, the device and the check summary.
fn prepare(config: &Config, config_path: &Path) -> Result<(Dataset, candle_core::Device, String)> {
    crate::device::set_threads(config.threads);
    let device = config.device_choice.open()?;
    let (ds, text) = super::check::check_config(config, config_path)?;
    Ok((ds, device, text))
}

/// `fitrnn --resume RUN_DIR`: the run's own resolved config and data, from its last checkpoint.
fn resume(dir: &Path, threads: Option<usize>, allow_changed_data: bool) -> Result<String> {
    crate::rundir::resumable(dir)?;
    let cfg_path = RunPaths::new(dir).config();
    let config = with_threads(Config::load(&cfg_path, &[])?, threads);
    let (ds, device, mut text) = prepare(&config, &cfg_path)?;
    let outcome = with_progress(|on_epoch| {
        crate::pipeline::resume(dir, &config, &ds, &device, allow_changed_data, on_epoch)
    })?;
    text.push_str(&render(&outcome));
    Ok(text)
}

/// Run `work` with a progress bar per phase (plain log lines every 10 epochs when stderr is not a
/// terminal).
fn with_progress<T>(work: impl FnOnce(crate::pipeline::OnEpoch) -> Result<T>) -> Result<T> {
    let mut bar: Option<(String, indicatif::ProgressBar)> = None;
    let mut on_epoch = |phase: &str, epoch: usize, epochs: usize, row: &HistoryRow| {
        if bar.as_ref().is_none_or(|(p, _)| p != phase) {
            if let Some((_, old)) = bar.take() {
                old.finish_and_clear();
            }
            bar = Some((
                phase.to_string(),
                crate::progress::bar(epochs as u64, phase),
            ));
        }
        let (_, b) = bar.as_ref().expect("set");
        b.set_position(epoch as u64);
        let msg = format!(
            "{phase} {epoch}/{epochs} loss {:.4} val {:.4}",
            row.train_loss, row.val_loss
        );
        if b.is_hidden() {
            if epoch == 1 || epoch == epochs || epoch.is_multiple_of(10) {
                eprintln!("{msg}");
            }
        } else {
            b.set_message(msg);
        }
    };
    let result = work(&mut on_epoch);
    if let Some((_, b)) = bar.take() {
        b.finish_and_clear();
    }
    result
}

/// Median and interquartile range of the finite values, as `0.123 (IQR 0.045 to 0.210)` (NaN when
/// there are none); quantiles by linear interpolation, as numpy's default.
fn median_iqr(v: &[f64]) -> String {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return "NaN".into();
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    format!("{:.3} (IQR {:.3} to {:.3})", q(0.5), q(0.25), q(0.75))
}

/// One headline line per validation mode, as the run prints them.
fn headline_line(h: &Headline) -> String {
    match &h.predictor {
        Predictor::Network => format!(
            "validation  {:<18} pVar {:.3}, mean R² {:.3}, median R² {}, mean r {:.3}",
            h.mode,
            h.pooled.pvar,
            h.pooled.r2,
            median_iqr(&h.r2),
            h.pooled.pearson_r
        ),
        Predictor::TrainMean => format!(
            "baseline    {:<18} pVar {:.3}, median R² {} (each neuron's training mean)",
            "train_mean",
            h.pooled.pvar,
            median_iqr(&h.r2)
        ),
        Predictor::Var1 { alpha } => format!(
            "baseline    {:<18} pVar {:.3}, median R² {} (ridge VAR(1), α = {alpha})",
            h.mode,
            h.pooled.pvar,
            median_iqr(&h.r2)
        ),
    }
}

/// What a run without an ensemble prints in its place: nothing it reports has an interval.
pub const NO_ENSEMBLE: &str = "ensemble    none: no interaction, current or effect above or in the tables has an interval, and nothing says which of them the data determine (set ensemble.seeds, ensemble.bootstrap or ensemble.selfcheck, or run fitrnn selfcheck RUN_DIR)";

/// What the ensemble found, in one line.
pub fn ensemble_line(e: &crate::ensemble::EnsembleOutcome) -> String {
    let checked = match e.identifiable {
        Some(k) => format!(", {k} identifiable by the self-check ({} refits)", e.refits),
        None => String::new(),
    };
    let mut s = format!(
        "ensemble    {} members, {:.0} s with {} at a time: of {} blocks the fit has, {} have a sign the interval determines{checked}",
        e.members, e.wall_s, e.parallel, e.blocks, e.sign_determined
    );
    if let Some(fit) = e.spectrum.first().map(|r| r.truth) {
        let refits: Vec<String> = e.spectrum.iter().map(spectrum_refits).collect();
        let _ = write!(s, "\nspectrum    radius {fit:.3}; {}", refits.join("; "));
    }
    s
}

/// One spectral self-check row in words: whose refits, their median and the verdict.
fn spectrum_refits(r: &crate::rundir::tables::SelfcheckRow) -> String {
    let whose = if r.pre == "subsample" {
        format!(
            "refits keeping {} of the neurons",
            r.post
                .parse::<f64>()
                .map_or("part".into(), |f| format!("{:.0} %", 100.0 * f))
        )
    } else {
        "refits".into()
    };
    format!(
        "{whose} {:.3} ({:.0} % off: {})",
        r.refit_median,
        100.0 * r.rel_error,
        r.verdict()
    )
}

/// The ensemble's interval of a learned `quantity` of `group`, as " [lo–hi]" with `decimals`
/// (empty without an ensemble, or with the fit alone as its member).
fn interval(o: &RunOutcome, quantity: &str, group: &str, decimals: usize) -> String {
    o.ensemble
        .iter()
        .flat_map(|e| &e.constants)
        .find(|r| r.quantity == quantity && r.group == group && r.n_members > 1)
        .map_or(String::new(), |r| {
            format!(" [{:.decimals$}–{:.decimals$}]", r.ci_low, r.ci_high)
        })
}

/// What the brackets of [`interval`] are, for the end of a line that has them.
fn interval_note(o: &RunOutcome) -> String {
    match o.ensemble.as_ref().and_then(|e| e.constants.first()) {
        Some(r) if r.n_members > 1 => format!(" ([ ]: over {} ensemble members)", r.n_members),
        _ => String::new(),
    }
}

/// The warm start's line: what the one-step estimate took.
fn warm_start_line(w: &crate::rundir::manifest::WarmStartSummary) -> String {
    let mut line = format!(
        "warm start  one_step: {} recorded units, median {} active frame pairs, {} projected-gradient steps, {:.2} s",
        w.units, w.median_active_frames, w.steps, w.seconds
    );
    if w.scaled_by < 1.0 {
        line += &format!(
            "; the estimate was scaled by {:.3} to a spectral radius of 1",
            w.scaled_by
        );
    }
    line
}

/// The text after the check summary: fit, calcium decays, headline, report, run directory.
fn render(o: &RunOutcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nfit         {} epochs, {:.2} s per epoch; density of W {:.3}",
        o.epochs, o.seconds_per_epoch, o.density
    );
    if let Some(w) = &o.warm_start {
        let _ = writeln!(s, "{}", warm_start_line(w));
    }
    for (label, what, quantity, values) in [
        (
            "calcium",
            "learned indicator decay",
            "calcium_decay_ms",
            &o.calcium_decays_ms,
        ),
        ("tau", "learned time constants", "tau_ms", &o.taus_ms),
    ] {
        if !values.is_empty() {
            let text: Vec<String> = values
                .iter()
                .map(|(g, from, to)| {
                    let ci = interval(o, quantity, g, 0);
                    format!("{g} {to:.0}{ci} ms (from {from:.0})")
                })
                .collect();
            let _ = writeln!(
                s,
                "{label:<11} {what}: {}{}",
                text.join(", "),
                interval_note(o)
            );
        }
    }
    if !o.inferred_shares.is_empty() {
        let text: Vec<String> = o
            .inferred_shares
            .iter()
            .map(|(a, share)| {
                let ci = interval(o, "inferred_share", a, 2);
                format!("{a} {share:.2}{ci}")
            })
            .collect();
        let _ = writeln!(
            s,
            "inferred    share of each area's input from inferred drive (training frames): {}; interactions are net of it{}",
            text.join(", "),
            interval_note(o)
        );
    }
    for h in &o.headline {
        let _ = writeln!(s, "{}", headline_line(h));
    }
    match &o.ensemble {
        Some(e) => {
            let _ = writeln!(s, "{}", ensemble_line(e));
        }
        None => {
            let _ = writeln!(s, "{NO_ENSEMBLE}");
        }
    }
    let _ = writeln!(s, "\n{}", o.report);
    let _ = writeln!(s, "wrote {}", o.dir.display());
    s
}
