//! The binary, as a user meets it: every malformed input ends with exit code 2 and one clear
//! message naming the file, the place in it and the fix, never a panic.

use crate::common;

use clap::CommandFactory;
use common::{fitrnn, fixture, write};
use predicates::prelude::*;
use predicates::str::contains;

#[test]
fn cli_definition_is_consistent() {
    fitrnn::cli::Cli::command().debug_assert();
}

#[test]
fn version_names_the_commit() {
    fitrnn()
        .arg("--version")
        .assert()
        .success()
        .stdout(contains(env!("CARGO_PKG_VERSION")).and(contains("commit")));
}

#[test]
fn every_command_has_help() {
    let cli = fitrnn::cli::Cli::command();
    let mut commands: Vec<Vec<String>> = vec![vec!["--help".into()]];
    for sub in cli.get_subcommands() {
        commands.push(vec![sub.get_name().to_string(), "--help".into()]);
    }
    assert!(commands.len() >= 11, "every subcommand: {commands:?}");
    for cmd in commands {
        fitrnn()
            .args(&cmd)
            .assert()
            .success()
            .stdout(contains("Usage"));
    }
}

/// Every command and every flag says what it does: `help_expected` makes clap's debug assertions
/// refuse an undocumented one, and the help text of each is checked here too.
#[test]
fn every_flag_has_help() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if cmd.get_about().is_none() && !path.is_empty() {
            missing.push(format!("command `{path}`"));
        }
        for arg in cmd.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("`{path} --{}`", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()).trim(), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&fitrnn::cli::Cli::command(), "", &mut missing);
    assert!(missing.is_empty(), "without help: {missing:?}");
}

#[test]
fn check_accepts_h5py_files_written_from_the_readme() {
    fitrnn()
        .args(["check", "--data"])
        .arg(fixture("recordings/valid_vlen_utf8_f32_gzip.h5"))
        .assert()
        .success()
        .stdout(contains("ok:").and(contains("E/I")).and(contains("trials")));
}

/// Run `check --data` on a fixture and expect exit 2 with every fragment in stderr.
fn bad_file(name: &str, fragments: &[&str]) {
    let path = fixture(&format!("recordings/{name}"));
    let out = fitrnn()
        .args(["check", "--data"])
        .arg(&path)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(name),
        "{name}: message must name the file:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "{name}: one line:\n{stderr}"
    );
    for f in fragments {
        assert!(stderr.contains(f), "{name}: expected `{f}` in:\n{stderr}");
    }
}

#[test]
fn missing_traces() {
    bad_file(
        "bad_missing_traces.h5",
        &["/traces", "required dataset is missing", "Fix:"],
    );
}

#[test]
fn traces_of_wrong_rank() {
    bad_file(
        "bad_traces_rank1.h5",
        &["/traces", "2-D", "[n_frames, n_neurons]"],
    );
}

#[test]
fn traces_of_wrong_type() {
    bad_file(
        "bad_traces_dtype.h5",
        &["/traces", "float32 or float64", "int16"],
    );
}

#[test]
fn neuron_table_shorter_than_traces() {
    bad_file(
        "bad_neuron_count.h5",
        &["/neurons/cell_type", "rows but /traces has", "columns"],
    );
}

#[test]
fn timestamps_not_increasing() {
    bad_file(
        "bad_timestamps_not_increasing.h5",
        &["/timestamps", "strictly increase", "frame 10"],
    );
}

#[test]
fn timestamps_of_wrong_length() {
    bad_file(
        "bad_timestamps_length.h5",
        &["/timestamps", "entries but /traces has"],
    );
}

#[test]
fn nan_in_traces() {
    bad_file(
        "bad_nan_traces.h5",
        &["/traces", "NaN", "frame 5", "nan_policy: drop_frames"],
    );
}

#[test]
fn cell_type_without_sign() {
    bad_file("bad_unknown_cell_type.h5", &["Lamp5", "data.cell_types"]);
}

#[test]
fn trial_outside_recording() {
    bad_file(
        "bad_trials_outside.h5",
        &["/trials", "outside the recording"],
    );
}

#[test]
fn trial_that_stops_before_it_starts() {
    bad_file(
        "bad_trial_order.h5",
        &["/trials/stop_time", "not after its start"],
    );
}

#[test]
fn unknown_schema_version() {
    bad_file(
        "bad_schema_version.h5",
        &["schema", "fitrnn-recording/9", "fitrnn-recording/1"],
    );
}

#[test]
fn unsigned_ids_above_the_signed_range_are_refused_not_clamped_into_duplicates() {
    bad_file(
        "bad_ids_uint64.h5",
        &[
            "/neurons/id",
            "18446744073709551316",
            "above 2^63",
            "as strings",
        ],
    );
}

#[test]
fn missing_schema() {
    bad_file("bad_no_schema.h5", &["schema", "missing"]);
}

#[test]
fn no_frame_times() {
    bad_file("bad_no_time.h5", &["frame_rate_hz", "/timestamps"]);
}

