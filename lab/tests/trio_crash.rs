//! Issue 12's finding, repeated (root, netns): a crash of the active of three firewalls, five
//! networks, VIPs on three of them, established TCP flows in both directions through the
//! cluster. A run whose standbys held every flow before the crash (parity) must keep every
//! flow, with no packet dropped as invalid by the survivors. conntrackd (FTFW) itself, rarely, leaves one
//! established flow out of both standbys' external caches (1 run in ~20 here, no send error,
//! no lost message counted): such a run must name the flow, and only the probes whose own
//! flows were missing may break. One of the two runs must hold parity (the cause is being
//! chased; until it is known, this is exactly what the test tolerates).

mod common;

use common::*;

/// The probes of tests/data/trio-crash.yaml: name, from, to (addresses in fw-trio-5net.yaml).
const PROBES: [(&str, &str, &str); 3] = [("out", "198.18.1.10", "198.18.2.10"), ("in", "198.18.4.10", "198.18.1.10"), ("side", "198.18.2.10", "198.18.4.10")];

/// Whether a missing flow (`tcp 198.18.1.10:40000 -> 198.18.2.10:7 not on fw2`) is the one
/// between `from` and `to`.
fn flow_between(flow: &str, from: &str, to: &str) -> bool {
    let w: Vec<&str> = flow.split_whitespace().collect();
    let host = |i: usize| w.get(i).and_then(|a| a.rsplit_once(':')).map(|(h, _)| h);
    host(1) == Some(from) && host(3) == Some(to)
}

#[test]
fn every_flow_survives_a_crash_of_one_of_three_firewalls() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("tests/data/trio-crash.yaml", &std::env::temp_dir().join("halab-test-trio-crash"), &["--repeat", "2"]);
    assert_eq!(recs.len(), 2, "two runs: {}", String::from_utf8_lossy(&o.stderr));
    let mut with_parity = 0;
    for r in &recs {
        let m = &r["metrics"];
        assert_eq!(m["ct.parity_flows"], 6, "three probes, UDP and TCP each: {m:#}");
        assert_eq!(m["fenced"], serde_json::json!(["fw1"]), "the crashed active was fenced");
        let missing: Vec<String> =
            m["ct.parity_missing_flows"].as_array().expect("parity names its missing flows").iter().filter_map(|f| f.as_str().map(String::from)).collect();
        if m["ct.parity"] == true {
            with_parity += 1;
            assert!(missing.is_empty(), "{m:#}");
            assert_eq!(r["outcome"], "passed", "run {}: {:#}", r["repeat"], r["expectations"]);
            for p in ["out", "in", "side"] {
                assert_eq!(m[format!("{p}.tcp.survived")], true, "{p}: {m:#}");
            }
            // The survivors (the members not fenced), which carry every flow after the crash, drop
            // none as invalid.
            // Not `nft.invalid`, which sums every member: the crashed member reboots with a fresh
            // counter, and once back (no VIP, no state) it counted 3 invalid packets in one CI
            // run; which packets, is open (issue 29), and its count stays in the record.
            let survivors: Vec<&str> =
                m.as_object().into_iter().flatten().filter(|(_, v)| **v == false).filter_map(|(k, _)| k.strip_prefix("fenced.")).collect();
            assert_eq!(survivors.len(), 2, "two members were not fenced: {m:#}");
            for fw in survivors {
                assert_eq!(m[format!("ct.after.{fw}.invalid")], 0, "run {}: {fw} dropped packets as invalid: {m:#}", r["repeat"]);
            }
        } else {
            // What a run without parity may lose, exactly: the TCP probes whose own flow the
            // record names as missing (and `ct.parity`, `nft.invalid` for their packets).
            // Every other probe survives.
            assert!(!missing.is_empty(), "{m:#}");
            for (p, from, to) in PROBES {
                let explained = missing.iter().any(|f| f.starts_with("tcp ") && flow_between(f, from, to));
                if !explained {
                    assert_eq!(m[format!("{p}.tcp.survived")], true, "run {}: {p} broke but its flow was not missing ({missing:?}): {m:#}", r["repeat"]);
                }
            }
            eprintln!("run {}: conntrackd left flows out of the standbys: {missing:?}", r["repeat"]);
        }
    }
    assert!(with_parity >= 1, "no run held parity: conntrackd sync is broken");
}
