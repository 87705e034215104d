//! What a netns node's init needs to boot: written by the provider, read by `halab _init`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootConfig {
    pub node: String,
    pub hostname: String,
    /// Shared, read-only image rootfs (overlay lower dir).
    pub lower: PathBuf,
    pub upper: PathBuf,
    pub work: PathBuf,
    /// Mount point of the node's root, only ever mounted inside the node's mount namespace.
    pub root: PathBuf,
    /// Where init writes its PID as seen from the host.
    pub pid_file: PathBuf,
    /// The halab-node binary, bind-mounted at /usr/local/bin/halab inside the node.
    pub halab_exe: PathBuf,
    /// `ip -batch` lines that configure the node's links, addresses and routes.
    pub ip_batch: String,
    /// /proc/sys paths (relative) and values.
    pub sysctls: Vec<(String, String)>,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub argv: Vec<String>,
}

/// Marker file inside the node once init has configured the network and started services.
pub const READY_FILE: &str = "run/halab/ready";
/// Service logs inside the node.
pub const LOG_DIR: &str = "/var/log/halab";

/// The command line of a known service inside a node.
pub fn service(name: &str) -> Option<Service> {
    let argv: &[&str] = match name {
        "sshd" => &["/usr/sbin/sshd", "-D", "-e"],
        "web" => &["/usr/sbin/nginx", "-g", "daemon off;"],
        "iperf3" => &["/usr/bin/iperf3", "-s"],
        _ => return None,
    };
    Some(Service { name: name.into(), argv: argv.iter().map(|s| s.to_string()).collect() })
}
