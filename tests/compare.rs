//! `fitrnn compare` through the binary, on run directories whose block values are drawn from known
//! distributions: groups from the same condition give intervals that cover 0, and a planted
//! difference in one block is detected.

use crate::common;

use polars::prelude::*;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::path::{Path, PathBuf};

const BLOCKS: [&str; 6] = [
    "VISp/L2/3",
    "VISp/L4",
    "VISp/L5",
    "VISl/L2/3",
    "VISl/L4",
    "VISl/L5",
];

/// A minimal complete run: manifest, interactions (final, area_layer) and currents (validation).
/// `value(pre, post)` gives each block's mean |w|.
fn fake_run(dir: &Path, value: &dyn Fn(usize, usize) -> f64) -> PathBuf {
    let mut run = common::RunDirBuilder::new(dir);
    for (i, a) in BLOCKS.iter().enumerate() {
        for (j, b) in BLOCKS.iter().enumerate() {
            let v = value(i, j);
            run = run
                .interaction(("area_layer", "final"), (a, b), v, v)
                .current(("area_layer", "validation"), (a, b, "E"), v);
        }
    }
    run.write()
}

fn read(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

/// 8 + 8 runs whose block values are N(1, 0.1²); group B gets `planted` added to VISp/L4 → VISl/L2/3.
/// VISl/L5 → VISp/L2/3 is 0 in every run (a block the mask forbids).
fn run_groups(tmp: &Path, planted: f64) -> DataFrame {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let noise = Normal::new(0.0, 0.1).unwrap();
    let mut groups = [String::from("A="), String::from("B=")];
    for (g, arg) in groups.iter_mut().enumerate() {
        for k in 0..8 {
            let draws: Vec<f64> = (0..36).map(|_| 1.0 + noise.sample(&mut rng)).collect();
            let add = if g == 1 { planted } else { 0.0 };
            let dir = fake_run(&tmp.join(format!("g{g}_{k}")), &|i, j| {
                if (i, j) == (5, 0) {
                    0.0
                } else {
                    draws[i * 6 + j] + if (i, j) == (1, 3) { add } else { 0.0 }
                }
            });
            arg.push_str(&format!("{},", dir.display()));
        }
    }
    let out = tmp.join("out");
    common::fitrnn()
        .args([
            "compare", "--group", &groups[0], "--group", &groups[1], "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains(
            "B − A (8 vs 8 runs, Monte Carlo permutation test)",
        ));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    assert_eq!(json["groups"][1]["runs"].as_array().unwrap().len(), 8);
    for suffix in ["difference", "significant"] {
        let png =
            std::fs::read(out.join(format!("contrast_B_vs_A_area_layer_{suffix}.png"))).unwrap();
        assert_eq!(
            &png[..8],
            b"\x89PNG\r\n\x1a\n",
            "{suffix} heat map is a PNG"
        );
    }
    read(&out.join("contrasts.parquet"))
}

fn column_names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn same_condition_intervals_cover_zero_and_a_planted_difference_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let df = run_groups(&tmp.path().join("same"), 0.0);
    assert_eq!(
        column_names(&df),
        [
            "group_a",
            "group_b",
            "quantity",
            "level",
            "pre",
            "post",
            "source_sign",
            "n_a",
            "n_b",
            "mean_a",
            "mean_b",
            "difference",
            "ci_low",
            "ci_high",
            "p_value",
            "p_fdr",
            "exact_test"
        ]
    );
    assert_eq!(
        df.height(),
        3 * 36,
        "mean_abs_w, mean_w and mean_current per block"
    );
    let (lo, hi, p, q) = (
        df.column("ci_low").unwrap().f64().unwrap(),
        df.column("ci_high").unwrap().f64().unwrap(),
        df.column("p_value").unwrap().f64().unwrap(),
        df.column("p_fdr").unwrap().f64().unwrap(),
    );
    let forbidden = |df: &DataFrame, i: usize| {
        df.column("pre").unwrap().str().unwrap().get(i) == Some("VISl/L5")
            && df.column("post").unwrap().str().unwrap().get(i) == Some("VISp/L2/3")
    };
    for i in (0..df.height()).filter(|&i| forbidden(&df, i)) {
        assert_eq!(p.get(i), Some(1.0), "a constant block cannot differ");
        assert!(
            q.get(i).unwrap().is_nan(),
            "and stays out of the FDR family"
        );
        assert_eq!((lo.get(i), hi.get(i)), (Some(0.0), Some(0.0)));
    }
    let covered = (0..df.height())
        .filter(|&i| lo.get(i).unwrap() <= 0.0 && hi.get(i).unwrap() >= 0.0)
        .count();
    eprintln!(
        "{covered} of {} same-condition intervals cover 0",
        df.height()
    );
    // 95 % intervals from 8 runs per group: about 5 % (a little more, the percentile bootstrap
    // is slightly narrow at this n) may miss 0 by chance; 36 blocks × 3 identical quantities.
    assert!(
        covered as f64 >= 0.85 * df.height() as f64,
        "{covered} of {} cover 0",
        df.height()
    );
    assert!(
        (0..df.height()).all(|i| forbidden(&df, i) || q.get(i).unwrap() >= 0.05),
        "no discovery after FDR"
    );
    assert!((0..df.height()).all(|i| (0.0..=1.0).contains(&p.get(i).unwrap())));

    let df = run_groups(&tmp.path().join("planted"), 0.3);
    let forbidden = |i: usize| forbidden(&df, i);
    let (pre, post, quantity) = (
        df.column("pre").unwrap().str().unwrap(),
        df.column("post").unwrap().str().unwrap(),
        df.column("quantity").unwrap().str().unwrap(),
    );
    let (d, lo, hi, q) = (
        df.column("difference").unwrap().f64().unwrap(),
        df.column("ci_low").unwrap().f64().unwrap(),
        df.column("ci_high").unwrap().f64().unwrap(),
        df.column("p_fdr").unwrap().f64().unwrap(),
    );
    for i in 0..df.height() {
        let planted = pre.get(i) == Some("VISp/L4") && post.get(i) == Some("VISl/L2/3");
        if planted {
            assert!(
                lo.get(i).unwrap() > 0.1,
                "{:?}: CI excludes 0",
                quantity.get(i)
            );
            assert!((d.get(i).unwrap() - 0.3).abs() < 0.15);
            assert!(hi.get(i).unwrap() > d.get(i).unwrap());
            assert!(
                q.get(i).unwrap() < 0.05,
                "detected at a 5 % false discovery rate: {:?}",
                q.get(i)
            );
        } else if !forbidden(i) {
            assert!(
                q.get(i).unwrap() >= 0.05,
                "no false discovery at {:?} → {:?}",
                pre.get(i),
                post.get(i)
            );
        }
    }
}

