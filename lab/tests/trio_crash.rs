//! Issue 12's finding, repeated (root, netns): a crash of the active of three firewalls, five
//! networks, VIPs on three of them, established TCP flows in both directions through the
//! cluster. Every flow must survive every run, with the standbys' external caches holding
//! every flow before the crash and no packet of them dropped as invalid after it.

mod common;

use common::*;

#[test]
fn every_flow_survives_a_crash_of_one_of_three_firewalls() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("tests/data/trio-crash.yaml", &std::env::temp_dir().join("halab-test-trio-crash"), &["--repeat", "2"]);
    assert_eq!(recs.len(), 2, "two runs: {}", String::from_utf8_lossy(&o.stderr));
    for r in &recs {
        let m = &r["metrics"];
        assert_eq!(r["outcome"], "passed", "run {}: {:#}", r["repeat"], r["expectations"]);
        for p in ["out", "in", "side"] {
            assert_eq!(m[format!("{p}.tcp.survived")], true, "{p}: {m:#}");
        }
        assert_eq!(m["ct.parity_flows"], 6, "three probes, UDP and TCP each: {m:#}");
        assert_eq!(m["fenced"], serde_json::json!(["fw1"]), "the crashed active was fenced");
    }
}
