//! The report of a finished run: every figure is a valid PNG of sensible size, report.html is
//! self-contained, names the run's provenance and escapes labels from the data; missing inputs
//! are skipped with a note; unfinished runs are refused; large weight matrices stay small.

use crate::common;

use polars::prelude::*;
use std::path::{Path, PathBuf};

const FIGURES: [&str; 9] = [
    "loss",
    "traces",
    "weights",
    "interactions_area_layer",
    "interactions_population",
    "eigenvalues",
    "singular_values",
    "currents",
    "perturbations",
];

/// Fit the shipped demo briefly into `dir/run` with a distinctive seed.
fn fit_demo(dir: &Path) -> PathBuf {
    let out = dir.join("run");
    common::fitrnn()
        .arg("--config")
        .arg(common::root().join("configs/mouse_v1.yaml"))
        .args(common::NO_ENSEMBLE)
        .args([
            "--set",
            "seed=4242",
            "--set",
            "training.dense_epochs=2",
            "--set",
            "training.finetune_epochs=1",
            "--set",
        ])
        .arg(format!("output.dir={}", out.display()))
        .assert()
        .success();
    out
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is not IHDR");
    let be = |k: usize| u32::from_be_bytes(bytes[k..k + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Replace `from` by `to` in every string column of a Parquet table.
fn rewrite_labels(path: &Path, from: &str, to: &str) {
    let mut df = ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for name in names {
        let Ok(ca) = df.column(&name).unwrap().str() else {
            continue;
        };
        let new: StringChunked = ca.iter().map(|v| v.map(|s| s.replace(from, to))).collect();
        let new = new
            .with_name(name.as_str().into())
            .into_series()
            .into_column();
        df.replace(&name, new).unwrap();
    }
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .finish(&mut df)
        .unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn report_of_a_finished_run_is_complete_and_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let run = fit_demo(tmp.path());
    // A label with markup in it, to check that every label from the data is escaped.
    for table in [
        "units",
        "metrics",
        "interactions",
        "currents",
        "perturbations",
    ] {
        rewrite_labels(
            &run.join(format!("tables/{table}.parquet")),
            "Sst",
            "Sst<&\"b\">",
        );
    }
    let summary = fitrnn::report::write_report(&run).unwrap();
    assert!(summary.skipped.is_empty(), "skipped: {:?}", summary.skipped);
    assert!(summary.to_string().contains("0 skipped"), "{summary}");

    for name in FIGURES {
        let path = run.join("figures").join(format!("{name}.png"));
        let (w, h) = png_size(&std::fs::read(&path).unwrap());
        assert!(
            (300..=1600).contains(&w) && (300..=1600).contains(&h),
            "{name}.png is {w}×{h}"
        );
        assert!(summary.written.contains(&format!("{name}.png")));
    }
    for name in ["weights", "eigenvalues"] {
        let svg = read(&run.join("figures").join(format!("{name}.svg")));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("Sst<&"), "{name}.svg has an unescaped label");
    }

    let html = read(&run.join("report.html"));
    for external in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "<script",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(external), "report.html contains {external}");
    }
    assert_eq!(
        html.matches("data:image/png;base64,").count(),
        FIGURES.len(),
        "one embedded PNG per figure"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&run.join("manifest.json"))).unwrap();
    let commit = manifest["git_commit"].as_str().unwrap();
    assert!(html.contains(&format!("<th>git commit</th><td>{commit}</td>")));
    assert!(html.contains("<th>seed</th><td>4242</td>"));
    assert!(html.contains(manifest["data"]["sha256"].as_str().unwrap()));
    assert!(
        html.contains("VISp/L2/3/Sst&lt;&amp;&quot;b&quot;&gt;"),
        "labels escaped"
    );
    assert!(
        !html.contains("Sst<&"),
        "an unescaped label reached the page"
    );
    // The pooled validation metrics, taken from the table.
    assert!(html.contains("<td>free running</td>") && html.contains("<td>teacher forced</td>"));
    // Without an ensemble the interaction and perturbation tables say that their values have no
    // interval, under each of the two tables.
    assert_eq!(
        html.matches("No ensemble ran, so these values have no interval")
            .count(),
        2
    );
    // Written atomically: no temporary files left behind.
    for entry in std::fs::read_dir(&run)
        .unwrap()
        .chain(std::fs::read_dir(run.join("figures")).unwrap())
    {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().ends_with(".partial"),
            "{name:?} left behind"
        );
    }

    // Inputs missing from an older or partial run skip their figure with a note.
    std::fs::remove_file(run.join("predictions.h5")).unwrap();
    std::fs::remove_file(run.join("tables/perturbations.parquet")).unwrap();
    let summary = fitrnn::report::write_report(&run).unwrap();
    let skipped: Vec<&str> = summary.skipped.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(skipped, ["traces", "perturbations"]);
    assert!(
        !run.join("figures/traces.png").exists(),
        "the figure from the earlier report is removed"
    );
    let html = read(&run.join("report.html"));
    assert!(html.contains("Figure skipped: predictions.h5 is missing."));
    assert!(html
        .contains("Perturbation effects not available: tables/perturbations.parquet is missing."));
    assert_eq!(
        html.matches("data:image/png;base64,").count(),
        FIGURES.len() - 2
    );
}

