//! Second phase of loading: check the parsed file and resolve it into a Plan, reporting every
//! problem at once with its position.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::model::{NodeSpec, TopologyFile, VmSpec};
use super::plan::*;
use crate::diag::{Diagnostic, InputError};
use crate::yaml::{pos, Spanned};

/// Linux limit on interface names (IFNAMSIZ - 1).
pub const MAX_IFNAME: usize = 15;
/// Interface names halab uses inside every node.
const RESERVED_IFNAMES: &[&str] = &["lo", "mgmt"];
pub const KNOWN_SERVICES: &[&str] = &["sshd", "web", "iperf3"];

/// Collects every problem of a user's file, with positions (topologies and scenarios alike).
pub(crate) struct Checker<'a> {
    pub(crate) file: &'a Path,
    pub(crate) out: Vec<Diagnostic>,
}

impl Checker<'_> {
    /// Where `s` was written in this file.
    pub(crate) fn span<T>(&self, s: &Spanned<T>) -> crate::diag::Span {
        let (l, c) = pos(s);
        crate::diag::Span::new(self.file, l, c)
    }
    pub(crate) fn at<T>(&mut self, s: &Spanned<T>, field: &str, msg: &str, hint: &str) {
        let (l, c) = pos(s);
        self.out.push(Diagnostic::new(self.file, l, c, field, msg, hint));
    }
    /// A duration field (`500ms`, `3s`); `default` when absent or wrong (wrong is reported).
    pub(crate) fn duration(&mut self, s: &Option<Spanned<String>>, field: &str, default: std::time::Duration) -> std::time::Duration {
        let Some(s) = s else { return default };
        match super::duration::parse(&s.value) {
            Some(d) => d,
            None => {
                self.at(s, field, &format!("`{}` is not a duration", s.value), "write it like 500ms, 3s or 2m");
                default
            }
        }
    }
    /// A field that names one of `options`: its value, or `default` when absent or unknown
    /// (unknown is reported as "unknown WHAT `x`" with every allowed name).
    pub(crate) fn choice<T: Copy>(&mut self, s: Option<&Spanned<String>>, field: &str, what: &str, options: &[(&str, T)], default: T) -> T {
        let Some(s) = s else { return default };
        if let Some((_, v)) = options.iter().find(|(n, _)| *n == s.value) {
            return *v;
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.at(s, field, &format!("unknown {what} `{}`", s.value), &format!("one of: {}", names.join(", ")));
        default
    }
    pub(super) fn net(&mut self, s: &Spanned<String>, field: &str) -> Option<Ipv4Net> {
        match s.value.parse::<Ipv4Net>() {
            Ok(n) if n.network() == n.addr() => Some(n),
            Ok(n) => {
                let hint = format!("did you mean {}?", n.trunc());
                self.at(s, field, &format!("`{}` has host bits set", s.value), &hint);
                None
            }
            Err(_) => {
                self.at(s, field, &format!("`{}` is not an IPv4 subnet", s.value), "write it as 198.18.1.0/24");
                None
            }
        }
    }
    pub(super) fn addr(&mut self, s: &Spanned<String>, field: &str) -> Option<Ipv4Addr> {
        match s.value.parse::<Ipv4Addr>() {
            Ok(a) => Some(a),
            Err(_) => {
                let hint = "write a plain address such as 198.18.1.10; the prefix comes from the network";
                self.at(s, field, &format!("`{}` is not an IPv4 address", s.value), hint);
                None
            }
        }
    }
    pub(crate) fn name(&mut self, s: &Spanned<String>, field: &str, what: &str) -> bool {
        let ok = valid_name(&s.value);
        if !ok {
            let msg = format!("{what} name `{}` is not allowed", s.value);
            self.at(s, field, &msg, NAME_RULE);
        }
        ok
    }
}

/// Lab short id: 6 hex digits of SHA-256 of the lab name.
pub fn lab_id(lab: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(lab.as_bytes());
    h.iter().take(3).map(|b| format!("{b:02x}")).collect()
}

/// Locally administered unicast MAC derived from (lab, node, interface).
pub fn mac_for(lab: &str, node: &str, ifname: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{lab}/{node}/{ifname}").as_bytes());
    format!("02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", h[0], h[1], h[2], h[3], h[4])
}

