//! `halab hosts ls`: each host of an inventory, its pinned key, its lease or quarantine; as
//! lines or as JSON (`--json`, shape in `halab schema hosts-ls`).

use serde::Serialize;

use super::{health, inventory::Inventory, lease, trust};

/// One host as `halab hosts ls` shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct HostEntry {
    pub host: String,
    pub address: String,
    /// Its SSH host key is pinned in the inventory's known_hosts.
    pub pinned: bool,
    /// `free`, `leased`, `expired` (a lease past its expiry), `quarantined` or `unknown` (no
    /// pinned key, or the host did not answer).
    pub state: String,
    /// Who holds the lease (`controller/lab/id`) and for which lab.
    pub owner: Option<String>,
    pub lab: Option<String>,
    /// Seconds left on the lease (negative: expired that long ago).
    pub left_s: Option<i64>,
    /// Why it is quarantined or unknown.
    pub reason: Option<String>,
}

pub fn hosts(inv: &Inventory) -> Vec<HostEntry> {
    let q = health::quarantined(inv);
    inv.hosts
        .iter()
        .map(|h| {
            let mut e = HostEntry {
                host: h.name.clone(),
                address: h.address.to_string(),
                pinned: false,
                state: "unknown".into(),
                owner: None,
                lab: None,
                left_s: None,
                reason: None,
            };
            if let Some((_, why)) = q.iter().find(|(n, _)| *n == h.name) {
                e.state = "quarantined".into();
                e.reason = Some(why.to_string());
                return e;
            }
            let Ok(t) = trust::target(inv, h) else {
                e.reason = Some("no pinned key: pin it with `halab hosts trust`".into());
                return e;
            };
            e.pinned = true;
            match lease::show(&t) {
                Ok(lease::Shown::Free) => e.state = "free".into(),
                Ok(lease::Shown::Leased { owner, lab, left_s }) => {
                    e.state = if left_s >= 0 { "leased" } else { "expired" }.into();
                    (e.owner, e.lab, e.left_s) = (Some(owner), Some(lab), Some(left_s));
                }
                Err(err) => e.reason = Some(format!("unreachable: {err:#}")),
            }
            e
        })
        .collect()
}

/// The table `halab hosts ls` prints.
pub fn lines(entries: &[HostEntry]) -> Vec<String> {
    let mut out = vec![format!("{:<12} {:<16} {:<8} LEASE", "HOST", "ADDRESS", "KEY")];
    for e in entries {
        let key = if e.state == "quarantined" {
            "-"
        } else if e.pinned {
            "pinned"
        } else {
            "none"
        };
        let (owner, lab, left) = (e.owner.as_deref().unwrap_or(""), e.lab.as_deref().unwrap_or(""), e.left_s.unwrap_or(0));
        let state = match e.state.as_str() {
            "quarantined" => format!("QUARANTINED: {}", e.reason.as_deref().unwrap_or("")),
            "leased" => format!("{owner} (lab {lab}), {left} s left"),
            "expired" => format!("expired {} s ago: {owner} (lab {lab})", -left),
            "free" => "free".into(),
            _ if !e.pinned => "unknown: pin its key with `halab hosts trust`".into(),
            _ => e.reason.clone().unwrap_or_default(),
        };
        out.push(format!("{:<12} {:<16} {:<8} {state}", e.host, e.address, key));
    }
    out
}

/// `halab schema hosts-ls`.
pub fn schema() -> serde_json::Value {
    crate::schema::of::<Vec<HostEntry>>()
}
