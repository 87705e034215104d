//! A run's lab belongs to its run (root): a `halab run` killed like a CI timeout kills it
//! leaves a lab that `halab gc` removes, two runs of one scenario at once never collide, and
//! Ctrl-C (SIGINT) during a run records it as interrupted, takes the lab down and exits 130.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// The `ls` lines of the labs the `halab run` processes `pids` made (`run-STACK-SC-PIDHEX-REP`):
/// other tests run scenarios beside this one.
fn run_labs(pids: &[u32]) -> Vec<String> {
    ok(&["ls"]).lines().filter(|l| l.starts_with("run-") && mine(pids, l)).map(str::to_string).collect()
}

fn mine(pids: &[u32], name: &str) -> bool {
    pids.iter().any(|p| name.split_whitespace().next().unwrap_or("").contains(&format!("-{p:x}-")))
}

/// A short scenario on fw-pair with keepalived (a probe, then a wait), written next to the
/// test's output.
fn scenario(dir: &std::path::Path, wait: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let topo = std::fs::canonicalize("../topologies/fw-pair.yaml").unwrap();
    let path = dir.join("short.yaml");
    let text = format!(
        "name: short\ntopology: {}\nstacks: [ keepalived ]\nsteps:\n  - traffic: {{ name: tick, kind: probe, from: client, to: server, duration: 90s }}\n  - wait: {wait}\nexpect: [ \"split_brain == false\" ]\n",
        topo.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_killed_run_leaves_a_lab_gc_removes_and_two_runs_never_collide() {
    if !privileged() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("halab-test-runlabs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // 1. SIGKILL mid-run (the lab is up, the scenario waits).
    let sc = scenario(&dir.join("a"), "60s");
    let mut child = Command::new(HALAB)
        .args(["run", sc.to_str().unwrap(), "-o", dir.join("a/out").to_str().unwrap()])
        .env("HALAB_PLAIN", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let me = [child.id()];
    eventually(60, "the run's lab is up", || run_labs(&me).iter().any(|l| l.contains(" up ")));
    child.kill().unwrap();
    child.wait().unwrap();
    let left = run_labs(&me);
    assert_eq!(left.len(), 1, "the killed run left its lab: {left:?}");
    assert!(left[0].contains("stale"), "ls says the lab is stale: {}", left[0]);
    let name = left[0].split_whitespace().next().unwrap();
    // A lab that is alive is left alone even when named: an `up` of this test's own.
    ok(&["up", "../topologies/fw-pair.yaml", "--name", "t-alive", "--stack", "none"]);
    let _alive = LabGuard("t-alive");
    let gc = ok(&["gc", name, "t-alive"]);
    assert_eq!(gc.trim(), format!("gc: 1 lab(s) removed: {name}"), "gc removes the killed run's lab, not the live one");
    assert!(ok(&["ls"]).lines().any(|l| l.starts_with("t-alive ")), "the live lab stays");
    ok(&["down", "t-alive"]);
    assert!(run_labs(&me).is_empty(), "nothing left: {:?}", run_labs(&me));
    assert!(ip_netns().iter().all(|n| !mine(&me, n)), "no namespace left: {:?}", ip_netns());
    // 2. The same scenario twice at once: each run gets its own lab, both pass.
    let sc = scenario(&dir.join("b"), "2s");
    let spawn = |out: &str| halab_with_pid(&["run", sc.to_str().unwrap(), "-o", dir.join(out).to_str().unwrap()]);
    let ((p1, o1), (p2, o2)) = std::thread::scope(|s| {
        let h1 = s.spawn(|| spawn("b/out1"));
        std::thread::sleep(Duration::from_millis(300));
        let h2 = s.spawn(|| spawn("b/out2"));
        (h1.join().unwrap(), h2.join().unwrap())
    });
    for o in [&o1, &o2] {
        assert_eq!(o.status.code(), Some(0), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }
    let lab = |out: &str| -> String {
        let p = std::fs::read_dir(dir.join(out)).unwrap().flatten().map(|e| e.path().join("results.json")).find(|p| p.is_file()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["lab"].as_str().unwrap().to_string()
    };
    assert_ne!(lab("b/out1"), lab("b/out2"), "two runs, two labs");
    assert!(dir.join("b/out1/junit.xml").is_file(), "halab run writes junit.xml");
    assert!(run_labs(&[p1, p2]).is_empty(), "both runs took their labs down: {:?}", run_labs(&[p1, p2]));
    let _ = std::fs::remove_dir_all(&dir);
}

fn ip_netns() -> Vec<String> {
    let o = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

/// The one record a run folder holds.
fn record(out: &std::path::Path) -> serde_json::Value {
    let p = std::fs::read_dir(out).unwrap().flatten().map(|e| e.path().join("results.json")).find(|p| p.is_file()).expect("a results.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn ctrl_c_during_a_run_records_it_interrupted_takes_the_lab_down_and_exits_130() {
    if !privileged() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("halab-test-ctrlc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sc = scenario(&dir, "60s");
    // Once while the steps run (the probe has samples), once while the lab comes up.
    for (case, delay_ms) in [("steps", None), ("up", Some("1500"))] {
        let out = dir.join(case);
        let mut c = Command::new(HALAB);
        c.args(["run", sc.to_str().unwrap(), "-o", out.to_str().unwrap()]).env("HALAB_PLAIN", "1").stdout(Stdio::null()).stderr(Stdio::null());
        if let Some(ms) = delay_ms {
            c.env("HALAB_STEP_DELAY_MS", ms);
        }
        let mut child = c.spawn().unwrap();
        let me = [child.id()];
        match case {
            "steps" => {
                eventually(60, "the run's lab is up", || run_labs(&me).iter().any(|l| l.contains(" up ")));
                std::thread::sleep(Duration::from_secs(3));
            }
            _ => eventually(30, "the run's lab is being created", || run_labs(&me).iter().any(|l| l.contains(" creating "))),
        }
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
        let t = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "{case}: halab run still runs 60 s after Ctrl-C");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(status.code(), Some(130), "{case}: Ctrl-C exits 130");
        let r = record(&out);
        assert_eq!(r["outcome"], "interrupted", "{case}: {r:#}");
        if case == "steps" {
            let samples = std::fs::read_dir(out.join("short-keepalived-1/samples")).unwrap().count();
            assert!(samples > 0, "the interrupted run kept its samples");
            assert!(r["metrics"]["tick.gap"].is_number(), "and measured them: {:#}", r["metrics"]);
        }
        assert!(run_labs(&me).is_empty(), "{case}: the lab went down: {:?}", run_labs(&me));
        assert!(ip_netns().iter().all(|n| !mine(&me, n)), "{case}: no namespace left: {:?}", ip_netns());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