#[test]
fn an_unfinished_run_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("running");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"status": "running", "seed": 1, "git_commit": "abc"}"#,
    )
    .unwrap();
    let err = fitrnn::report::write_report(&dir).unwrap_err().to_string();
    assert!(err.contains("status is `running`"), "{err}");
    assert!(
        err.contains("Fix: finish the run first with fitrnn --resume"),
        "{err}"
    );
    assert!(!dir.join("report.html").exists() && !dir.join("figures").exists());
    // A directory without a manifest is not a run.
    let err = fitrnn::report::write_report(tmp.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("manifest.json"), "{err}");
}

#[test]
fn a_large_weight_matrix_is_block_averaged_not_drawn_cell_by_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("model")).unwrap();
    std::fs::create_dir_all(dir.join("tables")).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"status": "complete", "seed": 7}"#,
    )
    .unwrap();
    // 2,000 units in two areas, excitatory and inhibitory, sparse Dale weights.
    let n = 2000usize;
    let pop = |u: usize| {
        (
            if u < n / 2 { "A" } else { "B" },
            if u % 1000 < 800 { "E" } else { "I" },
        )
    };
    let mut w = vec![0f32; n * n];
    for (k, v) in w.iter_mut().enumerate() {
        let (post, pre) = (k / n, k % n);
        if (post * 31 + pre * 17) % 10 == 0 {
            *v = if pop(pre).1 == "E" { 0.05 } else { -0.2 };
        }
    }
    let t = candle_core::Tensor::from_vec(w, (n, n), &candle_core::Device::Cpu).unwrap();
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("w_rec".to_string(), t)]),
        dir.join("model/final.safetensors"),
    )
    .unwrap();
    let area: Vec<&str> = (0..n).map(|u| pop(u).0).collect();
    let sign: Vec<&str> = (0..n).map(|u| pop(u).1).collect();
    let mut units = df!(
        "unit" => (0..n as u32).collect::<Vec<_>>(),
        "area" => area,
        "layer" => vec!["L4"; n],
        "cell_type" => sign.iter().map(|s| if *s == "E" { "Slc17a7" } else { "Pvalb" }).collect::<Vec<_>>(),
        "sign" => sign,
    )
    .unwrap();
    ParquetWriter::new(std::fs::File::create(dir.join("tables/units.parquet")).unwrap())
        .finish(&mut units)
        .unwrap();

    let summary = fitrnn::report::write_report(dir).unwrap();
    assert_eq!(summary.written, ["weights.png", "weights.svg"], "{summary}");
    assert_eq!(summary.skipped.len(), FIGURES.len() - 1);
    let (w, h) = png_size(&std::fs::read(dir.join("figures/weights.png")).unwrap());
    assert!(w <= 1600 && h <= 1600);
    // One rectangle per cell would be millions of SVG elements; the raster keeps it small.
    let svg = std::fs::metadata(dir.join("figures/weights.svg"))
        .unwrap()
        .len();
    assert!(svg < 3_000_000, "weights.svg is {svg} bytes");
    let svg = read(&dir.join("figures/weights.svg"));
    assert_eq!(svg.matches("<image ").count(), 1);
    assert!(
        svg.contains("block means"),
        "the title says the matrix was averaged"
    );
    let html = read(&dir.join("report.html"));
    assert!(html.contains("Figure skipped: tables/history.parquet is missing."));
}

