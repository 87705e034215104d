//! Study files as users write them (strict: unknown fields are errors).

use serde::Deserialize;

use crate::yaml::{OrderedMap, Spanned};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    pub name: Spanned<String>,
    /// Scenario files (the faults), relative to the study file.
    pub scenarios: Vec<Spanned<String>>,
    /// The stacks compared (default: keepalived and pacemaker).
    #[serde(default)]
    pub stacks: Vec<Spanned<String>>,
    /// Runs of every cell (default 5): one block holds one run of each cell.
    #[serde(default)]
    pub repeats: Option<Spanned<u32>>,
    /// The seed of the order and of every ranged wait (default 1).
    #[serde(default)]
    pub seed: Option<Spanned<u64>>,
    /// A shift smaller than this is negligible, however clear (default 10ms).
    #[serde(default)]
    pub negligible: Option<Spanned<String>>,
    /// Topology path -> the values it takes, e.g. `cluster.keepalived.advert_int: [1s, 500ms]`.
    #[serde(default)]
    pub sweep: OrderedMap<Vec<Spanned<serde_json::Value>>>,
    /// `cross` (default: every combination) or `zip` (the i-th value of every axis together).
    #[serde(default)]
    pub combine: Option<Spanned<String>>,
}
