//! `fitrnn bench`: time the trainer's step on the benchmark workloads, or check a trajectory.

use crate::bench::{self, Kind, Workload};
use crate::cli::{BenchArgs, BenchBackward, BenchWorkload};
use crate::error::{Error, Result};
use crate::train::Backward;
use std::fmt::Write as _;

fn kinds(w: BenchWorkload) -> Vec<Kind> {
    match w {
        BenchWorkload::Celltype => vec![Kind::Celltype],
        BenchWorkload::Neurons => vec![Kind::Neurons],
        BenchWorkload::Large => vec![Kind::Large],
        BenchWorkload::All => vec![Kind::Celltype, Kind::Neurons, Kind::Large],
    }
}

/// The spec's tolerances: relative error of losses 1 and 2 within 1e-4, later ones 1e-3.
fn check_trajectory(
    kind: Kind,
    got: &bench::Trajectory,
    reference: &serde_json::Value,
) -> Vec<(String, f64, f64, bool)> {
    let mut out = Vec::new();
    let mut push = |name: &str, ours: f64, key: &str, tol: f64| {
        if let Some(r) = reference[key].as_f64() {
            let rel = (ours - r).abs() / r.abs().max(1e-30);
            out.push((format!("{} {name}", kind.name()), ours, rel, rel <= tol));
        }
    };
    push("loss_step1", got.losses[0], "loss_step1", 1e-4);
    push("loss_step2", got.losses[1], "loss_step2", 1e-4);
    push("loss_step10", got.losses[9], "loss_step10", 1e-3);
    push(
        "loss_after_step10",
        got.loss_after,
        "loss_after_step10",
        1e-3,
    );
    push(
        "sum_abs_w_rec_step10",
        got.sum_abs_w_rec[9],
        "sum_abs_w_rec_step10",
        1e-3,
    );
    out
}

/// Run `fitrnn bench`.
pub fn bench(args: &BenchArgs) -> Result<String> {
    crate::device::set_threads(args.threads);
    let device = crate::device::open(&args.device)?;
    let backward = match args.backward {
        BenchBackward::Bptt => Backward::Bptt,
        BenchBackward::Autograd => Backward::Autograd,
    };
    let mut s = String::new();
    if let Some(dir) = &args.from {
        let mut failed = Vec::new();
        for kind in kinds(args.workload) {
            let ts = bench::workload::load(kind, dir)?;
            let w = Workload::new(kind, &ts, &device)?;
            let traj = bench::trajectory(&w, 10, backward)?;
            let json_path = dir.join(format!("{}.json", kind.name()));
            let mut line = serde_json::json!({"workload": kind.name(), "trajectory": traj});
            if json_path.is_file() {
                let text = std::fs::read_to_string(&json_path)
                    .map_err(|e| Error::io(&json_path, "reading", e))?;
                let reference: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| Error::Data {
                        file: json_path.clone(),
                        location: "/".into(),
                        problem: format!("not JSON: {e}"),
                        fix: "export it again with bench/torch_bench.py --export DIR".into(),
                    })?;
                let checks = check_trajectory(kind, &traj, &reference);
                line["max_rel_error"] =
                    serde_json::json!(checks.iter().map(|c| c.2).fold(0.0, f64::max));
                line["within_tolerance"] = serde_json::json!(checks.iter().all(|c| c.3));
                failed.extend(checks.into_iter().filter(|c| !c.3));
            }
            let _ = writeln!(s, "{line}");
        }
        if !failed.is_empty() {
            let list: Vec<String> = failed
                .iter()
                .map(|c| format!("{} (relative error {:.1e})", c.0, c.2))
                .collect();
            return Err(Error::Invariant(format!(
                "{s}trajectory outside the reference tolerances: {}",
                list.join(", ")
            )));
        }
        return Ok(s);
    }
    if !args.json {
        let _ = writeln!(
            s,
            "{:<9} {:>5} {:>4} {:>4} {:>6} {:>10} {:>10} {:>10} {:>8} {:>9}",
            "workload",
            "N",
            "B",
            "T",
            "small",
            "ms median",
            "ms min",
            "ms max",
            "GFLOP/s",
            "peak MiB"
        );
    }
    for kind in kinds(args.workload) {
        let ts = bench::workload::draw(kind, args.small, args.seed)?;
        let w = Workload::new(kind, &ts, &device)?;
        drop(ts);
        let large = kind == Kind::Large && !args.small;
        let steps = args.steps.unwrap_or(if large { 3 } else { 20 });
        let warmup = args.warmup.unwrap_or(if large { 1 } else { 3 });
        let (ms, warmup_s, first, last) = bench::run(&w, warmup, steps, backward)?;
        let (med, min, max) = bench::summary(&ms);
        let gflop = w.shape.gflop(kind);
        let r = bench::BenchResult {
            workload: kind.name(),
            small: args.small,
            device: if device.is_cuda() {
                "cuda".into()
            } else {
                "cpu".into()
            },
            threads: args.threads,
            implementation: format!("fitrnn {}", env!("CARGO_PKG_VERSION")),
            backward: match backward {
                Backward::Bptt => "bptt",
                Backward::Autograd => "autograd",
            },
            n: w.shape.n,
            b: w.shape.b,
            t: w.shape.t,
            d_in: w.shape.d_in,
            n_out: w.shape.n_out,
            seed: args.seed,
            warmup,
            steps,
            ms_median: med,
            ms_min: min,
            ms_max: max,
            warmup_s,
            loss_first: first,
            loss_last: last,
            gflop_per_step: gflop,
            gflops: gflop / (med / 1e3),
            peak_rss_mib: bench::peak_rss_mib(),
        };
        if args.json {
            let _ = writeln!(s, "{}", serde_json::to_string(&r).expect("plain numbers"));
        } else {
            let _ = writeln!(
                s,
                "{:<9} {:>5} {:>4} {:>4} {:>6} {:>10.1} {:>10.1} {:>10.1} {:>8.1} {:>9.0}",
                r.workload,
                r.n,
                r.b,
                r.t,
                r.small,
                r.ms_median,
                r.ms_min,
                r.ms_max,
                r.gflops,
                r.peak_rss_mib
            );
        }
    }
    Ok(s)
}
