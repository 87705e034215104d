//! How a host's cable is pulled, per the inventory's `cable:` driver: the switch port over
//! SNMP (IF-MIB ifAdminStatus: a real carrier loss, as a managed switch does it), a command
//! on the controller, the host's own `ip link` (the host sees its link down, the switch and
//! the peers do not: not a carrier loss, and results say so), or an nft drop rule on the host.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::cmd::sh_quote;
use crate::topology::validate::Checker;
use crate::yaml::{OrderedMap, Spanned};

const DRIVERS: &[&str] = &["iplink", "drop", "command", "snmp"];

/// IF-MIB::ifAdminStatus; `.IFINDEX`, 1 up, 2 down.
const IF_ADMIN_STATUS: &str = ".1.3.6.1.2.1.2.2.1.7";

/// `cable:` as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CableSpec {
    driver: Spanned<String>,
    /// command: `{nic}`, `{mac}` and `{state}` (down/up) are replaced.
    #[serde(default)]
    command: Option<String>,
    /// snmp: the switch's agent, as net-snmp writes it (`udp:198.19.0.2:161`, `unix:/path`).
    #[serde(default)]
    agent: Option<String>,
    /// snmp: a file holding the write community (SNMP v2c).
    #[serde(default)]
    community_file: Option<Spanned<String>>,
    /// snmp: lab NIC MAC -> the switch port's ifIndex it is cabled to.
    #[serde(default)]
    ports: OrderedMap<u32>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "driver", rename_all = "lowercase")]
pub enum Cable {
    /// `ip link set NIC down` on the host.
    Iplink,
    /// An nft drop rule on the host for the NIC, both ways: the link stays up.
    Drop,
    /// A command on the controller.
    Command { command: String },
    /// ifAdminStatus of the switch port each NIC (MAC) is cabled to.
    Snmp { agent: String, community_file: PathBuf, ports: BTreeMap<String, u32> },
}

impl Cable {
    /// Is it made on the controller (a switch, a command) rather than on the host? Then a
    /// lost host cannot heal it, and the controller's own timer must.
    pub fn on_controller(&self) -> bool {
        matches!(self, Cable::Command { .. } | Cable::Snmp { .. })
    }
}

/// `nics`: the host's lab NICs (MAC, lower case), which the snmp driver must cover.
pub(crate) fn parse(c: &mut Checker, field: &str, spec: Option<&CableSpec>, nics: &BTreeMap<String, String>, rel: &dyn Fn(&str) -> PathBuf) -> Cable {
    let Some(s) = spec else { return Cable::Iplink };
    match s.driver.value.as_str() {
        "iplink" => Cable::Iplink,
        "drop" => Cable::Drop,
        "command" => match &s.command {
            Some(cmd) => Cable::Command { command: cmd.clone() },
            None => {
                c.at(&s.driver, &format!("{field}.command"), "the command driver needs `command`", "with {nic}, {mac} and {state} (down/up) in it");
                Cable::Iplink
            }
        },
        "snmp" => {
            let (Some(agent), Some(cf)) = (&s.agent, &s.community_file) else {
                c.at(
                    &s.driver,
                    field,
                    "the snmp driver needs `agent`, `community_file` and `ports`",
                    "the switch's agent, its write community, MAC -> ifIndex",
                );
                return Cable::Iplink;
            };
            let community_file = rel(&cf.value);
            if !community_file.is_file() {
                c.at(cf, &format!("{field}.community_file"), &format!("no file at {}", community_file.display()), "a path relative to the inventory");
            }
            let mut ports = BTreeMap::new();
            for (mac, idx) in s.ports.iter() {
                let m = mac.value.to_ascii_lowercase();
                if !nics.contains_key(&m) {
                    c.at(mac, &format!("{field}.ports"), &format!("{} is not one of the host's lab NICs", mac.value), "list the MACs under `nics`");
                }
                ports.insert(m, *idx);
            }
            for mac in nics.keys().filter(|m| !ports.contains_key(*m)) {
                c.at(&s.driver, &format!("{field}.ports"), &format!("lab NIC {mac} has no switch port"), "give its ifIndex on the switch");
            }
            Cable::Snmp { agent: agent.clone(), community_file, ports }
        }
        other => {
            c.at(&s.driver, &format!("{field}.driver"), &format!("no cable driver `{other}`"), &format!("one of {}", DRIVERS.join(", ")));
            Cable::Iplink
        }
    }
}

/// A shell script, run on the controller, that sets (`Some(up)`) or reads (`None`: prints
/// 1 up or 2 down) the switch port's ifAdminStatus. The community goes through a private
/// snmp.conf, never on a command line others can read.
pub fn snmp_script(agent: &str, community_file: &std::path::Path, ifindex: u32, up: Option<bool>) -> String {
    let oid = format!("{IF_ADMIN_STATUS}.{ifindex}");
    let op = match up {
        Some(up) => format!("snmpset -m '' -Oqv -r 2 -t 2 {} {oid} i {}", sh_quote(agent), if up { 1 } else { 2 }),
        None => format!("snmpget -m '' -Oqv -r 2 -t 2 {} {oid}", sh_quote(agent)),
    };
    format!(
        "umask 077; d=$(mktemp -d) || exit 1; printf 'defVersion 2c\\ndefCommunity %s\\n' \"$(cat {})\" > \"$d/snmp.conf\"; SNMPCONFPATH=$d {op}; rc=$?; rm -rf \"$d\"; exit $rc",
        sh_quote(&community_file.to_string_lossy())
    )
}

/// The switch port's ifIndex for a NIC, or why there is none.
pub fn port_of(ports: &BTreeMap<String, u32>, mac: &str) -> Result<u32> {
    match ports.get(mac) {
        Some(i) => Ok(*i),
        None => bail!("NIC {mac} has no switch port in the inventory"),
    }
}
