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
    ("syntax.yaml", "syntax.yaml:4:6:", "did not find expected ',' or '}'"),
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
    ("resource-bad-constraint.yaml", "resource-bad-constraint.yaml:14:30:", "cluster.constraints[0].with: unknown resource `ghost`"),
    ("resource-missing-file.yaml", "resource-missing-file.yaml:8:22:", "nodes.b.files[0].from: no file `no-such-file.conf`"),
    ("resource-missing-file.yaml", "resource-missing-file.yaml:13:19:", "cluster.agents.mine: no directory `no-such-dir/`"),
    ("resource-bad-agent.yaml", "resource-bad-agent.yaml:12:19:", "`heartbeat/Dummy` is not an agent"),
    ("resource-bad-agent.yaml", "resource-bad-agent.yaml:13:24:", "unknown resource `nothing`"),
    ("bad-package.yaml", "bad-package.yaml:2:26:", "packages: `Not_A_Package` is not a Debian package name"),
    ("bad-package.yaml", "bad-package.yaml:2:43:", "package `ovn-central` is listed twice"),
    ("keepalived-bad-hooks.yaml", "keepalived-bad-hooks.yaml:13:22:", "`check-web` does not start with an absolute path"),
    ("keepalived-bad-hooks.yaml", "keepalived-bad-hooks.yaml:13:43:", "`1500ms` is not whole seconds"),
    ("keepalived-bad-hooks.yaml", "keepalived-bad-hooks.yaml:13:59:", "weight -300 is out of range"),
    ("keepalived-bad-hooks.yaml", "keepalived-bad-hooks.yaml:14:13:", "cluster.keepalived.notify: `on-vrrp --log` does not start"),
    ("prepare-empty.yaml", "prepare-empty.yaml:10:34:", "cluster.prepare[1]: an empty command"),
    ("boot-time.yaml", "boot-time.yaml:2:12:", "boot_time: `soon` is not a duration"),
    ("node-provider.yaml", "node-provider.yaml:5:18:", "nodes.a.provider: a node's provider can only be `netns`, not `libvirt`"),
    // Every field that names one of a fixed set says which names it allows.
    ("unknown-choices.yaml", "unknown-choices.yaml:11:11:", "unknown rejoin `sometimes` (hint: one of: auto, manual)"),
    ("unknown-choices.yaml", "unknown-choices.yaml:12:37:", "unknown conntrackd mode `fast` (hint: one of: ftfw, alarm, notrack, off)"),
    ("unknown-choices.yaml", "unknown-choices.yaml:12:54:", "unknown transport `tcp` (hint: one of: multicast, udp)"),
    ("unknown-choices.yaml", "unknown-choices.yaml:13:22:", "unknown fencing method `nope` (hint: one of: off, halab, virt)"),
    ("unknown-choices.yaml", "unknown-choices.yaml:13:36:", "unknown fence action `poweroff` (hint: one of: reboot, off)"),
    ("unknown-choices.yaml", "unknown-choices.yaml:15:49:", "unknown clone `maybe` (hint: one of: false, true, promotable)"),
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
    assert_eq!(
        rows,
        [
            ("probe.gap", "ms"),
            ("probe.tcp.gap", "ms"),
            ("detection", "ms"),
            ("takeover", "ms"),
            ("detection_polled", "ms"),
            ("takeover_polled", "ms"),
            ("bulk.checksum_ok", "flag")
        ]
    );
}

/// The error of loading a scenario on the shipped fw-pair topology whose body (from line 3 on)
/// is `body`.
fn fw_pair_scenario_error(name: &str, body: &str) -> String {
    let topo = std::fs::canonicalize("../topologies/fw-pair.yaml").unwrap();
    let file = std::env::temp_dir().join(format!("halab-{name}-{}.yaml", std::process::id()));
    std::fs::write(&file, format!("name: mine\ntopology: {}\n{body}", topo.display())).unwrap();
    let err = halab::scenario::load(&file).unwrap_err().to_string();
    let _ = std::fs::remove_file(&file);
    err
}

