//! The ground-truth simulators (`dynamics.kind: rate` and `adaptive`): determinism, Dale's law in
//! the true weights, block densities that match the requested connection probabilities, and what
//! the adaptive simulator shares with the rate simulator and what it does not.

use crate::common;

use fitrnn::connectivity::{Population, ProbabilityTable};
use fitrnn::data::Recording;
use fitrnn::simulate::{simulate, SimConfig};

/// The `--set` that selects the adaptive simulator.
const ADAPTIVE: &str = "dynamics.kind=adaptive";

/// The file `fitrnn simulate` writes for `cfg` with `sets`, as bytes.
fn simulate_bytes(cfg: &std::path::Path, out: &std::path::Path, sets: &[&str]) -> Vec<u8> {
    let mut cmd = common::fitrnn();
    cmd.args(["simulate", "--config"])
        .arg(cfg)
        .arg("--out")
        .arg(out);
    for s in sets {
        cmd.args(["--set", s]);
    }
    cmd.assert().success();
    std::fs::read(out).unwrap()
}

#[test]
fn same_seed_writes_identical_files_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::small_sim_config(dir.path(), 20.0, 0.1);
    for kind in ["dynamics.kind=rate", ADAPTIVE] {
        let out = |name: &str, seed: &str| {
            simulate_bytes(
                &cfg,
                &dir.path().join(name),
                &[&format!("seed={seed}"), kind],
            )
        };
        let (a, b, c) = (out("a.h5", "3"), out("b.h5", "3"), out("c.h5", "4"));
        assert!(a == b, "{kind}: same seed must give byte-identical files");
        assert!(
            a != c,
            "{kind}: a different seed must give a different file"
        );
    }
}

#[test]
fn true_weights_obey_dale_and_ground_truth_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = common::small_sim_config(dir.path(), 20.0, 0.25);
    for kind in ["dynamics.kind=rate", ADAPTIVE] {
        let sets = [
            "network.recorded_fraction=0.5".to_string(),
            kind.to_string(),
        ];
        let cfg = SimConfig::load(&cfg_path, &sets).unwrap();
        let (rec, report) = simulate(&cfg).unwrap();
        assert_dale_and_consistent_truth(&cfg, &rec);
        assert!((report.spectral_radius - cfg.network.spectral_radius).abs() < 1e-4);
    }
}

/// Dale's law on every column of the true `W`, no autapses, and `recorded_index` pointing at the
/// right columns of a recording of half the units whose every dF/F trace varies.
fn assert_dale_and_consistent_truth(cfg: &SimConfig, rec: &Recording) {
    let gt = rec.ground_truth.as_ref().unwrap();
    let n = gt.w_rec.nrows();
    let mut checked = 0;
    for j in 0..n {
        let s = cfg.network.cell_types[&gt.cell_type[j]].value();
        for i in 0..n {
            let w = gt.w_rec[[i, j]];
            assert!(
                s * w >= 0.0,
                "W[{i}, {j}] = {w} breaks Dale's law for a {} column",
                gt.cell_type[j]
            );
            checked += (w != 0.0) as usize;
        }
        assert_eq!(gt.w_rec[[j, j]], 0.0, "no autapses");
    }
    assert!(checked > n, "the network has connections");
    // Half the units are recorded; recorded_index points at the right columns.
    let recorded: Vec<usize> = (0..n).filter(|&i| gt.recorded_index[i] >= 0).collect();
    assert_eq!(recorded.len(), rec.n_neurons());
    assert!(rec.n_neurons() < n, "some units are unobserved");
    for &i in &recorded {
        let col = gt.recorded_index[i] as usize;
        assert_eq!(rec.neurons.cell_type[col], gt.cell_type[i]);
        assert_eq!(rec.neurons.area[col], gt.area[i]);
        assert_eq!(rec.neurons.id.label(col), i.to_string());
    }
    assert!(rec.traces.iter().all(|v| v.is_finite()));
    // The network is active but not saturated: every neuron's dF/F varies.
    for col in 0..rec.n_neurons() {
        let c = rec.traces.column(col);
        let mean = c.mean().unwrap();
        let var = c.mapv(|v| (v - mean).powi(2)).mean().unwrap();
        assert!(var > 0.0);
    }
}

