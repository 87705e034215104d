//! JSON Schemas (draft 2020-12) of every file halab reads and of the JSON it prints, generated
//! from the types it parses and prints (schemars), so the schema and halab cannot drift apart.
//! `halab schema KIND` prints one; `schemas/` holds them all (`scripts/schemas` writes it, a
//! test keeps it equal). A schema checks shape and names; what needs the whole file (a VIP's
//! network exists, a member is a node) is halab's own validation: `halab validate`.

mod steps;

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::Value;

pub use steps::{fault_spec, traffic_spec};

/// One schema: its name (`halab schema NAME`, `schemas/NAME.json`) and what it describes.
pub struct Kind {
    pub name: &'static str,
    pub about: &'static str,
    pub make: fn() -> Value,
}

/// The schema of `T`, without the type's own title.
pub fn of<T: JsonSchema>() -> Value {
    let mut s = SchemaGenerator::default().into_root_schema_for::<T>();
    s.remove("title");
    s.into()
}

/// halab's own schemas, inputs first; the providers add theirs (`kinds`).
const OWN: &[Kind] = &[
    Kind { name: "topology", about: "a topology file (networks, nodes, cluster)", make: of::<crate::topology::model::TopologyFile> },
    Kind { name: "scenario", about: "a scenario file (steps, faults, traffic, expectations)", make: of::<crate::scenario::model::ScenarioFile> },
    Kind { name: "study", about: "a study file (scenarios, stacks, repeats, sweep)", make: of::<crate::study::model::StudyFile> },
    Kind { name: "image", about: "an image recipe (images/*.yaml)", make: of::<crate::image::recipe::Recipe> },
    Kind { name: "status", about: "the output of `halab status --json`", make: of::<crate::status::LabStatus> },
    Kind { name: "ls", about: "the output of `halab ls --json`", make: of::<Vec<crate::status::LabEntry>> },
    Kind { name: "plan", about: "the output of `halab plan --json`", make: of::<crate::topology::Plan> },
    Kind { name: "vocabulary", about: "the output of `halab vocabulary --json`", make: of::<crate::scenario::vocabulary::Vocabulary> },
];

/// Every schema: halab's own, then the providers'.
pub fn kinds() -> impl Iterator<Item = &'static Kind> {
    OWN.iter().chain(crate::provider::SCHEMAS)
}

/// The schema of one kind, with its `$id` (the path a file's `$schema` comment names).
pub fn get(name: &str) -> Option<Value> {
    let k = kinds().find(|k| k.name == name)?;
    let mut v = (k.make)();
    if let Value::Object(m) = &mut v {
        m.insert("$id".into(), Value::String(format!("https://halab.invalid/schemas/{}.json", k.name)));
        m.insert("title".into(), Value::String(format!("halab {}", k.name)));
        m.insert("description".into(), Value::String(k.about.to_string()));
    }
    Some(v)
}

/// What `halab schema` says when the kind is not one of them.
pub fn unknown(name: &str) -> String {
    let all: Vec<&str> = kinds().map(|k| k.name).collect();
    format!("no schema `{name}`; one of: {}", all.join(", "))
}

/// The kind of an input file, from the `$schema` comment on its first line, if it has one.
pub fn declared(text: &str) -> Option<&'static str> {
    let first = text.lines().next()?;
    let rest = first.strip_prefix("# yaml-language-server: $schema=")?;
    let file = rest.trim().rsplit('/').next()?.strip_suffix(".json")?;
    kinds().find(|k| k.name == file).map(|k| k.name)
}
