//! The libvirt provider (feature `libvirt`): the same plan as real Debian VMs on libvirt
//! networks, reached over SSH (`crate::transport`). The image's rootfs becomes a qcow2 base;
//! each VM boots the image's kernel directly from its own overlay and takes its identity from
//! fw_cfg at first boot.

pub mod accel;
pub mod conn;
pub mod faults;
pub mod guest;
pub mod netns_nodes;
pub mod up;
pub mod xml;

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::image::Image;
use crate::labstate::LabState;
use crate::ledger::{Ledger, Object};
use crate::node::Shell;
use crate::provider::identity::ssh_target;
use crate::provider::{Actuators, Options, Provider};

/// The default libvirt URI (`--libvirt-uri` or HALAB_LIBVIRT_URI to change).
pub const DEFAULT_URI: &str = "qemu:///system";

/// What `up` decided for a libvirt lab (kept in lab.json).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub uri: String,
    /// KVM when /dev/kvm really works, else TCG.
    pub kvm: bool,
}

pub fn settings(st: &LabState) -> Result<Settings> {
    serde_json::from_value(st.provider.settings.clone()).with_context(|| format!("lab `{}` has no libvirt settings", st.plan.lab))
}

pub struct Libvirt;

/// A root-only /dev/kvm (no udev to make it root:kvm 0660) makes libvirt probe qemu again at
/// every capabilities lookup, dozens per domain start: a 2-VM lab took 132 s to start its VMs
/// instead of 0.6 s. Said once per `up`, with the fix.
fn kvm_device_warning() {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata("/dev/kvm") {
        if m.permissions().mode() & 0o060 == 0 {
            crate::progress::info(
                "/dev/kvm is root-only, so libvirt probes qemu again at every domain start (about a minute each): `chgrp kvm /dev/kvm && chmod 0660 /dev/kvm` (scripts/install-libvirt does it)",
            );
        }
    }
}

