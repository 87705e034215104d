//! The one way to wait: poll a check every `every` until it holds, or fail once `timeout` has
//! passed, naming what was awaited and how long. `until` stops early on Ctrl-C; `settle` does
//! not (the clean-up after a run must finish). A check's own error ends the wait at once.
//! A wait whose timeout is not an error (give a process a grace period, then go on) ignores
//! the result.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// The interval for what changes on a human or protocol scale (VIPs, daemons, SSH).
pub const EVERY: Duration = Duration::from_millis(50);

/// Poll `check` until it says true; how long that took. Ctrl-C ends the wait.
pub fn until(timeout: Duration, every: Duration, check: impl FnMut() -> Result<bool>, what: impl Fn() -> String) -> Result<Duration> {
    poll(timeout, every, true, check, what)
}

/// Like `until`, but not cut short by Ctrl-C.
pub fn settle(timeout: Duration, every: Duration, check: impl FnMut() -> Result<bool>, what: impl Fn() -> String) -> Result<Duration> {
    poll(timeout, every, false, check, what)
}

fn poll(timeout: Duration, every: Duration, interruptible: bool, mut check: impl FnMut() -> Result<bool>, what: impl Fn() -> String) -> Result<Duration> {
    let start = Instant::now();
    loop {
        if interruptible {
            crate::interrupt::check()?;
        }
        if check()? {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            bail!("{} (waited {:.1} s)", what(), timeout.as_secs_f64());
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_when_the_check_holds_or_names_what_it_waited_for() {
        let mut n = 0;
        let took = settle(
            Duration::from_secs(1),
            Duration::from_millis(1),
            || {
                Ok({
                    n += 1;
                    n >= 3
                })
            },
            String::new,
        )
        .unwrap();
        assert!(n == 3 && took < Duration::from_secs(1));
        let e = settle(Duration::from_millis(20), Duration::from_millis(5), || Ok(false), || "the VIP on fw2".into()).unwrap_err();
        assert_eq!(e.to_string(), "the VIP on fw2 (waited 0.0 s)");
        let e = settle(Duration::from_secs(5), Duration::from_millis(5), || bail!("the node is gone"), String::new).unwrap_err();
        assert_eq!(e.to_string(), "the node is gone");
    }
}