/// A netns node's boot when the topology does not say: what a TCG VM of the lab image took
/// on the 2-core box of NOTES-MACHINE.md, 15.3 s from power-on to its last boot unit (5.2 s
/// kernel, 10.2 s userspace; 18.8 s to SSH with two booting at once). A KVM VM boots faster, a
/// server with its firmware's self-test slower.
pub const BOOT_TIME_MS: u32 = 15_000;

pub fn check(file: &Path, t: &TopologyFile, lab_override: Option<&str>) -> Result<Plan, InputError> {
    let mut c = Checker { file, out: Vec::new() };
    c.name(&t.name, "name", "lab");
    let lab = lab_override.map(str::to_string).unwrap_or_else(|| t.name.value.clone());
    if lab_override.is_some_and(|l| !valid_name(l)) {
        c.out.push(Diagnostic::whole_file(file, "--name", &format!("lab name `{lab}` is not allowed"), NAME_RULE));
    }
    let management = t.management.as_ref().and_then(|m| c.net(&m.subnet, "management.subnet"));
    let networks = networks(&mut c, t, management);
    let mut used: HashMap<Ipv4Addr, String> = HashMap::new();
    let nodes = nodes(&mut c, t, &networks, &lab, &mut used);
    let cluster = t.cluster.as_ref().and_then(|cl| super::cluster::check(&mut c, cl, &networks, &nodes, &used));
    let image = t.image.as_ref().map(|s| s.value.clone()).unwrap_or_else(|| "debian-trixie-ha".into());
    let packages = packages(&mut c, &t.packages);
    let boot_time_ms = c.duration(&t.boot_time, "boot_time", std::time::Duration::from_millis(BOOT_TIME_MS.into())).as_millis() as u32;
    if c.out.is_empty() {
        Ok(Plan { id: lab_id(&lab), lab, topology: file.to_path_buf(), image, packages, management, boot_time_ms, networks, nodes, cluster })
    } else {
        c.out.sort_by_key(|d| (d.line, d.col));
        Err(InputError { diagnostics: c.out })
    }
}

/// The networks: names, interface names, subnets that overlap neither each other nor the
/// management network.
fn networks(c: &mut Checker, t: &TopologyFile, management: Option<Ipv4Net>) -> Vec<PlanNetwork> {
    let mut networks: Vec<PlanNetwork> = Vec::new();
    let mut seen = HashSet::new();
    let mut ifnames: HashMap<String, String> = HashMap::new();
    if t.networks.is_empty() {
        c.at(&t.name, "networks", "the topology has no network", "add at least one under `networks:`");
    }
    for (name, spec) in t.networks.iter() {
        let field = format!("networks.{}", name.value);
        if !seen.insert(name.value.clone()) {
            c.at(name, &field, &format!("network `{}` is defined twice", name.value), "rename or remove one of them");
            continue;
        }
        c.name(name, &field, "network");
        let ifname_s = spec.ifname.as_ref().unwrap_or(name);
        let ifname = ifname_s.value.clone();
        if ifname.len() > MAX_IFNAME {
            let msg = format!("interface name `{ifname}` has {} characters; Linux allows {MAX_IFNAME}", ifname.len());
            c.at(ifname_s, &field, &msg, "shorten the network name or set `ifname:` to 15 characters or fewer");
        } else if RESERVED_IFNAMES.contains(&ifname.as_str()) {
            c.at(ifname_s, &field, &format!("interface name `{ifname}` is reserved by halab"), "choose another name or set `ifname:`");
        } else if let Some(other) = ifnames.insert(ifname.clone(), name.value.clone()) {
            c.at(ifname_s, &field, &format!("interface name `{ifname}` is already used by network `{other}`"), "set a distinct `ifname:`");
        }
        let Some(subnet) = c.net(&spec.subnet, &format!("{field}.subnet")) else {
            continue;
        };
        if subnet_clashes(c, &spec.subnet, &field, subnet, &networks, management) {
            continue;
        }
        networks.push(PlanNetwork { name: name.value.clone(), subnet, ifname });
    }
    networks
}

