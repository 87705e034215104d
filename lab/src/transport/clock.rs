//! A node's monotonic clock against the host's, over SSH (VMs, real hosts). The gap probe timestamps with the clock of the
//! node it runs on; on netns that is the host's, in a VM it is the guest's. The offset is read
//! like NTP does: the host's time before and after asking the guest, the guest's answer taken
//! as the midpoint, best of a few tries (error at most half the shortest round trip, ~1-5 ms).

use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::{exec, Target};
use crate::measure::clock::now_ns;

pub fn offset_ns(t: &Target) -> Result<i64> {
    let mut best: Option<(u64, i64)> = None;
    for _ in 0..7 {
        let before = now_ns();
        let o = exec(t, &["halab", "_clock"], None, Duration::from_secs(5))?;
        let after = now_ns();
        if !o.status.success() {
            bail!("`halab _clock` failed on {}: {}", t.addr, String::from_utf8_lossy(&o.stderr).trim());
        }
        let guest: u64 = String::from_utf8_lossy(&o.stdout).trim().parse().context("`halab _clock` printed no number")?;
        let rtt = after - before;
        let off = guest as i64 - (before + rtt / 2) as i64;
        if best.is_none_or(|(r, _)| rtt < r) {
            best = Some((rtt, off));
        }
    }
    Ok(best.map(|(_, o)| o).unwrap_or(0))
}
