//! What a topology's cluster is checked against at `up`, once its image is known and before
//! anything is made: the agents its resources name (in the image or the user's agent
//! directories), the keepalived hooks' stack, resources on a stack that cannot run them.

use std::path::PathBuf;

use super::resources::{Kind, PlanResource, PlanService};

/// Is `rel` in the image whose directories are `roots` (top first, as overlayfs reads them)?
/// The top-most directory that has it decides; there a whiteout (a 0:0 character device)
/// means a layer removed it.
fn image_has(roots: &[PathBuf], rel: &str) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    match roots.iter().find_map(|r| std::fs::symlink_metadata(r.join(rel)).ok()) {
        Some(m) => !(m.file_type().is_char_device() && m.rdev() == 0),
        None => false,
    }
}

/// Is `ocf:provider:kind` in the user's agent directories or the image?
fn ocf_exists(svc: &PlanService, roots: &[PathBuf], p: &str, kind: &str) -> bool {
    // halab installs its own conntrackd agent in every pacemaker member (`stack/pacemaker`).
    (p, kind) == ("halab", "conntrackd")
        || svc.agents.iter().any(|(up, dir)| up == p && dir.join(kind).is_file())
        || image_has(roots, &format!("usr/lib/ocf/resource.d/{p}/{kind}"))
}

/// Is `class:provider:type` there for pacemaker: in the user's agent directories or the
/// image (`/usr/lib/ocf/resource.d`, systemd units, init scripts)?
pub fn agent_exists(svc: &PlanService, r: &PlanResource, roots: &[PathBuf]) -> bool {
    let Kind::Primitive { class, provider, kind } = &r.kind else { return true };
    match (class.as_str(), provider) {
        ("ocf", Some(p)) => ocf_exists(svc, roots, p, kind),
        ("systemd" | "service", _) => {
            let unit = if kind.contains('.') { kind.clone() } else { format!("{kind}.service") };
            ["lib/systemd/system", "usr/lib/systemd/system", "etc/systemd/system"].iter().any(|d| image_has(roots, &format!("{d}/{unit}")))
        }
        _ => image_has(roots, &format!("etc/init.d/{kind}")),
    }
}

/// What only `up` can check, before it makes anything: the stack that runs the resources, and
/// every agent a resource names, in the user's directories or the lab's image (`roots`: its
/// packages layer and base).
pub fn check_at_up(plan: &super::Plan, roots: &[PathBuf]) -> Result<(), crate::diag::InputError> {
    use crate::diag::{Diagnostic, InputError, Span};
    let Some(cl) = &plan.cluster else { return Ok(()) };
    let svc = &cl.service;
    let mut out = Vec::new();
    super::keepalived::check_at_up(plan, &mut out);
    if cl.stack != super::Stack::Pacemaker && (!svc.resources.is_empty() || svc.cib.is_some() || !svc.constraints.is_empty()) {
        let at = svc.resources.first().map(|r| r.at.clone()).unwrap_or_else(|| Span::whole_file(&plan.topology));
        out.push(Diagnostic::at(&at, "cluster.resources", &format!("resources need the pacemaker stack, not {}", cl.stack), "run it with --stack pacemaker"));
    }
    let no_agent = |at: &Span, field: &str, name: &str| {
        let hint = "ship it with `cluster.agents: { PROVIDER: DIR }`";
        Diagnostic::at(at, field, &format!("no agent `{name}` in the image `{}` or in cluster.agents", plan.image), hint)
    };
    for r in &svc.resources {
        if !agent_exists(svc, r, roots) {
            let Some(name) = r.agent() else { continue };
            out.push(no_agent(&r.at, &format!("cluster.resources.{}.agent", r.id), &name));
        }
    }
    let (p, kind) = &cl.sync.agent;
    if cl.stack == super::Stack::Pacemaker && cl.sync.conntrackd != super::ConntrackdMode::Off && !ocf_exists(svc, roots, p, kind) {
        let at = cl.sync.agent_at.clone().unwrap_or_else(|| Span::whole_file(&plan.topology));
        out.push(no_agent(&at, "cluster.sync.agent", &format!("ocf:{p}:{kind}")));
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(InputError { diagnostics: out })
    }
}
