//! Faults that undo themselves where they are made, so a lost controller never leaves a
//! cluster cut. A pulled cable or a loss rule on a host gets a watchdog on the host; a switch
//! port or a command cable one on the controller. The watchdog heals when the run's planned
//! time is over (plus GRACE, so the run's own undo is the one measured) or when the lab is
//! about to lose the host: its lease ends within 2 s on the host (the controller stopped
//! renewing), or the controller's mark of its last renewal says so. halab's own undo
//! disarms it first (SIGTERM: exit without healing); `down` makes the controller's heal now
//! (SIGUSR1).

use std::time::Duration;

use anyhow::Result;

use crate::cmd::sh_quote;

/// After the planned time, how long a watchdog leaves the run to undo the fault itself.
const GRACE_S: u64 = 2;
/// A watchdog heals this long before the lease ends, so no other lab can take the host with
/// the fault still on (a renewed lease keeps 2/3 of its TTL, at least 3 s, ahead).
const BEFORE_EXPIRY_S: u64 = 2;
/// Watchdog pidfiles on a host, and on the controller.
const HOST_DIR: &str = "/run/halab-heal";
const CONTROLLER_DIR: &str = "/run/halab/heal";

/// The watchdog: waits while `ours` holds and the deadline is ahead, then runs `heal` (in a
/// subshell: an `exit` in it must not skip the cleanup). Its `$0` is `halab-heal`, which
/// disarm checks before it signals a PID. Traps first (a signal may come at once); `wait` on
/// its sleep so a signal acts at once; the pidfile goes only while it still names this
/// watchdog (a re-arm may have written its successor's already).
fn watchdog(pidfile: &str, ours: &str, heal: &str, after: Option<Duration>, rmdir: &str) -> String {
    let after = after.map(|d| d.as_secs() + GRACE_S).unwrap_or(0);
    format!(
        "go=0; trap 'go=1' USR1; trap 'exit 0' TERM; now=$(date +%s); end=$((now + {after}))\n\
         while [ $go = 0 ]; do now=$(date +%s); if [ {after} -gt 0 ] && [ $now -ge $end ]; then break; fi; {ours} || break; sleep 1 & wait $!; done\n\
         ( {heal} )\n[ \"$(cat {pidfile} 2>/dev/null)\" = $$ ] && rm -f {pidfile}; {rmdir}true\n"
    )
}

/// Shell that starts a watchdog (replacing one for the same fault), detached from the session
/// that starts it.
fn arm(dir: &str, key: &str, ours: &str, heal: &str, after: Option<Duration>) -> String {
    let pidfile = format!("{dir}/{key}.pid");
    let w = watchdog(&pidfile, ours, heal, after, &rmdir(dir));
    format!(
        "{}\nmkdir -p {dir}\nw=$(cat <<'HALAB_HEAL'\n{w}HALAB_HEAL\n)\nsetsid sh -c \"$w\" halab-heal </dev/null >/dev/null 2>&1 &\necho $! > {pidfile}\n",
        disarm(dir, key, "TERM")
    )
}

/// Shell that signals the fault's watchdog, if it is ours and alive. SIGTERM (disarm) also
/// waits for it to end (at most 2 s; a zombie has ended), so a heal already under way cannot
/// undo a fault made right after.
fn disarm(dir: &str, key: &str, signal: &str) -> String {
    let pidfile = format!("{dir}/{key}.pid");
    let wait = if signal == "TERM" {
        "i=0; while [ $i -lt 20 ] && [ -d /proc/$p ] && ! grep -q '^State:[[:space:]]*Z' /proc/$p/status 2>/dev/null; do sleep 0.1; i=$((i + 1)); done; "
    } else {
        ""
    };
    format!(
        "if [ -f {pidfile} ]; then p=$(cat {pidfile}); if grep -qa halab-heal /proc/$p/cmdline 2>/dev/null; then kill -{signal} $p; {wait}fi; rm -f {pidfile}; {}fi; true",
        rmdir(dir)
    )
}

/// A host's watchdog directory goes with its last watchdog (the host is left as found); the
/// controller's stays (labs share it: removing it could race another lab's arm).
fn rmdir(dir: &str) -> String {
    if dir == HOST_DIR {
        format!("rmdir {dir} 2>/dev/null; ")
    } else {
        String::new()
    }
}

/// A fault's key: lab, node, what, interface (names halab chose, safe in a file name).
pub fn key(lab: &str, node: &str, what: &str, ifname: &str) -> String {
    format!("{lab}.{node}.{what}.{ifname}")
}

/// Shell, run on the host, that arms a watchdog there; its lab holds the host while the
/// host's lease file names `owner` and has not expired.
pub fn arm_on_host(key: &str, owner: &str, heal: &str, after: Option<Duration>) -> String {
    let ours = format!(
        "{{ read -r o l e s < /var/lib/halab-hosts/lease && [ \"$o\" = {} ] && [ \"$e\" -gt $((now + {BEFORE_EXPIRY_S})) ]; }} 2>/dev/null",
        sh_quote(owner)
    );
    arm(HOST_DIR, key, &ours, heal, after)
}

pub fn disarm_on_host(key: &str) -> String {
    disarm(HOST_DIR, key, "TERM")
}

/// The controller's mark of a host's last lease renewal, dated when the renewal was asked
/// (never later than the host's own expiry): a watchdog on the controller heals once it is
/// older than the lease (or gone with the lab's state).
fn renewal_mark(lab: &str, host: &str) -> std::path::PathBuf {
    crate::ledger::lab_dir(lab).join(format!("lease-renewed.{host}"))
}

pub fn mark_renewed(lab: &str, host: &str, asked: std::time::SystemTime) {
    let _ = std::fs::File::create(renewal_mark(lab, host)).and_then(|f| f.set_modified(asked));
}

/// Arm a watchdog on the controller for a fault made from it (a switch port) on `host`.
pub fn arm_on_controller(lab: &str, host: &str, key: &str, ttl_s: u64, heal: &str, after: Option<Duration>) -> Result<()> {
    let mark = sh_quote(&renewal_mark(lab, host).to_string_lossy());
    let ours = format!("{{ m=$(stat -c %Y {mark}) && [ $((m + {ttl_s})) -gt $((now + {BEFORE_EXPIRY_S})) ]; }} 2>/dev/null");
    run_local(&arm(CONTROLLER_DIR, key, &ours, heal, after))
}

pub fn disarm_on_controller(key: &str) -> Result<()> {
    run_local(&disarm(CONTROLLER_DIR, key, "TERM"))
}

/// At `down`: every controller watchdog of the lab heals now; returns once they are done
/// (or after 10 s).
pub fn heal_now_on_controller(lab: &str) -> Result<()> {
    let prefix = format!("{lab}.");
    let Ok(rd) = std::fs::read_dir(CONTROLLER_DIR) else { return Ok(()) };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(key) = name.strip_suffix(".pid").filter(|k| k.starts_with(&prefix)) else { continue };
        let pid = std::fs::read_to_string(e.path()).unwrap_or_default().trim().to_string();
        run_local(&disarm(CONTROLLER_DIR, key, "USR1"))?;
        // It heals after its current `sleep 1`; a finished one may stay a zombie (PID 1 here
        // may not reap), which counts as done.
        for _ in 0..100 {
            let alive = pid.parse().ok().and_then(crate::ledger::proc_state).is_some_and(|c| c != 'Z');
            if !alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

fn run_local(script: &str) -> Result<()> {
    match crate::cmd::sh_status(script)? {
        0 => Ok(()),
        c => anyhow::bail!("the cable watchdog on the controller could not be started or stopped (sh exited {c})"),
    }
}
