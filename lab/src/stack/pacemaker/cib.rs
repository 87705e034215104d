//! The pacemaker configuration as one CIB document, pre-seeded before pacemaker starts (so the
//! cluster forms after the lab's dc-deadtime, not pacemaker's 20 s) and identical on every
//! provider: IPaddr2 VIPs in a group, conntrackd as a promotable clone, the VIPs with the
//! promoted instance, promote before VIPs, a preference for one member, and link monitoring
//! (ethmonitor) so a pulled cable fails over.

use std::net::Ipv4Addr;

use super::{resources, stonith};
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
    let ct = crate::stack::conntrackd::enabled(cl);
    let mut props = stonith::properties(cl);
    props.push(nv("opt", "dc-deadtime", &format!("{}ms", p.dc_deadtime_ms)));
    props.push(nv("opt", "cluster-recheck-interval", "1min"));
    if two && !cl.fencing.on(cl.stack) {
        // Two nodes cannot keep quorum after losing one; without fencing, ignore it (a lab).
        // With fencing, corosync's two_node keeps the survivor quorate.
        props.push(nv("opt", "no-quorum-policy", "ignore"));
    }
    let mut res = String::new();
    if ct {
        res.push_str(&format!(
            "      <clone id=\"conntrackd-clone\">\n        <meta_attributes id=\"conntrackd-clone-meta\">\n          {}\n          {}\n          {}\n          {}\n        </meta_attributes>\n        <primitive id=\"conntrackd\" class=\"ocf\" provider=\"{provider}\" type=\"{kind}\">\n          <instance_attributes id=\"conntrackd-params\">\n            {}\n          </instance_attributes>\n          <operations>\n            <op id=\"conntrackd-mon-p\" name=\"monitor\" interval=\"5s\" role=\"Promoted\" timeout=\"20s\"/>\n            <op id=\"conntrackd-mon-u\" name=\"monitor\" interval=\"6s\" role=\"Unpromoted\" timeout=\"20s\"/>\n          </operations>\n        </primitive>\n      </clone>\n",
            nv("ct", "promotable", "true"),
            nv("ct", "notify", "true"),
            nv("ct", "promoted-max", "1"),
            nv("ct", "clone-max", &cl.members.len().to_string()),
            nv("ctp", "config", crate::stack::conntrackd::CONFIG),
            provider = cl.sync.agent.0,
            kind = cl.sync.agent.1,
        ));
    }
    res.push_str("      <group id=\"vips\">\n");
    res.push_str(&stonith::vip_meta(cl));
    for v in &cl.vips {
        let id = format!("vip-{}", v.network);
        res.push_str(&format!(
            "        <primitive id=\"{id}\" class=\"ocf\" provider=\"heartbeat\" type=\"IPaddr2\">\n          <instance_attributes id=\"{id}-params\">\n            {}\n            {}\n            {}\n          </instance_attributes>\n          <operations>\n            <op id=\"{id}-mon\" name=\"monitor\" interval=\"2s\" timeout=\"20s\"/>\n          </operations>\n        </primitive>\n",
            nv(&id, "ip", &v.address.to_string()),
            nv(&id, "cidr_netmask", &v.prefix_len.to_string()),
            nv(&id, "nic", &v.ifname),
        ));
    }
    res.push_str("      </group>\n");
    let mut ifs: Vec<&str> = cl.vips.iter().map(|v| v.ifname.as_str()).collect();
    ifs.dedup();
    if p.link_monitor {
        for ifname in &ifs {
            let id = format!("link-{ifname}");
            res.push_str(&format!(
                "      <clone id=\"{id}-clone\">\n        <primitive id=\"{id}\" class=\"ocf\" provider=\"heartbeat\" type=\"ethmonitor\">\n          <instance_attributes id=\"{id}-params\">\n            {}\n            {}\n            {}\n            {}\n          </instance_attributes>\n          <operations>\n            <op id=\"{id}-mon\" name=\"monitor\" interval=\"1s\" timeout=\"10s\"/>\n          </operations>\n        </primitive>\n      </clone>\n",
                nv(&id, "interface", ifname),
                nv(&id, "link_status_only", "true"),
                // Decide on one look: the agent's default retries 5 times 10 s apart, past
                // the monitor's timeout, and the resource then fails instead of reporting.
                nv(&id, "repeat_count", "1"),
                nv(&id, "repeat_interval", "1"),
            ));
        }
    }
    res.push_str(&stonith::resources(&plan.lab, cl, fencer));
    let (frag_res, frag_cons) = resources::fragment(&cl.service)?;
    res.push_str(&resources::resources(&cl.service, cl.members.len()));
    res.push_str(&frag_res);
    let mut cons = stonith::constraints(cl);
    cons.push_str(&resources::constraints(&cl.service));
    cons.push_str(&frag_cons);
    if ct {
        cons.push_str("      <rsc_colocation id=\"vips-with-promoted-conntrackd\" score=\"INFINITY\" rsc=\"vips\" with-rsc=\"conntrackd-clone\" with-rsc-role=\"Promoted\"/>\n");
        cons.push_str("      <rsc_order id=\"promote-before-vips\" kind=\"Mandatory\" first=\"conntrackd-clone\" first-action=\"promote\" then=\"vips\" then-action=\"start\"/>\n");
        // ocf:heartbeat:conntrackd gives its promoted instance a promotion score of 1000 and
        // the others 100: that bonus alone would pin the role wherever it is, whatever the
        // stickiness. Preferring the role on the preferred member by the same 1000 cancels it,
        // so (as for any resource) stickiness against the 50 below decides failback. Measured
        // with crm_simulate after fw1 rejoined fw-pair: stickiness 100 gives fw2 1400, fw1
        // 1200 (the VIPs stay); stickiness 0 moves them back.
        cons.push_str(&format!(
            "      <rsc_location id=\"promoted-prefer-{m}\" rsc=\"conntrackd-clone\" role=\"Promoted\" node=\"{m}\" score=\"1000\"/>\n",
            m = p.preferred
        ));
    }
    cons.push_str(&format!("      <rsc_location id=\"vips-prefer-{m}\" rsc=\"vips\" node=\"{m}\" score=\"50\"/>\n", m = p.preferred));
    if p.link_monitor {
        for ifname in &ifs {
            cons.push_str(&format!(
                "      <rsc_location id=\"vips-need-{ifname}\" rsc=\"vips\">\n        <rule id=\"vips-need-{ifname}-rule\" score=\"-INFINITY\" boolean-op=\"or\">\n          <expression id=\"vips-need-{ifname}-undef\" attribute=\"ethmonitor-{ifname}\" operation=\"not_defined\"/>\n          <expression id=\"vips-need-{ifname}-down\" attribute=\"ethmonitor-{ifname}\" operation=\"ne\" value=\"1\"/>\n        </rule>\n      </rsc_location>\n"
            ));
        }
    }
    let props: String = props.iter().map(|p| format!("        {p}\n")).collect();
    Ok(format!(
        "<cib validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\n  <configuration>\n    <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">\n{props}      </cluster_property_set>\n    </crm_config>\n    <nodes/>\n    <resources>\n{res}    </resources>\n    <constraints>\n{cons}    </constraints>\n    <rsc_defaults>\n      <meta_attributes id=\"rsc-defaults\">\n        {}\n      </meta_attributes>\n    </rsc_defaults>\n{}  </configuration>\n  <status/>\n</cib>\n",
        nv("rsc", "resource-stickiness", &p.stickiness.to_string()),
        super::alert::cib_section()
    ))
}
