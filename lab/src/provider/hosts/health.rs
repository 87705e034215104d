//! Health checks of an inventory's hosts, as LAVA does for its devices: each host is reached
//! over SSH with its pinned key, shows every lab NIC the inventory lists, and its power driver
//! answers and agrees that it is on. A host that fails is quarantined with the reason (a file
//! on this controller) and no lab binds it until a later check passes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::inventory::{Host, Inventory};

/// One host's check: each part with its verdict and evidence.
#[derive(Debug, Clone)]
pub struct Health {
    pub host: String,
    pub failures: Vec<String>,
    pub took: Duration,
}

fn dir(inv: &Inventory) -> PathBuf {
    crate::ledger::state_root().with_file_name("hosts").join(&inv.name).join("quarantine")
}

/// Quarantined hosts of the inventory, with why.
pub fn quarantined(inv: &Inventory) -> Vec<(String, String)> {
    inv.hosts.iter().filter_map(|h| Some((h.name.clone(), std::fs::read_to_string(dir(inv).join(&h.name)).ok()?.trim().to_string()))).collect()
}

fn check_one(inv: &Inventory, h: &Host) -> Health {
    let t0 = Instant::now();
    let mut failures = Vec::new();
    let reached = match super::trust::target(inv, h) {
        Err(e) => {
            failures.push(format!("ssh: {e:#}"));
            None
        }
        Ok(t) => match crate::transport::exec(&t, &["ip", "-j", "link"], None, crate::cmd::limit::QUERY) {
            Err(e) => {
                failures.push(format!("ssh: {e:#}"));
                None
            }
            Ok(o) => match crate::iproute::links(&o.stdout, "ip -j link") {
                Ok(l) => Some(l.iter().filter_map(|l| l.address.as_deref().map(str::to_ascii_lowercase)).collect::<Vec<String>>()),
                Err(e) => {
                    failures.push(format!("nics: {e:#}"));
                    None
                }
            },
        },
    };
    if let Some(macs) = &reached {
        for (mac, net) in &h.nics {
            if !macs.iter().any(|m| m.eq_ignore_ascii_case(mac)) {
                failures.push(format!("nics: no NIC with MAC {mac} (cabled to {net}, says the inventory)"));
            }
        }
    }
    if let Some(p) = &h.power {
        match super::power::status(p) {
            Err(e) => failures.push(format!("power: the driver does not answer: {e:#}")),
            Ok(Some(false)) if reached.is_some() => {
                failures.push("power: the driver says off, but the host answers SSH: does it drive another machine?".into())
            }
            Ok(_) => {}
        }
    }
    // A switch port must answer and be up: a port left down is a cable still pulled.
    if let super::cable::Cable::Snmp { agent, community_file, ports } = &h.cable {
        for (mac, idx) in ports {
            let o = std::process::Command::new("sh").args(["-c", &super::cable::snmp_script(agent, community_file, *idx, None)]).output();
            match o {
                Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "1" => {}
                Ok(o) if o.status.success() => failures
                    .push(format!("cable: switch port ifIndex {idx} of NIC {mac} is not up (ifAdminStatus {})", String::from_utf8_lossy(&o.stdout).trim())),
                Ok(o) => {
                    failures.push(format!("cable: the switch at {agent} does not answer for ifIndex {idx}: {}", String::from_utf8_lossy(&o.stderr).trim()))
                }
                Err(e) => failures.push(format!("cable: snmpget: {e}")),
            }
        }
    }
    Health { host: h.name.clone(), failures, took: t0.elapsed() }
}

/// Check every host (in parallel); quarantine those that fail, release those that pass.
pub fn check(inv: &Inventory) -> Result<Vec<Health>> {
    let out = crate::parallel::try_each(&inv.hosts, |h| Ok(check_one(inv, h)))?;
    let d = dir(inv);
    std::fs::create_dir_all(&d)?;
    for r in &out {
        let f = d.join(&r.host);
        if r.failures.is_empty() {
            let _ = std::fs::remove_file(&f);
        } else {
            std::fs::write(&f, r.failures.join("; ") + "\n")?;
        }
    }
    Ok(out)
}

/// The health checks as JUnit (suite `health`, one case per host): a quarantined host is an
/// `error`, an infrastructure finding, never a `failure` of the suite's expectations.
pub fn junit(report: &[Health]) -> Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("health");
    for r in report {
        let status = if r.failures.is_empty() {
            TestCaseStatus::success()
        } else {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(format!("quarantined: {}", r.failures.join("; ")));
            st
        };
        let mut case = TestCase::new(format!("health[{}]", r.host), status);
        case.set_classname("halab.hosts");
        case.set_time(r.took);
        suite.add_test_case(case);
    }
    let mut rep = Report::new("halab-health");
    rep.add_test_suite(suite);
    Ok(rep.to_string()?)
}
