//! The hosts provider over SSH, fast (root, netns): the "hosts" are the nodes of a netns lab
//! (`tests/data/hosts/rack.yaml`) reached over its management network, with the rack's own
//! addresses on their NICs, which a lab on them must leave alone. Pinned keys, bad
//! inventories, a miscabled host, the scp scenario with a power cut through the inventory's
//! command driver, leases (refusal, expiry recovery), `down` leaving every host as it was;
//! the members' cables pulled at the rack's switch over SNMP (net-snmp's snmpd in the rack's
//! fabric namespace sets the port's ifAdminStatus: a real carrier loss), cables that heal
//! themselves once their controller is lost; a nightly on pacemaker: health checks first, a
//! cable pull by the host's `ip link`, infrastructure errors kept apart from failures.

mod common;
mod hosts_rack;

use std::path::{Path, PathBuf};

use common::*;
use hosts_rack::{host_entry, Pdu, Switch};

const RACK: &str = "rack";
const KEY: &str = "/var/lib/halab/labs/rack/ssh/id_ed25519";

fn rack_exec(host: &str, script: &str) -> String {
    hosts_rack::rack_exec(RACK, host, script)
}

/// The carrier a node's NIC sees (1 or 0), through halab on the lab.
fn carrier(lab: &str, node: &str, nic: &str) -> String {
    ok(&["exec", lab, node, "--", "cat", &format!("/sys/class/net/{nic}/carrier")]).trim().to_string()
}

/// Each host's MACs per rack switch, and its management address. With `gear`, the members
/// (h2, h3) have their cables pulled at the switch (each NIC's switch port is its veth
/// peer), h1's by an nft drop rule, and h4 is powered through the PDU.
fn inventory_at(dir: &Path, swap_lan_and_heartbeat_on: Option<&str>, gear: Option<(&Switch, &Pdu)>) -> PathBuf {
    let mut y = String::from("name: rack\nhosts:\n");
    for h in ["h1", "h2", "h3", "h4"] {
        let (entry, ports) = host_entry(RACK, h, KEY, swap_lan_and_heartbeat_on == Some(h));
        y += &entry;
        if let (Some((sw, _)), true) = (gear, ["h2", "h3"].contains(&h)) {
            y += &format!("    cable: {{ driver: snmp, agent: '{}', community_file: switch.community, ports: {{ {ports} }} }}\n", sw.agent);
        }
        if gear.is_some() && h == "h1" {
            y += "    cable: { driver: drop }\n";
        }
        // The controller runs these: halab by its full path (a CI job's PATH may lack it).
        y += &match gear {
            Some((_, pdu)) if h == "h4" => format!("    power: {{ driver: pdu, url: '{}', pdu: rack-pdu, outlet: 4 }}\n", pdu.url),
            _ => format!("    power: {{ driver: command, off: '{HALAB} power {RACK} {h} off', on: '{HALAB} power {RACK} {h} on', status: '{HALAB} exec {RACK} {h} -- true' }}\n"),
        };
    }
    let name = if swap_lan_and_heartbeat_on.is_some() { "miscabled.yaml" } else { "inv.yaml" };
    std::fs::write(dir.join(name), y).unwrap();
    dir.join(name)
}

fn inventory(dir: &Path, swap_lan_and_heartbeat_on: Option<&str>) -> PathBuf {
    inventory_at(dir, swap_lan_and_heartbeat_on, None)
}

/// What a lab may change on a host, to compare before and after (link indexes renumber when
/// a netns node is powered off and on: they are left out).
fn host_state(h: &str) -> String {
    rack_exec(
        h,
        "ip -br addr | sed 's/@if[0-9]*//; s/  */ /g'; ip route; sysctl -n net.ipv4.ip_forward; sysctl -n net.netfilter.nf_conntrack_tcp_loose 2>/dev/null || echo 1; \
         ls /etc/keepalived /etc/conntrackd /etc/corosync /etc/halab /var/lib/pacemaker/cib /var/lib/corosync 2>&1; md5sum /etc/conntrackd/conntrackd.conf; \
         ls /run/halab/svc 2>&1; nft list tables; ls /var/lib/halab-hosts/journal /var/lib/halab-hosts/backup /run/halab-heal 2>&1; \
         pidof keepalived conntrackd corosync pacemakerd || true",
    )
}