#[test]
fn realised_block_densities_match_requested_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = common::small_sim_config(dir.path(), 2.0, 1.0);
    for sets in [vec![], vec![ADAPTIVE.to_string()]] {
        let cfg = SimConfig::load(&cfg_path, &sets).unwrap();
        let (rec, _) = simulate(&cfg).unwrap();
        assert_block_densities_match(&cfg, &rec);
    }
}

/// Every (post, pre) block of the true `W` is connected at its table probability (4.5 sd per
/// block, a pooled z below 4), and blocks of probability 0 not at all.
fn assert_block_densities_match(cfg: &SimConfig, rec: &Recording) {
    let gt = rec.ground_truth.as_ref().unwrap();
    let table = ProbabilityTable::read(&cfg.network.connectivity)
        .unwrap()
        .with_pathways(&cfg.network.inter_area)
        .unwrap();
    let pops: Vec<Population> = (0..gt.area.len())
        .map(|i| Population::new(&gt.area[i], &gt.layer[i], &gt.cell_type[i]))
        .collect();
    let mut blocks: std::collections::BTreeMap<(Population, Population), (f64, f64)> =
        Default::default();
    for i in 0..pops.len() {
        for j in 0..pops.len() {
            if i == j {
                continue;
            }
            let e = blocks
                .entry((pops[i].clone(), pops[j].clone()))
                .or_default();
            e.0 += 1.0;
            e.1 += (gt.w_rec[[i, j]] != 0.0) as u8 as f64;
        }
    }
    let (mut z_num, mut z_den, mut tested) = (0.0, 0.0, 0);
    for ((post, pre), (n, k)) in &blocks {
        let p = table.probability(pre, post);
        if p == 0.0 {
            assert_eq!(
                *k,
                0.0,
                "{} → {} has p = 0 but {k} connections",
                pre.label(),
                post.label()
            );
            continue;
        }
        let sd = (n * p * (1.0 - p)).sqrt();
        assert!(
            (k - n * p).abs() <= 4.5 * sd + 1.0,
            "{} → {}: {k} of {n} connected, expected {:.1} ± {sd:.1}",
            pre.label(),
            post.label(),
            n * p
        );
        z_num += k - n * p;
        z_den += n * p * (1.0 - p);
        tested += 1;
    }
    assert!(tested > 100, "most blocks are connected ({tested})");
    let z = z_num / z_den.sqrt();
    assert!(z.abs() < 4.0, "pooled deviation z = {z:.2}");
}

#[test]
fn saved_true_rates_round_trip_and_block_strengths_vary_beyond_density() {
    use fitrnn::data::{read_recording, write_recording, ReadOptions};
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = common::small_sim_config(dir.path(), 20.0, 0.25);
    let sets = [
        "observation.save_rates=true".to_string(),
        "network.weights.block_log_std=0.8".to_string(),
    ];
    let cfg = SimConfig::load(&cfg_path, &sets).unwrap();
    let (mut rec, _) = simulate(&cfg).unwrap();
    let gt = rec.ground_truth.as_ref().unwrap();
    let rates = gt.rates.as_ref().expect("saved");
    assert_eq!(rates.dim(), (rec.n_frames(), gt.w_rec.nrows()));
    assert!(rates.iter().all(|r| *r >= 0.0), "rectified rates");
    assert!(rates.iter().any(|r| *r > 0.0));
    let path = dir.path().join("rates.h5");
    rec.path = path.clone();
    write_recording(&rec, &path).unwrap();
    let back = read_recording(&path, &ReadOptions::default()).unwrap();
    assert_eq!(back.ground_truth.unwrap().rates.as_ref(), Some(rates));
    // Block factors: the mean |w| of the nonzero weights of excitatory → excitatory blocks (one
    // magnitude law) now differs by block far more than sampling alone would make it.
    let units: Vec<Population> = (0..gt.area.len())
        .map(|i| Population::new(&gt.area[i], &gt.layer[i], &gt.cell_type[i]))
        .collect();
    let plain = SimConfig::load(&cfg_path, &["observation.save_rates=true".into()]).unwrap();
    let (plain_rec, _) = simulate(&plain).unwrap();
    let spread = |w: &ndarray::Array2<f32>| {
        let mut means = Vec::new();
        let pops: Vec<&Population> = {
            let mut p: Vec<&Population> = Vec::new();
            for u in &units {
                if u.cell_type == "Slc17a7" && !p.contains(&u) {
                    p.push(u);
                }
            }
            p
        };
        for post in &pops {
            for pre in &pops {
                let mut v: Vec<f64> = Vec::new();
                for i in 0..units.len() {
                    for j in 0..units.len() {
                        if units[i] == **post && units[j] == **pre && w[[i, j]] != 0.0 {
                            v.push(w[[i, j]].abs() as f64);
                        }
                    }
                }
                if v.len() >= 5 {
                    means.push(v.iter().sum::<f64>() / v.len() as f64);
                }
            }
        }
        let m = means.iter().sum::<f64>() / means.len() as f64;
        (means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / means.len() as f64).sqrt() / m
    };
    let (cv_blocks, cv_plain) = (
        spread(&gt.w_rec),
        spread(&plain_rec.ground_truth.unwrap().w_rec),
    );
    assert!(
        cv_blocks > 2.0 * cv_plain,
        "block factors spread block strengths: CV {cv_blocks:.2} vs {cv_plain:.2} without"
    );
}

