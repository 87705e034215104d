//! Pacemaker's own Cluster Test Suite (cts-lab, Debian 13's pacemaker-cts) against a halab
//! netns pair (examples/pacemaker-cts): CTS stops, starts, restarts and fences the members
//! through halab's `service` shim, watches their syslog, fences through the lab's own device;
//! every test passes, and the lab is ready again afterwards. The full ten-test run is the
//! shipped report (reports/cts); CI runs three of them, the fence among them.

mod common;

use common::*;

#[test]
fn cts_start_restart_and_fencing_pass_and_the_lab_is_ready_after() {
    if !privileged() {
        return;
    }
    let lab = "t-cts";
    ok(&["up", "../examples/pacemaker-cts/topology.yaml", "--name", lab]);
    let out = std::env::temp_dir().join("halab-test-cts");
    let _ = std::fs::remove_dir_all(&out);
    let o = halab(&["cts", lab, "--tests", "StartOnebyOne,Restart,Stonithd", "--timeout", "12m", "-o", out.to_str().unwrap()]);
    let after = status_json(lab);
    let _ = halab(&["down", lab]);
    let text = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "halab cts failed:\n{text}");
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("cts.json")).expect("cts.json")).expect("cts.json parses");
    let tests = j["summary"]["tests"].as_array().expect("tests");
    let names: Vec<&str> = tests.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["StartOnebyOne", "Restart", "Stonithd"], "{j:#}");
    for t in tests {
        assert_eq!((t["counts"]["calls"].as_u64(), t["counts"]["failure"].as_u64()), (Some(1), Some(0)), "{t:#}");
    }
    // Bad news (a CIB digest that differed for a moment at a start, 1 run in 4 here) is
    // counted by CTS and shown, not failed: every line it counted is in the report.
    let bad = j["summary"]["bad_news"].as_array().expect("bad_news").len() as u64;
    assert_eq!(j["summary"]["overall"]["BadNews"].as_u64(), Some(bad), "{j:#}");
    assert_eq!(j["run"]["exit_status"], 0);
    // CTS's Stonithd fenced a member through the lab's fencer: its log says so.
    let fencer = std::fs::read_to_string(out.join("cts.log")).unwrap_or_default();
    assert!(fencer.contains("Operation 'reboot' targeting"), "no fence in CTS's log");
    assert!(std::fs::read_to_string(out.join("cts.md")).unwrap_or_default().contains("3 of 3 tests passed"));
    // CTS leaves the cluster stopped; halab starts it again: one member holds the VIPs.
    let holders = after["members"].as_array().unwrap().iter().filter(|m| m["vips"].as_array().is_some_and(|v| v.len() == 2)).count();
    assert_eq!(holders, 1, "{after:#}");
}

/// A lab CTS cannot drive is refused before anything runs, saying what to add.
#[test]
fn cts_refuses_a_lab_without_pacemaker_cts() {
    if !privileged() {
        return;
    }
    let lab = "t-cts-none";
    ok(&["up", "../topologies/fw-pair.yaml", "--name", lab, "--stack", "pacemaker"]);
    let o = halab(&["cts", lab]);
    let _ = halab(&["down", lab]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("has no /usr/share/pacemaker/tests/cts-lab") && err.contains("pacemaker-cts"), "{err}");
}

/// The shipped run (reports/cts) recomputes from CTS's own output beside it: every verdict,
/// node and duration in cts.json and cts.md is read from cts-lab.out.
#[test]
fn the_shipped_cts_report_recomputes_from_cts_output() {
    let out = std::fs::read_to_string("../reports/cts/cts-lab.out").expect("reports/cts/cts-lab.out");
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("../reports/cts/cts.json").expect("cts.json")).expect("cts.json parses");
    let s = halab::cts::summary::parse(&out);
    assert_eq!(serde_json::to_value(&s).unwrap(), j["summary"]);
    assert_eq!(s.tests.len(), 10);
    let md = std::fs::read_to_string("../reports/cts/cts.md").expect("cts.md");
    assert!(md.contains(&format!("**{}**", halab::cts::report::verdict(&s))), "{md}");
    let doc = std::fs::read_to_string("../docs/pacemaker-cts.md").unwrap();
    assert!(doc.contains(&format!("reports/cts/cts.md: {}", halab::cts::report::verdict(&s))), "docs/pacemaker-cts.md quotes the shipped verdict");
}
