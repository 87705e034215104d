//! halab's firewall recipe as one resource set of the typed form the user's resources use
//! (rendered by `resources.rs`, so both have one CIB maker): IPaddr2 VIPs in the group `vips`;
//! conntrackd as a promotable clone the VIPs follow, promoted first; ethmonitor per VIP
//! interface and a rule keeping the VIPs off a member whose link is down (pacemaker does not
//! notice a pulled cable by itself); a preference for one member.

use crate::topology::resources::{Constraint, Kind, PlanResource, PlanService};
use crate::topology::PlanCluster;

fn primitive(id: &str, provider: &str, kind: &str, params: &[(&str, &str)], ops: &[(&str, &str, Option<&str>)]) -> PlanResource {
    PlanResource {
        id: id.into(),
        kind: Kind::Primitive { class: "ocf".into(), provider: Some(provider.into()), kind: kind.into() },
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ops: ops.iter().map(|(i, t, role)| ("monitor".into(), i.to_string(), t.to_string(), role.map(String::from))).collect(),
        meta: vec![],
        clone: None,
        at: crate::diag::Span::made_by("halab's firewall recipe"),
    }
}

pub fn recipe(cl: &PlanCluster) -> PlanService {
    let p = &cl.pacemaker;
    let mut rs = Vec::new();
    let mut cons = Vec::new();
    if crate::stack::conntrackd::enabled(cl) {
        let (provider, kind) = &cl.sync.agent;
        let mut ct = primitive(
            "conntrackd",
            provider,
            kind,
            &[("config", crate::stack::conntrackd::CONFIG)],
            &[("5s", "20s", Some("Promoted")), ("6s", "20s", Some("Unpromoted"))],
        );
        ct.clone = Some("promotable".into());
        rs.push(ct);
        cons.push(Constraint::Colocate { rsc: "vips".into(), with: "conntrackd".into(), role: Some("Promoted".into()), score: "INFINITY".into() });
        cons.push(Constraint::Order { first: "conntrackd".into(), then: "vips".into(), first_action: "promote".into(), then_action: "start".into() });
        // ocf:heartbeat:conntrackd gives its promoted instance a promotion score of 1000 and
        // the others 100: that bonus alone would pin the role wherever it is, whatever the
        // stickiness. Preferring the role on the preferred member by the same 1000 cancels it,
        // so (as for any resource) stickiness against the 50 below decides failback. Measured
        // with crm_simulate after fw1 rejoined fw-pair: stickiness 100 gives fw2 1400, fw1
        // 1200 (the VIPs stay); stickiness 0 moves them back.
        cons.push(Constraint::Locate { rsc: "conntrackd".into(), node: p.preferred.clone(), score: "1000".into(), role: Some("Promoted".into()) });
    }
    let mut vips = Vec::new();
    for v in &cl.vips {
        let id = format!("vip-{}", v.network);
        let (ip, mask) = (v.address.to_string(), v.prefix_len.to_string());
        rs.push(primitive(&id, "heartbeat", "IPaddr2", &[("ip", &ip), ("cidr_netmask", &mask), ("nic", &v.ifname)], &[("2s", "20s", None)]));
        vips.push(id);
    }
    let mut group = primitive("vips", "", "", &[], &[]);
    (group.kind, group.meta) = (Kind::Group(vips), super::stonith::vip_meta(cl));
    rs.push(group);
    cons.push(Constraint::Locate { rsc: "vips".into(), node: p.preferred.clone(), score: "50".into(), role: None });
    let mut ifs: Vec<&str> = cl.vips.iter().map(|v| v.ifname.as_str()).collect();
    ifs.dedup();
    for ifname in ifs.into_iter().filter(|_| p.link_monitor) {
        // Decide on one look: the agent's default retries 5 times 10 s apart, past the
        // monitor's timeout, and the resource then fails instead of reporting.
        let params = [("interface", ifname), ("link_status_only", "true"), ("repeat_count", "1"), ("repeat_interval", "1")];
        let mut link = primitive(&format!("link-{ifname}"), "heartbeat", "ethmonitor", &params, &[("1s", "10s", None)]);
        link.clone = Some("clone".into());
        rs.push(link);
        cons.push(Constraint::Avoid { rsc: "vips".into(), attribute: format!("ethmonitor-{ifname}"), value: "1".into() });
    }
    PlanService { resources: rs, constraints: cons, ..PlanService::default() }
}
