//! `fitrnn bench`'s workloads, trained with the trainer's step, against the project's PyTorch
//! reference (bench/torch_bench.py, exports in tests/fixtures/torch_bench): the 10-step trajectories
//! agree within the benchmark spec's tolerances (1e-4 relative on the first two losses, 1e-3 later),
//! and the hand-written backward and autograd agree with each other.

use crate::common;

use fitrnn::bench::{trajectory, workload, Kind, Trajectory, Workload};
use fitrnn::train::Backward;

fn reference(kind: Kind) -> serde_json::Value {
    let path = common::fixture(&format!("torch_bench/{}.json", kind.name()));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run(kind: Kind, backward: Backward) -> Trajectory {
    let ts = workload::load(kind, &common::fixture("torch_bench")).unwrap();
    let w = Workload::new(kind, &ts, &candle_core::Device::Cpu).unwrap();
    trajectory(&w, 10, backward).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn all_workloads_reproduce_the_pytorch_trajectories() {
    for kind in [Kind::Celltype, Kind::Neurons, Kind::Large] {
        let r = reference(kind);
        let fast = run(kind, Backward::Bptt);
        let slow = run(kind, Backward::Autograd);
        let f = |k: &str| r[k].as_f64().unwrap();
        let checks = [
            ("loss_step1", fast.losses[0], f("loss_step1"), 1e-4),
            ("loss_step2", fast.losses[1], f("loss_step2"), 1e-4),
            ("loss_step10", fast.losses[9], f("loss_step10"), 1e-3),
            (
                "loss_after_step10",
                fast.loss_after,
                f("loss_after_step10"),
                1e-3,
            ),
            (
                "sum_abs_w_rec_step10",
                fast.sum_abs_w_rec[9],
                f("sum_abs_w_rec_step10"),
                1e-3,
            ),
        ];
        let mut worst: f64 = 0.0;
        for (name, ours, want, tol) in checks {
            let e = rel(ours, want);
            worst = worst.max(e);
            assert!(
                e <= tol,
                "{}: {name} {ours} vs PyTorch {want} (relative {e:.1e})",
                kind.name()
            );
        }
        // Every step, not only the checked ones, and fast against slow.
        let losses = r["losses"].as_array().unwrap();
        for (k, want) in losses.iter().enumerate() {
            let e = rel(fast.losses[k], want.as_f64().unwrap());
            worst = worst.max(e);
            assert!(e < 1e-4, "{} step {}: relative {e:.1e}", kind.name(), k + 1);
            assert!(
                rel(fast.losses[k], slow.losses[k]) < 1e-5,
                "bptt vs autograd step {}",
                k + 1
            );
        }
        assert!(rel(fast.sum_abs_w_rec[9], slow.sum_abs_w_rec[9]) < 1e-5);
        eprintln!(
            "{}: largest relative difference to PyTorch {worst:.1e}",
            kind.name()
        );
    }
}
