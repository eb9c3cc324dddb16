//! `fitrnn bench`: time the trainer's step on the benchmark workloads, or check a trajectory.

use crate::bench::{self, Kind, Workload};
use crate::cli::{BenchArgs, BenchBackward, BenchWorkload};
use crate::error::{Error, Result};
use crate::jobs::{fitrnn_binary, run_jobs, Job, Local};
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

/// Run `fitrnn bench`.
pub fn bench(args: &BenchArgs) -> Result<String> {
    crate::device::set_threads(args.threads);
    let device = crate::device::open(&args.device)?;
    let backward = match args.backward {
        BenchBackward::Bptt => Backward::Bptt,
        BenchBackward::BpttDense => Backward::BpttDense,
        BenchBackward::Autograd => Backward::Autograd,
    };
    if args.one_step {
        return Ok(one_step(args));
    }
    match (&args.from, args.scaling) {
        (Some(dir), _) => trajectories(args, dir, &device, backward),
        (None, true) => scaling(args),
        (None, false) => timings(args, &device, backward),
    }
}

/// `--one-step`: the one-step estimate on CORNN's random network and on a Dale's-law one.
fn one_step(args: &BenchArgs) -> String {
    let (n, frames) = (args.units.unwrap_or(500), args.frames.unwrap_or(10_000));
    let mut s = String::new();
    if !args.json {
        let _ = writeln!(
            s,
            "one-step estimate, {} threads; CORNN's setting (α {}, g {}, noise {})\nnetwork  units  frames  seconds  weight r  iterations (most)",
            rayon::current_num_threads(),
            bench::one_step::ALPHA,
            bench::one_step::GAIN,
            bench::one_step::NOISE
        );
    }
    for network in ["random", "dale"] {
        let b = bench::one_step::run(network, n, frames, args.seed);
        if args.json {
            let _ = writeln!(s, "{}", serde_json::to_string(&b).unwrap_or_default());
        } else {
            let _ = writeln!(
                s,
                "{:<8} {:>5}  {:>6}  {:>7.2}  {:>8.4}  {:>5}",
                b.network, b.units, b.frames, b.seconds, b.weight_r, b.iterations_max
            );
        }
    }
    s
}

/// `--from DIR`: train each workload 10 steps from the exported tensors and check the trajectory
/// against DIR/<workload>.json when present; one JSON line per workload.
fn trajectories(
    args: &BenchArgs,
    dir: &std::path::Path,
    device: &candle_core::Device,
    backward: Backward,
) -> Result<String> {
    let mut s = String::new();
    let mut failed = Vec::new();
    for kind in kinds(args.workload) {
        let ts = bench::workload::load(kind, dir)?;
        let w = Workload::new(kind, &ts, device)?;
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
            let checks = bench::check_trajectory(kind, &traj, &reference);
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
        return Err(Error::Internal {
            context: format!("{s}the trajectory is outside the reference tolerances"),
            message: list.join(", "),
        });
    }
    Ok(s)
}

/// Time each workload (or the `--units`/`--frames` resized `neurons` workload): a table, or one
/// JSON line per workload.
fn timings(args: &BenchArgs, device: &candle_core::Device, backward: Backward) -> Result<String> {
    let mut s = String::new();
    if !args.json {
        let _ = writeln!(
            s,
            "{:<9} {:>5} {:>4} {:>4} {:>6} {:>10} {:>10} {:>10} {:>8} {:>9} {:>14} {:>13}",
            "workload",
            "N",
            "B",
            "T",
            "small",
            "ms median",
            "ms min",
            "ms max",
            "GFLOP/s",
            "peak MiB",
            "checkpoint MiB",
            "checkpoint ms"
        );
    }
    let custom = args.units.zip(args.frames);
    let list = if custom.is_some() {
        vec![Kind::Neurons]
    } else {
        kinds(args.workload)
    };
    for kind in list {
        let ts = match custom {
            Some((n, t)) => bench::workload::draw_shape(
                kind,
                bench::Shape {
                    n,
                    d_in: 8,
                    b: args.batch,
                    t,
                    n_out: n,
                    p_conn: 0.2,
                },
                args.seed,
            )?,
            None => bench::workload::draw(kind, args.small, args.seed)?,
        };
        let w = Workload::new(kind, &ts, device)?;
        drop(ts);
        let large = kind == Kind::Large && !args.small;
        let r = bench::measure(
            &w,
            kind,
            bench::Measure {
                warmup: args.warmup.unwrap_or(if large { 1 } else { 3 }),
                steps: args.steps.unwrap_or(if large { 3 } else { 20 }),
                backward,
                small: args.small,
                threads: args.threads,
                seed: args.seed,
            },
        )?;
        if args.json {
            let line = serde_json::to_string(&r)
                .map_err(|e| Error::internal("writing a benchmark result", e))?;
            let _ = writeln!(s, "{line}");
        } else {
            let _ = writeln!(
                s,
                "{:<9} {:>5} {:>4} {:>4} {:>6} {:>10.1} {:>10.1} {:>10.1} {:>8.1} {:>9.0} {:>14.1} {:>13.1}",
                r.workload,
                r.n,
                r.b,
                r.t,
                r.small,
                r.ms_median,
                r.ms_min,
                r.ms_max,
                r.gflops,
                r.peak_rss_mib,
                r.checkpoint_mib,
                r.checkpoint_ms
            );
        }
    }
    Ok(s)
}

