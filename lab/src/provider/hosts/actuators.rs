//! What breaks a host: its power through the inventory's driver (a command, or IPMI through
//! `fence_ipmilan`, the agent a cluster fences with), its cables through the host's own
//! `ip link` (the host sees its link down, peers and the switch do not: not a real carrier
//! loss), an nft drop rule on the host, or a command (e.g. `snmpset` of the switch port's
//! ifAdminStatus). Every cable change is journaled, so `down` plugs back what a run pulled.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::inventory::{Cable, Power};
use super::{journal, settings, Settings};
use crate::labstate::LabState;
use crate::provider::Actuators;
use crate::transport::Target;

/// A host's boot may take minutes (firmware, RAID, PXE); a VM or netns node far less.
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);

pub struct HostActuators<'a> {
    st: &'a LabState,
    node: String,
    s: Settings,
    target: Target,
}

impl<'a> HostActuators<'a> {
    pub fn new(st: &'a LabState, node: &str) -> Result<Self> {
        let s = settings(st)?;
        let target = s.target(node)?;
        Ok(HostActuators { st, node: node.to_string(), s, target })
    }
    fn power(&self) -> Result<&Power> {
        let b = self.s.binding(&self.node)?;
        b.host.power.as_ref().with_context(|| format!("host `{}` (node `{}`) has no `power:` driver in the inventory", b.host.name, self.node))
    }
    fn cable(&self) -> Result<&Cable> {
        Ok(&self.s.binding(&self.node)?.host.cable)
    }
    fn host_cmd(&self, script: &str) -> Result<()> {
        let o = crate::transport::exec(&self.target, &["sh", "-c", script], None, Duration::from_secs(30))?;
        if !o.status.success() {
            bail!("on host `{}`: `{script}` failed: {}", self.s.binding(&self.node)?.host.name, String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(())
    }
    /// At `down`: a host the lab left powered off is powered on (it was on when the lab took
    /// it), and answers SSH before its journal is undone. Returns whether it had to be.
    pub fn restore_power(&self) -> Result<bool> {
        if crate::transport::ready(&self.target) || self.power().is_err() || self.running() {
            return Ok(false);
        }
        self.switch("on")?;
        self.wait_ssh()?;
        Ok(true)
    }
    fn switch(&self, action: &str) -> Result<()> {
        let code = match self.power()? {
            Power::Command { on, off, .. } => local(if action == "on" { on } else { off })?,
            Power::Ipmi { address, port, user, password_file } => ipmi(address, *port, user, password_file, action)?,
        };
        if code != 0 {
            bail!("powering {action} the host of node `{}` failed (exit {code})", self.node);
        }
        Ok(())
    }
    fn wait_ssh(&self) -> Result<()> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        crate::transport::disconnect(&self.target);
        while !crate::transport::ready(&self.target) {
            crate::interrupt::check()?;
            if Instant::now() > deadline {
                bail!("host of node `{}` did not answer SSH within {} s of its power-on", self.node, BOOT_TIMEOUT.as_secs());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }
    /// Wait for SSH after a boot, then name and address the lab NICs again (a power cycle
    /// loses them, as on any machine).
    fn after_boot(&self) -> Result<()> {
        self.wait_ssh()?;
        super::up::configure(self.st, &self.s, &self.node)
    }
}

/// Run a power command on the controller; Ok(exit code).
fn local(script: &str) -> Result<i32> {
    let st = std::process::Command::new("sh")
        .args(["-c", script])
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| format!("failed to run `{script}`"))?;
    Ok(st.code().unwrap_or(-1))
}

/// Is the host on, by its power driver? An error when the driver does not answer.
pub fn power_status(p: &Power) -> Result<bool> {
    match p {
        Power::Command { status, .. } => Ok(local(status)? == 0),
        // fence_ipmilan status: 0 on, 2 off, anything else failed.
        Power::Ipmi { address, port, user, password_file } => match ipmi(address, *port, user, password_file, "status")? {
            0 => Ok(true),
            2 => Ok(false),
            c => bail!("fence_ipmilan status exited {c}"),
        },
    }
}

fn ipmi(address: &str, port: u16, user: &str, password_file: &std::path::Path, action: &str) -> Result<i32> {
    let pw = std::fs::read_to_string(password_file).with_context(|| format!("failed to read {}", password_file.display()))?;
    // `--lanplus`, cipher 3; the password on stdin, never on a command line others can read.
    let input = format!("ip={address}\nipport={port}\nusername={user}\npassword={}\nlanplus=1\ncipher=3\naction={action}\n", pw.trim());
    let mut child = std::process::Command::new("fence_ipmilan")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("fence_ipmilan is needed for the ipmi power driver (apt-get install fence-agents-ipmilan)")?;
    use std::io::Write;
    child.stdin.take().context("no stdin")?.write_all(input.as_bytes())?;
    Ok(child.wait()?.code().unwrap_or(-1))
}

impl Actuators for HostActuators<'_> {
    fn describe(&self, part: crate::provider::Part) -> String {
        use crate::provider::Part;
        let host = self.s.binding(&self.node).map(|b| b.host.name.clone()).unwrap_or_default();
        match part {
            Part::Power => match self.power() {
                Ok(Power::Command { off, .. }) => format!("host {host}: power command `{off}`"),
                Ok(Power::Ipmi { address, port, .. }) => format!("host {host}: IPMI BMC {address}:{port} (fence_ipmilan)"),
                Err(_) => format!("host {host}: no power driver"),
            },
            Part::Cable => match self.cable() {
                Ok(Cable::Iplink) => format!("host {host}: `ip link set down` on the host itself (NOT a carrier loss: the peers keep their link)"),
                Ok(Cable::Drop) => format!("host {host}: nft drop rule on the host (the link stays up)"),
                Ok(Cable::Command { command }) => format!("host {host}: cable command `{command}`"),
                Err(_) => format!("host {host}"),
            },
            Part::Loss => format!("host {host}: nft random drop on the host"),
            Part::Freeze => format!("host {host}: cannot be frozen"),
        }
    }
    fn running(&self) -> bool {
        match self.power() {
            Ok(p) => power_status(p).unwrap_or(false),
            Err(_) => crate::transport::ready(&self.target),
        }
    }
    fn set_link(&self, ifname: &str, up: bool) -> Result<()> {
        let lab = &self.st.plan.lab;
        let state = if up { "up" } else { "down" };
        match self.cable()? {
            Cable::Iplink => journal::change(&self.target, lab, &format!("ip link set dev {ifname} {state}"), &format!("ip link set dev {ifname} up")),
            Cable::Drop => {
                let t = format!("halab_cable_{ifname}");
                if up {
                    self.host_cmd(&format!("nft delete table inet {t} 2>/dev/null; true"))
                } else {
                    let rules = format!(
                        "table inet {t} {{ chain i {{ type filter hook prerouting priority -400; iifname \"{ifname}\" drop; }} chain o {{ type filter hook postrouting priority 400; oifname \"{ifname}\" drop; }} }}"
                    );
                    journal::change(&self.target, lab, &format!("nft -f - <<'EOF'\n{rules}\nEOF"), &format!("nft delete table inet {t} 2>/dev/null; true"))
                }
            }
            Cable::Command { command } => {
                let b = self.s.binding(&self.node)?;
                let mac = b.nics.iter().find(|n| n.ifname == ifname).map(|n| n.mac.clone()).unwrap_or_default();
                let cmd = command.replace("{nic}", ifname).replace("{mac}", &mac).replace("{state}", state);
                match local(&cmd)? {
                    0 => Ok(()),
                    c => bail!("cable command `{cmd}` exited {c}"),
                }
            }
        }
    }
    fn power_off(&self) -> Result<()> {
        let r = self.switch("off");
        crate::transport::disconnect(&self.target);
        r
    }
    fn power_on(&self) -> Result<()> {
        self.switch("on")?;
        self.after_boot()
    }
    fn booted(&self) -> Result<()> {
        self.after_boot()
    }
    fn reboot(&self) -> Result<()> {
        self.power_off()?;
        std::thread::sleep(Duration::from_secs(1));
        self.power_on()
    }
    fn freeze(&self, _frozen: bool) -> Result<()> {
        bail!("halab cannot freeze a real host (node `{}`): use a power or cable fault", self.node)
    }
    fn set_loss(&self, ifname: &str, percent: u32) -> Result<()> {
        let t = format!("halab_loss_{ifname}");
        if percent == 0 {
            return self.host_cmd(&format!("nft delete table inet {t} 2>/dev/null; true"));
        }
        let rules = format!(
            "table inet {t} {{ chain i {{ type filter hook prerouting priority -400; iifname \"{ifname}\" numgen random mod 100 < {percent} drop; }} chain o {{ type filter hook postrouting priority 400; oifname \"{ifname}\" numgen random mod 100 < {percent} drop; }} }}"
        );
        journal::change(
            &self.target,
            &self.st.plan.lab,
            &format!("nft delete table inet {t} 2>/dev/null; nft -f - <<'EOF'\n{rules}\nEOF"),
            &format!("nft delete table inet {t} 2>/dev/null; true"),
        )
    }
}
