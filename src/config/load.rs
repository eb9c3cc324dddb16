//! Reading YAML configs: `--set` overrides, and errors that name the file, the key and the
//! closest valid key ("did you mean ...?").

use crate::error::{suggest, Error, Result};
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// Parse `text` (the contents of `file`) into `T`, after applying `overrides` (`a.b.c=value`).
/// Override values are parsed as YAML scalars or lists (`3`, `true`, `[VISp, VISl]`), else kept as
/// text. Keys listed in `cwd_path_keys` that are overridden with a relative path are made absolute
/// against the current directory, since a path typed on the command line means the shell's path.
pub fn parse_yaml<T: DeserializeOwned>(
    file: &Path,
    text: &str,
    overrides: &[String],
    cwd_path_keys: &[&str],
) -> Result<T> {
    let mut value: Value = serde_yaml::from_str(text).map_err(|e| syntax_error(file, &e))?;
    if value.is_null() {
        value = Value::Mapping(Mapping::new());
    }
    if !value.is_mapping() {
        return Err(Error::config(
            file,
            "(top level)",
            "expected a mapping of sections (data:, model:, ...)",
            "see configs/mouse_v1.yaml for a complete example",
        ));
    }
    for ov in overrides {
        apply_override(file, &mut value, ov, cwd_path_keys)?;
    }
    serde_path_to_error::deserialize(value).map_err(|e| field_error(file, e))
}

/// Read `file` and parse it as [`parse_yaml`] does.
pub fn load_yaml<T: DeserializeOwned>(
    file: &Path,
    overrides: &[String],
    cwd_path_keys: &[&str],
) -> Result<T> {
    crate::error::require_regular_file(file, "the config")?;
    let text =
        std::fs::read_to_string(file).map_err(|e| Error::io(file, "reading the config", e))?;
    parse_yaml(file, &text, overrides, cwd_path_keys)
}

fn syntax_error(file: &Path, e: &serde_yaml::Error) -> Error {
    let at = e
        .location()
        .map(|l| format!("line {}, column {}", l.line(), l.column()))
        .unwrap_or_else(|| "(unknown position)".into());
    Error::config(
        file,
        at,
        format!("not valid YAML: {e}"),
        syntax_fix(&e.to_string()),
    )
}

/// The fix for a YAML error, by its kind: a key written twice, several documents in one file, an
/// alias expansion that explodes, or (the usual case) layout.
fn syntax_fix(message: &str) -> &'static str {
    if message.contains("duplicate entry") {
        "each key appears once per section: remove the second one, or merge the two"
    } else if message.contains("more than one document") {
        "a config is one YAML document: remove the `---` line and what follows, or split it into two config files"
    } else if message.contains("repetition limit") || message.contains("recursion limit") {
        "the file's anchors and aliases (&name, *name) expand past any config's size: write the values out"
    } else {
        "check indentation (spaces, not tabs) and that every `key: value` is on its own line"
    }
}

fn apply_override(file: &Path, root: &mut Value, ov: &str, cwd_path_keys: &[&str]) -> Result<()> {
    let Some((key, raw)) = ov.split_once('=') else {
        return Err(Error::config(
            file,
            format!("--set {ov}"),
            "expected `section.key=value`",
            "write e.g. --set training.lr=0.001",
        ));
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(Error::config(
            file,
            format!("--set {ov}"),
            "empty key",
            "write e.g. --set data.normalisation=zscore",
        ));
    }
    let mut parsed: Value = serde_yaml::from_str(raw).unwrap_or_else(|_| Value::String(raw.into()));
    if cwd_path_keys.contains(&key) && (raw.trim().is_empty() || parsed.is_null()) {
        return Err(Error::config(
            file,
            format!("--set {ov}"),
            format!("`{key}` is a path and the value is empty"),
            format!("give a path, e.g. --set {key}=runs/new, or leave out the --set to use the config's own"),
        ));
    }
    if cwd_path_keys.contains(&key) {
        if let Value::String(s) = &parsed {
            let p = PathBuf::from(s);
            if p.is_relative() {
                let abs = std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p);
                parsed = Value::String(abs.to_string_lossy().into_owned());
            }
        }
    }
    let parts: Vec<&str> = key.split('.').collect();
    let mut cur = root;
    for (i, part) in parts.iter().enumerate() {
        let map = match cur {
            Value::Mapping(m) => m,
            other => {
                *other = Value::Mapping(Mapping::new());
                other.as_mapping_mut().expect("just set")
            }
        };
        let k = Value::String(part.to_string());
        if i + 1 == parts.len() {
            map.insert(k, parsed);
            return Ok(());
        }
        if !map.contains_key(&k) {
            map.insert(k.clone(), Value::Mapping(Mapping::new()));
        }
        cur = map.get_mut(&k).expect("inserted");
    }
    Ok(())
}

fn field_error(file: &Path, e: serde_path_to_error::Error<serde_yaml::Error>) -> Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let msg = inner.to_string();
    let key = if path == "." {
        "(top level)".to_string()
    } else {
        path
    };
    if let Some(unknown) = between(&msg, "unknown field `", "`") {
        let valid = backticked_after(&msg, "expected");
        if unknown == "task" && valid.iter().any(|v| v == "data") {
            return Error::config(
                file,
                key,
                "a task-mode config (it has `task:`), where a data fit's config is needed".to_string(),
                "train it with `fitrnn task --config`, or give this command a data fit's config (e.g. configs/mouse_v1.yaml)".to_string(),
            );
        }
        return Error::config(
            file,
            key,
            format!("unknown key `{unknown}`"),
            suggest(&unknown, &valid, "key"),
        );
    }
    if let Some(unknown) = between(&msg, "unknown variant `", "`") {
        let valid = backticked_after(&msg, "expected");
        return Error::config(
            file,
            key,
            format!("unknown value `{unknown}`"),
            suggest(&unknown, &valid, "value"),
        );
    }
    if let Some(missing) = between(&msg, "missing field `", "`") {
        let full = if key == "(top level)" {
            missing.clone()
        } else {
            format!("{key}.{missing}")
        };
        return Error::config(
            file,
            full,
            "required key is missing",
            "add it; see configs/mouse_v1.yaml for a complete example",
        );
    }
    Error::config(file, key, msg, "")
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(s[i..j].to_string())
}

fn backticked_after(s: &str, marker: &str) -> Vec<String> {
    let Some(i) = s.find(marker) else {
        return vec![];
    };
    s[i..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}
