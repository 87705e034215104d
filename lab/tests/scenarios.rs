//! Scenarios on real netns labs (root): scp survives a crash failover on both stacks, with a
//! gap in the range each stack's timers predict; the control experiment without conntrackd
//! fails with evidence (exit 1); cable pull (on the renamed pair too) and switchover pass; a
//! killed daemon and a partitioned pacemaker pair are caught as split brain; a bad scenario
//! exits 2 and creates nothing; the probe's gap, as `halab run` computes it, equals a known
//! cut.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn run(scenario: &str, out: &Path) -> (i32, Vec<serde_json::Value>) {
    let (o, recs) = run_records(scenario, out, &[]);
    (o.status.code().unwrap_or(-1), recs)
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("halab-test-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn metric(r: &serde_json::Value, m: &str) -> serde_json::Value {
    r["metrics"][m].clone()
}

#[test]
fn scp_survives_failover_on_both_stacks() {
    if !privileged() {
        return;
    }
    let (code, recs) = run("../scenarios/scp-survives-failover.yaml", &out_dir("scp"));
    assert_eq!(recs.len(), 2, "one run per stack");
    for r in &recs {
        assert_eq!(r["outcome"], "passed", "{}: {:#}", r["stack"], r["expectations"]);
        assert_eq!(metric(r, "bulk.checksum_ok"), true);
        // Parity over real flows: the probe's UDP and TCP and the scp, all in the standby's
        // external cache before the crash; nothing lost on the sync link.
        assert!(metric(r, "ct.parity_flows").as_u64().unwrap() >= 3, "{}", r["metrics"]);
        assert_eq!((metric(r, "ct.parity"), metric(r, "sync.lost")), (true.into(), 0.into()));
        let gap = metric(r, "probe.gap").as_f64().unwrap();
        // keepalived: 3 x advert_int (1 s) + skew after the last advert, 2.6-3.6 s by phase;
        // pacemaker: corosync token 3 s + consensus 3.6 s, then the fencing of the crashed
        // member (priority-fencing-delay 2 s, as it ran the VIPs), then the resources.
        let (lo, hi) = if r["stack"] == "keepalived" { (2000.0, 5000.0) } else { (6500.0, 14000.0) };
        assert!(gap > lo && gap < hi, "{}: a crash failover gap of {gap} ms is outside {lo}-{hi} ms", r["stack"]);
        if r["stack"] == "pacemaker" {
            assert_eq!(metric(r, "fenced"), serde_json::json!(["fw1"]), "the crashed active was fenced before the takeover");
        }
        assert_eq!(r["schema"], "halab.results/1");
        assert!(r["versions"]["keepalived"].is_string() && r["versions"]["kernel"].is_string());
    }
    assert_eq!(code, 0);
}

#[test]
fn conntrackd_off_stalls_the_stream_and_exits_1_with_evidence() {
    if !privileged() {
        return;
    }
    let out = out_dir("ctoff");
    let (code, recs) = run("../scenarios/conntrackd-off.yaml", &out);
    assert_eq!(code, 1, "failed expectations exit 1");
    assert_eq!(recs.len(), 2);
    for r in &recs {
        assert_eq!(r["outcome"], "failed", "{}", r["stack"]);
        assert_eq!(metric(r, "probe.tcp.survived"), false, "{}: the TCP stream must stall for good without conntrackd", r["stack"]);
        assert_eq!(metric(r, "bulk.completed"), false, "{}: the scp must fail", r["stack"]);
        let failed: Vec<&str> = r["expectations"].as_array().unwrap().iter().filter(|e| e["held"] == false).map(|e| e["expect"].as_str().unwrap()).collect();
        assert!(failed.contains(&"bulk.completed"), "{failed:?}");
        let dir = out.join(format!("conntrackd-off-{}-1", r["stack"].as_str().unwrap()));
        let ev = std::fs::read_to_string(dir.join("evidence/fw2.txt")).unwrap_or_default()
            + &std::fs::read_to_string(dir.join("evidence/fw1.txt")).unwrap_or_default();
        assert!(ev.contains("### nft list ruleset") && ev.contains("### ip addr"), "evidence was collected: {ev}");
        assert!(dir.join("samples/probe.probe.json").is_file());
    }
    // The report of these real records (not hand-made ones): a failed run is a measurement
    // (leaving it out would flatter the stack), so it is used, listed with the expectations
    // that failed, and its stream that never came back is counted, not averaged.
    let report = out.join("report");
    let dirs: Vec<String> = ["keepalived", "pacemaker"].iter().map(|s| out.join(format!("conntrackd-off-{s}-1")).display().to_string()).collect();
    ok(&["report", &dirs[0], &dirs[1], "-o", report.to_str().unwrap()]);
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    for stack in ["keepalived", "pacemaker"] {
        let cell = md.split(&format!("### conntrackd-off on {stack}")).nth(1).unwrap_or_else(|| panic!("no cell for {stack}:\n{md}"));
        assert!(cell.trim_start().starts_with("1 runs, 0 passed, 0 infrastructure errors, 1 used in the statistics."), "{stack}:\n{cell}");
        assert!(cell.contains("| probe.tcp.gap | 0 |") && cell.contains("1 of 1 never recovered"), "{stack}: the stalled stream is counted:\n{cell}");
        let row = md.lines().find(|l| l.starts_with(&format!("| conntrackd-off | {stack} | 1 | failed |"))).unwrap_or_else(|| panic!("no run row:\n{md}"));
        assert!(row.contains("probe.tcp.survived") && row.contains("bulk.completed"), "{row}");
    }
}

