//! The hosts provider on VMs with real BMCs (root, libvirt under TCG): four VMs made by halab
//! (`tests/data/hosts/rack.yaml` on libvirt) play the hardware, VirtualBMC in front of each
//! on 127.0.0.1 answers IPMI, and the inventory powers them through `fence_ipmilan`. fw-pair
//! comes up on them with keepalived, the scp scenario survives a power cut of the active
//! through its BMC, and every VM is as it was after `down`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use common::*;

const RACK: &str = "vmrack";
const VBMC: &str = "/opt/halab-bmc/bin";

/// vbmcd under this test's supervision, one BMC per VM; deleted and stopped when dropped.
struct Bmcs {
    dir: PathBuf,
    daemon: Child,
    domains: Vec<String>,
}

impl Bmcs {
    fn vbmc(&self, args: &[&str]) -> std::process::Output {
        Command::new(format!("{VBMC}/vbmc")).args(args).env("VIRTUALBMC_CONFIG", self.dir.join("virtualbmc.conf")).output().unwrap()
    }
    fn start(dir: &Path, domains: &[String], password: &str) -> Bmcs {
        use std::os::unix::process::CommandExt;
        std::fs::create_dir_all(dir.join("state")).unwrap();
        let conf =
            format!("[default]\nconfig_dir = {0}/state\npid_file = {0}/master.pid\nserver_port = 50891\n[log]\nlogfile = {0}/vbmcd.log\n", dir.display());
        std::fs::write(dir.join("virtualbmc.conf"), conf).unwrap();
        let daemon =
            Command::new(format!("{VBMC}/vbmcd")).arg("--foreground").env("VIRTUALBMC_CONFIG", dir.join("virtualbmc.conf")).process_group(0).spawn().unwrap();
        let b = Bmcs { dir: dir.to_path_buf(), daemon, domains: Vec::new() };
        eventually(30, "vbmcd answers", || b.vbmc(&["list"]).status.success());
        let mut b = b;
        for (i, d) in domains.iter().enumerate() {
            let port = (6231 + i).to_string();
            let o = b.vbmc(&[
                "add",
                d,
                "--port",
                &port,
                "--address",
                "127.0.0.1",
                "--username",
                "admin",
                "--password",
                password,
                "--libvirt-uri",
                "qemu:///system",
            ]);
            assert!(o.status.success(), "vbmc add {d}: {}", String::from_utf8_lossy(&o.stderr));
            b.domains.push(d.clone());
            assert!(b.vbmc(&["start", d]).status.success());
        }
        b
    }
}

impl Drop for Bmcs {
    fn drop(&mut self) {
        for d in &self.domains {
            let _ = self.vbmc(&["delete", d]);
        }
        // Its children (one per BMC) are in its process group.
        let pgid = self.daemon.id() as i32;
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGTERM);
        let _ = self.daemon.wait();
    }
}

fn rack_exec(host: &str, script: &str) -> String {
    ok(&["exec", RACK, host, "--", "sh", "-c", script])
}

fn host_state(h: &str) -> String {
    rack_exec(
        h,
        "ip -br addr | sed 's/  */ /g'; ip route; sysctl -n net.ipv4.ip_forward; sysctl -n net.netfilter.nf_conntrack_tcp_loose 2>/dev/null || echo 1; \
         ls /etc/keepalived /etc/conntrackd /etc/halab 2>&1; md5sum /etc/conntrackd/conntrackd.conf; \
         nft list tables; ls /var/lib/halab-hosts/journal 2>&1; systemctl list-units --no-legend 'halab-*' | grep -v halab-identity; pidof keepalived conntrackd || true",
    )
}

#[test]
fn fw_pair_on_vms_powered_through_their_bmcs() {
    if !privileged() || !libvirt_ready() {
        return;
    }
    assert!(Path::new(VBMC).join("vbmcd").exists() && Path::new("/usr/sbin/fence_ipmilan").exists(), "run scripts/install-bmc");
    let _ = halab(&["down", RACK]);
    ok(&["up", "tests/data/hosts/rack.yaml", "--name", RACK, "--provider", "libvirt"]);
    let _rack = LabGuard(RACK);
    let dir = std::env::temp_dir().join("halab-test-hosts-ipmi");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let hosts = ["h1", "h2", "h3", "h4"];
    // The libvirt provider names a domain LAB-NODE.
    let domains: Vec<String> = hosts.iter().map(|h| format!("{RACK}-{h}")).collect();
    std::fs::write(dir.join("bmc.password"), "halab-test-bmc\n").unwrap();
    let _bmcs = Bmcs::start(&dir.join("vbmc"), &domains, "halab-test-bmc");

    let mut y = String::from("name: vmrack\nhosts:\n");
    for (i, h) in hosts.iter().enumerate() {
        let links: serde_json::Value = serde_json::from_str(&rack_exec(h, "ip -j link")).unwrap();
        let addrs: serde_json::Value = serde_json::from_str(&rack_exec(h, "ip -j -4 addr show mgmt")).unwrap();
        y += &format!(
            "  {h}:\n    address: {}\n    key: /var/lib/halab/labs/{RACK}/ssh/id_ed25519\n    nics:\n",
            addrs[0]["addr_info"][0]["local"].as_str().unwrap()
        );
        for l in links.as_array().unwrap() {
            let net = match l["ifname"].as_str().unwrap() {
                "sw-a" => "inet",
                "sw-b" => "lan",
                "sw-c" => "heartbeat",
                _ => continue,
            };
            y += &format!("      {}: {net}\n", l["address"].as_str().unwrap());
        }
        y += &format!("    never_touch: {{ nics: [ mgmt ], services: [ sshd ] }}\n    power: {{ driver: ipmi, address: 127.0.0.1, port: {}, user: admin, password_file: bmc.password }}\n", 6231 + i);
    }
    let inv = dir.join("inv.yaml");
    std::fs::write(&inv, y).unwrap();
    let inv_s = inv.to_str().unwrap();
    ok(&["hosts", "trust", "--inventory", inv_s]);
    let before: Vec<String> = hosts.iter().map(|h| host_state(h)).collect();

    let t = std::time::Instant::now();
    ok(&["up", "../topologies/fw-pair.yaml", "--provider", "hosts", "--inventory", inv_s]);
    eprintln!("figure: fw-pair + keepalived up on 4 VMs as hosts in {:.1} s", t.elapsed().as_secs_f64());
    ok(&["down", "fw-pair"]);
    settles_to("down left every VM as it was", &before, 60, || hosts.iter().map(|h| host_state(h)).collect());

    let out = dir.join("run");
    let (o, recs) = run_records("../scenarios/scp-survives-failover.yaml", &out, &["--stack", "keepalived", "--provider", "hosts", "--inventory", inv_s]);
    assert_eq!(recs.len(), 1, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(recs[0]["outcome"], "passed", "{:#}", recs[0]["expectations"]);
    let m = &recs[0]["metrics"];
    eprintln!("figure: IPMI power cut: probe.gap {} ms, failover {} ms", m["probe.gap"], m["failover"]);
    let run_dir = std::fs::read_dir(&out).unwrap().flatten().find(|e| e.path().is_dir()).unwrap().path();
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let applied = events.lines().find(|l| l.contains("\"fault_applied\"")).expect("a fault_applied event");
    assert!(applied.contains("IPMI BMC 127.0.0.1:623"), "{applied}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("was left powered off: powered on again"), "down powers the cut VM on through its BMC");
    // The VM powered off and on through its BMC is still booting its last units.
    settles_to("after the run every VM is as it was", &before, 60, || hosts.iter().map(|h| host_state(h)).collect());
}
