//! Timing from the stacks' own events, on real netns labs (root): a crash of the active on
//! both stacks, with the probe's echoes captured by tcpdump on the client. Detection is the
//! stack's first own reaction (keepalived's VRRP transition on the survivor, pacemaker's
//! membership change); takeover (recovery minus detection) is never negative beyond the
//! stamp's stated bound; the gap ends at the VIP move, not through the fenced member booting
//! again; and the longest silence on the wire is the probe's gap within it.

mod common;

use common::*;

fn f(r: &serde_json::Value, m: &str) -> f64 {
    r["metrics"][m].as_f64().unwrap_or_else(|| panic!("{}: no number `{m}` in {:#}", r["stack"], r["metrics"]))
}

#[test]
fn detection_comes_from_the_stack_and_the_wire_agrees_with_the_probe() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("tests/data/crash-events.yaml", &std::env::temp_dir().join("halab-test-stack-events"), &[]);
    assert_eq!(recs.len(), 2, "one run per stack: {}", String::from_utf8_lossy(&o.stderr));
    for r in &recs {
        let stack = r["stack"].as_str().unwrap();
        assert_eq!(r["outcome"], "passed", "{stack}: {:#}", r["expectations"]);
        let (det, tk) = (f(r, "detection"), f(r, "takeover"));
        let event = r["metrics"]["detection_event"].as_str().unwrap();
        // The crash hit fw1 (the active); the survivor reacted.
        let expected = if stack == "keepalived" { "fw2: INSTANCE" } else { "fw2: node fw1" };
        assert!(event.starts_with(expected), "{stack}: detection came from `{event}`");
        assert!(stack == "keepalived" && event.contains(" MASTER ") || stack == "pacemaker" && event.ends_with("lost rc=-"), "{stack}: {event}");
        // keepalived's backup waits 3 x advert_int + skew (~3-3.6 s); pacemaker the corosync
        // token (3 s) and consensus (3.6 s).
        let (lo, hi) = if stack == "keepalived" { (2500.0, 4200.0) } else { (5000.0, 9000.0) };
        assert!(det > lo && det < hi, "{stack}: detection {det} ms outside {lo}-{hi}");
        // Takeover is recovery minus detection by definition (scenario/results.rs), so the
        // check is on its sign, within the method's bound: a stack event is stamped when its
        // hook's process wakes and reads it (keepalived's FIFO reader), late by that wake-up,
        // which is at most as late as the latest probe tick of the same run (the same kind
        // of wake-up on the same host). Traffic cannot flow before the stack acted by more.
        let late = f(r, "probe.tick_late_max");
        assert!(tk >= -(late + 1.0), "{stack}: traffic flowed {} ms before the stack's first event, beyond the bound {late} ms", -tk);
        // The wire agrees with the probe: every echo captured, the same longest silence. Both
        // read the kernel's receive stamp (SO_TIMESTAMPNS, tcpdump's), so they differ by no
        // more than the 0.1 ms both are rounded to. (Stamped when the reader woke, the probe's
        // gap was up to 5 ms longer at a keepalived takeover.)
        // The gap ends at the VIP move: traffic flows again only through the survivor. Seen by
        // polling, the move is late by up to one of the survivor's queries (`failover_window`:
        // the 100 ms pause and the query's own exec, longer on a loaded box). On pacemaker the crashed holder
        // is fenced (`reboot`) and powered on again; it must still be booting then (the
        // topology's boot_time), not forwarding: with no boot time it carried the traffic
        // about 0.9 s before the survivor took the VIPs.
        let tp = f(r, "takeover_polled");
        let window = f(r, "failover_window");
        assert!(
            tp >= -(window + late + 1.0),
            "{stack}: traffic flowed {} ms before the VIPs were seen on the survivor (bound: the survivor's query window of {window} ms and {late} ms of lateness)",
            -tp
        );
        assert!(tp <= 1500.0, "{stack}: traffic flowed {tp} ms after the VIPs moved");
        if stack == "pacemaker" {
            assert_eq!(r["metrics"]["fence.holder_fenced"], true, "pacemaker: the crashed holder was fenced: {:#}", r["metrics"]);
        }
        let (wire, probe) = (f(r, "wire.gap"), f(r, "probe.gap"));
        assert!((wire - probe).abs() <= 0.15, "{stack}: wire gap {wire} ms, probe gap {probe} ms");
        eprintln!("figure: {stack}: detection {det} ms, takeover {tk} ms, takeover by polling {tp} ms (query window {window} ms), wire gap {wire} ms, probe gap {probe} ms, latest tick {late} ms");
        let (pk, rx) = (f(r, "wire.packets"), f(r, "probe.udp.received"));
        assert!((pk - rx).abs() <= 2.0, "{stack}: {pk} packets on the wire, {rx} echoes received");
        assert!(r["stack_events"].as_array().is_some_and(|e| e.len() >= 2), "{stack}: {:#}", r["stack_events"]);
    }
    assert!(o.status.success());
}
