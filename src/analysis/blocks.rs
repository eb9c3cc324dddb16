//! Block interactions (Balwani et al. 2025's read-out): statistics of `W[post, pre]` over every
//! (pre block, post block) pair at three levels: population (`VISp/L2/3/Sst`), area-layer
//! (`VISp/L2/3`) and area (`VISp`).

use crate::connectivity::Population;
use ndarray::Array2;

/// Grouping level of units into blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// (area, layer, cell type).
    Population,
    /// (area, layer).
    AreaLayer,
    /// area.
    Area,
}

impl Level {
    /// The level's name in tables: `population`, `area_layer`, `area`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Population => "population",
            Level::AreaLayer => "area_layer",
            Level::Area => "area",
        }
    }
    /// Parse a config name.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "population" => Some(Level::Population),
            "area_layer" => Some(Level::AreaLayer),
            "area" => Some(Level::Area),
            _ => None,
        }
    }
    /// Block label of a unit at this level.
    pub fn label(self, p: &Population) -> String {
        match self {
            Level::Population => p.label(),
            Level::AreaLayer => format!("{}/{}", p.area, p.layer),
            Level::Area => p.area.clone(),
        }
    }
}

/// One (pre, post) block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    /// Presynaptic block label.
    pub pre: String,
    /// Postsynaptic block label.
    pub post: String,
    /// Units in the pre block.
    pub n_pre: usize,
    /// Units in the post block.
    pub n_post: usize,
    /// Entries of the block (`n_pre · n_post`).
    pub n_possible: usize,
    /// Nonzero entries.
    pub n_nonzero: usize,
    /// `n_nonzero / n_possible`.
    pub density: f64,
    /// Mean of W over the block (zeros included).
    pub mean_w: f64,
    /// Mean of |W| over the block (zeros included).
    pub mean_abs_w: f64,
    /// Sum of W over the block.
    pub sum_w: f64,
}

/// Block labels in order of first appearance and each unit's block index.
pub fn blocks_of(units: &[Population], level: Level) -> (Vec<String>, Vec<usize>) {
    let mut labels: Vec<String> = Vec::new();
    let idx = units
        .iter()
        .map(|u| {
            let l = level.label(u);
            match labels.iter().position(|x| *x == l) {
                Some(k) => k,
                None => {
                    labels.push(l);
                    labels.len() - 1
                }
            }
        })
        .collect();
    (labels, idx)
}

/// Statistics of `w` (`W[post, pre]`, `[n, n]`) for every (pre, post) block at `level`, rows in
/// (pre, post) label order of first appearance.
pub fn block_interactions(units: &[Population], w: &Array2<f32>, level: Level) -> Vec<BlockRow> {
    let (labels, idx) = blocks_of(units, level);
    let k = labels.len();
    let mut size = vec![0usize; k];
    for &b in &idx {
        size[b] += 1;
    }
    let (mut nnz, mut sum, mut sum_abs) =
        (vec![0usize; k * k], vec![0f64; k * k], vec![0f64; k * k]);
    for ((i, j), &v) in w.indexed_iter() {
        let cell = idx[j] * k + idx[i];
        sum[cell] += v as f64;
        sum_abs[cell] += v.abs() as f64;
        nnz[cell] += (v != 0.0) as usize;
    }
    let mut rows = Vec::with_capacity(k * k);
    for pre in 0..k {
        for post in 0..k {
            let cell = pre * k + post;
            let n_possible = size[pre] * size[post];
            rows.push(BlockRow {
                pre: labels[pre].clone(),
                post: labels[post].clone(),
                n_pre: size[pre],
                n_post: size[post],
                n_possible,
                n_nonzero: nnz[cell],
                density: nnz[cell] as f64 / n_possible as f64,
                mean_w: sum[cell] / n_possible as f64,
                mean_abs_w: sum_abs[cell] / n_possible as f64,
                sum_w: sum[cell],
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_post_pre_indexing() {
        // Units 0, 1 in VISp/L2/3/Slc17a7 (E), unit 2 in VISp/L2/3/Sst (I).
        let units = vec![
            Population::new("VISp", "L2/3", "Slc17a7"),
            Population::new("VISp", "L2/3", "Slc17a7"),
            Population::new("VISp", "L2/3", "Sst"),
        ];
        // W[post, pre]: column 2 (the Sst unit) projects −1 onto units 0 and 1.
        let w = ndarray::array![[0.0f32, 0.5, -1.0], [0.25, 0.0, -1.0], [0.1, 0.0, 0.0]];
        let rows = block_interactions(&units, &w, Level::Population);
        let sst_to_e = rows
            .iter()
            .find(|r| r.pre.ends_with("Sst") && r.post.ends_with("Slc17a7"))
            .unwrap();
        assert_eq!(
            (sst_to_e.n_pre, sst_to_e.n_post, sst_to_e.n_nonzero),
            (1, 2, 2)
        );
        assert_eq!(sst_to_e.sum_w, -2.0);
        let e_to_sst = rows
            .iter()
            .find(|r| r.pre.ends_with("Slc17a7") && r.post.ends_with("Sst"))
            .unwrap();
        assert!((e_to_sst.mean_w - 0.05).abs() < 1e-7);
        let area = block_interactions(&units, &w, Level::Area);
        assert_eq!(area.len(), 1);
        assert!((area[0].sum_w - (0.5 - 1.0 + 0.25 - 1.0 + 0.1)).abs() < 1e-6);
    }
}
