//! Fencing in the CIB: stonith-enabled with one fence device per member (never run on the
//! member it fences), pacemaker's fence action, and the two-node race settings:
//! priority-fencing-delay (the member running the VIPs, which carry a priority, wins) or
//! pcmk_delay_max (a random delay on every device). Off: today's lab, said in its settings.

use std::net::Ipv4Addr;

use super::cib::nv;
use crate::fence;
use crate::topology::{FenceMethod, PlanCluster};

/// The VIP group's priority: the node running it weighs more when a fence race is decided.
pub const VIP_PRIORITY: u32 = 10;

fn method(cl: &PlanCluster) -> Option<FenceMethod> {
    cl.fencing.method.filter(|m| *m != FenceMethod::Off)
}

/// The cluster options fencing sets.
pub fn properties(cl: &PlanCluster) -> Vec<String> {
    let Some(_) = method(cl) else { return vec![nv("opt", "stonith-enabled", "false")] };
    let f = &cl.fencing;
    let mut p = vec![nv("opt", "stonith-enabled", "true"), nv("opt", "stonith-action", &f.action)];
    if f.priority_delay_ms > 0 {
        p.push(nv("opt", "priority-fencing-delay", &format!("{}ms", f.priority_delay_ms)));
    }
    p
}

/// The VIP group's meta attributes (its priority when a priority delay decides races).
pub fn vip_meta(cl: &PlanCluster) -> Vec<(String, String)> {
    if method(cl).is_none() || cl.fencing.priority_delay_ms == 0 {
        return vec![];
    }
    vec![("priority".into(), VIP_PRIORITY.to_string())]
}

/// One fence device per member. `host`: the lab's management address, where its fencer
/// (`halab`) or fence_virtd (`virt`) listens.
pub fn resources(lab: &str, cl: &PlanCluster, host: Ipv4Addr) -> String {
    let Some(m) = method(cl) else { return String::new() };
    let mut out = String::new();
    for member in &cl.members {
        let id = format!("fence-{member}");
        let (agent, mut params) = match m {
            // fence_virt, not fence_xvm: only under this name does it take ipaddr (TCP).
            FenceMethod::Virt => (
                "fence_virt",
                vec![
                    nv(&id, "ipaddr", &host.to_string()),
                    nv(&id, "ipport", &fence::VIRTD_PORT.to_string()),
                    nv(&id, "key_file", fence::VIRT_KEY_FILE),
                    nv(&id, "pcmk_host_map", &format!("{member}:{}", fence::domain_name(lab, member))),
                ],
            ),
            _ => (
                "fence_halab",
                vec![
                    nv(&id, "ip", &host.to_string()),
                    nv(&id, "ipport", &fence::PORT.to_string()),
                    nv(&id, "lab_key", fence::KEY_FILE),
                    nv(&id, "pcmk_host_list", member),
                ],
            ),
        };
        if cl.fencing.delay_max_ms > 0 {
            params.push(nv(&id, "pcmk_delay_max", &format!("{}ms", cl.fencing.delay_max_ms)));
        }
        let params: String = params.iter().map(|p| format!("          {p}\n")).collect();
        out.push_str(&format!(
            "      <primitive id=\"{id}\" class=\"stonith\" type=\"{agent}\">\n        <instance_attributes id=\"{id}-params\">\n{params}        </instance_attributes>\n        <operations>\n          <op id=\"{id}-mon\" name=\"monitor\" interval=\"60s\" timeout=\"20s\"/>\n        </operations>\n      </primitive>\n"
        ));
    }
    out
}

/// A member never runs the device that fences it.
pub fn constraints(cl: &PlanCluster) -> String {
    if method(cl).is_none() {
        return String::new();
    }
    cl.members.iter().map(|m| format!("      <rsc_location id=\"fence-{m}-not-on-{m}\" rsc=\"fence-{m}\" node=\"{m}\" score=\"-INFINITY\"/>\n")).collect()
}

/// The lab's fencing in a line of its settings.
pub fn describe(cl: &PlanCluster) -> String {
    let f = &cl.fencing;
    let Some(m) = method(cl) else { return "NO FENCING (stonith-enabled=false)".into() };
    let agent = if m == FenceMethod::Virt { "fence_virt to fence_virtd on the host" } else { "fence_halab through the lab's fencer" };
    let mut s = format!("fencing {agent}, action {}", f.action);
    if f.priority_delay_ms > 0 {
        s.push_str(&format!(", priority-fencing-delay {} ms (VIPs priority {VIP_PRIORITY})", f.priority_delay_ms));
    }
    if f.delay_max_ms > 0 {
        s.push_str(&format!(", pcmk_delay_max {} ms", f.delay_max_ms));
    }
    s
}
