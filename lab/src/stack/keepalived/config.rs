//! keepalived: one VRRP instance per VIP network, all in one sync group so every VIP moves
//! together; or (`adverts: NETWORK`) one instance advertising over that network, holding every
//! VIP and tracking every VIP interface (docs/keepalived-cable-pull.md). Transitions go to the
//! notify FIFO (`notify.rs`), whose reader drives conntrackd and tells the user's notify
//! command. The user's track scripts are tracked by every instance.

use crate::topology::{PlanCluster, PlanNode};

pub const CONFIG: &str = "/etc/keepalived/keepalived.conf";

pub fn config(cl: &PlanCluster, node: &PlanNode) -> String {
    let k = &cl.keepalived;
    let prio = k.priorities.iter().find(|(m, _)| *m == node.name).map(|(_, p)| *p).unwrap_or(100);
    let advert = if k.advert_int_ms.is_multiple_of(1000) { format!("{}", k.advert_int_ms / 1000) } else { format!("{:.2}", k.advert_int_ms as f64 / 1000.0) };
    let mut s = format!(
        "# halab: keepalived of {} (generated)\nglobal_defs {{\n    router_id {}\n    vrrp_version {}\n    script_user root\n    enable_script_security\n",
        node.name, node.name, k.version
    );
    if let Some(d) = k.garp_master_delay_s {
        s.push_str(&format!("    vrrp_garp_master_delay {d}\n"));
    }
    if let Some(r) = k.garp_master_repeat {
        s.push_str(&format!("    vrrp_garp_master_repeat {r}\n"));
    }
    s.push_str(&format!("    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script {}\n}}\n", super::notify::FIFO, super::notify::SCRIPT));
    // The user's track scripts, declared before anything that tracks them.
    for t in &k.track_scripts {
        s.push_str(&format!("\nvrrp_script chk_{} {{\n    script \"{}\"\n    interval {}\n", t.name, t.script.replace('"', "\\\""), t.interval_s));
        for (key, v) in
            [("timeout", t.timeout_s.map(|v| v as i64)), ("weight", t.weight.map(i64::from)), ("fall", t.fall.map(i64::from)), ("rise", t.rise.map(i64::from))]
        {
            if let Some(v) = v {
                s.push_str(&format!("    {key} {v}\n"));
            }
        }
        s.push_str("}\n");
    }
    if super::notify::unit(cl) == "GROUP" {
        s.push_str("\nvrrp_sync_group halab {\n    group {\n");
        for v in &cl.vips {
            s.push_str(&format!("        vi_{}\n", v.network));
        }
        s.push_str("    }\n");
        // Without it keepalived ignores a weighted track script on an instance of a sync group.
        if k.track_scripts.iter().any(|t| t.weight.is_some_and(|w| w != 0)) {
            s.push_str("    sync_group_tracking_weight\n");
        }
        s.push_str("}\n");
    }
    let track = if k.track_scripts.is_empty() {
        String::new()
    } else {
        format!("    track_script {{\n{}    }}\n", k.track_scripts.iter().map(|t| format!("        chk_{}\n", t.name)).collect::<String>())
    };
    if let Some(net) = &k.adverts {
        s.push_str(&one_instance(cl, node, net, prio, (&advert, &track)));
        return s;
    }
    for (i, v) in cl.vips.iter().enumerate() {
        s.push_str(&format!(
            "\nvrrp_instance vi_{net} {{\n    state BACKUP\n    interface {ifname}\n    virtual_router_id {vrid}\n    priority {prio}\n    advert_int {advert}\n{preempt}{track}    virtual_ipaddress {{\n        {addr}/{len} dev {ifname}\n    }}\n}}\n",
            net = v.network,
            ifname = v.ifname,
            vrid = 10 + i,
            preempt = if k.preempt { "" } else { "    nopreempt\n" },
            addr = v.address,
            len = v.prefix_len
        ));
    }
    s
}

/// One instance over `net` with every VIP on its own interface. Every VIP interface is tracked
/// (weight 0: FAULT when one loses its carrier), so a master with a pulled cable leaves MASTER
/// with a priority-0 advert over `net`, and the backup takes over after its skew.
fn one_instance(cl: &PlanCluster, node: &PlanNode, net: &str, prio: u32, (advert, track): (&str, &str)) -> String {
    let k = &cl.keepalived;
    let dev = node.interfaces.iter().find(|i| i.network == net).map_or(net, |i| i.ifname.as_str());
    let tracked: String = cl.vips.iter().filter(|v| v.ifname != dev).map(|v| format!("        {}\n", v.ifname)).collect();
    let addrs: String = cl.vips.iter().map(|v| format!("        {}/{} dev {}\n", v.address, v.prefix_len, v.ifname)).collect();
    format!(
        "\nvrrp_instance vi_{net} {{\n    state BACKUP\n    interface {dev}\n    virtual_router_id 10\n    priority {prio}\n    advert_int {advert}\n{preempt}{track}{tracked}    virtual_ipaddress {{\n{addrs}    }}\n}}\n",
        preempt = if k.preempt { "" } else { "    nopreempt\n" },
        tracked = if tracked.is_empty() { String::new() } else { format!("    track_interface {{\n{tracked}    }}\n") },
    )
}
