//! A resource set of the typed form as CIB XML: the user's own (`cluster.resources`,
//! `cluster.constraints`, and the `cluster.cib` fragment) and halab's recipe (`recipe.rs`),
//! in the same document.

use anyhow::{Context, Result};

use super::cib::nv;
use crate::topology::resources::{Constraint, Kind, PlanResource, PlanService};
use crate::xml::esc;

fn set(tag: &str, id: &str, pairs: &[(String, String)], indent: &str) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let lines: String = pairs.iter().map(|(k, v)| format!("{indent}  {}\n", nv(id, &esc(k), &esc(v)))).collect();
    format!("{indent}<{tag} id=\"{id}\">\n{lines}{indent}</{tag}>\n")
}

fn primitive(r: &PlanResource, indent: &str) -> String {
    let Kind::Primitive { class, provider, kind } = &r.kind else { return String::new() };
    let provider = provider.as_ref().map(|p| format!(" provider=\"{}\"", esc(p))).unwrap_or_default();
    let mut x = format!("{indent}<primitive id=\"{id}\" class=\"{class}\"{provider} type=\"{}\">\n", esc(kind), id = r.id);
    x.push_str(&set("instance_attributes", &format!("{}-params", r.id), &r.params, &format!("{indent}  ")));
    x.push_str(&set("meta_attributes", &format!("{}-meta", r.id), &r.meta, &format!("{indent}  ")));
    if !r.ops.is_empty() {
        x.push_str(&format!("{indent}  <operations>\n"));
        for (name, interval, timeout, role) in &r.ops {
            let role_attr = role.as_ref().map(|ro| format!(" role=\"{ro}\"")).unwrap_or_default();
            let rid = role.as_ref().map(|ro| format!("-{}", ro.to_lowercase())).unwrap_or_default();
            x.push_str(&format!(
                "{indent}    <op id=\"{id}-{name}-{interval}{rid}\" name=\"{name}\" interval=\"{interval}\" timeout=\"{timeout}\"{role_attr}/>\n",
                id = r.id
            ));
        }
        x.push_str(&format!("{indent}  </operations>\n"));
    }
    x.push_str(&format!("{indent}</primitive>\n"));
    x
}

/// The `<resources>` children for the user's resources (a group's members inside it, a clone
/// around its resource: `<id>-clone`, promotable with notify and one promoted instance).
pub fn resources(svc: &PlanService, members: usize) -> String {
    let grouped: Vec<&String> = svc.resources.iter().filter_map(|r| if let Kind::Group(m) = &r.kind { Some(m) } else { None }).flatten().collect();
    let mut out = String::new();
    for r in svc.resources.iter().filter(|r| !grouped.contains(&&r.id)) {
        let (open, close, indent) = match &r.clone {
            Some(c) => {
                let mut meta = vec![("clone-max".to_string(), members.to_string())];
                if c == "promotable" {
                    meta.extend([("promotable".into(), "true".into()), ("promoted-max".into(), "1".into()), ("notify".into(), "true".into())]);
                }
                (
                    format!("      <clone id=\"{}-clone\">\n{}", r.id, set("meta_attributes", &format!("{}-clone-meta", r.id), &meta, "        ")),
                    "      </clone>\n".to_string(),
                    "        ",
                )
            }
            None => (String::new(), String::new(), "      "),
        };
        out.push_str(&open);
        match &r.kind {
            Kind::Primitive { .. } => out.push_str(&primitive(r, indent)),
            Kind::Group(ms) => {
                out.push_str(&format!("{indent}<group id=\"{}\">\n", r.id));
                out.push_str(&set("meta_attributes", &format!("{}-meta", r.id), &r.meta, &format!("{indent}  ")));
                for m in ms {
                    if let Some(p) = svc.resources.iter().find(|x| &x.id == m) {
                        out.push_str(&primitive(p, &format!("{indent}  ")));
                    }
                }
                out.push_str(&format!("{indent}</group>\n"));
            }
        }
        out.push_str(&close);
    }
    out
}

/// The `<constraints>` children for a set's constraints, their ids starting with `prefix`.
pub fn constraints(svc: &PlanService, prefix: &str) -> String {
    let mut out = String::new();
    for (i, c) in svc.constraints.iter().enumerate() {
        match c {
            Constraint::Colocate { rsc, with, role, score } => {
                let role = role.as_ref().map(|r| format!(" with-rsc-role=\"{r}\"")).unwrap_or_default();
                out.push_str(&format!(
                    "      <rsc_colocation id=\"{prefix}-{i}-{rsc}-with-{with}\" score=\"{score}\" rsc=\"{}\" with-rsc=\"{}\"{role}/>\n",
                    svc.cib_id(rsc),
                    svc.cib_id(with)
                ));
            }
            Constraint::Order { first, then, first_action, then_action } => out.push_str(&format!(
                "      <rsc_order id=\"{prefix}-{i}-{first}-then-{then}\" kind=\"Mandatory\" first=\"{}\" first-action=\"{first_action}\" then=\"{}\" then-action=\"{then_action}\"/>\n",
                svc.cib_id(first),
                svc.cib_id(then)
            )),
            Constraint::Locate { rsc, node, score, role } => {
                let role = role.as_ref().map(|r| format!(" role=\"{r}\"")).unwrap_or_default();
                out.push_str(&format!("      <rsc_location id=\"{prefix}-{i}-{rsc}-on-{node}\" rsc=\"{}\"{role} node=\"{node}\" score=\"{score}\"/>\n", svc.cib_id(rsc)))
            }
            Constraint::Avoid { rsc, attribute, value } => {
                let id = format!("{prefix}-{i}-{rsc}-needs-{attribute}");
                out.push_str(&format!(
                    "      <rsc_location id=\"{id}\" rsc=\"{}\">\n        <rule id=\"{id}-rule\" score=\"-INFINITY\" boolean-op=\"or\">\n          <expression id=\"{id}-undef\" attribute=\"{attribute}\" operation=\"not_defined\"/>\n          <expression id=\"{id}-ne\" attribute=\"{attribute}\" operation=\"ne\" value=\"{}\"/>\n        </rule>\n      </rsc_location>\n",
                    svc.cib_id(rsc),
                    esc(value)
                ));
            }
        }
    }
    out
}

/// The children of `<resources>` and `<constraints>` in the user's CIB fragment file (the
/// file is either a `<configuration>`-like wrapper holding both, or either element alone).
pub fn fragment(svc: &PlanService) -> Result<(String, String)> {
    let Some(path) = &svc.cib else { return Ok(Default::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let inner = |tag: &str| -> String {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        match (text.find(&open), text.find(&close)) {
            (Some(a), Some(b)) if b > a => format!("{}\n", text[a + open.len()..b].trim_matches('\n')),
            _ => String::new(),
        }
    };
    Ok((inner("resources"), inner("constraints")))
}