#[test]
fn adaptive_recording_shares_the_network_and_differs_in_its_traces() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = common::small_sim_config(dir.path(), 60.0, 0.25);
    let load = |extra: &[&str]| {
        let mut sets = vec![
            "observation.save_rates=true".to_string(),
            "network.weights.block_log_std=0.5".to_string(),
            "network.recorded_fraction=0.5".to_string(),
        ];
        sets.extend(extra.iter().map(|s| s.to_string()));
        SimConfig::load(&cfg_path, &sets).unwrap()
    };
    let (rate_cfg, ad_cfg) = (load(&[]), load(&[ADAPTIVE]));
    let (rate, rate_report) = simulate(&rate_cfg).unwrap();
    let (ad, ad_report) = simulate(&ad_cfg).unwrap();
    let (gr, ga) = (
        rate.ground_truth.as_ref().unwrap(),
        ad.ground_truth.as_ref().unwrap(),
    );
    // Adaptation is a self-current, not a connection: the same W, inputs, units and recorded
    // subset; the time constants are the cell types' times a factor per unit.
    assert_eq!(
        ga.w_rec, gr.w_rec,
        "the true W does not depend on the dynamics"
    );
    assert_eq!(ga.w_in, gr.w_in);
    assert_eq!(ga.recorded_index, gr.recorded_index);
    assert_eq!(ad.neurons.depth_um, rate.neurons.depth_um);
    assert_eq!(
        ad.inputs.as_ref().unwrap().values,
        rate.inputs.as_ref().unwrap().values
    );
    assert!(ga.tau_ms != gr.tau_ms && ga.tau_ms.iter().all(|t| *t > 0.0));
    // Different dynamics and indicator: different traces and rates.
    assert_eq!(ad.traces.dim(), rate.traces.dim());
    assert!(ad.traces != rate.traces);
    let ra = ga.rates.as_ref().unwrap();
    let r_max = ad_cfg.dynamics.r_max as f32;
    assert!(
        ra.iter().all(|r| (0.0..=r_max).contains(r)),
        "saturating rates"
    );
    assert!(ra != gr.rates.as_ref().unwrap());
    // dF/F-like: finite, mostly non-negative, every neuron's trace varies, and the network active.
    assert!(ad.traces.iter().all(|v| v.is_finite()));
    let n = ad.traces.len() as f64;
    let mean = ad.traces.iter().map(|v| *v as f64).sum::<f64>() / n;
    let negative = ad.traces.iter().filter(|v| **v < 0.0).count() as f64 / n;
    let varies = ad.traces.columns().into_iter().all(|c| {
        let m = c.mean().unwrap();
        c.iter().any(|v| *v != m)
    });
    eprintln!(
        "adaptive: mean dF/F {mean:.3}, {:.1} % of samples < 0, mean rate E {:.3} / I {:.3} \
         (rate simulator {:.3} / {:.3}), {:.0} % of units active",
        100.0 * negative,
        ad_report.mean_rate_e,
        ad_report.mean_rate_i,
        rate_report.mean_rate_e,
        rate_report.mean_rate_i,
        100.0 * ad_report.fraction_active
    );
    assert!(varies, "every neuron's dF/F varies");
    assert!(mean > 0.05 && mean < 2.0, "mean dF/F {mean}");
    assert!(
        negative < 0.25,
        "{:.1} % of dF/F samples below 0",
        100.0 * negative
    );
    assert!(ad_report.mean_rate_e > 0.05 && ad_report.mean_rate_i > 0.05);
    assert!(ad_report.fraction_active > 0.5);
    // Adaptation lowers the excitatory rates.
    assert!(ad_report.mean_rate_e < rate_report.mean_rate_e);
}

