//! Debian 12 beside the default Debian 13 (root): the shipped fw-pair built from
//! `debian-bookworm-ha` with `--image`, on both stacks: an scp survives a crash of the active,
//! the VIPs fail back to the preferred member, and a partition is fenced (pacemaker) or
//! ridden out (keepalived). Each run records the versions it ran, so the test knows it ran
//! pacemaker 2.1 and keepalived 2.2, not the default image's 3.0 and 2.3.

mod common;

use common::*;

const IMAGE: &str = "debian-bookworm-ha";

/// `halab run SCENARIO --image debian-bookworm-ha` on both stacks: both passed, on bookworm's
/// versions. Returns the records.
fn on_bookworm(scenario: &str) -> Vec<serde_json::Value> {
    let out = std::env::temp_dir().join(format!("halab-test-bookworm-{scenario}"));
    let (o, recs) = run_records(&format!("../scenarios/{scenario}.yaml"), &out, &["--image", IMAGE, "--stack", "keepalived,pacemaker"]);
    assert_eq!(recs.len(), 2, "{}", String::from_utf8_lossy(&o.stderr));
    for r in &recs {
        assert_eq!(r["outcome"], "passed", "{scenario} on {}: {:#}\n{}", r["stack"], r["expectations"], r["error"]);
        let v = &r["versions"];
        let (pcmk, ka) = (v["pacemaker"].as_str().unwrap_or(""), v["keepalived"].as_str().unwrap_or(""));
        assert!(pcmk.starts_with("2.1.") && ka.starts_with("1:2.2."), "{scenario} ran pacemaker {pcmk}, keepalived {ka}: not bookworm's");
    }
    recs
}

#[test]
fn scp_survives_a_crash_on_bookworm() {
    if !privileged() {
        return;
    }
    for r in on_bookworm("scp-survives-failover") {
        assert_gap_around_the_fault(&r, 500.0);
    }
}

#[test]
fn failback_on_bookworm() {
    if !privileged() {
        return;
    }
    on_bookworm("failback");
}

#[test]
fn a_partition_is_fenced_on_bookworm() {
    if !privileged() {
        return;
    }
    let recs = on_bookworm("split-brain-fenced");
    let pcmk = recs.iter().find(|r| r["stack"] == "pacemaker").expect("a pacemaker run");
    assert_eq!(pcmk["metrics"]["fence.count"].as_f64(), Some(1.0), "{:#}", pcmk["metrics"]);
}
