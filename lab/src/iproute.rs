//! `ip -j` (iproute2's JSON) as types: links with their addresses, and routes. Every reader of
//! a node's or the host's interfaces goes through here; an answer that does not parse is an
//! error naming the command, never "no addresses".

use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use serde::Deserialize;

/// One link of `ip -j link` or `ip -j addr` (addresses only in the latter).
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    pub ifname: String,
    /// The MAC address (absent on some virtual links).
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub operstate: Option<String>,
    #[serde(default)]
    pub addr_info: Vec<AddrInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AddrInfo {
    #[serde(default)]
    pub family: String,
    #[serde(default)]
    pub local: Option<String>,
    #[serde(default)]
    pub prefixlen: u8,
}

/// One route of `ip -j route show` or `ip -j route get`.
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    #[serde(default)]
    pub dst: Option<String>,
    #[serde(default)]
    pub prefsrc: Option<String>,
}

impl Link {
    /// Its IPv4 addresses with their prefix lengths.
    pub fn ipv4(&self) -> impl Iterator<Item = (Ipv4Addr, u8)> + '_ {
        self.addr_info.iter().filter(|a| a.family == "inet").filter_map(|a| Some((a.local.as_deref()?.parse().ok()?, a.prefixlen)))
    }
    /// Carrier up: not flagged NO-CARRIER and not operationally down.
    pub fn carrier(&self) -> bool {
        !self.flags.iter().any(|f| f == "NO-CARRIER") && self.operstate.as_deref() != Some("DOWN")
    }
}

/// The links of `ip -j link|addr` output; `what` names the command and where it ran.
pub fn links(json: &[u8], what: &str) -> Result<Vec<Link>> {
    serde_json::from_slice(json).with_context(|| format!("`{what}` printed no link list: {}", preview(json)))
}

/// The routes of `ip -j route` output.
pub fn routes(json: &[u8], what: &str) -> Result<Vec<Route>> {
    serde_json::from_slice(json).with_context(|| format!("`{what}` printed no route list: {}", preview(json)))
}

fn preview(json: &[u8]) -> String {
    String::from_utf8_lossy(&json[..json.len().min(120)]).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_carrier_come_from_ip_json() {
        let out =
            br#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"operstate":"UNKNOWN","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
            {"ifindex":2,"ifname":"inet","flags":["NO-CARRIER","BROADCAST","UP"],"operstate":"DOWN","address":"02:aa:bb:cc:dd:ee",
             "addr_info":[{"family":"inet","local":"198.18.1.1","prefixlen":24},{"family":"inet6","local":"fe80::1","prefixlen":64}]}]"#;
        let l = links(out, "ip -j addr").unwrap();
        assert_eq!(l[1].ipv4().collect::<Vec<_>>(), vec![("198.18.1.1".parse().unwrap(), 24)]);
        assert!(l[0].carrier() && !l[1].carrier());
        assert_eq!(l[1].address.as_deref(), Some("02:aa:bb:cc:dd:ee"));
    }

    #[test]
    fn an_answer_that_is_not_json_is_an_error_not_an_empty_list() {
        let e = links(b"Cannot open netlink socket", "ip -j addr on fw1").unwrap_err();
        assert!(format!("{e:#}").contains("ip -j addr on fw1"), "{e:#}");
    }
}
