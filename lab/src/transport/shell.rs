//! Reaching a VM or a real host over SSH: commands and files through the pinned russh
//! connection, services as transient systemd units (`halab-NAME`, or a pidfile without systemd), the clock measured NTP-style.

use std::process::Output;
use std::time::Duration;

use anyhow::{bail, Result};

use super::Target;
use crate::cmd::limit::SCRIPT as EXEC_TIMEOUT;
use crate::node::shell::LOG_DIR;
use crate::node::Shell;

/// Stop a service halab started: its transient systemd unit, or the process of its pidfile
/// whose start time still matches (never a reused PID), TERM then KILL after 5 s.
pub const SVC_STOP: &str = r#"svc_stop() {
  if [ -d /run/systemd/system ]; then systemctl stop "halab-$1" 2>/dev/null; return 0; fi
  f=/run/halab/svc/$1.pid; [ -f "$f" ] || return 0
  read -r pid start < "$f"
  if [ "$(cut -d' ' -f22 /proc/$pid/stat 2>/dev/null)" = "$start" ]; then
    kill "$pid" 2>/dev/null; i=0
    while [ $i -lt 50 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; i=$((i+1)); done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$f"
}
"#;

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
        // name taken) and start the transient unit. A host without systemd (a netns node
        // playing a host) gets a detached process and a pidfile with its start time.
        let script = "u=$1 log=$2 dir=$3 name=$4; shift 4\n\
            mkdir -p \"$dir\"\n\
            if [ -d /run/systemd/system ]; then\n\
              systemctl is-active --quiet \"$u\" && exit 0\n\
              systemctl reset-failed \"$u\" 2>/dev/null\n\
              exec systemd-run --quiet --collect --unit \"$u\" -p \"StandardOutput=append:$log\" -p \"StandardError=append:$log\" -- \"$@\"\n\
            fi\n\
            f=/run/halab/svc/$name.pid; mkdir -p /run/halab/svc\n\
            if [ -f \"$f\" ]; then read -r pid start < \"$f\"; [ \"$(cut -d' ' -f22 /proc/$pid/stat 2>/dev/null)\" = \"$start\" ] && exit 0; fi\n\
            setsid \"$@\" >> \"$log\" 2>&1 < /dev/null &\n\
            pid=$!; echo \"$pid $(cut -d' ' -f22 /proc/$pid/stat)\" > \"$f\"";
        let unit = format!("halab-{name}");
        let log = format!("{LOG_DIR}/{name}.log");
        let mut args = vec!["sh", "-c", script, "sh", &unit, &log, LOG_DIR, name];
        args.extend_from_slice(argv);
        self.run(&args)
    }
    fn service_stop(&self, name: &str) -> Result<()> {
        let script = format!("{}svc_stop \"$1\"", SVC_STOP);
        self.run(&["sh", "-c", &script, "sh", name])
    }
    fn service_running(&self, name: &str) -> bool {
        let script = "if [ -d /run/systemd/system ]; then exec systemctl is-active --quiet \"halab-$1\"; fi\n\
            f=/run/halab/svc/$1.pid; [ -f \"$f\" ] && read -r pid start < \"$f\" && [ \"$(cut -d' ' -f22 /proc/$pid/stat 2>/dev/null)\" = \"$start\" ]";
        super::exec(&self.target, &["sh", "-c", script, "sh", name], None, EXEC_TIMEOUT).is_ok_and(|o| o.status.success())
    }
    fn clock(&self) -> Result<crate::node::ClockReading> {
        super::clock::reading(&self.target)
    }
}
