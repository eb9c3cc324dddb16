//! Excitatory / inhibitory identity of cell types (Dale's law).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The sign of a unit's outgoing weights: excitatory (+1) or inhibitory (−1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sign {
    /// Excitatory: every outgoing weight ≥ 0.
    E,
    /// Inhibitory: every outgoing weight ≤ 0.
    I,
}

impl Sign {
    /// +1.0 for E, −1.0 for I.
    pub fn value(self) -> f32 {
        match self {
            Sign::E => 1.0,
            Sign::I => -1.0,
        }
    }
}

impl std::fmt::Display for Sign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sign::E => "E",
            Sign::I => "I",
        })
    }
}

/// Map from cell-type name to sign. Ordered, so summaries print deterministically.
pub type SignMap = BTreeMap<String, Sign>;

/// Cell types treated as excitatory by default: Cre lines of Allen pyramidal-cell reporters.
pub const DEFAULT_EXCITATORY: &[&str] = &[
    "Slc17a7", "Emx1", "Cux2", "Rorb", "Scnn1a", "Nr5a1", "Rbp4", "Fezf2", "Tlx3", "Ntsr1",
];
/// Cell types treated as inhibitory by default: interneuron Cre lines.
pub const DEFAULT_INHIBITORY: &[&str] = &["Pvalb", "Sst", "Vip", "Htr3a", "Gad2"];

/// The default sign map used by `fitrnn check --data`: the lists above, plus `unknown` → E
/// (most imaged neurons in excitatory Cre lines are pyramidal cells; summaries say so).
pub fn default_sign_map() -> SignMap {
    let mut m = SignMap::new();
    for t in DEFAULT_EXCITATORY {
        m.insert(t.to_string(), Sign::E);
    }
    for t in DEFAULT_INHIBITORY {
        m.insert(t.to_string(), Sign::I);
    }
    m.insert("unknown".to_string(), Sign::E);
    m
}

/// The key of `signs` that names `cell_type` but for its letter case (`PVALB` for `Pvalb`), for an
/// error that says so instead of asking for a sign the user already gave.
pub fn case_mismatch<'a>(cell_type: &str, signs: &'a SignMap) -> Option<(&'a String, Sign)> {
    signs
        .iter()
        .find(|(k, _)| k.as_str() != cell_type && k.eq_ignore_ascii_case(cell_type))
        .map(|(k, &s)| (k, s))
}

/// What to do about `cell_type` missing from `signs`, where the map is written under `key`.
pub fn missing_sign_fix(cell_type: &str, signs: &SignMap, key: &str) -> String {
    match case_mismatch(cell_type, signs) {
        Some((k, sign)) => format!(
            "{key} has `{k}`, the recording `{cell_type}`; cell types match exactly, letter case included: write `{cell_type}: {sign}` under {key}"
        ),
        None => format!("add `{cell_type}: E` or `{cell_type}: I` under {key}"),
    }
}