#[test]
fn inputs_with_too_few_frames() {
    bad_file("bad_inputs_frames.h5", &["/inputs/values", "rows (frames)"]);
}

#[test]
fn inputs_with_too_few_names() {
    bad_file(
        "bad_inputs_names.h5",
        &["/inputs/names", "1 names", "2 columns"],
    );
}

#[test]
fn traces_declared_larger_than_memory() {
    bad_file(
        "bad_huge_traces.h5",
        &["/traces", "[100000000000, 6]", "needs 2400.0 GB of memory"],
    );
}

#[test]
fn any_dataset_declared_larger_than_memory() {
    bad_file(
        "bad_huge_trials.h5",
        &[
            "/trials/stop_time",
            "[10000000000]",
            "needs 80.0 GB of memory",
        ],
    );
}

#[test]
fn a_label_that_is_not_utf8() {
    bad_file(
        "bad_label_not_utf8.h5",
        &["/neurons/area", "entry 0", "not valid UTF-8"],
    );
}

#[test]
fn a_neuron_id_twice() {
    bad_file(
        "bad_duplicate_ids.h5",
        &["/neurons/id", "104 appears twice", "columns 1 and 4"],
    );
}

#[test]
fn traces_stored_neurons_by_time() {
    bad_file(
        "bad_traces_transposed.h5",
        &[
            "/traces",
            "[6, 40]",
            "looks transposed",
            "/neurons/id has 6 rows",
            "traces.T",
        ],
    );
}

#[test]
fn a_frame_rate_that_is_no_rate() {
    bad_file("bad_frame_rate.h5", &["frame_rate_hz", "1e-300 Hz"]);
}

#[test]
fn a_named_pipe_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("recording.h5");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    fitrnn()
        .args(["check", "--data"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(contains("not a regular file"));
    fitrnn()
        .args(["check", "--data"])
        .arg(dir.path())
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(contains("is a directory"));
}

#[test]
fn not_an_hdf5_file() {
    bad_file("not_hdf5.h5", &["not an HDF5 file"]);
}

#[test]
fn missing_file() {
    fitrnn()
        .args(["check", "--data", "no/such/file.h5"])
        .assert()
        .code(2)
        .stderr(contains("no/such/file.h5").and(contains("No such file")));
}

/// A valid run config over the h5py fixture, in `dir`, with `extra` YAML appended to `data:`.
fn config_over_fixture(dir: &std::path::Path, data_extra: &str, rest: &str) -> std::path::PathBuf {
    let data = fixture("recordings/valid_vlen_utf8_f32_gzip.h5");
    let text = format!(
        "seed: 1\ndata:\n  path: {}\n  windows: {{length_s: 0.5}}\n{data_extra}{rest}",
        data.display()
    );
    write(dir, "run.yaml", &text)
}

/// Run `check --config` and expect exit 2 with every fragment in stderr.
fn bad_config(data_extra: &str, rest: &str, sets: &[&str], fragments: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_over_fixture(dir.path(), data_extra, rest);
    let mut cmd = fitrnn();
    cmd.args(["check", "--config"]).arg(&cfg);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("run.yaml"),
        "message must name the config:\n{stderr}"
    );
    for f in fragments {
        assert!(stderr.contains(f), "expected `{f}` in:\n{stderr}");
    }
}

#[test]
fn valid_config_over_h5py_file_passes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_over_fixture(dir.path(), "", "");
    fitrnn()
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .success()
        .stdout(contains("ok: config and data are valid"));
}

#[test]
fn unknown_key_suggests_the_closest() {
    bad_config(
        "  nromalisation: zscore\n",
        "",
        &[],
        &["data.nromalisation", "did you mean `normalisation`"],
    );
}

#[test]
fn unknown_top_level_section_suggests_the_closest() {
    bad_config(
        "",
        "traning: {lr: 0.1}\n",
        &[],
        &["traning", "did you mean `training`"],
    );
}

#[test]
fn unknown_enum_value_suggests_the_closest() {
    bad_config(
        "  normalisation: zcore\n",
        "",
        &[],
        &["data.normalisation", "did you mean `zscore`"],
    );
}

#[test]
fn override_with_unknown_key_is_rejected() {
    bad_config(
        "",
        "",
        &["training.lerning_rate=0.1"],
        &["lerning_rate", "Valid keys here"],
    );
}

#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    if cfg!(feature = "cuda") {
        return;
    }
    bad_config(
        "",
        "",
        &["device=cuda"],
        &["device", "without CUDA support", "--features cuda"],
    );
}

#[test]
fn empty_selection_after_filtering() {
    bad_config(
        "  select: {areas: [VISp], cell_types: [Vip], layers: [L5]}\n",
        "",
        &[],
        &["data.select", "no neuron"],
    );
}

#[test]
fn selection_naming_an_absent_area() {
    bad_config(
        "  select: {areas: [VISam]}\n",
        "",
        &[],
        &["data.select.areas", "VISam", "does not occur"],
    );
}

#[test]
fn cell_type_missing_from_the_config_sign_map() {
    bad_config(
        "  cell_types: {Slc17a7: E, Sst: I}\n",
        "",
        &[],
        &["data.cell_types", "has no sign"],
    );
}

