//! The vocabulary of populations: one (area, layer, cell type) triple, the `area/layer/cell_type`
//! patterns that configs, masks, perturbations and the report use to name groups of them (`*`
//! matches any value of a field; layers may contain `/`, as in `L2/3`), and the population of
//! every unit of a network.
//!
//! There is one parser and one matcher: `VISp/*/*` matches every population of VISp, `*/L2/3/*`
//! every L2/3 population, and `*/L2/*` matches none of them (`L2` is not `L2/3`).

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
    /// The population a label `area/layer/cell_type` names (layers may contain `/`, as in
    /// `L2/3`: the area is the text before the first `/`, the cell type the text after the last);
    /// `None` when a field is missing.
    pub fn from_label(label: &str) -> Option<Population> {
        let p = Pattern::parse(label)?;
        Some(Population::new(&p.area, &p.layer, &p.cell_type))
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
    pub(super) fn from_fields(area: &str, layer: &str, cell_type: &str) -> Pattern {
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
    /// True when the population labelled `label` (`area/layer/cell_type`) matches this pattern;
    /// false for a label that names no population.
    pub fn matches_label(&self, label: &str) -> bool {
        Population::from_label(label).is_some_and(|p| self.matches(&p))
    }
    /// True when this pattern has `*` in its area field (for within-area table rules).
    pub(super) fn any_area(&self) -> bool {
        self.area == "*"
    }
    pub(super) fn wildcards(&self) -> usize {
        [&self.area, &self.layer, &self.cell_type]
            .iter()
            .filter(|f| f.as_str() == "*")
            .count()
    }
}

/// The population of every unit, in unit order, with the index ranges of each population.
#[derive(Debug, Clone)]
pub struct UnitPopulations {
    /// Population per unit.
    pub units: Vec<Population>,
    /// Distinct populations in order of first appearance.
    pub populations: Vec<Population>,
    /// Units of each population (indices into `units`).
    pub members: Vec<Vec<usize>>,
}

impl UnitPopulations {
    /// Group `units` by population.
    pub fn new(units: Vec<Population>) -> Self {
        let mut populations: Vec<Population> = Vec::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (i, u) in units.iter().enumerate() {
            match populations.iter().position(|p| p == u) {
                Some(k) => members[k].push(i),
                None => {
                    populations.push(u.clone());
                    members.push(vec![i]);
                }
            }
        }
        UnitPopulations {
            units,
            populations,
            members,
        }
    }
    /// Number of units.
    pub fn len(&self) -> usize {
        self.units.len()
    }
    /// True when there are no units.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_fields_and_layers_may_hold_slashes() {
        let sst = Population::new("VISp", "L2/3", "Sst");
        assert_eq!(sst.label(), "VISp/L2/3/Sst");
        assert_eq!(Population::from_label("VISp/L2/3/Sst"), Some(sst.clone()));
        let matches = |p: &str| Pattern::parse(p).expect(p).matches(&sst);
        assert!(matches("VISp/*/*"));
        assert!(matches("*/L2/3/*"));
        assert!(matches("VISp/L2/3/Sst"));
        assert!(!matches("*/L2/*"), "L2 is not L2/3");
        assert!(!matches("VISl/*/*"));
        assert!(!Pattern::parse("*/L2/*")
            .unwrap()
            .matches_label("VISp/L2/3/Sst"));
        for bad in ["VISp", "VISp/L4", "/L4/Sst", "VISp//Sst", "VISp/L4/"] {
            assert!(Pattern::parse(bad).is_none(), "{bad}");
        }
    }
}
