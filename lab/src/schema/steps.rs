//! The schema of a `fault:` and a `traffic:` step, from the same tables that check them
//! (`scenario::faults::VERBS`, `scenario::traffic::KINDS`): one alternative per verb or kind,
//! `kind` fixing which, its own fields and no other.

use schemars::{json_schema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

/// A field's value as YAML writes it: halab reads every field as text (`90s`, `30`, `true`).
fn scalar(doc: &str) -> Value {
    json!({ "type": ["string", "number", "boolean"], "description": doc })
}

fn alternative(kind: &str, doc: &str, fields: &[(&str, Value)], required: &[&str]) -> Value {
    let mut props = Map::new();
    props.insert("kind".into(), json!({ "const": kind, "description": doc }));
    for (name, s) in fields {
        props.insert(name.to_string(), s.clone());
    }
    let mut req = vec!["kind".to_string()];
    req.extend(required.iter().map(|r| r.to_string()));
    json!({ "type": "object", "properties": props, "required": req, "additionalProperties": false })
}

/// `fault: { kind: crash, node: @active }`: one alternative per fault verb.
pub fn fault_spec(_: &mut SchemaGenerator) -> Schema {
    let one: Vec<Value> = crate::scenario::faults::VERBS
        .iter()
        .map(|v| {
            let fields: Vec<(&str, Value)> = v.fields.iter().map(|f| (f.name, scalar(f.doc))).collect();
            let required: Vec<&str> = v.fields.iter().filter(|f| f.required).map(|f| f.name).collect();
            alternative(v.name, v.doc, &fields, &required)
        })
        .collect();
    json_schema!({ "description": "A fault: `kind` and that fault's own fields (`halab vocabulary`).", "oneOf": one })
}

/// `traffic: { name: ssh, kind: scp, from: client, to: server, ... }`: one alternative per kind.
pub fn traffic_spec(_: &mut SchemaGenerator) -> Schema {
    let one: Vec<Value> = crate::scenario::traffic::KINDS
        .iter()
        .map(|k| {
            let mut fields = vec![
                ("name", scalar("the traffic's name (its metrics are `<name>.<metric>`)")),
                ("from", scalar("the node it runs from")),
                ("to", scalar("the node it runs to")),
            ];
            fields.extend(k.fields.iter().map(|(name, doc)| (*name, scalar(doc))));
            alternative(k.name, k.doc, &fields, &["name", "from", "to"])
        })
        .collect();
    json_schema!({ "description": "A traffic: name, kind, from, to and that kind's own fields (`halab vocabulary`).", "oneOf": one })
}
