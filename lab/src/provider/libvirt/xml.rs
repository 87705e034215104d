//! libvirt XML for a lab: one isolated network per topology network (no forward, no DHCP, NO
//! host-side address), a management network (the only one with a host address), and one domain
//! per node: direct kernel boot of the image's kernel, a qcow2 overlay on the shared base, MACs
//! from the Plan, identity handed in through fw_cfg, TCG with a bounded translation cache when
//! KVM does not really work.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::topology::{Plan, PlanNode};
use crate::xml::esc;

pub fn network_name(plan: &Plan, net: &str) -> String {
    format!("{}-{net}", plan.lab)
}

pub fn mgmt_network_name(plan: &Plan) -> String {
    format!("{}-mgmt", plan.lab)
}

pub fn domain_name(plan: &Plan, node: &str) -> String {
    crate::fence::domain_name(&plan.lab, node)
}

/// Host bridge of network `i` (interface names are at most 15 characters).
pub fn bridge_name(plan: &Plan, i: usize) -> String {
    format!("hl{}v{i}", plan.id)
}

pub fn mgmt_bridge_name(plan: &Plan) -> String {
    format!("hl{}vm", plan.id)
}

/// Host-side tap of node `n`'s interface `i` (`m` for management): named, not libvirt's vnetN,
/// so it carries the lab's id and a fault can find it.
pub fn tap_name(plan: &Plan, node_index: usize, iface: Option<usize>) -> String {
    match iface {
        Some(i) => format!("hl{}n{node_index}i{i}", plan.id),
        None => format!("hl{}n{node_index}m", plan.id),
    }
}

/// An isolated lab network: no `<forward>`, no `<ip>`, so the host gets no address on it.
pub fn network_xml(plan: &Plan, i: usize) -> String {
    let net = &plan.networks[i];
    format!("<network>\n  <name>{}</name>\n  <bridge name='{}' stp='off' delay='0'/>\n</network>\n", esc(&network_name(plan, &net.name)), bridge_name(plan, i))
}

/// The management network: the only host-side address of the lab (`host_addr`/`prefix`).
pub fn mgmt_network_xml(plan: &Plan, host_addr: Ipv4Addr, prefix: u8) -> String {
    format!(
        "<network>\n  <name>{}</name>\n  <bridge name='{}' stp='off' delay='0'/>\n  <dns enable='no'/>\n  <ip address='{host_addr}' prefix='{prefix}'/>\n</network>\n",
        esc(&mgmt_network_name(plan)),
        mgmt_bridge_name(plan)
    )
}

#[derive(Debug, Clone)]
pub struct DomainSpec {
    /// `kvm` when /dev/kvm really works, else `qemu` (TCG).
    pub kvm: bool,
    pub memory_mib: u32,
    pub vcpus: u32,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The node's qcow2 overlay.
    pub disk: PathBuf,
    /// A tar with the node's identity (hostname, addresses, keys), read in the guest from fw_cfg.
    pub identity: PathBuf,
    pub machine_id: String,
    pub console_log: PathBuf,
    pub mgmt_mac: String,
    /// Index of the node in the plan (names its tap devices).
    pub index: usize,
}

fn p(path: &Path) -> String {
    esc(&path.to_string_lossy())
}

pub fn domain_xml(plan: &Plan, node: &PlanNode, d: &DomainSpec) -> String {
    let iface = |net: &str, mac: &str, tap: &str| {
        format!(
            "    <interface type='network'>\n      <source network='{}'/>\n      <mac address='{mac}'/>\n      <target dev='{tap}'/>\n      <model type='virtio'/>\n      <link state='up'/>\n    </interface>\n",
            esc(net)
        )
    };
    let mut ifaces = iface(&mgmt_network_name(plan), &d.mgmt_mac, &tap_name(plan, d.index, None));
    for (ii, i) in node.interfaces.iter().enumerate() {
        ifaces.push_str(&iface(&network_name(plan, &i.network), &i.mac, &tap_name(plan, d.index, Some(ii))));
    }
    // qemu's default 1 GiB translation cache doubles a TCG guest's RSS; 128 MiB is plenty.
    let tcg = if d.kvm { String::new() } else { "    <tcg>\n      <tb-cache unit='MiB'>128</tb-cache>\n    </tcg>\n".to_string() };
    format!(
        "<domain type='{kind}'>\n  <name>{name}</name>\n  <memory unit='MiB'>{mem}</memory>\n  <vcpu>{vcpus}</vcpu>\n  <sysinfo type='fwcfg'>\n    <entry name='opt/halab/identity' file='{ident}'/>\n  </sysinfo>\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n    <kernel>{kernel}</kernel>\n    <initrd>{initrd}</initrd>\n    <cmdline>root=/dev/vda rw console=ttyS0 quiet systemd.machine_id={mid}</cmdline>\n  </os>\n  <features>\n    <acpi/>\n{tcg}  </features>\n  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n  <devices>\n    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      <source file='{disk}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n{ifaces}    <controller type='usb' model='none'/>\n    <memballoon model='none'/>\n    <serial type='file'>\n      <source path='{console}'/>\n      <target port='0'/>\n    </serial>\n  </devices>\n  <seclabel type='static' model='dac' relabel='no'>\n    <label>+0:+0</label>\n  </seclabel>\n</domain>\n",
        kind = if d.kvm { "kvm" } else { "qemu" },
        name = esc(&domain_name(plan, &node.name)),
        mem = d.memory_mib,
        vcpus = d.vcpus,
        ident = p(&d.identity),
        kernel = p(&d.kernel),
        initrd = p(&d.initrd),
        mid = d.machine_id,
        disk = p(&d.disk),
        console = p(&d.console_log),
    )
}

/// The device XML that pulls or plugs one interface's cable (virDomainUpdateDeviceFlags, live):
/// the guest sees carrier loss. libvirt's test driver cannot do this, so this XML is the seam
/// unit tests check.
pub fn link_state_xml(plan: &Plan, network: &str, mac: &str, up: bool) -> String {
    format!(
        "<interface type='network'>\n  <source network='{}'/>\n  <mac address='{mac}'/>\n  <model type='virtio'/>\n  <link state='{}'/>\n</interface>\n",
        esc(&network_name(plan, network)),
        if up { "up" } else { "down" }
    )
}

/// The same for the management interface.
pub fn mgmt_link_state_xml(plan: &Plan, mac: &str, up: bool) -> String {
    format!(
        "<interface type='network'>\n  <source network='{}'/>\n  <mac address='{mac}'/>\n  <model type='virtio'/>\n  <link state='{}'/>\n</interface>\n",
        esc(&mgmt_network_name(plan)),
        if up { "up" } else { "down" }
    )
}
