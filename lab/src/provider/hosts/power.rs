//! A host's power, per the inventory's `power:` driver: a command on the controller, a BMC
//! over IPMI (`fence_ipmilan`) or Redfish (`fence_redfish`): the fence agents a cluster
//! fences with, so a lab's power cut and a cluster's fencing go the same way; or a PDU
//! outlet through PDUDaemon's HTTP API, which queues requests per PDU and has no status.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::topology::validate::Checker;
use crate::yaml::Spanned;

const DRIVERS: &[&str] = &["command", "ipmi", "redfish", "pdu"];

/// `power:` as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
    /// pdu: PDUDaemon's URL (`http://HOST:16421`), the PDU's name there and the outlet.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    pdu: Option<String>,
    #[serde(default)]
    outlet: Option<u32>,
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
    /// An outlet of a PDU behind PDUDaemon (`http://HOST:PORT`, no TLS, no auth).
    Pdu { host: String, port: u16, pdu: String, outlet: u32 },
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
        "pdu" => {
            let (Some(url), Some(pdu), Some(outlet)) = (&p.url, &p.pdu, p.outlet) else {
                c.at(&p.driver, field, "the pdu driver needs `url`, `pdu` and `outlet`", "PDUDaemon's URL, the PDU's name there, the host's outlet");
                return None;
            };
            let hp = url
                .strip_prefix("http://")
                .map(|r| r.trim_end_matches('/'))
                .and_then(|r| r.rsplit_once(':'))
                .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)));
            let Some((host, port)) = hp else {
                c.at(
                    &p.driver,
                    &format!("{field}.url"),
                    &format!("`{url}` is not http://HOST:PORT"),
                    "PDUDaemon's HTTP listener, e.g. http://198.19.0.5:16421",
                );
                return None;
            };
            Some(Power::Pdu { host, port, pdu: pdu.clone(), outlet })
        }
        other => {
            c.at(&p.driver, &format!("{field}.driver"), &format!("no power driver `{other}`"), &format!("one of {}", DRIVERS.join(", ")));
            None
        }
    }
}

/// Is the host on? None: the driver cannot tell (a PDU); an error when it does not answer.
pub fn status(p: &Power) -> Result<Option<bool>> {
    match p {
        Power::Command { status, .. } => Ok(Some(crate::cmd::sh_status(status)? == 0)),
        Power::Pdu { host, port, .. } => super::pdu::request(host, *port, None).map(|_| None),
        // The fence agents' status: 0 on, 2 off, anything else failed.
        _ => match agent(p, "status")? {
            (0, _) => Ok(Some(true)),
            (2, _) => Ok(Some(false)),
            (c, why) => bail!("{} status exited {c}: {why}", agent_name(p)),
        },
    }
}

/// Power the host `on` or `off`.
pub fn switch(p: &Power, on: bool) -> Result<()> {
    let action = if on { "on" } else { "off" };
    let (code, why) = match p {
        Power::Command { on: c_on, off, .. } => (crate::cmd::sh_status(if on { c_on } else { off })?, String::new()),
        Power::Pdu { host, port, pdu, outlet } => (super::pdu::request(host, *port, Some((action, pdu, *outlet)))?, String::new()),
        _ => agent(p, action)?,
    };
    if code != 0 {
        bail!("powering {action} through the {} failed (exit {code}){}", describe(p), if why.is_empty() { why } else { format!(": {why}") });
    }
    Ok(())
}

/// What switches it, for a run's events.
pub fn describe(p: &Power) -> String {
    match p {
        Power::Command { off, .. } => format!("power command `{off}`"),
        Power::Ipmi { address, port, .. } => format!("IPMI BMC {address}:{port} (fence_ipmilan)"),
        Power::Redfish { address, port, systems_uri, .. } => format!("Redfish BMC https://{address}:{port}{systems_uri} (fence_redfish)"),
        Power::Pdu { host, port, pdu, outlet } => {
            format!("PDU {pdu} outlet {outlet} via PDUDaemon http://{host}:{port} (queued: the outlet switches shortly after the request is accepted)")
        }
    }
}

fn agent_name(p: &Power) -> &'static str {
    match p {
        Power::Redfish { .. } => "fence_redfish",
        _ => "fence_ipmilan",
    }
}

/// A fence agent with its options on stdin: the password never on a command line others can
/// read. Ok((exit code, its last error line)).
fn agent(p: &Power, action: &str) -> Result<(i32, String)> {
    let (address, port, user, pw_file, extra) = match p {
        // lanplus, cipher suite 3 (what every IPMI 2.0 BMC offers, VirtualBMC only that).
        Power::Ipmi { address, port, user, password_file } => (address, port, user, password_file, "lanplus=1\ncipher=3\n".to_string()),
        Power::Redfish { address, port, user, password_file, systems_uri, tls_insecure } => {
            (address, port, user, password_file, format!("ssl=1\nsystems_uri={systems_uri}\n{}", if *tls_insecure { "ssl_insecure=1\n" } else { "" }))
        }
        Power::Command { .. } | Power::Pdu { .. } => bail!("this power driver has no fence agent"),
    };
    let pw = read_password(pw_file)?;
    let input = format!("ip={address}\nipport={port}\nusername={user}\npassword={pw}\n{extra}action={action}\n");
    let name = agent_name(p);
    let o = crate::cmd::output_timeout(std::process::Command::new(name), Some(input.as_bytes()), crate::cmd::limit::FENCE_AGENT)
        .with_context(|| format!("{name} (apt-get install fence-agents if it is missing)"))?;
    let err = String::from_utf8_lossy(&o.stderr);
    // "2026-… ERROR: Unable to …": the message without the agent's timestamp.
    let why = err.lines().rev().find(|l| l.contains("ERROR:") && !l.contains("use '-h'")).map(|l| l.split("ERROR:").last().unwrap_or(l).trim().to_string());
    Ok((o.status.code().unwrap_or(-1), why.unwrap_or_default()))
}

fn read_password(f: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(f).with_context(|| format!("failed to read {}", f.display()))?.trim().to_string())
}
