//! Leases on hosts. A lease lives on the host itself (`/var/lib/halab-hosts/lease`, changed
//! under `flock`), so two controllers that share nothing but the hosts still see each other.
//! It has an owner (controller, lab, lab id), an expiry on the host's own clock (no skew
//! between controllers) and is renewed while its halab runs. A lab takes all its hosts or
//! none: hosts in name order, and on a refusal the ones taken are given back, so two CI jobs
//! asking for overlapping hosts never hold half each. An expired lease is taken over; what
//! its lab left on the host is undone first (`journal`).

use std::time::Duration;

use anyhow::{bail, Result};

use crate::transport::Target;

const SCRIPT: &str = r#"set -e
d=/var/lib/halab-hosts; mkdir -p "$d"; exec 9>"$d/lock"; flock -w 10 9
op=$1 owner=$2 lab=$3 ttl=$4 now=$(date +%s)
o_owner= o_lab= o_exp=0
[ -f "$d/lease" ] && read -r o_owner o_lab o_exp o_since < "$d/lease"
write() { echo "$owner $lab $((now + ttl)) $now" > "$d/lease.new"; mv "$d/lease.new" "$d/lease"; }
case $op in
take)
  if [ -n "$o_owner" ] && [ "$o_owner" != "$owner" ] && [ "$o_exp" -gt "$now" ]; then echo "held $o_owner $o_lab $((o_exp - now))"; exit 0; fi
  write
  if [ -n "$o_owner" ] && [ "$o_owner" != "$owner" ]; then echo "taken $ttl $o_lab"; else echo "taken $ttl -"; fi ;;
renew)
  if [ "$o_owner" != "$owner" ]; then echo "lost ${o_owner:--} ${o_lab:--}"; exit 0; fi
  write; echo "renewed $ttl" ;;
release)
  if [ "$o_owner" = "$owner" ]; then rm -f "$d/lease"; fi; echo released ;;
show)
  if [ -n "$o_owner" ]; then echo "lease $o_owner $o_lab $((o_exp - now))"; else echo free; fi ;;
esac
"#;

/// What a host said to `take`.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// Taken; `expired` names the lab whose lease had run out (its leftovers need undoing).
    Yes { expired: Option<String> },
    /// Held by someone else, for `left_s` more seconds.
    Held { owner: String, lab: String, left_s: i64 },
}

/// A host's lease as `halab hosts ls` shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Free,
    /// `left_s` < 0: expired that long ago.
    Leased {
        owner: String,
        lab: String,
        left_s: i64,
    },
}

fn call(t: &Target, op: &str, owner: &str, lab: &str, ttl: Duration) -> Result<String> {
    let ttl = ttl.as_secs().to_string();
    let o = crate::transport::exec(t, &["sh", "-c", SCRIPT, "lease", op, owner, lab, &ttl], None, crate::cmd::limit::SCRIPT)?;
    if !o.status.success() {
        bail!("lease {op} on {} failed: {}", t.addr, String::from_utf8_lossy(&o.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

pub fn take(t: &Target, owner: &str, lab: &str, ttl: Duration) -> Result<Taken> {
    let out = call(t, "take", owner, lab, ttl)?;
    let w: Vec<&str> = out.split_whitespace().collect();
    match w.as_slice() {
        ["taken", _, "-"] => Ok(Taken::Yes { expired: None }),
        ["taken", _, old] => Ok(Taken::Yes { expired: Some(old.to_string()) }),
        ["held", owner, lab, left] => Ok(Taken::Held { owner: owner.to_string(), lab: lab.to_string(), left_s: left.parse().unwrap_or(0) }),
        _ => bail!("unexpected answer from the lease script on {}: `{out}`", t.addr),
    }
}

/// Extend our lease; an error when it is no longer ours (it expired and someone took it).
pub fn renew(t: &Target, owner: &str, lab: &str, ttl: Duration) -> Result<()> {
    let out = call(t, "renew", owner, lab, ttl)?;
    if let Some(rest) = out.strip_prefix("lost ") {
        bail!("the lease on {} is no longer ours (now: {rest})", t.addr);
    }
    Ok(())
}

pub fn release(t: &Target, owner: &str) -> Result<()> {
    call(t, "release", owner, "-", Duration::ZERO).map(|_| ())
}

pub fn show(t: &Target) -> Result<Shown> {
    let out = call(t, "show", "-", "-", Duration::ZERO)?;
    let w: Vec<&str> = out.split_whitespace().collect();
    Ok(match w.as_slice() {
        ["lease", owner, lab, left] => Shown::Leased { owner: owner.to_string(), lab: lab.to_string(), left_s: left.parse().unwrap_or(0) },
        _ => Shown::Free,
    })
}

/// `take_all`, retried every 2 s for up to `wait` while another lab holds a host (a CI job
/// queues behind another instead of failing). Holding none of the hosts while it waits,
/// it cannot deadlock with a lab that waits for ours. Also returns when the successful try
/// began (no lease it took expires before that plus the TTL).
pub fn take_all_waiting(
    hosts: &[(String, Target)],
    owner: &str,
    lab: &str,
    ttl: Duration,
    wait: Duration,
    step: &crate::progress::Step,
) -> Result<(Vec<Option<String>>, std::time::SystemTime)> {
    let t0 = std::time::Instant::now();
    let mut said: Option<std::time::Instant> = None;
    loop {
        let asked = std::time::SystemTime::now();
        match take_all(hosts, owner, lab, ttl) {
            Err(e) if e.downcast_ref::<Held>().is_some() && t0.elapsed() < wait => {
                // Once, then every 30 s: plain output gets a line, not one per try.
                if said.is_none_or(|t| t.elapsed() >= Duration::from_secs(30)) {
                    step.message(&format!("waiting for the hosts ({} s of {} s): {e}", t0.elapsed().as_secs(), wait.as_secs()));
                    said = Some(std::time::Instant::now());
                }
                for _ in 0..20 {
                    crate::interrupt::check()?;
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            Err(e) if e.downcast_ref::<Held>().is_some() && !wait.is_zero() => return Err(e.context(format!("still held after waiting {} s", wait.as_secs()))),
            r => return r.map(|got| (got, asked)),
        }
    }
}

/// A refusal because another lab holds a host (not an unreachable one).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Held(String);

/// Take every host or none, in the given order (callers sort by host name, so two labs never
/// wait on each other in a cycle). On a refusal the hosts taken are released and the
/// holder is named. Returns, per host, the expired lab to clean up after.
pub fn take_all(hosts: &[(String, Target)], owner: &str, lab: &str, ttl: Duration) -> Result<Vec<Option<String>>> {
    let mut got: Vec<(&Target, Option<String>)> = Vec::new();
    for (name, t) in hosts {
        let r = take(t, owner, lab, ttl);
        let (refusal, held) = match r {
            Ok(Taken::Yes { expired }) => {
                got.push((t, expired));
                continue;
            }
            Ok(Taken::Held { owner: o, lab: l, left_s }) => (format!("host `{name}` is leased to {o} (lab `{l}`) for {left_s} s more"), true),
            Err(e) => (format!("host `{name}`: {e:#}"), false),
        };
        for (t, _) in &got {
            let _ = release(t, owner);
        }
        let msg = format!("{refusal}; no host of the lab was kept");
        if held {
            return Err(Held(msg).into());
        }
        bail!("{msg}");
    }
    Ok(got.into_iter().map(|(_, e)| e).collect())
}