#[test]
fn cable_pull_and_switchover_pass_on_both_stacks() {
    if !privileged() {
        return;
    }
    for (sc, probe) in
        [("../scenarios/cable-pull-inet.yaml", "probe"), ("../scenarios/switchover.yaml", "probe"), ("tests/data/renamed-cable-pull.yaml", "echo")]
    {
        let (code, recs) = run(sc, &out_dir(&sc.replace('/', "_")));
        assert_eq!(recs.len(), 2);
        for r in &recs {
            assert_eq!(r["outcome"], "passed", "{sc} on {}: {:#}", r["stack"], r["expectations"]);
            assert!(metric(r, &format!("{probe}.gap")).as_f64().is_some(), "{sc}: gap recorded");
            assert_eq!(metric(r, "vip_moved"), true, "{sc} on {}", r["stack"]);
        }
        assert_eq!(code, 0, "{sc}");
    }
}

#[test]
fn split_brain_is_caught_when_it_happens() {
    if !privileged() {
        return;
    }
    // keepalived killed with -9 (every process stopped first, so none cleans up): the peer
    // takes over ~3 s later while the killed master's VIPs stay on its interfaces: split
    // brain until the end of the run (8 s after the kill).
    let (_, recs) = run("../scenarios/daemon-kill.yaml", &out_dir("daemon-kill"));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["outcome"], "passed", "{:#}", recs[0]["metrics"]);
    assert_eq!(metric(&recs[0], "split_brain"), true, "{:#}", recs[0]["metrics"]);
    let overlap = metric(&recs[0], "vip_overlap_ms").as_f64().unwrap();
    assert!(overlap > 3000.0, "both held the VIPs from the takeover to the end: {overlap} ms");
    // Partitioned heartbeat: pacemaker's standby takes the VIPs too (no fencing); keepalived
    // does not run VRRP over the heartbeat network and keeps one holder.
    let (_, recs) = run("../scenarios/heartbeat-partition.yaml", &out_dir("partition"));
    assert_eq!(recs.len(), 2);
    for r in &recs {
        let want = r["stack"] == "pacemaker";
        assert_eq!(metric(r, "split_brain"), want, "{}: {:#}", r["stack"], r["metrics"]);
        if want {
            assert!(metric(r, "vip_overlap_ms").as_f64().unwrap() > 10_000.0, "both held the VIPs for most of the 20 s partition");
        }
        let undone = r["events"].as_array().unwrap().iter().any(|e| e["event"] == "fault_undone");
        assert!(undone, "{}: the timed partition was lifted by the runner", r["stack"]);
    }
}

