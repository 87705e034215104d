//! A host's power, per the inventory's `power:` driver: a command on the controller, a BMC
//! over IPMI (`fence_ipmilan`) or Redfish (`fence_redfish`): the fence agents a cluster
//! fences with, so a lab's power cut and a cluster's fencing go the same way.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::topology::validate::Checker;
use crate::yaml::Spanned;

const DRIVERS: &[&str] = &["command", "ipmi", "redfish"];

/// `power:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerSpec {
    driver: Spanned<String>,
    /// command: shell commands run on the controller.
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    off: Option<String>,
    /// command: exit 0 when on, non-zero when off.
    #[serde(default)]
    status: Option<String>,
    /// ipmi, redfish: the BMC's address and port, user and a file holding the password.
    #[serde(default)]
    address: Option<Spanned<String>>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password_file: Option<Spanned<String>>,
    /// redfish: the system's URI on the BMC (`/redfish/v1/Systems/ID`). Required: without it
    /// fence_redfish takes the last system listed, maybe another machine.
    #[serde(default)]
    systems_uri: Option<String>,
    /// redfish: accept the BMC's self-signed TLS certificate.
    #[serde(default)]
    tls_insecure: bool,
}

/// How a host's power is switched.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "driver", rename_all = "lowercase")]
pub enum Power {
    /// Commands on the controller (exit status of `status`: 0 on).
    Command { on: String, off: String, status: String },
    /// A BMC over IPMI lanplus, through `fence_ipmilan`.
    Ipmi { address: String, port: u16, user: String, password_file: PathBuf },
    /// A BMC over Redfish (HTTPS), through `fence_redfish`.
    Redfish { address: String, port: u16, user: String, password_file: PathBuf, systems_uri: String, tls_insecure: bool },
}

pub(crate) fn parse(c: &mut Checker, field: &str, p: &PowerSpec, rel: &dyn Fn(&str) -> PathBuf) -> Option<Power> {
    let bmc = |c: &mut Checker| {
        let (Some(addr), Some(user), Some(pw)) = (&p.address, &p.user, &p.password_file) else {
            c.at(&p.driver, field, &format!("the {} driver needs `address`, `user` and `password_file`", p.driver.value), "the BMC's address and credentials");
            return None;
        };
        let password_file = rel(&pw.value);
        if !password_file.is_file() {
            c.at(pw, &format!("{field}.password_file"), &format!("no file at {}", password_file.display()), "a path relative to the inventory");
        }
        Some((addr.value.clone(), user.clone(), password_file))
    };
    match p.driver.value.as_str() {
        "command" => match (&p.on, &p.off, &p.status) {
            (Some(on), Some(off), Some(status)) => Some(Power::Command { on: on.clone(), off: off.clone(), status: status.clone() }),
            _ => {
                c.at(&p.driver, field, "the command driver needs `on`, `off` and `status`", "status exits 0 when the host is on");
                None
            }
        },
        "ipmi" => bmc(c).map(|(address, user, password_file)| Power::Ipmi { address, port: p.port.unwrap_or(623), user, password_file }),
        "redfish" => {
            let Some(uri) = p.systems_uri.clone().filter(|u| u.starts_with("/redfish/")) else {
                c.at(
                    &p.driver,
                    field,
                    "the redfish driver needs `systems_uri` (/redfish/v1/Systems/ID)",
                    "the BMC may serve several systems: name this host's",
                );
                return None;
            };
            let (address, user, password_file) = bmc(c)?;
            Some(Power::Redfish { address, port: p.port.unwrap_or(443), user, password_file, systems_uri: uri, tls_insecure: p.tls_insecure })
        }
        other => {
            c.at(&p.driver, &format!("{field}.driver"), &format!("no power driver `{other}`"), &format!("one of {}", DRIVERS.join(", ")));
            None
        }
    }
}

/// Is the host on? An error when the driver does not answer.
pub fn status(p: &Power) -> Result<bool> {
    match p {
        Power::Command { status, .. } => Ok(local(status)? == 0),
        // The fence agents' status: 0 on, 2 off, anything else failed.
        _ => match agent(p, "status")? {
            0 => Ok(true),
            2 => Ok(false),
            c => bail!("{} status exited {c}", agent_name(p)),
        },
    }
}

/// Power the host `on` or `off`.
pub fn switch(p: &Power, on: bool) -> Result<()> {
    let action = if on { "on" } else { "off" };
    let code = match p {
        Power::Command { on: c_on, off, .. } => local(if on { c_on } else { off })?,
        _ => agent(p, action)?,
    };
    if code != 0 {
        bail!("powering {action} through the {} failed (exit {code})", describe(p));
    }
    Ok(())
}

/// What switches it, for a run's events.
pub fn describe(p: &Power) -> String {
    match p {
        Power::Command { off, .. } => format!("power command `{off}`"),
        Power::Ipmi { address, port, .. } => format!("IPMI BMC {address}:{port} (fence_ipmilan)"),
        Power::Redfish { address, port, systems_uri, .. } => format!("Redfish BMC https://{address}:{port}{systems_uri} (fence_redfish)"),
    }
}

/// Run a command on the controller; Ok(exit code).
pub fn local(script: &str) -> Result<i32> {
    let st = std::process::Command::new("sh")
        .args(["-c", script])
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| format!("failed to run `{script}`"))?;
    Ok(st.code().unwrap_or(-1))
}

fn agent_name(p: &Power) -> &'static str {
    match p {
        Power::Redfish { .. } => "fence_redfish",
        _ => "fence_ipmilan",
    }
}

/// A fence agent with its options on stdin: the password never on a command line others can
/// read. Ok(exit code).
fn agent(p: &Power, action: &str) -> Result<i32> {
    let (address, port, user, pw_file, extra) = match p {
        // lanplus, cipher suite 3 (what every IPMI 2.0 BMC offers, VirtualBMC only that).
        Power::Ipmi { address, port, user, password_file } => (address, port, user, password_file, "lanplus=1\ncipher=3\n".to_string()),
        Power::Redfish { address, port, user, password_file, systems_uri, tls_insecure } => {
            (address, port, user, password_file, format!("ssl=1\nsystems_uri={systems_uri}\n{}", if *tls_insecure { "ssl_insecure=1\n" } else { "" }))
        }
        Power::Command { .. } => bail!("a command driver has no fence agent"),
    };
    let pw = read_password(pw_file)?;
    let input = format!("ip={address}\nipport={port}\nusername={user}\npassword={pw}\n{extra}action={action}\n");
    let name = agent_name(p);
    let mut child = std::process::Command::new(name)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("{name} is needed for this power driver (apt-get install fence-agents)"))?;
    use std::io::Write;
    child.stdin.take().context("no stdin")?.write_all(input.as_bytes())?;
    Ok(child.wait()?.code().unwrap_or(-1))
}

fn read_password(f: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(f).with_context(|| format!("failed to read {}", f.display()))?.trim().to_string())
}
