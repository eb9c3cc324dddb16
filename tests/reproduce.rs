//! `fitrnn reproduce`: each published result runs at its tiny size, writes its table, figure and
//! provenance, and shows the paper's qualitative result.

use crate::common;
use fitrnn::reproduce::ReproductionRow;
use fitrnn::rundir::tables;
use std::path::Path;

/// Run `fitrnn reproduce NAME --size tiny` from the repository root (where the data fits find
/// the demo's config) into `out`; returns its rows and what it printed.
fn reproduce(name: &str, out: &Path) -> (Vec<ReproductionRow>, String) {
    let assert = common::fitrnn()
        .current_dir(common::root())
        .args(["reproduce", name, "--size", "tiny", "--out"])
        .arg(out)
        .assert()
        .success();
    let printed = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    for file in [format!("{name}.png"), "provenance.json".into()] {
        assert!(out.join(&file).is_file(), "{file}");
    }
    let provenance: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("provenance.json")).unwrap()).unwrap();
    assert_eq!(
        (provenance["target"].as_str(), provenance["size"].as_str()),
        (Some(name), Some("tiny"))
    );
    let rows = tables::read(&out.join("reproduction.parquet")).unwrap();
    (rows, printed)
}

fn row<'a>(rows: &'a [ReproductionRow], quantity: &str) -> Vec<&'a ReproductionRow> {
    rows.iter().filter(|r| r.quantity == quantity).collect()
}

#[test]
fn shao_chain_outliers_lie_within_ten_percent_of_the_prediction() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, printed) = reproduce("shao-motifs", tmp.path());
    let outliers = row(&rows, "chain_outlier");
    assert_eq!(outliers.len(), 2);
    for r in &outliers {
        assert!(r.paper > 1.0, "the prediction is a positive outlier: {r:?}");
        assert!((r.ours - r.paper).abs() <= 0.1 * r.paper, "{r:?}");
        assert_eq!(r.holds, Some(true));
    }
    // Stronger chains push the outlier further out, as predicted.
    assert!(outliers[1].ours > outliers[0].ours);
    let unstable = row(&rows, "positive_outlier_with_negative_mean");
    assert_eq!(unstable[0].holds, Some(true));
    assert!(printed.contains("3 of 3 criteria hold"), "{printed}");
}

#[test]
fn li_dann_and_standard_spectra_are_more_clustered_than_colei() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, printed) = reproduce("li-nse", tmp.path());
    let colei = row(&rows, "nse_colei");
    assert_eq!(colei.len(), 6, "2 sizes × 3 inhibitory fractions");
    assert!(colei.iter().all(|r| r.ours > 0.0 && r.ours < 1.0));
    for arch in ["dann", "standard"] {
        let margin = row(&rows, &format!("nse_{arch}_minus_colei"));
        assert!(
            margin[0].ours > 0.0 && margin[0].holds == Some(true),
            "{arch}"
        );
    }
    for trend in [
        "nse_colei_largest_minus_smallest_n",
        "nse_colei_largest_minus_smallest_i",
        "nse_colei_n200_i50_minus_n1000_i1",
    ] {
        assert_eq!(row(&rows, trend)[0].holds, Some(true), "{trend}");
    }
    assert!(printed.contains("5 of 5 criteria hold"), "{printed}");
}

#[test]
fn the_same_seed_gives_the_same_table() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = reproduce("li-nse", &tmp.path().join("a"));
    let (b, _) = reproduce("li-nse", &tmp.path().join("b"));
    // Rows without a paper number hold NaN, which never equals itself: compare the text.
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn cornford_eg_weights_are_closer_to_log_normal_than_adamw_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, printed) = reproduce("cornford-eg", tmp.path());
    let value = |q: &str| row(&rows, q)[0].ours;
    // The two runs moved their weights comparably far, so the comparison is fair.
    let (add, eg) = (
        value("median_relative_change_adamw"),
        value("median_relative_change_adamw_eg"),
    );
    assert!(
        add > 0.3 && eg > 0.3 && (add / eg).max(eg / add) < 2.0,
        "{add} {eg}"
    );
    assert!(value("ks_log_w_adamw_eg") < value("ks_log_w_adamw"));
    assert!(value("ks_log_w_adamw_eg") < value("ks_log_w_start"));
    // On Dale flip-flop networks too, and both runs learn the task.
    assert!(value("flip_flop_ks_log_w_adamw_eg") < value("flip_flop_ks_log_w_adamw"));
    for q in ["flip_flop_test_mse_adamw", "flip_flop_test_mse_adamw_eg"] {
        assert!(value(q) < 0.05, "{q}: {}", value(q));
    }
    assert!(printed.contains("3 of 3 criteria hold"), "{printed}");
}