/// The values a heat map colours (grey cells are NaN).
fn coloured(map: &fitrnn::report::heatmap::HeatMap) -> Vec<f32> {
    map.values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect()
}

/// The current map greys a block the self-check did not recover, and says so in its legend; a
/// run without a self-check shows every block.
#[test]
fn the_current_map_greys_blocks_the_self_check_did_not_recover() {
    use fitrnn::report::figures::blocks;
    use fitrnn::report::inputs::RunFiles;
    let tmp = tempfile::tempdir().unwrap();
    let split = ("area_layer", "validation");
    let flagged = common::RunDirBuilder::new(&tmp.path().join("flagged"))
        .current(split, ("VISp/L4", "VISl/L4", "E"), 0.4)
        .with_interval((0.3, 0.5), Some(true))
        .current(split, ("VISl/L4", "VISp/L4", "E"), 0.2)
        .with_interval((0.0, 0.6), Some(false))
        .write();
    let map = blocks::currents(&RunFiles::open(&flagged, false).unwrap()).unwrap();
    let shown = coloured(&map);
    assert_eq!(shown, [0.4], "only the recovered block keeps its colour");
    assert!(
        map.bar_label.contains("not determined"),
        "{}",
        map.bar_label
    );
    let plain = common::RunDirBuilder::new(&tmp.path().join("plain"))
        .current(split, ("VISp/L4", "VISl/L4", "E"), 0.4)
        .current(split, ("VISl/L4", "VISp/L4", "E"), 0.2)
        .write();
    let map = blocks::currents(&RunFiles::open(&plain, false).unwrap()).unwrap();
    assert_eq!(coloured(&map).len(), 2);
    assert!(!map.bar_label.contains("not determined"));
}

/// The silencing map greys an effect whose interval holds 0 or that the refits did not reproduce.
#[test]
fn the_silencing_map_greys_effects_the_data_do_not_determine() {
    use fitrnn::report::figures::blocks;
    use fitrnn::report::inputs::RunFiles;
    use fitrnn::rundir::tables::{self, PerturbationRow, Table};
    let tmp = tempfile::tempdir().unwrap();
    let run = common::RunDirBuilder::new(&tmp.path().join("run")).write();
    let effect =
        |target: &str, delta_rel: f64, sign: Option<bool>, flag: Option<bool>| PerturbationRow {
            perturbed: "VISp/*/*".into(),
            kind: "silence".into(),
            magnitude: 1.0,
            target: target.into(),
            baseline_mean_rate: 1.0,
            perturbed_mean_rate: 1.0 + delta_rel,
            delta: delta_rel,
            delta_rel,
            delta_rel_ci_low: delta_rel - 0.1,
            delta_rel_ci_high: delta_rel + 0.1,
            sign_determined: sign,
            identifiable: flag,
        };
    let rows = [
        effect("VISl/L4/Pvalb", -0.3, Some(true), Some(true)),
        effect("VISl/L4/Sst", 0.05, Some(false), Some(true)),
        effect("VISl/L5/Sst", -0.2, Some(true), Some(false)),
    ];
    tables::write(
        &run.join("tables")
            .join(format!("{}.parquet", PerturbationRow::NAME)),
        &rows,
    )
    .unwrap();
    let map = blocks::perturbations(&RunFiles::open(&run, false).unwrap()).unwrap();
    let shown = coloured(&map);
    assert_eq!(shown, [-0.3]);
    assert!(
        map.bar_label.contains("not determined"),
        "{}",
        map.bar_label
    );
}
