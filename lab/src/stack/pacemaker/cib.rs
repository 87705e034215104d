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
/// The user's resources and constraints (`resources.rs`) follow halab's own. `op_scale`: the
/// provider's time scale, by which every operation's timeout is multiplied (`scale_ops`).
pub fn cib(plan: &Plan, cl: &PlanCluster, fencer: Ipv4Addr, op_scale: u32) -> anyhow::Result<String> {
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
    let res = scale_ops(&res, op_scale);
    let mut cons = resources::constraints(&recipe, "halab");
    cons.push_str(&stonith::constraints(cl));
    cons.push_str(&resources::constraints(&cl.service, "user"));
    cons.push_str(&frag_cons);
    let props: String = props.iter().map(|p| format!("        {p}\n")).collect();
    Ok(format!(
        "<cib validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\n  <configuration>\n    <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">\n{props}      </cluster_property_set>\n    </crm_config>\n    <nodes/>\n    <resources>\n{res}    </resources>\n    <constraints>\n{cons}    </constraints>\n    <rsc_defaults>\n      <meta_attributes id=\"rsc-defaults\">\n        {}\n      </meta_attributes>\n    </rsc_defaults>\n{}{}  </configuration>\n  <status/>\n</cib>\n",
        nv("rsc", "resource-stickiness", &p.stickiness.to_string()),
        op_defaults(op_scale),
        super::alert::cib_section()
    ))
}

/// Every `<op>` of `resources` (halab's recipe, the fence devices, the user's typed resources
/// and CIB fragment) with its timeout multiplied by `k`. On TCG a VM runs every fork of a
/// resource agent about 4 times slower: a DRBD monitor on a starved TCG VM overran its 20 s,
/// and a stop that overruns is answered by fencing the member that ran it. Timeouts in a form
/// other than seconds, milliseconds or minutes (ISO 8601) are left as written.
fn scale_ops(resources: &str, k: u32) -> String {
    if k <= 1 {
        return resources.to_string();
    }
    let mut out = String::with_capacity(resources.len() + 100);
    let mut rest = resources;
    while let Some(at) = rest.find("<op ") {
        let end = rest[at..].find('>').map_or(rest.len(), |e| at + e);
        out.push_str(&rest[..at]);
        out.push_str(&scale_attr(&rest[at..end], k));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Pacemaker's 20 s default for the operations that name no timeout, scaled alike.
fn op_defaults(k: u32) -> String {
    if k <= 1 {
        return String::new();
    }
    format!(
        "    <op_defaults>\n      <meta_attributes id=\"op-defaults\">\n        {}\n      </meta_attributes>\n    </op_defaults>\n",
        nv("op-defaults", "timeout", &format!("{}s", 20 * k))
    )
}

/// One `<op ...` tag with its `timeout="..."` multiplied by `k`.
fn scale_attr(tag: &str, k: u32) -> String {
    let key = " timeout=\"";
    let Some(a) = tag.find(key).map(|a| a + key.len()) else { return tag.to_string() };
    let Some(b) = tag[a..].find('"').map(|b| a + b) else { return tag.to_string() };
    let v = &tag[a..b];
    let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let scaled = match (digits.parse::<u64>(), unit) {
        (Ok(n), "" | "s" | "ms" | "min" | "m") => format!("{}{unit}", n * u64::from(k)),
        _ => v.to_string(),
    };
    format!("{}{scaled}{}", &tag[..a], &tag[b..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_timeouts_scale_and_the_default_follows() {
        let xml = "<cib><configuration>\n<op id=\"a\" name=\"monitor\" interval=\"2s\" timeout=\"20s\"/>\n<op id=\"b\" name=\"stop\" interval=\"0\" timeout=\"20000ms\" role=\"Promoted\"/>\n<op id=\"c\" name=\"start\" interval=\"0\"/>\n<op id=\"d\" name=\"start\" timeout=\"PT20S\"/>\n  </configuration>\n</cib>\n";
        let s = scale_ops(xml, 4);
        assert!(s.contains("interval=\"2s\" timeout=\"80s\"/>"), "{s}");
        assert!(s.contains("timeout=\"80000ms\" role=\"Promoted\""), "{s}");
        assert!(s.contains("<op id=\"c\" name=\"start\" interval=\"0\"/>") && s.contains("timeout=\"PT20S\""), "{s}");
        assert!(
            op_defaults(4).contains("<nvpair id=\"op-defaults-timeout\" name=\"timeout\" value=\"80s\"/>\n      </meta_attributes>\n    </op_defaults>\n"),
            "{}",
            op_defaults(4)
        );
        assert_eq!((scale_ops(xml, 1), op_defaults(1)), (xml.to_string(), String::new()));
    }
}