#[test]
fn cell_type_in_another_letter_case_is_named_as_such() {
    bad_config(
        "  cell_types: {Slc17a7: E, PVALB: I, Sst: I, Vip: I, unknown: E}\n",
        "",
        &[],
        &[
            "has `PVALB`",
            "the recording `Pvalb`",
            "letter case",
            "`Pvalb: I`",
        ],
    );
}

#[test]
fn a_data_path_that_is_no_path_says_what_it_is() {
    bad_config(
        "",
        "",
        &["data.path=5"],
        &["data.path must be a file path", "not a number"],
    );
    bad_config(
        "",
        "",
        &["data.path=[a.h5, {x: 1}]"],
        &["entry 1 of the list is a mapping"],
    );
}

#[test]
fn yaml_faults_get_their_own_fix_not_layout_advice() {
    bad_config(
        "",
        "training:\n  lr: 0.1\n  lr: 0.2\n",
        &[],
        &["duplicate entry", "each key appears once"],
    );
    bad_config(
        "",
        "---\nseed: 2\n",
        &[],
        &["more than one document", "one YAML document"],
    );
    let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for k in 1..9 {
        let p = k - 1;
        bomb.push_str(&format!(
            "l{k}: &l{k} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
        ));
    }
    bad_config("", &bomb, &[], &["anchors and aliases"]);
}

#[test]
fn named_input_missing_from_the_file() {
    bad_config(
        "",
        "model:\n  inputs: [reward]\n",
        &[],
        &["model.inputs", "reward", "image_flash"],
    );
}

#[test]
fn negative_learning_rate() {
    bad_config(
        "",
        "training:\n  lr: -0.1\n",
        &[],
        &["training.lr", "not a learning rate"],
    );
}

#[test]
fn yaml_syntax_error_names_the_line() {
    bad_config("  path2: [unclosed\n", "", &[], &["not valid YAML", "line"]);
}

#[test]
fn missing_data_section() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "run.yaml", "seed: 1\n");
    fitrnn()
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(
            contains("run.yaml")
                .and(contains("data"))
                .and(contains("required key is missing")),
        );
}

#[test]
fn split_by_trials_without_trials() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("recordings/valid_fixed_ascii_f64.h5");
    let cfg = write(
        dir.path(),
        "run.yaml",
        &format!(
            "data:\n  path: {}\n  windows: {{length_s: 0.5}}\n  split: {{by: trials}}\n",
            data.display()
        ),
    );
    fitrnn()
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(contains("data.split.by").and(contains("/trials")));
}

#[test]
fn paths_resolve_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("configs");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(
        fixture("recordings/valid_vlen_utf8_f32_gzip.h5"),
        dir.path().join("rec.h5"),
    )
    .unwrap();
    let cfg = write(
        &sub,
        "run.yaml",
        "data:\n  path: ../rec.h5\n  windows: {length_s: 0.5}\n",
    );
    fitrnn()
        .current_dir(std::env::temp_dir())
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .success()
        .stdout(contains("rec.h5"));
}

#[test]
fn a_split_whose_validation_frames_hold_no_window_is_refused() {
    bad_config(
        "  split: {validation_fraction: 0.1}\n",
        "",
        &[],
        &[
            "data.split.validation_fraction",
            "held-out frames hold no validation window",
        ],
    );
}

#[test]
fn a_network_too_large_for_the_machine_is_refused_before_it_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_over_fixture(dir.path(), "", "");
    fitrnn()
        .args(["check", "--config"])
        .arg(&cfg)
        .args(["--set", "model.hidden_units.Pvalb=100000000"])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(
            contains("a network of 600000006 units needs")
                .and(contains("GB of memory"))
                .and(contains("model.hidden_units")),
        );
}

#[test]
fn inferred_inputs_need_a_positive_knot_spacing_and_penalty() {
    bad_config(
        "",
        "",
        &[
            "model.latent_inputs.per_area=1",
            "model.latent_inputs.knot_s=0",
        ],
        &["model.latent_inputs.knot_s", "positive time in s"],
    );
    bad_config(
        "",
        "",
        &["model.latent_inputs.l2=-1"],
        &["model.latent_inputs.l2", "penalty ≥ 0"],
    );
}

#[test]
fn a_label_with_a_nul_inside() {
    bad_file(
        "bad_label_nul.h5",
        &["/neurons/area", "entry 0", "NUL byte at position 2"],
    );
}

#[test]
fn complex_traces_are_named_as_complex() {
    bad_file(
        "bad_traces_complex.h5",
        &[
            "/traces",
            "complex numbers (float32 real and imaginary parts)",
        ],
    );
}

#[test]
fn traces_behind_a_dangling_soft_link() {
    bad_file(
        "bad_traces_dangling_link.h5",
        &["/traces", "soft link", "does not exist"],
    );
}

#[test]
fn traces_behind_an_external_link_to_a_missing_file() {
    bad_file(
        "bad_traces_external_link.h5",
        &["/traces", "external link", "cannot be opened"],
    );
}
