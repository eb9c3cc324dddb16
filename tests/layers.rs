//! The module tree shows the layers, and every arrow points down. Read from `src/`: each top-level
//! module may use only modules of lower layers; within a module folder no two files use each other
//! in a circle; the analyses, the evaluation, the report and `compare` read a fitted model, never
//! the trainer; and no library code re-runs the running executable.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first (ARCHITECTURE.md draws them).
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["atomic", "linalg", "memory", "progress", "stats"],
    &["device", "data", "model"],
    &["connectivity"],
    &["config"],
    &[
        "constraints",
        "dataset",
        "estimate",
        "simulate",
        "trial_average",
    ],
    &["network"],
    &["rundir"],
    &["train", "analysis", "evaluate", "report"],
    &["task"],
    &["compare", "bench", "jobs", "reproduce"],
    &["ensemble"],
    &["pipeline", "recovery"],
    &["cli"],
    &["commands"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The code of a file without its unit tests and comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .to_string();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names after `crate::`, `super::` or `self::`, with brace groups expanded:
/// `use crate::{a::B, c}` gives `crate::a::B` and `crate::c`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let start = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| rest.starts_with(**p));
        let boundary = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        match start {
            Some(p) if boundary => {
                let (found, end) = expand(&bytes, i, p.trim_end_matches("::"));
                out.extend(found);
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// Expand the path starting at `i` (after `head`), returning its paths and where it ends.
fn expand(chars: &[char], i: usize, head: &str) -> (Vec<Vec<String>>, usize) {
    let mut j = i + head.len() + 2;
    let mut prefix = vec![head.to_string()];
    loop {
        if chars.get(j) == Some(&'{') {
            let mut depth = 0;
            let mut k = j;
            loop {
                match chars.get(k) {
                    Some('{') => depth += 1,
                    Some('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    None => break,
                    _ => {}
                }
                k += 1;
            }
            let inner: String = chars[j + 1..k.min(chars.len())].iter().collect();
            let mut out = Vec::new();
            for item in split_top(&inner) {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                match name.as_str() {
                    "" => {}
                    "self" => out.push(prefix.clone()),
                    _ => {
                        let mut p = prefix.clone();
                        p.push(name);
                        out.push(p);
                    }
                }
            }
            return (out, k + 1);
        }
        let start = j;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        if j > start {
            prefix.push(chars[start..j].iter().collect());
        }
        if j > start && chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
            j += 2;
            continue;
        }
        return (vec![prefix], j.max(i + 1));
    }
}

/// Split at commas that are not inside braces.
fn split_top(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

/// The top-level module of a file under `src/` (`None` for lib.rs and main.rs).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level module → the top-level modules it uses.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = src();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in rust_files(&src) {
        let Some(top) = top_module(&src, &f) else {
            continue;
        };
        let uses = graph.entry(top.clone()).or_default();
        for p in paths(&code(&f)) {
            if p[0] == "crate" && p.len() > 1 && p[1] != top && layer_of(&p[1]).is_some() {
                uses.insert(p[1].clone());
            }
        }
    }
    graph
}

#[test]
fn every_arrow_between_modules_points_down() {
    let graph = module_graph();
    let mut wrong = Vec::new();
    for (module, uses) in &graph {
        let Some(own) = layer_of(module) else {
            wrong.push(format!("{module} is in no layer: add it to LAYERS"));
            continue;
        };
        for used in uses {
            let theirs = layer_of(used).expect("filtered to layered modules");
            if theirs >= own {
                wrong.push(format!(
                    "{module} (layer {own}) uses {used} (layer {theirs})"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows that do not point down: {wrong:#?}"
    );
    for fitted_readers in [
        "analysis", "evaluate", "report", "compare", "network", "rundir",
    ] {
        assert!(
            !graph[fitted_readers].contains("train"),
            "{fitted_readers} must read a fitted model, not the trainer"
        );
    }
}

/// Within one module folder: file → sibling files it uses (`super::x`, `crate::m::x`, or an item
/// the folder's `mod.rs` re-exports from `x`), with `mod.rs` as a node of its own.
fn folder_graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files: BTreeMap<String, String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, code(&p))
        })
        .collect();
    let mut siblings: BTreeSet<String> = files.keys().filter(|k| *k != "mod").cloned().collect();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            siblings.insert(e.file_name().to_string_lossy().into_owned());
        }
    }
    let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
    // Items `mod.rs` re-exports from a sibling.
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    let mod_code = files.get("mod").cloned().unwrap_or_default();
    for line in mod_code
        .lines()
        .filter(|l| l.trim_start().starts_with("pub use "))
    {
        let spec = line.trim_start().trim_start_matches("pub use ");
        if let Some((from, items)) = spec.split_once("::") {
            if siblings.contains(from) {
                for item in items
                    .trim_end_matches(';')
                    .trim_matches(|c| c == '{' || c == '}')
                    .split(',')
                {
                    let name = item
                        .split(" as ")
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    reexported.insert(name, from.to_string());
                }
            }
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in &files {
        let edges = graph.entry(name.clone()).or_default();
        if name == "mod" {
            // What mod.rs itself uses: paths through a sibling, not its declarations or re-exports.
            let body: String = code
                .lines()
                .filter(|l| {
                    let t = l.trim_start();
                    !(t.starts_with("mod ")
                        || t.starts_with("pub mod ")
                        || t.starts_with("pub(crate) mod ")
                        || t.starts_with("pub use ")
                        || t.starts_with("use "))
                })
                .collect::<Vec<_>>()
                .join("\n");
            for s in &siblings {
                if body.contains(&format!("{s}::")) {
                    edges.insert(s.clone());
                }
            }
            continue;
        }
        for p in paths(code) {
            let target = match p[0].as_str() {
                "super" => p.get(1),
                "crate" if p.get(1) == Some(&folder) => p.get(2),
                _ => None,
            };
            let Some(t) = target else { continue };
            if siblings.contains(t) {
                if t != name {
                    edges.insert(t.clone());
                }
            } else if let Some(from) = reexported.get(t) {
                if from != name {
                    edges.insert(from.clone());
                }
            } else {
                edges.insert("mod".into());
            }
        }
    }
    graph
}

fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n.clone()) {
            stack.extend(graph.get(&n).into_iter().flatten().cloned());
        }
    }
    false
}

#[test]
fn no_two_files_of_a_module_use_each_other_in_a_circle() {
    let mut circles = Vec::new();
    let mut dirs = vec![src()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
                let g = folder_graph(&e.path());
                for (a, uses) in &g {
                    for b in uses {
                        if reaches(&g, b, a) {
                            circles.push(format!("{}: {a} ↔ {b}", e.path().display()));
                        }
                    }
                }
            }
        }
    }
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn no_library_code_reruns_the_running_executable() {
    let src = src();
    let offenders: Vec<PathBuf> = rust_files(&src)
        .into_iter()
        .filter(|f| code(f).contains("current_exe"))
        .filter(|f| !f.ends_with("jobs/binary.rs"))
        .collect();
    assert!(
        offenders.is_empty(),
        "only jobs::fitrnn_binary may look at the running executable: {offenders:?}"
    );
}

#[test]
fn the_path_parser_expands_brace_groups() {
    let p = paths("use crate::{a::B, c::{d, e}};\nlet x = super::f::g(crate::h);");
    let flat: Vec<String> = p.iter().map(|v| v.join("::")).collect();
    assert_eq!(
        flat,
        ["crate::a", "crate::c", "super::f::g", "crate::h"],
        "{p:?}"
    );
}
