//! Matrices between units and blocks of units: the final weight matrix, block interactions,
//! currents and perturbation effects, all drawn with the one [`HeatMap`].

use crate::report::downsample::{abs_percentile, block_average, factor};
use crate::report::heatmap::{Axis, HeatMap, Tick};
use crate::report::inputs::{Need, RunFiles};
use crate::rundir::paths::table_file;
use crate::rundir::tables::UnitRow;
use ndarray::Array2;
use std::collections::HashMap;

/// Displayed cells per axis at most for the weight matrix (≈ its plotting area in pixels).
pub const MAX_WEIGHT_CELLS: usize = 900;

/// Distinct labels in order of first appearance.
fn appearance<'a>(labels: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    labels
        .into_iter()
        .filter(|l| seen.insert(*l))
        .map(str::to_string)
        .collect()
}

/// A `rows × cols` grid from `(row label, column label, value)` triples; absent cells are NaN and
/// repeated cells are summed.
fn grid<'a>(
    rows: &[String],
    cols: &[String],
    cells: impl Iterator<Item = (&'a str, &'a str, f64)>,
) -> Array2<f32> {
    let ri: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let ci: HashMap<&str, usize> = cols
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let mut g = Array2::from_elem((rows.len(), cols.len()), f32::NAN);
    for (r, c, v) in cells {
        if let (Some(&i), Some(&j)) = (ri.get(r), ci.get(c)) {
            let cell = &mut g[(i, j)];
            *cell = if cell.is_nan() {
                v as f32
            } else {
                *cell + v as f32
            };
        }
    }
    g
}

/// The largest finite |value| (1 when there is none, so the colour map stays defined).
fn max_abs(values: &Array2<f32>) -> f64 {
    let m = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |a, &v| a.max(f64::from(v).abs()));
    if m > 0.0 {
        m
    } else {
        1.0
    }
}

/// A square heat map of block values: `cells` are `(post, pre, value)` (target, source), rows
/// and columns follow `labels` (absent blocks grey), the colour scale symmetric about 0 at the
/// largest |value|.
pub fn block_map<'a>(
    title: &str,
    x_title: &str,
    y_title: &str,
    labels: &[String],
    cells: impl Iterator<Item = (&'a str, &'a str, f64)>,
    bar_label: &str,
) -> HeatMap {
    let values = grid(labels, labels, cells);
    let limit = max_abs(&values);
    let mut map = HeatMap::grid(
        title,
        Axis::categories(x_title, labels),
        Axis::categories(y_title, labels),
        values,
        limit,
        bar_label,
    );
    map.square = true;
    map
}

/// Area, layer and cell type of each unit, in the row order of `w_rec`.
#[derive(Debug, Clone, Default)]
pub struct UnitLabels {
    /// Area per unit.
    pub area: Vec<String>,
    /// Layer per unit.
    pub layer: Vec<String>,
    /// Cell type per unit.
    pub cell_type: Vec<String>,
}

impl UnitLabels {
    /// Labels of `n` units from the rows of `tables/units.parquet`, placed by their `unit`; `None`
    /// when the rows do not describe each of the `n` units exactly once.
    pub fn from_rows(units: &[UnitRow], n: usize) -> Option<UnitLabels> {
        if units.len() != n {
            return None;
        }
        let mut out = UnitLabels {
            area: vec![String::new(); n],
            layer: vec![String::new(); n],
            cell_type: vec![String::new(); n],
        };
        let mut seen = vec![false; n];
        for u in units {
            let unit = u.unit as usize;
            if unit >= n || std::mem::replace(&mut seen[unit], true) {
                return None;
            }
            out.area[unit] = u.area.clone();
            out.layer[unit] = u.layer.clone();
            out.cell_type[unit] = u.cell_type.clone();
        }
        Some(out)
    }

    /// Unit order area → layer → cell type (each in order of first appearance), stable within a
    /// population.
    pub fn order(&self) -> Vec<usize> {
        let rank = |v: &[String]| {
            let order = appearance(v.iter().map(String::as_str));
            let pos: HashMap<&str, usize> = order
                .iter()
                .enumerate()
                .map(|(i, l)| (l.as_str(), i))
                .collect();
            v.iter().map(|l| pos[l.as_str()]).collect::<Vec<_>>()
        };
        let (a, l, c) = (rank(&self.area), rank(&self.layer), rank(&self.cell_type));
        let mut order: Vec<usize> = (0..self.area.len()).collect();
        order.sort_by_key(|&u| (a[u], l[u], c[u]));
        order
    }

