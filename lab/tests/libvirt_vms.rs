//! The libvirt provider for real: Debian VMs under qemu (TCG on this machine), libvirt
//! networks, SSH over russh with pinned host keys, faults (cable, loss, freeze, power).
//! Needs root and a running libvirtd (`.ci/run` starts virtlogd and libvirtd itself).
#![cfg(feature = "libvirt")]

mod common;

use std::process::Command;

use common::*;

fn virsh_names(what: &str) -> Vec<String> {
    let o = Command::new("virsh").args(["-c", "qemu:///system", what, "--all", "--name"]).output().expect("virsh");
    String::from_utf8_lossy(&o.stdout).lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

fn exec_out(lab: &str, node: &str, cmd: &[&str]) -> String {
    let mut args = vec!["exec", lab, node, "--"];
    args.extend_from_slice(cmd);
    ok(&args).trim().to_string()
}

fn lab_id(lab: &str) -> String {
    status_json(lab);
    let st: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("/var/lib/halab/labs/{lab}/lab.json")).unwrap()).unwrap();
    st["plan"]["id"].as_str().unwrap().to_string()
}

/// Nothing of the lab is left: no domain, no network, no tap or bridge, no directory.
fn assert_gone(lab: &str, id: &str) {
    let doms: Vec<String> = virsh_names("list").into_iter().filter(|d| d.starts_with(&format!("{lab}-"))).collect();
    let nets: Vec<String> = virsh_names("net-list").into_iter().filter(|n| n.starts_with(&format!("{lab}-"))).collect();
    assert!(doms.is_empty() && nets.is_empty(), "left behind: domains {doms:?}, networks {nets:?}");
    let links = String::from_utf8_lossy(&Command::new("ip").args(["-o", "link"]).output().unwrap().stdout).into_owned();
    assert!(!links.contains(&format!("hl{id}")), "a tap or bridge of the lab is left: {links}");
    assert!(!std::path::Path::new(&format!("/var/lib/halab/labs/{lab}")).exists(), "the lab's directory is left");
    let tables = String::from_utf8_lossy(&Command::new("nft").args(["list", "tables"]).output().unwrap().stdout).into_owned();
    assert!(!tables.contains(&format!("hl{id}")), "an nft table of the lab is left: {tables}");
}