/// The rack up (netns), a fresh temp dir, its inventory (keys not pinned), no quarantine.
fn rack(name: &str) -> (LabGuard, PathBuf, PathBuf) {
    let _ = halab(&["down", RACK]);
    let _ = std::fs::remove_dir_all("/var/lib/halab/hosts/rack");
    ok(&["up", "tests/data/hosts/rack.yaml"]);
    let guard = LabGuard(RACK);
    let dir = std::env::temp_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let inv = inventory(&dir, None);
    (guard, dir, inv)
}

/// The MAC an inventory text gives `host` on lan.
fn lan_mac(inventory: &str, host: &str) -> String {
    let after = inventory.split(&format!("  {host}:")).nth(1).unwrap();
    after.lines().find(|l| l.contains(": lan")).unwrap().trim().split(": ").next().unwrap().to_string()
}

/// The rack host a node of lab `lab` runs on (the rack's nodes are named for their hosts).
fn bound_host(lab: &str, node: &str) -> String {
    ok(&["exec", lab, node, "--", "hostname"]).trim().to_string()
}

fn walk(d: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(d).into_iter().flatten().flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect()
}

fn all_states() -> Vec<String> {
    ["h1", "h2", "h3", "h4"].iter().map(|h| host_state(h)).collect()
}

