//! Validation of the `cluster:` section: members, VIPs, the stack and its typed settings.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::model::ClusterSpec;
use super::plan::*;
use super::validate::{known, Checker};
use crate::yaml::Spanned;

pub(crate) fn ms(c: &mut Checker, s: &Option<Spanned<String>>, field: &str, default_ms: u32, min_ms: u32) -> u32 {
    let d = c.duration(s, field, std::time::Duration::from_millis(default_ms as u64)).as_millis() as u32;
    match s {
        Some(s) if d < min_ms => {
            c.at(s, field, &format!("`{}` is too short (at least {min_ms} ms)", s.value), "");
            default_ms
        }
        _ => d,
    }
}

fn network(c: &mut Checker, s: &Spanned<String>, field: &str, networks: &[PlanNetwork], members: &[String], nodes: &[PlanNode]) -> Option<String> {
    if !networks.iter().any(|n| n.name == s.value) {
        c.at(s, field, &format!("unknown network `{}`", s.value), &known("networks", networks.iter().map(|n| n.name.as_str())));
        return None;
    }
    for m in members {
        if nodes.iter().find(|n| &n.name == m).is_some_and(|n| !n.interfaces.iter().any(|i| i.network == s.value)) {
            c.at(s, field, &format!("cluster member `{m}` is not attached to network `{}`", s.value), "");
        }
    }
    Some(s.value.clone())
}

pub(super) fn check(c: &mut Checker, cl: &ClusterSpec, networks: &[PlanNetwork], nodes: &[PlanNode], used: &HashMap<Ipv4Addr, String>) -> Option<PlanCluster> {
    let members = members(c, cl, nodes);
    let vips = vips(c, cl, networks, nodes, &members, used);
    let stack = match &cl.stack {
        None => Stack::None,
        Some(s) => Stack::parse(&s.value).unwrap_or_else(|| {
            c.at(s, "cluster.stack", &format!("unknown stack `{}`", s.value), &format!("one of: {}", Stack::names().join(", ")));
            Stack::None
        }),
    };
    let sync = match &cl.sync {
        None => SyncSettings {
            network: None,
            conntrackd: ConntrackdMode::Off,
            transport: SyncTransport::Multicast,
            agent: default_conntrackd_agent(),
            agent_at: None,
        },
        Some(s) => sync(c, s, networks, nodes, &members),
    };
    let mut keepalived = super::keepalived::check(c, cl.keepalived.as_ref(), &members);
    // `adverts`: `each`, or a network every member is on (checked as the sync network is).
    if let Some(a) = cl.keepalived.as_ref().and_then(|k| k.adverts.as_ref()).filter(|a| a.value != "each") {
        keepalived.adverts = network(c, a, "cluster.keepalived.adverts", networks, &members, nodes);
    }
    let corosync = corosync(c, cl.corosync.as_ref(), sync.network.as_ref(), networks, nodes, &members);
    if let (Some(why), Some(s)) = (super::plan::stack_unfit(stack, &corosync.links), &cl.stack) {
        c.at(s, "cluster.stack", why, "");
    }
    let pacemaker = pacemaker(c, cl.pacemaker.as_ref(), &members);
    let firewall = match &cl.firewall {
        None => FirewallSettings { enabled: false, new_connections: Vec::new() },
        Some(f) => firewall(c, f, networks, nodes, &members),
    };
    let rejoin = c.choice(cl.rejoin.as_ref(), "cluster.rejoin", "rejoin", &[("auto", Rejoin::Auto), ("manual", Rejoin::Manual)], Rejoin::Auto);
    let fencing = fencing(c, cl.fencing.as_ref(), members.len());
    let mut recipe = vec!["vips".to_string()];
    if sync.conntrackd != ConntrackdMode::Off {
        recipe.push("conntrackd-clone".into());
    }
    let mut service = super::resources::check(c, cl, &members, &recipe);
    for (i, p) in cl.prepare.iter().enumerate() {
        if p.value.trim().is_empty() {
            c.at(p, &format!("cluster.prepare[{i}]"), "an empty command", "a shell command, e.g. `/usr/local/sbin/make-backing`");
        }
        service.prepare.push(p.value.clone());
    }
    if members.is_empty() {
        return None;
    }
    Some(PlanCluster { members, vips, stack, keepalived, corosync, pacemaker, sync, firewall, rejoin, fencing, service })
}

/// The members: known nodes, each once.
fn members(c: &mut Checker, cl: &ClusterSpec, nodes: &[PlanNode]) -> Vec<String> {
    let mut members = Vec::new();
    for m in &cl.members {
        if members.contains(&m.value) {
            c.at(m, "cluster.members", &format!("member `{}` is listed twice", m.value), "");
        } else if !nodes.iter().any(|n| n.name == m.value) {
            c.at(m, "cluster.members", &format!("unknown node `{}`", m.value), &known("nodes", nodes.iter().map(|n| n.name.as_str())));
        } else {
            members.push(m.value.clone());
        }
    }
    members
}

