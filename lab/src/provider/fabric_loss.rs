//! Loss and blocks on a node's cable, done on the host side of the cable with nftables in the
//! bridge family (this kernel has no netem): netns fabric ports and libvirt taps alike.
//! 100% is a clean cut that, unlike a pulled cable, involves no carrier change: the kernel
//! applies carrier changes through its link-watch work, up to a second late, which a pulled
//! cable's gap includes and a block's does not.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

/// Record `percent` for `port` in the lab's loss table at `path` and return the nft script that
/// replaces bridge table `table` with rules for every port in it. Ports are netns fabric ports or
/// libvirt's host-side taps.
pub fn update(path: &std::path::Path, table: &str, port: &str, percent: u32) -> Result<String> {
    if percent > 100 {
        bail!("loss must be 0-100 %, not {percent}");
    }
    let mut ports: BTreeMap<String, u32> = std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    if percent == 0 {
        ports.remove(port);
    } else {
        ports.insert(port.to_string(), percent);
    }
    std::fs::write(path, serde_json::to_vec(&ports)?)?;
    let mut rules = String::new();
    for (p, pct) in &ports {
        let cond = if *pct >= 100 { String::new() } else { format!("numgen random mod 100 < {pct} ") };
        rules.push_str(&format!("        iifname \"{p}\" {cond}drop\n        oifname \"{p}\" {cond}drop\n"));
    }
    Ok(format!(
        "table bridge {table}\ndelete table bridge {table}\ntable bridge {table} {{\n    chain forward {{\n        type filter hook forward priority filter; policy accept;\n{rules}    }}\n}}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::update;

    #[test]
    fn the_table_holds_every_lossy_port_and_0_removes_one() {
        let path = std::env::temp_dir().join(format!("halab-loss-table-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let s = update(&path, "halab_loss", "p1", 30).unwrap();
        assert!(s.starts_with("table bridge halab_loss\ndelete table bridge halab_loss\n"), "replaces the table whole: {s}");
        assert!(s.contains("iifname \"p1\" numgen random mod 100 < 30 drop\n") && s.contains("oifname \"p1\" numgen random mod 100 < 30 drop\n"), "{s}");
        // 100 % is a plain drop (`mod 100 < 100` would be true always, but say it plainly).
        let s = update(&path, "halab_loss", "p2", 100).unwrap();
        assert!(s.contains("iifname \"p1\" numgen") && s.contains("iifname \"p2\" drop\n") && s.contains("oifname \"p2\" drop\n"), "{s}");
        let s = update(&path, "halab_loss", "p1", 0).unwrap();
        assert!(!s.contains("\"p1\"") && s.contains("\"p2\""), "0 % takes the port out: {s}");
        let s = update(&path, "halab_loss", "p2", 0).unwrap();
        assert!(s.contains("policy accept;\n    }\n}\n") && !s.contains("drop"), "an empty table drops nothing: {s}");
        assert!(update(&path, "halab_loss", "p1", 101).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