#[test]
fn balwani_top_prob_pruning_loses_less_than_random_pruning_at_high_sparsity() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, _) = reproduce("balwani-fig3", tmp.path());
    let at = |q: &str, p: &str| {
        rows.iter()
            .find(|r| r.quantity == q && r.condition == p)
            .unwrap_or_else(|| panic!("{q} at {p}"))
            .ours
    };
    // Keeping every weight is the dense fit, whichever way the mask is drawn.
    assert_eq!(
        at("validation_mse_topprob", "p=1.000"),
        at("validation_mse_random", "p=1.000")
    );
    // At the sparsest level top-prob keeps the strong weights and loses less.
    assert!(at("validation_mse_topprob", "p=0.086") < at("validation_mse_random", "p=0.086"));
    let verdict = row(&rows, "validation_mse_topprob_minus_random");
    assert!(
        verdict[0].ours < 0.0 && verdict[0].holds == Some(true),
        "{verdict:?}"
    );
    // The same on a trained Dale flip-flop network, beside the paper's own curve.
    assert_eq!(
        at("flip_flop_test_mse_topprob", "p=1.000"),
        at("flip_flop_test_mse_random", "p=1.000")
    );
    let paper_topprob = rows
        .iter()
        .find(|r| r.quantity == "flip_flop_test_mse_topprob" && r.condition == "p=0.467")
        .unwrap()
        .paper;
    assert_eq!(paper_topprob, 0.095);
    let verdict = row(&rows, "flip_flop_test_mse_topprob_minus_random");
    assert!(
        verdict[0].ours < 0.0 && verdict[0].holds == Some(true),
        "{verdict:?}"
    );
}

#[test]
fn balwani_dales_backprop_learns_flip_flop_and_wave_as_well_as_conventional_backprop() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, printed) = reproduce("balwani-fig2", tmp.path());
    for task in ["flip_flop", "wave"] {
        for condition in ["dale", "conventional", "rectified"] {
            let r = rows
                .iter()
                .find(|r| r.quantity == "test_mse" && r.condition == format!("{task} {condition}"))
                .unwrap_or_else(|| panic!("{task} {condition}"));
            assert!(
                r.ours.is_finite() && r.ours > 0.0,
                "{task} {condition}: {}",
                r.ours
            );
            assert!(r.paper > 0.0);
        }
    }
    for quantity in [
        "test_mse_dale_over_initial",
        "test_mse_dale_over_conventional",
    ] {
        for r in row(&rows, quantity) {
            assert_eq!(
                r.holds,
                Some(true),
                "{quantity} {}: {}",
                r.condition,
                r.ours
            );
        }
    }
    assert!(printed.contains("4 of 4 criteria hold"), "{printed}");
}

#[test]
fn li_the_singular_value_spectrum_matters_more_than_the_sign_constraint() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, printed) = reproduce("li-transplant", tmp.path());
    let errors = row(&rows, "test_error_percent");
    assert_eq!(errors.len(), 8);
    for r in &errors {
        // Every model learns: below the 90 % of guessing.
        assert!(
            r.ours < 80.0 && r.paper > 1.0,
            "{}: {} %",
            r.condition,
            r.ours
        );
    }
    for q in [
        "colei_minus_rnn",
        "colei_spectrum_cost_minus_frozen_sign_cost",
        "colei_minus_colei_vectors_rnn_spectrum",
        "spearman_rho_with_paper",
    ] {
        let r = row(&rows, q);
        assert_eq!(r[0].holds, Some(true), "{q}: {}", r[0].ours);
    }
    assert!(printed.contains("4 of 4 criteria hold"), "{printed}");
}

#[test]
fn liu_low_rank_starts_learn_richly_and_full_rank_starts_lazily() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, _) = reproduce("liu-richlazy", tmp.path());
    for q in ["tangent_kernel_alignment", "representation_alignment"] {
        let per_rank = row(&rows, q);
        assert_eq!(per_rank.len(), 2, "{q}: ranks 1 and 30");
        for r in &per_rank {
            assert!(
                (-1.0..=1.0).contains(&r.ours),
                "{q} {}: {}",
                r.condition,
                r.ours
            );
        }
        // The tiny size trains long enough for the alignments to part; the weight change needs
        // the reduced size's 10,000 updates, so only the alignments are asserted here.
        let d = row(&rows, &format!("{q}_difference"));
        assert_eq!(d[0].holds, Some(true), "{q}: {}", d[0].ours);
    }
    let learned = row(&rows, "test_error_percent");
    for r in learned {
        // The choice at the last step: guessing errs on half the trials.
        assert!(r.ours < 40.0, "{}: {} %", r.condition, r.ours);
    }
}
