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

use crate::config::Pathway;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A population: one (area, layer, cell type) triple.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Population {
    /// Area, e.g. `VISp`.
    pub area: String,
    /// Layer, e.g. `L2/3`.
    pub layer: String,
    /// Cell type, e.g. `Sst`.
    pub cell_type: String,
}

impl Population {
    /// A population from its three fields.
    pub fn new(area: &str, layer: &str, cell_type: &str) -> Self {
        Population {
            area: area.into(),
            layer: layer.into(),
            cell_type: cell_type.into(),
        }
    }
    /// `area/layer/cell_type`, e.g. `VISp/L2/3/Sst`.
    pub fn label(&self) -> String {
        crate::data::population_label(&self.area, &self.layer, &self.cell_type)
    }
}

/// A population pattern, `*` matching anything in a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    area: String,
    layer: String,
    cell_type: String,
}

impl Pattern {
    /// Parse `area/layer/cell_type` (layers may contain `/`, as in `L2/3`): the area is the text
    /// before the first `/`, the cell type the text after the last.
    pub fn parse(s: &str) -> Option<Pattern> {
        let (area, rest) = s.split_once('/')?;
        let (layer, cell_type) = rest.rsplit_once('/')?;
        if area.is_empty() || layer.is_empty() || cell_type.is_empty() {
            return None;
        }
        Some(Pattern {
            area: area.trim().into(),
            layer: layer.trim().into(),
            cell_type: cell_type.trim().into(),
        })
    }
    fn from_fields(area: &str, layer: &str, cell_type: &str) -> Pattern {
        Pattern {
            area: area.trim().into(),
            layer: layer.trim().into(),
            cell_type: cell_type.trim().into(),
        }
    }
    /// True when `p` matches this pattern.
    pub fn matches(&self, p: &Population) -> bool {
        let m = |pat: &str, v: &str| pat == "*" || pat == v;
        m(&self.area, &p.area) && m(&self.layer, &p.layer) && m(&self.cell_type, &p.cell_type)
    }
    fn wildcards(&self) -> usize {
        [&self.area, &self.layer, &self.cell_type]
            .iter()
            .filter(|f| f.as_str() == "*")
            .count()
    }
}

#[derive(Debug, Clone)]
struct Rule {
    pre: Pattern,
    post: Pattern,
    probability: f64,
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
        let within_only = |r: &Rule| r.pre.area == "*" && r.post.area == "*";
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