/// The VIPs: a free host address of a network every member is attached to.
fn vips(c: &mut Checker, cl: &ClusterSpec, networks: &[PlanNetwork], nodes: &[PlanNode], members: &[String], used: &HashMap<Ipv4Addr, String>) -> Vec<PlanVip> {
    let mut vips = Vec::new();
    for (net_name, addr_s) in cl.vips.iter() {
        let f = format!("cluster.vips.{}", net_name.value);
        let Some(net) = networks.iter().find(|n| n.name == net_name.value) else {
            c.at(net_name, &f, &format!("unknown network `{}`", net_name.value), &known("networks", networks.iter().map(|n| n.name.as_str())));
            continue;
        };
        let Some(addr) = c.addr(addr_s, &f) else { continue };
        if !net.subnet.contains(&addr) || addr == net.subnet.network() || addr == net.subnet.broadcast() {
            c.at(addr_s, &f, &format!("VIP {addr} is not a host address of network `{}` ({})", net.name, net.subnet), "");
            continue;
        }
        if let Some(owner) = used.get(&addr) {
            c.at(addr_s, &f, &format!("VIP {addr} collides with the address of {owner}"), "a VIP must be an address no node has");
            continue;
        }
        for m in members {
            if nodes.iter().find(|n| &n.name == m).is_some_and(|n| !n.interfaces.iter().any(|i| i.network == net.name)) {
                let msg = format!("cluster member `{m}` is not attached to network `{}`", net.name);
                c.at(net_name, &f, &msg, "every member needs an interface on each VIP network");
            }
        }
        vips.push(PlanVip { network: net.name.clone(), ifname: net.ifname.clone(), address: addr, prefix_len: net.subnet.prefix_len() });
    }
    vips
}

/// `sync:`: conntrackd's network, mode, transport and the agent that runs it.
fn sync(c: &mut Checker, s: &super::model::SyncSpec, networks: &[PlanNetwork], nodes: &[PlanNode], members: &[String]) -> SyncSettings {
    let network = network(c, &s.network, "cluster.sync.network", networks, members, nodes);
    let modes = [("ftfw", ConntrackdMode::Ftfw), ("alarm", ConntrackdMode::Alarm), ("notrack", ConntrackdMode::Notrack), ("off", ConntrackdMode::Off)];
    // Absent: ftfw for a pair, notrack for more members (conntrackd's FTFW tracks one sequence
    // for all its peers and drops what a third sender interleaves: docs/conntrackd-ftfw-three-members.md);
    // unknown: reported, and off.
    let conntrackd = if s.conntrackd.is_none() {
        if members.len() > 2 {
            ConntrackdMode::Notrack
        } else {
            ConntrackdMode::Ftfw
        }
    } else {
        c.choice(s.conntrackd.as_ref(), "cluster.sync.conntrackd", "conntrackd mode", &modes, ConntrackdMode::Off)
    };
    let transports = [("multicast", SyncTransport::Multicast), ("udp", SyncTransport::Udp)];
    let transport = c.choice(s.transport.as_ref(), "cluster.sync.transport", "transport", &transports, SyncTransport::Multicast);
    if let (SyncTransport::Udp, Some(t)) = (transport, &s.transport) {
        if members.len() != 2 {
            c.at(t, "cluster.sync.transport", "udp sync needs exactly two members", "use multicast for more");
        }
    }
    let agent = match s.agent.as_ref().map(|a| (a, a.value.split(':').collect::<Vec<_>>())) {
        None => default_conntrackd_agent(),
        Some((_, parts)) if parts.len() == 3 && parts[0] == "ocf" && !parts[1].is_empty() && !parts[2].is_empty() => {
            (parts[1].to_string(), parts[2].to_string())
        }
        Some((a, _)) => {
            c.at(a, "cluster.sync.agent", &format!("`{}` is not an OCF agent", a.value), "write it as ocf:PROVIDER:TYPE");
            default_conntrackd_agent()
        }
    };
    let agent_at = s.agent.as_ref().map(|a| c.span(a));
    SyncSettings { network, conntrackd, transport, agent, agent_at }
}

