//! What breaks a host, through the inventory's drivers: its power (`power`), its cables
//! (`cable`), loss by an nft rule on the host. Every cable or loss change is journaled, so
//! `down` undoes what a run left, and gets a watchdog (`heal`), so a lost controller does too.

use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::cable::{self, Cable};
use super::power::{self, Power};
use super::{heal, journal, settings, Settings};
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
    /// Run `script` on the host; `what` names it in an error.
    fn host_cmd(&self, what: &str, script: &str) -> Result<()> {
        let o = crate::transport::exec(&self.target, &["sh", "-c", script], None, crate::cmd::limit::SCRIPT)?;
        if !o.status.success() {
            bail!("on host `{}`: {what} failed: {}", self.s.binding(&self.node)?.host.name, String::from_utf8_lossy(&o.stderr).trim());
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
        power::switch(self.power()?, action == "on").with_context(|| format!("node `{}`", self.node))
    }
    fn wait_ssh(&self) -> Result<()> {
        let what = || format!("host of node `{}` did not answer SSH after its power-on", self.node);
        crate::transport::wait_ssh(&self.target, BOOT_TIMEOUT, || Ok(()), what)?;
        Ok(())
    }
    /// Wait for SSH after a boot, then name and address the lab NICs again (a power cycle
    /// loses them, as on any machine).
    fn after_boot(&self) -> Result<()> {
        self.wait_ssh()?;
        super::up::configure(self.st, &self.s, &self.node)
    }
}

impl Actuators for HostActuators<'_> {
    fn describe(&self, part: crate::provider::Part) -> String {
        use crate::provider::Part;
        let host = self.s.binding(&self.node).map(|b| b.host.name.clone()).unwrap_or_default();
        match part {
            Part::Power => match self.power() {
                Ok(p) => format!("host {host}: {}", power::describe(p)),
                Err(_) => format!("host {host}: no power driver"),
            },
            Part::Cable => match self.cable() {
                Ok(Cable::Iplink) => format!("host {host}: `ip link set down` on the host itself (NOT a carrier loss: the peers keep their link)"),
                Ok(Cable::Drop) => format!("host {host}: nft drop rule on the host (the link stays up)"),
                Ok(Cable::Command { command }) => format!("host {host}: cable command `{command}`"),
                Ok(Cable::Snmp { agent, .. }) => format!("host {host}: its switch port's ifAdminStatus set by SNMP at {agent} (a real carrier loss)"),
                Err(_) => format!("host {host}"),
            },
            Part::Loss => format!("host {host}: nft random drop on the host"),
            Part::Freeze => format!("host {host}: cannot be frozen"),
        }
    }
    fn running(&self) -> bool {
        match self.power() {
            // A PDU cannot tell: a host that answers SSH is on.
            Ok(p) => power::status(p).ok().and_then(|s| s).unwrap_or_else(|| crate::transport::ready(&self.target)),
            Err(_) => crate::transport::ready(&self.target),
        }
    }
    fn set_link(&self, ifname: &str, up: bool, heal_after: Option<Duration>) -> Result<()> {
        let nic = self.lab_nic(ifname)?;
        let ifname = nic.ifname.as_str();
        let lab = &self.st.plan.lab;
        let key = heal::key(lab, &self.node, "cable", ifname);
        if self.cable()?.on_controller() {
            return self.set_port(nic, &key, up, heal_after);
        }
        let plug = match self.cable()? {
            Cable::Drop => format!("nft delete table inet halab_cable_{ifname} 2>/dev/null; true"),
            _ => format!("ip link set dev {ifname} up"),
        };
        let heal = format!("{}; {plug}", heal::disarm_on_host(&key));
        if up {
            return journal::change(&self.target, lab, &heal, &heal);
        }
        let pull = match self.cable()? {
            Cable::Drop => drop_table(&format!("halab_cable_{ifname}"), ifname, ""),
            _ => format!("ip link set dev {ifname} down || exit 1"),
        };
        journal::change(&self.target, lab, &format!("{pull}\n{}", heal::arm_on_host(&key, &self.s.owner, &plug, heal_after)), &heal)
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
    fn set_loss(&self, ifname: &str, percent: u32, heal_after: Option<Duration>) -> Result<()> {
        let ifname = self.lab_nic(ifname)?.ifname.as_str();
        let key = heal::key(&self.st.plan.lab, &self.node, "loss", ifname);
        let t = format!("halab_loss_{ifname}");
        let lift = format!("{}; nft delete table inet {t} 2>/dev/null; true", heal::disarm_on_host(&key));
        if percent == 0 {
            return self.host_cmd(&format!("lifting the loss on {ifname}"), &lift);
        }
        // 100 %: every frame (nft's `mod 100` ranges over 0-99 only).
        let what = if percent >= 100 { String::new() } else { format!("numgen random mod 100 < {percent} ") };
        let rules = drop_table(&t, ifname, &what);
        let arm = heal::arm_on_host(&key, &self.s.owner, &format!("nft delete table inet {t} 2>/dev/null"), heal_after);
        journal::change(&self.target, &self.st.plan.lab, &format!("nft delete table inet {t} 2>/dev/null; {rules}\n{arm}"), &lift)
    }
}

