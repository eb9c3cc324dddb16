//! Helpers shared by the integration tests.
#![allow(dead_code)]

mod builders;

pub use builders::{randn, uniform, NetBuilder, RunDirBuilder};
use std::path::{Path, PathBuf};

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// One test body on every device, as candle's `test_device!`:
/// `device_test!(name_cpu, name_cuda, |device| { ... })` makes `name_cpu`, and with the `cuda`
/// feature `name_cuda`, which runs on CUDA device 0 when a GPU is present (and says so and passes
/// when none is).
#[macro_export]
macro_rules! device_test {
    ($cpu:ident, $cuda:ident, $body:expr) => {
        #[test]
        fn $cpu() {
            let body: &dyn Fn(&candle_core::Device) = &$body;
            body(&candle_core::Device::Cpu);
        }

        #[cfg(feature = "cuda")]
        #[test]
        fn $cuda() {
            match candle_core::Device::new_cuda(0) {
                Ok(device) => {
                    let body: &dyn Fn(&candle_core::Device) = &$body;
                    body(&device);
                }
                Err(e) => eprintln!("no CUDA device ({e}): {} not run", stringify!($cuda)),
            }
        }
    };
}

/// The built `fitrnn` binary as an assert_cmd command.
pub fn fitrnn() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("fitrnn").expect("binary built")
}

/// Write `text` to `dir/name` and return the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// A small simulator config (few units, short session) pointing at the shipped table.
pub fn small_sim_config(dir: &Path, duration_s: f64, scale: f64) -> PathBuf {
    let base = std::fs::read_to_string(root().join("configs/simulate_mouse_v1.yaml")).unwrap();
    let table = root().join("data/connectivity/mouse_v1_celltype.csv");
    let text = base
        .replace(
            "../data/connectivity/mouse_v1_celltype.csv",
            table.to_str().unwrap(),
        )
        .replace("duration_s: 360", &format!("duration_s: {duration_s}"))
        .replace("scale: 0.25", &format!("scale: {scale}"));
    write(dir, "sim.yaml", &text)
}

/// Simulate a small recording (`duration_s` seconds, population sizes × `scale`) into
/// `dir/small.h5` with the binary, and return its path.
pub fn simulate_small(dir: &Path, duration_s: f64, scale: f64) -> PathBuf {
    simulate_small_with(dir, duration_s, scale, &[])
}

/// [`simulate_small`] with the simulator overrides `sets` (`key=value`, as `--set` takes them).
pub fn simulate_small_with(dir: &Path, duration_s: f64, scale: f64, sets: &[&str]) -> PathBuf {
    let sim = small_sim_config(dir, duration_s, scale);
    let data = dir.join("small.h5");
    let mut cmd = fitrnn();
    cmd.args(["simulate", "--config"])
        .arg(&sim)
        .arg("--out")
        .arg(&data);
    for s in sets {
        cmd.args(["--set", s]);
    }
    cmd.assert().success();
    data
}

/// The shipped tidy connectivity table.
pub fn celltype_table() -> PathBuf {
    root().join("data/connectivity/mouse_v1_celltype.csv")
}

/// A run directory for a test that other tools read afterwards (the notebooks in CI):
/// `target/tmp/<name>`, emptied first. Never the repository's `runs/`, which belongs to the user.
pub fn test_run_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove the previous test run");
    }
    dir
}

/// Every file under `dir` with its size and modification time (empty when `dir` is absent), to
/// show that a test left a directory untouched.
pub fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let meta = e.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), meta.len(), meta.modified().expect("mtime")));
            }
        }
    }
    out.sort();
    out
}

/// `--set` arguments that switch off the ensemble and self-check of configs/mouse_v1.yaml, for
/// tests about something else.
pub const NO_ENSEMBLE: [&str; 8] = [
    "--set",
    "ensemble.seeds=0",
    "--set",
    "ensemble.bootstrap=0",
    "--set",
    "ensemble.selfcheck=0",
    "--set",
    "ensemble.subsample=0",
];

/// A small recovery study (5-minute simulated recordings of the demo network, one condition) over
/// `seeds` (YAML list, e.g. `[0, 1]`) and `methods` (YAML list items), written as
/// `dir/recovery.yaml`.
pub fn small_study_config(dir: &Path, seeds: &str, methods: &[&str]) -> PathBuf {
    let root = root();
    let methods: String = methods.iter().map(|m| format!("  - {m}\n")).collect();
    write(
        dir,
        "recovery.yaml",
        &format!(
            "simulate: {}\nfit: {}\nseeds: {seeds}\njobs: 2\n\
             defaults: {{stimulus.duration_s: 300, network.weights.block_log_std: 0.5, observation.save_rates: true}}\n\
             conditions:\n  - {{name: default}}\n\
             methods:\n{methods}",
            root.join("configs/simulate_mouse_v1.yaml").display(),
            root.join("configs/recovery_fit.yaml").display()
        ),
    )
}

/// The cosine between two gradients over `vars` (each variable's entries flattened in order).
pub fn gradient_cosine(
    a: &candle_core::backprop::GradStore,
    b: &candle_core::backprop::GradStore,
    vars: &[candle_core::Var],
) -> f64 {
    let flat = |g: &candle_core::backprop::GradStore| -> Vec<f64> {
        vars.iter()
            .flat_map(|v| {
                let t = g.get(v.as_tensor()).expect("a gradient for every variable");
                t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
            })
            .map(f64::from)
            .collect()
    };
    let (a, b) = (flat(a), flat(b));
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (norm(&a) * norm(&b))
}
