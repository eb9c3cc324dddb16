//! Heat maps of condition contrasts: per pair of groups and level, the difference of `mean_abs_w`
//! (later − earlier group) for every (pre, post) block, and the same map with only the blocks
//! whose FDR-adjusted p is below 0.05 coloured.

use super::ContrastRow;
use crate::error::Result;
use crate::report::heatmap::{Axis, HeatMap};
use ndarray::Array2;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Write the heat maps into `dir`, blocks in the unit order of `order` (labels per level);
/// returns the files written.
pub fn write_heat_maps(
    dir: &Path,
    rows: &[ContrastRow],
    order: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<PathBuf>> {
    crate::report::render::register_font()?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for r in rows {
        let p = (r.group_a.clone(), r.group_b.clone());
        if !pairs.contains(&p) {
            pairs.push(p);
        }
    }
    let mut written = Vec::new();
    for (a, b) in &pairs {
        for level in ["area_layer", "population", "area"] {
            let sel: Vec<&ContrastRow> = rows
                .iter()
                .filter(|r| {
                    &r.group_a == a
                        && &r.group_b == b
                        && r.key.0 == "mean_abs_w"
                        && r.key.1 == level
                })
                .collect();
            if sel.is_empty() {
                continue;
            }
            let mut labels: Vec<String> = order.get(level).cloned().unwrap_or_default();
            for r in &sel {
                for l in [&r.key.2, &r.key.3] {
                    if !labels.contains(l) {
                        labels.push(l.clone());
                    }
                }
            }
            let k = labels.len();
            let pos = |l: &str| labels.iter().position(|x| x == l).expect("label listed");
            let mut diff = Array2::<f32>::from_elem((k, k), f32::NAN);
            let mut sig = Array2::<f32>::from_elem((k, k), f32::NAN);
            let mut n_sig = 0;
            for r in &sel {
                let (i, j) = (pos(&r.key.3), pos(&r.key.2));
                diff[[i, j]] = r.c.difference as f32;
                if r.p_fdr < 0.05 {
                    sig[[i, j]] = r.c.difference as f32;
                    n_sig += 1;
                }
            }
            let limit = diff
                .iter()
                .filter(|v| v.is_finite())
                .fold(0f32, |m, v| m.max(v.abs()))
                .max(f32::MIN_POSITIVE) as f64;
            let name = level.replace('_', "/");
            for (suffix, values, title) in [
                (
                    "difference",
                    diff.clone(),
                    format!("{b} − {a}: mean |w| between {name} blocks"),
                ),
                (
                    "significant",
                    sig,
                    format!("{b} − {a}: mean |w|, {n_sig} blocks with FDR-adjusted p < 0.05 (others grey)"),
                ),
            ] {
                let mut map = HeatMap::grid(
                    &title,
                    Axis::categories(&format!("presynaptic {name} (sender)"), &labels),
                    Axis::categories(&format!("postsynaptic {name} (receiver)"), &labels),
                    values,
                    limit,
                    "difference of mean |W[post, pre]|",
                );
                map.square = true;
                let bytes = crate::report::render::png(&map, "contrast heat map")?;
                let path = dir.join(format!(
                    "contrast_{}_vs_{}_{level}_{suffix}.png",
                    file_part(b),
                    file_part(a)
                ));
                crate::rundir::write_atomic(&path, &bytes)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}
