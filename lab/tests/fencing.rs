//! Fencing on real netns labs (root): a heartbeat partition on a fenced pacemaker pair ends
//! with the standby fenced (its init really killed, a new one booted, back in the cluster),
//! the VIPs on one member only; `fence_halab` answers the fence-agents calls pacemaker makes
//! (metadata, list, status, monitor, off) on stdin as pacemaker sends them; fencing a member
//! that is off already succeeds; a method the provider cannot do is bad input at its line.

mod common;

use common::*;

/// PID 1's start time inside a node (clock ticks since the host booted).
fn init_started(lab: &str, node: &str) -> u64 {
    let stat = ok(&["exec", lab, node, "--", "cat", "/proc/1/stat"]);
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split_whitespace().nth(19).unwrap().parse().unwrap()
}

#[test]
fn a_partition_on_a_fenced_pair_fences_the_standby_which_comes_back() {
    if !privileged() {
        return;
    }
    let (o, recs) =
        run_records("../scenarios/split-brain-fenced.yaml", &std::env::temp_dir().join("halab-test-split-brain-fenced"), &["--keep", "--stack", "pacemaker"]);
    let r = recs.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    let lab = r["lab"].as_str().unwrap().to_string();
    let _g = LabGuard(Box::leak(lab.clone().into_boxed_str()));
    assert_eq!(r["outcome"], "passed", "{:#}\n{}", r["expectations"], r["error"]);
    let m = &r["metrics"];
    assert_eq!(m["fenced"], serde_json::json!(["fw2"]), "the standby is fenced: {m:#}");
    assert_eq!((m["fenced.fw1"].as_bool(), m["split_brain"].as_bool()), (Some(false), Some(false)));
    // Corosync's token and consensus (~6.6 s) find the peer lost; the standby's own request
    // goes out at once (the holder's is held back 2 s).
    let after = m["fence.after_fault"].as_f64().unwrap();
    assert!((3000.0..12000.0).contains(&after), "fence {after} ms after the partition");
    // The fencer's log: off then on (reboot), asked by fw1, both done.
    let events: Vec<String> = r["stack_events"].as_array().unwrap().iter().filter(|e| e[1] == "fencer").map(|e| e[2].as_str().unwrap().to_string()).collect();
    assert_eq!(events, ["off fw2 (asked by fw1): done", "on fw2 (asked by fw1): done"], "{events:?}");
    let took = m["fence.took"].as_f64().unwrap();
    assert!(took > 0.0 && took < 5000.0, "the agent's first request to pacemaker's confirmation: {took} ms");
    // Really killed and booted: fw2's init started well after fw1's, and fw2 is back online.
    let (fw1, fw2) = (init_started(&lab, "fw1"), init_started(&lab, "fw2"));
    assert!(fw2 > fw1 + 300, "fw2's init started {} ticks after fw1's", fw2 as i64 - fw1 as i64);
    let crm = ok(&["exec", &lab, "fw1", "--", "crm_mon", "-1"]);
    assert!(crm.contains("Online: [ fw1 fw2 ]"), "{crm}");
}

#[test]
fn fence_halab_speaks_the_fence_agents_protocol() {
    if !privileged() {
        return;
    }
    let lab = "hlfence";
    let _g = LabGuard(lab);
    ok(&["up", "../topologies/fw-pair.yaml", "--name", lab, "--stack", "pacemaker"]);
    let agent = |stdin: &str| {
        let o = std::process::Command::new(HALAB)
            .args(["exec", lab, "fw1", "--", "sh", "-c", &format!("printf '{stdin}' | fence_halab; echo rc=$?")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let conf = ok(&["exec", lab, "fw1", "--", "sh", "-c", "crm_resource --resource fence-fw2 --get-parameter ip"]);
    let ip = conf.trim();
    // metadata: well-formed XML naming the agent and its parameters, as pacemaker reads it.
    let md = ok(&["exec", lab, "fw1", "--", "stonith_admin", "--metadata", "--agent", "fence_halab"]);
    assert!(md.contains("<resource-agent name=\"fence_halab\"") && md.contains("name=\"lab_key\"") && md.contains("<action name=\"reboot\""), "{md}");
    let parsed = ok(&["exec", lab, "fw1", "--", "python3", "-c", "import sys,subprocess,xml.dom.minidom as m; m.parseString(subprocess.run(['fence_halab','-o','metadata'],capture_output=True).stdout); print('xml ok')"]);
    assert_eq!(parsed.trim(), "xml ok");
    // list, status and monitor with parameters on stdin, one per line.
    let list = agent(&format!("action=list\\nip={ip}\\n"));
    assert!(list.contains("fw1,fw1") && list.contains("fw2,fw2") && list.contains("rc=0"), "{list}");
    let status = agent(&format!("action=status\\nip={ip}\\nplug=fw2\\n"));
    assert!(status.contains("rc=0"), "status of a running member is 0: {status}");
    assert!(agent(&format!("action=monitor\\nip={ip}\\n")).contains("rc=0"));
    // A wrong key is refused.
    let bad = agent(&format!("action=status\\nip={ip}\\nplug=fw2\\nlab_key=/etc/hostname\\n"));
    assert!(!bad.contains("rc=0"), "a wrong key must fail: {bad}");
    // pacemaker's own view: the device can fence fw2.
    let can = ok(&["exec", lab, "fw1", "--", "stonith_admin", "--list", "fw2"]);
    assert!(can.contains("fence-fw2"), "{can}");
    // A member that is off already: fencing it succeeds at once.
    ok(&["power", lab, "fw2", "off"]);
    let off = agent(&format!("action=off\\nip={ip}\\nplug=fw2\\n"));
    assert!(off.contains("Already OFF") && off.contains("rc=0"), "{off}");
    let status = agent(&format!("action=status\\nip={ip}\\nplug=fw2\\n"));
    assert!(status.contains("rc=2"), "status of a member that is off is 2: {status}");
    ok(&["down", lab]);
}

#[test]
fn a_fencing_method_the_provider_cannot_do_is_bad_input() {
    if !privileged() {
        return;
    }
    let t = std::fs::read_to_string("../topologies/fw-pair.yaml").unwrap().replace("fencing: { action: reboot,", "fencing: { method: virt, action: reboot,");
    let p = std::env::temp_dir().join("halab-test-fence-virt.yaml");
    std::fs::write(&p, &t).unwrap();
    let line = t.lines().position(|l| l.contains("method: virt")).unwrap() + 1;
    let o = halab(&["up", p.to_str().unwrap(), "--name", "hlfvirt", "--stack", "pacemaker"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:{line}:", p.display())) && err.contains("the netns provider cannot fence with `virt`"), "{err}");
    assert!(halab(&["status", "hlfvirt"]).status.code() != Some(0), "nothing was made");
}