#[test]
fn bad_scenario_exits_2_with_position_and_creates_nothing() {
    if !privileged() {
        return;
    }
    let file = std::env::temp_dir().join("halab-bad-scenario.yaml");
    std::fs::write(&file, "name: bad\ntopology: ../topologies/fw-pair.yaml\nsteps:\n  - fault: { kind: meteor, node: fw1 }\n").unwrap();
    let text = std::fs::read_to_string(&file).unwrap().replace("../topologies", &std::fs::canonicalize("../topologies").unwrap().to_string_lossy());
    std::fs::write(&file, text).unwrap();
    let out = out_dir("bad");
    assert!(!out.exists());
    let (pid, o) = halab_with_pid(&["run", file.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("halab-bad-scenario.yaml:4:20") && err.contains("unknown fault `meteor`"), "{err}");
    // The run's labs would be `run-STACK-SC-PIDHEX-REP` (other tests' labs come and go).
    let mine = |l: &str| l.contains(&format!("-{pid:x}-"));
    let netns = String::from_utf8_lossy(&std::process::Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).into_owned();
    assert!(!netns.lines().any(mine), "no namespace was created: {netns}");
    assert!(!ok(&["ls"]).lines().any(mine), "no lab was created");
    assert!(!out.exists(), "no run folder was created");
}

/// Time of the first event `what` of fault `kind` in a run record.
fn fault_event(r: &serde_json::Value, what: &str, kind: &str) -> f64 {
    let e = r["events"].as_array().unwrap().iter().find(|e| e["event"] == what && e["kind"] == kind).unwrap_or_else(|| panic!("no {what} {kind}"));
    e["t_ns"].as_f64().unwrap()
}

/// A scenario on fw-pair without a stack, written into a fresh test folder: (folder, file).
fn fw_pair_scenario(name: &str, steps_and_expect: &str) -> (PathBuf, PathBuf) {
    let dir = out_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let topo = std::fs::canonicalize("../topologies/fw-pair.yaml").unwrap();
    let sc = dir.join(format!("{name}.yaml"));
    std::fs::write(&sc, format!("name: {name}\ntopology: {}\nstacks: [ none ]\n{steps_and_expect}", topo.display())).unwrap();
    (dir, sc)
}

#[test]
fn the_probe_measures_a_known_cut() {
    if !privileged() {
        return;
    }
    // The production path: `halab run` with a fabric-side block of the client's cable (no
    // carrier change, so no kernel link-watch delay) lifted by a second fault 500 ms later;
    // the gap is computed by the runner (fault time as start, slack, end trim, host clock).
    let (dir, sc) = fw_pair_scenario(
        "known-cut",
        "steps:\n  - traffic: { name: probe, kind: probe, from: client, to: server, every: 10ms, duration: 20s }\n  - wait: 2s\n  - fault: { kind: block, node: client, iface: inet }\n  - wait: 500ms\n  - fault: { kind: loss, node: client, iface: inet, percent: 0 }\n  - wait: 1s\n  - stop: probe\nexpect: [ probe.recovered ]\n",
    );
    let (code, recs) = run(sc.to_str().unwrap(), &dir.join("out"));
    assert_eq!(code, 0, "{:#}", recs.first().map(|r| r["expectations"].clone()).unwrap_or_default());
    let r = &recs[0];
    // The cut lasted from the block's nft call to the unblock's: bounded by the events around them.
    let (b_in, b_done) = (fault_event(r, "fault_injected", "block"), fault_event(r, "fault_applied", "block"));
    let (u_in, u_done) = (fault_event(r, "fault_injected", "loss"), fault_event(r, "fault_applied", "loss"));
    let (shortest, longest) = ((u_in - b_done) / 1e6, (u_done - b_in) / 1e6);
    let gap = metric(r, "probe.gap").as_f64().unwrap();
    assert_eq!(metric(r, "probe.gap_outcome"), "recovered");
    // One 10 ms tick of resolution on either side of the cut.
    assert!(gap >= shortest - 10.0 && gap <= longest + 20.0, "measured gap {gap} ms for a cut of {shortest:.1}-{longest:.1} ms");
    eprintln!("known cut {shortest:.1}-{longest:.1} ms, measured gap {gap} ms");
}

/// Partial loss, for real (netns, nftables' numgen in the fabric): 30 % of the frames of the
/// client's cable dropped each way, so an echo comes back with probability 0.7 x 0.7 = 0.49.
/// The share of n ticks echoed is binomial: within 4 standard deviations (sqrt(0.49 x 0.51 /
/// n), 0.025 for 400 ticks) of 0.49, which a wrong rule (no loss, loss one way only: 0.7, or
/// 100 %) misses by far. The probe starts before the loss (its TCP connection would otherwise
/// have to get through it). Block (100 %) and its removal (0 %) are in the known-cut test.
#[test]
fn partial_loss_drops_the_share_it_says() {
    if !privileged() {
        return;
    }
    let (dir, sc) = fw_pair_scenario(
        "partial-loss",
        "steps:\n  - traffic: { name: probe, kind: probe, from: client, to: server, every: 10ms, duration: 10s }\n  - wait: 1s\n  - fault: { kind: loss, node: client, iface: inet, percent: 30 }\n  - wait: 4s\n  - stop: probe\nexpect: []\n",
    );
    let (code, recs) = run(sc.to_str().unwrap(), &dir.join("out"));
    assert_eq!(code, 0, "{:#}", recs.first().map(|r| r["error"].clone()).unwrap_or_default());
    let r = &recs[0];
    // The ticks scheduled while the loss was on (from its fault_applied to the probe's stop,
    // 200 ms in from each end), and those of them that came back, from the raw samples.
    let applied = fault_event(r, "fault_applied", "loss");
    let run = std::fs::read_dir(dir.join("out")).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let samples: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("samples/probe.probe.json")).unwrap()).unwrap();
    let udp: Vec<(f64, f64)> = samples["udp"].as_array().unwrap().iter().map(|s| (s[0].as_f64().unwrap(), s[1].as_f64().unwrap())).collect();
    let interval = samples["interval_ns"].as_f64().unwrap();
    let (seq0, sent0) = udp.iter().copied().fold((f64::MAX, 0.0), |a, b| if b.0 < a.0 { b } else { a });
    let scheduled = |seq: f64| sent0 + (seq - seq0) * interval;
    let (from, to) = (applied + 200e6, applied + 3800e6);
    let sent = ((to - from) / interval).floor();
    let got = udp.iter().filter(|(q, _)| (from..to).contains(&scheduled(*q))).count() as f64;
    let (share, sd) = (got / sent, (0.49f64 * 0.51 / sent).sqrt());
    assert!((share - 0.49).abs() <= 4.0 * sd, "{got} of {sent} echoes came back ({share:.3}); 30 % loss each way gives 0.49 +- {:.3}", 4.0 * sd);
    eprintln!("figure: 30 % loss each way: {got} of {sent} echoes ({share:.3}, expected 0.49)");
}
