//! Matrices between units and blocks of units: the final weight matrix, block interactions,
//! currents and perturbation effects, all drawn with the one [`HeatMap`].

use crate::report::downsample::{abs_percentile, block_average, factor};
use crate::report::heatmap::{Axis, HeatMap, Tick};
use crate::report::inputs::{Need, RunFiles, Table};
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
    /// Labels of `n` units from `tables/units.parquet`, placed by its `unit` column (row order when
    /// the column is absent); `None` when the table does not describe exactly `n` units.
    pub fn from_table(u: &Table, n: usize) -> Option<UnitLabels> {
        let (area, layer, ct) = (
            u.texts("area").ok()?,
            u.texts("layer").ok()?,
            u.texts("cell_type").ok()?,
        );
        if u.len() != n {
            return None;
        }
        let index: Vec<usize> = match u.f64s("unit") {
            Ok(v) => v.iter().map(|&x| x as usize).collect(),
            Err(_) => (0..n).collect(),
        };
        let mut out = UnitLabels {
            area: vec![String::new(); n],
            layer: vec![String::new(); n],
            cell_type: vec![String::new(); n],
        };
        let mut seen = vec![false; n];
        for (row, &unit) in index.iter().enumerate() {
            if unit >= n || std::mem::replace(&mut seen[unit], true) {
                return None;
            }
            out.area[unit] = area[row].to_string();
            out.layer[unit] = layer[row].to_string();
            out.cell_type[unit] = ct[row].to_string();
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
        .table("units")
        .ok()
        .and_then(|u| UnitLabels::from_table(u, w.nrows()));
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
        bar_label: "weight (clipped at the 99th percentile of |w|)".into(),
        size: (1300, 1200),
        square: true,
        raster: true,
    })
}

/// Mean final weight between blocks at `level` (`area_layer` or `population`).
pub fn interactions(run: &RunFiles, level: &str) -> Need<HeatMap> {
    let t = run.table("interactions")?;
    let (lv, stage) = (t.texts("level")?, t.texts("stage")?);
    let (pre, post, mean_w) = (t.texts("pre")?, t.texts("post")?, t.f64s("mean_w")?);
    let rows: Vec<usize> = (0..t.len())
        .filter(|&i| lv[i] == level && stage[i] == "final")
        .collect();
    if rows.is_empty() {
        return Err(format!(
            "tables/interactions.parquet has no final rows at level {level}"
        ));
    }
    let labels = appearance(rows.iter().flat_map(|&i| [pre[i], post[i]]));
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
        rows.iter().map(|&i| (post[i], pre[i], mean_w[i])),
        "mean weight W[post, pre]",
    ))
}

/// Mean recurrent current from source to target blocks, summed over the source sign.
pub fn currents(run: &RunFiles) -> Need<HeatMap> {
    let t = run.table("currents")?;
    let (lv, split) = (t.texts("level")?, t.texts("split")?);
    let (source, target, current) = (
        t.texts("source")?,
        t.texts("target")?,
        t.f64s("mean_current")?,
    );
    let pick = |level: &str, sp: &str| -> Vec<usize> {
        (0..t.len())
            .filter(|&i| lv[i] == level && split[i] == sp)
            .collect()
    };
    let (level, sp, rows) = ["area_layer", "population"]
        .iter()
        .flat_map(|l| ["validation", "train"].map(|s| (*l, s)))
        .map(|(l, s)| (l, s, pick(l, s)))
        .find(|(_, _, r)| !r.is_empty())
        .ok_or("tables/currents.parquet has no area_layer or population rows")?;
    let labels = appearance(rows.iter().flat_map(|&i| [source[i], target[i]]));
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
        rows.iter().map(|&i| (target[i], source[i], current[i])),
        "mean current (E + I)",
    ))
}

/// Whether the population labelled `label` is among those that `pattern` names (`VISp/*/*`),
/// with the one population matcher of [`crate::connectivity::Pattern`].
pub fn covers(pattern: &str, label: &str) -> bool {
    crate::connectivity::Pattern::parse(pattern).is_some_and(|p| p.matches_label(label))
}

/// Relative change of each target's mean rate when a population or area is silenced.
pub fn perturbations(run: &RunFiles) -> Need<HeatMap> {
    let t = run.table("perturbations")?;
    let (perturbed, kind, target) = (t.texts("perturbed")?, t.texts("kind")?, t.texts("target")?);
    let (magnitude, rel) = (t.f64s("magnitude")?, t.f64s("delta_rel")?);
    let silence: Vec<usize> = (0..t.len()).filter(|&i| kind[i] == "silence").collect();
    let strongest = silence
        .iter()
        .map(|&i| magnitude[i])
        .fold(f64::NEG_INFINITY, f64::max);
    let rows: Vec<usize> = silence
        .into_iter()
        .filter(|&i| magnitude[i] == strongest)
        .collect();
    if rows.is_empty() {
        return Err("tables/perturbations.parquet has no silencing rows".into());
    }
    let row_labels = appearance(rows.iter().map(|&i| perturbed[i]));
    let col_labels = appearance(rows.iter().map(|&i| target[i]));
    // The silenced units themselves (always −100 %) are grey, so they do not set the colour scale.
    let values = grid(
        &row_labels,
        &col_labels,
        rows.iter().map(|&i| {
            let own = covers(perturbed[i], target[i]);
            (perturbed[i], target[i], if own { f64::NAN } else { rel[i] })
        }),
    );
    let limit = max_abs(&values);
    let mut map = HeatMap::grid(
        &format!("Effect of silencing (magnitude {strongest}) on mean rates"),
        Axis::categories("target population", &col_labels),
        Axis::categories("silenced population or area", &row_labels),
        values,
        limit,
        "relative change of mean rate",
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
