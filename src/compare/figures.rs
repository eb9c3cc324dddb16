//! Heat maps of condition contrasts: per pair of groups and level, the difference of `mean_abs_w`
//! (later − earlier group) for every (pre, post) block, and the same map with only the blocks
//! whose FDR-adjusted p is below 0.05 coloured.

use super::contrasts::ContrastRow;
use crate::error::Result;
use crate::report::figures::blocks::block_map;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn pos(labels: &[String], l: &str) -> usize {
    labels.iter().position(|x| x == l).expect("label listed")
}

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
                        && r.quantity == "mean_abs_w"
                        && r.level == level
                })
                .collect();
            if sel.is_empty() {
                continue;
            }
            let mut labels: Vec<String> = order.get(level).cloned().unwrap_or_default();
            for r in &sel {
                for l in [&r.pre, &r.post] {
                    if !labels.contains(l) {
                        labels.push(l.clone());
                    }
                }
            }
            let name = level.replace('_', "/");
            let diff = block_map(
                &format!("{b} − {a}: mean |w| between {name} blocks"),
                &format!("presynaptic {name} (sender)"),
                &format!("postsynaptic {name} (receiver)"),
                &labels,
                sel.iter()
                    .map(|r| (r.post.as_str(), r.pre.as_str(), r.difference)),
                "difference of mean |W[post, pre]|",
            );
            // The same blocks on the same colour scale, those not surviving the FDR grey.
            let significant: Vec<&&ContrastRow> = sel.iter().filter(|r| r.p_fdr < 0.05).collect();
            let mut sig = diff.clone();
            sig.title = format!(
                "{b} − {a}: mean |w|, {} blocks with FDR-adjusted p < 0.05 (others grey)",
                significant.len()
            );
            sig.values.fill(f32::NAN);
            for r in &significant {
                let (i, j) = (pos(&labels, &r.post), pos(&labels, &r.pre));
                sig.values[[i, j]] = r.difference as f32;
            }
            for (suffix, map) in [("difference", diff), ("significant", sig)] {
                let bytes = crate::report::render::png(&map, "contrast heat map")?;
                let path = dir.join(format!(
                    "contrast_{}_vs_{}_{level}_{suffix}.png",
                    file_part(b),
                    file_part(a)
                ));
                crate::atomic::write_bytes(&path, &bytes)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}
