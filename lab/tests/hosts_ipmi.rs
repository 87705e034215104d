//! The hosts provider on VMs with real BMCs (root, libvirt under TCG): a rack made by halab
//! (`tests/data/hosts/rack.yaml` on libvirt) plays the hardware: h2 and h3, the firewalls'
//! machines, are VMs, h1 and h4 (client and server) netns nodes without a BMC. VirtualBMC in
//! front of h2 on 127.0.0.1 answers IPMI (`fence_ipmilan`); h3's BMC speaks Redfish
//! (sushy-tools over HTTPS, `fence_redfish`). fw-pair comes up on them with keepalived; fw2's
//! host is powered off through Redfish and `down` powers it on again; the scp scenario
//! survives a power cut of the active through its IPMI BMC; every host is as it was after
//! each `down`.

mod common;
mod hosts_rack;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use common::*;

const RACK: &str = "vmrack";
const VBMC: &str = "/opt/halab-bmc/bin";
/// The first VirtualBMC's IPMI port; the next domain's BMC takes the next port.
const IPMI_PORT: usize = 6231;

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
            let port = (IPMI_PORT + i).to_string();
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

/// sushy-tools' Redfish emulator in front of one VM: HTTPS with a self-signed certificate,
/// basic auth (bcrypt htpasswd), only that VM exposed; killed by its PID when dropped.
struct RedfishBmc {
    _daemon: hosts_rack::Daemon,
}

const REDFISH_PORT: u16 = 8443;

