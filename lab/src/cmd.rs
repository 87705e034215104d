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
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = c
        .spawn()
        .with_context(|| format!("failed to start `{program}`"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