/// An expectation names a metric the traffic's kind records, or the run's own: a misspelt
/// one never held and said only "missing" at the end of a run.
#[test]
fn expectations_name_metrics_that_the_traffic_records() {
    let err = fw_pair_scenario_error(
        "expect-metric",
        "steps:\n  - traffic: { name: ping, kind: probe, from: client, to: server }\n  - traffic: { name: bulk, kind: scp, from: client, to: server }\nexpect:\n  - \"ping.gapp < 15s\"\n  - bulk.checksum_ok\n  - bulk.tcp.survived\n  - fenced.fw2\n  - \"fence.count == 1\"\n  - splitbrain\n",
    );
    assert!(err.contains(":7:5: expect: traffic `ping` (kind probe) records no `gapp`"), "{err}");
    assert!(err.contains("a probe traffic records: gap, recovered,"), "{err}");
    assert!(err.contains(":9:5: expect: traffic `bulk` (kind scp) records no `tcp.survived`"), "{err}");
    assert!(err.contains(":12:5: expect: `splitbrain` names no traffic of this scenario"), "{err}");
    assert!(err.contains("run metrics: failover, failover_window, vip_moved,") && err.contains("fenced.<member>"), "{err}");
    assert_eq!(err.matches(": expect: ").count(), 3, "bulk.checksum_ok, fenced.fw2 and fence.count are known: {err}");
}

/// A headline is checked like an expectation: its metric must belong to a traffic of the
/// scenario or the lab, with the position of the bad entry.
#[test]
fn headline_metrics_are_checked_with_positions() {
    let err = fw_pair_scenario_error(
        "headline",
        "steps:\n  - traffic: { name: ping1, kind: probe, from: client, to: server }\nreport:\n  headline:\n    - { metric: ping1.gap, label: Gap, unit: ms }\n    - { metric: pong.gap, label: Other, unit: ms }\n    - { metric: \"ping1 gap\", label: \"\", unit: ms }\n    - { metric: ping1.gap, label: Again, unit: ms }\n",
    );
    assert!(err.contains(":8:17: report.headline[1].metric: `pong.gap` names no traffic of this scenario"), "{err}");
    assert!(err.contains(":9:17: report.headline[2].metric: `ping1 gap` is not a metric name"), "{err}");
    assert!(err.contains(":9:37: report.headline[2].label: the label is empty"), "{err}");
    assert!(err.contains(":10:17: report.headline[3].metric: `ping1.gap` is headlined twice"), "{err}");
    assert!(!err.contains("headline[0]"), "{err}");
}

/// Load a scenario on the shipped fw-pair topology (or `topology`) whose `steps:` are
/// `steps` (YAML lines); the scenario's own lines start at line 4. Err: every problem.
fn scenario_with(tag: &str, topology: Option<&Path>, head: &str, steps: &str) -> Result<halab::scenario::Scenario, String> {
    let topo = std::fs::canonicalize(topology.unwrap_or(Path::new("../topologies/fw-pair.yaml"))).unwrap();
    let file = std::env::temp_dir().join(format!("halab-{tag}-{}.yaml", std::process::id()));
    std::fs::write(&file, format!("name: mine\ntopology: {}\n{head}steps:\n{steps}", topo.display())).unwrap();
    let got = halab::scenario::load(&file).map_err(|e| e.to_string());
    let _ = std::fs::remove_file(&file);
    got
}

fn steps(tag: &str, steps: &str) -> Result<halab::scenario::Scenario, String> {
    scenario_with(tag, None, "", steps)
}

/// Every registered fault validates from its own example and becomes a step of its kind,
/// described as written.
#[test]
fn every_registered_fault_validates_and_becomes_its_step() {
    use halab::scenario::plan::Step;
    for verb in halab::scenario::faults::VERBS {
        let sc = steps("fault-example", &format!("  - fault: {}\n", verb.example)).unwrap_or_else(|e| panic!("{}: {e}", verb.name));
        let Step::Fault(f) = &sc.steps[0] else { panic!("{}: not a fault step", verb.name) };
        assert_eq!(f.kind, verb.name);
        let described = sc.steps[0].describe();
        assert!(described.starts_with(&format!("fault {}", verb.name)) && !described.contains("Some("), "{described}");
    }
}

#[test]
fn an_unknown_fault_lists_every_registered_one() {
    let err = steps("fault-unknown", "  - fault: { kind: meteor, node: fw1 }\n").unwrap_err();
    assert!(err.contains(":4:20: steps[0].kind: unknown fault `meteor`"), "{err}");
    for name in halab::scenario::faults::names() {
        assert!(err.contains(&format!(" {name},")) || err.contains(&format!(" {name})")), "{name} is not listed: {err}");
    }
}