/// `corosync:`: its links (default: the sync network) and timers.
fn corosync(
    c: &mut Checker,
    co: Option<&super::model::CorosyncSpec>,
    sync_network: Option<&String>,
    networks: &[PlanNetwork],
    nodes: &[PlanNode],
    members: &[String],
) -> CorosyncSettings {
    let mut links = Vec::new();
    match co.and_then(|k| k.link.as_ref()) {
        Some(l) => links.extend(network(c, l, "cluster.corosync.link", networks, members, nodes)),
        None => links.extend(sync_network.cloned()),
    }
    if let Some(l) = co.and_then(|k| k.second_link.as_ref()) {
        links.extend(network(c, l, "cluster.corosync.second_link", networks, members, nodes));
    }
    let token = co.and_then(|k| k.token.clone());
    let token_ms = ms(c, &token, "cluster.corosync.token", 3000, 1);
    // corosync lengthens the token by token_coefficient (650 ms) per member beyond two, and
    // derives knet's pong timeout from it (token / 2); libknet 1.27+ (trixie; corosync 3.1.8+
    // then refuses to start) needs that timeout at 200 ms or more, its timer resolution.
    let effective = token_ms + 650 * (members.len().saturating_sub(2) as u32);
    if let Some(t) = token.as_ref().filter(|_| effective < 400) {
        c.at(
            t,
            "cluster.corosync.token",
            &format!("`{}` is too short: knet's pong timeout would be {} ms, below libknet's 200 ms timer resolution", t.value, effective / 2),
            "at least 400ms with two members (corosync 3.1.8+ refuses to start below it)",
        );
    }
    let consensus_ms = ms(c, &co.and_then(|k| k.consensus.clone()), "cluster.corosync.consensus", token_ms * 6 / 5, 200);
    CorosyncSettings { links, token_ms, consensus_ms }
}

/// `pacemaker:`: the preferred member (default: the first), stickiness, timers.
fn pacemaker(c: &mut Checker, pm: Option<&super::model::PacemakerSpec>, members: &[String]) -> PacemakerSettings {
    let preferred = match pm.and_then(|p| p.preferred.as_ref()) {
        Some(p) if members.contains(&p.value) => p.value.clone(),
        Some(p) => {
            c.at(p, "cluster.pacemaker.preferred", &format!("`{}` is not a cluster member", p.value), "");
            String::new()
        }
        None => members.first().cloned().unwrap_or_default(),
    };
    PacemakerSettings {
        dc_deadtime_ms: ms(c, &pm.and_then(|p| p.dc_deadtime.clone()), "cluster.pacemaker.dc_deadtime", 2000, 0),
        stickiness: pm.and_then(|p| p.stickiness).unwrap_or(100),
        preferred,
        link_monitor: pm.and_then(|p| p.link_monitor).unwrap_or(true),
    }
}

/// `firewall:`: the directions new connections may take, between known networks.
fn firewall(c: &mut Checker, f: &super::model::FirewallSpec, networks: &[PlanNetwork], nodes: &[PlanNode], members: &[String]) -> FirewallSettings {
    let mut dirs = Vec::new();
    for (i, d) in f.new_connections.iter().enumerate() {
        let field = format!("cluster.firewall.new_connections[{i}]");
        let from = network(c, &d.from, &format!("{field}.from"), networks, members, nodes);
        let to = network(c, &d.to, &format!("{field}.to"), networks, members, nodes);
        if let (Some(from), Some(to)) = (from, to) {
            dirs.push((from, to));
        }
    }
    FirewallSettings { enabled: true, new_connections: dirs }
}

fn fencing(c: &mut Checker, f: Option<&super::model::FencingSpec>, members: usize) -> FencingSettings {
    let methods: Vec<(&str, Option<FenceMethod>)> = FenceMethod::ALL.iter().map(|x| (x.name(), Some(*x))).collect();
    let method = c.choice(f.and_then(|f| f.method.as_ref()), "cluster.fencing.method", "fencing method", &methods, None);
    let action =
        c.choice(f.and_then(|f| f.action.as_ref()), "cluster.fencing.action", "fence action", &[("reboot", "reboot"), ("off", "off")], "reboot").to_string();
    // Two members race to fence each other on a partition: by default the one running the
    // VIPs wins (its fencing is delayed), as real two-node clusters are set up.
    // 2 s: far more than the lab's fencer takes to power a node off (~0.1 s on netns), and
    // every second of it is added to a crash of the active. On slower providers `up` scales
    // the default (`FencingSettings::scale_default_delay`).
    let priority_default = if members == 2 && f.and_then(|f| f.delay.as_ref()).is_none() { 2000 } else { 0 };
    FencingSettings {
        method,
        action,
        delay_max_ms: ms(c, &f.and_then(|f| f.delay.clone()), "cluster.fencing.delay", 0, 0),
        priority_delay_ms: ms(c, &f.and_then(|f| f.priority_delay.clone()), "cluster.fencing.priority_delay", priority_default, 0),
        priority_delay_given: f.is_some_and(|f| f.priority_delay.is_some()),
        at: f.and_then(|f| f.method.as_ref()).map(|m| c.span(m)),
    }
}