    /// Ticks and boundaries for units in `order`: a tick per population (layer + cell type), a
    /// group label per area, thin lines between populations and thick lines between areas.
    pub fn axis(&self, title: &str, order: &[usize]) -> Axis {
        let mut axis = Axis {
            title: title.to_string(),
            ..Axis::default()
        };
        let key = |u: usize| (&self.area[u], &self.layer[u], &self.cell_type[u]);
        let (mut start, mut area_start) = (0, 0);
        for k in 1..=order.len() {
            let end = k == order.len();
            if end || key(order[k]) != key(order[k - 1]) {
                let u = order[k - 1];
                let label = format!("{} {}", self.layer[u], self.cell_type[u])
                    .trim()
                    .to_string();
                axis.ticks.push(Tick {
                    at: (start + k) as f64 / 2.0,
                    label: if label.is_empty() {
                        "hidden".into()
                    } else {
                        label
                    },
                });
                start = k;
                if !end {
                    axis.minor.push(k as f64);
                }
            }
            if end || self.area[order[k]] != self.area[order[k - 1]] {
                axis.groups.push(Tick {
                    at: (area_start + k) as f64 / 2.0,
                    label: self.area[order[k - 1]].clone(),
                });
                area_start = k;
                if !end {
                    axis.major.push(k as f64);
                }
            }
        }
        axis
    }
}

/// The final weight matrix `W[post, pre]`, ordered area → layer → cell type, block-averaged to at
/// most [`MAX_WEIGHT_CELLS`] cells a side.
pub fn weights(run: &RunFiles) -> Need<HeatMap> {
    let w = run.final_weights()?;
    let labels = run
        .units()
        .ok()
        .and_then(|u| UnitLabels::from_rows(u, w.nrows()));
    weights_map(&w, labels.as_ref())
}

/// The weight heat map of `w`, with unit labels when known.
pub fn weights_map(w: &Array2<f32>, labels: Option<&UnitLabels>) -> Need<HeatMap> {
    let n = w.nrows();
    if n == 0 || w.ncols() != n {
        return Err(format!(
            "w_rec has shape {:?}, expected a square matrix",
            w.dim()
        ));
    }
    let (x_title, y_title) = (
        "presynaptic unit (sender, column)",
        "postsynaptic unit (receiver, row)",
    );
    let (order, x, y) = match labels {
        Some(l) => {
            let order = l.order();
            let (x, y) = (l.axis(x_title, &order), l.axis(y_title, &order));
            (order, x, y)
        }
        None => {
            let axis = |t: &str| Axis {
                title: t.into(),
                ..Axis::default()
            };
            ((0..n).collect(), axis(x_title), axis(y_title))
        }
    };
    let f = factor(n, MAX_WEIGHT_CELLS);
    let values = if order.iter().enumerate().all(|(i, &u)| i == u) {
        block_average(w, f)
    } else {
        block_average(
            &Array2::from_shape_fn((n, n), |(i, j)| w[(order[i], order[j])]),
            f,
        )
    };
    let mut limit = abs_percentile(values.iter().map(|&v| f64::from(v)), 99.0);
    if limit <= 0.0 {
        limit = max_abs(&values);
    }
    let what = if f > 1 {
        format!(" ({f}×{f} block means)")
    } else {
        String::new()
    };
    Ok(HeatMap {
        title: format!("Final recurrent weights W[post, pre], {n} units{what}"),
        x,
        y,
        values,
        factor: f,
        units: (n, n),
        limit,
        centre: 0.0,
        bar_label: "weight (clipped at the 99th percentile of |w|)".into(),
        size: (1300, 1200),
        square: true,
        raster: true,
    })
}

/// Mean final weight between blocks at `level` (`area_layer` or `population`).
pub fn interactions(run: &RunFiles, level: &str) -> Need<HeatMap> {
    let rows: Vec<_> = run
        .interactions()?
        .iter()
        .filter(|r| r.level == level && r.stage == "final")
        .collect();
    if rows.is_empty() {
        return Err(format!(
            "{} has no final rows at level {level}",
            table_file("interactions")
        ));
    }
    let labels = appearance(rows.iter().flat_map(|r| [r.pre.as_str(), r.post.as_str()]));
    let name = if level == "area_layer" {
        "area/layer"
    } else {
        "population"
    };
    Ok(block_map(
        &format!("Mean final weight between {name} blocks"),
        &format!("presynaptic {name} (sender)"),
        &format!("postsynaptic {name} (receiver)"),
        &labels,
        rows.iter()
            .map(|r| (r.post.as_str(), r.pre.as_str(), r.mean_w)),
        "mean weight W[post, pre]",
    ))
}

