//! Connectivity priors: the population vocabulary (populations, patterns, the population of every
//! unit) and connection-probability tables between populations.

mod population;
mod table;

pub use population::{Pattern, Population, UnitPopulations};
pub use table::{Pathway, ProbabilityTable};