#[test]
fn explicit_rate_dynamics_and_rate_recordings_of_the_adaptive_form() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = common::small_sim_config(dir.path(), 10.0, 0.1);
    let run = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        simulate(&SimConfig::load(&cfg_path, &sets).unwrap())
            .unwrap()
            .0
    };
    // `dynamics.kind: rate` is what a config without `dynamics` simulates.
    let (absent, rate) = (run(&[]), run(&["dynamics.kind=rate"]));
    assert_eq!(absent.traces, rate.traces);
    // Without the indicator, the adaptive form records its rates as the rate form does: gain
    // times the frame's mean rate plus the Gaussian noise (no shot noise, no Hill).
    let no_noise = [
        "observation.indicator=false",
        "observation.noise_std=0",
        ADAPTIVE,
    ];
    let ad = run(&no_noise);
    let with_rates: Vec<&str> = no_noise
        .iter()
        .copied()
        .chain(["observation.save_rates=true"])
        .collect();
    let rates = run(&with_rates).ground_truth.unwrap().rates.unwrap();
    let gt = ad.ground_truth.as_ref().unwrap();
    for (i, &col) in gt.recorded_index.iter().enumerate() {
        let Ok(col) = usize::try_from(col) else {
            continue;
        };
        let trace = ad.traces.column(col);
        let first = trace.iter().zip(rates.column(i)).find(|(_, r)| **r > 0.0);
        let Some((v, r)) = first else { continue };
        let g = v / r;
        for (v, r) in trace.iter().zip(rates.column(i)) {
            assert!(
                (v - g * r).abs() <= 1e-4 * (1.0 + v.abs()),
                "{v} vs {g} × {r}"
            );
        }
    }
}

#[test]
fn bad_dynamics_keys_are_named_with_their_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = common::small_sim_config(dir.path(), 10.0, 0.1);
    let err = |set: &str| {
        SimConfig::load(&cfg_path, &[ADAPTIVE.into(), set.into()])
            .unwrap_err()
            .to_string()
    };
    let e = err("dynamics.r_max=0");
    assert!(e.contains("dynamics.r_max"), "{e}");
    let e = err("dynamics.adaptation_gain={Slc17a7: 0.4}");
    assert!(
        e.contains("dynamics.adaptation_gain") && e.contains("default"),
        "{e}"
    );
    let e = err("dynamics.hill_k_log_std=-1");
    assert!(e.contains("dynamics.hill_k_log_std"), "{e}");
    let e = err("dynamics.kind=adaptve");
    assert!(e.contains("adaptive"), "{e}");
    let e = err("dynamics.tau_std=0.3");
    assert!(e.contains("tau_std"), "{e}");
}

#[test]
fn shipped_adaptive_config_writes_out_the_defaults() {
    let root = common::root();
    let short = ["stimulus.duration_s=10".to_string()];
    let with_set = [short[0].clone(), ADAPTIVE.to_string()];
    let a = SimConfig::load(&root.join("configs/simulate_adaptive.yaml"), &short).unwrap();
    let b = SimConfig::load(&root.join("configs/simulate_mouse_v1.yaml"), &with_set).unwrap();
    let (ra, rb) = (simulate(&a).unwrap().0, simulate(&b).unwrap().0);
    assert_eq!(ra.traces, rb.traces);
}

