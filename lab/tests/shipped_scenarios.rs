//! Every shipped scenario runs at least once in CI. The ones no other test runs are here, one
//! run each (a stack each where both would only repeat what another test shows):
//! crash-unfenced, fence-race, load-ab (both stacks), load-ab-crash and load-iperf-crash on
//! pacemaker (keepalived's crash under load is in load_failure.rs), load-iperf on pacemaker;
//! and `fault: fence` (tests/data/fence-standby.yaml).

mod common;

use common::*;

fn num(r: &serde_json::Value, m: &str) -> f64 {
    r["metrics"][m].as_f64().unwrap_or_else(|| panic!("{}: no number `{m}` in {:#}", r["stack"], r["metrics"]))
}

/// Run `scenario` (once per stack it names, or `--stack` in `args`); every run passed.
fn passes(scenario: &str, args: &[&str], runs: usize) -> Vec<serde_json::Value> {
    let name = std::path::Path::new(scenario).file_stem().unwrap().to_string_lossy().into_owned();
    let out = std::env::temp_dir().join(format!("halab-test-shipped-{name}-{}", std::process::id()));
    let (o, recs) = run_records(scenario, &out, args);
    assert_eq!(recs.len(), runs, "{name}: {}", String::from_utf8_lossy(&o.stderr));
    for r in &recs {
        assert_eq!(r["outcome"], "passed", "{name} on {}: {:#}\n{}", r["stack"], r["expectations"], r["error"]);
    }
    assert_eq!(o.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&out);
    recs
}

#[test]
fn crash_unfenced_keeps_the_copy_without_fencing_anyone() {
    if !privileged() {
        return;
    }
    let r = &passes("../scenarios/crash-unfenced.yaml", &[], 1)[0];
    assert_eq!(r["metrics"]["fence.count"], serde_json::Value::Null, "fencing off: no fencing metrics: {:#}", r["metrics"]);
    // corosync token 3 s + consensus 3.6 s, then the resources: no fencing delay.
    let gap = num(r, "probe.gap");
    assert!((5000.0..12000.0).contains(&gap), "gap {gap} ms");
}

#[test]
fn a_fence_race_fences_exactly_one_member() {
    if !privileged() {
        return;
    }
    let r = &passes("../scenarios/fence-race.yaml", &[], 1)[0];
    // Both sides shoot at once without a delay; with reboot, one (or, in a true race, both)
    // is fenced; never neither, and never a split brain.
    let n = num(r, "fence.count");
    assert!((1.0..=2.0).contains(&n), "fence.count {n}: {:#}", r["metrics"]);
    assert_eq!(r["metrics"]["split_brain"], false);
}

#[test]
fn fence_as_an_operator_fences_the_standby_and_the_active_keeps_the_traffic() {
    if !privileged() {
        return;
    }
    let r = &passes("tests/data/fence-standby.yaml", &[], 1)[0];
    assert_eq!(r["metrics"]["fenced"], serde_json::json!(["fw2"]), "{:#}", r["metrics"]);
    assert_eq!(r["metrics"]["fence.holder_fenced"], false);
    // The active was never touched: the probe saw no more than a jitter.
    let gap = num(r, "probe.gap");
    assert!(gap < 1000.0, "the active kept forwarding: gap {gap} ms");
}

#[test]
fn load_ab_through_a_switchover_on_both_stacks() {
    if !privileged() {
        return;
    }
    for r in passes("../scenarios/load-ab.yaml", &[], 2) {
        assert!(num(&r, "web.rps") > 50.0, "{}: {:#}", r["stack"], r["metrics"]);
        assert_eq!(num(&r, "web_switch.failed"), 0.0, "{}: a planned switchover loses no request: {:#}", r["stack"], r["metrics"]);
    }
}

#[test]
fn load_ab_crash_on_pacemaker() {
    if !privileged() {
        return;
    }
    let r = &passes("../scenarios/load-ab-crash.yaml", &["--stack", "pacemaker"], 1)[0];
    let (asked, answered, lost) = (num(r, "web.asked"), num(r, "web.answered"), num(r, "web.unanswered"));
    assert_eq!(answered + lost, asked, "every request answered or counted lost");
    // pacemaker's fenced crash: detection ~6.5 s, the fence, then the VIPs.
    let gap = num(r, "web.gap");
    assert!(gap > 5000.0 && gap < 20000.0, "gap {gap} ms");
}

#[test]
fn load_iperf_crash_and_switchover_on_pacemaker() {
    if !privileged() {
        return;
    }
    let c = &passes("../scenarios/load-iperf-crash.yaml", &["--stack", "pacemaker"], 1)[0];
    let s = &passes("../scenarios/load-iperf.yaml", &["--stack", "pacemaker"], 1)[0];
    let (dip, sdip) = (num(c, "iperf.dip_s"), num(s, "iperf.dip_s"));
    assert!(dip > 5.0, "a fenced crash on pacemaker: below half for {dip} s");
    assert!(sdip < dip, "a planned switchover costs less: {sdip} s against {dip} s");
}
