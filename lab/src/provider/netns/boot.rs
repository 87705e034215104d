//! What a netns node's init needs to boot: written by the provider, read by `halab _helper netns init`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootConfig {
    pub node: String,
    pub hostname: String,
    /// Shared, read-only image rootfs and its layers (overlay lower dirs, top first).
    pub lowers: Vec<PathBuf>,
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

/// Marker file inside the node once init has configured the network and started services.
pub const READY_FILE: &str = "run/halab/ready";
pub use crate::node::service::Service;
pub use crate::node::shell::LOG_DIR;
