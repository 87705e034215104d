//! Running host tools (ip, nsenter, ssh-keygen): stderr goes into the error, never lost.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

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
