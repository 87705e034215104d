//! Generated stack configs, snapshot-tested: keepalived.conf, conntrackd.conf, the notify
//! script, corosync.conf, the CIB and the nft ruleset, for a pair and for three members.

use std::net::Ipv4Addr;
use std::path::Path;

use halab::stack::{cib, conntrackd, corosync, firewall, keepalived};
use halab::topology::{self, Plan, PlanCluster};

fn load(file: &str) -> (Plan, PlanCluster) {
    let plan = topology::load(Path::new(file), None).expect("valid topology");
    let cl = plan.cluster.clone().expect("a cluster");
    (plan, cl)
}

const MGMT: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 11);
const FENCER: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);

#[test]
fn fw_pair_configs() {
    let (plan, cl) = load("../topologies/fw-pair.yaml");
    let fw1 = plan.node("fw1").unwrap();
    let fw2 = plan.node("fw2").unwrap();
    insta::assert_snapshot!("keepalived_fw1", keepalived::config(&cl, fw1));
    insta::assert_snapshot!("keepalived_fw2", keepalived::config(&cl, fw2));
    insta::assert_snapshot!("conntrackd_fw1", conntrackd::config(&plan, &cl, fw1, MGMT).unwrap());
    insta::assert_snapshot!("notify_script", keepalived::notify::script(keepalived::notify::unit(&cl), None));
    insta::assert_snapshot!("corosync_pair", corosync::config(&plan, &cl));
    insta::assert_snapshot!("cib_pair", cib::cib(&plan, &cl, FENCER, 1).unwrap());
    insta::assert_snapshot!("nft_fw1", firewall::ruleset(&plan, &cl, fw1));
}

/// The user's keepalived hooks: every instance tracks the script, the sync group honours its
/// weight, and the FIFO reader calls the notify command with each transition.
#[test]
fn keepalived_hooks_reach_the_config_and_the_notify_reader() {
    let (plan, cl) = load("tests/data/own/vrrp-hooks.yaml");
    let conf = keepalived::config(&cl, plan.node("a").unwrap());
    insta::assert_snapshot!("keepalived_hooks_a", conf);
    assert_eq!(conf.matches("track_script {").count(), 2, "both instances track it");
    let script = keepalived::notify::script(keepalived::notify::unit(&cl), cl.keepalived.notify.as_deref());
    assert!(script.contains("/usr/local/bin/on-vrrp \"$kind\" \"$name\" \"$state\" $prio"), "{script}");
}

#[test]
fn three_members_drop_two_node_and_quorum_override() {
    let (plan, cl) = load("../topologies/fw-trio.yaml");
    let co = corosync::config(&plan, &cl);
    assert!(!co.contains("two_node"), "three members must not run two_node:\n{co}");
    assert_eq!(co.matches("nodeid:").count(), 3);
    let c = cib::cib(&plan, &cl, FENCER, 1).unwrap();
    assert!(!c.contains("no-quorum-policy"), "three members keep quorum");
    assert!(c.contains("name=\"clone-max\" value=\"3\""));
    insta::assert_snapshot!("corosync_trio", co);
}

#[test]
fn conntrackd_udp_transport_and_modes() {
    let text = std::fs::read_to_string("../topologies/fw-pair.yaml").unwrap().replace("conntrackd: ftfw }", "conntrackd: alarm, transport: udp }");
    let plan = topology::load_str(Path::new("fw-pair-udp.yaml"), &text, None).unwrap();
    let cl = plan.cluster.clone().unwrap();
    let conf = conntrackd::config(&plan, &cl, plan.node("fw1").unwrap(), MGMT).unwrap();
    assert!(conf.contains("Mode ALARM"), "{conf}");
    assert!(conf.contains("IPv4_Destination_Address 198.18.3.2"), "the peer is fw2: {conf}");
    // The UNIX block must span several lines (ocf:heartbeat:conntrackd parses it with awk).
    assert!(conf.contains("UNIX {\n\t\tPath /var/run/conntrackd.ctl\n\t}"));
}

#[test]
fn firewall_allows_only_the_configured_direction() {
    let (plan, cl) = load("../topologies/fw-pair.yaml");
    let rules = firewall::ruleset(&plan, &cl, plan.node("fw1").unwrap());
    assert!(rules.contains("iifname \"inet\" oifname \"lan\" ct state new accept"));
    assert!(!rules.contains("iifname \"lan\" oifname \"inet\" ct state new"));
    assert!(rules.contains("policy drop"));
}

#[test]
fn without_a_firewall_the_ruleset_only_tracks_connections() {
    let text = std::fs::read_to_string("../topologies/fw-pair.yaml").unwrap();
    let start = text.find("  firewall:").unwrap();
    let end = start + text[start..].find("  # Defaults").unwrap();
    let plan = topology::load_str(Path::new("fw-pair-nofw.yaml"), &format!("{}{}", &text[..start], &text[end..]), None).unwrap();
    let cl = plan.cluster.clone().unwrap();
    assert!(!cl.firewall.enabled && conntrackd::enabled(&cl));
    let rules = firewall::ruleset(&plan, &cl, plan.node("fw1").unwrap());
    assert!(!rules.contains("policy drop"), "routing must keep working without a firewall:\n{rules}");
    assert!(rules.contains("ct state invalid counter name \"invalid\" drop"), "connections are still tracked");
}

#[test]
fn fencing_in_the_cib() {
    let (plan, mut cl) = load("../topologies/fw-pair.yaml");
    cl.stack = halab::topology::Stack::Pacemaker;
    cl.fencing.method = Some(halab::topology::FenceMethod::Halab);
    let c = cib::cib(&plan, &cl, FENCER, 1).unwrap();
    for want in [
        "name=\"stonith-enabled\" value=\"true\"",
        "name=\"stonith-action\" value=\"reboot\"",
        "name=\"priority-fencing-delay\" value=\"2000ms\"",
        "<primitive id=\"fence-fw1\" class=\"stonith\" type=\"fence_halab\">",
        "<nvpair id=\"fence-fw1-pcmk_host_list\" name=\"pcmk_host_list\" value=\"fw1\"/>",
        "<nvpair id=\"fence-fw2-ip\" name=\"ip\" value=\"198.19.0.1\"/>",
        "<rsc_location id=\"fence-fw1-not-on-fw1\" rsc=\"fence-fw1\" node=\"fw1\" score=\"-INFINITY\"/>",
        "<nvpair id=\"vips-meta-priority\" name=\"priority\" value=\"10\"/>",
    ] {
        assert!(c.contains(want), "missing {want}:\n{c}");
    }
    assert!(!c.contains("no-quorum-policy"), "with fencing, two_node keeps the survivor quorate");
    insta::assert_snapshot!("cib_pair_fenced", c);
    // Off: the lab as before, and its two nodes ignore quorum.
    cl.fencing.method = Some(halab::topology::FenceMethod::Off);
    let c = cib::cib(&plan, &cl, FENCER, 1).unwrap();
    assert!(c.contains("name=\"stonith-enabled\" value=\"false\"") && c.contains("no-quorum-policy") && !c.contains("fence-fw1"));
}
