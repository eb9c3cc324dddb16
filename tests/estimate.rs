//! The constrained one-step estimate (`training.warm_start: one_step`, the recovery study's
//! `one_step`) against scipy's bounded least squares on a fixture
//! (`tests/fixtures/make_one_step_fixture.py`).

use crate::common;

use fitrnn::data::Sign;
use fitrnn::estimate::{one_step, OneStepOptions, SignRule};

#[test]
fn the_constrained_one_step_solution_matches_scipys_bounded_least_squares() {
    let f = hdf5::File::open(common::fixture("one_step/box_qp.h5")).unwrap();
    let y = f.dataset("y").unwrap().read_2d::<f32>().unwrap();
    let u = f.dataset("u").unwrap().read_2d::<f32>().unwrap();
    let alpha = f.dataset("alpha").unwrap().read_raw::<f64>().unwrap();
    let signs: Vec<Sign> = f
        .dataset("signs")
        .unwrap()
        .read_raw::<i8>()
        .unwrap()
        .iter()
        .map(|&s| if s > 0 { Sign::E } else { Sign::I })
        .collect();
    let mask = f.dataset("mask").unwrap().read_2d::<f32>().unwrap();
    let h = f.dataset("h").unwrap().read::<f64, ndarray::Ix3>().unwrap();
    let g = f.dataset("g").unwrap().read_2d::<f64>().unwrap();
    let theta = f.dataset("theta").unwrap().read_2d::<f64>().unwrap();
    let objective = f.dataset("objective").unwrap().read_raw::<f64>().unwrap();
    let o = OneStepOptions {
        signs: SignRule::Bounds,
        mask: Some(mask.clone()),
        ..OneStepOptions::default()
    };
    let est = one_step(y.view(), u.view(), &alpha, &signs, &o);
    let (n, d) = (y.ncols(), u.ncols());
    assert_eq!(est.unconverged, 0);
    let mut at_bound = 0;
    for i in 0..n {
        assert_eq!(est.w_rec[[i, i]], 0.0, "no self-connection");
        let ours: Vec<f64> = (0..n)
            .map(|j| {
                if j == i {
                    est.self_terms[i] as f64
                } else {
                    est.w_rec[[i, j]] as f64
                }
            })
            .chain((0..d).map(|k| est.w_in[[i, k]] as f64))
            .chain([est.b[i] as f64])
            .collect();
        let p = ours.len();
        let value: f64 = (0..p)
            .map(|r| {
                0.5 * ours[r] * (0..p).map(|c| h[[i, r, c]] * ours[c]).sum::<f64>()
                    - g[[i, r]] * ours[r]
            })
            .sum();
        let gap = (value - objective[i]).abs() / objective[i].abs();
        assert!(
            gap < 1e-5,
            "unit {i}: objective {value} against scipy's {}",
            objective[i]
        );
        for (r, &v) in ours.iter().enumerate() {
            assert!(
                (v - theta[[i, r]]).abs() < 1e-4,
                "unit {i}, coefficient {r}: {v} against scipy's {}",
                theta[[i, r]]
            );
            if r < n && r != i {
                // Dale's bounds and the mask hold exactly.
                assert!(signs[r].value() as f64 * v >= 0.0, "sign at [{i}, {r}]");
                assert!(mask[[i, r]] != 0.0 || v == 0.0, "masked [{i}, {r}] = {v}");
                at_bound += usize::from(mask[[i, r]] != 0.0 && v == 0.0);
            }
        }
    }
    // The bounds bind somewhere, so the comparison tests the constrained solver.
    assert!(at_bound >= 3, "{at_bound} allowed weights at their bound");
}
