//! Reaching a VM or a real host over SSH: commands and files through the pinned russh
//! connection, services as transient systemd units (`halab-NAME`), the clock measured NTP-style.

use std::process::Output;
use std::time::Duration;

use anyhow::{bail, Result};

use super::Target;
use crate::node::shell::LOG_DIR;
use crate::node::{Shell, EXEC_TIMEOUT};

pub struct SshShell {
    pub target: Target,
}

impl SshShell {
    fn run(&self, argv: &[&str]) -> Result<()> {
        let o = super::exec(&self.target, argv, None, EXEC_TIMEOUT)?;
        if !o.status.success() {
            bail!("`{}` failed ({}): {}", argv.join(" "), o.status, String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(())
    }
}

impl Shell for SshShell {
    fn exec(&self, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
        super::exec(&self.target, argv, stdin, timeout)
    }
    fn put(&self, path: &str, content: &[u8], mode: u32, owner: &str) -> Result<()> {
        let dir = std::path::Path::new(path).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into());
        self.run(&["mkdir", "-p", &dir])?;
        super::put(&self.target, path, content, mode, EXEC_TIMEOUT)?;
        if !matches!(owner, "root" | "root:root" | "0:0") {
            self.run(&["chown", owner, path])?;
        }
        Ok(())
    }
    fn service_start(&self, name: &str, argv: &[&str]) -> Result<()> {
        // One round trip: running already, or clear a failed earlier run (it keeps the unit
        // name taken) and start the transient unit.
        let script = "u=$1 log=$2 dir=$3; shift 3\n\
            systemctl is-active --quiet \"$u\" && exit 0\n\
            systemctl reset-failed \"$u\" 2>/dev/null\n\
            mkdir -p \"$dir\"\n\
            exec systemd-run --quiet --collect --unit \"$u\" -p \"StandardOutput=append:$log\" -p \"StandardError=append:$log\" -- \"$@\"";
        let unit = format!("halab-{name}");
        let log = format!("{LOG_DIR}/{name}.log");
        let mut args = vec!["sh", "-c", script, "sh", &unit, &log, LOG_DIR];
        args.extend_from_slice(argv);
        self.run(&args)
    }
    fn service_stop(&self, name: &str) -> Result<()> {
        if self.service_running(name) {
            self.run(&["systemctl", "stop", &format!("halab-{name}")])?;
        }
        Ok(())
    }
    fn service_running(&self, name: &str) -> bool {
        super::exec(&self.target, &["systemctl", "is-active", "--quiet", &format!("halab-{name}")], None, EXEC_TIMEOUT).is_ok_and(|o| o.status.success())
    }
    fn clock_offset_ns(&self) -> Result<i64> {
        super::clock::offset_ns(&self.target)
    }
}