/// Each required field of each fault, left out, is named at the fault's `kind:`.
#[test]
fn a_missing_required_field_is_named_with_its_position() {
    for verb in halab::scenario::faults::VERBS {
        let fields: halab::yaml::OrderedMap<String> = halab::yaml::parse(Path::new(verb.name), verb.example).unwrap();
        for req in verb.fields.iter().filter(|f| f.required) {
            let lines: String =
                fields.iter().filter(|(k, _)| k.value != req.name && k.value != "kind").map(|(k, v)| format!("      {}: \"{v}\"\n", k.value)).collect();
            let err = steps("fault-missing", &format!("  - fault:\n      kind: {}\n{lines}", verb.name)).unwrap_err();
            let want = format!(":5:13: steps[0]: fault `{}` needs `{}:`", verb.name, req.name);
            assert!(err.contains(&want), "{}: expected `{want}` in:\n{err}", verb.name);
        }
    }
}

/// A field the fault does not take, a wrong value and a fault needing a cluster: each at its
/// own position, all at once.
#[test]
fn fault_fields_are_checked_with_positions() {
    let err = steps(
        "fault-fields",
        "  - fault: { kind: crash, node: fw1, iface: inet }\n  - fault: { kind: loss, node: fw1, iface: lan, percent: 130 }\n  - fault: { kind: cable_pull, node: client, iface: lan, duration: soon }\n  - fault: { kind: switchover, to: client }\n",
    )
    .unwrap_err();
    assert!(err.contains(":4:38: steps[0].iface: fault `crash` has no field `iface` (hint: its fields: node)"), "{err}");
    assert!(err.contains(":5:58: steps[1].percent: loss is 0-100 %"), "{err}");
    assert!(err.contains(":6:53: steps[2].iface: node `client` has no interface `lan`"), "{err}");
    assert!(err.contains(":6:68: steps[2].duration: `soon` is not a duration"), "{err}");
    assert!(err.contains(":7:36: steps[3].to: `client` is not a member of the cluster"), "{err}");
}

/// `wait_until` conditions and targets print as written, never as Rust names.
#[test]
fn steps_are_described_as_written() {
    let sc = steps("describe", "  - wait_until: { condition: vip_on @standby, timeout: 5s }\n  - succeed: { node: \"@active\", cmd: \"true\" }\n").unwrap();
    let d: Vec<String> = sc.steps.iter().map(|s| s.describe()).collect();
    assert_eq!(d, ["wait until vip_on @standby (at most 5 s)", "succeed on @active: true"]);
}

/// A stack the topology's cluster cannot run is refused at its entry.
#[test]
fn a_stack_the_cluster_cannot_run_is_refused_at_its_entry() {
    let topo = std::env::temp_dir().join(format!("halab-no-corosync-{}.yaml", std::process::id()));
    let text = std::fs::read_to_string("../topologies/fw-pair.yaml").unwrap().replace("  sync: { network: heartbeat, conntrackd: ftfw }\n", "");
    std::fs::write(&topo, text).unwrap();
    let err = scenario_with("stacks", Some(&topo), "stacks: [ keepalived, pacemaker, heartbeat ]\n", "  - wait: 1s\n").unwrap_err();
    let _ = std::fs::remove_file(&topo);
    assert!(err.contains(":3:23: stacks: pacemaker needs a corosync link"), "{err}");
    assert!(err.contains(":3:34: stacks: unknown stack `heartbeat` (hint: one of: none, keepalived, pacemaker)"), "{err}");
    assert!(!err.contains(":3:11:"), "keepalived runs without corosync: {err}");
}

/// The README's vocabulary is what `halab vocabulary` prints from the registries.
#[test]
fn readme_vocabulary_is_the_registrys() {
    use halab::scenario::vocabulary;
    let readme = std::fs::read_to_string("../docs/scenarios.md").unwrap();
    let got = vocabulary::in_readme(&readme).expect("docs/scenarios.md has the vocabulary markers");
    assert_eq!(
        got,
        vocabulary::readme_block().trim_end(),
        "docs/scenarios.md's vocabulary differs from the registries: put the output of `halab vocabulary` between the markers"
    );
}

