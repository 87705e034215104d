//! The inventory: machines that exist already (real servers, firewall boxes, or VMs and netns
//! nodes playing them), as the user writes it, validated like a topology (every problem with
//! file:line:col). A host's SSH host key is not here: `halab hosts trust` pins it in the
//! inventory's known_hosts file, once, and only when asked.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use super::cable::Cable;
use super::cable::CableSpec;
pub use super::power::Power;
use super::power::PowerSpec;
use crate::diag::InputError;
use crate::topology::validate::Checker;
use crate::yaml::{OrderedMap, Spanned};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct InventoryFile {
    name: Spanned<String>,
    /// Pinned host keys (OpenSSH known_hosts format), relative to the inventory; default
    /// `<inventory stem>.known_hosts` beside it.
    #[serde(default)]
    known_hosts: Option<Spanned<String>>,
    hosts: OrderedMap<HostSpec>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct HostSpec {
    /// Management address: halab reaches the host here, over SSH.
    address: Spanned<String>,
    #[serde(default)]
    user: Option<Spanned<String>>,
    /// Private key, relative to the inventory.
    key: Spanned<String>,
    /// Topology node names or roles (`member`, `end`) this host may play.
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    /// NIC MAC address -> topology network it is cabled to.
    #[serde(default)]
    nics: OrderedMap<Spanned<String>>,
    #[serde(default)]
    never_touch: NeverTouch,
    #[serde(default)]
    power: Option<PowerSpec>,
    #[serde(default)]
    cable: Option<CableSpec>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct NeverTouch {
    #[serde(default)]
    nics: Vec<Spanned<String>>,
    #[serde(default)]
    services: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Host {
    pub name: String,
    pub address: Ipv4Addr,
    pub user: String,
    pub key: PathBuf,
    pub tags: Vec<String>,
    /// MAC (lower case) -> network.
    pub nics: BTreeMap<String, String>,
    pub never_nics: Vec<String>,
    pub never_services: Vec<String>,
    pub power: Option<Power>,
    pub cable: Cable,
}

#[derive(Debug, Clone)]
pub struct Inventory {
    pub name: String,
    pub file: PathBuf,
    pub known_hosts: PathBuf,
    pub hosts: Vec<Host>,
}

impl Inventory {
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// `halab schema inventory`: the file as written (its types are this module's own).
pub fn schema() -> serde_json::Value {
    crate::schema::of::<InventoryFile>()
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Read and check an inventory; every problem at once, nothing touched.
pub fn load(path: &Path) -> Result<Inventory, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::one(crate::diag::Diagnostic::whole_file(path, "", &format!("cannot read the inventory: {e}"), "give the path of an inventory YAML file"))
    })?;
    load_str(path, &text)
}

pub fn load_str(path: &Path, text: &str) -> Result<Inventory, InputError> {
    let f: InventoryFile = crate::yaml::parse(path, text)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut c = Checker { file: path, out: Vec::new() };
    let rel = |p: &str| if p.starts_with('/') { PathBuf::from(p) } else { base.join(p) };
    let mut hosts = Vec::new();
    let (mut names, mut addrs, mut macs) = (HashSet::new(), HashSet::new(), HashSet::new());
    if f.hosts.is_empty() {
        c.at(&f.name, "hosts", "the inventory has no hosts", "add a `hosts:` mapping");
    }
    for (name, h) in f.hosts.iter() {
        let field = |s: &str| format!("hosts.{}.{s}", name.value);
        if !names.insert(name.value.clone()) {
            c.at(name, &format!("hosts.{}", name.value), "this host is listed twice", "host names are unique");
        }
        let address = match h.address.value.parse::<Ipv4Addr>() {
            Ok(a) => {
                if !addrs.insert(a) {
                    c.at(&h.address, &field("address"), &format!("{a} is the address of another host too"), "");
                }
                a
            }
            Err(_) => {
                c.at(&h.address, &field("address"), &format!("`{}` is not an IPv4 address", h.address.value), "the host's management address");
                Ipv4Addr::UNSPECIFIED
            }
        };
        let key = rel(&h.key.value);
        if !key.is_file() {
            c.at(&h.key, &field("key"), &format!("no private key at {}", key.display()), "a path relative to the inventory");
        }
        let mut nics = BTreeMap::new();
        for (mac, net) in h.nics.iter() {
            let m = mac.value.to_ascii_lowercase();
            if !is_mac(&m) {
                c.at(mac, &field("nics"), &format!("`{}` is not a MAC address", mac.value), "write it like 52:54:00:12:34:56");
            } else if !macs.insert(m.clone()) {
                c.at(mac, &field("nics"), &format!("{m} is listed twice"), "a NIC belongs to one host");
            }
            nics.insert(m, net.value.clone());
        }
        let never_nics: Vec<String> = h.never_touch.nics.iter().map(|n| n.value.to_ascii_lowercase()).collect();
        for n in &h.never_touch.nics {
            if nics.contains_key(&n.value.to_ascii_lowercase()) {
                c.at(
                    n,
                    &field("never_touch.nics"),
                    &format!("{} is also a lab NIC under `nics`", n.value),
                    "a NIC halab must not touch cannot carry a lab network",
                );
            }
        }
        let power = h.power.as_ref().and_then(|p| super::power::parse(&mut c, &field("power"), p, &rel));
        let cable = super::cable::parse(&mut c, &field("cable"), h.cable.as_ref(), &nics, &rel);
        hosts.push(Host {
            name: name.value.clone(),
            address,
            user: h.user.as_ref().map(|u| u.value.clone()).unwrap_or_else(|| "root".into()),
            key,
            tags: h.tags.iter().map(|t| t.value.clone()).collect(),
            nics,
            never_nics,
            never_services: h.never_touch.services.iter().map(|s| s.value.clone()).collect(),
            power,
            cable,
        });
    }
    if !c.out.is_empty() {
        return Err(InputError { diagnostics: c.out });
    }
    let known_hosts = match &f.known_hosts {
        Some(k) => rel(&k.value),
        None => path.with_extension("known_hosts"),
    };
    Ok(Inventory { name: f.name.value.clone(), file: path.to_path_buf(), known_hosts, hosts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match load_str(Path::new("/nonexistent/inv.yaml"), text) {
            Ok(_) => vec![],
            Err(e) => e.diagnostics.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn every_problem_with_its_line() {
        let e = errors("name: r\nhosts:\n  h1:\n    address: 198.19.9.300\n    key: nokey\n    nics: { 52:54:00:zz:00:01: inet }\n    power: { driver: wol }\n    cable: { driver: laser }\n");
        assert_eq!(e.len(), 5, "{e:#?}");
        assert!(e[0].starts_with("/nonexistent/inv.yaml:4:14: hosts.h1.address: `198.19.9.300` is not an IPv4 address"), "{e:#?}");
        assert!(e[1].contains(":5:10: hosts.h1.key: no private key at /nonexistent/nokey"), "{e:#?}");
        assert!(e[2].contains(":6:13: hosts.h1.nics: `52:54:00:zz:00:01` is not a MAC address"), "{e:#?}");
        assert!(e[3].contains("hosts.h1.power.driver: no power driver `wol`"), "{e:#?}");
        assert!(e[4].contains("hosts.h1.cable.driver: no cable driver `laser`"), "{e:#?}");
    }

    #[test]
    fn a_lab_nic_cannot_be_untouchable() {
        let e = errors("name: r\nhosts:\n  h1:\n    address: 198.19.9.10\n    key: /etc/hostname\n    nics: { 52:54:00:00:00:01: inet }\n    never_touch: { nics: [ 52:54:00:00:00:01 ] }\n");
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].contains(":7:28: hosts.h1.never_touch.nics: 52:54:00:00:00:01 is also a lab NIC"), "{e:#?}");
    }

    #[test]
    fn bmc_and_switch_drivers_name_what_they_miss() {
        let e = errors(
            "name: r\nhosts:\n  h1:\n    address: 198.19.9.10\n    key: /etc/hostname\n    nics: { 52:54:00:00:00:01: inet, 52:54:00:00:00:02: lan }\n    power: { driver: redfish, address: 198.19.9.200, user: admin, password_file: /etc/hostname }\n    cable: { driver: snmp, agent: 'udp:198.19.9.250:161', community_file: /etc/hostname, ports: { 52:54:00:00:00:01: 7, 52:54:00:00:00:09: 8 } }\n",
        );
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(e[0].contains(":7:22: hosts.h1.power: the redfish driver needs `systems_uri`"), "{e:#?}");
        assert!(e[1].contains(":8:121: hosts.h1.cable.ports: 52:54:00:00:00:09 is not one of the host's lab NICs"), "{e:#?}");
        assert!(e[2].contains("hosts.h1.cable.ports: lab NIC 52:54:00:00:00:02 has no switch port"), "{e:#?}");
    }

    #[test]
    fn a_good_inventory() {
        let inv = load_str(
            Path::new("/tmp/inv.yaml"),
            "name: r\nhosts:\n  h1:\n    address: 198.19.9.10\n    key: /etc/hostname\n    nics: { 52:54:00:AA:00:01: inet }\n",
        )
        .expect("valid");
        let h = &inv.hosts[0];
        assert_eq!((h.user.as_str(), h.cable.clone()), ("root", Cable::Iplink));
        assert_eq!(h.nics.get("52:54:00:aa:00:01").map(String::as_str), Some("inet"));
        assert_eq!(inv.known_hosts, PathBuf::from("/tmp/inv.known_hosts"));
    }
}