/// A network's subnet against the networks before it, the management network and the pool
/// management networks are chosen from. True if it overlaps an earlier network.
fn subnet_clashes(c: &mut Checker, at: &Spanned<String>, field: &str, subnet: Ipv4Net, networks: &[PlanNetwork], management: Option<Ipv4Net>) -> bool {
    let field = format!("{field}.subnet");
    if let Some(o) = networks.iter().find(|o| o.subnet.contains(&subnet) || subnet.contains(&o.subnet)) {
        c.at(at, &field, &format!("subnet {subnet} overlaps network `{}` ({})", o.name, o.subnet), "give every network its own subnet");
        return true;
    }
    if let Some(m) = management.filter(|m| m.contains(&subnet) || subnet.contains(m)) {
        c.at(at, &field, &format!("subnet {subnet} overlaps the management subnet {m}"), "");
    }
    // Without `management:` a free /24 of the pool is chosen, avoiding the lab's subnets: a
    // subnet covering the whole pool leaves none (and would shadow the host's routes).
    let pool: ipnet::Ipv4Net = super::MGMT_POOL.parse().unwrap_or_default();
    if management.is_none() && subnet.contains(&pool) {
        let msg = format!("subnet {subnet} covers {pool}, the pool management networks are chosen from");
        c.at(at, &field, &msg, "use another subnet of 198.18.0.0/15, or set `management.subnet` outside this network");
    }
    false
}

/// The nodes; `used` collects every address and who has it.
fn nodes(c: &mut Checker, t: &TopologyFile, networks: &[PlanNetwork], lab: &str, used: &mut HashMap<Ipv4Addr, String>) -> Vec<PlanNode> {
    let mut nodes: Vec<PlanNode> = Vec::new();
    let mut seen = HashSet::new();
    if t.nodes.is_empty() {
        c.at(&t.name, "nodes", "the topology has no node", "add at least one under `nodes:`");
    }
    for (name, spec) in t.nodes.iter() {
        let field = format!("nodes.{}", name.value);
        if !seen.insert(name.value.clone()) {
            c.at(name, &field, &format!("node `{}` is defined twice", name.value), "rename or remove one of them");
            continue;
        }
        c.name(name, &field, "node");
        let interfaces = interfaces(c, t, name, spec, networks, lab, used);
        let routes = routes(c, &name.value, spec, &interfaces);
        let mut services = Vec::new();
        for s in &spec.services {
            if !KNOWN_SERVICES.contains(&s.value.as_str()) {
                c.at(s, &format!("{field}.services"), &format!("unknown service `{}`", s.value), &known("services", KNOWN_SERVICES.iter().copied()));
            } else if s.value != "sshd" {
                services.push(s.value.clone());
            }
        }
        let forwarding = spec.forwarding.unwrap_or(interfaces.len() >= 2);
        let vm = vm_size(c, spec.vm.as_ref(), &field);
        let files = super::resources::files(c, &spec.files, &format!("nodes.{}.files", name.value));
        let netns = match &spec.provider {
            Some(p) if p.value == "netns" => Some(c.span(p)),
            Some(p) => {
                let msg = format!("a node's provider can only be `netns`, not `{}`", p.value);
                c.at(p, &format!("{field}.provider"), &msg, "`netns` runs this node on the machine that runs halab; leave it out to use the lab's provider");
                None
            }
            None => None,
        };
        nodes.push(PlanNode { name: name.value.clone(), interfaces, routes, services, forwarding, vm, files, netns });
    }
    nodes
}

