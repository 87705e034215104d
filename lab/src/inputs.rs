//! `halab validate`: any file halab reads, loaded with every problem reported at once. Its kind
//! is the one its `# yaml-language-server: $schema=.../KIND.json` line names, else what its
//! top-level keys say: `scenarios:`/`sweep:` a study, `steps:` a scenario, `hosts:` an
//! inventory, `mirrors:` an image recipe, anything else a topology.

use std::path::Path;

use crate::diag::InputError;

/// The kind of a file from its text (`halab schema` names).
pub fn kind_of(text: &str) -> &'static str {
    if let Some(k) = crate::schema::declared(text) {
        return k;
    }
    let top = |key: &str| text.lines().any(|l| l.starts_with(key));
    if top("scenarios:") || top("sweep:") {
        "study"
    } else if top("steps:") {
        "scenario"
    } else if top("hosts:") {
        "inventory"
    } else if top("mirrors:") {
        "image"
    } else {
        "topology"
    }
}

/// Validate a file; on success, the one line that says what it is.
pub fn validate(path: &Path) -> Result<String, InputError> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let p = path.display();
    Ok(match kind_of(&text) {
        "study" => {
            let st = crate::study::load(path)?;
            format!("{p}: ok (study {}, {} cells x {} repeats = {} runs)", st.name, st.cells.len(), st.repeats, st.runs())
        }
        "scenario" => {
            let sc = crate::scenario::load(path)?;
            format!("{p}: ok (scenario {}, {} steps, {} expectations, on {})", sc.name, sc.steps.len(), sc.expect.len(), sc.topology.display())
        }
        "inventory" => {
            let (name, hosts) = crate::provider::check_inventory(path)?;
            format!("{p}: ok (inventory {name}, {hosts} hosts)")
        }
        "image" => {
            let r = crate::image::recipe::Recipe::load(path)?;
            format!("{p}: ok (image recipe, Debian {}, {} packages)", r.suite, r.packages.len())
        }
        _ => {
            let plan = crate::topology::load(path, None)?;
            format!("{p}: ok ({} networks, {} nodes)", plan.networks.len(), plan.nodes.len())
        }
    })
}
