//! The pacemaker configuration as one CIB document, pre-seeded before pacemaker starts (so the
//! cluster forms after the lab's dc-deadtime, not pacemaker's 20 s) and identical on every
//! provider: the properties, halab's recipe (`recipe.rs`), the fence devices, the user's
//! resources, all rendered by `resources.rs`.

use std::net::Ipv4Addr;

use super::{recipe, resources, stonith};
use crate::topology::{Plan, PlanCluster};

pub const PATH: &str = "/var/lib/pacemaker/cib/cib.xml";

pub fn nv(id: &str, name: &str, value: &str) -> String {
    format!("<nvpair id=\"{id}-{name}\" name=\"{name}\" value=\"{value}\"/>")
}

/// `fencer`: the host's address the lab's fencer listens on (the `halab` fencing method).
/// The user's resources and constraints (`resources.rs`) follow halab's own.
pub fn cib(plan: &Plan, cl: &PlanCluster, fencer: Ipv4Addr) -> anyhow::Result<String> {
    let p = &cl.pacemaker;
    let two = cl.members.len() == 2;
    let mut props = stonith::properties(cl);
    props.push(nv("opt", "dc-deadtime", &format!("{}ms", p.dc_deadtime_ms)));
    props.push(nv("opt", "cluster-recheck-interval", "1min"));
    if two && !cl.fencing.on(cl.stack) {
        // Two nodes cannot keep quorum after losing one; without fencing, ignore it (a lab).
        // With fencing, corosync's two_node keeps the survivor quorate.
        props.push(nv("opt", "no-quorum-policy", "ignore"));
    }
    let recipe = recipe::recipe(cl);
    let (frag_res, frag_cons) = resources::fragment(&cl.service)?;
    let mut res = resources::resources(&recipe, cl.members.len());
    res.push_str(&stonith::resources(&plan.lab, cl, fencer));
    res.push_str(&resources::resources(&cl.service, cl.members.len()));
    res.push_str(&frag_res);
    let mut cons = resources::constraints(&recipe, "halab");
    cons.push_str(&stonith::constraints(cl));
    cons.push_str(&resources::constraints(&cl.service, "user"));
    cons.push_str(&frag_cons);
    let props: String = props.iter().map(|p| format!("        {p}\n")).collect();
    Ok(format!(
        "<cib validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\n  <configuration>\n    <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">\n{props}      </cluster_property_set>\n    </crm_config>\n    <nodes/>\n    <resources>\n{res}    </resources>\n    <constraints>\n{cons}    </constraints>\n    <rsc_defaults>\n      <meta_attributes id=\"rsc-defaults\">\n        {}\n      </meta_attributes>\n    </rsc_defaults>\n{}  </configuration>\n  <status/>\n</cib>\n",
        nv("rsc", "resource-stickiness", &p.stickiness.to_string()),
        super::alert::cib_section()
    ))
}
