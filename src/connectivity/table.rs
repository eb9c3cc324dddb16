//! Connection-probability tables between populations (area, layer, cell type).
//!
//! Two formats are read:
//! - **tidy** (fitrnn's own): `pre_area,pre_layer,pre_type,post_area,post_layer,post_type,probability`
//!   (extra columns such as `source` are ignored). `*` matches any value; when several rows match a
//!   pair, the most specific one (fewest `*`) wins, and among equals the first row. A row whose two
//!   areas are both `*` describes connections **within** one area (the same numbers in every area);
//!   connections between areas need explicit areas or the config's `inter_area` pathways.
//! - **Balwani et al. 2025** (`connection-probability,pre-layer,post-layer,pre-cell-type,post-cell-type`),
//!   within-area, with cell types `Pyr`, `SST`, `ViP` read as `Slc17a7`, `Sst`, `Vip`.

use super::{Pattern, Population};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
struct Rule {
    pre: Pattern,
    post: Pattern,
    probability: f64,
}

/// One inter-area pathway of a config: populations matched by `area/layer/cell_type` patterns
/// (`*` = any), e.g. `{pre: VISp/L2/3/Slc17a7, post: VISl/L4/*, probability: 0.3}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pathway {
    /// Presynaptic population pattern, e.g. `VISp/L2/3/Slc17a7`.
    pub pre: String,
    /// Postsynaptic population pattern, e.g. `VISl/L4/*`.
    pub post: String,
    /// Connection probability in [0, 1].
    pub probability: f64,
}

/// Connection probabilities between populations, from a table file plus inter-area pathways.
#[derive(Debug, Clone)]
pub struct ProbabilityTable {
    /// Where the table came from.
    pub path: PathBuf,
    rules: Vec<Rule>,
    pathways: Vec<(Pattern, Pattern, f64)>,
}

impl ProbabilityTable {
    /// Read a tidy or Balwani-format CSV (detected from its header).
    pub fn read(path: &Path) -> Result<ProbabilityTable> {
        crate::error::require_regular_file(path, "the connectivity table")?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(path, "reading the connectivity table", e))?;
        Self::parse(path, &text)
    }

    /// Parse table text; `path` is used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<ProbabilityTable> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let Some((_, header)) = lines.next() else {
            return Err(Error::data(
                path,
                "line 1",
                "the table is empty",
                "write a header row and one row per population pair",
            ));
        };
        let cols: Vec<String> = header.split(',').map(|c| c.trim().to_string()).collect();
        let find = |name: &str| cols.iter().position(|c| c == name);
        let tidy = [
            "pre_area",
            "pre_layer",
            "pre_type",
            "post_area",
            "post_layer",
            "post_type",
            "probability",
        ];
        let balwani = [
            "connection-probability",
            "pre-layer",
            "post-layer",
            "pre-cell-type",
            "post-cell-type",
        ];
        let (idx, is_tidy): (Vec<usize>, bool) =
            if let Some(ix) = tidy.iter().map(|c| find(c)).collect::<Option<Vec<_>>>() {
                (ix, true)
            } else if let Some(ix) = balwani.iter().map(|c| find(c)).collect::<Option<Vec<_>>>() {
                (ix, false)
            } else {
                return Err(Error::data(
                    path,
                    "line 1 (header)",
                    format!("unrecognised columns {cols:?}"),
                    format!(
                        "use the tidy header `{}` or Balwani et al.'s `{}`",
                        tidy.join(","),
                        balwani.join(",")
                    ),
                ));
            };
        let mut rules = Vec::new();
        for (ln, line) in lines {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let get = |k: usize| -> Result<&str> {
                f.get(idx[k]).copied().ok_or_else(|| {
                    Error::data(
                        path,
                        format!("line {}", ln + 1),
                        format!("expected {} columns, found {}", cols.len(), f.len()),
                        "fill every column",
                    )
                })
            };
            let (prob_s, pre, post) = if is_tidy {
                (
                    get(6)?,
                    Pattern::from_fields(get(0)?, get(1)?, get(2)?),
                    Pattern::from_fields(get(3)?, get(4)?, get(5)?),
                )
            } else {
                let ty = |t: &str| match t {
                    "Pyr" => "Slc17a7".to_string(),
                    "SST" => "Sst".to_string(),
                    "ViP" | "VIP" => "Vip".to_string(),
                    "PV" => "Pvalb".to_string(),
                    other => other.to_string(),
                };
                (
                    get(0)?,
                    Pattern::from_fields("*", get(1)?, &ty(get(3)?)),
                    Pattern::from_fields("*", get(2)?, &ty(get(4)?)),
                )
            };
            let probability: f64 = prob_s.parse().map_err(|_| {
                Error::data(
                    path,
                    format!("line {}", ln + 1),
                    format!("probability `{prob_s}` is not a number"),
                    "write a number between 0 and 1",
                )
            })?;
            if !(0.0..=1.0).contains(&probability) {
                return Err(Error::data(
                    path,
                    format!("line {}", ln + 1),
                    format!("probability {probability} is outside [0, 1]"),
                    "write a number between 0 and 1",
                ));
            }
            rules.push(Rule {
                pre,
                post,
                probability,
            });
        }
        Ok(ProbabilityTable {
            path: path.to_path_buf(),
            rules,
            pathways: vec![],
        })
    }

    /// Add inter-area pathways (from a config); they apply only between different areas and take
    /// precedence over the table there (the last matching pathway wins).
    pub fn with_pathways(mut self, pathways: &[Pathway]) -> Result<Self> {
        for p in pathways {
            let parse = |s: &str| {
                Pattern::parse(s).ok_or_else(|| {
                    Error::data(
                        &self.path,
                        "inter_area",
                        format!("`{s}` is not an area/layer/cell_type pattern"),
                        "write e.g. VISp/L2/3/Slc17a7 or VISl/L4/*",
                    )
                })
            };
            let (pre, post) = (parse(&p.pre)?, parse(&p.post)?);
            self.pathways.push((pre, post, p.probability));
        }
        Ok(self)
    }

    /// Probability of a connection from `pre` to `post` (0 when nothing matches).
    pub fn probability(&self, pre: &Population, post: &Population) -> f64 {
        if pre.area != post.area {
            if let Some(p) = self
                .pathways
                .iter()
                .rev()
                .find(|(a, b, _)| a.matches(pre) && b.matches(post))
            {
                return p.2;
            }
        }
        let within_only = |r: &Rule| r.pre.any_area() && r.post.any_area();
        self.rules
            .iter()
            .filter(|r| r.pre.matches(pre) && r.post.matches(post))
            .filter(|r| pre.area == post.area || !within_only(r))
            .min_by_key(|r| r.pre.wildcards() + r.post.wildcards())
            .map(|r| r.probability)
            .unwrap_or(0.0)
    }

    /// Populations named in the table that match no rule as presynaptic or postsynaptic partner:
    /// used to warn that a population will be disconnected.
    pub fn has_rules_for(&self, p: &Population) -> bool {
        self.rules
            .iter()
            .any(|r| r.pre.matches(p) || r.post.matches(p))
    }
}
