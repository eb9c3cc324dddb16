//! Choosing the neurons a fit uses, in the unit order every table follows:
//! area → layer → cell type (in the order the config lists them, else first appearance) → neuron id.

use super::{Recording, Sign, SignMap};
use crate::error::{suggest, Error, Result};
use ndarray::Axis;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Neuron selection by metadata; each list keeps neurons whose value is listed (empty = all).
/// The list order also sets the unit order (area → layer → cell type).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// Areas to keep, e.g. `[VISp, VISl]`.
    #[serde(default)]
    pub areas: Vec<String>,
    /// Layers to keep, e.g. `[L2/3, L4, L5]`.
    #[serde(default)]
    pub layers: Vec<String>,
    /// Cell types to keep, e.g. `[Slc17a7, Sst, Vip]`.
    #[serde(default)]
    pub cell_types: Vec<String>,
}

/// Keep the neurons that `sel` asks for, check that each has a sign in `signs`, and reorder them
/// into unit order. Errors name the config file (`config`) and the recording.
pub fn select_neurons(
    rec: &Recording,
    sel: &Selection,
    signs: &SignMap,
    config: &Path,
) -> Result<Recording> {
    let n = &rec.neurons;
    for (key, wanted, have) in [
        ("data.select.areas", &sel.areas, &n.area),
        ("data.select.layers", &sel.layers, &n.layer),
        ("data.select.cell_types", &sel.cell_types, &n.cell_type),
    ] {
        let mut present: Vec<String> = have.clone();
        present.sort();
        present.dedup();
        if let Some(w) = wanted.iter().find(|w| !present.contains(w)) {
            return Err(Error::config(
                config,
                key,
                format!("`{w}` does not occur in {}", rec.path.display()),
                suggest(w, &present, "value"),
            ));
        }
    }
    let keep = |list: &Vec<String>, v: &String| list.is_empty() || list.contains(v);
    let mut idx: Vec<usize> = (0..n.len())
        .filter(|&i| {
            keep(&sel.areas, &n.area[i])
                && keep(&sel.layers, &n.layer[i])
                && keep(&sel.cell_types, &n.cell_type[i])
        })
        .collect();
    if idx.is_empty() {
        return Err(Error::config(
            config,
            "data.select",
            format!(
                "no neuron of {} matches areas {:?}, layers {:?} and cell types {:?} together",
                rec.path.display(),
                sel.areas,
                sel.layers,
                sel.cell_types
            ),
            "widen the selection; `fitrnn check --data FILE` lists what the file holds",
        ));
    }
    if let Some(&i) = idx.iter().find(|&&i| !signs.contains_key(&n.cell_type[i])) {
        let known: Vec<String> = signs.keys().cloned().collect();
        return Err(Error::config(
            config,
            "data.cell_types",
            format!(
                "cell type `{}` (neuron {} in {}) has no sign",
                n.cell_type[i],
                n.id.label(i),
                rec.path.display()
            ),
            format!(
                "{}, or leave it out with data.select.cell_types (known: {})",
                crate::data::celltypes::missing_sign_fix(&n.cell_type[i], signs, "data.cell_types"),
                known.join(", ")
            ),
        ));
    }
    let rank = |list: &Vec<String>, v: &String, firsts: &Vec<String>| -> usize {
        list.iter()
            .position(|x| x == v)
            .or_else(|| firsts.iter().position(|x| x == v))
            .unwrap_or(usize::MAX)
    };
    let firsts = |col: &Vec<String>| {
        let mut seen: Vec<String> = Vec::new();
        for v in col {
            if !seen.contains(v) {
                seen.push(v.clone());
            }
        }
        seen
    };
    let (fa, fl, fc) = (firsts(&n.area), firsts(&n.layer), firsts(&n.cell_type));
    idx.sort_by_key(|&i| {
        (
            rank(&sel.areas, &n.area[i], &fa),
            rank(&sel.layers, &n.layer[i], &fl),
            rank(&sel.cell_types, &n.cell_type[i], &fc),
            i,
        )
    });
    let mut out = rec.clone();
    out.traces = rec.traces.select(Axis(1), &idx);
    out.neurons = n.select(&idx);
    if let Some(gt) = out.ground_truth.as_mut() {
        for r in gt.recorded_index.iter_mut() {
            *r = match idx.iter().position(|&i| i as i64 == *r) {
                Some(p) => p as i64,
                None => -1,
            };
        }
    }
    Ok(out)
}

/// Sign of each neuron of `rec` (every cell type must be in `signs`; see [`select_neurons`]).
pub fn neuron_signs(rec: &Recording, signs: &SignMap) -> Vec<Sign> {
    rec.neurons
        .cell_type
        .iter()
        .map(|t| *signs.get(t).unwrap_or(&Sign::E))
        .collect()
}