/// A node's interfaces: each on a known network, at a unique host address of its subnet.
fn interfaces(
    c: &mut Checker,
    t: &TopologyFile,
    name: &Spanned<String>,
    spec: &NodeSpec,
    networks: &[PlanNetwork],
    lab: &str,
    used: &mut HashMap<Ipv4Addr, String>,
) -> Vec<PlanInterface> {
    let field = format!("nodes.{}", name.value);
    if spec.interfaces.is_empty() {
        let msg = format!("node `{}` has no interface", name.value);
        c.at(name, &format!("{field}.interfaces"), &msg, "attach it to a network: `interfaces: { lan: 198.18.2.20 }`");
    }
    let mut ifaces = Vec::new();
    let mut attached = HashSet::new();
    for (net_name, addr_s) in spec.interfaces.iter() {
        let f = format!("{field}.interfaces.{}", net_name.value);
        if !attached.insert(net_name.value.clone()) {
            c.at(net_name, &f, &format!("node `{}` is attached to `{}` twice", name.value, net_name.value), "");
            continue;
        }
        let net = networks.iter().find(|n| n.name == net_name.value);
        if net.is_none() && !t.networks.iter().any(|(k, _)| k.value == net_name.value) {
            c.at(net_name, &f, &format!("unknown network `{}`", net_name.value), &known("networks", t.networks.iter().map(|(k, _)| k.value.as_str())));
        }
        let Some(addr) = c.addr(addr_s, &f) else {
            continue;
        };
        let Some(net) = net else { continue };
        if !net.subnet.contains(&addr) || addr == net.subnet.network() || addr == net.subnet.broadcast() {
            let msg = format!("address {addr} is not a host address of network `{}` ({})", net.name, net.subnet);
            c.at(addr_s, &f, &msg, &format!("pick an address in {}", net.subnet));
            continue;
        }
        if let Some(other) = used.insert(addr, format!("node `{}`", name.value)) {
            c.at(addr_s, &f, &format!("address {addr} is already used by {other}"), "every address must be unique");
        }
        let mac = mac_for(lab, &name.value, &net.ifname);
        ifaces.push(PlanInterface { network: net.name.clone(), ifname: net.ifname.clone(), address: addr, prefix_len: net.subnet.prefix_len(), mac });
    }
    ifaces
}

/// A node's static routes, each through a gateway on one of its networks.
fn routes(c: &mut Checker, node: &str, spec: &NodeSpec, ifaces: &[PlanInterface]) -> Vec<PlanRoute> {
    let mut routes = Vec::new();
    for (i, r) in spec.routes.iter().enumerate() {
        let f = format!("nodes.{node}.routes[{i}]");
        let to = c.net(&r.to, &format!("{f}.to"));
        let via = c.addr(&r.via, &format!("{f}.via"));
        if let (Some(to), Some(via)) = (to, via) {
            let reachable = ifaces.iter().any(|i| Ipv4Net::new(i.address, i.prefix_len).is_ok_and(|n| n.contains(&via)));
            if !reachable && !ifaces.is_empty() {
                let msg = format!("gateway {via} is not on any network of node `{node}`");
                c.at(&r.via, &format!("{f}.via"), &msg, "the gateway must be in a subnet the node is attached to");
            }
            routes.push(PlanRoute { to, via });
        }
    }
    routes
}

/// A node's VM size (libvirt), within what qemu and the host can give.
fn vm_size(c: &mut Checker, v: Option<&VmSpec>, field: &str) -> VmSize {
    let mut vm = VmSize::default();
    let Some(v) = v else { return vm };
    if let Some(m) = &v.memory_mib {
        if (256..=65536).contains(&m.value) {
            vm.memory_mib = m.value;
        } else {
            c.at(m, &format!("{field}.vm.memory_mib"), &format!("{} MiB is out of range", m.value), "between 256 and 65536");
        }
    }
    if let Some(n) = &v.vcpus {
        if (1..=64).contains(&n.value) {
            vm.vcpus = n.value;
        } else {
            c.at(n, &format!("{field}.vm.vcpus"), &format!("{} vCPUs is out of range", n.value), "between 1 and 64");
        }
    }
    vm
}

const NAME_RULE: &str = "use 1-32 characters: a-z first, then a-z, 0-9, - or _";

/// Lab, node and network names: they become parts of namespace, file and interface names.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

pub(super) fn known<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    format!("known {what}: {}", v.join(", "))
}

/// Extra packages: Debian package names (policy 5.6.1), each once.
fn packages(c: &mut Checker, list: &[Spanned<String>]) -> Vec<PlanPackage> {
    let mut out: Vec<PlanPackage> = Vec::new();
    for p in list {
        let n = &p.value;
        let ok = n.len() >= 2
            && n.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && n.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "+-.".contains(ch));
        if !ok {
            c.at(p, "packages", &format!("`{n}` is not a Debian package name"), "lower-case letters, digits, + - and ., e.g. ovn-central");
        } else if out.iter().any(|q| &q.name == n) {
            c.at(p, "packages", &format!("package `{n}` is listed twice"), "");
        } else {
            out.push(PlanPackage { name: n.clone(), at: c.span(p) });
        }
    }
    out
}
