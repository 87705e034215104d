//! Scenarios on real netns labs (root): scp survives a crash failover on both stacks; the
//! control experiment without conntrackd fails with evidence (exit 1); cable pull and
//! switchover pass with gaps recorded; a bad scenario exits 2 and creates nothing; the gap
//! probe measures a known cut.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

fn run(scenario: &str, out: &Path) -> (i32, Vec<serde_json::Value>) {
    let o = std::process::Command::new(HALAB).args(["run", scenario, "-o", out.to_str().unwrap()]).env("HALAB_PLAIN", "1").output().unwrap();
    let code = o.status.code().unwrap_or(-1);
    let mut recs = Vec::new();
    for e in std::fs::read_dir(out).unwrap_or_else(|_| panic!("no run folder; stderr:\n{}", String::from_utf8_lossy(&o.stderr))) {
        let p = e.unwrap().path().join("results.json");
        if let Ok(t) = std::fs::read_to_string(&p) {
            recs.push(serde_json::from_str(&t).unwrap());
        }
    }
    recs.sort_by_key(|r: &serde_json::Value| r["stack"].as_str().unwrap_or("").to_string());
    (code, recs)
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
        let gap = metric(r, "probe.gap").as_f64().unwrap();
        assert!(gap > 500.0 && gap < 15000.0, "a crash failover has a real, bounded gap: {gap}");
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
}

#[test]
fn cable_pull_and_switchover_pass_on_both_stacks() {
    if !privileged() {
        return;
    }
    for sc in ["cable-pull-inet", "switchover"] {
        let (code, recs) = run(&format!("../scenarios/{sc}.yaml"), &out_dir(sc));
        assert_eq!(recs.len(), 2);
        for r in &recs {
            assert_eq!(r["outcome"], "passed", "{sc} on {}: {:#}", r["stack"], r["expectations"]);
            assert!(metric(r, "probe.gap").as_f64().is_some(), "{sc}: gap recorded");
        }
        assert_eq!(code, 0, "{sc}");
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
    let netns_before = std::process::Command::new("ip").args(["netns", "list"]).output().unwrap().stdout;
    let o = halab(&["run", file.to_str().unwrap(), "-o", out_dir("bad").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("halab-bad-scenario.yaml:4:20") && err.contains("unknown fault `meteor`"), "{err}");
    assert_eq!(std::process::Command::new("ip").args(["netns", "list"]).output().unwrap().stdout, netns_before);
    assert!(!out_dir("bad").exists());
}

#[test]
fn the_probe_measures_a_known_cut() {
    if !privileged() {
        return;
    }
    let lab = "t-gap";
    let _down = LabGuard(lab);
    ok(&["up", "../topologies/fw-pair.yaml", "--name", lab, "--stack", "none"]);
    ok(&["exec", lab, "server", "--", "sh", "-c", "halab probe server --duration 30s </dev/null >/dev/null 2>&1 &"]);
    std::thread::sleep(Duration::from_millis(200));
    let client =
        std::thread::spawn(move || ok(&["exec", lab, "client", "--", "halab", "probe", "client", "198.18.2.10", "--duration", "4s", "--out", "/tmp/gap.json"]));
    std::thread::sleep(Duration::from_millis(1500));
    let st = halab::labstate::LabState::load(lab).unwrap();
    // The cut is a fabric-side block of fw1's inet port: no carrier change, so no kernel
    // link-watch delay in the measurement; its length is timed around the two nft calls.
    let t1a = halab::measure::clock::now_ns();
    halab::provider::netns::loss::set_loss(&st, "fw1", "inet", 100).unwrap();
    let t1 = (t1a + halab::measure::clock::now_ns()) / 2;
    std::thread::sleep(Duration::from_millis(500));
    let t2a = halab::measure::clock::now_ns();
    halab::provider::netns::loss::set_loss(&st, "fw1", "inet", 0).unwrap();
    let t2 = halab::measure::clock::now_ns();
    client.join().unwrap();
    let text = ok(&["exec", lab, "client", "--", "cat", "/tmp/gap.json"]);
    let s: halab::measure::probe::ProbeSamples = serde_json::from_str(&text).unwrap();
    let udp: Vec<u64> = s.udp.iter().map(|x| x.2).collect();
    let g = halab::measure::gap::longest_gap(&udp, t1 - 100_000_000, s.end_ns - 200_000_000, 200.0);
    let cut_ms = ((t2a + t2) / 2 - t1) as f64 / 1e6;
    assert_eq!(g.outcome, halab::measure::gap::GapOutcome::Recovered);
    assert!((g.gap_ms - cut_ms).abs() <= 30.0, "measured gap {:.1} ms for a {cut_ms:.1} ms cut", g.gap_ms);
    eprintln!("known cut {cut_ms:.1} ms, measured gap {:.1} ms", g.gap_ms);
}