#[test]
fn recovery_study_runs_the_adaptive_simulator_through_its_override() {
    let dir = tempfile::tempdir().unwrap();
    let root = common::root();
    let cfg = common::write(
        dir.path(),
        "recovery.yaml",
        &format!(
            "simulate: {}\nfit: {}\nseeds: [0]\njobs: 1\n\
             defaults: {{stimulus.duration_s: 60, observation.save_rates: true}}\n\
             simulators:\n  - {{name: rate}}\n  - {{name: adaptive, set: {{dynamics.kind: adaptive}}}}\n\
             conditions:\n  - {{name: default}}\n\
             methods:\n  - {{name: correlation, baseline: correlation}}\n",
            root.join("configs/simulate_mouse_v1.yaml").display(),
            root.join("configs/recovery_fit.yaml").display()
        ),
    );
    let out = dir.path().join("study");
    common::fitrnn()
        .args(["recovery", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    use fitrnn::data::{read_recording, ReadOptions};
    let read = |sim: &str| {
        let p = out.join(format!("recordings/{sim}/default/seed_0.h5"));
        read_recording(&p, &ReadOptions::default()).unwrap()
    };
    let (rate, ad) = (read("rate"), read("adaptive"));
    let (gr, ga) = (
        rate.ground_truth.as_ref().unwrap(),
        ad.ground_truth.as_ref().unwrap(),
    );
    assert_eq!(ga.w_rec, gr.w_rec);
    assert!(ad.traces != rate.traces, "the adaptive simulator ran");
    assert!(ga.tau_ms != gr.tau_ms, "with its own time constants");
}

/// The shipped three-area simulator config.
fn three_areas() -> std::path::PathBuf {
    common::root().join("configs/simulate_three_areas.yaml")
}

/// Mean Pearson r between the area-mean traces of every pair of areas.
fn area_correlation(rec: &fitrnn::data::Recording) -> f64 {
    let areas = ["VISp", "VISl", "VISal"];
    let means: Vec<Vec<f64>> = areas
        .iter()
        .map(|a| {
            let cols: Vec<usize> = (0..rec.neurons.area.len())
                .filter(|&i| rec.neurons.area[i] == *a)
                .collect();
            rec.traces
                .rows()
                .into_iter()
                .map(|r| cols.iter().map(|&c| r[c] as f64).sum::<f64>() / cols.len() as f64)
                .collect()
        })
        .collect();
    let pairs = [(0, 1), (0, 2), (1, 2)];
    pairs
        .iter()
        .map(|&(a, b)| fitrnn::stats::pearson(&means[a], &means[b]))
        .sum::<f64>()
        / 3.0
}

#[test]
fn hidden_drive_draws_from_its_own_stream_and_shared_drive_correlates_areas() {
    let short = ["stimulus.duration_s=120", "network.scale=0.15"];
    let sim = |extra: &[&str]| {
        let sets: Vec<String> = short.iter().chain(extra).map(|s| s.to_string()).collect();
        simulate(&SimConfig::load(&three_areas(), &sets).unwrap())
            .unwrap()
            .0
    };
    // A drive of size 0 leaves every other draw where it was: the same recording as none.
    let none = sim(&["network.hidden_drive=null"]);
    let zero = sim(&["network.hidden_drive.std=0"]);
    assert_eq!(none.traces, zero.traces);
    assert!(
        none.inputs.as_ref().unwrap().names.len() == 4,
        "the drive is never an input"
    );
    // Shared drive correlates the areas; each area's own drive does not.
    let shared = area_correlation(&sim(&["network.hidden_drive.shared_fraction=1"]));
    let own = area_correlation(&sim(&["network.hidden_drive.shared_fraction=0"]));
    let without = area_correlation(&none);
    assert!(
        shared > own + 0.2 && shared > without + 0.2,
        "area-mean correlation: shared drive {shared:.2}, own drive {own:.2}, none {without:.2}"
    );
}
