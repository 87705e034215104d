//! What a topology needs from a kernel of the nodes' own. netns nodes share this machine's
//! kernel: a resource whose agent drives a kernel driver (DRBD's drbd.ko) would load it into
//! the host, shared by every node, and this machine's kernel has no drbd anyway. Refused
//! before anything is made, at the resource's line.

use crate::diag::{Diagnostic, InputError};

/// Agents (`class:provider:type`) that drive a kernel driver, and why that needs a kernel per
/// node.
const KERNEL_AGENTS: &[(&str, &str)] =
    &[("ocf:linbit:drbd", "DRBD is a kernel driver (drbd.ko): each member needs its own kernel, and netns nodes share this machine's")];

pub fn check(plan: &super::Plan, provider: &str, own_kernel: bool) -> Result<(), InputError> {
    let Some(cl) = plan.cluster.as_ref().filter(|_| !own_kernel) else { return Ok(()) };
    let mut out = Vec::new();
    for r in &cl.service.resources {
        let Some(agent) = r.agent() else { continue };
        if let Some((_, why)) = KERNEL_AGENTS.iter().find(|(a, _)| *a == agent) {
            out.push(Diagnostic::at(
                &r.at,
                &format!("cluster.resources.{}.agent", r.id),
                &format!("the {provider} provider cannot run `{agent}`: {why}"),
                "run it with --provider libvirt: each VM has its own kernel, with drbd.ko",
            ));
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(InputError { diagnostics: out })
    }
}
