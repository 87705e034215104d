//! Studies: one file names the faults (scenarios), the stacks, the repeats, a seed and the
//! settings to sweep; `halab study` runs every cell of it in one bench, interleaved in seeded
//! blocks (`order`), several labs at once (`execute`), and reports the cells side by side.

pub mod execute;
pub mod model;
pub mod order;
pub mod patch;
pub mod validate;

use std::path::PathBuf;

use crate::scenario::Scenario;
use crate::topology::{Plan, Stack};

pub use validate::load;

/// How the sweep's axes combine into points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Every combination of the axes' values.
    Cross,
    /// The i-th value of every axis together (axes of one length).
    Zip,
}

/// One swept setting: a path in the topology and the values it takes, as written.
#[derive(Debug, Clone)]
pub struct Axis {
    pub path: String,
    pub values: Vec<serde_json::Value>,
    /// The stack that reads it; None: both.
    pub reader: Option<Stack>,
}

impl Axis {
    /// How a cell's label names the axis: its last key (`advert_int`).
    pub fn short(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or(&self.path)
    }
}

/// One cell: a scenario on a stack with one value of each axis that stack reads.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Index into `Study::scenarios`.
    pub scenario: usize,
    pub stack: Stack,
    /// `advert_int 500ms`, or `defaults` when the stack reads none of the axes.
    pub label: String,
    /// (path, value as a topology writes it) for every axis the stack reads.
    pub settings: Vec<(String, String)>,
    /// The scenario's lab with these settings applied and validated.
    pub plan: Plan,
    /// The patched topology, written beside the runs so each cell's configuration is stated.
    pub topology: String,
}

#[derive(Debug, Clone)]
pub struct Study {
    pub name: String,
    pub file: PathBuf,
    pub seed: u64,
    pub repeats: u32,
    pub stacks: Vec<Stack>,
    /// A difference smaller than this is negligible, however clear.
    pub negligible_ms: f64,
    pub combine: Combine,
    pub axes: Vec<Axis>,
    pub scenarios: Vec<Scenario>,
    pub cells: Vec<Cell>,
}

impl Study {
    /// Every run of the study: cells x repeats.
    pub fn runs(&self) -> usize {
        self.cells.len() * self.repeats as usize
    }
}
