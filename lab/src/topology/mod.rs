//! Topology files: strict parse, validation with positions, and the resolved Plan.

pub mod at_up;
pub mod cluster;
pub mod duration;
pub mod keepalived;
pub mod kernel;
pub mod model;
pub mod placement;
pub mod plan;
pub mod resources;
pub mod validate;

use std::path::Path;

pub use plan::*;

use crate::diag::{Diagnostic, InputError};

/// Read, parse and validate a topology file. `lab` overrides the lab name (`--name`).
/// Pool of management subnets: /24s of 198.19.0.0/16 (RFC 2544 benchmark space). A lab without
/// `management:` gets the first free one.
pub const MGMT_POOL: &str = "198.19.0.0/16";

pub fn load(path: &Path, lab: Option<&str>) -> Result<Plan, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::one(Diagnostic::whole_file(path, "", &format!("cannot read the file: {e}"), "check the path")))?;
    load_str(path, &text, lab)
}

pub fn load_str(path: &Path, text: &str, lab: Option<&str>) -> Result<Plan, InputError> {
    let file: model::TopologyFile = crate::yaml::parse(path, text)?;
    validate::check(path, &file, lab)
}