/// `--scaling`: every (N, T) cell in its own process (so that its peak memory is its own), one
/// after another through the job runner, then exponents from a least-squares fit of
/// log ms = c + a log N + b log T.
fn scaling(args: &BenchArgs) -> Result<String> {
    let ns = [256usize, 512, 1024, 2048, 4096];
    let ts = [50usize, 200, 800];
    let logs = tempfile_dir()?;
    let cells: Vec<(usize, usize)> = ns.iter().flat_map(|&n| ts.map(|t| (n, t))).collect();
    let jobs: Vec<Job> = cells
        .iter()
        .map(|&(n, t)| Job {
            name: format!("N {n}, T {t}"),
            args: [
                "bench",
                "--json",
                "--units",
                &n.to_string(),
                "--frames",
                &t.to_string(),
                "--batch",
                &args.batch.to_string(),
                "--threads",
                &args.threads.to_string(),
                "--steps",
                &args.steps.unwrap_or(2).to_string(),
                "--warmup",
                &args.warmup.unwrap_or(1).to_string(),
                "--device",
                &args.device,
            ]
            .map(String::from)
            .to_vec(),
            log: logs.join(format!("scaling_{n}_{t}.log")),
        })
        .collect();
    // One cell at a time: cells measure time, so they must not share the machine.
    let backend = Local {
        binary: fitrnn_binary()?,
        parallel: 1,
    };
    let results = run_jobs(&backend, &jobs, &vec![false; jobs.len()], "scaling")?;
    let failed = crate::jobs::failures(&jobs, &results);
    if !failed.is_empty() {
        return Err(Error::ChildrenFailed {
            summary: "benchmark cells ".into(),
            failed,
        });
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>6} {:>5} {:>4} {:>11} {:>9} {:>9}",
        "N", "T", "B", "ms/step", "GFLOP/s", "peak MiB"
    );
    let mut rows = Vec::new();
    for ((&(n, t), r), job) in cells.iter().zip(&results).zip(&jobs) {
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            Error::internal(
                format!(
                    "{}: no JSON line in its output (see {})",
                    job.name,
                    job.log.display()
                ),
                e,
            )
        })?;
        let ms = v["ms_median"].as_f64().unwrap_or(f64::NAN);
        let mib = v["peak_rss_mib"].as_f64().unwrap_or(f64::NAN);
        let gflops = v["gflops"].as_f64().unwrap_or(f64::NAN);
        let _ = writeln!(
            s,
            "{n:>6} {t:>5} {:>4} {ms:>11.1} {gflops:>9.1} {mib:>9.0}",
            args.batch
        );
        rows.push((n as f64, t as f64, ms, mib));
    }
    let (a, b) = power_law(&rows.iter().map(|r| (r.0, r.1, r.2)).collect::<Vec<_>>());
    let (am, bm) = power_law(&rows.iter().map(|r| (r.0, r.1, r.3)).collect::<Vec<_>>());
    let _ = writeln!(s, "\ntime   ∝ N^{a:.2} · T^{b:.2}\nmemory ∝ N^{am:.2} · T^{bm:.2} (peak resident, includes the fixed cost of the process)");
    Ok(s)
}

/// A folder for the scaling cells' logs: `fitrnn-bench-scaling` in the system's temporary folder.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join("fitrnn-bench-scaling");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "creating", e))?;
    Ok(dir)
}

/// Least-squares exponents (a, b) of y ≈ c · x1^a · x2^b from `(x1, x2, y)` triples.
pub fn power_law(rows: &[(f64, f64, f64)]) -> (f64, f64) {
    let pts: Vec<[f64; 3]> = rows
        .iter()
        .filter(|r| r.2 > 0.0 && r.2.is_finite())
        .map(|r| [r.0.ln(), r.1.ln(), r.2.ln()])
        .collect();
    let k = pts.len() as f64;
    let mean = |i: usize| pts.iter().map(|p| p[i]).sum::<f64>() / k;
    let (m0, m1, m2) = (mean(0), mean(1), mean(2));
    let cov = |i: usize, j: usize, mi: f64, mj: f64| {
        pts.iter().map(|p| (p[i] - mi) * (p[j] - mj)).sum::<f64>()
    };
    let (s00, s11, s01) = (cov(0, 0, m0, m0), cov(1, 1, m1, m1), cov(0, 1, m0, m1));
    let (s0y, s1y) = (cov(0, 2, m0, m2), cov(1, 2, m1, m2));
    let det = s00 * s11 - s01 * s01;
    ((s0y * s11 - s1y * s01) / det, (s1y * s00 - s0y * s01) / det)
}

#[cfg(test)]
mod tests {
    #[test]
    fn power_law_recovers_exponents() {
        let rows: Vec<(f64, f64, f64)> = [
            (256.0, 50.0),
            (512.0, 200.0),
            (1024.0, 50.0),
            (2048.0, 800.0),
        ]
        .iter()
        .map(|&(n, t): &(f64, f64)| (n, t, 3.0 * n.powf(2.0) * t.powf(1.1)))
        .collect();
        let (a, b) = super::power_law(&rows);
        assert!((a - 2.0).abs() < 1e-9 && (b - 1.1).abs() < 1e-9, "{a} {b}");
    }
}