/// The signed mean weight of the blocks at `level` that the self-check found identifiable; every
/// other block (absent from the fit, or not recovered from recordings simulated from it) is grey.
pub fn determined(run: &RunFiles, level: &str) -> Need<HeatMap> {
    let rows: Vec<_> = run
        .ensemble()?
        .iter()
        .filter(|r| r.level == level && r.metric == "mean_w")
        .collect();
    if rows.iter().all(|r| r.identifiable.is_none()) {
        return Err(format!(
            "{} has no self-check flags at level {level}: set ensemble.selfcheck (or run fitrnn selfcheck)",
            table_file("interactions_ensemble")
        ));
    }
    let labels = appearance(rows.iter().flat_map(|r| [r.pre.as_str(), r.post.as_str()]));
    let name = if level == "area_layer" {
        "area/layer"
    } else {
        "population"
    };
    Ok(block_map(
        &format!("What the data determine: mean weight between {name} blocks"),
        &format!("presynaptic {name} (sender)"),
        &format!("postsynaptic {name} (receiver)"),
        &labels,
        rows.iter().map(|r| {
            let shown = if r.identifiable == Some(true) {
                r.estimate
            } else {
                f64::NAN
            };
            (r.post.as_str(), r.pre.as_str(), shown)
        }),
        "mean weight W[post, pre] (grey: absent or not determined)",
    ))
}

/// Mean recurrent current from source to target blocks, summed over the source sign; a block the
/// self-check did not recover is grey.
pub fn currents(run: &RunFiles) -> Need<HeatMap> {
    let all = run.currents()?;
    let pick = |level: &str, sp: &str| -> Vec<_> {
        all.iter()
            .filter(|r| r.level == level && r.split == sp)
            .collect()
    };
    let (level, sp, rows) = ["area_layer", "population"]
        .iter()
        .flat_map(|l| ["validation", "train"].map(|s| (*l, s)))
        .map(|(l, s)| (l, s, pick(l, s)))
        .find(|(_, _, r)| !r.is_empty())
        .ok_or_else(|| {
            format!(
                "{} has no area_layer or population rows",
                table_file("currents")
            )
        })?;
    let labels = appearance(
        rows.iter()
            .flat_map(|r| [r.source.as_str(), r.target.as_str()]),
    );
    let name = if level == "area_layer" {
        "area/layer"
    } else {
        "population"
    };
    Ok(block_map(
        &format!("Mean recurrent current between {name} blocks ({sp})"),
        &format!("source {name}"),
        &format!("target {name}"),
        &labels,
        rows.iter().map(|r| {
            let shown = if r.identifiable == Some(false) {
                f64::NAN
            } else {
                r.mean_current
            };
            (r.target.as_str(), r.source.as_str(), shown)
        }),
        if rows.iter().any(|r| r.identifiable.is_some()) {
            "mean current (E + I; grey: absent or not determined)"
        } else {
            "mean current (E + I)"
        },
    ))
}

/// Whether the population labelled `label` is among those that `pattern` names (`VISp/*/*`),
/// with the one population matcher of [`crate::connectivity::Pattern`].
pub fn covers(pattern: &str, label: &str) -> bool {
    crate::connectivity::Pattern::parse(pattern).is_some_and(|p| p.matches_label(label))
}