#[test]
fn a_lab_on_existing_hosts_comes_up_survives_a_power_cut_and_leaves_them_as_they_were() {
    if !privileged() {
        return;
    }
    let (_rack, dir, _) = rack("halab-test-hosts");
    let (switch, pdu) = (Switch::start(RACK, &dir), Pdu::start(RACK, &dir));
    let inv = inventory_at(&dir, None, Some((&switch, &pdu)));
    let inv_s = inv.to_str().unwrap();

    // Bad input: exit 2 at file:line:col, nothing made.
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "name: r\nhosts:\n  h1:\n    address: 198.19.0.300\n    key: /nonexistent\n").unwrap();
    let err = up_refused(
        &["../topologies/fw-pair.yaml", "--provider", "hosts", "--inventory", bad.to_str().unwrap()],
        2,
        &["bad.yaml:4:14: hosts.h1.address"],
        "fw-pair",
    );
    assert!(err.contains("bad.yaml:5:10: hosts.h1.key: no private key at /nonexistent"), "{err}");

    // No key pinned yet: refused, naming the command that pins it.
    let before = all_states();
    up_refused(
        &["../topologies/fw-pair.yaml", "--provider", "hosts", "--inventory", inv_s],
        3,
        &["has no pinned SSH host key", "halab hosts trust --inventory"],
        "fw-pair",
    );
    assert!(ok(&["hosts", "ls", "--inventory", inv_s]).contains("unknown: pin its key"));

    // Trust prints the fingerprint ssh-keygen shows for the host's own key.
    let trusted = ok(&["hosts", "trust", "--inventory", inv_s]);
    let fp = rack_exec("h2", "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2");
    assert!(trusted.contains(&"h2 (".to_string()) && trusted.contains(fp.trim()), "{trusted}\nvs {fp}");
    settles_to("trust changes nothing on the hosts", &before, 10, all_states);

    // Health checks: all pass; a host whose NIC is not where the inventory says is
    // quarantined, shown so, and not bound; a passing check releases it.
    let healthy = ok(&["hosts", "check", "--inventory", inv_s]);
    assert_eq!(healthy.matches(": healthy (").count(), 4, "{healthy}");
    eprintln!(
        "figure: health check per host: {}",
        healthy.lines().map(|l| l.rsplit('(').next().unwrap_or("").trim_end_matches(')')).collect::<Vec<_>>().join(", ")
    );
    let sick = dir.join("sick.yaml");
    let text = std::fs::read_to_string(&inv).unwrap();
    let h4_mac = lan_mac(&text, "h4");
    std::fs::write(&sick, text.replace(&h4_mac, "02:00:00:00:00:99")).unwrap();
    std::fs::copy(dir.join("inv.known_hosts"), dir.join("sick.known_hosts")).unwrap();
    let o = halab(&["hosts", "check", "--inventory", sick.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("h4: QUARANTINED") && out.contains("no NIC with MAC 02:00:00:00:00:99"), "{out}");
    assert!(ok(&["hosts", "ls", "--inventory", inv_s]).contains("QUARANTINED: nics: no NIC with MAC 02:00:00:00:00:99"));
    up_refused(
        &["../topologies/fw-pair.yaml", "--provider", "hosts", "--inventory", inv_s],
        3,
        &["can play node `server`", "h4 is quarantined (nics: no NIC"],
        "fw-pair",
    );
    ok(&["hosts", "check", "--inventory", inv_s]);
    assert!(!ok(&["hosts", "ls", "--inventory", inv_s]).contains("QUARANTINED"));

    // A NIC cabled elsewhere than the inventory says: up fails at the ping matrix, naming
    // both ends, and rolls back.
    let mis = inventory(&dir, Some("h3"));
    std::fs::copy(dir.join("inv.known_hosts"), dir.join("miscabled.known_hosts")).unwrap();
    up_refused(
        &["../topologies/fw-pair.yaml", "--provider", "hosts", "--inventory", mis.to_str().unwrap()],
        3,
        &["not cabled as the inventory says", "fw2 (host h3) does not reach"],
        "fw-pair",
    );
    settles_to("the refused up left every host as it was", &before, 10, all_states);

    // The scp scenario on the hosts, the active powered off through the inventory's command.
    let out = dir.join("run");
    let (o, recs) = run_records("../scenarios/scp-survives-failover.yaml", &out, &["--stack", "keepalived", "--provider", "hosts", "--inventory", inv_s]);
    assert_eq!(recs.len(), 1, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(recs[0]["outcome"], "passed", "{:#}\n{}", recs[0]["expectations"], recs[0]["error"]);
    assert_gap_around_the_fault(&recs[0], 1000.0);
    let events = std::fs::read_to_string(std::fs::read_dir(&out).unwrap().flatten().find(|e| e.path().is_dir()).unwrap().path().join("events.jsonl")).unwrap();
    let applied = events.lines().find(|l| l.contains("\"fault_applied\"")).expect("a fault_applied event");
    assert!(
        applied.contains(&format!("power command `{HALAB} power rack h2 off`")) || applied.contains(&format!("power command `{HALAB} power rack h3 off`")),
        "{applied}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("was left powered off: powered on again"), "down powers the cut host on");
    settles_to("down left every host as it was", &before, 10, all_states);

    // Leases: a second lab wanting the same hosts is refused while the first holds them.
    // (The power cut made h2 or h3 new veths: their switch ports have new ifIndexes.)
    inventory_at(&dir, None, Some((&switch, &pdu)));
    ok(&["up", "../topologies/fw-pair.yaml", "--provider", "hosts", "--inventory", inv_s, "--lease-ttl", "20s"]);
    let fw_pair = LabGuard("fw-pair");
    let held = ok(&["hosts", "ls", "--inventory", inv_s]);
    assert_eq!(held.matches("(lab fw-pair)").count(), 4, "{held}");
    up_refused(
        &["../topologies/fw-pair.yaml", "--name", "other", "--provider", "hosts", "--inventory", inv_s],
        3,
        &["is leased to", "lab `fw-pair`", "no host of the lab was kept"],
        "other",
    );
    let t = std::time::Instant::now();
    up_refused(
        &["../topologies/fw-pair.yaml", "--name", "other", "--provider", "hosts", "--inventory", inv_s, "--lease-wait", "3s"],
        3,
        &["still held after waiting 3 s", "lab `fw-pair`"],
        "other",
    );
    assert!(t.elapsed().as_secs() >= 3, "it waited");
    // Cables left pulled when the controller is lost heal by themselves: the switch port by
    // the controller's watchdog (the lab's state is gone), the end host's `ip link` by the
    // host's own watchdog once the lease expires, before any lab takes the host again.
    let t = std::time::Instant::now();
    ok(&["link", "fw-pair", "fw2", "lan", "down"]);
    eprintln!("figure: cable pull at the switch by SNMP (halab link, whole command): {:.2} s", t.elapsed().as_secs_f64());
    ok(&["link", "fw-pair", "server", "lan", "down"]);
    assert_eq!(carrier("fw-pair", "fw2", "lan"), "0");
    let server_nic_up = || ok(&["exec", "fw-pair", "server", "--", "ip", "-br", "link", "show", "lan"]).split_whitespace().nth(1) == Some("UP");
    assert!(!server_nic_up(), "server's lan is set down on its host");
    let (fw2_host, server_host) = (bound_host("fw-pair", "fw2"), bound_host("fw-pair", "server"));
    // The controller of fw-pair is lost (its state gone, nothing undone); once the lease
    // expires, the next lab takes the hosts and first undoes what fw-pair left.
    std::fs::remove_dir_all("/var/lib/halab/labs/fw-pair").unwrap();
    drop(fw_pair);
    let lost = std::time::Instant::now();
    let left: u64 = held.split(" s left").next().and_then(|t| t.rsplit(", ").next()).and_then(|n| n.trim().parse().ok()).unwrap_or(20);
    eventually(10, "the switch port healed without its controller", || rack_exec(&fw2_host, "cat /sys/class/net/*/carrier").lines().all(|c| c == "1"));
    eprintln!("figure: controller lost -> switch port healed by the controller's watchdog: {:.2} s", lost.elapsed().as_secs_f64());
    // A lab that waits gets the hosts once fw-pair's lease ends. The host heals the cable
    // itself just before, while fw-pair still holds it: no lab's undo did it.
    let inv_w = inv_s.to_string();
    let waiter = std::thread::spawn(move || {
        halab(&["up", "../topologies/fw-pair.yaml", "--name", "other", "--provider", "hosts", "--inventory", &inv_w, "--lease-wait", "60s"])
    });
    eventually(left + 10, "the host healed its cable", || {
        rack_exec(&server_host, "ip -br link").lines().filter(|l| !l.starts_with("lo")).all(|l| l.contains(" UP "))
    });
    eprintln!("figure: controller lost -> host healed its cable: {:.2} s (lease had {left} s left)", lost.elapsed().as_secs_f64());
    let ls = ok(&["hosts", "ls", "--inventory", inv_s]);
    assert!(ls.lines().any(|l| l.starts_with(&server_host) && l.contains("(lab fw-pair)")), "healed while fw-pair held it: {ls}");
    let o = waiter.join().unwrap();
    let _other = LabGuard("other");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("waiting for the hosts") && err.contains("changes of lab `fw-pair` whose lease expired"), "{err}");
    // The end host powered off through the PDU (PDUDaemon queues it, its driver switches the
    // outlet), and on again: halab waits for it and names and addresses its NICs again.
    let t = std::time::Instant::now();
    ok(&["power", "other", "server", "off"]);
    eventually(20, "the PDU switched h4 off", || !halab(&["exec", RACK, "h4", "--", "true"]).status.success());
    eprintln!("figure: PDU off request -> host gone: {:.2} s", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now();
    ok(&["power", "other", "server", "on"]);
    eprintln!("figure: PDU on -> host answers, NICs named and addressed: {:.2} s", t.elapsed().as_secs_f64());
    assert!(ok(&["exec", "other", "server", "--", "ip", "-br", "addr", "show", "lan"]).contains("198.18."), "server's lan is addressed again");
    // A member's cable pulled at the switch by SNMP: its NIC loses carrier (not just the
    // host's view), and comes back when plugged.
    ok(&["link", "other", "fw1", "inet", "down"]);
    assert_eq!(carrier("other", "fw1", "inet"), "0", "the switch port is down: no carrier on fw1's inet");
    ok(&["link", "other", "fw1", "inet", "up"]);
    eventually(10, "fw1's inet has carrier again", || carrier("other", "fw1", "inet") == "1");
    // The client's cable "pulled" by an nft drop rule on its host (the link stays up), then
    // 100 % loss the same way: the client loses the server (through the VIPs), then has it
    // again.
    assert_eq!(bound_host("other", "client"), "h1");
    let reaches = || halab(&["exec", "other", "client", "--", "ping", "-c1", "-W1", "198.18.2.10"]).status.success();
    eventually(15, "the client reaches the server through the VIPs", &reaches);
    ok(&["link", "other", "client", "inet", "down"]);
    assert!(!reaches(), "the drop rule cuts the client off");
    assert_eq!(carrier("other", "client", "inet"), "1", "a drop rule leaves the link up");
    ok(&["link", "other", "client", "inet", "up"]);
    eventually(10, "the client reaches the server again", &reaches);
    ok(&["loss", "other", "client", "inet", "100"]);
    assert!(!reaches(), "100 % loss cuts the client off");
    ok(&["loss", "other", "client", "inet", "0"]);
    eventually(10, "the client reaches the server after the loss", reaches);
    ok(&["down", "other"]);
    settles_to("after the recovery and down every host is as it was", &before, 10, all_states);
    let watchdogs: Vec<_> = std::fs::read_dir("/run/halab/heal").into_iter().flatten().flatten().map(|e| e.file_name()).collect();
    assert!(watchdogs.is_empty(), "no watchdog (or its pidfile) is left on the controller: {watchdogs:?}");
    assert_eq!(ok(&["hosts", "ls", "--inventory", inv_s]).matches(" free").count(), 4);
}

#[test]
fn a_nightly_checks_health_first_and_keeps_infrastructure_errors_apart() {
    if !privileged() {
        return;
    }
    let (_rack, dir, inv) = rack("halab-test-nightly");
    let inv_s = inv.to_str().unwrap();
    ok(&["hosts", "trust", "--inventory", inv_s]);
    let text = std::fs::read_to_string(&inv).unwrap();
    let nightly = |inventory: &Path, out: &str| {
        let out = dir.join(out);
        let o = halab(&[
            "nightly",
            "../scenarios/cable-pull-inet.yaml",
            "--stacks",
            "pacemaker",
            "--repeat",
            "1",
            "--provider",
            "hosts",
            "--inventory",
            inventory.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        let health = std::fs::read_to_string(out.join("health.xml")).unwrap_or_default();
        let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap_or_default();
        (o, health, junit)
    };

    // A spare host that fails its check is quarantined (an error in health.xml); the suite
    // runs on the others and passes: exit 0.
    let h1_addr = text.split("address: ").nth(1).unwrap().lines().next().unwrap().to_string();
    let spare_addr = format!("{}.99", h1_addr.rsplit_once('.').unwrap().0);
    let with_spare = dir.join("spare.yaml");
    std::fs::write(&with_spare, format!("{text}  h5:\n    address: {spare_addr}\n    key: {KEY}\n    nics: {{ 02:00:00:00:00:55: inet }}\n")).unwrap();
    std::fs::copy(dir.join("inv.known_hosts"), dir.join("spare.known_hosts")).unwrap();
    let before = all_states();
    let (o, health, junit) = nightly(&with_spare, "n1");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("health h5: QUARANTINED: ssh: host `h5`"), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(health.matches("<testcase").count(), 5, "{health}");
    assert_eq!(health.matches("<error").count(), 1, "{health}");
    assert!(health.contains("health[h5]") && health.contains("quarantined: ssh:"), "{health}");
    assert!(junit.contains("cable-pull-inet[pacemaker]#1") && !junit.contains("<failure") && !junit.contains("<error"), "{junit}");
    // The cable was pulled by the host's own `ip link`, and the run says it was no carrier loss.
    let runs = dir.join("n1/runs");
    let events: String = walk(&runs).into_iter().filter(|p| p.ends_with("events.jsonl")).map(|p| std::fs::read_to_string(p).unwrap()).collect();
    assert!(events.contains("`ip link set down` on the host itself (NOT a carrier loss"), "{events}");
    // Pacemaker's state and files went back to the hosts' own.
    settles_to("after the pacemaker nightly every host is as it was", &before, 10, all_states);

    // A member's host quarantined: no host can play fw2, so the run is an infrastructure
    // error (exit 3, JUnit error), not a failed expectation.
    let h2_lan = lan_mac(&text, "h2");
    let sick = dir.join("sick.yaml");
    std::fs::write(&sick, text.replace(&h2_lan, "02:00:00:00:00:22")).unwrap();
    std::fs::copy(dir.join("inv.known_hosts"), dir.join("sick.known_hosts")).unwrap();
    let (o, health, junit) = nightly(&sick, "n2");
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(health.contains("health[h2]") && health.contains("no NIC with MAC 02:00:00:00:00:22"), "{health}");
    assert!(junit.contains("<error") && junit.contains("is quarantined") && !junit.contains("<failure"), "{junit}");
    ok(&["hosts", "check", "--inventory", inv_s]);
    let _ = std::fs::remove_dir_all("/var/lib/halab/hosts/rack");
}
