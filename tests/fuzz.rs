//! Fuzzing on stable Rust (proptest): the config loader with `--set`, the connectivity-table
//! parser and the recording readers (contract and NWB) get inputs mutated from valid ones. Every
//! input must end in `Ok` or a clean `Err`; a panic fails the test with the smallest input that
//! causes it. Each target runs a bounded number of cases from a fixed seed in the test suite (20,000
//! configs, 20,000 tables and 4,000 recordings, about 10 s);
//! `PROPTEST_CASES=100000 FITRNN_FUZZ_SEED=random cargo test --release --test integration fuzz`
//! runs longer. Random seeds reach crashes inside the HDF5 C library 1.10.8 (Debian 12) on damaged
//! variable-length strings (README, "Reliability"), which no Rust code can catch.

use crate::common;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// Cases per target: `$PROPTEST_CASES`, else `default`; from a fixed seed, so the suite is
/// reproducible, unless `$FITRNN_FUZZ_SEED` gives another (`random` for a fresh one each run).
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let rng_seed = match std::env::var("FITRNN_FUZZ_SEED").ok().as_deref() {
        Some("random") => proptest::test_runner::RngSeed::Random,
        Some(s) => proptest::test_runner::RngSeed::Fixed(s.parse().unwrap_or(0)),
        None => proptest::test_runner::RngSeed::Fixed(20261207),
    };
    ProptestConfig {
        cases,
        rng_seed,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One edit of a text: delete, duplicate or replace a line, or overwrite a span with a token.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Replace(usize, String),
    Splice(usize, String),
}

/// Tokens that stress parsers: YAML syntax, numbers at the edges, odd text.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("-".to_string()),
        Just(":".to_string()),
        Just("{".to_string()),
        Just("[".to_string()),
        Just("&a".to_string()),
        Just("*a".to_string()),
        Just("~".to_string()),
        Just("null".to_string()),
        Just("1e309".to_string()),
        Just("-1e-320".to_string()),
        Just("NaN".to_string()),
        Just(".inf".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-0".to_string()),
        Just("0".to_string()),
        Just("\t".to_string()),
        Just("\u{0}".to_string()),
        Just("é".to_string()),
        Just(",,,".to_string()),
        "[a-zA-Z0-9_./:, -]{0,12}",
        any::<u64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), token()).prop_map(|(i, t)| Edit::Replace(i, t)),
        (any::<usize>(), token()).prop_map(|(i, t)| Edit::Splice(i, t)),
    ];
    proptest::collection::vec(edit, 1..6)
}

/// `text` with `edits` applied (line indices and offsets taken modulo the text's size).
fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match e {
            Edit::Delete(i) => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::Replace(i, t) => {
                let l = &lines[i % n];
                // Keep the key and its indentation, replace the value.
                lines[i % n] = match l.split_once(':') {
                    Some((k, _)) => format!("{k}: {t}"),
                    None => t.clone(),
                };
            }
            Edit::Splice(i, t) => {
                let l = &mut lines[i % n];
                let chars: Vec<char> = l.chars().collect();
                let at = i % (chars.len() + 1);
                let head: String = chars[..at].iter().collect();
                let tail: String = chars[at..].iter().collect();
                *l = format!("{head}{t}{tail}");
            }
        }
    }
    lines.join("\n")
}

/// `--set` overrides: a real key or a made-up one, a value from the tokens.
fn overrides() -> impl Strategy<Value = Vec<String>> {
    let key = prop_oneof![
        Just("training.lr"),
        Just("training.dense_epochs"),
        Just("training.batch_size"),
        Just("data.path"),
        Just("data.windows.length_s"),
        Just("data.split.validation_fraction"),
        Just("model.tau_ms.default"),
        Just("model.hidden_units"),
        Just("constraints.mask.table"),
        Just("ensemble.seeds"),
        Just("slurm.sbatch.partition"),
        Just("threads"),
        Just("seed"),
        Just("output.dir"),
        Just("a..b"),
        Just("training"),
    ];
    proptest::collection::vec((key, token()).prop_map(|(k, v)| format!("{k}={v}")), 0..3)
}

fn demo_config() -> (PathBuf, String) {
    let path = common::root().join("configs/mouse_v1.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

proptest! {
    #![proptest_config(config(20_000))]

    #[test]
    fn the_config_loader_never_panics(e in edits(), sets in overrides()) {
        let (path, text) = demo_config();
        let mutated = apply(&text, &e);
        let _ = fitrnn::config::Config::parse(&path, &mutated, &sets);
    }
}

proptest! {
    #![proptest_config(config(20_000))]

    #[test]
    fn the_connectivity_table_parser_never_panics(e in edits()) {
        let path = common::root().join("data/connectivity/mouse_v1_celltype.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = fitrnn::connectivity::ProbabilityTable::parse(&path, &apply(&text, &e));
    }
}

/// Whether the linked HDF5 library reads damaged variable-length strings without crashing: 1.10.8
/// segfaults or hangs in its global heap (`H5HG_read`) on some; 1.14.4 and 2.0.0 refuse them.
fn hdf5_survives_damaged_strings() -> bool {
    let (major, minor, release) = hdf5::library_version();
    (major, minor, release) >= (1, 14, 4)
}

/// Byte mutations of a file: overwrite, flip bits, truncate.
#[derive(Debug, Clone)]
enum ByteEdit {
    Set(usize, u8),
    Flip(usize, u8),
    Truncate(usize),
}

fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> {
    let e = prop_oneof![
        6 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Set(i, b)),
        6 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| ByteEdit::Flip(i, b)),
        1 => any::<usize>().prop_map(ByteEdit::Truncate),
    ];
    proptest::collection::vec(e, 1..8)
}

fn mutate(bytes: &[u8], edits: &[ByteEdit]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for e in edits {
        if b.is_empty() {
            break;
        }
        let n = b.len();
        match *e {
            ByteEdit::Set(i, v) => b[i % n] = v,
            ByteEdit::Flip(i, bit) => b[i % n] ^= 1 << bit,
            ByteEdit::Truncate(i) => b.truncate(i % n),
        }
    }
    b
}

/// Read `bytes` as a recording from a file in `dir`; any outcome but a panic is fine.
fn read_mutated(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let _ = fitrnn::data::load::load(&[path], &Default::default());
}

proptest! {
    #![proptest_config(config(4_000))]

    /// From the fixed-length-string fixture: damaged variable-length strings crash HDF5 1.10.8
    /// itself (see the module's note).
    #[test]
    fn the_contract_reader_never_panics(e in byte_edits()) {
        let valid = std::fs::read(common::fixture("recordings/valid_fixed_ascii_f64.h5")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        read_mutated(dir.path(), "recording.h5", &mutate(&valid, &e));
    }

    /// NWB files hold variable-length strings throughout, so this target runs only where the
    /// HDF5 library decodes damaged ones safely (1.14.4 and later; Debian 12 ships 1.10.8).
    #[test]
    fn the_nwb_reader_never_panics(e in byte_edits()) {
        if !hdf5_survives_damaged_strings() {
            return Ok(());
        }
        let valid = std::fs::read(common::fixture("nwb/allen_vbo_like.nwb")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        read_mutated(dir.path(), "recording.nwb", &mutate(&valid, &e));
    }
}
