//! `scp`: a file copied with OpenSSH, rate-limited so the transfer spans the fault; did it
//! complete, and is the copy the same file.

use crate::measure::metrics::traffic as metric;

use std::net::Ipv4Addr;
use std::sync::Arc;

use anyhow::{bail, Result};

use super::{file, Collect, Ends, Fields, Kind, KindDef, Running, Traffic};
use crate::measure::clock::{figure, ms_between, now_ns};
use crate::node::Node;

pub const KIND: KindDef = KindDef {
    name: "scp",
    doc: "copy a file with OpenSSH, rate-limited so the transfer spans the fault; completion and checksum",
    fields: &[("size", "file size (default 64MiB)"), ("rate", "rate limit like 24Mbit (default none)")],
    example: "{ name: bulk, kind: scp, from: client, to: server, size: 48MiB, rate: 24Mbit }",
    metrics: metric::SCP,
    check,
};

#[derive(Debug)]
struct Scp {
    bytes: u64,
    /// 0: no limit.
    rate_kbit: u64,
}

fn check(f: &mut Fields) -> Option<Arc<dyn Kind>> {
    let bytes = f.parsed("size", 64 << 20, parse_size, "a size", "write it like 64MiB");
    let rate_kbit = f.parsed("rate", 0, parse_rate_kbit, "a rate", "write it like 24Mbit or 500kbit");
    Some(Arc::new(Scp { bytes: bytes?, rate_kbit: rate_kbit? }))
}

/// `256MiB`, `64MB`, `1GiB`, `4096` (bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// `24Mbit`, `500kbit` -> kbit/s.
pub fn parse_rate_kbit(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    match unit {
        "kbit" => Some(n),
        "Mbit" => n.checked_mul(1000),
        "Gbit" => n.checked_mul(1_000_000),
        _ => None,
    }
}

/// `from` may log into `to` as root over the lab network with a pinned host key.
fn ssh_trust(from: &Node, to: &Node, ip: Ipv4Addr) -> Result<()> {
    from.sh("test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519")?;
    let key = from.run(&["cat", "/root/.ssh/id_ed25519.pub"])?;
    let o = to.exec(&["sh", "-c", "cat >> /root/.ssh/authorized_keys"], Some(key.as_bytes()), crate::cmd::limit::SCRIPT)?;
    if !o.status.success() {
        bail!("failed to authorize {}'s key on {}", from.name, to.name);
    }
    let hostkey = to.run(&["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])?;
    let mut f = hostkey.split_whitespace();
    let line = format!("{ip} {} {}\n", f.next().unwrap_or(""), f.next().unwrap_or(""));
    let o = from.exec(&["sh", "-c", "cat >> /root/.ssh/known_hosts"], Some(line.as_bytes()), crate::cmd::limit::SCRIPT)?;
    if !o.status.success() {
        bail!("failed to pin {}'s host key on {}", to.name, from.name);
    }
    Ok(())
}

impl Kind for Scp {
    fn name(&self) -> &'static str {
        KIND.name
    }

    fn start(&self, t: &Traffic, e: &Ends) -> Result<()> {
        let (ip, rc, bin) = (e.ip, file(t, "rc"), file(t, "bin"));
        ssh_trust(&e.from, &e.to, ip)?;
        e.from.sh(&format!("head -c {} /dev/urandom > {bin}", self.bytes))?;
        let limit = if self.rate_kbit > 0 { format!("-l {}", self.rate_kbit) } else { String::new() };
        // Alive checks bound a stalled transfer: 60 s without an answer and scp gives up. Not
        // less: after a gap just over 12.6 s (a fenced crash) TCP's next retransmission comes
        // 25.4 s after the loss, and the one after that at 51 s.
        let cmd = format!(
            "scp -q -o BatchMode=yes -o ServerAliveInterval=2 -o ServerAliveCountMax=30 -o ConnectTimeout=10 {limit} {bin} root@{ip}:{bin}; echo $? > {rc}"
        );
        e.from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &cmd])
    }

    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()> {
        let name = r.t.name.as_str();
        let bin = file(&r.t, "bin");
        let sum = |n: &Node| n.run(&["sha256sum", &bin]).ok().and_then(|s| s.split_whitespace().next().map(str::to_string));
        let to = c.lab.node(&r.t.to)?;
        let (a, b) = (sum(&c.from), sum(&to));
        let completed = c.rc == Some(0);
        c.put(name, &metric::COMPLETED, completed);
        c.put(name, &metric::SCP_CHECKSUM_OK, completed && a.is_some() && a == b);
        c.put(name, &metric::SCP_EXIT_CODE, c.rc);
        c.put(name, &metric::SCP_DURATION, figure(ms_between(r.started_ns, r.done_ns.unwrap_or_else(now_ns))));
        let _ = c.from.sh(&format!("rm -f {bin}"));
        let _ = to.sh(&format!("rm -f {bin}"));
        Ok(())
    }
}
