//! Topology validation: one bad file per rule, each with its message and line:col, and
//! a valid topology that round-trips to a Plan; the shipped scenarios load with their
//! headlines, and a bad headline is reported at its position.

use std::path::Path;

use halab::topology;

fn problems(file: &str) -> String {
    let path = Path::new("tests/data/bad").join(file);
    match topology::load(&path, None) {
        Ok(_) => panic!("{file} was accepted"),
        Err(e) => e.diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"),
    }
}

/// (file, the position and words that must appear)
const CASES: &[(&str, &str, &str)] = &[
    ("empty.yaml", "empty.yaml:1:1:", "the file is empty"),
    ("syntax.yaml", "syntax.yaml:4:", ""),
    ("unknown-field.yaml", "unknown-field.yaml:3:", "unknown field `mtu`"),
    ("duplicate-node.yaml", "duplicate-node.yaml:6:3:", "node `a` is defined twice"),
    ("duplicate-network.yaml", "duplicate-network.yaml:4:3:", "network `lan` is defined twice"),
    ("unknown-network.yaml", "unknown-network.yaml:5:39:", "unknown network `wan`"),
    ("unknown-node.yaml", "unknown-node.yaml:7:17:", "unknown node `ghost`"),
    ("address-outside-subnet.yaml", "address-outside-subnet.yaml:5:27:", "198.18.3.1 is not a host address of network `lan`"),
    ("duplicate-address.yaml", "duplicate-address.yaml:6:27:", "198.18.2.1 is already used by node `a`"),
    ("overlapping-subnets.yaml", "overlapping-subnets.yaml:4:18:", "overlaps network `lan`"),
    ("vip-collides.yaml", "vip-collides.yaml:9:16:", "VIP 198.18.2.2 collides with the address of node `b`"),
    ("ifname-too-long.yaml", "ifname-too-long.yaml:3:3:", "has 17 characters; Linux allows 15"),
    ("node-without-interface.yaml", "node-without-interface.yaml:6:3:", "node `lonely` has no interface"),
    ("vm-size-out-of-range.yaml", "vm-size-out-of-range.yaml:7:23:", "nodes.a.vm.memory_mib: 64 MiB is out of range"),
    ("network-covers-mgmt-pool.yaml", "network-covers-mgmt-pool.yaml:4:24:", "covers 198.19.0.0/16, the pool management networks are chosen from"),
    ("network-on-management.yaml", "network-on-management.yaml:5:24:", "overlaps the management subnet 198.18.9.0/24"),
];

#[test]
fn each_rule_reports_its_position_and_reason() {
    for (file, position, words) in CASES {
        let got = problems(file);
        assert!(got.contains(position), "{file}: expected position {position} in:\n{got}");
        assert!(got.contains(words), "{file}: expected `{words}` in:\n{got}");
    }
}

#[test]
fn every_bad_file_is_covered() {
    let listed: Vec<&str> = CASES.iter().map(|c| c.0).chain(["many-problems.yaml"]).collect();
    for e in std::fs::read_dir("tests/data/bad").unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(listed.contains(&name.as_str()), "{name} has no case");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    insta::assert_snapshot!(problems("many-problems.yaml"));
}

#[test]
fn rule_messages_snapshot() {
    let all: Vec<String> = CASES.iter().map(|(f, _, _)| problems(f)).collect();
    insta::assert_snapshot!(all.join("\n"));
}

#[test]
fn shipped_topology_round_trips_to_a_plan() {
    let plan = topology::load(Path::new("../topologies/fw-pair.yaml"), None).expect("fw-pair is valid");
    assert_eq!(plan.nodes.len(), 4);
    let json = serde_json::to_string(&plan).unwrap();
    let back: topology::Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(plan, back);
    let fw1 = plan.node("fw1").unwrap();
    assert!(fw1.forwarding);
    assert_eq!(fw1.interfaces.iter().map(|i| i.ifname.as_str()).collect::<Vec<_>>(), ["inet", "lan", "heartbeat"]);
    assert!(!plan.node("client").unwrap().forwarding);
    let cluster = plan.cluster.as_ref().unwrap();
    assert_eq!(cluster.vips.len(), 2);
    insta::assert_snapshot!(halab::yaml::to_string(&plan).unwrap());
}

#[test]
fn lab_name_changes_ids_and_macs_but_not_addresses() {
    let a = topology::load(Path::new("../topologies/fw-pair.yaml"), Some("lab-a")).unwrap();
    let b = topology::load(Path::new("../topologies/fw-pair.yaml"), Some("lab-b")).unwrap();
    assert_ne!(a.id, b.id);
    assert_ne!(a.nodes[0].interfaces[0].mac, b.nodes[0].interfaces[0].mac);
    assert_eq!(a.nodes[0].interfaces[0].address, b.nodes[0].interfaces[0].address);
    let bad = topology::load(Path::new("../topologies/fw-pair.yaml"), Some("Bad Name")).unwrap_err();
    assert!(bad.to_string().contains("lab name `Bad Name` is not allowed"), "{bad}");
}

#[test]
fn shipped_scenarios_carry_their_headlines() {
    for e in std::fs::read_dir("../scenarios").unwrap() {
        let path = e.unwrap().path();
        let sc = halab::scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for h in &sc.report.headline {
            assert!(!h.label.is_empty() && !h.unit.is_empty(), "{}: {h:?}", path.display());
        }
    }
    let sc = halab::scenario::load(Path::new("../scenarios/scp-survives-failover.yaml")).unwrap();
    let rows: Vec<(&str, &str)> = sc.report.headline.iter().map(|h| (h.metric.as_str(), h.unit.as_str())).collect();
    assert_eq!(rows, [("probe.gap", "ms"), ("probe.tcp.gap", "ms"), ("detection", "ms"), ("takeover", "ms"), ("bulk.checksum_ok", "flag")]);
}

/// A headline is checked like an expectation: its metric must belong to a traffic of the
/// scenario or the lab, with the position of the bad entry.
#[test]
fn headline_metrics_are_checked_with_positions() {
    let topo = std::fs::canonicalize("../topologies/fw-pair.yaml").unwrap();
    let file = std::env::temp_dir().join(format!("halab-headline-{}.yaml", std::process::id()));
    let text = format!(
        "name: mine\ntopology: {}\nsteps:\n  - traffic: {{ name: ping1, kind: probe, from: client, to: server }}\nreport:\n  headline:\n    - {{ metric: ping1.gap, label: Gap, unit: ms }}\n    - {{ metric: pong.gap, label: Other, unit: ms }}\n    - {{ metric: \"ping1 gap\", label: \"\", unit: ms }}\n    - {{ metric: ping1.gap, label: Again, unit: ms }}\n",
        topo.display()
    );
    std::fs::write(&file, text).unwrap();
    let err = halab::scenario::load(&file).unwrap_err().to_string();
    let _ = std::fs::remove_file(&file);
    assert!(err.contains(":8:17: report.headline[1].metric: `pong.gap` names no traffic of this scenario"), "{err}");
    assert!(err.contains(":9:17: report.headline[2].metric: `ping1 gap` is not a metric name"), "{err}");
    assert!(err.contains(":9:37: report.headline[2].label: the label is empty"), "{err}");
    assert!(err.contains(":10:17: report.headline[3].metric: `ping1.gap` is headlined twice"), "{err}");
    assert!(!err.contains("headline[0]"), "{err}");
}