#[test]
fn compare_refuses_bad_groups_with_a_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fake_run(&tmp.path().join("a"), &|_, _| 1.0);
    let b = fake_run(&tmp.path().join("b"), &|_, _| 1.0);
    let out = tmp.path().join("out");
    let one = format!("A={}", a.display());
    common::fitrnn()
        .args(["compare", "--group", &one, "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("at least two").and(contains("--group")));
    let twice = format!("B={},{}", b.display(), a.display());
    common::fitrnn()
        .args(["compare", "--group", &one, "--group", &twice, "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("listed in group A and again in group B"));
    common::RunDirBuilder::new(&a)
        .status(fitrnn::rundir::Status::Running)
        .write();
    let bb = format!("B={}", b.display());
    common::fitrnn()
        .args(["compare", "--group", &one, "--group", &bb, "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("cannot compare the run").and(contains("--resume")));
}

#[test]
fn compare_refuses_resampling_that_measures_nothing_and_runs_that_share_no_block() {
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<PathBuf> = (0..4)
        .map(|k| {
            fake_run(&tmp.path().join(format!("r{k}")), &|i, j| {
                (i + j + k) as f64
            })
        })
        .collect();
    let group = |name: &str, r: &[PathBuf]| {
        let list: Vec<String> = r.iter().map(|p| p.display().to_string()).collect();
        format!("{name}={}", list.join(","))
    };
    let (a, b) = (group("A", &runs[..2]), group("B", &runs[2..]));
    let out = tmp.path().join("out");
    for (flag, value, says) in [
        (
            "--permutations",
            "0",
            "--permutations 0 cannot give a useful p-value",
        ),
        (
            "--bootstrap",
            "100000000",
            "--bootstrap 100000000 is more resamples",
        ),
    ] {
        common::fitrnn()
            .args([
                "compare", "--group", &a, "--group", &b, flag, value, "--out",
            ])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(contains(says));
    }
    // Runs of other areas: no block in common.
    let other: Vec<PathBuf> = (0..2)
        .map(|k| {
            let mut run = common::RunDirBuilder::new(&tmp.path().join(format!("o{k}")));
            for (pre, post) in [("LM/L2/3", "LM/L4"), ("LM/L4", "LM/L2/3")] {
                run = run
                    .interaction(("area_layer", "final"), (pre, post), 1.0, 1.0)
                    .current(("area_layer", "validation"), (pre, post, "E"), 1.0);
            }
            run.write()
        })
        .collect();
    common::fitrnn()
        .args([
            "compare",
            "--group",
            &a,
            "--group",
            &group("C", &other),
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("share no interaction block"));
    assert!(!out.join("contrasts.parquet").exists());
}

/// A user's files that share compare's output names are refused, not replaced; an earlier
/// compare's output is replaced.
#[test]
fn compare_never_replaces_a_users_file_of_the_same_name() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fake_run(&tmp.path().join("a"), &|i, j| (i + j) as f64);
    let b = fake_run(&tmp.path().join("b"), &|i, j| (i * j) as f64);
    let (ga, gb) = (format!("A={}", a.display()), format!("B={}", b.display()));
    let out = tmp.path().join("mine");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("compare.json"), r#"{"my": "lab metadata"}"#).unwrap();
    std::fs::write(out.join("contrasts.parquet"), "draft").unwrap();
    let compare = |out: &Path| {
        let mut cmd = common::fitrnn();
        cmd.args(["compare", "--group", &ga, "--group", &gb, "--out"])
            .arg(out);
        cmd
    };
    compare(&out)
        .assert()
        .failure()
        .stderr(contains("compare.json").and(contains("contrasts.parquet")));
    assert_eq!(
        std::fs::read_to_string(out.join("contrasts.parquet")).unwrap(),
        "draft"
    );
    let fresh = tmp.path().join("fresh");
    compare(&fresh).assert().success();
    compare(&fresh).assert().success();
}
