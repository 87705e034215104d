//! `halab validate`: a user's file is a study (top-level `scenarios:` or `sweep:`), a scenario
//! (top-level `steps:`) or a topology; each is loaded with every problem reported at once.

use std::path::Path;

use crate::diag::InputError;

/// Validate a topology or scenario file; on success, the one line that says what it is.
pub fn validate(path: &Path) -> Result<String, InputError> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if text.lines().any(|l| l.starts_with("scenarios:") || l.starts_with("sweep:")) {
        let st = crate::study::load(path)?;
        return Ok(format!("{}: ok (study {}, {} cells x {} repeats = {} runs)", path.display(), st.name, st.cells.len(), st.repeats, st.runs()));
    }
    if text.lines().any(|l| l.starts_with("steps:")) {
        let sc = crate::scenario::load(path)?;
        return Ok(format!(
            "{}: ok (scenario {}, {} steps, {} expectations, on {})",
            path.display(),
            sc.name,
            sc.steps.len(),
            sc.expect.len(),
            sc.topology.display()
        ));
    }
    let plan = crate::topology::load(path, None)?;
    Ok(format!("{}: ok ({} networks, {} nodes)", path.display(), plan.networks.len(), plan.nodes.len()))
}
