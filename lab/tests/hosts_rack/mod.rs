//! The rack the hosts provider's tests play hardware with: the nodes of
//! `tests/data/hosts/rack.yaml` (on netns or libvirt), what describes them in an inventory,
//! and the gear in front of them: a managed switch (net-snmp's snmpd) and a PDU (PDUDaemon).

#![allow(dead_code)]

use std::path::Path;

use super::common::*;

/// A daemon this test started, killed by its PID when dropped.
pub struct Daemon(pub std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn rack_exec(rack: &str, host: &str, script: &str) -> String {
    ok(&["exec", rack, host, "--", "sh", "-c", script])
}

/// One host's inventory entry up to its NICs, from what the rack node shows: its management
/// address and its NICs by the switch they are on (sw-a inet, sw-b lan, sw-c heartbeat;
/// `swap` crosses lan and heartbeat: a miscabled host). Also returns its switch ports,
/// `MAC: ifIndex` of each NIC's veth peer, for an snmp cable driver.
pub fn host_entry(rack: &str, host: &str, key: &str, swap: bool) -> (String, String) {
    let links: serde_json::Value = serde_json::from_str(&rack_exec(rack, host, "ip -j link")).unwrap();
    let addrs: serde_json::Value = serde_json::from_str(&rack_exec(rack, host, "ip -j -4 addr show mgmt")).unwrap();
    let mgmt = addrs[0]["addr_info"][0]["local"].as_str().unwrap().to_string();
    let mut y = format!("  {host}:\n    address: {mgmt}\n    key: {key}\n    nics:\n");
    let mut ports = String::new();
    for l in links.as_array().unwrap() {
        let net = match (l["ifname"].as_str().unwrap(), swap) {
            ("sw-a", _) => "inet",
            ("sw-b", false) | ("sw-c", true) => "lan",
            ("sw-c", false) | ("sw-b", true) => "heartbeat",
            _ => continue,
        };
        y += &format!("      {}: {net}\n", l["address"].as_str().unwrap());
        ports += &format!("{}: {}, ", l["address"].as_str().unwrap(), l["link_index"]);
    }
    y += "    never_touch: { nics: [ mgmt ], services: [ sshd ] }\n";
    (y, ports)
}

/// net-snmp's snmpd as the rack's managed switch: in the rack's fabric namespace, where the
/// switch ports are, answering on a unix socket only; killed by its PID when dropped.
pub struct Switch {
    _daemon: Daemon,
    pub agent: String,
}

impl Switch {
    pub fn start(rack: &str, dir: &Path) -> Switch {
        use std::os::unix::process::CommandExt;
        let sock = dir.join("switch.sock");
        std::fs::write(dir.join("switch.community"), "halab-test-rw\n").unwrap();
        let conf = format!(
            "com2secunix rwsec {} halab-test-rw\ngroup rwgroup v2c rwsec\nview all included .1\naccess rwgroup \"\" any noauth exact all all none\n",
            sock.display()
        );
        std::fs::write(dir.join("snmpd.conf"), conf).unwrap();
        let child = std::process::Command::new("ip")
            .args(["netns", "exec", &format!("{rack}+fabric"), "snmpd", "-f", "-Lf"])
            .arg(dir.join("snmpd.log"))
            .args(["-C", "-c"])
            .arg(dir.join("snmpd.conf"))
            .arg(format!("unix:{}", sock.display()))
            .env("MIBS", "")
            .process_group(0)
            .spawn()
            .expect("snmpd (apt-get install snmpd)");
        let daemon = Daemon(child);
        eventually(20, "snmpd listens", || sock.exists());
        Switch { _daemon: daemon, agent: format!("unix:{}", sock.display()) }
    }
}

/// Debian's PDUDaemon with one PDU, `rack-pdu`, whose outlet N powers rack host hN (its
/// localcmdline driver runs `halab power RACK hN`); HTTP on 127.0.0.1 only; killed by its
/// PID when dropped.
pub struct Pdu {
    _daemon: Daemon,
    pub url: String,
}

impl Pdu {
    pub fn start(rack: &str, dir: &Path) -> Pdu {
        use std::os::unix::process::CommandExt;
        let conf = serde_json::json!({
            "daemon": { "hostname": "127.0.0.1", "port": 16421, "logging_level": "INFO", "listener": "http" },
            "pdus": { "rack-pdu": { "driver": "localcmdline", "cmd_on": format!("{HALAB} power {rack} h%s on"), "cmd_off": format!("{HALAB} power {rack} h%s off") } }
        });
        std::fs::write(dir.join("pdudaemon.conf"), conf.to_string()).unwrap();
        let child = std::process::Command::new("pdudaemon")
            .arg("--conf")
            .arg(dir.join("pdudaemon.conf"))
            .arg("--logfile")
            .arg(dir.join("pdudaemon.log"))
            .process_group(0)
            .spawn()
            .expect("pdudaemon (apt-get install pdudaemon)");
        let daemon = Daemon(child);
        eventually(30, "PDUDaemon listens", || std::net::TcpStream::connect(("127.0.0.1", 16421)).is_ok());
        Pdu { _daemon: daemon, url: "http://127.0.0.1:16421".into() }
    }
}
