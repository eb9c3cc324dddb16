//! The ground-truth simulator: determinism, Dale's law in the true weights, and block densities
//! that match the requested connection probabilities.

use crate::common;

use fitrnn::connectivity::{Population, ProbabilityTable};
use fitrnn::simulate::{simulate, SimConfig};

#[test]
fn same_seed_writes_identical_files_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::small_sim_config(dir.path(), 20.0, 0.1);
    let out = |name: &str, seed: &str| {
        let p = dir.path().join(name);
        common::fitrnn()
            .args(["simulate", "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(&p)
            .args(["--set", &format!("seed={seed}")])
            .assert()
            .success();
        std::fs::read(p).unwrap()
    };
    let (a, b, c) = (out("a.h5", "3"), out("b.h5", "3"), out("c.h5", "4"));
    assert!(a == b, "same seed must give byte-identical files");
    assert!(a != c, "a different seed must give a different file");
}

#[test]
fn true_weights_obey_dale_and_ground_truth_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = common::small_sim_config(dir.path(), 20.0, 0.25);
    let cfg = SimConfig::load(&cfg_path, &["network.recorded_fraction=0.5".into()]).unwrap();
    let (rec, report) = simulate(&cfg).unwrap();
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
    assert!((report.spectral_radius - cfg.network.spectral_radius).abs() < 1e-4);
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
    let cfg = SimConfig::load(&cfg_path, &[]).unwrap();
    let (rec, _) = simulate(&cfg).unwrap();
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