/// Relative change of each target's mean rate when a population or area is silenced; with an
/// ensemble, an effect whose interval holds 0 or that the self-check's refits did not reproduce
/// is grey.
pub fn perturbations(run: &RunFiles) -> Need<HeatMap> {
    let silence: Vec<_> = run
        .perturbations()?
        .iter()
        .filter(|r| r.kind == "silence")
        .collect();
    let strongest = silence
        .iter()
        .map(|r| r.magnitude)
        .fold(f64::NEG_INFINITY, f64::max);
    let rows: Vec<_> = silence
        .into_iter()
        .filter(|r| r.magnitude == strongest)
        .collect();
    if rows.is_empty() {
        return Err(format!(
            "{} has no silencing rows",
            table_file("perturbations")
        ));
    }
    let row_labels = appearance(rows.iter().map(|r| r.perturbed.as_str()));
    let col_labels = appearance(rows.iter().map(|r| r.target.as_str()));
    // The silenced units themselves (always −100 %) are grey, so they do not set the colour scale.
    let values = grid(
        &row_labels,
        &col_labels,
        rows.iter().map(|r| {
            let own = covers(&r.perturbed, &r.target);
            let undetermined = r.sign_determined == Some(false) || r.identifiable == Some(false);
            let value = if own || undetermined {
                f64::NAN
            } else {
                r.delta_rel
            };
            (r.perturbed.as_str(), r.target.as_str(), value)
        }),
    );
    let limit = max_abs(&values);
    let mut map = HeatMap::grid(
        &format!("Effect of silencing (magnitude {strongest}) on mean rates"),
        Axis::categories("target population", &col_labels),
        Axis::categories("silenced population or area", &row_labels),
        values,
        limit,
        if rows.iter().any(|r| r.sign_determined.is_some()) {
            "relative change of mean rate (grey: silenced, or not determined)"
        } else {
            "relative change of mean rate"
        },
    );
    map.size = (1200, 1050);
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_sort_by_area_then_layer_then_cell_type() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let labels = UnitLabels {
            area: v(&["VISp", "VISl", "VISp", "VISp", "VISl"]),
            layer: v(&["L4", "L4", "L2/3", "L4", "L2/3"]),
            cell_type: v(&["Pvalb", "Slc17a7", "Slc17a7", "Slc17a7", "Pvalb"]),
        };
        // Appearance order: areas VISp, VISl; layers L4, L2/3; types Pvalb, Slc17a7.
        let order = labels.order();
        assert_eq!(order, vec![0, 3, 2, 1, 4]);
        let axis = labels.axis("x", &order);
        assert_eq!(axis.minor, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(axis.major, vec![3.0]);
        assert_eq!(
            axis.groups
                .iter()
                .map(|g| g.label.as_str())
                .collect::<Vec<_>>(),
            ["VISp", "VISl"]
        );
        assert_eq!(axis.groups[0].at, 1.5);
        assert_eq!(axis.ticks[0].label, "L4 Pvalb");
    }

    #[test]
    fn the_weight_map_reorders_units_and_averages_blocks() {
        // Two areas interleaved: units 0, 2 in A and 1, 3 in B; W[post, pre] = 10 * post + pre.
        let w = Array2::from_shape_fn((4, 4), |(i, j)| (10 * i + j) as f32);
        let s = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let labels = UnitLabels {
            area: s(&["A", "B", "A", "B"]),
            layer: s(&["L4"; 4]),
            cell_type: s(&["E"; 4]),
        };
        let map = weights_map(&w, Some(&labels)).unwrap();
        // Rows and columns both in order 0, 2, 1, 3.
        assert_eq!(map.values[(0, 1)], 2.0);
        assert_eq!(map.values[(1, 0)], 20.0);
        assert_eq!(map.values[(2, 3)], 13.0);
        assert_eq!(map.y.major, vec![2.0]);
        assert_eq!(map.factor, 1);
        // A large matrix is block-averaged under the display cap.
        let big = Array2::<f32>::ones((2 * MAX_WEIGHT_CELLS + 1, 2 * MAX_WEIGHT_CELLS + 1));
        let map = weights_map(&big, None).unwrap();
        assert_eq!(map.factor, 3);
        assert!(map.values.nrows() <= MAX_WEIGHT_CELLS);
        assert!(map.values.iter().all(|&v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    fn grids_place_and_sum_cells() {
        let rows = vec!["a".to_string(), "b".to_string()];
        let cols = vec!["x".to_string()];
        let g = grid(
            &rows,
            &cols,
            [("b", "x", 1.0), ("b", "x", 2.0), ("c", "x", 9.0)].into_iter(),
        );
        assert!(g[(0, 0)].is_nan());
        assert_eq!(g[(1, 0)], 3.0);
    }

    #[test]
    fn glob_matches_areas_and_layers_with_slashes() {
        assert!(covers("VISp/*/*", "VISp/L2/3/Slc17a7"));
        assert!(!covers("VISp/*/*", "VISl/L2/3/Slc17a7"));
        assert!(covers("VISp/L4/Sst", "VISp/L4/Sst"));
        assert!(!covers("VISp/L4/Sst", "VISp/L4/Vip"));
        assert!(covers("*/L5/*", "VISl/L5/Pvalb"));
        // One matcher everywhere: `L2` is not `L2/3` here either, as in masks and perturbations.
        assert!(!covers("*/L2/*", "VISp/L2/3/Sst"));
    }
}