impl Provider for Libvirt {
    fn name(&self) -> &'static str {
        "libvirt"
    }
    fn preflight(&self) -> Result<()> {
        if !nix::unistd::Uid::effective().is_root() {
            bail!("halab needs root (libvirt's system URI, host bridges): run halab as root");
        }
        for tool in ["ssh-keygen", "qemu-img", "tar", "mkfs.ext4"] {
            crate::image::build::which(tool)
                .with_context(|| format!("`{tool}` is needed by the libvirt provider: apt-get install openssh-client qemu-utils e2fsprogs tar"))?;
        }
        kvm_device_warning();
        Ok(())
    }
    fn decide(&self, _: &crate::topology::Plan, opts: &Options, img: &Image) -> Result<serde_json::Value> {
        let uri = opts.libvirt_uri.clone().or_else(|| std::env::var("HALAB_LIBVIRT_URI").ok()).unwrap_or_else(|| DEFAULT_URI.into());
        let (kernel, _) = crate::image::disk::kernel_and_initrd(img)?;
        Ok(serde_json::to_value(Settings { uri, kvm: accel::kvm_works(&kernel) })?)
    }
    fn up(&self, st: &LabState, ledger: &mut Ledger, img: &Image) -> Result<()> {
        up::up(st, ledger, img)
    }
    fn teardown(&self, ledger: &Ledger) -> Result<()> {
        let objs = &ledger.data.objects;
        // Its netns nodes (processes, their namespaces and host-side ports), if it has any.
        if objs.iter().any(|o| matches!(o, Object::Netns { .. })) || crate::provider::netns::supervisor_alive(ledger).is_some() {
            crate::provider::netns::teardown::teardown(ledger)?;
        }
        // The lab's own nft table in the host (loss on its taps), then domains and networks.
        for o in objs {
            if let Object::NftTable { family, name } = o {
                if crate::cmd::run("nft", &["list", "table", family, name]).is_ok() {
                    crate::cmd::run("nft", &["delete", "table", family, name])?;
                }
            }
        }
        conn::remove_objects(objs)
    }
    fn garbage_reason(&self, l: &Ledger) -> Option<String> {
        // VMs live in libvirt, not under a halab process: garbage once none of them exists.
        let doms: Vec<(String, String)> = l
            .data
            .objects
            .iter()
            .filter_map(|o| match o {
                Object::Domain { uri, name } => Some((uri.clone(), name.clone())),
                _ => None,
            })
            .collect();
        let any = doms.iter().any(|(uri, name)| {
            let name = name.clone();
            conn::with_conn(uri, move |c| Ok(c.lookup_domain_by_name(&name).is_ok())).unwrap_or(true)
        });
        if !doms.is_empty() && !any {
            return Some("none of its VMs exists any more".into());
        }
        // Its netns nodes live under their supervisor.
        (crate::provider::netns::supervisor_alive(l) == Some(false)).then(|| "the supervisor of its netns nodes is gone".into())
    }
    fn shell(&self, st: &LabState, node: &str) -> Result<Arc<dyn Shell>> {
        let ni = st.node_index(node)?;
        if netns_nodes::is_netns(st, node) {
            return crate::provider::netns::Netns.shell(st, node);
        }
        Ok(Arc::new(crate::transport::shell::SshShell { target: ssh_target(st, ni)? }))
    }
    fn actuators<'a>(&self, st: &'a LabState, node: &str) -> Result<Box<dyn Actuators + 'a>> {
        st.node_index(node)?;
        if netns_nodes::is_netns(st, node) {
            return Ok(Box::new(netns_nodes::HostNode { st, node: node.to_string() }));
        }
        Ok(Box::new(faults::Vm { st, node: node.to_string() }))
    }
    fn host_pid(&self, st: &LabState, node: &str) -> Option<i32> {
        netns_nodes::is_netns(st, node).then(|| crate::provider::netns::init_pid(&st.plan.lab, node)).flatten()
    }
    fn interactive(&self, st: &LabState, node: &str, argv: &[String]) -> Result<Option<std::process::Command>> {
        if netns_nodes::is_netns(st, node) {
            return crate::provider::netns::exec_command(st, node, argv).map(Some);
        }
        Ok(None)
    }
    fn takes_netns_nodes(&self) -> bool {
        true
    }
    fn host_wiring(&self, st: &LabState) -> Option<crate::provider::HostWiring> {
        Some(netns_nodes::host_wiring(st))
    }
    fn hypervisor_uri(&self, st: &LabState) -> Result<Option<String>> {
        Ok(Some(settings(st)?.uri))
    }
    fn fence_methods(&self) -> &'static [crate::topology::FenceMethod] {
        // Debian's fence-virt first: what a KVM cluster in production runs.
        &[crate::topology::FenceMethod::Virt, crate::topology::FenceMethod::Halab]
    }
    fn time_scale(&self, st: &LabState) -> u32 {
        // TCG emulates every instruction: pacemaker's resource agents fork a lot.
        match settings(st) {
            Ok(s) if !s.kvm => 4,
            _ => 1,
        }
    }
    fn fence_delay_scale(&self, st: &LabState) -> u32 {
        // Measured on TCG (2 cores, 4 VMs): a VIP holder that was the DC asked for the fence
        // 6.4-7.1 s after corosync noticed the partition (3 runs); one that had to elect itself
        // DC first had not asked 12.6 s after (2 of 2 CI runs in Dec 2026, with 8 s): 20 s.
        match settings(st) {
            Ok(s) if !s.kvm => 10,
            _ => 1,
        }
    }
    fn describe(&self, st: &LabState) -> String {
        match settings(st) {
            Ok(s) => {
                let on_netns: Vec<&str> = st.plan.nodes.iter().filter(|n| n.on_netns()).map(|n| n.name.as_str()).collect();
                let mixed = if on_netns.is_empty() { String::new() } else { format!("; {} on netns", on_netns.join(", ")) };
                format!("libvirt, {}, {}{mixed}", s.uri, if s.kvm { "KVM" } else { "TCG" })
            }
            Err(_) => "libvirt".into(),
        }
    }
}
