//! A node's clocks against the host's, over SSH (VMs, real hosts). The gap probe timestamps with the clock of the
//! node it runs on, the stacks' hooks with its wall clock; on netns both are the host's, in a VM
//! they are the guest's. Read like NTP does: the host's time before and after asking the node,
//! the node's answer taken as the midpoint of the round trip, best of several. One process in
//! the node answers every ask over one channel (`halab _clock --serve`): a process start inside
//! the round trip (tens of ms in a TCG guest, all of it before the node reads its clock) made the
//! midpoint late and the offset too large, which dated a VM's events early, before the traffic
//! they caused (negative takeovers). The error is half the shortest round trip, kept with it.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use russh::ChannelMsg;

use super::{channel, runtime, Target};
use crate::measure::clock::now_ns;
use crate::node::ClockReading;

/// Asks per reading: the shortest round trip of these is used.
const ASKS: usize = 9;

pub fn reading(t: &Target) -> Result<ClockReading> {
    let r = runtime().block_on(async { tokio::time::timeout(Duration::from_secs(10), asks(t)).await });
    let samples = r.map_err(|_| anyhow!("ssh to {}: reading its clock took more than 10 s", t.addr))??;
    best(&samples).with_context(|| format!("ssh to {}: `halab _clock --serve` answered nothing", t.addr))
}

/// (host before, node monotonic, node wall, host after) of each ask, in ns.
type Ask = (u64, i128, i128, u64);

async fn asks(t: &Target) -> Result<Vec<Ask>> {
    let mut ch = channel(t).await?;
    ch.exec(true, "halab _clock --serve").await.with_context(|| format!("ssh to {}: exec failed", t.addr))?;
    let (mut buf, mut out) = (Vec::new(), Vec::new());
    for _ in 0..ASKS {
        let before = now_ns();
        ch.data(&b"\n"[..]).await.with_context(|| format!("ssh to {}: failed to ask for its clock", t.addr))?;
        let end = loop {
            if let Some(i) = buf.iter().position(|b| *b == b'\n') {
                break i;
            }
            match ch.wait().await {
                Some(ChannelMsg::Data { data }) => buf.extend_from_slice(&data),
                Some(ChannelMsg::ExitStatus { .. }) | None => bail!("ssh to {}: `halab _clock --serve` ended early", t.addr),
                _ => {}
            }
        };
        let after = now_ns();
        let line: Vec<u8> = buf.drain(..=end).collect();
        let text = String::from_utf8_lossy(&line);
        let mut w = text.split_whitespace().map(|x| x.parse::<i128>());
        let (Some(Ok(mono)), Some(Ok(wall))) = (w.next(), w.next()) else { bail!("ssh to {}: `halab _clock --serve` printed `{}`", t.addr, text.trim()) };
        out.push((before, mono, wall, after));
    }
    ch.eof().await.ok();
    Ok(out)
}

/// The ask with the shortest round trip, its answer dated at the round trip's midpoint.
fn best(samples: &[Ask]) -> Option<ClockReading> {
    let (before, mono, wall, after) = *samples.iter().min_by_key(|(b, _, _, a)| a - b)?;
    let mid = i128::from(before + (after - before) / 2);
    Some(ClockReading { offset_ns: i64::try_from(mono - mid).ok()?, shift_ns: wall - mid, error_ns: (after - before) / 2 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_round_trip_dates_the_answer_at_its_midpoint() {
        // Node 5 ms ahead of the host; its wall clock 1000 s ahead of its monotonic one. The
        // first ask waited 40 ms for a slow node, the second 2 ms.
        let samples = [(100_000_000, 145_000_000, 1_000_145_000_000, 140_000_000), (200_000_000, 206_000_000, 1_000_206_000_000, 202_000_000)];
        let r = best(&samples).unwrap();
        assert_eq!(r, ClockReading { offset_ns: 5_000_000, shift_ns: 1_000_005_000_000, error_ns: 1_000_000 });
    }
}