/// docs/layout.md names every module of lab/src in a line, and nothing that is not one.
#[test]
fn layout_lists_every_module() {
    let layout = std::fs::read_to_string("../docs/layout.md").unwrap();
    let listed: std::collections::BTreeSet<String> =
        layout.lines().filter_map(|l| l.strip_prefix("- `")).filter_map(|l| l.split_once("`: ")).map(|(p, _)| p.to_string()).collect();
    let mut modules = std::collections::BTreeSet::new();
    let mut dirs = vec![std::path::PathBuf::from("src")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                modules.insert(p.strip_prefix("src").unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let missing: Vec<&String> = modules.difference(&listed).collect();
    let gone: Vec<&String> = listed.difference(&modules).collect();
    assert!(missing.is_empty() && gone.is_empty(), "docs/layout.md: not listed {missing:?}; listed but not in lab/src {gone:?}");
}

/// Every example the vocabulary shows validates: steps, traffic kinds and conditions.
#[test]
fn every_vocabulary_example_validates() {
    use halab::scenario::vocabulary::STEPS;
    let all: String = STEPS.iter().map(|(name, example, _)| format!("  - {name}: {example}\n")).collect();
    let sc = steps("vocab-steps", &all).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.steps.len(), STEPS.len());
    let kinds: String = halab::scenario::traffic::KINDS.iter().map(|k| format!("  - traffic: {}\n", k.example)).collect();
    steps("vocab-kinds", &kinds).unwrap_or_else(|e| panic!("{e}"));
    for c in halab::scenario::conditions::CONDITIONS {
        let written = c.arg.map(|_| format!("{} fw2", c.name)).unwrap_or_else(|| c.name.to_string());
        let sc = steps("vocab-conditions", &format!("  - wait_until: {{ condition: {written} }}\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sc.steps[0].describe(), format!("wait until {written} (at most 60 s)"));
    }
}

/// Traffic kinds check their own fields, like faults: each problem at its position.
#[test]
fn traffic_fields_are_checked_with_positions() {
    let err = steps(
        "traffic-fields",
        "  - traffic: { name: a, kind: probe, from: client, to: server, size: 1MiB }\n  - traffic: { name: a, kind: scp, from: \"@active\", to: server, size: big }\n  - traffic: { name: b, kind: flood, from: client, to: server }\n  - traffic: { name: c, kind: ab, from: client, requests: many }\n",
    )
    .unwrap_err();
    for want in [
        ":4:64: steps[0].size: traffic kind `probe` has no field `size` (hint: its fields: every, duration)",
        ":5:22: steps[1]: traffic `a` is defined twice",
        ":5:42: steps[1]: traffic runs between fixed nodes",
        ":5:71: steps[1].size: `big` is not a size (hint: write it like 64MiB)",
        ":6:31: steps[2].kind: unknown traffic kind `flood` (hint: one of: probe, capture, scp, iperf3, ab, service)",
        ":7:14: steps[3]: a traffic needs `to:`",
        ":7:59: steps[3].requests: `many` is not a whole number",
    ] {
        assert!(err.contains(want), "expected `{want}` in:\n{err}");
    }
    for k in halab::scenario::traffic::KINDS {
        let sc = steps("traffic-kinds", &format!("  - traffic: {}\n", k.example)).unwrap_or_else(|e| panic!("{}: {e}", k.name));
        assert!(sc.steps[0].describe().contains(&format!("({})", k.name)), "{}", sc.steps[0].describe());
    }
}

/// A wait may be a range drawn per run; a range that ends before it starts, or one that is no
/// duration, is refused at its position.
#[test]
fn wait_ranges_are_checked_with_positions() {
    let sc = steps("range-ok", "  - wait: 3s..4s\n  - wait: 2s\n").unwrap();
    let d: Vec<String> = sc.steps.iter().map(|s| s.describe()).collect();
    assert_eq!(d, ["wait 3 s..4 s (drawn per run)", "wait 2 s"]);
    let err = steps("range-bad", "  - wait: 4s..3s\n  - wait: 3s..soon\n").unwrap_err();
    assert!(err.contains(":4:11: steps[0]: the range `4s..3s` ends before it starts"), "{err}");
    assert!(err.contains(":5:11: steps[1]: `3s..soon` is not a duration or a range"), "{err}");
}