impl RedfishBmc {
    /// Returns the BMC and the VM's systems URI.
    fn start(dir: &Path, domain: &str, password: &str) -> (RedfishBmc, String) {
        use std::os::unix::process::CommandExt;
        std::fs::create_dir_all(dir).unwrap();
        let uuid =
            String::from_utf8(Command::new("virsh").args(["-c", "qemu:///system", "domuuid", domain]).output().unwrap().stdout).unwrap().trim().to_string();
        let d = dir.display();
        let st = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
            .args(["-keyout", &format!("{d}/key.pem"), "-out", &format!("{d}/cert.pem")])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        let hash = Command::new(format!("{VBMC}/python"))
            .args(["-c", &format!("import bcrypt; print(bcrypt.hashpw(b'{password}', bcrypt.gensalt()).decode())")])
            .output()
            .unwrap();
        std::fs::write(dir.join("htpasswd"), format!("admin:{}", String::from_utf8_lossy(&hash.stdout))).unwrap();
        let conf = format!(
            "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\nSUSHY_EMULATOR_LISTEN_PORT = {REDFISH_PORT}\nSUSHY_EMULATOR_SSL_CERT = '{d}/cert.pem'\n\
             SUSHY_EMULATOR_SSL_KEY = '{d}/key.pem'\nSUSHY_EMULATOR_AUTH_FILE = '{d}/htpasswd'\nSUSHY_EMULATOR_LIBVIRT_URI = 'qemu:///system'\n\
             SUSHY_EMULATOR_ALLOWED_INSTANCES = ['{uuid}']\n"
        );
        std::fs::write(dir.join("emulator.conf"), conf).unwrap();
        let log = std::fs::File::create(dir.join("emulator.log")).unwrap();
        let child = Command::new(format!("{VBMC}/sushy-emulator"))
            .arg("--config")
            .arg(dir.join("emulator.conf"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap();
        let daemon = hosts_rack::Daemon(child);
        eventually(30, "sushy-emulator listens", || std::net::TcpStream::connect(("127.0.0.1", REDFISH_PORT)).is_ok());
        (RedfishBmc { _daemon: daemon }, format!("/redfish/v1/Systems/{uuid}"))
    }
}

fn domstate(domain: &str) -> String {
    String::from_utf8_lossy(&Command::new("virsh").args(["-c", "qemu:///system", "domstate", domain]).output().unwrap().stdout).trim().to_string()
}

fn rack_exec(host: &str, script: &str) -> String {
    hosts_rack::rack_exec(RACK, host, script)
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
    // The libvirt provider names a domain LAB-NODE; only h2 and h3 are VMs.
    let (h2, h3) = (format!("{RACK}-h2"), format!("{RACK}-h3"));
    std::fs::write(dir.join("bmc.password"), "halab-test-bmc\n").unwrap();
    let _bmcs = Bmcs::start(&dir.join("vbmc"), std::slice::from_ref(&h2), "halab-test-bmc");
    let (_redfish, systems_uri) = RedfishBmc::start(&dir.join("redfish"), &h3, "halab-test-bmc");

    let mut y = String::from("name: vmrack\nhosts:\n");
    for h in hosts {
        y += &hosts_rack::host_entry(RACK, h, &format!("/var/lib/halab/labs/{RACK}/ssh/id_ed25519"), false).0;
        y += &match h {
            "h2" => format!("    power: {{ driver: ipmi, address: 127.0.0.1, port: {IPMI_PORT}, user: admin, password_file: bmc.password }}\n"),
            "h3" => format!("    power: {{ driver: redfish, address: 127.0.0.1, port: {REDFISH_PORT}, user: admin, password_file: bmc.password, systems_uri: {systems_uri}, tls_insecure: true }}\n"),
            _ => String::new(),
        };
    }
    let inv = dir.join("inv.yaml");
    std::fs::write(&inv, y).unwrap();
    let inv_s = inv.to_str().unwrap();
    ok(&["hosts", "trust", "--inventory", inv_s]);
    let health = ok(&["hosts", "check", "--inventory", inv_s]);
    assert_eq!(health.matches(": healthy (").count(), 4, "every host answers, both BMCs say on: {health}");
    eprintln!("figure: health checks (h2 IPMI, h3 Redfish, h1 and h4 no BMC): {}", health.trim().replace('\n', "; "));
    let before: Vec<String> = hosts.iter().map(|h| host_state(h)).collect();

    let t = std::time::Instant::now();
    ok(&["up", "../topologies/fw-pair.yaml", "--name", "vmfw", "--provider", "hosts", "--inventory", inv_s]);
    eprintln!("figure: fw-pair + keepalived up on 2 VMs and 2 netns nodes as hosts in {:.1} s", t.elapsed().as_secs_f64());
    // fw2 plays on h3 (bound by order); its BMC is the Redfish one.
    assert_eq!(ok(&["exec", "vmfw", "fw2", "--", "hostname"]).trim(), "h3");
    let t = std::time::Instant::now();
    ok(&["power", "vmfw", "fw2", "off"]);
    eprintln!("figure: Redfish power off (fence_redfish, polls until off): {:.2} s", t.elapsed().as_secs_f64());
    assert_eq!(domstate(&h3), "shut off", "fence_redfish powered h3 off");
    let t = std::time::Instant::now();
    let o = halab(&["down", "vmfw"]);
    eprintln!("figure: down with h3 powered on through Redfish and booted: {:.1} s", t.elapsed().as_secs_f64());
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stderr).contains("host `h3` was left powered off: powered on again"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    settles_to("down left every host as it was", &before, 60, || hosts.iter().map(|h| host_state(h)).collect());

    let out = dir.join("run");
    let (o, recs) = run_records("../scenarios/scp-survives-failover.yaml", &out, &["--stack", "keepalived", "--provider", "hosts", "--inventory", inv_s]);
    assert_eq!(recs.len(), 1, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(recs[0]["outcome"], "passed", "{:#}\n{}", recs[0]["expectations"], recs[0]["error"]);
    assert_gap_around_the_fault(&recs[0], 1000.0);
    let m = &recs[0]["metrics"];
    eprintln!("figure: IPMI power cut: probe.gap {} ms, failover {} ms", m["probe.gap"], m["failover"]);
    let run_dir = std::fs::read_dir(&out).unwrap().flatten().find(|e| e.path().is_dir()).unwrap().path();
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let applied = events.lines().find(|l| l.contains("\"fault_applied\"")).expect("a fault_applied event");
    assert!(applied.contains("IPMI BMC 127.0.0.1:623"), "{applied}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("was left powered off: powered on again"), "down powers the cut VM on through its BMC");
    // The VM powered off and on through its BMC is still booting its last units.
    settles_to("after the run every host is as it was", &before, 60, || hosts.iter().map(|h| host_state(h)).collect());
}