#[test]
fn two_vms_boot_answer_over_russh_and_survive_cable_pull_power_cycle_and_freeze() {
    if !libvirt_ready() {
        return;
    }
    let lab = "hlvm2";
    let _g = LabGuard(lab);
    let out = ok(&["up", "tests/data/two-vms.yaml", "--name", lab, "--provider", "libvirt"]);
    assert!(out.contains("2 nodes on libvirt"), "{out}");
    let id = lab_id(lab);
    let s = status_json(lab);
    assert!(s["provider"].as_str().unwrap().starts_with("libvirt"), "{s}");

    // Each VM is itself: its own hostname, machine-id and host key (pinned by the transport).
    assert_eq!(exec_out(lab, "a", &["hostname"]), "a");
    assert_eq!(exec_out(lab, "b", &["hostname"]), "b");
    assert_ne!(exec_out(lab, "a", &["cat", "/etc/machine-id"]), exec_out(lab, "b", &["cat", "/etc/machine-id"]));
    assert_ne!(
        exec_out(lab, "a", &["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).split_whitespace().nth(1),
        exec_out(lab, "b", &["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).split_whitespace().nth(1)
    );
    // OpenSSH with the lab's known_hosts (StrictHostKeyChecking=yes) agrees with the pin.
    assert_eq!(ok(&["ssh", lab, "b", "--", "hostname"]).trim(), "b");
    // Interfaces are named as in the plan; b's web service runs as a systemd unit.
    assert!(exec_out(lab, "a", &["ip", "-br", "addr", "show", "lan"]).contains("198.18.2.10/24"));
    assert_eq!(exec_out(lab, "b", &["systemctl", "is-active", "halab-web"]), "active");
    assert!(pings(lab, "a", "198.18.2.20"));

    // Cable pull: the guest sees no carrier, keeps its address, and the ping fails.
    ok(&["link", lab, "a", "lan", "down"]);
    eventually(10, "a sees no carrier on lan", || exec_out(lab, "a", &["cat", "/sys/class/net/lan/carrier"]) == "0");
    assert!(exec_out(lab, "a", &["ip", "-br", "addr", "show", "lan"]).contains("198.18.2.10/24"), "IgnoreCarrierLoss keeps the address");
    assert!(!pings(lab, "a", "198.18.2.20"));
    ok(&["link", lab, "a", "lan", "up"]);
    eventually(15, "the ping works again after the plug", || pings(lab, "a", "198.18.2.20"));

    // Loss on the host-side tap (the same nft rules as on the netns fabric): 100 % is a cut.
    ok(&["loss", lab, "a", "lan", "100"]);
    assert!(!pings(lab, "a", "198.18.2.20"), "100 % loss drops everything");
    ok(&["loss", lab, "a", "lan", "0"]);
    eventually(10, "no loss, the ping works", || pings(lab, "a", "198.18.2.20"));

    // Freeze: b answers nothing, then everything again.
    ok(&["power", lab, "b", "freeze"]);
    assert!(!pings(lab, "a", "198.18.2.20"), "a suspended VM answers no ping");
    ok(&["power", lab, "b", "thaw"]);
    eventually(10, "b answers after thaw", || pings(lab, "a", "198.18.2.20"));

    // Power cut and power on: b comes back with its identity and its service.
    ok(&["power", lab, "b", "off"]);
    assert_eq!(status_json(lab)["nodes"][1]["state"], "off");
    assert!(!pings(lab, "a", "198.18.2.20"));
    ok(&["power", lab, "b", "on"]);
    assert_eq!(exec_out(lab, "b", &["hostname"]), "b");
    assert_eq!(exec_out(lab, "b", &["systemctl", "is-active", "halab-web"]), "active");
    assert!(pings(lab, "a", "198.18.2.20"));

    // Reboot: a new boot (boot_id changes), the transport reconnects, the service is back.
    let boot_id = exec_out(lab, "b", &["cat", "/proc/sys/kernel/random/boot_id"]);
    ok(&["power", lab, "b", "reboot"]);
    assert_ne!(exec_out(lab, "b", &["cat", "/proc/sys/kernel/random/boot_id"]), boot_id);
    assert_eq!(exec_out(lab, "b", &["systemctl", "is-active", "halab-web"]), "active");

    ok(&["down", lab]);
    assert_gone(lab, &id);
}

/// A mixed lab: the firewalls are VMs, the client and the server netns nodes on this machine,
/// cabled to the lab's libvirt bridges. Traffic crosses both kinds, a cable pull and a power
/// cycle of the netns client act on its host-side port, keepalived fails over on a power cut
/// of the MASTER VM, and `down` leaves nothing of either kind.
#[test]
fn fw_pair_keepalived_fails_over_on_two_vms_beside_a_netns_client_and_server() {
    if !libvirt_ready() {
        return;
    }
    let lab = "hlvmfw";
    let _g = LabGuard(lab);
    let out = ok(&["up", "tests/data/fw-pair-mixed.yaml", "--name", lab, "--provider", "libvirt"]);
    assert!(out.contains("4 nodes on libvirt"), "{out}");
    let id = lab_id(lab);
    let s = status_json(lab);
    assert!(s["provider"].as_str().unwrap().ends_with("client, server on netns"), "{s}");
    let doms: Vec<String> = virsh_names("list").into_iter().filter(|d| d.starts_with(&format!("{lab}-"))).collect();
    assert_eq!(doms, [format!("{lab}-fw1"), format!("{lab}-fw2")], "only the members are VMs");
    // The client is a netns node: its hostname, and the host kernel's (it has none of its own).
    assert_eq!(exec_out(lab, "client", &["hostname"]), "client");
    assert_eq!(exec_out(lab, "client", &["uname", "-r"]), String::from_utf8_lossy(&Command::new("uname").arg("-r").output().unwrap().stdout).trim());
    assert_ne!(exec_out(lab, "fw1", &["uname", "-r"]), exec_out(lab, "client", &["uname", "-r"]));
    assert!(pings(lab, "client", "198.18.2.10"), "the client reaches the server through the VIPs");
    // Its cable is its port on the lab's host bridge.
    ok(&["link", lab, "client", "inet", "down"]);
    assert!(!pings(lab, "client", "198.18.2.10"), "a pulled cable cuts the netns client off");
    ok(&["link", lab, "client", "inet", "up"]);
    eventually(10, "the ping works again after the plug", || pings(lab, "client", "198.18.2.10"));
    // Power cycle (boot_time 2 s): it comes back cabled to the same bridge.
    ok(&["power", lab, "client", "off"]);
    assert_eq!(status_json(lab)["nodes"][0]["state"], "off");
    ok(&["power", lab, "client", "on"]);
    assert!(pings(lab, "client", "198.18.2.10"), "the powered-on client is cabled again");

    let members = status_json(lab)["members"].clone();
    let master = members.as_array().unwrap().iter().find(|m| m["role"] == "MASTER").expect("a MASTER")["name"].as_str().unwrap().to_string();
    let backup = if master == "fw1" { "fw2" } else { "fw1" };
    ok(&["power", lab, &master, "off"]);
    eventually(30, "the client reaches the server again through the backup", || pings(lab, "client", "198.18.2.10"));
    let after = status_json(lab)["members"].clone();
    let holder = after.as_array().unwrap().iter().find(|m| m["name"] == backup).unwrap().clone();
    assert_eq!(holder["role"], "MASTER", "{after}");
    assert_eq!(holder["vips"].as_array().unwrap().len(), 2, "{after}");
    ok(&["down", lab]);
    assert_gone(lab, &id);
    let ns = String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).into_owned();
    assert!(!ns.contains(&format!("{lab}.")), "a netns node of the lab is left: {ns}");
}

/// Where netns nodes cannot go, `up` says so at the node's `provider:` line and makes nothing:
/// a cluster member (members run on the lab's provider), and any node of a hosts lab.
#[test]
fn netns_nodes_are_refused_where_they_cannot_run() {
    if !libvirt_ready() {
        return;
    }
    up_refused(
        &["tests/data/placement/member-on-netns.yaml", "--name", "hlvmplace", "--provider", "libvirt"],
        2,
        &["member-on-netns.yaml:8:15: nodes.fw2.provider: node `fw2` is a cluster member: members run on the lab's provider (libvirt)"],
        "hlvmplace",
    );
    up_refused(
        &["tests/data/fw-pair-mixed.yaml", "--name", "hlvmplace", "--provider", "hosts", "--inventory", "tests/data/hosts/none.yaml"],
        2,
        &["fw-pair-mixed.yaml:13:15: nodes.client.provider: the hosts provider cannot place node `client` on netns", "fw-pair-mixed.yaml:21:15:"],
        "hlvmplace",
    );
}

/// A heartbeat partition on two fenced pacemaker VMs, fenced as production KVM clusters are:
/// Debian's fence_virt in the members asks the lab's fence_virtd on the host, which really
/// powers the standby's domain off and on; the fencer sees it boot and it rejoins.
#[test]
fn a_partition_on_fenced_vms_is_fenced_through_fence_virtd() {
    if !libvirt_ready() {
        return;
    }
    let out = std::env::temp_dir().join("halab-test-fenced-partition-vms");
    let (o, recs) = run_records("tests/data/fenced-partition-vms.yaml", &out, &["--keep", "--provider", "libvirt"]);
    let r = recs.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    let lab = r["lab"].as_str().unwrap().to_string();
    let _g = LabGuard(Box::leak(lab.clone().into_boxed_str()));
    let id = lab_id(&lab);
    assert_eq!(r["outcome"], "passed", "{:#}\n{}", r["expectations"], r["error"]);
    let settings = r["settings"].to_string();
    assert!(settings.contains("fencing fence_virt to fence_virtd on the host"), "libvirt's default method: {settings}");
    assert!(settings.contains("provider libvirt, client, server on netns"), "a mixed lab says so: {settings}");
    let m = &r["metrics"];
    eprintln!("figure: mixed lab (2 VMs): probe tick lateness p99 {} ms, max {} ms", m["probe.tick_late_p99"], m["probe.tick_late_max"]);
    assert_eq!(m["fenced"], serde_json::json!(["fw2"]), "the standby is fenced: {m:#}");
    assert_eq!(m["split_brain"].as_bool(), Some(false));
    // fence_virtd's own log: fw1 asked it to reboot fw2's domain.
    let events: Vec<String> = r["stack_events"].as_array().unwrap().iter().filter(|e| e[1] == "fencer").map(|e| e[2].as_str().unwrap().to_string()).collect();
    assert!(events.iter().any(|e| e == "reboot fw2 (asked by fw1 via fence_virtd): asked"), "{events:?}");
    assert!(m["fence.after_fault"].as_f64().is_some_and(|t| t > 1000.0), "{m:#}");
    // Really powered off and booted: fw2's kernel is much younger than fw1's, and back online.
    let uptime = |n: &str| exec_out(&lab, n, &["cut", "-d.", "-f1", "/proc/uptime"]).parse::<u64>().unwrap();
    let (fw1, fw2) = (uptime("fw1"), uptime("fw2"));
    assert!(fw1 > fw2 + 20, "fw2 booted again: up {fw2} s against fw1's {fw1} s");
    eventually(120, "fw2 back online", || exec_out(&lab, "fw1", &["crm_mon", "-1"]).contains("Online: [ fw1 fw2 ]"));
    // fence_virtd serves this lab's members only its own domains (its `groups` block) and
    // refuses a wrong key.
    let host = status_json(&lab)["host_addr"].as_str().unwrap().to_string();
    let fv = |args: &str| exec_out(&lab, "fw1", &["sh", "-c", &format!("fence_virt -T {host} -t 20 {args} 2>&1; echo rc=$?")]);
    let list = fv("-o list");
    assert!(list.contains(&format!("{lab}-fw1")) && list.contains(&format!("{lab}-fw2")) && !list.contains(&format!("{lab}-client")), "{list}");
    assert!(fv("-o monitor").ends_with("rc=0"));
    assert!(fv("-H hlvmfw-fw1 -o status").ends_with("rc=3"), "another lab's domain: permission denied");
    assert!(!fv(&format!("-k /etc/hostname -H {lab}-fw2 -o status")).ends_with("rc=0"), "a wrong key is refused");
    let conf = format!("/var/lib/halab/labs/{lab}/fence_virt.conf");
    ok(&["down", &lab]);
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.unwrap().path().join("cmdline")).ok())
        .any(|c| String::from_utf8_lossy(&c).contains(&conf));
    assert!(!left, "down stops the lab's fence_virtd");
    assert_gone(&lab, &id);
}

/// Start `up` of the two-VM lab and send `signal` once the domains exist (the VMs are booting).
fn interrupt_vm_up(lab: &str, signal: nix::sys::signal::Signal) -> std::process::ExitStatus {
    let mut child = Command::new(HALAB)
        .args(["up", "tests/data/two-vms.yaml", "--name", lab, "--provider", "libvirt"])
        .env("HALAB_PLAIN", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while virsh_names("list").iter().filter(|d| d.starts_with(&format!("{lab}-"))).count() < 2 {
        assert!(t.elapsed() < std::time::Duration::from_secs(120), "up never started its VMs");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    child.wait().unwrap()
}

#[test]
fn ctrl_c_or_sigkill_during_vm_up_leaves_nothing_after_rollback_or_gc() {
    if !libvirt_ready() {
        return;
    }
    let lab = "hlvmint";
    let _g = LabGuard(lab);
    let id = halab::topology::validate::lab_id(lab);
    let status = interrupt_vm_up(lab, nix::sys::signal::Signal::SIGINT);
    assert!(!status.success(), "an interrupted up must not report success");
    assert_gone(lab, &id);

    let status = interrupt_vm_up(lab, nix::sys::signal::Signal::SIGKILL);
    assert!(!status.success());
    assert!(virsh_names("list").iter().any(|d| d.starts_with(&format!("{lab}-"))), "a killed up leaves its VMs for gc to find");
    let gc = ok(&["gc", lab]);
    assert!(gc.starts_with("gc: 1 lab(s) removed: hlvmint"), "gc removes the lab whose halab process is gone: {gc}");
    assert_gone(lab, &id);
}
