//! Pacemaker CTS's faults as scenario steps, on real netns labs (root): halt, freeze/thaw,
//! standby/unstandby, maintenance, resource_fail and remove_config, each run on the stacks it
//! applies to, with the outcome asserted from what the cluster did (the VIPs, the probe, the
//! stack's own events).

mod common;

use common::*;

/// Run a scenario made of `steps` on fw-pair, on `stacks`; the records, by stack.
fn run(name: &str, stacks: &str, steps: &str, expect: &str) -> Vec<serde_json::Value> {
    run_with(name, stacks, steps, expect, &[])
}

fn run_with(name: &str, stacks: &str, steps: &str, expect: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("halab-test-cts-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let topo = std::fs::canonicalize("../topologies/fw-pair.yaml").unwrap();
    let sc = dir.join(format!("{name}.yaml"));
    let text = format!(
        "name: {name}\ntopology: {}\nstacks: [ {stacks} ]\ntimeout: 150s\nsteps:\n  - traffic: {{ name: probe, kind: probe, from: client, to: server, every: 10ms, duration: 60s }}\n  - wait: 3s\n{steps}  - stop: probe\nexpect:\n{expect}",
        topo.display()
    );
    std::fs::write(&sc, text).unwrap();
    let (o, recs) = run_records(sc.to_str().unwrap(), &dir.join("out"), args);
    assert_eq!(recs.len(), stacks.split(',').count(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    for r in &recs {
        assert_eq!(r["outcome"], "passed", "{name} on {}: {:#}\n{}", r["stack"], r["expectations"], r["error"]);
    }
    recs
}

fn m(r: &serde_json::Value, k: &str) -> f64 {
    r["metrics"][k].as_f64().unwrap_or_else(|| panic!("{}: no `{k}`", r["stack"]))
}

/// The stack events after the first fault, as one text.
fn after_fault(r: &serde_json::Value) -> String {
    let fault = r["events"].as_array().unwrap().iter().find(|e| e["event"] == "fault_injected").map(|e| e["t_ms"].as_f64().unwrap()).unwrap();
    r["stack_events"].as_array().unwrap().iter().filter(|e| e[0].as_f64().unwrap() > fault).map(|e| e.to_string()).collect()
}

/// The VIP holders over the run, as the watcher saw them.
fn holders(r: &serde_json::Value) -> Vec<String> {
    r["vip_timeline"].as_array().unwrap().iter().map(|s| s[1].to_string()).collect()
}

#[test]
fn halt_hands_over_faster_than_a_crash() {
    if !privileged() {
        return;
    }
    for r in run(
        "halt",
        "keepalived, pacemaker",
        "  - fault: { kind: halt, node: \"@active\" }\n  - wait_until: { condition: vip_moved, timeout: 30s }\n  - wait: 2s\n",
        "  - vip_moved\n  - probe.recovered\n",
    ) {
        // A clean stop hands over at once (keepalived: priority 0 advert; pacemaker: resources
        // moved), where a crash waits for the timers: 3.3 s / 6.5 s measured.
        let gap = m(&r, "probe.gap");
        assert!(gap < 2500.0, "{}: halt gap {gap} ms", r["stack"]);
    }
}

/// On netns a frozen node's kernel is the host's: it keeps its VIPs and forwards. keepalived's
/// takeover is then a split brain on the wire (a paused VM would go silent instead); pacemaker
/// fences the frozen member first (power off, reboot), so its VIPs are gone before the
/// survivor takes them.
#[test]
fn a_frozen_active_is_replaced_and_the_cluster_settles_after_thaw() {
    if !privileged() {
        return;
    }
    let steps = "  - fault: { kind: freeze, node: fw1, duration: 12s }\n  - wait: 15s\n  - wait_until: { condition: ready, timeout: 90s }\n";
    for r in run("freeze", "keepalived, pacemaker", steps, "  - probe.recovered\n") {
        let stack = r["stack"].as_str().unwrap();
        let event = r["metrics"]["detection_event"].as_str().unwrap_or_default();
        let survivor = if stack == "keepalived" { "fw2: INSTANCE" } else { "fw2: node fw1" };
        assert!(event.starts_with(survivor), "{stack}: the survivor noticed the frozen member: `{event}`");
        assert!(r["events"].to_string().contains("thaw fw1"), "{stack}: the freeze was undone");
        if stack == "keepalived" {
            assert_eq!(r["metrics"]["split_brain"], true, "{stack}: the frozen netns node kept its VIPs: {:?}", holders(&r));
            assert_eq!(holders(&r).last().map(String::as_str), Some("[\"fw1\"]"), "{stack}: one holder again after thaw");
        } else {
            assert_eq!(r["metrics"]["split_brain"], false, "{stack}: fenced before the takeover: {:?}", holders(&r));
            assert_eq!(r["metrics"]["fenced"], serde_json::json!(["fw1"]), "{stack}: the frozen member was fenced");
            assert_eq!(holders(&r).last().map(String::as_str), Some("[\"fw2\"]"), "{stack}: the survivor keeps the VIPs (stickiness)");
        }
    }
}

#[test]
fn standby_moves_the_vips_away_and_unstandby_lets_the_member_back() {
    if !privileged() {
        return;
    }
    let steps = "  - fault: { kind: standby, node: fw1 }\n  - wait_until: { condition: vip_on fw2, timeout: 30s }\n  - wait: 2s\n  - fault: { kind: unstandby, node: fw1 }\n  - wait_until: { condition: ready, timeout: 60s }\n";
    for r in run("standby", "keepalived, pacemaker", steps, "  - vip_moved\n  - probe.recovered\n  - probe.tcp.survived\n") {
        let gap = m(&r, "probe.gap");
        assert!(gap < 2500.0, "{}: a standby is a planned move, gap {gap} ms", r["stack"]);
    }
}

#[test]
fn maintenance_leaves_the_resources_where_they_are() {
    if !privileged() {
        return;
    }
    // Pacemaker stopped on the active in maintenance mode: its resources keep running,
    // unmanaged; nothing moves, nothing stops.
    let steps = "  - fault: { kind: maintenance, mode: \"on\" }\n  - wait: 2s\n  - fault: { kind: stop_stack, node: fw1 }\n  - wait: 8s\n";
    let r = &run("maintenance", "pacemaker", steps, "  - vip_moved == false\n  - probe.tcp.survived\n")[0];
    assert!(m(r, "probe.gap") < 500.0, "no disruption: {}", m(r, "probe.gap"));
    assert_eq!(holders(r).last().map(String::as_str), Some("[\"fw1\"]"));
}

/// A VIP removed by hand comes back on both stacks: keepalived sees the removal over netlink
/// (BACKUP within ~25 ms, MASTER again ~0.4 s later, measured), pacemaker's 2 s monitor
/// finds it and restarts the group.
#[test]
fn a_removed_vip_is_put_back_by_both_stacks() {
    if !privileged() {
        return;
    }
    let steps = "  - fault: { kind: resource_fail, node: fw1, resource: vip }\n  - wait: 3s\n  - wait_until: { condition: ready, timeout: 60s }\n";
    for r in run("resource-fail-vip", "keepalived, pacemaker", steps, "  - probe.recovered\n") {
        let stack = r["stack"].as_str().unwrap();
        let event = r["metrics"]["detection_event"].as_str().unwrap_or_default();
        let seen = if stack == "keepalived" { "fw1: INSTANCE" } else { "fw1: resource fw1 vip-" };
        // pacemaker 2.1 says "not running", 3.0 "Not running" (both rc=7).
        assert!(event.starts_with(seen) && (event.contains("BACKUP") || event.to_lowercase().contains("not running")), "{stack}: `{event}`");
        assert_eq!(holders(&r).last().map(String::as_str), Some("[\"fw1\"]"), "{stack}");
    }
}

/// conntrackd killed on the active. pacemaker under halab's agent (ocf:halab:conntrackd, the
/// default) finds it dead at its next monitor and restarts it; under the stock
/// ocf:heartbeat:conntrackd (resource-agents 4.12 in Debian 12, 4.16 in 13) it never would: that
/// monitor finds the socket file left behind, sees `conntrackd -s` fail, then overwrites the
/// error with "running promoted" because its promoted marker file is still there (the agent's
/// header says what it fixes). keepalived watches no conntrackd: nothing restarts it.
#[test]
fn a_killed_conntrackd_is_restarted_by_pacemaker_and_unnoticed_by_keepalived() {
    if !privileged() {
        return;
    }
    let steps = "  - fault: { kind: resource_fail, node: fw1, resource: conntrackd }\n  - wait: 12s\n";
    for r in run_with("resource-fail-conntrackd", "keepalived, pacemaker", steps, "  - probe.recovered\n", &["--keep"]) {
        let lab = r["lab"].as_str().unwrap().to_string();
        let stack = r["stack"].as_str().unwrap();
        let alive = halab(&["exec", &lab, "fw1", "--", "conntrackd", "-C", "/etc/conntrackd/conntrackd.conf", "-s"]).status.success();
        let crm = if stack == "pacemaker" { ok(&["exec", &lab, "fw1", "--", "crm_mon", "-1"]) } else { String::new() };
        ok(&["down", &lab]);
        if stack == "keepalived" {
            assert!(!alive, "keepalived: conntrackd came back on fw1");
            assert!(!after_fault(&r).contains("conntrackd start"), "keepalived: nothing restarted it after the kill");
        } else {
            assert!(alive, "pacemaker: conntrackd answers again on fw1:\n{crm}");
            assert!(after_fault(&r).contains("conntrackd"), "pacemaker: its recovery is among the stack's events: {}", after_fault(&r));
        }
    }
}

#[test]
fn a_removed_config_takes_the_member_out() {
    if !privileged() {
        return;
    }
    let steps = "  - fault: { kind: remove_config, node: \"@active\" }\n  - wait_until: { condition: vip_moved, timeout: 60s }\n  - wait: 2s\n";
    for r in run("remove-config", "keepalived, pacemaker", steps, "  - vip_moved\n  - probe.recovered\n") {
        assert!(holders(&r).last().is_some_and(|h| h == "[\"fw2\"]"), "{}: {:?}", r["stack"], holders(&r));
    }
}
