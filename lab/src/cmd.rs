//! Running commands: host tools (ip, nsenter, ssh-keygen) with stderr in the error, never
//! lost; a command's time limit by what it is (`limit`); helper daemons started detached.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// How long a command on a node or host may run, by what it is: every call site takes its
/// limit from here. A limit is what a healthy machine takes many times over (a TCG guest on a
/// loaded box included); reaching it means the machine or the link is stuck.
pub mod limit {
    use std::time::Duration;
    /// Reading state: `ip -j`, `sysctl -n`, a checksum, a process list, evidence for a report.
    pub const QUERY: Duration = Duration::from_secs(15);
    /// A small script that changes or probes something: a lease, an actuator's command, a
    /// connectivity matrix (1 s pings in parallel), an agent's meta-data, xmllint.
    pub const SCRIPT: Duration = Duration::from_secs(30);
    /// Moving or scanning much data: copying halab's binary, the journal since boot,
    /// shellcheck over an agent.
    pub const BULK: Duration = Duration::from_secs(60);
    /// A fence agent's whole run, `reboot` included: pacemaker's default fencing timeout. The
    /// agent's own login (5 s) and power (20 s) waits fit in it; a BMC that hangs does not
    /// hang us.
    pub const FENCE_AGENT: Duration = Duration::from_secs(60);
}

/// Start a helper daemon (the lab's supervisor or fencer, a node's service) in its own session,
/// so a Ctrl-C on the terminal that started it does not reach it; stdin from /dev/null, stdout
/// and stderr appended to `log`. Not waited for: it outlives this process, and whoever owns
/// its PID (`down` by the ledger, the node's init) stops and reaps it. Returns its PID and
/// start time (what the ledger keeps to never signal a recycled PID).
pub fn spawn_daemon(mut c: Command, log: &Path) -> Result<(i32, u64)> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).with_context(|| format!("failed to open {}", log.display()))?;
    c.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
    unsafe {
        c.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(std::io::Error::from));
    }
    let child = c.spawn().with_context(|| format!("failed to start `{}`", c.get_program().to_string_lossy()))?;
    let pid = child.id() as i32;
    // Dropping a Child neither kills nor reaps it: forgetting it only says so.
    std::mem::forget(child);
    Ok((pid, crate::ledger::proc_start_time(pid).unwrap_or(0)))
}

/// Run a command to completion; fail with its stderr when it exits non-zero.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    run_input(program, args, None)
}

/// Like `run`, feeding `input` on stdin (for `ip -batch -`).
pub fn run_input(program: &str, args: &[&str], input: Option<&str>) -> Result<String> {
    let mut c = Command::new(program);
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = c.spawn().with_context(|| format!("failed to start `{program}`"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("`{program} {}` failed ({}): {}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run a prepared command with an optional stdin and a timeout. The command gets its own
/// process group, killed whole on timeout (nsenter forks into the node: both must go).
pub fn output_timeout(mut c: Command, input: Option<&[u8]>, timeout: std::time::Duration) -> Result<std::process::Output> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    c.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    c.process_group(0);
    let mut child = c.spawn().context("failed to start a command")?;
    let pid = child.id() as i32;
    if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_end(&mut v);
        }
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_end(&mut v);
        }
        v
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-pid), nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            bail!("timed out after {:.1} s", timeout.as_secs_f64());
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    Ok(std::process::Output { status, stdout: out_t.join().unwrap_or_default(), stderr: err_t.join().unwrap_or_default() })
}

/// Run a shell script on this machine (a user's power command, a watchdog); Ok(exit code).
pub fn sh_status(script: &str) -> Result<i32> {
    let st = Command::new("sh").args(["-c", script]).stdin(Stdio::null()).status().context("failed to start sh")?;
    Ok(st.code().unwrap_or(-1))
}

/// Single-quoted for sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