/// Shell that loads an nft table of the lab's own dropping the NIC's frames both ways,
/// those matching `what` (nothing: all), before anything else sees them; it fails the
/// script when nft refuses it (the arm after it must not run for nothing).
fn drop_table(table: &str, ifname: &str, what: &str) -> String {
    format!(
        "nft -f - <<'EOF' || exit 1\ntable inet {table} {{ chain i {{ type filter hook prerouting priority -400; iifname \"{ifname}\" {what}drop; }}; chain o {{ type filter hook postrouting priority 400; oifname \"{ifname}\" {what}drop; }}; }}\nEOF"
    )
}

impl HostActuators<'_> {
    /// A lab NIC of the node, by the plan's name: only those names reach a shell.
    fn lab_nic(&self, ifname: &str) -> Result<&super::bind::Nic> {
        let b = self.s.binding(&self.node)?;
        if let Some(n) = b.nics.iter().find(|n| n.ifname == ifname) {
            return Ok(n);
        }
        let names: Vec<&str> = b.nics.iter().map(|n| n.ifname.as_str()).collect();
        bail!("node `{}` has no lab NIC `{ifname}` (it has: {})", self.node, names.join(", "))
    }
    /// A cable pulled on the controller (the switch port by SNMP, or a command): its
    /// watchdog lives there too.
    fn set_port(&self, nic: &super::bind::Nic, key: &str, up: bool, heal_after: Option<Duration>) -> Result<()> {
        let b = self.s.binding(&self.node)?;
        let (ifname, mac) = (nic.ifname.as_str(), &nic.mac);
        let script = |up: bool| -> Result<String> {
            let state = if up { "up" } else { "down" };
            Ok(match self.cable()? {
                Cable::Snmp { agent, community_file, ports } => cable::snmp_script(agent, community_file, cable::port_of(ports, mac)?, Some(up)),
                Cable::Command { command } => command.replace("{nic}", ifname).replace("{mac}", mac).replace("{state}", state),
                _ => bail!("not a controller-side cable driver"),
            })
        };
        let what = match self.cable()? {
            Cable::Snmp { agent, ports, .. } => format!("the SNMP set of ifAdminStatus of ifIndex {} at {agent}", cable::port_of(ports, mac)?),
            _ => "the cable command".to_string(),
        };
        let run = |up: bool| -> Result<()> {
            match crate::cmd::sh_status(&format!("( {} ) >/dev/null", script(up)?))? {
                0 => Ok(()),
                c => bail!("{} {ifname} of node `{}` (host `{}`): {what} exited {c}", if up { "plugging" } else { "pulling" }, self.node, b.host.name),
            }
        };
        // The watchdog is armed before the pull and disarmed after the plug: a cable is never
        // out without one.
        if up {
            run(true)?;
            return heal::disarm_on_controller(key);
        }
        heal::arm_on_controller(&self.st.plan.lab, &b.host.name, key, self.s.ttl_s, &script(true)?, heal_after)?;
        run(false)
    }
}
