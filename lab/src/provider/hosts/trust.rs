//! Pinned host keys of an inventory's hosts, in its known_hosts file (OpenSSH format,
//! `NAME,ADDRESS TYPE KEY`). A key is pinned only by `halab hosts trust`, which prints its
//! fingerprint for a person to compare; every other command refuses a host without a pin or
//! with another key (never trust on first use).

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};

use super::inventory::{Host, Inventory};

/// The pinned key of `host` (`ssh-ed25519 AAAA...`), if any.
pub fn pinned(inv: &Inventory, host: &Host) -> Option<String> {
    let text = std::fs::read_to_string(&inv.known_hosts).ok()?;
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        let names = w.next()?;
        names.split(',').any(|n| n == host.name).then(|| w.take(2).collect::<Vec<_>>().join(" "))
    })
}

/// How to reach `host` over SSH, with its pin; an error naming `halab hosts trust` without one.
pub fn target(inv: &Inventory, host: &Host) -> Result<crate::transport::Target> {
    let Some(host_key) = pinned(inv, host) else {
        bail!(
            "host `{}` ({}) has no pinned SSH host key in {}: run `halab hosts trust --inventory {} {}` and compare the fingerprint it prints",
            host.name,
            host.address,
            inv.known_hosts.display(),
            inv.file.display(),
            host.name
        );
    };
    Ok(crate::transport::Target { addr: SocketAddr::from((host.address, 22)), user: host.user.clone(), key: host.key.clone(), host_key })
}

/// Fetch and pin the keys of `names` (all hosts when empty). A host pinned already keeps its
/// pin unless it shows the same key, or `replace` is given. Returns one line per host.
pub fn trust(inv: &Inventory, names: &[String], replace: bool) -> Result<Vec<String>> {
    for n in names {
        if inv.host(n).is_none() {
            bail!("the inventory {} has no host `{n}`", inv.file.display());
        }
    }
    let chosen: Vec<&Host> = inv.hosts.iter().filter(|h| names.is_empty() || names.contains(&h.name)).collect();
    let mut lines = Vec::new();
    let mut known: Vec<String> = std::fs::read_to_string(&inv.known_hosts).unwrap_or_default().lines().map(String::from).collect();
    for h in chosen {
        let (key, fp) = crate::transport::fetch_host_key(SocketAddr::from((h.address, 22))).with_context(|| format!("host `{}`", h.name))?;
        match pinned(inv, h) {
            Some(old) if old == key => lines.push(format!("{} ({}): {fp}, pinned already", h.name, h.address)),
            Some(old) if !replace => bail!(
                "host `{}` ({}) shows another key than the pinned one: pinned `{old}`, shown `{key}` ({fp}). If the host was reinstalled, check its console and run again with --replace",
                h.name,
                h.address
            ),
            _ => {
                known.retain(|l| !l.split_whitespace().next().is_some_and(|n| n.split(',').any(|x| x == h.name)));
                known.push(format!("{},{} {key}", h.name, h.address));
                lines.push(format!("{} ({}): {fp}, pinned in {}", h.name, h.address, inv.known_hosts.display()));
            }
        }
    }
    std::fs::write(&inv.known_hosts, known.join("\n") + "\n").with_context(|| format!("failed to write {}", inv.known_hosts.display()))?;
    Ok(lines)
}
